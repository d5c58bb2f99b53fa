//! Exchanges and shuffle reads, with the partitioning they produce.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{Result, ShuffleId};
use ember_physical::operators::exchange::{ExchangeExec, ShuffleReadExec};
use ember_physical::{ExecutionPlan, Partitioning};

use crate::codec::arrow as ipc;

use super::helpers::{
    decode_child, decode_exprs, downcast, encode_exprs, encode_only_child, required, to_usize,
};
use super::pb;
use super::pb::plan_node::Node;

/// `ExchangeExec` as its [`pb::ExchangeNode`].
pub(super) fn encode_exchange(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let exchange = downcast::<ExchangeExec>(plan)?;
    Ok(Node::Exchange(Box::new(pb::ExchangeNode {
        input: encode_only_child(plan)?,
        partitioning: Some(encode_partitioning(exchange.partitioning())?),
    })))
}

/// The `ExchangeExec` of a [`pb::ExchangeNode`].
pub(super) fn decode_exchange(exchange: &pb::ExchangeNode) -> Result<Arc<dyn ExecutionPlan>> {
    let input = decode_child(&exchange.input, "an exchange's input")?;
    let partitioning = decode_partitioning(&exchange.partitioning, &input.schema())?;
    Ok(Arc::new(ExchangeExec::new(input, partitioning)))
}

/// `ShuffleReadExec` as its [`pb::ShuffleReadNode`].
pub(super) fn encode_shuffle_read(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let read = downcast::<ShuffleReadExec>(plan)?;
    Ok(Node::ShuffleRead(Box::new(pb::ShuffleReadNode {
        shuffle_id: read.shuffle_id().0,
        schema: ipc::encode_schema(&plan.schema())?,
        partitioning: Some(encode_partitioning(read.partitioning())?),
    })))
}

/// The `ShuffleReadExec` of a [`pb::ShuffleReadNode`].
pub(super) fn decode_shuffle_read(read: &pb::ShuffleReadNode) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = ipc::decode_schema(&read.schema)?;
    let partitioning = decode_partitioning(&read.partitioning, &schema)?;
    Ok(Arc::new(ShuffleReadExec::new(
        ShuffleId(read.shuffle_id),
        schema,
        partitioning,
    )))
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
