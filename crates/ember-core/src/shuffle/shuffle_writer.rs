//! The map side of a shuffle: split each batch with the partitioner, one IPC stream per reduce partition.

use std::sync::Arc;

use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result, ShuffleId};

use super::{BlockPlacement, MapStatus, ShuffleBlockId};
use crate::fault::KillPoint;
use crate::rdd::{Partitioner, ShuffleDependency};
use crate::TaskContext;

/// Writes the output of one map task: one Arrow IPC stream, and so one block, per reduce
/// partition that receives rows.
///
/// The streams are buffered in memory until [`ShuffleWriter::finish`], which hands each to
/// the executor's [`ShuffleBlockStore`](super::ShuffleBlockStore) (which may spill it). A
/// task that fails before `finish` leaves no blocks behind.
pub struct ShuffleWriter {
    shuffle_id: ShuffleId,
    map_index: usize,
    partitioner: Arc<dyn Partitioner>,
    writers: Vec<Option<StreamWriter<Vec<u8>>>>,
    records_written: u64,
}

impl ShuffleWriter {
    /// A writer for map task `map_index` of `shuffle_id`.
    pub fn new(shuffle_id: ShuffleId, map_index: usize, partitioner: Arc<dyn Partitioner>) -> Self {
        let reduce_partitions = partitioner.num_partitions();
        ShuffleWriter {
            shuffle_id,
            map_index,
            partitioner,
            writers: (0..reduce_partitions).map(|_| None).collect(),
            records_written: 0,
        }
    }

    /// Splits `batch` among reduce partitions and appends each piece to its stream.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (reduce_partition, piece) in self.partitioner.partition(batch)? {
            if piece.num_rows() == 0 {
                continue;
            }
            let reduce_partitions = self.writers.len();
            let slot = self.writers.get_mut(reduce_partition).ok_or_else(|| {
                EmberError::internal(format!(
                    "partitioner {} sent rows to reduce partition {reduce_partition}, \
                     but it has only {reduce_partitions} partitions",
                    self.partitioner.describe()
                ))
            })?;
            let writer = match slot {
                Some(writer) => writer,
                None => slot.insert(StreamWriter::try_new(Vec::new(), &piece.schema())?),
            };
            writer.write(&piece)?;
            self.records_written += piece.num_rows() as u64;
        }
        Ok(())
    }

    /// Closes every stream, stores the blocks in the executor's block store and returns the
    /// map status to report to the driver.
    pub fn finish(self, cx: &TaskContext) -> Result<MapStatus> {
        let store = &cx.env().block_store;
        let mut block_sizes = vec![0u64; self.writers.len()];
        for (reduce_partition, writer) in self.writers.into_iter().enumerate() {
            let Some(mut writer) = writer else { continue };
            writer.finish()?;
            let bytes = writer.into_inner()?;
            let size = bytes.len() as u64;
            let id = ShuffleBlockId::new(self.shuffle_id, self.map_index, reduce_partition);
            if let BlockPlacement::Disk(spilled) = store.put_block(id, bytes)? {
                cx.metrics().add_spill_bytes(spilled);
            }
            cx.kill_point(KillPoint::ShuffleWriteDuring);
            block_sizes[reduce_partition] = size;
            cx.metrics().add_shuffle_bytes_written(size);
        }
        cx.metrics()
            .add_shuffle_records_written(self.records_written);
        Ok(MapStatus {
            executor_id: cx.executor_id().clone(),
            task_id: cx.task_id(),
            block_sizes,
        })
    }
}

/// Runs map task `cx.partition()` of `dependency`: computes that partition of the map-side
/// RDD and writes it through a [`ShuffleWriter`].
pub fn run_map_task(dependency: &ShuffleDependency, cx: &TaskContext) -> Result<MapStatus> {
    let mut writer = ShuffleWriter::new(
        dependency.shuffle_id,
        cx.partition(),
        dependency.partitioner.clone(),
    );
    for batch in dependency.rdd.compute(cx.partition(), cx)? {
        cx.check_cancelled()?;
        let batch = batch?;
        cx.metrics().add_rows_out(batch.num_rows() as u64);
        cx.metrics().add_batches_out(1);
        writer.write(&batch)?;
    }
    cx.kill_point(KillPoint::ShuffleWriteBefore);
    let status = writer.finish(cx)?;
    cx.kill_point(KillPoint::ShuffleWriteAfter);
    Ok(status)
}
