//! `EliminateSorts`: removes sorts whose order nobody can observe.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::DFSchema;
use datafusion_expr::{Aggregate, Expr, ExprSchemable, LogicalPlan, Sort};
use ember_common::Result;

use crate::{OptimizerContext, Rule};

/// ```text
/// Sort: t.b                     Sort: t.b
///   Sort: t.a          ──▶        TableScan: t
///     TableScan: t
///
/// Aggregate: groupBy=[[t.a]], aggr=[[COUNT(t.b)]]     Aggregate: ...
///   Sort: t.b                                 ──▶       TableScan: t
///     TableScan: t
/// ```
/// A sort with a fetch (a top-k) keeps only some rows, so it is never removed. Under an
/// Aggregate the sort goes only when every aggregate ignores input order (count, min, max,
/// boolean and bitwise aggregates, and sum/avg over non-floating types, as in Spark).
/// Needs no rule before it.
#[derive(Debug, Default, Clone, Copy)]
pub struct EliminateSorts;

impl Rule for EliminateSorts {
    fn name(&self) -> &str {
        "eliminate_sorts"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_up(|node| {
            Ok(match node {
                LogicalPlan::Sort(sort) => match sort.input.as_ref() {
                    LogicalPlan::Sort(inner) if inner.fetch.is_none() => {
                        Transformed::yes(LogicalPlan::Sort(Sort {
                            expr: sort.expr,
                            input: Arc::clone(&inner.input),
                            fetch: sort.fetch,
                        }))
                    }
                    _ => Transformed::no(LogicalPlan::Sort(sort)),
                },
                LogicalPlan::Aggregate(aggregate) => match aggregate.input.as_ref() {
                    LogicalPlan::Sort(inner)
                        if inner.fetch.is_none()
                            && ignores_order(&aggregate.aggr_expr, inner.input.schema()) =>
                    {
                        Transformed::yes(LogicalPlan::Aggregate(Aggregate::try_new_with_schema(
                            Arc::clone(&inner.input),
                            aggregate.group_expr,
                            aggregate.aggr_expr,
                            aggregate.schema,
                        )?))
                    }
                    _ => Transformed::no(LogicalPlan::Aggregate(aggregate)),
                },
                other => Transformed::no(other),
            })
        })?)
    }
}

/// Whether every aggregate returns the same result whatever the order of its input rows.
fn ignores_order(aggr_expr: &[Expr], input_schema: &DFSchema) -> bool {
    aggr_expr.iter().all(|expr| {
        let expr = match expr {
            Expr::Alias(alias) => alias.expr.as_ref(),
            other => other,
        };
        let Expr::AggregateFunction(function) = expr else {
            return false;
        };
        match function.func.name().to_ascii_lowercase().as_str() {
            "count" | "min" | "max" | "bit_and" | "bit_or" | "bit_xor" | "bool_and" | "bool_or"
            | "approx_distinct" => true,
            "sum" | "avg" | "mean" => function.params.args.iter().all(|arg| {
                arg.get_type(input_schema)
                    .is_ok_and(|data_type| !data_type.is_floating())
            }),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::col;
    use datafusion_expr::test::function_stub::{count, sum};

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized, scan};

    #[test]
    fn sort_under_sort_is_removed() {
        let plan = abc("t")
            .sort(vec![col("a").sort(true, true)])
            .unwrap()
            .sort(vec![col("b").sort(false, true)])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&EliminateSorts, plan), @r"
        Sort: t.b DESC NULLS FIRST
          TableScan: t
        ");
    }

    #[test]
    fn top_k_under_sort_stays() {
        let plan = abc("t")
            .sort_with_limit(vec![col("a").sort(true, true)], Some(3))
            .unwrap()
            .sort(vec![col("b").sort(false, true)])
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&EliminateSorts, plan);
    }

    #[test]
    fn sort_under_order_insensitive_aggregate_is_removed() {
        let plan = abc("t")
            .sort(vec![col("b").sort(true, true)])
            .unwrap()
            .aggregate(vec![col("a")], vec![count(col("b")), sum(col("b"))])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&EliminateSorts, plan), @r"
        Aggregate: groupBy=[[t.a]], aggr=[[COUNT(t.b), sum(t.b)]]
          TableScan: t
        ");
    }

    #[test]
    fn sort_under_floating_sum_stays() {
        let plan = scan("t", &[("a", DataType::Int32), ("f", DataType::Float64)])
            .sort(vec![col("f").sort(true, true)])
            .unwrap()
            .aggregate(vec![col("a")], vec![sum(col("f"))])
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&EliminateSorts, plan);
    }
}
