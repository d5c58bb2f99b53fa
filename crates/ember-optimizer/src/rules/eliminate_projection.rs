//! `EliminateProjection`: removes projections that pass their input through unchanged.

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
            other => Ok(Transformed::no(other)),
        })?)
    }
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
    use datafusion_expr::col;

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
