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
    alias_plan, build_join, equality_sides, pull_up_correlated, rebase_predicates, AliasGenerator,
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

/// The inner columns of the correlation equalities; any other correlation is refused.
fn correlation_keys(predicates: &[Expr], what: &str) -> Result<Vec<Column>> {
    predicates
        .iter()
        .map(|p| match equality_sides(p) {
            Some((Expr::Column(inner), _)) => Ok(inner),
            _ => Err(EmberError::NotSupported(format!(
                "the correlated condition '{p}' in {what} used as a value; only equalities between an inner column and an outer expression are supported"
            ))),
        })
        .collect()
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
    let decorrelated = pull_up_correlated(Arc::unwrap_or_clone(subquery.subquery))?;
    if decorrelated.predicates.is_empty() {
        // Uncorrelated: one count, run once by the driver.
        let rows = scalar(count_all(decorrelated.plan, None)?);
        let exists = rows.gt(Expr::Literal(ScalarValue::Int64(Some(0)), None));
        return Ok((input, negate(exists, negated)));
    }
    let keys = correlation_keys(&decorrelated.predicates, "an EXISTS subquery")?;
    let group = keys.into_iter().map(Expr::Column).collect();
    let marks = distinct_with_marker(decorrelated.plan, group)?;
    let (marks, mapping) = alias_plan(marks, &aliases.next())?;
    let marker = marks
        .schema()
        .columns()
        .last()
        .cloned()
        .ok_or_else(|| EmberError::internal("mark plan without columns"))?;
    let conditions = rebase_predicates(decorrelated.predicates, &mapping)?;
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
    let decorrelated = pull_up_correlated(Arc::unwrap_or_clone(subquery.subquery))?;
    let keys = correlation_keys(&decorrelated.predicates, "an IN subquery")?;
    let plan = decorrelated.plan;
    let sub_value = Expr::Column(plan.schema().columns()[0].clone());

    // Matches: the distinct (keys, value) rows, joined on the correlation and the value.
    let mut group: Vec<Expr> = keys.iter().cloned().map(Expr::Column).collect();
    group.push(sub_value.clone());
    let marks = distinct_with_marker(plan.clone(), group)?;
    let (marks, mapping) = alias_plan(marks, &aliases.next())?;
    let marker = marks
        .schema()
        .columns()
        .last()
        .cloned()
        .ok_or_else(|| EmberError::internal("mark plan without columns"))?;
    let mut conditions = rebase_predicates(decorrelated.predicates.clone(), &mapping)?;
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
        let (counts, mapping) = alias_plan(counts, &aliases.next())?;
        let columns = counts.schema().columns();
        let n = columns.len();
        let (rows, non_null) = (columns[n - 2].clone(), columns[n - 1].clone());
        let conditions = rebase_predicates(decorrelated.predicates, &mapping)?;
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
