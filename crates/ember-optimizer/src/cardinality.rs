//! A small cardinality estimator: scan row counts times selectivity guesses, for join ordering.
//!
//! Without column statistics every estimate is a guess in Spark's non-CBO spirit:
//!
//! | predicate | selectivity |
//! |---|---|
//! | `a = x` | 0.1 |
//! | `a <> x` | 0.9 |
//! | `a < x`, `a BETWEEN x AND y`, ... | 0.3 |
//! | `a LIKE p` | 0.25 (`NOT LIKE` 0.75) |
//! | `a IN (n values)` | `min(n × 0.1, 0.5)` |
//! | `a IS NULL` / `IS NOT NULL` | 0.1 / 0.9 |
//! | `p AND q` / `p OR q` / `NOT p` | `sp × sq` / `sp + sq − sp × sq` / `1 − sp` |
//! | anything else | 0.5 |
//!
//! An equi-join is taken as key/foreign-key: the side whose underlying table is smaller holds
//! the key, so every row of the other side finds at most one match and survives with the
//! fraction of key rows the filters kept ([`equi_join_rows`]).

use datafusion_expr::logical_plan::{FetchType, SkipType};
use datafusion_expr::{BinaryExpr, Expr, JoinType, LogicalPlan, Operator};

use crate::OptimizerContext;

/// Rows assumed for a table the estimator knows nothing about.
pub const DEFAULT_TABLE_ROWS: f64 = 1000.0;

/// Selectivity of a predicate nobody can guess better.
const DEFAULT_SELECTIVITY: f64 = 0.5;
const EQUALITY_SELECTIVITY: f64 = 0.1;
const RANGE_SELECTIVITY: f64 = 0.3;
const LIKE_SELECTIVITY: f64 = 0.25;
const IN_LIST_CAP: f64 = 0.5;

/// The estimated number of rows `plan` produces (at least 1 unless it is surely empty).
pub fn estimate_rows(plan: &LogicalPlan, cx: &OptimizerContext) -> f64 {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let rows = cx
                .table_rows(scan.source.as_ref())
                .map(|rows| rows as f64)
                .unwrap_or(DEFAULT_TABLE_ROWS);
            match scan.fetch {
                Some(fetch) => rows.min(fetch as f64),
                None => rows,
            }
        }
        LogicalPlan::Filter(filter) => {
            (estimate_rows(&filter.input, cx) * selectivity(&filter.predicate)).max(1.0)
        }
        LogicalPlan::Projection(p) => estimate_rows(&p.input, cx),
        LogicalPlan::SubqueryAlias(a) => estimate_rows(&a.input, cx),
        // Row-preserving nodes: DISTRIBUTE BY, SORT BY, windows.
        LogicalPlan::Repartition(r) => estimate_rows(&r.input, cx),
        LogicalPlan::Window(w) => estimate_rows(&w.input, cx),
        LogicalPlan::Extension(e) if e.node.inputs().len() == 1 => {
            estimate_rows(e.node.inputs()[0], cx)
        }
        LogicalPlan::Sort(sort) => {
            let rows = estimate_rows(&sort.input, cx);
            sort.fetch.map_or(rows, |fetch| rows.min(fetch as f64))
        }
        LogicalPlan::Limit(limit) => {
            let rows = estimate_rows(&limit.input, cx);
            let skip = match limit.get_skip_type() {
                Ok(SkipType::Literal(skip)) => skip as f64,
                _ => 0.0,
            };
            match limit.get_fetch_type() {
                Ok(FetchType::Literal(Some(fetch))) => (rows - skip).max(0.0).min(fetch as f64),
                _ => (rows - skip).max(0.0),
            }
        }
        LogicalPlan::Aggregate(aggregate) if aggregate.group_expr.is_empty() => 1.0,
        LogicalPlan::Aggregate(aggregate) => (estimate_rows(&aggregate.input, cx) * 0.1).max(1.0),
        LogicalPlan::Distinct(distinct) => {
            (estimate_rows(distinct.input(), cx) * DEFAULT_SELECTIVITY).max(1.0)
        }
        LogicalPlan::Union(union) => union.inputs.iter().map(|i| estimate_rows(i, cx)).sum(),
        LogicalPlan::Values(values) => values.values.len() as f64,
        LogicalPlan::EmptyRelation(empty) => {
            if empty.produce_one_row {
                1.0
            } else {
                0.0
            }
        }
        LogicalPlan::Join(join) => {
            let (left, right) = (
                estimate_rows(&join.left, cx),
                estimate_rows(&join.right, cx),
            );
            let filter = join.filter.as_ref().map_or(1.0, selectivity);
            let inner = if join.on.is_empty() {
                left * right
            } else {
                equi_join_rows(
                    left,
                    base_rows(&join.left, cx),
                    right,
                    base_rows(&join.right, cx),
                )
            } * filter;
            match join.join_type {
                JoinType::Inner => inner,
                JoinType::Left => inner.max(left),
                JoinType::Right => inner.max(right),
                JoinType::Full => inner.max(left + right),
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
                    left * DEFAULT_SELECTIVITY
                }
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
                    right * DEFAULT_SELECTIVITY
                }
            }
        }
        other => other
            .inputs()
            .iter()
            .map(|input| estimate_rows(input, cx))
            .fold(DEFAULT_TABLE_ROWS, f64::max),
    }
}

/// The most rows `plan` can produce, when its shape bounds them (`None`: unbounded). Ember's
/// own, because DataFusion's `LogicalPlan::max_rows` counts an `EmptyRelation` that produces
/// one row (`SELECT 1`) as none, which made `LIMIT` over a `UNION ALL` of such rows vanish.
pub fn max_rows(plan: &LogicalPlan) -> Option<usize> {
    match plan {
        LogicalPlan::EmptyRelation(empty) => Some(usize::from(empty.produce_one_row)),
        LogicalPlan::Values(values) => Some(values.values.len()),
        LogicalPlan::TableScan(scan) => scan.fetch,
        LogicalPlan::Projection(p) => max_rows(&p.input),
        LogicalPlan::Filter(f) => max_rows(&f.input),
        LogicalPlan::Window(w) => max_rows(&w.input),
        LogicalPlan::SubqueryAlias(a) => max_rows(&a.input),
        LogicalPlan::Repartition(r) => max_rows(&r.input),
        LogicalPlan::Sort(sort) => match (sort.fetch, max_rows(&sort.input)) {
            (Some(fetch), Some(rows)) => Some(fetch.min(rows)),
            (fetch, rows) => fetch.or(rows),
        },
        LogicalPlan::Limit(limit) => {
            let fetch = match limit.get_fetch_type() {
                Ok(FetchType::Literal(fetch)) => fetch,
                _ => None,
            };
            match (fetch, max_rows(&limit.input)) {
                (Some(fetch), Some(rows)) => Some(fetch.min(rows)),
                (fetch, rows) => fetch.or(rows),
            }
        }
        // Only a grouping without keys (one row, even over no input) or over constants (at
        // most one group) bounds an aggregate by itself.
        LogicalPlan::Aggregate(aggregate) => {
            if aggregate
                .group_expr
                .iter()
                .all(|e| matches!(e, datafusion_expr::Expr::Literal(..)))
            {
                Some(1)
            } else {
                max_rows(&aggregate.input)
            }
        }
        LogicalPlan::Union(union) => union
            .inputs
            .iter()
            .try_fold(0usize, |total, input| total.checked_add(max_rows(input)?)),
        LogicalPlan::Join(join) => {
            let (left, right) = (max_rows(&join.left), max_rows(&join.right));
            match join.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => left,
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => right,
                // An outer join keeps every row of its preserved side even when the other
                // side is empty.
                _ => left?.max(1).checked_mul(right?.max(1)),
            }
        }
        _ => None,
    }
}

/// The rows of the data under `plan` before its filters: the scanned table for a (filtered,
/// projected, aliased) scan, the estimate itself for anything else. An equi-join compares the
/// two to see how much of a key side the filters kept.
pub fn base_rows(plan: &LogicalPlan, cx: &OptimizerContext) -> f64 {
    match plan {
        LogicalPlan::Filter(filter) => base_rows(&filter.input, cx),
        LogicalPlan::Projection(p) => base_rows(&p.input, cx),
        LogicalPlan::SubqueryAlias(a) => base_rows(&a.input, cx),
        other => estimate_rows(other, cx),
    }
}

/// Rows of an equi-join of a side with `left_rows` rows over a table of `left_base` rows and a
/// side with `right_rows` over `right_base`, taken as key/foreign-key: the side over the
/// smaller table holds the key, so the other side's rows survive in the proportion of key
/// rows its filters kept (the larger input when the key side is unfiltered).
pub fn equi_join_rows(left_rows: f64, left_base: f64, right_rows: f64, right_base: f64) -> f64 {
    let kept = |rows: f64, base: f64| {
        if base <= 0.0 {
            1.0
        } else {
            (rows / base).min(1.0)
        }
    };
    if right_base <= left_base {
        left_rows * kept(right_rows, right_base)
    } else {
        right_rows * kept(left_rows, left_base)
    }
}

/// The fraction of rows a predicate is guessed to keep, in `[0, 1]` (see the module table).
pub fn selectivity(predicate: &Expr) -> f64 {
    let s = match predicate {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => selectivity(left) * selectivity(right),
            Operator::Or => {
                let (l, r) = (selectivity(left), selectivity(right));
                l + r - l * r
            }
            Operator::Eq | Operator::IsNotDistinctFrom => EQUALITY_SELECTIVITY,
            Operator::NotEq | Operator::IsDistinctFrom => 1.0 - EQUALITY_SELECTIVITY,
            Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => RANGE_SELECTIVITY,
            Operator::LikeMatch | Operator::ILikeMatch => LIKE_SELECTIVITY,
            Operator::NotLikeMatch | Operator::NotILikeMatch => 1.0 - LIKE_SELECTIVITY,
            _ => DEFAULT_SELECTIVITY,
        },
        Expr::Not(inner) => 1.0 - selectivity(inner),
        Expr::Between(between) if between.negated => 1.0 - RANGE_SELECTIVITY,
        Expr::Between(_) => RANGE_SELECTIVITY,
        Expr::Like(like) if like.negated => 1.0 - LIKE_SELECTIVITY,
        Expr::Like(_) | Expr::SimilarTo(_) => LIKE_SELECTIVITY,
        Expr::InList(in_list) => {
            let s = (in_list.list.len() as f64 * EQUALITY_SELECTIVITY).min(IN_LIST_CAP);
            if in_list.negated {
                1.0 - s
            } else {
                s
            }
        }
        Expr::IsNull(_) => EQUALITY_SELECTIVITY,
        Expr::IsNotNull(_) => 1.0 - EQUALITY_SELECTIVITY,
        Expr::Literal(value, _) => match value {
            datafusion_common::ScalarValue::Boolean(Some(true)) => 1.0,
            _ => 0.0,
        },
        Expr::Alias(alias) => selectivity(&alias.expr),
        _ => DEFAULT_SELECTIVITY,
    };
    s.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use datafusion_expr::{col, lit, JoinType};

    use super::*;
    use crate::test_util::{abc, context_with_rows};

    #[test]
    fn selectivity_guesses_compose() {
        assert_eq!(selectivity(&col("a").eq(lit(1))), 0.1);
        assert_eq!(selectivity(&col("a").gt(lit(1))), 0.3);
        let and = col("a").eq(lit(1)).and(col("b").lt(lit(2)));
        assert!((selectivity(&and) - 0.03).abs() < 1e-9);
        let or = col("a").eq(lit(1)).or(col("a").eq(lit(2)));
        assert!((selectivity(&or) - 0.19).abs() < 1e-9);
        assert_eq!(selectivity(&col("c").like(lit("%x%"))), 0.25);
        assert_eq!(
            selectivity(&col("a").in_list(vec![lit(1), lit(2), lit(3)], false)),
            0.30000000000000004
        );
        let many: Vec<Expr> = (0..20).map(lit).collect();
        assert_eq!(selectivity(&col("a").in_list(many, false)), 0.5);
        assert_eq!(selectivity(&Expr::Not(Box::new(col("a").is_null()))), 0.9);
    }

    #[test]
    fn scans_filters_and_key_foreign_key_joins() {
        let cx = context_with_rows(&[("a", 1_000_000), ("x", 100)]);
        let fact = abc("fact").build().unwrap();
        assert_eq!(estimate_rows(&fact, &cx), 1_000_000.0);
        // Unknown tables get the default.
        assert_eq!(
            estimate_rows(&fact, &OptimizerContext::default()),
            DEFAULT_TABLE_ROWS
        );
        let dim = crate::test_util::scan(
            "dim",
            &[("x", datafusion_common::arrow::datatypes::DataType::Int32)],
        )
        .filter(col("x").eq(lit(3i32)))
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(estimate_rows(&dim, &cx), 10.0);
        assert_eq!(base_rows(&dim, &cx), 100.0);
        // The fact side keeps the fraction of dimension rows the filter kept: 10%.
        let join = datafusion_expr::LogicalPlanBuilder::from(fact)
            .join(dim, JoinType::Inner, (vec!["fact.a"], vec!["dim.x"]), None)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(estimate_rows(&join, &cx), 100_000.0);
        assert_eq!(equi_join_rows(50.0, 100.0, 1000.0, 1000.0), 500.0);
    }
}
