//! `FilterExec`: keeps the rows for which the predicate is true.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::expressions::{display_expr, evaluate_predicate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

#[derive(Debug)]
pub struct FilterExec {
    predicate: PhysicalExprRef,
    input: Arc<dyn ExecutionPlan>,
}

impl FilterExec {
    pub fn new(predicate: PhysicalExprRef, input: Arc<dyn ExecutionPlan>) -> Self {
        FilterExec { predicate, input }
    }

    /// The predicate, over the input's schema.
    pub fn predicate(&self) -> &PhysicalExprRef {
        &self.predicate
    }
}

impl ExecutionPlan for FilterExec {
    fn name(&self) -> &'static str {
        "FilterExec"
    }

    fn schema(&self) -> SchemaRef {
        self.input.schema()
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
            .ok_or_else(|| EmberError::internal("FilterExec needs one child"))?;
        Ok(Arc::new(FilterExec::new(
            Arc::clone(&self.predicate),
            input,
        )))
    }

    fn output_partitioning(&self) -> Partitioning {
        self.input.output_partitioning()
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let input = self.input.execute(partition, cx)?;
        let predicate = Arc::clone(&self.predicate);
        Ok(Box::new(input.filter_map(move |batch| {
            let result = batch.and_then(|batch| {
                let mask = evaluate_predicate(&predicate, &batch)?;
                Ok(arrow::compute::filter_record_batch(&batch, &mask)?)
            });
            match result {
                Ok(b) if b.num_rows() == 0 => None,
                other => Some(other),
            }
        })))
    }

    fn describe(&self) -> String {
        format!("FilterExec: {}", display_expr(&self.predicate))
    }
}
