//! The protobuf messages of the expression codec (hand-written prost structs, no `.proto`
//! file).

use std::collections::HashMap;

/// One physical expression.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PhysicalExprNode {
    /// Which expression, with its fields.
    #[prost(
        oneof = "physical_expr_node::Expr",
        tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14"
    )]
    pub expr: Option<physical_expr_node::Expr>,
}

/// The kinds of [`PhysicalExprNode`].
pub mod physical_expr_node {
    /// One kind of physical expression.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Expr {
        /// A column of the input, by name and index.
        #[prost(message, tag = "1")]
        Column(super::ColumnNode),
        /// A constant.
        #[prost(message, tag = "2")]
        Literal(super::LiteralNode),
        /// `left op right`.
        #[prost(message, tag = "3")]
        Binary(Box<super::BinaryNode>),
        /// `CAST(expr AS type)`.
        #[prost(message, tag = "4")]
        Cast(Box<super::CastNode>),
        /// `TRY_CAST(expr AS type)`.
        #[prost(message, tag = "5")]
        TryCast(Box<super::TryCastNode>),
        /// `NOT expr`.
        #[prost(message, tag = "6")]
        Not(Box<super::UnaryNode>),
        /// `-expr`.
        #[prost(message, tag = "7")]
        Negative(Box<super::UnaryNode>),
        /// `expr IS NULL`.
        #[prost(message, tag = "8")]
        IsNull(Box<super::UnaryNode>),
        /// `expr IS NOT NULL`.
        #[prost(message, tag = "9")]
        IsNotNull(Box<super::UnaryNode>),
        /// `CASE [base] WHEN .. THEN .. [ELSE ..] END`.
        #[prost(message, tag = "10")]
        Case(Box<super::CaseNode>),
        /// `expr [NOT] IN (list)`.
        #[prost(message, tag = "11")]
        InList(Box<super::InListNode>),
        /// `expr [NOT] [I]LIKE pattern`.
        #[prost(message, tag = "12")]
        Like(Box<super::LikeNode>),
        /// A scalar function call.
        #[prost(message, tag = "13")]
        ScalarFunction(super::ScalarFunctionNode),
        /// An expression encoded on its own (a `PhysicalExprNode`), so that a deep
        /// expression's nesting restarts: protobuf decoders refuse messages nested more
        /// than 100 levels, and every [`super::super::CHUNK_DEPTH`] levels of an expression
        /// continue in a chunk of their own.
        #[prost(bytes, tag = "14")]
        Chunk(Vec<u8>),
    }
}

/// A column reference.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ColumnNode {
    /// The column's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its index in the input schema.
    #[prost(uint64, tag = "2")]
    pub index: u64,
}

/// A literal value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LiteralNode {
    /// The `ScalarValue` as Arrow IPC bytes (`codec::arrow::encode_scalar`).
    #[prost(bytes = "vec", tag = "1")]
    pub value: Vec<u8>,
    /// Field metadata of the literal, if any.
    #[prost(map = "string, string", tag = "2")]
    pub metadata: HashMap<String, String>,
    /// Whether the literal carried metadata (possibly empty).
    #[prost(bool, tag = "3")]
    pub has_metadata: bool,
}

/// A binary operation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BinaryNode {
    /// Left operand.
    #[prost(message, optional, boxed, tag = "1")]
    pub left: Option<Box<PhysicalExprNode>>,
    /// The operator's variant name (`Plus`, `Eq`, ...; `Operator::from_proto_name`).
    #[prost(string, tag = "2")]
    pub op: String,
    /// Right operand.
    #[prost(message, optional, boxed, tag = "3")]
    pub right: Option<Box<PhysicalExprNode>>,
    /// Whether integer arithmetic fails on overflow.
    #[prost(bool, tag = "4")]
    pub fail_on_overflow: bool,
}

/// A cast.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CastNode {
    /// The value cast.
    #[prost(message, optional, boxed, tag = "1")]
    pub expr: Option<Box<PhysicalExprNode>>,
    /// The target field, as a one-field schema (`codec::arrow::encode_schema`).
    #[prost(bytes = "vec", tag = "2")]
    pub target_field: Vec<u8>,
    /// Whether the target field's metadata and nullability are explicit.
    #[prost(bool, tag = "3")]
    pub explicit_target: bool,
    /// `CastOptions::safe`: NULL instead of an error on a bad value.
    #[prost(bool, tag = "4")]
    pub safe: bool,
    /// Which format options: see [`CastFormat`].
    #[prost(enumeration = "CastFormat", tag = "5")]
    pub format: i32,
}

/// The format options of a cast to or from strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum CastFormat {
    /// DataFusion's `DEFAULT_FORMAT_OPTIONS`.
    DataFusionDefault = 0,
    /// Arrow's `FormatOptions::default()`.
    ArrowDefault = 1,
}

/// A `TRY_CAST`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TryCastNode {
    /// The value cast.
    #[prost(message, optional, boxed, tag = "1")]
    pub expr: Option<Box<PhysicalExprNode>>,
    /// The target field, as a one-field schema.
    #[prost(bytes = "vec", tag = "2")]
    pub target_field: Vec<u8>,
    /// Whether the target field's metadata is explicit.
    #[prost(bool, tag = "3")]
    pub explicit_target: bool,
}

/// An expression with one child (NOT, negation, IS [NOT] NULL).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UnaryNode {
    /// The child.
    #[prost(message, optional, boxed, tag = "1")]
    pub expr: Option<Box<PhysicalExprNode>>,
}

/// One `WHEN .. THEN ..` of a CASE.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhenThenNode {
    /// The condition (or the value compared with the base).
    #[prost(message, optional, tag = "1")]
    pub when: Option<PhysicalExprNode>,
    /// The result.
    #[prost(message, optional, tag = "2")]
    pub then: Option<PhysicalExprNode>,
}

/// A CASE expression.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CaseNode {
    /// `CASE base WHEN ...`, if any.
    #[prost(message, optional, boxed, tag = "1")]
    pub base: Option<Box<PhysicalExprNode>>,
    /// The branches, in order.
    #[prost(message, repeated, tag = "2")]
    pub when_then: Vec<WhenThenNode>,
    /// The ELSE value, if any.
    #[prost(message, optional, boxed, tag = "3")]
    pub else_expr: Option<Box<PhysicalExprNode>>,
}

/// An IN list.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InListNode {
    /// The value looked up.
    #[prost(message, optional, boxed, tag = "1")]
    pub expr: Option<Box<PhysicalExprNode>>,
    /// The list.
    #[prost(message, repeated, tag = "2")]
    pub list: Vec<PhysicalExprNode>,
    /// `NOT IN`.
    #[prost(bool, tag = "3")]
    pub negated: bool,
}

/// A LIKE.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LikeNode {
    /// The value matched.
    #[prost(message, optional, boxed, tag = "1")]
    pub expr: Option<Box<PhysicalExprNode>>,
    /// The pattern.
    #[prost(message, optional, boxed, tag = "2")]
    pub pattern: Option<Box<PhysicalExprNode>>,
    /// `NOT LIKE`.
    #[prost(bool, tag = "3")]
    pub negated: bool,
    /// `ILIKE`.
    #[prost(bool, tag = "4")]
    pub case_insensitive: bool,
}

/// Where a scalar function comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ScalarFamily {
    /// `datafusion_functions::all_default_functions()`, by name.
    DataFusion = 0,
    /// Ember's `SparkUdf`, by name and ANSI flag.
    Spark = 1,
    /// Ember's `check_divisor`.
    CheckDivisor = 2,
    /// The optimizer's `assert_single_row` (scalar subqueries without an aggregate).
    AssertSingleRow = 3,
    /// A higher-order function (`transform`, ...) with its lambda bodies.
    Lambda = 4,
}

/// The identity of a scalar function.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScalarUdfNode {
    /// Where it comes from.
    #[prost(enumeration = "ScalarFamily", tag = "1")]
    pub family: i32,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// `SparkUdf::ansi`.
    #[prost(bool, tag = "3")]
    pub ansi: bool,
    /// A higher-order function's lambda bodies, each over its schema in `lambda_schemas`.
    #[prost(message, repeated, tag = "4")]
    pub lambda_bodies: Vec<PhysicalExprNode>,
    /// The schema of each lambda body (Arrow IPC): parameters, then captured columns.
    #[prost(bytes = "vec", repeated, tag = "5")]
    pub lambda_schemas: Vec<Vec<u8>>,
    /// A higher-order function's result type (Arrow IPC).
    #[prost(bytes = "vec", tag = "6")]
    pub return_type: Vec<u8>,
}

/// A configuration option differing from DataFusion's default.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigEntryNode {
    /// The key (`datafusion.execution.time_zone`, ...).
    #[prost(string, tag = "1")]
    pub key: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A scalar function call.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScalarFunctionNode {
    /// The function.
    #[prost(message, optional, tag = "1")]
    pub function: Option<ScalarUdfNode>,
    /// The expression's name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The arguments (already coerced).
    #[prost(message, repeated, tag = "3")]
    pub args: Vec<PhysicalExprNode>,
    /// The return field, as a one-field schema.
    #[prost(bytes = "vec", tag = "4")]
    pub return_field: Vec<u8>,
    /// The options that differ from `ConfigOptions::default()`.
    #[prost(message, repeated, tag = "5")]
    pub config: Vec<ConfigEntryNode>,
}

/// Where an aggregate function comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AggregateFamily {
    /// `datafusion_functions_aggregate::all_default_aggregate_functions()`, by name.
    DataFusion = 0,
    /// Ember's `PickAggregate` (first, last, max_by, min_by), by name.
    Pick = 1,
    /// Ember's ANSI `CheckedSum`.
    CheckedSum = 2,
}

/// The identity of an aggregate function.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AggregateUdfNode {
    /// Where it comes from.
    #[prost(enumeration = "AggregateFamily", tag = "1")]
    pub family: i32,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
}

/// A sort key (of an ordered aggregate).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SortExprNode {
    /// The key.
    #[prost(message, optional, tag = "1")]
    pub expr: Option<PhysicalExprNode>,
    /// Descending order.
    #[prost(bool, tag = "2")]
    pub descending: bool,
    /// NULLs first.
    #[prost(bool, tag = "3")]
    pub nulls_first: bool,
}

/// An aggregate call of a hash aggregation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AggregateExprNode {
    /// The function.
    #[prost(message, optional, tag = "1")]
    pub function: Option<AggregateUdfNode>,
    /// The arguments.
    #[prost(message, repeated, tag = "2")]
    pub args: Vec<PhysicalExprNode>,
    /// The output name (the builder's alias).
    #[prost(string, tag = "3")]
    pub name: String,
    /// `DISTINCT`.
    #[prost(bool, tag = "4")]
    pub distinct: bool,
    /// `IGNORE NULLS`.
    #[prost(bool, tag = "5")]
    pub ignore_nulls: bool,
    /// Reversed (ordered aggregates).
    #[prost(bool, tag = "6")]
    pub reversed: bool,
    /// `ORDER BY` inside the call.
    #[prost(message, repeated, tag = "7")]
    pub order_by: Vec<SortExprNode>,
    /// The short name for EXPLAIN, if any.
    #[prost(string, optional, tag = "8")]
    pub human_display: Option<String>,
    /// The alias shown with it, if any.
    #[prost(string, optional, tag = "9")]
    pub human_display_alias: Option<String>,
}

/// A window function: a window UDF or an aggregate.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WindowFunctionNode {
    /// Which.
    #[prost(oneof = "window_function_node::Function", tags = "1, 2")]
    pub function: Option<window_function_node::Function>,
}

/// The kinds of [`WindowFunctionNode`].
pub mod window_function_node {
    /// A window UDF or an aggregate UDF.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Function {
        /// `datafusion_functions_window::all_default_window_functions()`, by name.
        #[prost(string, tag = "1")]
        Window(String),
        /// An aggregate over the frame.
        #[prost(message, tag = "2")]
        Aggregate(super::AggregateUdfNode),
    }
}

/// Frame units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum FrameUnits {
    /// `ROWS`.
    Rows = 0,
    /// `RANGE`.
    Range = 1,
    /// `GROUPS`.
    Groups = 2,
}

/// Frame bound kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum BoundKind {
    /// `n PRECEDING` (a NULL value: UNBOUNDED).
    Preceding = 0,
    /// `CURRENT ROW`.
    CurrentRow = 1,
    /// `n FOLLOWING` (a NULL value: UNBOUNDED).
    Following = 2,
}

/// One bound of a frame.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FrameBoundNode {
    /// Which kind.
    #[prost(enumeration = "BoundKind", tag = "1")]
    pub kind: i32,
    /// The offset `ScalarValue` (Arrow IPC bytes); empty for CURRENT ROW.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// A window frame.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WindowFrameNode {
    /// Units.
    #[prost(enumeration = "FrameUnits", tag = "1")]
    pub units: i32,
    /// Start bound.
    #[prost(message, optional, tag = "2")]
    pub start: Option<FrameBoundNode>,
    /// End bound.
    #[prost(message, optional, tag = "3")]
    pub end: Option<FrameBoundNode>,
}

/// One window function call of a window operator.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WindowCallNode {
    /// The function.
    #[prost(message, optional, tag = "1")]
    pub function: Option<WindowFunctionNode>,
    /// The arguments.
    #[prost(message, repeated, tag = "2")]
    pub args: Vec<PhysicalExprNode>,
    /// The output column's name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// The frame.
    #[prost(message, optional, tag = "4")]
    pub frame: Option<WindowFrameNode>,
    /// `IGNORE NULLS`.
    #[prost(bool, tag = "5")]
    pub ignore_nulls: bool,
    /// `DISTINCT`.
    #[prost(bool, tag = "6")]
    pub distinct: bool,
    /// `FILTER (WHERE ...)`.
    #[prost(message, optional, tag = "7")]
    pub filter: Option<PhysicalExprNode>,
}
