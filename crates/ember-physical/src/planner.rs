//! The physical planner: picks an operator for each logical node and inserts an
//! `ExchangeExec` wherever the required distribution of rows is not met.
//!
//! ```text
//! Aggregate   => HashAggregateExec(Final) <- Exchange hash(group keys) <- HashAggregateExec(Partial)
//! Join (equi) => HashJoinExec <- Exchange hash(left keys) / Exchange hash(right keys)
//! Sort        => SortExec <- Exchange single        (Sort + Limit: TopK per partition first)
//! Limit       => LimitExec <- Exchange single <- LimitExec per partition
//! Repartition => Exchange hash(keys)                  (DISTRIBUTE BY)
//! SortWithinPartitions => SortExec per partition      (SORT BY)
//! Generate             => GenerateExec                  (explode, LATERAL VIEW)
//! ```

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion_common::{DFSchema, JoinType, ScalarValue};
use datafusion_expr::logical_plan::{
    Aggregate, Join, Limit, Partitioning as LogicalPartitioning, Repartition, Sort, TableScan,
};
use datafusion_expr::{Expr, LogicalPlan};
use datafusion_physical_expr::aggregate::{AggregateExprBuilder, AggregateFunctionExpr};
use datafusion_physical_expr::expressions::Column as PhysicalColumn;
use ember_common::logical::{Generate, SortWithinPartitions};
use ember_common::{EmberError, Result};
use ember_datasource::{FileTableSource, RangeSource};

use crate::expressions::{create_physical_expr, PhysicalExprRef};
use crate::operators::cached_scan::{CachedScanExec, CachedTableSource};
use crate::operators::exchange::ExchangeExec;
use crate::operators::filter::FilterExec;
use crate::operators::generate::GenerateExec;
use crate::operators::hash_aggregate::{AggregateMode, HashAggregateExec};
use crate::operators::hash_join::{BuildSide, HashJoinExec, JoinMode};
use crate::operators::limit::LimitExec;
use crate::operators::nested_loop_join::NestedLoopJoinExec;
use crate::operators::projection::ProjectExec;
use crate::operators::range::RangeExec;
use crate::operators::scan::ScanExec;
use crate::operators::sort::{SortExec, SortKey};
use crate::operators::union::UnionExec;
use crate::operators::values::ValuesExec;
use crate::operators::window::{WindowExec, WindowFunctionCall};
use crate::plan::{ExecutionPlan, Partitioning};

/// Estimates the size in bytes of a logical plan's output; `None` when it cannot tell.
pub type SizeEstimator = Arc<dyn Fn(&LogicalPlan) -> Option<f64> + Send + Sync>;

/// Turns optimized logical plans into physical plans.
pub struct PhysicalPlanner {
    shuffle_partitions: usize,
    /// Joins whose build side is estimated at most this many bytes broadcast it.
    broadcast: Option<(u64, SizeEstimator)>,
}

impl PhysicalPlanner {
    /// `shuffle_partitions`: how many reduce partitions every shuffle has.
    pub fn new(shuffle_partitions: usize) -> Self {
        PhysicalPlanner {
            shuffle_partitions: shuffle_partitions.max(1),
            broadcast: None,
        }
    }

    /// Broadcast the build side of an equi-join (Spark's broadcast hash join) when `estimate`
    /// puts it at `threshold` bytes or less: it is gathered once into a single partition that
    /// every task of the other side joins against, and that side is not shuffled at all.
    pub fn with_broadcast_threshold(mut self, threshold: u64, estimate: SizeEstimator) -> Self {
        self.broadcast = Some((threshold, estimate));
        self
    }

    /// Whether `side` is small enough to broadcast.
    fn broadcastable(&self, side: &LogicalPlan) -> bool {
        match &self.broadcast {
            Some((threshold, estimate)) => {
                estimate(side).is_some_and(|bytes| bytes <= *threshold as f64)
            }
            None => false,
        }
    }

    pub fn create_physical_plan(&self, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        match plan {
            LogicalPlan::TableScan(scan) => self.plan_scan(scan),
            LogicalPlan::Projection(p) => {
                let input = self.create_physical_plan(&p.input)?;
                let exprs = p
                    .expr
                    .iter()
                    .zip(p.schema.fields())
                    .map(|(e, f)| {
                        Ok((create_physical_expr(e, p.input.schema())?, f.name().clone()))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Arc::new(ProjectExec::try_new(exprs, input)?))
            }
            LogicalPlan::Filter(f) => {
                let input = self.create_physical_plan(&f.input)?;
                let predicate = create_physical_expr(&f.predicate, f.input.schema())?;
                Ok(Arc::new(FilterExec::new(predicate, input)))
            }
            LogicalPlan::SubqueryAlias(a) => self.create_physical_plan(&a.input),
            LogicalPlan::Aggregate(a) => self.plan_aggregate(a),
            LogicalPlan::Join(j) => self.plan_join(j),
            LogicalPlan::Sort(s) => self.plan_sort(s, None),
            LogicalPlan::Limit(l) => self.plan_limit(l),
            LogicalPlan::Window(w) => self.plan_window(w),
            LogicalPlan::Union(u) => {
                let inputs = u
                    .inputs
                    .iter()
                    .map(|i| self.create_physical_plan(i))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Arc::new(UnionExec::try_new(
                    inputs,
                    arrow_schema(&u.schema),
                )?))
            }
            LogicalPlan::EmptyRelation(e) => {
                let schema = arrow_schema(&e.schema);
                let batches = if e.produce_one_row {
                    let columns: Vec<ArrayRef> = schema
                        .fields()
                        .iter()
                        .map(|f| new_null_array(f.data_type(), 1))
                        .collect();
                    let options = RecordBatchOptions::new().with_row_count(Some(1));
                    vec![RecordBatch::try_new_with_options(
                        Arc::clone(&schema),
                        columns,
                        &options,
                    )?]
                } else {
                    vec![]
                };
                Ok(Arc::new(ValuesExec::new(schema, batches)))
            }
            LogicalPlan::Values(v) => {
                let schema = arrow_schema(&v.schema);
                let empty = DFSchema::empty();
                let mut columns = Vec::new();
                for (i, field) in schema.fields().iter().enumerate() {
                    let mut scalars = Vec::new();
                    for row in &v.values {
                        let value = evaluate_constant(&row[i], &empty)?;
                        scalars.push(value.cast_to(field.data_type()).unwrap_or(value));
                    }
                    columns.push(if scalars.is_empty() {
                        new_null_array(field.data_type(), 0)
                    } else {
                        ScalarValue::iter_to_array(scalars)?
                    });
                }
                let options = RecordBatchOptions::new().with_row_count(Some(v.values.len()));
                let batch =
                    RecordBatch::try_new_with_options(Arc::clone(&schema), columns, &options)?;
                Ok(Arc::new(ValuesExec::new(schema, vec![batch])))
            }
            LogicalPlan::Distinct(_) => Err(EmberError::internal(
                "DISTINCT should have been planned as an aggregate",
            )),
            LogicalPlan::Repartition(repartition) => self.plan_repartition(repartition),
            LogicalPlan::Extension(extension) => {
                if let Some(sort) = SortWithinPartitions::of(plan) {
                    return self.plan_sort_within_partitions(sort);
                }
                if let Some(generate) = Generate::of(plan) {
                    let input = self.create_physical_plan(&generate.input)?;
                    let args = generate
                        .args
                        .iter()
                        .map(|a| create_physical_expr(a, generate.input.schema()))
                        .collect::<Result<Vec<_>>>()?;
                    return Ok(Arc::new(GenerateExec::new(
                        generate.kind,
                        args,
                        generate.outer,
                        Arc::new(generate.schema.as_arrow().clone()),
                        input,
                    )));
                }
                Err(EmberError::NotSupported(format!(
                    "planning the logical node {}",
                    extension.node.name()
                )))
            }
            other => Err(EmberError::NotSupported(format!(
                "planning {}",
                other.display()
            ))),
        }
    }

    fn plan_scan(&self, scan: &TableScan) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(cached) = scan.source.as_ref().downcast_ref::<CachedTableSource>() {
            // The scan's filters stay in the Filter above it (they are only partial).
            let source = Arc::new(CachedTableSource {
                name: cached.name.clone(),
                rdd: Arc::clone(&cached.rdd),
                schema: Arc::clone(&cached.schema),
                shuffles: cached.shuffles.clone(),
                plan: Arc::clone(&cached.plan),
            });
            return Ok(Arc::new(CachedScanExec::try_new(
                source,
                scan.projection.clone(),
            )?));
        }
        if let Some(range) = scan.source.as_ref().downcast_ref::<RangeSource>() {
            return Ok(Arc::new(RangeExec::try_new(
                range.clone(),
                scan.projection.clone(),
            )?));
        }
        let source = scan
            .source
            .as_ref()
            .downcast_ref::<FileTableSource>()
            .ok_or_else(|| {
                EmberError::internal(format!("table {} has no file source", scan.table_name))
            })?;
        let filters = scan
            .filters
            .iter()
            .map(|f| create_physical_expr(f, &scan.projected_schema))
            .collect::<Result<Vec<_>>>()?;
        // Skip partition folders and Parquet row groups the filters rule out.
        let table = match source.table.prune(&scan.filters)? {
            Some(pruned) => Arc::new(pruned),
            None => Arc::clone(&source.table),
        };
        Ok(Arc::new(ScanExec::try_new(
            scan.table_name.to_string(),
            table,
            scan.projection.clone(),
            filters,
        )?))
    }

    fn plan_aggregate(&self, aggregate: &Aggregate) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.create_physical_plan(&aggregate.input)?;
        let input_schema = aggregate.input.schema();
        let arrow_input = input.schema();
        let group_exprs = aggregate
            .group_expr
            .iter()
            .map(|g| {
                Ok((
                    create_physical_expr(g, input_schema)?,
                    g.schema_name().to_string(),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut aggregates = Vec::new();
        let mut filters = Vec::new();
        for expr in &aggregate.aggr_expr {
            let (function, filter) = self.create_aggregate(expr, input_schema, &arrow_input)?;
            aggregates.push(function);
            filters.push(filter);
        }
        let n_groups = group_exprs.len();
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            group_exprs,
            aggregates,
            filters,
            input,
        )?;
        let partial_schema = partial.schema();
        let partitioning = if n_groups == 0 {
            Partitioning::Single
        } else {
            let keys: Vec<PhysicalExprRef> = (0..n_groups)
                .map(|i| {
                    Arc::new(PhysicalColumn::new(partial_schema.field(i).name(), i))
                        as PhysicalExprRef
                })
                .collect();
            Partitioning::Hash(keys, self.shuffle_partitions)
        };
        let partial = Arc::new(partial);
        let exchange = Arc::new(ExchangeExec::new(partial.clone(), partitioning));
        Ok(Arc::new(HashAggregateExec::final_for(&partial, exchange)?))
    }

    fn create_aggregate(
        &self,
        expr: &Expr,
        input_schema: &DFSchema,
        arrow_input: &SchemaRef,
    ) -> Result<(Arc<AggregateFunctionExpr>, Option<PhysicalExprRef>)> {
        let name = expr.schema_name().to_string();
        let Expr::AggregateFunction(function) = unalias(expr) else {
            return Err(EmberError::internal(format!(
                "{expr} is not an aggregate function"
            )));
        };
        let params = &function.params;
        if !params.order_by.is_empty() {
            return Err(EmberError::NotSupported(format!(
                "ordered aggregates such as {expr}"
            )));
        }
        let args = params
            .args
            .iter()
            .map(|a| create_physical_expr(a, input_schema))
            .collect::<Result<Vec<_>>>()?;
        let built = AggregateExprBuilder::new(Arc::clone(&function.func), args)
            .schema(Arc::clone(arrow_input))
            .alias(name)
            .with_distinct(params.distinct)
            .build()?;
        let filter = params
            .filter
            .as_ref()
            .map(|f| create_physical_expr(f, input_schema))
            .transpose()?;
        Ok((Arc::new(built), filter))
    }

    fn plan_join(&self, join: &Join) -> Result<Arc<dyn ExecutionPlan>> {
        if join.on.is_empty() {
            return self.plan_nested_loop_join(join);
        }
        let left = self.create_physical_plan(&join.left)?;
        let right = self.create_physical_plan(&join.right)?;
        let mut on = Vec::new();
        for (l, r) in &join.on {
            on.push((
                create_physical_expr(l, join.left.schema())?,
                create_physical_expr(r, join.right.schema())?,
            ));
        }
        let filter = match &join.filter {
            Some(f) => {
                let joined = join.left.schema().join(join.right.schema())?;
                Some(create_physical_expr(f, &joined)?)
            }
            None => None,
        };
        // The build side: the right one (the optimizer puts the smaller input of an inner join
        // there), the left one for joins that keep the right side's rows.
        let build_side = match join.join_type {
            JoinType::Right | JoinType::RightSemi | JoinType::RightAnti => BuildSide::Left,
            _ => BuildSide::Right,
        };
        // A broadcast build side is joined by every probe task, so it must not have to emit
        // its own unmatched rows: not for FULL joins, nor for the outer side of the others.
        let broadcast = match (join.join_type, build_side) {
            (JoinType::Full, _) => false,
            (_, BuildSide::Right) => {
                matches!(
                    join.join_type,
                    JoinType::Inner | JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti
                ) && self.broadcastable(&join.right)
            }
            (_, BuildSide::Left) => {
                matches!(join.join_type, JoinType::Right) && self.broadcastable(&join.left)
            }
        };
        if broadcast {
            let single = |plan: Arc<dyn ExecutionPlan>| -> Arc<dyn ExecutionPlan> {
                if plan.output_partitioning().partition_count() == 1 {
                    plan
                } else {
                    Arc::new(ExchangeExec::new(plan, Partitioning::Single))
                }
            };
            let (left, right) = match build_side {
                BuildSide::Right => (left, single(right)),
                BuildSide::Left => (single(left), right),
            };
            return Ok(Arc::new(HashJoinExec::try_new(
                left,
                right,
                on,
                filter,
                join.join_type,
                build_side,
                JoinMode::CollectBuild,
            )?));
        }
        let n = self.shuffle_partitions;
        let left_keys = on.iter().map(|(l, _)| Arc::clone(l)).collect();
        let right_keys = on.iter().map(|(_, r)| Arc::clone(r)).collect();
        let left = Arc::new(ExchangeExec::new(left, Partitioning::Hash(left_keys, n)));
        let right = Arc::new(ExchangeExec::new(right, Partitioning::Hash(right_keys, n)));
        Ok(Arc::new(HashJoinExec::try_new(
            left,
            right,
            on,
            filter,
            join.join_type,
            build_side,
            JoinMode::Partitioned,
        )?))
    }

    /// A join without equality keys: the right side is gathered into one partition and
    /// paired with every row of each left partition.
    ///
    /// A Right join runs as a Left join with the sides swapped, then a projection puts the
    /// columns back in order; a Full join gathers both sides into one partition, so that the
    /// build rows nothing matched are known at the end.
    fn plan_nested_loop_join(&self, join: &Join) -> Result<Arc<dyn ExecutionPlan>> {
        let swap = join.join_type == JoinType::Right;
        let (probe_logical, build_logical, join_type) = if swap {
            (&join.right, &join.left, JoinType::Left)
        } else {
            (&join.left, &join.right, join.join_type)
        };
        let probe = self.create_physical_plan(probe_logical)?;
        let build = self.create_physical_plan(build_logical)?;
        let filter = match &join.filter {
            Some(f) => {
                let joined = probe_logical.schema().join(build_logical.schema())?;
                Some(create_physical_expr(f, &joined)?)
            }
            None => None,
        };
        let single = |plan: Arc<dyn ExecutionPlan>| -> Arc<dyn ExecutionPlan> {
            if plan.output_partitioning().partition_count() > 1 {
                Arc::new(ExchangeExec::new(plan, Partitioning::Single))
            } else {
                plan
            }
        };
        let build = single(build);
        let probe = if join_type == JoinType::Full {
            single(probe)
        } else {
            probe
        };
        let joined: Arc<dyn ExecutionPlan> = Arc::new(NestedLoopJoinExec::try_new(
            probe, build, filter, join_type,
        )?);
        if !swap {
            return Ok(joined);
        }
        // Back to the logical order: left columns, then right columns.
        let probe_width = join.right.schema().fields().len();
        let build_width = join.left.schema().fields().len();
        let schema = joined.schema();
        let order = (probe_width..probe_width + build_width).chain(0..probe_width);
        let exprs = order
            .map(|at| {
                let name = schema.field(at).name().clone();
                (
                    Arc::new(PhysicalColumn::new(&name, at)) as PhysicalExprRef,
                    name,
                )
            })
            .collect();
        Ok(Arc::new(ProjectExec::try_new(exprs, joined)?))
    }

    fn sort_keys(&self, sort: &Sort) -> Result<Vec<SortKey>> {
        sort_keys_of(&sort.expr, &sort.input)
    }

    /// `DISTRIBUTE BY keys` (and a hash repartition): a hash exchange on the keys into the
    /// shuffle partitions, so rows with equal keys meet in one partition.
    fn plan_repartition(&self, repartition: &Repartition) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.create_physical_plan(&repartition.input)?;
        let schema = repartition.input.schema();
        let partitioning = match &repartition.partitioning_scheme {
            LogicalPartitioning::DistributeBy(keys) => Partitioning::Hash(
                keys.iter()
                    .map(|k| create_physical_expr(k, schema))
                    .collect::<Result<Vec<_>>>()?,
                self.shuffle_partitions,
            ),
            LogicalPartitioning::Hash(keys, count) => Partitioning::Hash(
                keys.iter()
                    .map(|k| create_physical_expr(k, schema))
                    .collect::<Result<Vec<_>>>()?,
                (*count).max(1),
            ),
            LogicalPartitioning::RoundRobinBatch(_) | LogicalPartitioning::Range(_) => {
                return Err(EmberError::NotSupported(
                    "round-robin and range repartitioning (REPARTITION hints)".into(),
                ))
            }
        };
        Ok(Arc::new(ExchangeExec::new(input, partitioning)))
    }

    /// `SORT BY`: each partition sorted on its own, no exchange.
    fn plan_sort_within_partitions(
        &self,
        sort: &SortWithinPartitions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.create_physical_plan(&sort.input)?;
        let keys = sort_keys_of(&sort.expr, &sort.input)?;
        Ok(Arc::new(SortExec::new(keys, None, input)))
    }

    /// A global sort: everything meets in one partition. With `fetch`, each partition first
    /// keeps only its own top rows.
    fn plan_sort(&self, sort: &Sort, fetch: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.create_physical_plan(&sort.input)?;
        let keys = self.sort_keys(sort)?;
        let fetch = match (fetch, sort.fetch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let input = if input.output_partitioning().partition_count() > 1 {
            let local: Arc<dyn ExecutionPlan> = match fetch {
                Some(k) => Arc::new(SortExec::new(keys.clone(), Some(k), input)),
                None => input,
            };
            Arc::new(ExchangeExec::new(local, Partitioning::Single)) as Arc<dyn ExecutionPlan>
        } else {
            input
        };
        Ok(Arc::new(SortExec::new(keys, fetch, input)))
    }

    fn plan_limit(&self, limit: &Limit) -> Result<Arc<dyn ExecutionPlan>> {
        let skip = match limit.get_skip_type()? {
            datafusion_expr::logical_plan::SkipType::Literal(n) => n,
            _ => return Err(EmberError::NotSupported("a non-constant OFFSET".into())),
        };
        let fetch = match limit.get_fetch_type()? {
            datafusion_expr::logical_plan::FetchType::Literal(n) => n,
            _ => return Err(EmberError::NotSupported("a non-constant LIMIT".into())),
        };
        if let (LogicalPlan::Sort(sort), Some(f)) = (limit.input.as_ref(), fetch) {
            let sorted = self.plan_sort(sort, Some(f + skip))?;
            return Ok(Arc::new(LimitExec::new(skip, Some(f), sorted)));
        }
        let input = self.create_physical_plan(&limit.input)?;
        let input = if input.output_partitioning().partition_count() > 1 {
            let local = Arc::new(LimitExec::new(0, fetch.map(|f| f + skip), input));
            Arc::new(ExchangeExec::new(local, Partitioning::Single)) as Arc<dyn ExecutionPlan>
        } else {
            input
        };
        Ok(Arc::new(LimitExec::new(skip, fetch, input)))
    }
}

/// Physical sort keys of `exprs` over `input`'s schema.
fn sort_keys_of(exprs: &[datafusion_expr::SortExpr], input: &LogicalPlan) -> Result<Vec<SortKey>> {
    exprs
        .iter()
        .map(|s| {
            Ok(SortKey {
                expr: create_physical_expr(&s.expr, input.schema())?,
                ascending: s.asc,
                nulls_first: s.nulls_first,
            })
        })
        .collect()
}

/// One PARTITION BY / ORDER BY specification of a Window node and the window expressions
/// (by position in the node) that use it.
struct WindowSpecGroup<'a> {
    partition_by: &'a [Expr],
    order_by: &'a [datafusion_expr::SortExpr],
    members: Vec<usize>,
}

impl PhysicalPlanner {
    /// `Window` => `WindowExec` <- `SortExec` (partition keys, order keys) <- Exchange
    /// hash(partition keys) (single without keys), one such chain per distinct PARTITION BY /
    /// ORDER BY specification, with a `ProjectExec` restoring the logical column order when
    /// the chain appended the columns in another order.
    fn plan_window(
        &self,
        window: &datafusion_expr::logical_plan::Window,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut plan = self.create_physical_plan(&window.input)?;
        let input_schema = window.input.schema();
        let input_columns = input_schema.fields().len();
        let mut groups: Vec<WindowSpecGroup> = Vec::new();
        for (index, expr) in window.window_expr.iter().enumerate() {
            let Expr::WindowFunction(function) = unalias(expr) else {
                return Err(EmberError::internal(format!(
                    "{expr} in a Window node is not a window function"
                )));
            };
            let params = &function.params;
            match groups.iter_mut().find(|g| {
                g.partition_by == params.partition_by.as_slice()
                    && g.order_by == params.order_by.as_slice()
            }) {
                Some(group) => group.members.push(index),
                None => groups.push(WindowSpecGroup {
                    partition_by: &params.partition_by,
                    order_by: &params.order_by,
                    members: vec![index],
                }),
            }
        }
        // Position in the chained output of each window expression.
        let mut produced_at = vec![0; window.window_expr.len()];
        let mut next_column = input_columns;
        for group in &groups {
            let partition_by = group
                .partition_by
                .iter()
                .map(|e| create_physical_expr(e, input_schema))
                .collect::<Result<Vec<_>>>()?;
            let order_by = group
                .order_by
                .iter()
                .map(|s| {
                    Ok(SortKey {
                        expr: create_physical_expr(&s.expr, input_schema)?,
                        ascending: s.asc,
                        nulls_first: s.nulls_first,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut calls = Vec::with_capacity(group.members.len());
            for &index in &group.members {
                let expr = &window.window_expr[index];
                let Expr::WindowFunction(function) = unalias(expr) else {
                    return Err(EmberError::internal(format!(
                        "{expr} in a Window node is not a window function"
                    )));
                };
                let params = &function.params;
                let args = params
                    .args
                    .iter()
                    .map(|a| create_physical_expr(a, input_schema))
                    .collect::<Result<Vec<_>>>()?;
                let filter = params
                    .filter
                    .as_ref()
                    .map(|f| create_physical_expr(f, input_schema))
                    .transpose()?;
                calls.push(WindowFunctionCall {
                    function: function.fun.clone(),
                    args,
                    name: window.schema.field(input_columns + index).name().clone(),
                    frame: params.window_frame.clone(),
                    ignore_nulls: matches!(
                        params.null_treatment,
                        Some(datafusion_expr::expr::NullTreatment::IgnoreNulls)
                    ),
                    distinct: params.distinct,
                    filter,
                });
                produced_at[index] = next_column;
                next_column += 1;
            }
            plan = self.distribute_for_window(plan, &partition_by)?;
            let mut sort_keys: Vec<SortKey> = partition_by
                .iter()
                .map(|k| SortKey {
                    expr: Arc::clone(k),
                    ascending: true,
                    nulls_first: true,
                })
                .collect();
            sort_keys.extend(order_by.iter().cloned());
            if !sort_keys.is_empty() {
                plan = Arc::new(SortExec::new(sort_keys, None, plan));
            }
            plan = Arc::new(WindowExec::try_new(partition_by, order_by, calls, plan)?);
        }
        let in_order = produced_at
            .iter()
            .enumerate()
            .all(|(index, &at)| at == input_columns + index);
        if in_order {
            return Ok(plan);
        }
        let chained = plan.schema();
        let exprs = (0..input_columns)
            .chain(produced_at.iter().copied())
            .zip(window.schema.fields())
            .map(|(at, field)| {
                (
                    Arc::new(PhysicalColumn::new(chained.field(at).name(), at)) as PhysicalExprRef,
                    field.name().clone(),
                )
            })
            .collect();
        Ok(Arc::new(ProjectExec::try_new(exprs, plan)?))
    }

    /// Brings equal PARTITION BY values into one partition, unless `plan` already does.
    fn distribute_for_window(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        partition_by: &[PhysicalExprRef],
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if partition_by.is_empty() {
            if plan.output_partitioning().partition_count() == 1 {
                return Ok(plan);
            }
            return Ok(Arc::new(ExchangeExec::new(plan, Partitioning::Single)));
        }
        if let Partitioning::Hash(exprs, count) = plan.output_partitioning() {
            let same = count == self.shuffle_partitions
                && exprs.len() == partition_by.len()
                && exprs
                    .iter()
                    .zip(partition_by)
                    .all(|(a, b)| a.to_string() == b.to_string());
            if same {
                return Ok(plan);
            }
        }
        Ok(Arc::new(ExchangeExec::new(
            plan,
            Partitioning::Hash(partition_by.to_vec(), self.shuffle_partitions),
        )))
    }
}

fn unalias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => unalias(&a.expr),
        other => other,
    }
}

fn arrow_schema(schema: &DFSchema) -> SchemaRef {
    Arc::new(schema.as_arrow().clone())
}

/// Evaluates an expression without column references (a VALUES cell) to a scalar.
fn evaluate_constant(expr: &Expr, schema: &DFSchema) -> Result<ScalarValue> {
    let physical = create_physical_expr(expr, schema)?;
    let options = RecordBatchOptions::new().with_row_count(Some(1));
    let batch = RecordBatch::try_new_with_options(
        Arc::new(arrow::datatypes::Schema::empty()),
        vec![],
        &options,
    )?;
    let array = crate::expressions::evaluate(&physical, &batch)?;
    Ok(ScalarValue::try_from_array(&array, 0)?)
}
