//! `RangeExec`: the ids of `range(...)`, each partition a contiguous slice made in batches of
//! 8,192 (no input; nothing is held but the batch being made).

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use ember_common::Result;
use ember_core::{BatchIter, TaskContext};
use ember_datasource::RangeSource;

use crate::plan::{ExecutionPlan, Partitioning};

const BATCH_ROWS: u64 = 8192;

#[derive(Debug)]
pub struct RangeExec {
    range: RangeSource,
    /// `Some(vec![])` when no column is read (`count(*)`): batches of rows without columns.
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
}

impl RangeExec {
    pub fn try_new(range: RangeSource, projection: Option<Vec<usize>>) -> Result<Self> {
        let full = RangeSource::schema();
        let schema = match &projection {
            Some(columns) => Arc::new(full.project(columns)?),
            None => full,
        };
        Ok(RangeExec {
            range,
            projection,
            schema,
        })
    }

    pub fn range(&self) -> &RangeSource {
        &self.range
    }

    pub fn projection(&self) -> Option<&[usize]> {
        self.projection.as_deref()
    }

    /// The first row and the row count of `partition`.
    fn slice(&self, partition: usize) -> (u64, u64) {
        let rows = self.range.rows();
        let parts = self.range.partitions.max(1) as u64;
        let p = partition as u64;
        let first = rows * p / parts;
        let next = rows * (p + 1) / parts;
        (first, next - first)
    }
}

impl ExecutionPlan for RangeExec {
    fn name(&self) -> &'static str {
        "RangeExec"
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
        Ok(Arc::new(RangeExec::try_new(
            self.range.clone(),
            self.projection.clone(),
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        match self.range.partitions {
            0 | 1 => Partitioning::Single,
            n => Partitioning::Unknown(n),
        }
    }

    fn execute(&self, partition: usize, _cx: &TaskContext) -> Result<BatchIter> {
        let (first, count) = self.slice(partition);
        let (start, step) = (self.range.start, self.range.step);
        let schema = Arc::clone(&self.schema);
        let with_id = !schema.fields().is_empty();
        let batches = (0..count.div_ceil(BATCH_ROWS)).map(move |b| {
            let from = first + b * BATCH_ROWS;
            let n = BATCH_ROWS.min(first + count - from);
            if !with_id {
                return Ok(RecordBatch::try_new_with_options(
                    Arc::clone(&schema),
                    vec![],
                    &RecordBatchOptions::new().with_row_count(Some(n as usize)),
                )?);
            }
            // start + k * step fits in i64: k * step stays between start and end.
            let ids: Int64Array = (from..from + n)
                .map(|k| start.wrapping_add((k as i64).wrapping_mul(step)))
                .collect();
            Ok(RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(ids)],
            )?)
        });
        Ok(Box::new(batches))
    }

    fn describe(&self) -> String {
        format!(
            "RangeExec: start={}, end={}, step={}, partitions={}",
            self.range.start, self.range.end, self.range.step, self.range.partitions
        )
    }
}
