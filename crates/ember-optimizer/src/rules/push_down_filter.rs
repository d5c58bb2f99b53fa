//! `PushDownFilter`: moves filter conjuncts as close to the scans as they can go.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, DFSchema, Result as DFResult};
use datafusion_expr::logical_plan::TableScanBuilder;
use datafusion_expr::utils::split_conjunction_owned;
use datafusion_expr::{
    Aggregate, BinaryExpr, Expr, ExprSchemable, Filter, Join, JoinType, LogicalPlan, Operator,
    Projection, Sort, SubqueryAlias, TableScan, Union,
};
use ember_common::Result;

use crate::expr_util::{conjunction_dedup, is_movable_predicate, replace_columns, with_filter};
use crate::{OptimizerContext, Rule};

/// Splits a filter's conjunction and moves every conjunct as far down as it stays correct.
///
/// ```text
/// Filter: a.x = b.x AND b.y = c.y AND a.z > 5        Join: b.y = c.y
///   Join (cross)                                        Join: a.x = b.x
///     Join (cross)                          ──▶            Filter: a.z > 5
///       TableScan: a                                         TableScan: a, filters=[a.z > 5]
///       TableScan: b                                       TableScan: b
///     TableScan: c                                      TableScan: c
/// ```
///
/// A filter passes through Projection (columns replaced by the projected expressions, unless
/// one is volatile), SubqueryAlias (columns re-qualified), Sort without fetch, Aggregate (only
/// conjuncts over grouping columns), Union (into every input) and inner joins: a conjunct over
/// one side goes to that side, `l = r` with `l` from the left only and `r` from the right only
/// becomes a join key (this turns comma joins into equi-joins), anything else over both sides
/// becomes the join filter. Conjuncts in a join's own filter over one side move down too.
/// At a TableScan the conjuncts are added to `TableScan.filters` and the Filter stays above:
/// the scan uses them to skip data (files, row groups, rows) but exactness is not assumed.
/// It never moves a filter past a Limit, a Sort with fetch, or into an outer join (except
/// conjuncts over a left join's preserved left side), and never
/// moves volatile or subquery predicates. Needs no rule before it.
#[derive(Debug, Default, Clone, Copy)]
pub struct PushDownFilter;

impl Rule for PushDownFilter {
    fn name(&self) -> &str {
        "push_down_filter"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_down(|node| match node {
            LogicalPlan::Filter(filter) => push_filter(filter),
            LogicalPlan::Join(join) if join.join_type == JoinType::Inner => {
                match push_into_inner_join(&join, vec![])? {
                    Some((new_join, _)) => Ok(Transformed::yes(new_join)),
                    None => Ok(Transformed::no(LogicalPlan::Join(join))),
                }
            }
            LogicalPlan::Join(join) if join.filter.is_some() && !join.null_aware => {
                Ok(filter_into_filtered_side(join)?)
            }
            other => Ok(Transformed::no(other)),
        })?)
    }
}

/// Pushes one Filter one level down (the traversal then visits what is below).
fn push_filter(filter: Filter) -> DFResult<Transformed<LogicalPlan>> {
    let conjuncts = split_conjunction_owned(filter.predicate.clone());
    let pushed = match filter.input.as_ref() {
        LogicalPlan::Filter(child) => {
            let merged = split_conjunction_owned(child.predicate.clone())
                .into_iter()
                .chain(conjuncts);
            let Some(predicate) = conjunction_dedup(merged) else {
                return Ok(Transformed::no(LogicalPlan::Filter(filter)));
            };
            let merged = Filter::try_new(predicate, Arc::clone(&child.input))?;
            return Ok(Transformed::yes(push_filter(merged)?.data));
        }
        LogicalPlan::Projection(projection) => through_projection(conjuncts, projection)?,
        LogicalPlan::SubqueryAlias(alias) => through_subquery_alias(conjuncts, alias)?,
        LogicalPlan::Sort(sort) if sort.fetch.is_none() => through_sort(conjuncts, sort)?,
        LogicalPlan::Aggregate(aggregate) => through_aggregate(conjuncts, aggregate)?,
        LogicalPlan::Union(union) => through_union(conjuncts, union)?,
        LogicalPlan::Join(join) if join.join_type == JoinType::Inner => {
            match push_into_inner_join(join, conjuncts)? {
                Some((new_join, kept)) => Some(with_filter(kept, new_join)?),
                None => None,
            }
        }
        LogicalPlan::Join(join) if join.join_type == JoinType::Left => {
            into_preserved_side(conjuncts, join)?
        }
        LogicalPlan::TableScan(scan) => match into_scan(&conjuncts, scan)? {
            Some(scan) => Some(LogicalPlan::Filter(Filter::try_new(
                filter.predicate.clone(),
                Arc::new(scan),
            )?)),
            None => None,
        },
        _ => None,
    };
    Ok(match pushed {
        Some(plan) => Transformed::yes(plan),
        None => Transformed::no(LogicalPlan::Filter(filter)),
    })
}

/// Splits conjuncts into those that can be rewritten over a child (rewritten) and those that
/// stay above. `rewrite` returns `None` for a conjunct that cannot move.
fn partition_rewritten(
    conjuncts: Vec<Expr>,
    rewrite: impl Fn(&Expr) -> DFResult<Option<Expr>>,
) -> DFResult<(Vec<Expr>, Vec<Expr>)> {
    let (mut pushed, mut kept) = (Vec::new(), Vec::new());
    for conjunct in conjuncts {
        match is_movable_predicate(&conjunct)
            .then(|| rewrite(&conjunct))
            .transpose()?
            .flatten()
        {
            Some(rewritten) => pushed.push(rewritten),
            None => kept.push(conjunct),
        }
    }
    Ok((pushed, kept))
}

/// Column of field `index` of `schema`, as an expression in a parent would name it.
fn column_at(schema: &DFSchema, index: usize) -> Column {
    let (qualifier, field) = schema.qualified_field(index);
    Column::new(qualifier.cloned(), field.name())
}

/// ```text
/// Filter: y > 1                     Projection: t.a + 1 AS y
///   Projection: t.a + 1 AS y  ──▶     Filter: t.a + 1 > 1
/// ```
fn through_projection(
    conjuncts: Vec<Expr>,
    projection: &Projection,
) -> DFResult<Option<LogicalPlan>> {
    let replacements: HashMap<Column, Expr> = projection
        .expr
        .iter()
        .enumerate()
        .map(|(i, expr)| (column_at(&projection.schema, i), expr.clone().unalias()))
        .collect();
    let (pushed, kept) = partition_rewritten(conjuncts, |conjunct| {
        let movable = conjunct
            .column_refs()
            .iter()
            .all(|column| replacements.get(*column).is_some_and(is_movable_predicate));
        movable
            .then(|| replace_columns(conjunct.clone(), &replacements))
            .transpose()
    })?;
    if pushed.is_empty() {
        return Ok(None);
    }
    let new_input = with_filter(pushed, projection.input.as_ref().clone())?;
    let new_projection = Projection::try_new_with_schema(
        projection.expr.clone(),
        Arc::new(new_input),
        Arc::clone(&projection.schema),
    )?;
    Ok(Some(with_filter(
        kept,
        LogicalPlan::Projection(new_projection),
    )?))
}

/// `conjunct` with its columns replaced, or `None` when one of them has no replacement.
fn rewrite_if_all_known(
    conjunct: &Expr,
    replacements: &HashMap<Column, Expr>,
) -> DFResult<Option<Expr>> {
    let all_known = conjunct
        .column_refs()
        .iter()
        .all(|column| replacements.contains_key(*column));
    all_known
        .then(|| replace_columns(conjunct.clone(), replacements))
        .transpose()
}

/// ```text
/// Filter: s.a > 1                   SubqueryAlias: s
///   SubqueryAlias: s          ──▶     Filter: t.a > 1
///     TableScan: t                      TableScan: t
/// ```
fn through_subquery_alias(
    conjuncts: Vec<Expr>,
    alias: &SubqueryAlias,
) -> DFResult<Option<LogicalPlan>> {
    let input_schema = alias.input.schema();
    let replacements: HashMap<Column, Expr> = (0..alias.schema.fields().len())
        .map(|i| {
            (
                column_at(&alias.schema, i),
                Expr::Column(column_at(input_schema, i)),
            )
        })
        .collect();
    let (pushed, kept) = partition_rewritten(conjuncts, |conjunct| {
        rewrite_if_all_known(conjunct, &replacements)
    })?;
    if pushed.is_empty() {
        return Ok(None);
    }
    let new_input = with_filter(pushed, alias.input.as_ref().clone())?;
    let new_alias = SubqueryAlias::try_new(Arc::new(new_input), alias.alias.clone())?;
    Ok(Some(with_filter(
        kept,
        LogicalPlan::SubqueryAlias(new_alias),
    )?))
}

fn through_sort(conjuncts: Vec<Expr>, sort: &Sort) -> DFResult<Option<LogicalPlan>> {
    let (pushed, kept) = partition_rewritten(conjuncts, |conjunct| Ok(Some(conjunct.clone())))?;
    if pushed.is_empty() {
        return Ok(None);
    }
    let new_sort = Sort {
        expr: sort.expr.clone(),
        input: Arc::new(with_filter(pushed, sort.input.as_ref().clone())?),
        fetch: sort.fetch,
    };
    Ok(Some(with_filter(kept, LogicalPlan::Sort(new_sort))?))
}

/// Only conjuncts that read grouping columns alone may be checked before grouping; a conjunct
/// reading no column stays above (over a global aggregate it decides whether its one row exists).
fn through_aggregate(conjuncts: Vec<Expr>, aggregate: &Aggregate) -> DFResult<Option<LogicalPlan>> {
    if aggregate
        .group_expr
        .iter()
        .any(|e| matches!(e, Expr::GroupingSet(_)))
    {
        return Ok(None);
    }
    let replacements: HashMap<Column, Expr> = aggregate
        .group_expr
        .iter()
        .enumerate()
        .map(|(i, expr)| (column_at(&aggregate.schema, i), expr.clone().unalias()))
        .collect();
    let (pushed, kept) = partition_rewritten(conjuncts, |conjunct| {
        let columns = conjunct.column_refs();
        let over_groups = !columns.is_empty()
            && columns
                .iter()
                .all(|column| replacements.get(*column).is_some_and(is_movable_predicate));
        over_groups
            .then(|| replace_columns(conjunct.clone(), &replacements))
            .transpose()
    })?;
    if pushed.is_empty() {
        return Ok(None);
    }
    let new_input = with_filter(pushed, aggregate.input.as_ref().clone())?;
    let new_aggregate = Aggregate::try_new_with_schema(
        Arc::new(new_input),
        aggregate.group_expr.clone(),
        aggregate.aggr_expr.clone(),
        Arc::clone(&aggregate.schema),
    )?;
    Ok(Some(with_filter(
        kept,
        LogicalPlan::Aggregate(new_aggregate),
    )?))
}

/// Every input gets the conjuncts, with columns renamed to that input's columns by position.
fn through_union(conjuncts: Vec<Expr>, union: &Union) -> DFResult<Option<LogicalPlan>> {
    let width = union.schema.fields().len();
    if union
        .inputs
        .iter()
        .any(|input| input.schema().fields().len() != width)
    {
        return Ok(None);
    }
    let output_columns: Vec<Column> = (0..union.schema.fields().len())
        .map(|i| column_at(&union.schema, i))
        .collect();
    let (movable, kept): (Vec<Expr>, Vec<Expr>) = conjuncts.into_iter().partition(|conjunct| {
        is_movable_predicate(conjunct)
            && conjunct
                .column_refs()
                .iter()
                .all(|column| output_columns.contains(column))
    });
    if movable.is_empty() {
        return Ok(None);
    }
    let mut inputs = Vec::with_capacity(union.inputs.len());
    for input in &union.inputs {
        let replacements: HashMap<Column, Expr> = (0..union.schema.fields().len())
            .map(|i| {
                (
                    column_at(&union.schema, i),
                    Expr::Column(column_at(input.schema(), i)),
                )
            })
            .collect();
        let pushed = movable
            .iter()
            .map(|conjunct| replace_columns(conjunct.clone(), &replacements))
            .collect::<DFResult<Vec<_>>>()?;
        inputs.push(Arc::new(with_filter(pushed, input.as_ref().clone())?));
    }
    let new_union = LogicalPlan::Union(Union {
        inputs,
        schema: Arc::clone(&union.schema),
    });
    Ok(Some(with_filter(kept, new_union)?))
}

/// Where a conjunct's columns come from, relative to a join.
enum Side {
    Left,
    Right,
    Both,
    /// No column, or a column neither side has alone: the conjunct stays where it is.
    Neither,
}

fn side_of(expr: &Expr, left: &DFSchema, right: &DFSchema) -> Side {
    let (mut uses_left, mut uses_right) = (false, false);
    for column in expr.column_refs() {
        match (left.has_column(column), right.has_column(column)) {
            (true, false) => uses_left = true,
            (false, true) => uses_right = true,
            _ => return Side::Neither,
        }
    }
    match (uses_left, uses_right) {
        (true, false) => Side::Left,
        (false, true) => Side::Right,
        (true, true) => Side::Both,
        (false, false) => Side::Neither,
    }
}

/// `l = r` with `l` over the left side only and `r` over the right side only (either order),
/// of the same type: a join key `(l, r)`.
fn as_join_key(expr: &Expr, left: &DFSchema, right: &DFSchema) -> Option<(Expr, Expr)> {
    let Expr::BinaryExpr(BinaryExpr {
        left: a,
        op: Operator::Eq,
        right: b,
    }) = expr
    else {
        return None;
    };
    let (l, r) = match (side_of(a, left, right), side_of(b, left, right)) {
        (Side::Left, Side::Right) => (a.as_ref(), b.as_ref()),
        (Side::Right, Side::Left) => (b.as_ref(), a.as_ref()),
        _ => return None,
    };
    let same_type = matches!(
        (l.get_type(left), r.get_type(right)),
        (Ok(lt), Ok(rt)) if lt == rt
    );
    same_type.then(|| (l.clone(), r.clone()))
}

/// Distributes `from_above` (conjuncts of a Filter over the join) and the join's own filter
/// over an inner join. Returns the new join and the conjuncts that stay above it, or `None`
/// when nothing moves.
fn push_into_inner_join(
    join: &Join,
    from_above: Vec<Expr>,
) -> DFResult<Option<(LogicalPlan, Vec<Expr>)>> {
    let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
    let own = join
        .filter
        .clone()
        .map(split_conjunction_owned)
        .unwrap_or_default();
    let (mut to_left, mut to_right, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    let (mut join_filter, mut kept_above) = (Vec::new(), Vec::new());
    let mut changed = false;
    let candidates = from_above
        .into_iter()
        .map(|conjunct| (conjunct, true))
        .chain(own.into_iter().map(|conjunct| (conjunct, false)));
    for (conjunct, is_from_above) in candidates {
        let side = if is_movable_predicate(&conjunct) {
            side_of(&conjunct, left_schema, right_schema)
        } else {
            Side::Neither
        };
        match side {
            Side::Left => to_left.push(conjunct),
            Side::Right => to_right.push(conjunct),
            Side::Both => match as_join_key(&conjunct, left_schema, right_schema) {
                Some(key) => keys.push(key),
                None => {
                    changed |= is_from_above;
                    join_filter.push(conjunct);
                }
            },
            Side::Neither if is_from_above => kept_above.push(conjunct),
            Side::Neither => join_filter.push(conjunct),
        }
    }
    changed |= !to_left.is_empty() || !to_right.is_empty() || !keys.is_empty();
    if !changed {
        return Ok(None);
    }
    let mut on = join.on.clone();
    for key in keys {
        if !on.contains(&key) {
            on.push(key);
        }
    }
    let new_join = LogicalPlan::Join(Join {
        left: Arc::new(with_filter(to_left, join.left.as_ref().clone())?),
        right: Arc::new(with_filter(to_right, join.right.as_ref().clone())?),
        on,
        filter: conjunction_dedup(join_filter),
        join_type: join.join_type,
        join_constraint: join.join_constraint,
        schema: Arc::clone(&join.schema),
        null_equality: join.null_equality,
        null_aware: join.null_aware,
    });
    Ok(Some((new_join, kept_above)))
}

/// Conjuncts over the left side of a left outer join alone filter its preserved rows: they
/// may go below it (Spark's `PushPredicateThroughJoin`). The others stay above.
/// The parts of an outer, semi or anti join's ON condition that read only the side whose rows
/// it filters (the right side of LEFT, LEFT SEMI and LEFT ANTI joins, the left side of the
/// RIGHT ones) become a Filter on that input: a row failing them could never match anyway.
/// TPC-H Q13 then drops `o_comment` before its shuffle instead of after.
fn filter_into_filtered_side(join: Join) -> DFResult<Transformed<LogicalPlan>> {
    let filtered_side = match join.join_type {
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti => Side::Right,
        JoinType::Right | JoinType::RightSemi | JoinType::RightAnti => Side::Left,
        _ => return Ok(Transformed::no(LogicalPlan::Join(join))),
    };
    let Some(condition) = join.filter.clone() else {
        return Ok(Transformed::no(LogicalPlan::Join(join)));
    };
    let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
    let (pushed, kept): (Vec<Expr>, Vec<Expr>) = split_conjunction_owned(condition)
        .into_iter()
        .partition(|conjunct| {
            is_movable_predicate(conjunct)
                && std::mem::discriminant(&side_of(conjunct, left_schema, right_schema))
                    == std::mem::discriminant(&filtered_side)
        });
    if pushed.is_empty() {
        return Ok(Transformed::no(LogicalPlan::Join(join)));
    }
    let (left, right) = match filtered_side {
        Side::Right => (
            Arc::clone(&join.left),
            Arc::new(with_filter(pushed, join.right.as_ref().clone())?),
        ),
        _ => (
            Arc::new(with_filter(pushed, join.left.as_ref().clone())?),
            Arc::clone(&join.right),
        ),
    };
    Ok(Transformed::yes(LogicalPlan::Join(Join::try_new(
        left,
        right,
        join.on,
        conjunction_dedup(kept),
        join.join_type,
        join.join_constraint,
        join.null_equality,
        join.null_aware,
    )?)))
}

fn into_preserved_side(conjuncts: Vec<Expr>, join: &Join) -> DFResult<Option<LogicalPlan>> {
    let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
    let (pushed, kept): (Vec<Expr>, Vec<Expr>) = conjuncts.into_iter().partition(|conjunct| {
        is_movable_predicate(conjunct)
            && matches!(side_of(conjunct, left_schema, right_schema), Side::Left)
    });
    if pushed.is_empty() {
        return Ok(None);
    }
    let new_join = LogicalPlan::Join(Join {
        left: Arc::new(with_filter(pushed, join.left.as_ref().clone())?),
        ..join.clone()
    });
    Ok(Some(with_filter(kept, new_join)?))
}

/// Adds the movable conjuncts the scan does not have yet to its filters; `None` when the scan
/// already has them all.
fn into_scan(conjuncts: &[Expr], scan: &TableScan) -> DFResult<Option<LogicalPlan>> {
    let mut filters = scan.filters.clone();
    for conjunct in conjuncts {
        if is_movable_predicate(conjunct) && !filters.contains(conjunct) {
            filters.push(conjunct.clone());
        }
    }
    if filters.len() == scan.filters.len() {
        return Ok(None);
    }
    let new_scan = TableScanBuilder::from(scan.clone())
        .with_filters(filters)
        .build()?;
    Ok(Some(LogicalPlan::TableScan(new_scan)))
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::logical_plan::builder::LogicalPlanBuilder;
    use datafusion_expr::{col, lit, JoinType};

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized, run, scan};

    /// Runs the rule until it reports no change (what the fixed-point batch does).
    fn to_fixed_point(plan: LogicalPlan) -> String {
        let mut plan = plan;
        for _ in 0..20 {
            let result = run(&PushDownFilter, plan);
            plan = result.data;
            if !result.transformed {
                return plan.display_indent().to_string();
            }
        }
        panic!("push_down_filter did not reach a fixed point");
    }

    #[test]
    fn pushes_into_scan_and_keeps_the_filter() {
        let plan = abc("t")
            .filter(col("a").gt(lit(1i32)).and(col("c").eq(lit("x"))))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownFilter, plan.clone()), @r#"
        Filter: t.a > Int32(1) AND t.c = Utf8("x")
          TableScan: t, full_filters=[t.a > Int32(1), t.c = Utf8("x")]
        "#);
        // A second run finds the conjuncts already in the scan and reports no change.
        let once = run(&PushDownFilter, plan).data;
        assert_unchanged(&PushDownFilter, once);
    }

    #[test]
    fn three_way_comma_join_becomes_equi_joins() {
        let a = scan("a", &[("x", DataType::Int32), ("z", DataType::Int32)]);
        let b = scan("b", &[("x", DataType::Int32), ("y", DataType::Int32)]);
        let c = scan("c", &[("y", DataType::Int32)]);
        let plan = a
            .cross_join(b.build().unwrap())
            .unwrap()
            .cross_join(c.build().unwrap())
            .unwrap()
            .filter(
                col("a.x")
                    .eq(col("b.x"))
                    .and(col("c.y").eq(col("b.y")))
                    .and(col("a.z").gt(lit(5i32))),
            )
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(to_fixed_point(plan), @r"
        Inner Join: b.y = c.y
          Inner Join: a.x = b.x
            Filter: a.z > Int32(5)
              TableScan: a, full_filters=[a.z > Int32(5)]
            TableScan: b
          TableScan: c
        ");
    }

    #[test]
    fn non_equality_over_both_sides_becomes_join_filter() {
        let plan = abc("l")
            .cross_join(abc("r").build().unwrap())
            .unwrap()
            .filter(col("l.a").lt(col("r.a")).and(col("l.b").eq(col("r.b"))))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownFilter, plan), @r"
        Inner Join: l.b = r.b Filter: l.a < r.a
          TableScan: l
          TableScan: r
        ");
    }

    #[test]
    fn through_projection_rewrites_columns_but_not_volatile() {
        let plan = abc("t")
            .project(vec![(col("a") + lit(1i32)).alias("y"), col("b")])
            .unwrap()
            .filter(col("y").gt(lit(10i32)).and(col("b").eq(lit(3i32))))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(to_fixed_point(plan), @r"
        Projection: t.a + Int32(1) AS y, t.b
          Filter: t.a + Int32(1) > Int32(10) AND t.b = Int32(3)
            TableScan: t, full_filters=[t.a + Int32(1) > Int32(10), t.b = Int32(3)]
        ");

        let random = datafusion_expr::ScalarUDF::new_from_impl(crate::test_util::Random::default());
        let volatile = abc("t")
            .project(vec![random.call(vec![]).alias("r"), col("a")])
            .unwrap()
            .filter(col("r").gt(lit(0.5f64)).and(col("a").eq(lit(1i32))))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownFilter, volatile), @r"
        Filter: r > Float64(0.5)
          Projection: random() AS r, t.a
            Filter: t.a = Int32(1)
              TableScan: t, full_filters=[t.a = Int32(1)]
        ");
    }

    #[test]
    fn through_subquery_alias_and_sort() {
        let plan = abc("t")
            .sort(vec![col("a").sort(true, false)])
            .unwrap()
            .alias("s")
            .unwrap()
            .filter(col("s.b").eq(lit(2i32)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(to_fixed_point(plan), @r"
        SubqueryAlias: s
          Sort: t.a ASC NULLS LAST
            Filter: t.b = Int32(2)
              TableScan: t, full_filters=[t.b = Int32(2)]
        ");
    }

    #[test]
    fn through_aggregate_only_grouping_conjuncts() {
        let count = datafusion_expr::test::function_stub::count(col("b"));
        let plan = abc("t")
            .aggregate(vec![col("a")], vec![count.alias("n")])
            .unwrap()
            .filter(col("a").gt(lit(1i32)).and(col("n").gt(lit(5i64))))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownFilter, plan), @r"
        Filter: n > Int64(5)
          Aggregate: groupBy=[[t.a]], aggr=[[COUNT(t.b) AS n]]
            Filter: t.a > Int32(1)
              TableScan: t, full_filters=[t.a > Int32(1)]
        ");
    }

    #[test]
    fn into_every_union_input() {
        let plan = abc("t")
            .union(abc("u").build().unwrap())
            .unwrap()
            .filter(col("a").eq(lit(1i32)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownFilter, plan), @r"
        Union
          Filter: t.a = Int32(1)
            TableScan: t, full_filters=[t.a = Int32(1)]
          Filter: u.a = Int32(1)
            TableScan: u, full_filters=[u.a = Int32(1)]
        ");
    }

    #[test]
    fn on_conditions_of_the_filtered_side_of_outer_and_semi_joins_go_into_it() {
        let right = abc("r").build().unwrap();
        let plan = abc("l")
            .join(
                right,
                JoinType::Left,
                (vec!["l.a"], vec!["r.a"]),
                Some(
                    col("r.b")
                        .gt(lit(1))
                        .and(col("l.b").gt(lit(2)))
                        .and(col("l.c").lt(col("r.c"))),
                ),
            )
            .unwrap()
            .build()
            .unwrap();
        // r.b > 1 filters the right input; l.b > 2 (the preserved side) and l.c < r.c stay.
        insta::assert_snapshot!(to_fixed_point(plan), @r"
        Left Join: l.a = r.a Filter: l.b > Int32(2) AND l.c < r.c
          TableScan: l
          Filter: r.b > Int32(1)
            TableScan: r, full_filters=[r.b > Int32(1)]
        ");
    }

    #[test]
    fn stops_at_limit_and_outer_join() {
        let limited = abc("t")
            .limit(0, Some(10))
            .unwrap()
            .filter(col("a").eq(lit(1i32)))
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&PushDownFilter, limited);

        let outer = abc("l")
            .join(
                abc("r").build().unwrap(),
                JoinType::Left,
                (vec!["a"], vec!["a"]),
                None,
            )
            .unwrap()
            .filter(col("r.b").is_null())
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&PushDownFilter, outer);

        // Over the preserved (left) side alone, a conjunct goes below the left join.
        let preserved = abc("l")
            .join(
                abc("r").build().unwrap(),
                JoinType::Left,
                (vec!["a"], vec!["a"]),
                None,
            )
            .unwrap()
            .filter(col("l.b").gt(lit(1i32)).and(col("r.b").is_null()))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownFilter, preserved), @r"
        Filter: r.b IS NULL
          Left Join: l.a = r.a
            Filter: l.b > Int32(1)
              TableScan: l, full_filters=[l.b > Int32(1)]
            TableScan: r
        ");
    }

    #[test]
    fn inner_join_with_keys_takes_one_side_conjuncts() {
        let plan = LogicalPlanBuilder::from(abc("l").build().unwrap())
            .join(
                abc("r").build().unwrap(),
                JoinType::Inner,
                (vec!["a"], vec!["a"]),
                Some(col("r.c").eq(lit("x"))),
            )
            .unwrap()
            .filter(col("l.b").gt(lit(0i32)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&PushDownFilter, plan), @r#"
        Inner Join: l.a = r.a
          Filter: l.b > Int32(0)
            TableScan: l, full_filters=[l.b > Int32(0)]
          Filter: r.c = Utf8("x")
            TableScan: r, full_filters=[r.c = Utf8("x")]
        "#);
    }
}
