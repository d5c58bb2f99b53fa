//! Helpers shared by this crate's unit tests: key/value batches and an RDD built from a closure.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use ember_common::{RddId, Result};

use crate::{BatchIter, Dependency, Rdd, TaskContext};

/// The schema `(k: Int64, v: Int64)`.
pub fn kv_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
    ]))
}

/// A `(k, v)` batch.
pub fn key_value_batch(keys: &[i64], values: &[i64]) -> RecordBatch {
    RecordBatch::try_new(
        kv_schema(),
        vec![
            Arc::new(Int64Array::from(keys.to_vec())),
            Arc::new(Int64Array::from(values.to_vec())),
        ],
    )
    .expect("test batch")
}

/// Every `(k, v)` row of `batches`, sorted.
pub fn sorted_pairs(batches: &[RecordBatch]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for batch in batches {
        let keys = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("k is Int64");
        let values = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("v is Int64");
        for i in 0..keys.len() {
            out.push((keys.value(i), values.value(i)));
        }
    }
    out.sort_unstable();
    out
}

type ComputeFn = dyn Fn(usize, &TaskContext) -> Result<BatchIter> + Send + Sync;

/// A source RDD (no dependencies) whose partitions are computed by a closure; build it with `FnRdd::shared`.
pub struct FnRdd {
    pub id: RddId,
    pub num_partitions: usize,
    pub compute: Arc<ComputeFn>,
}

impl FnRdd {
    pub fn shared(
        id: RddId,
        num_partitions: usize,
        compute: impl Fn(usize, &TaskContext) -> Result<BatchIter> + Send + Sync + 'static,
    ) -> Arc<dyn Rdd> {
        Arc::new(FnRdd {
            id,
            num_partitions,
            compute: Arc::new(compute),
        })
    }
}

impl fmt::Debug for FnRdd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FnRdd[{}]", self.id.0)
    }
}

impl Rdd for FnRdd {
    fn id(&self) -> RddId {
        self.id
    }

    fn name(&self) -> String {
        format!("FnRdd[{}]", self.id.0)
    }

    fn schema(&self) -> SchemaRef {
        kv_schema()
    }

    fn num_partitions(&self) -> usize {
        self.num_partitions
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    fn compute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        (self.compute)(partition, cx)
    }
}

/// `rows` rows `(i % keys, i)` for `i` in `0..rows`, in batches of at most `batch_rows`.
pub fn numbered_rows(rows: i64, keys: i64, batch_rows: usize) -> Vec<RecordBatch> {
    let all: Vec<i64> = (0..rows).collect();
    all.chunks(batch_rows.max(1))
        .map(|chunk| {
            let keys: Vec<i64> = chunk.iter().map(|i| i % keys).collect();
            key_value_batch(&keys, chunk)
        })
        .collect()
}

/// A source RDD over fixed partitions that counts how often each partition is computed.
pub fn counting_source(
    id: RddId,
    partitions: Vec<Vec<RecordBatch>>,
) -> (Arc<dyn Rdd>, Arc<Vec<std::sync::atomic::AtomicUsize>>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let counts: Arc<Vec<AtomicUsize>> =
        Arc::new((0..partitions.len()).map(|_| AtomicUsize::new(0)).collect());
    let num_partitions = partitions.len();
    let rdd = FnRdd::shared(id, num_partitions, {
        let counts = counts.clone();
        move |partition, _cx| {
            counts[partition].fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(partitions[partition].clone().into_iter().map(Ok)))
        }
    });
    (rdd, counts)
}

/// Total of the counters.
pub fn total(counts: &[std::sync::atomic::AtomicUsize]) -> usize {
    counts
        .iter()
        .map(|c| c.load(std::sync::atomic::Ordering::SeqCst))
        .sum()
}
