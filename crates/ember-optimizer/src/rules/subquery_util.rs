//! Machinery shared by the subquery rewrites: pulling correlated predicates out of a subquery
//! plan, requalifying a subquery under a fresh alias, building the join, and the run-time
//! check that a scalar subquery returns at most one row.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{Column, DFSchema, DataFusionError, JoinType, NullEquality, ScalarValue};
use datafusion_expr::logical_plan::{
    Aggregate, Filter, Join, JoinConstraint, Projection, SubqueryAlias,
};
use datafusion_expr::utils::{conjunction, split_conjunction_owned};
use datafusion_expr::{
    BinaryExpr, ColumnarValue, Expr, LogicalPlan, Operator, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use ember_common::{EmberError, Result};

use crate::expr_util::replace_columns;

/// The message Spark gives when a scalar subquery yields several rows for one outer row.
pub(crate) const MORE_THAN_ONE_ROW: &str =
    "more than one row returned by a subquery used as an expression";

/// Whether `expr` refers to a column of an enclosing query.
pub(crate) fn has_outer_ref(expr: &Expr) -> bool {
    expr.exists(|e| Ok(matches!(e, Expr::OuterReferenceColumn(..))))
        .unwrap_or(true)
}

/// Whether any node of `plan` (not counting nested subquery plans) refers to an outer column.
pub(crate) fn plan_has_outer_ref(plan: &LogicalPlan) -> bool {
    plan.exists(|node| Ok(node.expressions().iter().any(has_outer_ref)))
        .unwrap_or(true)
}

/// Turns the outer references of `expr` into plain columns (they are columns of the join's
/// other side once the subquery is joined in).
pub(crate) fn strip_outer_refs(expr: Expr) -> Result<Expr> {
    Ok(expr
        .transform_up(|e| match e {
            Expr::OuterReferenceColumn(_, column) => Ok(Transformed::yes(Expr::Column(column))),
            other => Ok(Transformed::no(other)),
        })?
        .data)
}

/// A subquery plan with its correlated conjuncts pulled out.
pub(crate) struct Decorrelated {
    /// The subquery without correlated predicates; its output is the original output
    /// followed by the inner columns the predicates need.
    pub plan: LogicalPlan,
    /// The correlated conjuncts: inner columns as `Column`, outer ones as `OuterReferenceColumn`.
    pub predicates: Vec<Expr>,
}

/// Pulls the correlated conjuncts of the Filters of `plan` up to its root, through
/// Projections (which pass the needed columns on) and Aggregates (which then group by
/// them; only equality correlations are allowed below an Aggregate).
pub(crate) fn pull_up_correlated(plan: LogicalPlan) -> Result<Decorrelated> {
    let (plan, predicates) = pull_up(plan)?;
    Ok(Decorrelated { plan, predicates })
}

fn inner_columns(predicates: &[Expr]) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::new();
    for p in predicates {
        for c in p.column_refs() {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out
}

fn pull_up(plan: LogicalPlan) -> Result<(LogicalPlan, Vec<Expr>)> {
    match plan {
        LogicalPlan::Filter(filter) => {
            let (input, mut predicates) = pull_up(Arc::unwrap_or_clone(filter.input))?;
            let mut local = Vec::new();
            for conjunct in split_conjunction_owned(filter.predicate) {
                if has_outer_ref(&conjunct) {
                    predicates.push(conjunct);
                } else {
                    local.push(conjunct);
                }
            }
            let plan = match conjunction(local) {
                Some(p) => LogicalPlan::Filter(Filter::try_new(p, Arc::new(input))?),
                None => input,
            };
            Ok((plan, predicates))
        }
        LogicalPlan::Projection(projection) => {
            if projection.expr.iter().any(has_outer_ref) {
                return Err(EmberError::NotSupported(
                    "an outer column in the SELECT list of a subquery; compare it in the subquery's WHERE instead".into(),
                ));
            }
            let (input, predicates) = pull_up(Arc::unwrap_or_clone(projection.input))?;
            let mut exprs = projection.expr;
            let output_names: HashSet<String> = projection
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            // The inner columns the predicates read pass through the projection; one whose
            // name an output already has (`CAST(s.d AS ...) AS d` beside `s.d`) passes under
            // a name of its own, and the predicates follow it.
            let mut renames: HashMap<Column, Expr> = HashMap::new();
            for column in inner_columns(&predicates) {
                let e = Expr::Column(column.clone());
                if exprs.contains(&e) {
                    continue;
                }
                if output_names.contains(&column.name) {
                    let name = format!("__corr_{}_{}", exprs.len(), column.name);
                    exprs.push(e.alias(name.as_str()));
                    renames.insert(column, Expr::Column(Column::from_name(name)));
                } else {
                    exprs.push(e);
                }
            }
            let predicates = predicates
                .into_iter()
                .map(|p| replace_columns(p, &renames))
                .collect::<datafusion_common::Result<Vec<_>>>()?;
            Ok((
                LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(input))?),
                predicates,
            ))
        }
        LogicalPlan::Aggregate(aggregate) => {
            if aggregate
                .group_expr
                .iter()
                .chain(&aggregate.aggr_expr)
                .any(has_outer_ref)
            {
                return Err(EmberError::NotSupported(
                    "an outer column inside an aggregate or GROUP BY of a subquery".into(),
                ));
            }
            let (input, predicates) = pull_up(Arc::unwrap_or_clone(aggregate.input))?;
            if predicates.is_empty() {
                return Ok((
                    LogicalPlan::Aggregate(Aggregate::try_new(
                        Arc::new(input),
                        aggregate.group_expr,
                        aggregate.aggr_expr,
                    )?),
                    predicates,
                ));
            }
            if aggregate.group_expr.is_empty() {
                // A global aggregate makes one row whatever its input; grouping it by the
                // correlation would make none for outer rows without matches (the "count
                // bug"). The rewrites that handle it take such subqueries before this point.
                return Err(EmberError::NotSupported(
                    "a correlated subquery whose aggregate without GROUP BY sits below other operators; put the aggregate at the top of the subquery".into(),
                ));
            }
            // `f(inner) = outer` below `GROUP BY g` is `GROUP BY g, f(inner)` with the
            // equality above: the rows of one group that match an outer row are exactly the
            // rows whose `f(inner)` equals it. Grouping by `f(inner)`, not by the columns it
            // reads, keeps rows that `f` maps together (`-0.0` and `0.0` through the float
            // normalization, a narrowing cast) in one group.
            let mut group = aggregate.group_expr;
            let mut pulled = Vec::with_capacity(predicates.len());
            for p in predicates {
                let Some((inner, outer)) = equality_sides(&p) else {
                    return Err(EmberError::NotSupported(format!(
                        "the correlated condition '{p}' below an aggregate in a subquery; only equalities between an inner and an outer expression are supported there"
                    )));
                };
                let key = match inner {
                    Expr::Column(column) => {
                        let e = Expr::Column(column.clone());
                        if !group.contains(&e) {
                            group.push(e);
                        }
                        column
                    }
                    inner => {
                        let name = format!("__corr_key_{}", group.len());
                        group.push(inner.alias(name.as_str()));
                        Column::from_name(name)
                    }
                };
                pulled.push(Expr::Column(key).eq(outer));
            }
            let predicates = pulled;
            Ok((
                LogicalPlan::Aggregate(Aggregate::try_new(
                    Arc::new(input),
                    group,
                    aggregate.aggr_expr,
                )?),
                predicates,
            ))
        }
        LogicalPlan::Join(join)
            if matches!(
                join.join_type,
                JoinType::Inner | JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti
            ) && !join
                .on
                .iter()
                .any(|(l, r)| has_outer_ref(l) || has_outer_ref(r))
                && !join.filter.as_ref().is_some_and(has_outer_ref) =>
        {
            // A filter over the left input commutes with these joins (and over the right
            // input with an inner join): pull correlated conditions up through them.
            let (left, mut predicates) = pull_up(Arc::unwrap_or_clone(join.left))?;
            let right = if join.join_type == JoinType::Inner {
                let (right, right_predicates) = pull_up(Arc::unwrap_or_clone(join.right))?;
                predicates.extend(right_predicates);
                right
            } else {
                let right = Arc::unwrap_or_clone(join.right);
                if plan_has_outer_ref(&right) {
                    return Err(EmberError::NotSupported(format!(
                        "a correlated reference inside the right side of a {} join in a subquery",
                        join.join_type
                    )));
                }
                right
            };
            Ok((
                LogicalPlan::Join(Join::try_new(
                    Arc::new(left),
                    Arc::new(right),
                    join.on,
                    join.filter,
                    join.join_type,
                    join.join_constraint,
                    join.null_equality,
                    join.null_aware,
                )?),
                predicates,
            ))
        }
        other => {
            if plan_has_outer_ref(&other) {
                return Err(EmberError::NotSupported(format!(
                    "a correlated reference inside a subquery's {}; only WHERE conditions may refer to the outer query",
                    other.display()
                )));
            }
            Ok((other, Vec::new()))
        }
    }
}

/// `inner = outer` (either order): the inner side (only subquery columns) and the outer side
/// (only outer references).
pub(crate) fn equality_sides(expr: &Expr) -> Option<(Expr, Expr)> {
    let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::Eq,
        right,
    }) = expr
    else {
        return None;
    };
    let pure_inner = |e: &Expr| !has_outer_ref(e) && !e.column_refs().is_empty();
    let pure_outer = |e: &Expr| has_outer_ref(e) && e.column_refs().is_empty();
    if pure_inner(left) && pure_outer(right) {
        Some(((**left).clone(), (**right).clone()))
    } else if pure_inner(right) && pure_outer(left) {
        Some(((**right).clone(), (**left).clone()))
    } else {
        None
    }
}

/// The equalities `inner = outer` of a correlation, as (inner, outer) pairs; any other
/// correlated condition is refused, naming the subquery kind (`what`).
pub(crate) fn correlation_pairs(predicates: &[Expr], what: &str) -> Result<Vec<(Expr, Expr)>> {
    predicates
        .iter()
        .map(|p| {
            equality_sides(p).ok_or_else(|| {
                EmberError::NotSupported(format!(
                    "the correlated condition '{p}' in {what}; only equalities between an inner and an outer expression are supported"
                ))
            })
        })
        .collect()
}

/// `plan` with a column per distinct inner side of `pairs` (a plain output column stays
/// itself; an expression becomes `__key_N`), the key columns, and the join conditions
/// `key = outer` that replace the pairs. Grouping by these keys gives one row per key
/// value, so a join on them matches each outer row at most once.
pub(crate) fn with_key_columns(
    plan: LogicalPlan,
    pairs: &[(Expr, Expr)],
) -> Result<(LogicalPlan, Vec<Column>, Vec<Expr>)> {
    let output = plan.schema().columns();
    let mut exprs: Vec<Expr> = output.iter().cloned().map(Expr::Column).collect();
    let mut keys: Vec<(Expr, Column)> = Vec::new();
    for (inner, _) in pairs {
        if keys.iter().any(|(e, _)| e == inner) {
            continue;
        }
        let column = match inner {
            Expr::Column(c) if output.contains(c) => c.clone(),
            other => {
                let name = format!("__key_{}", keys.len());
                exprs.push(other.clone().alias(name.as_str()));
                Column::from_name(name)
            }
        };
        keys.push((inner.clone(), column));
    }
    let plan = if exprs.len() > output.len() {
        LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(plan))?)
    } else {
        plan
    };
    let conditions = pairs
        .iter()
        .map(|(inner, outer)| {
            let (_, column) = keys
                .iter()
                .find(|(e, _)| e == inner)
                .unwrap_or_else(|| unreachable!("every inner side has a key"));
            Expr::Column(column.clone()).eq(outer.clone())
        })
        .collect();
    Ok((plan, keys.into_iter().map(|(_, c)| c).collect(), conditions))
}

/// A subquery that is a global aggregate (no GROUP BY) under Projections, Filters (HAVING)
/// and aliases: it makes exactly one row before its HAVING, whatever its input, so for an
/// outer row without matching input its value is the aggregates' value over no rows
/// (`count` 0), not nothing. Decorrelating it by grouping on the correlation would lose that
/// row (the "count bug"); [`AggregateChain::join`] keeps it.
pub(crate) struct AggregateChain<'a> {
    /// The nodes above the aggregate, outermost first.
    above: Vec<&'a LogicalPlan>,
    aggregate: &'a Aggregate,
}

impl<'a> AggregateChain<'a> {
    /// The chain `plan` is, if it is one and only its aggregate's input is correlated.
    pub(crate) fn of(plan: &'a LogicalPlan) -> Option<Self> {
        let mut above = Vec::new();
        let mut node = plan;
        loop {
            match node {
                LogicalPlan::Projection(p) if !p.expr.iter().any(has_outer_ref) => {
                    above.push(node);
                    node = p.input.as_ref();
                }
                LogicalPlan::Filter(f) if !has_outer_ref(&f.predicate) => {
                    above.push(node);
                    node = f.input.as_ref();
                }
                LogicalPlan::SubqueryAlias(a) => {
                    above.push(node);
                    node = a.input.as_ref();
                }
                LogicalPlan::Aggregate(a)
                    if a.group_expr.is_empty() && !a.aggr_expr.iter().any(has_outer_ref) =>
                {
                    return Some(AggregateChain {
                        above,
                        aggregate: a,
                    })
                }
                _ => return None,
            }
        }
    }

    /// Whether a Filter (HAVING) above the aggregate can drop its one row.
    pub(crate) fn has_filter(&self) -> bool {
        self.above
            .iter()
            .any(|node| matches!(node, LogicalPlan::Filter(_)))
    }

    /// Whether the aggregate's input refers to the outer query.
    pub(crate) fn is_correlated(&self) -> bool {
        plan_has_outer_ref(&self.aggregate.input)
    }

    /// The value of output column `index` of the chain's top, given what each aggregate
    /// output column is (`aggregates[i]` for the aggregate's column `i`).
    fn value(&self, index: usize, aggregates: &[Expr]) -> Result<Expr> {
        let top = self.above.first().map_or_else(
            || self.aggregate.schema.columns(),
            |plan| plan.schema().columns(),
        );
        self.evaluate(Expr::Column(top[index].clone()), aggregates)
    }

    /// Whether the chain makes its row, given the aggregates' values: TRUE when every
    /// Filter's condition holds (always, without one), FALSE otherwise.
    fn makes_row(&self, aggregates: &[Expr]) -> Result<Expr> {
        let truth = Expr::Literal(ScalarValue::Boolean(Some(true)), None);
        if !self.has_filter() {
            return Ok(truth);
        }
        // TRUE when the conditions hold, NULL (no row) when one does not.
        Ok(self.evaluate(truth, aggregates)?.is_not_null())
    }

    /// `expr`, over the chain's top, as an expression over the aggregates' values: the
    /// projections inlined, and NULL unless every Filter's condition holds.
    fn evaluate(&self, expr: Expr, aggregates: &[Expr]) -> Result<Expr> {
        let mut value = expr;
        let mut conditions: Vec<Expr> = Vec::new();
        for node in &self.above {
            let mapping: HashMap<Column, Expr> = match node {
                LogicalPlan::Projection(p) => p
                    .schema
                    .columns()
                    .into_iter()
                    .zip(p.expr.iter().map(|e| e.clone().unalias()))
                    .collect(),
                LogicalPlan::Filter(f) => {
                    conditions.push(f.predicate.clone());
                    continue;
                }
                LogicalPlan::SubqueryAlias(a) => a
                    .schema
                    .columns()
                    .into_iter()
                    .zip(a.input.schema().columns().into_iter().map(Expr::Column))
                    .collect(),
                _ => unreachable!("a chain holds only projections, filters and aliases"),
            };
            value = replace_columns(value, &mapping)?;
            conditions = conditions
                .into_iter()
                .map(|c| replace_columns(c, &mapping))
                .collect::<datafusion_common::Result<Vec<_>>>()?;
        }
        let mapping: HashMap<Column, Expr> = self
            .aggregate
            .schema
            .columns()
            .into_iter()
            .zip(aggregates.iter().cloned())
            .collect();
        let value = replace_columns(value, &mapping)?;
        Ok(match conjunction(conditions) {
            None => value,
            Some(condition) => Expr::Case(datafusion_expr::expr::Case::new(
                None,
                vec![(
                    Box::new(replace_columns(condition, &mapping)?),
                    Box::new(value),
                )],
                None,
            )),
        })
    }

    /// What each aggregate gives over no rows: `count` (and `approx_count_distinct`) 0, the
    /// others NULL.
    fn values_over_no_rows(&self) -> Result<Vec<Expr>> {
        self.aggregate
            .aggr_expr
            .iter()
            .zip(self.aggregate.schema.fields())
            .map(|(aggregate, field)| {
                let name = match aggregate.clone().unalias() {
                    Expr::AggregateFunction(f) => f.func.name().to_lowercase(),
                    _ => String::new(),
                };
                let value = match name.as_str() {
                    "count" | "approx_distinct" => ScalarValue::new_zero(field.data_type())?,
                    _ => ScalarValue::try_from(field.data_type())?,
                };
                Ok(Expr::Literal(value, None))
            })
            .collect()
    }

    /// Left-joins `input` with the aggregate grouped by the correlation and returns the
    /// widened plan, per output column of the chain wanted (`columns`) the expression that
    /// stands for it, and an expression that is TRUE when the chain makes its row (its
    /// HAVING holds): the chain over the group's aggregates when the outer row has matches,
    /// over the aggregates of no rows when it has none.
    pub(crate) fn join(
        &self,
        input: LogicalPlan,
        columns: &[usize],
        what: &str,
        aliases: &AliasGenerator,
    ) -> Result<(LogicalPlan, Vec<Expr>, Expr)> {
        let decorrelated = pull_up_correlated(self.aggregate.input.as_ref().clone())?;
        let pairs = correlation_pairs(&decorrelated.predicates, what)?;
        let (keyed, keys, conditions) = with_key_columns(decorrelated.plan, &pairs)?;
        let grouped = LogicalPlan::Aggregate(Aggregate::try_new(
            Arc::new(keyed),
            keys.iter().cloned().map(Expr::Column).collect(),
            self.aggregate.aggr_expr.clone(),
        )?);
        let mut exprs: Vec<Expr> = grouped
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        exprs.push(Expr::Literal(ScalarValue::Boolean(Some(true)), None).alias("__matched"));
        let marked = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(grouped))?);
        let (sub, mapping) = alias_plan(marked, &aliases.next(), input.schema())?;
        let sub_columns = sub.schema().columns();
        let matched = Expr::Column(
            sub_columns
                .last()
                .cloned()
                .ok_or_else(|| EmberError::internal("an aggregate join without columns"))?,
        );
        // The grouped aggregate's columns are the keys, then the aggregates.
        let aggregates: Vec<Expr> = sub_columns[keys.len()..sub_columns.len() - 1]
            .iter()
            .cloned()
            .map(Expr::Column)
            .collect();
        let conditions = rebase_predicates(conditions, &mapping)?;
        let joined = build_join(input, sub, JoinType::Left, conditions)?;
        let empty = self.values_over_no_rows()?;
        let either = |over_no_rows: Expr, over_group: Expr| {
            if surely_null(&over_no_rows) {
                // NULL without matches, as the left join gives anyway.
                return over_group;
            }
            Expr::Case(datafusion_expr::expr::Case::new(
                None,
                vec![(Box::new(matched.clone().is_null()), Box::new(over_no_rows))],
                Some(Box::new(over_group)),
            ))
        };
        let values = columns
            .iter()
            .map(|&index| {
                Ok(either(
                    self.value(index, &empty)?,
                    self.value(index, &aggregates)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let makes_row = either(self.makes_row(&empty)?, self.makes_row(&aggregates)?);
        Ok((joined, values, makes_row))
    }
}

/// Whether `expr` is NULL by null propagation alone: a NULL literal under casts, arithmetic
/// and comparisons, or a CASE whose every branch is.
fn surely_null(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(v, _) => v.is_null(),
        Expr::Alias(a) => surely_null(&a.expr),
        Expr::Cast(c) => surely_null(&c.expr),
        Expr::TryCast(c) => surely_null(&c.expr),
        Expr::Negative(e) => surely_null(e),
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            matches!(
                op,
                Operator::Plus
                    | Operator::Minus
                    | Operator::Multiply
                    | Operator::Divide
                    | Operator::Modulo
                    | Operator::Eq
                    | Operator::NotEq
                    | Operator::Lt
                    | Operator::LtEq
                    | Operator::Gt
                    | Operator::GtEq
            ) && (surely_null(left) || surely_null(right))
        }
        Expr::Case(case) => {
            case.when_then_expr
                .iter()
                .all(|(_, then)| surely_null(then))
                && case.else_expr.as_deref().is_none_or(surely_null)
        }
        _ => false,
    }
}

/// Fresh `__sq_N` aliases, unique in the plan being rewritten.
pub(crate) struct AliasGenerator {
    next: Cell<usize>,
}

impl AliasGenerator {
    /// Starts after the largest `__sq_N` already used anywhere in `plan`.
    pub(crate) fn for_plan(plan: &LogicalPlan) -> Self {
        let mut max = 0usize;
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::SubqueryAlias(a) = node {
                if let Some(n) = a
                    .alias
                    .table()
                    .strip_prefix("__sq_")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    max = max.max(n);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        AliasGenerator {
            next: Cell::new(max + 1),
        }
    }

    pub(crate) fn next(&self) -> String {
        let n = self.next.get();
        self.next.set(n + 1);
        format!("__sq_{n}")
    }
}

/// Puts `plan` under `alias`, returning the mapping from its old columns to the new ones.
///
/// A column whose name an unqualified column of `outer` (the plan it is joined to) already
/// has is renamed `<alias>_<i>`: a schema cannot hold `x` and `alias.x` together
/// (`HAVING count(*) > (SELECT count(*) ...)`).
pub(crate) fn alias_plan(
    plan: LogicalPlan,
    alias: &str,
    outer: &DFSchema,
) -> Result<(LogicalPlan, HashMap<Column, Expr>)> {
    let old = plan.schema().columns();
    let taken: HashSet<&str> = outer
        .iter()
        .filter(|(qualifier, _)| qualifier.is_none())
        .map(|(_, field)| field.name().as_str())
        .collect();
    let plan = if old.iter().any(|c| taken.contains(c.name.as_str())) {
        let exprs = old
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let e = Expr::Column(c.clone());
                if taken.contains(c.name.as_str()) {
                    e.alias(format!("{alias}_{i}"))
                } else {
                    e
                }
            })
            .collect::<Vec<_>>();
        LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(plan))?)
    } else {
        plan
    };
    let aliased = LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(Arc::new(plan), alias)?);
    let mapping = old
        .into_iter()
        .zip(aliased.schema().columns())
        .map(|(o, n)| (o, Expr::Column(n)))
        .collect();
    Ok((aliased, mapping))
}

/// Requalifies the inner columns of `predicates` and turns outer references into columns.
pub(crate) fn rebase_predicates(
    predicates: Vec<Expr>,
    mapping: &HashMap<Column, Expr>,
) -> Result<Vec<Expr>> {
    predicates
        .into_iter()
        .map(|p| strip_outer_refs(replace_columns(p, mapping)?))
        .collect()
}

fn only_uses(expr: &Expr, schema: &DFSchema) -> bool {
    let columns: HashSet<&Column> = expr.column_refs();
    !columns.is_empty() && columns.iter().all(|c| schema.has_column(c))
}

/// A join of `left` and `right` on `conditions`: equalities between one side and the other
/// become hash keys, the rest the join filter. No keys means a nested-loop join.
pub(crate) fn build_join(
    left: LogicalPlan,
    right: LogicalPlan,
    join_type: JoinType,
    conditions: Vec<Expr>,
) -> Result<LogicalPlan> {
    for c in &conditions {
        for column in c.column_refs() {
            if !left.schema().has_column(column) && !right.schema().has_column(column) {
                return Err(EmberError::NotSupported(format!(
                    "a subquery referring to '{}' of a query more than one level out ('{c}'); only the directly enclosing query's columns may be referenced",
                    column.flat_name()
                )));
            }
        }
    }
    let mut on = Vec::new();
    let mut rest = Vec::new();
    for c in conditions.into_iter().flat_map(split_conjunction_owned) {
        if let Expr::BinaryExpr(BinaryExpr {
            left: l,
            op: Operator::Eq,
            right: r,
        }) = &c
        {
            if only_uses(l, left.schema()) && only_uses(r, right.schema()) {
                on.push(((**l).clone(), (**r).clone()));
                continue;
            }
            if only_uses(l, right.schema()) && only_uses(r, left.schema()) {
                on.push(((**r).clone(), (**l).clone()));
                continue;
            }
        }
        rest.push(c);
    }
    Ok(LogicalPlan::Join(Join::try_new(
        Arc::new(left),
        Arc::new(right),
        on,
        conjunction(rest),
        join_type,
        JoinConstraint::On,
        NullEquality::NullEqualsNothing,
        false,
    )?))
}

/// A projection of `plan` onto `columns` (restores a node's schema after a join widened it).
pub(crate) fn project_columns(plan: LogicalPlan, columns: Vec<Column>) -> Result<LogicalPlan> {
    let exprs = columns.into_iter().map(Expr::Column).collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(plan),
    )?))
}

/// `assert_single_row(count, value)`: `value`, or the Spark error when any `count` exceeds 1.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AssertSingleRow {
    signature: Signature,
}

impl AssertSingleRow {
    /// The function as a `ScalarUDF`, ready for `ScalarUDF::call`.
    pub fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(AssertSingleRow {
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for AssertSingleRow {
    fn name(&self) -> &str {
        "assert_single_row"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> datafusion_common::Result<DataType> {
        args.get(1)
            .cloned()
            .ok_or_else(|| DataFusionError::Plan("assert_single_row takes 2 arguments".into()))
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion_common::Result<ColumnarValue> {
        let [count, value]: [ColumnarValue; 2] = args
            .args
            .try_into()
            .map_err(|_| DataFusionError::Internal("assert_single_row takes 2 arguments".into()))?;
        let counts = count.into_array(args.number_rows)?;
        let counts = datafusion_common::cast::as_int64_array(&counts)?;
        if counts.iter().any(|c| c.unwrap_or(0) > 1) {
            return Err(DataFusionError::Execution(MORE_THAN_ONE_ROW.into()));
        }
        Ok(value)
    }
}

/// Guards `plan` (one value column first, then `keys`) so it yields one row per key with the
/// value, failing at run time when a key has several rows.
pub(crate) fn single_row_per_key(plan: LogicalPlan, keys: Vec<Column>) -> Result<LogicalPlan> {
    use datafusion_functions_aggregate::count::count;
    use datafusion_functions_aggregate::min_max::max;
    let value = Expr::Column(plan.schema().columns()[0].clone());
    let value_name = plan.schema().field(0).name().clone();
    let group: Vec<Expr> = keys.iter().cloned().map(Expr::Column).collect();
    let aggregate = LogicalPlan::Aggregate(Aggregate::try_new(
        Arc::new(plan),
        group.clone(),
        vec![
            count(Expr::Literal(
                datafusion_common::ScalarValue::Int64(Some(1)),
                None,
            ))
            .alias("__rows"),
            max(value).alias("__value"),
        ],
    )?);
    let checked = AssertSingleRow::udf()
        .call(vec![
            Expr::Column(Column::from_name("__rows")),
            Expr::Column(Column::from_name("__value")),
        ])
        .alias(value_name);
    let mut exprs = vec![checked];
    exprs.extend(group);
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(aggregate),
    )?))
}
