//! `UnionExec`: the partitions of every input, side by side (UNION ALL).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::plan::{ExecutionPlan, Partitioning};

#[derive(Debug)]
pub struct UnionExec {
    inputs: Vec<Arc<dyn ExecutionPlan>>,
    schema: SchemaRef,
}

impl UnionExec {
    pub fn try_new(inputs: Vec<Arc<dyn ExecutionPlan>>, schema: SchemaRef) -> Result<Self> {
        if inputs.is_empty() {
            return Err(EmberError::internal("UnionExec needs inputs"));
        }
        Ok(UnionExec { inputs, schema })
    }
}

impl ExecutionPlan for UnionExec {
    fn name(&self) -> &'static str {
        "UnionExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        self.inputs.clone()
    }

    fn with_new_children(
        &self,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(UnionExec::try_new(
            children,
            Arc::clone(&self.schema),
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Unknown(
            self.inputs
                .iter()
                .map(|i| i.output_partitioning().partition_count())
                .sum(),
        )
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let mut index = partition;
        for input in &self.inputs {
            let count = input.output_partitioning().partition_count();
            if index < count {
                let schema = Arc::clone(&self.schema);
                // Inputs agree on types; the union's names win.
                return Ok(Box::new(input.execute(index, cx)?.map(move |b| {
                    let b = b?;
                    // With the row count, so that a union of column-less rows keeps them.
                    let options = RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
                    Ok(RecordBatch::try_new_with_options(
                        Arc::clone(&schema),
                        b.columns().to_vec(),
                        &options,
                    )?)
                })));
            }
            index -= count;
        }
        Err(EmberError::internal(format!(
            "UnionExec has no partition {partition}"
        )))
    }

    fn describe(&self) -> String {
        "UnionExec".to_string()
    }
}
