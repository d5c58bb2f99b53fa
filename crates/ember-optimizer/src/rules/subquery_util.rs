//! Machinery shared by the subquery rewrites: pulling correlated predicates out of a subquery
//! plan, requalifying a subquery under a fresh alias, building the join, and the run-time
//! check that a scalar subquery returns at most one row.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{Column, DFSchema, DataFusionError, JoinType, NullEquality};
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
            for column in inner_columns(&predicates) {
                let e = Expr::Column(column);
                if !exprs.contains(&e) {
                    exprs.push(e);
                }
            }
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
            for p in &predicates {
                if equality_sides(p).is_none() {
                    return Err(EmberError::NotSupported(format!(
                        "the correlated condition '{p}' below an aggregate in a subquery; only equalities between an inner and an outer column are supported there"
                    )));
                }
            }
            let mut group = aggregate.group_expr;
            for column in inner_columns(&predicates) {
                let e = Expr::Column(column);
                if !group.contains(&e) {
                    group.push(e);
                }
            }
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
pub(crate) fn alias_plan(
    plan: LogicalPlan,
    alias: &str,
) -> Result<(LogicalPlan, HashMap<Column, Expr>)> {
    let old = plan.schema().columns();
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
