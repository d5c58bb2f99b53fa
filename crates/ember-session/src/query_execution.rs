//! How a query runs (Spark's QueryExecution): bind, optimize, plan physically, run the
//! uncorrelated scalar subqueries, lower onto stages and run the job.

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion_expr::LogicalPlan;
use ember_common::{EmberError, Result};
use ember_optimizer::{default_optimizer, OptimizerContext};
use ember_physical::stages::lower_to_rdd;
use ember_physical::{ExecutionPlan, PhysicalPlanner};
use ember_sql::Binder;

use crate::{EmberSession, Parameters, QueryResult};

impl EmberSession {
    pub(crate) fn bind(&self, query: &ember_sql::parser::Query) -> Result<LogicalPlan> {
        self.bind_with(query, None)
    }

    /// Binds a query, its `?` / `$n` placeholders to `parameters`.
    pub(crate) fn bind_with(
        &self,
        query: &ember_sql::parser::Query,
        parameters: Option<&Parameters>,
    ) -> Result<LogicalPlan> {
        let conf = self.conf.read().clone();
        let mut binder = Binder::new(&self.catalog, &conf).with_parameters(parameters);
        binder.bind_query_statement(query)
    }

    pub(crate) fn shuffle_partitions(&self) -> usize {
        match self.conf.read().get_usize("ember.sql.shuffle.partitions") {
            0 => 2 * self.context.default_parallelism(),
            n => n,
        }
    }

    /// The optimizer's context: configuration and row counts of the file tables.
    pub(crate) fn optimizer_context(&self) -> OptimizerContext {
        OptimizerContext::new(self.conf()).with_table_statistics(Arc::new(|source| {
            source
                .downcast_ref::<ember_datasource::FileTableSource>()
                .and_then(|file| file.table.estimated_rows())
        }))
    }

    pub(crate) fn optimize(
        &self,
        plan: LogicalPlan,
    ) -> Result<(LogicalPlan, Vec<ember_optimizer::RuleApplication>)> {
        if self.conf.read().get("ember.testing.panicAt").as_deref() == Some("planning") {
            panic!("injected panic (ember.testing.panicAt = planning)");
        }
        let plan = self.without_stale_caches(plan)?;
        default_optimizer().optimize(plan, &self.optimizer_context())
    }

    /// A view bound while a table was cached reads the cached data; once that cache is gone
    /// (UNCACHE, CLEAR CACHE, re-CACHE), it reads the plan that was cached again.
    pub(crate) fn without_stale_caches(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        use datafusion_common::tree_node::{Transformed, TreeNode};
        use ember_physical::operators::cached_scan::CachedTableSource;
        let rewritten = plan.transform_up(|node| {
            let LogicalPlan::TableScan(scan) = &node else {
                return Ok(Transformed::no(node));
            };
            let Some(cached) = scan.source.as_ref().downcast_ref::<CachedTableSource>() else {
                return Ok(Transformed::no(node));
            };
            let current = self.catalog.cached(&cached.name);
            let live = current
                .as_ref()
                .is_some_and(|c| std::ptr::addr_eq(Arc::as_ptr(c), Arc::as_ptr(&scan.source)));
            if live {
                return Ok(Transformed::no(node));
            }
            // Columns as the scan named them, over the plan that was cached.
            let original = self
                .without_stale_caches((*cached.plan).clone())
                .map_err(|e| datafusion_common::DataFusionError::External(Box::new(e)))?;
            let all_columns = original.schema().columns();
            let columns: Vec<datafusion_common::Column> = match &scan.projection {
                Some(indices) => indices
                    .iter()
                    .filter_map(|i| all_columns.get(*i).cloned())
                    .collect(),
                None => all_columns,
            };
            let exprs: Vec<datafusion_expr::Expr> = columns
                .into_iter()
                .zip(scan.projected_schema.iter())
                .map(|(column, (qualifier, field))| {
                    datafusion_expr::Expr::Column(column)
                        .alias_qualified(qualifier.cloned(), field.name())
                })
                .collect();
            let restored = datafusion_expr::LogicalPlanBuilder::from(original)
                .project(exprs)?
                .build()?;
            Ok(Transformed::yes(restored))
        });
        Ok(rewritten.map_err(|e| EmberError::from(e).into_root())?.data)
    }

    pub(crate) fn physical(&self, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        let planner = PhysicalPlanner::new(self.shuffle_partitions());
        let threshold = self
            .conf
            .read()
            .get_bytes_or_off("ember.sql.autoBroadcastJoinThreshold");
        let planner = match threshold {
            Some(threshold) => {
                let cx = self.optimizer_context();
                planner.with_broadcast_threshold(
                    threshold,
                    Arc::new(move |plan: &LogicalPlan| estimated_bytes(plan, &cx)),
                )
            }
            None => planner,
        };
        planner.create_physical_plan(plan)
    }

    /// Optimizes, plans and runs a bound query, collecting its result.
    pub fn run_plan(&self, plan: &LogicalPlan) -> Result<QueryResult> {
        crate::guard::guarded("a bound query", || self.run_bound(plan))
    }

    /// [`EmberSession::run_plan`] on the calling thread.
    pub(crate) fn run_bound(&self, plan: &LogicalPlan) -> Result<QueryResult> {
        let started = Instant::now();
        let (optimized, _) = self.optimize(plan.clone())?;
        let (physical_schema, batches) = self.run_optimized(optimized)?;
        let schema = output_schema(plan, &physical_schema)?;
        let batches = batches
            .into_iter()
            .map(|b| {
                Ok(RecordBatch::try_new(
                    Arc::clone(&schema),
                    b.columns().to_vec(),
                )?)
            })
            .collect::<Result<Vec<_>>>()?;
        log::debug!("query finished in {:?}", started.elapsed());
        Ok(QueryResult {
            schema,
            batches,
            rows_written: None,
        })
    }

    /// The RDD lineage of a physical plan. With `ember.sql.verifyTaskSerialization`, every
    /// stage fragment goes through the task wire format first and the decoded copy runs.
    pub(crate) fn lower(
        &self,
        physical: Arc<dyn ExecutionPlan>,
    ) -> Result<(Arc<dyn ember_core::Rdd>, Vec<ember_common::ShuffleId>)> {
        if !self
            .conf
            .read()
            .get_bool("ember.sql.verifyTaskSerialization")
        {
            return lower_to_rdd(physical, &self.context);
        }
        ember_physical::stages::lower_to_rdd_with(physical, &self.context, &|fragment| {
            let bytes = ember_runtime::codec::plan::plan_to_bytes(&fragment)?;
            ember_runtime::codec::plan::plan_from_bytes(&bytes)
        })
    }

    /// Runs an optimized plan: first its uncorrelated scalar subqueries, each as a job of its
    /// own whose value replaces it, then the plan itself. Returns the physical output schema
    /// and the batches.
    pub(crate) fn run_optimized(&self, plan: LogicalPlan) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let run = self.run_with_summary(plan)?;
        Ok((run.physical.schema(), run.batches))
    }

    /// The physical plan of an optimized plan, its uncorrelated scalar subqueries run first (each
    /// as a job of its own) and replaced by their values.
    pub(crate) fn physical_with_subqueries_run(
        &self,
        plan: LogicalPlan,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = crate::subqueries::substitute_scalar_subqueries(plan, &mut |subquery| {
            self.run_optimized(subquery.clone())
                .map(|(_, batches)| batches)
        })?;
        self.physical(&plan)
    }

    /// Runs an optimized plan (its uncorrelated scalar subqueries first, as jobs of their own)
    /// and keeps what EXPLAIN ANALYZE reports: the physical plan, its shuffles in stage order
    /// and the job's figures. The shuffles are removed once the job is over.
    pub(crate) fn run_with_summary(&self, plan: LogicalPlan) -> Result<PlanRun> {
        let physical = self.physical_with_subqueries_run(plan)?;
        let (rdd, shuffles) = self.lower(Arc::clone(&physical))?;
        let conf = self.conf.read().clone();
        let result = self.context.collect_with_summary(rdd, &conf);
        for shuffle in &shuffles {
            self.context.remove_shuffle(*shuffle);
        }
        let (batches, summary) = result.map_err(EmberError::into_root)?;
        Ok(PlanRun {
            physical,
            shuffles,
            batches,
            summary,
        })
    }
}

pub(crate) fn output_schema(plan: &LogicalPlan, produced: &SchemaRef) -> Result<SchemaRef> {
    if plan.schema().fields().len() != produced.fields().len() {
        return Err(EmberError::internal(format!(
            "the physical plan produces {} columns but the query has {}",
            produced.fields().len(),
            plan.schema().fields().len()
        )));
    }
    let fields: Vec<Field> = plan
        .schema()
        .fields()
        .iter()
        .zip(produced.fields())
        .map(|(logical, produced)| {
            Field::new(
                logical.name(),
                produced.data_type().clone(),
                produced.is_nullable() || logical.is_nullable(),
            )
            // The interval fields Spark's type names show.
            .with_metadata(logical.metadata().clone())
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// A finished run of a plan: what ran, the shuffles it used (in stage order), its result and
/// the job's figures.
pub(crate) struct PlanRun {
    pub(crate) physical: Arc<dyn ExecutionPlan>,
    pub(crate) shuffles: Vec<ember_common::ShuffleId>,
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) summary: ember_core::JobSummary,
}

/// Estimated output size of `plan` in bytes, for choosing broadcast joins: rows from
/// [`broadcast_rows`] times an estimated row width (Spark's defaults: 20 bytes per string,
/// the type's width otherwise, 8 bytes of row overhead).
pub(crate) fn estimated_bytes(plan: &LogicalPlan, cx: &OptimizerContext) -> Option<f64> {
    let rows = broadcast_rows(plan, cx)?;
    let width: usize = plan
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => 20,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => 20,
            DataType::Decimal128(..) => 16,
            DataType::Boolean => 1,
            other => other.primitive_width().unwrap_or(8),
        })
        .sum();
    Some(rows * (width + 8) as f64)
}

/// A deliberately high row estimate (broadcasting too much costs memory and parallelism, too
/// little only a shuffle): filters apply their selectivity guesses, but grouping is assumed
/// to keep every row and a join to produce the product of its sides, as Spark assumes
/// without statistics. `None` when a table under `plan` has no row count.
pub(crate) fn broadcast_rows(plan: &LogicalPlan, cx: &OptimizerContext) -> Option<f64> {
    use datafusion_common::JoinType;
    let rows = match plan {
        LogicalPlan::TableScan(scan) => {
            let rows = cx.table_rows(scan.source.as_ref())? as f64;
            scan.fetch.map_or(rows, |fetch| rows.min(fetch as f64))
        }
        LogicalPlan::Filter(filter) => {
            broadcast_rows(&filter.input, cx)?
                * ember_optimizer::cardinality::selectivity(&filter.predicate)
        }
        LogicalPlan::Aggregate(aggregate) if aggregate.group_expr.is_empty() => 1.0,
        LogicalPlan::Limit(limit) => {
            let rows = broadcast_rows(&limit.input, cx)?;
            match limit.get_fetch_type() {
                Ok(datafusion_expr::logical_plan::FetchType::Literal(Some(fetch))) => {
                    rows.min(fetch as f64)
                }
                _ => rows,
            }
        }
        LogicalPlan::Join(join) => {
            let left = broadcast_rows(&join.left, cx)?;
            let right = broadcast_rows(&join.right, cx)?;
            match join.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => left,
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => right,
                _ => left * right,
            }
        }
        LogicalPlan::Union(union) => union
            .inputs
            .iter()
            .map(|input| broadcast_rows(input, cx))
            .sum::<Option<f64>>()?,
        LogicalPlan::Values(values) => values.values.len() as f64,
        LogicalPlan::EmptyRelation(_) => 1.0,
        LogicalPlan::Projection(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Aggregate(_)
        | LogicalPlan::Window(_)
        | LogicalPlan::Distinct(_) => {
            let inputs = plan.inputs();
            broadcast_rows(inputs.first()?, cx)?
        }
        _ => return None,
    };
    Some(rows.max(1.0))
}
