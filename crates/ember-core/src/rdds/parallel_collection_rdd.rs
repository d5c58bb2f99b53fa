//! An RDD over record batches held in memory, split into partitions (`sc.parallelize`).

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, RddId, Result};

use crate::{BatchIter, Dependency, Rdd, TaskContext};

/// In-memory batches dealt into `num_partitions` partitions of (almost) equal row counts.
///
/// Partition i holds rows `i * total / n .. (i + 1) * total / n` of the concatenated input,
/// as zero-copy slices of the original batches, so row order is kept across partitions.
#[derive(Debug)]
pub struct ParallelCollectionRdd {
    id: RddId,
    schema: SchemaRef,
    partitions: Vec<Vec<RecordBatch>>,
}

impl ParallelCollectionRdd {
    /// Splits `batches` (all of schema `schema`) into `num_partitions` partitions.
    pub fn new(
        id: RddId,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        num_partitions: usize,
    ) -> Result<Self> {
        if num_partitions == 0 {
            return Err(EmberError::execution(
                "parallelize needs at least 1 partition, got 0",
            ));
        }
        for (i, batch) in batches.iter().enumerate() {
            if batch.schema().fields() != schema.fields() {
                return Err(EmberError::execution(format!(
                    "parallelize: batch {i} has schema {:?}, expected {:?}",
                    batch.schema(),
                    schema
                )));
            }
        }
        let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let mut partitions = vec![Vec::new(); num_partitions];
        // Walk the input once, cutting slices at the partition boundaries.
        let mut partition = 0;
        let mut row = 0; // global row index of the next row to place
        let boundary = |p: usize| (p + 1) * total / num_partitions;
        for batch in batches {
            let mut offset = 0;
            while offset < batch.num_rows() {
                while partition + 1 < num_partitions && row >= boundary(partition) {
                    partition += 1;
                }
                let take = (boundary(partition) - row).min(batch.num_rows() - offset);
                let take = if partition + 1 == num_partitions {
                    batch.num_rows() - offset
                } else {
                    take
                };
                partitions[partition].push(batch.slice(offset, take));
                offset += take;
                row += take;
            }
        }
        Ok(ParallelCollectionRdd {
            id,
            schema,
            partitions,
        })
    }
}

impl Rdd for ParallelCollectionRdd {
    fn id(&self) -> RddId {
        self.id
    }

    fn name(&self) -> String {
        format!("ParallelCollectionRdd[{}]", self.id.0)
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn num_partitions(&self) -> usize {
        self.partitions.len()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    fn compute(&self, partition: usize, _cx: &TaskContext) -> Result<BatchIter> {
        let batches = self.partitions.get(partition).cloned().ok_or_else(|| {
            EmberError::internal(format!(
                "{} has {} partitions, asked for partition {partition}",
                self.name(),
                self.partitions.len()
            ))
        })?;
        Ok(Box::new(batches.into_iter().map(Ok)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{key_value_batch, kv_schema, sorted_pairs};

    fn rows_of(rdd: &ParallelCollectionRdd, partition: usize) -> Vec<(i64, i64)> {
        let batches: Vec<RecordBatch> = rdd
            .compute(partition, &TaskContext::for_tests())
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        sorted_pairs(&batches)
    }

    #[test]
    fn rows_are_split_evenly_and_in_order() {
        let batches = vec![
            key_value_batch(&[0, 1, 2, 3], &[0; 4]),
            key_value_batch(&[4, 5, 6], &[0; 3]),
            key_value_batch(&[], &[]),
            key_value_batch(&[7, 8, 9], &[0; 3]),
        ];
        let rdd = ParallelCollectionRdd::new(RddId(1), kv_schema(), batches, 3).unwrap();
        assert_eq!(rdd.num_partitions(), 3);
        let keys = |p| {
            rows_of(&rdd, p)
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(0), vec![0, 1, 2]);
        assert_eq!(keys(1), vec![3, 4, 5]);
        assert_eq!(keys(2), vec![6, 7, 8, 9]);
        assert!(rdd.compute(3, &TaskContext::for_tests()).is_err());
    }

    #[test]
    fn more_partitions_than_rows_leaves_some_empty() {
        let rdd = ParallelCollectionRdd::new(
            RddId(1),
            kv_schema(),
            vec![key_value_batch(&[1, 2], &[3, 4])],
            4,
        )
        .unwrap();
        let total: usize = (0..4).map(|p| rows_of(&rdd, p).len()).sum();
        assert_eq!(total, 2);
        assert!(ParallelCollectionRdd::new(RddId(2), kv_schema(), vec![], 0).is_err());
    }
}
