//! Literals as Spark types them: numbers (with their suffixes), strings, typed literals
//! (`DATE '...'`, `TIMESTAMP '...'`); intervals are in `interval.rs`.

use std::sync::Arc;

use arrow::datatypes::DataType;
use chrono::{NaiveDate, NaiveDateTime};
use datafusion_common::ScalarValue;
use datafusion_expr::Expr;
use ember_common::Result;
use sqlparser::ast;

use crate::error::error_at;
use crate::types::{spark_type_name, sql_to_arrow};

/// Spark literal typing: `1` int, `3000000000` bigint, `1.5` decimal(2,1), `1e3` double, and
/// the typed suffixes `127Y` tinyint, `1S` smallint, `1L` bigint, `2.5F` float, `2.5D` double,
/// `1BD` decimal.
pub(crate) fn literal(value: &ast::Value, node: &ast::Expr) -> Result<Expr> {
    let scalar = match value {
        ast::Value::Number(text, true) => {
            number_literal(&format!("{text}L")).map_err(|message| error_at(node, message))?
        }
        ast::Value::Number(text, false) => {
            number_literal(text).map_err(|message| error_at(node, message))?
        }
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            ScalarValue::Utf8(Some(s.clone()))
        }
        ast::Value::Boolean(b) => ScalarValue::Boolean(Some(*b)),
        ast::Value::Null => ScalarValue::Null,
        // X'4A6B': bytes; an odd number of digits has an implied leading 0, as in Spark.
        ast::Value::HexStringLiteral(digits) => ScalarValue::Binary(Some(
            crate::functions::binary::unhex_bytes(digits).ok_or_else(|| {
                error_at(
                    node,
                    format!(
                        "[INVALID_TYPED_LITERAL] The value of the typed literal \"X\" is invalid: 'X'{digits}''; a binary literal holds hex digits 0-9 and A-F"
                    ),
                )
            })?,
        )),
        other => {
            return Err(error_at(
                node,
                format!(
                    "The literal {other} is not supported; Spark writes strings in single quotes"
                ),
            ))
        }
    };
    Ok(Expr::Literal(scalar, None))
}

/// Spark's error for a typed literal outside its type's range.
fn out_of_range(digits: &str, type_name: &str, min: &str, max: &str) -> String {
    format!(
        "[INVALID_NUMERIC_LITERAL_RANGE] Numeric literal {digits} is outside the valid range for \
         {type_name} with minimum value of {min} and maximum value of {max}. Please adjust the \
         value accordingly."
    )
}

/// The value of a numeric literal's text (a leading `-` included, a typed suffix kept at the
/// end, as the tokenizer rewrite leaves it), or the error Spark gives for it.
pub(crate) fn number_literal(text: &str) -> std::result::Result<ScalarValue, String> {
    let upper = text.to_ascii_uppercase();
    let invalid = || format!("'{text}' is not a valid number");
    let integral = |digits: &str| -> std::result::Result<i128, String> {
        if digits.contains(['.', 'E']) {
            return Err(format!(
                "'{text}' is not an integer; the {} suffix is for whole numbers",
                &upper[digits.len()..]
            ));
        }
        digits.parse::<i128>().map_err(|_| invalid())
    };
    if let Some(digits) = upper.strip_suffix("BD") {
        return exact_decimal(digits).ok_or_else(|| {
            format!(
                "[DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION] Decimal precision of {digits} exceeds \
                 max precision 38."
            )
        });
    }
    if let Some(digits) = upper.strip_suffix('Y') {
        let v = integral(digits)?;
        return i8::try_from(v)
            .map(|v| ScalarValue::Int8(Some(v)))
            .map_err(|_| out_of_range(digits, "tinyint", "-128", "127"));
    }
    if let Some(digits) = upper.strip_suffix('S') {
        let v = integral(digits)?;
        return i16::try_from(v)
            .map(|v| ScalarValue::Int16(Some(v)))
            .map_err(|_| out_of_range(digits, "smallint", "-32768", "32767"));
    }
    if let Some(digits) = upper.strip_suffix('L') {
        let v = integral(digits)?;
        return i64::try_from(v)
            .map(|v| ScalarValue::Int64(Some(v)))
            .map_err(|_| {
                out_of_range(
                    digits,
                    "bigint",
                    "-9223372036854775808",
                    "9223372036854775807",
                )
            });
    }
    if let Some(digits) = upper.strip_suffix('D') {
        let v = digits.parse::<f64>().map_err(|_| invalid())?;
        if !v.is_finite() {
            return Err(out_of_range(
                digits,
                "double",
                "-1.7976931348623157E308",
                "1.7976931348623157E308",
            ));
        }
        return Ok(ScalarValue::Float64(Some(v)));
    }
    if let Some(digits) = upper.strip_suffix('F') {
        let v = digits.parse::<f64>().map_err(|_| invalid())?;
        if !v.is_finite() || v.abs() > f32::MAX as f64 {
            return Err(out_of_range(
                digits,
                "float",
                "-3.4028235E38",
                "3.4028235E38",
            ));
        }
        return Ok(ScalarValue::Float32(Some(v as f32)));
    }
    if upper.contains('E') {
        let v = upper.parse::<f64>().map_err(|_| invalid())?;
        if !v.is_finite() {
            return Err(out_of_range(
                &upper,
                "double",
                "-1.7976931348623157E308",
                "1.7976931348623157E308",
            ));
        }
        return Ok(ScalarValue::Float64(Some(v)));
    }
    if !upper.contains('.') {
        if let Ok(v) = upper.parse::<i32>() {
            return Ok(ScalarValue::Int32(Some(v)));
        }
        if let Ok(v) = upper.parse::<i64>() {
            return Ok(ScalarValue::Int64(Some(v)));
        }
    }
    exact_decimal(&upper).ok_or_else(|| {
        format!(
            "[DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION] Decimal precision {} exceeds max precision 38.",
            upper.trim_start_matches(['-', '+']).replace('.', "").trim_start_matches('0').len()
        )
    })
}

/// A decimal number's exact value (`12.50`, `-0.06`, `1.5E3`) as Spark's `BigDecimal`
/// literal types it: `decimal(max(precision, scale), scale)`, a negative scale (from an
/// exponent) raised to 0. `None` beyond 38 digits.
fn exact_decimal(text: &str) -> Option<ScalarValue> {
    let (mantissa, exponent) = match text.split_once(['E', 'e']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let negative = mantissa.starts_with('-');
    let mantissa = mantissa.trim_start_matches(['-', '+']);
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .chars()
            .chain(frac_part.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut digits = format!("{int_part}{frac_part}")
        .trim_start_matches('0')
        .to_string();
    let mut scale = frac_part.len() as i32 - exponent;
    if scale < 0 {
        if !digits.is_empty() {
            digits.push_str(&"0".repeat((-scale) as usize));
        }
        scale = 0;
    }
    let precision = (digits.len() as i32).max(1).max(scale);
    if precision > 38 {
        return None;
    }
    let unscaled: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(ScalarValue::Decimal128(
        Some(if negative { -unscaled } else { unscaled }),
        precision as u8,
        scale as i8,
    ))
}

pub(crate) fn typed_literal(
    data_type: &ast::DataType,
    value: &ast::Value,
    node: &ast::Expr,
    timestamps: &crate::types::TimestampTypes,
) -> Result<Expr> {
    let text = match value {
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            s.trim().to_string()
        }
        other => {
            return Err(error_at(
                node,
                format!("expected a quoted string after {data_type}, found {other}"),
            ))
        }
    };
    let scalar = match data_type {
        ast::DataType::Date => {
            let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                error_at(
                    node,
                    format!("Cannot parse '{text}' as a DATE; write it as DATE 'yyyy-MM-dd'"),
                )
            })?;
            ScalarValue::Date32(Some(days_since_epoch(date)))
        }
        ast::DataType::Timestamp(_, _)
        | ast::DataType::Datetime(_)
        | ast::DataType::TimestampNtz(_) => {
            let to = sql_to_arrow(data_type, timestamps)?;
            if let DataType::Timestamp(_, Some(zone)) = &to {
                return ltz_literal(&text, zone, node);
            }
            let parsed = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
                .iter()
                .find_map(|f| {
                    NaiveDateTime::parse_from_str(&text, f)
                        .ok()
                        .or_else(|| NaiveDate::parse_from_str(&text, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
                })
                .ok_or_else(|| error_at(node, format!("Cannot parse '{text}' as a TIMESTAMP; write it as TIMESTAMP 'yyyy-MM-dd HH:mm:ss'")))?;
            ScalarValue::TimestampMicrosecond(Some(parsed.and_utc().timestamp_micros()), None)
        }
        ast::DataType::Time(_, _) => {
            sql_to_arrow(data_type, timestamps)?;
            let micros = crate::functions::time::parse_time(&text).ok_or_else(|| {
                error_at(
                    node,
                    format!("[INVALID_TYPED_LITERAL] The value of the typed literal \"TIME\" is invalid: '{text}'; write it as TIME 'HH:mm:ss[.ffffff]'"),
                )
            })?;
            ScalarValue::Time64Microsecond(Some(micros))
        }
        ast::DataType::Custom(name, _)
            if name.to_string().eq_ignore_ascii_case("timestamp_ltz") =>
        {
            let DataType::Timestamp(_, Some(zone)) = &timestamps.ltz else {
                unreachable!("TIMESTAMP_LTZ has a zone")
            };
            return ltz_literal(&text, zone, node);
        }
        other => {
            let to = sql_to_arrow(other, timestamps)?;
            let v = ScalarValue::Utf8(Some(text.clone()));
            v.cast_to(&to).map_err(|_| {
                error_at(
                    node,
                    format!("Cannot parse '{text}' as {}", spark_type_name(&to)),
                )
            })?
        }
    };
    Ok(Expr::Literal(scalar, None))
}

/// `TIMESTAMP '...'` as an instant: the wall clock read in the session zone `zone`, unless
/// the text names its own offset (`2020-12-01 14:30:08Z`, `...+08:00`).
fn ltz_literal(text: &str, zone: &Arc<str>, node: &ast::Expr) -> Result<Expr> {
    let tz = crate::functions::timezone::parse_zone(zone)?;
    let naive = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d",
    ]
    .iter()
    .find_map(|f| {
        NaiveDateTime::parse_from_str(text, f).ok().or_else(|| {
            NaiveDate::parse_from_str(text, f)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
    });
    let micros = match naive {
        Some(local) => crate::functions::timezone::local_to_instant(local, &tz),
        None => arrow::compute::kernels::cast_utils::string_to_datetime(&tz, text)
            .ok()
            .map(|t| t.timestamp_micros()),
    };
    let micros = micros.ok_or_else(|| {
        error_at(
            node,
            format!("Cannot parse '{text}' as a TIMESTAMP; write it as TIMESTAMP 'yyyy-MM-dd HH:mm:ss[.ffffff][+hh:mm]'"),
        )
    })?;
    Ok(Expr::Literal(
        ScalarValue::TimestampMicrosecond(Some(micros), Some(Arc::clone(zone))),
        None,
    ))
}

pub(crate) fn days_since_epoch(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (date - epoch).num_days() as i32
}

pub(crate) fn datetime_field_name(field: &ast::DateTimeField) -> Option<&'static str> {
    use ast::DateTimeField as F;
    Some(match field {
        F::Year | F::Years => "year",
        F::Quarter => "quarter",
        F::Month | F::Months => "month",
        F::Week(_) | F::Weeks => "week",
        F::Day | F::Days => "day",
        F::DayOfWeek | F::Dow => "dow",
        F::DayOfYear | F::Doy => "doy",
        F::Hour | F::Hours => "hour",
        F::Minute | F::Minutes => "minute",
        F::Second | F::Seconds => "second",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_number_literals() {
        let ok = |text: &str| number_literal(text).unwrap();
        assert_eq!(ok("1"), ScalarValue::Int32(Some(1)));
        assert_eq!(ok("3000000000"), ScalarValue::Int64(Some(3_000_000_000)));
        assert_eq!(ok("0.06"), ScalarValue::Decimal128(Some(6), 2, 2));
        assert_eq!(ok("12.5"), ScalarValue::Decimal128(Some(125), 3, 1));
        assert_eq!(ok("1e3"), ScalarValue::Float64(Some(1000.0)));
        assert_eq!(
            ok("99999999999999999999"),
            ScalarValue::Decimal128(Some(99999999999999999999), 20, 0)
        );
    }

    #[test]
    fn typed_suffixes() {
        let ok = |text: &str| number_literal(text).unwrap();
        assert_eq!(ok("127Y"), ScalarValue::Int8(Some(127)));
        assert_eq!(ok("-128Y"), ScalarValue::Int8(Some(-128)));
        assert_eq!(ok("1S"), ScalarValue::Int16(Some(1)));
        assert_eq!(ok("1L"), ScalarValue::Int64(Some(1)));
        assert_eq!(ok("2.5D"), ScalarValue::Float64(Some(2.5)));
        assert_eq!(ok("2D"), ScalarValue::Float64(Some(2.0)));
        assert_eq!(ok("2.5F"), ScalarValue::Float32(Some(2.5)));
        assert_eq!(ok("1BD"), ScalarValue::Decimal128(Some(1), 1, 0));
        assert_eq!(ok("1.50BD"), ScalarValue::Decimal128(Some(150), 3, 2));
        assert_eq!(ok("1.5E3BD"), ScalarValue::Decimal128(Some(1500), 4, 0));
        let err = number_literal("128Y").unwrap_err();
        assert!(err.contains("INVALID_NUMERIC_LITERAL_RANGE"), "{err}");
        assert!(
            err.contains("Numeric literal 128 is outside the valid range for tinyint"),
            "{err}"
        );
        assert!(number_literal("40000S").is_err());
        assert!(number_literal("1.5Y").is_err());
        assert!(number_literal("1e400D").is_err());
    }
}
