//! Round trips of the expression codec.

use arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field};
use arrow::record_batch::RecordBatch;
use datafusion_physical_expr::expressions::{
    binary, case, cast, col, is_not_null, is_null, like, lit, negative, not, try_cast, NoOp,
};
use ember_core::TaskContext;
use ember_physical::expressions::evaluate;
use ember_physical::operators::sort::SortKey;
use ember_physical::operators::values::ValuesExec;
use ember_physical::operators::window::WindowExec;
use ember_physical::ExecutionPlan;
use ember_sql::functions::aggregate::Pick;
use ember_sql::functions::ansi::{self, ArithOp, Overflow};
use prost::Message;

use super::*;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]))
}

fn batch(a: Vec<Option<i64>>, s: Vec<Option<&str>>) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(a)),
            Arc::new(StringArray::from(s)),
        ],
    )
    .unwrap()
}

fn sample() -> RecordBatch {
    batch(
        vec![Some(1), Some(2), None, Some(2)],
        vec![Some("apple"), Some("Banana"), None, Some("12")],
    )
}

/// Through the encoder, protobuf bytes and the decoder; the result must display the same.
fn round_trip(expr: &Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
    let bytes = encode_expr(expr).unwrap().encode_to_vec();
    let node = pb::PhysicalExprNode::decode(bytes.as_slice()).unwrap();
    let back = decode_expr(&node, &schema()).unwrap();
    assert_eq!(back.to_string(), expr.to_string());
    back
}

/// Protobuf decoders refuse messages nested more than 100 levels: a 1,000-level
/// expression travels in chunks and comes back whole.
#[test]
fn deep_expressions_travel_in_chunks() {
    // Ember's threads that encode, decode and evaluate have big stacks; so does this one.
    std::thread::Builder::new()
        .stack_size(ember_common::THREAD_STACK_BYTES)
        .spawn(deep_expression_round_trip)
        .unwrap()
        .join()
        .unwrap();
}

fn deep_expression_round_trip() {
    let mut deep: Arc<dyn PhysicalExpr> = Arc::new(Column::new("a", 0));
    for _ in 0..1_000 {
        deep = Arc::new(NegativeExpr::new(deep));
    }
    let encoded = encode_expr(&deep).unwrap();
    let bytes = encoded.encode_to_vec();
    let node = pb::PhysicalExprNode::decode(bytes.as_slice()).unwrap();
    let back = decode_expr(&node, &schema()).unwrap();
    let (before, after) = (
        evaluate(&deep, &sample()).unwrap(),
        evaluate(&back, &sample()).unwrap(),
    );
    assert_eq!(before.as_ref(), after.as_ref());
    assert_eq!(ENCODE_DEPTH.with(|d| d.get()), 0);
}

/// Round trips `expr` and checks both evaluate alike on `sample()`; returns the values.
fn same_values(expr: Arc<dyn PhysicalExpr>) -> ArrayRef {
    let back = round_trip(&expr);
    let before = evaluate(&expr, &sample()).unwrap();
    let after = evaluate(&back, &sample()).unwrap();
    assert_eq!(before.as_ref(), after.as_ref(), "{expr}");
    after
}

fn a() -> Arc<dyn PhysicalExpr> {
    col("a", &schema()).unwrap()
}

fn s() -> Arc<dyn PhysicalExpr> {
    col("s", &schema()).unwrap()
}

fn call(udf: Arc<ScalarUDF>, args: Vec<Arc<dyn PhysicalExpr>>) -> Arc<dyn PhysicalExpr> {
    Arc::new(
        ScalarFunctionExpr::try_new(udf, args, &schema(), Arc::new(ConfigOptions::default()))
            .unwrap(),
    )
}

#[test]
fn datafusion_expressions_round_trip() {
    let sch = schema();
    let plus = binary(a(), Operator::Plus, lit(10i64), &sch).unwrap();
    let out = same_values(Arc::clone(&plus));
    assert_eq!(
        out.as_ref(),
        &Int64Array::from(vec![Some(11), Some(12), None, Some(12)])
    );
    same_values(binary(plus, Operator::Gt, lit(11i64), &sch).unwrap());
    same_values(cast(a(), &sch, DataType::Utf8).unwrap());
    same_values(try_cast(s(), &sch, DataType::Int32).unwrap());
    same_values(not(binary(a(), Operator::Eq, lit(2i64), &sch).unwrap()).unwrap());
    same_values(negative(a(), &sch).unwrap());
    same_values(is_null(s()).unwrap());
    same_values(is_not_null(a()).unwrap());
    let searched = case(
        None,
        vec![(
            binary(a(), Operator::Eq, lit(1i64), &sch).unwrap(),
            lit("one"),
        )],
        Some(lit("other")),
    )
    .unwrap();
    let out = same_values(searched);
    assert_eq!(
        out.as_ref(),
        &StringArray::from(vec!["one", "other", "other", "other"])
    );
    same_values(case(Some(a()), vec![(lit(2i64), lit("two"))], None).unwrap());
    let list = in_list(a(), vec![lit(2i64), lit(5i64)], &true, &sch).unwrap();
    let out = same_values(list);
    assert_eq!(out.null_count(), 1);
    same_values(like(false, true, s(), lit("b%"), &sch).unwrap());
    same_values(like(true, false, s(), lit("%p%"), &sch).unwrap());
    same_values(lit(ScalarValue::Utf8(None)));
    // The overflow flag travels although BinaryExpr has no getter for it.
    let checked: Arc<dyn PhysicalExpr> =
        Arc::new(BinaryExpr::new(a(), Operator::Plus, lit(i64::MAX)).with_fail_on_overflow(true));
    let back = round_trip(&checked);
    assert!(evaluate(&back, &sample()).is_err());
}

#[test]
fn datafusion_functions_round_trip() {
    let upper = datafusion_functions::string::upper();
    let out = same_values(call(upper, vec![s()]));
    assert_eq!(
        out.as_ref(),
        &StringArray::from(vec![Some("APPLE"), Some("BANANA"), None, Some("12")])
    );
    let back = round_trip(&call(datafusion_functions::math::abs(), vec![a()]));
    let node = encode_expr(&back).unwrap();
    let Some(E::ScalarFunction(f)) = node.expr else {
        panic!("not a function: {node:?}")
    };
    assert_eq!(
        f.function.unwrap().family,
        pb::ScalarFamily::DataFusion as i32
    );
}

#[test]
fn ember_functions_round_trip() {
    let substr = ember_sql::functions::string::functions()
        .into_iter()
        .find(|f| datafusion_expr::ScalarUDFImpl::name(f) == "substr")
        .unwrap()
        .into_udf();
    let out = same_values(call(substr, vec![s(), lit(2i32), lit(3i32)]));
    assert_eq!(
        out.as_ref(),
        &StringArray::from(vec![Some("ppl"), Some("ana"), None, Some("2")])
    );
    let divisor = call(CheckDivisor::udf(), vec![a()]);
    same_values(divisor);

    // ANSI addition still fails on overflow after the trip; the legacy one wraps.
    let add = ansi::arithmetic(ArithOp::Add, Overflow::Fail).into_udf();
    let checked = call(add, vec![a(), lit(i64::MAX)]);
    let back = round_trip(&checked);
    let err = evaluate(&back, &sample()).unwrap_err().to_string();
    assert!(err.contains("ARITHMETIC_OVERFLOW"), "{err}");
    let try_add = ansi::arithmetic(ArithOp::Add, Overflow::Null).into_udf();
    let out = same_values(call(try_add, vec![a(), lit(i64::MAX - 1)]));
    assert_eq!(
        out.as_ref(),
        &Int64Array::from(vec![Some(i64::MAX), None, None, None])
    );

    // Explicit casts keep their ANSI mode.
    let target = lit(ScalarValue::Int32(None));
    let strict = call(
        ansi::spark_cast(true).into_udf(),
        vec![s(), Arc::clone(&target)],
    );
    let back = round_trip(&strict);
    let err = evaluate(&back, &sample()).unwrap_err().to_string();
    assert!(err.contains("apple"), "{err}");
    let lenient = call(ansi::spark_cast(false).into_udf(), vec![s(), target]);
    let out = same_values(lenient);
    assert_eq!(
        out.as_ref(),
        &arrow::array::Int32Array::from(vec![None, None, None, Some(12)])
    );
}

#[test]
fn unknown_expressions_are_named_in_the_error() {
    let noop: Arc<dyn PhysicalExpr> = Arc::new(NoOp::new());
    let err = encode_expr(&noop).unwrap_err();
    assert!(matches!(err, EmberError::NotSupported(_)), "{err}");
    assert!(err.to_string().contains("NoOp"), "{err}");
    let node = pb::PhysicalExprNode {
        expr: Some(E::Column(pb::ColumnNode {
            name: "x".to_string(),
            index: 7,
        })),
    };
    let err = decode_expr(&node, &schema()).unwrap_err().to_string();
    assert!(err.contains("x@7"), "{err}");
}

fn aggregate(udaf: Arc<AggregateUDF>, name: &str, distinct: bool) -> AggregateFunctionExpr {
    AggregateExprBuilder::new(udaf, vec![a()])
        .schema(schema())
        .alias(name)
        .with_distinct(distinct)
        .build()
        .unwrap()
}

fn run_aggregate(expr: &AggregateFunctionExpr, input: &RecordBatch) -> Result<ScalarValue> {
    let mut acc = expr.create_accumulator()?;
    let args = expr
        .expressions()
        .iter()
        .map(|e| evaluate(e, input))
        .collect::<Result<Vec<_>>>()?;
    acc.update_batch(&args)?;
    Ok(acc.evaluate()?)
}

fn aggregate_round_trip(expr: &AggregateFunctionExpr) -> Arc<AggregateFunctionExpr> {
    let bytes = encode_aggregate(expr).unwrap().encode_to_vec();
    let node = pb::AggregateExprNode::decode(bytes.as_slice()).unwrap();
    let back = decode_aggregate(&node, &schema()).unwrap();
    assert_eq!(back.name(), expr.name());
    assert_eq!(back.fun(), expr.fun());
    assert_eq!(back.is_distinct(), expr.is_distinct());
    assert_eq!(back.field(), expr.field());
    back
}

#[test]
fn aggregates_round_trip() {
    use datafusion_functions_aggregate::{count::count_udaf, sum::sum_udaf};
    let cases = [
        (
            aggregate(sum_udaf(), "sum(a)", false),
            ScalarValue::Int64(Some(5)),
        ),
        (
            aggregate(count_udaf(), "count(DISTINCT a)", true),
            ScalarValue::Int64(Some(2)),
        ),
        (
            aggregate(
                PickAggregate::udaf(Pick::First, true),
                "first(a, true)",
                false,
            ),
            ScalarValue::Int64(Some(1)),
        ),
        (
            aggregate(CheckedSum::udaf(), "sum(a)", false),
            ScalarValue::Int64(Some(5)),
        ),
    ];
    let input = batch(
        vec![None, Some(1), Some(2), Some(2)],
        vec![None, None, None, None],
    );
    for (expr, expected) in &cases {
        let back = aggregate_round_trip(expr);
        assert_eq!(
            &run_aggregate(&back, &input).unwrap(),
            expected,
            "{}",
            expr.name()
        );
    }
    // The checked sum stays checked (it is named "sum", like the stock one that wraps).
    let node = encode_aggregate(&cases[3].0).unwrap();
    assert_eq!(
        node.function.map(|f| f.family),
        Some(pb::AggregateFamily::CheckedSum as i32)
    );
    let back = aggregate_round_trip(&cases[3].0);
    let big = batch(vec![Some(i64::MAX), Some(1)], vec![None, None]);
    let err = run_aggregate(&back, &big).unwrap_err().to_string();
    assert!(err.contains("ARITHMETIC_OVERFLOW"), "{err}");
    assert!(run_aggregate(&cases[0].0, &big).is_ok());
}

fn window_output(calls: Vec<WindowFunctionCall>) -> Vec<ArrayRef> {
    let input = batch(
        vec![Some(3), Some(1), None, Some(4), Some(1)],
        vec![None, None, None, None, None],
    );
    let source = Arc::new(ValuesExec::new(schema(), vec![input]));
    let order_by = vec![SortKey {
        expr: s(),
        ascending: true,
        nulls_first: true,
    }];
    let exec = WindowExec::try_new(Vec::new(), order_by, calls, source).unwrap();
    let out = exec
        .execute(0, &TaskContext::for_tests())
        .unwrap()
        .collect::<Result<Vec<_>>>()
        .unwrap();
    let all = concat_batches(&exec.schema(), &out).unwrap();
    all.columns()[2..].to_vec()
}

#[test]
fn window_calls_round_trip() {
    let row_number = WindowFunctionCall {
        function: WindowFunctionDefinition::WindowUDF(
            datafusion_functions_window::row_number::row_number_udwf(),
        ),
        args: Vec::new(),
        name: "row_number()".to_string(),
        frame: WindowFrame::new(Some(false)),
        ignore_nulls: false,
        distinct: false,
        filter: None,
    };
    let sum = WindowFunctionCall {
        function: WindowFunctionDefinition::AggregateUDF(
            datafusion_functions_aggregate::sum::sum_udaf(),
        ),
        args: vec![a()],
        name: "sum(a) ROWS 1 PRECEDING".to_string(),
        frame: WindowFrame::new_bounds(
            WindowFrameUnits::Rows,
            WindowFrameBound::Preceding(ScalarValue::UInt64(Some(1))),
            WindowFrameBound::CurrentRow,
        ),
        ignore_nulls: false,
        distinct: false,
        filter: Some(is_not_null(a()).unwrap()),
    };
    let calls = vec![row_number, sum];
    let back = calls
        .iter()
        .map(|c| {
            let bytes = encode_window_call(c).unwrap().encode_to_vec();
            let node = pb::WindowCallNode::decode(bytes.as_slice()).unwrap();
            decode_window_call(&node, &schema()).unwrap()
        })
        .collect::<Vec<_>>();
    for (before, after) in calls.iter().zip(&back) {
        assert_eq!(after.name, before.name);
        assert_eq!(after.frame, before.frame);
        assert_eq!(after.function, before.function);
        assert_eq!(
            after.filter.as_ref().map(|f| f.to_string()),
            before.filter.as_ref().map(|f| f.to_string())
        );
    }
    let expected = window_output(calls);
    let got = window_output(back);
    assert_eq!(got, expected);
    assert_eq!(
        got[0].as_ref(),
        &arrow::array::UInt64Array::from(vec![1, 2, 3, 4, 5])
    );
    assert_eq!(
        got[1].as_ref(),
        &Int64Array::from(vec![Some(3), Some(4), Some(1), Some(4), Some(5)])
    );
}
