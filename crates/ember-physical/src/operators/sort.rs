//! `SortExec`: sorts one partition; with `fetch` it keeps only the first rows (top-k).

use std::sync::Arc;

use arrow::compute::{
    concat_batches, lexsort_to_indices, take_record_batch, SortColumn, SortOptions,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::expressions::{display_expr, evaluate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

/// One sort key.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: PhysicalExprRef,
    pub ascending: bool,
    pub nulls_first: bool,
}

#[derive(Debug)]
pub struct SortExec {
    keys: Vec<SortKey>,
    fetch: Option<usize>,
    input: Arc<dyn ExecutionPlan>,
}

const OUTPUT_BATCH_ROWS: usize = 8192;

impl SortExec {
    pub fn new(keys: Vec<SortKey>, fetch: Option<usize>, input: Arc<dyn ExecutionPlan>) -> Self {
        SortExec { keys, fetch, input }
    }

    /// The sort keys, most significant first, over the input's schema.
    pub fn keys(&self) -> &[SortKey] {
        &self.keys
    }

    /// The top-k bound (a `TopKExec`), or `None` for a full sort.
    pub fn fetch(&self) -> Option<usize> {
        self.fetch
    }
}

/// Sorts rows of `batch` by `keys`, keeping at most `fetch` rows.
pub fn sort_batch(
    batch: &RecordBatch,
    keys: &[SortKey],
    fetch: Option<usize>,
) -> Result<RecordBatch> {
    let columns = keys
        .iter()
        .map(|k| {
            Ok(SortColumn {
                values: evaluate(&k.expr, batch)?,
                options: Some(SortOptions {
                    descending: !k.ascending,
                    nulls_first: k.nulls_first,
                }),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let indices = lexsort_to_indices(&columns, fetch)?;
    Ok(take_record_batch(batch, &indices)?)
}

impl ExecutionPlan for SortExec {
    fn name(&self) -> &'static str {
        "SortExec"
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
            .ok_or_else(|| EmberError::internal("SortExec needs one child"))?;
        Ok(Arc::new(SortExec::new(
            self.keys.clone(),
            self.fetch,
            input,
        )))
    }

    fn output_partitioning(&self) -> Partitioning {
        self.input.output_partitioning()
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let mut input = Some(self.input.execute(partition, cx)?);
        let keys = self.keys.clone();
        let fetch = self.fetch;
        let schema = self.schema();
        let mut sorted: Option<std::vec::IntoIter<RecordBatch>> = None;
        Ok(Box::new(std::iter::from_fn(move || {
            if let Some(input) = input.take() {
                let result = (|| {
                    let mut batches = Vec::new();
                    let mut rows = 0;
                    for batch in input {
                        let batch = batch?;
                        rows += batch.num_rows();
                        batches.push(batch);
                        // Top-k keeps memory bounded: trim whenever the buffer grows well past k.
                        if let Some(k) = fetch {
                            if rows > (4 * k).max(OUTPUT_BATCH_ROWS * 4) {
                                let all = concat_batches(&schema, &batches)?;
                                let trimmed = sort_batch(&all, &keys, Some(k))?;
                                rows = trimmed.num_rows();
                                batches = vec![trimmed];
                            }
                        }
                    }
                    let all = concat_batches(&schema, &batches)?;
                    let sorted = if all.num_rows() == 0 {
                        all
                    } else {
                        sort_batch(&all, &keys, fetch)?
                    };
                    let mut out = Vec::new();
                    let mut offset = 0;
                    while offset < sorted.num_rows() {
                        let len = OUTPUT_BATCH_ROWS.min(sorted.num_rows() - offset);
                        out.push(sorted.slice(offset, len));
                        offset += len;
                    }
                    Ok::<_, EmberError>(out)
                })();
                match result {
                    Ok(out) => sorted = Some(out.into_iter()),
                    Err(e) => return Some(Err(e)),
                }
            }
            sorted.as_mut().and_then(|s| s.next()).map(Ok)
        })))
    }

    fn describe(&self) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                format!(
                    "{} {} NULLS {}",
                    display_expr(&k.expr),
                    if k.ascending { "ASC" } else { "DESC" },
                    if k.nulls_first { "FIRST" } else { "LAST" }
                )
            })
            .collect();
        match self.fetch {
            Some(k) => format!("TopKExec: k={k}, [{}]", keys.join(", ")),
            None => format!("SortExec: [{}]", keys.join(", ")),
        }
    }
}
