//! `ColumnPruning`: every operator keeps only the columns someone above it reads.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, DFSchema, Result as DFResult};
use datafusion_expr::logical_plan::TableScanBuilder;
use datafusion_expr::{
    Aggregate, Expr, Join, JoinType, LogicalPlan, Projection, TableScan, Values,
};
use ember_common::Result;

use crate::{OptimizerContext, Rule};

/// Walks the plan top-down carrying the set of output columns the parent needs, and narrows
/// Projections, Aggregates (unused aggregates), Values and TableScans (a `projection` of
/// the needed column indices) to that set.
///
/// ```text
/// Projection: t.a                          Projection: t.a
///   Filter: t.b > 1                  ──▶     Filter: t.b > 1
///     TableScan: t  (a, b, c, d)               TableScan: t projection=[a, b]
///
/// Aggregate: aggr=[[COUNT(*)]]             Aggregate: aggr=[[COUNT(*)]]
///   TableScan: t                     ──▶     TableScan: t projection=[a]  (narrowest column)
/// ```
///
/// Filter, Sort, Limit, SubqueryAlias and Join pass their inputs' columns through, so they
/// ask their inputs for what their parent needs plus what their own expressions read
/// (join keys and filter included). The columns of a scan's pushed filters stay in its
/// projection. Union inputs keep all their columns (pruning them by position is left for
/// later). A scan always keeps at least one column, so a `count(*)` still sees every row.
/// The root keeps exactly its schema. Runs after `PushDownFilter`, and
/// `EliminateProjection` cleans up after it.
#[derive(Debug, Default, Clone, Copy)]
pub struct ColumnPruning;

impl Rule for ColumnPruning {
    fn name(&self) -> &str {
        "column_pruning"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        let required = all_columns(&plan);
        Ok(prune(plan, &required)?)
    }
}

/// Indices into a plan's output schema, sorted.
type Required = BTreeSet<usize>;

fn all_columns(plan: &LogicalPlan) -> Required {
    (0..plan.schema().fields().len()).collect()
}

/// The input columns read by `exprs`; `None` when that cannot be known (a correlated subquery
/// may read any column through outer references, or a column did not resolve), meaning "all".
fn columns_read<'a>(
    exprs: impl IntoIterator<Item = &'a Expr>,
    schema: &DFSchema,
) -> Option<Required> {
    let mut required = Required::new();
    for expr in exprs {
        if has_correlated_subquery(expr) {
            return None;
        }
        for column in expr.column_refs() {
            required.insert(schema.maybe_index_of_column(column)?);
        }
    }
    Some(required)
}

/// Whether `expr` holds a subquery that may read any column through outer references.
fn has_correlated_subquery(expr: &Expr) -> bool {
    expr.exists(|e| {
        Ok(match e {
            Expr::Exists(_) | Expr::InSubquery(_) | Expr::SetComparison(_) => true,
            // An uncorrelated one reads none of this plan's columns.
            Expr::ScalarSubquery(s) => super::scalar_subquery_to_join::is_correlated(s),
            _ => false,
        })
    })
    .unwrap_or(true)
}

/// `required` plus the columns `exprs` read from `input`, or all of `input`'s columns.
fn with_columns_read<'a>(
    required: &Required,
    exprs: impl IntoIterator<Item = &'a Expr>,
    input: &LogicalPlan,
) -> Required {
    match columns_read(exprs, input.schema()) {
        Some(read) => read.union(required).copied().collect(),
        None => all_columns(input),
    }
}

/// Rewrites `plan` so that its output has at least the columns at `required` (by name) and,
/// where it can, no other.
fn prune(plan: LogicalPlan, required: &Required) -> DFResult<Transformed<LogicalPlan>> {
    match plan {
        LogicalPlan::Projection(projection) => prune_projection(projection, required),
        LogicalPlan::Aggregate(aggregate) => prune_aggregate(aggregate, required),
        LogicalPlan::TableScan(scan) => prune_scan(scan, required),
        LogicalPlan::Values(values) => prune_values(values, required),
        LogicalPlan::Join(ref join) => {
            let (left, right) = join_requirements(join, required);
            prune_children(plan, vec![left, right])
        }
        LogicalPlan::Filter(ref filter) => {
            let child = with_columns_read(required, [&filter.predicate], &filter.input);
            // Columns only the predicate reads are dropped right after it (Spark's
            // ColumnPruning does the same), so they do not travel through exchanges above.
            let only_filtered = !required.is_empty() && child.difference(required).next().is_some();
            let columns = filter.input.schema().columns();
            let kept: Vec<Column> = required
                .iter()
                .filter_map(|&i| columns.get(i).cloned())
                .collect();
            let pruned = prune_children(plan, vec![child])?;
            if !only_filtered {
                return Ok(pruned);
            }
            let projection = Projection::try_new(
                kept.into_iter().map(Expr::Column).collect(),
                Arc::new(pruned.data),
            )?;
            Ok(Transformed::yes(LogicalPlan::Projection(projection)))
        }
        LogicalPlan::Sort(ref sort) => {
            let child = with_columns_read(required, sort.expr.iter().map(|s| &s.expr), &sort.input);
            prune_children(plan, vec![child])
        }
        // Same columns in the same positions as the input.
        LogicalPlan::Limit(_) | LogicalPlan::SubqueryAlias(_) => {
            let child = required.clone();
            prune_children(plan, vec![child])
        }
        other => {
            let children = other.inputs().into_iter().map(all_columns).collect();
            prune_children(other, children)
        }
    }
}

/// Prunes each input with its requirement and rebuilds `plan` over the new inputs.
fn prune_children(
    plan: LogicalPlan,
    requirements: Vec<Required>,
) -> DFResult<Transformed<LogicalPlan>> {
    let inputs: Vec<LogicalPlan> = plan.inputs().into_iter().cloned().collect();
    let mut changed = false;
    let mut new_inputs = Vec::with_capacity(inputs.len());
    for (input, required) in inputs.into_iter().zip(requirements) {
        let result = prune(input, &required)?;
        changed |= result.transformed;
        new_inputs.push(result.data);
    }
    if !changed {
        return Ok(Transformed::no(plan));
    }
    let new_plan = plan.with_new_exprs(plan.expressions(), new_inputs)?;
    Ok(Transformed::yes(new_plan))
}

fn prune_projection(
    projection: Projection,
    required: &Required,
) -> DFResult<Transformed<LogicalPlan>> {
    let Projection { expr, input, .. } = projection;
    let total = expr.len();
    // A projection must produce a column; keep the first when nothing above reads any.
    let keep: Vec<usize> = if required.is_empty() {
        (0..total.min(1)).collect()
    } else {
        required.iter().copied().filter(|&i| i < total).collect()
    };
    let exprs: Vec<Expr> = keep.iter().map(|&i| expr[i].clone()).collect();
    let child_required = with_columns_read(&Required::new(), &exprs, &input);
    let new_input = prune(Arc::unwrap_or_clone(input), &child_required)?;
    let changed = exprs.len() < total || new_input.transformed;
    let new_projection = Projection::try_new(exprs, Arc::new(new_input.data))?;
    Ok(Transformed::new_transformed(
        LogicalPlan::Projection(new_projection),
        changed,
    ))
}

fn prune_aggregate(
    aggregate: Aggregate,
    required: &Required,
) -> DFResult<Transformed<LogicalPlan>> {
    let has_grouping_sets = aggregate
        .group_expr
        .iter()
        .any(|e| matches!(e, Expr::GroupingSet(_)));
    if has_grouping_sets {
        return prune_children(
            LogicalPlan::Aggregate(aggregate.clone()),
            vec![all_columns(&aggregate.input)],
        );
    }
    let Aggregate {
        input,
        group_expr,
        aggr_expr,
        ..
    } = aggregate;
    let group_count = group_expr.len();
    let mut kept_aggr: Vec<Expr> = aggr_expr
        .iter()
        .enumerate()
        .filter(|(i, _)| required.contains(&(group_count + i)))
        .map(|(_, e)| e.clone())
        .collect();
    // A global aggregate returns one row even when nobody reads its values; it needs one.
    if kept_aggr.is_empty() && group_count == 0 {
        kept_aggr.extend(aggr_expr.first().cloned());
    }
    let child_required = with_columns_read(
        &Required::new(),
        group_expr.iter().chain(&kept_aggr),
        &input,
    );
    let new_input = prune(Arc::unwrap_or_clone(input), &child_required)?;
    let changed = kept_aggr.len() < aggr_expr.len() || new_input.transformed;
    let new_aggregate = Aggregate::try_new(Arc::new(new_input.data), group_expr, kept_aggr)?;
    Ok(Transformed::new_transformed(
        LogicalPlan::Aggregate(new_aggregate),
        changed,
    ))
}

/// What each side of a join must produce: the parent's columns on that side plus the columns
/// the keys and the join filter read.
fn join_requirements(join: &Join, required: &Required) -> (Required, Required) {
    let (left, right) = (join.left.as_ref(), join.right.as_ref());
    let left_width = left.schema().fields().len();
    let (mut from_left, mut from_right) = match join.join_type {
        JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => (
            required
                .iter()
                .copied()
                .filter(|&i| i < left_width)
                .collect(),
            required
                .iter()
                .filter(|&&i| i >= left_width)
                .map(|&i| i - left_width)
                .collect(),
        ),
        JoinType::LeftSemi | JoinType::LeftAnti => (required.clone(), Required::new()),
        JoinType::RightSemi | JoinType::RightAnti => (Required::new(), required.clone()),
        _ => return (all_columns(left), all_columns(right)),
    };
    let left_keys = columns_read(join.on.iter().map(|(l, _)| l), left.schema());
    let right_keys = columns_read(join.on.iter().map(|(_, r)| r), right.schema());
    let (Some(left_keys), Some(right_keys)) = (left_keys, right_keys) else {
        return (all_columns(left), all_columns(right));
    };
    from_left.extend(left_keys);
    from_right.extend(right_keys);
    if let Some(filter) = &join.filter {
        // (Resolved against each input below: a semi or anti join's own schema lacks the
        // right side's columns that its filter reads.)
        if has_correlated_subquery(filter) {
            return (all_columns(left), all_columns(right));
        }
        for column in filter.column_refs() {
            if let Some(i) = left.schema().maybe_index_of_column(column) {
                from_left.insert(i);
            } else if let Some(i) = right.schema().maybe_index_of_column(column) {
                from_right.insert(i);
            } else {
                return (all_columns(left), all_columns(right));
            }
        }
    }
    (from_left, from_right)
}

fn prune_scan(scan: TableScan, required: &Required) -> DFResult<Transformed<LogicalPlan>> {
    let source_schema = scan.source.schema();
    let current: Vec<usize> = match &scan.projection {
        Some(projection) => projection.clone(),
        None => (0..source_schema.fields().len()).collect(),
    };
    // Source indices the scan must still read: those needed above and those its filters use.
    let mut needed: BTreeSet<usize> = required
        .iter()
        .filter_map(|&i| current.get(i).copied())
        .collect();
    for filter in &scan.filters {
        for column in filter.column_refs() {
            match source_schema.index_of(column.name()) {
                Ok(i) => {
                    needed.insert(i);
                }
                Err(_) => return Ok(Transformed::no(LogicalPlan::TableScan(scan))),
            }
        }
    }
    if needed.is_empty() {
        if let Some(narrowest) = narrowest_column(&current, source_schema.as_ref()) {
            needed.insert(narrowest);
        }
    }
    let projection: Vec<usize> = current
        .iter()
        .copied()
        .filter(|i| needed.contains(i))
        .collect();
    if scan.projection.as_ref() == Some(&projection)
        || (scan.projection.is_none() && projection.len() == current.len())
    {
        return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
    }
    let new_scan = TableScanBuilder::from(scan)
        .with_projection(Some(projection))
        .build()?;
    Ok(Transformed::yes(LogicalPlan::TableScan(new_scan)))
}

/// The column cheapest to read (fixed width, fewest bytes), for scans nobody reads a column of.
fn narrowest_column(
    candidates: &[usize],
    schema: &datafusion_common::arrow::datatypes::Schema,
) -> Option<usize> {
    candidates.iter().copied().min_by_key(|&i| {
        schema
            .fields()
            .get(i)
            .and_then(|field| field.data_type().primitive_width())
            .unwrap_or(usize::MAX)
    })
}

fn prune_values(values: Values, required: &Required) -> DFResult<Transformed<LogicalPlan>> {
    let width = values.schema.fields().len();
    let keep: Vec<usize> = if required.is_empty() {
        (0..width.min(1)).collect()
    } else {
        required.iter().copied().filter(|&i| i < width).collect()
    };
    if keep.len() == width {
        return Ok(Transformed::no(LogicalPlan::Values(values)));
    }
    let fields = keep
        .iter()
        .map(|&i| {
            let (qualifier, field) = values.schema.qualified_field(i);
            (qualifier.cloned(), Arc::clone(field))
        })
        .collect();
    let schema = DFSchema::new_with_metadata(fields, values.schema.metadata().clone())?;
    let rows = values
        .values
        .into_iter()
        .map(|row| keep.iter().filter_map(|&i| row.get(i).cloned()).collect())
        .collect();
    Ok(Transformed::yes(LogicalPlan::Values(Values {
        schema: Arc::new(schema),
        values: rows,
    })))
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::test::function_stub::count;
    use datafusion_expr::{col, lit, JoinType, LogicalPlanBuilder};

    use super::*;
    use crate::test_util::{abc, assert_unchanged, optimized, run, scan};
    use crate::PushDownFilter;

    fn wide(name: &str) -> LogicalPlanBuilder {
        scan(
            name,
            &[
                ("s", DataType::Utf8),
                ("a", DataType::Int64),
                ("b", DataType::Int16),
                ("c", DataType::Utf8),
            ],
        )
    }

    #[test]
    fn projection_over_filter_reads_two_columns() {
        let plan = abc("t")
            .filter(col("b").gt(lit(1i32)))
            .unwrap()
            .project(vec![col("a")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ColumnPruning, plan), @r"
        Projection: t.a
          Projection: t.a
            Filter: t.b > Int32(1)
              TableScan: t projection=[a, b]
        ");
    }

    #[test]
    fn count_star_keeps_the_narrowest_column() {
        let plan = wide("t")
            .aggregate(Vec::<Expr>::new(), vec![count(lit(1i64)).alias("count(*)")])
            .unwrap()
            .project(vec![col("count(*)")])
            .unwrap()
            .build()
            .unwrap();
        let text = optimized(&ColumnPruning, plan);
        insta::assert_snapshot!(text, @r"
        Projection: count(*)
          Aggregate: groupBy=[[]], aggr=[[COUNT(Int64(1)) AS count(*)]]
            TableScan: t projection=[b]
        ");
    }

    #[test]
    fn unused_aggregates_are_dropped() {
        let plan = wide("t")
            .aggregate(
                vec![col("a")],
                vec![count(col("b")).alias("nb"), count(col("c")).alias("nc")],
            )
            .unwrap()
            .project(vec![col("a"), col("nc")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ColumnPruning, plan), @r"
        Projection: t.a, nc
          Aggregate: groupBy=[[t.a]], aggr=[[COUNT(t.c) AS nc]]
            TableScan: t projection=[a, c]
        ");
    }

    #[test]
    fn join_keeps_keys_filter_and_used_columns() {
        let plan = wide("l")
            .join(
                wide("r").build().unwrap(),
                JoinType::Inner,
                (vec!["a"], vec!["a"]),
                Some(col("l.b").lt(col("r.b"))),
            )
            .unwrap()
            .sort(vec![col("r.s").sort(true, true)])
            .unwrap()
            .project(vec![col("l.c")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ColumnPruning, plan), @r"
        Projection: l.c
          Sort: r.s ASC NULLS FIRST
            Inner Join: l.a = r.a Filter: l.b < r.b
              TableScan: l projection=[a, b, c]
              TableScan: r projection=[s, a, b]
        ");
    }

    #[test]
    fn semi_join_filter_on_right_columns_still_prunes() {
        // The semi join's schema is the left side's only: the filter's right column must be
        // found in the right input (TPC-H Q21 read every lineitem column without this).
        let plan = wide("l")
            .join(
                wide("r").build().unwrap(),
                JoinType::LeftSemi,
                (vec!["a"], vec!["a"]),
                Some(col("r.b").not_eq(col("l.b"))),
            )
            .unwrap()
            .project(vec![col("l.c")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ColumnPruning, plan), @r"
        Projection: l.c
          LeftSemi Join: l.a = r.a Filter: r.b != l.b
            TableScan: l projection=[a, b, c]
            TableScan: r projection=[a, b]
        ");
    }

    #[test]
    fn subquery_alias_limit_and_pushed_scan_filters() {
        let plan = wide("t")
            .filter(col("c").eq(lit("x")))
            .unwrap()
            .build()
            .unwrap();
        // Push the filter into the scan first: its column must stay in the scan's projection.
        let pushed = run(&PushDownFilter, plan).data;
        let plan = LogicalPlanBuilder::from(pushed)
            .alias("q")
            .unwrap()
            .limit(0, Some(5))
            .unwrap()
            .project(vec![col("q.a")])
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&ColumnPruning, plan), @r#"
        Projection: q.a
          Limit: skip=0, fetch=5
            SubqueryAlias: q
              Projection: t.a
                Filter: t.c = Utf8("x")
                  TableScan: t projection=[a, c], full_filters=[t.c = Utf8("x")]
        "#);
    }

    #[test]
    fn union_inputs_keep_their_columns_and_root_keeps_its_schema() {
        let plan = abc("t")
            .union(abc("u").build().unwrap())
            .unwrap()
            .project(vec![col("a")])
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&ColumnPruning, plan);
        let root = abc("t")
            .filter(col("a").is_null())
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&ColumnPruning, root);
    }

    #[test]
    fn values_are_pruned_by_position() {
        let plan = LogicalPlanBuilder::values(vec![
            vec![lit(1i32), lit("a"), lit(true)],
            vec![lit(2i32), lit("b"), lit(false)],
        ])
        .unwrap()
        .project(vec![col("column2")])
        .unwrap()
        .build()
        .unwrap();
        insta::assert_snapshot!(optimized(&ColumnPruning, plan), @r#"
        Projection: column2
          Values: (Utf8("a")), (Utf8("b"))
        "#);
    }
}
