//! Shuffle: map tasks write one Arrow IPC block per reduce partition, reduce tasks read them back.
//!
//! ```text
//!  map task m ──partitioner──▶ block (s, m, 0) ─┐
//!                             block (s, m, 1) ─┼─▶ ShuffleBlockStore of the map's executor
//!                             ...             ─┘      (memory up to a budget, then files)
//!        └──MapStatus { executor, sizes }──▶ MapOutputTracker (driver)
//!
//!  reduce task r: MapOutputTracker says where (s, *, r) live ──▶ local store or remote fetch
//! ```

pub mod block_fetcher;
pub mod block_id;
pub mod block_store;
pub mod map_output_tracker;
pub mod map_status;
pub mod shuffle_reader;
pub mod shuffle_writer;

pub use block_fetcher::ShuffleBlockFetcher;
pub use block_id::ShuffleBlockId;
pub use block_store::{BlockPlacement, ShuffleBlockData, ShuffleBlockStore};
pub use map_output_tracker::{BlockLocation, MapOutputSource, MapOutputTracker};
pub use map_status::MapStatus;
pub use shuffle_reader::ShuffleReader;
pub use shuffle_writer::ShuffleWriter;
