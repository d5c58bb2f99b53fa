//! Applies a function to each partition's batch iterator of its parent (one-to-one).

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{RddId, Result};

use crate::{BatchIter, Dependency, Partitioner, Rdd, TaskContext};

/// The function of a [`MapPartitionsRdd`]: turns a parent partition into a child partition.
/// It must stay lazy: wrap the input iterator rather than draining it.
pub type MapPartitionsFn = dyn Fn(BatchIter) -> Result<BatchIter> + Send + Sync;

/// Partition i is `f(parent partition i)`.
pub struct MapPartitionsRdd {
    id: RddId,
    parent: Arc<dyn Rdd>,
    schema: SchemaRef,
    function: Arc<MapPartitionsFn>,
    /// Whether `f` keeps every row in its partition, so the parent's partitioner still holds.
    preserves_partitioning: bool,
}

impl MapPartitionsRdd {
    /// Maps `parent`'s partitions with `function`, producing batches of `schema`.
    pub fn new(
        id: RddId,
        parent: Arc<dyn Rdd>,
        schema: SchemaRef,
        function: impl Fn(BatchIter) -> Result<BatchIter> + Send + Sync + 'static,
    ) -> Self {
        MapPartitionsRdd {
            id,
            parent,
            schema,
            function: Arc::new(function),
            preserves_partitioning: false,
        }
    }

    /// Declares that the function keeps rows in their partition (a filter, a projection
    /// keeping the keys), so this RDD reports its parent's partitioner.
    pub fn preserving_partitioning(mut self) -> Self {
        self.preserves_partitioning = true;
        self
    }
}

impl fmt::Debug for MapPartitionsRdd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapPartitionsRdd")
            .field("id", &self.id)
            .field("parent", &self.parent.name())
            .finish_non_exhaustive()
    }
}

impl Rdd for MapPartitionsRdd {
    fn id(&self) -> RddId {
        self.id
    }

    fn name(&self) -> String {
        format!("MapPartitionsRdd[{}]", self.id.0)
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::OneToOne(self.parent.clone())]
    }

    fn compute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        (self.function)(self.parent.compute(partition, cx)?)
    }

    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        if self.preserves_partitioning {
            self.parent.partitioner()
        } else {
            None
        }
    }

    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.parent.preferred_locations(partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdds::ParallelCollectionRdd;
    use crate::test_util::{key_value_batch, kv_schema, sorted_pairs};
    use arrow::array::Int64Array;
    use arrow::compute::kernels::numeric::add;
    use arrow::record_batch::RecordBatch;

    #[test]
    fn the_function_applies_to_each_partition_lazily() {
        let parent = Arc::new(
            ParallelCollectionRdd::new(
                RddId(1),
                kv_schema(),
                vec![key_value_batch(&[1, 2, 3, 4], &[10, 20, 30, 40])],
                2,
            )
            .unwrap(),
        );
        let rdd = MapPartitionsRdd::new(RddId(2), parent, kv_schema(), |input| {
            Ok(Box::new(input.map(|batch| {
                let batch = batch?;
                let one = Int64Array::new_scalar(1);
                let values = add(batch.column(1), &one)?;
                Ok(RecordBatch::try_new(
                    batch.schema(),
                    vec![batch.column(0).clone(), values],
                )?)
            })))
        });
        assert!(matches!(rdd.dependencies()[0], Dependency::OneToOne(_)));
        let out: Vec<RecordBatch> = rdd
            .compute(1, &TaskContext::for_tests())
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(sorted_pairs(&out), vec![(3, 31), (4, 41)]);
    }
}
