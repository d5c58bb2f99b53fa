//! `LimitExec`: skips `skip` rows, then passes at most `fetch` rows, per partition.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::plan::{ExecutionPlan, Partitioning};

#[derive(Debug)]
pub struct LimitExec {
    skip: usize,
    fetch: Option<usize>,
    input: Arc<dyn ExecutionPlan>,
}

impl LimitExec {
    pub fn new(skip: usize, fetch: Option<usize>, input: Arc<dyn ExecutionPlan>) -> Self {
        LimitExec { skip, fetch, input }
    }

    /// How many rows each partition skips first.
    pub fn skip(&self) -> usize {
        self.skip
    }

    /// How many rows each partition passes at most (all when `None`).
    pub fn fetch(&self) -> Option<usize> {
        self.fetch
    }
}

impl ExecutionPlan for LimitExec {
    fn name(&self) -> &'static str {
        "LimitExec"
    }

    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![Arc::clone(&self.input)]
    }

    fn with_new_children(
        &self,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .into_iter()
            .next()
            .ok_or_else(|| EmberError::internal("LimitExec needs one child"))?;
        Ok(Arc::new(LimitExec::new(self.skip, self.fetch, input)))
    }

    fn output_partitioning(&self) -> Partitioning {
        self.input.output_partitioning()
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let mut input = self.input.execute(partition, cx)?;
        let mut to_skip = self.skip;
        let mut remaining = self.fetch.unwrap_or(usize::MAX);
        Ok(Box::new(std::iter::from_fn(move || {
            // Stop pulling the input as soon as the limit is reached.
            while remaining > 0 {
                let batch = match input.next()? {
                    Ok(b) => b,
                    Err(e) => return Some(Err(e)),
                };
                let mut batch = batch;
                if to_skip > 0 {
                    let skipped = to_skip.min(batch.num_rows());
                    to_skip -= skipped;
                    batch = batch.slice(skipped, batch.num_rows() - skipped);
                }
                if batch.num_rows() == 0 {
                    continue;
                }
                let take = remaining.min(batch.num_rows());
                remaining -= take;
                return Some(Ok(batch.slice(0, take)));
            }
            None
        })))
    }

    fn describe(&self) -> String {
        match self.fetch {
            Some(f) if self.skip > 0 => format!("LimitExec: skip={}, fetch={f}", self.skip),
            Some(f) => format!("LimitExec: fetch={f}"),
            None => format!("LimitExec: skip={}", self.skip),
        }
    }
}
