//! Sends every row to reduce partition 0 (global sort, global limit, final aggregation).

use arrow::record_batch::RecordBatch;
use ember_common::Result;

use crate::rdd::Partitioner;

/// One reduce partition that receives everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct SinglePartitioner;

impl Partitioner for SinglePartitioner {
    fn num_partitions(&self) -> usize {
        1
    }

    fn partition(&self, batch: &RecordBatch) -> Result<Vec<(usize, RecordBatch)>> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        Ok(vec![(0, batch.clone())])
    }

    fn describe(&self) -> String {
        "singlepartition".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::key_value_batch;

    #[test]
    fn everything_goes_to_partition_zero() {
        let batch = key_value_batch(&[1, 2, 3], &[4, 5, 6]);
        let pieces = SinglePartitioner.partition(&batch).unwrap();
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].0, 0);
        assert_eq!(pieces[0].1, batch);
        assert!(SinglePartitioner
            .partition(&batch.slice(0, 0))
            .unwrap()
            .is_empty());
    }
}
