//! `EliminateLimit`: removes limits that cut nothing and replaces `LIMIT 0` by an empty relation.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_expr::logical_plan::{FetchType, SkipType};
use datafusion_expr::{EmptyRelation, Limit, LogicalPlan};
use ember_common::Result;

use crate::{OptimizerContext, Rule};

/// ```text
/// Limit: skip=0, fetch=0         EmptyRelation (same schema)
///   TableScan: t          ──▶
///
/// Limit: skip=0, fetch=10        Aggregate: groupBy=[[]], aggr=[[COUNT(*)]]
///   Aggregate (at most 1 row) ──▶
/// ```
/// A limit without skip whose input cannot produce more rows than it keeps is removed, as is
/// a limit with neither skip nor fetch. Runs best after `PushDownLimit` has merged limits.
#[derive(Debug, Default, Clone, Copy)]
pub struct EliminateLimit;

impl Rule for EliminateLimit {
    fn name(&self) -> &str {
        "eliminate_limit"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_up(|node| {
            let LogicalPlan::Limit(limit) = node else {
                return Ok(Transformed::no(node));
            };
            let (SkipType::Literal(skip), FetchType::Literal(fetch)) =
                (limit.get_skip_type()?, limit.get_fetch_type()?)
            else {
                return Ok(Transformed::no(LogicalPlan::Limit(limit)));
            };
            let Limit { input, .. } = &limit;
            if fetch == Some(0) {
                return Ok(Transformed::yes(LogicalPlan::EmptyRelation(
                    EmptyRelation {
                        produce_one_row: false,
                        schema: Arc::clone(input.schema()),
                    },
                )));
            }
            let cuts_nothing = skip == 0
                && match (fetch, crate::cardinality::max_rows(input)) {
                    (None, _) => true,
                    (Some(fetch), Some(max_rows)) => max_rows <= fetch,
                    (Some(_), None) => false,
                };
            if cuts_nothing {
                return Ok(Transformed::yes(Arc::unwrap_or_clone(limit.input)));
            }
            Ok(Transformed::no(LogicalPlan::Limit(limit)))
        })?)
    }
}

#[cfg(test)]
mod tests {
    use datafusion_expr::col;
    use datafusion_expr::test::function_stub::count;

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized};

    #[test]
    fn limit_zero_becomes_empty_relation() {
        let plan = abc("t")
            .filter(col("a").is_not_null())
            .unwrap()
            .limit(0, Some(0))
            .unwrap()
            .build()
            .unwrap();
        let schema = plan.schema().clone();
        let text = optimized(&EliminateLimit, plan.clone());
        insta::assert_snapshot!(text, @"EmptyRelation: rows=0");
        let result = crate::test_util::run(&EliminateLimit, plan);
        assert_eq!(result.data.schema(), &schema);
    }

    #[test]
    fn limit_over_one_row_aggregate_is_removed() {
        let plan = abc("t")
            .aggregate(Vec::<datafusion_expr::Expr>::new(), vec![count(col("a"))])
            .unwrap()
            .limit(0, Some(10))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&EliminateLimit, plan), @r"
        Aggregate: groupBy=[[]], aggr=[[COUNT(t.a)]]
          TableScan: t
        ");
    }

    #[test]
    fn real_limits_stay() {
        let plan = abc("t").limit(0, Some(10)).unwrap().build().unwrap();
        assert_unchanged(&EliminateLimit, plan);
        let skipping = abc("t")
            .aggregate(Vec::<datafusion_expr::Expr>::new(), vec![count(col("a"))])
            .unwrap()
            .limit(1, Some(10))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&EliminateLimit, skipping);
    }

    /// `SELECT * FROM (SELECT 1 a UNION ALL SELECT 2) ORDER BY a LIMIT 1`: two one-row
    /// relations make two rows, and the limit must keep cutting them to one.
    #[test]
    fn limit_over_a_union_of_single_rows_stays() {
        use datafusion_expr::{lit, LogicalPlanBuilder};
        let row = |v: i32| {
            LogicalPlanBuilder::empty(true)
                .project(vec![lit(v).alias("a")])
                .unwrap()
                .build()
                .unwrap()
        };
        let plan = LogicalPlanBuilder::from(row(1))
            .union(row(2))
            .unwrap()
            .limit(0, Some(1))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&EliminateLimit, plan);
        let enough = LogicalPlanBuilder::from(row(1))
            .union(row(2))
            .unwrap()
            .limit(0, Some(2))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&EliminateLimit, enough), @r"
        Union
          Projection: Int32(1) AS a
            EmptyRelation: rows=1
          Projection: Int32(2) AS a
            EmptyRelation: rows=1
        ");
    }
}
