//! `ConstantFolding`: evaluates sub-expressions that read no column and call nothing volatile.

use std::sync::Arc;

use datafusion_common::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion_common::arrow::datatypes::Schema;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{DFSchema, Result as DFResult, ScalarValue};
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion_expr::{ColumnarValue, Expr, ExprSchemable, LogicalPlan, Volatility};
use datafusion_physical_expr::create_physical_expr;
use ember_common::Result;

use crate::expr_util::map_node_expressions;
use crate::{OptimizerContext, Rule};

/// Replaces every constant sub-expression by the literal it evaluates to, keeping its type.
///
/// ```text
/// Filter: t.a > Int64(1) + Int64(2) * Int64(3)      Filter: t.a > Int64(7)
///   TableScan: t                               ──▶    TableScan: t
///
/// Projection: CAST(Utf8("5") AS Int32)              Projection: Int32(5) AS CAST(Utf8("5") AS Int32)
/// ```
///
/// Functions that depend on the query (`current_date()`, `now()`) first rewrite themselves
/// through `ScalarUDFImpl::simplify` with the [`OptimizerContext`]'s query start time, so one
/// query sees one instant. A constant expression whose evaluation fails (`1 / 0` in ANSI mode)
/// is left alone: it must fail at run time, and only if a row reaches it (`CASE WHEN false
/// THEN 1 / 0 END` folds to NULL because the whole CASE is evaluated at once).
/// Needs no other rule before it.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConstantFolding;

impl Rule for ConstantFolding {
    fn name(&self) -> &str {
        "constant_folding"
    }

    fn apply(&self, plan: LogicalPlan, cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        let props = cx.execution_props();
        let simplify_cx = cx.simplify_context(Arc::new(DFSchema::empty()));
        Ok(plan.transform_up_with_subqueries(|node| {
            map_node_expressions(node, |expr| fold(expr, &props, &simplify_cx))
        })?)
    }
}

/// Folds the largest constant subtrees of `expr`, top-down, after letting stable functions of
/// literal arguments simplify themselves.
fn fold(
    expr: Expr,
    props: &ExecutionProps,
    simplify_cx: &SimplifyContext,
) -> DFResult<Transformed<Expr>> {
    let simplified = expr.transform_up(|e| match e {
        Expr::ScalarFunction(function)
            if function.func.signature().volatility != Volatility::Volatile
                && function.args.iter().all(is_literal) =>
        {
            match function.func.simplify(function.args.clone(), simplify_cx) {
                Ok(ExprSimplifyResult::Simplified(new)) => Ok(Transformed::yes(new)),
                _ => Ok(Transformed::no(Expr::ScalarFunction(function))),
            }
        }
        other => Ok(Transformed::no(other)),
    })?;
    simplified.transform_data(|e| {
        e.transform_down(|e| {
            if is_literal(&e) {
                return Ok(Transformed::new(e, false, TreeNodeRecursion::Jump));
            }
            if !is_constant(&e) {
                return Ok(Transformed::no(e));
            }
            match evaluate(&e, props) {
                Some(literal) => Ok(Transformed::new(literal, true, TreeNodeRecursion::Jump)),
                None => Ok(Transformed::no(e)),
            }
        })
    })
}

fn is_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(..))
}

/// Whether every node of `expr` is a literal or a deterministic computation over its children.
fn is_constant(expr: &Expr) -> bool {
    !expr
        .exists(|e| {
            Ok(!matches!(
                e,
                Expr::Literal(..)
                    | Expr::BinaryExpr(_)
                    | Expr::Like(_)
                    | Expr::SimilarTo(_)
                    | Expr::Not(_)
                    | Expr::IsNotNull(_)
                    | Expr::IsNull(_)
                    | Expr::IsTrue(_)
                    | Expr::IsFalse(_)
                    | Expr::IsUnknown(_)
                    | Expr::IsNotTrue(_)
                    | Expr::IsNotFalse(_)
                    | Expr::IsNotUnknown(_)
                    | Expr::Negative(_)
                    | Expr::Between(_)
                    | Expr::Case(_)
                    | Expr::Cast(_)
                    | Expr::TryCast(_)
                    | Expr::InList(_)
            ) && !matches!(e, Expr::ScalarFunction(f)
                    if f.func.signature().volatility != Volatility::Volatile))
        })
        .unwrap_or(true)
}

/// Evaluates a constant expression on a batch of one row with no columns; `None` when it
/// cannot be evaluated now or would change type.
fn evaluate(expr: &Expr, props: &ExecutionProps) -> Option<Expr> {
    let schema = DFSchema::empty();
    let data_type = expr.get_type(&schema).ok()?;
    let physical =
        create_physical_expr(expr, &schema, props, &PhysicalPlanningContext::default()).ok()?;
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .ok()?;
    let value = match physical.evaluate(&batch) {
        Ok(value) => value,
        Err(error) => {
            log::debug!("not folding {expr}: {error}");
            return None;
        }
    };
    let scalar = match value {
        ColumnarValue::Scalar(scalar) => scalar,
        ColumnarValue::Array(array) if array.len() == 1 => {
            ScalarValue::try_from_array(&array, 0).ok()?
        }
        ColumnarValue::Array(_) => return None,
    };
    (scalar.data_type() == data_type).then_some(Expr::Literal(scalar, None))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{
        cast, col, lit, when, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    };

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized};

    #[test]
    fn folds_arithmetic_in_filter() {
        let plan = abc("t")
            .filter(col("a").gt(lit(1i32) + lit(2i32) * lit(3i32)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ConstantFolding, plan), @r"
        Filter: t.a > Int32(7)
          TableScan: t
        ");
    }

    #[test]
    fn folded_projection_keeps_its_name_and_type() {
        let plan = abc("t")
            .project(vec![
                cast(lit("5"), DataType::Int32),
                col("a") + lit(2i32) - lit(1i32),
            ])
            .unwrap()
            .build()
            .unwrap();
        // `a + 2 - 1` is `(a + 2) - 1`: nothing constant in it.
        insta::assert_snapshot!(optimized(&ConstantFolding, plan), @r#"
        Projection: Int32(5) AS Utf8("5"), t.a + Int32(2) - Int32(1)
          TableScan: t
        "#);
    }

    #[test]
    fn null_arithmetic_folds_to_typed_null() {
        let plan = abc("t")
            .project(vec![(lit(ScalarValue::Int32(None)) + lit(1i32)).alias("x")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ConstantFolding, plan), @r"
        Projection: Int32(NULL) AS x
          TableScan: t
        ");
    }

    #[test]
    fn failing_expression_is_left_for_run_time() {
        let plan = abc("t")
            .filter(col("a").gt(lit(1i32) / lit(0i32)))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&ConstantFolding, plan);
    }

    #[test]
    fn case_with_false_branch_that_would_fail_folds() {
        let plan = abc("t")
            .project(vec![when(lit(false), lit(1i32) / lit(0i32))
                .otherwise(lit(2i32))
                .unwrap()
                .alias("x")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ConstantFolding, plan), @r"
        Projection: Int32(2) AS x
          TableScan: t
        ");
    }

    /// A stand-in for `current_date()`: stable, and simplifies itself from the query start.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct QueryStartDay {
        signature: Signature,
    }

    impl ScalarUDFImpl for QueryStartDay {
        fn name(&self) -> &str {
            "query_start_day"
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _: &[DataType]) -> DFResult<DataType> {
            Ok(DataType::Date32)
        }
        fn invoke_with_args(&self, _: ScalarFunctionArgs) -> DFResult<ColumnarValue> {
            datafusion_common::internal_err!("query_start_day must be simplified away")
        }
        fn simplify(
            &self,
            args: Vec<Expr>,
            info: &SimplifyContext,
        ) -> DFResult<ExprSimplifyResult> {
            let Some(start) = info.query_execution_start_time() else {
                return Ok(ExprSimplifyResult::Original(args));
            };
            let days = start
                .date_naive()
                .signed_duration_since(chrono::NaiveDate::default());
            Ok(ExprSimplifyResult::Simplified(lit(ScalarValue::Date32(
                Some(days.num_days() as i32),
            ))))
        }
    }

    #[test]
    fn stable_functions_fold_to_the_query_start() {
        let udf = ScalarUDF::from(QueryStartDay {
            signature: Signature::nullary(Volatility::Stable),
        });
        let plan = abc("t")
            .project(vec![udf.call(vec![]).alias("today")])
            .unwrap()
            .build()
            .unwrap();
        let start = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
        let cx = OptimizerContext::default().with_query_start(start);
        let result = ConstantFolding.apply(plan, &cx).unwrap();
        assert!(result.transformed);
        insta::assert_snapshot!(result.data.display_indent().to_string(), @r#"
        Projection: Date32("2024-03-01") AS today
          TableScan: t
        "#);
    }

    #[test]
    fn volatile_and_column_expressions_stay() {
        let plan = abc("t")
            .filter(col("a").gt(col("b") + lit(1i32)))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&ConstantFolding, plan);
    }
}
