//! Leaves that produce rows: `ScanExec` with its whole file table, `CachedScanExec` with the
//! cached RDD's id and the fragment that computes it, and `ValuesExec` with its batches.

use std::sync::Arc;

use ember_common::{EmberError, Result};
use ember_physical::operators::cached_scan::CachedScanExec;
use ember_physical::operators::range::RangeExec;
use ember_physical::operators::scan::ScanExec;
use ember_physical::operators::values::ValuesExec;
use ember_physical::stages::PlanRdd;
use ember_physical::ExecutionPlan;

use crate::codec::arrow as ipc;

use super::encode_plan;
use super::helpers::{decode_child, decode_exprs, downcast, encode_exprs, required, to_usize};
use super::pb;
use super::pb::plan_node::Node;
use super::table::{decode_table, encode_table};

/// `ScanExec` as its [`pb::ScanNode`].
pub(super) fn encode_scan(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let scan = downcast::<ScanExec>(plan)?;
    Ok(Node::Scan(Box::new(pb::ScanNode {
        table_name: scan.table_name().to_string(),
        table: Some(encode_table(scan.table())?),
        projection: encode_projection(scan.projection()),
        filters: encode_exprs(scan.filters())?,
    })))
}

/// The `ScanExec` of a [`pb::ScanNode`].
pub(super) fn decode_scan(scan: &pb::ScanNode) -> Result<Arc<dyn ExecutionPlan>> {
    let table = Arc::new(decode_table(required(&scan.table, "a scan's table")?)?);
    let projection = decode_projection(&scan.projection)?;
    let schema = match &projection {
        Some(columns) => Arc::new(table.schema().project(columns)?),
        None => table.schema(),
    };
    let filters = decode_exprs(&scan.filters, &schema)?;
    Ok(Arc::new(ScanExec::try_new(
        scan.table_name.clone(),
        table,
        projection,
        filters,
    )?))
}

/// `CachedScanExec` as its [`pb::CachedScanNode`].
pub(super) fn encode_cached_scan(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
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
    Ok(Node::CachedScan(Box::new(pb::CachedScanNode {
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
    })))
}

/// The `CachedScanExec` of a [`pb::CachedScanNode`].
pub(super) fn decode_cached_scan(scan: &pb::CachedScanNode) -> Result<Arc<dyn ExecutionPlan>> {
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
    Ok(Arc::new(CachedScanExec::from_parts(
        scan.name.clone(),
        rdd,
        ipc::decode_schema(&scan.table_schema)?,
        projection,
    )?))
}

/// `ValuesExec` as its [`pb::ValuesNode`].
pub(super) fn encode_values(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let values = downcast::<ValuesExec>(plan)?;
    Ok(Node::Values(Box::new(pb::ValuesNode {
        data: ipc::encode_batches(&plan.schema(), values.batches())?,
    })))
}

/// The `ValuesExec` of a [`pb::ValuesNode`].
pub(super) fn decode_values(values: &pb::ValuesNode) -> Result<Arc<dyn ExecutionPlan>> {
    let (schema, batches) = ipc::decode_batches(&values.data)?;
    Ok(Arc::new(ValuesExec::new(schema, batches)))
}

/// `RangeExec` as its [`pb::RangeNode`].
pub(super) fn encode_range(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let range = downcast::<RangeExec>(plan)?;
    let r = range.range();
    Ok(Node::Range(Box::new(pb::RangeNode {
        start: r.start,
        end: r.end,
        step: r.step,
        partitions: r.partitions as u64,
        projection: encode_projection(range.projection()),
    })))
}

/// The `RangeExec` of a [`pb::RangeNode`].
pub(super) fn decode_range(node: &pb::RangeNode) -> Result<Arc<dyn ExecutionPlan>> {
    if node.step == 0 {
        return Err(EmberError::internal("an encoded range with step 0"));
    }
    let projection = decode_projection(&node.projection)?;
    Ok(Arc::new(RangeExec::try_new(
        ember_datasource::RangeSource {
            start: node.start,
            end: node.end,
            step: node.step,
            partitions: to_usize(node.partitions, "range partitions")?,
        },
        projection,
    )?))
}

/// The columns a leaf reads, as its message holds them.
fn encode_projection(columns: Option<&[usize]>) -> Option<pb::Indices> {
    columns.map(|columns| pb::Indices {
        values: columns.iter().map(|c| *c as u64).collect(),
    })
}

/// The columns a leaf reads, from its message.
fn decode_projection(indices: &Option<pb::Indices>) -> Result<Option<Vec<usize>>> {
    indices
        .as_ref()
        .map(|p| {
            p.values
                .iter()
                .map(|c| to_usize(*c, "projected column"))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()
}
