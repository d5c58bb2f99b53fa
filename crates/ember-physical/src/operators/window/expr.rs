//! From a [`WindowFunctionCall`] to DataFusion's `WindowExpr`: frame checks and coercion,
//! and the evaluators for aggregates that cannot retract rows.

use std::sync::Arc;

use arrow::array::{new_empty_array, Array, ArrayRef, AsArray};
use arrow::compute::{filter, SortOptions};
use arrow::datatypes::{DataType, FieldRef, SchemaRef};
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

use super::WindowFunctionCall;

use crate::expressions::{evaluate, evaluate_predicate, PhysicalExprRef};
use crate::operators::sort::SortKey;

/// Checks a frame's offsets and casts numeric RANGE offsets to the ORDER BY key's type, so
/// that `RANGE BETWEEN 1 PRECEDING AND CURRENT ROW` works over any numeric key.
pub(super) fn coerce_frame(
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

pub(super) fn create_window_expr(
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
pub(super) enum WindowColumn {
    /// DataFusion's window expressions: window UDFs, growing and retracting aggregates.
    Expr(Arc<dyn WindowExpr>),
    /// A growing aggregate evaluated over the window partition's rows in reverse order (a
    /// frame that ends at UNBOUNDED FOLLOWING, mirrored), its values reversed back.
    Reversed(Arc<dyn WindowExpr>),
    /// An aggregate over a sliding frame that cannot retract rows.
    Recomputed(Arc<RecomputedAggregate>),
}

impl WindowColumn {
    pub(super) fn field(&self) -> Result<FieldRef> {
        match self {
            WindowColumn::Expr(expr) | WindowColumn::Reversed(expr) => Ok(expr.field()?),
            WindowColumn::Recomputed(aggregate) => Ok(aggregate.aggregate.field()),
        }
    }

    /// The column's values for `window_partition`, the rows of one window partition.
    pub(super) fn evaluate(&self, window_partition: &RecordBatch) -> Result<ArrayRef> {
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
pub(super) struct RecomputedAggregate {
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
