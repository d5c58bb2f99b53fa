//! The reduce side of a shuffle: fetch every map task's block for one reduce partition, lazily.

use std::collections::VecDeque;
use std::io::Read;

use arrow::ipc::reader::StreamReader;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, ExecutorId, Result, ShuffleId};

use super::{ShuffleBlockData, ShuffleBlockId};
use crate::fault::KillPoint;
use crate::TaskContext;

/// An iterator over the batches of one reduce partition, map task by map task.
///
/// Built by [`TaskContext::read_shuffle`]. It checks up front that every map output is
/// registered (and, for local blocks, present), then fetches and decodes one block at a
/// time as it is pulled. Any block that cannot be fetched or decoded ends the iterator with
/// `EmberError::FetchFailed` naming the map task, so the scheduler can rerun it.
pub struct ShuffleReader {
    cx: TaskContext,
    shuffle_id: ShuffleId,
    reduce_partition: usize,
    /// Blocks not fetched yet: (map index, executor holding it, size).
    pending: VecDeque<(usize, ExecutorId, u64)>,
    current: Option<(usize, StreamReader<Box<dyn Read + Send>>)>,
    finished: bool,
}

impl ShuffleReader {
    /// Looks up where the blocks are; fails with `FetchFailed` if a map output is missing.
    pub fn new(cx: TaskContext, shuffle_id: ShuffleId, reduce_partition: usize) -> Result<Self> {
        let locations = cx
            .env()
            .map_outputs
            .locations_for_reduce(shuffle_id, reduce_partition)?;
        let mut pending = VecDeque::with_capacity(locations.len());
        for (map_index, location) in locations.into_iter().enumerate() {
            let fetch_failed = |message: String| EmberError::FetchFailed {
                shuffle_id: shuffle_id.0,
                map_index,
                reduce_partition,
                message,
            };
            let Some(location) = location else {
                return Err(fetch_failed(
                    "the map output is missing (never computed or lost)".to_string(),
                ));
            };
            if location.size == 0 {
                continue;
            }
            let block = ShuffleBlockId::new(shuffle_id, map_index, reduce_partition);
            if &location.executor_id == cx.executor_id()
                && !cx.env().block_store.contains_block(block)
            {
                return Err(fetch_failed(format!(
                    "block {block} is missing from the block store of {}",
                    location.executor_id
                )));
            }
            pending.push_back((map_index, location.executor_id, location.size));
        }
        if pending.is_empty() {
            // Nothing to fetch: an injected fetch fault strikes as the (empty) fetch starts.
            cx.kill_point(KillPoint::Fetch);
        }
        Ok(ShuffleReader {
            cx,
            shuffle_id,
            reduce_partition,
            pending,
            current: None,
            finished: false,
        })
    }

    fn fetch_failed(&self, map_index: usize, message: String) -> EmberError {
        EmberError::FetchFailed {
            shuffle_id: self.shuffle_id.0,
            map_index,
            reduce_partition: self.reduce_partition,
            message,
        }
    }

    fn open_block(
        &self,
        map_index: usize,
        executor: &ExecutorId,
    ) -> Result<StreamReader<Box<dyn Read + Send>>> {
        let block = ShuffleBlockId::new(self.shuffle_id, map_index, self.reduce_partition);
        let env = self.cx.env();
        let data: Option<ShuffleBlockData> = if executor == &env.executor_id {
            env.block_store.get_block(block)
        } else {
            match &env.remote_fetcher {
                Some(fetcher) => fetcher
                    .fetch(executor, block)
                    .map_err(|e| self.fetch_failed(map_index, e.to_string()))?,
                None => {
                    return Err(self.fetch_failed(
                        map_index,
                        format!(
                            "block {block} lives on {executor}, and this executor has no remote fetcher"
                        ),
                    ))
                }
            }
        };
        let data = data.ok_or_else(|| {
            self.fetch_failed(
                map_index,
                format!("block {block} is missing from {executor}"),
            )
        })?;
        self.cx.kill_point(KillPoint::Fetch);
        let reader = data
            .into_reader()
            .map_err(|e| self.fetch_failed(map_index, e.to_string()))?;
        StreamReader::try_new(reader, None)
            .map_err(|e| self.fetch_failed(map_index, format!("block {block} is corrupt: {e}")))
    }
}

impl Iterator for ShuffleReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            if let Some((map_index, reader)) = &mut self.current {
                let map_index = *map_index;
                match reader.next() {
                    Some(Ok(batch)) => {
                        self.cx
                            .metrics()
                            .add_shuffle_records_read(batch.num_rows() as u64);
                        return Some(Ok(batch));
                    }
                    Some(Err(e)) => {
                        self.finished = true;
                        let block =
                            ShuffleBlockId::new(self.shuffle_id, map_index, self.reduce_partition);
                        return Some(Err(
                            self.fetch_failed(map_index, format!("block {block} is corrupt: {e}"))
                        ));
                    }
                    None => self.current = None,
                }
            }
            let Some((map_index, executor, size)) = self.pending.pop_front() else {
                self.finished = true;
                return None;
            };
            if let Err(e) = self.cx.check_cancelled() {
                self.finished = true;
                return Some(Err(e));
            }
            match self.open_block(map_index, &executor) {
                Ok(reader) => {
                    self.cx.metrics().add_shuffle_bytes_read(size);
                    self.current = Some((map_index, reader));
                }
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::partitioners::HashPartitioner;
    use crate::shuffle::{MapOutputTracker, ShuffleBlockStore, ShuffleWriter};
    use crate::test_util::{key_value_batch, sorted_pairs};
    use crate::{ExecutorEnv, TaskAttempt};
    use ember_common::{EmberConf, StageId, TaskId};
    use std::sync::atomic::AtomicBool;

    fn context(env: &Arc<ExecutorEnv>, partition: usize) -> TaskContext {
        TaskContext::new(
            TaskAttempt {
                stage_id: StageId(0),
                partition,
                attempt: 0,
                task_id: TaskId(partition as u64),
            },
            Arc::new(EmberConf::new()),
            env.clone(),
            Arc::new(AtomicBool::new(false)),
        )
    }

    #[test]
    fn written_blocks_read_back_and_missing_blocks_fail_to_fetch() {
        let tracker = Arc::new(MapOutputTracker::new());
        let store = Arc::new(ShuffleBlockStore::new(&EmberConf::new()));
        let env = Arc::new(ExecutorEnv::local(store.clone(), tracker.clone()));
        let shuffle = ShuffleId(7);
        let partitioner = Arc::new(HashPartitioner::new(vec![0], 2));
        tracker.register_shuffle(shuffle, 2);
        let mut statuses = Vec::new();
        let inputs = [
            key_value_batch(&[1, 2, 3, 4], &[10, 20, 30, 40]),
            key_value_batch(&[1, 5, 6], &[11, 50, 60]),
        ];
        for (map_index, batch) in inputs.iter().enumerate() {
            let cx = context(&env, map_index);
            let mut writer = ShuffleWriter::new(shuffle, map_index, partitioner.clone());
            writer.write(batch).unwrap();
            let status = writer.finish(&cx).unwrap();
            assert_eq!(
                cx.metrics().shuffle_records_written(),
                batch.num_rows() as u64
            );
            tracker.register_map_output(shuffle, map_index, status.clone());
            statuses.push(status);
        }

        let mut all = Vec::new();
        for reduce in 0..2 {
            let cx = context(&env, reduce);
            let batches: Vec<RecordBatch> = cx
                .read_shuffle(shuffle, reduce)
                .unwrap()
                .collect::<Result<_>>()
                .unwrap();
            assert!(cx.metrics().shuffle_bytes_read() > 0 || batches.is_empty());
            all.extend(batches);
        }
        assert_eq!(
            sorted_pairs(&all),
            vec![
                (1, 10),
                (1, 11),
                (2, 20),
                (3, 30),
                (4, 40),
                (5, 50),
                (6, 60)
            ]
        );

        // An unregistered map output is a fetch failure.
        tracker.unregister_map_output(shuffle, 1);
        let err = context(&env, 0).read_shuffle(shuffle, 0).err().unwrap();
        assert!(
            matches!(err, EmberError::FetchFailed { map_index: 1, .. }),
            "{err}"
        );
        tracker.register_map_output(shuffle, 1, statuses[1].clone());

        // Drop one block that has rows: reading that reduce partition names the map task.
        let (map_index, reduce) = (0..2)
            .flat_map(|m| (0..2).map(move |r| (m, r)))
            .find(|(m, r)| store.contains_block(ShuffleBlockId::new(shuffle, *m, *r)))
            .unwrap();
        store.remove_block(ShuffleBlockId::new(shuffle, map_index, reduce));
        let err = context(&env, reduce)
            .read_shuffle(shuffle, reduce)
            .err()
            .unwrap();
        match err {
            EmberError::FetchFailed {
                shuffle_id,
                map_index: failed_map,
                reduce_partition,
                ..
            } => {
                assert_eq!(
                    (shuffle_id, failed_map, reduce_partition),
                    (7, map_index, reduce)
                );
            }
            other => panic!("expected FetchFailed, got {other}"),
        }
    }
}
