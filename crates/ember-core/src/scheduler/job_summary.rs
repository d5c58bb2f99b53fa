//! What a finished job reports: its stages with task counts, times, rows and shuffle bytes.

use std::fmt;
use std::time::Duration;

use ember_common::{JobId, ShuffleId, StageId};

/// The work one stage did for a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSummary {
    /// The stage's id.
    pub stage_id: StageId,
    /// e.g. `ShuffleMapStage 3 (shuffle 1) on ParallelCollectionRdd[0]`.
    pub name: String,
    /// The shuffle a map stage writes; `None` for the result stage.
    pub shuffle_id: Option<ShuffleId>,
    /// Distinct partitions computed.
    pub num_tasks: usize,
    /// Task attempts launched, counting retries and reruns.
    pub attempts: usize,
    /// From the stage's first submission to its completion.
    pub duration: Duration,
    /// Rows the stage's tasks emitted.
    pub rows_out: u64,
    /// Bytes of shuffle blocks written.
    pub shuffle_bytes_written: u64,
    /// Rows written to shuffle blocks.
    pub shuffle_records_written: u64,
    /// Bytes of shuffle blocks read.
    pub shuffle_bytes_read: u64,
    /// Rows read from shuffle blocks.
    pub shuffle_records_read: u64,
    /// Bytes spilled to disk.
    pub spill_bytes: u64,
}

/// The stages a job ran, in the order they completed. Shuffle stages whose output already
/// existed (from an earlier job) were skipped and are not listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// The job's id.
    pub job_id: JobId,
    /// From submission to the last result.
    pub duration: Duration,
    /// The stages the job ran, in completion order.
    pub stages: Vec<StageSummary>,
}

impl JobSummary {
    /// Rows returned by the job's result stage.
    pub fn result_rows(&self) -> u64 {
        self.stages.last().map(|s| s.rows_out).unwrap_or(0)
    }

    /// Bytes spilled to disk by every stage.
    pub fn spill_bytes(&self) -> u64 {
        self.stages.iter().map(|s| s.spill_bytes).sum()
    }

    /// Task attempts launched by every stage.
    pub fn task_attempts(&self) -> usize {
        self.stages.iter().map(|s| s.attempts).sum()
    }
}

impl fmt::Display for JobSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} finished in {:?}", self.job_id, self.duration)?;
        for s in &self.stages {
            writeln!(
                f,
                "  {}: {} tasks ({} attempts) in {:?}, {} rows out, shuffle {} B / {} rows written, {} B read, {} B spilled",
                s.name,
                s.num_tasks,
                s.attempts,
                s.duration,
                s.rows_out,
                s.shuffle_bytes_written,
                s.shuffle_records_written,
                s.shuffle_bytes_read,
                s.spill_bytes
            )?;
        }
        Ok(())
    }
}
