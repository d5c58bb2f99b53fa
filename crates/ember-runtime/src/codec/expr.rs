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
#[path = "expr_pb.rs"]
pub mod pb;

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
#[path = "expr_tests.rs"]
mod tests;
