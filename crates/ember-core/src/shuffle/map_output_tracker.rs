//! The driver's record of every map task's output: which executor holds it and how big it is.

use std::collections::HashMap;
use std::fmt;

use ember_common::{EmberError, ExecutorId, Result, ShuffleId};
use parking_lot::RwLock;

use super::MapStatus;

/// Where one map task's block for one reduce partition can be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLocation {
    /// The executor serving the block.
    pub executor_id: ExecutorId,
    /// Bytes of the block; 0 means the map task wrote nothing for this reduce partition.
    pub size: u64,
}

/// What reduce tasks ask to find their input. The driver's [`MapOutputTracker`] answers
/// directly in local mode; in cluster mode an executor-side client asks the driver.
pub trait MapOutputSource: Send + Sync + fmt::Debug {
    /// For each map index of `shuffle_id`, where its block for `reduce_partition` lives, or
    /// `None` when that map output is missing (never computed, or lost).
    fn locations_for_reduce(
        &self,
        shuffle_id: ShuffleId,
        reduce_partition: usize,
    ) -> Result<Vec<Option<BlockLocation>>>;
}

/// Per shuffle, per map index, the [`MapStatus`] of the map task that last succeeded.
#[derive(Debug, Default)]
pub struct MapOutputTracker {
    shuffles: RwLock<HashMap<ShuffleId, Vec<Option<MapStatus>>>>,
}

impl MapOutputTracker {
    /// A tracker with no shuffles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts tracking a shuffle with `num_maps` map tasks; does nothing if already tracked
    /// (a shuffle is shared by every job whose lineage contains it).
    pub fn register_shuffle(&self, shuffle_id: ShuffleId, num_maps: usize) {
        self.shuffles
            .write()
            .entry(shuffle_id)
            .or_insert_with(|| vec![None; num_maps]);
    }

    /// Whether the shuffle is tracked.
    pub fn contains_shuffle(&self, shuffle_id: ShuffleId) -> bool {
        self.shuffles.read().contains_key(&shuffle_id)
    }

    /// Records the output of map task `map_index`; ignored for a shuffle no longer tracked.
    pub fn register_map_output(&self, shuffle_id: ShuffleId, map_index: usize, status: MapStatus) {
        let mut shuffles = self.shuffles.write();
        match shuffles
            .get_mut(&shuffle_id)
            .and_then(|maps| maps.get_mut(map_index))
        {
            Some(slot) => *slot = Some(status),
            None => log::debug!(
                "ignoring map output {map_index} of {shuffle_id}: the shuffle is not tracked"
            ),
        }
    }

    /// Forgets one map output (its blocks were found missing); returns whether it was there.
    pub fn unregister_map_output(&self, shuffle_id: ShuffleId, map_index: usize) -> bool {
        let mut shuffles = self.shuffles.write();
        shuffles
            .get_mut(&shuffle_id)
            .and_then(|maps| maps.get_mut(map_index))
            .and_then(Option::take)
            .is_some()
    }

    /// Forgets every map output held by `executor` (it was lost); returns how many.
    pub fn remove_outputs_on_executor(&self, executor: &ExecutorId) -> usize {
        let mut removed = 0;
        for maps in self.shuffles.write().values_mut() {
            for slot in maps.iter_mut() {
                if slot.as_ref().is_some_and(|s| &s.executor_id == executor) {
                    *slot = None;
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Map indexes of the shuffle without an output. A shuffle not tracked has none missing
    /// by this measure; callers register the shuffle first.
    pub fn missing_map_partitions(&self, shuffle_id: ShuffleId) -> Vec<usize> {
        self.shuffles
            .read()
            .get(&shuffle_id)
            .map(|maps| {
                maps.iter()
                    .enumerate()
                    .filter(|(_, s)| s.is_none())
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether every map output of a tracked shuffle exists.
    pub fn is_available(&self, shuffle_id: ShuffleId) -> bool {
        self.shuffles
            .read()
            .get(&shuffle_id)
            .is_some_and(|maps| maps.iter().all(Option::is_some))
    }

    /// The status of one map output, if present.
    pub fn map_status(&self, shuffle_id: ShuffleId, map_index: usize) -> Option<MapStatus> {
        self.shuffles
            .read()
            .get(&shuffle_id)
            .and_then(|maps| maps.get(map_index).cloned().flatten())
    }

    /// Every map output of a tracked shuffle, by map index (`None` where missing).
    pub fn map_statuses(&self, shuffle_id: ShuffleId) -> Option<Vec<Option<MapStatus>>> {
        self.shuffles.read().get(&shuffle_id).cloned()
    }

    /// Stops tracking a shuffle (its query finished).
    pub fn unregister_shuffle(&self, shuffle_id: ShuffleId) -> bool {
        self.shuffles.write().remove(&shuffle_id).is_some()
    }
}

impl MapOutputSource for MapOutputTracker {
    fn locations_for_reduce(
        &self,
        shuffle_id: ShuffleId,
        reduce_partition: usize,
    ) -> Result<Vec<Option<BlockLocation>>> {
        let shuffles = self.shuffles.read();
        let maps = shuffles.get(&shuffle_id).ok_or_else(|| {
            EmberError::internal(format!(
                "{shuffle_id} is not registered with the map-output tracker; \
                 the scheduler registers a shuffle before running its reduce tasks"
            ))
        })?;
        Ok(maps
            .iter()
            .map(|status| {
                status.as_ref().map(|s| BlockLocation {
                    executor_id: s.executor_id.clone(),
                    size: s.block_size(reduce_partition),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_common::TaskId;

    fn status(executor: &str, sizes: Vec<u64>) -> MapStatus {
        MapStatus {
            executor_id: ExecutorId(executor.to_string()),
            task_id: TaskId(0),
            block_sizes: sizes,
        }
    }

    #[test]
    fn tracks_missing_outputs_and_lost_executors() {
        let tracker = MapOutputTracker::new();
        let shuffle = ShuffleId(3);
        tracker.register_shuffle(shuffle, 3);
        assert_eq!(tracker.missing_map_partitions(shuffle), vec![0, 1, 2]);
        tracker.register_map_output(shuffle, 0, status("a", vec![10, 0]));
        tracker.register_map_output(shuffle, 1, status("b", vec![5, 6]));
        tracker.register_map_output(shuffle, 2, status("a", vec![1, 2]));
        assert!(tracker.is_available(shuffle));
        // Registering again keeps what is known.
        tracker.register_shuffle(shuffle, 3);
        assert!(tracker.is_available(shuffle));

        let locations = tracker.locations_for_reduce(shuffle, 1).unwrap();
        assert_eq!(locations[0].as_ref().map(|l| l.size), Some(0));
        assert_eq!(
            locations[1].as_ref().map(|l| l.executor_id.0.as_str()),
            Some("b")
        );

        assert_eq!(
            tracker.remove_outputs_on_executor(&ExecutorId("a".into())),
            2
        );
        assert_eq!(tracker.missing_map_partitions(shuffle), vec![0, 2]);
        assert!(tracker.unregister_map_output(shuffle, 1));
        assert!(!tracker.unregister_map_output(shuffle, 1));
        assert_eq!(tracker.missing_map_partitions(shuffle), vec![0, 1, 2]);
        assert!(tracker.locations_for_reduce(ShuffleId(9), 0).is_err());
    }
}
