//! Tests of `WindowExec`: frames, IGNORE NULLS, sliding and recomputed aggregates.

use std::sync::atomic::Ordering;

use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field};
use arrow::util::display::array_value_to_string;
use datafusion_common::ScalarValue;
use datafusion_expr::{AggregateUDF, WindowFrameBound, WindowFrameUnits, WindowUDF};
use datafusion_functions_aggregate::average::avg_udaf;
use datafusion_functions_aggregate::count::count_udaf;
use datafusion_functions_aggregate::first_last::first_value_udaf;
use datafusion_functions_aggregate::min_max::{max_udaf, min_udaf};
use datafusion_functions_aggregate::sum::sum_udaf;
use datafusion_functions_window::lead_lag::{lag_udwf, lead_udwf};
use datafusion_functions_window::nth_value::{first_value_udwf, last_value_udwf};
use datafusion_functions_window::ntile::ntile_udwf;
use datafusion_functions_window::rank::{dense_rank_udwf, percent_rank_udwf, rank_udwf};
use datafusion_functions_window::row_number::row_number_udwf;
use datafusion_physical_expr::expressions::{cast, col, lit};

use super::*;

use crate::test_util::MemoryExec;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
        Field::new("w", DataType::Int64, false),
    ]))
}

/// Three window partitions (NULL, a, b), sorted by (k ASC NULLS FIRST, v ASC NULLS FIRST),
/// with a tie on v = 2 in `a` and a NULL v in `b`; split into two batches mid-partition.
///
/// ```text
/// row  0  1  2  3  4  5  6    7
/// k    N  N  a  a  a  a  b    b
/// v    5  6  1  2  2  3  N    7
/// w    0  1  2  3  4  5  6    7
/// ```
fn sample() -> Arc<MemoryExec> {
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from(vec![
                None,
                None,
                Some("a"),
                Some("a"),
                Some("a"),
                Some("a"),
                Some("b"),
                Some("b"),
            ])),
            Arc::new(Int64Array::from(vec![
                Some(5),
                Some(6),
                Some(1),
                Some(2),
                Some(2),
                Some(3),
                None,
                Some(7),
            ])),
            Arc::new(Int64Array::from((0..8).collect::<Vec<i64>>())),
        ],
    )
    .unwrap();
    MemoryExec::new(schema(), vec![vec![batch.slice(0, 3), batch.slice(3, 5)]])
}

fn order_by_v() -> Vec<SortKey> {
    vec![SortKey {
        expr: col("v", &schema()).unwrap(),
        ascending: true,
        nulls_first: true,
    }]
}

fn partition_by_k() -> Vec<PhysicalExprRef> {
    vec![col("k", &schema()).unwrap()]
}

fn rows_frame(preceding: u64, following: u64) -> WindowFrame {
    WindowFrame::new_bounds(
        WindowFrameUnits::Rows,
        WindowFrameBound::Preceding(ScalarValue::UInt64(Some(preceding))),
        WindowFrameBound::Following(ScalarValue::UInt64(Some(following))),
    )
}

fn whole_partition() -> WindowFrame {
    WindowFrame::new(None)
}

/// Spark's default frame with ORDER BY: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
fn default_frame() -> WindowFrame {
    WindowFrame::new(Some(false))
}

fn udwf(function: Arc<WindowUDF>, args: Vec<PhysicalExprRef>, name: &str) -> WindowFunctionCall {
    WindowFunctionCall {
        function: WindowFunctionDefinition::WindowUDF(function),
        args,
        name: name.to_string(),
        frame: default_frame(),
        ignore_nulls: false,
        distinct: false,
        filter: None,
    }
}

fn udaf(function: Arc<AggregateUDF>, frame: WindowFrame, name: &str) -> WindowFunctionCall {
    WindowFunctionCall {
        function: WindowFunctionDefinition::AggregateUDF(function),
        args: vec![col("v", &schema()).unwrap()],
        name: name.to_string(),
        frame,
        ignore_nulls: false,
        distinct: false,
        filter: None,
    }
}

fn v() -> PhysicalExprRef {
    col("v", &schema()).unwrap()
}

fn collect(exec: &dyn ExecutionPlan) -> Vec<RecordBatch> {
    exec.execute(0, &TaskContext::for_tests())
        .unwrap()
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

/// Every window column of the output as one string per row ("NULL" for null).
fn window_columns(exec: &WindowExec) -> Vec<Vec<String>> {
    let output = collect(exec);
    let all = concat_batches(&exec.schema(), &output).unwrap();
    (schema().fields().len()..all.num_columns())
        .map(|c| {
            let column = all.column(c);
            (0..column.len())
                .map(|row| {
                    if column.is_null(row) {
                        "NULL".to_string()
                    } else {
                        array_value_to_string(column, row).unwrap()
                    }
                })
                .collect()
        })
        .collect()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

#[test]
fn ranking_functions_with_ties_and_null_partition_keys() {
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![
            udwf(row_number_udwf(), vec![], "row_number()"),
            udwf(rank_udwf(), vec![], "rank()"),
            udwf(dense_rank_udwf(), vec![], "dense_rank()"),
            udwf(percent_rank_udwf(), vec![], "percent_rank()"),
            udwf(ntile_udwf(), vec![lit(2i64)], "ntile(2)"),
        ],
        sample(),
    )
    .unwrap();
    let columns = window_columns(&exec);
    assert_eq!(
        columns[0],
        strings(&["1", "2", "1", "2", "3", "4", "1", "2"])
    );
    assert_eq!(
        columns[1],
        strings(&["1", "2", "1", "2", "2", "4", "1", "2"])
    );
    assert_eq!(
        columns[2],
        strings(&["1", "2", "1", "2", "2", "3", "1", "2"])
    );
    assert_eq!(
        columns[3],
        strings(&[
            "0.0",
            "1.0",
            "0.0",
            "0.3333333333333333",
            "0.3333333333333333",
            "1.0",
            "0.0",
            "1.0"
        ])
    );
    assert_eq!(
        columns[4],
        strings(&["1", "2", "1", "1", "2", "2", "1", "2"])
    );
    let names: Vec<String> = exec
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        strings(&[
            "k",
            "v",
            "w",
            "row_number()",
            "rank()",
            "dense_rank()",
            "percent_rank()",
            "ntile(2)"
        ])
    );
}

#[test]
fn lag_lead_first_and_last_value() {
    let w = col("w", &schema()).unwrap();
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![
            udwf(lag_udwf(), vec![v()], "lag(v)"),
            udwf(
                lead_udwf(),
                vec![v(), lit(2i64), lit(-1i64)],
                "lead(v, 2, -1)",
            ),
            udwf(first_value_udwf(), vec![v()], "first_value(v)"),
            // Under the default RANGE frame the last row of the frame is the last peer.
            udwf(last_value_udwf(), vec![Arc::clone(&w)], "last_value(w)"),
            WindowFunctionCall {
                frame: rows_frame(0, 0),
                ..udwf(last_value_udwf(), vec![w], "last_value(w) rows")
            },
        ],
        sample(),
    )
    .unwrap();
    let columns = window_columns(&exec);
    assert_eq!(
        columns[0],
        strings(&["NULL", "5", "NULL", "1", "2", "2", "NULL", "NULL"])
    );
    assert_eq!(
        columns[1],
        strings(&["-1", "-1", "2", "3", "-1", "-1", "-1", "-1"])
    );
    assert_eq!(
        columns[2],
        strings(&["5", "5", "1", "1", "1", "1", "NULL", "NULL"])
    );
    assert_eq!(
        columns[3],
        strings(&["0", "1", "2", "4", "4", "5", "6", "7"])
    );
    assert_eq!(
        columns[4],
        strings(&["0", "1", "2", "3", "4", "5", "6", "7"])
    );
}

#[test]
fn aggregates_over_a_sliding_rows_frame() {
    let frame = rows_frame(1, 1);
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![
            udaf(sum_udaf(), frame.clone(), "sum(v)"),
            udaf(count_udaf(), frame.clone(), "count(v)"),
            udaf(min_udaf(), frame.clone(), "min(v)"),
            udaf(max_udaf(), frame.clone(), "max(v)"),
            WindowFunctionCall {
                // As the binder's coercion does, avg reads its argument as double.
                args: vec![cast(v(), &schema(), DataType::Float64).unwrap()],
                ..udaf(avg_udaf(), frame, "avg(v)")
            },
        ],
        sample(),
    )
    .unwrap();
    let columns = window_columns(&exec);
    assert_eq!(
        columns[0],
        strings(&["11", "11", "3", "5", "7", "5", "7", "7"])
    );
    assert_eq!(
        columns[1],
        strings(&["2", "2", "2", "3", "3", "2", "1", "1"])
    );
    assert_eq!(
        columns[2],
        strings(&["5", "5", "1", "1", "2", "2", "7", "7"])
    );
    assert_eq!(
        columns[3],
        strings(&["6", "6", "2", "2", "3", "3", "7", "7"])
    );
    assert_eq!(
        columns[4],
        strings(&[
            "5.5",
            "5.5",
            "1.5",
            "1.6666666666666667",
            "2.3333333333333335",
            "2.5",
            "7.0",
            "7.0"
        ])
    );
}

#[test]
fn aggregates_over_the_default_range_frame_include_peers() {
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![
            udaf(sum_udaf(), default_frame(), "sum(v)"),
            udaf(count_udaf(), default_frame(), "count(v)"),
            udaf(max_udaf(), default_frame(), "max(v)"),
        ],
        sample(),
    )
    .unwrap();
    let columns = window_columns(&exec);
    assert_eq!(
        columns[0],
        strings(&["5", "11", "1", "5", "5", "8", "NULL", "7"])
    );
    assert_eq!(
        columns[1],
        strings(&["1", "2", "1", "3", "3", "4", "0", "1"])
    );
    assert_eq!(
        columns[2],
        strings(&["5", "6", "1", "2", "2", "3", "NULL", "7"])
    );
}

#[test]
fn aggregates_over_the_whole_partition() {
    // Without ORDER BY, the default RANGE frame and the explicit unbounded ROWS frame are
    // both the whole window partition.
    let exec = WindowExec::try_new(
        partition_by_k(),
        vec![],
        vec![
            udaf(sum_udaf(), whole_partition(), "sum(v)"),
            udaf(count_udaf(), default_frame(), "count(v)"),
        ],
        sample(),
    )
    .unwrap();
    let columns = window_columns(&exec);
    assert_eq!(
        columns[0],
        strings(&["11", "11", "8", "8", "8", "8", "7", "7"])
    );
    assert_eq!(
        columns[1],
        strings(&["2", "2", "4", "4", "4", "4", "1", "1"])
    );

    // Without PARTITION BY the whole input is one window partition.
    let exec = WindowExec::try_new(
        vec![],
        vec![],
        vec![udaf(sum_udaf(), whole_partition(), "sum(v)")],
        sample(),
    )
    .unwrap();
    assert_eq!(window_columns(&exec)[0], strings(&["26"; 8]));
}

#[test]
fn range_frame_with_numeric_offsets() {
    let frame = WindowFrame::new_bounds(
        WindowFrameUnits::Range,
        WindowFrameBound::Preceding(ScalarValue::Int32(Some(1))),
        WindowFrameBound::CurrentRow,
    );
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![udaf(sum_udaf(), frame.clone(), "sum(v)")],
        sample(),
    )
    .unwrap();
    assert_eq!(
        window_columns(&exec)[0],
        strings(&["5", "11", "1", "5", "5", "7", "NULL", "7"])
    );

    // A RANGE offset over a string key cannot be evaluated.
    let error = WindowExec::try_new(
        vec![],
        vec![SortKey {
            expr: col("k", &schema()).unwrap(),
            ascending: true,
            nulls_first: true,
        }],
        vec![udaf(sum_udaf(), frame.clone(), "sum(v)")],
        sample(),
    )
    .unwrap_err();
    assert!(matches!(error, EmberError::NotSupported(_)), "{error}");
    assert!(error.to_string().contains("Utf8"), "{error}");

    // Nor one over two ORDER BY keys.
    let mut two_keys = order_by_v();
    two_keys.extend(order_by_v());
    let error = WindowExec::try_new(
        vec![],
        two_keys,
        vec![udaf(sum_udaf(), frame, "sum(v)")],
        sample(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("exactly one ORDER BY"),
        "{error}"
    );
}

#[test]
fn sliding_frame_over_an_aggregate_without_retract_is_recomputed_per_row() {
    let call = udaf(first_value_udaf(), rows_frame(1, 1), "first_value(v)");
    let exec = WindowExec::try_new(partition_by_k(), order_by_v(), vec![call], sample()).unwrap();
    assert_eq!(
        window_columns(&exec)[0],
        strings(&["5", "5", "1", "1", "2", "2", "NULL", "NULL"])
    );
    let call = WindowFunctionCall {
        filter: Some(
            crate::expressions::create_physical_expr(
                &datafusion_expr::col("w").gt(datafusion_expr::lit(2i64)),
                &datafusion_common::DFSchema::try_from(schema().as_ref().clone()).unwrap(),
            )
            .unwrap(),
        ),
        ..udaf(
            first_value_udaf(),
            rows_frame(1, 0),
            "first_value(v) FILTER (WHERE w > 2)",
        )
    };
    let exec = WindowExec::try_new(partition_by_k(), order_by_v(), vec![call], sample()).unwrap();
    assert_eq!(
        window_columns(&exec)[0],
        strings(&["NULL", "NULL", "NULL", "2", "2", "2", "NULL", "NULL"])
    );

    // Growing frames need no retraction.
    let call = udaf(first_value_udaf(), default_frame(), "first_value(v)");
    let exec = WindowExec::try_new(partition_by_k(), order_by_v(), vec![call], sample()).unwrap();
    assert_eq!(
        window_columns(&exec)[0],
        strings(&["5", "5", "1", "1", "1", "1", "NULL", "NULL"])
    );
}

#[test]
fn empty_input_gives_no_rows() {
    let input = MemoryExec::new(schema(), vec![vec![RecordBatch::new_empty(schema())]]);
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![udwf(row_number_udwf(), vec![], "row_number()")],
        input,
    )
    .unwrap();
    assert!(collect(&exec).is_empty());
    let input = MemoryExec::new(schema(), vec![vec![]]);
    let exec = WindowExec::try_new(
        vec![],
        vec![],
        vec![udaf(sum_udaf(), whole_partition(), "s")],
        input,
    )
    .unwrap();
    assert!(collect(&exec).is_empty());
}

#[test]
fn large_partitions_come_out_in_bounded_batches() {
    // Three window partitions of 10k rows each, in batches of 3k rows.
    let total = 30_000i64;
    let keys: Vec<String> = (0..total).map(|i| format!("p{}", i / 10_000)).collect();
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from(keys)),
            Arc::new(Int64Array::from((0..total).collect::<Vec<_>>())),
            Arc::new(Int64Array::from((0..total).collect::<Vec<_>>())),
        ],
    )
    .unwrap();
    let batches = (0..10).map(|i| batch.slice(i * 3_000, 3_000)).collect();
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![udwf(row_number_udwf(), vec![], "row_number()")],
        MemoryExec::new(schema(), vec![batches]),
    )
    .unwrap();
    let output = collect(&exec);
    assert!(output.iter().all(|b| b.num_rows() <= OUTPUT_BATCH_ROWS));
    let all = concat_batches(&exec.schema(), &output).unwrap();
    assert_eq!(all.num_rows(), total as usize);
    let numbers = all
        .column(3)
        .as_any()
        .downcast_ref::<arrow::array::UInt64Array>()
        .unwrap();
    for row in 0..all.num_rows() {
        assert_eq!(numbers.value(row), (row % 10_000) as u64 + 1, "row {row}");
    }
}

#[test]
fn execute_is_lazy_and_checks_cancellation() {
    let input = sample();
    let pulled = Arc::clone(&input.pulled);
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![udwf(row_number_udwf(), vec![], "row_number()")],
        input,
    )
    .unwrap();
    let cx = TaskContext::for_tests();
    let mut stream = exec.execute(0, &cx).unwrap();
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        0,
        "execute must not pull its input"
    );
    assert!(stream.next().unwrap().is_ok());
    assert_eq!(pulled.load(Ordering::SeqCst), 2);

    let cancelled = exec.execute(0, &cx).unwrap();
    cx.cancel();
    let results: Vec<_> = cancelled.collect();
    assert_eq!(results.len(), 1);
    assert!(
        matches!(results[0], Err(EmberError::Cancelled(_))),
        "{:?}",
        results[0]
    );
}

#[test]
fn describe_is_one_stable_line_and_children_can_be_replaced() {
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![
            WindowFunctionCall {
                frame: rows_frame(1, 1),
                ..udwf(row_number_udwf(), vec![], "row_number()")
            },
            udaf(sum_udaf(), default_frame(), "sum(v)"),
        ],
        sample(),
    )
    .unwrap();
    assert_eq!(
        exec.describe(),
        "WindowExec: [row_number() PARTITION BY [k@0] ORDER BY [v@1 ASC NULLS FIRST] ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING, \
         sum(v) PARTITION BY [k@0] ORDER BY [v@1 ASC NULLS FIRST] RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW]"
    );
    let copy = exec.with_new_children(vec![sample()]).unwrap();
    assert_eq!(copy.describe(), exec.describe());
    assert_eq!(
        collect(copy.as_ref())
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        8
    );
    assert!(exec.with_new_children(vec![]).is_err());
}

#[test]
fn planner_chains_one_window_exec_per_specification() {
    use datafusion_expr::expr::WindowFunction as LogicalWindowFunction;
    use datafusion_expr::{col as lcol, lit as llit, Expr, ExprFunctionExt, LogicalPlanBuilder};

    let values = LogicalPlanBuilder::values(vec![
        vec![llit("a"), llit(1i64)],
        vec![llit("a"), llit(2i64)],
        vec![llit("b"), llit(3i64)],
    ])
    .unwrap()
    .build()
    .unwrap();
    let by_k = Expr::from(LogicalWindowFunction::new(row_number_udwf(), vec![]))
        .partition_by(vec![lcol("column1")])
        .order_by(vec![lcol("column2").sort(true, true)])
        .window_frame(default_frame())
        .build()
        .unwrap()
        .alias("rn");
    let whole = Expr::from(LogicalWindowFunction::new(
        sum_udaf(),
        vec![lcol("column2")],
    ))
    .window_frame(whole_partition())
    .build()
    .unwrap()
    .alias("total");
    let also_by_k = Expr::from(LogicalWindowFunction::new(rank_udwf(), vec![]))
        .partition_by(vec![lcol("column1")])
        .order_by(vec![lcol("column2").sort(true, true)])
        .window_frame(default_frame())
        .build()
        .unwrap()
        .alias("rk");
    let plan = LogicalPlanBuilder::from(values)
        .window(vec![by_k, whole, also_by_k])
        .unwrap()
        .build()
        .unwrap();
    let physical = crate::planner::PhysicalPlanner::new(4)
        .create_physical_plan(&plan)
        .unwrap();
    let text = crate::plan::display_plan(physical.as_ref());
    let lines: Vec<&str> = text.lines().map(|l| l.trim_start()).collect();
    assert!(lines[0].starts_with("ProjectExec"), "{text}");
    assert!(
        lines[1].starts_with(
            "WindowExec: [total ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING]"
        ),
        "{text}"
    );
    assert!(lines[2].starts_with("ExchangeExec"), "{text}");
    assert!(
        lines[3].starts_with(
            "WindowExec: [rn PARTITION BY [column1@0] ORDER BY [column2@1 ASC NULLS FIRST]"
        ),
        "{text}"
    );
    assert!(lines[3].contains(", rk PARTITION BY"), "{text}");
    assert!(
        lines[4].starts_with("SortExec: [column1@0 ASC NULLS FIRST, column2@1 ASC NULLS FIRST]"),
        "{text}"
    );
    assert!(lines[5].starts_with("ExchangeExec"), "{text}");
    let names: Vec<String> = physical
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, strings(&["column1", "column2", "rn", "total", "rk"]));
}

#[test]
fn ignore_nulls_and_descending_range_offsets() {
    let exec = WindowExec::try_new(
        partition_by_k(),
        order_by_v(),
        vec![WindowFunctionCall {
            ignore_nulls: true,
            frame: whole_partition(),
            ..udwf(first_value_udwf(), vec![v()], "first_value(v) IGNORE NULLS")
        }],
        sample(),
    )
    .unwrap();
    assert_eq!(
        window_columns(&exec)[0],
        strings(&["5", "5", "1", "1", "1", "1", "7", "7"])
    );

    // Partition `a` sorted by v DESC: 3, 2, 2, 1. RANGE 1 PRECEDING means v + 1 here.
    let rows = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from(vec!["a"; 4])),
            Arc::new(Int64Array::from(vec![3, 2, 2, 1])),
            Arc::new(Int64Array::from(vec![0, 1, 2, 3])),
        ],
    )
    .unwrap();
    let frame = WindowFrame::new_bounds(
        WindowFrameUnits::Range,
        WindowFrameBound::Preceding(ScalarValue::Int64(Some(1))),
        WindowFrameBound::CurrentRow,
    );
    let exec = WindowExec::try_new(
        partition_by_k(),
        vec![SortKey {
            expr: v(),
            ascending: false,
            nulls_first: false,
        }],
        vec![udaf(sum_udaf(), frame, "sum(v)")],
        MemoryExec::new(schema(), vec![vec![rows]]),
    )
    .unwrap();
    assert_eq!(window_columns(&exec)[0], strings(&["3", "7", "7", "5"]));
}
