//! Deals rows to reduce partitions in turn (`REPARTITION(n)` without keys).

use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result};

use super::take_partitions;
use crate::rdd::Partitioner;

/// Row i of the stream of batches goes to partition `(start + i) % n`, where the running
/// position is shared by every batch this partitioner sees, so partitions end up within one
/// row of each other in size.
///
/// Like Spark's round-robin repartitioning, which rows land where depends on the order the
/// batches arrive in; a rerun map task may place rows differently.
#[derive(Debug)]
pub struct RoundRobinPartitioner {
    num_partitions: usize,
    next_row: AtomicUsize,
}

impl RoundRobinPartitioner {
    /// A partitioner over `num_partitions` (at least 1) reduce partitions.
    pub fn new(num_partitions: usize) -> Result<Self> {
        if num_partitions == 0 {
            return Err(EmberError::execution(
                "a round-robin partitioner needs at least 1 partition, got 0",
            ));
        }
        Ok(RoundRobinPartitioner {
            num_partitions,
            next_row: AtomicUsize::new(0),
        })
    }
}

impl Partitioner for RoundRobinPartitioner {
    fn num_partitions(&self) -> usize {
        self.num_partitions
    }

    fn partition(&self, batch: &RecordBatch) -> Result<Vec<(usize, RecordBatch)>> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(Vec::new());
        }
        let n = self.num_partitions;
        let start = self.next_row.fetch_add(rows, Ordering::Relaxed) % n;
        let rows_per_partition = (0..n)
            .map(|partition| {
                // The first row index i with (start + i) % n == partition, then every n-th.
                let first = (partition + n - start) % n;
                (first..rows).step_by(n).map(|i| i as u32).collect()
            })
            .collect();
        take_partitions(batch, rows_per_partition)
    }

    fn describe(&self) -> String {
        format!("roundrobinpartitioning({})", self.num_partitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{key_value_batch, sorted_pairs};

    #[test]
    fn rows_are_dealt_evenly_across_batches() {
        let partitioner = RoundRobinPartitioner::new(3).unwrap();
        let mut sizes = [0usize; 3];
        let mut all = Vec::new();
        for batch in [
            key_value_batch(&[1, 2, 3, 4], &[0; 4]),
            key_value_batch(&[5, 6], &[0; 2]),
            key_value_batch(&[7, 8, 9, 10, 11], &[0; 5]),
        ] {
            for (partition, piece) in partitioner.partition(&batch).unwrap() {
                sizes[partition] += piece.num_rows();
                all.push(piece);
            }
        }
        assert_eq!(sizes, [4, 4, 3]);
        let keys: Vec<i64> = sorted_pairs(&all).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, (1..=11).collect::<Vec<_>>());
        assert!(RoundRobinPartitioner::new(0).is_err());
    }
}
