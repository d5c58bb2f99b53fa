//! `local[N]`: N worker threads of this process pulling tasks from one queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, Sender};
use ember_common::{EmberError, Result};
use parking_lot::Mutex;

use super::task::{run_task, Task, TaskEnd, TaskReporter};
use super::task_scheduler::SchedulerBackend;
use crate::executor_env::ExecutorEnv;
use crate::task_metrics::TaskMetricsSnapshot;

/// One in-process executor ("driver") with `cores` worker threads.
pub struct LocalBackend {
    cores: usize,
    queue: Mutex<Option<Sender<(Task, TaskReporter)>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stopping: Arc<AtomicBool>,
}

impl LocalBackend {
    /// Starts `cores` (at least 1) worker threads running tasks against `env`.
    pub fn new(cores: usize, env: Arc<ExecutorEnv>) -> Result<Self> {
        let cores = cores.max(1);
        let (sender, receiver) = unbounded::<(Task, TaskReporter)>();
        let stopping = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::with_capacity(cores);
        for core in 0..cores {
            let receiver = receiver.clone();
            let env = env.clone();
            let stopping = stopping.clone();
            let worker = std::thread::Builder::new()
                .name(format!("ember-executor-{core}"))
                .stack_size(ember_common::THREAD_STACK_BYTES)
                .spawn(move || worker_loop(&receiver, &env, &stopping))
                .map_err(|e| EmberError::io(format!("executor thread {core}"), e))?;
            workers.push(worker);
        }
        Ok(LocalBackend {
            cores,
            queue: Mutex::new(Some(sender)),
            workers: Mutex::new(workers),
            stopping,
        })
    }
}

fn worker_loop(
    queue: &Receiver<(Task, TaskReporter)>,
    env: &Arc<ExecutorEnv>,
    stopping: &AtomicBool,
) {
    for (task, reporter) in queue.iter() {
        let end = if stopping.load(Ordering::Relaxed) || task.cancelled.load(Ordering::Relaxed) {
            // Cancelled while queued: report without running.
            TaskEnd {
                attempt: task.attempt,
                stage_attempt: task.stage_attempt,
                executor_id: env.executor_id.clone(),
                duration: Duration::ZERO,
                metrics: TaskMetricsSnapshot::default(),
                outcome: Err(EmberError::Cancelled(format!(
                    "{} was cancelled before it started",
                    task.attempt.task_id
                ))),
            }
        } else {
            run_task(&task, env)
        };
        reporter.report(end);
    }
}

impl SchedulerBackend for LocalBackend {
    fn name(&self) -> String {
        format!("local[{}]", self.cores)
    }

    fn total_cores(&self) -> usize {
        self.cores
    }

    fn launch_task(&self, task: Task, reporter: TaskReporter) -> Result<()> {
        let queue = self.queue.lock();
        let sender = queue
            .as_ref()
            .ok_or_else(|| EmberError::execution("the local executor was stopped"))?;
        sender
            .send((task, reporter))
            .map_err(|_| EmberError::execution("the local executor's worker threads are gone"))
    }

    fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        // Dropping the sender ends each worker's loop once the queue is drained.
        self.queue.lock().take();
        let current = std::thread::current().id();
        for worker in self.workers.lock().drain(..) {
            if worker.thread().id() == current {
                continue;
            }
            if worker.join().is_err() {
                log::warn!("an executor thread panicked while stopping");
            }
        }
    }
}

impl Drop for LocalBackend {
    fn drop(&mut self) {
        self.stop();
    }
}
