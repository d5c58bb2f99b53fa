//! Operators for unit tests: a leaf that yields fixed batches (or errors) per partition.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::plan::{ExecutionPlan, Partitioning};

/// Yields fixed batches per partition and counts how many batches were pulled.
#[derive(Debug)]
pub(crate) struct MemoryExec {
    schema: SchemaRef,
    partitions: Vec<Vec<Result<RecordBatch>>>,
    /// Batches handed out so far, over all partitions.
    pub(crate) pulled: Arc<AtomicUsize>,
}

impl MemoryExec {
    /// One inner vector of batches per partition.
    pub(crate) fn new(schema: SchemaRef, partitions: Vec<Vec<RecordBatch>>) -> Arc<Self> {
        Self::with_results(
            schema,
            partitions
                .into_iter()
                .map(|p| p.into_iter().map(Ok).collect())
                .collect(),
        )
    }

    /// Like [`MemoryExec::new`], with errors among the batches.
    pub(crate) fn with_results(
        schema: SchemaRef,
        partitions: Vec<Vec<Result<RecordBatch>>>,
    ) -> Arc<Self> {
        Arc::new(MemoryExec {
            schema,
            partitions,
            pulled: Arc::new(AtomicUsize::new(0)),
        })
    }
}

impl ExecutionPlan for MemoryExec {
    fn name(&self) -> &'static str {
        "MemoryExec"
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
        Err(EmberError::internal("MemoryExec has no children"))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Unknown(self.partitions.len())
    }

    fn execute(&self, partition: usize, _cx: &TaskContext) -> Result<BatchIter> {
        let batches = self.partitions.get(partition).ok_or_else(|| {
            EmberError::internal(format!("MemoryExec has no partition {partition}"))
        })?;
        let batches: Vec<Result<RecordBatch>> = batches
            .iter()
            .map(|b| match b {
                Ok(b) => Ok(b.clone()),
                Err(e) => Err(EmberError::execution(e.to_string())),
            })
            .collect();
        let pulled = Arc::clone(&self.pulled);
        Ok(Box::new(batches.into_iter().inspect(move |_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        })))
    }

    fn describe(&self) -> String {
        "MemoryExec".to_string()
    }
}
