//! A result streamed to the driver in bounded memory: one job per window of partitions, two
//! windows at a time, partitions handed over in order (Spark's `toLocalIterator` with
//! prefetch, the Thrift server's incremental collect).
//!
//! One job over every partition sends each finished partition to the driver whether or not
//! anyone reads it yet, so a slow reader (a Flight SQL client on a thin link, a shell paging
//! its output) makes the driver hold the whole result. Here the job for window `k + 2` starts
//! only once window `k` was handed over, so the driver holds at most two windows' results.
//! The windows share their parent shuffle map stages (the DAG scheduler keeps one stage per
//! shuffle, and a later job skips map outputs that already exist).

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use ember_common::{EmberConf, JobId, Result};

use super::job_handle::JobHandle;
use crate::{EmberContext, Rdd};

/// Windows computing at once: the one being read and the next.
const WINDOWS_IN_FLIGHT: usize = 2;

/// What [`EmberContext::stream_partitions`] tells its caller about the jobs it starts.
pub trait IncrementalCollectListener {
    /// A job over some partitions started: a cancel from elsewhere should name it.
    fn job_started(&mut self, job_id: JobId);
}

impl<F: FnMut(JobId)> IncrementalCollectListener for F {
    fn job_started(&mut self, job_id: JobId) {
        self(job_id)
    }
}

impl EmberContext {
    /// Runs `rdd` as one job per `window` partitions (at least one), at most two jobs at a
    /// time, and hands each partition's batches to `on_partition` in partition order, on
    /// this thread. The driver holds at most two windows' results however slowly
    /// `on_partition` returns.
    ///
    /// `on_partition` returning `Ok(false)` (the reader went away) or an error cancels the
    /// jobs still running; the first is `Ok(())`, the second that error. A job failing or
    /// being cancelled from elsewhere (see `listener`) ends the stream with its error, after
    /// the partitions before it were handed over.
    pub fn stream_partitions(
        &self,
        rdd: Arc<dyn Rdd>,
        conf: &EmberConf,
        window: usize,
        listener: &mut dyn IncrementalCollectListener,
        mut on_partition: impl FnMut(usize, Vec<RecordBatch>) -> Result<bool>,
    ) -> Result<()> {
        let total = rdd.num_partitions();
        let window = window.max(1);
        let mut windows = (0..total)
            .step_by(window)
            .map(|start| start..(start + window).min(total));
        let mut running: VecDeque<(Range<usize>, JobHandle)> = VecDeque::new();
        let mut outcome = Ok(());
        let mut reading = true;
        loop {
            while reading && running.len() < WINDOWS_IN_FLIGHT {
                let Some(partitions) = windows.next() else {
                    break;
                };
                match self.submit_job(Arc::clone(&rdd), partitions.clone().collect(), conf) {
                    Ok(handle) => {
                        listener.job_started(handle.job_id());
                        running.push_back((partitions, handle));
                    }
                    Err(e) => {
                        outcome = Err(e);
                        reading = false;
                    }
                }
            }
            let Some((partitions, handle)) = running.pop_front() else {
                break;
            };
            if !reading {
                handle.cancel();
                let _ = handle.wait();
                continue;
            }
            match hand_over(&handle, partitions, &mut on_partition) {
                Ok(true) => {
                    if let Err(e) = handle.wait() {
                        outcome = Err(e);
                        reading = false;
                    }
                }
                stopped => {
                    // The reader stopped or failed: this job's outcome no longer matters.
                    let _ = handle.wait();
                    if let Err(e) = stopped {
                        outcome = Err(e);
                    }
                    reading = false;
                }
            }
            if !reading {
                for (_, other) in &running {
                    other.cancel();
                }
            }
        }
        outcome
    }
}

/// Hands the partitions of one job to `on_partition` in order as they arrive. On `Ok(false)`
/// or an error from `on_partition` the job is cancelled and its remaining results drained,
/// so that the caller's wait returns once no task runs.
fn hand_over(
    handle: &JobHandle,
    partitions: Range<usize>,
    on_partition: &mut impl FnMut(usize, Vec<RecordBatch>) -> Result<bool>,
) -> Result<bool> {
    let mut waiting: BTreeMap<usize, Vec<RecordBatch>> = BTreeMap::new();
    let mut next = partitions.start;
    let mut result = Ok(true);
    for (partition, batches) in handle.results().iter() {
        if !matches!(result, Ok(true)) {
            continue;
        }
        waiting.insert(partition, batches);
        while let Some(batches) = waiting.remove(&next) {
            next += 1;
            result = on_partition(next - 1, batches);
            if !matches!(result, Ok(true)) {
                handle.cancel();
                break;
            }
        }
    }
    if matches!(result, Ok(true)) && next < partitions.end {
        // The job ended before every partition arrived: it failed or was cancelled, and its
        // outcome says why.
        return Ok(true);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use ember_common::EmberError;

    use super::*;
    use crate::test_util::{numbered_rows, FnRdd};
    use crate::TaskContext;

    fn local_context(cores: usize) -> Arc<EmberContext> {
        let mut conf = EmberConf::new();
        conf.set("ember.master", &format!("local[{cores}]"))
            .unwrap();
        EmberContext::new(conf).unwrap()
    }

    /// An RDD of `partitions` one-batch partitions that counts how many were computed.
    fn counted(cx: &EmberContext, partitions: usize) -> (Arc<dyn Rdd>, Arc<AtomicUsize>) {
        let computed = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&computed);
        let input = numbered_rows(partitions as i64 * 10, 3, 10);
        let rdd = FnRdd::shared(
            cx.new_rdd_id(),
            partitions,
            move |partition, _: &TaskContext| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(Box::new(std::iter::once(Ok(input[partition].clone()))))
            },
        );
        (rdd, computed)
    }

    #[test]
    fn a_slow_reader_holds_back_all_but_two_windows() {
        let cx = local_context(4);
        let (rdd, computed) = counted(&cx, 40);
        let mut jobs = Vec::new();
        let mut order = Vec::new();
        let mut most_computed_ahead = 0;
        cx.stream_partitions(
            rdd,
            cx.conf(),
            3,
            &mut |job| jobs.push(job),
            |partition, batches| {
                assert_eq!(batches.len(), 1);
                // Give the scheduler time to run ahead if it could.
                std::thread::sleep(Duration::from_millis(5));
                let ahead = computed.load(Ordering::SeqCst) - partition;
                most_computed_ahead = most_computed_ahead.max(ahead);
                order.push(partition);
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(order, (0..40).collect::<Vec<_>>(), "partitions in order");
        assert_eq!(jobs.len(), 14, "one job per window of 3");
        assert!(
            most_computed_ahead <= 6,
            "at most two windows computed ahead of the reader, saw {most_computed_ahead}"
        );
        assert_eq!(computed.load(Ordering::SeqCst), 40, "each partition once");
    }

    #[test]
    fn a_reader_that_stops_cancels_the_rest() {
        let cx = local_context(2);
        let (rdd, computed) = counted(&cx, 30);
        let mut seen = 0;
        cx.stream_partitions(rdd, cx.conf(), 2, &mut |_| {}, |_, _| {
            seen += 1;
            Ok(seen < 3)
        })
        .unwrap();
        assert_eq!(seen, 3);
        assert!(computed.load(Ordering::SeqCst) <= 6);
    }

    #[test]
    fn a_failing_partition_ends_the_stream_after_the_ones_before_it() {
        let cx = local_context(2);
        let input = numbered_rows(100, 3, 10);
        let rdd = FnRdd::shared(cx.new_rdd_id(), 10, move |partition, _: &TaskContext| {
            if partition == 7 {
                return Err(EmberError::execution("partition 7 is broken"));
            }
            Ok(Box::new(std::iter::once(Ok(input[partition].clone()))))
        });
        let mut conf = cx.conf().clone();
        conf.set("ember.task.maxFailures", "1").unwrap();
        let mut order = Vec::new();
        let error = cx
            .stream_partitions(rdd, &conf, 4, &mut |_| {}, |partition, _| {
                order.push(partition);
                Ok(true)
            })
            .unwrap_err();
        assert!(
            error.to_string().contains("partition 7 is broken"),
            "{error}"
        );
        // The first window whole, then whatever of the failing window finished before 7.
        assert_eq!(order, (0..order.len()).collect::<Vec<_>>(), "in order");
        assert!((4..=7).contains(&order.len()), "{order:?}");
    }

    #[test]
    fn an_error_from_the_reader_is_the_outcome() {
        let cx = local_context(2);
        let (rdd, _) = counted(&cx, 8);
        let error = cx
            .stream_partitions(rdd, cx.conf(), 2, &mut |_| {}, |partition, _| {
                if partition == 3 {
                    Err(EmberError::execution("the client is gone"))
                } else {
                    Ok(true)
                }
            })
            .unwrap_err();
        assert!(error.to_string().contains("the client is gone"), "{error}");
    }
}
