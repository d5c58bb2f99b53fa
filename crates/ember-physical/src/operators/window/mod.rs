//! `WindowExec`: window functions (`... OVER (PARTITION BY ... ORDER BY ... frame)`) over one
//! sorted partition.
//!
//! The planner delivers the rows hash-partitioned on the PARTITION BY keys and sorted by
//! (partition keys, order keys), so every window partition is one contiguous run of rows:
//!
//! ```text
//!   WindowExec      per run of equal PARTITION BY values: evaluate every window function
//!     │
//!   SortExec        partition keys ASC NULLS FIRST, then the ORDER BY keys
//!     │
//!   Exchange        hash(partition keys)   (single partition without PARTITION BY)
//! ```
//!
//! Each window function is a DataFusion `WindowExpr` evaluated on one window partition at a
//! time: window UDFs (row_number, rank, lag, first_value, ...) through their
//! `PartitionEvaluator`, aggregates through accumulators that grow (frames starting at
//! UNBOUNDED PRECEDING) or slide with `retract_batch` (other frames; an aggregate that cannot
//! retract is recomputed over each row's frame). RANGE frames include all peers of the
//! current row.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::{concat, concat_batches, SortOptions};
use arrow::datatypes::{FieldRef, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion_expr::{WindowFrame, WindowFunctionDefinition};
use datafusion_physical_expr::PhysicalSortExpr;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::expressions::{display_expr, evaluate, PhysicalExprRef};
use crate::operators::sort::SortKey;
use crate::plan::{ExecutionPlan, Partitioning};

mod expr;
#[cfg(test)]
mod tests;

use expr::{coerce_frame, create_window_expr, WindowColumn};

/// Most rows in one output batch (a single larger window partition is cut into slices).
const OUTPUT_BATCH_ROWS: usize = 8192;

/// One window function call of a [`WindowExec`]: the function, its arguments over the input's
/// schema, its frame and the name of its output column.
#[derive(Debug, Clone)]
pub struct WindowFunctionCall {
    /// A window UDF (row_number, lag, ...) or an aggregate UDF (sum, avg, ...).
    pub function: WindowFunctionDefinition,
    /// Arguments, evaluated on the input's rows.
    pub args: Vec<PhysicalExprRef>,
    /// The output column's name.
    pub name: String,
    /// The frame; SQL's defaults must already be filled in (RANGE BETWEEN UNBOUNDED PRECEDING
    /// AND CURRENT ROW with ORDER BY, the whole partition without).
    pub frame: WindowFrame,
    /// `IGNORE NULLS` (first_value, last_value, nth_value, lag, lead).
    pub ignore_nulls: bool,
    /// `DISTINCT` (aggregates only).
    pub distinct: bool,
    /// `FILTER (WHERE ...)` (aggregates only).
    pub filter: Option<PhysicalExprRef>,
}

/// Window functions sharing one PARTITION BY / ORDER BY specification over one partition.
///
/// Output columns: the input columns followed by one column per [`WindowFunctionCall`], in
/// order. The input must be sorted by (partition keys, order keys) and every window partition
/// must lie within one input partition (see the module doc).
#[derive(Debug)]
pub struct WindowExec {
    partition_by: Vec<PhysicalExprRef>,
    order_by: Vec<SortKey>,
    calls: Vec<WindowFunctionCall>,
    window_exprs: Vec<WindowColumn>,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
}

impl WindowExec {
    /// Window functions `calls`, all over `PARTITION BY partition_by ORDER BY order_by`.
    ///
    /// Fails with `NotSupported` for RANGE frames with offsets on anything but one numeric
    /// (or date/time with interval offsets) ORDER BY key. Aggregates over sliding frames
    /// that cannot retract rows are recomputed per row (slower, but correct).
    pub fn try_new(
        partition_by: Vec<PhysicalExprRef>,
        order_by: Vec<SortKey>,
        calls: Vec<WindowFunctionCall>,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let input_schema = input.schema();
        let sort_exprs: Vec<PhysicalSortExpr> = order_by
            .iter()
            .map(|k| PhysicalSortExpr {
                expr: Arc::clone(&k.expr),
                options: SortOptions {
                    descending: !k.ascending,
                    nulls_first: k.nulls_first,
                },
            })
            .collect();
        let mut fields: Vec<FieldRef> = input_schema.fields().iter().cloned().collect();
        let mut window_exprs = Vec::with_capacity(calls.len());
        for call in &calls {
            let frame = coerce_frame(call, &order_by, &input_schema)?;
            let expr = create_window_expr(call, frame, &partition_by, &sort_exprs, &input_schema)?;
            fields.push(expr.field()?);
            window_exprs.push(expr);
        }
        Ok(WindowExec {
            partition_by,
            order_by,
            calls,
            window_exprs,
            input,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// The PARTITION BY keys, over the input's schema.
    pub fn partition_by(&self) -> &[PhysicalExprRef] {
        &self.partition_by
    }

    /// The ORDER BY keys, over the input's schema.
    pub fn order_by(&self) -> &[SortKey] {
        &self.order_by
    }

    /// The window function calls, in output order.
    pub fn calls(&self) -> &[WindowFunctionCall] {
        &self.calls
    }
}

impl ExecutionPlan for WindowExec {
    fn name(&self) -> &'static str {
        "WindowExec"
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
        let [input]: [Arc<dyn ExecutionPlan>; 1] =
            children.try_into().map_err(|children: Vec<_>| {
                EmberError::internal(format!(
                    "WindowExec needs one child, got {}",
                    children.len()
                ))
            })?;
        Ok(Arc::new(WindowExec::try_new(
            self.partition_by.clone(),
            self.order_by.clone(),
            self.calls.clone(),
            input,
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        // The input columns keep their positions, so the input's partitioning still holds.
        self.input.output_partitioning()
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let input = self.input.execute(partition, cx)?;
        Ok(Box::new(WindowStream {
            input: Some(input),
            input_schema: self.input.schema(),
            schema: Arc::clone(&self.schema),
            partition_by: self.partition_by.clone(),
            window_exprs: self.window_exprs.clone(),
            cx: cx.clone(),
            rows: None,
            ranges: VecDeque::new(),
            pending: VecDeque::new(),
            failed: false,
        }))
    }

    fn describe(&self) -> String {
        let partition_by: Vec<String> = self.partition_by.iter().map(display_expr).collect();
        let order_by: Vec<String> = self
            .order_by
            .iter()
            .map(|k| {
                format!(
                    "{} {} NULLS {}",
                    display_expr(&k.expr),
                    if k.ascending { "ASC" } else { "DESC" },
                    if k.nulls_first { "FIRST" } else { "LAST" }
                )
            })
            .collect();
        let mut spec = String::new();
        if !partition_by.is_empty() {
            spec.push_str(&format!(" PARTITION BY [{}]", partition_by.join(", ")));
        }
        if !order_by.is_empty() {
            spec.push_str(&format!(" ORDER BY [{}]", order_by.join(", ")));
        }
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|c| format!("{}{spec} {}", c.name, c.frame))
            .collect();
        format!("WindowExec: [{}]", calls.join(", "))
    }
}

/// Evaluates the window functions of one partition: collects the input on the first pull,
/// then emits runs of whole window partitions of about [`OUTPUT_BATCH_ROWS`] rows.
struct WindowStream {
    input: Option<BatchIter>,
    input_schema: SchemaRef,
    schema: SchemaRef,
    partition_by: Vec<PhysicalExprRef>,
    window_exprs: Vec<WindowColumn>,
    cx: TaskContext,
    /// Every input row, once collected.
    rows: Option<RecordBatch>,
    /// The window partitions not yet evaluated, as row ranges of `rows`.
    ranges: VecDeque<Range<usize>>,
    /// Evaluated output not yet returned.
    pending: VecDeque<RecordBatch>,
    failed: bool,
}

impl fmt::Debug for WindowStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowStream")
            .field("remaining_partitions", &self.ranges.len())
            .finish()
    }
}

impl WindowStream {
    fn collect_input(&mut self, input: BatchIter) -> Result<()> {
        let mut batches = Vec::new();
        for batch in input {
            self.cx.check_cancelled()?;
            batches.push(batch?);
        }
        let rows = concat_batches(&self.input_schema, &batches)?;
        drop(batches);
        let count = rows.num_rows();
        if count > 0 {
            if self.partition_by.is_empty() {
                self.ranges.push_back(0..count);
            } else {
                let keys = self
                    .partition_by
                    .iter()
                    .map(|k| evaluate(k, &rows))
                    .collect::<Result<Vec<_>>>()?;
                self.ranges
                    .extend(arrow::compute::partition(&keys)?.ranges());
            }
        }
        self.rows = Some(rows);
        Ok(())
    }

    /// Evaluates the next run of whole window partitions into `pending`.
    fn evaluate_next(&mut self) -> Result<()> {
        let Some(rows) = self.rows.as_ref() else {
            return Ok(());
        };
        let Some(first) = self.ranges.front() else {
            return Ok(());
        };
        let start = first.start;
        let mut end = start;
        let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::new(); self.window_exprs.len()];
        while let Some(range) = self.ranges.front() {
            if end > start && range.end - start > OUTPUT_BATCH_ROWS {
                break;
            }
            let range = range.clone();
            self.ranges.pop_front();
            let window_partition = rows.slice(range.start, range.len());
            for (expr, out) in self.window_exprs.iter().zip(columns.iter_mut()) {
                out.push(expr.evaluate(&window_partition)?);
            }
            end = range.end;
        }
        let mut output: Vec<ArrayRef> = rows.slice(start, end - start).columns().to_vec();
        for (parts, field) in columns
            .iter()
            .zip(self.schema.fields().iter().skip(rows.num_columns()))
        {
            let refs: Vec<&dyn arrow::array::Array> = parts.iter().map(|a| a.as_ref()).collect();
            let column = concat(&refs)?;
            // Evaluators may answer a type that differs only in nullability or a
            // parameter; the declared field wins.
            let column = if column.data_type() != field.data_type() {
                arrow::compute::cast(&column, field.data_type())?
            } else {
                column
            };
            output.push(column);
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), output)?;
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = OUTPUT_BATCH_ROWS.min(batch.num_rows() - offset);
            self.pending.push_back(batch.slice(offset, len));
            offset += len;
        }
        Ok(())
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if let Some(input) = self.input.take() {
            self.collect_input(input)?;
        }
        if self.pending.is_empty() {
            self.evaluate_next()?;
        }
        let batch = self.pending.pop_front();
        if batch.is_some() {
            self.cx.check_cancelled()?;
        }
        if self.ranges.is_empty() && self.pending.is_empty() {
            self.rows = None;
        }
        Ok(batch)
    }
}

impl Iterator for WindowStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_batch() {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
