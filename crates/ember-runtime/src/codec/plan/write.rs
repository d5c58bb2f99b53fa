//! `WriteExec`: where and how its input is written (format, CSV options, job id, S3
//! settings) and the table's schema.

use std::sync::Arc;

use ember_common::{EmberError, Result};
use ember_datasource::{FileFormat, WriteSpec};
use ember_physical::operators::write::WriteExec;
use ember_physical::ExecutionPlan;

use crate::codec::arrow as ipc;

use super::helpers::{decode_child, downcast, encode_only_child, required};
use super::pb;
use super::pb::plan_node::Node;
use super::table::{
    decode_csv_options, decode_s3_settings, encode_csv_options, encode_s3_settings,
};

/// `WriteExec` as its [`pb::WriteNode`].
pub(super) fn encode_write(plan: &Arc<dyn ExecutionPlan>) -> Result<Node> {
    let write = downcast::<WriteExec>(plan)?;
    let spec = write.spec();
    Ok(Node::Write(Box::new(pb::WriteNode {
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
    })))
}

/// The `WriteExec` of a [`pb::WriteNode`].
pub(super) fn decode_write(write: &pb::WriteNode) -> Result<Arc<dyn ExecutionPlan>> {
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
    Ok(Arc::new(WriteExec::try_new(
        spec,
        ipc::decode_schema(&write.table_schema)?,
        input,
    )?))
}
