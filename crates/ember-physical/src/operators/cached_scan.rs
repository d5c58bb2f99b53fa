//! `CachedScanExec`: reads a cached table (CACHE TABLE) from the block manager, partition by
//! partition, recomputing from lineage the partitions that are not held.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion_expr::{TableSource, TableType};
use ember_common::{Result, ShuffleId};
use ember_core::{BatchIter, CachedRdd, Dependency, Rdd, StorageLevel, TaskContext};

use crate::plan::{ExecutionPlan, Partitioning};

/// The data of a cached table or view, as the binder sees it: a table source standing for
/// the persisted RDD of its query.
#[derive(Debug)]
pub struct CachedTableSource {
    /// What was cached, for EXPLAIN: `people` or the cached query's name.
    pub name: String,
    /// The persisted RDD (its parent is the cached query's lineage).
    pub rdd: Arc<CachedRdd>,
    /// Column names as the query named them, types as the operators produce them.
    pub schema: SchemaRef,
    /// The shuffles in the cached query's lineage, kept while it is cached so that a lost
    /// partition is recomputed from them; removed with the cache.
    pub shuffles: Vec<ShuffleId>,
    /// The analyzed plan that was cached: what a view bound while the cache existed reads
    /// again once it is uncached.
    pub plan: Arc<datafusion_expr::LogicalPlan>,
}

impl TableSource for CachedTableSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, datafusion_expr::LogicalPlan>> {
        None
    }
}

/// Scans the partitions of a cached table, keeping the columns at `projection`.
#[derive(Debug)]
pub struct CachedScanExec {
    name: String,
    rdd: Arc<CachedRdd>,
    table_schema: SchemaRef,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
}

impl CachedScanExec {
    /// A scan of `source` reading the columns at `projection` (all when `None`).
    pub fn try_new(source: Arc<CachedTableSource>, projection: Option<Vec<usize>>) -> Result<Self> {
        Self::from_parts(
            source.name.clone(),
            Arc::clone(&source.rdd),
            Arc::clone(&source.schema),
            projection,
        )
    }

    /// A scan of the cached RDD `rdd` of table `name` (an executor decodes one from a task).
    pub fn from_parts(
        name: String,
        rdd: Arc<CachedRdd>,
        table_schema: SchemaRef,
        projection: Option<Vec<usize>>,
    ) -> Result<Self> {
        let schema = match &projection {
            Some(columns) => Arc::new(table_schema.project(columns)?),
            None => Arc::clone(&table_schema),
        };
        Ok(CachedScanExec {
            name,
            rdd,
            table_schema,
            projection,
            schema,
        })
    }

    /// The storage level of the cached data.
    pub fn level(&self) -> StorageLevel {
        self.rdd.level()
    }

    /// The cached table's name.
    pub fn table_name(&self) -> &str {
        &self.name
    }

    /// The RDD whose partitions are cached.
    pub fn rdd(&self) -> &Arc<CachedRdd> {
        &self.rdd
    }

    /// Every column of the cached table.
    pub fn table_schema(&self) -> &SchemaRef {
        &self.table_schema
    }

    /// The columns read, when not all.
    pub fn projection(&self) -> Option<&[usize]> {
        self.projection.as_deref()
    }
}

impl ExecutionPlan for CachedScanExec {
    fn name(&self) -> &'static str {
        "CachedScanExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(
        &self,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(CachedScanExec::from_parts(
            self.name.clone(),
            Arc::clone(&self.rdd),
            Arc::clone(&self.table_schema),
            self.projection.clone(),
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Unknown(self.rdd.num_partitions())
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let batches = self.rdd.compute(partition, cx)?;
        let Some(columns) = self.projection.clone() else {
            return Ok(batches);
        };
        Ok(Box::new(batches.map(move |batch| {
            let batch = batch?;
            Ok(batch.project(&columns)?)
        })))
    }

    fn rdd_dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::OneToOne(Arc::clone(&self.rdd) as Arc<dyn Rdd>)]
    }

    fn describe(&self) -> String {
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        format!(
            "CachedScanExec: {} [{}], {}, partitions={}",
            self.name,
            columns.join(", "),
            self.level(),
            self.rdd.num_partitions()
        )
    }
}
