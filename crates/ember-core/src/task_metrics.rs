//! Per-task counters (rows, batches, shuffle and spill bytes) that operators and the task runner add to.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one task attempt, shared by every operator of the task's fragment.
///
/// `rows_out` and `batches_out` are counted by the task runner for what the whole fragment
/// emits (rows written to the shuffle by a map task, rows returned by a result task); the
/// shuffle writer and reader and the spilling parts add the other counters. All counters
/// only grow and can be read at any time, including after the task has ended.
#[derive(Debug, Default)]
pub struct TaskMetrics {
    rows_out: AtomicU64,
    batches_out: AtomicU64,
    shuffle_bytes_written: AtomicU64,
    shuffle_bytes_read: AtomicU64,
    shuffle_records_written: AtomicU64,
    shuffle_records_read: AtomicU64,
    spill_bytes: AtomicU64,
}

/// A plain copy of [`TaskMetrics`] at one moment, which can be summed over tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskMetricsSnapshot {
    /// Rows emitted.
    pub rows_out: u64,
    /// Batches emitted.
    pub batches_out: u64,
    /// Shuffle block bytes written.
    pub shuffle_bytes_written: u64,
    /// Shuffle block bytes read.
    pub shuffle_bytes_read: u64,
    /// Rows written to shuffle blocks.
    pub shuffle_records_written: u64,
    /// Rows read from shuffle blocks.
    pub shuffle_records_read: u64,
    /// Bytes spilled to disk.
    pub spill_bytes: u64,
}

impl TaskMetrics {
    /// Adds rows emitted by the task.
    pub fn add_rows_out(&self, rows: u64) {
        self.rows_out.fetch_add(rows, Ordering::Relaxed);
    }

    /// Adds batches emitted by the task.
    pub fn add_batches_out(&self, batches: u64) {
        self.batches_out.fetch_add(batches, Ordering::Relaxed);
    }

    /// Adds bytes of shuffle blocks written (Arrow IPC stream bytes).
    pub fn add_shuffle_bytes_written(&self, bytes: u64) {
        self.shuffle_bytes_written
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds bytes of shuffle blocks read.
    pub fn add_shuffle_bytes_read(&self, bytes: u64) {
        self.shuffle_bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds rows written to shuffle blocks.
    pub fn add_shuffle_records_written(&self, rows: u64) {
        self.shuffle_records_written
            .fetch_add(rows, Ordering::Relaxed);
    }

    /// Adds rows read from shuffle blocks.
    pub fn add_shuffle_records_read(&self, rows: u64) {
        self.shuffle_records_read.fetch_add(rows, Ordering::Relaxed);
    }

    /// Adds bytes written to disk because memory ran out (shuffle blocks, sort runs, hash tables).
    pub fn add_spill_bytes(&self, bytes: u64) {
        self.spill_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Rows emitted so far.
    pub fn rows_out(&self) -> u64 {
        self.rows_out.load(Ordering::Relaxed)
    }

    /// Batches emitted so far.
    pub fn batches_out(&self) -> u64 {
        self.batches_out.load(Ordering::Relaxed)
    }

    /// Shuffle block bytes written so far.
    pub fn shuffle_bytes_written(&self) -> u64 {
        self.shuffle_bytes_written.load(Ordering::Relaxed)
    }

    /// Shuffle block bytes read so far.
    pub fn shuffle_bytes_read(&self) -> u64 {
        self.shuffle_bytes_read.load(Ordering::Relaxed)
    }

    /// Rows written to shuffle blocks so far.
    pub fn shuffle_records_written(&self) -> u64 {
        self.shuffle_records_written.load(Ordering::Relaxed)
    }

    /// Rows read from shuffle blocks so far.
    pub fn shuffle_records_read(&self) -> u64 {
        self.shuffle_records_read.load(Ordering::Relaxed)
    }

    /// Bytes spilled so far.
    pub fn spill_bytes(&self) -> u64 {
        self.spill_bytes.load(Ordering::Relaxed)
    }

    /// The current values of every counter.
    pub fn snapshot(&self) -> TaskMetricsSnapshot {
        TaskMetricsSnapshot {
            rows_out: self.rows_out(),
            batches_out: self.batches_out(),
            shuffle_bytes_written: self.shuffle_bytes_written(),
            shuffle_bytes_read: self.shuffle_bytes_read(),
            shuffle_records_written: self.shuffle_records_written(),
            shuffle_records_read: self.shuffle_records_read(),
            spill_bytes: self.spill_bytes(),
        }
    }
}

impl TaskMetricsSnapshot {
    /// Adds another task's counters to these (how a stage sums its tasks).
    pub fn add(&mut self, other: &TaskMetricsSnapshot) {
        self.rows_out += other.rows_out;
        self.batches_out += other.batches_out;
        self.shuffle_bytes_written += other.shuffle_bytes_written;
        self.shuffle_bytes_read += other.shuffle_bytes_read;
        self.shuffle_records_written += other.shuffle_records_written;
        self.shuffle_records_read += other.shuffle_records_read;
        self.spill_bytes += other.spill_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_accumulate_and_snapshots_sum() {
        let metrics = TaskMetrics::default();
        metrics.add_rows_out(10);
        metrics.add_rows_out(5);
        metrics.add_spill_bytes(7);
        metrics.add_shuffle_bytes_written(100);
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.rows_out, 15);
        assert_eq!(snapshot.spill_bytes, 7);
        let mut total = snapshot;
        total.add(&snapshot);
        assert_eq!(total.rows_out, 30);
        assert_eq!(total.shuffle_bytes_written, 200);
        assert_eq!(total.batches_out, 0);
    }
}
