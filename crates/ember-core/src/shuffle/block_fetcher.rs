//! How a reduce task gets a block that lives on another executor (cluster mode).

use std::fmt;

use ember_common::{ExecutorId, Result};

use super::{ShuffleBlockData, ShuffleBlockId};

/// Fetches shuffle blocks from other executors. Local mode has none: every block is in the
/// executor's own [`ShuffleBlockStore`](super::ShuffleBlockStore). A cluster runtime
/// implements this over its shuffle service.
pub trait ShuffleBlockFetcher: Send + Sync + fmt::Debug {
    /// The block's bytes, or `Ok(None)` when `executor` does not have it.
    fn fetch(
        &self,
        executor: &ExecutorId,
        block: ShuffleBlockId,
    ) -> Result<Option<ShuffleBlockData>>;
}
