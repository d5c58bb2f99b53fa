//! `CachedRdd`: a persisted RDD. A partition is read from the executor's block manager when
//! held there, otherwise computed from the parent (its lineage) and stored.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{RddId, Result};

use super::StorageLevel;
use crate::{BatchIter, Dependency, Partitioner, Rdd, TaskContext};

/// Partition i is partition i of `parent`, kept in the block manager at `level` once computed.
/// While every partition is held, the DAG scheduler does not look past it (its parents'
/// stages need not run); a partition that was evicted or lost is recomputed from `parent`.
pub struct CachedRdd {
    id: RddId,
    parent: Arc<dyn Rdd>,
    level: StorageLevel,
}

impl CachedRdd {
    /// Persists `parent` at `level`; nothing is computed until a job reads it.
    pub fn new(id: RddId, parent: Arc<dyn Rdd>, level: StorageLevel) -> Self {
        CachedRdd { id, parent, level }
    }

    /// The storage level partitions are kept at.
    pub fn level(&self) -> StorageLevel {
        self.level
    }

    /// The RDD whose partitions are cached.
    pub fn parent(&self) -> &Arc<dyn Rdd> {
        &self.parent
    }
}

impl fmt::Debug for CachedRdd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedRdd")
            .field("id", &self.id)
            .field("parent", &self.parent.name())
            .field("level", &self.level)
            .finish()
    }
}

impl Rdd for CachedRdd {
    fn id(&self) -> RddId {
        self.id
    }

    fn name(&self) -> String {
        format!(
            "CachedRdd[{}] {} of {}",
            self.id.0,
            self.level,
            self.parent.name()
        )
    }

    fn schema(&self) -> SchemaRef {
        self.parent.schema()
    }

    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::OneToOne(Arc::clone(&self.parent))]
    }

    fn compute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let manager = Arc::clone(&cx.env().block_manager);
        if let Some(batches) = manager.get(self.id, partition)? {
            return Ok(Box::new(batches.into_iter().map(Ok)));
        }
        // Not held (first use, or evicted): compute from lineage, keep, then serve.
        let mut batches = Vec::new();
        for batch in self.parent.compute(partition, cx)? {
            cx.check_cancelled()?;
            batches.push(batch?);
        }
        manager.put(self.id, partition, batches.clone(), self.level)?;
        Ok(Box::new(batches.into_iter().map(Ok)))
    }

    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        self.parent.partitioner()
    }

    fn fully_cached(&self, blocks: &super::BlockManager) -> bool {
        blocks.contains_all(self.id, self.num_partitions())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use ember_common::EmberConf;

    use super::*;
    use crate::{EmberContext, HashPartitioner, MapPartitionsRdd, ShuffleDependency, ShuffledRdd};

    fn conf() -> EmberConf {
        let mut conf = EmberConf::new();
        conf.set("ember.master", "local[2]").unwrap();
        conf
    }

    /// An RDD over 4 partitions of 0..400 whose computations are counted, shuffled once.
    fn counted(ctx: &EmberContext, computed: Arc<AtomicUsize>) -> Arc<dyn Rdd> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from((0..400).collect::<Vec<i64>>()))],
        )
        .unwrap();
        let source = ctx.parallelize(schema.clone(), vec![batch], 4).unwrap();
        let shuffled: Arc<dyn Rdd> = Arc::new(ShuffledRdd::new(
            ctx.new_rdd_id(),
            Arc::new(ShuffleDependency {
                shuffle_id: ctx.new_shuffle_id(),
                rdd: source,
                partitioner: Arc::new(HashPartitioner::new(vec![0], 3)),
            }),
        ));
        Arc::new(MapPartitionsRdd::new(
            ctx.new_rdd_id(),
            shuffled,
            schema,
            move |input| {
                computed.fetch_add(1, Ordering::SeqCst);
                Ok(input)
            },
        ))
    }

    #[test]
    fn partitions_are_computed_once_then_read_from_the_block_manager() {
        let ctx = EmberContext::new(conf()).unwrap();
        let computed = Arc::new(AtomicUsize::new(0));
        let parent = counted(&ctx, computed.clone());
        let cached: Arc<dyn Rdd> = Arc::new(CachedRdd::new(
            ctx.new_rdd_id(),
            parent,
            StorageLevel::MemoryAndDisk,
        ));
        assert_eq!(ctx.count(cached.clone(), &conf()).unwrap(), 400);
        assert_eq!(computed.load(Ordering::SeqCst), 3);
        assert!(cached.fully_cached(ctx.block_manager()));
        // Second job: no recomputation, and no shuffle map stage either.
        let summary = ctx.run_job(cached.clone(), &conf(), |_, _| {}).unwrap();
        assert_eq!(computed.load(Ordering::SeqCst), 3);
        assert_eq!(summary.stages.len(), 1, "{summary:?}");
        // A lost partition is recomputed from lineage, the others are not.
        ctx.block_manager().remove_rdd(cached.id());
        assert_eq!(ctx.count(cached, &conf()).unwrap(), 400);
        assert_eq!(computed.load(Ordering::SeqCst), 6);
    }
}
