//! What every task on one executor shares: its id, its shuffle block store, where map outputs are.

use std::fmt;
use std::sync::Arc;

use ember_common::{EmberConf, ExecutorId};

use crate::fault::KillPoint;
use crate::shuffle::{MapOutputSource, MapOutputTracker, ShuffleBlockFetcher, ShuffleBlockStore};
use crate::storage::BlockManager;

/// The executor-wide services a [`TaskContext`](crate::TaskContext) reaches through.
pub struct ExecutorEnv {
    /// "driver" in local mode.
    pub executor_id: ExecutorId,
    /// Blocks written by this executor's map tasks.
    pub block_store: Arc<ShuffleBlockStore>,
    /// Where the blocks of each map task live.
    pub map_outputs: Arc<dyn MapOutputSource>,
    /// Fetches blocks held by other executors; `None` in local mode.
    pub remote_fetcher: Option<Arc<dyn ShuffleBlockFetcher>>,
    /// Persisted (cached) partitions held by this executor.
    pub block_manager: Arc<BlockManager>,
    /// A fault the driver injected into this task: the executor dies at that point
    /// (`ember.testing.killExecutor`; never in local mode).
    pub kill_at: Option<KillPoint>,
}

impl ExecutorEnv {
    /// The executor id of local mode, where the driver runs every task itself.
    pub const LOCAL_EXECUTOR_ID: &'static str = "driver";

    /// The environment of local mode: executor "driver", reading map outputs from `tracker`.
    pub fn local(block_store: Arc<ShuffleBlockStore>, tracker: Arc<MapOutputTracker>) -> Self {
        Self::local_with_blocks(
            block_store,
            tracker,
            Arc::new(BlockManager::new(&EmberConf::new())),
        )
    }

    /// The environment of local mode with a given block manager for persisted partitions.
    pub fn local_with_blocks(
        block_store: Arc<ShuffleBlockStore>,
        tracker: Arc<MapOutputTracker>,
        block_manager: Arc<BlockManager>,
    ) -> Self {
        ExecutorEnv {
            executor_id: ExecutorId(Self::LOCAL_EXECUTOR_ID.to_string()),
            block_store,
            map_outputs: tracker,
            remote_fetcher: None,
            block_manager,
            kill_at: None,
        }
    }

    /// A local environment with an empty store and tracker, for unit tests.
    pub fn for_tests() -> Self {
        Self::local(
            Arc::new(ShuffleBlockStore::new(&EmberConf::new())),
            Arc::new(MapOutputTracker::new()),
        )
    }
}

impl fmt::Debug for ExecutorEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorEnv")
            .field("executor_id", &self.executor_id)
            .field("remote_fetcher", &self.remote_fetcher.is_some())
            .finish_non_exhaustive()
    }
}
