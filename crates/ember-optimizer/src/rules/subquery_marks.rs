//! EXISTS and IN subqueries used as values (in a SELECT list, under OR or NOT, inside CASE):
//! each becomes a boolean computed from a left join with the subquery's distinct rows (a
//! "mark" join) plus, for IN, the subquery's row and NULL counts for SQL's NULL rules.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{Column, JoinType, ScalarValue};
use datafusion_expr::expr::{Case, Exists, InSubquery};
use datafusion_expr::logical_plan::{Aggregate, Projection};
use datafusion_expr::{Expr, LogicalPlan, Subquery};
use datafusion_functions_aggregate::count::count;
use ember_common::{EmberError, Result};

use super::subquery_util::{
    alias_plan, build_join, correlation_pairs, pull_up_correlated, rebase_predicates,
    with_key_columns, AggregateChain, AliasGenerator,
};

/// Replaces every EXISTS / IN subquery in `exprs` by a boolean expression over `input`
/// widened with the joins that compute it. Returns the widened input and the new expressions.
pub(crate) fn mark_subqueries(
    input: LogicalPlan,
    exprs: Vec<Expr>,
    aliases: &AliasGenerator,
) -> Result<(LogicalPlan, Vec<Expr>)> {
    let mut found: Vec<Expr> = Vec::new();
    for e in &exprs {
        e.apply(|e| {
            if matches!(e, Expr::Exists(_) | Expr::InSubquery(_)) {
                if !found.contains(e) {
                    found.push(e.clone());
                }
                return Ok(TreeNodeRecursion::Jump);
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
    }
    let mut input = input;
    let mut replacements = Vec::new();
    for subquery_expr in found {
        let (widened, value) = match subquery_expr.clone() {
            Expr::Exists(Exists { subquery, negated }) => {
                mark_exists(input, subquery, negated, aliases)?
            }
            Expr::InSubquery(InSubquery {
                expr,
                subquery,
                negated,
            }) => mark_in(input, *expr, subquery, negated, aliases)?,
            _ => unreachable!("only EXISTS and IN subqueries are collected"),
        };
        input = widened;
        replacements.push((subquery_expr, value));
    }
    let exprs = exprs
        .into_iter()
        .map(|e| {
            e.transform_down(|e| match replacements.iter().find(|(s, _)| *s == e) {
                Some((_, value)) => Ok(Transformed::new(
                    value.clone(),
                    true,
                    TreeNodeRecursion::Jump,
                )),
                None => Ok(Transformed::no(e)),
            })
            .map(|t| t.data)
        })
        .collect::<datafusion_common::Result<Vec<_>>>()?;
    Ok((input, exprs))
}

/// `plan` grouped by `group` (its distinct rows over those columns) with a `__m` = true
/// column marking that a row exists.
fn distinct_with_marker(plan: LogicalPlan, group: Vec<Expr>) -> Result<LogicalPlan> {
    let distinct = LogicalPlan::Aggregate(Aggregate::try_new(Arc::new(plan), group, vec![])?);
    let mut exprs: Vec<Expr> = distinct
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    exprs.push(Expr::Literal(ScalarValue::Boolean(Some(true)), None).alias("__m"));
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(distinct),
    )?))
}

/// An uncorrelated scalar subquery: the driver runs it once.
pub(crate) fn scalar(plan: LogicalPlan) -> Expr {
    Expr::ScalarSubquery(Subquery {
        subquery: Arc::new(plan),
        outer_ref_columns: vec![],
        spans: Default::default(),
    })
}

/// `count(value)` (`count(1)` without one) over `plan`, one row.
pub(crate) fn count_all(plan: LogicalPlan, value: Option<Expr>) -> Result<LogicalPlan> {
    let argument = value.unwrap_or(Expr::Literal(ScalarValue::Int64(Some(1)), None));
    Ok(LogicalPlan::Aggregate(Aggregate::try_new(
        Arc::new(plan),
        vec![],
        vec![count(argument).alias("__count")],
    )?))
}

fn boolean(value: Option<bool>) -> Expr {
    Expr::Literal(ScalarValue::Boolean(value), None)
}

fn mark_exists(
    input: LogicalPlan,
    subquery: Subquery,
    negated: bool,
    aliases: &AliasGenerator,
) -> Result<(LogicalPlan, Expr)> {
    if let Some(chain) =
        AggregateChain::of(subquery.subquery.as_ref()).filter(AggregateChain::is_correlated)
    {
        // A global aggregate has its row (unless its HAVING fails) even for outer rows
        // without matches: `EXISTS (SELECT count(*) ... WHERE corr)` is always true.
        if !chain.has_filter() {
            return Ok((input, negate(boolean(Some(true)), negated)));
        }
        let (joined, _, makes_row) = chain.join(input, &[], "an EXISTS subquery", aliases)?;
        return Ok((joined, negate(makes_row, negated)));
    }
    let decorrelated = pull_up_correlated(Arc::unwrap_or_clone(subquery.subquery))?;
    if decorrelated.predicates.is_empty() {
        // Uncorrelated: one count, run once by the driver.
        let rows = scalar(count_all(decorrelated.plan, None)?);
        let exists = rows.gt(Expr::Literal(ScalarValue::Int64(Some(0)), None));
        return Ok((input, negate(exists, negated)));
    }
    let pairs = correlation_pairs(
        &decorrelated.predicates,
        "an EXISTS subquery used as a value",
    )?;
    let (keyed, keys, conditions) = with_key_columns(decorrelated.plan, &pairs)?;
    let group = keys.into_iter().map(Expr::Column).collect();
    let marks = distinct_with_marker(keyed, group)?;
    let (marks, mapping) = alias_plan(marks, &aliases.next(), input.schema())?;
    let marker = marks
        .schema()
        .columns()
        .last()
        .cloned()
        .ok_or_else(|| EmberError::internal("mark plan without columns"))?;
    let conditions = rebase_predicates(conditions, &mapping)?;
    let joined = build_join(input, marks, JoinType::Left, conditions)?;
    Ok((joined, negate(Expr::Column(marker).is_not_null(), negated)))
}

fn negate(value: Expr, negated: bool) -> Expr {
    if negated {
        Expr::Not(Box::new(value))
    } else {
        value
    }
}

/// `value [NOT] IN (subquery)` as a value: TRUE when a subquery row equals it, FALSE when
/// none does and the subquery has no NULL (or no rows at all), NULL otherwise.
fn mark_in(
    input: LogicalPlan,
    value: Expr,
    subquery: Subquery,
    negated: bool,
    aliases: &AliasGenerator,
) -> Result<(LogicalPlan, Expr)> {
    if let Some(chain) =
        AggregateChain::of(subquery.subquery.as_ref()).filter(AggregateChain::is_correlated)
    {
        // At most one row, which exists even for outer rows without matches (its value then
        // over no rows: `count` 0): `x IN (that row)` is `x = value` when the row is made.
        let (joined, mut values, makes_row) = chain.join(input, &[0], "an IN subquery", aliases)?;
        let sub_value = values
            .pop()
            .ok_or_else(|| EmberError::internal("an aggregate join without its value"))?;
        let result = Expr::Case(Case::new(
            None,
            vec![(Box::new(makes_row), Box::new(value.eq(sub_value)))],
            Some(Box::new(boolean(Some(false)))),
        ));
        return Ok((joined, negate(result, negated)));
    }
    let decorrelated = pull_up_correlated(Arc::unwrap_or_clone(subquery.subquery))?;
    let pairs = correlation_pairs(&decorrelated.predicates, "an IN subquery used as a value")?;
    let sub_value = Expr::Column(decorrelated.plan.schema().columns()[0].clone());
    let (plan, keys, key_conditions) = with_key_columns(decorrelated.plan, &pairs)?;

    // Matches: the distinct (keys, value) rows, joined on the correlation and the value.
    let mut group: Vec<Expr> = keys.iter().cloned().map(Expr::Column).collect();
    if !group.contains(&sub_value) {
        group.push(sub_value.clone());
    }
    let marks = distinct_with_marker(plan.clone(), group)?;
    let (marks, mapping) = alias_plan(marks, &aliases.next(), input.schema())?;
    let marker = marks
        .schema()
        .columns()
        .last()
        .cloned()
        .ok_or_else(|| EmberError::internal("mark plan without columns"))?;
    let mut conditions = rebase_predicates(key_conditions.clone(), &mapping)?;
    let mapped_value = rebase_predicates(vec![sub_value.clone()], &mapping)?
        .pop()
        .ok_or_else(|| EmberError::internal("value lost in rebasing"))?;
    conditions.push(value.clone().eq(mapped_value));
    let mut joined = build_join(input, marks, JoinType::Left, conditions)?;

    // How many rows (and non-NULL values) the subquery has for this outer row.
    let (rows, non_null) = if keys.is_empty() {
        (
            scalar(count_all(plan.clone(), None)?),
            scalar(count_all(plan, Some(sub_value))?),
        )
    } else {
        let group: Vec<Expr> = keys.iter().cloned().map(Expr::Column).collect();
        let counts = LogicalPlan::Aggregate(Aggregate::try_new(
            Arc::new(plan),
            group,
            vec![
                count(Expr::Literal(ScalarValue::Int64(Some(1)), None)).alias("__rows"),
                count(sub_value).alias("__non_null"),
            ],
        )?);
        let (counts, mapping) = alias_plan(counts, &aliases.next(), joined.schema())?;
        let columns = counts.schema().columns();
        let n = columns.len();
        let (rows, non_null) = (columns[n - 2].clone(), columns[n - 1].clone());
        let conditions = rebase_predicates(key_conditions, &mapping)?;
        joined = build_join(joined, counts, JoinType::Left, conditions)?;
        let zero = Expr::Literal(ScalarValue::Int64(Some(0)), None);
        let or_zero = |c: Column| {
            Expr::Case(Case::new(
                None,
                vec![(
                    Box::new(Expr::Column(c.clone()).is_null()),
                    Box::new(zero.clone()),
                )],
                Some(Box::new(Expr::Column(c))),
            ))
        };
        (or_zero(rows), or_zero(non_null))
    };
    let zero = Expr::Literal(ScalarValue::Int64(Some(0)), None);
    let result = Expr::Case(Case::new(
        None,
        vec![
            (
                Box::new(rows.clone().eq(zero)),
                Box::new(boolean(Some(false))),
            ),
            (
                Box::new(Expr::Column(marker).is_not_null()),
                Box::new(boolean(Some(true))),
            ),
            (
                Box::new(value.is_null().or(non_null.lt(rows))),
                Box::new(boolean(None)),
            ),
        ],
        Some(Box::new(boolean(Some(false)))),
    ));
    Ok((joined, negate(result, negated)))
}
