//! What a finished map task reports: where its blocks live and how big each one is.

use ember_common::{ExecutorId, TaskId};

/// The output of one map task: the executor holding its blocks and each block's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapStatus {
    /// The executor whose block store (or shuffle service) serves the blocks.
    pub executor_id: ExecutorId,
    /// The map task attempt that wrote the blocks (for logs and to tell reruns apart).
    pub task_id: TaskId,
    /// Bytes of the block for each reduce partition; 0 means no block was written.
    pub block_sizes: Vec<u64>,
}

impl MapStatus {
    /// Bytes of the block for `reduce_partition` (0 when there is none).
    pub fn block_size(&self, reduce_partition: usize) -> u64 {
        self.block_sizes.get(reduce_partition).copied().unwrap_or(0)
    }

    /// Bytes of every block of this map task.
    pub fn total_bytes(&self) -> u64 {
        self.block_sizes.iter().sum()
    }
}
