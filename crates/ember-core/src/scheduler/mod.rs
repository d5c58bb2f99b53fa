//! Scheduling: the DAG scheduler (stages), the task scheduler and its backends (where tasks run).

pub mod dag_scheduler;
pub mod incremental_collect;
pub mod job_handle;
pub mod job_summary;
pub mod local_backend;
mod stage;
pub mod task;
pub mod task_scheduler;

pub use dag_scheduler::{DagScheduler, JobListener};
pub use incremental_collect::IncrementalCollectListener;
pub use job_handle::JobHandle;
pub use job_summary::{JobSummary, StageSummary};
pub use local_backend::LocalBackend;
pub use task::{run_task, Task, TaskEnd, TaskKind, TaskOutput, TaskReporter};
pub use task_scheduler::{ExecutorInfo, SchedulerBackend, TaskScheduler};
