//! Tests of the DAG scheduler: retries, lost outputs and fetch failures, shared stages,
//! cancellation, result limits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::partitioners::HashPartitioner;
use crate::rdds::ShuffledRdd;
use crate::shuffle::ShuffleBlockId;
use crate::test_util::{counting_source, kv_schema, numbered_rows, sorted_pairs, total, FnRdd};
use crate::{EmberContext, TaskContext};

const TIMEOUT: Duration = Duration::from_secs(60);

fn local_context(cores: usize) -> Arc<EmberContext> {
    let mut conf = EmberConf::new();
    conf.set("ember.master", &format!("local[{cores}]"))
        .unwrap();
    EmberContext::new(conf).unwrap()
}

fn shuffle_by_key(
    cx: &EmberContext,
    rdd: Arc<dyn Rdd>,
    partitions: usize,
) -> (Arc<dyn Rdd>, ShuffleId) {
    let shuffle_id = cx.new_shuffle_id();
    let dependency = Arc::new(ShuffleDependency {
        shuffle_id,
        rdd,
        partitioner: Arc::new(HashPartitioner::new(vec![0], partitions)),
    });
    (
        Arc::new(ShuffledRdd::new(cx.new_rdd_id(), dependency)),
        shuffle_id,
    )
}

/// Four map partitions of 100 rows each, keys 0..7.
fn four_partitions() -> Vec<Vec<RecordBatch>> {
    numbered_rows(400, 7, 100)
        .into_iter()
        .map(|b| vec![b])
        .collect()
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_task_failing_twice_is_retried_and_the_job_succeeds() {
    let cx = local_context(2);
    let input = numbered_rows(90, 4, 30);
    let partitions = input.clone();
    let rdd = FnRdd::shared(cx.new_rdd_id(), 3, move |partition, task: &TaskContext| {
        if task.attempt() < 2 {
            return Err(EmberError::execution(format!(
                "flaky attempt {}",
                task.attempt()
            )));
        }
        Ok(Box::new(std::iter::once(Ok(partitions[partition].clone()))))
    });
    let (batches, summary) = cx.collect_with_summary(rdd, cx.conf()).unwrap();
    assert_eq!(sorted_pairs(&batches), sorted_pairs(&input));
    assert_eq!(summary.stages.len(), 1);
    assert_eq!(summary.stages[0].num_tasks, 3);
    assert_eq!(summary.stages[0].attempts, 9, "each partition ran 3 times");
}

#[test]
fn a_task_that_always_fails_aborts_the_job_after_max_failures() {
    let cx = local_context(2);
    let runs = Arc::new(AtomicUsize::new(0));
    let rdd = FnRdd::shared(cx.new_rdd_id(), 3, {
        let runs = runs.clone();
        move |partition, _: &TaskContext| {
            if partition == 1 {
                runs.fetch_add(1, Ordering::SeqCst);
                return Err(EmberError::execution("disk on fire"));
            }
            Ok(Box::new(std::iter::empty()))
        }
    });
    let handle = cx.submit_job(rdd, vec![0, 1, 2], cx.conf()).unwrap();
    let outcome = handle
        .wait_timeout(TIMEOUT)
        .expect("the job ends instead of hanging");
    let message = outcome.unwrap_err().to_string();
    assert!(
        message.starts_with("Job aborted: task 1 in stage ")
            && message.contains("failed 4 times; most recent failure: disk on fire"),
        "{message}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}

#[test]
fn a_lost_map_output_is_recomputed_alone_after_a_fetch_failure() {
    let cx = local_context(2);
    let (source, map_runs) = counting_source(cx.new_rdd_id(), four_partitions());
    let (shuffled, shuffle_id) = shuffle_by_key(&cx, source, 3);
    let expected = sorted_pairs(&numbered_rows(400, 7, 100));

    let first = cx.collect(shuffled.clone(), cx.conf()).unwrap();
    assert_eq!(sorted_pairs(&first), expected);
    assert_eq!(total(&map_runs), 4);

    // Lose one block of map task 2 that has rows.
    let lost = (0..3)
        .map(|r| ShuffleBlockId::new(shuffle_id, 2, r))
        .find(|&b| cx.block_store().contains_block(b))
        .unwrap();
    assert!(cx.block_store().remove_block(lost));

    let (second, summary) = cx.collect_with_summary(shuffled, cx.conf()).unwrap();
    assert_eq!(sorted_pairs(&second), expected);
    assert_eq!(
        map_runs[2].load(Ordering::SeqCst),
        2,
        "map task 2 ran again"
    );
    assert_eq!(total(&map_runs), 5, "no other map task ran again");
    let map_stage = summary
        .stages
        .iter()
        .find(|s| s.name.starts_with("ShuffleMapStage"))
        .expect("the map stage ran again");
    assert_eq!(
        (map_stage.num_tasks, map_stage.attempts),
        (1, 1),
        "{summary}"
    );
    let result_stage = summary.stages.last().unwrap();
    assert!(
        result_stage.attempts > 3,
        "the failed reduce task ran again: {summary}"
    );
}

/// Reads its parent, but first deletes one shuffle block, once: a lost block seen by
/// a reduce task of the same job that ran the map stage.
#[derive(Debug)]
struct BlockLosingRdd {
    id: ember_common::RddId,
    parent: Arc<dyn Rdd>,
    lose: ShuffleBlockId,
    lost: std::sync::atomic::AtomicBool,
}

impl Rdd for BlockLosingRdd {
    fn id(&self) -> ember_common::RddId {
        self.id
    }
    fn name(&self) -> String {
        "BlockLosingRdd".to_string()
    }
    fn schema(&self) -> arrow::datatypes::SchemaRef {
        self.parent.schema()
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::OneToOne(self.parent.clone())]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<crate::BatchIter> {
        if partition == self.lose.reduce_partition && !self.lost.swap(true, Ordering::SeqCst) {
            assert!(task.env().block_store.remove_block(self.lose));
        }
        self.parent.compute(partition, task)
    }
}

#[test]
fn a_block_lost_within_a_job_reruns_only_its_map_task() {
    let cx = local_context(2);
    let (source, map_runs) = counting_source(cx.new_rdd_id(), four_partitions());
    let (shuffled, shuffle_id) = shuffle_by_key(&cx, source, 3);
    // Key 1 goes somewhere; map task 1 has rows with key 1, so its block there exists.
    let reduce = HashPartitioner::new(vec![0], 3)
        .partition_ids(&crate::test_util::key_value_batch(&[1], &[0]))
        .unwrap()[0];
    let losing: Arc<dyn Rdd> = Arc::new(BlockLosingRdd {
        id: cx.new_rdd_id(),
        parent: shuffled,
        lose: ShuffleBlockId::new(shuffle_id, 1, reduce),
        lost: std::sync::atomic::AtomicBool::new(false),
    });
    let (out, summary) = cx.collect_with_summary(losing, cx.conf()).unwrap();
    assert_eq!(
        sorted_pairs(&out),
        sorted_pairs(&numbered_rows(400, 7, 100))
    );
    assert_eq!(
        map_runs[1].load(Ordering::SeqCst),
        2,
        "map task 1 ran again"
    );
    assert_eq!(total(&map_runs), 5, "{summary}");
    let map_stage = &summary.stages[0];
    assert_eq!(
        (map_stage.num_tasks, map_stage.attempts),
        (4, 5),
        "{summary}"
    );
}

/// The hang of issue 14: a stage waits on two parents; while the second runs, an executor
/// holding outputs of the first (already finished) is lost. When the second finishes, the
/// first must run again for the lost outputs, or the job waits forever.
#[test]
fn outputs_of_a_finished_parent_lost_while_a_sibling_runs_are_recomputed() {
    let cx = local_context(2);
    let (fast, fast_runs) = counting_source(cx.new_rdd_id(), four_partitions());
    let (fast_shuffled, fast_shuffle) = shuffle_by_key(&cx, fast, 3);
    let tracker = cx.map_output_tracker().clone();
    let slow_input = four_partitions();
    let slow = FnRdd::shared(cx.new_rdd_id(), 4, move |partition, _task: &TaskContext| {
        if partition == 0 {
            wait_until("the first parent's outputs exist", || {
                tracker.is_available(fast_shuffle)
            });
            assert!(tracker.unregister_map_output(fast_shuffle, 1));
        }
        Ok(Box::new(slow_input[partition].clone().into_iter().map(Ok)))
    });
    let (slow_shuffled, _) = shuffle_by_key(&cx, slow, 3);
    let union: Arc<dyn Rdd> = Arc::new(
        crate::rdds::UnionRdd::new(cx.new_rdd_id(), vec![fast_shuffled, slow_shuffled]).unwrap(),
    );
    let (sender, receiver) = crossbeam_channel::bounded(1);
    let job = {
        let cx = cx.clone();
        std::thread::spawn(move || {
            let _ = sender.send(cx.collect(union, cx.conf()));
        })
    };
    let out = receiver
        .recv_timeout(TIMEOUT)
        .expect("the job finished (it hung before the fix)")
        .unwrap();
    job.join().unwrap();
    let mut expected = sorted_pairs(&numbered_rows(400, 7, 100));
    expected.extend(sorted_pairs(&numbered_rows(400, 7, 100)));
    expected.sort_unstable();
    assert_eq!(sorted_pairs(&out), expected);
    assert_eq!(
        fast_runs[1].load(Ordering::SeqCst),
        2,
        "the lost map output was recomputed"
    );
    assert_eq!(
        total(&fast_runs),
        5,
        "only the lost map output was recomputed"
    );
}

/// ember.driver.maxResultSize, as Spark's spark.driver.maxResultSize: a job whose results
/// outgrow it fails with an error that names the setting.
#[test]
fn a_result_larger_than_max_result_size_fails_the_job() {
    let cx = local_context(2);
    let (source, _) = counting_source(cx.new_rdd_id(), four_partitions());
    let mut conf = cx.conf().clone();
    conf.set("ember.driver.maxResultSize", "1000").unwrap();
    let error = cx.collect(source.clone(), &conf).unwrap_err().to_string();
    assert!(
        error.contains("ember.driver.maxResultSize (1000 bytes)"),
        "{error}"
    );
    conf.set("ember.driver.maxResultSize", "0").unwrap();
    assert_eq!(total_rows(&cx.collect(source, &conf).unwrap()), 400);
}

fn total_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[test]
fn a_shuffle_computed_by_one_job_is_reused_by_the_next() {
    let cx = local_context(2);
    let (source, map_runs) = counting_source(cx.new_rdd_id(), four_partitions());
    let (shuffled, _) = shuffle_by_key(&cx, source, 3);
    let (first, first_summary) = cx
        .collect_with_summary(shuffled.clone(), cx.conf())
        .unwrap();
    let (second, second_summary) = cx.collect_with_summary(shuffled, cx.conf()).unwrap();
    assert_eq!(sorted_pairs(&first), sorted_pairs(&second));
    assert_eq!(total(&map_runs), 4, "the map stage ran once");
    assert_eq!(first_summary.stages.len(), 2);
    assert_eq!(second_summary.stages.len(), 1, "{second_summary}");
    assert!(second_summary.stages[0].name.starts_with("ResultStage"));
}

#[test]
fn two_jobs_submitted_together_share_one_map_stage() {
    let cx = local_context(2);
    let (source, map_runs) = counting_source(cx.new_rdd_id(), four_partitions());
    let (shuffled, _) = shuffle_by_key(&cx, source, 3);
    let first = cx
        .submit_job(shuffled.clone(), vec![0, 1, 2], cx.conf())
        .unwrap();
    let second = cx.submit_job(shuffled, vec![2, 0], cx.conf()).unwrap();
    let collect = |handle: JobHandle| {
        let batches: Vec<RecordBatch> = handle
            .results()
            .iter()
            .flat_map(|(_, batches)| batches)
            .collect();
        handle.wait().unwrap();
        sorted_pairs(&batches)
    };
    let (all, some) = (collect(first), collect(second));
    assert_eq!(all, sorted_pairs(&numbered_rows(400, 7, 100)));
    assert!(!some.is_empty() && some.len() < all.len());
    assert_eq!(total(&map_runs), 4, "the map stage ran once for both jobs");
}

#[test]
fn jobs_over_missing_or_no_partitions() {
    let cx = local_context(1);
    let source = cx
        .parallelize(kv_schema(), numbered_rows(10, 2, 5), 2)
        .unwrap();
    let err = cx
        .submit_job(source.clone(), vec![0, 2], cx.conf())
        .unwrap_err();
    assert!(err.to_string().contains("partition 2"), "{err}");
    let summary = cx
        .run_job_on_partitions(source, vec![], cx.conf(), |_, _| panic!("no partitions"))
        .unwrap();
    assert_eq!(summary.result_rows(), 0);
}

#[test]
fn concurrent_jobs_each_get_their_own_results() {
    let cx = local_context(2);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4i64)
            .map(|t| {
                let cx = cx.clone();
                scope.spawn(move || {
                    let input: Vec<RecordBatch> = numbered_rows(300, 5, 50)
                        .into_iter()
                        .map(|b| {
                            let pairs = sorted_pairs(&[b]);
                            let keys: Vec<i64> = pairs.iter().map(|p| p.0).collect();
                            let values: Vec<i64> =
                                pairs.iter().map(|p| p.1 + t * 100_000).collect();
                            crate::test_util::key_value_batch(&keys, &values)
                        })
                        .collect();
                    let source = cx.parallelize(kv_schema(), input.clone(), 3).unwrap();
                    let (shuffled, _) = shuffle_by_key(&cx, source, 2);
                    let out = cx.collect(shuffled, cx.conf()).unwrap();
                    assert_eq!(sorted_pairs(&out), sorted_pairs(&input), "thread {t}");
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

#[test]
fn cancelling_a_job_stops_its_tasks() {
    let cx = local_context(2);
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let rdd = FnRdd::shared(cx.new_rdd_id(), 2, {
        let (started, stopped) = (started.clone(), stopped.clone());
        move |_, task: &TaskContext| {
            let (task, started, stopped) = (task.clone(), started.clone(), stopped.clone());
            Ok(Box::new(std::iter::once_with(move || {
                started.fetch_add(1, Ordering::SeqCst);
                while !task.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                stopped.fetch_add(1, Ordering::SeqCst);
                task.check_cancelled().map(|_| kv_batch_empty())
            })))
        }
    });
    let handle = cx.submit_job(rdd, vec![0, 1], cx.conf()).unwrap();
    wait_until("both tasks run", || started.load(Ordering::SeqCst) == 2);
    cx.cancel_job(handle.job_id());
    let outcome = handle.wait_timeout(TIMEOUT).expect("a cancelled job ends");
    assert!(
        matches!(outcome, Err(EmberError::Cancelled(_))),
        "{outcome:?}"
    );
    wait_until("both tasks stop", || stopped.load(Ordering::SeqCst) == 2);

    // The executor cores are free again.
    let source = cx
        .parallelize(kv_schema(), numbered_rows(10, 2, 5), 2)
        .unwrap();
    assert_eq!(cx.count(source, cx.conf()).unwrap(), 10);
}

fn kv_batch_empty() -> RecordBatch {
    RecordBatch::new_empty(kv_schema())
}
