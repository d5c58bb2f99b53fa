//! `EliminateProjection`: removes projections that pass their input through unchanged and
//! merges a projection into the projection below it.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::Column;
use datafusion_expr::{Expr, LogicalPlan, Projection};
use ember_common::Result;

use crate::{OptimizerContext, Rule};

/// ```text
/// Projection: t.a, t.b, t.c        TableScan: t
///   TableScan: t            ──▶
/// ```
/// Only a projection listing exactly its input's columns, in order and with the same
/// qualifiers, goes: then the schema is the same with or without it. Runs after
/// `ColumnPruning`, which leaves such projections behind.
///
/// ```text
/// Projection: x + 1 AS y            Projection: t.a * 2 + 1 AS y
///   Projection: t.a * 2 AS x  ──▶     TableScan: t
///     TableScan: t
/// ```
/// Two projections in a row become one (Spark's `CollapseProject`) when that evaluates
/// nothing twice: every lower expression that is more than a column or a literal is used at
/// most once above, and none is volatile.
#[derive(Debug, Default, Clone, Copy)]
pub struct EliminateProjection;

impl Rule for EliminateProjection {
    fn name(&self) -> &str {
        "eliminate_projection"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_up(|node| match node {
            LogicalPlan::Projection(projection) if passes_input_through(&projection) => {
                Ok(Transformed::yes(Arc::unwrap_or_clone(projection.input)))
            }
            LogicalPlan::Projection(projection) => collapse(projection),
            other => Ok(Transformed::no(other)),
        })?)
    }
}

/// Merges `outer` into the projection below it, when that evaluates nothing twice.
fn collapse(outer: Projection) -> datafusion_common::Result<Transformed<LogicalPlan>> {
    let LogicalPlan::Projection(inner) = outer.input.as_ref() else {
        return Ok(Transformed::no(LogicalPlan::Projection(outer)));
    };
    let inner_columns = inner.schema.columns();
    let mut uses = vec![0usize; inner_columns.len()];
    let mut unknown = false;
    for expr in &outer.expr {
        // Every occurrence counts (`x + x` uses x twice), so walk the tree.
        expr.apply(|e| {
            if let Expr::Column(column) = e {
                match inner_columns.iter().position(|c| c == column) {
                    Some(i) => uses[i] += 1,
                    None => unknown = true,
                }
            }
            Ok(datafusion_common::tree_node::TreeNodeRecursion::Continue)
        })?;
    }
    if unknown {
        return Ok(Transformed::no(LogicalPlan::Projection(outer)));
    }
    let safe = inner.expr.iter().zip(&uses).all(|(expr, &n)| {
        let plain = matches!(expr.clone().unalias(), Expr::Column(_) | Expr::Literal(..));
        !expr.is_volatile() && (plain || n <= 1)
    });
    if !safe {
        return Ok(Transformed::no(LogicalPlan::Projection(outer)));
    }
    let substitutes: Vec<Expr> = inner.expr.iter().map(|e| e.clone().unalias()).collect();
    let mut exprs = Vec::with_capacity(outer.expr.len());
    for (i, expr) in outer.expr.iter().enumerate() {
        let merged = expr
            .clone()
            .unalias()
            .transform_up(|e| match e {
                Expr::Column(ref column) => match inner_columns.iter().position(|c| c == column) {
                    Some(at) => Ok(Transformed::yes(substitutes[at].clone())),
                    None => Ok(Transformed::no(e)),
                },
                other => Ok(Transformed::no(other)),
            })?
            .data;
        let (qualifier, field) = outer.schema.qualified_field(i);
        let named = Column::new(qualifier.cloned(), field.name());
        exprs.push(match merged {
            Expr::Column(ref column) if *column == named => merged,
            other => other.alias_qualified(qualifier.cloned(), field.name()),
        });
    }
    let merged = Projection::try_new(exprs, Arc::clone(&inner.input))?;
    Ok(Transformed::yes(LogicalPlan::Projection(merged)))
}

fn passes_input_through(projection: &Projection) -> bool {
    let input_schema = projection.input.schema();
    projection.expr.len() == input_schema.fields().len()
        && projection.expr.iter().enumerate().all(|(i, expr)| {
            let (qualifier, field) = input_schema.qualified_field(i);
            matches!(expr, Expr::Column(column)
                if *column == Column::new(qualifier.cloned(), field.name()))
        })
}

#[cfg(test)]
mod tests {
    use datafusion_expr::{col, lit};

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized};

    #[test]
    fn identity_projection_is_removed() {
        let plan = abc("t")
            .project(vec![col("a"), col("b"), col("c")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&EliminateProjection, plan), @"TableScan: t");
    }

    #[test]
    fn projections_in_a_row_collapse_unless_that_computes_twice() {
        let plan = abc("t")
            .project(vec![(col("a") * lit(2)).alias("x"), col("b")])
            .unwrap()
            .project(vec![(col("x") + lit(1)).alias("y"), col("b")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&EliminateProjection, plan), @r"
        Projection: t.a * Int32(2) + Int32(1) AS y, t.b
          TableScan: t
        ");
        // x used twice above: collapsing would compute a * 2 twice.
        let twice = abc("t")
            .project(vec![(col("a") * lit(2)).alias("x")])
            .unwrap()
            .project(vec![(col("x") + col("x")).alias("y")])
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&EliminateProjection, twice);
    }

    #[test]
    fn reordering_or_renaming_projection_stays() {
        let reordered = abc("t")
            .project(vec![col("b"), col("a"), col("c")])
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&EliminateProjection, reordered);
        let renamed = abc("t")
            .project(vec![col("a").alias("x"), col("b"), col("c")])
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&EliminateProjection, renamed);
    }
}
