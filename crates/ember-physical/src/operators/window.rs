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

use arrow::array::{new_empty_array, Array, ArrayRef, AsArray};
use arrow::compute::{concat, concat_batches, filter, SortOptions};
use arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion_common::ScalarValue;
use datafusion_expr::window_state::WindowFrameContext;
use datafusion_expr::{
    LimitEffect, PartitionEvaluator, WindowFrame, WindowFrameBound, WindowFrameUnits,
    WindowFunctionDefinition, WindowUDF,
};
use datafusion_functions_window_common::expr::ExpressionArgs;
use datafusion_functions_window_common::field::WindowUDFFieldArgs;
use datafusion_functions_window_common::partition::PartitionEvaluatorArgs;
use datafusion_physical_expr::aggregate::{AggregateExprBuilder, AggregateFunctionExpr};
use datafusion_physical_expr::window::{
    PlainAggregateWindowExpr, SlidingAggregateWindowExpr, StandardWindowExpr,
    StandardWindowFunctionExpr, WindowExpr,
};
use datafusion_physical_expr::PhysicalSortExpr;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::expressions::{display_expr, evaluate, evaluate_predicate, PhysicalExprRef};
use crate::operators::sort::SortKey;
use crate::plan::{ExecutionPlan, Partitioning};

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

/// Checks a frame's offsets and casts numeric RANGE offsets to the ORDER BY key's type, so
/// that `RANGE BETWEEN 1 PRECEDING AND CURRENT ROW` works over any numeric key.
fn coerce_frame(
    call: &WindowFunctionCall,
    order_by: &[SortKey],
    input_schema: &SchemaRef,
) -> Result<WindowFrame> {
    let mut frame = call.frame.clone();
    let has_offset = |bound: &WindowFrameBound| match bound {
        WindowFrameBound::Preceding(v) | WindowFrameBound::Following(v) => !v.is_null(),
        WindowFrameBound::CurrentRow => false,
    };
    let free_range = !has_offset(&frame.start_bound) && !has_offset(&frame.end_bound);
    if frame.units == WindowFrameUnits::Range && order_by.is_empty() && free_range {
        // Without ORDER BY every row is a peer of every other, so any RANGE frame bounded
        // only by UNBOUNDED and CURRENT ROW is the whole window partition.
        return Ok(WindowFrame::new_bounds(
            WindowFrameUnits::Rows,
            WindowFrameBound::Preceding(ScalarValue::Null),
            WindowFrameBound::Following(ScalarValue::Null),
        ));
    }
    if frame.units != WindowFrameUnits::Range || free_range {
        return Ok(frame);
    }
    let [key] = order_by else {
        return Err(EmberError::NotSupported(format!(
            "window frame {frame} of {}: a RANGE frame with an offset needs exactly one ORDER BY \
             key, got {}; use ROWS, or RANGE with UNBOUNDED/CURRENT ROW bounds",
            call.name,
            order_by.len()
        )));
    };
    let key_type = key.expr.data_type(input_schema)?;
    let coerce = |bound: &mut WindowFrameBound| -> Result<()> {
        let (WindowFrameBound::Preceding(value) | WindowFrameBound::Following(value)) = bound
        else {
            return Ok(());
        };
        if value.is_null() {
            return Ok(());
        }
        let offset_type = value.data_type();
        if key_type.is_numeric() && offset_type.is_numeric() {
            *value = value.cast_to(&key_type).map_err(|e| {
                EmberError::NotSupported(format!(
                    "window frame offset {value} of {} cannot be used with ORDER BY key of type \
                     {key_type}: {e}",
                    call.name
                ))
            })?;
            return Ok(());
        }
        let temporal = matches!(
            key_type,
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
        );
        if temporal && matches!(offset_type, DataType::Interval(_)) {
            return Ok(());
        }
        Err(EmberError::NotSupported(format!(
            "window frame {} of {}: a RANGE offset of type {offset_type} over an ORDER BY key \
             of type {key_type}; RANGE offsets need a numeric key (or an interval over a \
             date/timestamp key), otherwise use ROWS",
            call.frame, call.name
        )))
    };
    coerce(&mut frame.start_bound)?;
    coerce(&mut frame.end_bound)?;
    Ok(frame)
}

fn create_window_expr(
    call: &WindowFunctionCall,
    frame: WindowFrame,
    partition_by: &[PhysicalExprRef],
    order_by: &[PhysicalSortExpr],
    input_schema: &SchemaRef,
) -> Result<WindowColumn> {
    let frame = Arc::new(frame);
    match &call.function {
        WindowFunctionDefinition::WindowUDF(udwf) => {
            if call.distinct || call.filter.is_some() {
                return Err(EmberError::NotSupported(format!(
                    "DISTINCT or FILTER on the window function {}; only aggregates accept them",
                    call.name
                )));
            }
            let input_fields = call
                .args
                .iter()
                .map(|a| a.return_field(input_schema))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let function = WindowUdfExpr {
                function: Arc::clone(udwf),
                args: call.args.clone(),
                input_fields,
                name: call.name.clone(),
                ignore_nulls: call.ignore_nulls,
            };
            // Fail at planning, not on the first row, when the arguments are wrong
            // (ntile(0), a non-constant lag offset, ...).
            function.create_evaluator()?;
            Ok(WindowColumn::Expr(Arc::new(StandardWindowExpr::new(
                Arc::new(function),
                partition_by,
                order_by,
                frame,
            ))))
        }
        WindowFunctionDefinition::AggregateUDF(udaf) => {
            let aggregate = Arc::new(
                AggregateExprBuilder::new(Arc::clone(udaf), call.args.clone())
                    .schema(Arc::clone(input_schema))
                    .alias(call.name.clone())
                    .with_distinct(call.distinct)
                    .with_ignore_nulls(call.ignore_nulls)
                    .build()?,
            );
            if frame.start_bound.is_unbounded() {
                // The frame only grows: one accumulator per window partition, fed new rows.
                Ok(WindowColumn::Expr(Arc::new(PlainAggregateWindowExpr::new(
                    aggregate,
                    partition_by,
                    order_by,
                    frame,
                    call.filter.clone(),
                ))))
            } else if frame.end_bound.is_unbounded()
                && !inexact_over_floats(udaf.name(), &call.args, input_schema)
                && order_insensitive(udaf.name())
            {
                // The frame only shrinks (`CURRENT ROW AND UNBOUNDED FOLLOWING`): read the rows
                // backwards, where it only grows, instead of taking rows out of a running value.
                let reversed_frame = Arc::new(WindowFrame::new_bounds(
                    frame.units,
                    WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
                    mirrored(&frame.start_bound),
                ));
                let reversed_order: Vec<PhysicalSortExpr> = order_by
                    .iter()
                    .map(|s| PhysicalSortExpr {
                        expr: Arc::clone(&s.expr),
                        options: SortOptions {
                            descending: !s.options.descending,
                            nulls_first: !s.options.nulls_first,
                        },
                    })
                    .collect();
                Ok(WindowColumn::Reversed(Arc::new(
                    PlainAggregateWindowExpr::new(
                        aggregate,
                        partition_by,
                        &reversed_order,
                        reversed_frame,
                        call.filter.clone(),
                    ),
                )))
            } else {
                // Over doubles, a running sum that takes rows out (or one read backwards) is
                // not the sum Spark computes: 2.250000003250534 came out for 2.25. Spark
                // recomputes every row's frame in order, and so does Ember then.
                let inexact = inexact_over_floats(udaf.name(), &call.args, input_schema);
                let sliding = !inexact
                    && aggregate
                        .create_sliding_accumulator()
                        .is_ok_and(|a| a.supports_retract_batch());
                if sliding {
                    // Rows enter and leave the frame: the accumulator retracts what left.
                    return Ok(WindowColumn::Expr(Arc::new(
                        SlidingAggregateWindowExpr::new(
                            aggregate,
                            partition_by,
                            order_by,
                            frame,
                            call.filter.clone(),
                        ),
                    )));
                }
                // An aggregate that cannot run at all says so here, not on the first row.
                aggregate.create_accumulator()?;
                Ok(WindowColumn::Recomputed(Arc::new(RecomputedAggregate {
                    aggregate,
                    order_by: order_by.to_vec(),
                    frame,
                    filter: call.filter.clone(),
                })))
            }
        }
    }
}

/// A frame bound seen from the other end of the partition: `n PRECEDING` is `n FOLLOWING`.
fn mirrored(bound: &WindowFrameBound) -> WindowFrameBound {
    match bound {
        WindowFrameBound::Preceding(v) => WindowFrameBound::Following(v.clone()),
        WindowFrameBound::Following(v) => WindowFrameBound::Preceding(v.clone()),
        WindowFrameBound::CurrentRow => WindowFrameBound::CurrentRow,
    }
}

/// Whether an aggregate over these arguments computes in floating point, where the order the
/// rows are added in changes the result (a sum minus the rows that left the frame is not the
/// sum of the rows that stay): then each row's frame is aggregated afresh, in order, as Spark
/// computes sliding and shrinking frames.
fn inexact_over_floats(name: &str, args: &[PhysicalExprRef], schema: &SchemaRef) -> bool {
    let name = name.to_lowercase();
    let arithmetic = matches!(name.as_str(), "sum" | "avg" | "mean" | "corr")
        || name.starts_with("stddev")
        || name.starts_with("var")
        || name.starts_with("covar")
        || name.starts_with("regr");
    arithmetic
        && args
            .iter()
            .any(|a| a.data_type(schema).is_ok_and(|t| t.is_floating()))
}

/// Aggregates whose value does not depend on the order rows arrive in (`first`, `any_value`,
/// `collect_list` do): only these may read a frame backwards.
fn order_insensitive(name: &str) -> bool {
    let name = name.to_lowercase();
    matches!(
        name.as_str(),
        "count"
            | "sum"
            | "avg"
            | "mean"
            | "min"
            | "max"
            | "bool_and"
            | "bool_or"
            | "bit_and"
            | "bit_or"
            | "bit_xor"
            | "checked_sum"
    )
}

/// How one window function column is computed for one window partition.
#[derive(Debug, Clone)]
enum WindowColumn {
    /// DataFusion's window expressions: window UDFs, growing and retracting aggregates.
    Expr(Arc<dyn WindowExpr>),
    /// A growing aggregate evaluated over the window partition's rows in reverse order (a
    /// frame that ends at UNBOUNDED FOLLOWING, mirrored), its values reversed back.
    Reversed(Arc<dyn WindowExpr>),
    /// An aggregate over a sliding frame that cannot retract rows.
    Recomputed(Arc<RecomputedAggregate>),
}

impl WindowColumn {
    fn field(&self) -> Result<FieldRef> {
        match self {
            WindowColumn::Expr(expr) | WindowColumn::Reversed(expr) => Ok(expr.field()?),
            WindowColumn::Recomputed(aggregate) => Ok(aggregate.aggregate.field()),
        }
    }

    /// The column's values for `window_partition`, the rows of one window partition.
    fn evaluate(&self, window_partition: &RecordBatch) -> Result<ArrayRef> {
        match self {
            WindowColumn::Expr(expr) => expr
                .evaluate(window_partition)
                .map_err(|e| EmberError::from(e).into_root()),
            WindowColumn::Reversed(expr) => {
                let rows = window_partition.num_rows() as u32;
                let backwards = arrow::array::UInt32Array::from_iter_values((0..rows).rev());
                let reversed = arrow::compute::take_record_batch(window_partition, &backwards)?;
                let values = expr
                    .evaluate(&reversed)
                    .map_err(|e| EmberError::from(e).into_root())?;
                Ok(arrow::compute::take(&values, &backwards, None)?)
            }
            WindowColumn::Recomputed(aggregate) => aggregate.evaluate(window_partition),
        }
    }
}

/// An aggregate over a sliding frame whose accumulator cannot retract rows (such as
/// `first_value`): a fresh accumulator per row, fed the rows of that row's frame.
#[derive(Debug)]
struct RecomputedAggregate {
    aggregate: Arc<AggregateFunctionExpr>,
    order_by: Vec<PhysicalSortExpr>,
    frame: Arc<WindowFrame>,
    filter: Option<PhysicalExprRef>,
}

impl RecomputedAggregate {
    /// `Some(is_avg)` for a plain sum or avg of one double argument.
    fn sequential_double(&self) -> Option<bool> {
        let name = self.aggregate.fun().name().to_lowercase();
        let average = match name.as_str() {
            "sum" => false,
            "avg" | "mean" => true,
            _ => return None,
        };
        let args = self.aggregate.expressions();
        let plain = !self.aggregate.is_distinct()
            && args.len() == 1
            && self.aggregate.field().data_type() == &DataType::Float64;
        plain.then_some(average)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        let rows = batch.num_rows();
        let args = self
            .aggregate
            .expressions()
            .iter()
            .map(|e| evaluate(e, batch))
            .collect::<Result<Vec<_>>>()?;
        let order_values = self
            .order_by
            .iter()
            .map(|s| evaluate(&s.expr, batch))
            .collect::<Result<Vec<_>>>()?;
        let mask = self
            .filter
            .as_ref()
            .map(|f| evaluate_predicate(f, batch))
            .transpose()?;
        let sort_options = self.order_by.iter().map(|s| s.options).collect();
        let mut frames = WindowFrameContext::new(Arc::clone(&self.frame), sort_options);
        let mut last = 0..0;
        if let Some(average) = self.sequential_double() {
            // sum and avg of doubles add the frame's values one after the other, as Spark
            // does (Arrow's sum adds in lanes, which rounds differently).
            let values = args[0].as_primitive::<arrow::datatypes::Float64Type>();
            let mut out = arrow::array::Float64Builder::with_capacity(rows);
            for row in 0..rows {
                let range = frames.calculate_range(&order_values, &last, rows, row)?;
                let (mut total, mut count) = (0.0f64, 0usize);
                for i in range.clone() {
                    let kept = mask.as_ref().is_none_or(|m| m.is_valid(i) && m.value(i));
                    if kept && values.is_valid(i) {
                        total += values.value(i);
                        count += 1;
                    }
                }
                match (count, average) {
                    (0, _) => out.append_null(),
                    (n, true) => out.append_value(total / n as f64),
                    (_, false) => out.append_value(total),
                }
                last = range;
            }
            return Ok(Arc::new(out.finish()));
        }
        let mut results = Vec::with_capacity(rows);
        for row in 0..rows {
            let range = frames.calculate_range(&order_values, &last, rows, row)?;
            let mut accumulator = self.aggregate.create_accumulator()?;
            if !range.is_empty() {
                let values = args
                    .iter()
                    .map(|a| {
                        let slice = a.slice(range.start, range.len());
                        Ok(match &mask {
                            Some(m) => filter(&slice, &m.slice(range.start, range.len()))?,
                            None => slice,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                accumulator.update_batch(&values)?;
            }
            results.push(accumulator.evaluate()?);
            last = range;
        }
        if results.is_empty() {
            return Ok(new_empty_array(self.aggregate.field().data_type()));
        }
        Ok(ScalarValue::iter_to_array(results)?)
    }
}

/// A window UDF from datafusion-functions-window bound to physical arguments.
#[derive(Debug)]
struct WindowUdfExpr {
    function: Arc<WindowUDF>,
    args: Vec<PhysicalExprRef>,
    input_fields: Vec<FieldRef>,
    name: String,
    ignore_nulls: bool,
}

impl StandardWindowFunctionExpr for WindowUdfExpr {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn field(&self) -> datafusion_common::Result<FieldRef> {
        self.function
            .field(WindowUDFFieldArgs::new(&self.input_fields, &self.name))
    }

    fn expressions(&self) -> Vec<PhysicalExprRef> {
        self.function
            .expressions(ExpressionArgs::new(&self.args, &self.input_fields))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn create_evaluator(&self) -> datafusion_common::Result<Box<dyn PartitionEvaluator>> {
        self.function
            .partition_evaluator_factory(PartitionEvaluatorArgs::new(
                &self.args,
                &self.input_fields,
                false,
                self.ignore_nulls,
            ))
    }

    fn limit_effect(&self) -> LimitEffect {
        self.function.inner().limit_effect(&self.args)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use arrow::array::{Array, Int64Array, StringArray};
    use arrow::datatypes::Field;
    use arrow::util::display::array_value_to_string;
    use datafusion_expr::AggregateUDF;
    use datafusion_functions_aggregate::average::avg_udaf;
    use datafusion_functions_aggregate::count::count_udaf;
    use datafusion_functions_aggregate::first_last::first_value_udaf;
    use datafusion_functions_aggregate::min_max::{max_udaf, min_udaf};
    use datafusion_functions_aggregate::sum::sum_udaf;
    use datafusion_functions_window::lead_lag::{lag_udwf, lead_udwf};
    use datafusion_functions_window::nth_value::{first_value_udwf, last_value_udwf};
    use datafusion_functions_window::ntile::ntile_udwf;
    use datafusion_functions_window::rank::{dense_rank_udwf, percent_rank_udwf, rank_udwf};
    use datafusion_functions_window::row_number::row_number_udwf;
    use datafusion_physical_expr::expressions::{cast, col, lit};

    use super::*;

    use crate::test_util::MemoryExec;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
            Field::new("w", DataType::Int64, false),
        ]))
    }

    /// Three window partitions (NULL, a, b), sorted by (k ASC NULLS FIRST, v ASC NULLS FIRST),
    /// with a tie on v = 2 in `a` and a NULL v in `b`; split into two batches mid-partition.
    ///
    /// ```text
    /// row  0  1  2  3  4  5  6    7
    /// k    N  N  a  a  a  a  b    b
    /// v    5  6  1  2  2  3  N    7
    /// w    0  1  2  3  4  5  6    7
    /// ```
    fn sample() -> Arc<MemoryExec> {
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(vec![
                    None,
                    None,
                    Some("a"),
                    Some("a"),
                    Some("a"),
                    Some("a"),
                    Some("b"),
                    Some("b"),
                ])),
                Arc::new(Int64Array::from(vec![
                    Some(5),
                    Some(6),
                    Some(1),
                    Some(2),
                    Some(2),
                    Some(3),
                    None,
                    Some(7),
                ])),
                Arc::new(Int64Array::from((0..8).collect::<Vec<i64>>())),
            ],
        )
        .unwrap();
        MemoryExec::new(schema(), vec![vec![batch.slice(0, 3), batch.slice(3, 5)]])
    }

    fn order_by_v() -> Vec<SortKey> {
        vec![SortKey {
            expr: col("v", &schema()).unwrap(),
            ascending: true,
            nulls_first: true,
        }]
    }

    fn partition_by_k() -> Vec<PhysicalExprRef> {
        vec![col("k", &schema()).unwrap()]
    }

    fn rows_frame(preceding: u64, following: u64) -> WindowFrame {
        WindowFrame::new_bounds(
            WindowFrameUnits::Rows,
            WindowFrameBound::Preceding(ScalarValue::UInt64(Some(preceding))),
            WindowFrameBound::Following(ScalarValue::UInt64(Some(following))),
        )
    }

    fn whole_partition() -> WindowFrame {
        WindowFrame::new(None)
    }

    /// Spark's default frame with ORDER BY: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
    fn default_frame() -> WindowFrame {
        WindowFrame::new(Some(false))
    }

    fn udwf(
        function: Arc<WindowUDF>,
        args: Vec<PhysicalExprRef>,
        name: &str,
    ) -> WindowFunctionCall {
        WindowFunctionCall {
            function: WindowFunctionDefinition::WindowUDF(function),
            args,
            name: name.to_string(),
            frame: default_frame(),
            ignore_nulls: false,
            distinct: false,
            filter: None,
        }
    }

    fn udaf(function: Arc<AggregateUDF>, frame: WindowFrame, name: &str) -> WindowFunctionCall {
        WindowFunctionCall {
            function: WindowFunctionDefinition::AggregateUDF(function),
            args: vec![col("v", &schema()).unwrap()],
            name: name.to_string(),
            frame,
            ignore_nulls: false,
            distinct: false,
            filter: None,
        }
    }

    fn v() -> PhysicalExprRef {
        col("v", &schema()).unwrap()
    }

    fn collect(exec: &dyn ExecutionPlan) -> Vec<RecordBatch> {
        exec.execute(0, &TaskContext::for_tests())
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap()
    }

    /// Every window column of the output as one string per row ("NULL" for null).
    fn window_columns(exec: &WindowExec) -> Vec<Vec<String>> {
        let output = collect(exec);
        let all = concat_batches(&exec.schema(), &output).unwrap();
        (schema().fields().len()..all.num_columns())
            .map(|c| {
                let column = all.column(c);
                (0..column.len())
                    .map(|row| {
                        if column.is_null(row) {
                            "NULL".to_string()
                        } else {
                            array_value_to_string(column, row).unwrap()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ranking_functions_with_ties_and_null_partition_keys() {
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![
                udwf(row_number_udwf(), vec![], "row_number()"),
                udwf(rank_udwf(), vec![], "rank()"),
                udwf(dense_rank_udwf(), vec![], "dense_rank()"),
                udwf(percent_rank_udwf(), vec![], "percent_rank()"),
                udwf(ntile_udwf(), vec![lit(2i64)], "ntile(2)"),
            ],
            sample(),
        )
        .unwrap();
        let columns = window_columns(&exec);
        assert_eq!(
            columns[0],
            strings(&["1", "2", "1", "2", "3", "4", "1", "2"])
        );
        assert_eq!(
            columns[1],
            strings(&["1", "2", "1", "2", "2", "4", "1", "2"])
        );
        assert_eq!(
            columns[2],
            strings(&["1", "2", "1", "2", "2", "3", "1", "2"])
        );
        assert_eq!(
            columns[3],
            strings(&[
                "0.0",
                "1.0",
                "0.0",
                "0.3333333333333333",
                "0.3333333333333333",
                "1.0",
                "0.0",
                "1.0"
            ])
        );
        assert_eq!(
            columns[4],
            strings(&["1", "2", "1", "1", "2", "2", "1", "2"])
        );
        let names: Vec<String> = exec
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            strings(&[
                "k",
                "v",
                "w",
                "row_number()",
                "rank()",
                "dense_rank()",
                "percent_rank()",
                "ntile(2)"
            ])
        );
    }

    #[test]
    fn lag_lead_first_and_last_value() {
        let w = col("w", &schema()).unwrap();
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![
                udwf(lag_udwf(), vec![v()], "lag(v)"),
                udwf(
                    lead_udwf(),
                    vec![v(), lit(2i64), lit(-1i64)],
                    "lead(v, 2, -1)",
                ),
                udwf(first_value_udwf(), vec![v()], "first_value(v)"),
                // Under the default RANGE frame the last row of the frame is the last peer.
                udwf(last_value_udwf(), vec![Arc::clone(&w)], "last_value(w)"),
                WindowFunctionCall {
                    frame: rows_frame(0, 0),
                    ..udwf(last_value_udwf(), vec![w], "last_value(w) rows")
                },
            ],
            sample(),
        )
        .unwrap();
        let columns = window_columns(&exec);
        assert_eq!(
            columns[0],
            strings(&["NULL", "5", "NULL", "1", "2", "2", "NULL", "NULL"])
        );
        assert_eq!(
            columns[1],
            strings(&["-1", "-1", "2", "3", "-1", "-1", "-1", "-1"])
        );
        assert_eq!(
            columns[2],
            strings(&["5", "5", "1", "1", "1", "1", "NULL", "NULL"])
        );
        assert_eq!(
            columns[3],
            strings(&["0", "1", "2", "4", "4", "5", "6", "7"])
        );
        assert_eq!(
            columns[4],
            strings(&["0", "1", "2", "3", "4", "5", "6", "7"])
        );
    }

    #[test]
    fn aggregates_over_a_sliding_rows_frame() {
        let frame = rows_frame(1, 1);
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![
                udaf(sum_udaf(), frame.clone(), "sum(v)"),
                udaf(count_udaf(), frame.clone(), "count(v)"),
                udaf(min_udaf(), frame.clone(), "min(v)"),
                udaf(max_udaf(), frame.clone(), "max(v)"),
                WindowFunctionCall {
                    // As the binder's coercion does, avg reads its argument as double.
                    args: vec![cast(v(), &schema(), DataType::Float64).unwrap()],
                    ..udaf(avg_udaf(), frame, "avg(v)")
                },
            ],
            sample(),
        )
        .unwrap();
        let columns = window_columns(&exec);
        assert_eq!(
            columns[0],
            strings(&["11", "11", "3", "5", "7", "5", "7", "7"])
        );
        assert_eq!(
            columns[1],
            strings(&["2", "2", "2", "3", "3", "2", "1", "1"])
        );
        assert_eq!(
            columns[2],
            strings(&["5", "5", "1", "1", "2", "2", "7", "7"])
        );
        assert_eq!(
            columns[3],
            strings(&["6", "6", "2", "2", "3", "3", "7", "7"])
        );
        assert_eq!(
            columns[4],
            strings(&[
                "5.5",
                "5.5",
                "1.5",
                "1.6666666666666667",
                "2.3333333333333335",
                "2.5",
                "7.0",
                "7.0"
            ])
        );
    }

    #[test]
    fn aggregates_over_the_default_range_frame_include_peers() {
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![
                udaf(sum_udaf(), default_frame(), "sum(v)"),
                udaf(count_udaf(), default_frame(), "count(v)"),
                udaf(max_udaf(), default_frame(), "max(v)"),
            ],
            sample(),
        )
        .unwrap();
        let columns = window_columns(&exec);
        assert_eq!(
            columns[0],
            strings(&["5", "11", "1", "5", "5", "8", "NULL", "7"])
        );
        assert_eq!(
            columns[1],
            strings(&["1", "2", "1", "3", "3", "4", "0", "1"])
        );
        assert_eq!(
            columns[2],
            strings(&["5", "6", "1", "2", "2", "3", "NULL", "7"])
        );
    }

    #[test]
    fn aggregates_over_the_whole_partition() {
        // Without ORDER BY, the default RANGE frame and the explicit unbounded ROWS frame are
        // both the whole window partition.
        let exec = WindowExec::try_new(
            partition_by_k(),
            vec![],
            vec![
                udaf(sum_udaf(), whole_partition(), "sum(v)"),
                udaf(count_udaf(), default_frame(), "count(v)"),
            ],
            sample(),
        )
        .unwrap();
        let columns = window_columns(&exec);
        assert_eq!(
            columns[0],
            strings(&["11", "11", "8", "8", "8", "8", "7", "7"])
        );
        assert_eq!(
            columns[1],
            strings(&["2", "2", "4", "4", "4", "4", "1", "1"])
        );

        // Without PARTITION BY the whole input is one window partition.
        let exec = WindowExec::try_new(
            vec![],
            vec![],
            vec![udaf(sum_udaf(), whole_partition(), "sum(v)")],
            sample(),
        )
        .unwrap();
        assert_eq!(window_columns(&exec)[0], strings(&["26"; 8]));
    }

    #[test]
    fn range_frame_with_numeric_offsets() {
        let frame = WindowFrame::new_bounds(
            WindowFrameUnits::Range,
            WindowFrameBound::Preceding(ScalarValue::Int32(Some(1))),
            WindowFrameBound::CurrentRow,
        );
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![udaf(sum_udaf(), frame.clone(), "sum(v)")],
            sample(),
        )
        .unwrap();
        assert_eq!(
            window_columns(&exec)[0],
            strings(&["5", "11", "1", "5", "5", "7", "NULL", "7"])
        );

        // A RANGE offset over a string key cannot be evaluated.
        let error = WindowExec::try_new(
            vec![],
            vec![SortKey {
                expr: col("k", &schema()).unwrap(),
                ascending: true,
                nulls_first: true,
            }],
            vec![udaf(sum_udaf(), frame.clone(), "sum(v)")],
            sample(),
        )
        .unwrap_err();
        assert!(matches!(error, EmberError::NotSupported(_)), "{error}");
        assert!(error.to_string().contains("Utf8"), "{error}");

        // Nor one over two ORDER BY keys.
        let mut two_keys = order_by_v();
        two_keys.extend(order_by_v());
        let error = WindowExec::try_new(
            vec![],
            two_keys,
            vec![udaf(sum_udaf(), frame, "sum(v)")],
            sample(),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("exactly one ORDER BY"),
            "{error}"
        );
    }

    #[test]
    fn sliding_frame_over_an_aggregate_without_retract_is_recomputed_per_row() {
        let call = udaf(first_value_udaf(), rows_frame(1, 1), "first_value(v)");
        let exec =
            WindowExec::try_new(partition_by_k(), order_by_v(), vec![call], sample()).unwrap();
        assert_eq!(
            window_columns(&exec)[0],
            strings(&["5", "5", "1", "1", "2", "2", "NULL", "NULL"])
        );
        let call = WindowFunctionCall {
            filter: Some(
                crate::expressions::create_physical_expr(
                    &datafusion_expr::col("w").gt(datafusion_expr::lit(2i64)),
                    &datafusion_common::DFSchema::try_from(schema().as_ref().clone()).unwrap(),
                )
                .unwrap(),
            ),
            ..udaf(
                first_value_udaf(),
                rows_frame(1, 0),
                "first_value(v) FILTER (WHERE w > 2)",
            )
        };
        let exec =
            WindowExec::try_new(partition_by_k(), order_by_v(), vec![call], sample()).unwrap();
        assert_eq!(
            window_columns(&exec)[0],
            strings(&["NULL", "NULL", "NULL", "2", "2", "2", "NULL", "NULL"])
        );

        // Growing frames need no retraction.
        let call = udaf(first_value_udaf(), default_frame(), "first_value(v)");
        let exec =
            WindowExec::try_new(partition_by_k(), order_by_v(), vec![call], sample()).unwrap();
        assert_eq!(
            window_columns(&exec)[0],
            strings(&["5", "5", "1", "1", "1", "1", "NULL", "NULL"])
        );
    }

    #[test]
    fn empty_input_gives_no_rows() {
        let input = MemoryExec::new(schema(), vec![vec![RecordBatch::new_empty(schema())]]);
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![udwf(row_number_udwf(), vec![], "row_number()")],
            input,
        )
        .unwrap();
        assert!(collect(&exec).is_empty());
        let input = MemoryExec::new(schema(), vec![vec![]]);
        let exec = WindowExec::try_new(
            vec![],
            vec![],
            vec![udaf(sum_udaf(), whole_partition(), "s")],
            input,
        )
        .unwrap();
        assert!(collect(&exec).is_empty());
    }

    #[test]
    fn large_partitions_come_out_in_bounded_batches() {
        // Three window partitions of 10k rows each, in batches of 3k rows.
        let total = 30_000i64;
        let keys: Vec<String> = (0..total).map(|i| format!("p{}", i / 10_000)).collect();
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(keys)),
                Arc::new(Int64Array::from((0..total).collect::<Vec<_>>())),
                Arc::new(Int64Array::from((0..total).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        let batches = (0..10).map(|i| batch.slice(i * 3_000, 3_000)).collect();
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![udwf(row_number_udwf(), vec![], "row_number()")],
            MemoryExec::new(schema(), vec![batches]),
        )
        .unwrap();
        let output = collect(&exec);
        assert!(output.iter().all(|b| b.num_rows() <= OUTPUT_BATCH_ROWS));
        let all = concat_batches(&exec.schema(), &output).unwrap();
        assert_eq!(all.num_rows(), total as usize);
        let numbers = all
            .column(3)
            .as_any()
            .downcast_ref::<arrow::array::UInt64Array>()
            .unwrap();
        for row in 0..all.num_rows() {
            assert_eq!(numbers.value(row), (row % 10_000) as u64 + 1, "row {row}");
        }
    }

    #[test]
    fn execute_is_lazy_and_checks_cancellation() {
        let input = sample();
        let pulled = Arc::clone(&input.pulled);
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![udwf(row_number_udwf(), vec![], "row_number()")],
            input,
        )
        .unwrap();
        let cx = TaskContext::for_tests();
        let mut stream = exec.execute(0, &cx).unwrap();
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            0,
            "execute must not pull its input"
        );
        assert!(stream.next().unwrap().is_ok());
        assert_eq!(pulled.load(Ordering::SeqCst), 2);

        let cancelled = exec.execute(0, &cx).unwrap();
        cx.cancel();
        let results: Vec<_> = cancelled.collect();
        assert_eq!(results.len(), 1);
        assert!(
            matches!(results[0], Err(EmberError::Cancelled(_))),
            "{:?}",
            results[0]
        );
    }

    #[test]
    fn describe_is_one_stable_line_and_children_can_be_replaced() {
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![
                WindowFunctionCall {
                    frame: rows_frame(1, 1),
                    ..udwf(row_number_udwf(), vec![], "row_number()")
                },
                udaf(sum_udaf(), default_frame(), "sum(v)"),
            ],
            sample(),
        )
        .unwrap();
        assert_eq!(
            exec.describe(),
            "WindowExec: [row_number() PARTITION BY [k@0] ORDER BY [v@1 ASC NULLS FIRST] ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING, \
             sum(v) PARTITION BY [k@0] ORDER BY [v@1 ASC NULLS FIRST] RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW]"
        );
        let copy = exec.with_new_children(vec![sample()]).unwrap();
        assert_eq!(copy.describe(), exec.describe());
        assert_eq!(
            collect(copy.as_ref())
                .iter()
                .map(|b| b.num_rows())
                .sum::<usize>(),
            8
        );
        assert!(exec.with_new_children(vec![]).is_err());
    }

    #[test]
    fn planner_chains_one_window_exec_per_specification() {
        use datafusion_expr::expr::WindowFunction as LogicalWindowFunction;
        use datafusion_expr::{
            col as lcol, lit as llit, Expr, ExprFunctionExt, LogicalPlanBuilder,
        };

        let values = LogicalPlanBuilder::values(vec![
            vec![llit("a"), llit(1i64)],
            vec![llit("a"), llit(2i64)],
            vec![llit("b"), llit(3i64)],
        ])
        .unwrap()
        .build()
        .unwrap();
        let by_k = Expr::from(LogicalWindowFunction::new(row_number_udwf(), vec![]))
            .partition_by(vec![lcol("column1")])
            .order_by(vec![lcol("column2").sort(true, true)])
            .window_frame(default_frame())
            .build()
            .unwrap()
            .alias("rn");
        let whole = Expr::from(LogicalWindowFunction::new(
            sum_udaf(),
            vec![lcol("column2")],
        ))
        .window_frame(whole_partition())
        .build()
        .unwrap()
        .alias("total");
        let also_by_k = Expr::from(LogicalWindowFunction::new(rank_udwf(), vec![]))
            .partition_by(vec![lcol("column1")])
            .order_by(vec![lcol("column2").sort(true, true)])
            .window_frame(default_frame())
            .build()
            .unwrap()
            .alias("rk");
        let plan = LogicalPlanBuilder::from(values)
            .window(vec![by_k, whole, also_by_k])
            .unwrap()
            .build()
            .unwrap();
        let physical = crate::planner::PhysicalPlanner::new(4)
            .create_physical_plan(&plan)
            .unwrap();
        let text = crate::plan::display_plan(physical.as_ref());
        let lines: Vec<&str> = text.lines().map(|l| l.trim_start()).collect();
        assert!(lines[0].starts_with("ProjectExec"), "{text}");
        assert!(
            lines[1].starts_with(
                "WindowExec: [total ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING]"
            ),
            "{text}"
        );
        assert!(lines[2].starts_with("ExchangeExec"), "{text}");
        assert!(
            lines[3].starts_with(
                "WindowExec: [rn PARTITION BY [column1@0] ORDER BY [column2@1 ASC NULLS FIRST]"
            ),
            "{text}"
        );
        assert!(lines[3].contains(", rk PARTITION BY"), "{text}");
        assert!(
            lines[4]
                .starts_with("SortExec: [column1@0 ASC NULLS FIRST, column2@1 ASC NULLS FIRST]"),
            "{text}"
        );
        assert!(lines[5].starts_with("ExchangeExec"), "{text}");
        let names: Vec<String> = physical
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, strings(&["column1", "column2", "rn", "total", "rk"]));
    }

    #[test]
    fn ignore_nulls_and_descending_range_offsets() {
        let exec = WindowExec::try_new(
            partition_by_k(),
            order_by_v(),
            vec![WindowFunctionCall {
                ignore_nulls: true,
                frame: whole_partition(),
                ..udwf(first_value_udwf(), vec![v()], "first_value(v) IGNORE NULLS")
            }],
            sample(),
        )
        .unwrap();
        assert_eq!(
            window_columns(&exec)[0],
            strings(&["5", "5", "1", "1", "1", "1", "7", "7"])
        );

        // Partition `a` sorted by v DESC: 3, 2, 2, 1. RANGE 1 PRECEDING means v + 1 here.
        let rows = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(vec!["a"; 4])),
                Arc::new(Int64Array::from(vec![3, 2, 2, 1])),
                Arc::new(Int64Array::from(vec![0, 1, 2, 3])),
            ],
        )
        .unwrap();
        let frame = WindowFrame::new_bounds(
            WindowFrameUnits::Range,
            WindowFrameBound::Preceding(ScalarValue::Int64(Some(1))),
            WindowFrameBound::CurrentRow,
        );
        let exec = WindowExec::try_new(
            partition_by_k(),
            vec![SortKey {
                expr: v(),
                ascending: false,
                nulls_first: false,
            }],
            vec![udaf(sum_udaf(), frame, "sum(v)")],
            MemoryExec::new(schema(), vec![vec![rows]]),
        )
        .unwrap();
        assert_eq!(window_columns(&exec)[0], strings(&["3", "7", "7", "5"]));
    }
}
