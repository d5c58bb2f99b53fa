//! A submitted job seen from its caller: its id, results as partitions finish, cancel and wait.

use std::time::Duration;

use arrow::record_batch::RecordBatch;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use ember_common::{EmberError, JobId, Result};

use super::dag_scheduler::{DagEvent, JobListener};
use super::job_summary::JobSummary;

/// A running job. Results arrive on [`JobHandle::results`] as partitions finish (in any
/// order); the channel closes when the job ends, and [`JobHandle::wait`] gives the outcome.
#[derive(Debug)]
pub struct JobHandle {
    job_id: JobId,
    results: Receiver<(usize, Vec<RecordBatch>)>,
    outcome: Receiver<Result<JobSummary>>,
    events: Sender<DagEvent>,
}

/// The [`JobListener`] behind a [`JobHandle`]: forwards everything over channels.
#[derive(Debug)]
pub(crate) struct ChannelListener {
    results: Sender<(usize, Vec<RecordBatch>)>,
    outcome: Sender<Result<JobSummary>>,
}

impl JobListener for ChannelListener {
    fn partition_finished(&mut self, partition: usize, batches: Vec<RecordBatch>) {
        // The caller may have dropped the receiver; the job still runs to its end.
        let _ = self.results.send((partition, batches));
    }

    fn job_finished(self: Box<Self>, outcome: Result<JobSummary>) {
        let ChannelListener {
            results,
            outcome: sender,
        } = *self;
        drop(results);
        let _ = sender.send(outcome);
    }
}

impl JobHandle {
    /// A handle for job `job_id` and the listener the scheduler feeds it through.
    pub(crate) fn new(job_id: JobId, events: Sender<DagEvent>) -> (Self, ChannelListener) {
        let (results_sender, results) = unbounded();
        let (outcome_sender, outcome) = crossbeam_channel::bounded(1);
        (
            JobHandle {
                job_id,
                results,
                outcome,
                events,
            },
            ChannelListener {
                results: results_sender,
                outcome: outcome_sender,
            },
        )
    }

    /// The id of the job, for `EmberContext::cancel_job` and logs.
    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// `(partition, batches)` of each finished partition, as they finish.
    pub fn results(&self) -> &Receiver<(usize, Vec<RecordBatch>)> {
        &self.results
    }

    /// Asks the scheduler to cancel the job: its running tasks see `is_cancelled()` and
    /// the job ends with `EmberError::Cancelled`.
    pub fn cancel(&self) {
        let _ = self.events.send(DagEvent::JobCancelled {
            job_id: self.job_id,
            reason: "cancelled through its job handle".to_string(),
        });
    }

    /// Blocks until the job ends. Results not yet taken from [`JobHandle::results`] are dropped.
    pub fn wait(self) -> Result<JobSummary> {
        self.outcome
            .recv()
            .unwrap_or_else(|_| Err(scheduler_gone(self.job_id)))
    }

    /// Like [`JobHandle::wait`] but gives up after `timeout`, returning `None`.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<JobSummary>> {
        match self.outcome.recv_timeout(timeout) {
            Ok(outcome) => Some(outcome),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Err(scheduler_gone(self.job_id))),
        }
    }
}

fn scheduler_gone(job_id: JobId) -> EmberError {
    EmberError::internal(format!(
        "the DAG scheduler stopped before {job_id} finished"
    ))
}
