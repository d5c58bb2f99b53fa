//! Physical expressions, aggregate calls and window function calls on the wire.
//!
//! Every function travels as data that names it, never as code: DataFusion's functions by
//! name, Ember's own [`SparkUdf`]s by name and ANSI flag, [`CheckDivisor`], [`PickAggregate`]
//! and [`CheckedSum`] by kind. The executor rebuilds the same objects without re-planning:
//! coercions already happened on the driver, so arguments, return fields and names are taken
//! as encoded.
//!
//! ```text
//! PhysicalExprNode ─┬─ Column / Literal (ScalarValue as Arrow IPC bytes)
//!                   ├─ Binary, Cast, TryCast, Not, Negative, IsNull, IsNotNull,
//!                   │  Case, InList, Like            (children: PhysicalExprNode)
//!                   └─ ScalarFunction ── ScalarUdfNode { family, name, ansi }
//! AggregateExprNode ── AggregateUdfNode { family, name }, args, alias, flags
//! WindowCallNode    ── window UDF name | AggregateUdfNode, args, frame, flags
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow::compute::CastOptions;
use arrow::datatypes::{FieldRef, Schema, SchemaRef};
use datafusion_common::config::ConfigOptions;
use datafusion_common::format::DEFAULT_FORMAT_OPTIONS;
use datafusion_common::metadata::FieldMetadata;
use datafusion_common::ScalarValue;
use datafusion_expr::{
    AggregateUDF, Operator, ScalarUDF, WindowFrame, WindowFrameBound, WindowFrameUnits,
    WindowFunctionDefinition, WindowUDF,
};
use datafusion_physical_expr::aggregate::{AggregateExprBuilder, AggregateFunctionExpr};
use datafusion_physical_expr::expressions::{
    in_list, BinaryExpr, CaseExpr, CastExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr,
    LikeExpr, Literal, NegativeExpr, NotExpr, TryCastExpr,
};
use datafusion_physical_expr::{PhysicalExpr, PhysicalSortExpr, ScalarFunctionExpr};
use ember_common::{EmberError, Result};
use ember_optimizer::rules::AssertSingleRow;
use ember_physical::operators::window::WindowFunctionCall;
use ember_sql::functions::aggregate::{CheckedSum, PickAggregate};
use ember_sql::functions::lambda::{HigherOrder, LambdaUdf};
use ember_sql::functions::{spark_udf_by_name, CheckDivisor, SparkUdf};

use super::arrow::{decode_scalar, decode_schema, encode_scalar, encode_schema};

/// The protobuf messages (hand-written prost structs, no `.proto` file).
pub mod pb {
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
}

use pb::physical_expr_node::Expr as E;

fn boxed(expr: &Arc<dyn PhysicalExpr>) -> Result<Option<Box<pb::PhysicalExprNode>>> {
    Ok(Some(Box::new(encode_expr(expr)?)))
}

fn node(expr: E) -> pb::PhysicalExprNode {
    pb::PhysicalExprNode { expr: Some(expr) }
}

fn encode_all(exprs: &[Arc<dyn PhysicalExpr>]) -> Result<Vec<pb::PhysicalExprNode>> {
    exprs.iter().map(encode_expr).collect()
}

fn encode_field(field: &FieldRef) -> Result<Vec<u8>> {
    encode_schema(&Arc::new(Schema::new(vec![Arc::clone(field)])))
}

fn decode_field(bytes: &[u8], what: &str) -> Result<FieldRef> {
    let schema = decode_schema(bytes)?;
    schema
        .fields()
        .first()
        .cloned()
        .ok_or_else(|| EmberError::internal(format!("an encoded {what} without its field")))
}

/// How many levels of an expression one protobuf message nests before the rest continues in a
/// chunk of its own (each level is two messages deep: the node and its kind).
pub const CHUNK_DEPTH: usize = 16;

thread_local! {
    /// How deep `encode_expr` is in the expression being encoded.
    static ENCODE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one level of `encode_expr` while it lives.
struct EncodeLevel;

impl EncodeLevel {
    fn enter() -> (EncodeLevel, usize) {
        let depth = ENCODE_DEPTH.with(|d| {
            let depth = d.get();
            d.set(depth + 1);
            depth
        });
        (EncodeLevel, depth)
    }
}

impl Drop for EncodeLevel {
    fn drop(&mut self) {
        ENCODE_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Encodes a physical expression; fails with `NotSupported` naming any expression or function
/// that has no wire form. Every [`CHUNK_DEPTH`] levels the rest of a deep expression is
/// encoded as a chunk of bytes of its own, so no message nests deeper than protobuf decoders
/// accept, however deep the expression.
pub fn encode_expr(expr: &Arc<dyn PhysicalExpr>) -> Result<pb::PhysicalExprNode> {
    let (_level, depth) = EncodeLevel::enter();
    let encoded = encode_expr_here(expr)?;
    if depth > 0 && depth % CHUNK_DEPTH == 0 {
        return Ok(node(E::Chunk(prost::Message::encode_to_vec(&encoded))));
    }
    Ok(encoded)
}

fn encode_expr_here(expr: &Arc<dyn PhysicalExpr>) -> Result<pb::PhysicalExprNode> {
    let any: &dyn PhysicalExpr = expr.as_ref();
    if let Some(c) = any.downcast_ref::<Column>() {
        return Ok(node(E::Column(pb::ColumnNode {
            name: c.name().to_string(),
            index: c.index() as u64,
        })));
    }
    if let Some(l) = any.downcast_ref::<Literal>() {
        let field = l.return_field(&Schema::empty())?;
        let plain = Literal::new(l.value().clone());
        let has_metadata = !field.metadata().is_empty() || plain != *l;
        return Ok(node(E::Literal(pb::LiteralNode {
            value: encode_scalar(l.value())?,
            metadata: field.metadata().clone(),
            has_metadata,
        })));
    }
    if let Some(b) = any.downcast_ref::<BinaryExpr>() {
        // BinaryExpr has no getter for the flag; its equality includes it.
        let checked = BinaryExpr::new(Arc::clone(b.left()), *b.op(), Arc::clone(b.right()))
            .with_fail_on_overflow(true);
        return Ok(node(E::Binary(Box::new(pb::BinaryNode {
            left: boxed(b.left())?,
            op: format!("{:?}", b.op()),
            right: boxed(b.right())?,
            fail_on_overflow: *b == checked,
        }))));
    }
    if let Some(c) = any.downcast_ref::<CastExpr>() {
        let options = c.cast_options();
        let format = if options.format_options == DEFAULT_FORMAT_OPTIONS {
            pb::CastFormat::DataFusionDefault
        } else if options.format_options == Default::default() {
            pb::CastFormat::ArrowDefault
        } else {
            return Err(EmberError::NotSupported(format!(
                "encoding the cast {expr} with custom format options (only DataFusion's and \
                 Arrow's default format options travel)"
            )));
        };
        return Ok(node(E::Cast(Box::new(pb::CastNode {
            expr: boxed(c.expr())?,
            target_field: encode_field(c.target_field())?,
            explicit_target: c.has_explicit_metadata(),
            safe: options.safe,
            format: format as i32,
        }))));
    }
    if let Some(c) = any.downcast_ref::<TryCastExpr>() {
        return Ok(node(E::TryCast(Box::new(pb::TryCastNode {
            expr: boxed(c.expr())?,
            target_field: encode_field(c.target_field())?,
            explicit_target: c.target_metadata().is_some(),
        }))));
    }
    if let Some(n) = any.downcast_ref::<NotExpr>() {
        return Ok(node(E::Not(Box::new(pb::UnaryNode {
            expr: boxed(n.arg())?,
        }))));
    }
    if let Some(n) = any.downcast_ref::<NegativeExpr>() {
        return Ok(node(E::Negative(Box::new(pb::UnaryNode {
            expr: boxed(n.arg())?,
        }))));
    }
    if let Some(n) = any.downcast_ref::<IsNullExpr>() {
        return Ok(node(E::IsNull(Box::new(pb::UnaryNode {
            expr: boxed(n.arg())?,
        }))));
    }
    if let Some(n) = any.downcast_ref::<IsNotNullExpr>() {
        return Ok(node(E::IsNotNull(Box::new(pb::UnaryNode {
            expr: boxed(n.arg())?,
        }))));
    }
    if let Some(c) = any.downcast_ref::<CaseExpr>() {
        let when_then = c
            .when_then_expr()
            .iter()
            .map(|(w, t)| {
                Ok(pb::WhenThenNode {
                    when: Some(encode_expr(w)?),
                    then: Some(encode_expr(t)?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok(node(E::Case(Box::new(pb::CaseNode {
            base: c.expr().map(encode_expr).transpose()?.map(Box::new),
            when_then,
            else_expr: c.else_expr().map(encode_expr).transpose()?.map(Box::new),
        }))));
    }
    if let Some(i) = any.downcast_ref::<InListExpr>() {
        return Ok(node(E::InList(Box::new(pb::InListNode {
            expr: boxed(i.expr())?,
            list: encode_all(i.list())?,
            negated: i.negated(),
        }))));
    }
    if let Some(l) = any.downcast_ref::<LikeExpr>() {
        return Ok(node(E::Like(Box::new(pb::LikeNode {
            expr: boxed(l.expr())?,
            pattern: boxed(l.pattern())?,
            negated: l.negated(),
            case_insensitive: l.case_insensitive(),
        }))));
    }
    if let Some(f) = any.downcast_ref::<ScalarFunctionExpr>() {
        return Ok(node(E::ScalarFunction(pb::ScalarFunctionNode {
            function: Some(encode_scalar_udf(f.fun())?),
            name: f.name().to_string(),
            args: encode_all(f.args())?,
            return_field: encode_field(&f.return_field(&Schema::empty())?)?,
            config: encode_config(f.config_options())?,
        })));
    }
    Err(EmberError::NotSupported(format!(
        "encoding the physical expression {expr} for an executor (no wire form for {})",
        type_name_of(expr)
    )))
}

/// The expression's Rust type, from its `Debug` form (`Foo { .. }` → `Foo`).
fn type_name_of(expr: &Arc<dyn PhysicalExpr>) -> String {
    let debug = format!("{expr:?}");
    debug
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn encode_scalar_udf(udf: &ScalarUDF) -> Result<pb::ScalarUdfNode> {
    let inner = udf.inner();
    if let Some(spark) = inner.downcast_ref::<SparkUdf>() {
        return Ok(pb::ScalarUdfNode {
            family: pb::ScalarFamily::Spark as i32,
            name: udf.name().to_string(),
            ansi: spark.ansi,
            ..Default::default()
        });
    }
    if let Some(lambda) = inner.downcast_ref::<LambdaUdf>() {
        return Ok(pb::ScalarUdfNode {
            family: pb::ScalarFamily::Lambda as i32,
            name: lambda.kind.name().to_string(),
            ansi: false,
            lambda_bodies: lambda
                .bodies
                .iter()
                .map(encode_expr)
                .collect::<Result<Vec<_>>>()?,
            lambda_schemas: lambda
                .schemas
                .iter()
                .map(encode_schema)
                .collect::<Result<Vec<_>>>()?,
            return_type: crate::codec::arrow::encode_data_type(&lambda.return_type)?,
        });
    }
    if inner.downcast_ref::<CheckDivisor>().is_some() {
        return Ok(pb::ScalarUdfNode {
            family: pb::ScalarFamily::CheckDivisor as i32,
            name: udf.name().to_string(),
            ansi: true,
            ..Default::default()
        });
    }
    if inner.downcast_ref::<AssertSingleRow>().is_some() {
        return Ok(pb::ScalarUdfNode {
            family: pb::ScalarFamily::AssertSingleRow as i32,
            name: udf.name().to_string(),
            ansi: false,
            ..Default::default()
        });
    }
    let stock = datafusion_functions::all_default_functions()
        .into_iter()
        .find(|f| f.name() == udf.name());
    match stock {
        Some(f) if f.as_ref() == udf => Ok(pb::ScalarUdfNode {
            family: pb::ScalarFamily::DataFusion as i32,
            name: udf.name().to_string(),
            ansi: false,
            ..Default::default()
        }),
        _ => Err(EmberError::NotSupported(format!(
            "encoding the scalar function {} for an executor: it is neither one of \
             DataFusion's default functions nor one of Ember's (SparkUdf, check_divisor)",
            udf.name()
        ))),
    }
}

fn decode_scalar_udf(node: &pb::ScalarUdfNode) -> Result<Arc<ScalarUDF>> {
    let family = pb::ScalarFamily::try_from(node.family).map_err(|_| {
        EmberError::internal(format!(
            "scalar function {} of unknown family {}",
            node.name, node.family
        ))
    })?;
    let found = match family {
        pb::ScalarFamily::Spark => spark_udf_by_name(&node.name, node.ansi).map(SparkUdf::into_udf),
        pb::ScalarFamily::CheckDivisor => Some(CheckDivisor::udf()),
        pb::ScalarFamily::AssertSingleRow => Some(AssertSingleRow::udf()),
        pb::ScalarFamily::Lambda => {
            let kind = HigherOrder::from_name(&node.name).ok_or_else(|| {
                EmberError::internal(format!("no higher-order function {}", node.name))
            })?;
            let schemas = node
                .lambda_schemas
                .iter()
                .map(|s| decode_schema(s))
                .collect::<Result<Vec<_>>>()?;
            let bodies = node
                .lambda_bodies
                .iter()
                .zip(&schemas)
                .map(|(b, s)| decode_expr(b, s))
                .collect::<Result<Vec<_>>>()?;
            let return_type = crate::codec::arrow::decode_data_type(&node.return_type)?;
            Some(Arc::new(ScalarUDF::from(LambdaUdf::new(
                kind,
                bodies,
                schemas,
                return_type,
            ))))
        }
        pb::ScalarFamily::DataFusion => datafusion_functions::all_default_functions()
            .into_iter()
            .find(|f| f.name() == node.name),
    };
    found.ok_or_else(|| {
        EmberError::internal(format!(
            "no {family:?} scalar function named {} on this executor",
            node.name
        ))
    })
}

fn encode_config(config: &ConfigOptions) -> Result<Vec<pb::ConfigEntryNode>> {
    let defaults: HashMap<String, Option<String>> = ConfigOptions::default()
        .entries()
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect();
    let mut out = Vec::new();
    for entry in config.entries() {
        let default = defaults.get(&entry.key).cloned().flatten();
        if entry.value == default {
            continue;
        }
        let Some(value) = entry.value else {
            return Err(EmberError::NotSupported(format!(
                "encoding the unset configuration option {} (its default is set)",
                entry.key
            )));
        };
        out.push(pb::ConfigEntryNode {
            key: entry.key,
            value,
        });
    }
    Ok(out)
}

fn decode_config(entries: &[pb::ConfigEntryNode]) -> Result<Arc<ConfigOptions>> {
    let mut config = ConfigOptions::default();
    for entry in entries {
        config.set(&entry.key, &entry.value)?;
    }
    Ok(Arc::new(config))
}

fn child(
    node: &Option<Box<pb::PhysicalExprNode>>,
    what: &str,
    schema: &SchemaRef,
) -> Result<Arc<dyn PhysicalExpr>> {
    match node {
        Some(n) => decode_expr(n, schema),
        None => Err(EmberError::internal(format!(
            "an encoded {what} without its operand"
        ))),
    }
}

fn decode_all(
    nodes: &[pb::PhysicalExprNode],
    schema: &SchemaRef,
) -> Result<Vec<Arc<dyn PhysicalExpr>>> {
    nodes.iter().map(|n| decode_expr(n, schema)).collect()
}

/// Decodes an expression over `input_schema` (the schema of the batches it will evaluate).
pub fn decode_expr(
    node: &pb::PhysicalExprNode,
    input_schema: &SchemaRef,
) -> Result<Arc<dyn PhysicalExpr>> {
    let Some(expr) = &node.expr else {
        return Err(EmberError::internal(
            "an encoded expression without its kind",
        ));
    };
    Ok(match expr {
        E::Chunk(bytes) => {
            let inner = <pb::PhysicalExprNode as prost::Message>::decode(bytes.as_slice())
                .map_err(|e| EmberError::internal(format!("a corrupt expression chunk: {e}")))?;
            return decode_expr(&inner, input_schema);
        }
        E::Column(c) => {
            let index = usize::try_from(c.index).map_err(|_| {
                EmberError::internal(format!("column {} has index {}", c.name, c.index))
            })?;
            if index >= input_schema.fields().len() {
                return Err(EmberError::internal(format!(
                    "column {}@{index} is outside the input schema of {} columns",
                    c.name,
                    input_schema.fields().len()
                )));
            }
            Arc::new(Column::new(&c.name, index))
        }
        E::Literal(l) => {
            let value = decode_scalar(&l.value)?;
            if l.has_metadata {
                let metadata = FieldMetadata::from(
                    l.metadata
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<std::collections::BTreeMap<_, _>>(),
                );
                Arc::new(Literal::new_with_metadata(value, Some(metadata)))
            } else {
                Arc::new(Literal::new(value))
            }
        }
        E::Binary(b) => {
            let op = Operator::from_proto_name(&b.op)
                .ok_or_else(|| EmberError::internal(format!("unknown binary operator {}", b.op)))?;
            Arc::new(
                BinaryExpr::new(
                    child(&b.left, "binary expression", input_schema)?,
                    op,
                    child(&b.right, "binary expression", input_schema)?,
                )
                .with_fail_on_overflow(b.fail_on_overflow),
            )
        }
        E::Cast(c) => {
            let inner = child(&c.expr, "cast", input_schema)?;
            let field = decode_field(&c.target_field, "cast target")?;
            let format_options = match pb::CastFormat::try_from(c.format) {
                Ok(pb::CastFormat::DataFusionDefault) => DEFAULT_FORMAT_OPTIONS,
                Ok(pb::CastFormat::ArrowDefault) => Default::default(),
                Err(_) => {
                    return Err(EmberError::internal(format!(
                        "a cast with unknown format options {}",
                        c.format
                    )))
                }
            };
            let options = Some(CastOptions {
                safe: c.safe,
                format_options,
            });
            if c.explicit_target {
                Arc::new(CastExpr::new_with_target_field(inner, field, options))
            } else {
                Arc::new(CastExpr::new(inner, field.data_type().clone(), options))
            }
        }
        E::TryCast(c) => {
            let inner = child(&c.expr, "try_cast", input_schema)?;
            let field = decode_field(&c.target_field, "try_cast target")?;
            if c.explicit_target {
                Arc::new(TryCastExpr::new_with_target_field(inner, field))
            } else {
                Arc::new(TryCastExpr::new(inner, field.data_type().clone()))
            }
        }
        E::Not(u) => Arc::new(NotExpr::new(child(&u.expr, "NOT", input_schema)?)),
        E::Negative(u) => Arc::new(NegativeExpr::new(child(&u.expr, "negation", input_schema)?)),
        E::IsNull(u) => Arc::new(IsNullExpr::new(child(&u.expr, "IS NULL", input_schema)?)),
        E::IsNotNull(u) => Arc::new(IsNotNullExpr::new(child(
            &u.expr,
            "IS NOT NULL",
            input_schema,
        )?)),
        E::Case(c) => {
            let base = c
                .base
                .as_ref()
                .map(|b| decode_expr(b, input_schema))
                .transpose()?;
            let when_then = c
                .when_then
                .iter()
                .map(|wt| match (&wt.when, &wt.then) {
                    (Some(w), Some(t)) => {
                        Ok((decode_expr(w, input_schema)?, decode_expr(t, input_schema)?))
                    }
                    _ => Err(EmberError::internal(
                        "an encoded CASE branch without its WHEN or THEN",
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            let else_expr = c
                .else_expr
                .as_ref()
                .map(|e| decode_expr(e, input_schema))
                .transpose()?;
            Arc::new(CaseExpr::try_new(base, when_then, else_expr)?)
        }
        E::InList(i) => {
            let value = child(&i.expr, "IN list", input_schema)?;
            let list = decode_all(&i.list, input_schema)?;
            in_list(value, list, &i.negated, input_schema)?
        }
        E::Like(l) => Arc::new(LikeExpr::new(
            l.negated,
            l.case_insensitive,
            child(&l.expr, "LIKE", input_schema)?,
            child(&l.pattern, "LIKE pattern", input_schema)?,
        )),
        E::ScalarFunction(f) => {
            let function = f.function.as_ref().ok_or_else(|| {
                EmberError::internal(format!("encoded call {} without its function", f.name))
            })?;
            Arc::new(ScalarFunctionExpr::new(
                &f.name,
                decode_scalar_udf(function)?,
                decode_all(&f.args, input_schema)?,
                decode_field(&f.return_field, "function return field")?,
                decode_config(&f.config)?,
            ))
        }
    })
}

fn encode_aggregate_udf(udaf: &AggregateUDF) -> Result<pb::AggregateUdfNode> {
    let inner = udaf.inner();
    let family = if inner.downcast_ref::<CheckedSum>().is_some() {
        pb::AggregateFamily::CheckedSum
    } else if inner.downcast_ref::<PickAggregate>().is_some() {
        pb::AggregateFamily::Pick
    } else {
        let stock = datafusion_functions_aggregate::all_default_aggregate_functions()
            .into_iter()
            .find(|f| f.name() == udaf.name());
        match stock {
            Some(f) if f.as_ref() == udaf => pb::AggregateFamily::DataFusion,
            _ => {
                return Err(EmberError::NotSupported(format!(
                    "encoding the aggregate function {} for an executor: it is neither one of \
                     DataFusion's default aggregates nor one of Ember's (first, last, max_by, \
                     min_by, checked sum)",
                    udaf.name()
                )))
            }
        }
    };
    Ok(pb::AggregateUdfNode {
        family: family as i32,
        name: udaf.name().to_string(),
    })
}

fn decode_aggregate_udf(node: &pb::AggregateUdfNode) -> Result<Arc<AggregateUDF>> {
    let family = pb::AggregateFamily::try_from(node.family).map_err(|_| {
        EmberError::internal(format!(
            "aggregate function {} of unknown family {}",
            node.name, node.family
        ))
    })?;
    let found = match family {
        pb::AggregateFamily::CheckedSum => Some(CheckedSum::udaf()),
        pb::AggregateFamily::Pick => PickAggregate::udaf_by_name(&node.name),
        pb::AggregateFamily::DataFusion => {
            datafusion_functions_aggregate::all_default_aggregate_functions()
                .into_iter()
                .find(|f| f.name() == node.name)
        }
    };
    found.ok_or_else(|| {
        EmberError::internal(format!(
            "no {family:?} aggregate function named {} on this executor",
            node.name
        ))
    })
}

/// Encodes an aggregate call of a hash aggregation (its FILTER travels with the operator).
pub fn encode_aggregate(expr: &AggregateFunctionExpr) -> Result<pb::AggregateExprNode> {
    let order_by = expr
        .order_bys()
        .iter()
        .map(|s| {
            Ok(pb::SortExprNode {
                expr: Some(encode_expr(&s.expr)?),
                descending: s.options.descending,
                nulls_first: s.options.nulls_first,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pb::AggregateExprNode {
        function: Some(encode_aggregate_udf(expr.fun())?),
        args: encode_all(&expr.expressions())?,
        name: expr.name().to_string(),
        distinct: expr.is_distinct(),
        ignore_nulls: expr.ignore_nulls(),
        reversed: expr.is_reversed(),
        order_by,
        human_display: expr.human_display().map(str::to_string),
        human_display_alias: expr.human_display_alias().map(str::to_string),
    })
}

/// Decodes an aggregate call over `input_schema` (the aggregation's input), rebuilt with
/// `AggregateExprBuilder` as the planner builds it.
pub fn decode_aggregate(
    node: &pb::AggregateExprNode,
    input_schema: &SchemaRef,
) -> Result<Arc<AggregateFunctionExpr>> {
    let function = node.function.as_ref().ok_or_else(|| {
        EmberError::internal(format!(
            "encoded aggregate {} without its function",
            node.name
        ))
    })?;
    let order_by = node
        .order_by
        .iter()
        .map(|s| {
            let expr = s.expr.as_ref().ok_or_else(|| {
                EmberError::internal(format!(
                    "a sort key of {} without its expression",
                    node.name
                ))
            })?;
            Ok(PhysicalSortExpr::new(
                decode_expr(expr, input_schema)?,
                arrow::compute::SortOptions {
                    descending: s.descending,
                    nulls_first: s.nulls_first,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut builder = AggregateExprBuilder::new(
        decode_aggregate_udf(function)?,
        decode_all(&node.args, input_schema)?,
    )
    .schema(Arc::clone(input_schema))
    .alias(node.name.clone())
    .with_distinct(node.distinct)
    .with_ignore_nulls(node.ignore_nulls)
    .with_reversed(node.reversed)
    .order_by(order_by);
    if let Some(display) = &node.human_display {
        builder = builder.human_display(display.clone());
    }
    if let Some(alias) = &node.human_display_alias {
        builder = builder.human_display_alias(alias.clone());
    }
    Ok(Arc::new(builder.build()?))
}

fn encode_bound(bound: &WindowFrameBound) -> Result<pb::FrameBoundNode> {
    Ok(match bound {
        WindowFrameBound::Preceding(v) => pb::FrameBoundNode {
            kind: pb::BoundKind::Preceding as i32,
            value: encode_scalar(v)?,
        },
        WindowFrameBound::CurrentRow => pb::FrameBoundNode {
            kind: pb::BoundKind::CurrentRow as i32,
            value: Vec::new(),
        },
        WindowFrameBound::Following(v) => pb::FrameBoundNode {
            kind: pb::BoundKind::Following as i32,
            value: encode_scalar(v)?,
        },
    })
}

fn decode_bound(node: &Option<pb::FrameBoundNode>, which: &str) -> Result<WindowFrameBound> {
    let Some(node) = node else {
        return Err(EmberError::internal(format!(
            "an encoded window frame without its {which} bound"
        )));
    };
    let value = || -> Result<ScalarValue> { decode_scalar(&node.value) };
    Ok(match pb::BoundKind::try_from(node.kind) {
        Ok(pb::BoundKind::Preceding) => WindowFrameBound::Preceding(value()?),
        Ok(pb::BoundKind::CurrentRow) => WindowFrameBound::CurrentRow,
        Ok(pb::BoundKind::Following) => WindowFrameBound::Following(value()?),
        Err(_) => {
            return Err(EmberError::internal(format!(
                "a window frame {which} bound of unknown kind {}",
                node.kind
            )))
        }
    })
}

fn encode_frame(frame: &WindowFrame) -> Result<pb::WindowFrameNode> {
    let units = match frame.units {
        WindowFrameUnits::Rows => pb::FrameUnits::Rows,
        WindowFrameUnits::Range => pb::FrameUnits::Range,
        WindowFrameUnits::Groups => pb::FrameUnits::Groups,
    };
    Ok(pb::WindowFrameNode {
        units: units as i32,
        start: Some(encode_bound(&frame.start_bound)?),
        end: Some(encode_bound(&frame.end_bound)?),
    })
}

fn decode_frame(node: &pb::WindowFrameNode) -> Result<WindowFrame> {
    let units = match pb::FrameUnits::try_from(node.units) {
        Ok(pb::FrameUnits::Rows) => WindowFrameUnits::Rows,
        Ok(pb::FrameUnits::Range) => WindowFrameUnits::Range,
        Ok(pb::FrameUnits::Groups) => WindowFrameUnits::Groups,
        Err(_) => {
            return Err(EmberError::internal(format!(
                "a window frame of unknown units {}",
                node.units
            )))
        }
    };
    Ok(WindowFrame::new_bounds(
        units,
        decode_bound(&node.start, "start")?,
        decode_bound(&node.end, "end")?,
    ))
}

fn encode_window_udf(udwf: &WindowUDF) -> Result<String> {
    let stock = datafusion_functions_window::all_default_window_functions()
        .into_iter()
        .find(|f| f.name() == udwf.name());
    match stock {
        Some(f) if f.as_ref() == udwf => Ok(udwf.name().to_string()),
        _ => Err(EmberError::NotSupported(format!(
            "encoding the window function {} for an executor: it is not one of DataFusion's \
             default window functions",
            udwf.name()
        ))),
    }
}

/// Encodes one window function call of a window operator.
pub fn encode_window_call(call: &WindowFunctionCall) -> Result<pb::WindowCallNode> {
    let function = match &call.function {
        WindowFunctionDefinition::WindowUDF(udwf) => {
            pb::window_function_node::Function::Window(encode_window_udf(udwf)?)
        }
        WindowFunctionDefinition::AggregateUDF(udaf) => {
            pb::window_function_node::Function::Aggregate(encode_aggregate_udf(udaf)?)
        }
    };
    Ok(pb::WindowCallNode {
        function: Some(pb::WindowFunctionNode {
            function: Some(function),
        }),
        args: encode_all(&call.args)?,
        name: call.name.clone(),
        frame: Some(encode_frame(&call.frame)?),
        ignore_nulls: call.ignore_nulls,
        distinct: call.distinct,
        filter: call.filter.as_ref().map(encode_expr).transpose()?,
    })
}

/// Decodes one window function call over `input_schema` (the window operator's input).
pub fn decode_window_call(
    node: &pb::WindowCallNode,
    input_schema: &SchemaRef,
) -> Result<WindowFunctionCall> {
    let missing = |what: &str| {
        EmberError::internal(format!(
            "encoded window call {} without its {what}",
            node.name
        ))
    };
    let function = node
        .function
        .as_ref()
        .and_then(|f| f.function.as_ref())
        .ok_or_else(|| missing("function"))?;
    let function = match function {
        pb::window_function_node::Function::Window(name) => {
            let udwf = datafusion_functions_window::all_default_window_functions()
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    EmberError::internal(format!(
                        "no window function named {name} on this executor"
                    ))
                })?;
            WindowFunctionDefinition::WindowUDF(udwf)
        }
        pb::window_function_node::Function::Aggregate(udaf) => {
            WindowFunctionDefinition::AggregateUDF(decode_aggregate_udf(udaf)?)
        }
    };
    let frame = node.frame.as_ref().ok_or_else(|| missing("frame"))?;
    Ok(WindowFunctionCall {
        function,
        args: decode_all(&node.args, input_schema)?,
        name: node.name.clone(),
        frame: decode_frame(frame)?,
        ignore_nulls: node.ignore_nulls,
        distinct: node.distinct,
        filter: node
            .filter
            .as_ref()
            .map(|f| decode_expr(f, input_schema))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, ArrayRef, Int64Array, StringArray};
    use arrow::compute::concat_batches;
    use arrow::datatypes::{DataType, Field};
    use arrow::record_batch::RecordBatch;
    use datafusion_physical_expr::expressions::{
        binary, case, cast, col, is_not_null, is_null, like, lit, negative, not, try_cast, NoOp,
    };
    use ember_core::TaskContext;
    use ember_physical::expressions::evaluate;
    use ember_physical::operators::sort::SortKey;
    use ember_physical::operators::values::ValuesExec;
    use ember_physical::operators::window::WindowExec;
    use ember_physical::ExecutionPlan;
    use ember_sql::functions::aggregate::Pick;
    use ember_sql::functions::ansi::{self, ArithOp, Overflow};
    use prost::Message;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]))
    }

    fn batch(a: Vec<Option<i64>>, s: Vec<Option<&str>>) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(a)),
                Arc::new(StringArray::from(s)),
            ],
        )
        .unwrap()
    }

    fn sample() -> RecordBatch {
        batch(
            vec![Some(1), Some(2), None, Some(2)],
            vec![Some("apple"), Some("Banana"), None, Some("12")],
        )
    }

    /// Through the encoder, protobuf bytes and the decoder; the result must display the same.
    fn round_trip(expr: &Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        let bytes = encode_expr(expr).unwrap().encode_to_vec();
        let node = pb::PhysicalExprNode::decode(bytes.as_slice()).unwrap();
        let back = decode_expr(&node, &schema()).unwrap();
        assert_eq!(back.to_string(), expr.to_string());
        back
    }

    /// Protobuf decoders refuse messages nested more than 100 levels: a 1,000-level
    /// expression travels in chunks and comes back whole.
    #[test]
    fn deep_expressions_travel_in_chunks() {
        // Ember's threads that encode, decode and evaluate have big stacks; so does this one.
        std::thread::Builder::new()
            .stack_size(ember_common::THREAD_STACK_BYTES)
            .spawn(deep_expression_round_trip)
            .unwrap()
            .join()
            .unwrap();
    }

    fn deep_expression_round_trip() {
        let mut deep: Arc<dyn PhysicalExpr> = Arc::new(Column::new("a", 0));
        for _ in 0..1_000 {
            deep = Arc::new(NegativeExpr::new(deep));
        }
        let encoded = encode_expr(&deep).unwrap();
        let bytes = encoded.encode_to_vec();
        let node = pb::PhysicalExprNode::decode(bytes.as_slice()).unwrap();
        let back = decode_expr(&node, &schema()).unwrap();
        let (before, after) = (
            evaluate(&deep, &sample()).unwrap(),
            evaluate(&back, &sample()).unwrap(),
        );
        assert_eq!(before.as_ref(), after.as_ref());
        assert_eq!(ENCODE_DEPTH.with(|d| d.get()), 0);
    }

    /// Round trips `expr` and checks both evaluate alike on `sample()`; returns the values.
    fn same_values(expr: Arc<dyn PhysicalExpr>) -> ArrayRef {
        let back = round_trip(&expr);
        let before = evaluate(&expr, &sample()).unwrap();
        let after = evaluate(&back, &sample()).unwrap();
        assert_eq!(before.as_ref(), after.as_ref(), "{expr}");
        after
    }

    fn a() -> Arc<dyn PhysicalExpr> {
        col("a", &schema()).unwrap()
    }

    fn s() -> Arc<dyn PhysicalExpr> {
        col("s", &schema()).unwrap()
    }

    fn call(udf: Arc<ScalarUDF>, args: Vec<Arc<dyn PhysicalExpr>>) -> Arc<dyn PhysicalExpr> {
        Arc::new(
            ScalarFunctionExpr::try_new(udf, args, &schema(), Arc::new(ConfigOptions::default()))
                .unwrap(),
        )
    }

    #[test]
    fn datafusion_expressions_round_trip() {
        let sch = schema();
        let plus = binary(a(), Operator::Plus, lit(10i64), &sch).unwrap();
        let out = same_values(Arc::clone(&plus));
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(11), Some(12), None, Some(12)])
        );
        same_values(binary(plus, Operator::Gt, lit(11i64), &sch).unwrap());
        same_values(cast(a(), &sch, DataType::Utf8).unwrap());
        same_values(try_cast(s(), &sch, DataType::Int32).unwrap());
        same_values(not(binary(a(), Operator::Eq, lit(2i64), &sch).unwrap()).unwrap());
        same_values(negative(a(), &sch).unwrap());
        same_values(is_null(s()).unwrap());
        same_values(is_not_null(a()).unwrap());
        let searched = case(
            None,
            vec![(
                binary(a(), Operator::Eq, lit(1i64), &sch).unwrap(),
                lit("one"),
            )],
            Some(lit("other")),
        )
        .unwrap();
        let out = same_values(searched);
        assert_eq!(
            out.as_ref(),
            &StringArray::from(vec!["one", "other", "other", "other"])
        );
        same_values(case(Some(a()), vec![(lit(2i64), lit("two"))], None).unwrap());
        let list = in_list(a(), vec![lit(2i64), lit(5i64)], &true, &sch).unwrap();
        let out = same_values(list);
        assert_eq!(out.null_count(), 1);
        same_values(like(false, true, s(), lit("b%"), &sch).unwrap());
        same_values(like(true, false, s(), lit("%p%"), &sch).unwrap());
        same_values(lit(ScalarValue::Utf8(None)));
        // The overflow flag travels although BinaryExpr has no getter for it.
        let checked: Arc<dyn PhysicalExpr> = Arc::new(
            BinaryExpr::new(a(), Operator::Plus, lit(i64::MAX)).with_fail_on_overflow(true),
        );
        let back = round_trip(&checked);
        assert!(evaluate(&back, &sample()).is_err());
    }

    #[test]
    fn datafusion_functions_round_trip() {
        let upper = datafusion_functions::string::upper();
        let out = same_values(call(upper, vec![s()]));
        assert_eq!(
            out.as_ref(),
            &StringArray::from(vec![Some("APPLE"), Some("BANANA"), None, Some("12")])
        );
        let back = round_trip(&call(datafusion_functions::math::abs(), vec![a()]));
        let node = encode_expr(&back).unwrap();
        let Some(E::ScalarFunction(f)) = node.expr else {
            panic!("not a function: {node:?}")
        };
        assert_eq!(
            f.function.unwrap().family,
            pb::ScalarFamily::DataFusion as i32
        );
    }

    #[test]
    fn ember_functions_round_trip() {
        let substr = ember_sql::functions::string::functions()
            .into_iter()
            .find(|f| datafusion_expr::ScalarUDFImpl::name(f) == "substr")
            .unwrap()
            .into_udf();
        let out = same_values(call(substr, vec![s(), lit(2i32), lit(3i32)]));
        assert_eq!(
            out.as_ref(),
            &StringArray::from(vec![Some("ppl"), Some("ana"), None, Some("2")])
        );
        let divisor = call(CheckDivisor::udf(), vec![a()]);
        same_values(divisor);

        // ANSI addition still fails on overflow after the trip; the legacy one wraps.
        let add = ansi::arithmetic(ArithOp::Add, Overflow::Fail).into_udf();
        let checked = call(add, vec![a(), lit(i64::MAX)]);
        let back = round_trip(&checked);
        let err = evaluate(&back, &sample()).unwrap_err().to_string();
        assert!(err.contains("ARITHMETIC_OVERFLOW"), "{err}");
        let try_add = ansi::arithmetic(ArithOp::Add, Overflow::Null).into_udf();
        let out = same_values(call(try_add, vec![a(), lit(i64::MAX - 1)]));
        assert_eq!(
            out.as_ref(),
            &Int64Array::from(vec![Some(i64::MAX), None, None, None])
        );

        // Explicit casts keep their ANSI mode.
        let target = lit(ScalarValue::Int32(None));
        let strict = call(
            ansi::spark_cast(true).into_udf(),
            vec![s(), Arc::clone(&target)],
        );
        let back = round_trip(&strict);
        let err = evaluate(&back, &sample()).unwrap_err().to_string();
        assert!(err.contains("apple"), "{err}");
        let lenient = call(ansi::spark_cast(false).into_udf(), vec![s(), target]);
        let out = same_values(lenient);
        assert_eq!(
            out.as_ref(),
            &arrow::array::Int32Array::from(vec![None, None, None, Some(12)])
        );
    }

    #[test]
    fn unknown_expressions_are_named_in_the_error() {
        let noop: Arc<dyn PhysicalExpr> = Arc::new(NoOp::new());
        let err = encode_expr(&noop).unwrap_err();
        assert!(matches!(err, EmberError::NotSupported(_)), "{err}");
        assert!(err.to_string().contains("NoOp"), "{err}");
        let node = pb::PhysicalExprNode {
            expr: Some(E::Column(pb::ColumnNode {
                name: "x".to_string(),
                index: 7,
            })),
        };
        let err = decode_expr(&node, &schema()).unwrap_err().to_string();
        assert!(err.contains("x@7"), "{err}");
    }

    fn aggregate(udaf: Arc<AggregateUDF>, name: &str, distinct: bool) -> AggregateFunctionExpr {
        AggregateExprBuilder::new(udaf, vec![a()])
            .schema(schema())
            .alias(name)
            .with_distinct(distinct)
            .build()
            .unwrap()
    }

    fn run_aggregate(expr: &AggregateFunctionExpr, input: &RecordBatch) -> Result<ScalarValue> {
        let mut acc = expr.create_accumulator()?;
        let args = expr
            .expressions()
            .iter()
            .map(|e| evaluate(e, input))
            .collect::<Result<Vec<_>>>()?;
        acc.update_batch(&args)?;
        Ok(acc.evaluate()?)
    }

    fn aggregate_round_trip(expr: &AggregateFunctionExpr) -> Arc<AggregateFunctionExpr> {
        let bytes = encode_aggregate(expr).unwrap().encode_to_vec();
        let node = pb::AggregateExprNode::decode(bytes.as_slice()).unwrap();
        let back = decode_aggregate(&node, &schema()).unwrap();
        assert_eq!(back.name(), expr.name());
        assert_eq!(back.fun(), expr.fun());
        assert_eq!(back.is_distinct(), expr.is_distinct());
        assert_eq!(back.field(), expr.field());
        back
    }

    #[test]
    fn aggregates_round_trip() {
        use datafusion_functions_aggregate::{count::count_udaf, sum::sum_udaf};
        let cases = [
            (
                aggregate(sum_udaf(), "sum(a)", false),
                ScalarValue::Int64(Some(5)),
            ),
            (
                aggregate(count_udaf(), "count(DISTINCT a)", true),
                ScalarValue::Int64(Some(2)),
            ),
            (
                aggregate(
                    PickAggregate::udaf(Pick::First, true),
                    "first(a, true)",
                    false,
                ),
                ScalarValue::Int64(Some(1)),
            ),
            (
                aggregate(CheckedSum::udaf(), "sum(a)", false),
                ScalarValue::Int64(Some(5)),
            ),
        ];
        let input = batch(
            vec![None, Some(1), Some(2), Some(2)],
            vec![None, None, None, None],
        );
        for (expr, expected) in &cases {
            let back = aggregate_round_trip(expr);
            assert_eq!(
                &run_aggregate(&back, &input).unwrap(),
                expected,
                "{}",
                expr.name()
            );
        }
        // The checked sum stays checked (it is named "sum", like the stock one that wraps).
        let node = encode_aggregate(&cases[3].0).unwrap();
        assert_eq!(
            node.function.map(|f| f.family),
            Some(pb::AggregateFamily::CheckedSum as i32)
        );
        let back = aggregate_round_trip(&cases[3].0);
        let big = batch(vec![Some(i64::MAX), Some(1)], vec![None, None]);
        let err = run_aggregate(&back, &big).unwrap_err().to_string();
        assert!(err.contains("ARITHMETIC_OVERFLOW"), "{err}");
        assert!(run_aggregate(&cases[0].0, &big).is_ok());
    }

    fn window_output(calls: Vec<WindowFunctionCall>) -> Vec<ArrayRef> {
        let input = batch(
            vec![Some(3), Some(1), None, Some(4), Some(1)],
            vec![None, None, None, None, None],
        );
        let source = Arc::new(ValuesExec::new(schema(), vec![input]));
        let order_by = vec![SortKey {
            expr: s(),
            ascending: true,
            nulls_first: true,
        }];
        let exec = WindowExec::try_new(Vec::new(), order_by, calls, source).unwrap();
        let out = exec
            .execute(0, &TaskContext::for_tests())
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap();
        let all = concat_batches(&exec.schema(), &out).unwrap();
        all.columns()[2..].to_vec()
    }

    #[test]
    fn window_calls_round_trip() {
        let row_number = WindowFunctionCall {
            function: WindowFunctionDefinition::WindowUDF(
                datafusion_functions_window::row_number::row_number_udwf(),
            ),
            args: Vec::new(),
            name: "row_number()".to_string(),
            frame: WindowFrame::new(Some(false)),
            ignore_nulls: false,
            distinct: false,
            filter: None,
        };
        let sum = WindowFunctionCall {
            function: WindowFunctionDefinition::AggregateUDF(
                datafusion_functions_aggregate::sum::sum_udaf(),
            ),
            args: vec![a()],
            name: "sum(a) ROWS 1 PRECEDING".to_string(),
            frame: WindowFrame::new_bounds(
                WindowFrameUnits::Rows,
                WindowFrameBound::Preceding(ScalarValue::UInt64(Some(1))),
                WindowFrameBound::CurrentRow,
            ),
            ignore_nulls: false,
            distinct: false,
            filter: Some(is_not_null(a()).unwrap()),
        };
        let calls = vec![row_number, sum];
        let back = calls
            .iter()
            .map(|c| {
                let bytes = encode_window_call(c).unwrap().encode_to_vec();
                let node = pb::WindowCallNode::decode(bytes.as_slice()).unwrap();
                decode_window_call(&node, &schema()).unwrap()
            })
            .collect::<Vec<_>>();
        for (before, after) in calls.iter().zip(&back) {
            assert_eq!(after.name, before.name);
            assert_eq!(after.frame, before.frame);
            assert_eq!(after.function, before.function);
            assert_eq!(
                after.filter.as_ref().map(|f| f.to_string()),
                before.filter.as_ref().map(|f| f.to_string())
            );
        }
        let expected = window_output(calls);
        let got = window_output(back);
        assert_eq!(got, expected);
        assert_eq!(
            got[0].as_ref(),
            &arrow::array::UInt64Array::from(vec![1, 2, 3, 4, 5])
        );
        assert_eq!(
            got[1].as_ref(),
            &Int64Array::from(vec![Some(3), Some(4), Some(1), Some(4), Some(5)])
        );
    }
}
