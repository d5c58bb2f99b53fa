//! Persisted RDD partitions: the block manager and the storage levels of `persist`/`CACHE`.

mod block_manager;
mod cached_rdd;

pub use block_manager::{BlockManager, CacheStatus, StorageLevel};
pub use cached_rdd::CachedRdd;
