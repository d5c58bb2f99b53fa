//! Spark's ANSI interval literals and arithmetic.
//!
//! Literals: `INTERVAL '1-2' YEAR TO MONTH`, `INTERVAL '3' DAY`, `INTERVAL 3 DAYS`,
//! `INTERVAL '3 04:05:06.5' DAY TO SECOND`, `INTERVAL '10:20' HOUR TO MINUTE`, and the
//! multi-unit forms `INTERVAL 3 DAYS 4 HOURS` / `INTERVAL '1 year 2 months'`. Year and month
//! units make a year-month interval, week to microsecond units a day-time one; mixing the
//! two is an error, as in Spark 3.2+. Each literal carries its fields (`day`,
//! `year to month`, ...) for Spark's type names.
//!
//! Arithmetic (Spark's `ResolveBinaryArithmetic`): date ± year-month interval (months added
//! as `add_months`); date ± a day interval is a date, ± any other day-time interval a
//! timestamp; timestamp ± interval; interval ± interval of one family; interval × / ÷
//! number; `-interval`; `date - date` a day interval; `timestamp - timestamp` a day-to-second
//! interval.

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion_common::metadata::FieldMetadata;
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::{BinaryExpr, Expr, ExprSchemable, Operator};
use ember_common::Result;
use sqlparser::ast;

use super::expr::cast_to;
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;
use crate::functions::calendar_interval::is_calendar;
use crate::functions::interval::{
    self, is_day_time, is_year_month, parse_interval, Unit, MICROS_PER_DAY,
};
use crate::functions::spark_udf_by_name;
use crate::types::spark_type_name;

/// A literal of an interval with its fields.
pub(super) fn interval_expr(value: ScalarValue, fields: &str) -> Expr {
    let metadata: BTreeMap<String, String> =
        [(interval::INTERVAL_FIELDS.to_string(), fields.to_string())].into();
    Expr::Literal(value, Some(FieldMetadata::from(metadata)))
}

/// The value and fields of an `INTERVAL ...` literal.
fn interval_value(value: &ast::Interval, node: &ast::Expr) -> Result<(ScalarValue, String)> {
    let ast::Interval {
        value,
        leading_field,
        // `INTERVAL '3' DAY(2)`: the digits the field may have, checked by nothing here.
        leading_precision: _,
        last_field,
        fractional_seconds_precision,
    } = value;
    if fractional_seconds_precision.is_some() {
        return Err(crate::error::not_supported_at(
            node,
            "a fractional seconds precision in an interval",
        ));
    }
    let text = match value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            ast::Value::Number(n, _) => n.clone(),
            other => {
                return Err(error_at(
                    node,
                    format!("expected a number or a string in the interval, found {other}"),
                ))
            }
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => format!("-{expr}").replace('\'', ""),
        other => {
            return Err(error_at(
                node,
                format!("expected a number or a string in the interval, found {other}"),
            ))
        }
    };
    let unit = |field: &ast::DateTimeField| {
        Unit::parse(&field.to_string()).ok_or_else(|| {
            error_at(
                node,
                format!("unknown interval unit '{field}'; use YEAR, MONTH, WEEK, DAY, HOUR, MINUTE or SECOND"),
            )
        })
    };
    let leading = leading_field.as_ref().map(unit).transpose()?;
    let last = last_field.as_ref().map(unit).transpose()?;
    parse_interval(&text, leading, last).map_err(|message| error_at(node, message))
}

/// An `INTERVAL ...` literal.
pub(crate) fn interval_literal(value: &ast::Interval, node: &ast::Expr) -> Result<Expr> {
    let (value, fields) = interval_value(value, node)?;
    Ok(interval_expr(value, &fields))
}

/// Spark's name of an interval literal's column: its ANSI text (`INTERVAL 3 DAYS` is
/// `INTERVAL '3' DAY`); `None` when the literal does not parse.
pub(super) fn interval_name(interval: &ast::Interval, node: &ast::Expr) -> Option<String> {
    match interval_value(interval, node).ok()? {
        (ScalarValue::IntervalYearMonth(Some(m)), fields) => {
            Some(interval::ansi_year_month(m, &fields))
        }
        (ScalarValue::DurationMicrosecond(Some(m)), fields) => {
            Some(interval::ansi_day_time(m, &fields))
        }
        _ => None,
    }
}

/// The interval fields of a bound expression (from its field's metadata).
fn fields_of(expr: &Expr, schema: &DFSchema) -> Option<String> {
    let (_, field) = expr.to_field(schema).ok()?;
    interval::fields_of(&field).map(str::to_string)
}

/// Gives `expr` the interval fields `fields` (for Spark's type name).
fn with_fields(expr: Expr, fields: &str) -> Expr {
    call_internal(
        interval::FIELDS_UDF,
        vec![
            expr,
            Expr::Literal(ScalarValue::Utf8(Some(fields.to_string())), None),
        ],
        true,
    )
}

fn call_internal(name: &str, args: Vec<Expr>, ansi: bool) -> Expr {
    let udf = spark_udf_by_name(name, ansi)
        .unwrap_or_else(|| unreachable!("{name} is an Ember function"))
        .into_udf();
    Expr::ScalarFunction(ScalarFunction::new_udf(udf, args))
}

/// The wider of two fields ranges of one family (`day` and `hour` make `day to hour`).
fn widen(a: Option<String>, b: Option<String>, year_month: bool) -> String {
    let order = ["year", "month", "day", "hour", "minute", "second"];
    let default = if year_month {
        "year to month"
    } else {
        "day to second"
    };
    let bounds = |f: &Option<String>| -> (usize, usize) {
        let f = f.as_deref().unwrap_or(default);
        let (s, e) = f.split_once(" to ").unwrap_or((f, f));
        let pos = |x: &str| order.iter().position(|o| *o == x).unwrap_or(0);
        (pos(s), pos(e))
    };
    let (a0, a1) = bounds(&a);
    let (b0, b1) = bounds(&b);
    let (s, e) = (a0.min(b0), a1.max(b1));
    if s == e {
        order[s].to_string()
    } else {
        format!("{} to {}", order[s], order[e])
    }
}

/// `-interval`: zero minus it, keeping its fields.
pub(super) fn negate_interval(value: Expr, data_type: &DataType, schema: &DFSchema) -> Expr {
    let zero = if is_year_month(data_type) {
        ScalarValue::IntervalYearMonth(Some(0))
    } else {
        ScalarValue::DurationMicrosecond(Some(0))
    };
    let fields = fields_of(&value, schema);
    let negated = Expr::BinaryExpr(BinaryExpr::new(
        Box::new(Expr::Literal(zero, None)),
        Operator::Minus,
        Box::new(value),
    ));
    match fields {
        Some(f) => with_fields(negated, &f),
        None => negated,
    }
}

/// Gives every value of an interval column of VALUES the same fields, the widest of the
/// column's (`INTERVAL '1' DAY` and `INTERVAL '1' HOUR` make `interval day to hour`), as
/// Spark types the column.
pub(super) fn unify_values_fields(rows: Vec<Vec<Expr>>, schema: &DFSchema) -> Vec<Vec<Expr>> {
    let width = rows.first().map(Vec::len).unwrap_or(0);
    let mut rows = rows;
    for column in 0..width {
        let types: Vec<DataType> = rows
            .iter()
            .map(|r| r[column].fast_type(schema).unwrap_or(DataType::Null))
            .collect();
        let year_month = types.iter().any(is_year_month);
        if !year_month && !types.iter().any(is_day_time) {
            continue;
        }
        let fields: Vec<Option<String>> =
            rows.iter().map(|r| fields_of(&r[column], schema)).collect();
        if fields.windows(2).all(|w| w[0] == w[1]) && fields[0].is_some() {
            continue;
        }
        let widest = fields
            .iter()
            .filter(|f| f.is_some())
            .cloned()
            .reduce(|a, b| Some(widen(a, b, year_month)))
            .flatten()
            .unwrap_or_else(|| {
                if year_month {
                    "year to month".into()
                } else {
                    "day to second".into()
                }
            });
        for row in rows.iter_mut() {
            let expr = std::mem::replace(&mut row[column], Expr::Literal(ScalarValue::Null, None));
            row[column] = match expr {
                Expr::Literal(value, _) => interval_expr(value, &widest),
                other => with_fields(other, &widest),
            };
        }
    }
    rows
}

/// The aggregate outputs that keep their argument's interval fields (`sum`, `min`, `max`,
/// `first`, `last`, `any_value` of an `interval day` is an `interval day`).
pub(super) fn aggregate_interval_fields(
    aggregates: &[(Expr, datafusion_common::Column)],
    input: &DFSchema,
) -> Vec<(datafusion_common::Column, String)> {
    const KEEPING: &[&str] = &[
        "sum",
        "min",
        "max",
        "first_value",
        "last_value",
        "first",
        "last",
        "any_value",
    ];
    aggregates
        .iter()
        .filter_map(|(expr, column)| {
            let Expr::AggregateFunction(call) = expr else {
                return None;
            };
            let name = call.func.name().to_lowercase();
            if !KEEPING.contains(&name.as_str()) {
                return None;
            }
            let fields = fields_of(call.params.args.first()?, input)?;
            Some((column.clone(), fields))
        })
        .collect()
}

/// `expr` with the columns of `fields` given their interval fields.
pub(super) fn with_aggregate_fields(
    expr: Expr,
    fields: &[(datafusion_common::Column, String)],
) -> Expr {
    use datafusion_common::tree_node::{Transformed, TreeNode};
    if fields.is_empty() {
        return expr;
    }
    expr.transform(|e| {
        Ok(match &e {
            Expr::Column(c) => match fields.iter().find(|(column, _)| column == c) {
                Some((_, f)) => Transformed::yes(with_fields(e, f)),
                None => Transformed::no(e),
            },
            _ => Transformed::no(e),
        })
    })
    .map(|t| t.data)
    .unwrap_or_else(|e| unreachable!("the rewrite does not fail: {e}"))
}

/// `l op r` with a TIME on one side (Spark 4.1): TIME ± a day-time interval is a TIME inside
/// the day, TIME - TIME an `interval hour to second`; comparisons are left to the caller;
/// anything else is Spark's type mismatch.
fn bind_time_arithmetic(
    l: &Expr,
    op: Operator,
    r: &Expr,
    (lt, rt): (&DataType, &DataType),
    schema: &DFSchema,
    node: &ast::Expr,
) -> Result<Option<Expr>> {
    let is_time = crate::functions::time::is_time;
    let is_string = crate::functions::is_string;
    let micros = |e: &Expr| cast_to(e.clone(), &DataType::Int64, schema);
    match op {
        Operator::Eq
        | Operator::NotEq
        | Operator::Lt
        | Operator::LtEq
        | Operator::Gt
        | Operator::GtEq
        | Operator::IsNotDistinctFrom
        | Operator::IsDistinctFrom => Ok(None),
        Operator::Plus | Operator::Minus if is_time(lt) && is_day_time(rt) => {
            let span = if op == Operator::Minus {
                negate_interval(r.clone(), rt, schema)
            } else {
                r.clone()
            };
            Ok(Some(call_internal(
                "spark_time_add_interval",
                vec![l.clone(), span],
                true,
            )))
        }
        Operator::Plus if is_day_time(lt) && is_time(rt) => Ok(Some(call_internal(
            "spark_time_add_interval",
            vec![r.clone(), l.clone()],
            true,
        ))),
        Operator::Minus
            if is_time(lt) && (is_time(rt) || is_string(rt)) || is_string(lt) && is_time(rt) =>
        {
            let time = crate::functions::time::time();
            let l = cast_to(l.clone(), &time, schema)?;
            let r = cast_to(r.clone(), &time, schema)?;
            let difference = Expr::BinaryExpr(BinaryExpr::new(
                Box::new(micros(&l)?),
                Operator::Minus,
                Box::new(micros(&r)?),
            ));
            Ok(Some(with_fields(
                Expr::Cast(datafusion_expr::Cast::new(
                    Box::new(difference),
                    interval::day_time(),
                )),
                "hour to second",
            )))
        }
        _ => Err(error_at(
            node,
            format!(
                "[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve \"{node}\" due to data type mismatch: the left and right operands of the binary operator have incompatible types (\"{}\" and \"{}\")",
                crate::types::spark_type_sql(lt),
                crate::types::spark_type_sql(rt)
            ),
        )),
    }
}

/// `ltz ± day-time interval`: whole days on the wall clock in the session zone, the rest on
/// the instant (Spark's `timestampAddDayTime`).
fn add_day_time(ts: Expr, op: Operator, span: Expr, schema: &DFSchema) -> Expr {
    let span = if op == Operator::Minus {
        negate_interval(span, &interval::day_time(), schema)
    } else {
        span
    };
    call_internal("spark_timestamp_add_day_time", vec![ts, span], true)
}

/// `CAST(interval AS number)` for an interval of one field (`interval hour`): the number of
/// its units (seconds with their fraction), then cast on; `None` for other casts.
pub(super) fn interval_to_number(
    value: &Expr,
    to: &DataType,
    ansi: bool,
    schema: &DFSchema,
    node: &ast::Expr,
) -> Result<Option<Expr>> {
    let t = value.fast_type(schema)?;
    if !(is_year_month(&t) || is_day_time(&t))
        || !(to.is_integer() || matches!(to, DataType::Decimal128(_, _)))
    {
        return Ok(None);
    }
    let fields = fields_of(value, schema).unwrap_or_else(|| {
        if is_year_month(&t) {
            "year to month".into()
        } else {
            "day to second".into()
        }
    });
    if fields.contains(" to ") {
        return Err(error_at(
            node,
            format!(
                "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] Cannot resolve '{node}': cannot cast \"INTERVAL {}\" to \"{}\"; only an interval of one field (INTERVAL DAY, INTERVAL MONTH, ...) casts to a number",
                fields.to_uppercase(),
                crate::types::spark_type_sql(to)
            ),
        ));
    }
    let number = call_internal(
        "spark_interval_to_number",
        vec![
            value.clone(),
            Expr::Literal(ScalarValue::Utf8(Some(fields)), None),
        ],
        true,
    );
    let target = ScalarValue::try_from(to)?;
    let udf = crate::functions::ansi::spark_cast(ansi).into_udf();
    Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(
        udf,
        vec![number, Expr::Literal(target, None)],
    ))))
}

/// `CAST(interval AS STRING)`: Spark's ANSI text (`INTERVAL '3' DAY`).
pub(super) fn interval_to_string(value: Expr, schema: &DFSchema) -> Expr {
    let t = value.fast_type(schema).unwrap_or(DataType::Null);
    if is_calendar(&t) {
        return call_internal("spark_calendar_interval_to_string", vec![value], true);
    }
    let fields = fields_of(&value, schema).unwrap_or_else(|| {
        if is_year_month(&t) {
            "year to month".into()
        } else {
            "day to second".into()
        }
    });
    call_internal(
        "spark_interval_to_string",
        vec![value, Expr::Literal(ScalarValue::Utf8(Some(fields)), None)],
        true,
    )
}

/// Spark's name of `fields` (`day to second`).
fn fields_text(fields: &ast::IntervalFields) -> String {
    fields.to_string().to_lowercase()
}

impl Binder<'_> {
    /// `CAST(v AS INTERVAL)`: Spark's legacy calendar interval, from its text (NULL when the
    /// text is not an interval, in every mode, as Spark's cast).
    fn bind_calendar_interval_cast(
        &mut self,
        v: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let from = v.fast_type(schema)?;
        if is_calendar(&from) {
            return Ok(v);
        }
        if super::super::functions::is_string(&from) || from.is_null() {
            let text = cast_to(v, &DataType::Utf8, schema)?;
            return Ok(call_internal(
                "spark_string_to_calendar_interval",
                vec![text],
                true,
            ));
        }
        Err(error_at(
            node,
            format!(
                "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] Cannot resolve '{node}': cannot cast \"{}\" to \"INTERVAL\"; only strings cast to the legacy calendar interval",
                spark_type_name(&from).to_uppercase()
            ),
        ))
    }

    /// `CAST(v AS INTERVAL <fields>)`: from a string (the value in the target's format, or a
    /// whole interval literal), or from an interval of the same family and fields.
    pub(super) fn bind_interval_cast(
        &mut self,
        v: Expr,
        fields: Option<&ast::IntervalFields>,
        try_cast: bool,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let Some(fields) = fields else {
            return self.bind_calendar_interval_cast(v, schema, node);
        };
        let target = fields_text(fields);
        let year_month = matches!(
            fields,
            ast::IntervalFields::Year
                | ast::IntervalFields::Month
                | ast::IntervalFields::YearToMonth
        );
        let from = v.fast_type(schema)?;
        if super::super::functions::is_string(&from) || from.is_null() {
            let name = if year_month {
                "spark_string_to_ym_interval"
            } else {
                "spark_string_to_dt_interval"
            };
            let ansi = self.ansi() && !try_cast;
            let text = cast_to(v, &DataType::Utf8, schema)?;
            return Ok(with_fields(
                call_internal(
                    name,
                    vec![
                        text,
                        Expr::Literal(ScalarValue::Utf8(Some(target.clone())), None),
                    ],
                    ansi,
                ),
                &target,
            ));
        }
        let same_family =
            (year_month && is_year_month(&from)) || (!year_month && is_day_time(&from));
        if same_family {
            let source = fields_of(&v, schema);
            let end = |f: &str| f.rsplit(' ').next().unwrap_or(f).to_string();
            let source_end =
                end(source
                    .as_deref()
                    .unwrap_or(if year_month { "month" } else { "second" }));
            if source_end == end(&target) {
                return Ok(with_fields(v, &target));
            }
            return Err(crate::error::not_supported_at(
                node,
                format!(
                    "casting an interval to INTERVAL {} (which drops or adds its smaller fields)",
                    target.to_uppercase()
                ),
            ));
        }
        let single_field = !target.contains(" to ");
        if single_field && (from.is_integer() || matches!(from, DataType::Decimal128(_, _))) {
            // A number of the field's unit (Spark 3.3+).
            let name = if year_month {
                "spark_number_to_ym_interval"
            } else {
                "spark_number_to_dt_interval"
            };
            let ansi = self.ansi() && !try_cast;
            let scale = match from {
                DataType::Decimal128(_, s) => s,
                _ => 0,
            };
            let number = cast_to(v, &DataType::Decimal128(38, scale), schema)?;
            return Ok(with_fields(
                call_internal(
                    name,
                    vec![
                        number,
                        Expr::Literal(ScalarValue::Utf8(Some(target.clone())), None),
                    ],
                    ansi,
                ),
                &target,
            ));
        }
        Err(error_at(
            node,
            format!(
                "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] Cannot resolve '{node}': cannot cast \"{}\" to \"INTERVAL {}\"; numbers cast only to intervals of one field (INTERVAL DAY, INTERVAL MONTH, ...), and intervals of one family to each other",
                spark_type_name(&from).to_uppercase(),
                target.to_uppercase()
            ),
        ))
    }

    /// `l op r` with a legacy calendar interval on one side: Spark's `DateAddInterval`,
    /// `TimeAdd`, interval ± interval, `MultiplyInterval` and `DivideInterval` (comparisons are
    /// refused before, as Spark cannot order it).
    fn bind_calendar_arithmetic(
        &mut self,
        l: &Expr,
        op: Operator,
        r: &Expr,
        (lt, rt): (&DataType, &DataType),
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let ansi = self.ansi();
        let binary = |l: Expr, op: Operator, r: Expr| {
            Expr::BinaryExpr(BinaryExpr::new(Box::new(l), op, Box::new(r)))
        };
        let is_number = |t: &DataType| t.is_numeric() || t.is_null();
        let when = |t: &DataType| matches!(t, DataType::Date32 | DataType::Timestamp(_, _));
        match op {
            Operator::Plus | Operator::Minus if is_calendar(lt) && is_calendar(rt) => {
                Ok(binary(l.clone(), op, r.clone()))
            }
            Operator::Plus | Operator::Minus
                if when(lt) && is_calendar(rt) || op == Operator::Plus && is_calendar(lt) && when(rt) =>
            {
                let (when, span, when_type) =
                    if is_calendar(rt) { (l, r, lt) } else { (r, l, rt) };
                let span = if op == Operator::Minus {
                    Expr::Negative(Box::new(span.clone()))
                } else {
                    span.clone()
                };
                if matches!(when_type, DataType::Date32) {
                    return Ok(call_internal(
                        "spark_date_add_calendar_interval",
                        vec![when.clone(), span],
                        ansi,
                    ));
                }
                Ok(binary(when.clone(), Operator::Plus, span))
            }
            Operator::Multiply | Operator::Divide if is_calendar(lt) && is_number(rt) => {
                let name = if op == Operator::Multiply {
                    "spark_calendar_interval_multiply"
                } else {
                    "spark_calendar_interval_divide"
                };
                let n = cast_to(r.clone(), &DataType::Float64, schema)?;
                Ok(call_internal(name, vec![l.clone(), n], ansi))
            }
            Operator::Multiply if is_number(lt) && is_calendar(rt) => {
                let n = cast_to(l.clone(), &DataType::Float64, schema)?;
                Ok(call_internal("spark_calendar_interval_multiply", vec![r.clone(), n], ansi))
            }
            _ => Err(error_at(
                node,
                format!(
                    "[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve '{node}': {} {op} {} is not defined for the legacy calendar interval",
                    spark_type_name(lt).to_uppercase(),
                    spark_type_name(rt).to_uppercase()
                ),
            )),
        }
    }

    /// Binds `l op r` when an interval is involved, or a date or timestamp is subtracted
    /// from another; `None` for the other operands.
    pub(super) fn bind_interval_arithmetic(
        &mut self,
        l: &Expr,
        op: Operator,
        r: &Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Option<Expr>> {
        let (lt, rt) = (l.fast_type(schema)?, r.fast_type(schema)?);
        let interval = |t: &DataType| is_year_month(t) || is_day_time(t);
        let is_date = |t: &DataType| matches!(t, DataType::Date32);
        let is_timestamp = |t: &DataType| matches!(t, DataType::Timestamp(_, _));
        let ansi = self.ansi();
        let binary = |l: Expr, op: Operator, r: Expr| {
            Expr::BinaryExpr(BinaryExpr::new(Box::new(l), op, Box::new(r)))
        };
        if is_calendar(&lt) || is_calendar(&rt) {
            return self
                .bind_calendar_arithmetic(l, op, r, (&lt, &rt), schema, node)
                .map(Some);
        }
        let is_time = crate::functions::time::is_time;
        if is_time(&lt) || is_time(&rt) {
            return bind_time_arithmetic(l, op, r, (&lt, &rt), schema, node);
        }
        match op {
            Operator::Minus if is_date(&lt) && is_date(&rt) => Ok(Some(with_fields(
                call_internal("spark_date_difference", vec![l.clone(), r.clone()], ansi),
                "day",
            ))),
            Operator::Minus if is_timestamp(&lt) && (is_timestamp(&rt) || is_date(&rt)) || is_date(&lt) && is_timestamp(&rt) => {
                // Instants subtract as instants (an LTZ on either side makes both LTZ, as
                // Spark widens NTZ to LTZ), wall clocks as wall clocks.
                let micros = if crate::types::is_ltz(&lt) || crate::types::is_ltz(&rt) {
                    self.timestamp_types().ltz
                } else {
                    DataType::Timestamp(TimeUnit::Microsecond, None)
                };
                let l = cast_to(l.clone(), &micros, schema)?;
                let r = cast_to(r.clone(), &micros, schema)?;
                Ok(Some(with_fields(binary(l, Operator::Minus, r), "day to second")))
            }
            Operator::Plus | Operator::Minus if interval(&lt) && interval(&rt) => {
                interval::same_family(&lt, &rt).map_err(|e| error_at(node, e))?;
                let fields = widen(fields_of(l, schema), fields_of(r, schema), is_year_month(&lt));
                Ok(Some(with_fields(binary(l.clone(), op, r.clone()), &fields)))
            }
            Operator::Plus | Operator::Minus
                if (is_date(&lt) || is_timestamp(&lt)) && interval(&rt)
                    || op == Operator::Plus && interval(&lt) && (is_date(&rt) || is_timestamp(&rt)) =>
            {
                let (when, span, span_type) = if interval(&rt) { (l, r, &rt) } else { (r, l, &lt) };
                let when_type = when.fast_type(schema)?;
                if is_date(&when_type) && is_day_time(span_type) {
                    if fields_of(span, schema).as_deref() == Some("day") {
                        // date ± INTERVAL n DAY stays a date (Spark's DateAdd of the days).
                        let days = cast_to(
                            binary(
                                cast_to(span.clone(), &DataType::Int64, schema)?,
                                Operator::Divide,
                                Expr::Literal(ScalarValue::Int64(Some(MICROS_PER_DAY)), None),
                            ),
                            &DataType::Int32,
                            schema,
                        )?;
                        let days = if op == Operator::Minus {
                            Expr::Negative(Box::new(days))
                        } else {
                            days
                        };
                        return Ok(Some(self.call_scalar("date_add", vec![when.clone(), days], schema, node)?));
                    }
                    // Any other day-time interval makes the date a timestamp first.
                    let ts = cast_to(when.clone(), &self.timestamp_types().ltz, schema)?;
                    return Ok(Some(add_day_time(ts, op, span.clone(), schema)));
                }
                if crate::types::is_ltz(&when_type) && is_day_time(span_type) {
                    return Ok(Some(add_day_time(when.clone(), op, span.clone(), schema)));
                }
                Ok(Some(binary(when.clone(), op, span.clone())))
            }
            Operator::Multiply | Operator::Divide if interval(&lt) && (rt.is_numeric() || rt.is_null()) => {
                let name = if op == Operator::Multiply { "spark_interval_multiply" } else { "spark_interval_divide" };
                let n = cast_to(r.clone(), &DataType::Float64, schema)?;
                let fields = if is_year_month(&lt) { "year to month" } else { "day to second" };
                Ok(Some(with_fields(call_internal(name, vec![l.clone(), n], ansi), fields)))
            }
            Operator::Multiply if interval(&rt) && (lt.is_numeric() || lt.is_null()) => {
                let n = cast_to(l.clone(), &DataType::Float64, schema)?;
                let fields = if is_year_month(&rt) { "year to month" } else { "day to second" };
                Ok(Some(with_fields(call_internal("spark_interval_multiply", vec![r.clone(), n], ansi), fields)))
            }
            Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq | Operator::IsNotDistinctFrom | Operator::IsDistinctFrom
                if interval(&lt) && interval(&rt) =>
            {
                interval::same_family(&lt, &rt).map_err(|e| error_at(node, e))?;
                Ok(Some(binary(l.clone(), op, r.clone())))
            }
            _ if interval(&lt) || interval(&rt) => Err(error_at(
                node,
                format!(
                    "[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve '{node}': {} {op} {} is not defined for intervals",
                    spark_type_name(&lt),
                    spark_type_name(&rt)
                ),
            )),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::interval::{MICROS_PER_HOUR, MICROS_PER_MINUTE};

    fn shown(text: &str, leading: Option<Unit>, last: Option<Unit>) -> (String, String) {
        let (value, fields) = parse_interval(text, leading, last).unwrap();
        (value.to_string(), fields)
    }

    #[test]
    fn literals_of_every_form() {
        assert_eq!(
            shown("1-2", Some(Unit::Year), Some(Unit::Month)).1,
            "year to month"
        );
        assert_eq!(
            parse_interval("-1-2", Some(Unit::Year), Some(Unit::Month))
                .unwrap()
                .0,
            ScalarValue::IntervalYearMonth(Some(-14))
        );
        assert_eq!(
            parse_interval("3 04:05:06.5", Some(Unit::Day), Some(Unit::Second))
                .unwrap()
                .0,
            ScalarValue::DurationMicrosecond(Some(
                3 * MICROS_PER_DAY + 4 * MICROS_PER_HOUR + 5 * MICROS_PER_MINUTE + 6_500_000
            ))
        );
        assert_eq!(shown("3", Some(Unit::Day), None).1, "day");
        let (value, fields) = parse_interval("3 days 4 hours", None, None).unwrap();
        assert_eq!(fields, "day to hour");
        assert_eq!(
            value,
            ScalarValue::DurationMicrosecond(Some(3 * MICROS_PER_DAY + 4 * MICROS_PER_HOUR))
        );
        assert_eq!(
            parse_interval("1 year 2 months", None, None).unwrap().1,
            "year to month"
        );
        assert!(parse_interval("1 year 2 days", None, None)
            .unwrap_err()
            .contains("Cannot mix"));
        assert!(parse_interval("1-13", Some(Unit::Year), Some(Unit::Month)).is_err());
        assert!(parse_interval("10:61", Some(Unit::Hour), Some(Unit::Minute)).is_err());
        assert_eq!(
            parse_interval("1.5", Some(Unit::Second), None).unwrap().0,
            ScalarValue::DurationMicrosecond(Some(1_500_000))
        );
        assert_eq!(
            widen(Some("day".into()), Some("hour".into()), false),
            "day to hour"
        );
    }
}
