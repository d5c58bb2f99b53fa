//! `PushDownLeftSemiAntiJoin`: moves a left semi or anti join below the inner join (or
//! column-only projection) under it, onto the one input whose rows it filters.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, JoinType};
use datafusion_expr::logical_plan::{Join, Projection};
use datafusion_expr::{Expr, LogicalPlan};
use ember_common::Result;

use crate::cardinality::estimate_rows;
use crate::{OptimizerContext, Rule};

/// ```text
/// LeftSemi Join: o.k = s.k                 Inner Join: l.k = o.k
///   Inner Join: l.k = o.k          ──▶       TableScan: l
///     TableScan: l                           LeftSemi Join: o.k = s.k
///     TableScan: o                             TableScan: o
///   (subquery s)                               (subquery s)
/// ```
/// A semi or anti join keeps or drops rows of its left input by looking only at the columns
/// its keys and filter read; when all of those come from one input of an inner join below
/// (or from the preserved side of a left join), filtering that input first gives the same
/// rows and lets the filter shrink the input before the bigger join (Spark's
/// `PushDownLeftSemiAntiJoin`; TPC-H Q18 and Q20). Projections that only pass columns
/// through are crossed too. Null-aware anti joins (`NOT IN`) stay where they are.
///
/// Below an inner join the semi or anti join only moves when its right side is estimated
/// smaller than the input it would filter: a small subquery result (Q18's orders with a
/// large quantity) shrinks that input, while a large one (Q21's `EXISTS` over all of
/// lineitem) is cheaper to probe after the other joins have cut the rows down.
#[derive(Debug, Default, Clone, Copy)]
pub struct PushDownLeftSemiAntiJoin;

impl Rule for PushDownLeftSemiAntiJoin {
    fn name(&self) -> &str {
        "push_down_left_semi_anti_join"
    }

    fn apply(&self, plan: LogicalPlan, cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_down(|node| match node {
            LogicalPlan::Join(join)
                if matches!(join.join_type, JoinType::LeftSemi | JoinType::LeftAnti)
                    && !join.null_aware =>
            {
                push_down(join, cx)
            }
            other => Ok(Transformed::no(other)),
        })?)
    }
}

/// The columns of the semi/anti join's left input that its keys and filter read; `None` when
/// an expression is volatile or holds a subquery.
fn left_columns_read(join: &Join) -> Option<HashSet<Column>> {
    let left = join.left.schema();
    let mut columns = HashSet::new();
    let exprs = join
        .on
        .iter()
        .flat_map(|(l, r)| [l, r])
        .chain(join.filter.as_ref());
    for expr in exprs {
        let unsafe_expr = expr.is_volatile()
            || expr
                .exists(|e| {
                    Ok(matches!(
                        e,
                        Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)
                    ))
                })
                .unwrap_or(true);
        if unsafe_expr {
            return None;
        }
        for column in expr.column_refs() {
            if left.has_column(column) {
                columns.insert(column.clone());
            }
        }
    }
    Some(columns)
}

fn push_down(
    join: Join,
    cx: &OptimizerContext,
) -> datafusion_common::Result<Transformed<LogicalPlan>> {
    let Some(read) = left_columns_read(&join) else {
        return Ok(Transformed::no(LogicalPlan::Join(join)));
    };
    match join.left.as_ref() {
        LogicalPlan::Join(inner)
            if matches!(inner.join_type, JoinType::Inner | JoinType::Left)
                && inner.null_equality == join.null_equality =>
        {
            let on_left = read.iter().all(|c| inner.left.schema().has_column(c));
            let on_right = inner.join_type == JoinType::Inner
                && read.iter().all(|c| inner.right.schema().has_column(c));
            if !on_left && !on_right {
                return Ok(Transformed::no(LogicalPlan::Join(join)));
            }
            let target = if on_left { &inner.left } else { &inner.right };
            if estimate_rows(&join.right, cx) >= estimate_rows(target, cx) {
                return Ok(Transformed::no(LogicalPlan::Join(join)));
            }
            let filtered = LogicalPlan::Join(Join::try_new(
                Arc::clone(target),
                Arc::clone(&join.right),
                join.on.clone(),
                join.filter.clone(),
                join.join_type,
                join.join_constraint,
                join.null_equality,
                join.null_aware,
            )?);
            let (left, right) = if on_left {
                (Arc::new(filtered), Arc::clone(&inner.right))
            } else {
                (Arc::clone(&inner.left), Arc::new(filtered))
            };
            let rebuilt = Join::try_new(
                left,
                right,
                inner.on.clone(),
                inner.filter.clone(),
                inner.join_type,
                inner.join_constraint,
                inner.null_equality,
                inner.null_aware,
            )?;
            Ok(Transformed::yes(LogicalPlan::Join(rebuilt)))
        }
        LogicalPlan::Projection(projection)
            if projection.expr.iter().all(|e| matches!(e, Expr::Column(_)))
                && projection.input.schema().fields().len() >= projection.expr.len() =>
        {
            // Plain columns keep their names, so the join's expressions read the same columns
            // below the projection.
            let filtered = LogicalPlan::Join(Join::try_new(
                Arc::clone(&projection.input),
                Arc::clone(&join.right),
                join.on.clone(),
                join.filter.clone(),
                join.join_type,
                join.join_constraint,
                join.null_equality,
                join.null_aware,
            )?);
            let rebuilt = Projection::try_new(projection.expr.clone(), Arc::new(filtered))?;
            Ok(Transformed::yes(LogicalPlan::Projection(rebuilt)))
        }
        _ => Ok(Transformed::no(LogicalPlan::Join(join))),
    }
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{col, lit, LogicalPlanBuilder};

    use super::*;
    use crate::test_util::{assert_unchanged, optimized, scan};

    fn table(name: &str) -> LogicalPlanBuilder {
        scan(name, &[("k", DataType::Int64), ("v", DataType::Int64)])
    }

    /// The semi join's right side: `s` filtered, so estimated smaller than `l` and `o`.
    fn small() -> LogicalPlan {
        table("s")
            .filter(col("s.v").eq(lit(1i64)))
            .unwrap()
            .build()
            .unwrap()
    }

    fn semi_over_inner(join_type: JoinType, semi_key: &str, inner: JoinType) -> LogicalPlan {
        table("l")
            .join(
                table("o").build().unwrap(),
                inner,
                (vec!["l.k"], vec!["o.k"]),
                None,
            )
            .unwrap()
            .join(small(), join_type, (vec![semi_key], vec!["s.k"]), None)
            .unwrap()
            .build()
            .unwrap()
    }

    #[test]
    fn semi_join_moves_onto_the_side_it_filters() {
        let plan = semi_over_inner(JoinType::LeftSemi, "o.v", JoinType::Inner);
        insta::assert_snapshot!(optimized(&PushDownLeftSemiAntiJoin, plan), @r"
        Inner Join: l.k = o.k
          TableScan: l
          LeftSemi Join: o.v = s.k
            TableScan: o
            Filter: s.v = Int64(1)
              TableScan: s
        ");
    }

    #[test]
    fn a_semi_join_with_a_large_right_side_stays_above() {
        let plan = table("l")
            .join(
                table("o").build().unwrap(),
                JoinType::Inner,
                (vec!["l.k"], vec!["o.k"]),
                None,
            )
            .unwrap()
            .join(
                table("s").build().unwrap(),
                JoinType::LeftSemi,
                (vec!["o.v"], vec!["s.k"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&PushDownLeftSemiAntiJoin, plan);
    }

    #[test]
    fn anti_join_moves_onto_the_left_side_of_a_left_join_only() {
        let plan = semi_over_inner(JoinType::LeftAnti, "l.v", JoinType::Left);
        insta::assert_snapshot!(optimized(&PushDownLeftSemiAntiJoin, plan), @r"
        Left Join: l.k = o.k
          LeftAnti Join: l.v = s.k
            TableScan: l
            Filter: s.v = Int64(1)
              TableScan: s
          TableScan: o
        ");
        // On the null-supplying side the anti join would keep rows it must drop.
        assert_unchanged(
            &PushDownLeftSemiAntiJoin,
            semi_over_inner(JoinType::LeftAnti, "o.v", JoinType::Left),
        );
    }

    #[test]
    fn a_condition_over_both_sides_stays() {
        let plan = table("l")
            .join(
                table("o").build().unwrap(),
                JoinType::Inner,
                (vec!["l.k"], vec!["o.k"]),
                None,
            )
            .unwrap()
            .join(
                table("s").build().unwrap(),
                JoinType::LeftSemi,
                (vec!["o.v"], vec!["s.k"]),
                Some(col("l.v").lt(col("s.v"))),
            )
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&PushDownLeftSemiAntiJoin, plan);
    }

    #[test]
    fn crosses_a_column_projection() {
        let plan = table("o")
            .project(vec![col("o.v"), col("o.k")])
            .unwrap()
            .join(
                table("s").build().unwrap(),
                JoinType::LeftSemi,
                (vec!["o.k"], vec!["s.k"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownLeftSemiAntiJoin, plan), @r"
        Projection: o.v, o.k
          LeftSemi Join: o.k = s.k
            TableScan: o
            TableScan: s
        ");
    }
}
