//! Casts of `TIMESTAMP` (LTZ) and `TIMESTAMP_NTZ` with Spark's meaning (see
//! [`crate::functions::timezone`]): to strings as Spark shows them, LTZ to NTZ as the wall
//! clock in the session zone, LTZ to and from numbers as seconds since the epoch.

use arrow::datatypes::{DataType, TimeUnit};
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::{BinaryExpr, Cast, Expr, Operator};
use ember_common::Result;
use sqlparser::ast;

use crate::error::error_at;
use crate::functions::{is_string, spark_udf_by_name};
use crate::types::{is_ltz, spark_type_sql};

fn call_internal(name: &str, args: Vec<Expr>) -> Expr {
    let udf = spark_udf_by_name(name, true)
        .unwrap_or_else(|| unreachable!("{name} is an Ember function"))
        .into_udf();
    Expr::ScalarFunction(ScalarFunction::new_udf(udf, args))
}

fn is_timestamp(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(_, _))
}

/// The conversions between timestamps and other types whose meaning Arrow's cast does not
/// have, for implicit casts (function arguments, set operations) and explicit ones alike:
/// a timestamp to a string (`2020-01-01 10:00:00.5`, an LTZ value in its zone) and LTZ to
/// NTZ (the wall clock in the zone). `None`: Arrow's cast means what Spark's does.
pub(crate) fn timestamp_conversion(expr: &Expr, from: &DataType, to: &DataType) -> Option<Expr> {
    if crate::functions::time::is_time(from) && to == &DataType::Utf8 {
        return Some(call_internal("spark_time_to_string", vec![expr.clone()]));
    }
    if is_timestamp(from) && is_string(to) {
        let text = call_internal("spark_timestamp_to_string", vec![expr.clone()]);
        return Some(if to == &DataType::Utf8 {
            text
        } else {
            Expr::Cast(Cast::new(Box::new(text), to.clone()))
        });
    }
    if is_ltz(from) && matches!(to, DataType::Timestamp(_, None)) {
        let micros = DataType::Timestamp(TimeUnit::Microsecond, from_zone(from));
        let value = if from == &micros {
            expr.clone()
        } else {
            Expr::Cast(Cast::new(Box::new(expr.clone()), micros))
        };
        let ntz = call_internal("spark_ltz_to_ntz", vec![value]);
        return Some(if to == &DataType::Timestamp(TimeUnit::Microsecond, None) {
            ntz
        } else {
            Expr::Cast(Cast::new(Box::new(ntz), to.clone()))
        });
    }
    None
}

fn from_zone(t: &DataType) -> Option<std::sync::Arc<str>> {
    match t {
        DataType::Timestamp(_, zone) => zone.clone(),
        _ => None,
    }
}

/// `CAST(v AS to)` where a timestamp is on one side and Spark's meaning differs from Arrow's:
/// numbers and LTZ timestamps are seconds since the epoch both ways (outside ANSI mode for
/// numbers to timestamps, as Spark), NTZ does not cast to or from numbers. `None`: no such
/// cast.
pub(crate) fn timestamp_cast(
    v: &Expr,
    from: &DataType,
    to: &DataType,
    ansi: bool,
    schema: &DFSchema,
    node: &ast::Expr,
) -> Result<Option<Expr>> {
    if let Some(converted) = timestamp_conversion(v, from, to) {
        return Ok(Some(converted));
    }
    let numeric = |t: &DataType| t.is_numeric();
    let refuse = |suggestion: &str| {
        Err(error_at(
            node,
            format!(
                "[DATATYPE_MISMATCH.CAST_WITH_FUNC_SUGGESTION] Cannot resolve \"{node}\" due to data type mismatch: cannot cast \"{}\" to \"{}\"{suggestion}",
                spark_type_sql(from),
                spark_type_sql(to)
            ),
        ))
    };
    if is_timestamp(from) && numeric(to) {
        if !is_ltz(from) {
            return refuse("");
        }
        let seconds = if matches!(to, DataType::Float32 | DataType::Float64) {
            call_internal("spark_timestamp_to_fractional_seconds", vec![v.clone()])
        } else {
            epoch_units(v.clone(), 1_000_000)
        };
        return Ok(Some(super::expr::cast_to(seconds, to, schema)?));
    }
    if numeric(from) && is_timestamp(to) {
        if !is_ltz(to) {
            return refuse("");
        }
        if ansi {
            return refuse(&format!(
                ". To convert values from \"{}\" to \"TIMESTAMP\", use the function `timestamp_seconds` instead, or set ember.sql.ansi.enabled to false",
                spark_type_sql(from)
            ));
        }
        return Ok(Some(epoch_to_timestamp(
            v.clone(),
            from,
            1_000_000,
            to,
            schema,
        )?));
    }
    Ok(None)
}

/// Whole `unit`s (in microseconds) since the epoch of an LTZ timestamp, floored
/// (`unix_seconds`, `unix_millis`, `unix_micros`, `CAST(ts AS BIGINT)`).
pub(crate) fn epoch_units(ts: Expr, unit: i64) -> Expr {
    call_internal(
        "spark_timestamp_to_epoch",
        vec![ts, Expr::Literal(ScalarValue::Int64(Some(unit)), None)],
    )
}

/// The LTZ timestamp `n` `unit`s (in microseconds) after the epoch (`timestamp_seconds`,
/// `timestamp_millis`, `timestamp_micros`, `CAST(n AS TIMESTAMP)` outside ANSI mode); a
/// fraction of a microsecond is cut.
pub(crate) fn epoch_to_timestamp(
    n: Expr,
    from: &DataType,
    unit: i64,
    ltz: &DataType,
    schema: &DFSchema,
) -> Result<Expr> {
    let micros = if from.is_integer() || from.is_null() {
        Expr::BinaryExpr(BinaryExpr::new(
            Box::new(super::expr::cast_to(n, &DataType::Int64, schema)?),
            Operator::Multiply,
            Box::new(Expr::Literal(ScalarValue::Int64(Some(unit)), None)),
        ))
    } else {
        let scaled = Expr::BinaryExpr(BinaryExpr::new(
            Box::new(super::expr::cast_to(n, &DataType::Float64, schema)?),
            Operator::Multiply,
            Box::new(Expr::Literal(ScalarValue::Float64(Some(unit as f64)), None)),
        ));
        Expr::TryCast(datafusion_expr::TryCast::new(
            Box::new(scaled),
            DataType::Int64,
        ))
    };
    let instant = Expr::Cast(Cast::new(
        Box::new(micros),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    ));
    Ok(Expr::Cast(Cast::new(Box::new(instant), ltz.clone())))
}

/// `CAST(v AS to)` with a TIME on one side (Spark 4.1's rules): from and to strings in
/// Spark's text, to integers as whole seconds since midnight (TINYINT and SMALLINT can
/// overflow), to decimals and floats with the fraction; nothing else casts to or from TIME.
/// `None`: no TIME involved.
pub(crate) fn time_cast(
    v: &Expr,
    from: &DataType,
    to: &DataType,
    ansi: bool,
    try_cast: bool,
    schema: &DFSchema,
    node: &ast::Expr,
) -> Result<Option<Expr>> {
    use crate::functions::time::is_time;
    if !is_time(from) && !is_time(to) {
        return Ok(None);
    }
    if is_time(from) && is_time(to) {
        return Ok(Some(v.clone()));
    }
    if is_string(from) || from.is_null() {
        let text = super::expr::cast_to(v.clone(), &DataType::Utf8, schema)?;
        let udf = spark_udf_by_name("spark_string_to_time", ansi && !try_cast)
            .unwrap_or_else(|| unreachable!("spark_string_to_time is an Ember function"))
            .into_udf();
        return Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(
            udf,
            vec![text],
        ))));
    }
    if is_time(from) && is_string(to) {
        let text = call_internal("spark_time_to_string", vec![v.clone()]);
        return Ok(Some(super::expr::cast_to(text, to, schema)?));
    }
    if is_time(from) && to.is_integer() {
        let seconds = call_internal("spark_time_to_seconds", vec![v.clone()]);
        if matches!(to, DataType::Int8 | DataType::Int16) {
            // Narrower than a day of seconds: Spark's overflow rules of a cast from BIGINT.
            let target = ScalarValue::try_from(to)?;
            let udf = crate::functions::ansi::spark_cast(ansi && !try_cast).into_udf();
            return Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(
                udf,
                vec![seconds, Expr::Literal(target, None)],
            ))));
        }
        return Ok(Some(super::expr::cast_to(seconds, to, schema)?));
    }
    if is_time(from) && (matches!(to, DataType::Decimal128(_, _)) || to.is_floating()) {
        let seconds = call_internal("spark_time_to_decimal_seconds", vec![v.clone()]);
        let target = ScalarValue::try_from(to)?;
        let udf = crate::functions::ansi::spark_cast(ansi && !try_cast).into_udf();
        return Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(
            udf,
            vec![seconds, Expr::Literal(target, None)],
        ))));
    }
    Err(error_at(
        node,
        format!(
            "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] Cannot resolve \"{node}\" due to data type mismatch: cannot cast \"{}\" to \"{}\"",
            spark_type_sql(from),
            spark_type_sql(to)
        ),
    ))
}
