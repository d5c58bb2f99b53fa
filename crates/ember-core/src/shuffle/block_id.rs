//! The name of one shuffle block: (shuffle, map index, reduce partition).

use std::fmt;

use ember_common::ShuffleId;

/// One map task's output for one reduce partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShuffleBlockId {
    /// The shuffle the block belongs to.
    pub shuffle_id: ShuffleId,
    /// The map task (map-side partition) that wrote it.
    pub map_index: usize,
    /// The reduce partition that reads it.
    pub reduce_partition: usize,
}

impl ShuffleBlockId {
    /// The block of map task `map_index` for `reduce_partition`.
    pub fn new(shuffle_id: ShuffleId, map_index: usize, reduce_partition: usize) -> Self {
        ShuffleBlockId {
            shuffle_id,
            map_index,
            reduce_partition,
        }
    }
}

impl fmt::Display for ShuffleBlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shuffle_{}_{}_{}",
            self.shuffle_id.0, self.map_index, self.reduce_partition
        )
    }
}
