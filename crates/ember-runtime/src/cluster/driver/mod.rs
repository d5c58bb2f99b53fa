//! The driver side of cluster mode: the scheduler backend that places tasks on executor
//! processes, and the Flight service executors register and send heartbeats to.
//!
//! ```text
//!  DAG scheduler ──launch_task──▶ queue ──dispatch: a free core, not where the task failed──▶
//!      executor ──launch_task RPC (fragment, partition, map outputs it reads)──▶ TaskResult
//!  ◀──report(TaskEnd)── result / map status registered ── core freed ── dispatch again
//!
//!  executor lost (RPC broken, heartbeats stopped, local-cluster process ended): removed; its
//!  map outputs and cached blocks are forgotten, so the DAG scheduler recomputes only those
//!  from lineage; local-cluster starts a replacement process
//! ```
//!
//! Every wait here ends:
//! - a task call waits for its executor's answer, or until the task is cancelled, another
//!   copy won, or the executor was removed (checked every 100 ms); a broken connection ends
//!   it at once, a silent peer after the HTTP/2 keep-alive timeout;
//! - executors are removed after `ember.network.timeout` without heartbeats, and at once when
//!   a local-cluster process exits (checked every 500 ms);
//! - queued tasks wait for a free core; with no executor at all for `ember.network.timeout`
//!   they fail (and their job, after `ember.task.maxFailures` attempts);
//! - start-up waits at most `ember.scheduler.maxRegisteredResourcesWaitingTime`.
//!
//! `ember.testing.killExecutor` faults are chosen here (`FaultState`): the driver sees every
//! task, marks the chosen one in its launch message, and kills the process itself for
//! `mapOutput.registered`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ember_common::{EmberConf, EmberError, ExecutorId, RddId, Result, ShuffleId, StageId};
use ember_core::fault::{KillPoint, KillSpec, KILL_EXECUTOR_KEY};
use ember_core::scheduler::{
    ExecutorInfo, SchedulerBackend, Task, TaskEnd, TaskKind, TaskReporter,
};
use ember_core::{CacheStatus, Dependency, MapOutputTracker, Master, Rdd, TaskMetricsSnapshot};
use ember_physical::operators::exchange::ExchangeExec;
use ember_physical::plan::ExecutionPlan;
use ember_physical::stages::PlanRdd;
use futures::stream::BoxStream;
use parking_lot::{Condvar, Mutex};
use prost::Message;
use tokio::runtime::{Handle, Runtime};
use tonic::Status;

use super::auth::{ClusterAuth, SECRET_KEY, SSL_KEYS};
use super::proto::{self, actions, check_version};
use super::rpc::{self, Endpoint, RpcClient};
use super::{duration_conf, Recent};
use crate::codec::plan::plan_to_bytes;

mod executors;
mod faults;
mod local_cluster;
mod speculation;

use executors::monitor;
use faults::FaultState;
use local_cluster::{executor_binary, LocalCluster};
use speculation::Speculation;

/// Encoded fragments kept per RDD, so that a stage's tasks are encoded once.
const FRAGMENTS_KEPT: usize = 64;

/// Places tasks on executor processes; see the module doc.
pub struct ClusterBackend {
    driver: Arc<Driver>,
    runtime: Mutex<Option<Runtime>>,
}

struct Driver {
    name: String,
    handle: Handle,
    tracker: Arc<MapOutputTracker>,
    /// What executors are told at registration (the driver's explicit settings).
    conf: EmberConf,
    state: Mutex<State>,
    changed: Condvar,
    next_executor: AtomicU64,
    /// Executor processes this driver started (`local-cluster`).
    children: Mutex<Vec<Child>>,
    fragments: Recent<RddId, Arc<Vec<u8>>>,
    shutdown: tokio::sync::Notify,
    stopped: AtomicBool,
    locality_wait: Duration,
    /// How `local-cluster` starts an executor, to replace one that was lost.
    local_cluster: Option<LocalCluster>,
    /// Replacements started so far, at most `ember.executor.maxRelaunches`.
    relaunches: AtomicU64,
    max_relaunches: u64,
    /// Executors lost since the driver started.
    lost: AtomicU64,
    /// The kill armed by `ember.testing.killExecutor`.
    faults: Mutex<FaultState>,
    /// Proves this driver to executors and checks their calls (`ember.authenticate`).
    auth: ClusterAuth,
}

#[derive(Default)]
struct State {
    executors: BTreeMap<String, ExecutorSlot>,
    queue: VecDeque<Queued>,
    /// Executors a task (stage, partition) failed on, avoided by its next attempts.
    failed_on: HashMap<(StageId, usize), HashSet<String>>,
    /// Each cached partition: the executor holding it, and its size and place.
    cached: HashMap<(RddId, usize), (String, proto::CachedBlock)>,
    /// Task copies running now, by a number of their own.
    running: HashMap<u64, Running>,
    next_run: u64,
    /// Durations of the successful tasks of each stage (for speculation).
    durations: HashMap<StageId, Vec<Duration>>,
}

struct ExecutorSlot {
    address: String,
    cores: usize,
    free: usize,
    client: RpcClient,
    last_heartbeat: Instant,
    pid: u32,
}

struct Queued {
    task: Task,
    reporter: TaskReporter,
    enqueued: Instant,
    copies: Arc<Copies>,
    /// For a speculative copy, the executor running the original.
    avoid: Option<String>,
}

/// The copies of one task the DAG scheduler launched (two with speculation): the first to
/// succeed is reported and the other stops; a failure is reported once no copy is left.
#[derive(Default)]
struct Copies {
    state: Mutex<CopiesState>,
    superseded: AtomicBool,
}

#[derive(Default)]
struct CopiesState {
    unfinished: usize,
    reported: bool,
    speculated: bool,
}

impl Copies {
    fn new() -> Arc<Self> {
        let copies = Copies::default();
        copies.state.lock().unfinished = 1;
        Arc::new(copies)
    }

    /// One copy ended; whether its end is the one to report.
    fn ended(&self, succeeded: bool) -> bool {
        let mut state = self.state.lock();
        state.unfinished = state.unfinished.saturating_sub(1);
        if state.reported || !(succeeded || state.unfinished == 0) {
            return false;
        }
        state.reported = true;
        if succeeded {
            self.superseded.store(true, Ordering::Relaxed);
        }
        true
    }
}

/// A task copy running on an executor, watched for speculation.
struct Running {
    task: Task,
    reporter: TaskReporter,
    copies: Arc<Copies>,
    executor_id: String,
    started: Instant,
}

impl ClusterBackend {
    /// Starts the driver's Flight service on `address` and, for `local-cluster`, the executor
    /// processes; waits for `ember.scheduler.minRegisteredResourcesRatio` of the expected
    /// executors or `ember.scheduler.maxRegisteredResourcesWaitingTime`.
    pub fn start(
        conf: &EmberConf,
        master: &Master,
        tracker: Arc<MapOutputTracker>,
    ) -> Result<ClusterBackend> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ember-driver-rpc")
            .thread_stack_size(ember_common::THREAD_STACK_BYTES)
            .enable_all()
            .build()
            .map_err(|e| EmberError::io("starting the driver's RPC runtime", e))?;
        let (bind_address, expected) = match master {
            Master::LocalCluster { executors, .. } => ("127.0.0.1:0".to_string(), *executors),
            Master::Cluster { address } => {
                (address.clone(), conf.get_usize("ember.executor.instances"))
            }
            Master::Local { .. } => {
                return Err(EmberError::internal(
                    "the cluster backend was asked to run a local master",
                ))
            }
        };
        let (listener, local) = runtime.block_on(rpc::bind(&bind_address))?;
        // A local-cluster driver makes a secret up when none is set; a driver that executors
        // join needs one (or ember.authenticate=false).
        let secret =
            ClusterAuth::secret_from_conf(conf, matches!(master, Master::LocalCluster { .. }))?;
        let auth = secret
            .as_deref()
            .map_or_else(ClusterAuth::off, ClusterAuth::with_secret)
            .with_tls_from_conf(conf)?;
        let mut shipped = EmberConf::new();
        for (key, value) in conf.explicit() {
            // The secret never travels: executors have their own copy.
            if key != "ember.master" && key != SECRET_KEY {
                shipped.set(key, value)?;
            }
        }
        let local_cluster = match master {
            Master::LocalCluster { cores, memory, .. } => Some(LocalCluster {
                binary: executor_binary(conf)?,
                driver: local,
                cores: *cores,
                memory: *memory,
                secret: secret.clone(),
                ssl: SSL_KEYS
                    .iter()
                    .filter_map(|key| conf.get(key).map(|v| (key.to_string(), v)))
                    .collect(),
            }),
            _ => None,
        };
        let driver = Arc::new(Driver {
            name: master.to_string(),
            handle: runtime.handle().clone(),
            tracker,
            conf: shipped,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            next_executor: AtomicU64::new(0),
            children: Mutex::new(Vec::new()),
            fragments: Recent::new(FRAGMENTS_KEPT),
            shutdown: tokio::sync::Notify::new(),
            stopped: AtomicBool::new(false),
            locality_wait: duration_conf(conf, "ember.locality.wait"),
            local_cluster,
            relaunches: AtomicU64::new(0),
            max_relaunches: conf.get_usize("ember.executor.maxRelaunches") as u64,
            lost: AtomicU64::new(0),
            faults: Mutex::new(FaultState::default()),
            auth: auth.clone(),
        });
        let stop = {
            let driver = driver.clone();
            async move { driver.shutdown.notified().await }
        };
        runtime.spawn(rpc::serve(driver.clone(), listener, stop, auth));
        runtime.spawn(monitor(
            driver.clone(),
            duration_conf(conf, "ember.network.timeout"),
            Speculation::from_conf(conf),
        ));
        log::info!("Driver listening for executors on {local}");
        let backend = ClusterBackend {
            driver: driver.clone(),
            runtime: Mutex::new(Some(runtime)),
        };
        if let (Master::LocalCluster { executors, .. }, Some(cluster)) =
            (master, &driver.local_cluster)
        {
            for _ in 0..*executors {
                let child = cluster.spawn()?;
                driver.children.lock().push(child);
            }
        }
        let ratio = conf
            .get("ember.scheduler.minRegisteredResourcesRatio")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.8)
            .clamp(0.0, 1.0);
        let wanted = (ratio * expected as f64).ceil() as usize;
        let waiting = duration_conf(conf, "ember.scheduler.maxRegisteredResourcesWaitingTime");
        driver.wait_for_executors(
            wanted,
            waiting,
            matches!(master, Master::LocalCluster { .. }),
        )?;
        Ok(backend)
    }
}

impl Driver {
    fn dispatch(self: &Arc<Self>) {
        let mut launches = Vec::new();
        let mut cancelled = Vec::new();
        {
            let mut state = self.state.lock();
            let mut index = 0;
            while index < state.queue.len() {
                if !state.executors.values().any(|slot| slot.free > 0) {
                    break;
                }
                let queued = &state.queue[index];
                if queued.task.cancelled.load(Ordering::Relaxed) {
                    cancelled.extend(state.queue.remove(index));
                    continue;
                }
                let key = (queued.task.attempt.stage_id, queued.task.attempt.partition);
                let preferred = preferred_executor(&state, &queued.task);
                // Delay scheduling: a task whose cached partition is on a busy executor waits
                // up to ember.locality.wait for it rather than recomputing the partition.
                if let Some(preferred) = &preferred {
                    let busy = state
                        .executors
                        .get(preferred)
                        .is_some_and(|slot| slot.free == 0);
                    if busy && queued.enqueued.elapsed() < self.locality_wait {
                        index += 1;
                        continue;
                    }
                }
                let avoid = state.failed_on.get(&key);
                let original = queued.avoid.clone();
                let choice = state
                    .executors
                    .iter()
                    .filter(|(_, slot)| slot.free > 0)
                    .filter(|(id, _)| original.as_deref() != Some(id.as_str()))
                    .max_by_key(|(id, slot)| {
                        (
                            avoid.is_none_or(|a| !a.contains(*id)),
                            preferred.as_deref() == Some(id.as_str()),
                            slot.free,
                        )
                    })
                    .map(|(id, _)| id.clone());
                let Some(executor_id) = choice else { break };
                let Some(queued) = state.queue.remove(index) else {
                    break;
                };
                let Some(slot) = state.executors.get_mut(&executor_id) else {
                    break;
                };
                slot.free -= 1;
                let client = slot.client.clone();
                launches.push((queued, executor_id, client));
            }
        }
        for queued in cancelled {
            if !queued.copies.ended(false) {
                continue;
            }
            queued.reporter.report(ended(
                &queued.task,
                "none",
                Err(EmberError::Cancelled(format!(
                    "{} was cancelled before it started",
                    queued.task.attempt.task_id
                ))),
            ));
        }
        for (queued, executor_id, client) in launches {
            match self.launch_message(&queued.task) {
                Ok(message) => {
                    let driver = self.clone();
                    self.handle.spawn(async move {
                        driver
                            .run_remote(queued, executor_id, client, message)
                            .await;
                    });
                }
                Err(e) => {
                    self.release(&executor_id);
                    if queued.copies.ended(false) {
                        queued
                            .reporter
                            .report(ended(&queued.task, &executor_id, Err(e)));
                    }
                }
            }
        }
    }

    fn release(&self, executor_id: &str) {
        if let Some(slot) = self.state.lock().executors.get_mut(executor_id) {
            slot.free = (slot.free + 1).min(slot.cores);
        }
    }

    async fn run_remote(
        self: Arc<Self>,
        queued: Queued,
        executor_id: String,
        mut client: RpcClient,
        message: proto::LaunchTask,
    ) {
        let Queued {
            task,
            reporter,
            copies,
            ..
        } = queued;
        let started = Instant::now();
        let run = {
            let mut state = self.state.lock();
            let run = state.next_run;
            state.next_run += 1;
            state.running.insert(
                run,
                Running {
                    task: task.clone(),
                    reporter: reporter.clone(),
                    copies: copies.clone(),
                    executor_id: executor_id.clone(),
                    started,
                },
            );
            run
        };
        let outcome = {
            let mut call = Box::pin(rpc::call(&mut client, actions::LAUNCH_TASK, &message));
            loop {
                match tokio::time::timeout(Duration::from_millis(100), &mut call).await {
                    Ok(result) => break Some(result),
                    // Dropping the call makes the executor cancel the task.
                    Err(_)
                        if task.cancelled.load(Ordering::Relaxed)
                            || copies.superseded.load(Ordering::Relaxed) =>
                    {
                        break None
                    }
                    // The executor was removed (no heartbeats, its process ended): a call to
                    // a process that stopped answering would otherwise wait forever.
                    Err(_) if !self.state.lock().executors.contains_key(&executor_id) => {
                        break Some(Err(Status::unavailable(
                            "the executor was removed while the task ran",
                        )))
                    }
                    Err(_) => {}
                }
            }
        };
        self.state.lock().running.remove(&run);
        if outcome.is_none() && copies.superseded.load(Ordering::Relaxed) {
            // Another copy of this task finished first.
            log::info!(
                "Stopped the copy of {} on executor {executor_id}: another copy finished first",
                task.attempt.task_id
            );
            copies.ended(false);
            self.release(&executor_id);
            self.dispatch();
            return;
        }
        let end = match outcome {
            None => ended(
                &task,
                &executor_id,
                Err(EmberError::Cancelled(format!(
                    "{} was cancelled",
                    task.attempt.task_id
                ))),
            ),
            Some(Ok(reply)) => match proto::TaskResult::decode(reply.as_ref()) {
                Ok(mut result) => {
                    self.record_cached(&executor_id, &result.cached);
                    let outcome = proto::task_output_from_wire(&mut result, task.attempt.task_id);
                    TaskEnd {
                        attempt: task.attempt,
                        stage_attempt: task.stage_attempt,
                        executor_id: ExecutorId(executor_id.clone()),
                        duration: Duration::from_micros(result.duration_micros),
                        metrics: proto::metrics_from_wire(&result.metrics),
                        outcome,
                    }
                }
                Err(e) => ended(
                    &task,
                    &executor_id,
                    Err(EmberError::internal(format!(
                        "executor {executor_id} sent a malformed task result: {e}"
                    ))),
                ),
            },
            Some(Err(status)) => {
                let reason = format!("{} ({:?})", status.message(), status.code());
                self.executor_lost(&executor_id, &reason);
                ended(
                    &task,
                    &executor_id,
                    Err(EmberError::Execution(format!(
                        "executor {executor_id} was lost while running {} after {:?}: {reason}",
                        task.attempt.task_id,
                        started.elapsed()
                    ))),
                )
            }
        };
        let succeeded = end.outcome.is_ok();
        {
            let mut state = self.state.lock();
            let key = (task.attempt.stage_id, task.attempt.partition);
            if succeeded {
                state.failed_on.remove(&key);
                state
                    .durations
                    .entry(task.attempt.stage_id)
                    .or_default()
                    .push(started.elapsed());
            } else {
                state
                    .failed_on
                    .entry(key)
                    .or_default()
                    .insert(executor_id.clone());
            }
        }
        self.release(&executor_id);
        if copies.ended(succeeded) {
            reporter.report(end);
            let is_map = matches!(task.kind, TaskKind::ShuffleMap(_));
            if succeeded && is_map {
                let chosen =
                    self.injected_kill(&task.conf, |point| point == KillPoint::MapOutputRegistered);
                if let Ok(Some(_)) = chosen {
                    self.kill_executor_process(&executor_id);
                }
            }
        }
        self.dispatch();
    }

    /// Takes an executor's list of the cached partitions it holds now.
    fn record_cached(&self, executor_id: &str, blocks: &[proto::CachedBlock]) {
        let mut state = self.state.lock();
        if blocks.is_empty() && state.cached.is_empty() {
            return;
        }
        state.cached.retain(|_, (holder, _)| holder != executor_id);
        for block in blocks {
            let key = (RddId(block.rdd_id), block.partition as usize);
            state
                .cached
                .insert(key, (executor_id.to_string(), block.clone()));
        }
    }

    /// The task on the wire: its fragment, partition and where its shuffle inputs are.
    fn launch_message(&self, task: &Task) -> Result<proto::LaunchTask> {
        let plan_rdd = task
            .rdd
            .as_any()
            .and_then(|any| any.downcast_ref::<PlanRdd>())
            .ok_or_else(|| {
                EmberError::NotSupported(format!(
                    "running {} on executor processes: cluster mode runs the plan fragments of \
                     SQL queries; use a local master for other RDDs",
                    task.rdd.name()
                ))
            })?;
        let shuffle_id = match &task.kind {
            TaskKind::ShuffleMap(dependency) => Some(dependency.shuffle_id.0),
            TaskKind::Result => None,
        };
        let fragment = self.encoded_fragment(plan_rdd, shuffle_id.is_some())?;
        let mut inputs = Vec::new();
        let mut seen = HashSet::new();
        for shuffle in shuffle_reads(&task.rdd) {
            if !seen.insert(shuffle) {
                continue;
            }
            let maps = self
                .tracker
                .map_statuses(shuffle)
                .unwrap_or_default()
                .into_iter()
                .map(|status| match status {
                    Some(s) => proto::MapOutput {
                        executor_id: s.executor_id.0,
                        block_sizes: s.block_sizes,
                        task_id: s.task_id.0,
                    },
                    None => proto::MapOutput::default(),
                })
                .collect();
            inputs.push(proto::ShuffleInput {
                shuffle_id: shuffle.0,
                maps,
            });
        }
        let reads_shuffle = !inputs.is_empty();
        let kill_at = self.injected_kill(&task.conf, |point| match point {
            KillPoint::Launch => true,
            KillPoint::Fetch => reads_shuffle,
            KillPoint::ShuffleWriteBefore
            | KillPoint::ShuffleWriteDuring
            | KillPoint::ShuffleWriteAfter => shuffle_id.is_some(),
            KillPoint::Register | KillPoint::MapOutputRegistered => false,
        })?;
        let executors = self
            .state
            .lock()
            .executors
            .iter()
            .map(|(id, slot)| proto::ExecutorAddress {
                executor_id: id.clone(),
                address: slot.address.clone(),
            })
            .collect();
        Ok(proto::LaunchTask {
            wire_version: proto::WIRE_VERSION,
            job_id: task.job_id.0,
            stage_id: task.attempt.stage_id.0,
            stage_attempt: task.stage_attempt as u64,
            partition: task.attempt.partition as u64,
            attempt: task.attempt.attempt as u64,
            task_id: task.attempt.task_id.0,
            shuffle_id,
            fragment: fragment.to_vec(),
            conf: task
                .conf
                .explicit()
                .filter(|(k, _)| k.as_str() != SECRET_KEY)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            inputs,
            executors,
            kill_at: kill_at.map(|p| p.name().to_string()).unwrap_or_default(),
        })
    }

    fn encoded_fragment(&self, rdd: &PlanRdd, is_map: bool) -> Result<Arc<Vec<u8>>> {
        self.fragments.get_or_try_insert(Rdd::id(rdd), || {
            let plan: Arc<dyn ExecutionPlan> = match (is_map, rdd.exchange()) {
                (true, Some(partitioning)) => Arc::new(ExchangeExec::new(
                    rdd.fragment().clone(),
                    partitioning.clone(),
                )),
                (true, None) => {
                    return Err(EmberError::internal(format!(
                        "{} writes a shuffle but does not know its exchange",
                        rdd.name()
                    )))
                }
                (false, _) => rdd.fragment().clone(),
            };
            Ok(Arc::new(plan_to_bytes(&plan)?))
        })
    }

    /// A client of every registered executor.
    fn clients(&self) -> Vec<RpcClient> {
        self.state
            .lock()
            .executors
            .values()
            .map(|slot| slot.client.clone())
            .collect()
    }

    /// Tells every executor something, without waiting for the answers.
    fn broadcast(&self, kind: &'static str, request: proto::RemoveRequest) {
        for mut client in self.clients() {
            let request = request.clone();
            self.handle.spawn(async move {
                if let Err(status) = rpc::call(&mut client, kind, &request).await {
                    log::debug!("{kind} {}: {}", request.id, status.message());
                }
            });
        }
    }

    fn stop(&self) {
        if self.stopped.swap(true, Ordering::Relaxed) {
            return;
        }
        self.fail_queued(|| EmberError::Cancelled("the driver is stopping".into()));
        let stops = self.clients().into_iter().map(|mut client| async move {
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                rpc::call(&mut client, actions::STOP, &proto::RemoveRequest::default()),
            )
            .await;
        });
        self.handle.block_on(futures::future::join_all(stops));
        let mut children = self.children.lock();
        for child in children.iter_mut() {
            // Closing stdin stops the executor; a kill makes sure.
            drop(child.stdin.take());
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        children.clear();
        self.shutdown.notify_one();
    }
}

/// The executor holding a cached partition this task reads, if any.
fn preferred_executor(state: &State, task: &Task) -> Option<String> {
    if state.cached.is_empty() {
        return None;
    }
    let mut stack = vec![task.rdd.clone()];
    while let Some(rdd) = stack.pop() {
        if let Some((executor, _)) = state.cached.get(&(rdd.id(), task.attempt.partition)) {
            return Some(executor.clone());
        }
        for dependency in rdd.dependencies() {
            match dependency {
                Dependency::OneToOne(parent) => stack.push(parent),
                Dependency::Range { rdd, .. } => stack.push(rdd),
                Dependency::Shuffle(_) => {}
            }
        }
    }
    None
}

/// The shuffles the stage of `rdd` reads (its wide dependencies, through narrow ones).
fn shuffle_reads(rdd: &Arc<dyn Rdd>) -> Vec<ShuffleId> {
    let mut out = Vec::new();
    let mut stack = vec![rdd.clone()];
    while let Some(rdd) = stack.pop() {
        for dependency in rdd.dependencies() {
            match dependency {
                Dependency::OneToOne(parent) => stack.push(parent),
                Dependency::Range { rdd, .. } => stack.push(rdd),
                Dependency::Shuffle(shuffle) => out.push(shuffle.shuffle_id),
            }
        }
    }
    out
}

fn ended(
    task: &Task,
    executor_id: &str,
    outcome: Result<ember_core::scheduler::TaskOutput>,
) -> TaskEnd {
    TaskEnd {
        attempt: task.attempt,
        stage_attempt: task.stage_attempt,
        executor_id: ExecutorId(executor_id.to_string()),
        duration: Duration::ZERO,
        metrics: TaskMetricsSnapshot::default(),
        outcome,
    }
}

impl Endpoint for Driver {
    fn action(
        &self,
        kind: String,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<u8>, Status>> + Send + '_>> {
        Box::pin(async move {
            match kind.as_str() {
                actions::REGISTER => self.register(body),
                actions::HEARTBEAT => self.heartbeat(body),
                other => Err(Status::unimplemented(format!(
                    "the driver does not answer the action '{other}'"
                ))),
            }
        })
    }

    fn get(
        &self,
        _ticket: Bytes,
    ) -> std::result::Result<BoxStream<'static, std::result::Result<Bytes, Status>>, Status> {
        Err(Status::unimplemented(
            "the driver serves no blocks; ask the executor that holds them",
        ))
    }
}

impl SchedulerBackend for ClusterBackend {
    fn name(&self) -> String {
        let state = self.driver.state.lock();
        format!(
            "{} ({} executor(s), {} core(s))",
            self.driver.name,
            state.executors.len(),
            state.executors.values().map(|s| s.cores).sum::<usize>()
        )
    }

    fn total_cores(&self) -> usize {
        let cores: usize = self
            .driver
            .state
            .lock()
            .executors
            .values()
            .map(|s| s.cores)
            .sum();
        cores.max(1)
    }

    fn launch_task(&self, task: Task, reporter: TaskReporter) -> Result<()> {
        if self.driver.stopped.load(Ordering::Relaxed) {
            return Err(EmberError::execution("the driver was stopped"));
        }
        self.driver.state.lock().queue.push_back(Queued {
            task,
            reporter,
            enqueued: Instant::now(),
            copies: Copies::new(),
            avoid: None,
        });
        self.driver.dispatch();
        Ok(())
    }

    fn stop(&self) {
        self.driver.stop();
        if let Some(runtime) = self.runtime.lock().take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }

    fn remove_shuffle(&self, shuffle_id: ShuffleId) {
        self.driver.broadcast(
            actions::REMOVE_SHUFFLE,
            proto::RemoveRequest { id: shuffle_id.0 },
        );
    }

    fn remove_rdd(&self, rdd: RddId) {
        {
            let mut state = self.driver.state.lock();
            state.cached.retain(|(r, _), _| *r != rdd);
        }
        self.driver
            .broadcast(actions::REMOVE_RDD, proto::RemoveRequest { id: rdd.0 });
    }

    fn executors(&self) -> Vec<ExecutorInfo> {
        let state = self.driver.state.lock();
        state
            .executors
            .iter()
            .map(|(id, slot)| ExecutorInfo {
                id: id.clone(),
                address: slot.address.clone(),
                pid: slot.pid,
                cores: slot.cores,
                cached_blocks: state.cached.values().filter(|(e, _)| e == id).count(),
            })
            .collect()
    }

    fn executors_lost(&self) -> usize {
        self.driver.lost.load(Ordering::Relaxed) as usize
    }

    fn cache_status(&self, rdd: RddId) -> Option<CacheStatus> {
        let state = self.driver.state.lock();
        let mut status = CacheStatus::default();
        for ((r, _), (_, block)) in &state.cached {
            if *r != rdd {
                continue;
            }
            if block.on_disk {
                status.disk_partitions += 1;
                status.disk_bytes += block.bytes;
            } else {
                status.memory_partitions += 1;
                status.memory_bytes += block.bytes;
            }
        }
        Some(status)
    }
}

impl Drop for ClusterBackend {
    fn drop(&mut self) {
        self.stop();
    }
}
