//! `ScalarSubqueryToJoin`: scalar subqueries in Filters (WHERE, HAVING) and Projections
//! become left joins with the subquery's one-row (or one-row-per-key) result.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::JoinType;
use datafusion_expr::logical_plan::{Filter, Projection};
use datafusion_expr::utils::{conjunction, split_conjunction_owned};
use datafusion_expr::{Expr, LogicalPlan, Subquery};
use ember_common::{EmberError, Result};

use super::subquery_util::{
    alias_plan, build_join, correlation_pairs, plan_has_outer_ref, project_columns,
    pull_up_correlated, rebase_predicates, single_row_per_key, with_key_columns, AggregateChain,
    AliasGenerator,
};
use crate::expr_util::map_node_expressions;
use crate::{OptimizerContext, Rule};

/// Rewrites correlated scalar subqueries of Filter and Projection nodes into left joins.
///
/// * Uncorrelated subqueries stay as they are: as in Spark, the driver runs each one once as
///   its own job before the query and substitutes its value (see `OptimizeSubqueries` for
///   their plans), which is cheaper than any join.
/// * Correlated by equalities (`inner = outer`): the subquery grouped by its inner correlation
///   columns, left-joined on them. A global aggregate whose value on no rows is not NULL
///   (`count(*)`) yields that value for outer rows without matches (the "count bug").
pub struct ScalarSubqueryToJoin;

impl Rule for ScalarSubqueryToJoin {
    fn name(&self) -> &str {
        "scalar_subquery_to_join"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        let aliases = AliasGenerator::for_plan(&plan);
        plan.transform_up_with_subqueries(|node| {
            rewrite_node(node, &aliases).map_err(datafusion_common::DataFusionError::from)
        })
        .map_err(|e| EmberError::from(e).into_root())
    }
}

/// Whether the subquery refers to columns of the query around it.
pub(crate) fn is_correlated(subquery: &Subquery) -> bool {
    !subquery.outer_ref_columns.is_empty() || plan_has_outer_ref(&subquery.subquery)
}

/// The correlated scalar subqueries in `exprs`, each once.
fn scalar_subqueries(exprs: &[Expr]) -> Result<Vec<Subquery>> {
    let mut found: Vec<Subquery> = Vec::new();
    for e in exprs {
        e.apply(|e| {
            if let Expr::ScalarSubquery(s) = e {
                if is_correlated(s) && !found.contains(s) {
                    found.push(s.clone());
                }
            }
            Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
        })?;
    }
    Ok(found)
}

fn rewrite_node(node: LogicalPlan, aliases: &AliasGenerator) -> Result<Transformed<LogicalPlan>> {
    let subqueries = scalar_subqueries(&node.expressions())?;
    if subqueries.is_empty() {
        return Ok(Transformed::no(node));
    }
    let (exprs, input, is_filter) = match node {
        LogicalPlan::Filter(f) => (vec![f.predicate], f.input, true),
        LogicalPlan::Projection(p) => (p.expr, p.input, false),
        other => {
            return Err(EmberError::NotSupported(format!(
                "a scalar subquery in {}; use it in the SELECT list, WHERE or HAVING",
                other.display()
            )))
        }
    };
    let original_columns = input.schema().columns();
    let mut input = Arc::unwrap_or_clone(input);
    // Conjuncts without a subquery stay below the joins (the joins to come then see them).
    let exprs = if is_filter {
        let (with, without): (Vec<Expr>, Vec<Expr>) = exprs
            .into_iter()
            .flat_map(split_conjunction_owned)
            .partition(|c| {
                c.exists(|e| Ok(matches!(e, Expr::ScalarSubquery(_))))
                    .unwrap_or(true)
            });
        if let Some(local) = conjunction(without) {
            input = LogicalPlan::Filter(Filter::try_new(local, Arc::new(input))?);
        }
        conjunction(with).into_iter().collect()
    } else {
        exprs
    };
    let mut replacements = Vec::new();
    for subquery in subqueries {
        let (joined, value) = join_scalar(input, subquery.clone(), aliases)?;
        input = joined;
        replacements.push((subquery, value));
    }
    let rebuilt = if is_filter {
        let predicate = exprs
            .into_iter()
            .next()
            .ok_or_else(|| EmberError::internal("a Filter without a predicate"))?;
        LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(input))?)
    } else {
        LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(input))?)
    };
    let replaced = map_node_expressions(rebuilt, |e| {
        e.transform_up(|e| match e {
            Expr::ScalarSubquery(s) => match replacements.iter().find(|(sub, _)| *sub == s) {
                Some((_, value)) => Ok(Transformed::yes(value.clone())),
                None => Ok(Transformed::no(Expr::ScalarSubquery(s))),
            },
            other => Ok(Transformed::no(other)),
        })
    })?
    .data;
    let plan = if is_filter {
        project_columns(replaced, original_columns)?
    } else {
        replaced
    };
    Ok(Transformed::yes(plan))
}

/// Joins `input` with the subquery; returns the widened plan and the expression that now
/// stands for the subquery's value.
fn join_scalar(
    input: LogicalPlan,
    subquery: Subquery,
    aliases: &AliasGenerator,
) -> Result<(LogicalPlan, Expr)> {
    let original = Arc::unwrap_or_clone(subquery.subquery);
    if let Some(chain) = AggregateChain::of(&original).filter(AggregateChain::is_correlated) {
        // One row per outer row, its value over no rows (`count` 0) for outer rows
        // without matches.
        let (joined, mut values, _) = chain.join(input, &[0], "a scalar subquery", aliases)?;
        let value = values
            .pop()
            .ok_or_else(|| EmberError::internal("an aggregate join without its value"))?;
        return Ok((joined, value));
    }
    let decorrelated = pull_up_correlated(original)?;
    let pairs = correlation_pairs(&decorrelated.predicates, "a scalar subquery")?;
    let (keyed, keys, conditions) = with_key_columns(decorrelated.plan, &pairs)?;
    // At most one row per key value, or the run-time error Spark gives.
    let sub = single_row_per_key(keyed, keys)?;
    let (sub, mapping) = alias_plan(sub, &aliases.next(), input.schema())?;
    let conditions = rebase_predicates(conditions, &mapping)?;
    let value_column = sub.schema().columns()[0].clone();
    let joined = build_join(input, sub, JoinType::Left, conditions)?;
    Ok((joined, Expr::Column(value_column)))
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{col, lit, out_ref_col, scalar_subquery};
    use datafusion_functions_aggregate::count::count;
    use datafusion_functions_aggregate::min_max::max;

    use super::*;
    use crate::test_util::{abc, optimized, scan};

    #[test]
    fn uncorrelated_subqueries_are_left_for_the_driver_to_run_once() {
        let sub = scan("s", &[("x", DataType::Int32)])
            .aggregate(Vec::<Expr>::new(), vec![max(col("s.x"))])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(col("t.a").gt(scalar_subquery(Arc::new(sub))))
            .unwrap()
            .build()
            .unwrap();
        let before = plan.display_indent().to_string();
        let after = ScalarSubqueryToJoin
            .apply(plan, &crate::OptimizerContext::default())
            .unwrap();
        assert!(!after.transformed);
        assert_eq!(after.data.display_indent().to_string(), before);
    }

    #[test]
    fn correlated_aggregate_groups_by_the_correlation_columns() {
        let sub = scan("s", &[("k", DataType::Int32), ("x", DataType::Int32)])
            .filter(col("s.k").eq(out_ref_col(DataType::Int32, "t.a")))
            .unwrap()
            .aggregate(Vec::<Expr>::new(), vec![max(col("s.x"))])
            .unwrap()
            .project(vec![(lit(2)
                * Expr::Column(datafusion_common::Column::from_name(
                    "max(s.x)",
                )))
            .alias("m")])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(col("t.b").lt(scalar_subquery(Arc::new(sub))))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ScalarSubqueryToJoin, plan), @r"
        Projection: t.a, t.b, t.c
          Filter: t.b < Int32(2) * __sq_1.max(s.x)
            Left Join: t.a = __sq_1.k
              TableScan: t
              SubqueryAlias: __sq_1
                Projection: s.k, max(s.x), Boolean(true) AS __matched
                  Aggregate: groupBy=[[s.k]], aggr=[[max(s.x)]]
                    TableScan: s
        ");
    }

    #[test]
    fn correlated_count_gives_zero_without_matches() {
        let sub = scan("s", &[("k", DataType::Int32)])
            .filter(col("s.k").eq(out_ref_col(DataType::Int32, "t.a")))
            .unwrap()
            .aggregate(Vec::<Expr>::new(), vec![count(lit(1i64)).alias("n")])
            .unwrap()
            .project(vec![col("n")])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .project(vec![col("t.a"), scalar_subquery(Arc::new(sub)).alias("n")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ScalarSubqueryToJoin, plan), @r"
        Projection: t.a, CASE WHEN __sq_1.__matched IS NULL THEN Int64(0) ELSE __sq_1.n END AS n
          Left Join: t.a = __sq_1.k
            TableScan: t
            SubqueryAlias: __sq_1
              Projection: s.k, n, Boolean(true) AS __matched
                Aggregate: groupBy=[[s.k]], aggr=[[count(Int64(1)) AS n]]
                  TableScan: s
        ");
    }

    #[test]
    fn non_equality_correlation_is_not_supported() {
        let sub = scan("s", &[("k", DataType::Int32)])
            .filter(col("s.k").lt(out_ref_col(DataType::Int32, "t.a")))
            .unwrap()
            .aggregate(Vec::<Expr>::new(), vec![count(lit(1i64)).alias("n")])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(col("t.b").eq(scalar_subquery(Arc::new(sub))))
            .unwrap()
            .build()
            .unwrap();
        let err = ScalarSubqueryToJoin
            .apply(plan, &OptimizerContext::default())
            .unwrap_err();
        assert!(err.to_string().contains("only equalities"), "{err}");
    }
}
