//! The partitioners of the RDD core: round robin, single partition, and a column-hash one for tests.

pub mod hash_partitioner;
pub mod round_robin_partitioner;
pub mod single_partitioner;

pub use hash_partitioner::HashPartitioner;
pub use round_robin_partitioner::RoundRobinPartitioner;
pub use single_partitioner::SinglePartitioner;

use arrow::array::UInt32Array;
use arrow::compute::take_record_batch;
use arrow::record_batch::RecordBatch;
use ember_common::Result;

/// Gathers the rows of `batch` listed for each partition into one batch per non-empty partition.
pub(crate) fn take_partitions(
    batch: &RecordBatch,
    rows_per_partition: Vec<Vec<u32>>,
) -> Result<Vec<(usize, RecordBatch)>> {
    let mut out = Vec::new();
    for (partition, rows) in rows_per_partition.into_iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        if rows.len() == batch.num_rows() {
            // Every row goes to one partition, in order: no copy needed.
            out.push((partition, batch.clone()));
            continue;
        }
        let indices = UInt32Array::from(rows);
        out.push((partition, take_record_batch(batch, &indices)?));
    }
    Ok(out)
}
