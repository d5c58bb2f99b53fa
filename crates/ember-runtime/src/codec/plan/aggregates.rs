//! Aggregations: `HashAggregateExec` in every mode, and `WindowExec` with its partition
//! keys, order keys and window calls.

use std::sync::Arc;

use ember_common::{EmberError, Result};
use ember_physical::operators::hash_aggregate::{AggregateMode, HashAggregateExec};
use ember_physical::operators::window::WindowExec;
use ember_physical::ExecutionPlan;

use crate::codec::arrow as ipc;
use crate::codec::expr;

use super::helpers::{
    decode_child, decode_exprs, decode_named, decode_optional_expr, decode_sort_keys, downcast,
    encode_exprs, encode_named, encode_only_child, encode_sort_keys,
};
use super::pb;
use super::pb::plan_node::Node;

/// `HashAggregateExec` as its [`pb::HashAggregateNode`].
pub(super) fn encode_hash_aggregate(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
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
    Ok(Node::HashAggregate(Box::new(pb::HashAggregateNode {
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
    })))
}

/// The `HashAggregateExec` of a [`pb::HashAggregateNode`].
pub(super) fn decode_hash_aggregate(
    aggregate: &pb::HashAggregateNode,
) -> Result<Arc<dyn ExecutionPlan>> {
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
        Ok(Arc::new(HashAggregateExec::try_new_final(
            groups,
            aggregates,
            raw_input_schema,
            input,
        )?))
    } else {
        let filters = aggregate
            .filters
            .iter()
            .map(|f| decode_optional_expr(&f.expr, &input_schema))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(HashAggregateExec::try_new(
            mode, groups, aggregates, filters, input,
        )?))
    }
}

/// `WindowExec` as its [`pb::WindowNode`].
pub(super) fn encode_window(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let window = downcast::<WindowExec>(plan)?;
    Ok(Node::Window(Box::new(pb::WindowNode {
        input: encode_only_child(plan)?,
        partition_by: encode_exprs(window.partition_by())?,
        order_by: encode_sort_keys(window.order_by())?,
        calls: window
            .calls()
            .iter()
            .map(expr::encode_window_call)
            .collect::<Result<Vec<_>>>()?,
    })))
}

/// The `WindowExec` of a [`pb::WindowNode`].
pub(super) fn decode_window(window: &pb::WindowNode) -> Result<Arc<dyn ExecutionPlan>> {
    let input = decode_child(&window.input, "a window operator's input")?;
    let schema = input.schema();
    let partition_by = decode_exprs(&window.partition_by, &schema)?;
    let order_by = decode_sort_keys(&window.order_by, &schema)?;
    let calls = window
        .calls
        .iter()
        .map(|c| expr::decode_window_call(c, &schema))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(WindowExec::try_new(
        partition_by,
        order_by,
        calls,
        input,
    )?))
}
