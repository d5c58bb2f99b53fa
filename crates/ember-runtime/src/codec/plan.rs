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

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion_common::JoinType;
use ember_common::logical::GeneratorKind;
use ember_common::{EmberError, Result, ShuffleId};
use ember_datasource::{
    CsvOptions, DataFile, FileFormat, FileTable, FileTableParts, FormatParts, ParseMode,
    S3Settings, Split, SplitKind, WriteSpec,
};
use ember_physical::expressions::PhysicalExprRef;
use ember_physical::operators::cached_scan::CachedScanExec;
use ember_physical::operators::exchange::{ExchangeExec, ShuffleReadExec};
use ember_physical::operators::filter::FilterExec;
use ember_physical::operators::generate::GenerateExec;
use ember_physical::operators::hash_aggregate::{AggregateMode, HashAggregateExec};
use ember_physical::operators::hash_join::{BuildSide, HashJoinExec, JoinMode};
use ember_physical::operators::limit::LimitExec;
use ember_physical::operators::nested_loop_join::NestedLoopJoinExec;
use ember_physical::operators::projection::ProjectExec;
use ember_physical::operators::scan::ScanExec;
use ember_physical::operators::sort::{SortExec, SortKey};
use ember_physical::operators::union::UnionExec;
use ember_physical::operators::values::ValuesExec;
use ember_physical::operators::window::WindowExec;
use ember_physical::operators::write::WriteExec;
use ember_physical::stages::PlanRdd;
use ember_physical::{ExecutionPlan, Partitioning};
use prost::Message;

use super::arrow as ipc;
use super::expr;
use super::WIRE_VERSION;

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
            tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16"
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

/// Downcasts `plan` to operator `T`.
fn downcast<T: 'static>(plan: &Arc<dyn ExecutionPlan>) -> Result<&T> {
    let any: &dyn std::any::Any = plan.as_ref().as_any_ref();
    any.downcast_ref::<T>().ok_or_else(|| {
        EmberError::internal(format!(
            "{} is not the operator its name says ({})",
            plan.name(),
            std::any::type_name::<T>()
        ))
    })
}

/// The only child of a one-input operator, encoded.
fn encode_only_child(plan: &Arc<dyn ExecutionPlan>) -> Result<Option<Box<pb::PlanNode>>> {
    match plan.children().as_slice() {
        [child] => Ok(Some(Box::new(encode_plan(child)?))),
        other => Err(EmberError::internal(format!(
            "{} has {} children, expected 1",
            plan.name(),
            other.len()
        ))),
    }
}

/// An encoded child as a message field holds it.
type ChildNode = Option<Box<pb::PlanNode>>;

/// The two children of a join, encoded.
fn encode_two_children(plan: &Arc<dyn ExecutionPlan>) -> Result<(ChildNode, ChildNode)> {
    match plan.children().as_slice() {
        [left, right] => Ok((
            Some(Box::new(encode_plan(left)?)),
            Some(Box::new(encode_plan(right)?)),
        )),
        other => Err(EmberError::internal(format!(
            "{} has {} children, expected 2",
            plan.name(),
            other.len()
        ))),
    }
}

fn encode_exprs(exprs: &[PhysicalExprRef]) -> Result<Vec<expr::pb::PhysicalExprNode>> {
    exprs.iter().map(expr::encode_expr).collect()
}

fn encode_named(exprs: &[(PhysicalExprRef, String)]) -> Result<Vec<pb::NamedExpr>> {
    exprs
        .iter()
        .map(|(e, name)| {
            Ok(pb::NamedExpr {
                expr: Some(expr::encode_expr(e)?),
                name: name.clone(),
            })
        })
        .collect()
}

fn encode_sort_keys(keys: &[SortKey]) -> Result<Vec<pb::SortKeyNode>> {
    keys.iter()
        .map(|k| {
            Ok(pb::SortKeyNode {
                expr: Some(expr::encode_expr(&k.expr)?),
                ascending: k.ascending,
                nulls_first: k.nulls_first,
            })
        })
        .collect()
}

fn encode_partitioning(partitioning: &Partitioning) -> Result<pb::PartitioningNode> {
    use pb::partitioning_node::Kind;
    let kind = match partitioning {
        Partitioning::Unknown(n) => Kind::Unknown(*n as u64),
        Partitioning::Hash(keys, n) => Kind::Hash(pb::HashPartitioningNode {
            keys: encode_exprs(keys)?,
            count: *n as u64,
        }),
        Partitioning::Single => Kind::Single(pb::Empty {}),
    };
    Ok(pb::PartitioningNode { kind: Some(kind) })
}

fn encode_join_type(join_type: JoinType) -> i32 {
    match join_type {
        JoinType::Inner => pb::JOIN_TYPE_INNER,
        JoinType::Left => pb::JOIN_TYPE_LEFT,
        JoinType::Right => pb::JOIN_TYPE_RIGHT,
        JoinType::Full => pb::JOIN_TYPE_FULL,
        JoinType::LeftSemi => pb::JOIN_TYPE_LEFT_SEMI,
        JoinType::RightSemi => pb::JOIN_TYPE_RIGHT_SEMI,
        JoinType::LeftAnti => pb::JOIN_TYPE_LEFT_ANTI,
        JoinType::RightAnti => pb::JOIN_TYPE_RIGHT_ANTI,
        JoinType::LeftMark => pb::JOIN_TYPE_LEFT_MARK,
        JoinType::RightMark => pb::JOIN_TYPE_RIGHT_MARK,
    }
}

fn path_text(path: &std::path::Path) -> Result<String> {
    path.to_str().map(str::to_string).ok_or_else(|| {
        EmberError::NotSupported(format!(
            "sending a scan of {} to an executor: the path is not valid UTF-8; rename the file",
            path.display()
        ))
    })
}

fn encode_table(table: &FileTable) -> Result<pb::FileTableNode> {
    let parts = table.to_parts();
    let (format, column_map, csv) = match &parts.format {
        FormatParts::Parquet { column_map } => (
            pb::FORMAT_PARQUET,
            column_map
                .iter()
                .map(|columns| pb::Indices {
                    values: columns.iter().map(|c| *c as u64).collect(),
                })
                .collect(),
            None,
        ),
        FormatParts::Csv { options } => (
            pb::FORMAT_CSV,
            Vec::new(),
            Some(encode_csv_options(options)),
        ),
    };
    let files = parts
        .files
        .iter()
        .map(|f| {
            Ok(pb::DataFileNode {
                path: path_text(&f.path)?,
                size: f.size,
                partition_values: f
                    .partition_values
                    .iter()
                    .map(ipc::encode_scalar)
                    .collect::<Result<Vec<_>>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let splits = parts
        .splits
        .iter()
        .map(|(file, split)| {
            use pb::split_node::Kind;
            let kind = match &split.kind {
                SplitKind::ParquetRowGroups(groups) => Kind::RowGroups(pb::Indices {
                    values: groups.iter().map(|g| *g as u64).collect(),
                }),
                SplitKind::ByteRange { start, end } => Kind::ByteRange(pb::ByteRange {
                    start: *start,
                    end: *end,
                }),
                SplitKind::WholeFile => Kind::WholeFile(pb::Empty {}),
            };
            Ok(pb::SplitNode {
                file: *file as u64,
                path: path_text(&split.path)?,
                kind: Some(kind),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pb::FileTableNode {
        location: parts.location.clone(),
        format,
        schema: ipc::encode_schema(&parts.schema)?,
        files,
        splits,
        column_map,
        csv,
        estimated_rows: parts.estimated_rows,
        s3: parts.s3.as_ref().map(encode_s3_settings),
        partition_columns: parts.partition_columns as u64,
    })
}

/// One operator (and its children) as a [`pb::PlanNode`]. Fails with `NotSupported` for a
/// `CachedScanExec` and for operators this codec does not know.
pub fn encode_plan(plan: &Arc<dyn ExecutionPlan>) -> Result<pb::PlanNode> {
    let node = match plan.name() {
        "ScanExec" => {
            let scan = downcast::<ScanExec>(plan)?;
            Node::Scan(Box::new(pb::ScanNode {
                table_name: scan.table_name().to_string(),
                table: Some(encode_table(scan.table())?),
                projection: scan.projection().map(|columns| pb::Indices {
                    values: columns.iter().map(|c| *c as u64).collect(),
                }),
                filters: encode_exprs(scan.filters())?,
            }))
        }
        "FilterExec" => {
            let filter = downcast::<FilterExec>(plan)?;
            Node::Filter(Box::new(pb::FilterNode {
                input: encode_only_child(plan)?,
                predicate: Some(expr::encode_expr(filter.predicate())?),
            }))
        }
        "GenerateExec" => {
            let generate = downcast::<GenerateExec>(plan)?;
            let (kind, stack_rows) = match generate.kind() {
                GeneratorKind::Explode => (pb::GENERATOR_EXPLODE, 0),
                GeneratorKind::PosExplode => (pb::GENERATOR_POSEXPLODE, 0),
                GeneratorKind::Inline => (pb::GENERATOR_INLINE, 0),
                GeneratorKind::Stack { rows } => (pb::GENERATOR_STACK, rows as u64),
            };
            Node::Generate(Box::new(pb::GenerateNode {
                input: encode_only_child(plan)?,
                kind,
                stack_rows,
                args: encode_exprs(generate.args())?,
                outer: generate.outer(),
                schema: ipc::encode_schema(&plan.schema())?,
            }))
        }
        "ProjectExec" => {
            let project = downcast::<ProjectExec>(plan)?;
            Node::Project(Box::new(pb::ProjectNode {
                input: encode_only_child(plan)?,
                exprs: encode_named(project.exprs())?,
            }))
        }
        "HashAggregateExec" => {
            let aggregate = downcast::<HashAggregateExec>(plan)?;
            let mode = match aggregate.mode() {
                AggregateMode::Partial => pb::AGGREGATE_MODE_PARTIAL,
                AggregateMode::Final => pb::AGGREGATE_MODE_FINAL,
                AggregateMode::Single => pb::AGGREGATE_MODE_SINGLE,
            };
            let raw_input_schema = match aggregate.mode() {
                AggregateMode::Final => ipc::encode_schema(aggregate.raw_input_schema())?,
                AggregateMode::Partial | AggregateMode::Single => Vec::new(),
            };
            Node::HashAggregate(Box::new(pb::HashAggregateNode {
                input: encode_only_child(plan)?,
                mode,
                groups: encode_named(aggregate.group_exprs())?,
                aggregates: aggregate
                    .aggregates()
                    .iter()
                    .map(|a| expr::encode_aggregate(a))
                    .collect::<Result<Vec<_>>>()?,
                filters: aggregate
                    .aggregate_filters()
                    .iter()
                    .map(|f| {
                        Ok(pb::OptionalExpr {
                            expr: f.as_ref().map(expr::encode_expr).transpose()?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
                raw_input_schema,
            }))
        }
        "HashJoinExec" => {
            let join = downcast::<HashJoinExec>(plan)?;
            let (left, right) = encode_two_children(plan)?;
            Node::HashJoin(Box::new(pb::HashJoinNode {
                left,
                right,
                on: join
                    .on()
                    .iter()
                    .map(|(l, r)| {
                        Ok(pb::JoinKey {
                            left: Some(expr::encode_expr(l)?),
                            right: Some(expr::encode_expr(r)?),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
                filter: join.filter().map(expr::encode_expr).transpose()?,
                join_type: encode_join_type(join.join_type()),
                build_side: match join.build_side() {
                    BuildSide::Left => pb::BUILD_SIDE_LEFT,
                    BuildSide::Right => pb::BUILD_SIDE_RIGHT,
                },
                mode: match join.mode() {
                    JoinMode::Partitioned => pb::JOIN_MODE_PARTITIONED,
                    JoinMode::CollectBuild => pb::JOIN_MODE_COLLECT_BUILD,
                },
            }))
        }
        "NestedLoopJoinExec" => {
            let join = downcast::<NestedLoopJoinExec>(plan)?;
            let (left, right) = encode_two_children(plan)?;
            Node::NestedLoopJoin(Box::new(pb::NestedLoopJoinNode {
                left,
                right,
                filter: join.filter().map(expr::encode_expr).transpose()?,
                join_type: encode_join_type(join.join_type()),
            }))
        }
        "SortExec" => {
            let sort = downcast::<SortExec>(plan)?;
            Node::Sort(Box::new(pb::SortNode {
                input: encode_only_child(plan)?,
                keys: encode_sort_keys(sort.keys())?,
                fetch: sort.fetch().map(|f| f as u64),
            }))
        }
        "WriteExec" => {
            let write = downcast::<WriteExec>(plan)?;
            let spec = write.spec();
            Node::Write(Box::new(pb::WriteNode {
                input: encode_only_child(plan)?,
                location: spec.location.clone(),
                format: match spec.format {
                    FileFormat::Parquet => pb::FORMAT_PARQUET,
                    FileFormat::Csv => pb::FORMAT_CSV,
                },
                csv: Some(encode_csv_options(&spec.csv)),
                job_id: spec.job_id.clone(),
                s3: spec.s3.as_ref().map(encode_s3_settings),
                table_schema: ipc::encode_schema(write.table_schema())?,
            }))
        }
        "LimitExec" => {
            let limit = downcast::<LimitExec>(plan)?;
            Node::Limit(Box::new(pb::LimitNode {
                input: encode_only_child(plan)?,
                skip: limit.skip() as u64,
                fetch: limit.fetch().map(|f| f as u64),
            }))
        }
        "UnionExec" => Node::Union(Box::new(pb::UnionNode {
            inputs: plan
                .children()
                .iter()
                .map(encode_plan)
                .collect::<Result<Vec<_>>>()?,
            schema: ipc::encode_schema(&plan.schema())?,
        })),
        "ValuesExec" => {
            let values = downcast::<ValuesExec>(plan)?;
            Node::Values(Box::new(pb::ValuesNode {
                data: ipc::encode_batches(&plan.schema(), values.batches())?,
            }))
        }
        "WindowExec" => {
            let window = downcast::<WindowExec>(plan)?;
            Node::Window(Box::new(pb::WindowNode {
                input: encode_only_child(plan)?,
                partition_by: encode_exprs(window.partition_by())?,
                order_by: encode_sort_keys(window.order_by())?,
                calls: window
                    .calls()
                    .iter()
                    .map(expr::encode_window_call)
                    .collect::<Result<Vec<_>>>()?,
            }))
        }
        "ExchangeExec" => {
            let exchange = downcast::<ExchangeExec>(plan)?;
            Node::Exchange(Box::new(pb::ExchangeNode {
                input: encode_only_child(plan)?,
                partitioning: Some(encode_partitioning(exchange.partitioning())?),
            }))
        }
        "ShuffleReadExec" => {
            let read = downcast::<ShuffleReadExec>(plan)?;
            Node::ShuffleRead(Box::new(pb::ShuffleReadNode {
                shuffle_id: read.shuffle_id().0,
                schema: ipc::encode_schema(&plan.schema())?,
                partitioning: Some(encode_partitioning(read.partitioning())?),
            }))
        }
        "CachedScanExec" => {
            let scan = downcast::<CachedScanExec>(plan)?;
            let parent = scan.rdd().parent();
            let parent_plan = parent
                .as_any()
                .and_then(|any| any.downcast_ref::<PlanRdd>())
                .ok_or_else(|| {
                    EmberError::NotSupported(format!(
                        "sending a scan of the cached table {} to an executor: it caches {}, \
                         which is not a plan fragment",
                        scan.table_name(),
                        parent.name()
                    ))
                })?;
            Node::CachedScan(Box::new(pb::CachedScanNode {
                name: scan.table_name().to_string(),
                rdd_id: ember_core::Rdd::id(scan.rdd().as_ref()).0,
                level: scan.level().to_string(),
                table_schema: ipc::encode_schema(scan.table_schema())?,
                has_projection: scan.projection().is_some(),
                projection: scan
                    .projection()
                    .unwrap_or_default()
                    .iter()
                    .map(|&c| c as u64)
                    .collect(),
                parent: Some(Box::new(encode_plan(parent_plan.fragment())?)),
                parent_rdd_id: parent.id().0,
            }))
        }
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

/// A required field, or an error naming the message and the field.
fn required<'a, T>(value: &'a Option<T>, what: &str) -> Result<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| EmberError::internal(format!("plan fragment without {what}")))
}

fn decode_child(node: &Option<Box<pb::PlanNode>>, what: &str) -> Result<Arc<dyn ExecutionPlan>> {
    decode_plan(required(node, what)?)
}

fn decode_required_expr(
    node: &Option<expr::pb::PhysicalExprNode>,
    schema: &SchemaRef,
    what: &str,
) -> Result<PhysicalExprRef> {
    expr::decode_expr(required(node, what)?, schema)
}

fn decode_optional_expr(
    node: &Option<expr::pb::PhysicalExprNode>,
    schema: &SchemaRef,
) -> Result<Option<PhysicalExprRef>> {
    node.as_ref()
        .map(|n| expr::decode_expr(n, schema))
        .transpose()
}

fn decode_exprs(
    nodes: &[expr::pb::PhysicalExprNode],
    schema: &SchemaRef,
) -> Result<Vec<PhysicalExprRef>> {
    nodes.iter().map(|n| expr::decode_expr(n, schema)).collect()
}

fn decode_named(
    nodes: &[pb::NamedExpr],
    schema: &SchemaRef,
    what: &str,
) -> Result<Vec<(PhysicalExprRef, String)>> {
    nodes
        .iter()
        .map(|n| Ok((decode_required_expr(&n.expr, schema, what)?, n.name.clone())))
        .collect()
}

fn decode_sort_keys(nodes: &[pb::SortKeyNode], schema: &SchemaRef) -> Result<Vec<SortKey>> {
    nodes
        .iter()
        .map(|k| {
            Ok(SortKey {
                expr: decode_required_expr(&k.expr, schema, "a sort key's expression")?,
                ascending: k.ascending,
                nulls_first: k.nulls_first,
            })
        })
        .collect()
}

fn to_usize(value: u64, what: &str) -> Result<usize> {
    usize::try_from(value)
        .map_err(|_| EmberError::internal(format!("{what} {value} does not fit this platform")))
}

fn decode_partitioning(
    node: &Option<pb::PartitioningNode>,
    schema: &SchemaRef,
) -> Result<Partitioning> {
    use pb::partitioning_node::Kind;
    let node = required(node, "a partitioning")?;
    match required(&node.kind, "a partitioning kind")? {
        Kind::Unknown(n) => Ok(Partitioning::Unknown(to_usize(*n, "partition count")?)),
        Kind::Hash(hash) => Ok(Partitioning::Hash(
            decode_exprs(&hash.keys, schema)?,
            to_usize(hash.count, "partition count")?,
        )),
        Kind::Single(_) => Ok(Partitioning::Single),
    }
}

fn decode_join_type(value: i32) -> Result<JoinType> {
    Ok(match value {
        pb::JOIN_TYPE_INNER => JoinType::Inner,
        pb::JOIN_TYPE_LEFT => JoinType::Left,
        pb::JOIN_TYPE_RIGHT => JoinType::Right,
        pb::JOIN_TYPE_FULL => JoinType::Full,
        pb::JOIN_TYPE_LEFT_SEMI => JoinType::LeftSemi,
        pb::JOIN_TYPE_RIGHT_SEMI => JoinType::RightSemi,
        pb::JOIN_TYPE_LEFT_ANTI => JoinType::LeftAnti,
        pb::JOIN_TYPE_RIGHT_ANTI => JoinType::RightAnti,
        pb::JOIN_TYPE_LEFT_MARK => JoinType::LeftMark,
        pb::JOIN_TYPE_RIGHT_MARK => JoinType::RightMark,
        other => {
            return Err(EmberError::internal(format!(
                "unknown join type {other} in a plan fragment; known: 0 (inner) to 9 (right mark)"
            )))
        }
    })
}

/// The schema a join's residual filter is evaluated on: left fields then right fields, the
/// side(s) an outer join pads with NULLs made nullable (as the join operators build it).
fn joined_schema(left: &SchemaRef, right: &SchemaRef, join_type: JoinType) -> SchemaRef {
    let (left_nullable, right_nullable) = match join_type {
        JoinType::Left => (false, true),
        JoinType::Right => (true, false),
        JoinType::Full => (true, true),
        _ => (false, false),
    };
    let side = |schema: &SchemaRef, nullable: bool| -> Vec<Arc<Field>> {
        schema
            .fields()
            .iter()
            .map(|f| match nullable && !f.is_nullable() {
                true => Arc::new(f.as_ref().clone().with_nullable(true)),
                false => Arc::clone(f),
            })
            .collect()
    };
    let mut fields = side(left, left_nullable);
    fields.extend(side(right, right_nullable));
    Arc::new(Schema::new(fields))
}

fn decode_table(node: &pb::FileTableNode) -> Result<FileTable> {
    use pb::split_node::Kind;
    let format = match node.format {
        pb::FORMAT_PARQUET => {
            let column_map = node
                .column_map
                .iter()
                .map(|columns| {
                    columns
                        .values
                        .iter()
                        .map(|c| to_usize(*c, "Parquet column"))
                        .collect::<Result<Vec<_>>>()
                })
                .collect::<Result<Vec<_>>>()?;
            FormatParts::Parquet { column_map }
        }
        pb::FORMAT_CSV => {
            let csv = required(&node.csv, "the CSV options of a CSV table")?;
            FormatParts::Csv {
                options: decode_csv_options(csv, &node.location)?,
            }
        }
        other => {
            return Err(EmberError::internal(format!(
                "unknown file format {other} for table {} in a plan fragment; known: 0 \
                 (parquet), 1 (csv)",
                node.location
            )))
        }
    };
    let splits = node
        .splits
        .iter()
        .map(|s| {
            let kind = match required(&s.kind, "a split's kind")? {
                Kind::RowGroups(groups) => SplitKind::ParquetRowGroups(
                    groups
                        .values
                        .iter()
                        .map(|g| to_usize(*g, "row group"))
                        .collect::<Result<Vec<_>>>()?,
                ),
                Kind::ByteRange(range) => SplitKind::ByteRange {
                    start: range.start,
                    end: range.end,
                },
                Kind::WholeFile(_) => SplitKind::WholeFile,
            };
            Ok((
                to_usize(s.file, "file index")?,
                Split {
                    path: PathBuf::from(&s.path),
                    kind,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    FileTable::from_parts(FileTableParts {
        location: node.location.clone(),
        schema: ipc::decode_schema(&node.schema)?,
        files: node
            .files
            .iter()
            .map(|f| {
                Ok(DataFile {
                    path: PathBuf::from(&f.path),
                    size: f.size,
                    partition_values: f
                        .partition_values
                        .iter()
                        .map(|v| ipc::decode_scalar(v))
                        .collect::<Result<Vec<_>>>()?,
                })
            })
            .collect::<Result<Vec<_>>>()?,
        partition_columns: to_usize(node.partition_columns, "partition column count")?,
        splits,
        format,
        estimated_rows: node.estimated_rows,
        s3: node.s3.as_ref().map(decode_s3_settings),
    })
}

fn encode_csv_options(options: &CsvOptions) -> pb::CsvOptionsNode {
    pb::CsvOptionsNode {
        header: options.header,
        delimiter: u32::from(options.delimiter),
        quote: u32::from(options.quote),
        escape: options.escape.map(u32::from),
        infer_schema: options.infer_schema,
        null_value: options.null_value.clone(),
        date_format: options.date_format.clone(),
        timestamp_format: options.timestamp_format.clone(),
        gzip: options.gzip,
        mode: match options.mode {
            ParseMode::Permissive => pb::CSV_MODE_PERMISSIVE,
            ParseMode::DropMalformed => pb::CSV_MODE_DROP_MALFORMED,
            ParseMode::FailFast => pb::CSV_MODE_FAIL_FAST,
        },
        corrupt_record_column: options.corrupt_record_column.clone(),
    }
}

fn decode_csv_options(csv: &pb::CsvOptionsNode, location: &str) -> Result<CsvOptions> {
    let byte = |value: u32, what: &str| {
        u8::try_from(value).map_err(|_| {
            EmberError::internal(format!(
                "CSV {what} {value} of table {} is not one byte",
                location
            ))
        })
    };
    Ok(CsvOptions {
        header: csv.header,
        delimiter: byte(csv.delimiter, "delimiter")?,
        quote: byte(csv.quote, "quote")?,
        escape: csv.escape.map(|e| byte(e, "escape")).transpose()?,
        infer_schema: csv.infer_schema,
        null_value: csv.null_value.clone(),
        date_format: csv.date_format.clone(),
        timestamp_format: csv.timestamp_format.clone(),
        gzip: csv.gzip,
        mode: match csv.mode {
            pb::CSV_MODE_PERMISSIVE => ParseMode::Permissive,
            pb::CSV_MODE_DROP_MALFORMED => ParseMode::DropMalformed,
            pb::CSV_MODE_FAIL_FAST => ParseMode::FailFast,
            other => {
                return Err(EmberError::internal(format!(
                    "unknown CSV mode {other} for table {}",
                    location
                )))
            }
        },
        corrupt_record_column: csv.corrupt_record_column.clone(),
    })
}

pub(crate) fn encode_s3_settings(settings: &S3Settings) -> pb::S3SettingsNode {
    pb::S3SettingsNode {
        region: settings.region.clone(),
        endpoint: settings.endpoint.clone(),
        access_key_id: settings.access_key_id.clone(),
        secret_access_key: settings.secret_access_key.clone(),
        session_token: settings.session_token.clone(),
        allow_http: settings.allow_http,
        virtual_hosted_style: settings.virtual_hosted_style,
        anonymous: settings.anonymous,
        max_connections: settings.max_connections as u64,
        max_retries: settings.max_retries as u64,
        retry_timeout_ms: settings.retry_timeout_ms,
    }
}

pub(crate) fn decode_s3_settings(node: &pb::S3SettingsNode) -> S3Settings {
    S3Settings {
        region: node.region.clone(),
        endpoint: node.endpoint.clone(),
        access_key_id: node.access_key_id.clone(),
        secret_access_key: node.secret_access_key.clone(),
        session_token: node.session_token.clone(),
        allow_http: node.allow_http,
        virtual_hosted_style: node.virtual_hosted_style,
        anonymous: node.anonymous,
        max_connections: usize::try_from(node.max_connections)
            .unwrap_or(usize::MAX)
            .max(1),
        max_retries: usize::try_from(node.max_retries).unwrap_or(usize::MAX),
        retry_timeout_ms: node.retry_timeout_ms,
    }
}

/// The operator tree of a [`pb::PlanNode`], rebuilt with each operator's constructor (which
/// checks it again: key types, partition counts, schemas).
pub fn decode_plan(node: &pb::PlanNode) -> Result<Arc<dyn ExecutionPlan>> {
    let node = required(&node.node, "an operator in a plan node")?;
    let plan: Arc<dyn ExecutionPlan> = match node {
        Node::Scan(scan) => {
            let table = Arc::new(decode_table(required(&scan.table, "a scan's table")?)?);
            let projection = scan
                .projection
                .as_ref()
                .map(|p| {
                    p.values
                        .iter()
                        .map(|c| to_usize(*c, "projected column"))
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?;
            let schema = match &projection {
                Some(columns) => Arc::new(table.schema().project(columns)?),
                None => table.schema(),
            };
            let filters = decode_exprs(&scan.filters, &schema)?;
            Arc::new(ScanExec::try_new(
                scan.table_name.clone(),
                table,
                projection,
                filters,
            )?)
        }
        Node::Filter(filter) => {
            let input = decode_child(&filter.input, "a filter's input")?;
            let predicate =
                decode_required_expr(&filter.predicate, &input.schema(), "a filter's predicate")?;
            Arc::new(FilterExec::new(predicate, input))
        }
        Node::Generate(generate) => {
            let input = decode_child(&generate.input, "a generator's input")?;
            let kind = match generate.kind {
                pb::GENERATOR_EXPLODE => GeneratorKind::Explode,
                pb::GENERATOR_POSEXPLODE => GeneratorKind::PosExplode,
                pb::GENERATOR_INLINE => GeneratorKind::Inline,
                pb::GENERATOR_STACK => GeneratorKind::Stack {
                    rows: to_usize(generate.stack_rows, "stack rows")?,
                },
                other => {
                    return Err(EmberError::internal(format!(
                        "unknown generator kind {other} in a plan"
                    )))
                }
            };
            let args = decode_exprs(&generate.args, &input.schema())?;
            Arc::new(GenerateExec::new(
                kind,
                args,
                generate.outer,
                ipc::decode_schema(&generate.schema)?,
                input,
            ))
        }
        Node::Project(project) => {
            let input = decode_child(&project.input, "a projection's input")?;
            let exprs = decode_named(&project.exprs, &input.schema(), "a projected expression")?;
            Arc::new(ProjectExec::try_new(exprs, input)?)
        }
        Node::HashAggregate(aggregate) => {
            let input = decode_child(&aggregate.input, "an aggregation's input")?;
            let input_schema = input.schema();
            let groups = decode_named(&aggregate.groups, &input_schema, "a group key")?;
            let mode = match aggregate.mode {
                pb::AGGREGATE_MODE_PARTIAL => AggregateMode::Partial,
                pb::AGGREGATE_MODE_FINAL => AggregateMode::Final,
                pb::AGGREGATE_MODE_SINGLE => AggregateMode::Single,
                other => {
                    return Err(EmberError::internal(format!(
                        "unknown aggregation mode {other} in a plan fragment; known: 0 \
                         (partial), 1 (final), 2 (single)"
                    )))
                }
            };
            let raw_input_schema = match mode {
                AggregateMode::Final => ipc::decode_schema(&aggregate.raw_input_schema)?,
                AggregateMode::Partial | AggregateMode::Single => Arc::clone(&input_schema),
            };
            let aggregates = aggregate
                .aggregates
                .iter()
                .map(|a| expr::decode_aggregate(a, &raw_input_schema))
                .collect::<Result<Vec<_>>>()?;
            if mode == AggregateMode::Final {
                Arc::new(HashAggregateExec::try_new_final(
                    groups,
                    aggregates,
                    raw_input_schema,
                    input,
                )?)
            } else {
                let filters = aggregate
                    .filters
                    .iter()
                    .map(|f| decode_optional_expr(&f.expr, &input_schema))
                    .collect::<Result<Vec<_>>>()?;
                Arc::new(HashAggregateExec::try_new(
                    mode, groups, aggregates, filters, input,
                )?)
            }
        }
        Node::HashJoin(join) => {
            let left = decode_child(&join.left, "a hash join's left input")?;
            let right = decode_child(&join.right, "a hash join's right input")?;
            let join_type = decode_join_type(join.join_type)?;
            let (left_schema, right_schema) = (left.schema(), right.schema());
            let on = join
                .on
                .iter()
                .map(|k| {
                    Ok((
                        decode_required_expr(&k.left, &left_schema, "a join's left key")?,
                        decode_required_expr(&k.right, &right_schema, "a join's right key")?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            let filter = decode_optional_expr(
                &join.filter,
                &joined_schema(&left_schema, &right_schema, join_type),
            )?;
            let build_side = match join.build_side {
                pb::BUILD_SIDE_LEFT => BuildSide::Left,
                pb::BUILD_SIDE_RIGHT => BuildSide::Right,
                other => {
                    return Err(EmberError::internal(format!(
                        "unknown build side {other} in a plan fragment; known: 0 (left), 1 (right)"
                    )))
                }
            };
            let mode = match join.mode {
                pb::JOIN_MODE_PARTITIONED => JoinMode::Partitioned,
                pb::JOIN_MODE_COLLECT_BUILD => JoinMode::CollectBuild,
                other => {
                    return Err(EmberError::internal(format!(
                        "unknown hash join mode {other} in a plan fragment; known: 0 \
                         (partitioned), 1 (collect build)"
                    )))
                }
            };
            Arc::new(HashJoinExec::try_new(
                left, right, on, filter, join_type, build_side, mode,
            )?)
        }
        Node::NestedLoopJoin(join) => {
            let left = decode_child(&join.left, "a nested loop join's left input")?;
            let right = decode_child(&join.right, "a nested loop join's right input")?;
            let join_type = decode_join_type(join.join_type)?;
            let filter = decode_optional_expr(
                &join.filter,
                &joined_schema(&left.schema(), &right.schema(), join_type),
            )?;
            Arc::new(NestedLoopJoinExec::try_new(left, right, filter, join_type)?)
        }
        Node::Sort(sort) => {
            let input = decode_child(&sort.input, "a sort's input")?;
            let keys = decode_sort_keys(&sort.keys, &input.schema())?;
            let fetch = sort.fetch.map(|f| to_usize(f, "top-k")).transpose()?;
            Arc::new(SortExec::new(keys, fetch, input))
        }
        Node::Write(write) => {
            let input = decode_child(&write.input, "a write's input")?;
            let format = match write.format {
                pb::FORMAT_PARQUET => FileFormat::Parquet,
                pb::FORMAT_CSV => FileFormat::Csv,
                other => {
                    return Err(EmberError::internal(format!(
                        "unknown file format {other} for a write to {}",
                        write.location
                    )))
                }
            };
            let csv = required(&write.csv, "the CSV options of a write")?;
            let spec = WriteSpec {
                location: write.location.clone(),
                format,
                csv: decode_csv_options(csv, &write.location)?,
                job_id: write.job_id.clone(),
                s3: write.s3.as_ref().map(decode_s3_settings),
            };
            Arc::new(WriteExec::try_new(
                spec,
                ipc::decode_schema(&write.table_schema)?,
                input,
            )?)
        }
        Node::Limit(limit) => {
            let input = decode_child(&limit.input, "a limit's input")?;
            let fetch = limit.fetch.map(|f| to_usize(f, "limit")).transpose()?;
            Arc::new(LimitExec::new(
                to_usize(limit.skip, "offset")?,
                fetch,
                input,
            ))
        }
        Node::Union(union) => {
            let inputs = union
                .inputs
                .iter()
                .map(decode_plan)
                .collect::<Result<Vec<_>>>()?;
            Arc::new(UnionExec::try_new(
                inputs,
                ipc::decode_schema(&union.schema)?,
            )?)
        }
        Node::Values(values) => {
            let (schema, batches) = ipc::decode_batches(&values.data)?;
            Arc::new(ValuesExec::new(schema, batches))
        }
        Node::Window(window) => {
            let input = decode_child(&window.input, "a window operator's input")?;
            let schema = input.schema();
            let partition_by = decode_exprs(&window.partition_by, &schema)?;
            let order_by = decode_sort_keys(&window.order_by, &schema)?;
            let calls = window
                .calls
                .iter()
                .map(|c| expr::decode_window_call(c, &schema))
                .collect::<Result<Vec<_>>>()?;
            Arc::new(WindowExec::try_new(partition_by, order_by, calls, input)?)
        }
        Node::Exchange(exchange) => {
            let input = decode_child(&exchange.input, "an exchange's input")?;
            let partitioning = decode_partitioning(&exchange.partitioning, &input.schema())?;
            Arc::new(ExchangeExec::new(input, partitioning))
        }
        Node::CachedScan(scan) => {
            let parent = decode_child(&scan.parent, "a cached scan's lineage")?;
            let parent: Arc<dyn ember_core::Rdd> = Arc::new(PlanRdd::new(
                ember_common::RddId(scan.parent_rdd_id),
                parent,
                Vec::new(),
            ));
            let level: ember_core::StorageLevel = scan.level.parse()?;
            let rdd = Arc::new(ember_core::CachedRdd::new(
                ember_common::RddId(scan.rdd_id),
                parent,
                level,
            ));
            let projection = scan
                .has_projection
                .then(|| scan.projection.iter().map(|&c| c as usize).collect());
            Arc::new(CachedScanExec::from_parts(
                scan.name.clone(),
                rdd,
                ipc::decode_schema(&scan.table_schema)?,
                projection,
            )?)
        }
        Node::ShuffleRead(read) => {
            let schema = ipc::decode_schema(&read.schema)?;
            let partitioning = decode_partitioning(&read.partitioning, &schema)?;
            Arc::new(ShuffleReadExec::new(
                ShuffleId(read.shuffle_id),
                schema,
                partitioning,
            ))
        }
    };
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::DataType;
    use datafusion_expr::{col, lit, LogicalPlanBuilder};
    use datafusion_physical_expr::expressions::{BinaryExpr, Column, Literal};
    use ember_core::{CachedRdd, ParallelCollectionRdd, StorageLevel, TaskContext};
    use ember_datasource::FileTableSource;
    use ember_physical::operators::cached_scan::{CachedScanExec, CachedTableSource};
    use ember_physical::plan::display_plan;
    use ember_physical::PhysicalPlanner;

    use super::*;

    fn column(name: &str, index: usize) -> PhysicalExprRef {
        Arc::new(Column::new(name, index))
    }

    fn binary(
        left: PhysicalExprRef,
        op: datafusion_expr::Operator,
        right: PhysicalExprRef,
    ) -> PhysicalExprRef {
        Arc::new(BinaryExpr::new(left, op, right))
    }

    fn literal(value: i64) -> PhysicalExprRef {
        Arc::new(Literal::new(datafusion_common::ScalarValue::Int64(Some(
            value,
        ))))
    }

    /// `(id, name)` rows `ids`, names `n<id>` (every third NULL).
    fn values(ids: &[i64]) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let names: StringArray = ids
            .iter()
            .map(|i| (i % 3 != 0).then(|| format!("n{i}")))
            .collect();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(names)],
        )?;
        Ok(Arc::new(ValuesExec::new(schema, vec![batch])))
    }

    fn round_trip(plan: &Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        plan_from_bytes(&plan_to_bytes(plan)?)
    }

    /// Every partition's batches.
    fn run(plan: &Arc<dyn ExecutionPlan>) -> Result<Vec<Vec<RecordBatch>>> {
        let cx = TaskContext::for_tests();
        (0..plan.output_partitioning().partition_count())
            .map(|p| plan.execute(p, &cx)?.collect::<Result<Vec<_>>>())
            .collect()
    }

    fn has_exchange(plan: &Arc<dyn ExecutionPlan>) -> bool {
        plan.name() == "ExchangeExec" || plan.children().iter().any(has_exchange)
    }

    /// The fragments of `plan` that run as they are: the root and the inputs of exchanges,
    /// when they hold no exchange themselves.
    fn runnable(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<Arc<dyn ExecutionPlan>>) {
        if !has_exchange(plan) {
            out.push(Arc::clone(plan));
            return;
        }
        for child in plan.children() {
            runnable(&child, out);
        }
    }

    /// Same text, same batches in every partition of every runnable fragment; returns how
    /// many rows the fragments produced.
    fn assert_same(plan: &Arc<dyn ExecutionPlan>) -> Result<usize> {
        let decoded = round_trip(plan)?;
        assert_eq!(display_plan(decoded.as_ref()), display_plan(plan.as_ref()));
        assert_eq!(decoded.schema(), plan.schema());
        let (mut expected, mut actual) = (Vec::new(), Vec::new());
        runnable(plan, &mut expected);
        runnable(&decoded, &mut actual);
        assert_eq!(expected.len(), actual.len());
        let mut rows = 0;
        for (e, a) in expected.iter().zip(&actual) {
            let want = run(e)?;
            assert_eq!(run(a)?, want, "{}", display_plan(e.as_ref()));
            rows += want.iter().flatten().map(|b| b.num_rows()).sum::<usize>();
        }
        Ok(rows)
    }

    #[test]
    fn single_input_operators_round_trip() -> Result<()> {
        use datafusion_expr::Operator;
        let input = values(&[5, 1, 4, 2, 3, 9, 0])?;
        let filter: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::new(
            binary(column("id", 0), Operator::Gt, literal(0)),
            input,
        ));
        let project: Arc<dyn ExecutionPlan> = Arc::new(ProjectExec::try_new(
            vec![
                (
                    binary(column("id", 0), Operator::Multiply, literal(10)),
                    "tens".to_string(),
                ),
                (column("name", 1), "name".to_string()),
            ],
            filter,
        )?);
        let keys = vec![
            SortKey {
                expr: column("name", 1),
                ascending: false,
                nulls_first: true,
            },
            SortKey {
                expr: column("tens", 0),
                ascending: true,
                nulls_first: false,
            },
        ];
        let sort: Arc<dyn ExecutionPlan> =
            Arc::new(SortExec::new(keys.clone(), None, Arc::clone(&project)));
        assert_eq!(assert_same(&sort)?, 6);
        let top_k: Arc<dyn ExecutionPlan> = Arc::new(SortExec::new(keys, Some(3), project));
        assert!(display_plan(top_k.as_ref()).starts_with("TopKExec: k=3"));
        assert_eq!(assert_same(&top_k)?, 3);
        let limit: Arc<dyn ExecutionPlan> = Arc::new(LimitExec::new(1, Some(2), top_k));
        assert_eq!(assert_same(&limit)?, 2);
        let union: Arc<dyn ExecutionPlan> = Arc::new(UnionExec::try_new(
            vec![values(&[1, 2])?, values(&[3])?, limit],
            Arc::new(Schema::new(vec![
                Field::new("x", DataType::Int64, false),
                Field::new("y", DataType::Utf8, true),
            ])),
        )?);
        assert_eq!(union.output_partitioning().partition_count(), 3);
        assert_eq!(assert_same(&union)?, 5);
        Ok(())
    }

    #[test]
    fn joins_round_trip_with_keys_filters_types_and_sides() -> Result<()> {
        use datafusion_expr::Operator;
        let left = values(&[1, 2, 3, 4, 5, 6])?;
        let right = values(&[2, 4, 6, 8])?;
        // Residual filter over left then right columns: left.id > 2.
        let filter = binary(column("id", 0), Operator::Gt, literal(2));
        for (join_type, build_side) in [
            (JoinType::Inner, BuildSide::Right),
            (JoinType::Left, BuildSide::Right),
            (JoinType::Full, BuildSide::Left),
            (JoinType::LeftAnti, BuildSide::Right),
            (JoinType::RightSemi, BuildSide::Left),
        ] {
            let join: Arc<dyn ExecutionPlan> = Arc::new(HashJoinExec::try_new(
                Arc::clone(&left),
                Arc::clone(&right),
                vec![(column("id", 0), column("id", 0))],
                Some(Arc::clone(&filter)),
                join_type,
                build_side,
                JoinMode::Partitioned,
            )?);
            let decoded = round_trip(&join)?;
            let decoded = downcast::<HashJoinExec>(&decoded)?;
            assert_eq!(decoded.join_type(), join_type);
            assert_eq!(decoded.build_side(), build_side);
            assert_eq!(decoded.mode(), JoinMode::Partitioned);
            assert!(assert_same(&join)? > 0, "{join_type}");
        }
        let collect: Arc<dyn ExecutionPlan> = Arc::new(HashJoinExec::try_new(
            Arc::clone(&left),
            Arc::clone(&right),
            vec![(column("id", 0), column("id", 0))],
            None,
            JoinType::Inner,
            BuildSide::Right,
            JoinMode::CollectBuild,
        )?);
        assert_eq!(
            downcast::<HashJoinExec>(&round_trip(&collect)?)?.mode(),
            JoinMode::CollectBuild
        );
        assert_eq!(assert_same(&collect)?, 3);
        // Nested loop: left.id < right.id (right.id is column 2 of the joined schema).
        let nested: Arc<dyn ExecutionPlan> = Arc::new(NestedLoopJoinExec::try_new(
            left,
            right,
            Some(binary(column("id", 0), Operator::Lt, column("id", 2))),
            JoinType::Left,
        )?);
        assert_eq!(
            downcast::<NestedLoopJoinExec>(&round_trip(&nested)?)?.join_type(),
            JoinType::Left
        );
        // 1..6 against 2,4,6,8: 4+3+3+2+2+1 pairs, every left row matches something.
        assert_eq!(assert_same(&nested)?, 15);
        Ok(())
    }

    #[test]
    fn exchanges_and_shuffle_reads_keep_their_partitioning() -> Result<()> {
        let input = values(&[1, 2, 3])?;
        for partitioning in [
            Partitioning::Hash(vec![column("name", 1), column("id", 0)], 7),
            Partitioning::Single,
            Partitioning::Unknown(3),
        ] {
            let exchange: Arc<dyn ExecutionPlan> =
                Arc::new(ExchangeExec::new(Arc::clone(&input), partitioning.clone()));
            let read: Arc<dyn ExecutionPlan> = Arc::new(ShuffleReadExec::new(
                ShuffleId(42),
                input.schema(),
                partitioning.clone(),
            ));
            for plan in [exchange, read] {
                let decoded = round_trip(&plan)?;
                assert_eq!(display_plan(decoded.as_ref()), display_plan(plan.as_ref()));
                assert_eq!(
                    format!("{:?}", decoded.output_partitioning()),
                    format!("{partitioning:?}")
                );
            }
        }
        let read: Arc<dyn ExecutionPlan> = Arc::new(ShuffleReadExec::new(
            ShuffleId(42),
            input.schema(),
            Partitioning::Single,
        ));
        let decoded = round_trip(&read)?;
        assert_eq!(
            downcast::<ShuffleReadExec>(&decoded)?.shuffle_id(),
            ShuffleId(42)
        );
        assert_eq!(decoded.schema(), input.schema());
        Ok(())
    }

    fn write_tables(dir: &std::path::Path) -> Result<()> {
        let io = |e| EmberError::io(dir.display().to_string(), e);
        std::fs::create_dir_all(dir.join("csv")).map_err(io)?;
        std::fs::write(
            dir.join("csv/a.csv"),
            "id,name\n1,ann\n2,bob\n3,\n4,dan\n5,eve\n",
        )
        .map_err(io)?;
        std::fs::create_dir_all(dir.join("parquet")).map_err(io)?;
        let Some(values) = values(&[10, 11, 12, 13, 14])?
            .as_any_ref()
            .downcast_ref::<ValuesExec>()
            .map(|v| v.batches().to_vec())
        else {
            return Err(EmberError::internal("values"));
        };
        ember_datasource::write_parquet_iter(
            &dir.join("parquet/a.parquet"),
            values[0].schema(),
            values.into_iter().map(Ok),
            2,
        )?;
        Ok(())
    }

    #[test]
    fn scans_read_the_same_splits_without_listing_again() -> Result<()> {
        use datafusion_expr::Operator;
        let dir = tempfile::tempdir().map_err(|e| EmberError::io("tempdir", e))?;
        write_tables(dir.path())?;
        let options: BTreeMap<String, String> = [
            ("header".to_string(), "true".to_string()),
            ("inferSchema".to_string(), "true".to_string()),
        ]
        .into();
        for (sub, format, options, expected_rows) in [
            ("csv", FileFormat::Csv, options, 3),
            ("parquet", FileFormat::Parquet, BTreeMap::new(), 4),
        ] {
            let location = dir.path().join(sub).to_string_lossy().to_string();
            let table = Arc::new(FileTable::try_new(&location, format, &options, None, 1)?);
            // CSV inference reads `id` as Int32.
            let first = if format == FileFormat::Csv { 2 } else { 10 };
            let bound: PhysicalExprRef = Arc::new(Literal::new(
                datafusion_common::ScalarValue::Int64(Some(first))
                    .cast_to(table.schema().field(0).data_type())?,
            ));
            // Projection (name, id) and a pushed filter on the projected id (column 1).
            let scan: Arc<dyn ExecutionPlan> = Arc::new(ScanExec::try_new(
                "t".to_string(),
                Arc::clone(&table),
                Some(vec![1, 0]),
                vec![binary(column("id", 1), Operator::Gt, bound)],
            )?);
            let bytes = plan_to_bytes(&scan)?;
            // Files added after planning must not be read by the decoded scan.
            let extra = dir.path().join(sub).join(format!("z.{sub}"));
            std::fs::copy(dir.path().join(sub).join(format!("a.{sub}")), &extra)
                .map_err(|e| EmberError::io(extra.display().to_string(), e))?;
            let decoded = plan_from_bytes(&bytes)?;
            let decoded_table = downcast::<ScanExec>(&decoded)?.table();
            assert_eq!(decoded_table.to_parts(), table.to_parts());
            assert_eq!(decoded_table.num_files(), 1);
            assert!(table.splits().len() > 1 || format == FileFormat::Csv);
            assert_eq!(display_plan(decoded.as_ref()), display_plan(scan.as_ref()));
            let rows: usize = run(&decoded)?.iter().flatten().map(|b| b.num_rows()).sum();
            assert_eq!(rows, expected_rows, "{sub}");
            assert_eq!(run(&decoded)?, run(&scan)?, "{sub}");
            std::fs::remove_file(&extra)
                .map_err(|e| EmberError::io(extra.display().to_string(), e))?;
        }
        Ok(())
    }

    #[test]
    fn planned_queries_round_trip() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| EmberError::io("tempdir", e))?;
        write_tables(dir.path())?;
        let location = dir.path().join("parquet").to_string_lossy().to_string();
        let table = Arc::new(FileTable::try_new(
            &location,
            FileFormat::Parquet,
            &BTreeMap::new(),
            None,
            1,
        )?);
        let source = Arc::new(FileTableSource { table });
        let scan = |name: &str| {
            LogicalPlanBuilder::scan(name, source.clone(), None).map_err(EmberError::from)
        };
        let plan = scan("t")?
            .filter(col("id").gt(lit(10i64)))?
            .project(vec![col("name"), (col("id") + lit(1i64)).alias("next")])?
            .sort(vec![col("next").sort(false, true)])?
            .limit(1, Some(2))?
            .build()?;
        let physical = PhysicalPlanner::new(3).create_physical_plan(&plan)?;
        assert!(has_exchange(&physical));
        assert!(assert_same(&physical)? > 0);

        let right = scan("r")?.build()?;
        let joined = scan("t")?
            .join(right, JoinType::Inner, (vec!["id"], vec!["id"]), None)?
            .build()?;
        let physical = PhysicalPlanner::new(2).create_physical_plan(&joined)?;
        assert!(display_plan(physical.as_ref()).contains("HashJoinExec"));
        assert!(assert_same(&physical)? > 0);
        Ok(())
    }

    #[test]
    fn aggregations_round_trip_in_every_mode() -> Result<()> {
        use datafusion_expr::Operator;
        use datafusion_functions_aggregate::expr_fn::{count, max, sum};
        let rows: Vec<Vec<datafusion_expr::Expr>> = [(1, "a"), (2, "b"), (3, "a"), (4, "a")]
            .iter()
            .map(|(v, k)| vec![lit(*k), lit(*v as i64)])
            .collect();
        let logical = LogicalPlanBuilder::values(rows)?
            .aggregate(
                vec![col("column1")],
                vec![
                    sum(col("column2")),
                    count(col("column2")),
                    max(col("column2")),
                ],
            )?
            .build()?;
        let planned = PhysicalPlanner::new(4).create_physical_plan(&logical)?;
        assert!(display_plan(planned.as_ref()).contains("mode=Final"));
        // The runnable fragment is the Partial aggregation: 2 groups.
        assert_eq!(assert_same(&planned)?, 2);

        let exchange = planned
            .children()
            .pop()
            .ok_or_else(|| EmberError::internal("no exchange"))?;
        let partial = exchange
            .children()
            .pop()
            .ok_or_else(|| EmberError::internal("no partial"))?;
        let partial_exec = downcast::<HashAggregateExec>(&partial)?;
        assert_eq!(partial_exec.mode(), AggregateMode::Partial);
        // Final straight over the (one-partition) Partial: runnable without a shuffle.
        let final_step: Arc<dyn ExecutionPlan> = Arc::new(HashAggregateExec::final_for(
            partial_exec,
            Arc::clone(&partial),
        )?);
        assert_eq!(assert_same(&final_step)?, 2);
        let decoded = round_trip(&final_step)?;
        assert_eq!(
            downcast::<HashAggregateExec>(&decoded)?.raw_input_schema(),
            partial_exec.raw_input_schema()
        );
        // Single with a FILTER on the first aggregate: sum(v) FILTER (WHERE v > 1).
        let input = partial
            .children()
            .pop()
            .ok_or_else(|| EmberError::internal("no input"))?;
        let single: Arc<dyn ExecutionPlan> = Arc::new(HashAggregateExec::try_new(
            AggregateMode::Single,
            partial_exec.group_exprs().to_vec(),
            partial_exec.aggregates().to_vec(),
            vec![
                Some(binary(column("column2", 1), Operator::Gt, literal(1))),
                None,
                None,
            ],
            input,
        )?);
        assert!(display_plan(single.as_ref()).contains("FILTER"));
        assert_eq!(assert_same(&single)?, 2);
        Ok(())
    }

    #[test]
    fn window_functions_round_trip() -> Result<()> {
        use datafusion_expr::WindowFunctionDefinition;
        use datafusion_expr::{WindowFrame, WindowFrameBound, WindowFrameUnits};
        use ember_physical::operators::window::WindowFunctionCall;
        let input = values(&[5, 1, 4, 2, 3, 9, 7])?;
        let partition_key = SortKey {
            expr: column("name", 1),
            ascending: true,
            nulls_first: true,
        };
        let order_key = SortKey {
            expr: column("id", 0),
            ascending: false,
            nulls_first: false,
        };
        let sorted: Arc<dyn ExecutionPlan> = Arc::new(SortExec::new(
            vec![partition_key, order_key.clone()],
            None,
            input,
        ));
        let frame = WindowFrame::new_bounds(
            WindowFrameUnits::Rows,
            WindowFrameBound::Preceding(datafusion_common::ScalarValue::UInt64(Some(1))),
            WindowFrameBound::Following(datafusion_common::ScalarValue::UInt64(Some(1))),
        );
        let calls = vec![
            WindowFunctionCall {
                function: WindowFunctionDefinition::WindowUDF(
                    datafusion_functions_window::row_number::row_number_udwf(),
                ),
                args: vec![],
                name: "rn".to_string(),
                frame: WindowFrame::new(Some(false)),
                ignore_nulls: false,
                distinct: false,
                filter: None,
            },
            WindowFunctionCall {
                function: WindowFunctionDefinition::AggregateUDF(
                    datafusion_functions_aggregate::sum::sum_udaf(),
                ),
                args: vec![column("id", 0)],
                name: "moving".to_string(),
                frame,
                ignore_nulls: false,
                distinct: false,
                filter: None,
            },
        ];
        let window: Arc<dyn ExecutionPlan> = Arc::new(WindowExec::try_new(
            vec![column("name", 1)],
            vec![order_key],
            calls,
            sorted,
        )?);
        let decoded = round_trip(&window)?;
        let decoded_window = downcast::<WindowExec>(&decoded)?;
        assert_eq!(decoded_window.calls().len(), 2);
        assert_eq!(
            decoded_window.calls()[1].frame.units,
            WindowFrameUnits::Rows
        );
        assert_eq!(assert_same(&window)?, 7);
        Ok(())
    }

    #[test]
    fn another_wire_version_is_refused() -> Result<()> {
        let plan = values(&[1])?;
        let mut envelope = pb::PlanEnvelope::decode(plan_to_bytes(&plan)?.as_slice())
            .map_err(|e| EmberError::internal(e.to_string()))?;
        assert_eq!(envelope.wire_version, WIRE_VERSION);
        envelope.wire_version = WIRE_VERSION + 1;
        let message = plan_from_bytes(&envelope.encode_to_vec())
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&format!("wire version {}", WIRE_VERSION + 1)),
            "{message}"
        );
        assert!(message.contains("same Ember build"), "{message}");
        let garbage = plan_from_bytes(&[0xff, 0xff, 0xff])
            .map(|_| ())
            .unwrap_err();
        assert!(garbage.to_string().contains("cannot decode"), "{garbage}");
        Ok(())
    }

    #[test]
    fn cached_scans_travel_with_their_lineage() -> Result<()> {
        let plan = values(&[1, 2, 3])?;
        let schema = plan.schema();
        let parent = Arc::new(PlanRdd::new(ember_common::RddId(4), plan, Vec::new()));
        let rdd = Arc::new(CachedRdd::new(
            ember_common::RddId(5),
            parent,
            StorageLevel::MemoryAndDisk,
        ));
        let cached: Arc<dyn ExecutionPlan> = Arc::new(CachedScanExec::from_parts(
            "t".to_string(),
            rdd,
            schema,
            Some(vec![0]),
        )?);
        let decoded = round_trip(&cached)?;
        let scan = downcast::<CachedScanExec>(&decoded)?;
        assert_eq!(ember_core::Rdd::id(scan.rdd().as_ref()).0, 5);
        assert_eq!(scan.level(), StorageLevel::MemoryAndDisk);
        assert_eq!(run(&decoded)?, run(&cached)?);
        Ok(())
    }

    #[test]
    fn cached_scans_of_other_rdds_cannot_travel() -> Result<()> {
        let plan = values(&[1, 2])?;
        let schema = plan.schema();
        let batches = run(&plan)?.concat();
        let parent = Arc::new(ParallelCollectionRdd::new(
            ember_common::RddId(1),
            Arc::clone(&schema),
            batches,
            1,
        )?);
        let rdd = Arc::new(CachedRdd::new(
            ember_common::RddId(2),
            parent,
            StorageLevel::MemoryOnly,
        ));
        let source = Arc::new(CachedTableSource {
            name: "people".to_string(),
            rdd,
            schema,
            shuffles: vec![],
            plan: Arc::new(LogicalPlanBuilder::empty(false).build()?),
        });
        let cached: Arc<dyn ExecutionPlan> = Arc::new(CachedScanExec::try_new(source, None)?);
        let filtered: Arc<dyn ExecutionPlan> = Arc::new(FilterExec::new(
            Arc::new(Literal::new(datafusion_common::ScalarValue::Boolean(Some(
                true,
            )))),
            cached,
        ));
        let error = plan_to_bytes(&filtered).map(|_| ()).unwrap_err();
        assert!(matches!(error, EmberError::NotSupported(_)), "{error:?}");
        assert!(error.to_string().contains("cached table"), "{error}");
        Ok(())
    }
}
