//! `ExchangeExec` marks where rows must move between partitions (a stage boundary);
//! `ShuffleReadExec` is what replaces it in the reducing stage; `HashPartitioner` splits
//! map output by the hash of the exchange keys.

use std::sync::Arc;

use arrow::array::UInt32Array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion_common::hash_utils::{create_hashes, RandomState};
use ember_common::{EmberError, Result, ShuffleId};
use ember_core::{BatchIter, Partitioner, TaskContext};

use crate::expressions::{display_expr, evaluate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

/// Requires its input's rows to be redistributed as `partitioning` says.
#[derive(Debug)]
pub struct ExchangeExec {
    input: Arc<dyn ExecutionPlan>,
    partitioning: Partitioning,
}

impl ExchangeExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, partitioning: Partitioning) -> Self {
        ExchangeExec {
            input,
            partitioning,
        }
    }

    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }

    /// How rows are redistributed: hash keys (over the input's schema) and count, one
    /// partition, or round robin (`Unknown(n)`).
    pub fn partitioning(&self) -> &Partitioning {
        &self.partitioning
    }

    /// The partitioner map tasks use to split their output.
    pub fn partitioner(&self) -> Arc<dyn Partitioner> {
        match &self.partitioning {
            Partitioning::Hash(keys, n) => Arc::new(HashPartitioner {
                keys: keys.clone(),
                partitions: *n,
            }),
            Partitioning::Single => Arc::new(ember_core::SinglePartitioner),
            Partitioning::Unknown(n) => match ember_core::RoundRobinPartitioner::new(*n) {
                Ok(p) => Arc::new(p),
                Err(_) => Arc::new(ember_core::SinglePartitioner),
            },
        }
    }
}

impl ExecutionPlan for ExchangeExec {
    fn name(&self) -> &'static str {
        "ExchangeExec"
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
            .ok_or_else(|| EmberError::internal("ExchangeExec needs one child"))?;
        Ok(Arc::new(ExchangeExec::new(
            input,
            self.partitioning.clone(),
        )))
    }

    fn output_partitioning(&self) -> Partitioning {
        self.partitioning.clone()
    }

    fn execute(&self, _partition: usize, _cx: &TaskContext) -> Result<BatchIter> {
        Err(EmberError::internal(
            "an ExchangeExec runs as a shuffle; lower the plan onto stages first",
        ))
    }

    fn describe(&self) -> String {
        format!("ExchangeExec: {}", self.partitioner().describe())
    }
}

/// Reads reduce partition i of a shuffle written by the map stage below.
#[derive(Debug)]
pub struct ShuffleReadExec {
    shuffle_id: ShuffleId,
    schema: SchemaRef,
    partitioning: Partitioning,
}

impl ShuffleReadExec {
    pub fn new(shuffle_id: ShuffleId, schema: SchemaRef, partitioning: Partitioning) -> Self {
        ShuffleReadExec {
            shuffle_id,
            schema,
            partitioning,
        }
    }

    pub fn shuffle_id(&self) -> ShuffleId {
        self.shuffle_id
    }

    /// The partitioning of the shuffled rows (the replaced exchange's).
    pub fn partitioning(&self) -> &Partitioning {
        &self.partitioning
    }
}

impl ExecutionPlan for ShuffleReadExec {
    fn name(&self) -> &'static str {
        "ShuffleReadExec"
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
        Ok(Arc::new(ShuffleReadExec::new(
            self.shuffle_id,
            Arc::clone(&self.schema),
            self.partitioning.clone(),
        )))
    }

    fn output_partitioning(&self) -> Partitioning {
        self.partitioning.clone()
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        cx.read_shuffle(self.shuffle_id, partition)
    }

    fn describe(&self) -> String {
        format!("ShuffleReadExec: {}", self.shuffle_id)
    }
}

/// Sends a row to partition `hash(keys) mod n`; equal keys of equal types always meet.
#[derive(Debug)]
pub struct HashPartitioner {
    keys: Vec<PhysicalExprRef>,
    partitions: usize,
}

impl HashPartitioner {
    pub fn new(keys: Vec<PhysicalExprRef>, partitions: usize) -> Self {
        HashPartitioner { keys, partitions }
    }
}

impl Partitioner for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }

    fn partition(&self, batch: &RecordBatch) -> Result<Vec<(usize, RecordBatch)>> {
        if self.partitions == 1 {
            return Ok(vec![(0, batch.clone())]);
        }
        let arrays = self
            .keys
            .iter()
            .map(|k| evaluate(k, batch))
            .collect::<Result<Vec<_>>>()?;
        let mut hashes = vec![0u64; batch.num_rows()];
        create_hashes(&arrays, &RandomState::with_seed(0), &mut hashes)?;
        let mut indices: Vec<Vec<u32>> = vec![Vec::new(); self.partitions];
        for (row, hash) in hashes.iter().enumerate() {
            indices[(*hash % self.partitions as u64) as usize].push(row as u32);
        }
        let mut out = Vec::new();
        for (partition, rows) in indices.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let rows = UInt32Array::from(rows);
            out.push((partition, arrow::compute::take_record_batch(batch, &rows)?));
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        format!(
            "hashpartitioning({}, {})",
            self.keys
                .iter()
                .map(display_expr)
                .collect::<Vec<_>>()
                .join(", "),
            self.partitions
        )
    }
}
