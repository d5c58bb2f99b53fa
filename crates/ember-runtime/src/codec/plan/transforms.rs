//! Operators that reshape their input's rows: filter, generate, project, sort (and top-k),
//! limit and union.

use std::sync::Arc;

use ember_common::logical::GeneratorKind;
use ember_common::{EmberError, Result};
use ember_physical::operators::filter::FilterExec;
use ember_physical::operators::generate::GenerateExec;
use ember_physical::operators::limit::LimitExec;
use ember_physical::operators::projection::ProjectExec;
use ember_physical::operators::sort::SortExec;
use ember_physical::operators::union::UnionExec;
use ember_physical::ExecutionPlan;

use crate::codec::arrow as ipc;
use crate::codec::expr;

use super::helpers::{
    decode_child, decode_exprs, decode_named, decode_required_expr, decode_sort_keys, downcast,
    encode_exprs, encode_named, encode_only_child, encode_sort_keys, to_usize,
};
use super::pb;
use super::pb::plan_node::Node;
use super::{decode_plan, encode_plan};

/// `FilterExec` as its [`pb::FilterNode`].
pub(super) fn encode_filter(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let filter = downcast::<FilterExec>(plan)?;
    Ok(Node::Filter(Box::new(pb::FilterNode {
        input: encode_only_child(plan)?,
        predicate: Some(expr::encode_expr(filter.predicate())?),
    })))
}

/// The `FilterExec` of a [`pb::FilterNode`].
pub(super) fn decode_filter(filter: &pb::FilterNode) -> Result<Arc<dyn ExecutionPlan>> {
    let input = decode_child(&filter.input, "a filter's input")?;
    let predicate =
        decode_required_expr(&filter.predicate, &input.schema(), "a filter's predicate")?;
    Ok(Arc::new(FilterExec::new(predicate, input)))
}

/// `GenerateExec` as its [`pb::GenerateNode`].
pub(super) fn encode_generate(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let generate = downcast::<GenerateExec>(plan)?;
    let (kind, stack_rows) = match generate.kind() {
        GeneratorKind::Explode => (pb::GENERATOR_EXPLODE, 0),
        GeneratorKind::PosExplode => (pb::GENERATOR_POSEXPLODE, 0),
        GeneratorKind::Inline => (pb::GENERATOR_INLINE, 0),
        GeneratorKind::Stack { rows } => (pb::GENERATOR_STACK, rows as u64),
    };
    Ok(Node::Generate(Box::new(pb::GenerateNode {
        input: encode_only_child(plan)?,
        kind,
        stack_rows,
        args: encode_exprs(generate.args())?,
        outer: generate.outer(),
        schema: ipc::encode_schema(&plan.schema())?,
    })))
}

/// The `GenerateExec` of a [`pb::GenerateNode`].
pub(super) fn decode_generate(generate: &pb::GenerateNode) -> Result<Arc<dyn ExecutionPlan>> {
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
    Ok(Arc::new(GenerateExec::new(
        kind,
        args,
        generate.outer,
        ipc::decode_schema(&generate.schema)?,
        input,
    )))
}

/// `ProjectExec` as its [`pb::ProjectNode`].
pub(super) fn encode_project(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let project = downcast::<ProjectExec>(plan)?;
    Ok(Node::Project(Box::new(pb::ProjectNode {
        input: encode_only_child(plan)?,
        exprs: encode_named(project.exprs())?,
    })))
}

/// The `ProjectExec` of a [`pb::ProjectNode`].
pub(super) fn decode_project(project: &pb::ProjectNode) -> Result<Arc<dyn ExecutionPlan>> {
    let input = decode_child(&project.input, "a projection's input")?;
    let exprs = decode_named(&project.exprs, &input.schema(), "a projected expression")?;
    Ok(Arc::new(ProjectExec::try_new(exprs, input)?))
}

/// `SortExec` as its [`pb::SortNode`].
pub(super) fn encode_sort(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let sort = downcast::<SortExec>(plan)?;
    Ok(Node::Sort(Box::new(pb::SortNode {
        input: encode_only_child(plan)?,
        keys: encode_sort_keys(sort.keys())?,
        fetch: sort.fetch().map(|f| f as u64),
    })))
}

/// The `SortExec` of a [`pb::SortNode`].
pub(super) fn decode_sort(sort: &pb::SortNode) -> Result<Arc<dyn ExecutionPlan>> {
    let input = decode_child(&sort.input, "a sort's input")?;
    let keys = decode_sort_keys(&sort.keys, &input.schema())?;
    let fetch = sort.fetch.map(|f| to_usize(f, "top-k")).transpose()?;
    Ok(Arc::new(SortExec::new(keys, fetch, input)))
}

/// `LimitExec` as its [`pb::LimitNode`].
pub(super) fn encode_limit(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let limit = downcast::<LimitExec>(plan)?;
    Ok(Node::Limit(Box::new(pb::LimitNode {
        input: encode_only_child(plan)?,
        skip: limit.skip() as u64,
        fetch: limit.fetch().map(|f| f as u64),
    })))
}

/// The `LimitExec` of a [`pb::LimitNode`].
pub(super) fn decode_limit(limit: &pb::LimitNode) -> Result<Arc<dyn ExecutionPlan>> {
    let input = decode_child(&limit.input, "a limit's input")?;
    let fetch = limit.fetch.map(|f| to_usize(f, "limit")).transpose()?;
    Ok(Arc::new(LimitExec::new(
        to_usize(limit.skip, "offset")?,
        fetch,
        input,
    )))
}

/// `UnionExec` as its [`pb::UnionNode`].
pub(super) fn encode_union(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    Ok(Node::Union(Box::new(pb::UnionNode {
        inputs: plan
            .children()
            .iter()
            .map(encode_plan)
            .collect::<Result<Vec<_>>>()?,
        schema: ipc::encode_schema(&plan.schema())?,
    })))
}

/// The `UnionExec` of a [`pb::UnionNode`].
pub(super) fn decode_union(union: &pb::UnionNode) -> Result<Arc<dyn ExecutionPlan>> {
    let inputs = union
        .inputs
        .iter()
        .map(decode_plan)
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(UnionExec::try_new(
        inputs,
        ipc::decode_schema(&union.schema)?,
    )?))
}
