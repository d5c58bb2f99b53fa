//! Physical operators (`*Exec`) on the wire: one protobuf message per operator under a
//! [`pb::PlanNode`] oneof; expressions through `codec::expr`, values through `codec::arrow`.
//!
//! ```text
//! plan_to_bytes:  PlanEnvelope { wire_version, PlanNode { oneof node { Scan | Filter | ... } } }
//! plan_from_bytes: refuses another wire_version, then rebuilds each operator with its
//!                  constructor, children first (expressions decode against their schemas)
//! ```
//!
//! A `ScanExec` carries its whole file table (files, sizes, splits, schema, options), so the
//! executor reads the very splits the driver planned without listing the location again.
//! A `CachedScanExec` carries the cached RDD's id and the fragment that computes it: the
//! executor serves the partition from its block manager, or computes and keeps it.
//!
//! The encoder and the decoder of each family of operators sit side by side: `scans`
//! (`ScanExec`, `CachedScanExec`, `ValuesExec`), `transforms` (filter, generate, project,
//! sort, limit, union), `aggregates` (hash aggregation, windows), `joins`, `exchanges`
//! (exchanges, shuffle reads) and `write`; `table` carries file tables, CSV options and S3
//! settings; `helpers` holds what they share.

mod aggregates;
mod exchanges;
mod helpers;
mod joins;
mod scans;
mod table;
mod transforms;
mod write;

use std::sync::Arc;

use ember_common::{EmberError, Result};
use ember_physical::ExecutionPlan;
use prost::Message;

use super::expr;
use super::WIRE_VERSION;
use helpers::required;

/// The protobuf messages of physical plans. Enum-like fields are `int32`s whose values the
/// constants next to them list.
pub mod pb {
    use super::expr::pb::{AggregateExprNode, PhysicalExprNode, WindowCallNode};

    /// What travels: the wire version and the plan.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PlanEnvelope {
        /// `codec::WIRE_VERSION` of the encoder.
        #[prost(uint32, tag = "1")]
        pub wire_version: u32,
        #[prost(message, optional, tag = "2")]
        pub plan: Option<PlanNode>,
    }

    /// One operator and, inside it, its children.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PlanNode {
        #[prost(
            oneof = "plan_node::Node",
            tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17"
        )]
        pub node: Option<plan_node::Node>,
    }

    /// The operators a [`PlanNode`] can hold.
    pub mod plan_node {
        /// One variant per operator.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Node {
            #[prost(message, tag = "1")]
            Scan(Box<super::ScanNode>),
            #[prost(message, tag = "2")]
            Filter(Box<super::FilterNode>),
            #[prost(message, tag = "3")]
            Project(Box<super::ProjectNode>),
            #[prost(message, tag = "4")]
            HashAggregate(Box<super::HashAggregateNode>),
            #[prost(message, tag = "5")]
            HashJoin(Box<super::HashJoinNode>),
            #[prost(message, tag = "6")]
            NestedLoopJoin(Box<super::NestedLoopJoinNode>),
            /// SortExec, and TopKExec (a sort with `fetch`).
            #[prost(message, tag = "7")]
            Sort(Box<super::SortNode>),
            #[prost(message, tag = "8")]
            Limit(Box<super::LimitNode>),
            #[prost(message, tag = "9")]
            Union(Box<super::UnionNode>),
            #[prost(message, tag = "10")]
            Values(Box<super::ValuesNode>),
            #[prost(message, tag = "11")]
            Window(Box<super::WindowNode>),
            #[prost(message, tag = "12")]
            Exchange(Box<super::ExchangeNode>),
            #[prost(message, tag = "13")]
            ShuffleRead(Box<super::ShuffleReadNode>),
            #[prost(message, tag = "14")]
            CachedScan(Box<super::CachedScanNode>),
            #[prost(message, tag = "15")]
            Write(Box<super::WriteNode>),
            #[prost(message, tag = "16")]
            Generate(Box<super::GenerateNode>),
            #[prost(message, tag = "17")]
            Range(Box<super::RangeNode>),
        }
    }

    /// `ScanExec`: the table, the columns read and the pushed filters.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScanNode {
        #[prost(string, tag = "1")]
        pub table_name: String,
        #[prost(message, optional, tag = "2")]
        pub table: Option<FileTableNode>,
        /// Absent: every column (an empty list is a projection of no columns).
        #[prost(message, optional, tag = "3")]
        pub projection: Option<Indices>,
        /// Over the projected schema.
        #[prost(message, repeated, tag = "4")]
        pub filters: Vec<PhysicalExprNode>,
    }

    /// A list of indices.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Indices {
        #[prost(uint64, repeated, tag = "1")]
        pub values: Vec<u64>,
    }

    /// `FORMAT_*` values of [`FileTableNode::format`].
    pub const FORMAT_PARQUET: i32 = 0;
    pub const FORMAT_CSV: i32 = 1;

    /// A file table as listed on the driver (`ember_datasource::FileTableParts`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FileTableNode {
        #[prost(string, tag = "1")]
        pub location: String,
        /// `FORMAT_PARQUET` or `FORMAT_CSV`.
        #[prost(int32, tag = "2")]
        pub format: i32,
        /// Arrow IPC schema.
        #[prost(bytes = "vec", tag = "3")]
        pub schema: Vec<u8>,
        #[prost(message, repeated, tag = "4")]
        pub files: Vec<DataFileNode>,
        #[prost(message, repeated, tag = "5")]
        pub splits: Vec<SplitNode>,
        /// Parquet: per file, the file column of each table column.
        #[prost(message, repeated, tag = "6")]
        pub column_map: Vec<Indices>,
        /// CSV: the read options.
        #[prost(message, optional, tag = "7")]
        pub csv: Option<CsvOptionsNode>,
        #[prost(uint64, optional, tag = "8")]
        pub estimated_rows: Option<u64>,
        /// An `s3://` table's store settings.
        #[prost(message, optional, tag = "9")]
        pub s3: Option<S3SettingsNode>,
        /// How many trailing schema columns are partition columns.
        #[prost(uint64, tag = "10")]
        pub partition_columns: u64,
    }

    /// One data file and its size.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DataFileNode {
        #[prost(string, tag = "1")]
        pub path: String,
        #[prost(uint64, tag = "2")]
        pub size: u64,
        /// The file's partition values, each a scalar as Arrow IPC bytes.
        #[prost(bytes = "vec", repeated, tag = "3")]
        pub partition_values: Vec<Vec<u8>>,
    }

    /// One split: its file (index into the table's files and path) and the part read.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SplitNode {
        #[prost(uint64, tag = "1")]
        pub file: u64,
        #[prost(string, tag = "2")]
        pub path: String,
        #[prost(oneof = "split_node::Kind", tags = "3, 4, 5")]
        pub kind: Option<split_node::Kind>,
    }

    /// The part of a file a [`SplitNode`] reads.
    pub mod split_node {
        /// `ember_datasource::SplitKind`.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Kind {
            #[prost(message, tag = "3")]
            RowGroups(super::Indices),
            #[prost(message, tag = "4")]
            ByteRange(super::ByteRange),
            #[prost(message, tag = "5")]
            WholeFile(super::Empty),
        }
    }

    /// Lines starting in `start..=end`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ByteRange {
        #[prost(uint64, tag = "1")]
        pub start: u64,
        #[prost(uint64, tag = "2")]
        pub end: u64,
    }

    /// No data.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Empty {}

    /// `ember_datasource::CsvOptions`; characters as their byte values.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CsvOptionsNode {
        #[prost(bool, tag = "1")]
        pub header: bool,
        #[prost(uint32, tag = "2")]
        pub delimiter: u32,
        #[prost(uint32, tag = "3")]
        pub quote: u32,
        #[prost(uint32, optional, tag = "4")]
        pub escape: Option<u32>,
        #[prost(bool, tag = "5")]
        pub infer_schema: bool,
        #[prost(string, tag = "6")]
        pub null_value: String,
        #[prost(string, tag = "7")]
        pub date_format: String,
        #[prost(string, tag = "8")]
        pub timestamp_format: String,
        #[prost(bool, tag = "9")]
        pub gzip: bool,
        /// `CSV_MODE_*`.
        #[prost(int32, tag = "10")]
        pub mode: i32,
        #[prost(string, tag = "11")]
        pub corrupt_record_column: String,
    }

    /// `CsvOptionsNode::mode` values.
    pub const CSV_MODE_PERMISSIVE: i32 = 0;
    pub const CSV_MODE_DROP_MALFORMED: i32 = 1;
    pub const CSV_MODE_FAIL_FAST: i32 = 2;

    /// How executors reach an S3 table's bucket (`ember_datasource::S3Settings`), credentials
    /// included: the driver resolved them, as Spark ships its Hadoop configuration.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct S3SettingsNode {
        #[prost(string, optional, tag = "1")]
        pub region: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub endpoint: Option<String>,
        #[prost(string, optional, tag = "3")]
        pub access_key_id: Option<String>,
        #[prost(string, optional, tag = "4")]
        pub secret_access_key: Option<String>,
        #[prost(string, optional, tag = "5")]
        pub session_token: Option<String>,
        #[prost(bool, tag = "6")]
        pub allow_http: bool,
        #[prost(bool, tag = "7")]
        pub virtual_hosted_style: bool,
        #[prost(bool, tag = "8")]
        pub anonymous: bool,
        #[prost(uint64, tag = "9")]
        pub max_connections: u64,
        #[prost(uint64, tag = "10")]
        pub max_retries: u64,
        #[prost(uint64, tag = "11")]
        pub retry_timeout_ms: u64,
    }

    /// `FilterExec`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FilterNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(message, optional, tag = "2")]
        pub predicate: Option<PhysicalExprNode>,
    }

    /// `GenerateExec`: the generator, its arguments over the input, and the output schema
    /// (the input's columns, then the generated ones).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct GenerateNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        /// `GENERATOR_*`.
        #[prost(int32, tag = "2")]
        pub kind: i32,
        /// Rows of `stack(n, ...)`.
        #[prost(uint64, tag = "3")]
        pub stack_rows: u64,
        #[prost(message, repeated, tag = "4")]
        pub args: Vec<PhysicalExprNode>,
        #[prost(bool, tag = "5")]
        pub outer: bool,
        #[prost(bytes = "vec", tag = "6")]
        pub schema: Vec<u8>,
    }

    /// `GENERATOR_*` values of [`GenerateNode::kind`].
    pub const GENERATOR_EXPLODE: i32 = 0;
    pub const GENERATOR_POSEXPLODE: i32 = 1;
    pub const GENERATOR_INLINE: i32 = 2;
    pub const GENERATOR_STACK: i32 = 3;

    /// An expression and the name of its output column.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamedExpr {
        #[prost(message, optional, tag = "1")]
        pub expr: Option<PhysicalExprNode>,
        #[prost(string, tag = "2")]
        pub name: String,
    }

    /// An expression that may be absent (one entry of a list of optional expressions).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct OptionalExpr {
        #[prost(message, optional, tag = "1")]
        pub expr: Option<PhysicalExprNode>,
    }

    /// `ProjectExec`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ProjectNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(message, repeated, tag = "2")]
        pub exprs: Vec<NamedExpr>,
    }

    /// `AGGREGATE_MODE_*` values of [`HashAggregateNode::mode`].
    pub const AGGREGATE_MODE_PARTIAL: i32 = 0;
    pub const AGGREGATE_MODE_FINAL: i32 = 1;
    pub const AGGREGATE_MODE_SINGLE: i32 = 2;

    /// `HashAggregateExec`. Group keys are over the input's schema; aggregates over
    /// `raw_input_schema` (the input's schema except in Final mode).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HashAggregateNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(int32, tag = "2")]
        pub mode: i32,
        #[prost(message, repeated, tag = "3")]
        pub groups: Vec<NamedExpr>,
        #[prost(message, repeated, tag = "4")]
        pub aggregates: Vec<AggregateExprNode>,
        /// One per aggregate.
        #[prost(message, repeated, tag = "5")]
        pub filters: Vec<OptionalExpr>,
        /// Arrow IPC schema of the Partial step's input (Final mode only).
        #[prost(bytes = "vec", tag = "6")]
        pub raw_input_schema: Vec<u8>,
    }

    /// `JOIN_TYPE_*` values of join messages.
    pub const JOIN_TYPE_INNER: i32 = 0;
    pub const JOIN_TYPE_LEFT: i32 = 1;
    pub const JOIN_TYPE_RIGHT: i32 = 2;
    pub const JOIN_TYPE_FULL: i32 = 3;
    pub const JOIN_TYPE_LEFT_SEMI: i32 = 4;
    pub const JOIN_TYPE_RIGHT_SEMI: i32 = 5;
    pub const JOIN_TYPE_LEFT_ANTI: i32 = 6;
    pub const JOIN_TYPE_RIGHT_ANTI: i32 = 7;
    pub const JOIN_TYPE_LEFT_MARK: i32 = 8;
    pub const JOIN_TYPE_RIGHT_MARK: i32 = 9;

    /// `BUILD_SIDE_*` values of [`HashJoinNode::build_side`].
    pub const BUILD_SIDE_LEFT: i32 = 0;
    pub const BUILD_SIDE_RIGHT: i32 = 1;

    /// `JOIN_MODE_*` values of [`HashJoinNode::mode`].
    pub const JOIN_MODE_PARTITIONED: i32 = 0;
    pub const JOIN_MODE_COLLECT_BUILD: i32 = 1;

    /// One `left key = right key` pair.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct JoinKey {
        /// Over the left input's schema.
        #[prost(message, optional, tag = "1")]
        pub left: Option<PhysicalExprNode>,
        /// Over the right input's schema.
        #[prost(message, optional, tag = "2")]
        pub right: Option<PhysicalExprNode>,
    }

    /// `HashJoinExec`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HashJoinNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub left: Option<Box<PlanNode>>,
        #[prost(message, optional, boxed, tag = "2")]
        pub right: Option<Box<PlanNode>>,
        #[prost(message, repeated, tag = "3")]
        pub on: Vec<JoinKey>,
        /// Over left columns then right columns.
        #[prost(message, optional, tag = "4")]
        pub filter: Option<PhysicalExprNode>,
        #[prost(int32, tag = "5")]
        pub join_type: i32,
        #[prost(int32, tag = "6")]
        pub build_side: i32,
        #[prost(int32, tag = "7")]
        pub mode: i32,
    }

    /// `NestedLoopJoinExec`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NestedLoopJoinNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub left: Option<Box<PlanNode>>,
        #[prost(message, optional, boxed, tag = "2")]
        pub right: Option<Box<PlanNode>>,
        /// Over left columns then right columns.
        #[prost(message, optional, tag = "3")]
        pub filter: Option<PhysicalExprNode>,
        #[prost(int32, tag = "4")]
        pub join_type: i32,
    }

    /// One sort key.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SortKeyNode {
        #[prost(message, optional, tag = "1")]
        pub expr: Option<PhysicalExprNode>,
        #[prost(bool, tag = "2")]
        pub ascending: bool,
        #[prost(bool, tag = "3")]
        pub nulls_first: bool,
    }

    /// `SortExec` (or `TopKExec` with `fetch`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SortNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(message, repeated, tag = "2")]
        pub keys: Vec<SortKeyNode>,
        #[prost(uint64, optional, tag = "3")]
        pub fetch: Option<u64>,
    }

    /// `WriteExec`: the input and where its partitions are written.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(string, tag = "2")]
        pub location: String,
        /// `FORMAT_PARQUET` or `FORMAT_CSV`.
        #[prost(int32, tag = "3")]
        pub format: i32,
        #[prost(message, optional, tag = "4")]
        pub csv: Option<CsvOptionsNode>,
        #[prost(string, tag = "5")]
        pub job_id: String,
        #[prost(message, optional, tag = "6")]
        pub s3: Option<S3SettingsNode>,
        /// Arrow IPC schema of the files.
        #[prost(bytes = "vec", tag = "7")]
        pub table_schema: Vec<u8>,
    }

    /// `LimitExec`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LimitNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(uint64, tag = "2")]
        pub skip: u64,
        #[prost(uint64, optional, tag = "3")]
        pub fetch: Option<u64>,
    }

    /// `UnionExec`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct UnionNode {
        #[prost(message, repeated, tag = "1")]
        pub inputs: Vec<PlanNode>,
        /// Arrow IPC schema (the union's column names).
        #[prost(bytes = "vec", tag = "2")]
        pub schema: Vec<u8>,
    }

    /// `RangeExec`: the range and the columns read.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RangeNode {
        #[prost(int64, tag = "1")]
        pub start: i64,
        #[prost(int64, tag = "2")]
        pub end: i64,
        #[prost(int64, tag = "3")]
        pub step: i64,
        #[prost(uint64, tag = "4")]
        pub partitions: u64,
        #[prost(message, optional, tag = "5")]
        pub projection: Option<Indices>,
    }

    /// `ValuesExec`: schema and rows as one Arrow IPC stream.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValuesNode {
        #[prost(bytes = "vec", tag = "1")]
        pub data: Vec<u8>,
    }

    /// `WindowExec`; everything over the input's schema.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WindowNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(message, repeated, tag = "2")]
        pub partition_by: Vec<PhysicalExprNode>,
        #[prost(message, repeated, tag = "3")]
        pub order_by: Vec<SortKeyNode>,
        #[prost(message, repeated, tag = "4")]
        pub calls: Vec<WindowCallNode>,
    }

    /// `ember_physical::Partitioning`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PartitioningNode {
        #[prost(oneof = "partitioning_node::Kind", tags = "1, 2, 3")]
        pub kind: Option<partitioning_node::Kind>,
    }

    /// The kinds of [`PartitioningNode`].
    pub mod partitioning_node {
        /// `Unknown(n)` (round robin in an exchange), `Hash(keys, n)` or `Single`.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Kind {
            #[prost(uint64, tag = "1")]
            Unknown(u64),
            #[prost(message, tag = "2")]
            Hash(super::HashPartitioningNode),
            #[prost(message, tag = "3")]
            Single(super::Empty),
        }
    }

    /// Hash partitioning on `keys` into `count` partitions.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HashPartitioningNode {
        #[prost(message, repeated, tag = "1")]
        pub keys: Vec<PhysicalExprNode>,
        #[prost(uint64, tag = "2")]
        pub count: u64,
    }

    /// `ExchangeExec`; hash keys over the input's schema.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExchangeNode {
        #[prost(message, optional, boxed, tag = "1")]
        pub input: Option<Box<PlanNode>>,
        #[prost(message, optional, tag = "2")]
        pub partitioning: Option<PartitioningNode>,
    }

    /// `CachedScanExec`: the cached RDD's id and level, and the fragment that computes a
    /// partition the executor does not hold (lineage).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CachedScanNode {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(uint64, tag = "2")]
        pub rdd_id: u64,
        #[prost(string, tag = "3")]
        pub level: String,
        /// Arrow IPC schema of the whole cached table.
        #[prost(bytes = "vec", tag = "4")]
        pub table_schema: Vec<u8>,
        #[prost(bool, tag = "5")]
        pub has_projection: bool,
        #[prost(uint64, repeated, tag = "6")]
        pub projection: Vec<u64>,
        #[prost(message, optional, boxed, tag = "7")]
        pub parent: Option<Box<PlanNode>>,
        #[prost(uint64, tag = "8")]
        pub parent_rdd_id: u64,
    }

    /// `ShuffleReadExec`; hash keys over `schema`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ShuffleReadNode {
        #[prost(uint64, tag = "1")]
        pub shuffle_id: u64,
        /// Arrow IPC schema.
        #[prost(bytes = "vec", tag = "2")]
        pub schema: Vec<u8>,
        #[prost(message, optional, tag = "3")]
        pub partitioning: Option<PartitioningNode>,
    }
}

use pb::plan_node::Node;

/// The plan as bytes: a [`pb::PlanEnvelope`] stamped with [`WIRE_VERSION`].
pub fn plan_to_bytes(plan: &Arc<dyn ExecutionPlan>) -> Result<Vec<u8>> {
    let envelope = pb::PlanEnvelope {
        wire_version: WIRE_VERSION,
        plan: Some(encode_plan(plan)?),
    };
    Ok(envelope.encode_to_vec())
}

/// The plan of [`plan_to_bytes`]' bytes; refuses bytes of another [`WIRE_VERSION`].
pub fn plan_from_bytes(bytes: &[u8]) -> Result<Arc<dyn ExecutionPlan>> {
    let envelope = pb::PlanEnvelope::decode(bytes).map_err(|e| {
        EmberError::internal(format!(
            "cannot decode a plan fragment ({} bytes): {e}",
            bytes.len()
        ))
    })?;
    if envelope.wire_version != WIRE_VERSION {
        return Err(EmberError::internal(format!(
            "plan fragment has wire version {}, this executor reads version {WIRE_VERSION}; \
             run the driver and the executors from the same Ember build",
            envelope.wire_version
        )));
    }
    let plan = envelope
        .plan
        .ok_or_else(|| EmberError::internal("plan fragment without a plan"))?;
    decode_plan(&plan)
}

/// One operator (and its children) as a [`pb::PlanNode`]. Fails with `NotSupported` for a
/// `CachedScanExec` and for operators this codec does not know.
pub fn encode_plan(plan: &Arc<dyn ExecutionPlan>) -> Result<pb::PlanNode> {
    let node = match plan.name() {
        "ScanExec" => scans::encode_scan(plan)?,
        "FilterExec" => transforms::encode_filter(plan)?,
        "GenerateExec" => transforms::encode_generate(plan)?,
        "ProjectExec" => transforms::encode_project(plan)?,
        "HashAggregateExec" => aggregates::encode_hash_aggregate(plan)?,
        "HashJoinExec" => joins::encode_hash_join(plan)?,
        "NestedLoopJoinExec" => joins::encode_nested_loop_join(plan)?,
        "SortExec" => transforms::encode_sort(plan)?,
        "WriteExec" => write::encode_write(plan)?,
        "LimitExec" => transforms::encode_limit(plan)?,
        "UnionExec" => transforms::encode_union(plan)?,
        "ValuesExec" => scans::encode_values(plan)?,
        "RangeExec" => scans::encode_range(plan)?,
        "WindowExec" => aggregates::encode_window(plan)?,
        "ExchangeExec" => exchanges::encode_exchange(plan)?,
        "ShuffleReadExec" => exchanges::encode_shuffle_read(plan)?,
        "CachedScanExec" => scans::encode_cached_scan(plan)?,
        other => {
            return Err(EmberError::NotSupported(format!(
                "sending the operator {other} to an executor; the plan codec knows ScanExec, \
                 FilterExec, GenerateExec, ProjectExec, HashAggregateExec, HashJoinExec, NestedLoopJoinExec, \
                 SortExec, LimitExec, UnionExec, ValuesExec, WindowExec, ExchangeExec, WriteExec and \
                 ShuffleReadExec"
            )))
        }
    };
    Ok(pb::PlanNode { node: Some(node) })
}

/// The operator tree of a [`pb::PlanNode`], rebuilt with each operator's constructor (which
/// checks it again: key types, partition counts, schemas).
pub fn decode_plan(node: &pb::PlanNode) -> Result<Arc<dyn ExecutionPlan>> {
    let node = required(&node.node, "an operator in a plan node")?;
    match node {
        Node::Scan(scan) => scans::decode_scan(scan),
        Node::Filter(filter) => transforms::decode_filter(filter),
        Node::Generate(generate) => transforms::decode_generate(generate),
        Node::Project(project) => transforms::decode_project(project),
        Node::HashAggregate(aggregate) => aggregates::decode_hash_aggregate(aggregate),
        Node::HashJoin(join) => joins::decode_hash_join(join),
        Node::NestedLoopJoin(join) => joins::decode_nested_loop_join(join),
        Node::Sort(sort) => transforms::decode_sort(sort),
        Node::Write(write) => write::decode_write(write),
        Node::Limit(limit) => transforms::decode_limit(limit),
        Node::Union(union) => transforms::decode_union(union),
        Node::Values(values) => scans::decode_values(values),
        Node::Range(range) => scans::decode_range(range),
        Node::Window(window) => aggregates::decode_window(window),
        Node::Exchange(exchange) => exchanges::decode_exchange(exchange),
        Node::CachedScan(scan) => scans::decode_cached_scan(scan),
        Node::ShuffleRead(read) => exchanges::decode_shuffle_read(read),
    }
}

#[cfg(test)]
mod tests;
