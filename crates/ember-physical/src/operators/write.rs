//! `WriteExec`: each partition of its input becomes one file of a table being written.
//!
//! A task writes its partition into the job's temporary folder and returns one row naming
//! the file; the driver commits the files once every task succeeded (see
//! `ember_datasource::WriteSpec`).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};
use ember_datasource::{written_batch, WriteSpec};

use crate::plan::{ExecutionPlan, Partitioning};

#[derive(Debug)]
pub struct WriteExec {
    spec: WriteSpec,
    /// The columns as the files hold them (the table's names; the input's types).
    table_schema: SchemaRef,
    input: Arc<dyn ExecutionPlan>,
}

impl WriteExec {
    /// Fails when the input's columns do not have `table_schema`'s types.
    pub fn try_new(
        spec: WriteSpec,
        table_schema: SchemaRef,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let input_schema = input.schema();
        let types_match = input_schema.fields().len() == table_schema.fields().len()
            && input_schema
                .fields()
                .iter()
                .zip(table_schema.fields())
                .all(|(a, b)| a.data_type() == b.data_type());
        if !types_match {
            return Err(EmberError::internal(format!(
                "WriteExec input {input_schema:?} does not fit the table schema {table_schema:?}"
            )));
        }
        Ok(WriteExec {
            spec,
            table_schema,
            input,
        })
    }

    /// The columns as the files hold them.
    pub fn table_schema(&self) -> &SchemaRef {
        &self.table_schema
    }

    /// Where and how the files are written.
    pub fn spec(&self) -> &WriteSpec {
        &self.spec
    }
}

impl ExecutionPlan for WriteExec {
    fn name(&self) -> &'static str {
        "WriteExec"
    }

    fn schema(&self) -> SchemaRef {
        WriteSpec::result_schema()
    }

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![Arc::clone(&self.input)]
    }

    fn with_new_children(
        &self,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .into_iter()
            .next()
            .ok_or_else(|| EmberError::internal("WriteExec needs one child"))?;
        Ok(Arc::new(WriteExec::try_new(
            self.spec.clone(),
            Arc::clone(&self.table_schema),
            input,
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Unknown(self.input.output_partitioning().partition_count())
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let input = Arc::clone(&self.input);
        let spec = self.spec.clone();
        let schema = Arc::clone(&self.table_schema);
        let cx = cx.clone();
        let mut pending = true;
        Ok(Box::new(std::iter::from_fn(move || {
            if !std::mem::take(&mut pending) {
                return None;
            }
            let result = input.execute(partition, &cx).and_then(|batches| {
                // The input's batches under the table's column names.
                let renamed = batches.map(|batch| {
                    let batch = batch?;
                    Ok(RecordBatch::try_new_with_options(
                        Arc::clone(&schema),
                        batch.columns().to_vec(),
                        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
                    )?)
                });
                let written = spec.write_task(partition, Arc::clone(&schema), renamed)?;
                written_batch(written.as_slice())
            });
            Some(result)
        })))
    }

    fn describe(&self) -> String {
        format!("WriteExec: {} to {}", self.spec.format, self.spec.location)
    }
}
