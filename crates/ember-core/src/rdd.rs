//! The `Rdd` trait: Spark's five properties over Arrow record batches.
//!
//! An RDD is described by
//! 1. its partitions (`num_partitions`),
//! 2. how to compute one partition (`compute`), lazily, as an iterator of record batches,
//! 3. its dependencies on parent RDDs (`dependencies`): narrow (`OneToOne`, `Range`) or
//!    wide (`Shuffle`), which is where the DAG scheduler cuts stages,
//! 4. optionally, how its output is partitioned (`partitioner`),
//! 5. optionally, where each partition would best be computed (`preferred_locations`).

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ember_common::{RddId, Result, ShuffleId};

use crate::TaskContext;

/// A lazily computed partition: record batches, produced as they are pulled.
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// A resilient distributed dataset of Arrow record batches.
pub trait Rdd: Send + Sync + fmt::Debug {
    /// The id of this RDD, unique within its context.
    fn id(&self) -> RddId;

    /// A short name for logs and lineage dumps, e.g. `PlanRdd[3] stage fragment`.
    fn name(&self) -> String;

    /// The schema of every batch this RDD produces.
    fn schema(&self) -> SchemaRef;

    /// How many partitions (and so tasks per stage) this RDD has.
    fn num_partitions(&self) -> usize;

    /// The parents this RDD is computed from.
    fn dependencies(&self) -> Vec<Dependency>;

    /// Computes one partition. Must do no work before the iterator is first pulled.
    fn compute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter>;

    /// How the output is partitioned, when known (so a planner can avoid a second shuffle).
    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        None
    }

    /// Hosts (executor ids) where computing `partition` is cheapest.
    fn preferred_locations(&self, _partition: usize) -> Vec<String> {
        Vec::new()
    }

    /// Whether every partition is persisted in `blocks`, so that a job reading this RDD does
    /// not need its parents (the DAG scheduler then skips their stages).
    fn fully_cached(&self, _blocks: &crate::storage::BlockManager) -> bool {
        false
    }

    /// This RDD as `Any`, for the RDD kinds a task serializer knows how to send.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// How a child RDD's partitions depend on its parent's.
#[derive(Debug, Clone)]
pub enum Dependency {
    /// Partition i of the child reads partition i of the parent.
    OneToOne(Arc<dyn Rdd>),
    /// Child partitions `out_start..out_start+len` read parent partitions `in_start..in_start+len`
    /// (how a union lays its parents side by side).
    Range {
        /// The parent RDD.
        rdd: Arc<dyn Rdd>,
        /// The first parent partition read.
        in_start: usize,
        /// The first child partition that reads from this parent.
        out_start: usize,
        /// How many partitions are laid side by side.
        len: usize,
    },
    /// Every child partition reads a piece of every parent partition: a stage boundary.
    Shuffle(Arc<ShuffleDependency>),
}

/// Splits the batches of a map task among reduce partitions.
pub trait Partitioner: Send + Sync + fmt::Debug {
    /// How many reduce partitions rows are split into.
    fn num_partitions(&self) -> usize;

    /// The rows of `batch` that go to each reduce partition, as `(reduce partition, rows)`;
    /// partitions that receive no rows may be left out.
    fn partition(&self, batch: &RecordBatch) -> Result<Vec<(usize, RecordBatch)>>;

    /// One line for EXPLAIN, e.g. `hashpartitioning(l_returnflag, 8)`.
    fn describe(&self) -> String;
}

/// The wide dependency of a reduce side on a map side, through shuffle `shuffle_id`.
#[derive(Debug)]
pub struct ShuffleDependency {
    /// The id the map outputs are registered under.
    pub shuffle_id: ShuffleId,
    /// The map side: each of its partitions is one map task.
    pub rdd: Arc<dyn Rdd>,
    /// Splits each map task's batches among reduce partitions.
    pub partitioner: Arc<dyn Partitioner>,
}
