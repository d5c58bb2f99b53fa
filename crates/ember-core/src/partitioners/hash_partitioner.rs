//! Hashes key columns (by index) to pick a reduce partition; the physical layer has an expression-based one.

use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use ember_common::{EmberError, Result};

use super::take_partitions;
use crate::rdd::Partitioner;

/// Rows with equal values in the key columns go to the same reduce partition.
///
/// The key columns are encoded together with arrow-row (one vectorized pass), and each
/// row's bytes are hashed with FNV-1a, which is the same in every process, so map tasks on
/// different executors agree.
#[derive(Debug, Clone)]
pub struct HashPartitioner {
    key_columns: Vec<usize>,
    num_partitions: usize,
}

impl HashPartitioner {
    /// Hashes the columns at `key_columns` into `num_partitions` partitions (0 is treated as 1).
    pub fn new(key_columns: Vec<usize>, num_partitions: usize) -> Self {
        HashPartitioner {
            key_columns,
            num_partitions: num_partitions.max(1),
        }
    }

    /// The reduce partition of every row of `batch`.
    pub fn partition_ids(&self, batch: &RecordBatch) -> Result<Vec<usize>> {
        let mut columns = Vec::with_capacity(self.key_columns.len());
        for &index in &self.key_columns {
            let column = batch.columns().get(index).ok_or_else(|| {
                EmberError::internal(format!(
                    "{} refers to column {index}, but the batch has {} columns",
                    self.describe(),
                    batch.num_columns()
                ))
            })?;
            columns.push(column.clone());
        }
        if columns.is_empty() {
            return Ok(vec![0; batch.num_rows()]);
        }
        let fields = columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields)?;
        let rows = converter.convert_columns(&columns)?;
        let n = self.num_partitions as u64;
        Ok(rows
            .iter()
            .map(|row| (fnv1a(row.as_ref()) % n) as usize)
            .collect())
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

impl Partitioner for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.num_partitions
    }

    fn partition(&self, batch: &RecordBatch) -> Result<Vec<(usize, RecordBatch)>> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        let mut rows_per_partition = vec![Vec::new(); self.num_partitions];
        for (row, partition) in self.partition_ids(batch)?.into_iter().enumerate() {
            rows_per_partition[partition].push(row as u32);
        }
        take_partitions(batch, rows_per_partition)
    }

    fn describe(&self) -> String {
        let keys: Vec<String> = self.key_columns.iter().map(|c| format!("#{c}")).collect();
        format!(
            "hashpartitioning({}, {})",
            keys.join(", "),
            self.num_partitions
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{key_value_batch, sorted_pairs};

    #[test]
    fn equal_keys_land_in_one_partition() {
        let partitioner = HashPartitioner::new(vec![0], 4);
        let keys: Vec<i64> = (0..200).map(|i| i % 13).collect();
        let values: Vec<i64> = (0..200).collect();
        let batch = key_value_batch(&keys, &values);
        let pieces = partitioner.partition(&batch).unwrap();
        assert!(
            pieces.len() > 1,
            "13 keys over 4 partitions use more than one"
        );
        let mut owner = std::collections::HashMap::new();
        for (partition, piece) in &pieces {
            for (key, _) in sorted_pairs(std::slice::from_ref(piece)) {
                assert_eq!(*owner.entry(key).or_insert(*partition), *partition);
            }
        }
        let all: Vec<RecordBatch> = pieces.into_iter().map(|(_, b)| b).collect();
        assert_eq!(
            sorted_pairs(&all),
            sorted_pairs(std::slice::from_ref(&batch))
        );

        // The same key hashes the same way in another batch.
        let again = partitioner
            .partition_ids(&key_value_batch(&[5], &[0]))
            .unwrap();
        assert_eq!(again[0], owner[&5]);
        assert!(HashPartitioner::new(vec![9], 2).partition(&batch).is_err());
    }
}
