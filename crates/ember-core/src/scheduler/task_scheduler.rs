//! The task scheduler: hands a stage's tasks to a backend that runs them on executor cores.

use ember_common::ids::IdGenerator;
use ember_common::{RddId, Result, ShuffleId, TaskId};

use super::task::{Task, TaskEnd, TaskReporter};
use crate::storage::CacheStatus;
use crate::task_metrics::TaskMetricsSnapshot;

/// Where tasks run. `LocalBackend` runs them on threads of this process; a cluster backend
/// (later) sends them to executor processes. A backend reports every launched task exactly
/// once through the given reporter, whether it succeeded, failed or was cancelled.
pub trait SchedulerBackend: Send + Sync {
    /// e.g. `local[4]`.
    fn name(&self) -> String;

    /// Executor cores available, the default number of partitions.
    fn total_cores(&self) -> usize;

    /// Queues `task` to run on a free core.
    fn launch_task(&self, task: Task, reporter: TaskReporter) -> Result<()>;

    /// Stops running tasks; queued tasks are dropped without running.
    fn stop(&self);

    /// The shuffle's query finished: executors may delete its blocks.
    fn remove_shuffle(&self, _shuffle_id: ShuffleId) {}

    /// The RDD was uncached: executors drop its cached partitions.
    fn remove_rdd(&self, _rdd: RddId) {}

    /// Where the cached partitions of `rdd` are, when they live outside this process.
    fn cache_status(&self, _rdd: RddId) -> Option<CacheStatus> {
        None
    }

    /// The executor processes tasks run on (none in local mode).
    fn executors(&self) -> Vec<ExecutorInfo> {
        Vec::new()
    }

    /// Executors lost since the backend started (none in local mode).
    fn executors_lost(&self) -> usize {
        0
    }
}

/// One executor process as the driver knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorInfo {
    /// The id the driver gave it at registration.
    pub id: String,
    /// `host:port` of its Flight service.
    pub address: String,
    /// Its process id (on its host).
    pub pid: u32,
    /// Task slots.
    pub cores: usize,
    /// Cached partitions it holds.
    pub cached_blocks: usize,
}

/// Gives task ids out and passes task sets to its backend.
///
/// Retrying failed tasks is decided by the DAG scheduler's event loop, which holds every
/// other piece of scheduling state; this type only places tasks.
pub struct TaskScheduler {
    backend: Box<dyn SchedulerBackend>,
    task_ids: IdGenerator,
}

impl TaskScheduler {
    /// A task scheduler placing tasks through `backend`.
    pub fn new(backend: Box<dyn SchedulerBackend>) -> Self {
        TaskScheduler {
            backend,
            task_ids: IdGenerator::new(),
        }
    }

    /// A fresh id for a task attempt.
    pub fn next_task_id(&self) -> TaskId {
        TaskId(self.task_ids.next())
    }

    /// Launches every task; one the backend refuses is reported as failed at once.
    pub fn submit_tasks(&self, tasks: Vec<Task>, reporter: &TaskReporter) {
        for task in tasks {
            let attempt = task.attempt;
            let stage_attempt = task.stage_attempt;
            if let Err(error) = self.backend.launch_task(task, reporter.clone()) {
                reporter.report(TaskEnd {
                    attempt,
                    stage_attempt,
                    executor_id: ember_common::ExecutorId("none".to_string()),
                    duration: std::time::Duration::ZERO,
                    metrics: TaskMetricsSnapshot::default(),
                    outcome: Err(error),
                });
            }
        }
    }

    /// Executor cores of the backend.
    pub fn default_parallelism(&self) -> usize {
        self.backend.total_cores()
    }

    /// The backend's name, e.g. `local[4]`.
    pub fn backend_name(&self) -> String {
        self.backend.name()
    }

    /// Lets the backend's executors delete the shuffle's blocks.
    pub fn remove_shuffle(&self, shuffle_id: ShuffleId) {
        self.backend.remove_shuffle(shuffle_id);
    }

    /// Lets the backend's executors drop the RDD's cached partitions.
    pub fn remove_rdd(&self, rdd: RddId) {
        self.backend.remove_rdd(rdd);
    }

    /// The backend's record of the RDD's cached partitions, if it keeps them elsewhere.
    pub fn cache_status(&self, rdd: RddId) -> Option<CacheStatus> {
        self.backend.cache_status(rdd)
    }

    /// The backend's executor processes.
    pub fn executors(&self) -> Vec<ExecutorInfo> {
        self.backend.executors()
    }

    /// Executors the backend lost since it started.
    pub fn executors_lost(&self) -> usize {
        self.backend.executors_lost()
    }

    /// Stops the backend; queued tasks do not run.
    pub fn stop(&self) {
        self.backend.stop();
    }
}
