//! The RDD core: lineage, the DAG and task schedulers, shuffle and the map-output tracker.

pub mod ember_context;
pub mod executor_env;
pub mod fault;
pub mod master;
pub mod partitioners;
pub mod rdd;
pub mod rdds;
pub mod scheduler;
pub mod shuffle;
pub mod storage;
pub mod task_context;
pub mod task_metrics;

#[cfg(test)]
pub(crate) mod test_util;

pub use ember_context::{BackendParts, EmberContext};
pub use executor_env::ExecutorEnv;
pub use master::Master;
pub use partitioners::{HashPartitioner, RoundRobinPartitioner, SinglePartitioner};
pub use rdd::{BatchIter, Dependency, Partitioner, Rdd, ShuffleDependency};
pub use rdds::{MapPartitionsRdd, ParallelCollectionRdd, ShuffledRdd, UnionRdd};
pub use scheduler::{
    DagScheduler, IncrementalCollectListener, JobHandle, JobListener, JobSummary, StageSummary,
};
pub use shuffle::{MapOutputTracker, MapStatus, ShuffleBlockStore};
pub use storage::{BlockManager, CacheStatus, CachedRdd, StorageLevel};
pub use task_context::{TaskAttempt, TaskContext};
pub use task_metrics::{TaskMetrics, TaskMetricsSnapshot};
