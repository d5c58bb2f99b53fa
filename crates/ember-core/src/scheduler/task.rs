//! One task: what it runs (a map or result fragment on one partition), how it ran, and the runner.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use ember_common::{EmberConf, EmberError, ExecutorId, JobId, Result};

use crate::executor_env::ExecutorEnv;
use crate::shuffle::shuffle_writer::run_map_task;
use crate::shuffle::MapStatus;
use crate::task_metrics::TaskMetricsSnapshot;
use crate::{Rdd, ShuffleDependency, TaskAttempt, TaskContext};

/// What a task does with the partition it computes.
#[derive(Debug, Clone)]
pub enum TaskKind {
    /// Writes the partition of the dependency's map-side RDD into shuffle blocks.
    ShuffleMap(Arc<ShuffleDependency>),
    /// Returns the partition's batches to the driver.
    Result,
}

/// One attempt at computing one partition of one stage.
#[derive(Debug, Clone)]
pub struct Task {
    /// The job the task was launched for (a shared shuffle stage may serve several).
    pub job_id: JobId,
    /// Which stage, partition and attempt.
    pub attempt: TaskAttempt,
    /// Which submission of the stage launched this task (stale attempts are told apart).
    pub stage_attempt: usize,
    /// Write shuffle blocks or return batches.
    pub kind: TaskKind,
    /// The RDD whose partition `attempt.partition` this task computes.
    pub rdd: Arc<dyn Rdd>,
    /// The job's configuration snapshot.
    pub conf: Arc<EmberConf>,
    /// Set by the scheduler when the task's job is cancelled.
    pub cancelled: Arc<AtomicBool>,
}

/// What a successful task produced.
#[derive(Debug)]
pub enum TaskOutput {
    /// A map task's blocks and their sizes.
    MapStatus(MapStatus),
    /// A result task's batches.
    Batches(Vec<RecordBatch>),
}

/// How a task attempt ended, as reported back to the DAG scheduler.
#[derive(Debug)]
pub struct TaskEnd {
    /// Which stage, partition and attempt ended.
    pub attempt: TaskAttempt,
    /// The stage submission that launched the task.
    pub stage_attempt: usize,
    /// Where the task ran.
    pub executor_id: ExecutorId,
    /// Wall time of the attempt.
    pub duration: Duration,
    /// The attempt's counters.
    pub metrics: TaskMetricsSnapshot,
    /// What it produced, or why it failed.
    pub outcome: Result<TaskOutput>,
}

/// Where backends send finished tasks; the DAG scheduler turns each into an event.
#[derive(Clone)]
pub struct TaskReporter(Arc<dyn Fn(TaskEnd) + Send + Sync>);

impl TaskReporter {
    /// A reporter calling `report` for every finished task.
    pub fn new(report: impl Fn(TaskEnd) + Send + Sync + 'static) -> Self {
        TaskReporter(Arc::new(report))
    }

    /// Hands one finished task to the scheduler.
    pub fn report(&self, end: TaskEnd) {
        (self.0)(end)
    }
}

impl fmt::Debug for TaskReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskReporter")
    }
}

/// Runs `task` on the executor `env` and says how it ended. Never panics: a panic inside
/// the task's code becomes an internal error of that task.
pub fn run_task(task: &Task, env: &Arc<ExecutorEnv>) -> TaskEnd {
    let started = Instant::now();
    let cx = TaskContext::new(
        task.attempt,
        task.conf.clone(),
        env.clone(),
        task.cancelled.clone(),
    );
    let outcome = match catch_unwind(AssertUnwindSafe(|| execute(task, &cx))) {
        Ok(outcome) => outcome.map_err(EmberError::into_root),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            Err(EmberError::internal(format!(
                "{} (partition {}) panicked: {message}",
                task.attempt.task_id, task.attempt.partition
            )))
        }
    };
    TaskEnd {
        attempt: task.attempt,
        stage_attempt: task.stage_attempt,
        executor_id: env.executor_id.clone(),
        duration: started.elapsed(),
        metrics: cx.metrics().snapshot(),
        outcome,
    }
}

fn execute(task: &Task, cx: &TaskContext) -> Result<TaskOutput> {
    cx.check_cancelled()?;
    match &task.kind {
        TaskKind::ShuffleMap(dependency) => run_map_task(dependency, cx).map(TaskOutput::MapStatus),
        TaskKind::Result => {
            let mut batches = Vec::new();
            for batch in task.rdd.compute(cx.partition(), cx)? {
                cx.check_cancelled()?;
                let batch = batch?;
                cx.metrics().add_rows_out(batch.num_rows() as u64);
                cx.metrics().add_batches_out(1);
                batches.push(batch);
            }
            Ok(TaskOutput::Batches(batches))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::FnRdd;
    use ember_common::{RddId, StageId, TaskId};

    fn task(rdd: Arc<dyn Rdd>) -> Task {
        Task {
            job_id: JobId(0),
            attempt: TaskAttempt {
                stage_id: StageId(1),
                partition: 0,
                attempt: 0,
                task_id: TaskId(5),
            },
            stage_attempt: 0,
            kind: TaskKind::Result,
            rdd,
            conf: Arc::new(EmberConf::new()),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    #[test]
    fn a_panicking_task_becomes_an_error() {
        let rdd = FnRdd::shared(RddId(1), 1, |_, _| panic!("boom in compute"));
        let end = run_task(&task(rdd), &Arc::new(ExecutorEnv::for_tests()));
        let err = end.outcome.unwrap_err();
        assert!(err.to_string().contains("boom in compute"), "{err}");
    }

    #[test]
    fn errors_carried_through_arrow_are_unwrapped() {
        let rdd = FnRdd::shared(RddId(1), 1, |_, _| {
            Err(EmberError::Arrow(arrow::error::ArrowError::from(
                EmberError::FetchFailed {
                    shuffle_id: 1,
                    map_index: 2,
                    reduce_partition: 0,
                    message: "gone".into(),
                },
            )))
        });
        let end = run_task(&task(rdd), &Arc::new(ExecutorEnv::for_tests()));
        assert!(matches!(
            end.outcome,
            Err(EmberError::FetchFailed { map_index: 2, .. })
        ));
    }
}
