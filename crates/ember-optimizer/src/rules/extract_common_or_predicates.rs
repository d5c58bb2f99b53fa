//! `ExtractCommonOrPredicates`: factors conjuncts shared by every branch of an OR out of it, and derives per-table predicates from ORs.

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::TableReference;
use datafusion_expr::utils::{conjunction, disjunction, split_conjunction_owned};
use datafusion_expr::{Expr, Filter, Join, JoinType, LogicalPlan};
use ember_common::Result;

use crate::expr_util::{conjunction_dedup, is_movable_predicate};
use crate::{OptimizerContext, Rule};

/// Rewrites the predicates of Filters and inner-join filters:
///
/// ```text
/// (a AND b) OR (a AND c)                ──▶  a AND (b OR c)
/// (p.x = 1 AND l.y > 2) OR (p.x = 3 AND l.y < 0)
///                                       ──▶  (p.x = 1 AND l.y > 2) OR (p.x = 3 AND l.y < 0)
///                                            AND (p.x = 1 OR p.x = 3) AND (l.y > 2 OR l.y < 0)
/// ```
///
/// The first is plain factoring (`(a AND b) OR a` becomes `a`). The second is Spark's
/// `PushExtraPredicateThroughJoin`, per table rather than per join side: when every branch of
/// an OR has conjuncts over one table (one column qualifier) alone, the OR of those conjuncts
/// is implied by the original, so it is added next to it and can be pushed to that table's
/// scan. This is how TPC-H Q19's `p_partkey = l_partkey`, repeated in each branch, becomes a
/// join key, and how Q7's `(n1 = FRANCE AND n2 = GERMANY) OR (...)` filters both nations.
///
/// Volatile and subquery predicates are left alone. Derived predicates are added only when not
/// already present, but once pushed below they are no longer visible here: run the rule in a
/// `Once` batch (Ember runs it in "Join Reorder", before `reorder_joins`).
#[derive(Debug, Default, Clone, Copy)]
pub struct ExtractCommonOrPredicates;

impl Rule for ExtractCommonOrPredicates {
    fn name(&self) -> &str {
        "extract_common_or_predicates"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_up(|node| match node {
            LogicalPlan::Filter(filter) => match rewrite_predicate(&filter.predicate) {
                Some(predicate) => Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(
                    predicate,
                    Arc::clone(&filter.input),
                )?))),
                None => Ok(Transformed::no(LogicalPlan::Filter(filter))),
            },
            LogicalPlan::Join(join) if join.join_type == JoinType::Inner => {
                match join.filter.as_ref().and_then(rewrite_predicate) {
                    Some(predicate) => Ok(Transformed::yes(LogicalPlan::Join(Join {
                        filter: Some(predicate),
                        ..join
                    }))),
                    None => Ok(Transformed::no(LogicalPlan::Join(join))),
                }
            }
            other => Ok(Transformed::no(other)),
        })?)
    }
}

/// The rewritten predicate, or `None` when nothing changes.
fn rewrite_predicate(predicate: &Expr) -> Option<Expr> {
    let conjuncts = split_conjunction_owned(predicate.clone());
    let mut out: Vec<Expr> = Vec::with_capacity(conjuncts.len());
    let mut changed = false;
    for conjunct in conjuncts {
        let branches = split_disjunction_owned(conjunct.clone());
        if branches.len() < 2 || !is_movable_predicate(&conjunct) {
            out.push(conjunct);
            continue;
        }
        let mut branches: Vec<Vec<Expr>> =
            branches.into_iter().map(split_conjunction_owned).collect();
        let common: Vec<Expr> = branches[0]
            .iter()
            .filter(|c| branches[1..].iter().all(|branch| branch.contains(c)))
            .cloned()
            .collect();
        let mut common_dedup: Vec<Expr> = Vec::new();
        for c in common {
            if !common_dedup.contains(&c) {
                common_dedup.push(c);
            }
        }
        if !common_dedup.is_empty() {
            changed = true;
            for branch in &mut branches {
                branch.retain(|c| !common_dedup.contains(c));
            }
            out.extend(common_dedup);
            // `a OR (a AND b)` is `a`: a branch left empty makes the whole OR true.
            if branches.iter().any(Vec::is_empty) {
                continue;
            }
        }
        let residual = or_of_ands(&branches);
        let derived = derive_per_table(&branches);
        out.push(residual);
        for d in derived {
            if !out.contains(&d) {
                changed = true;
                out.push(d);
            }
        }
    }
    if changed {
        conjunction_dedup(out)
    } else {
        None
    }
}

fn split_disjunction_owned(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::BinaryExpr(datafusion_expr::BinaryExpr {
            left,
            op: datafusion_expr::Operator::Or,
            right,
        }) => {
            let mut out = split_disjunction_owned(*left);
            out.extend(split_disjunction_owned(*right));
            out
        }
        Expr::Alias(alias) => split_disjunction_owned(*alias.expr),
        other => vec![other],
    }
}

fn or_of_ands(branches: &[Vec<Expr>]) -> Expr {
    let ands = branches
        .iter()
        .filter_map(|branch| conjunction(branch.iter().cloned()));
    disjunction(ands).unwrap_or_else(|| Expr::Literal(true.into(), None))
}

/// The one qualifier all of `expr`'s columns share, if any.
fn single_qualifier(expr: &Expr) -> Option<TableReference> {
    let mut qualifier: Option<&TableReference> = None;
    for column in expr.column_refs() {
        let relation = column.relation.as_ref()?;
        match qualifier {
            None => qualifier = Some(relation),
            Some(q) if q == relation => {}
            Some(_) => return None,
        }
    }
    qualifier.cloned()
}

/// For every qualifier that each branch restricts alone, the OR of those restrictions; nothing
/// when the whole disjunction reads a single table already.
fn derive_per_table(branches: &[Vec<Expr>]) -> Vec<Expr> {
    let mut qualifiers: Vec<TableReference> = Vec::new();
    for conjunct in branches.iter().flatten() {
        for column in conjunct.column_refs() {
            if let Some(relation) = &column.relation {
                if !qualifiers.contains(relation) {
                    qualifiers.push(relation.clone());
                }
            }
        }
    }
    if qualifiers.len() < 2 {
        return vec![];
    }
    let mut derived = Vec::new();
    for qualifier in &qualifiers {
        let per_branch: Option<Vec<Vec<Expr>>> = branches
            .iter()
            .map(|branch| {
                let own: Vec<Expr> = branch
                    .iter()
                    .filter(|c| single_qualifier(c).as_ref() == Some(qualifier))
                    .cloned()
                    .collect();
                (!own.is_empty()).then_some(own)
            })
            .collect();
        if let Some(per_branch) = per_branch {
            derived.push(or_of_ands(&per_branch));
        }
    }
    derived
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{col, lit};

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized, scan};

    #[test]
    fn factors_common_conjuncts_out_of_an_or() {
        let predicate = (col("a").eq(lit(1)).and(col("b").eq(lit(2))))
            .or(col("a").eq(lit(1)).and(col("c").eq(lit("x"))));
        let plan = abc("t").filter(predicate).unwrap().build().unwrap();
        insta::assert_snapshot!(optimized(&ExtractCommonOrPredicates, plan), @r#"
        Filter: t.a = Int32(1) AND (t.b = Int32(2) OR t.c = Utf8("x"))
          TableScan: t
        "#);
        // Absorption: `a OR (a AND b)` is `a`.
        let absorbed = col("a")
            .eq(lit(1))
            .or(col("a").eq(lit(1)).and(col("b").eq(lit(2))));
        assert_eq!(rewrite_predicate(&absorbed), Some(col("a").eq(lit(1))));
    }

    #[test]
    fn q19_shape_becomes_an_equi_join_with_per_table_predicates() {
        let lineitem = scan(
            "l",
            &[
                ("partkey", DataType::Int32),
                ("qty", DataType::Int32),
                ("mode", DataType::Utf8),
            ],
        );
        let part = scan(
            "p",
            &[("partkey", DataType::Int32), ("brand", DataType::Utf8)],
        );
        let branch = |brand: &str, low: i32, high: i32| {
            col("p.partkey")
                .eq(col("l.partkey"))
                .and(col("p.brand").eq(lit(brand.to_string())))
                .and(col("l.qty").gt_eq(lit(low)))
                .and(col("l.qty").lt_eq(lit(high)))
                .and(col("l.mode").eq(lit("AIR")))
        };
        let predicate = branch("B12", 1, 11)
            .or(branch("B23", 10, 20))
            .or(branch("B34", 20, 30));
        let plan = lineitem
            .cross_join(part.build().unwrap())
            .unwrap()
            .filter(predicate)
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ExtractCommonOrPredicates, plan), @r#"
        Filter: p.partkey = l.partkey AND l.mode = Utf8("AIR") AND (p.brand = Utf8("B12") AND l.qty >= Int32(1) AND l.qty <= Int32(11) OR p.brand = Utf8("B23") AND l.qty >= Int32(10) AND l.qty <= Int32(20) OR p.brand = Utf8("B34") AND l.qty >= Int32(20) AND l.qty <= Int32(30)) AND (p.brand = Utf8("B12") OR p.brand = Utf8("B23") OR p.brand = Utf8("B34")) AND (l.qty >= Int32(1) AND l.qty <= Int32(11) OR l.qty >= Int32(10) AND l.qty <= Int32(20) OR l.qty >= Int32(20) AND l.qty <= Int32(30))
          Cross Join:
            TableScan: l
            TableScan: p
        "#);
    }

    #[test]
    fn join_filters_are_rewritten_and_single_table_ors_left_alone() {
        let plan = abc("l")
            .join_on(
                abc("r").build().unwrap(),
                JoinType::Inner,
                vec![(col("l.a").eq(lit(1)).and(col("r.b").eq(lit(2))))
                    .or(col("l.a").eq(lit(3)).and(col("r.b").eq(lit(4))))],
            )
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ExtractCommonOrPredicates, plan), @r"
        Inner Join:  Filter: (l.a = Int32(1) AND r.b = Int32(2) OR l.a = Int32(3) AND r.b = Int32(4)) AND (l.a = Int32(1) OR l.a = Int32(3)) AND (r.b = Int32(2) OR r.b = Int32(4))
          TableScan: l
          TableScan: r
        ");
        // An OR over one table, or with a branch that does not restrict a table alone, stays.
        let single = abc("t")
            .filter(col("a").eq(lit(1)).or(col("b").eq(lit(2))))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&ExtractCommonOrPredicates, single);
        let mixed = abc("l")
            .cross_join(abc("r").build().unwrap())
            .unwrap()
            .filter(col("l.a").eq(col("r.a")).or(col("l.b").eq(lit(1))))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&ExtractCommonOrPredicates, mixed);
    }
}
