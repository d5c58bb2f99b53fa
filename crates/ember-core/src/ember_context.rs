//! `EmberContext`, the entry point of the RDD core (Spark's `SparkContext`).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ember_common::ids::IdGenerator;
use ember_common::{EmberConf, JobId, RddId, Result, ShuffleId};

use crate::executor_env::ExecutorEnv;
use crate::master::Master;
use crate::rdds::ParallelCollectionRdd;
use crate::scheduler::{
    DagScheduler, JobHandle, JobSummary, LocalBackend, SchedulerBackend, TaskScheduler,
};
use crate::shuffle::{MapOutputTracker, ShuffleBlockStore};
use crate::storage::BlockManager;
use crate::Rdd;

/// What a scheduler backend may use of the context it serves.
pub struct BackendParts {
    /// The driver's record of map outputs (a cluster backend forgets a lost executor's).
    pub tracker: Arc<MapOutputTracker>,
    /// The shuffle blocks of tasks run in this process.
    pub block_store: Arc<ShuffleBlockStore>,
    /// The cached partitions of tasks run in this process.
    pub block_manager: Arc<BlockManager>,
}

impl BackendParts {
    /// The environment of tasks run by this process itself (local mode's executor "driver").
    pub fn local_env(&self) -> Arc<ExecutorEnv> {
        Arc::new(ExecutorEnv::local_with_blocks(
            self.block_store.clone(),
            self.tracker.clone(),
            self.block_manager.clone(),
        ))
    }
}

/// One running engine: the DAG and task schedulers, the map-output tracker and, in local
/// mode, the single executor ("driver") with its shuffle block store.
///
/// Jobs from several threads (sessions) may run at once; each job's results reach only its
/// own caller.
pub struct EmberContext {
    conf: EmberConf,
    master: Master,
    rdd_ids: IdGenerator,
    shuffle_ids: IdGenerator,
    tracker: Arc<MapOutputTracker>,
    block_store: Arc<ShuffleBlockStore>,
    block_manager: Arc<BlockManager>,
    task_scheduler: Arc<TaskScheduler>,
    dag_scheduler: DagScheduler,
}

impl EmberContext {
    /// Starts a context for a local `ember.master` (`local`, `local[N]` or `local[*]`).
    /// Cluster masters need executor processes and RPC: `ember_runtime::cluster` starts
    /// those and builds the context with [`EmberContext::with_backend`].
    pub fn new(conf: EmberConf) -> Result<Arc<EmberContext>> {
        let master = Master::parse(&conf.get("ember.master").unwrap_or_default())?;
        let Master::Local { cores } = master else {
            return Err(ember_common::EmberError::Config(format!(
                "ember.master {master} runs executor processes; start it through an Ember \
                 session (EmberSession::new), which brings the cluster runtime"
            )));
        };
        Self::with_backend(conf, master, |parts| {
            Ok(Box::new(LocalBackend::new(cores, parts.local_env())?))
        })
    }

    /// Starts a context whose tasks run through the backend `make_backend` builds from the
    /// context's shared services (the map-output tracker, the local stores).
    pub fn with_backend(
        conf: EmberConf,
        master: Master,
        make_backend: impl FnOnce(&BackendParts) -> Result<Box<dyn SchedulerBackend>>,
    ) -> Result<Arc<EmberContext>> {
        let parts = BackendParts {
            tracker: Arc::new(MapOutputTracker::new()),
            block_store: Arc::new(ShuffleBlockStore::new(&conf)),
            block_manager: Arc::new(BlockManager::new(&conf)),
        };
        let backend = make_backend(&parts)?;
        let BackendParts {
            tracker,
            block_store,
            block_manager,
        } = parts;
        let task_scheduler = Arc::new(TaskScheduler::new(backend));
        let dag_scheduler = DagScheduler::start(
            task_scheduler.clone(),
            tracker.clone(),
            block_manager.clone(),
        )?;
        log::info!(
            "Started Ember context with master {master} ({})",
            task_scheduler.backend_name()
        );
        Ok(Arc::new(EmberContext {
            conf,
            master,
            rdd_ids: IdGenerator::new(),
            shuffle_ids: IdGenerator::new(),
            tracker,
            block_store,
            block_manager,
            task_scheduler,
            dag_scheduler,
        }))
    }

    /// Where cached partitions are and how many: the executors' when they run out of
    /// process, else the local block manager's.
    pub fn cache_status(&self, rdd: RddId) -> crate::CacheStatus {
        self.task_scheduler
            .cache_status(rdd)
            .unwrap_or_else(|| self.block_manager.status(rdd))
    }

    /// The executor processes of a cluster master (none in local mode).
    pub fn executors(&self) -> Vec<crate::scheduler::ExecutorInfo> {
        self.task_scheduler.executors()
    }

    /// Executors lost since the context started (always 0 in local mode).
    pub fn executors_lost(&self) -> usize {
        self.task_scheduler.executors_lost()
    }

    /// Drops every cached partition of `rdd`, here and on the executors.
    pub fn remove_rdd(&self, rdd: RddId) {
        self.block_manager.remove_rdd(rdd);
        self.task_scheduler.remove_rdd(rdd);
    }

    /// The persisted partitions of the local executor.
    pub fn block_manager(&self) -> &Arc<BlockManager> {
        &self.block_manager
    }

    /// The configuration the context was started with.
    pub fn conf(&self) -> &EmberConf {
        &self.conf
    }

    /// How tasks are run (`local[N]`).
    pub fn master(&self) -> Master {
        self.master.clone()
    }

    /// A fresh id for a new RDD of this context.
    pub fn new_rdd_id(&self) -> RddId {
        RddId(self.rdd_ids.next())
    }

    /// A fresh id for a new shuffle (one per exchange).
    pub fn new_shuffle_id(&self) -> ShuffleId {
        ShuffleId(self.shuffle_ids.next())
    }

    /// Executor cores: the default number of partitions.
    pub fn default_parallelism(&self) -> usize {
        self.task_scheduler.default_parallelism()
    }

    /// The driver's record of map outputs.
    pub fn map_output_tracker(&self) -> &Arc<MapOutputTracker> {
        &self.tracker
    }

    /// The local executor's shuffle block store.
    pub fn block_store(&self) -> &Arc<ShuffleBlockStore> {
        &self.block_store
    }

    /// An RDD over `batches` split into `num_partitions` partitions.
    pub fn parallelize(
        &self,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        num_partitions: usize,
    ) -> Result<Arc<dyn Rdd>> {
        Ok(Arc::new(ParallelCollectionRdd::new(
            self.new_rdd_id(),
            schema,
            batches,
            num_partitions,
        )?))
    }

    /// Runs a job over every partition of `rdd`, calling `on_partition(partition, batches)`
    /// on this thread as partitions finish (in any order); blocks until the job ends.
    pub fn run_job(
        &self,
        rdd: Arc<dyn Rdd>,
        conf: &EmberConf,
        on_partition: impl FnMut(usize, Vec<RecordBatch>) + Send,
    ) -> Result<JobSummary> {
        let partitions = (0..rdd.num_partitions()).collect();
        self.run_job_on_partitions(rdd, partitions, conf, on_partition)
    }

    /// Like [`EmberContext::run_job`] over some partitions only (e.g. the first for a LIMIT).
    pub fn run_job_on_partitions(
        &self,
        rdd: Arc<dyn Rdd>,
        partitions: Vec<usize>,
        conf: &EmberConf,
        mut on_partition: impl FnMut(usize, Vec<RecordBatch>) + Send,
    ) -> Result<JobSummary> {
        let handle = self.submit_job(rdd, partitions, conf)?;
        for (partition, batches) in handle.results().iter() {
            on_partition(partition, batches);
        }
        handle.wait()
    }

    /// Every batch of `rdd`, partition 0 first.
    pub fn collect(&self, rdd: Arc<dyn Rdd>, conf: &EmberConf) -> Result<Vec<RecordBatch>> {
        self.collect_with_summary(rdd, conf)
            .map(|(batches, _)| batches)
    }

    /// [`EmberContext::collect`] and the job's summary.
    pub fn collect_with_summary(
        &self,
        rdd: Arc<dyn Rdd>,
        conf: &EmberConf,
    ) -> Result<(Vec<RecordBatch>, JobSummary)> {
        let mut by_partition: Vec<Vec<RecordBatch>> = vec![Vec::new(); rdd.num_partitions()];
        let summary = self.run_job(rdd, conf, |partition, batches| {
            if let Some(slot) = by_partition.get_mut(partition) {
                *slot = batches;
            }
        })?;
        Ok((by_partition.into_iter().flatten().collect(), summary))
    }

    /// Rows of `rdd`.
    pub fn count(&self, rdd: Arc<dyn Rdd>, conf: &EmberConf) -> Result<u64> {
        let mut rows = 0u64;
        self.run_job(rdd, conf, |_, batches| {
            rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
        })?;
        Ok(rows)
    }

    /// Starts a job without waiting: results stream to the handle as partitions finish.
    pub fn submit_job(
        &self,
        rdd: Arc<dyn Rdd>,
        partitions: Vec<usize>,
        conf: &EmberConf,
    ) -> Result<JobHandle> {
        self.dag_scheduler
            .submit_job_with_handle(rdd, partitions, Arc::new(conf.clone()))
    }

    /// Cancels a running job (ignored when it already ended).
    pub fn cancel_job(&self, job_id: JobId) {
        self.dag_scheduler
            .cancel_job(job_id, "cancelled by the user");
    }

    /// Cancels every running job (Spark's `cancelAllJobs`); their tasks stop on every
    /// executor.
    pub fn cancel_all_jobs(&self, reason: &str) {
        self.dag_scheduler.cancel_all_jobs(reason);
    }

    /// Forgets a shuffle's map outputs and deletes its blocks. Call it once no running or
    /// future job reads the shuffle (after the query that created it finished).
    pub fn remove_shuffle(&self, shuffle_id: ShuffleId) {
        self.tracker.unregister_shuffle(shuffle_id);
        let blocks = self.block_store.remove_shuffle(shuffle_id);
        self.task_scheduler.remove_shuffle(shuffle_id);
        log::debug!("Removed {shuffle_id}: {blocks} block(s) deleted");
    }

    /// The DAG scheduler, for callers that bring their own [`JobListener`](crate::JobListener).
    pub fn dag_scheduler(&self) -> &DagScheduler {
        &self.dag_scheduler
    }

    /// Fails running jobs and stops the scheduler and executor threads. Also done on drop.
    pub fn stop(&self) {
        self.dag_scheduler.stop();
        self.task_scheduler.stop();
    }
}

impl Drop for EmberContext {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for EmberContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmberContext")
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow::array::{Array, Int64Array};
    use arrow::compute::kernels::numeric::rem;

    use super::*;
    use crate::partitioners::HashPartitioner;
    use crate::rdds::{MapPartitionsRdd, ShuffledRdd, UnionRdd};
    use crate::test_util::{key_value_batch, kv_schema, numbered_rows, sorted_pairs};
    use crate::ShuffleDependency;

    pub(crate) fn local_context(cores: usize) -> Arc<EmberContext> {
        let mut conf = EmberConf::new();
        conf.set("ember.master", &format!("local[{cores}]"))
            .unwrap();
        EmberContext::new(conf).unwrap()
    }

    /// `rdd` shuffled by its first column into `partitions` partitions.
    fn shuffle_by_key(cx: &EmberContext, rdd: Arc<dyn Rdd>, partitions: usize) -> Arc<dyn Rdd> {
        let dependency = Arc::new(ShuffleDependency {
            shuffle_id: cx.new_shuffle_id(),
            rdd,
            partitioner: Arc::new(HashPartitioner::new(vec![0], partitions)),
        });
        Arc::new(ShuffledRdd::new(cx.new_rdd_id(), dependency))
    }

    /// The rows of each partition of a job.
    fn rows_by_partition(
        cx: &EmberContext,
        rdd: Arc<dyn Rdd>,
    ) -> (HashMap<usize, Vec<(i64, i64)>>, JobSummary) {
        let mut out = HashMap::new();
        let summary = cx
            .run_job(rdd, cx.conf(), |partition, batches| {
                assert!(out.insert(partition, sorted_pairs(&batches)).is_none());
            })
            .unwrap();
        (out, summary)
    }

    /// Checks every key lives in the one partition the hash partitioner gives it.
    fn assert_grouped(by_partition: &HashMap<usize, Vec<(i64, i64)>>, partitions: usize) {
        let partitioner = HashPartitioner::new(vec![0], partitions);
        for (&partition, rows) in by_partition {
            let keys: Vec<i64> = rows.iter().map(|(k, _)| *k).collect();
            let batch = key_value_batch(&keys, &keys);
            for owner in partitioner.partition_ids(&batch).unwrap() {
                assert_eq!(
                    owner, partition,
                    "a key of partition {partition} hashes elsewhere"
                );
            }
        }
    }

    #[test]
    fn a_two_stage_job_regroups_rows_by_key() {
        let cx = local_context(2);
        let input = numbered_rows(1000, 7, 128);
        let source = cx.parallelize(kv_schema(), input.clone(), 4).unwrap();
        let shuffled = shuffle_by_key(&cx, source, 3);
        let (by_partition, summary) = rows_by_partition(&cx, shuffled);

        assert_eq!(by_partition.len(), 3);
        let mut all: Vec<(i64, i64)> = by_partition.values().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, sorted_pairs(&input));
        assert_grouped(&by_partition, 3);

        assert_eq!(summary.stages.len(), 2, "{summary}");
        let (map, result) = (&summary.stages[0], &summary.stages[1]);
        assert!(map.name.starts_with("ShuffleMapStage"), "{}", map.name);
        assert_eq!((map.num_tasks, result.num_tasks), (4, 3));
        assert_eq!(map.shuffle_records_written, 1000);
        assert_eq!(result.shuffle_records_read, 1000);
        assert_eq!(result.shuffle_bytes_read, map.shuffle_bytes_written);
        assert_eq!(summary.result_rows(), 1000);
        assert_eq!(map.spill_bytes, 0);
    }

    #[test]
    fn two_chained_shuffles_run_three_stages() {
        let cx = local_context(2);
        let input = numbered_rows(500, 10, 64);
        let source = cx.parallelize(kv_schema(), input.clone(), 3).unwrap();
        let first = shuffle_by_key(&cx, source, 4);
        // Re-key every row by v % 5, then shuffle again on the new key.
        let rekeyed: Arc<dyn Rdd> = Arc::new(MapPartitionsRdd::new(
            cx.new_rdd_id(),
            first,
            kv_schema(),
            |input| {
                Ok(Box::new(input.map(|batch| {
                    let batch = batch?;
                    let five = Int64Array::new_scalar(5);
                    let key = rem(batch.column(1), &five)?;
                    Ok(RecordBatch::try_new(
                        batch.schema(),
                        vec![key, batch.column(1).clone()],
                    )?)
                })))
            },
        ));
        let second = shuffle_by_key(&cx, rekeyed, 2);
        let (by_partition, summary) = rows_by_partition(&cx, second);

        let mut all: Vec<(i64, i64)> = by_partition.values().flatten().copied().collect();
        all.sort_unstable();
        let mut expected: Vec<(i64, i64)> = (0..500).map(|i| (i % 5, i)).collect();
        expected.sort_unstable();
        assert_eq!(all, expected);
        assert_grouped(&by_partition, 2);
        assert_eq!(summary.stages.len(), 3, "{summary}");
        assert_eq!(summary.stages[1].shuffle_records_read, 500);
        assert_eq!(summary.stages[1].shuffle_records_written, 500);
    }

    #[test]
    fn a_union_keeps_partition_order() {
        let cx = local_context(2);
        let a = cx
            .parallelize(
                kv_schema(),
                vec![key_value_batch(&[1, 2, 3, 4], &[0; 4])],
                2,
            )
            .unwrap();
        let b = cx
            .parallelize(kv_schema(), vec![key_value_batch(&[5, 6, 7], &[1; 3])], 3)
            .unwrap();
        let union: Arc<dyn Rdd> = Arc::new(UnionRdd::new(cx.new_rdd_id(), vec![a, b]).unwrap());
        assert_eq!(union.num_partitions(), 5);
        let batches = cx.collect(union.clone(), cx.conf()).unwrap();
        let keys: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let keys = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                keys.values().to_vec()
            })
            .collect();
        assert_eq!(keys, vec![1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(cx.count(union, cx.conf()).unwrap(), 7);
    }

    #[test]
    fn a_tiny_shuffle_memory_budget_spills_and_gives_the_same_answer() {
        let input = numbered_rows(2000, 13, 100);
        let run = |budget: &str| {
            let mut conf = EmberConf::new();
            conf.set("ember.master", "local[2]").unwrap();
            conf.set("ember.shuffle.memoryFraction.bytes", budget)
                .unwrap();
            let cx = EmberContext::new(conf).unwrap();
            let source = cx.parallelize(kv_schema(), input.clone(), 4).unwrap();
            let shuffled = shuffle_by_key(&cx, source, 3);
            let (by_partition, summary) = rows_by_partition(&cx, shuffled);
            let spilled_by_store = cx.block_store().spilled_bytes();
            let spill_dir = cx.block_store().spill_dir_path();
            (by_partition, summary, spilled_by_store, spill_dir)
        };
        let (in_memory, memory_summary, memory_spilled, _) = run("1g");
        let (spilled, spill_summary, store_spilled, spill_dir) = run("1");
        assert_eq!(in_memory, spilled);
        assert_eq!(memory_summary.spill_bytes(), 0);
        assert_eq!(memory_spilled, 0);
        assert!(spill_summary.spill_bytes() > 0, "{spill_summary}");
        assert_eq!(spill_summary.spill_bytes(), store_spilled);
        let spill_dir = spill_dir.expect("a spill directory was created");
        assert!(
            !spill_dir.exists(),
            "the context's drop removes {spill_dir:?}"
        );
    }

    #[test]
    fn unknown_masters_are_refused_with_the_accepted_forms() {
        let mut conf = EmberConf::new();
        conf.set("ember.master", "spark://host:7077").unwrap();
        let err = EmberContext::new(conf).unwrap_err().to_string();
        assert!(
            err.contains("not supported") && err.contains("local[N]"),
            "{err}"
        );
        // Cluster masters need the runtime's executor processes.
        let mut conf = EmberConf::new();
        conf.set("ember.master", "local-cluster[2,1,512]").unwrap();
        let err = EmberContext::new(conf).unwrap_err().to_string();
        assert!(err.contains("EmberSession"), "{err}");
        let cx = local_context(3);
        assert_eq!(cx.default_parallelism(), 3);
        assert_ne!(cx.new_rdd_id(), cx.new_rdd_id());
    }

    #[test]
    fn remove_shuffle_drops_outputs_and_blocks() {
        let cx = local_context(2);
        let source = cx
            .parallelize(kv_schema(), numbered_rows(100, 5, 50), 2)
            .unwrap();
        let shuffled = shuffle_by_key(&cx, source, 2);
        assert_eq!(cx.count(shuffled, cx.conf()).unwrap(), 100);
        assert!(cx.block_store().num_blocks() > 0);
        cx.remove_shuffle(ShuffleId(0));
        assert_eq!(cx.block_store().num_blocks(), 0);
        assert!(!cx.map_output_tracker().contains_shuffle(ShuffleId(0)));
    }
}
