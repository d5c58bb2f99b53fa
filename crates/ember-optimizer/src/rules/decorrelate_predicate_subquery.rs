//! `DecorrelatePredicateSubquery`: `[NOT] EXISTS` and `[NOT] IN (subquery)` conjuncts of a
//! Filter become left semi and left anti joins (Spark's `RewritePredicateSubquery`).

use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, JoinType, ScalarValue};
use datafusion_expr::expr::{Exists, InSubquery};
use datafusion_expr::logical_plan::{Filter, Projection};
use datafusion_expr::utils::{conjunction, split_conjunction_owned};
use datafusion_expr::{Expr, ExprSchemable, LogicalPlan, Subquery};
use ember_common::{EmberError, Result};

use super::subquery_marks::{count_all, mark_subqueries, scalar};
use super::subquery_util::{
    alias_plan, build_join, project_columns, pull_up_correlated, rebase_predicates, AggregateChain,
    AliasGenerator,
};
use crate::{OptimizerContext, Rule};

/// Rewrites `EXISTS`, `NOT EXISTS`, `IN` and `NOT IN` subqueries found as conjuncts of a
/// Filter into joins; correlated equalities become join keys, other correlated conditions
/// the join filter.
///
/// `NOT IN` keeps SQL's null-aware meaning: when either side may be NULL, an uncorrelated
/// `x NOT IN (q)` becomes an anti join on `x = y` followed by a check against a one-row count
/// of `q`'s rows and non-NULL values (`n = 0 OR (x IS NOT NULL AND non_null = n)`); a
/// correlated one becomes an anti join whose filter is `x = y OR x IS NULL OR y IS NULL`.
/// A subquery predicate anywhere else (under OR, in a SELECT list) is not supported.
pub struct DecorrelatePredicateSubquery;

impl Rule for DecorrelatePredicateSubquery {
    fn name(&self) -> &str {
        "decorrelate_predicate_subquery"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        let aliases = AliasGenerator::for_plan(&plan);
        plan.transform_up_with_subqueries(|node| {
            rewrite_node(node, &aliases).map_err(datafusion_common::DataFusionError::from)
        })
        .map_err(|e| EmberError::from(e).into_root())
    }
}

fn is_predicate_subquery(e: &Expr) -> bool {
    matches!(e, Expr::Exists(_) | Expr::InSubquery(_))
}

fn rewrite_node(node: LogicalPlan, aliases: &AliasGenerator) -> Result<Transformed<LogicalPlan>> {
    let filter = match node {
        LogicalPlan::Filter(filter) => filter,
        LogicalPlan::Projection(projection)
            if projection
                .expr
                .iter()
                .any(|e| e.exists(|e| Ok(is_predicate_subquery(e))).unwrap_or(false)) =>
        {
            // EXISTS / IN as values of the SELECT list: mark joins.
            let Projection {
                expr,
                input,
                schema,
                ..
            } = projection;
            let (input, exprs) = mark_subqueries(Arc::unwrap_or_clone(input), expr, aliases)?;
            return Ok(Transformed::yes(LogicalPlan::Projection(
                Projection::try_new_with_schema(exprs, Arc::new(input), schema)?,
            )));
        }
        other => {
            for e in other.expressions() {
                if e.exists(|e| Ok(is_predicate_subquery(e)))? {
                    return Err(EmberError::NotSupported(format!(
                        "an EXISTS or IN subquery in {} ('{e}'); use it in SELECT, WHERE or HAVING",
                        other.display()
                    )));
                }
            }
            return Ok(Transformed::no(other));
        }
    };
    if !filter.predicate.exists(|e| Ok(is_predicate_subquery(e)))? {
        return Ok(Transformed::no(LogicalPlan::Filter(filter)));
    }
    let mut input = Arc::unwrap_or_clone(filter.input);
    // Conjuncts without a predicate subquery filter the input before the joins: semi and
    // anti joins only drop left rows, so the order does not matter, and the joins below
    // then see those conditions (comma joins become equi-joins).
    let (subquery_conjuncts, local): (Vec<Expr>, Vec<Expr>) =
        split_conjunction_owned(filter.predicate)
            .into_iter()
            .partition(|c| c.exists(|e| Ok(is_predicate_subquery(e))).unwrap_or(true));
    if let Some(local) = conjunction(local) {
        input = LogicalPlan::Filter(Filter::try_new(local, Arc::new(input))?);
    }
    let output = input.schema().columns();
    let mut rest = Vec::new();
    let mut nested = Vec::new();
    for conjunct in subquery_conjuncts {
        let conjunct = match conjunct {
            Expr::Not(inner) => match *inner {
                Expr::Exists(e) => Expr::Exists(Exists::new(e.subquery, !e.negated)),
                Expr::InSubquery(i) => {
                    Expr::InSubquery(InSubquery::new(i.expr, i.subquery, !i.negated))
                }
                other => Expr::Not(Box::new(other)),
            },
            other => other,
        };
        // A correlated subquery over a global aggregate has a row even for outer rows
        // without matches (the "count bug"): computed as a value by a mark join, not a
        // semi join that would find nothing for them.
        let over_aggregate = match &conjunct {
            Expr::Exists(Exists { subquery, .. })
            | Expr::InSubquery(InSubquery { subquery, .. }) => {
                AggregateChain::of(&subquery.subquery).is_some_and(|c| c.is_correlated())
            }
            _ => false,
        };
        if over_aggregate {
            nested.push(conjunct);
            continue;
        }
        match conjunct {
            Expr::Exists(Exists { subquery, negated }) => {
                input = rewrite_exists(input, subquery, negated, aliases)?;
            }
            Expr::InSubquery(InSubquery {
                expr,
                subquery,
                negated,
            }) => {
                input = rewrite_in(input, *expr, subquery, negated, aliases)?;
            }
            other => {
                if other.exists(|e| Ok(is_predicate_subquery(e)))? {
                    // Under OR, NOT of a non-subquery, CASE...: computed as values (mark joins).
                    nested.push(other);
                } else {
                    rest.push(other);
                }
            }
        }
    }
    let widened = !nested.is_empty();
    if widened {
        let (marked, exprs) = mark_subqueries(input, nested, aliases)?;
        input = marked;
        rest.extend(exprs);
    }
    let plan = match conjunction(rest) {
        Some(predicate) => LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(input))?),
        None => input,
    };
    // The mark joins added columns: give the parent the columns it had.
    let plan = if widened {
        project_columns(plan, output)?
    } else {
        plan
    };
    Ok(Transformed::yes(plan))
}

fn rewrite_exists(
    input: LogicalPlan,
    subquery: Subquery,
    negated: bool,
    aliases: &AliasGenerator,
) -> Result<LogicalPlan> {
    let decorrelated = pull_up_correlated(Arc::unwrap_or_clone(subquery.subquery))?;
    let (sub, mapping) = alias_plan(decorrelated.plan, &aliases.next(), input.schema())?;
    let conditions = rebase_predicates(decorrelated.predicates, &mapping)?;
    let join_type = if negated {
        JoinType::LeftAnti
    } else {
        JoinType::LeftSemi
    };
    build_join(input, sub, join_type, conditions)
}

fn rewrite_in(
    input: LogicalPlan,
    value: Expr,
    subquery: Subquery,
    negated: bool,
    aliases: &AliasGenerator,
) -> Result<LogicalPlan> {
    let decorrelated = pull_up_correlated(Arc::unwrap_or_clone(subquery.subquery))?;
    let correlated = !decorrelated.predicates.is_empty();
    let (sub, mapping) = alias_plan(decorrelated.plan, &aliases.next(), input.schema())?;
    let mut conditions = rebase_predicates(decorrelated.predicates, &mapping)?;
    let (sub_qualifier, sub_field) = sub.schema().qualified_field(0);
    let sub_value = Expr::Column(Column::new(sub_qualifier.cloned(), sub_field.name()));
    let sub_nullable = sub_field.is_nullable();
    let equal = value.clone().eq(sub_value.clone());
    if !negated {
        conditions.push(equal);
        return build_join(input, sub, JoinType::LeftSemi, conditions);
    }
    let value_nullable = value.nullable(input.schema())?;
    if !value_nullable && !sub_nullable {
        conditions.push(equal);
        return build_join(input, sub, JoinType::LeftAnti, conditions);
    }
    if correlated {
        // Per outer row, any subquery row that equals it or is NULL (or a NULL outer value
        // against any row) removes it; only an empty match set keeps a NULL value.
        conditions.push(equal.or(value.clone().is_null()).or(sub_value.is_null()));
        return build_join(input, sub, JoinType::LeftAnti, conditions);
    }
    // Uncorrelated: hash anti join on x = y, then NULL rules from the subquery's row and
    // non-NULL counts, two scalar subqueries the driver runs once.
    let rows = scalar(count_all(sub.clone(), None)?);
    let non_null = scalar(count_all(sub.clone(), Some(sub_value))?);
    let anti = build_join(input, sub, JoinType::LeftAnti, vec![equal])?;
    let keep = rows
        .clone()
        .eq(Expr::Literal(ScalarValue::Int64(Some(0)), None))
        .or(value.is_not_null().and(non_null.eq(rows)));
    Ok(LogicalPlan::Filter(Filter::try_new(keep, Arc::new(anti))?))
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::{DataType, Field, Schema};
    use datafusion_expr::logical_plan::builder::table_scan;
    use datafusion_expr::{
        col, exists, in_subquery, lit, not_exists, not_in_subquery, out_ref_col,
    };

    use super::*;
    use crate::test_util::{abc, optimized, scan};

    fn non_null_scan(name: &str) -> LogicalPlan {
        let schema = Schema::new(vec![
            Field::new("k", DataType::Int32, false),
            Field::new("v", DataType::Int32, false),
        ]);
        table_scan(Some(name), &schema, None)
            .unwrap()
            .build()
            .unwrap()
    }

    #[test]
    fn correlated_exists_becomes_semi_join_with_keys_and_filter() {
        let sub = scan("s", &[("a", DataType::Int32), ("b", DataType::Int32)])
            .filter(
                col("s.a")
                    .eq(out_ref_col(DataType::Int32, "t.a"))
                    .and(col("s.b").not_eq(out_ref_col(DataType::Int32, "t.b")))
                    .and(col("s.b").gt(lit(3))),
            )
            .unwrap()
            .project(vec![col("s.a"), col("s.b")])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(exists(Arc::new(sub)).and(col("t.c").eq(lit("x"))))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&DecorrelatePredicateSubquery, plan), @r#"
        LeftSemi Join: t.a = __sq_1.a Filter: __sq_1.b != t.b
          Filter: t.c = Utf8("x")
            TableScan: t
          SubqueryAlias: __sq_1
            Projection: s.a, s.b
              Filter: s.b > Int32(3)
                TableScan: s
        "#);
    }

    #[test]
    fn not_exists_becomes_anti_join() {
        let sub = scan("s", &[("a", DataType::Int32)])
            .filter(col("s.a").eq(out_ref_col(DataType::Int32, "t.a")))
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(not_exists(Arc::new(sub)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&DecorrelatePredicateSubquery, plan), @r"
        LeftAnti Join: t.a = __sq_1.a
          TableScan: t
          SubqueryAlias: __sq_1
            TableScan: s
        ");
    }

    #[test]
    fn in_subquery_becomes_semi_join_on_the_value() {
        let sub = scan("s", &[("x", DataType::Int32)]).build().unwrap();
        let plan = abc("t")
            .filter(in_subquery(col("t.b"), Arc::new(sub)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&DecorrelatePredicateSubquery, plan), @r"
        LeftSemi Join: t.b = __sq_1.x
          TableScan: t
          SubqueryAlias: __sq_1
            TableScan: s
        ");
    }

    #[test]
    fn not_in_on_non_nullable_sides_is_a_plain_anti_join() {
        let plan = LogicalPlanBuilderExt::filter_of(
            non_null_scan("t"),
            not_in_subquery(col("t.k"), Arc::new(non_null_scan("s"))),
        );
        insta::assert_snapshot!(optimized(&DecorrelatePredicateSubquery, plan), @r"
        LeftAnti Join: t.k = __sq_1.k
          TableScan: t
          SubqueryAlias: __sq_1
            TableScan: s
        ");
    }

    #[test]
    fn nullable_uncorrelated_not_in_checks_null_counts() {
        let sub = scan("s", &[("x", DataType::Int32)]).build().unwrap();
        let plan = abc("t")
            .filter(not_in_subquery(col("t.b"), Arc::new(sub)))
            .unwrap()
            .build()
            .unwrap();
        let text = optimized(&DecorrelatePredicateSubquery, plan);
        // An anti join on the value, then the NULL rules from two counts of the subquery that
        // the driver runs once: no cross join.
        assert!(
            text.starts_with("Filter: (<subquery>) = Int64(0) OR t.b IS NOT NULL AND (<subquery>) = (<subquery>)"),
            "{text}"
        );
        assert!(text.contains("LeftAnti Join: t.b = __sq_1.x"), "{text}");
        assert!(!text.contains("Cross Join"), "{text}");
    }

    #[test]
    fn nullable_correlated_not_in_puts_null_checks_in_the_join_filter() {
        let sub = scan("s", &[("x", DataType::Int32), ("k", DataType::Int32)])
            .filter(col("s.k").eq(out_ref_col(DataType::Int32, "t.a")))
            .unwrap()
            .project(vec![col("s.x")])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(not_in_subquery(col("t.b"), Arc::new(sub)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&DecorrelatePredicateSubquery, plan), @r"
        LeftAnti Join: t.a = __sq_1.k Filter: t.b = __sq_1.x OR t.b IS NULL OR __sq_1.x IS NULL
          TableScan: t
          SubqueryAlias: __sq_1
            Projection: s.x, s.k
              TableScan: s
        ");
    }

    #[test]
    fn correlation_below_a_semi_join_is_pulled_up_through_it() {
        let u = scan("u", &[("y", DataType::Int32)]).build().unwrap();
        let sub = scan("s", &[("a", DataType::Int32), ("y", DataType::Int32)])
            .filter(col("s.a").eq(out_ref_col(DataType::Int32, "t.a")))
            .unwrap()
            .join_on(u, JoinType::LeftSemi, vec![col("s.y").eq(col("u.y"))])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .filter(exists(Arc::new(sub)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&DecorrelatePredicateSubquery, plan), @r"
        LeftSemi Join: t.a = __sq_1.a
          TableScan: t
          SubqueryAlias: __sq_1
            LeftSemi Join:  Filter: s.y = u.y
              TableScan: s
              TableScan: u
        ");
    }

    #[test]
    fn exists_under_or_becomes_a_value() {
        let sub = scan("s", &[("x", DataType::Int32)]).build().unwrap();
        let plan = abc("t")
            .filter(exists(Arc::new(sub)).or(col("t.a").eq(lit(1))))
            .unwrap()
            .build()
            .unwrap();
        // Uncorrelated: a count run once by the driver, kept under the OR.
        let text = optimized(&DecorrelatePredicateSubquery, plan);
        assert!(
            text.contains("Filter: (<subquery>) > Int64(0) OR t.a = Int32(1)"),
            "{text}"
        );
    }

    #[test]
    fn correlated_in_as_a_value_is_a_mark_join_with_null_counts() {
        let sub = scan("s", &[("x", DataType::Int32), ("k", DataType::Int32)])
            .filter(col("s.k").eq(out_ref_col(DataType::Int32, "t.a")))
            .unwrap()
            .project(vec![col("s.x")])
            .unwrap()
            .build()
            .unwrap();
        let plan = abc("t")
            .project(vec![
                col("t.a"),
                in_subquery(col("t.b"), Arc::new(sub)).alias("m"),
            ])
            .unwrap()
            .build()
            .unwrap();
        let text = optimized(&DecorrelatePredicateSubquery, plan);
        // Matches: distinct (k, x) left-joined on the correlation and the value; counts per k.
        assert!(
            text.contains("Left Join: t.a = __sq_1.k, t.b = __sq_1.x"),
            "{text}"
        );
        assert!(
            text.contains("Aggregate: groupBy=[[s.k, s.x]], aggr=[[]]"),
            "{text}"
        );
        assert!(text.contains("count(Int64(1)) AS __rows"), "{text}");
        assert!(!text.contains("InSubquery"), "{text}");
    }

    /// `Filter` over a ready plan.
    struct LogicalPlanBuilderExt;

    impl LogicalPlanBuilderExt {
        fn filter_of(plan: LogicalPlan, predicate: Expr) -> LogicalPlan {
            LogicalPlan::Filter(Filter::try_new(predicate, Arc::new(plan)).unwrap())
        }
    }
}
