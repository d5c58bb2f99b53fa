//! Window functions: `f(...) OVER (PARTITION BY ... ORDER BY ... frame)`, bound to
//! `Expr::WindowFunction` with Spark's default frames.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::Field;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::{WindowFunction, WindowFunctionParams};
use datafusion_expr::type_coercion::functions::fields_with_udf;
use datafusion_expr::{
    Expr, SortExpr, WindowFrame, WindowFrameBound, WindowFrameUnits, WindowFunctionDefinition,
    WindowUDF,
};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::aggregate::is_rewritten_aggregate;
use super::call::{Call, CallArg};
use super::expr::cast_to;
use super::function::FunctionRegistry;
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;

/// Window functions (ranking, offsets, values) by Spark name.
pub(crate) fn window_function(name: &str) -> Option<Arc<WindowUDF>> {
    static FUNCTIONS: OnceLock<Vec<Arc<WindowUDF>>> = OnceLock::new();
    FUNCTIONS
        .get_or_init(datafusion_functions_window::all_default_window_functions)
        .iter()
        .find(|f| {
            f.name().eq_ignore_ascii_case(name)
                || f.aliases().iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .cloned()
}

impl Binder<'_> {
    /// Resolves a SELECT's `WINDOW w1 AS (...), w2 AS w1` clause into window specifications.
    pub(crate) fn resolve_named_windows(
        &self,
        definitions: &[ast::NamedWindowDefinition],
    ) -> Result<BTreeMap<String, ast::WindowSpec>> {
        let mut windows: BTreeMap<String, ast::WindowSpec> = BTreeMap::new();
        for ast::NamedWindowDefinition(name, expr) in definitions {
            let key = name.value.to_lowercase();
            if windows.contains_key(&key) {
                return Err(EmberError::analysis(format!(
                    "The window '{name}' is defined twice in the WINDOW clause; give each window its own name"
                )));
            }
            let spec = match expr {
                ast::NamedWindowExpr::WindowSpec(spec) => spec.clone(),
                ast::NamedWindowExpr::NamedWindow(other) => windows
                    .get(&other.value.to_lowercase())
                    .cloned()
                    .ok_or_else(|| {
                        EmberError::analysis(format!(
                            "Window '{other}' referenced by window '{name}' is not defined before it in the WINDOW clause"
                        ))
                    })?,
            };
            windows.insert(key, spec);
        }
        Ok(windows)
    }

    /// The specification of `OVER w`, from the innermost SELECT's WINDOW clause.
    fn named_window(&self, name: &ast::Ident, node: &ast::Expr) -> Result<ast::WindowSpec> {
        let key = name.value.to_lowercase();
        let spec = self
            .named_windows
            .last()
            .and_then(|windows| windows.get(&key))
            .cloned();
        spec.ok_or_else(|| {
            let defined: Vec<String> = self
                .named_windows
                .last()
                .map(|w| w.keys().cloned().collect())
                .unwrap_or_default();
            let hint = if defined.is_empty() {
                format!(
                    "add WINDOW {name} AS (PARTITION BY ... ORDER BY ...) after the HAVING clause"
                )
            } else {
                format!("the WINDOW clause defines {}", defined.join(", "))
            };
            error_at(node, format!("Window '{name}' is not defined; {hint}"))
        })
    }

    /// `OVER (w ORDER BY ...)`: the named window with the parts the inline specification adds.
    fn extend_named_window(
        &self,
        spec: &ast::WindowSpec,
        node: &ast::Expr,
    ) -> Result<ast::WindowSpec> {
        let name = spec
            .window_name
            .as_ref()
            .expect("window_name checked by caller");
        let mut base = self.named_window(name, node)?;
        if !spec.partition_by.is_empty() {
            if !base.partition_by.is_empty() {
                return Err(error_at(
                    node,
                    format!(
                        "Window '{name}' already has a PARTITION BY; it cannot be given another"
                    ),
                ));
            }
            base.partition_by = spec.partition_by.clone();
        }
        if !spec.order_by.is_empty() {
            if !base.order_by.is_empty() {
                return Err(error_at(
                    node,
                    format!("Window '{name}' already has an ORDER BY; it cannot be given another"),
                ));
            }
            base.order_by = spec.order_by.clone();
        }
        if spec.window_frame.is_some() {
            base.window_frame = spec.window_frame.clone();
        }
        base.window_name = None;
        Ok(base)
    }

    pub(crate) fn bind_window_function(
        &mut self,
        call: &Call,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let name = call.name.clone();
        let resolved;
        let spec = match call.over {
            Some(ast::WindowType::WindowSpec(spec)) if spec.window_name.is_none() => spec,
            Some(ast::WindowType::WindowSpec(spec)) => {
                resolved = self.extend_named_window(spec, node)?;
                &resolved
            }
            Some(ast::WindowType::NamedWindow(w)) => {
                resolved = self.named_window(w, node)?;
                &resolved
            }
            None => return Err(EmberError::internal("bind_window_function without OVER")),
        };
        let distinct = call.distinct;
        if !call.order_by.is_empty() {
            return Err(error_at(
                node,
                format!(
                    "{name} cannot take both WITHIN GROUP (ORDER BY ...) and OVER (...); order the window instead"
                ),
            ));
        }
        if call.null_treatment.is_some()
            && !matches!(
                name.as_str(),
                "lag"
                    | "lead"
                    | "nth_value"
                    | "first_value"
                    | "last_value"
                    | "first"
                    | "last"
                    | "any_value"
            )
        {
            return Err(error_at(
                node,
                format!(
                    "IGNORE NULLS / RESPECT NULLS is not allowed in {name}; it is for first, last, first_value, last_value, any_value, nth_value, lag and lead"
                ),
            ));
        }
        if window_function(&name).is_none()
            && (is_rewritten_aggregate(&name)
                || call.filter.is_some()
                || matches!(name.as_str(), "avg" | "mean"))
        {
            // Spark's aggregates that Ember builds from others (and any aggregate with FILTER,
            // and avg, which is sum / count for decimals): bind the call as an aggregate, then
            // put each aggregate under the window.
            let aggregate = self.bind_aggregate(call, schema, node, true)?;
            let (partition_by, order_by, window_frame) =
                self.bind_window_spec(spec, schema, node)?;
            // Top down, and not into the arguments: an aggregate there (`avg(max(x)) OVER ()`)
            // belongs to the GROUP BY below the window.
            let windowed = aggregate.transform_down(|e| match e {
                Expr::AggregateFunction(call) => Ok(Transformed::new(
                    Expr::WindowFunction(Box::new(WindowFunction {
                        fun: WindowFunctionDefinition::AggregateUDF(call.func),
                        params: WindowFunctionParams {
                            args: call.params.args,
                            partition_by: partition_by.clone(),
                            order_by: order_by.clone(),
                            window_frame: window_frame.clone(),
                            filter: call.params.filter,
                            null_treatment: call.params.null_treatment,
                            distinct: call.params.distinct,
                        },
                    })),
                    true,
                    TreeNodeRecursion::Jump,
                )),
                other => Ok(Transformed::no(other)),
            })?;
            return Ok(windowed.data);
        }
        let mut args = Vec::new();
        for arg in &call.args {
            match arg {
                CallArg::Star if name == "count" => {
                    args.push(Expr::Literal(ScalarValue::Int32(Some(1)), None))
                }
                CallArg::Expr(e) => args.push(self.bind_expr(e, schema)?),
                CallArg::Star => {
                    return Err(error_at(
                        node,
                        format!("'*' is not an argument of {name}; only count(*) takes it"),
                    ))
                }
            }
        }
        let fun = if let Some(udwf) = window_function(&name) {
            WindowFunctionDefinition::WindowUDF(udwf)
        } else if let Some(udaf) = FunctionRegistry::global().aggregate(&name) {
            WindowFunctionDefinition::AggregateUDF(udaf)
        } else {
            return Err(error_at(
                node,
                format!("'{name}' is not a window function; use row_number, rank, dense_rank, percent_rank, cume_dist, ntile, lag, lead, first_value, last_value, nth_value or an aggregate"),
            ));
        };
        if distinct && !matches!(fun, WindowFunctionDefinition::AggregateUDF(_)) {
            return Err(error_at(node, format!("DISTINCT is not allowed in {name}")));
        }
        // Coerce arguments to the function's signature, as calls outside OVER are.
        let fields = args
            .iter()
            .map(|a| {
                a.fast_type(schema)
                    .map(|t| Arc::new(Field::new("arg", t, true)))
            })
            .collect::<datafusion_common::Result<Vec<_>>>()?;
        let coerced = match &fun {
            WindowFunctionDefinition::AggregateUDF(f) => fields_with_udf(&fields, f.as_ref()),
            WindowFunctionDefinition::WindowUDF(f) => fields_with_udf(&fields, f.as_ref()),
        }
        .map_err(|_| {
            error_at(
                node,
                format!("{name} cannot take arguments of these types in '{node}'"),
            )
        })?;
        let args = args
            .into_iter()
            .zip(coerced)
            .map(|(a, f)| cast_to(a, f.data_type(), schema))
            .collect::<Result<Vec<_>>>()?;

        let (partition_by, order_by, window_frame) = self.bind_window_spec(spec, schema, node)?;
        let window = Expr::WindowFunction(Box::new(WindowFunction {
            fun,
            params: WindowFunctionParams {
                args,
                partition_by,
                order_by,
                window_frame,
                filter: None,
                null_treatment: call.null_treatment.map(|t| match t {
                    ast::NullTreatment::IgnoreNulls => {
                        datafusion_expr::expr::NullTreatment::IgnoreNulls
                    }
                    ast::NullTreatment::RespectNulls => {
                        datafusion_expr::expr::NullTreatment::RespectNulls
                    }
                }),
                distinct,
            },
        }));
        // Spark's ranking functions return int (DataFusion's return unsigned 64-bit
        // integers, which `rank() - 1` would wrap around).
        if matches!(
            name.as_str(),
            "row_number" | "rank" | "dense_rank" | "ntile"
        ) {
            return Ok(Expr::Cast(datafusion_expr::expr::Cast::new(
                Box::new(window),
                arrow::datatypes::DataType::Int32,
            )));
        }
        Ok(window)
    }

    /// PARTITION BY, ORDER BY and the frame of a window, with Spark's default frame.
    fn bind_window_spec(
        &mut self,
        spec: &ast::WindowSpec,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<(Vec<Expr>, Vec<SortExpr>, WindowFrame)> {
        let ast::WindowSpec {
            // Resolved into this specification by the caller.
            window_name: _,
            partition_by,
            order_by: order_items,
            window_frame,
        } = spec;
        // Spark partitions and orders doubles with -0.0 = 0.0 and NaN = NaN (peers for ranks
        // and frames).
        let partition_by = partition_by
            .iter()
            .map(|e| {
                let bound = self.bind_expr(e, schema)?;
                super::organization::check_groupable(&bound, schema, e)?;
                super::organization::sort_key(bound, schema)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut order_by = Vec::new();
        for item in order_items {
            super::organization::check_order_by_expr(item)?;
            let asc = item.options.asc.unwrap_or(true);
            let bound = self.bind_expr(&item.expr, schema)?;
            super::organization::check_sortable(&bound, schema, &item.expr)?;
            order_by.push(SortExpr::new(
                super::organization::sort_key(bound, schema)?,
                asc,
                item.options.nulls_first.unwrap_or(asc),
            ));
        }
        // Spark's default frame: with ORDER BY, RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW;
        // without, the whole partition.
        let window_frame = match window_frame {
            Some(frame) => convert_frame(frame, node)?,
            None => WindowFrame::new(if order_by.is_empty() {
                None
            } else {
                Some(false)
            }),
        };
        if window_frame.units == WindowFrameUnits::Range
            && order_by.len() != 1
            && !is_unbounded_or_current(&window_frame)
        {
            return Err(error_at(
                node,
                "a RANGE frame with offsets needs exactly one ORDER BY expression",
            ));
        }
        Ok((partition_by, order_by, window_frame))
    }
}

fn is_unbounded_or_current(frame: &WindowFrame) -> bool {
    let simple = |b: &WindowFrameBound| match b {
        WindowFrameBound::CurrentRow => true,
        WindowFrameBound::Preceding(v) | WindowFrameBound::Following(v) => v.is_null(),
    };
    simple(&frame.start_bound) && simple(&frame.end_bound)
}

fn convert_frame(frame: &ast::WindowFrame, node: &ast::Expr) -> Result<WindowFrame> {
    let units = match frame.units {
        ast::WindowFrameUnits::Rows => WindowFrameUnits::Rows,
        ast::WindowFrameUnits::Range => WindowFrameUnits::Range,
        ast::WindowFrameUnits::Groups => {
            return Err(EmberError::NotSupported("GROUPS frames".into()))
        }
    };
    let bound = |b: &ast::WindowFrameBound| -> Result<WindowFrameBound> {
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => WindowFrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => {
                WindowFrameBound::Preceding(ScalarValue::UInt64(None))
            }
            ast::WindowFrameBound::Following(None) => {
                WindowFrameBound::Following(ScalarValue::UInt64(None))
            }
            ast::WindowFrameBound::Preceding(Some(e)) => {
                WindowFrameBound::Preceding(frame_offset(e, units, node)?)
            }
            ast::WindowFrameBound::Following(Some(e)) => {
                WindowFrameBound::Following(frame_offset(e, units, node)?)
            }
        })
    };
    let start = bound(&frame.start_bound)?;
    let end = match &frame.end_bound {
        Some(b) => bound(b)?,
        None => WindowFrameBound::CurrentRow,
    };
    if matches!(&start, WindowFrameBound::Following(v) if v.is_null()) {
        return Err(error_at(
            node,
            "a window frame cannot start at UNBOUNDED FOLLOWING",
        ));
    }
    if matches!(&end, WindowFrameBound::Preceding(v) if v.is_null()) {
        return Err(error_at(
            node,
            "a window frame cannot end at UNBOUNDED PRECEDING",
        ));
    }
    if bound_position(&start) > bound_position(&end) {
        return Err(error_at(
            node,
            format!(
                "Window frame upper bound '{end}' does not follow the lower bound '{start}'; write the earlier bound first, e.g. BETWEEN 1 PRECEDING AND 1 FOLLOWING"
            ),
        ));
    }
    Ok(WindowFrame::new_bounds(units, start, end))
}

/// Where a frame bound lies relative to the current row (negative before it), to check that a
/// frame's start does not come after its end.
fn bound_position(bound: &WindowFrameBound) -> f64 {
    let offset = |v: &ScalarValue| match v {
        ScalarValue::UInt64(Some(n)) => *n as f64,
        ScalarValue::Int64(Some(n)) => *n as f64,
        ScalarValue::Float64(Some(n)) => *n,
        _ => f64::INFINITY,
    };
    match bound {
        WindowFrameBound::CurrentRow => 0.0,
        WindowFrameBound::Preceding(v) => -offset(v),
        WindowFrameBound::Following(v) => offset(v),
    }
}

/// A frame offset: a non-negative whole number of rows, or a numeric distance for RANGE.
fn frame_offset(
    expr: &ast::Expr,
    units: WindowFrameUnits,
    node: &ast::Expr,
) -> Result<ScalarValue> {
    let text = match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.clone(),
            ast::Value::SingleQuotedString(s) => s.clone(),
            other => {
                return Err(error_at(
                    node,
                    format!("window frame offset must be a number, got {other}"),
                ))
            }
        },
        other => {
            return Err(error_at(
                node,
                format!("window frame offset must be a constant number, got {other}"),
            ))
        }
    };
    match units {
        WindowFrameUnits::Rows => text
            .parse::<u64>()
            .map(|n| ScalarValue::UInt64(Some(n)))
            .map_err(|_| {
                error_at(
                    node,
                    format!("ROWS frame offset must be a non-negative whole number, got {text}"),
                )
            }),
        _ => {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(ScalarValue::Int64(Some(n)));
            }
            text.parse::<f64>()
                .map(|n| ScalarValue::Float64(Some(n)))
                .map_err(|_| {
                    error_at(
                        node,
                        format!("RANGE frame offset must be a number, got {text}"),
                    )
                })
        }
    }
}
