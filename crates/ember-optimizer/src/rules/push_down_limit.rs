//! `PushDownLimit`: moves a Limit below a Projection and merges adjacent Limits.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::Result as DFResult;
use datafusion_expr::logical_plan::{FetchType, SkipType};
use datafusion_expr::{lit, Limit, LogicalPlan, Projection};
use ember_common::Result;

use crate::{OptimizerContext, Rule};

/// Moves a Limit closer to the rows it cuts.
///
/// ```text
/// Limit: skip=0, fetch=10              Projection: t.a + 1
///   Projection: t.a + 1        ──▶       Limit: skip=0, fetch=10
///     TableScan: t                         TableScan: t
///
/// Limit: skip=2, fetch=3               Limit: skip=3, fetch=3
///   Limit: skip=1, fetch=10    ──▶       TableScan: t
///     TableScan: t
/// ```
/// A Limit directly over a Sort stays there: the physical planner turns that pair into a
/// top-k. Needs no rule before it.
#[derive(Debug, Default, Clone, Copy)]
pub struct PushDownLimit;

impl Rule for PushDownLimit {
    fn name(&self) -> &str {
        "push_down_limit"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_down(|node| match node {
            LogicalPlan::Limit(limit) => push_limit(limit),
            other => Ok(Transformed::no(other)),
        })?)
    }
}

fn push_limit(limit: Limit) -> DFResult<Transformed<LogicalPlan>> {
    match limit.input.as_ref() {
        LogicalPlan::Projection(projection) => {
            let below = LogicalPlan::Limit(Limit {
                skip: limit.skip.clone(),
                fetch: limit.fetch.clone(),
                input: Arc::clone(&projection.input),
            });
            let new_projection = Projection::try_new_with_schema(
                projection.expr.clone(),
                Arc::new(below),
                Arc::clone(&projection.schema),
            )?;
            Ok(Transformed::yes(LogicalPlan::Projection(new_projection)))
        }
        LogicalPlan::Limit(inner) => match combine(&limit, inner)? {
            Some(combined) => Ok(Transformed::yes(LogicalPlan::Limit(combined))),
            None => Ok(Transformed::no(LogicalPlan::Limit(limit))),
        },
        _ => Ok(Transformed::no(LogicalPlan::Limit(limit))),
    }
}

/// `outer(inner(x))` as one Limit over `x`, when both have literal skip and fetch.
fn combine(outer: &Limit, inner: &Limit) -> DFResult<Option<Limit>> {
    let (
        SkipType::Literal(outer_skip),
        FetchType::Literal(outer_fetch),
        SkipType::Literal(inner_skip),
        FetchType::Literal(inner_fetch),
    ) = (
        outer.get_skip_type()?,
        outer.get_fetch_type()?,
        inner.get_skip_type()?,
        inner.get_fetch_type()?,
    )
    else {
        return Ok(None);
    };
    // The inner limit leaves rows [inner_skip, inner_skip + inner_fetch); the outer one then
    // skips outer_skip of them and keeps at most outer_fetch.
    let skip = inner_skip.saturating_add(outer_skip);
    let remaining = inner_fetch.map(|fetch| fetch.saturating_sub(outer_skip));
    let fetch = match (remaining, outer_fetch) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let as_literal = |n: usize| Box::new(lit(i64::try_from(n).unwrap_or(i64::MAX)));
    Ok(Some(Limit {
        skip: (skip > 0).then(|| as_literal(skip)),
        fetch: fetch.map(as_literal),
        input: Arc::clone(&inner.input),
    }))
}

#[cfg(test)]
mod tests {
    use datafusion_expr::{col, lit};

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized};

    #[test]
    fn limit_moves_below_projection() {
        let plan = abc("t")
            .project(vec![col("a") + lit(1i32)])
            .unwrap()
            .limit(0, Some(10))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownLimit, plan), @r"
        Projection: t.a + Int32(1)
          Limit: skip=0, fetch=10
            TableScan: t
        ");
    }

    #[test]
    fn adjacent_limits_combine() {
        let plan = abc("t")
            .limit(1, Some(10))
            .unwrap()
            .limit(2, Some(3))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownLimit, plan), @r"
        Limit: skip=3, fetch=3
          TableScan: t
        ");
        let skip_past_inner = abc("t")
            .limit(0, Some(2))
            .unwrap()
            .limit(5, None)
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownLimit, skip_past_inner), @r"
        Limit: skip=5, fetch=0
          TableScan: t
        ");
    }

    #[test]
    fn limit_over_sort_stays_for_top_k() {
        let plan = abc("t")
            .sort(vec![col("a").sort(true, true)])
            .unwrap()
            .limit(0, Some(5))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&PushDownLimit, plan);
    }
}
