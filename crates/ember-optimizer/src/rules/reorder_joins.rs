//! `ReorderJoins`: orders a tree of inner joins greedily by estimated size, never joining two relations without a predicate while a connected one exists.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{internal_err, Column, DFSchema, NullEquality, Result as DFResult};
use datafusion_expr::utils::split_conjunction_owned;
use datafusion_expr::{
    BinaryExpr, Expr, ExprSchemable, Join, JoinConstraint, JoinType, LogicalPlan, Operator,
    Projection,
};
use ember_common::Result;

use crate::cardinality::{base_rows, equi_join_rows, estimate_rows, selectivity};
use crate::expr_util::{conjunction_dedup, is_movable_predicate, with_filter};
use crate::{OptimizerContext, Rule};

/// The most relations one join tree may have to be reordered (the sets are `u64` bit masks).
const MAX_RELATIONS: usize = 64;

/// Flattens a tree of inner joins, with the filters between them, into relations and
/// predicates, and rebuilds it left-deep:
///
/// ```text
/// Inner Join: c.y = b.y                          Projection: a.*, c.*, b.* (the old order)
///   Cross Join:                                    Inner Join: b.y = c.y
///     TableScan: a               ──▶                 Inner Join: a.x = b.x
///     TableScan: c                                     TableScan: a
///   TableScan: b           (with a.x = b.x)            TableScan: b
///                                                    TableScan: c
/// ```
///
/// The order starts from the largest relation by estimate (the fact table) and repeatedly adds
/// the relation giving the smallest estimated result among those connected to the joined set
/// by an equality usable as a hash key; relations connected only by other predicates come
/// next, and a relation with no predicate at all (a cross join) only when the graph is
/// disconnected. Ties keep the query's order. At each step the smaller input by estimate goes
/// on the right, the hash join's build side. Single-relation predicates become a Filter on
/// their relation, the others sit on the lowest join that sees all their columns: equalities
/// between the two sides as keys, the rest as the join filter. A Projection on top keeps the
/// output columns in their old order.
///
/// Outer, semi and anti joins, null-aware or null-equal joins and anything that is not an inner
/// join are opaque relations (themselves reordered inside). Trees with volatile or subquery
/// predicates are left as they are. Estimates come from [`crate::cardinality`] and the
/// context's table statistics. Run after `push_down_filter` (so the WHERE conjuncts are in the
/// joins) and before it again (so the new Filters reach the scans).
#[derive(Debug, Default, Clone, Copy)]
pub struct ReorderJoins;

impl Rule for ReorderJoins {
    fn name(&self) -> &str {
        "reorder_joins"
    }

    fn apply(&self, plan: LogicalPlan, cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(reorder(plan, cx)?)
    }
}

fn is_flattenable_join(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Join(join)
        if join.join_type == JoinType::Inner
            && join.null_equality == NullEquality::NullEqualsNothing
            && !join.null_aware)
}

fn is_join_tree_root(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Filter(filter) => is_flattenable_join(&filter.input),
        other => is_flattenable_join(other),
    }
}

fn reorder(plan: LogicalPlan, cx: &OptimizerContext) -> DFResult<Transformed<LogicalPlan>> {
    if !is_join_tree_root(&plan) {
        return plan.map_children(|child| reorder(child, cx));
    }
    let mut relations = Vec::new();
    let mut predicates = Vec::new();
    flatten(&plan, &mut relations, &mut predicates);
    if relations.len() > MAX_RELATIONS || !predicates.iter().all(|p| is_movable_predicate(&p.expr))
    {
        return plan.map_children(|child| reorder(child, cx));
    }
    let mut inner_changed = false;
    let mut reordered = Vec::with_capacity(relations.len());
    for relation in relations {
        let result = reorder(relation, cx)?;
        inner_changed |= result.transformed;
        reordered.push(result.data);
    }
    match JoinGraph::try_new(reordered, predicates)? {
        Some(graph) => {
            let rebuilt = graph.build(cx, plan.schema())?;
            if rebuilt == plan {
                Ok(Transformed::no(plan))
            } else {
                Ok(Transformed::yes(rebuilt))
            }
        }
        // A column the relations cannot tell apart: leave this tree as it is.
        None => {
            let result = plan.map_children(|child| reorder(child, cx))?;
            Ok(Transformed::new_transformed(
                result.data,
                result.transformed || inner_changed,
            ))
        }
    }
}

/// A predicate of the flattened tree; `key` when it was a join key pair (kept a key even if
/// the two sides' types differ, as the binder accepted them).
#[derive(Debug, Clone)]
struct Predicate {
    expr: Expr,
    key: Option<(Expr, Expr)>,
}

fn flatten(plan: &LogicalPlan, relations: &mut Vec<LogicalPlan>, predicates: &mut Vec<Predicate>) {
    match plan {
        LogicalPlan::Filter(filter) if is_flattenable_join(&filter.input) => {
            predicates.extend(
                split_conjunction_owned(filter.predicate.clone())
                    .into_iter()
                    .map(|expr| Predicate { expr, key: None }),
            );
            flatten(&filter.input, relations, predicates);
        }
        LogicalPlan::Join(join) if is_flattenable_join(plan) => {
            flatten(&join.left, relations, predicates);
            flatten(&join.right, relations, predicates);
            for (l, r) in &join.on {
                predicates.push(Predicate {
                    expr: l.clone().eq(r.clone()),
                    key: Some((l.clone(), r.clone())),
                });
            }
            if let Some(filter) = &join.filter {
                predicates.extend(
                    split_conjunction_owned(filter.clone())
                        .into_iter()
                        .map(|expr| Predicate { expr, key: None }),
                );
            }
        }
        other => relations.push(other.clone()),
    }
}

/// A predicate with the relations it reads (bit `i` for relation `i`).
#[derive(Debug, Clone)]
struct Edge {
    predicate: Predicate,
    mask: u64,
    /// For `l = r` with `l` and `r` over disjoint, non-empty sets of relations: both masks.
    eq_sides: Option<(u64, u64)>,
}

struct JoinGraph {
    relations: Vec<LogicalPlan>,
    edges: Vec<Edge>,
}

fn bit(i: usize) -> u64 {
    1u64 << i
}

fn is_subset(a: u64, of: u64) -> bool {
    a & !of == 0
}

/// Which relations `expr` reads; `None` when a column belongs to no relation or to several.
fn relations_of(expr: &Expr, relations: &[LogicalPlan]) -> Option<u64> {
    let mut mask = 0;
    for column in expr.column_refs() {
        mask |= owner_of(column, relations)?;
    }
    Some(mask)
}

fn owner_of(column: &Column, relations: &[LogicalPlan]) -> Option<u64> {
    let mut owners = relations
        .iter()
        .enumerate()
        .filter(|(_, relation)| relation.schema().has_column(column))
        .map(|(i, _)| i);
    let owner = owners.next()?;
    owners.next().is_none().then(|| bit(owner))
}

impl JoinGraph {
    fn try_new(relations: Vec<LogicalPlan>, predicates: Vec<Predicate>) -> DFResult<Option<Self>> {
        let mut edges = Vec::with_capacity(predicates.len());
        let mut local: Vec<Vec<Expr>> = vec![Vec::new(); relations.len()];
        for predicate in predicates {
            let Some(mask) = relations_of(&predicate.expr, &relations) else {
                return Ok(None);
            };
            if mask.count_ones() == 1 {
                local[mask.trailing_zeros() as usize].push(predicate.expr);
                continue;
            }
            let eq_sides = match &predicate.expr {
                Expr::BinaryExpr(BinaryExpr {
                    left,
                    op: Operator::Eq,
                    right,
                }) => match (
                    relations_of(left, &relations),
                    relations_of(right, &relations),
                ) {
                    (Some(l), Some(r)) if l != 0 && r != 0 && l & r == 0 => Some((l, r)),
                    _ => None,
                },
                _ => None,
            };
            edges.push(Edge {
                predicate,
                mask,
                eq_sides,
            });
        }
        let relations = relations
            .into_iter()
            .zip(local)
            .map(|(relation, conjuncts)| with_filter(conjuncts, relation))
            .collect::<DFResult<Vec<_>>>()?;
        Ok(Some(Self { relations, edges }))
    }

    /// How well relation `r` joins the set `joined`: tier 0 with a usable equality, 1 with
    /// another predicate, 2 with none; and the estimated rows of the result.
    fn candidate(
        &self,
        joined: u64,
        joined_rows: f64,
        r: usize,
        rows: &[f64],
        bases: &[f64],
    ) -> (u8, f64) {
        let with_r = joined | bit(r);
        let mut equi_estimate: Option<f64> = None;
        let mut other_selectivity = 1.0;
        let mut tier = 2;
        for edge in &self.edges {
            if !is_subset(edge.mask, with_r)
                || is_subset(edge.mask, joined)
                || edge.mask & bit(r) == 0
            {
                continue;
            }
            let key_sides = edge.eq_sides.and_then(|(a, b)| {
                if is_subset(a, joined) && b == bit(r) {
                    Some(a)
                } else if is_subset(b, joined) && a == bit(r) {
                    Some(b)
                } else {
                    None
                }
            });
            match key_sides {
                Some(joined_side) => {
                    tier = 0;
                    let joined_base = if joined_side.count_ones() == 1 {
                        bases[joined_side.trailing_zeros() as usize]
                    } else {
                        joined_rows
                    };
                    let estimate = equi_join_rows(joined_rows, joined_base, rows[r], bases[r]);
                    equi_estimate = Some(equi_estimate.map_or(estimate, |e: f64| e.min(estimate)));
                }
                None => {
                    tier = tier.min(1);
                    other_selectivity *= selectivity(&edge.predicate.expr);
                }
            }
        }
        let joined_estimate = equi_estimate.unwrap_or(joined_rows * rows[r]);
        (tier, (joined_estimate * other_selectivity).max(1.0))
    }

    fn build(mut self, cx: &OptimizerContext, original: &DFSchema) -> DFResult<LogicalPlan> {
        let n = self.relations.len();
        let rows: Vec<f64> = self
            .relations
            .iter()
            .map(|r| estimate_rows(r, cx))
            .collect();
        let bases: Vec<f64> = self.relations.iter().map(|r| base_rows(r, cx)).collect();
        // Start from the largest relation: the fact table, probed by everything else.
        let first = (0..n)
            .max_by(|&a, &b| rows[a].total_cmp(&rows[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        let mut joined = bit(first);
        let mut joined_rows = rows[first];
        let mut plans: Vec<Option<LogicalPlan>> = std::mem::take(&mut self.relations)
            .into_iter()
            .map(Some)
            .collect();
        let Some(mut plan) = plans[first].take() else {
            return internal_err!("reorder_joins lost relation {first} of {n}");
        };
        let mut placed = vec![false; self.edges.len()];
        for _ in 1..n {
            let Some((next, (_, estimate))) = (0..n)
                .filter(|&r| plans[r].is_some())
                .map(|r| (r, self.candidate(joined, joined_rows, r, &rows, &bases)))
                .min_by(|(a, (ta, ea)), (b, (tb, eb))| {
                    ta.cmp(tb).then(ea.total_cmp(eb)).then(a.cmp(b))
                })
            else {
                break;
            };
            let Some(right) = plans[next].take() else {
                break;
            };
            let swap = rows[next] > joined_rows;
            let (left_plan, left_mask, right_plan, right_mask) = if swap {
                (right, bit(next), plan, joined)
            } else {
                (plan, joined, right, bit(next))
            };
            let mut on = Vec::new();
            let mut filter = Vec::new();
            let all = joined | bit(next);
            for (i, edge) in self.edges.iter().enumerate() {
                if placed[i] || !is_subset(edge.mask, all) {
                    continue;
                }
                placed[i] = true;
                match as_key(edge, left_mask, right_mask, &left_plan, &right_plan) {
                    Some(pair) => on.push(pair),
                    None => filter.push(edge.predicate.expr.clone()),
                }
            }
            plan = LogicalPlan::Join(Join::try_new(
                Arc::new(left_plan),
                Arc::new(right_plan),
                on,
                conjunction_dedup(filter),
                JoinType::Inner,
                JoinConstraint::On,
                NullEquality::NullEqualsNothing,
                false,
            )?);
            joined = all;
            joined_rows = estimate;
        }
        // Predicates over no relation at all (constants) stay on top.
        let rest: Vec<Expr> = self
            .edges
            .iter()
            .zip(&placed)
            .filter(|(_, placed)| !**placed)
            .map(|(edge, _)| edge.predicate.expr.clone())
            .collect();
        let plan = with_filter(rest, plan)?;
        restore_order(plan, original)
    }
}

/// `(left expr, right expr)` when `edge` is an equality between the two sides usable as a
/// hash key (same types, or a key pair of the original joins).
fn as_key(
    edge: &Edge,
    left_mask: u64,
    right_mask: u64,
    left: &LogicalPlan,
    right: &LogicalPlan,
) -> Option<(Expr, Expr)> {
    let (a_mask, b_mask) = edge.eq_sides?;
    let Expr::BinaryExpr(BinaryExpr {
        left: a, right: b, ..
    }) = &edge.predicate.expr
    else {
        return None;
    };
    let (l, r) = if is_subset(a_mask, left_mask) && is_subset(b_mask, right_mask) {
        (a.as_ref(), b.as_ref())
    } else if is_subset(b_mask, left_mask) && is_subset(a_mask, right_mask) {
        (b.as_ref(), a.as_ref())
    } else {
        return None;
    };
    let usable = edge.predicate.key.is_some()
        || matches!(
            (l.get_type(left.schema()), r.get_type(right.schema())),
            (Ok(lt), Ok(rt)) if lt == rt
        );
    usable.then(|| (l.clone(), r.clone()))
}

/// A Projection putting the columns back in the order of `original`, when they moved.
fn restore_order(plan: LogicalPlan, original: &DFSchema) -> DFResult<LogicalPlan> {
    let same = plan.schema().fields().len() == original.fields().len()
        && plan
            .schema()
            .iter()
            .zip(original.iter())
            .all(|((q1, f1), (q2, f2))| q1 == q2 && f1.name() == f2.name());
    if same {
        return Ok(plan);
    }
    let columns: Vec<Expr> = original
        .iter()
        .map(|(qualifier, field)| Expr::Column(Column::new(qualifier.cloned(), field.name())))
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        columns,
        Arc::new(plan),
    )?))
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{col, lit, LogicalPlanBuilder};

    use super::*;
    use crate::rules::PushDownFilter;
    use crate::test_util::{context_with_rows, scan};

    /// Rows per table, keyed by each test table's first column.
    const ROWS: &[(&str, u64)] = &[
        ("f_id", 1_000_000),
        ("b_id", 10_000),
        ("c_id", 1_000),
        ("d_id", 100),
    ];

    fn table(name: &str) -> LogicalPlanBuilder {
        let id = format!("{name}_id");
        let next = format!("{name}_next");
        let value = format!("{name}_v");
        scan(
            name,
            &[
                (id.as_str(), DataType::Int32),
                (next.as_str(), DataType::Int32),
                (value.as_str(), DataType::Utf8),
            ],
        )
    }

    /// A comma join of `tables` (in that order) under a WHERE of `predicate`, as the binder
    /// builds it, with the predicate pushed into the joins as the earlier batch does.
    fn comma_join(tables: &[&str], predicate: Expr) -> LogicalPlan {
        let mut builder = table(tables[0]);
        for name in &tables[1..] {
            builder = builder.cross_join(table(name).build().unwrap()).unwrap();
        }
        let mut plan = builder.filter(predicate).unwrap().build().unwrap();
        let cx = OptimizerContext::default();
        loop {
            let result = PushDownFilter.apply(plan, &cx).unwrap();
            plan = result.data;
            if !result.transformed {
                return plan;
            }
        }
    }

    /// Runs the rule with the test statistics; checks it kept the output fields, and returns
    /// the plan text.
    fn reordered(plan: LogicalPlan) -> String {
        let before: Vec<String> = plan
            .schema()
            .columns()
            .iter()
            .map(|c| c.flat_name())
            .collect();
        let result = ReorderJoins.apply(plan, &context_with_rows(ROWS)).unwrap();
        assert!(result.transformed, "reorder_joins reported no change");
        let after: Vec<String> = result
            .data
            .schema()
            .columns()
            .iter()
            .map(|c| c.flat_name())
            .collect();
        assert_eq!(before, after, "reorder_joins changed the output columns");
        let text = result.data.display_indent().to_string();
        text
    }

    fn count(text: &str, what: &str) -> usize {
        text.matches(what).count()
    }

    #[test]
    fn four_way_comma_join_in_a_bad_order_gets_a_connected_order() {
        // FROM c, d, f, b: c and d have no predicate between them, so the written order
        // starts with a cross join.
        let plan = comma_join(
            &["c", "d", "f", "b"],
            col("f.f_next")
                .eq(col("b.b_id"))
                .and(col("b.b_next").eq(col("c.c_id")))
                .and(col("c.c_next").eq(col("d.d_id")))
                .and(col("d.d_v").eq(lit("x"))),
        );
        assert_eq!(count(&plan.display_indent().to_string(), "Cross Join"), 1);
        let text = reordered(plan);
        insta::assert_snapshot!(text, @r#"
        Projection: c.c_id, c.c_next, c.c_v, d.d_id, d.d_next, d.d_v, f.f_id, f.f_next, f.f_v, b.b_id, b.b_next, b.b_v
          Inner Join: c.c_next = d.d_id
            Inner Join: b.b_next = c.c_id
              Inner Join: f.f_next = b.b_id
                TableScan: f
                TableScan: b
              TableScan: c
            Filter: d.d_v = Utf8("x")
              TableScan: d, full_filters=[d.d_v = Utf8("x")]
        "#);
        assert_eq!(count(&text, "Cross Join"), 0);
    }

    #[test]
    fn disconnected_graph_keeps_one_cross_join_where_it_must() {
        // Two components, {f, b} and {c, d}, written interleaved: c, f, d, b.
        let plan = comma_join(
            &["c", "f", "d", "b"],
            col("f.f_next")
                .eq(col("b.b_id"))
                .and(col("c.c_next").eq(col("d.d_id"))),
        );
        let text = reordered(plan);
        insta::assert_snapshot!(text, @r"
        Projection: c.c_id, c.c_next, c.c_v, f.f_id, f.f_next, f.f_v, d.d_id, d.d_next, d.d_v, b.b_id, b.b_next, b.b_v
          Inner Join: d.d_id = c.c_next
            Cross Join:
              Inner Join: f.f_next = b.b_id
                TableScan: f
                TableScan: b
              TableScan: d
            TableScan: c
        ");
        assert_eq!(count(&text, "Cross Join"), 1);
    }

    #[test]
    fn smaller_input_goes_to_the_build_side_and_non_equi_predicates_are_kept() {
        // JOIN ... ON with the big table on the right: swapped so the small one is built.
        let plan = table("d")
            .join_on(
                table("f").build().unwrap(),
                JoinType::Inner,
                vec![
                    col("d.d_id").eq(col("f.f_next")),
                    col("d.d_v").lt(col("f.f_v")),
                ],
            )
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(reordered(plan), @r"
        Projection: d.d_id, d.d_next, d.d_v, f.f_id, f.f_next, f.f_v
          Inner Join: f.f_next = d.d_id Filter: d.d_v < f.f_v
            TableScan: f
            TableScan: d
        ");
    }

    #[test]
    fn outer_joins_are_opaque_and_good_orders_stay() {
        // (f LEFT JOIN c) JOIN b: the left join is one relation, reordered only inside.
        let left = table("f")
            .join(
                table("c").build().unwrap(),
                JoinType::Left,
                (vec!["f.f_v"], vec!["c.c_v"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        let plan = LogicalPlanBuilder::from(left)
            .join(
                table("b").build().unwrap(),
                JoinType::Inner,
                (vec!["f.f_next"], vec!["b.b_id"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        let result = ReorderJoins
            .apply(plan.clone(), &context_with_rows(ROWS))
            .unwrap();
        assert!(!result.transformed);
        assert_eq!(result.data, plan);
        insta::assert_snapshot!(result.data.display_indent().to_string(), @r"
        Inner Join: f.f_next = b.b_id
          Left Join: f.f_v = c.c_v
            TableScan: f
            TableScan: c
          TableScan: b
        ");
    }

    #[test]
    fn volatile_predicates_leave_the_tree_alone() {
        let random = datafusion_expr::ScalarUDF::new_from_impl(crate::test_util::Random::default());
        let plan = table("d")
            .join_on(
                table("f").build().unwrap(),
                JoinType::Inner,
                vec![
                    col("d.d_id").eq(col("f.f_next")),
                    random.call(vec![]).lt(lit(0.5f64)),
                ],
            )
            .unwrap()
            .build()
            .unwrap();
        let result = ReorderJoins
            .apply(plan.clone(), &context_with_rows(ROWS))
            .unwrap();
        assert!(!result.transformed);
        assert_eq!(result.data, plan);
    }
}
