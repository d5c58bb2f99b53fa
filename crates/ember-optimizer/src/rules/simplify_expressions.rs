//! `SimplifyExpressions`: boolean identities, and filters whose predicate is a constant.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{DFSchema, DFSchemaRef, Result as DFResult, ScalarValue};
use datafusion_expr::{
    lit, BinaryExpr, EmptyRelation, Expr, ExprSchemable, Filter, LogicalPlan, Operator,
};
use ember_common::Result;

use crate::expr_util::map_node_expressions;
use crate::{OptimizerContext, Rule};

/// Rewrites boolean expressions by their identities and drops or empties constant filters.
///
/// ```text
/// true AND x → x        false AND x → false      x AND x → x
/// false OR x → x        true OR x  → true        x OR x  → x
/// NOT NOT x  → x        NOT true   → false
/// x = x, x <= x, x >= x → true    x != x, x < x, x > x → false   (x deterministic, not nullable)
/// x IS NULL → false     x IS NOT NULL → true                        (x not nullable)
///
/// Filter: true            Filter: false (or NULL)
///   TableScan: t    ──▶     TableScan: t          ──▶ EmptyRelation (same schema)
///   (becomes TableScan: t)
/// ```
/// Runs best after `ConstantFolding`, which turns constant comparisons into the literals
/// these identities match.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimplifyExpressions;

impl Rule for SimplifyExpressions {
    fn name(&self) -> &str {
        "simplify_expressions"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_up_with_subqueries(|node| {
            let schema = expression_schema(&node);
            map_node_expressions(node, |expr| simplify(expr, schema.as_deref()))?
                .transform_data(simplify_filter)
        })?)
    }
}

/// The schema a node's expressions are resolved against, when there is one.
fn expression_schema(plan: &LogicalPlan) -> Option<DFSchemaRef> {
    match plan {
        LogicalPlan::Join(join) => Some(Arc::clone(&join.schema)),
        LogicalPlan::TableScan(_) | LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => None,
        other => match other.inputs().as_slice() {
            [input] => Some(Arc::clone(input.schema())),
            _ => None,
        },
    }
}

fn simplify(expr: Expr, schema: Option<&DFSchema>) -> DFResult<Transformed<Expr>> {
    let not_nullable = |e: &Expr| {
        !e.is_volatile() && schema.is_some_and(|schema| matches!(e.nullable(schema), Ok(false)))
    };
    expr.transform_up(|e| {
        Ok(match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
                Operator::And if is_true(&left) => Transformed::yes(*right),
                Operator::And if is_true(&right) => Transformed::yes(*left),
                Operator::And if is_false(&left) || is_false(&right) => {
                    Transformed::yes(lit(false))
                }
                Operator::Or if is_true(&left) || is_true(&right) => Transformed::yes(lit(true)),
                Operator::Or if is_false(&left) => Transformed::yes(*right),
                Operator::Or if is_false(&right) => Transformed::yes(*left),
                Operator::And | Operator::Or if left == right && !left.is_volatile() => {
                    Transformed::yes(*left)
                }
                Operator::Eq | Operator::LtEq | Operator::GtEq
                    if left == right && not_nullable(&left) =>
                {
                    Transformed::yes(lit(true))
                }
                Operator::NotEq | Operator::Lt | Operator::Gt
                    if left == right && not_nullable(&left) =>
                {
                    Transformed::yes(lit(false))
                }
                op => Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right })),
            },
            Expr::Not(inner) => match *inner {
                Expr::Not(x) => Transformed::yes(*x),
                inner if is_true(&inner) => Transformed::yes(lit(false)),
                inner if is_false(&inner) => Transformed::yes(lit(true)),
                inner => Transformed::no(Expr::Not(Box::new(inner))),
            },
            Expr::IsNull(inner) if not_nullable(&inner) => Transformed::yes(lit(false)),
            Expr::IsNotNull(inner) if not_nullable(&inner) => Transformed::yes(lit(true)),
            other => Transformed::no(other),
        })
    })
}

fn is_true(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(ScalarValue::Boolean(Some(true)), _))
}

fn is_false(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(ScalarValue::Boolean(Some(false)), _))
}

/// `Filter: true` disappears; `Filter: false` and `Filter: NULL` keep no row.
fn simplify_filter(plan: LogicalPlan) -> DFResult<Transformed<LogicalPlan>> {
    let LogicalPlan::Filter(Filter {
        predicate, input, ..
    }) = plan
    else {
        return Ok(Transformed::no(plan));
    };
    if is_true(&predicate) {
        return Ok(Transformed::yes(Arc::unwrap_or_clone(input)));
    }
    let keeps_nothing =
        is_false(&predicate) || matches!(&predicate, Expr::Literal(value, _) if value.is_null());
    if keeps_nothing {
        return Ok(Transformed::yes(LogicalPlan::EmptyRelation(
            EmptyRelation {
                produce_one_row: false,
                schema: Arc::clone(input.schema()),
            },
        )));
    }
    Ok(Transformed::no(LogicalPlan::Filter(Filter::try_new(
        predicate, input,
    )?)))
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{col, not};

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized, scan};

    #[test]
    fn and_or_identities() {
        let plan = abc("t")
            .filter(
                lit(true)
                    .and(col("a").gt(lit(1i32)))
                    .and(col("b").lt(lit(2i32)).or(lit(false)))
                    .and(not(not(col("c").eq(lit("x"))))),
            )
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&SimplifyExpressions, plan), @r#"
        Filter: t.a > Int32(1) AND t.b < Int32(2) AND t.c = Utf8("x")
          TableScan: t
        "#);
    }

    #[test]
    fn or_true_in_projection_keeps_name() {
        let plan = abc("t")
            .project(vec![col("a").gt(lit(1i32)).or(lit(true))])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&SimplifyExpressions, plan), @r"
        Projection: Boolean(true) AS t.a > Int32(1) OR Boolean(true)
          TableScan: t
        ");
    }

    #[test]
    fn self_equality_only_when_not_nullable() {
        let t = scan("t", &[("a", DataType::Int32)]);
        let nullable = t
            .clone()
            .filter(col("a").eq(col("a")))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&SimplifyExpressions, nullable);

        let schema = datafusion_common::arrow::datatypes::Schema::new(vec![
            datafusion_common::arrow::datatypes::Field::new("k", DataType::Int32, false),
        ]);
        let not_nullable =
            datafusion_expr::logical_plan::builder::table_scan(Some("u"), &schema, None)
                .unwrap()
                .filter(col("k").eq(col("k")).and(col("k").is_not_null()))
                .unwrap()
                .project(vec![col("k")])
                .unwrap()
                .build()
                .unwrap();
        // `k = k AND k IS NOT NULL` is `true AND true`, then the filter disappears.
        let once = crate::test_util::run(&SimplifyExpressions, not_nullable);
        insta::assert_snapshot!(once.data.display_indent().to_string(), @r"
        Projection: u.k
          TableScan: u
        ");
    }

    #[test]
    fn false_filter_becomes_empty_relation_with_same_schema() {
        let plan = abc("t")
            .filter(col("a").gt(lit(1i32)).and(lit(false)))
            .unwrap()
            .build()
            .unwrap();
        let result = crate::test_util::run(&SimplifyExpressions, plan.clone());
        assert!(result.transformed);
        assert!(matches!(
            &result.data,
            LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: false,
                ..
            })
        ));
        assert_eq!(result.data.schema(), plan.schema());
    }

    #[test]
    fn null_filter_becomes_empty_relation() {
        let plan = abc("t")
            .filter(lit(ScalarValue::Boolean(None)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&SimplifyExpressions, plan), @"EmptyRelation: rows=0");
    }

    #[test]
    fn nothing_to_simplify_reports_no_change() {
        let plan = abc("t")
            .filter(col("a").gt(lit(1i32)).or(col("b").is_null()))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&SimplifyExpressions, plan);
    }
}
