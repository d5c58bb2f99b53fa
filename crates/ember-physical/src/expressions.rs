//! Physical expressions: lowering logical `Expr`s and evaluating them on record batches.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::record_batch::RecordBatch;
use datafusion_common::DFSchema;
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_expr::Expr;
use ember_common::{EmberError, Result};

pub use datafusion_physical_expr::PhysicalExpr;

pub type PhysicalExprRef = Arc<dyn PhysicalExpr>;

/// Lowers a logical expression over `schema` to a vectorized physical expression.
pub fn create_physical_expr(expr: &Expr, schema: &DFSchema) -> Result<PhysicalExprRef> {
    let props = ExecutionProps::new();
    let planning = PhysicalPlanningContext::default();
    Ok(datafusion_physical_expr::create_physical_expr(
        expr, schema, &props, &planning,
    )?)
}

/// Evaluates `expr` on every row of `batch`.
pub fn evaluate(expr: &PhysicalExprRef, batch: &RecordBatch) -> Result<ArrayRef> {
    let value = expr
        .evaluate(batch)
        .map_err(|e| EmberError::from(e).into_root())?;
    Ok(value.into_array(batch.num_rows())?)
}

/// Evaluates a predicate; NULL counts as false, as in a WHERE clause.
pub fn evaluate_predicate(expr: &PhysicalExprRef, batch: &RecordBatch) -> Result<BooleanArray> {
    let array = evaluate(expr, batch)?;
    let mask = array
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| {
            EmberError::internal(format!(
                "predicate {expr} returned {}, not boolean",
                array.data_type()
            ))
        })?;
    Ok(match mask.nulls() {
        Some(_) => arrow::compute::prep_null_mask_filter(mask),
        None => mask.clone(),
    })
}

/// Stable, short text of a physical expression for EXPLAIN.
pub fn display_expr(expr: &PhysicalExprRef) -> String {
    format!("{expr}")
}

/// Text of a logical expression without qualifiers noise, for EXPLAIN.
pub fn display_logical(expr: &Expr) -> String {
    format!("{}", expr.human_display())
}
