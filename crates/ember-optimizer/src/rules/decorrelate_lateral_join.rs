//! `DecorrelateLateralJoin`: a join whose right side is a correlated subquery
//! (`FROM t1, LATERAL (SELECT ...)`, `JOIN LATERAL (...) ON ...`) as ordinary joins, as
//! Spark's `RewriteLateralSubquery` and `DecorrelateInnerQuery` do.
//!
//! The binder leaves such a join with a `Subquery` node on its right, whose plan refers to the
//! left side's columns. The subquery's outputs (through its aliases and projections) become
//! expressions over its inner plan, where outer columns are the left side's columns; the
//! correlated WHERE conditions are pulled up ([`pull_up_correlated`]) into the join condition:
//!
//! ```text
//! t1 ⋈lateral (SELECT t1.a + t2.b AS s FROM t2 WHERE t2.k = t1.k)
//!   => Project(t1.*, t1.a + t2.b AS s) (t1 ⋈ t2 ON t2.k = t1.k)
//! ```
//!
//! A subquery that is a global aggregate (`SELECT sum(b) FROM t2 WHERE t2.k = t1.k`) makes one
//! row for every outer row: each of its outputs becomes a correlated scalar subquery, which
//! `ScalarSubqueryToJoin` then rewrites (with the count bug handled). The join's own condition
//! filters the result of an inner join; for LEFT JOIN LATERAL only subqueries whose outputs
//! are plain columns are supported (an unmatched outer row must see NULLs).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, JoinType};
use datafusion_expr::logical_plan::{Filter, Join, JoinConstraint, Projection};
use datafusion_expr::utils::conjunction;
use datafusion_expr::{Expr, LogicalPlan, Subquery};
use ember_common::{EmberError, Result};

use super::subquery_util::{
    has_outer_ref, plan_has_outer_ref, pull_up_correlated, strip_outer_refs,
};
use crate::{OptimizerContext, Rule};

/// Rewrites lateral joins (a `Subquery` on the right of a join) into joins and projections.
pub struct DecorrelateLateralJoin;

impl Rule for DecorrelateLateralJoin {
    fn name(&self) -> &str {
        "decorrelate_lateral_join"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        plan.transform_up_with_subqueries(|node| {
            rewrite(node).map_err(datafusion_common::DataFusionError::from)
        })
        .map_err(|e| EmberError::from(e).into_root())
    }
}

fn refused(what: &str) -> EmberError {
    EmberError::NotSupported(format!("a LATERAL subquery {what}"))
}

fn rewrite(node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    let is_lateral = matches!(&node, LogicalPlan::Join(join) if matches!(join.right.as_ref(), LogicalPlan::Subquery(_)));
    if !is_lateral {
        return Ok(Transformed::no(node));
    }
    let LogicalPlan::Join(join) = node else {
        unreachable!("checked above")
    };
    let LogicalPlan::Subquery(subquery) = Arc::unwrap_or_clone(join.right) else {
        unreachable!("checked above")
    };
    if !matches!(join.join_type, JoinType::Inner | JoinType::Left) {
        return Err(refused(&format!(
            "in a {} join; use an inner or LEFT join",
            join.join_type
        )));
    }
    let output_schema = join.schema;
    let left = Arc::unwrap_or_clone(join.left);
    let left_len = left.schema().fields().len();
    let (outputs, input) = outputs_of(Arc::unwrap_or_clone(subquery.subquery))?;

    // The lateral join's own condition, over the left side and the subquery's outputs.
    let mut own = Vec::new();
    for (l, r) in join.on {
        own.push(l.eq(r));
    }
    own.extend(join.filter);
    let own = conjunction(own).filter(|c| {
        !matches!(
            c,
            Expr::Literal(datafusion_common::ScalarValue::Boolean(Some(true)), _)
        )
    });

    let (joined, outputs) = if let Some(aggregates) = global_aggregate_outputs(&outputs, &input)? {
        (left, aggregates)
    } else {
        let decorrelated = pull_up_correlated(input)?;
        // One row for every outer row (no FROM, no correlated condition): LEFT is INNER.
        let one_row = decorrelated.predicates.is_empty()
            && matches!(&decorrelated.plan, LogicalPlan::EmptyRelation(e) if e.produce_one_row);
        if join.join_type == JoinType::Left
            && !one_row
            && outputs.iter().any(|e| !matches!(e, Expr::Column(_)))
        {
            return Err(refused(
                "in a LEFT JOIN that computes its outputs; select plain columns in it, or use an inner join",
            ));
        }
        if plan_has_outer_ref(&decorrelated.plan) {
            return Err(refused(
                "that refers to the outer query anywhere but in its SELECT list and WHERE",
            ));
        }
        let condition = conjunction(
            decorrelated
                .predicates
                .into_iter()
                .map(strip_outer_refs)
                .collect::<Result<Vec<_>>>()?,
        );
        let joined = LogicalPlan::Join(Join::try_new(
            Arc::new(left),
            Arc::new(decorrelated.plan),
            vec![],
            condition,
            join.join_type,
            JoinConstraint::On,
            join.null_equality,
            false,
        )?);
        let outputs = outputs
            .into_iter()
            .map(strip_outer_refs)
            .collect::<Result<Vec<_>>>()?;
        (joined, outputs)
    };

    // The original join's columns: the left side's, then the subquery's outputs.
    let exprs = output_schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            if i < left_len {
                Expr::Column(Column::new(qualifier.cloned(), field.name()))
            } else {
                outputs[i - left_len]
                    .clone()
                    .alias_qualified(qualifier.cloned(), field.name())
            }
        })
        .collect::<Vec<_>>();
    let projected = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(joined))?);
    let result = match own {
        None => projected,
        Some(condition) if join.join_type == JoinType::Inner => {
            LogicalPlan::Filter(Filter::try_new(condition, Arc::new(projected))?)
        }
        Some(_) => {
            return Err(refused(
                "in a LEFT JOIN with an ON condition other than TRUE; move the condition into the subquery's WHERE",
            ))
        }
    };
    Ok(Transformed::yes(result))
}

/// The subquery's outputs as expressions over the plan below its aliases and projections.
fn outputs_of(plan: LogicalPlan) -> Result<(Vec<Expr>, LogicalPlan)> {
    let mut outputs: Option<Vec<Expr>> = None;
    let mut plan = plan;
    loop {
        match plan {
            LogicalPlan::SubqueryAlias(alias) => {
                // Columns keep their order; the alias renames the qualifier only.
                let input = Arc::unwrap_or_clone(alias.input);
                let below: Vec<Expr> = input
                    .schema()
                    .columns()
                    .into_iter()
                    .map(Expr::Column)
                    .collect();
                outputs = Some(compose(outputs, &alias.schema.columns(), &below)?);
                plan = input;
            }
            LogicalPlan::Projection(projection) => {
                let below: Vec<Expr> = projection
                    .expr
                    .iter()
                    .map(|e| e.clone().unalias())
                    .collect();
                outputs = Some(compose(outputs, &projection.schema.columns(), &below)?);
                plan = Arc::unwrap_or_clone(projection.input);
            }
            other => {
                let outputs = match outputs {
                    Some(o) => o,
                    None => other
                        .schema()
                        .columns()
                        .into_iter()
                        .map(Expr::Column)
                        .collect(),
                };
                return Ok((outputs, other));
            }
        }
    }
}

/// `outputs` (over `columns`) rewritten over the expressions `below` that make those columns;
/// with no outputs yet, `below` itself.
fn compose(outputs: Option<Vec<Expr>>, columns: &[Column], below: &[Expr]) -> Result<Vec<Expr>> {
    let Some(outputs) = outputs else {
        return Ok(below.to_vec());
    };
    let map: HashMap<&Column, &Expr> = columns.iter().zip(below).collect();
    outputs
        .into_iter()
        .map(|e| {
            Ok(e.transform_up(|e| match &e {
                Expr::Column(c) => match map.get(c) {
                    Some(replacement) => Ok(Transformed::yes((*replacement).clone())),
                    None => Ok(Transformed::no(e)),
                },
                _ => Ok(Transformed::no(e)),
            })?
            .data)
        })
        .collect()
}

/// For a subquery that is a global aggregate (one row per outer row, whatever matches), its
/// outputs as correlated scalar subqueries; `None` for any other subquery.
fn global_aggregate_outputs(outputs: &[Expr], input: &LogicalPlan) -> Result<Option<Vec<Expr>>> {
    let LogicalPlan::Aggregate(aggregate) = input else {
        return Ok(None);
    };
    if !aggregate.group_expr.is_empty() {
        return Ok(None);
    }
    if outputs.iter().any(has_outer_ref) {
        return Err(refused(
            "that combines its aggregates with outer columns in its SELECT list; compute that outside the subquery",
        ));
    }
    outputs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let plan = Arc::new(LogicalPlan::Projection(Projection::try_new(
                vec![e.clone().alias(format!("__lateral_{i}"))],
                Arc::new(input.clone()),
            )?));
            Ok(Expr::ScalarSubquery(Subquery {
                outer_ref_columns: plan.all_out_ref_exprs(),
                subquery: plan,
                spans: Default::default(),
            }))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
