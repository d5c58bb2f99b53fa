//! `BlockManager`: an executor's persisted partitions, in memory within a budget and on disk
//! where the storage level allows, evicting the least recently used blocks of other RDDs.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberConf, EmberError, RddId, Result};
use parking_lot::Mutex;

/// Where a persisted partition may live (Spark's storage levels, without replication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageLevel {
    /// In memory; a block that does not fit (or is evicted) is dropped and recomputed from
    /// lineage when next needed.
    MemoryOnly,
    /// In memory; a block that does not fit (or is evicted) is written to local disk.
    MemoryAndDisk,
    /// On local disk only.
    DiskOnly,
}

impl StorageLevel {
    fn uses_memory(self) -> bool {
        !matches!(self, StorageLevel::DiskOnly)
    }

    fn uses_disk(self) -> bool {
        !matches!(self, StorageLevel::MemoryOnly)
    }
}

impl FromStr for StorageLevel {
    type Err = EmberError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "MEMORY_ONLY" => Ok(StorageLevel::MemoryOnly),
            "MEMORY_AND_DISK" => Ok(StorageLevel::MemoryAndDisk),
            "DISK_ONLY" => Ok(StorageLevel::DiskOnly),
            other => Err(EmberError::Config(format!(
                "Invalid storage level '{other}'; use MEMORY_ONLY, MEMORY_AND_DISK or DISK_ONLY"
            ))),
        }
    }
}

impl fmt::Display for StorageLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageLevel::MemoryOnly => "MEMORY_ONLY",
            StorageLevel::MemoryAndDisk => "MEMORY_AND_DISK",
            StorageLevel::DiskOnly => "DISK_ONLY",
        })
    }
}

/// How much of one RDD is persisted, and where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStatus {
    /// Partitions held in memory.
    pub memory_partitions: usize,
    /// Partitions held on disk.
    pub disk_partitions: usize,
    /// Bytes held in memory.
    pub memory_bytes: u64,
    /// Bytes held on disk.
    pub disk_bytes: u64,
}

#[derive(Debug)]
enum Stored {
    Memory(Vec<RecordBatch>),
    Disk(PathBuf),
}

#[derive(Debug)]
struct Block {
    stored: Stored,
    bytes: u64,
    level: StorageLevel,
    last_used: u64,
}

#[derive(Debug, Default)]
struct State {
    blocks: HashMap<(RddId, usize), Block>,
    memory_used: u64,
    clock: u64,
}

/// The persisted partitions of one executor, keyed by (RDD, partition).
///
/// Memory blocks stay within 60% of `ember.executor.memory`. To make room, the least recently
/// used memory blocks of *other* RDDs are evicted: written to disk when their level allows,
/// dropped otherwise (a dropped partition is recomputed from lineage). Files live in a
/// directory of their own under `ember.local.dir`, removed when the manager is dropped.
pub struct BlockManager {
    memory_budget: u64,
    local_dir: PathBuf,
    dir: OnceLock<PathBuf>,
    state: Mutex<State>,
    file_counter: AtomicU64,
}

impl fmt::Debug for BlockManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockManager")
            .field("memory_budget", &self.memory_budget)
            .field("memory_used", &self.state.lock().memory_used)
            .finish_non_exhaustive()
    }
}

impl BlockManager {
    /// A manager with the memory budget and local directory of `conf`.
    pub fn new(conf: &EmberConf) -> Self {
        // Spark's spark.memory.fraction: 60% of the executor's memory is for storage.
        let budget = conf.get_usize("ember.executor.memory") as u64 / 10 * 6;
        let local_dir = conf
            .get("ember.local.dir")
            .filter(|dir| !dir.trim().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Self::with_budget(budget, local_dir)
    }

    /// A manager keeping at most `memory_budget` bytes of blocks in memory.
    pub fn with_budget(memory_budget: u64, local_dir: PathBuf) -> Self {
        BlockManager {
            memory_budget,
            local_dir,
            dir: OnceLock::new(),
            state: Mutex::new(State::default()),
            file_counter: AtomicU64::new(0),
        }
    }

    /// Stores partition `partition` of `rdd`. Returns whether it was kept (a MEMORY_ONLY block
    /// larger than the whole budget is not).
    pub fn put(
        &self,
        rdd: RddId,
        partition: usize,
        batches: Vec<RecordBatch>,
        level: StorageLevel,
    ) -> Result<bool> {
        let bytes: u64 = batches
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum();
        self.remove_block(rdd, partition);
        if level.uses_memory() && bytes <= self.memory_budget {
            let evicted = {
                let mut state = self.state.lock();
                let evicted = Self::make_room(&mut state, rdd, bytes, self.memory_budget);
                if state.memory_used + bytes <= self.memory_budget {
                    state.clock += 1;
                    let last_used = state.clock;
                    state.memory_used += bytes;
                    state.blocks.insert(
                        (rdd, partition),
                        Block {
                            stored: Stored::Memory(batches.clone()),
                            bytes,
                            level,
                            last_used,
                        },
                    );
                    Some(evicted)
                } else {
                    // Only this RDD's own blocks are left: give the evicted ones back.
                    for ((id, p), block) in evicted {
                        Self::insert(&mut state, id, p, block);
                    }
                    None
                }
            };
            if let Some(evicted) = evicted {
                self.spill_evicted(evicted)?;
                return Ok(true);
            }
        }
        if level.uses_disk() {
            let path = self.write_file(rdd, partition, &batches)?;
            let mut state = self.state.lock();
            state.clock += 1;
            let last_used = state.clock;
            state.blocks.insert(
                (rdd, partition),
                Block {
                    stored: Stored::Disk(path),
                    bytes,
                    level,
                    last_used,
                },
            );
            return Ok(true);
        }
        log::info!(
            "Not caching partition {partition} of {rdd}: {bytes} bytes do not fit in the \
             {} bytes of storage memory (60% of ember.executor.memory, MEMORY_ONLY)",
            self.memory_budget
        );
        Ok(false)
    }

    /// The batches of a persisted partition, if it is held.
    pub fn get(&self, rdd: RddId, partition: usize) -> Result<Option<Vec<RecordBatch>>> {
        let path = {
            let mut state = self.state.lock();
            state.clock += 1;
            let now = state.clock;
            let Some(block) = state.blocks.get_mut(&(rdd, partition)) else {
                return Ok(None);
            };
            block.last_used = now;
            match &block.stored {
                Stored::Memory(batches) => return Ok(Some(batches.clone())),
                Stored::Disk(path) => path.clone(),
            }
        };
        read_file(&path).map(Some)
    }

    /// Whether every one of the first `partitions` partitions of `rdd` is held.
    pub fn contains_all(&self, rdd: RddId, partitions: usize) -> bool {
        let state = self.state.lock();
        (0..partitions).all(|p| state.blocks.contains_key(&(rdd, p)))
    }

    /// Drops every block of `rdd` (UNCACHE TABLE).
    pub fn remove_rdd(&self, rdd: RddId) {
        let removed: Vec<Block> = {
            let mut state = self.state.lock();
            let keys: Vec<(RddId, usize)> = state
                .blocks
                .keys()
                .filter(|(id, _)| *id == rdd)
                .copied()
                .collect();
            keys.into_iter()
                .filter_map(|k| Self::take(&mut state, k))
                .collect()
        };
        removed.into_iter().for_each(delete_file);
    }

    /// Every block held: (RDD, partition, bytes, whether on disk).
    pub fn blocks(&self) -> Vec<(RddId, usize, u64, bool)> {
        let state = self.state.lock();
        state
            .blocks
            .iter()
            .map(|((rdd, partition), block)| {
                (
                    *rdd,
                    *partition,
                    block.bytes,
                    matches!(block.stored, Stored::Disk(_)),
                )
            })
            .collect()
    }

    /// How much of `rdd` is held, and where.
    pub fn status(&self, rdd: RddId) -> CacheStatus {
        let state = self.state.lock();
        let mut status = CacheStatus::default();
        for ((id, _), block) in &state.blocks {
            if *id != rdd {
                continue;
            }
            match block.stored {
                Stored::Memory(_) => {
                    status.memory_partitions += 1;
                    status.memory_bytes += block.bytes;
                }
                Stored::Disk(_) => {
                    status.disk_partitions += 1;
                    status.disk_bytes += block.bytes;
                }
            }
        }
        status
    }

    fn remove_block(&self, rdd: RddId, partition: usize) {
        let removed = Self::take(&mut self.state.lock(), (rdd, partition));
        if let Some(block) = removed {
            delete_file(block);
        }
    }

    fn take(state: &mut State, key: (RddId, usize)) -> Option<Block> {
        let block = state.blocks.remove(&key)?;
        if matches!(block.stored, Stored::Memory(_)) {
            state.memory_used -= block.bytes;
        }
        Some(block)
    }

    fn insert(state: &mut State, rdd: RddId, partition: usize, block: Block) {
        if matches!(block.stored, Stored::Memory(_)) {
            state.memory_used += block.bytes;
        }
        state.blocks.insert((rdd, partition), block);
    }

    /// Takes least recently used memory blocks of RDDs other than `for_rdd` out of the state
    /// until `bytes` more fit (or nothing else can go).
    fn make_room(
        state: &mut State,
        for_rdd: RddId,
        bytes: u64,
        budget: u64,
    ) -> Vec<((RddId, usize), Block)> {
        let mut evicted = Vec::new();
        while state.memory_used + bytes > budget {
            let victim = state
                .blocks
                .iter()
                .filter(|((id, _), b)| *id != for_rdd && matches!(b.stored, Stored::Memory(_)))
                .min_by_key(|(_, b)| b.last_used)
                .map(|(k, _)| *k);
            let Some(key) = victim else { break };
            if let Some(block) = Self::take(state, key) {
                evicted.push((key, block));
            }
        }
        evicted
    }

    /// Writes evicted blocks whose level allows it to disk; drops the others.
    fn spill_evicted(&self, evicted: Vec<((RddId, usize), Block)>) -> Result<()> {
        for ((rdd, partition), block) in evicted {
            let Stored::Memory(batches) = &block.stored else {
                continue;
            };
            if block.level.uses_disk() {
                let path = self.write_file(rdd, partition, batches)?;
                let mut state = self.state.lock();
                // A newer put of the same partition wins over the evicted copy.
                match state.blocks.entry((rdd, partition)) {
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(Block {
                            stored: Stored::Disk(path),
                            ..block
                        });
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {
                        drop(state);
                        let _ = fs::remove_file(&path);
                    }
                }
            } else {
                log::info!(
                    "Evicted partition {partition} of {rdd} ({} bytes, MEMORY_ONLY): it \
                     will be recomputed from lineage when needed",
                    block.bytes
                );
            }
        }
        Ok(())
    }

    fn block_dir(&self) -> Result<&Path> {
        if let Some(dir) = self.dir.get() {
            return Ok(dir);
        }
        let dir = self.local_dir.join(format!(
            "ember-blocks-{}-{:x}",
            std::process::id(),
            self as *const Self as usize
        ));
        fs::create_dir_all(&dir).map_err(|e| EmberError::io(dir.display().to_string(), e))?;
        Ok(self.dir.get_or_init(|| dir))
    }

    fn write_file(&self, rdd: RddId, partition: usize, batches: &[RecordBatch]) -> Result<PathBuf> {
        let sequence = self.file_counter.fetch_add(1, Ordering::Relaxed);
        let path = self
            .block_dir()?
            .join(format!("rdd_{}_{partition}_{sequence}.arrow", rdd.0));
        let file =
            fs::File::create(&path).map_err(|e| EmberError::io(path.display().to_string(), e))?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => std::sync::Arc::new(arrow::datatypes::Schema::empty()),
        };
        let mut writer = FileWriter::try_new(BufWriter::new(file), &schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        Ok(path)
    }
}

impl Drop for BlockManager {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.get() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

fn read_file(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = fs::File::open(path).map_err(|e| EmberError::io(path.display().to_string(), e))?;
    let reader = FileReader::try_new(BufReader::new(file), None)?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

fn delete_file(block: Block) {
    if let Stored::Disk(path) = block.stored {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(rows: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let values: Vec<i64> = (0..rows as i64).collect();
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values))]).unwrap()
    }

    fn size(rows: usize) -> u64 {
        batch(rows).get_array_memory_size() as u64
    }

    #[test]
    fn levels_parse_and_print_spark_names() {
        let level: StorageLevel = "memory_and_disk".parse().unwrap();
        assert_eq!(level, StorageLevel::MemoryAndDisk);
        assert_eq!(StorageLevel::DiskOnly.to_string(), "DISK_ONLY");
        assert!("MEMORY_ONLY_SER_2".parse::<StorageLevel>().is_err());
    }

    #[test]
    fn memory_blocks_come_back_and_disk_only_goes_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let manager = BlockManager::with_budget(1 << 20, dir.path().to_path_buf());
        manager
            .put(RddId(1), 0, vec![batch(10)], StorageLevel::MemoryOnly)
            .unwrap();
        manager
            .put(RddId(2), 0, vec![batch(20)], StorageLevel::DiskOnly)
            .unwrap();
        assert_eq!(manager.get(RddId(1), 0).unwrap().unwrap()[0].num_rows(), 10);
        assert_eq!(manager.get(RddId(2), 0).unwrap().unwrap()[0].num_rows(), 20);
        assert_eq!(manager.status(RddId(1)).memory_partitions, 1);
        assert_eq!(manager.status(RddId(2)).disk_partitions, 1);
        assert!(manager.get(RddId(1), 1).unwrap().is_none());
        assert!(manager.contains_all(RddId(1), 1) && !manager.contains_all(RddId(1), 2));
    }

    #[test]
    fn least_recently_used_blocks_of_other_rdds_make_room() {
        let dir = tempfile::tempdir().unwrap();
        let manager = BlockManager::with_budget(2 * size(100) + 10, dir.path().to_path_buf());
        let put = |rdd: u64, p: usize, level| {
            manager.put(RddId(rdd), p, vec![batch(100)], level).unwrap()
        };
        put(1, 0, StorageLevel::MemoryOnly);
        put(2, 0, StorageLevel::MemoryAndDisk);
        // Touch rdd 1, so rdd 2's block is the least recently used.
        manager.get(RddId(1), 0).unwrap();
        assert!(put(3, 0, StorageLevel::MemoryOnly));
        // rdd 2 went to disk (its level allows it), rdd 1 stayed in memory.
        assert_eq!(manager.status(RddId(2)).disk_partitions, 1);
        assert_eq!(manager.status(RddId(1)).memory_partitions, 1);
        // Now rdd 1 is the oldest memory block of another rdd: MEMORY_ONLY, so dropped.
        assert!(put(4, 0, StorageLevel::MemoryOnly));
        assert_eq!(manager.status(RddId(1)), CacheStatus::default());
        assert_eq!(
            manager.get(RddId(2), 0).unwrap().unwrap()[0].num_rows(),
            100
        );
    }

    #[test]
    fn an_rdd_does_not_evict_its_own_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let manager = BlockManager::with_budget(size(100) + 10, dir.path().to_path_buf());
        assert!(manager
            .put(RddId(1), 0, vec![batch(100)], StorageLevel::MemoryOnly)
            .unwrap());
        // The second partition does not fit and may not push out the first: not kept.
        assert!(!manager
            .put(RddId(1), 1, vec![batch(100)], StorageLevel::MemoryOnly)
            .unwrap());
        assert_eq!(manager.status(RddId(1)).memory_partitions, 1);
        // With MEMORY_AND_DISK it goes to disk instead.
        assert!(manager
            .put(RddId(1), 1, vec![batch(100)], StorageLevel::MemoryAndDisk)
            .unwrap());
        assert_eq!(manager.status(RddId(1)).disk_partitions, 1);
        manager.remove_rdd(RddId(1));
        assert_eq!(manager.status(RddId(1)), CacheStatus::default());
    }
}
