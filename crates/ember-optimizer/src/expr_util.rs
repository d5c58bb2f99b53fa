//! Expression helpers shared by the rules: name-preserving rewrites, conjunct handling, column substitution.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, Result, TableReference};
use datafusion_expr::logical_plan::Filter;
use datafusion_expr::utils::{conjunction, split_conjunction_owned};
use datafusion_expr::{Expr, LogicalPlan};

/// Rewrites every expression of one plan node (not its inputs) with `rewrite`.
///
/// Projection, Aggregate and Window expressions name their output fields, so a rewritten
/// expression keeps its old name through an alias (`Int64(3) AS "Int64(1) + Int64(2)"`).
/// When anything changed, the node's schema is recomputed.
pub(crate) fn map_node_expressions(
    plan: LogicalPlan,
    mut rewrite: impl FnMut(Expr) -> Result<Transformed<Expr>>,
) -> Result<Transformed<LogicalPlan>> {
    let keep_names = matches!(
        plan,
        LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)
    );
    let result = plan.map_expressions(|expr| {
        let saved_name = keep_names.then(|| qualified_name(&expr));
        let result = rewrite(expr)?;
        if !result.transformed {
            return Ok(result);
        }
        Ok(result.update_data(|expr| match saved_name {
            Some((relation, name)) => {
                if qualified_name(&expr) == (relation.clone(), name.clone()) {
                    expr
                } else {
                    expr.alias_qualified(relation, name)
                }
            }
            None => expr,
        }))
    })?;
    if result.transformed {
        result.map_data(|plan| plan.recompute_schema())
    } else {
        Ok(result)
    }
}

fn qualified_name(expr: &Expr) -> (Option<TableReference>, String) {
    match expr {
        Expr::Alias(alias) => (alias.relation.clone(), alias.name.clone()),
        other => other.qualified_name(),
    }
}

/// Whether a predicate may be evaluated somewhere else than where the query wrote it:
/// deterministic, and free of subqueries, aggregates, windows, outer references and placeholders.
pub(crate) fn is_movable_predicate(expr: &Expr) -> bool {
    !expr.is_volatile()
        && !expr
            .exists(|e| {
                Ok(matches!(
                    e,
                    Expr::Exists(_)
                        | Expr::InSubquery(_)
                        | Expr::SetComparison(_)
                        | Expr::ScalarSubquery(_)
                        | Expr::AggregateFunction(_)
                        | Expr::WindowFunction(_)
                        | Expr::OuterReferenceColumn(..)
                        | Expr::Placeholder(_)
                        | Expr::GroupingSet(_)
                        | Expr::Unnest(_)
                ))
            })
            .unwrap_or(true)
}

/// ANDs conjuncts together, dropping exact duplicates and keeping the first occurrence's order.
pub(crate) fn conjunction_dedup(conjuncts: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    let mut unique: Vec<Expr> = Vec::new();
    for conjunct in conjuncts {
        if !unique.contains(&conjunct) {
            unique.push(conjunct);
        }
    }
    conjunction(unique)
}

/// `conjuncts` as a Filter over `input`, merged into `input` when it is itself a Filter (the
/// new conjuncts after the old ones); `input` alone when there is no conjunct.
pub(crate) fn with_filter(conjuncts: Vec<Expr>, input: LogicalPlan) -> Result<LogicalPlan> {
    if conjuncts.is_empty() {
        return Ok(input);
    }
    let (all, input) = match input {
        LogicalPlan::Filter(Filter {
            predicate, input, ..
        }) => {
            let mut all = split_conjunction_owned(predicate);
            all.extend(conjuncts);
            (all, input)
        }
        other => (conjuncts, Arc::new(other)),
    };
    match conjunction_dedup(all) {
        Some(predicate) => Ok(LogicalPlan::Filter(Filter::try_new(predicate, input)?)),
        None => Ok(Arc::unwrap_or_clone(input)),
    }
}

/// Replaces every column found in `replacements` by its expression (columns not found stay).
pub(crate) fn replace_columns(expr: Expr, replacements: &HashMap<Column, Expr>) -> Result<Expr> {
    expr.transform_up(|e| match e {
        Expr::Column(column) => match replacements.get(&column) {
            Some(replacement) => Ok(Transformed::yes(replacement.clone())),
            None => Ok(Transformed::no(Expr::Column(column))),
        },
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}
