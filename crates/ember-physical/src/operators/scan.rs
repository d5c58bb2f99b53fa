//! `ScanExec`: reads one split of a file table per partition, applying pushed filters.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::Result;
use ember_core::{BatchIter, TaskContext};
use ember_datasource::FileTable;

use crate::expressions::{display_expr, evaluate_predicate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

/// Scans a file table: partition i is split i.
#[derive(Debug)]
pub struct ScanExec {
    table_name: String,
    table: Arc<FileTable>,
    projection: Option<Vec<usize>>,
    /// Pushed filters over the projected schema; a pre-filter, the plan keeps its own Filter.
    filters: Vec<PhysicalExprRef>,
    schema: SchemaRef,
}

impl ScanExec {
    pub fn try_new(
        table_name: String,
        table: Arc<FileTable>,
        projection: Option<Vec<usize>>,
        filters: Vec<PhysicalExprRef>,
    ) -> Result<Self> {
        let schema = match &projection {
            Some(p) => Arc::new(table.schema().project(p)?),
            None => table.schema(),
        };
        Ok(ScanExec {
            table_name,
            table,
            projection,
            filters,
            schema,
        })
    }

    pub fn table(&self) -> &Arc<FileTable> {
        &self.table
    }

    /// The table's name, as EXPLAIN shows it.
    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    /// The indices of the table columns read (all when `None`).
    pub fn projection(&self) -> Option<&[usize]> {
        self.projection.as_deref()
    }

    /// The pushed filters, over the projected schema.
    pub fn filters(&self) -> &[PhysicalExprRef] {
        &self.filters
    }
}

impl ExecutionPlan for ScanExec {
    fn name(&self) -> &'static str {
        "ScanExec"
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
        Ok(Arc::new(ScanExec {
            table_name: self.table_name.clone(),
            table: Arc::clone(&self.table),
            projection: self.projection.clone(),
            filters: self.filters.clone(),
            schema: Arc::clone(&self.schema),
        }))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Unknown(self.table.splits().len().max(1))
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        if self.table.splits().is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let batch_size = cx.conf().get_usize("ember.sql.batchSize").max(1);
        let batches = self
            .table
            .read_split(partition, self.projection.as_deref(), batch_size)?;
        if self.filters.is_empty() {
            return Ok(batches);
        }
        let filters = self.filters.clone();
        Ok(Box::new(batches.filter_map(move |batch| {
            let result = (|| {
                let mut batch = batch?;
                for f in &filters {
                    let mask = evaluate_predicate(f, &batch)?;
                    batch = arrow::compute::filter_record_batch(&batch, &mask)?;
                }
                Ok(batch)
            })();
            match result {
                Ok(b) if b.num_rows() == 0 => None,
                other => Some(other),
            }
        })))
    }

    fn describe(&self) -> String {
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let mut line = format!(
            "ScanExec: {} {} [{}], splits={}",
            format!("{:?}", self.table.format()).to_lowercase(),
            self.table_name,
            columns.join(", "),
            self.table.splits().len()
        );
        if let Some(pruned) = self.table.pruned() {
            line.push_str(&format!(", {pruned}"));
        }
        if !self.filters.is_empty() {
            line.push_str(&format!(
                ", pushed_filters=[{}]",
                self.filters
                    .iter()
                    .map(display_expr)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        line
    }
}
