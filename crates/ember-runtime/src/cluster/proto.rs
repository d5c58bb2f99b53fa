//! The messages driver and executors exchange, as protobuf (prost) inside Arrow Flight
//! actions and tickets. Every request carries [`WIRE_VERSION`]; a peer of another version
//! is refused with a message naming both.
//!
//! ```text
//! executor ──register {host, port, cores, memory}──▶ driver ──▶ {executor id, conf}
//! executor ──heartbeat {executor id}──────────────▶ driver ──▶ {known}
//! driver ──launch_task {fragment, partition, inputs}──▶ executor ──▶ TaskResult (when it ends)
//! reducer ──do_get ShuffleBlockRequest───────────▶ executor holding the block ──▶ IPC bytes
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use ember_common::{EmberError, ExecutorId, TaskId};
use ember_core::scheduler::TaskOutput;
use ember_core::{MapStatus, TaskMetricsSnapshot};

use crate::codec::arrow::{decode_batches, encode_batches};
pub use crate::codec::WIRE_VERSION;

/// Flight action names.
pub mod actions {
    /// Executor → driver: join the cluster.
    pub const REGISTER: &str = "register";
    /// Executor → driver: still alive.
    pub const HEARTBEAT: &str = "heartbeat";
    /// Driver → executor: run one task and answer with its [`super::TaskResult`].
    pub const LAUNCH_TASK: &str = "launch_task";
    /// Driver → executor: delete a finished query's shuffle blocks.
    pub const REMOVE_SHUFFLE: &str = "remove_shuffle";
    /// Driver → executor: drop an uncached table's partitions.
    pub const REMOVE_RDD: &str = "remove_rdd";
    /// Driver → executor: exit.
    pub const STOP: &str = "stop";
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RegisterExecutor {
    #[prost(uint32, tag = "1")]
    pub wire_version: u32,
    /// Where the executor's Flight service listens.
    #[prost(string, tag = "2")]
    pub host: String,
    #[prost(uint32, tag = "3")]
    pub port: u32,
    #[prost(uint32, tag = "4")]
    pub cores: u32,
    #[prost(uint64, tag = "5")]
    pub memory: u64,
    #[prost(uint32, tag = "6")]
    pub pid: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Registered {
    #[prost(string, tag = "1")]
    pub executor_id: String,
    /// The driver's configuration, which the executor's stores are built from.
    #[prost(btree_map = "string, string", tag = "2")]
    pub conf: BTreeMap<String, String>,
    /// `register` when `ember.testing.killExecutor` chose this executor to die right after
    /// registering; empty otherwise.
    #[prost(string, tag = "3")]
    pub kill_at: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Heartbeat {
    #[prost(uint32, tag = "1")]
    pub wire_version: u32,
    #[prost(string, tag = "2")]
    pub executor_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HeartbeatReply {
    /// False when the driver removed the executor (it then exits).
    #[prost(bool, tag = "1")]
    pub known: bool,
}

/// One map task's output as a reducer needs it: who holds it and each block's size.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MapOutput {
    /// Empty when the output is missing (never computed, or lost).
    #[prost(string, tag = "1")]
    pub executor_id: String,
    #[prost(uint64, repeated, tag = "2")]
    pub block_sizes: Vec<u64>,
    #[prost(uint64, tag = "3")]
    pub task_id: u64,
}

/// Every map output of one shuffle a task reads.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ShuffleInput {
    #[prost(uint64, tag = "1")]
    pub shuffle_id: u64,
    #[prost(message, repeated, tag = "2")]
    pub maps: Vec<MapOutput>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutorAddress {
    #[prost(string, tag = "1")]
    pub executor_id: String,
    /// `host:port` of its Flight service.
    #[prost(string, tag = "2")]
    pub address: String,
}

/// Where a cached partition is kept.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CachedBlock {
    #[prost(uint64, tag = "1")]
    pub rdd_id: u64,
    #[prost(uint64, tag = "2")]
    pub partition: u64,
    #[prost(uint64, tag = "3")]
    pub bytes: u64,
    #[prost(bool, tag = "4")]
    pub on_disk: bool,
}

/// A task: the serialized plan fragment of its stage, the partition, where its inputs are.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LaunchTask {
    #[prost(uint32, tag = "1")]
    pub wire_version: u32,
    #[prost(uint64, tag = "2")]
    pub job_id: u64,
    #[prost(uint64, tag = "3")]
    pub stage_id: u64,
    #[prost(uint64, tag = "4")]
    pub stage_attempt: u64,
    #[prost(uint64, tag = "5")]
    pub partition: u64,
    #[prost(uint64, tag = "6")]
    pub attempt: u64,
    #[prost(uint64, tag = "7")]
    pub task_id: u64,
    /// For a map task, the shuffle it writes; the fragment is then an `ExchangeExec` whose
    /// partitioning splits the rows of its input.
    #[prost(uint64, optional, tag = "8")]
    pub shuffle_id: Option<u64>,
    /// `codec::plan::plan_to_bytes` of the stage's fragment.
    #[prost(bytes = "vec", tag = "9")]
    pub fragment: Vec<u8>,
    #[prost(btree_map = "string, string", tag = "10")]
    pub conf: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "11")]
    pub inputs: Vec<ShuffleInput>,
    /// The Flight address of every executor the inputs name.
    #[prost(message, repeated, tag = "12")]
    pub executors: Vec<ExecutorAddress>,
    /// A fault injected by `ember.testing.killExecutor`: the name of the point at which the
    /// executor dies while running this task; empty for none.
    #[prost(string, tag = "13")]
    pub kill_at: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskError {
    /// execution | not_supported | config | cancelled | internal | data_source | fetch_failed
    #[prost(string, tag = "1")]
    pub kind: String,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(uint64, tag = "3")]
    pub shuffle_id: u64,
    #[prost(uint64, tag = "4")]
    pub map_index: u64,
    #[prost(uint64, tag = "5")]
    pub reduce_partition: u64,
}

/// How a task ended on its executor.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskResult {
    #[prost(string, tag = "1")]
    pub executor_id: String,
    #[prost(uint64, tag = "2")]
    pub duration_micros: u64,
    /// rows_out, batches_out, shuffle bytes written, read, records written, read, spill bytes.
    #[prost(uint64, repeated, tag = "3")]
    pub metrics: Vec<u64>,
    /// A map task's block sizes, one per reduce partition.
    #[prost(uint64, repeated, tag = "4")]
    pub block_sizes: Vec<u64>,
    /// A result task's batches as one Arrow IPC stream.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub batches: Option<Vec<u8>>,
    #[prost(message, optional, tag = "6")]
    pub error: Option<TaskError>,
    /// Cached partitions the task stored on the executor.
    #[prost(message, repeated, tag = "7")]
    pub cached: Vec<CachedBlock>,
    #[prost(bool, tag = "8")]
    pub is_map: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ShuffleBlockRequest {
    #[prost(uint32, tag = "1")]
    pub wire_version: u32,
    #[prost(uint64, tag = "2")]
    pub shuffle_id: u64,
    #[prost(uint64, tag = "3")]
    pub map_index: u64,
    #[prost(uint64, tag = "4")]
    pub reduce_partition: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RemoveRequest {
    #[prost(uint64, tag = "1")]
    pub id: u64,
}

/// Refuses a message of another wire version.
pub fn check_version(what: &str, version: u32) -> Result<(), EmberError> {
    if version == WIRE_VERSION {
        Ok(())
    } else {
        Err(EmberError::Config(format!(
            "{what} speaks wire version {version}, this process speaks {WIRE_VERSION}: driver \
             and executors must run the same Ember build"
        )))
    }
}

pub fn metrics_to_wire(m: &TaskMetricsSnapshot) -> Vec<u64> {
    vec![
        m.rows_out,
        m.batches_out,
        m.shuffle_bytes_written,
        m.shuffle_bytes_read,
        m.shuffle_records_written,
        m.shuffle_records_read,
        m.spill_bytes,
    ]
}

pub fn metrics_from_wire(values: &[u64]) -> TaskMetricsSnapshot {
    let at = |i: usize| values.get(i).copied().unwrap_or(0);
    TaskMetricsSnapshot {
        rows_out: at(0),
        batches_out: at(1),
        shuffle_bytes_written: at(2),
        shuffle_bytes_read: at(3),
        shuffle_records_written: at(4),
        shuffle_records_read: at(5),
        spill_bytes: at(6),
    }
}

/// An error on the wire keeps the variants the scheduler acts on; every other one travels
/// as its message, which displays the same on the driver.
pub fn error_to_wire(error: &EmberError) -> TaskError {
    let (kind, message) = match error {
        EmberError::NotSupported(m) => ("not_supported", m.clone()),
        EmberError::NotSupportedAt { .. } => ("not_supported", error.to_string()),
        EmberError::Config(m) => ("config", m.clone()),
        EmberError::Cancelled(m) => ("cancelled", m.clone()),
        EmberError::Internal(m) => ("internal", m.clone()),
        EmberError::DataSource(m) => ("data_source", m.clone()),
        EmberError::Io { .. } => ("data_source", error.to_string()),
        EmberError::FetchFailed {
            shuffle_id,
            map_index,
            reduce_partition,
            message,
        } => {
            return TaskError {
                kind: "fetch_failed".into(),
                message: message.clone(),
                shuffle_id: *shuffle_id,
                map_index: *map_index as u64,
                reduce_partition: *reduce_partition as u64,
            }
        }
        other => ("execution", other.to_string()),
    };
    TaskError {
        kind: kind.into(),
        message,
        ..Default::default()
    }
}

pub fn error_from_wire(error: TaskError) -> EmberError {
    match error.kind.as_str() {
        "not_supported" => EmberError::NotSupported(error.message),
        "config" => EmberError::Config(error.message),
        "cancelled" => EmberError::Cancelled(error.message),
        "internal" => EmberError::Internal(error.message),
        "data_source" => EmberError::DataSource(error.message),
        "fetch_failed" => EmberError::FetchFailed {
            shuffle_id: error.shuffle_id,
            map_index: error.map_index as usize,
            reduce_partition: error.reduce_partition as usize,
            message: error.message,
        },
        _ => EmberError::Execution(error.message),
    }
}

/// What an executor sends back for a finished task.
pub fn task_result_to_wire(
    executor_id: &ExecutorId,
    duration: Duration,
    metrics: &TaskMetricsSnapshot,
    outcome: &Result<TaskOutput, EmberError>,
    cached: Vec<CachedBlock>,
) -> TaskResult {
    let mut result = TaskResult {
        executor_id: executor_id.0.clone(),
        duration_micros: duration.as_micros() as u64,
        metrics: metrics_to_wire(metrics),
        cached,
        ..Default::default()
    };
    match outcome {
        Ok(TaskOutput::MapStatus(status)) => {
            result.is_map = true;
            result.block_sizes = status.block_sizes.clone();
        }
        Ok(TaskOutput::Batches(batches)) => {
            let encoded = match batches.first() {
                Some(first) => encode_batches(&first.schema(), batches),
                None => Ok(Vec::new()),
            };
            match encoded {
                Ok(bytes) => result.batches = Some(bytes),
                Err(e) => result.error = Some(error_to_wire(&e)),
            }
        }
        Err(e) => result.error = Some(error_to_wire(e)),
    }
    result
}

/// The driver's view of a [`TaskResult`].
pub fn task_output_from_wire(
    result: &mut TaskResult,
    task_id: TaskId,
) -> Result<TaskOutput, EmberError> {
    if let Some(error) = result.error.take() {
        return Err(error_from_wire(error));
    }
    if result.is_map {
        return Ok(TaskOutput::MapStatus(MapStatus {
            executor_id: ExecutorId(result.executor_id.clone()),
            task_id,
            block_sizes: std::mem::take(&mut result.block_sizes),
        }));
    }
    let bytes = result.batches.take().unwrap_or_default();
    if bytes.is_empty() {
        return Ok(TaskOutput::Batches(Vec::new()));
    }
    Ok(TaskOutput::Batches(decode_batches(&bytes)?.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_the_variants_the_scheduler_needs_and_their_text() {
        let fetch = EmberError::FetchFailed {
            shuffle_id: 3,
            map_index: 2,
            reduce_partition: 1,
            message: "gone".into(),
        };
        let back = error_from_wire(error_to_wire(&fetch));
        assert!(matches!(
            back,
            EmberError::FetchFailed {
                shuffle_id: 3,
                map_index: 2,
                reduce_partition: 1,
                ..
            }
        ));
        let arrow = EmberError::Arrow(arrow::error::ArrowError::ComputeError("bad".into()));
        let text = arrow.to_string();
        assert_eq!(error_from_wire(error_to_wire(&arrow)).to_string(), text);
        let cancelled = EmberError::Cancelled("stop".into());
        assert!(matches!(
            error_from_wire(error_to_wire(&cancelled)),
            EmberError::Cancelled(_)
        ));
        assert!(check_version("executor 1", WIRE_VERSION + 1)
            .unwrap_err()
            .to_string()
            .contains("same Ember build"));
    }
}
