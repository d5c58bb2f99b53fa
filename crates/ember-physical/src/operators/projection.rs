//! `ProjectExec`: computes the output columns from each input batch.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::expressions::{display_expr, evaluate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

#[derive(Debug)]
pub struct ProjectExec {
    exprs: Vec<(PhysicalExprRef, String)>,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
}

impl ProjectExec {
    pub fn try_new(
        exprs: Vec<(PhysicalExprRef, String)>,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let input_schema = input.schema();
        let fields = exprs
            .iter()
            .map(|(e, name)| {
                Ok(Field::new(
                    name,
                    e.data_type(&input_schema)?,
                    e.nullable(&input_schema)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ProjectExec {
            exprs,
            input,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// The output expressions (over the input's schema) with their column names.
    pub fn exprs(&self) -> &[(PhysicalExprRef, String)] {
        &self.exprs
    }
}

impl ExecutionPlan for ProjectExec {
    fn name(&self) -> &'static str {
        "ProjectExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
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
            .ok_or_else(|| EmberError::internal("ProjectExec needs one child"))?;
        Ok(Arc::new(ProjectExec {
            exprs: self.exprs.clone(),
            input,
            schema: Arc::clone(&self.schema),
        }))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Unknown(self.input.output_partitioning().partition_count())
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let input = self.input.execute(partition, cx)?;
        let exprs = self.exprs.clone();
        let schema = Arc::clone(&self.schema);
        Ok(Box::new(input.map(move |batch| {
            let batch = batch?;
            let columns = exprs
                .iter()
                .map(|(e, _)| evaluate(e, &batch))
                .collect::<Result<Vec<_>>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            Ok(RecordBatch::try_new_with_options(
                Arc::clone(&schema),
                columns,
                &options,
            )?)
        })))
    }

    fn describe(&self) -> String {
        let items: Vec<String> = self
            .exprs
            .iter()
            .map(|(e, name)| {
                let text = display_expr(e);
                if text.split('@').next() == Some(name.as_str()) {
                    text
                } else {
                    format!("{text} AS {name}")
                }
            })
            .collect();
        format!("ProjectExec: [{}]", items.join(", "))
    }
}
