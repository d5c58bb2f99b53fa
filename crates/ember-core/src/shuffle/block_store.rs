//! The executor's store of shuffle blocks: Arrow IPC bytes in memory up to a budget, files beyond.

use std::collections::HashMap;
use std::fs;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ember_common::{EmberConf, EmberError, Result, ShuffleId};
use parking_lot::Mutex;

use super::ShuffleBlockId;

/// Where [`ShuffleBlockStore::put_block`] put a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockPlacement {
    /// Kept in memory.
    Memory,
    /// Written to a file because the memory budget was used up; holds the bytes spilled.
    Disk(u64),
}

/// The bytes of one block as handed to a reader.
#[derive(Debug, Clone)]
pub enum ShuffleBlockData {
    /// Bytes kept in memory (shared, not copied).
    Memory(Arc<[u8]>),
    /// A spilled block: the file holding it.
    File(PathBuf),
}

/// Lets a `Cursor` read shared block bytes without copying them.
#[derive(Debug, Clone)]
struct SharedBytes(Arc<[u8]>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl ShuffleBlockData {
    /// A reader over the block's IPC stream bytes.
    pub fn into_reader(self) -> Result<Box<dyn Read + Send>> {
        match self {
            ShuffleBlockData::Memory(bytes) => Ok(Box::new(Cursor::new(SharedBytes(bytes)))),
            ShuffleBlockData::File(path) => {
                let file = fs::File::open(&path)
                    .map_err(|e| EmberError::io(path.display().to_string(), e))?;
                Ok(Box::new(BufReader::new(file)))
            }
        }
    }
}

#[derive(Debug)]
enum StoredBlock {
    Memory(Arc<[u8]>),
    Disk { path: PathBuf },
}

#[derive(Debug, Default)]
struct StoreState {
    blocks: HashMap<ShuffleId, HashMap<(usize, usize), StoredBlock>>,
    memory_used: u64,
    /// Created on the first spill, so a store that never spills never touches the disk.
    spill_dir: Option<PathBuf>,
}

/// Shuffle blocks of one executor, keyed by (shuffle, map index, reduce partition).
///
/// Blocks stay in memory while the total is within `ember.shuffle.memoryFraction.bytes`;
/// a block that does not fit is written to a file in a unique directory under
/// `ember.local.dir` (the system temporary directory when empty). The directory is removed
/// when the store is dropped.
#[derive(Debug)]
pub struct ShuffleBlockStore {
    memory_budget: u64,
    local_dir: PathBuf,
    state: Mutex<StoreState>,
    spilled_bytes: AtomicU64,
    file_counter: AtomicU64,
}

impl ShuffleBlockStore {
    /// A store using the memory budget and local directory of `conf`.
    pub fn new(conf: &EmberConf) -> Self {
        let memory_budget = conf.get_usize("ember.shuffle.memoryFraction.bytes") as u64;
        let local_dir = conf
            .get("ember.local.dir")
            .filter(|dir| !dir.trim().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Self::with_budget(memory_budget, local_dir)
    }

    /// A store keeping at most `memory_budget` bytes in memory and spilling under `local_dir`.
    pub fn with_budget(memory_budget: u64, local_dir: PathBuf) -> Self {
        ShuffleBlockStore {
            memory_budget,
            local_dir,
            state: Mutex::new(StoreState::default()),
            spilled_bytes: AtomicU64::new(0),
            file_counter: AtomicU64::new(0),
        }
    }

    /// Stores (or replaces, for a rerun map task) one block.
    pub fn put_block(&self, id: ShuffleBlockId, bytes: Vec<u8>) -> Result<BlockPlacement> {
        let len = bytes.len() as u64;
        {
            let mut state = self.state.lock();
            if state.memory_used + len <= self.memory_budget {
                state.memory_used += len;
                let old = state.blocks.entry(id.shuffle_id).or_default().insert(
                    (id.map_index, id.reduce_partition),
                    StoredBlock::Memory(bytes.into()),
                );
                Self::release(&mut state, old);
                return Ok(BlockPlacement::Memory);
            }
        }
        // Over budget: write the file outside the lock, then publish it.
        let dir = self.spill_dir()?;
        let sequence = self.file_counter.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{id}_{sequence}.arrows"));
        fs::write(&path, &bytes).map_err(|e| EmberError::io(path.display().to_string(), e))?;
        self.spilled_bytes.fetch_add(len, Ordering::Relaxed);
        let mut state = self.state.lock();
        let old = state.blocks.entry(id.shuffle_id).or_default().insert(
            (id.map_index, id.reduce_partition),
            StoredBlock::Disk { path },
        );
        Self::release(&mut state, old);
        Ok(BlockPlacement::Disk(len))
    }

    /// The block's bytes, or `None` when this store does not hold it.
    pub fn get_block(&self, id: ShuffleBlockId) -> Option<ShuffleBlockData> {
        let state = self.state.lock();
        let block = state
            .blocks
            .get(&id.shuffle_id)?
            .get(&(id.map_index, id.reduce_partition))?;
        Some(match block {
            StoredBlock::Memory(bytes) => ShuffleBlockData::Memory(bytes.clone()),
            StoredBlock::Disk { path } => ShuffleBlockData::File(path.clone()),
        })
    }

    /// Whether this store holds the block.
    pub fn contains_block(&self, id: ShuffleBlockId) -> bool {
        let state = self.state.lock();
        state
            .blocks
            .get(&id.shuffle_id)
            .is_some_and(|blocks| blocks.contains_key(&(id.map_index, id.reduce_partition)))
    }

    /// Deletes one block; returns whether it existed.
    pub fn remove_block(&self, id: ShuffleBlockId) -> bool {
        let mut state = self.state.lock();
        let old = state
            .blocks
            .get_mut(&id.shuffle_id)
            .and_then(|blocks| blocks.remove(&(id.map_index, id.reduce_partition)));
        let existed = old.is_some();
        Self::release(&mut state, old);
        existed
    }

    /// Deletes every block of a shuffle; returns how many there were.
    pub fn remove_shuffle(&self, shuffle_id: ShuffleId) -> usize {
        let mut state = self.state.lock();
        let Some(blocks) = state.blocks.remove(&shuffle_id) else {
            return 0;
        };
        let count = blocks.len();
        for block in blocks.into_values() {
            Self::release(&mut state, Some(block));
        }
        count
    }

    /// Bytes of blocks currently held in memory.
    pub fn memory_used(&self) -> u64 {
        self.state.lock().memory_used
    }

    /// Bytes written to spill files since the store was created.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes.load(Ordering::Relaxed)
    }

    /// Number of blocks held (in memory or on disk).
    pub fn num_blocks(&self) -> usize {
        self.state.lock().blocks.values().map(HashMap::len).sum()
    }

    /// The directory spill files go to, if one was created.
    pub fn spill_dir_path(&self) -> Option<PathBuf> {
        self.state.lock().spill_dir.clone()
    }

    fn release(state: &mut StoreState, block: Option<StoredBlock>) {
        match block {
            Some(StoredBlock::Memory(bytes)) => {
                state.memory_used = state.memory_used.saturating_sub(bytes.len() as u64);
            }
            Some(StoredBlock::Disk { path }) => {
                // A reader may still hold the path; a failed delete only leaks until drop.
                if let Err(e) = fs::remove_file(&path) {
                    log::debug!("could not delete shuffle file {}: {e}", path.display());
                }
            }
            None => {}
        }
    }

    fn spill_dir(&self) -> Result<PathBuf> {
        let mut state = self.state.lock();
        if let Some(dir) = &state.spill_dir {
            return Ok(dir.clone());
        }
        let dir = create_unique_dir(&self.local_dir)?;
        state.spill_dir = Some(dir.clone());
        Ok(dir)
    }
}

fn create_unique_dir(parent: &Path) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(parent)
        .map_err(|e| EmberError::io(format!("{} (ember.local.dir)", parent.display()), e))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(
            "ember-shuffle-{}-{nanos:x}-{n}",
            std::process::id()
        ));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(EmberError::io(dir.display().to_string(), e)),
        }
    }
}

impl Drop for ShuffleBlockStore {
    fn drop(&mut self) {
        if let Some(dir) = self.state.get_mut().spill_dir.take() {
            if let Err(e) = fs::remove_dir_all(&dir) {
                log::warn!(
                    "could not remove shuffle spill directory {}: {e}",
                    dir.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(map: usize, reduce: usize) -> ShuffleBlockId {
        ShuffleBlockId::new(ShuffleId(1), map, reduce)
    }

    fn read_all(data: ShuffleBlockData) -> Vec<u8> {
        let mut out = Vec::new();
        data.into_reader().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn blocks_beyond_the_budget_spill_and_read_back() {
        let store = ShuffleBlockStore::with_budget(10, std::env::temp_dir());
        assert_eq!(
            store.put_block(block(0, 0), vec![1; 8]).unwrap(),
            BlockPlacement::Memory
        );
        assert_eq!(
            store.put_block(block(0, 1), vec![2; 8]).unwrap(),
            BlockPlacement::Disk(8)
        );
        assert_eq!(store.memory_used(), 8);
        assert_eq!(store.spilled_bytes(), 8);
        assert_eq!(read_all(store.get_block(block(0, 0)).unwrap()), vec![1; 8]);
        assert!(matches!(
            store.get_block(block(0, 1)),
            Some(ShuffleBlockData::File(_))
        ));
        assert_eq!(read_all(store.get_block(block(0, 1)).unwrap()), vec![2; 8]);
        assert!(store.get_block(block(1, 0)).is_none());

        let dir = store.spill_dir_path().unwrap();
        assert!(dir.exists());
        drop(store);
        assert!(!dir.exists(), "spill directory must be removed on drop");
    }

    #[test]
    fn replacing_and_removing_blocks_releases_memory() {
        let store = ShuffleBlockStore::with_budget(100, std::env::temp_dir());
        store.put_block(block(0, 0), vec![0; 40]).unwrap();
        store.put_block(block(0, 0), vec![0; 30]).unwrap();
        assert_eq!(store.memory_used(), 30);
        store.put_block(block(1, 0), vec![0; 20]).unwrap();
        store
            .put_block(ShuffleBlockId::new(ShuffleId(2), 0, 0), vec![0; 5])
            .unwrap();
        assert!(store.remove_block(block(1, 0)));
        assert!(!store.remove_block(block(1, 0)));
        assert_eq!(store.memory_used(), 35);
        assert_eq!(store.remove_shuffle(ShuffleId(1)), 1);
        assert_eq!(store.memory_used(), 5);
        assert_eq!(store.num_blocks(), 1);
        assert!(
            store.spill_dir_path().is_none(),
            "nothing spilled, no directory"
        );
    }
}
