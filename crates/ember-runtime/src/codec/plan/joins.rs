//! Joins: `HashJoinExec` (keys, residual filter, join type, build side, mode) and
//! `NestedLoopJoinExec` (residual filter, join type).

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion_common::JoinType;
use ember_common::{EmberError, Result};
use ember_physical::operators::hash_join::{BuildSide, HashJoinExec, JoinMode};
use ember_physical::operators::nested_loop_join::NestedLoopJoinExec;
use ember_physical::ExecutionPlan;

use crate::codec::expr;

use super::helpers::{
    decode_child, decode_optional_expr, decode_required_expr, downcast, encode_two_children,
};
use super::pb;
use super::pb::plan_node::Node;

/// `HashJoinExec` as its [`pb::HashJoinNode`].
pub(super) fn encode_hash_join(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let join = downcast::<HashJoinExec>(plan)?;
    let (left, right) = encode_two_children(plan)?;
    Ok(Node::HashJoin(Box::new(pb::HashJoinNode {
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
    })))
}

/// The `HashJoinExec` of a [`pb::HashJoinNode`].
pub(super) fn decode_hash_join(join: &pb::HashJoinNode) -> Result<Arc<dyn ExecutionPlan>> {
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
    Ok(Arc::new(HashJoinExec::try_new(
        left, right, on, filter, join_type, build_side, mode,
    )?))
}

/// `NestedLoopJoinExec` as its [`pb::NestedLoopJoinNode`].
pub(super) fn encode_nested_loop_join(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let join = downcast::<NestedLoopJoinExec>(plan)?;
    let (left, right) = encode_two_children(plan)?;
    Ok(Node::NestedLoopJoin(Box::new(pb::NestedLoopJoinNode {
        left,
        right,
        filter: join.filter().map(expr::encode_expr).transpose()?,
        join_type: encode_join_type(join.join_type()),
    })))
}

/// The `NestedLoopJoinExec` of a [`pb::NestedLoopJoinNode`].
pub(super) fn decode_nested_loop_join(
    join: &pb::NestedLoopJoinNode,
) -> Result<Arc<dyn ExecutionPlan>> {
    let left = decode_child(&join.left, "a nested loop join's left input")?;
    let right = decode_child(&join.right, "a nested loop join's right input")?;
    let join_type = decode_join_type(join.join_type)?;
    let filter = decode_optional_expr(
        &join.filter,
        &joined_schema(&left.schema(), &right.schema(), join_type),
    )?;
    Ok(Arc::new(NestedLoopJoinExec::try_new(
        left, right, filter, join_type,
    )?))
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
