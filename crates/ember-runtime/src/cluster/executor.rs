//! An executor process (`ember executor --driver HOST:PORT`): registers with the driver,
//! sends heartbeats, runs the tasks the driver launches on its cores, and serves the shuffle
//! blocks its map tasks wrote to the other executors over Flight `do_get`.
//!
//! ```text
//!   driver ──launch_task──▶ decode fragment (cached per stage) ──▶ task thread: run_task
//!                                                     │ reads local blocks from its store,
//!                                                     │ remote ones with FlightFetcher
//!   driver ◀──TaskResult {map status | batches | error}┘
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ember_common::{
    EmberConf, EmberError, ExecutorId, JobId, RddId, Result, ShuffleId, StageId, TaskId,
};
use ember_core::fault::KillPoint;
use ember_core::scheduler::{run_task, Task, TaskKind};
use ember_core::shuffle::{
    BlockLocation, MapOutputSource, ShuffleBlockData, ShuffleBlockFetcher, ShuffleBlockId,
};
use ember_core::{
    BlockManager, ExecutorEnv, Rdd, ShuffleBlockStore, ShuffleDependency, TaskAttempt,
};
use ember_physical::operators::exchange::ExchangeExec;
use ember_physical::plan::ExecutionPlan;
use ember_physical::stages::PlanRdd;
use futures::stream::{self, StreamExt};
use parking_lot::{Mutex, RwLock};
use prost::Message;
use tokio::runtime::Handle;
use tonic::Status;

use super::auth::ClusterAuth;
use super::proto::{self, actions, check_version, LaunchTask, MapOutput, ShuffleBlockRequest};
use super::rpc::{self, Endpoint, RpcClient, BLOCK_CHUNK};
use super::{duration_conf, Recent};
use crate::codec::plan::plan_from_bytes;

/// How `ember executor` was started.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// `host:port` of the driver.
    pub driver: String,
    /// The address this executor's Flight service listens on and tells the driver.
    pub host: String,
    pub cores: usize,
    /// Bytes of memory (cached partitions take 60% of it).
    pub memory: u64,
    /// Values overriding the driver's configuration on this executor.
    pub conf: Vec<(String, String)>,
    /// Exit when standard input closes (set by a `local-cluster` driver, whose exit closes it).
    pub exit_on_stdin_eof: bool,
}

/// Runs an executor until the driver stops it or goes away.
pub fn run_executor(options: ExecutorOptions) -> Result<()> {
    ember_core::fault::allow_kills();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ember-executor-rpc")
        .thread_stack_size(ember_common::THREAD_STACK_BYTES)
        .enable_all()
        .build()
        .map_err(|e| EmberError::io("starting the executor's RPC runtime", e))?;
    if options.exit_on_stdin_eof {
        std::thread::spawn(|| {
            let mut sink = [0u8; 64];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            log::info!("the driver that started this executor exited; stopping");
            std::process::exit(0);
        });
    }
    let handle = runtime.handle().clone();
    runtime.block_on(executor_main(options, handle))
}

async fn executor_main(options: ExecutorOptions, handle: Handle) -> Result<()> {
    let (listener, local) = rpc::bind(&format!("{}:0", options.host)).await?;
    // The cluster secret: --conf ember.authenticate.secret=..., else EMBER_AUTHENTICATE_SECRET
    // (how a local-cluster driver hands it over). Without one the executor neither proves
    // itself nor checks its peers; a driver that requires it refuses the registration.
    let mut own = EmberConf::new();
    for (key, value) in &options.conf {
        own.set(key, value)?;
    }
    let auth = match ClusterAuth::secret_from_conf(&own, false) {
        Ok(Some(secret)) => ClusterAuth::with_secret(&secret),
        Ok(None) | Err(_) => ClusterAuth::off(),
    }
    .with_tls_from_conf(&own)?;
    let mut driver = rpc::client(&options.driver, &auth)?;
    let registration = proto::RegisterExecutor {
        wire_version: proto::WIRE_VERSION,
        host: options.host.clone(),
        port: u32::from(local.port()),
        cores: options.cores as u32,
        memory: options.memory,
        pid: std::process::id(),
    };
    let registered = register(&mut driver, &options.driver, &registration).await?;
    ember_core::fault::kill_point(
        KillPoint::from_name(&registered.kill_at),
        KillPoint::Register,
        &format!("registered as executor {}", registered.executor_id),
    );
    let executor_id = ExecutorId(registered.executor_id.clone());

    let mut conf = EmberConf::new();
    for (key, value) in registered.conf.iter() {
        if let Err(e) = conf.set(key, value) {
            log::warn!("ignoring the driver's setting {key}: {e}");
        }
    }
    for (key, value) in &options.conf {
        conf.set(key, value)?;
    }
    conf.set("ember.executor.memory", &options.memory.to_string())?;
    let base_dir = conf
        .get("ember.local.dir")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let local_dir = tempfile::Builder::new()
        .prefix(&format!("ember-executor-{}-", executor_id.0))
        .tempdir_in(&base_dir)
        .map_err(|e| EmberError::io(base_dir.display().to_string(), e))?;
    conf.set("ember.local.dir", &local_dir.path().display().to_string())?;

    let fetcher = Arc::new(FlightFetcher::new(handle.clone(), auth.clone()));
    let executor = Arc::new(Executor {
        id: executor_id.clone(),
        block_store: Arc::new(ShuffleBlockStore::new(&conf)),
        block_manager: Arc::new(BlockManager::new(&conf)),
        fetcher,
        fragments: Recent::new(FRAGMENTS_KEPT),
        stop: tokio::sync::Notify::new(),
    });
    log::info!(
        "{} registered with the driver at {}; serving blocks on {local}, {} core(s), {} MiB",
        executor_id,
        options.driver,
        options.cores,
        options.memory >> 20
    );

    let heartbeat = tokio::spawn(heartbeats(
        driver,
        executor_id.clone(),
        duration_conf(&conf, "ember.executor.heartbeatInterval"),
        duration_conf(&conf, "ember.network.timeout"),
        executor.clone(),
    ));
    let stop_signal = {
        let executor = executor.clone();
        async move { executor.stop.notified().await }
    };
    rpc::serve(executor.clone(), listener, stop_signal, auth).await;
    heartbeat.abort();
    log::info!("{executor_id} stopped");
    drop(local_dir);
    Ok(())
}

/// Registers, retrying while the driver is not reachable yet.
async fn register(
    driver: &mut RpcClient,
    address: &str,
    request: &proto::RegisterExecutor,
) -> Result<proto::Registered> {
    let started = Instant::now();
    loop {
        match rpc::call(driver, actions::REGISTER, request).await {
            Ok(reply) => {
                return proto::Registered::decode(reply.as_ref()).map_err(|e| {
                    EmberError::internal(format!("malformed registration reply: {e}"))
                })
            }
            Err(status)
                if status.code() == tonic::Code::Unavailable
                    && started.elapsed() < Duration::from_secs(30) =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => {
                return Err(EmberError::Execution(format!(
                    "cannot register with the driver at {address}: {}",
                    status.message()
                )))
            }
        }
    }
}

async fn heartbeats(
    mut driver: RpcClient,
    executor_id: ExecutorId,
    interval: Duration,
    timeout: Duration,
    executor: Arc<Executor>,
) {
    let request = proto::Heartbeat {
        wire_version: proto::WIRE_VERSION,
        executor_id: executor_id.0.clone(),
    };
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(interval).await;
        match rpc::call(&mut driver, actions::HEARTBEAT, &request).await {
            Ok(reply) => {
                let known = proto::HeartbeatReply::decode(reply.as_ref())
                    .map(|r| r.known)
                    .unwrap_or(false);
                if !known {
                    log::warn!("the driver no longer knows {executor_id}; stopping");
                    executor.stop.notify_one();
                    return;
                }
                last_ok = Instant::now();
            }
            Err(status) => {
                log::warn!("heartbeat to the driver failed: {}", status.message());
                if last_ok.elapsed() > timeout {
                    log::warn!(
                        "no heartbeat reached the driver for {:?}; stopping {executor_id}",
                        last_ok.elapsed()
                    );
                    executor.stop.notify_one();
                    return;
                }
            }
        }
    }
}

/// Decoded fragments kept per stage, so that a stage's tasks on this executor share one
/// copy (and so one broadcast hash table).
const FRAGMENTS_KEPT: usize = 32;

struct Executor {
    id: ExecutorId,
    block_store: Arc<ShuffleBlockStore>,
    block_manager: Arc<BlockManager>,
    fetcher: Arc<FlightFetcher>,
    fragments: Recent<u64, Arc<dyn ExecutionPlan>>,
    stop: tokio::sync::Notify,
}

impl Executor {
    fn fragment(&self, stage_id: u64, bytes: &[u8]) -> Result<Arc<dyn ExecutionPlan>> {
        self.fragments
            .get_or_try_insert(stage_id, || plan_from_bytes(bytes))
    }

    /// The core task for a launch message.
    fn task(&self, message: &LaunchTask, cancelled: Arc<AtomicBool>) -> Result<Task> {
        let fragment = self.fragment(message.stage_id, &message.fragment)?;
        let mut conf = EmberConf::new();
        for (key, value) in &message.conf {
            conf.set(key, value)?;
        }
        let kind;
        let rdd: Arc<dyn Rdd>;
        match message.shuffle_id {
            Some(shuffle_id) => {
                let any: &dyn std::any::Any = fragment.as_ref().as_any_ref();
                let exchange = any.downcast_ref::<ExchangeExec>().ok_or_else(|| {
                    EmberError::internal(format!(
                        "the map task of shuffle {shuffle_id} did not carry an exchange but {}",
                        fragment.name()
                    ))
                })?;
                rdd = Arc::new(PlanRdd::new(
                    RddId(message.stage_id),
                    exchange.input().clone(),
                    Vec::new(),
                ));
                kind = TaskKind::ShuffleMap(Arc::new(ShuffleDependency {
                    shuffle_id: ShuffleId(shuffle_id),
                    rdd: rdd.clone(),
                    partitioner: exchange.partitioner(),
                }));
            }
            None => {
                rdd = Arc::new(PlanRdd::new(RddId(message.stage_id), fragment, Vec::new()));
                kind = TaskKind::Result;
            }
        }
        Ok(Task {
            job_id: JobId(message.job_id),
            attempt: TaskAttempt {
                stage_id: StageId(message.stage_id),
                partition: message.partition as usize,
                attempt: message.attempt as usize,
                task_id: TaskId(message.task_id),
            },
            stage_attempt: message.stage_attempt as usize,
            kind,
            rdd,
            conf: Arc::new(conf),
            cancelled,
        })
    }

    fn env(&self, message: &LaunchTask) -> Arc<ExecutorEnv> {
        self.fetcher.learn(&message.executors);
        Arc::new(ExecutorEnv {
            executor_id: self.id.clone(),
            block_store: self.block_store.clone(),
            map_outputs: Arc::new(TaskMapOutputs(
                message
                    .inputs
                    .iter()
                    .map(|input| (ShuffleId(input.shuffle_id), input.maps.clone()))
                    .collect(),
            )),
            remote_fetcher: Some(self.fetcher.clone() as Arc<dyn ShuffleBlockFetcher>),
            block_manager: self.block_manager.clone(),
            kill_at: KillPoint::from_name(&message.kill_at),
        })
    }

    async fn launch(&self, body: Bytes) -> std::result::Result<Vec<u8>, Status> {
        let message: LaunchTask = rpc::decode(actions::LAUNCH_TASK, &body)?;
        check_version("the driver", message.wire_version).map_err(|e| rpc::status(&e))?;
        ember_core::fault::kill_point(
            KillPoint::from_name(&message.kill_at),
            KillPoint::Launch,
            &format!("task {} launched", message.task_id),
        );
        let cancelled = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let task = match self.task(&message, cancelled.clone()) {
            Ok(task) => task,
            Err(e) => {
                let result = proto::task_result_to_wire(
                    &self.id,
                    started.elapsed(),
                    &Default::default(),
                    &Err(e),
                    Vec::new(),
                );
                return Ok(result.encode_to_vec());
            }
        };
        let env = self.env(&message);
        // The driver drops the call when the task's job is cancelled: stop the task then.
        let _guard = CancelOnDrop(cancelled.clone());
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let name = format!("ember-task-{}", message.task_id);
        let executor_id = self.id.clone();
        let task_id = message.task_id;
        let spawned = std::thread::Builder::new()
            .name(name)
            .stack_size(ember_common::THREAD_STACK_BYTES)
            .spawn(move || {
                let end = run_task(&task, &env);
                if cancelled.load(Ordering::Relaxed) {
                    log::info!(
                    "{executor_id}: task {task_id} stopped after {:.3} s: cancelled by the driver",
                    started.elapsed().as_secs_f64()
                );
                }
                let _ = sender.send(end);
            });
        if let Err(e) = spawned {
            return Err(Status::resource_exhausted(format!(
                "cannot start a task thread: {e}"
            )));
        }
        let end = receiver
            .await
            .map_err(|_| Status::internal("the task thread ended without a result"))?;
        // Every cached partition held now, so the driver's view follows evictions too.
        let cached = self
            .block_manager
            .blocks()
            .into_iter()
            .map(|(rdd, partition, bytes, on_disk)| proto::CachedBlock {
                rdd_id: rdd.0,
                partition: partition as u64,
                bytes,
                on_disk,
            })
            .collect();
        let result = proto::task_result_to_wire(
            &end.executor_id,
            end.duration,
            &end.metrics,
            &end.outcome,
            cached,
        );
        Ok(result.encode_to_vec())
    }
}

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Endpoint for Executor {
    fn action(
        &self,
        kind: String,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<u8>, Status>> + Send + '_>> {
        Box::pin(async move {
            match kind.as_str() {
                actions::LAUNCH_TASK => self.launch(body).await,
                actions::REMOVE_SHUFFLE => {
                    let request: proto::RemoveRequest = rpc::decode(&kind, &body)?;
                    let removed = self.block_store.remove_shuffle(ShuffleId(request.id));
                    log::debug!("removed {removed} block(s) of shuffle {}", request.id);
                    Ok(Vec::new())
                }
                actions::REMOVE_RDD => {
                    let request: proto::RemoveRequest = rpc::decode(&kind, &body)?;
                    self.block_manager.remove_rdd(RddId(request.id));
                    Ok(Vec::new())
                }
                actions::STOP => {
                    log::info!("the driver stopped {}", self.id);
                    self.stop.notify_one();
                    Ok(Vec::new())
                }
                other => Err(Status::unimplemented(format!(
                    "executors do not answer the action '{other}'"
                ))),
            }
        })
    }

    fn get(
        &self,
        ticket: Bytes,
    ) -> std::result::Result<
        futures::stream::BoxStream<'static, std::result::Result<Bytes, Status>>,
        Status,
    > {
        let request: ShuffleBlockRequest = rpc::decode("do_get", &ticket)?;
        check_version("the reducer", request.wire_version).map_err(|e| rpc::status(&e))?;
        let block = ShuffleBlockId::new(
            ShuffleId(request.shuffle_id),
            request.map_index as usize,
            request.reduce_partition as usize,
        );
        let Some(data) = self.block_store.get_block(block) else {
            return Err(Status::not_found(format!("{block} is not on {}", self.id)));
        };
        let bytes: Bytes = match data {
            ShuffleBlockData::Memory(bytes) => Bytes::from(bytes.to_vec()),
            ShuffleBlockData::File(path) => std::fs::read(&path)
                .map_err(|e| Status::not_found(format!("{block}: {}: {e}", path.display())))?
                .into(),
        };
        let chunks: Vec<std::result::Result<Bytes, Status>> = (0..bytes.len())
            .step_by(BLOCK_CHUNK)
            .map(|start| Ok(bytes.slice(start..(start + BLOCK_CHUNK).min(bytes.len()))))
            .collect();
        Ok(stream::iter(chunks).boxed())
    }
}

/// Where a task's shuffle inputs are, as the driver put them in the task.
#[derive(Debug)]
struct TaskMapOutputs(HashMap<ShuffleId, Vec<MapOutput>>);

impl MapOutputSource for TaskMapOutputs {
    fn locations_for_reduce(
        &self,
        shuffle_id: ShuffleId,
        reduce_partition: usize,
    ) -> Result<Vec<Option<BlockLocation>>> {
        let maps = self.0.get(&shuffle_id).ok_or_else(|| {
            EmberError::internal(format!(
                "the task reads {shuffle_id}, whose map outputs the driver did not send"
            ))
        })?;
        Ok(maps
            .iter()
            .map(|map| {
                (!map.executor_id.is_empty()).then(|| BlockLocation {
                    executor_id: ExecutorId(map.executor_id.clone()),
                    size: map.block_sizes.get(reduce_partition).copied().unwrap_or(0),
                })
            })
            .collect())
    }
}

/// Fetches shuffle blocks from other executors with Flight `do_get`.
#[derive(Debug)]
pub struct FlightFetcher {
    handle: Handle,
    addresses: RwLock<HashMap<String, String>>,
    clients: Mutex<HashMap<String, RpcClient>>,
    auth: ClusterAuth,
}

impl FlightFetcher {
    fn new(handle: Handle, auth: ClusterAuth) -> Self {
        FlightFetcher {
            handle,
            addresses: RwLock::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            auth,
        }
    }

    fn learn(&self, executors: &[proto::ExecutorAddress]) {
        let mut addresses = self.addresses.write();
        for executor in executors {
            addresses.insert(executor.executor_id.clone(), executor.address.clone());
        }
    }

    fn client(&self, address: &str) -> Result<RpcClient> {
        let mut clients = self.clients.lock();
        if let Some(client) = clients.get(address) {
            return Ok(client.clone());
        }
        // The channel's background task needs the runtime; task threads are outside it.
        let _runtime = self.handle.enter();
        let client = rpc::client(address, &self.auth)?;
        clients.insert(address.to_string(), client.clone());
        Ok(client)
    }
}

impl ShuffleBlockFetcher for FlightFetcher {
    fn fetch(
        &self,
        executor: &ExecutorId,
        block: ShuffleBlockId,
    ) -> Result<Option<ShuffleBlockData>> {
        let address = self
            .addresses
            .read()
            .get(&executor.0)
            .cloned()
            .ok_or_else(|| EmberError::execution(format!("no address is known for {executor}")))?;
        let mut client = self.client(&address)?;
        let ticket = ShuffleBlockRequest {
            wire_version: proto::WIRE_VERSION,
            shuffle_id: block.shuffle_id.0,
            map_index: block.map_index as u64,
            reduce_partition: block.reduce_partition as u64,
        }
        .encode_to_vec();
        let fetched = self
            .handle
            .block_on(async { rpc::get_bytes(&mut client, ticket).await })
            .map_err(|status| {
                EmberError::execution(format!(
                    "fetching {block} from {executor} at {address}: {}",
                    status.message()
                ))
            })?;
        Ok(fetched.map(|bytes| ShuffleBlockData::Memory(bytes.into())))
    }
}
