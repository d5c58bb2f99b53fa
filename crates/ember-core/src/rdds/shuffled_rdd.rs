//! The reduce side of a shuffle: partition i reads reduce partition i of every map task's output.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{RddId, Result};

use crate::{BatchIter, Dependency, Partitioner, Rdd, ShuffleDependency, TaskContext};

/// An RDD whose only dependency is a shuffle; the DAG scheduler cuts a stage boundary here.
#[derive(Debug)]
pub struct ShuffledRdd {
    id: RddId,
    dependency: Arc<ShuffleDependency>,
}

impl ShuffledRdd {
    /// Reads the reduce side of `dependency`.
    pub fn new(id: RddId, dependency: Arc<ShuffleDependency>) -> Self {
        ShuffledRdd { id, dependency }
    }

    /// The shuffle this RDD reads.
    pub fn shuffle_dependency(&self) -> &Arc<ShuffleDependency> {
        &self.dependency
    }
}

impl Rdd for ShuffledRdd {
    fn id(&self) -> RddId {
        self.id
    }

    fn name(&self) -> String {
        format!(
            "ShuffledRdd[{}] {} {}",
            self.id.0,
            self.dependency.shuffle_id,
            self.dependency.partitioner.describe()
        )
    }

    fn schema(&self) -> SchemaRef {
        self.dependency.rdd.schema()
    }

    fn num_partitions(&self) -> usize {
        self.dependency.partitioner.num_partitions()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Shuffle(self.dependency.clone())]
    }

    fn compute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        cx.read_shuffle(self.dependency.shuffle_id, partition)
    }

    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        Some(self.dependency.partitioner.clone())
    }
}
