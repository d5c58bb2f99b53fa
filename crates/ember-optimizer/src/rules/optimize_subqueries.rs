//! `OptimizeSubqueries`: runs the whole optimizer over the plans of the subqueries that stay
//! in expressions (uncorrelated scalar subqueries, which the driver runs as their own jobs).

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_expr::{Expr, LogicalPlan, Subquery};
use ember_common::{EmberError, Result};

use super::scalar_subquery_to_join::is_correlated;
use crate::expr_util::map_node_expressions;
use crate::{default_optimizer, OptimizerContext, Rule};

/// Optimizes each uncorrelated scalar subquery's plan with the default rule batches, as
/// Spark's `OptimizeSubqueries` does. Run once, after the outer plan is optimized.
pub struct OptimizeSubqueries;

impl Rule for OptimizeSubqueries {
    fn name(&self) -> &str {
        "optimize_subqueries"
    }

    fn apply(&self, plan: LogicalPlan, cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        let has_subquery = plan
            .exists(|node| {
                Ok(node.expressions().iter().any(|e| {
                    e.exists(|e| Ok(matches!(e, Expr::ScalarSubquery(_))))
                        .unwrap_or(false)
                }))
            })
            .unwrap_or(false);
        if !has_subquery {
            return Ok(Transformed::no(plan));
        }
        plan.transform_up(|node| {
            map_node_expressions(node, |e| {
                e.transform_up(|e| match e {
                    Expr::ScalarSubquery(s) if !is_correlated(&s) => {
                        let optimized = optimize_subquery(s, cx)
                            .map_err(datafusion_common::DataFusionError::from)?;
                        Ok(Transformed::yes(Expr::ScalarSubquery(optimized)))
                    }
                    other => Ok(Transformed::no(other)),
                })
            })
        })
        .map_err(|e| EmberError::from(e).into_root())
    }
}

fn optimize_subquery(subquery: Subquery, cx: &OptimizerContext) -> Result<Subquery> {
    let plan = Arc::unwrap_or_clone(subquery.subquery);
    let (plan, _) = default_optimizer().optimize(plan, cx)?;
    Ok(Subquery {
        subquery: Arc::new(plan),
        ..subquery
    })
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{col, lit, scalar_subquery, Expr, LogicalPlan};
    use datafusion_functions_aggregate::min_max::max;

    use super::*;
    use crate::test_util::{abc, scan};

    fn subquery_plan(plan: &LogicalPlan) -> String {
        let mut found = String::new();
        plan.apply(|node| {
            for e in node.expressions() {
                e.apply(|e| {
                    if let Expr::ScalarSubquery(s) = e {
                        found = s.subquery.display_indent().to_string();
                    }
                    Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
                })?;
            }
            Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
        })
        .unwrap();
        found
    }

    #[test]
    fn the_subquery_plan_gets_filter_pushdown_and_pruning() {
        let sub = scan("s", &[("x", DataType::Int32), ("y", DataType::Int32)])
            .filter(col("s.y").eq(lit(1)))
            .unwrap()
            .aggregate(Vec::<Expr>::new(), vec![max(col("s.x"))])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(col("t.a").gt(scalar_subquery(Arc::new(sub))))
            .unwrap()
            .build()
            .unwrap();
        let before = subquery_plan(&plan);
        assert!(before.contains("Filter: s.y = Int32(1)"), "{before}");
        let result = OptimizeSubqueries
            .apply(plan, &OptimizerContext::default())
            .unwrap();
        assert!(result.transformed);
        let after = subquery_plan(&result.data);
        assert!(
            after.contains("Filter: s.y = Int32(1)\n      TableScan: s"),
            "filter not right above the scan:\n{after}"
        );
        assert!(after.contains("TableScan: s"), "{after}");
        assert!(after.contains("s.y = Int32(1)"), "filter lost:\n{after}");
    }

    #[test]
    fn plans_without_subqueries_are_unchanged() {
        let plan = abc("t").build().unwrap();
        let result = OptimizeSubqueries
            .apply(plan, &OptimizerContext::default())
            .unwrap();
        assert!(!result.transformed);
    }
}
