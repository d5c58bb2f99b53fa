//! Spark's legacy calendar interval (`CalendarIntervalType`, the type named `interval`):
//! months, days and microseconds kept apart, as Arrow's `Interval(MonthDayNano)` keeps them
//! (the nanoseconds are always whole microseconds here).
//!
//! It comes from `CAST(string AS INTERVAL)` and `make_interval`; it adds to dates and
//! timestamps, to itself, multiplies and divides by numbers, and prints as
//! `1 years 2 months 3 hours`. Spark cannot order it or store it in a table; neither can
//! Ember.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, IntervalMonthDayNanoArray, StringBuilder};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, IntervalMonthDayNano,
    IntervalMonthDayNanoType, IntervalUnit,
};
use chrono::{Days, Months, NaiveDate};
use datafusion_common::{exec_err, Result};
use ember_common::display::calendar_interval_text;

use super::interval::{MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND};
use super::SparkUdf;

/// Arrow's type for Spark's calendar interval.
pub fn calendar() -> DataType {
    DataType::Interval(IntervalUnit::MonthDayNano)
}

pub fn is_calendar(t: &DataType) -> bool {
    matches!(t, DataType::Interval(IntervalUnit::MonthDayNano))
}

/// A calendar interval value of `months`, `days` and `micros`.
pub fn value(months: i32, days: i32, micros: i64) -> Option<IntervalMonthDayNano> {
    micros
        .checked_mul(1_000)
        .map(|nanos| IntervalMonthDayNano::new(months, days, nanos))
}

/// The calendar interval functions callable by name.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "make_interval",
            (0, 7),
            make_interval_arguments,
            |_| Ok(calendar()),
            make_interval,
        ),
        SparkUdf::new(
            "try_make_interval",
            (0, 7),
            make_interval_arguments,
            |_| Ok(calendar()),
            |_, args, rows| make_interval_with("try_make_interval", args, rows, false),
        ),
    ]
}

/// The internal calendar interval functions (not callable by name), for the plan codec.
pub fn internal() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "spark_string_to_calendar_interval",
            (1, 1),
            |_| Ok(vec![DataType::Utf8]),
            |_| Ok(calendar()),
            string_to_calendar_interval,
        ),
        SparkUdf::new(
            "spark_calendar_interval_to_string",
            (1, 1),
            |t| Ok(vec![t[0].clone()]),
            |_| Ok(DataType::Utf8),
            calendar_interval_to_string,
        ),
        SparkUdf::new(
            "spark_date_add_calendar_interval",
            (2, 2),
            |_| Ok(vec![DataType::Date32, calendar()]),
            |_| Ok(DataType::Date32),
            date_add_interval,
        ),
        SparkUdf::new(
            "spark_calendar_interval_multiply",
            (2, 2),
            |_| Ok(vec![calendar(), DataType::Float64]),
            |_| Ok(calendar()),
            |udf, args, _| scale(udf, args, false),
        ),
        SparkUdf::new(
            "spark_calendar_interval_divide",
            (2, 2),
            |_| Ok(vec![calendar(), DataType::Float64]),
            |_| Ok(calendar()),
            |udf, args, _| scale(udf, args, true),
        ),
    ]
}

/// `extract(<part> FROM interval)` (Spark's `ExtractIntervalPart`): years (int), months of
/// the year (tinyint), days with the whole days of the time part (int), hours of the day and
/// minutes of the hour (tinyint), seconds of the minute with microseconds (decimal(8,6)).
pub fn part_functions() -> Vec<SparkUdf> {
    fn part(
        name: &'static str,
        to: fn(&[DataType]) -> Result<DataType>,
        kernel: super::Kernel,
    ) -> SparkUdf {
        SparkUdf::new(name, (1, 1), |_| Ok(vec![calendar()]), to, kernel)
    }
    vec![
        part(
            "spark_calendar_interval_years",
            |_| Ok(DataType::Int32),
            |_, a, _| {
                Ok(Arc::new(
                    map_parts(a, |v| v.months / 12).collect::<arrow::array::Int32Array>(),
                ))
            },
        ),
        part(
            "spark_calendar_interval_months",
            |_| Ok(DataType::Int8),
            |_, a, _| {
                Ok(Arc::new(
                    map_parts(a, |v| (v.months % 12) as i8).collect::<arrow::array::Int8Array>(),
                ))
            },
        ),
        part(
            "spark_calendar_interval_days",
            |_| Ok(DataType::Int32),
            |_, a, _| {
                let days = intervals(a)
                    .iter()
                    .map(|v| v.map(|v| i64::from(v.days) + v.nanoseconds / 1_000 / MICROS_PER_DAY));
                let mut out = Vec::with_capacity(a[0].len());
                for d in days {
                    match d.map(i32::try_from) {
                        None => out.push(None),
                        Some(Ok(d)) => out.push(Some(d)),
                        Some(Err(_)) => {
                            return exec_err!(
                            "[ARITHMETIC_OVERFLOW] integer overflow in extract(DAY FROM interval)"
                        )
                        }
                    }
                }
                Ok(Arc::new(arrow::array::Int32Array::from(out)))
            },
        ),
        part(
            "spark_calendar_interval_hours",
            |_| Ok(DataType::Int8),
            |_, a, _| {
                Ok(Arc::new(
                    map_parts(a, |v| {
                        (v.nanoseconds / 1_000 % MICROS_PER_DAY / MICROS_PER_HOUR) as i8
                    })
                    .collect::<arrow::array::Int8Array>(),
                ))
            },
        ),
        part(
            "spark_calendar_interval_minutes",
            |_| Ok(DataType::Int8),
            |_, a, _| {
                Ok(Arc::new(
                    map_parts(a, |v| {
                        (v.nanoseconds / 1_000 % MICROS_PER_HOUR / MICROS_PER_MINUTE) as i8
                    })
                    .collect::<arrow::array::Int8Array>(),
                ))
            },
        ),
        part(
            "spark_calendar_interval_seconds",
            |_| Ok(DataType::Decimal128(8, 6)),
            |_, a, _| {
                let out = map_parts(a, |v| i128::from(v.nanoseconds / 1_000 % MICROS_PER_MINUTE))
                    .collect::<arrow::array::Decimal128Array>()
                    .with_precision_and_scale(8, 6)?;
                Ok(Arc::new(out))
            },
        ),
    ]
}

fn intervals(args: &[ArrayRef]) -> &IntervalMonthDayNanoArray {
    args[0].as_primitive::<IntervalMonthDayNanoType>()
}

fn map_parts<'a, T: 'a>(
    args: &'a [ArrayRef],
    f: impl Fn(IntervalMonthDayNano) -> T + 'a,
) -> impl Iterator<Item = Option<T>> + 'a {
    intervals(args).iter().map(move |v| v.map(&f))
}

fn make_interval_arguments(t: &[DataType]) -> Result<Vec<DataType>> {
    let mut out = vec![DataType::Int32; t.len().min(6)];
    if t.len() == 7 {
        out.push(DataType::Decimal128(18, 6));
    }
    Ok(out)
}

/// `make_interval([years[, months[, weeks[, days[, hours[, mins[, secs]]]]]]])`: NULL when an
/// argument is NULL; overflow fails in ANSI mode and is NULL otherwise.
fn make_interval(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    make_interval_with("make_interval", args, rows, udf.ansi)
}

fn make_interval_with(name: &str, args: &[ArrayRef], rows: usize, fail: bool) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(rows);
    'rows: for row in 0..rows {
        let mut parts = [0i64; 6];
        for (i, part) in parts.iter_mut().enumerate() {
            if let Some(a) = args.get(i) {
                if a.is_null(row) {
                    out.push(None);
                    continue 'rows;
                }
                *part = i64::from(a.as_primitive::<Int32Type>().value(row));
            }
        }
        let seconds = match args.get(6) {
            Some(a) if a.is_null(row) => {
                out.push(None);
                continue;
            }
            // decimal(18,6) seconds: the unscaled value is microseconds.
            Some(a) => i64::try_from(a.as_primitive::<Decimal128Type>().value(row)).ok(),
            None => Some(0),
        };
        let [years, months, weeks, days, hours, minutes] = parts;
        let total_months = years
            .checked_mul(12)
            .and_then(|m| m.checked_add(months))
            .and_then(|m| i32::try_from(m).ok());
        let total_days = weeks
            .checked_mul(7)
            .and_then(|d| d.checked_add(days))
            .and_then(|d| i32::try_from(d).ok());
        let micros = seconds
            .and_then(|s| s.checked_add(hours.checked_mul(MICROS_PER_HOUR)?))
            .and_then(|s| s.checked_add(minutes.checked_mul(MICROS_PER_MINUTE)?));
        match (total_months, total_days, micros) {
            (Some(m), Some(d), Some(us)) if value(m, d, us).is_some() => out.push(value(m, d, us)),
            (Some(_), Some(_), Some(us)) if fail => {
                return exec_err!(
                    "[ARITHMETIC_OVERFLOW] the time part of {name}(...) is {us} microseconds, beyond the ±292 years (in nanoseconds) Ember's calendar interval holds; Spark holds up to ±292,471 years. Use 'try_make_interval' to return NULL instead."
                )
            }
            _ if fail => {
                return exec_err!(
                    "[ARITHMETIC_OVERFLOW] integer overflow in {name}. Use 'try_make_interval' to tolerate overflow and return NULL instead. If necessary set ember.sql.ansi.enabled to \"false\" to bypass this error."
                )
            }
            _ => out.push(None),
        }
    }
    Ok(Arc::new(IntervalMonthDayNanoArray::from(out)))
}

/// Parses Spark's interval text as `IntervalUtils.stringToInterval` does: an optional
/// `interval` prefix, then `[+|-]<number> <unit>` pairs (units singular or plural, any case;
/// only seconds may have a fraction, up to nanoseconds, cut to microseconds). Returns months,
/// days and microseconds, or why the text is not an interval.
pub fn parse_calendar_interval(input: &str) -> std::result::Result<(i32, i32, i64), String> {
    let lower = input.trim().to_lowercase();
    let fail = |why: String| Err(format!("Error parsing '{input}' to interval, {why}"));
    if lower.is_empty() {
        return fail("interval string cannot be empty".into());
    }
    let mut rest = lower.as_str();
    if let Some(after) = rest.strip_prefix("interval") {
        if after.is_empty() {
            return fail("interval string cannot be empty".into());
        }
        if !after.starts_with(char::is_whitespace) {
            return fail(format!(
                "invalid interval prefix {}",
                rest.split_whitespace().next().unwrap_or(rest)
            ));
        }
        rest = after;
    }
    let (mut months, mut days, mut micros) = (0i32, 0i32, 0i64);
    let overflow = |what: &str| format!("Error parsing '{input}' to interval, {what} overflow");
    let mut words = rest.split_whitespace().peekable();
    if words.peek().is_none() {
        return fail("interval string cannot be empty".into());
    }
    while let Some(word) = words.next() {
        // The sign may stand apart from its number (`- 3 days`).
        let (negative, number) = match word.as_bytes()[0] {
            b'-' | b'+' => {
                let negative = word.starts_with('-');
                let number = if word.len() > 1 {
                    &word[1..]
                } else {
                    match words.next() {
                        Some(n) => n,
                        None => return fail(format!("expect a number after '{word}' but hit EOL")),
                    }
                };
                (negative, number)
            }
            _ => (false, word),
        };
        let (whole, fraction) = match number.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (number, None),
        };
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(whole) || fraction.is_some_and(|f| !digits_only(f)) {
            return fail(
                if word.as_bytes()[0].is_ascii_digit() || word.starts_with(['.', '-', '+']) {
                    format!("invalid value '{number}'")
                } else {
                    format!("unrecognized number '{number}'")
                },
            );
        }
        if whole.is_empty() && fraction.is_none_or(str::is_empty) {
            return fail(format!("invalid value '{number}'"));
        }
        if fraction.is_some_and(|f| f.len() > 9) {
            return fail(format!(
                "interval can only support nanosecond precision, '{number}' is out of range"
            ));
        }
        let mut value: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| overflow("long"))?
        };
        let mut nanos: i64 = fraction.map_or(0, |f| format!("{f:0<9}").parse().unwrap_or(0));
        let Some(unit) = words.next() else {
            return fail(format!("expect a unit name after '{number}' but hit EOL"));
        };
        let unit_name = unit.strip_suffix('s').unwrap_or(unit);
        if fraction.is_some() && unit_name != "second" {
            return fail(format!("'{unit}' cannot have fractional part"));
        }
        if negative {
            value = -value;
            nanos = -nanos;
        }
        let add_micros = |micros: i64, n: i64, per: i64| {
            n.checked_mul(per)
                .and_then(|v| micros.checked_add(v))
                .ok_or_else(|| overflow("long"))
        };
        match unit_name {
            "year" => {
                months = value
                    .checked_mul(12)
                    .and_then(|m| m.checked_add(i64::from(months)))
                    .and_then(|m| i32::try_from(m).ok())
                    .ok_or_else(|| overflow("integer"))?
            }
            "month" => {
                months = i32::try_from(value)
                    .ok()
                    .and_then(|m| months.checked_add(m))
                    .ok_or_else(|| overflow("integer"))?
            }
            "week" => {
                days = value
                    .checked_mul(7)
                    .and_then(|d| d.checked_add(i64::from(days)))
                    .and_then(|d| i32::try_from(d).ok())
                    .ok_or_else(|| overflow("integer"))?
            }
            "day" => {
                days = i32::try_from(value)
                    .ok()
                    .and_then(|d| days.checked_add(d))
                    .ok_or_else(|| overflow("integer"))?
            }
            "hour" => micros = add_micros(micros, value, MICROS_PER_HOUR)?,
            "minute" => micros = add_micros(micros, value, MICROS_PER_MINUTE)?,
            "second" => {
                micros = add_micros(micros, value, MICROS_PER_SECOND)?;
                micros = micros
                    .checked_add(nanos / 1_000)
                    .ok_or_else(|| overflow("long"))?;
            }
            "millisecond" => micros = add_micros(micros, value, 1_000)?,
            "microsecond" => micros = add_micros(micros, value, 1)?,
            _ => return fail(format!("invalid unit '{unit}'")),
        }
    }
    Ok((months, days, micros))
}

/// `CAST(string AS INTERVAL)`: NULL for text that is not an interval, as Spark's cast.
fn string_to_calendar_interval(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let out: IntervalMonthDayNanoArray = (0..rows)
        .map(|row| {
            if text.is_null(row) {
                return None;
            }
            let (m, d, us) = parse_calendar_interval(text.value(row)).ok()?;
            value(m, d, us)
        })
        .collect();
    Ok(Arc::new(out))
}

fn calendar_interval_to_string(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let intervals = args[0].as_primitive::<IntervalMonthDayNanoType>();
    let mut out = StringBuilder::with_capacity(rows, rows * 16);
    for row in 0..rows {
        if intervals.is_null(row) {
            out.append_null();
        } else {
            let v = intervals.value(row);
            out.append_value(calendar_interval_text(
                v.months,
                v.days,
                v.nanoseconds / 1_000,
            ));
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `date + interval` (Spark's `DateAddInterval`): the months (the day kept or clamped to
/// the month's end), then the days. An interval with a time part fails in ANSI mode; outside
/// it the date is taken as a timestamp at midnight and the result's date is returned.
fn date_add_interval(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let dates = args[0].as_primitive::<Date32Type>();
    let intervals = args[1].as_primitive::<IntervalMonthDayNanoType>();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date");
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if dates.is_null(row) || intervals.is_null(row) {
            out.push(None);
            continue;
        }
        let v = intervals.value(row);
        let micros = v.nanoseconds / 1_000;
        if micros != 0 && udf.ansi {
            return exec_err!(
                "[INVALID_INTERVAL_WITH_MICROSECONDS_ADDITION] Cannot add an interval to a date because its microseconds part is not 0. If necessary set ember.sql.ansi.enabled to \"false\" to bypass this error."
            );
        }
        let date = epoch + chrono::Duration::days(i64::from(dates.value(row)));
        let moved = if v.months >= 0 {
            date.checked_add_months(Months::new(v.months as u32))
        } else {
            date.checked_sub_months(Months::new(v.months.unsigned_abs()))
        };
        let moved = moved.and_then(|d| {
            if v.days >= 0 {
                d.checked_add_days(Days::new(v.days as u64))
            } else {
                d.checked_sub_days(Days::new(u64::from(v.days.unsigned_abs())))
            }
        });
        // Outside ANSI mode the time part moves the midnight timestamp, then the date is read.
        let moved = moved.and_then(|d| {
            let midnight = d.and_hms_opt(0, 0, 0)?;
            Some(
                midnight
                    .checked_add_signed(chrono::Duration::microseconds(micros))?
                    .date(),
            )
        });
        match moved {
            Some(d) => out.push(Some((d - epoch).num_days() as i32)),
            None => {
                return exec_err!(
                    "[DATETIME_OVERFLOW] Datetime operation overflow: the date is out of range"
                )
            }
        }
    }
    Ok(Arc::new(arrow::array::Date32Array::from(out)))
}

/// `interval * n` and `interval / n` (Spark's `MultiplyInterval` / `DivideInterval`): each
/// part scaled as a double; the fractions of months are dropped, those of days carried
/// into microseconds, the microseconds rounded. Overflow fails in ANSI mode and saturates
/// outside it; dividing by zero fails in ANSI mode and is NULL outside it.
fn scale(udf: &SparkUdf, args: &[ArrayRef], divide: bool) -> Result<ArrayRef> {
    let intervals = args[0].as_primitive::<IntervalMonthDayNanoType>();
    let numbers = args[1].as_primitive::<Float64Type>();
    let mut out = Vec::with_capacity(intervals.len());
    for row in 0..intervals.len() {
        if intervals.is_null(row) || numbers.is_null(row) {
            out.push(None);
            continue;
        }
        let n = numbers.value(row);
        let v = intervals.value(row);
        if divide && n == 0.0 {
            if udf.ansi {
                return exec_err!(
                    "[INTERVAL_DIVIDED_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead."
                );
            }
            out.push(None);
            continue;
        }
        let apply = |x: f64| if divide { x / n } else { x * n };
        let months = apply(f64::from(v.months));
        let days = apply(f64::from(v.days));
        let micros = apply((v.nanoseconds / 1_000) as f64);
        let whole_months = months.trunc();
        let whole_days = days.trunc();
        let micros = (micros + MICROS_PER_DAY as f64 * (days - whole_days)).round();
        let fits = |x: f64, lo: f64, hi: f64| x.is_finite() && x >= lo && x <= hi;
        let result = if !udf.ansi {
            // Spark's `safeFromDoubles`: the parts saturate as Java's casts of doubles do.
            value(whole_months as i32, whole_days as i32, micros as i64)
        } else if fits(whole_months, i32::MIN as f64, i32::MAX as f64)
            && fits(whole_days, i32::MIN as f64, i32::MAX as f64)
            && fits(micros, i64::MIN as f64, i64::MAX as f64)
        {
            value(whole_months as i32, whole_days as i32, micros as i64)
        } else {
            None
        };
        match result {
            Some(r) => out.push(Some(r)),
            None if udf.ansi => {
                return exec_err!(
                    "[ARITHMETIC_OVERFLOW] integer overflow. If necessary set ember.sql.ansi.enabled to \"false\" to bypass this error."
                )
            }
            None => out.push(None),
        }
    }
    Ok(Arc::new(IntervalMonthDayNanoArray::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spark_interval_text() {
        let p = |s: &str| parse_calendar_interval(s);
        assert_eq!(p("interval 3 month 1 hour"), Ok((3, 0, MICROS_PER_HOUR)));
        assert_eq!(p("1 YEAR 2 Months"), Ok((14, 0, 0)));
        assert_eq!(p("  -1 week 2 days "), Ok((0, -5, 0)));
        assert_eq!(p("1.5 seconds"), Ok((0, 0, 1_500_000)));
        assert_eq!(p("-1.5 seconds"), Ok((0, 0, -1_500_000)));
        assert_eq!(p(".25 second"), Ok((0, 0, 250_000)));
        assert_eq!(p("1 millisecond 2 microseconds"), Ok((0, 0, 1_002)));
        assert_eq!(p("- 3 days"), Ok((0, -3, 0)));
        assert!(p("").is_err());
        assert!(p("interval").is_err());
        assert!(p("1.5 days").unwrap_err().contains("fractional"));
        assert!(p("1 fortnight").unwrap_err().contains("invalid unit"));
        assert!(p("3").unwrap_err().contains("expect a unit"));
        assert!(p("intervals 3 days").is_err());
        assert!(p("1 dayss").is_err());
    }
}
