//! GROUPING SETS, ROLLUP and CUBE: one aggregation per grouping set, side by side in a
//! UNION ALL whose columns are named exactly as a plain Aggregate's, so the rest of the SELECT
//! binds to it unchanged.
//!
//! ```text
//! GROUP BY ROLLUP(a, b)   =>   Union
//!                                Project [a, b, aggs, grouping(..) = 0]    <- Aggregate [a, b]
//!                                Project [a, NULL AS b, aggs, ...]         <- Aggregate [a]
//!                                Project [NULL AS a, NULL AS b, aggs, ...] <- Aggregate []
//! ```

use datafusion_common::ScalarValue;
use datafusion_expr::expr::AggregateFunction;
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;

/// The grouping sets of a GROUP BY: the distinct grouping expressions, and each set as indices
/// into them.
#[derive(Debug, Clone)]
pub(crate) struct GroupingSets {
    pub exprs: Vec<Expr>,
    pub sets: Vec<Vec<usize>>,
}

impl Binder<'_> {
    /// Expands `ROLLUP(...)`, `CUBE(...)`, `GROUPING SETS (...)` and `WITH ROLLUP|CUBE` in a
    /// GROUP BY; `None` when the clause is a plain list of expressions.
    pub(crate) fn bind_grouping_sets(
        &mut self,
        exprs: &[ast::Expr],
        modifiers: &[ast::GroupByWithModifier],
        bind_plain: &mut dyn FnMut(&mut Self, &ast::Expr) -> Result<Expr>,
    ) -> Result<Option<GroupingSets>> {
        let has_sets = exprs.iter().any(|e| {
            matches!(
                e,
                ast::Expr::Rollup(_) | ast::Expr::Cube(_) | ast::Expr::GroupingSets(_)
            )
        });
        if !has_sets && modifiers.is_empty() {
            return Ok(None);
        }
        let mut all: Vec<Expr> = Vec::new();
        let index_of = |e: Expr, all: &mut Vec<Expr>| -> usize {
            match all.iter().position(|x| x == &e) {
                Some(i) => i,
                None => {
                    all.push(e);
                    all.len() - 1
                }
            }
        };
        // Each GROUP BY item contributes a list of alternative sets; the result is their
        // cartesian product (Spark's semantics for mixing plain columns and ROLLUP/CUBE).
        let mut product: Vec<Vec<usize>> = vec![vec![]];
        let mut plain_items = Vec::new();
        for item in exprs {
            let alternatives: Vec<Vec<usize>> = match item {
                ast::Expr::Rollup(groups) | ast::Expr::Cube(groups) => {
                    let mut bound_groups = Vec::new();
                    for group in groups {
                        let mut indices = Vec::new();
                        for e in group {
                            let b = bind_plain(self, e)?;
                            indices.push(index_of(b, &mut all));
                        }
                        bound_groups.push(indices);
                    }
                    if matches!(item, ast::Expr::Rollup(_)) {
                        rollup(&bound_groups)
                    } else {
                        cube(&bound_groups, item)?
                    }
                }
                ast::Expr::GroupingSets(sets) => {
                    let mut out = Vec::new();
                    for set in sets {
                        let mut indices = Vec::new();
                        for e in set {
                            let b = bind_plain(self, e)?;
                            indices.push(index_of(b, &mut all));
                        }
                        out.push(indices);
                    }
                    out
                }
                e => {
                    let b = bind_plain(self, e)?;
                    let i = index_of(b, &mut all);
                    plain_items.push(i);
                    vec![vec![i]]
                }
            };
            let mut next = Vec::new();
            for prefix in &product {
                for alternative in &alternatives {
                    let mut set = prefix.clone();
                    for i in alternative {
                        if !set.contains(i) {
                            set.push(*i);
                        }
                    }
                    next.push(set);
                }
            }
            product = next;
        }
        if let Some(modifier) = modifiers.first() {
            if modifiers.len() > 1 {
                return Err(EmberError::NotSupported(
                    "more than one GROUP BY modifier".into(),
                ));
            }
            let groups: Vec<Vec<usize>> = plain_items.iter().map(|i| vec![*i]).collect();
            product = match modifier {
                ast::GroupByWithModifier::Rollup => rollup(&groups),
                ast::GroupByWithModifier::Cube => cube(&groups, &exprs[0])?,
                other => return Err(EmberError::NotSupported(format!("GROUP BY ... {other}"))),
            };
        }
        Ok(Some(GroupingSets {
            exprs: all,
            sets: product,
        }))
    }
}

fn rollup(groups: &[Vec<usize>]) -> Vec<Vec<usize>> {
    (0..=groups.len())
        .rev()
        .map(|n| groups[..n].concat())
        .collect()
}

fn cube(groups: &[Vec<usize>], node: &ast::Expr) -> Result<Vec<Vec<usize>>> {
    if groups.len() > 12 {
        return Err(error_at(
            node,
            "CUBE of more than 12 grouping columns makes too many grouping sets; use GROUPING SETS",
        ));
    }
    let n = groups.len();
    let mut out = Vec::new();
    // Largest sets first, as Spark lists them.
    let mut masks: Vec<u32> = (0..(1u32 << n)).collect();
    masks.sort_by_key(|m| std::cmp::Reverse(m.count_ones()));
    for mask in masks {
        let set: Vec<usize> = (0..n)
            .filter(|i| mask & (1 << (n - 1 - i)) != 0)
            .flat_map(|i| groups[i].clone())
            .collect();
        out.push(set);
    }
    Ok(out)
}

/// Whether `expr` is a call of `grouping(...)`.
pub(crate) fn is_grouping_call(expr: &Expr) -> bool {
    matches!(expr.clone().unalias(), Expr::AggregateFunction(AggregateFunction { func, .. }) if func.name() == "grouping")
}

/// One aggregation per grouping set, unioned; output named as `Aggregate(exprs, aggregates)`.
pub(crate) fn grouping_sets_aggregate(
    input: LogicalPlan,
    sets: &GroupingSets,
    aggregates: &[Expr],
) -> Result<LogicalPlan> {
    // The names and qualifiers every branch must produce: those of a plain Aggregate.
    let mut template = vec![];
    for e in &sets.exprs {
        template.push(output_name(e));
    }
    let mut branches = Vec::new();
    for set in &sets.sets {
        let group: Vec<Expr> = set.iter().map(|i| sets.exprs[*i].clone()).collect();
        let mut real: Vec<Expr> = aggregates
            .iter()
            .filter(|a| !is_grouping_call(a))
            .cloned()
            .collect();
        if group.is_empty() && real.is_empty() {
            // The grand total of a query without aggregates (`SELECT k, grouping(k) ...
            // ROLLUP(k)`) still has its one row: aggregate something, then drop it.
            real.push(datafusion_functions_aggregate::count::count(Expr::Literal(
                ScalarValue::Int32(Some(1)),
                None,
            )));
        }
        // Spark groups doubles with -0.0 = 0.0 and NaN = NaN.
        let group = group
            .into_iter()
            .map(|e| {
                let column = column_of(&e);
                super::select::normalized_key(e, &column, input.schema())
            })
            .collect::<Result<Vec<_>>>()?;
        let aggregated = LogicalPlanBuilder::from(input.clone())
            .aggregate(group, real)?
            .build()?;
        let mut projection = Vec::new();
        for (i, e) in sets.exprs.iter().enumerate() {
            let (qualifier, name) = template[i].clone();
            let value = if set.contains(&i) {
                Expr::Column(column_of(e))
            } else {
                let data_type = e.fast_type(input.schema())?;
                Expr::Literal(ScalarValue::try_from(&data_type)?, None)
            };
            projection.push(value.alias_qualified(qualifier, name));
        }
        for a in aggregates {
            let name = a.schema_name().to_string();
            if is_grouping_call(a) {
                let Expr::AggregateFunction(AggregateFunction { params, .. }) = a.clone().unalias()
                else {
                    unreachable!("checked by is_grouping_call")
                };
                let mut bits = 0i32;
                for arg in &params.args {
                    let position = sets.exprs.iter().position(|e| e == arg).ok_or_else(|| {
                        EmberError::analysis(format!(
                            "grouping() argument {arg} is not a GROUP BY expression"
                        ))
                    })?;
                    bits = (bits << 1) | i32::from(!set.contains(&position));
                }
                projection.push(Expr::Literal(ScalarValue::Int32(Some(bits)), None).alias(name));
            } else {
                projection.push(
                    Expr::Column(datafusion_common::Column::from_name(name.clone())).alias(name),
                );
            }
        }
        branches.push(
            LogicalPlanBuilder::from(aggregated)
                .project(projection)?
                .build()?,
        );
    }
    let mut branches = branches.into_iter();
    let first = branches
        .next()
        .ok_or_else(|| EmberError::internal("no grouping sets"))?;
    let mut builder = LogicalPlanBuilder::from(first);
    for branch in branches {
        builder = builder.union(branch)?;
    }
    // A union names its columns without qualifiers; give grouping columns theirs back.
    let unioned = builder.build()?;
    let requalified: Vec<Expr> = unioned
        .schema()
        .columns()
        .into_iter()
        .enumerate()
        .map(|(i, c)| match template.get(i) {
            Some((qualifier, name)) => {
                Expr::Column(c).alias_qualified(qualifier.clone(), name.clone())
            }
            None => {
                let name = c.name.clone();
                Expr::Column(c).alias(name)
            }
        })
        .collect();
    Ok(LogicalPlanBuilder::from(unioned)
        .project(requalified)?
        .build()?)
}

/// The column a grouping expression becomes in an Aggregate's output.
fn column_of(e: &Expr) -> datafusion_common::Column {
    match e {
        Expr::Column(c) => c.clone(),
        other => datafusion_common::Column::from_name(other.schema_name().to_string()),
    }
}

fn output_name(e: &Expr) -> (Option<datafusion_common::TableReference>, String) {
    let c = column_of(e);
    (c.relation, c.name)
}
