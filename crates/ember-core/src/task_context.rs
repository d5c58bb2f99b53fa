//! What a running task knows about itself and where it reads shuffle input from.
//!
//! The task scheduler creates one `TaskContext` per task attempt and passes it to
//! `Rdd::compute`. It is cheap to clone (every field is shared), so a lazy batch iterator
//! can keep a clone to check for cancellation and add to the metrics while it is pulled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ember_common::{EmberConf, EmberError, ExecutorId, Result, ShuffleId, StageId, TaskId};

use crate::executor_env::ExecutorEnv;
use crate::fault::KillPoint;
use crate::shuffle::ShuffleReader;
use crate::task_metrics::TaskMetrics;
use crate::BatchIter;

/// Which attempt of which task a [`TaskContext`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskAttempt {
    /// The stage the task belongs to.
    pub stage_id: StageId,
    /// The partition it computes.
    pub partition: usize,
    /// 0 for the first attempt of this partition in this stage.
    pub attempt: usize,
    /// Unique per attempt.
    pub task_id: TaskId,
}

/// The context of one task attempt.
#[derive(Debug, Clone)]
pub struct TaskContext {
    attempt: TaskAttempt,
    conf: Arc<EmberConf>,
    env: Arc<ExecutorEnv>,
    cancelled: Arc<AtomicBool>,
    metrics: Arc<TaskMetrics>,
}

impl TaskContext {
    /// A context for `attempt`, running on the executor `env` with the job's configuration.
    /// Setting `cancelled` asks the task to stop.
    pub fn new(
        attempt: TaskAttempt,
        conf: Arc<EmberConf>,
        env: Arc<ExecutorEnv>,
        cancelled: Arc<AtomicBool>,
    ) -> Self {
        TaskContext {
            attempt,
            conf,
            env,
            cancelled,
            metrics: Arc::new(TaskMetrics::default()),
        }
    }

    /// A context for operator unit tests: stage 0, partition 0, first attempt, default
    /// configuration, executor "driver" with an empty shuffle store.
    pub fn for_tests() -> Self {
        Self::for_tests_with_conf(EmberConf::new())
    }

    /// Like [`TaskContext::for_tests`] with a given configuration.
    pub fn for_tests_with_conf(conf: EmberConf) -> Self {
        TaskContext::new(
            TaskAttempt {
                stage_id: StageId(0),
                partition: 0,
                attempt: 0,
                task_id: TaskId(0),
            },
            Arc::new(conf),
            Arc::new(ExecutorEnv::for_tests()),
            Arc::new(AtomicBool::new(false)),
        )
    }

    /// The stage this task belongs to.
    pub fn stage_id(&self) -> StageId {
        self.attempt.stage_id
    }

    /// The partition this task computes.
    pub fn partition(&self) -> usize {
        self.attempt.partition
    }

    /// 0 for the first attempt of this partition, 1 for its first retry, ...
    pub fn attempt(&self) -> usize {
        self.attempt.attempt
    }

    /// The id of this attempt.
    pub fn task_id(&self) -> TaskId {
        self.attempt.task_id
    }

    /// The executor running the task ("driver" in local mode).
    pub fn executor_id(&self) -> &ExecutorId {
        &self.env.executor_id
    }

    /// The job's configuration snapshot.
    pub fn conf(&self) -> &EmberConf {
        &self.conf
    }

    /// The executor's shared services (block store, map-output locations).
    pub fn env(&self) -> &Arc<ExecutorEnv> {
        &self.env
    }

    /// Counters of this task attempt.
    pub fn metrics(&self) -> &TaskMetrics {
        &self.metrics
    }

    /// Whether the job was cancelled; long-running loops should check this between batches.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// `Err(EmberError::Cancelled)` once the job was cancelled.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(EmberError::Cancelled(format!(
                "{} (partition {}, attempt {}) of {} was cancelled",
                self.task_id(),
                self.partition(),
                self.attempt(),
                self.stage_id()
            )))
        } else {
            Ok(())
        }
    }

    /// Ends this executor process here if the driver injected a fault at `point` into this
    /// task (see [`crate::fault`]).
    pub fn kill_point(&self, point: KillPoint) {
        if self.env.kill_at == Some(point) {
            let what = format!(
                "{} (partition {}, attempt {}) of stage {}",
                self.task_id(),
                self.partition(),
                self.attempt(),
                self.stage_id().0
            );
            crate::fault::kill_point(self.env.kill_at, point, &what);
        }
    }

    /// Asks the task to stop (what the scheduler does on job cancellation).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Reads every map task's block of `shuffle_id` for `reduce_partition`, decoding the
    /// Arrow IPC streams as the iterator is pulled. A map output that is missing gives
    /// `EmberError::FetchFailed` (here, or from the iterator if the block disappears later),
    /// which makes the scheduler rerun that map task.
    pub fn read_shuffle(
        &self,
        shuffle_id: ShuffleId,
        reduce_partition: usize,
    ) -> Result<BatchIter> {
        let reader = ShuffleReader::new(self.clone(), shuffle_id, reduce_partition)?;
        Ok(Box::new(reader))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_is_seen_by_clones() {
        let cx = TaskContext::for_tests();
        let clone = cx.clone();
        assert!(cx.check_cancelled().is_ok());
        cx.cancel();
        assert!(clone.is_cancelled());
        let err = clone.check_cancelled().unwrap_err();
        assert!(matches!(err, EmberError::Cancelled(_)), "{err}");
        assert_eq!(cx.executor_id().0, "driver");
    }

    #[test]
    fn reading_an_unknown_shuffle_fails_clearly() {
        let cx = TaskContext::for_tests();
        let err = cx.read_shuffle(ShuffleId(42), 0).err().unwrap();
        assert!(err.to_string().contains("shuffle 42"), "{err}");
    }
}
