//! Spark 4.1's `TIME` (`TIME(6)`): a time of day to the microsecond, Arrow `Time64(µs)`.
//!
//! Text as `SparkDateTimeUtils.stringToTime` reads it (`[h]h:[m]m[:[s]s[.ffffff]]`, an optional
//! `T` before and ` AM`/` PM` after, no date, no zone) and as Spark writes it (`HH:mm:ss` and the
//! fraction without trailing zeros); casts to whole seconds since midnight (`CAST(TIME
//! '00:01:52' AS TINYINT)` is 112) and to decimals; `make_time`, `to_time`, `try_to_time`,
//! `time_trunc`, `time_diff`, the fields, and TIME ± a day-time interval.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Int32Array, Int64Array, StringBuilder,
    Time64MicrosecondArray,
};
use arrow::datatypes::{DataType, Decimal128Type, Int32Type, Time64MicrosecondType, TimeUnit};
use datafusion_common::{exec_err, Result};

use super::SparkUdf;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Arrow's type for Spark's `TIME(6)`.
pub fn time() -> DataType {
    DataType::Time64(TimeUnit::Microsecond)
}

pub fn is_time(t: &DataType) -> bool {
    matches!(t, DataType::Time32(_) | DataType::Time64(_))
}

pub use ember_common::display::time_text;

/// Parses a time of day as Spark's `stringToTime`: `[T][h]h:[m]m[:[s]s[.f...]]` with an
/// optional ` AM`/` PM` (hours 1 to 12 then), digits after the sixth of the fraction dropped.
pub fn parse_time(text: &str) -> Option<i64> {
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    let (body, meridiem) = match trimmed.len().checked_sub(2).map(|i| trimmed.split_at(i)) {
        Some((body, suffix)) if suffix.eq_ignore_ascii_case("am") => (body.trim_end(), Some(false)),
        Some((body, suffix)) if suffix.eq_ignore_ascii_case("pm") => (body.trim_end(), Some(true)),
        _ => (trimmed, None),
    };
    let body = body.strip_prefix(['T', 't']).unwrap_or(body);
    let mut parts = body.splitn(3, ':');
    let number = |s: &str, max_digits: usize| -> Option<i64> {
        (!s.is_empty() && s.len() <= max_digits && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut hour = number(parts.next()?, 2)?;
    let minute = number(parts.next()?, 2)?;
    let (second, micros) = match parts.next() {
        None => (0, 0),
        Some(rest) => {
            let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
            let second = number(whole, 2)?;
            if !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let digits: String = fraction.chars().take(6).collect();
            let micros = if digits.is_empty() {
                0
            } else {
                format!("{digits:0<6}").parse().ok()?
            };
            (second, micros)
        }
    };
    match meridiem {
        None if hour > 23 => return None,
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(false) if hour == 12 => hour = 0,
        Some(true) if hour != 12 => hour += 12,
        _ => {}
    }
    if minute > 59 || second > 59 {
        return None;
    }
    Some(((hour * 60 + minute) * 60 + second) * 1_000_000 + micros)
}

/// The TIME functions callable by name.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "make_time",
            (3, 3),
            |_| {
                Ok(vec![
                    DataType::Int32,
                    DataType::Int32,
                    DataType::Decimal128(16, 6),
                ])
            },
            |_| Ok(time()),
            make_time,
        ),
        SparkUdf::new(
            "to_time",
            (1, 2),
            |t| Ok(vec![DataType::Utf8; t.len()]),
            |_| Ok(time()),
            |_, args, rows| to_time(args, rows, true),
        ),
        SparkUdf::new(
            "try_to_time",
            (1, 2),
            |t| Ok(vec![DataType::Utf8; t.len()]),
            |_| Ok(time()),
            |_, args, rows| to_time(args, rows, false),
        ),
        SparkUdf::new(
            "time_trunc",
            (2, 2),
            |_| Ok(vec![DataType::Utf8, time()]),
            |_| Ok(time()),
            time_trunc,
        ),
        SparkUdf::new(
            "time_diff",
            (3, 3),
            |_| Ok(vec![DataType::Utf8, time(), time()]),
            |_| Ok(DataType::Int64),
            time_diff,
        ),
    ]
}

/// The internal TIME functions (not callable by name), for the plan codec.
pub fn internal() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "spark_string_to_time",
            (1, 1),
            |_| Ok(vec![DataType::Utf8]),
            |_| Ok(time()),
            string_to_time,
        ),
        SparkUdf::new(
            "spark_time_to_string",
            (1, 1),
            |_| Ok(vec![time()]),
            |_| Ok(DataType::Utf8),
            |_, args, rows| {
                let values = args[0].as_primitive::<Time64MicrosecondType>();
                let mut out = StringBuilder::with_capacity(rows, rows * 12);
                for v in values.iter() {
                    match v {
                        Some(v) => out.append_value(time_text(v)),
                        None => out.append_null(),
                    }
                }
                Ok(Arc::new(out.finish()))
            },
        ),
        SparkUdf::new(
            "spark_time_to_seconds",
            (1, 1),
            |_| Ok(vec![time()]),
            |_| Ok(DataType::Int64),
            |_, args, _| {
                let values = args[0].as_primitive::<Time64MicrosecondType>();
                let out: Int64Array = values.unary(|us| us.div_euclid(1_000_000));
                Ok(Arc::new(out))
            },
        ),
        SparkUdf::new(
            "spark_time_to_decimal_seconds",
            (1, 1),
            |_| Ok(vec![time()]),
            |_| Ok(DataType::Decimal128(11, 6)),
            |_, args, _| {
                let values = args[0].as_primitive::<Time64MicrosecondType>();
                let out: Decimal128Array = values.unary(i128::from);
                Ok(Arc::new(out.with_precision_and_scale(11, 6)?))
            },
        ),
        SparkUdf::new(
            "spark_time_part",
            (2, 2),
            |_| Ok(vec![time(), DataType::Utf8]),
            |_| Ok(DataType::Int32),
            time_part,
        ),
        SparkUdf::new(
            "spark_time_second_with_fraction",
            (1, 1),
            |_| Ok(vec![time()]),
            |_| Ok(DataType::Decimal128(8, 6)),
            |_, args, _| {
                let values = args[0].as_primitive::<Time64MicrosecondType>();
                let out: Decimal128Array = values.unary(|us| i128::from(us % 60_000_000));
                Ok(Arc::new(out.with_precision_and_scale(8, 6)?))
            },
        ),
        SparkUdf::new(
            "spark_time_add_interval",
            (2, 2),
            |_| Ok(vec![time(), DataType::Duration(TimeUnit::Microsecond)]),
            |_| Ok(time()),
            time_add_interval,
        ),
    ]
}

fn string_to_time(udf: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let mut out = Vec::with_capacity(text.len());
    for v in text.iter() {
        match v.map(|s| (s, parse_time(s))) {
            None => out.push(None),
            Some((_, Some(t))) => out.push(Some(t)),
            Some((s, None)) if udf.ansi => {
                return exec_err!(
                    "[CAST_INVALID_INPUT] The value '{s}' of the type \"STRING\" cannot be cast to \"TIME(6)\" because it is malformed. Correct the value as per the syntax, or change its target type. Use `try_cast` to tolerate malformed input and return NULL instead."
                )
            }
            Some((_, None)) => out.push(None),
        }
    }
    Ok(Arc::new(Time64MicrosecondArray::from(out)))
}

/// `make_time(hour, minute, second)`: seconds with microseconds; a field out of range fails.
fn make_time(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let hours = args[0].as_primitive::<Int32Type>();
    let minutes = args[1].as_primitive::<Int32Type>();
    let seconds = args[2].as_primitive::<Decimal128Type>();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if hours.is_null(row) || minutes.is_null(row) || seconds.is_null(row) {
            out.push(None);
            continue;
        }
        let (h, m, us) = (hours.value(row), minutes.value(row), seconds.value(row));
        let bound = |field: &str, max: i64, v: i64| {
            if (0..=max).contains(&v) {
                Ok(())
            } else {
                exec_err!(
                    "[DATETIME_FIELD_OUT_OF_BOUNDS.WITHOUT_SUGGESTION] Invalid value for {field} (valid values 0 - {max}): {v}"
                )
            }
        };
        bound("HourOfDay", 23, i64::from(h))?;
        bound("MinuteOfHour", 59, i64::from(m))?;
        let whole = us.div_euclid(1_000_000);
        bound(
            "SecondOfMinute",
            59,
            i64::try_from(whole).unwrap_or(i64::MAX),
        )?;
        out.push(Some(
            (i64::from(h) * 3600 + i64::from(m) * 60) * 1_000_000 + us as i64,
        ));
    }
    Ok(Arc::new(Time64MicrosecondArray::from(out)))
}

/// `to_time(text[, pattern])`: Spark's time text, or the text in a Java pattern; a failure is
/// an error (`to_time`) or NULL (`try_to_time`).
fn to_time(args: &[ArrayRef], rows: usize, fail: bool) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let patterns = args.get(1).map(|p| p.as_string::<i32>());
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if text.is_null(row) || patterns.is_some_and(|p| p.is_null(row)) {
            out.push(None);
            continue;
        }
        let s = text.value(row);
        let parsed = match patterns {
            None => parse_time(s),
            Some(p) => {
                let format = super::datetime::java_to_strftime(p.value(row));
                format.ok().and_then(|f| {
                    chrono::NaiveTime::parse_from_str(s, &f).ok().map(|t| {
                        use chrono::Timelike;
                        i64::from(t.num_seconds_from_midnight()) * 1_000_000
                            + i64::from(t.nanosecond() / 1_000)
                    })
                })
            }
        };
        match parsed {
            Some(t) => out.push(Some(t)),
            None if fail => {
                let format = patterns.map_or("HH:mm:ss".into(), |p| p.value(row).to_string());
                return exec_err!(
                    "[CANNOT_PARSE_TIME] The input string '{s}' cannot be parsed to a TIME value because it does not match to the datetime format '{format}'. Use `try_to_time` to tolerate invalid input and return NULL instead."
                );
            }
            None => out.push(None),
        }
    }
    Ok(Arc::new(Time64MicrosecondArray::from(out)))
}

/// The microseconds in a `time_trunc`/`time_diff` unit.
fn unit_micros(function: &str, unit: &str) -> Result<i64> {
    Ok(match unit.to_ascii_uppercase().as_str() {
        "HOUR" => 3_600_000_000,
        "MINUTE" => 60_000_000,
        "SECOND" => 1_000_000,
        "MILLISECOND" => 1_000,
        "MICROSECOND" => 1,
        _ => {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.TIME_UNIT] The value of parameter(s) `unit` in `{function}` is invalid: expects one of the units without quotes HOUR, MINUTE, SECOND, MILLISECOND, MICROSECOND, but got the string literal '{unit}'."
            )
        }
    })
}

fn time_trunc(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let units = args[0].as_string::<i32>();
    let values = args[1].as_primitive::<Time64MicrosecondType>();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if units.is_null(row) || values.is_null(row) {
            out.push(None);
            continue;
        }
        let unit = unit_micros("time_trunc", units.value(row))?;
        out.push(Some(values.value(row) / unit * unit));
    }
    Ok(Arc::new(Time64MicrosecondArray::from(out)))
}

fn time_diff(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let units = args[0].as_string::<i32>();
    let starts = args[1].as_primitive::<Time64MicrosecondType>();
    let ends = args[2].as_primitive::<Time64MicrosecondType>();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if units.is_null(row) || starts.is_null(row) || ends.is_null(row) {
            out.push(None);
            continue;
        }
        let unit = unit_micros("time_diff", units.value(row))?;
        out.push(Some((ends.value(row) - starts.value(row)) / unit));
    }
    Ok(Arc::new(Int64Array::from(out)))
}

/// `hour`, `minute`, `second` of a time (the second's whole part).
fn time_part(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let values = args[0].as_primitive::<Time64MicrosecondType>();
    let part = args[1].as_string::<i32>();
    let divisor: i64 = match part.iter().next().flatten().unwrap_or("") {
        "hour" => 3_600_000_000,
        "minute" => 60_000_000,
        _ => 1_000_000,
    };
    let modulus: i64 = if divisor == 3_600_000_000 { 24 } else { 60 };
    let out: Int32Array = values.unary(|us| (us / divisor % modulus) as i32);
    Ok(Arc::new(out))
}

/// `time ± day-time interval`: a result outside the day fails, as Spark's `timeAddInterval`.
fn time_add_interval(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let values = args[0].as_primitive::<Time64MicrosecondType>();
    let spans = args[1].as_primitive::<arrow::datatypes::DurationMicrosecondType>();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if values.is_null(row) || spans.is_null(row) {
            out.push(None);
            continue;
        }
        match values.value(row).checked_add(spans.value(row)) {
            Some(t) if (0..MICROS_PER_DAY).contains(&t) => out.push(Some(t)),
            _ => {
                return exec_err!(
                    "[DATETIME_OVERFLOW] Datetime operation overflow: TIME '{}' plus the interval is outside the day",
                    time_text(values.value(row))
                )
            }
        }
    }
    Ok(Arc::new(Time64MicrosecondArray::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_time_text_both_ways() {
        assert_eq!(
            parse_time("16:39:45\t"),
            Some(((16 * 60 + 39) * 60 + 45) * 1_000_000)
        );
        assert_eq!(parse_time("01:02:03 PM"), parse_time("13:02:03"));
        assert_eq!(parse_time("12:00:00 am"), Some(0));
        assert_eq!(parse_time("0:0:0"), Some(0));
        assert_eq!(parse_time("T10:00"), Some(36_000_000_000));
        assert_eq!(parse_time("23:59:59.9"), Some(86_399_900_000));
        assert_eq!(parse_time("23:59:59.1234567"), Some(86_399_123_456));
        for bad in [
            "00:00:60",
            "24:00:00",
            "00:00:00 AM",
            "13:00:00 PM",
            "12",
            "2020-01-01 10:00:00",
            "10:00:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(time_text(86_399_900_000), "23:59:59.9");
        assert_eq!(time_text(0), "00:00:00");
        assert_eq!(time_text(3_723_000_100), "01:02:03.0001");
    }
}
