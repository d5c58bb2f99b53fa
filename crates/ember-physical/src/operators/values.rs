//! `ValuesExec`: a small in-memory relation (VALUES, SELECT without FROM), one partition.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ember_common::Result;
use ember_core::{BatchIter, TaskContext};

use crate::plan::{ExecutionPlan, Partitioning};

#[derive(Debug)]
pub struct ValuesExec {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl ValuesExec {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        ValuesExec { schema, batches }
    }

    /// The rows, in order.
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
}

impl ExecutionPlan for ValuesExec {
    fn name(&self) -> &'static str {
        "ValuesExec"
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
        Ok(Arc::new(ValuesExec::new(
            Arc::clone(&self.schema),
            self.batches.clone(),
        )))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Single
    }

    fn execute(&self, _partition: usize, _cx: &TaskContext) -> Result<BatchIter> {
        Ok(Box::new(self.batches.clone().into_iter().map(Ok)))
    }

    fn describe(&self) -> String {
        let rows: usize = self.batches.iter().map(|b| b.num_rows()).sum();
        format!("ValuesExec: rows={rows}")
    }
}
