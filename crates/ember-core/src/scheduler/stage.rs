//! A stage as the DAG scheduler tracks it: its RDD, parents, jobs, state and running tasks.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use ember_common::{EmberConf, JobId, StageId};

use super::job_summary::StageSummary;
use crate::task_metrics::TaskMetricsSnapshot;
use crate::{Rdd, ShuffleDependency};

/// What the stage's tasks produce.
#[derive(Debug, Clone)]
pub(crate) enum StageKind {
    /// Map outputs of a shuffle, consumed by later stages.
    ShuffleMap(Arc<ShuffleDependency>),
    /// The batches of the job's final RDD.
    Result { job_id: JobId },
}

/// Where a stage is in its life; see the diagram in `dag_scheduler/mod.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StageState {
    /// Created, not submitted yet (or about to be resubmitted).
    Idle,
    /// Submitted, but some parent stage's outputs are missing.
    Waiting,
    /// Its missing tasks are running.
    Running,
    /// Every output exists (shuffle map stage) or every partition returned (result stage).
    Available,
    /// A task could not fetch its input; waits for `ResubmitFailedStages`.
    Failed,
}

#[derive(Debug)]
pub(crate) struct Stage {
    pub id: StageId,
    pub rdd: Arc<dyn Rdd>,
    pub kind: StageKind,
    pub parents: Vec<StageId>,
    /// Active jobs that need this stage.
    pub jobs: BTreeSet<JobId>,
    /// The configuration of the job that created the stage.
    pub conf: Arc<EmberConf>,
    pub state: StageState,
    /// The latest submission of the stage (0 for the first); `None` before it ran.
    pub attempt: Option<usize>,
    /// Partitions of the latest submission that have not succeeded yet.
    pub pending: BTreeSet<usize>,
    /// Attempts launched per partition (the next attempt number).
    pub task_attempts: HashMap<usize, usize>,
    /// Failed attempts per partition, for `ember.task.maxFailures`.
    pub task_failures: HashMap<usize, usize>,
    /// Submissions that ended in a fetch failure.
    pub fetch_failures: usize,
    /// Shared by every task of the stage; set to stop them.
    pub cancel: Arc<AtomicBool>,
    pub first_submitted: Option<Instant>,
    pub metrics: TaskMetricsSnapshot,
    pub partitions_run: BTreeSet<usize>,
}

impl Stage {
    pub fn new(
        id: StageId,
        rdd: Arc<dyn Rdd>,
        kind: StageKind,
        parents: Vec<StageId>,
        conf: Arc<EmberConf>,
    ) -> Self {
        Stage {
            id,
            rdd,
            kind,
            parents,
            jobs: BTreeSet::new(),
            conf,
            state: StageState::Idle,
            attempt: None,
            pending: BTreeSet::new(),
            task_attempts: HashMap::new(),
            task_failures: HashMap::new(),
            fetch_failures: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            first_submitted: None,
            metrics: TaskMetricsSnapshot::default(),
            partitions_run: BTreeSet::new(),
        }
    }

    /// For logs and summaries, e.g. `ShuffleMapStage 2 (shuffle 0) on ParallelCollectionRdd[1]`.
    pub fn name(&self) -> String {
        match &self.kind {
            StageKind::ShuffleMap(dependency) => format!(
                "ShuffleMapStage {} ({}) on {}",
                self.id.0,
                dependency.shuffle_id,
                self.rdd.name()
            ),
            StageKind::Result { .. } => format!("ResultStage {} on {}", self.id.0, self.rdd.name()),
        }
    }

    /// The next attempt number for `partition`, counting it as launched.
    pub fn next_task_attempt(&mut self, partition: usize) -> usize {
        let next = self.task_attempts.entry(partition).or_insert(0);
        let attempt = *next;
        *next += 1;
        self.partitions_run.insert(partition);
        attempt
    }

    pub fn summary(&self) -> StageSummary {
        StageSummary {
            stage_id: self.id,
            name: self.name(),
            shuffle_id: match &self.kind {
                StageKind::ShuffleMap(dependency) => Some(dependency.shuffle_id),
                StageKind::Result { .. } => None,
            },
            num_tasks: self.partitions_run.len(),
            attempts: self.task_attempts.values().sum(),
            duration: self
                .first_submitted
                .map(|t| t.elapsed())
                .unwrap_or_default(),
            rows_out: self.metrics.rows_out,
            shuffle_bytes_written: self.metrics.shuffle_bytes_written,
            shuffle_records_written: self.metrics.shuffle_records_written,
            shuffle_bytes_read: self.metrics.shuffle_bytes_read,
            shuffle_records_read: self.metrics.shuffle_records_read,
            spill_bytes: self.metrics.spill_bytes,
        }
    }
}
