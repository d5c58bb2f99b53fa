//! The DAG scheduler: cuts a job's lineage into stages at shuffles and runs them in order.
//!
//! It owns, on one event-loop thread, everything about stages: which exist (one shuffle map
//! stage per shuffle id, one result stage per job), which jobs need them, which are waiting
//! for parents, which tasks are outstanding, how often each partition has failed, and when
//! a fetch failure means a parent's outputs must be recomputed. It leaves to the
//! [`TaskScheduler`] and its backend where and on which core each task runs, and to the
//! [`MapOutputTracker`] the record of which map outputs exist.
//!
//! Stage states:
//!
//! ```text
//!            submit_stage
//!   Idle ────────────────────┬──────────────────────────────┐
//!    ▲                       │ a parent's outputs missing   │ all parents available
//!    │                       ▼                              ▼
//!    │                   Waiting ──parents available──▶ Running ──all tasks done──▶ Available
//!    │                                                   │   │                        │
//!    │                  task failed < maxFailures: retry ┘   │ fetch failure          │ outputs lost
//!    │                                                       ▼ (also marks the        │ (fetch failure
//!    └──────────── ResubmitFailedStages ──────────────── Failed   parent map stage)   │  in a child)
//!                                                            ▲                        │
//!                                                            └────────────────────────┘
//!   task failed maxFailures times, or too many fetch failures: the stage aborts and
//!   every job that needs it fails.
//! ```
//!
//! A shuffle map stage whose outputs all exist (from an earlier job) is skipped. Stages are
//! dropped when no active job needs them; their map outputs stay in the tracker until
//! `remove_shuffle`, so a later job over the same shuffle skips the map side.
//!
//! Retries of failed tasks are decided here rather than in the task scheduler, so that all
//! scheduling state has a single owner.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use ember_common::ids::IdGenerator;
use ember_common::{EmberConf, EmberError, JobId, Result, ShuffleId, StageId};
use parking_lot::Mutex;

use super::job_handle::JobHandle;
use super::job_summary::{JobSummary, StageSummary};
use super::stage::{Stage, StageKind, StageState};
use super::task::{Task, TaskEnd, TaskKind, TaskOutput, TaskReporter};
use super::task_scheduler::TaskScheduler;
use crate::shuffle::MapOutputTracker;
use crate::storage::BlockManager;
use crate::task_metrics::TaskMetricsSnapshot;
use crate::{Dependency, Rdd, ShuffleDependency, TaskAttempt};

/// Submissions of one stage that may end in fetch failures before its jobs fail
/// (Spark's `spark.stage.maxConsecutiveAttempts`).
const MAX_STAGE_FETCH_FAILURES: usize = 4;

/// How long the event loop may go without an event before it checks that every active job
/// can still make progress (see [`EventLoop::check_progress`]).
const PROGRESS_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Receives the results of one job, on the scheduler's thread.
pub trait JobListener: Send + fmt::Debug {
    /// Partition `partition` of the final RDD finished with these batches.
    fn partition_finished(&mut self, partition: usize, batches: Vec<RecordBatch>);

    /// The job ended; called exactly once, after every `partition_finished`.
    fn job_finished(self: Box<Self>, outcome: Result<JobSummary>);
}

/// Facts about a finished task attempt carried by the task events.
#[derive(Debug)]
pub(crate) struct TaskInfo {
    pub attempt: TaskAttempt,
    pub stage_attempt: usize,
    pub executor_id: ember_common::ExecutorId,
    pub duration: std::time::Duration,
    pub metrics: TaskMetricsSnapshot,
}

/// Everything the event loop reacts to.
#[derive(Debug)]
pub(crate) enum DagEvent {
    JobSubmitted {
        job_id: JobId,
        rdd: Arc<dyn Rdd>,
        partitions: Vec<usize>,
        conf: Arc<EmberConf>,
        listener: Box<dyn JobListener>,
    },
    TaskCompleted {
        info: TaskInfo,
        output: TaskOutput,
    },
    TaskFailed {
        info: TaskInfo,
        error: EmberError,
    },
    FetchFailed {
        info: TaskInfo,
        shuffle_id: ShuffleId,
        map_index: usize,
        reduce_partition: usize,
        message: String,
    },
    JobCancelled {
        job_id: JobId,
        reason: String,
    },
    AllJobsCancelled {
        reason: String,
    },
    ResubmitFailedStages,
    Shutdown,
}

impl DagEvent {
    fn from_task_end(end: TaskEnd) -> Self {
        let info = TaskInfo {
            attempt: end.attempt,
            stage_attempt: end.stage_attempt,
            executor_id: end.executor_id,
            duration: end.duration,
            metrics: end.metrics,
        };
        match end.outcome {
            Ok(output) => DagEvent::TaskCompleted { info, output },
            Err(EmberError::FetchFailed {
                shuffle_id,
                map_index,
                reduce_partition,
                message,
            }) => DagEvent::FetchFailed {
                info,
                shuffle_id: ShuffleId(shuffle_id),
                map_index,
                reduce_partition,
                message,
            },
            Err(error) => DagEvent::TaskFailed { info, error },
        }
    }
}

/// The driver's stage scheduler; see the module doc.
pub struct DagScheduler {
    events: Sender<DagEvent>,
    job_ids: IdGenerator,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl DagScheduler {
    /// Starts the event loop thread.
    pub fn start(
        task_scheduler: Arc<TaskScheduler>,
        tracker: Arc<MapOutputTracker>,
        block_manager: Arc<BlockManager>,
    ) -> Result<Self> {
        let (events, receiver) = unbounded();
        let reporter = {
            let events = events.clone();
            TaskReporter::new(move |end| {
                // Fails only once the loop has stopped, when no one needs the result.
                let _ = events.send(DagEvent::from_task_end(end));
            })
        };
        let event_loop = EventLoop {
            task_scheduler,
            tracker,
            block_manager,
            reporter,
            self_events: events.clone(),
            stage_ids: IdGenerator::new(),
            stages: HashMap::new(),
            shuffle_to_stage: HashMap::new(),
            jobs: HashMap::new(),
        };
        let thread = std::thread::Builder::new()
            .name("ember-dag-scheduler".to_string())
            .stack_size(ember_common::THREAD_STACK_BYTES)
            .spawn(move || event_loop.run(&receiver))
            .map_err(|e| EmberError::io("DAG scheduler thread", e))?;
        Ok(DagScheduler {
            events,
            job_ids: IdGenerator::new(),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Submits a job computing `partitions` of `rdd`; results go to `listener`.
    pub fn submit_job(
        &self,
        rdd: Arc<dyn Rdd>,
        partitions: Vec<usize>,
        conf: Arc<EmberConf>,
        listener: Box<dyn JobListener>,
    ) -> Result<JobId> {
        check_partitions(&rdd, &partitions)?;
        let job_id = JobId(self.job_ids.next());
        self.events
            .send(DagEvent::JobSubmitted {
                job_id,
                rdd,
                partitions,
                conf,
                listener,
            })
            .map_err(|_| EmberError::execution("the DAG scheduler was stopped"))?;
        Ok(job_id)
    }

    /// Submits a job whose results stream to the returned handle.
    pub fn submit_job_with_handle(
        &self,
        rdd: Arc<dyn Rdd>,
        partitions: Vec<usize>,
        conf: Arc<EmberConf>,
    ) -> Result<JobHandle> {
        check_partitions(&rdd, &partitions)?;
        let job_id = JobId(self.job_ids.next());
        let (handle, listener) = JobHandle::new(job_id, self.events.clone());
        self.events
            .send(DagEvent::JobSubmitted {
                job_id,
                rdd,
                partitions,
                conf,
                listener: Box::new(listener),
            })
            .map_err(|_| EmberError::execution("the DAG scheduler was stopped"))?;
        Ok(handle)
    }

    /// Cancels a job: its tasks are asked to stop and it fails with `EmberError::Cancelled`.
    /// Unknown or finished jobs are ignored.
    pub fn cancel_job(&self, job_id: JobId, reason: &str) {
        let _ = self.events.send(DagEvent::JobCancelled {
            job_id,
            reason: reason.to_string(),
        });
    }

    /// Cancels every active job (Spark's `cancelAllJobs`): the shell's Ctrl-C.
    pub fn cancel_all_jobs(&self, reason: &str) {
        let _ = self.events.send(DagEvent::AllJobsCancelled {
            reason: reason.to_string(),
        });
    }

    /// Fails every active job and stops the event loop; waits for it to end.
    pub fn stop(&self) {
        let _ = self.events.send(DagEvent::Shutdown);
        if let Some(thread) = self.thread.lock().take() {
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                log::error!("the DAG scheduler thread panicked");
            }
        }
    }
}

impl Drop for DagScheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A job being run: which partitions it wants, which have returned, and where results go.
#[derive(Debug)]
struct ActiveJob {
    final_stage: StageId,
    partitions: Vec<usize>,
    finished: HashSet<usize>,
    listener: Box<dyn JobListener>,
    started: Instant,
    stages: Vec<StageSummary>,
    /// Bytes of the result batches handed to the listener so far.
    result_bytes: u64,
    /// `ember.driver.maxResultSize`: the job fails when its results grow past this.
    max_result_bytes: Option<u64>,
}

impl ActiveJob {
    fn unfinished(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .partitions
            .iter()
            .copied()
            .filter(|p| !self.finished.contains(p))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn all_finished(&self) -> bool {
        self.partitions.iter().all(|p| self.finished.contains(p))
    }

    /// Keeps the latest summary of each stage, in the order stages first completed.
    fn record_stage(&mut self, summary: StageSummary) {
        match self
            .stages
            .iter_mut()
            .find(|s| s.stage_id == summary.stage_id)
        {
            Some(existing) => *existing = summary,
            None => self.stages.push(summary),
        }
    }
}

struct EventLoop {
    /// Where persisted partitions are: an RDD held whole needs none of its parents' stages.
    block_manager: Arc<BlockManager>,
    task_scheduler: Arc<TaskScheduler>,
    tracker: Arc<MapOutputTracker>,
    reporter: TaskReporter,
    self_events: Sender<DagEvent>,
    stage_ids: IdGenerator,
    stages: HashMap<StageId, Stage>,
    shuffle_to_stage: HashMap<ShuffleId, StageId>,
    jobs: HashMap<JobId, ActiveJob>,
}

impl EventLoop {
    fn run(mut self, events: &Receiver<DagEvent>) {
        loop {
            let event = match events.recv_timeout(PROGRESS_CHECK_INTERVAL) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => {
                    self.check_progress();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            match event {
                DagEvent::Shutdown => {
                    self.shutdown();
                    return;
                }
                DagEvent::JobSubmitted {
                    job_id,
                    rdd,
                    partitions,
                    conf,
                    listener,
                } => self.handle_job_submitted(job_id, rdd, partitions, conf, listener),
                DagEvent::TaskCompleted { info, output } => {
                    self.handle_task_completed(info, output)
                }
                DagEvent::TaskFailed { info, error } => self.handle_task_failed(info, error),
                DagEvent::FetchFailed {
                    info,
                    shuffle_id,
                    map_index,
                    reduce_partition,
                    message,
                } => {
                    self.handle_fetch_failed(info, shuffle_id, map_index, reduce_partition, message)
                }
                DagEvent::JobCancelled { job_id, reason } => self.cancel_job(job_id, &reason),
                DagEvent::AllJobsCancelled { reason } => {
                    let jobs: BTreeSet<JobId> = self.jobs.keys().copied().collect();
                    for job_id in jobs {
                        self.cancel_job(job_id, &reason);
                    }
                }
                DagEvent::ResubmitFailedStages => self.resubmit_failed_stages(),
            }
        }
    }

    // ---- building stages -------------------------------------------------------------

    fn handle_job_submitted(
        &mut self,
        job_id: JobId,
        rdd: Arc<dyn Rdd>,
        partitions: Vec<usize>,
        conf: Arc<EmberConf>,
        listener: Box<dyn JobListener>,
    ) {
        log::info!(
            "Job {} submitted: {} partition(s) of {}",
            job_id.0,
            partitions.len(),
            rdd.name()
        );
        let parents = match self.parent_stages(&rdd, &conf) {
            Ok(parents) => parents,
            Err(error) => {
                listener.job_finished(Err(error));
                return;
            }
        };
        let max_result_bytes = conf
            .get_bytes_or_off("ember.driver.maxResultSize")
            .filter(|&limit| limit > 0);
        let stage_id = StageId(self.stage_ids.next());
        let stage = Stage::new(stage_id, rdd, StageKind::Result { job_id }, parents, conf);
        self.stages.insert(stage_id, stage);
        self.jobs.insert(
            job_id,
            ActiveJob {
                final_stage: stage_id,
                partitions,
                finished: HashSet::new(),
                listener,
                started: Instant::now(),
                result_bytes: 0,
                max_result_bytes,
                stages: Vec::new(),
            },
        );
        for id in self.stage_and_ancestors(stage_id) {
            if let Some(stage) = self.stages.get_mut(&id) {
                stage.jobs.insert(job_id);
            }
        }
        if self.jobs.get(&job_id).is_some_and(ActiveJob::all_finished) {
            self.finish_job(job_id);
            return;
        }
        self.submit_stage(stage_id);
    }

    /// The shuffle map stages `rdd` reads from directly (through narrow dependencies only).
    fn parent_stages(&mut self, rdd: &Arc<dyn Rdd>, conf: &Arc<EmberConf>) -> Result<Vec<StageId>> {
        let mut parents = Vec::new();
        let mut visited = HashSet::new();
        let mut to_visit = vec![rdd.clone()];
        while let Some(rdd) = to_visit.pop() {
            if !visited.insert(rdd.id()) {
                continue;
            }
            if rdd.fully_cached(&self.block_manager) {
                continue;
            }
            for dependency in rdd.dependencies() {
                match dependency {
                    Dependency::OneToOne(parent) => to_visit.push(parent),
                    Dependency::Range { rdd: parent, .. } => to_visit.push(parent),
                    Dependency::Shuffle(shuffle) => {
                        let stage = self.shuffle_map_stage(&shuffle, conf)?;
                        if !parents.contains(&stage) {
                            parents.push(stage);
                        }
                    }
                }
            }
        }
        Ok(parents)
    }

    /// The stage of a shuffle, created (with its own parents) the first time it is needed.
    fn shuffle_map_stage(
        &mut self,
        dependency: &Arc<ShuffleDependency>,
        conf: &Arc<EmberConf>,
    ) -> Result<StageId> {
        if let Some(&id) = self.shuffle_to_stage.get(&dependency.shuffle_id) {
            return Ok(id);
        }
        let parents = self.parent_stages(&dependency.rdd, conf)?;
        self.tracker
            .register_shuffle(dependency.shuffle_id, dependency.rdd.num_partitions());
        let id = StageId(self.stage_ids.next());
        let mut stage = Stage::new(
            id,
            dependency.rdd.clone(),
            StageKind::ShuffleMap(dependency.clone()),
            parents,
            conf.clone(),
        );
        if self.tracker.is_available(dependency.shuffle_id) {
            stage.state = StageState::Available;
        }
        self.stages.insert(id, stage);
        self.shuffle_to_stage.insert(dependency.shuffle_id, id);
        Ok(id)
    }

    fn stage_and_ancestors(&self, stage_id: StageId) -> Vec<StageId> {
        let mut out = Vec::new();
        let mut to_visit = vec![stage_id];
        while let Some(id) = to_visit.pop() {
            if out.contains(&id) {
                continue;
            }
            out.push(id);
            if let Some(stage) = self.stages.get(&id) {
                to_visit.extend(stage.parents.iter().copied());
            }
        }
        out
    }

    // ---- submitting stages and tasks --------------------------------------------------

    fn is_output_available(&self, stage_id: StageId) -> bool {
        match self.stages.get(&stage_id).map(|s| &s.kind) {
            Some(StageKind::ShuffleMap(dependency)) => {
                self.tracker.is_available(dependency.shuffle_id)
            }
            _ => false,
        }
    }

    /// Runs the stage if its parents' outputs exist, else submits the missing parents and
    /// leaves the stage waiting.
    fn submit_stage(&mut self, stage_id: StageId) {
        let Some(stage) = self.stages.get(&stage_id) else {
            return;
        };
        if matches!(
            stage.state,
            StageState::Waiting | StageState::Running | StageState::Failed
        ) {
            return;
        }
        if self.is_output_available(stage_id) {
            if let Some(stage) = self.stages.get_mut(&stage_id) {
                stage.state = StageState::Available;
            }
            return;
        }
        let missing: Vec<StageId> = stage
            .parents
            .iter()
            .copied()
            .filter(|&parent| !self.is_output_available(parent))
            .collect();
        if missing.is_empty() {
            self.submit_missing_tasks(stage_id);
            return;
        }
        if let Some(stage) = self.stages.get_mut(&stage_id) {
            log::debug!("{} waits for parent stage(s) {missing:?}", stage.name());
            stage.state = StageState::Waiting;
        }
        for parent in missing {
            self.submit_stage(parent);
        }
    }

    /// Launches a task for every partition of the stage whose output is missing.
    fn submit_missing_tasks(&mut self, stage_id: StageId) {
        let Some(stage) = self.stages.get(&stage_id) else {
            return;
        };
        let partitions = match &stage.kind {
            StageKind::ShuffleMap(dependency) => {
                self.tracker.missing_map_partitions(dependency.shuffle_id)
            }
            StageKind::Result { job_id } => self
                .jobs
                .get(job_id)
                .map(ActiveJob::unfinished)
                .unwrap_or_default(),
        };
        if partitions.is_empty() {
            if matches!(stage.kind, StageKind::ShuffleMap(_)) {
                self.mark_map_stage_available(stage_id);
            }
            return;
        }
        let Some(stage) = self.stages.get_mut(&stage_id) else {
            return;
        };
        let stage_attempt = stage.attempt.map_or(0, |a| a + 1);
        stage.attempt = Some(stage_attempt);
        stage.state = StageState::Running;
        stage.pending = partitions.iter().copied().collect();
        stage.first_submitted.get_or_insert_with(Instant::now);
        log::info!(
            "Submitting {} (attempt {stage_attempt}): {} task(s) for job(s) {:?}",
            stage.name(),
            partitions.len(),
            stage.jobs.iter().map(|j| j.0).collect::<Vec<_>>()
        );
        let tasks = partitions
            .into_iter()
            .map(|partition| Self::make_task(&self.task_scheduler, stage, partition))
            .collect();
        self.task_scheduler.submit_tasks(tasks, &self.reporter);
    }

    fn make_task(task_scheduler: &TaskScheduler, stage: &mut Stage, partition: usize) -> Task {
        let attempt = stage.next_task_attempt(partition);
        let kind = match &stage.kind {
            StageKind::ShuffleMap(dependency) => TaskKind::ShuffleMap(dependency.clone()),
            StageKind::Result { .. } => TaskKind::Result,
        };
        Task {
            job_id: stage.jobs.first().copied().unwrap_or(JobId(0)),
            attempt: TaskAttempt {
                stage_id: stage.id,
                partition,
                attempt,
                task_id: task_scheduler.next_task_id(),
            },
            stage_attempt: stage.attempt.unwrap_or(0),
            kind,
            rdd: stage.rdd.clone(),
            conf: stage.conf.clone(),
            cancelled: stage.cancel.clone(),
        }
    }

    fn mark_map_stage_available(&mut self, stage_id: StageId) {
        let Some(stage) = self.stages.get_mut(&stage_id) else {
            return;
        };
        stage.state = StageState::Available;
        let summary = stage.summary();
        log::info!(
            "{} finished in {:?}: {} task(s), {} attempt(s), {} rows, {} shuffle bytes written",
            summary.name,
            summary.duration,
            summary.num_tasks,
            summary.attempts,
            summary.rows_out,
            summary.shuffle_bytes_written
        );
        for job_id in stage.jobs.clone() {
            if let Some(job) = self.jobs.get_mut(&job_id) {
                job.record_stage(summary.clone());
            }
        }
        self.submit_waiting_stages();
    }

    /// The stages in `state`, oldest first.
    fn stages_in(&self, state: StageState) -> Vec<StageId> {
        let mut ids: Vec<StageId> = self
            .stages
            .values()
            .filter(|s| s.state == state)
            .map(|s| s.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Gives every waiting stage another look: one whose parents are all available runs, and
    /// one whose parent lost outputs after it began waiting (an executor died holding them)
    /// resubmits that parent. Without the second, a stage waiting on a finished parent whose
    /// outputs vanished would wait forever: nothing else would ever submit that parent.
    fn submit_waiting_stages(&mut self) {
        for stage_id in self.stages_in(StageState::Waiting) {
            match self.stages.get_mut(&stage_id) {
                // An earlier stage of this loop may have submitted it already.
                Some(stage) if stage.state == StageState::Waiting => stage.state = StageState::Idle,
                _ => continue,
            }
            // Runs it, or leaves it waiting and submits each missing parent that is not
            // running, waiting or about to be resubmitted.
            self.submit_stage(stage_id);
        }
    }

    /// Called when no event came for a while: a job can only be waiting for running tasks
    /// (whose ends the backend always reports) or for stages that wait on running parents.
    /// Waiting stages are looked at again, so that no job waits on a stage nobody runs, even
    /// if outputs were lost at a moment no event followed.
    fn check_progress(&mut self) {
        if self.jobs.is_empty() {
            return;
        }
        // A waiting stage is stuck when a parent whose outputs are missing is not being
        // computed (running, waiting for its own parents, or about to be resubmitted).
        let computing = |state: StageState| {
            matches!(
                state,
                StageState::Running | StageState::Waiting | StageState::Failed
            )
        };
        let stuck: Vec<StageId> = self
            .stages
            .values()
            .filter(|s| s.state == StageState::Waiting)
            .filter(|s| {
                s.parents.iter().any(|&parent| {
                    !self.is_output_available(parent)
                        && !self.stages.get(&parent).is_some_and(|p| computing(p.state))
                })
            })
            .map(|s| s.id)
            .collect();
        if !stuck.is_empty() {
            log::warn!(
                "stage(s) {stuck:?} waited on parents that no task was computing; resubmitting them"
            );
            self.submit_waiting_stages();
        }
    }

    // ---- task events ------------------------------------------------------------------

    fn handle_task_completed(&mut self, info: TaskInfo, output: TaskOutput) {
        let stage_id = info.attempt.stage_id;
        let partition = info.attempt.partition;
        let Some(stage) = self.stages.get_mut(&stage_id) else {
            log::debug!(
                "ignoring {} of removed stage {}",
                info.attempt.task_id,
                stage_id.0
            );
            return;
        };
        stage.metrics.add(&info.metrics);
        log_task_end(&info, "finished");
        match (&stage.kind, output) {
            (StageKind::Result { job_id }, TaskOutput::Batches(batches)) => {
                let job_id = *job_id;
                stage.pending.remove(&partition);
                let Some(job) = self.jobs.get_mut(&job_id) else {
                    return;
                };
                if job.partitions.contains(&partition) && job.finished.insert(partition) {
                    job.result_bytes += batches.iter().map(result_size).sum::<u64>();
                    if let Some(limit) = job.max_result_bytes.filter(|&l| job.result_bytes > l) {
                        let message = format!(
                            "Total size of the results of {} partition(s) ({} bytes) is bigger \
                             than ember.driver.maxResultSize ({limit} bytes); raise it, or \
                             write the result to a table (CREATE TABLE ... AS SELECT) instead \
                             of collecting it",
                            job.finished.len(),
                            job.result_bytes
                        );
                        self.fail_job(job_id, EmberError::execution(message));
                        return;
                    }
                    job.listener.partition_finished(partition, batches);
                }
                if job.all_finished() {
                    self.finish_job(job_id);
                }
            }
            (StageKind::ShuffleMap(dependency), TaskOutput::MapStatus(status)) => {
                let shuffle_id = dependency.shuffle_id;
                self.tracker
                    .register_map_output(shuffle_id, partition, status);
                stage.pending.remove(&partition);
                if stage.state == StageState::Running && stage.pending.is_empty() {
                    if self.tracker.is_available(shuffle_id) {
                        self.mark_map_stage_available(stage_id);
                    } else {
                        // Some outputs were lost while the stage ran: run those again.
                        log::info!(
                            "Resubmitting {} because map outputs {:?} are missing",
                            stage.name(),
                            self.tracker.missing_map_partitions(shuffle_id)
                        );
                        stage.state = StageState::Idle;
                        self.submit_stage(stage_id);
                    }
                }
            }
            (_, output) => {
                let message = format!(
                    "{} of {} returned {} output",
                    info.attempt.task_id,
                    stage.name(),
                    match output {
                        TaskOutput::MapStatus(_) => "a map status as",
                        TaskOutput::Batches(_) => "batches as",
                    }
                );
                self.abort_stage(stage_id, &EmberError::internal(message).to_string());
            }
        }
    }

    fn handle_task_failed(&mut self, info: TaskInfo, error: EmberError) {
        let stage_id = info.attempt.stage_id;
        let partition = info.attempt.partition;
        let Some(stage) = self.stages.get_mut(&stage_id) else {
            return;
        };
        stage.metrics.add(&info.metrics);
        let current = stage.state == StageState::Running
            && stage.attempt == Some(info.stage_attempt)
            && stage.pending.contains(&partition);
        if !current
            || (stage.cancel.load(Ordering::Relaxed) && matches!(error, EmberError::Cancelled(_)))
        {
            log::debug!(
                "ignoring failure of {} (stale attempt or cancelled stage): {error}",
                info.attempt.task_id
            );
            return;
        }
        log::warn!(
            "Lost task {} (partition {partition}, attempt {}) in stage {} on {}: {error}",
            info.attempt.task_id.0,
            info.attempt.attempt,
            stage_id.0,
            info.executor_id
        );
        let failures = stage.task_failures.entry(partition).or_insert(0);
        *failures += 1;
        let failures = *failures;
        let max_failures = stage.conf.get_usize("ember.task.maxFailures").max(1);
        if failures >= max_failures {
            let message = format!(
                "Job aborted: task {partition} in stage {} failed {failures} times; most recent failure: {error}",
                stage_id.0
            );
            self.abort_stage(stage_id, &message);
            return;
        }
        let task = Self::make_task(&self.task_scheduler, stage, partition);
        self.task_scheduler.submit_tasks(vec![task], &self.reporter);
    }

    fn handle_fetch_failed(
        &mut self,
        info: TaskInfo,
        shuffle_id: ShuffleId,
        map_index: usize,
        reduce_partition: usize,
        message: String,
    ) {
        let stage_id = info.attempt.stage_id;
        let Some(stage) = self.stages.get_mut(&stage_id) else {
            return;
        };
        stage.metrics.add(&info.metrics);
        // Only the first fetch failure of a running submission counts: the others of the
        // same submission saw the same loss, and counting them could unregister a map
        // output that was already recomputed.
        if stage.state != StageState::Running || stage.attempt != Some(info.stage_attempt) {
            log::debug!(
                "ignoring fetch failure of {} from an earlier submission of stage {}",
                info.attempt.task_id,
                stage_id.0
            );
            return;
        }
        log::warn!(
            "Fetch failed in {} ({} partition {}): {shuffle_id} map {map_index} reduce {reduce_partition}: {message}; \
             rerunning the lost map output",
            stage.name(),
            info.attempt.task_id,
            info.attempt.partition
        );
        stage.state = StageState::Failed;
        stage.pending.clear();
        stage.fetch_failures += 1;
        if stage.fetch_failures >= MAX_STAGE_FETCH_FAILURES {
            let message = format!(
                "Job aborted: stage {} failed {} times because shuffle output could not be fetched; \
                 most recent failure: {shuffle_id}, map {map_index}, reduce {reduce_partition}: {message}",
                stage_id.0, stage.fetch_failures
            );
            self.abort_stage(stage_id, &message);
            return;
        }
        self.tracker.unregister_map_output(shuffle_id, map_index);
        if let Some(map_stage) = self
            .shuffle_to_stage
            .get(&shuffle_id)
            .and_then(|id| self.stages.get_mut(id))
        {
            if map_stage.state != StageState::Running {
                map_stage.state = StageState::Failed;
            }
        }
        let _ = self.self_events.send(DagEvent::ResubmitFailedStages);
    }

    fn resubmit_failed_stages(&mut self) {
        let failed = self.stages_in(StageState::Failed);
        if failed.is_empty() {
            return;
        }
        log::info!("Resubmitting failed stages {failed:?}");
        for &stage_id in &failed {
            if let Some(stage) = self.stages.get_mut(&stage_id) {
                stage.state = StageState::Idle;
            }
        }
        for stage_id in failed {
            self.submit_stage(stage_id);
        }
    }

    // ---- ending jobs ------------------------------------------------------------------

    /// Fails every job that needs the stage.
    fn abort_stage(&mut self, stage_id: StageId, message: &str) {
        let jobs: Vec<JobId> = self
            .stages
            .get(&stage_id)
            .map(|s| s.jobs.iter().copied().collect())
            .unwrap_or_default();
        for job_id in jobs {
            self.fail_job(job_id, EmberError::execution(message));
        }
    }

    /// Fails an active job with `EmberError::Cancelled` (unknown or ended jobs are ignored).
    fn cancel_job(&mut self, job_id: JobId, reason: &str) {
        if self.jobs.contains_key(&job_id) {
            log::info!("Cancelling {job_id}: {reason}");
            self.fail_job(
                job_id,
                EmberError::Cancelled(format!("{job_id} was cancelled ({reason})")),
            );
        }
    }

    fn finish_job(&mut self, job_id: JobId) {
        let Some(mut job) = self.jobs.remove(&job_id) else {
            return;
        };
        if let Some(stage) = self.stages.get_mut(&job.final_stage) {
            stage.state = StageState::Available;
            let summary = stage.summary();
            log::info!(
                "{} finished in {:?}: {} task(s), {} attempt(s), {} rows",
                summary.name,
                summary.duration,
                summary.num_tasks,
                summary.attempts,
                summary.rows_out
            );
            job.record_stage(summary);
        }
        let summary = JobSummary {
            job_id,
            duration: job.started.elapsed(),
            stages: job.stages,
        };
        log::info!(
            "Job {} finished in {:?}: {} stage(s) run, {} task attempt(s), {} result rows",
            job_id.0,
            summary.duration,
            summary.stages.len(),
            summary.task_attempts(),
            summary.result_rows()
        );
        job.listener.job_finished(Ok(summary));
        self.forget_job(job_id);
    }

    fn fail_job(&mut self, job_id: JobId, error: EmberError) {
        let Some(job) = self.jobs.remove(&job_id) else {
            return;
        };
        log::info!(
            "Job {} failed after {:?}: {error}",
            job_id.0,
            job.started.elapsed()
        );
        job.listener.job_finished(Err(error));
        self.forget_job(job_id);
    }

    /// Drops the job from its stages, and the stages no other job needs (stopping their tasks).
    fn forget_job(&mut self, job_id: JobId) {
        let mut unused = Vec::new();
        for stage in self.stages.values_mut() {
            if stage.jobs.remove(&job_id) && stage.jobs.is_empty() {
                unused.push(stage.id);
            }
        }
        for stage_id in unused {
            if let Some(stage) = self.stages.remove(&stage_id) {
                stage.cancel.store(true, Ordering::Relaxed);
                if let StageKind::ShuffleMap(dependency) = &stage.kind {
                    if self.shuffle_to_stage.get(&dependency.shuffle_id) == Some(&stage_id) {
                        self.shuffle_to_stage.remove(&dependency.shuffle_id);
                    }
                }
            }
        }
    }

    fn shutdown(&mut self) {
        let jobs: BTreeSet<JobId> = self.jobs.keys().copied().collect();
        for job_id in jobs {
            self.fail_job(
                job_id,
                EmberError::Cancelled(format!("{job_id} was cancelled: the context was stopped")),
            );
        }
        for stage in self.stages.values() {
            stage.cancel.store(true, Ordering::Relaxed);
        }
    }
}

/// The bytes a result batch holds: its slices of the buffers, not the whole buffers it may
/// share with a larger batch (an aggregate's three rows can point into megabytes).
fn result_size(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|column| column.to_data().get_slice_memory_size().unwrap_or(0) as u64)
        .sum()
}

/// Every partition a job asks for must exist in its final RDD.
fn check_partitions(rdd: &Arc<dyn Rdd>, partitions: &[usize]) -> Result<()> {
    let num_partitions = rdd.num_partitions();
    match partitions.iter().find(|&&p| p >= num_partitions) {
        Some(bad) => Err(EmberError::execution(format!(
            "a job asked for partition {bad} of {}, which has {num_partitions} partitions",
            rdd.name()
        ))),
        None => Ok(()),
    }
}

fn log_task_end(info: &TaskInfo, how: &str) {
    log::info!(
        "Task {} (stage {} partition {} attempt {}) {how} on {} in {} ms: {} rows out, \
         {} shuffle bytes written, {} shuffle bytes read, {} bytes spilled",
        info.attempt.task_id.0,
        info.attempt.stage_id.0,
        info.attempt.partition,
        info.attempt.attempt,
        info.executor_id,
        info.duration.as_millis(),
        info.metrics.rows_out,
        info.metrics.shuffle_bytes_written,
        info.metrics.shuffle_bytes_read,
        info.metrics.spill_bytes
    );
}

#[cfg(test)]
mod tests;
