//! What every operator's encoder and decoder share: downcasting, children, expression
//! lists, named expressions, sort keys and required fields.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{EmberError, Result};
use ember_physical::expressions::PhysicalExprRef;
use ember_physical::operators::sort::SortKey;
use ember_physical::ExecutionPlan;

use crate::codec::expr;

use super::{decode_plan, encode_plan, pb};

/// Downcasts `plan` to operator `T`.
pub(super) fn downcast<T: 'static>(plan: &Arc<dyn ExecutionPlan>) -> Result<&T> {
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
pub(super) fn encode_only_child(
    plan: &Arc<dyn ExecutionPlan>,
) -> Result<Option<Box<pb::PlanNode>>> {
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
pub(super) type ChildNode = Option<Box<pb::PlanNode>>;

/// The two children of a join, encoded.
pub(super) fn encode_two_children(plan: &Arc<dyn ExecutionPlan>) -> Result<(ChildNode, ChildNode)> {
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

pub(super) fn encode_exprs(exprs: &[PhysicalExprRef]) -> Result<Vec<expr::pb::PhysicalExprNode>> {
    exprs.iter().map(expr::encode_expr).collect()
}

pub(super) fn encode_named(exprs: &[(PhysicalExprRef, String)]) -> Result<Vec<pb::NamedExpr>> {
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

pub(super) fn encode_sort_keys(keys: &[SortKey]) -> Result<Vec<pb::SortKeyNode>> {
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

/// A required field, or an error naming the message and the field.
pub(super) fn required<'a, T>(value: &'a Option<T>, what: &str) -> Result<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| EmberError::internal(format!("plan fragment without {what}")))
}

pub(super) fn decode_child(
    node: &Option<Box<pb::PlanNode>>,
    what: &str,
) -> Result<Arc<dyn ExecutionPlan>> {
    decode_plan(required(node, what)?)
}

pub(super) fn decode_required_expr(
    node: &Option<expr::pb::PhysicalExprNode>,
    schema: &SchemaRef,
    what: &str,
) -> Result<PhysicalExprRef> {
    expr::decode_expr(required(node, what)?, schema)
}

pub(super) fn decode_optional_expr(
    node: &Option<expr::pb::PhysicalExprNode>,
    schema: &SchemaRef,
) -> Result<Option<PhysicalExprRef>> {
    node.as_ref()
        .map(|n| expr::decode_expr(n, schema))
        .transpose()
}

pub(super) fn decode_exprs(
    nodes: &[expr::pb::PhysicalExprNode],
    schema: &SchemaRef,
) -> Result<Vec<PhysicalExprRef>> {
    nodes.iter().map(|n| expr::decode_expr(n, schema)).collect()
}

pub(super) fn decode_named(
    nodes: &[pb::NamedExpr],
    schema: &SchemaRef,
    what: &str,
) -> Result<Vec<(PhysicalExprRef, String)>> {
    nodes
        .iter()
        .map(|n| Ok((decode_required_expr(&n.expr, schema, what)?, n.name.clone())))
        .collect()
}

pub(super) fn decode_sort_keys(
    nodes: &[pb::SortKeyNode],
    schema: &SchemaRef,
) -> Result<Vec<SortKey>> {
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

pub(super) fn to_usize(value: u64, what: &str) -> Result<usize> {
    usize::try_from(value)
        .map_err(|_| EmberError::internal(format!("{what} {value} does not fit this platform")))
}
