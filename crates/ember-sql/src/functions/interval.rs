//! Spark's ANSI intervals: `INTERVAL YEAR TO MONTH` (Arrow `Interval(YearMonth)`, whole
//! months) and `INTERVAL DAY TO SECOND` (Arrow `Duration(Microsecond)`). Which fields a type
//! has (`interval day`, `interval hour to second`, ...) travels as the field metadata
//! [`INTERVAL_FIELDS`]; without it a year-month interval is `interval year to month` and a
//! day-time one `interval day to second`.
//!
//! Functions: `make_ym_interval`, `make_dt_interval`, multiplication and division of an
//! interval by a number, the date difference as a day interval, and the identity
//! `spark_interval_fields` that gives an expression its fields.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DurationMicrosecondArray, IntervalYearMonthArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, IntervalUnit, TimeUnit};
use datafusion_common::{exec_err, Result, ScalarValue};

use super::SparkUdf;
use crate::types::spark_type_name;

/// The metadata key naming an interval's fields (`day`, `year to month`, ...).
pub const INTERVAL_FIELDS: &str = "ember.interval";

/// The identity that gives its first argument the interval fields named by its second (a
/// string literal), for Spark's type names.
pub const FIELDS_UDF: &str = "spark_interval_fields";

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
pub const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Arrow's type for Spark's year-month intervals.
pub fn year_month() -> DataType {
    DataType::Interval(IntervalUnit::YearMonth)
}

/// Arrow's type for Spark's day-time intervals.
pub fn day_time() -> DataType {
    DataType::Duration(TimeUnit::Microsecond)
}

pub fn is_year_month(t: &DataType) -> bool {
    matches!(t, DataType::Interval(IntervalUnit::YearMonth))
}

pub fn is_day_time(t: &DataType) -> bool {
    matches!(t, DataType::Duration(_))
}

/// The interval functions callable by name.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "make_ym_interval",
            (0, 2),
            |t| Ok(vec![DataType::Int32; t.len()]),
            |_| Ok(year_month()),
            make_ym_interval,
        ),
        SparkUdf::new(
            "make_dt_interval",
            (0, 4),
            |t| {
                let mut out = vec![DataType::Int32; t.len().min(3)];
                if t.len() == 4 {
                    out.push(DataType::Decimal128(18, 6));
                }
                Ok(out)
            },
            |_| Ok(day_time()),
            make_dt_interval,
        ),
    ]
}

/// The internal interval functions (not callable by name), for the plan codec.
pub fn internal() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            FIELDS_UDF,
            (2, 2),
            |t| Ok(vec![t[0].clone(), DataType::Utf8]),
            |t| Ok(t[0].clone()),
            |_, args, _| Ok(Arc::clone(&args[0])),
        ),
        SparkUdf::new(
            "spark_interval_multiply",
            (2, 2),
            |t| Ok(vec![t[0].clone(), DataType::Float64]),
            |t| Ok(t[0].clone()),
            multiply,
        ),
        SparkUdf::new(
            "spark_interval_divide",
            (2, 2),
            |t| Ok(vec![t[0].clone(), DataType::Float64]),
            |t| Ok(t[0].clone()),
            divide,
        ),
        SparkUdf::new(
            "spark_interval_to_string",
            (2, 2),
            |t| Ok(vec![t[0].clone(), DataType::Utf8]),
            |_| Ok(DataType::Utf8),
            interval_to_string,
        ),
        SparkUdf::new(
            "spark_string_to_ym_interval",
            (2, 2),
            |_| Ok(vec![DataType::Utf8, DataType::Utf8]),
            |_| Ok(year_month()),
            |udf, args, rows| string_to_interval(udf, args, rows, true),
        ),
        SparkUdf::new(
            "spark_string_to_dt_interval",
            (2, 2),
            |_| Ok(vec![DataType::Utf8, DataType::Utf8]),
            |_| Ok(day_time()),
            |udf, args, rows| string_to_interval(udf, args, rows, false),
        ),
        SparkUdf::new(
            "spark_date_difference",
            (2, 2),
            |_| Ok(vec![DataType::Date32, DataType::Date32]),
            |_| Ok(day_time()),
            date_difference,
        ),
    ]
}

/// `EXTRACT(field FROM interval)` for each field Spark allows, with Spark's result types:
/// YEAR int and MONTH tinyint of a year-month interval; DAY int, HOUR and MINUTE tinyint,
/// SECOND decimal(8,6) of a day-time one. Each part is what is left after the larger ones
/// (`EXTRACT(HOUR FROM INTERVAL '1 25:00' ...)`), with the interval's sign.
pub fn part_functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "spark_interval_years",
            (1, 1),
            |t| Ok(t.to_vec()),
            |_| Ok(DataType::Int32),
            |_, a, _| ym_part(a, |m| Some(m / 12), DataType::Int32),
        ),
        SparkUdf::new(
            "spark_interval_months",
            (1, 1),
            |t| Ok(t.to_vec()),
            |_| Ok(DataType::Int8),
            |_, a, _| ym_part(a, |m| Some(m % 12), DataType::Int8),
        ),
        SparkUdf::new(
            "spark_interval_days",
            (1, 1),
            |t| Ok(t.to_vec()),
            |_| Ok(DataType::Int32),
            |_, a, _| dt_part(a, |u| u / MICROS_PER_DAY, DataType::Int32),
        ),
        SparkUdf::new(
            "spark_interval_hours",
            (1, 1),
            |t| Ok(t.to_vec()),
            |_| Ok(DataType::Int8),
            |_, a, _| dt_part(a, |u| u % MICROS_PER_DAY / MICROS_PER_HOUR, DataType::Int8),
        ),
        SparkUdf::new(
            "spark_interval_minutes",
            (1, 1),
            |t| Ok(t.to_vec()),
            |_| Ok(DataType::Int8),
            |_, a, _| {
                dt_part(
                    a,
                    |u| u % MICROS_PER_HOUR / MICROS_PER_MINUTE,
                    DataType::Int8,
                )
            },
        ),
        SparkUdf::new(
            "spark_interval_seconds",
            (1, 1),
            |t| Ok(t.to_vec()),
            |_| Ok(DataType::Decimal128(8, 6)),
            |_, a, _| dt_part(a, |u| u % MICROS_PER_MINUTE, DataType::Decimal128(8, 6)),
        ),
    ]
}

fn ym_part(args: &[ArrayRef], f: impl Fn(i32) -> Option<i32>, to: DataType) -> Result<ArrayRef> {
    let months = args[0].as_primitive::<arrow::datatypes::IntervalYearMonthType>();
    let values: arrow::array::Int32Array = months.iter().map(|m| m.and_then(&f)).collect();
    Ok(cast(&(Arc::new(values) as ArrayRef), &to)?)
}

fn dt_part(args: &[ArrayRef], f: impl Fn(i64) -> i64, to: DataType) -> Result<ArrayRef> {
    let micros = cast(&args[0], &DataType::Int64)?;
    let micros = micros.as_primitive::<Int64Type>();
    Ok(match to {
        DataType::Decimal128(p, s) => {
            let values: arrow::array::Decimal128Array =
                micros.iter().map(|u| u.map(|u| f(u) as i128)).collect();
            Arc::new(values.with_precision_and_scale(p, s)?)
        }
        to => {
            let values: arrow::array::Int64Array = micros.iter().map(|u| u.map(&f)).collect();
            cast(&(Arc::new(values) as ArrayRef), &to)?
        }
    })
}

/// `make_ym_interval([years[, months]])`.
fn make_ym_interval(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let part = |i: usize, row: usize| -> Option<Option<i64>> {
        match args.get(i) {
            None => Some(Some(0)),
            Some(a) if a.is_null(row) => None,
            Some(a) => Some(Some(a.as_primitive::<Int32Type>().value(row) as i64)),
        }
    };
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let (Some(Some(years)), Some(Some(months))) = (part(0, row), part(1, row)) else {
            out.push(None);
            continue;
        };
        let total = years * 12 + months;
        match i32::try_from(total) {
            Ok(v) => out.push(Some(v)),
            Err(_) if !udf.ansi => out.push(None),
            Err(_) => {
                return exec_err!("[ARITHMETIC_OVERFLOW] integer overflow in make_ym_interval")
            }
        }
    }
    Ok(Arc::new(IntervalYearMonthArray::from(out)))
}

/// `make_dt_interval([days[, hours[, mins[, secs]]]])`, seconds with microseconds.
fn make_dt_interval(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let mut total: i128 = 0;
        let mut null = false;
        for (i, scale) in [MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE]
            .iter()
            .enumerate()
        {
            if let Some(a) = args.get(i) {
                if a.is_null(row) {
                    null = true;
                } else {
                    total += a.as_primitive::<Int32Type>().value(row) as i128 * *scale as i128;
                }
            }
        }
        if let Some(a) = args.get(3) {
            if a.is_null(row) {
                null = true;
            } else {
                // decimal(18,6) seconds: the unscaled value is microseconds.
                total += a
                    .as_primitive::<arrow::datatypes::Decimal128Type>()
                    .value(row);
            }
        }
        if null {
            out.push(None);
            continue;
        }
        match i64::try_from(total) {
            Ok(v) => out.push(Some(v)),
            Err(_) if !udf.ansi => out.push(None),
            Err(_) => return exec_err!("[ARITHMETIC_OVERFLOW] long overflow in make_dt_interval"),
        }
    }
    Ok(Arc::new(DurationMicrosecondArray::from(out)))
}

/// Applies `f` to each interval's months or microseconds and the number, rounding half up
/// as Spark's `MultiplyYMInterval` / `DivideDTInterval` do.
fn scale(
    udf: &SparkUdf,
    args: &[ArrayRef],
    what: &str,
    f: impl Fn(f64, f64) -> Result<f64>,
) -> Result<ArrayRef> {
    let numbers = args[1].as_primitive::<Float64Type>();
    let interval = &args[0];
    let overflow = || {
        datafusion_common::DataFusionError::Execution(format!(
            "[INTERVAL_ARITHMETIC_OVERFLOW] Integer overflow while operating with intervals ({what}). Use try_{what} to tolerate overflow and return NULL instead."
        ))
    };
    match interval.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => {
            let months = interval.as_primitive::<arrow::datatypes::IntervalYearMonthType>();
            let mut out = Vec::with_capacity(months.len());
            for i in 0..months.len() {
                if months.is_null(i) || numbers.is_null(i) {
                    out.push(None);
                    continue;
                }
                let v = f(months.value(i) as f64, numbers.value(i))?.round();
                if !(i32::MIN as f64..=i32::MAX as f64).contains(&v) {
                    if udf.ansi {
                        return Err(overflow());
                    }
                    out.push(None);
                } else {
                    out.push(Some(v as i32));
                }
            }
            Ok(Arc::new(IntervalYearMonthArray::from(out)))
        }
        DataType::Duration(_) => {
            let micros = cast(interval, &DataType::Int64)?;
            let micros = micros.as_primitive::<Int64Type>();
            let mut out = Vec::with_capacity(micros.len());
            for i in 0..micros.len() {
                if micros.is_null(i) || numbers.is_null(i) {
                    out.push(None);
                    continue;
                }
                let v = f(micros.value(i) as f64, numbers.value(i))?.round();
                if !(i64::MIN as f64..=i64::MAX as f64).contains(&v) {
                    if udf.ansi {
                        return Err(overflow());
                    }
                    out.push(None);
                } else {
                    out.push(Some(v as i64));
                }
            }
            Ok(Arc::new(DurationMicrosecondArray::from(out)))
        }
        other => exec_err!("interval arithmetic over {}", spark_type_name(other)),
    }
}

fn multiply(udf: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    scale(udf, args, "multiply", |a, b| Ok(a * b))
}

fn divide(udf: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    scale(udf, args, "divide", |a, b| {
        if b == 0.0 {
            return exec_err!(
                "[INTERVAL_DIVIDED_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead."
            );
        }
        Ok(a / b)
    })
}

/// `date1 - date2`: the days between them as a day interval.
fn date_difference(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let (a, b) = (
        args[0].as_primitive::<arrow::datatypes::Date32Type>(),
        args[1].as_primitive::<arrow::datatypes::Date32Type>(),
    );
    let out: DurationMicrosecondArray = (0..a.len())
        .map(|i| {
            (a.is_valid(i) && b.is_valid(i))
                .then(|| (a.value(i) as i64 - b.value(i) as i64) * MICROS_PER_DAY)
        })
        .collect();
    Ok(Arc::new(out))
}

/// A unit of an interval literal, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

impl Unit {
    pub fn parse(word: &str) -> Option<Unit> {
        let lower = word.to_ascii_lowercase();
        Some(match lower.strip_suffix('s').unwrap_or(&lower) {
            "year" => Unit::Year,
            "month" => Unit::Month,
            "week" => Unit::Week,
            "day" => Unit::Day,
            "hour" => Unit::Hour,
            "minute" => Unit::Minute,
            "second" => Unit::Second,
            "millisecond" => Unit::Millisecond,
            "microsecond" => Unit::Microsecond,
            _ => return None,
        })
    }

    fn is_year_month(self) -> bool {
        matches!(self, Unit::Year | Unit::Month)
    }

    /// The field of Spark's interval type this unit falls in.
    fn field(self) -> &'static str {
        match self {
            Unit::Year => "year",
            Unit::Month => "month",
            Unit::Week | Unit::Day => "day",
            Unit::Hour => "hour",
            Unit::Minute => "minute",
            Unit::Second | Unit::Millisecond | Unit::Microsecond => "second",
        }
    }

    fn micros(self) -> i64 {
        match self {
            Unit::Week => 7 * MICROS_PER_DAY,
            Unit::Day => MICROS_PER_DAY,
            Unit::Hour => MICROS_PER_HOUR,
            Unit::Minute => MICROS_PER_MINUTE,
            Unit::Second => MICROS_PER_SECOND,
            Unit::Millisecond => 1_000,
            Unit::Microsecond => 1,
            Unit::Year | Unit::Month => 0,
        }
    }
}

/// Spark's name of the fields from `start` to `end` (`day`, `hour to second`).
fn fields_name(start: Unit, end: Unit) -> String {
    if start.field() == end.field() {
        start.field().to_string()
    } else {
        format!("{} to {}", start.field(), end.field())
    }
}

/// `n` of a unit as microseconds (`n` may have a fraction for seconds and smaller units).
fn micros_of(amount: &str, unit: Unit) -> std::result::Result<i64, String> {
    let amount = amount.trim();
    if let Ok(n) = amount.parse::<i64>() {
        return n
            .checked_mul(unit.micros())
            .ok_or_else(|| format!("the interval value {amount} {unit:?} is out of range"));
    }
    if unit >= Unit::Second {
        let (negative, digits) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount.strip_prefix('+').unwrap_or(amount)),
        };
        if let Some((whole, fraction)) = digits.split_once('.') {
            let whole: i64 = if whole.is_empty() {
                0
            } else {
                whole.parse().map_err(|_| bad(amount))?
            };
            if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(amount));
            }
            let nanos: i64 = format!("{fraction:0<9}").parse().map_err(|_| bad(amount))?;
            let per_unit_nanos = unit.micros() as i128 * 1000;
            let total = (whole as i128 * per_unit_nanos
                + nanos as i128 * per_unit_nanos / 1_000_000_000)
                / 1000;
            let total = if negative { -total } else { total };
            return i64::try_from(total)
                .map_err(|_| format!("the interval value {amount} is out of range"));
        }
    }
    Err(bad(amount))
}

fn bad(amount: &str) -> String {
    format!("'{amount}' is not a number of the interval's unit")
}

/// The value and fields of an interval literal's text.
pub fn parse_interval(
    text: &str,
    leading: Option<Unit>,
    last: Option<Unit>,
) -> std::result::Result<(ScalarValue, String), String> {
    match (leading, last) {
        (Some(start), Some(end)) => parse_range(text, start, end),
        (Some(unit), None) => single(text, unit),
        (None, _) => multi_unit(text),
    }
}

fn single(text: &str, unit: Unit) -> std::result::Result<(ScalarValue, String), String> {
    let text = text.trim();
    if unit.is_year_month() {
        let n: i64 = text.parse().map_err(|_| bad(text))?;
        let months = if unit == Unit::Year {
            n.checked_mul(12)
        } else {
            Some(n)
        };
        let months = months
            .and_then(|m| i32::try_from(m).ok())
            .ok_or_else(|| format!("the interval value {text} {} is out of range", unit.field()))?;
        return Ok((
            ScalarValue::IntervalYearMonth(Some(months)),
            unit.field().into(),
        ));
    }
    let micros = micros_of(text, unit)?;
    Ok((
        ScalarValue::DurationMicrosecond(Some(micros)),
        unit.field().into(),
    ))
}

/// `'[+|-]y-m' YEAR TO MONTH`, `'[+|-]d h:m:s.f' DAY TO SECOND` and the other ANSI ranges.
fn parse_range(
    text: &str,
    start: Unit,
    end: Unit,
) -> std::result::Result<(ScalarValue, String), String> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let fields = fields_name(start, end);
    let expected = match (start, end) {
        (Unit::Year, Unit::Month) => "[+|-]y-m",
        (Unit::Day, Unit::Hour) => "[+|-]d h",
        (Unit::Day, Unit::Minute) => "[+|-]d h:m",
        (Unit::Day, Unit::Second) => "[+|-]d h:m:s.n",
        (Unit::Hour, Unit::Minute) => "[+|-]h:m",
        (Unit::Hour, Unit::Second) => "[+|-]h:m:s.n",
        (Unit::Minute, Unit::Second) => "[+|-]m:s.n",
        _ => {
            return Err(format!(
                "the interval range {} TO {} is not one Spark has",
                start.field().to_uppercase(),
                end.field().to_uppercase()
            ))
        }
    };
    let mismatch = || {
        format!(
            "[INVALID_INTERVAL_FORMAT.UNMATCHED_FORMAT_STRING] Interval string does not match {} format of `{expected}` when cast to interval {fields}: {text}",
            if start.is_year_month() { "year-month" } else { "day-time" }
        )
    };
    if start == Unit::Year {
        let (y, m) = body.split_once('-').ok_or_else(mismatch)?;
        let y: i64 = y.trim().parse().map_err(|_| mismatch())?;
        let m: i64 = m.trim().parse().map_err(|_| mismatch())?;
        if !(0..12).contains(&m) {
            return Err(format!("[INVALID_INTERVAL_FORMAT.INTERVAL_PARSING] month {m} outside range [0, 11]: {text}"));
        }
        let months = y * 12 + m;
        let months = if negative { -months } else { months };
        let months = i32::try_from(months).map_err(|_| mismatch())?;
        return Ok((ScalarValue::IntervalYearMonth(Some(months)), fields));
    }
    // Day-time: split into the parts the range has.
    let mut parts: Vec<&str> = Vec::new();
    let rest = if start == Unit::Day {
        let (d, rest) = body.split_once(' ').ok_or_else(mismatch)?;
        parts.push(d);
        rest
    } else {
        body
    };
    parts.extend(rest.split(':'));
    let units: Vec<Unit> = [Unit::Day, Unit::Hour, Unit::Minute, Unit::Second]
        .into_iter()
        .filter(|u| *u >= start && *u <= end)
        .collect();
    if parts.len() != units.len() {
        return Err(mismatch());
    }
    let mut total: i64 = 0;
    for (i, (part, unit)) in parts.iter().zip(&units).enumerate() {
        let part = part.trim();
        if part.starts_with(['-', '+']) {
            return Err(mismatch());
        }
        let micros = micros_of(part, *unit).map_err(|_| mismatch())?;
        let limit = match unit {
            Unit::Hour if i > 0 => Some(24 * MICROS_PER_HOUR),
            Unit::Minute if i > 0 => Some(60 * MICROS_PER_MINUTE),
            Unit::Second if i > 0 => Some(60 * MICROS_PER_SECOND),
            _ => None,
        };
        if limit.is_some_and(|l| micros >= l) {
            return Err(format!(
                "[INVALID_INTERVAL_FORMAT.INTERVAL_PARSING] {} {part} outside range: {text}",
                unit.field()
            ));
        }
        total = total.checked_add(micros).ok_or_else(mismatch)?;
    }
    Ok((
        ScalarValue::DurationMicrosecond(Some(if negative { -total } else { total })),
        fields,
    ))
}

/// `'3 days 4 hours'`, `'1 year 2 months'`: value-unit pairs of one family.
fn multi_unit(text: &str) -> std::result::Result<(ScalarValue, String), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let words = match words.first() {
        Some(w) if w.eq_ignore_ascii_case("interval") => &words[1..],
        _ => &words[..],
    };
    if words.is_empty() || words.len() % 2 == 1 {
        return Err(format!(
            "'{text}' is not an interval; write e.g. INTERVAL '3' DAY, INTERVAL '1-2' YEAR TO MONTH or INTERVAL 3 DAYS 4 HOURS"
        ));
    }
    let mut months: i64 = 0;
    let mut micros: i64 = 0;
    let (mut largest, mut smallest): (Option<Unit>, Option<Unit>) = (None, None);
    for pair in words.chunks(2) {
        let unit = Unit::parse(pair[1]).ok_or_else(|| {
            format!("unknown interval unit '{}'; use YEAR, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND or MICROSECOND", pair[1])
        })?;
        if let Some(first) = largest {
            if first.is_year_month() != unit.is_year_month() {
                return Err(format!(
                    "[INVALID_INTERVAL_FORMAT.MIXED_INTERVAL_UNITS] Cannot mix year-month and day-time fields: interval {text}"
                ));
            }
        }
        largest = Some(largest.map_or(unit, |u| u.min(unit)));
        smallest = Some(smallest.map_or(unit, |u| u.max(unit)));
        if unit.is_year_month() {
            let n: i64 = pair[0].parse().map_err(|_| bad(pair[0]))?;
            months = months
                .checked_add(if unit == Unit::Year { n * 12 } else { n })
                .ok_or_else(|| format!("the interval {text} is out of range"))?;
        } else {
            micros = micros
                .checked_add(micros_of(pair[0], unit)?)
                .ok_or_else(|| format!("the interval {text} is out of range"))?;
        }
    }
    let (Some(start), Some(end)) = (largest, smallest) else {
        unreachable!("at least one pair")
    };
    let fields = fields_name(start, end);
    if start.is_year_month() {
        let months =
            i32::try_from(months).map_err(|_| format!("the interval {text} is out of range"))?;
        Ok((ScalarValue::IntervalYearMonth(Some(months)), fields))
    } else {
        Ok((ScalarValue::DurationMicrosecond(Some(micros)), fields))
    }
}

/// Spark's ANSI text of a year-month interval of `months` with `fields` (`INTERVAL '1-2'
/// YEAR TO MONTH`, `INTERVAL '14' MONTH`), as casts to string and column names show it.
pub fn ansi_year_month(months: i32, fields: &str) -> String {
    let sign = if months < 0 { "-" } else { "" };
    let abs = (months as i64).abs();
    let body = match fields {
        "year" => format!("{sign}{}", abs / 12),
        "month" => format!("{sign}{abs}"),
        _ => format!("{sign}{}-{}", abs / 12, abs % 12),
    };
    format!("INTERVAL '{body}' {}", fields.to_uppercase())
}

/// Spark's ANSI text of a day-time interval of `micros` with `fields` (`INTERVAL '3' DAY`,
/// `INTERVAL '3 04:05:06.5' DAY TO SECOND`).
pub fn ansi_day_time(micros: i64, fields: &str) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let mut rest = (micros as i128).abs();
    let (start, end) = fields.split_once(" to ").unwrap_or((fields, fields));
    let seconds = |rest: i128| {
        let whole = rest / MICROS_PER_SECOND as i128;
        let fraction = rest % MICROS_PER_SECOND as i128;
        let mut text = format!("{whole:02}");
        if fraction != 0 {
            let digits = format!("{fraction:06}");
            text.push('.');
            text.push_str(digits.trim_end_matches('0'));
        }
        text
    };
    let mut body = String::from(sign);
    let units = [
        ("day", MICROS_PER_DAY as i128),
        ("hour", MICROS_PER_HOUR as i128),
        ("minute", MICROS_PER_MINUTE as i128),
        ("second", MICROS_PER_SECOND as i128),
    ];
    let first = units.iter().position(|(u, _)| *u == start).unwrap_or(0);
    let last = units.iter().position(|(u, _)| *u == end).unwrap_or(3);
    for (i, (unit, size)) in units.iter().enumerate().take(last + 1).skip(first) {
        let separator = match (i == first, *unit) {
            (true, _) => "",
            (false, "hour") => " ",
            (false, _) => ":",
        };
        body.push_str(separator);
        if *unit == "second" {
            body.push_str(&seconds(rest));
        } else if i == first && *unit == "day" {
            body.push_str(&(rest / size).to_string());
            rest %= size;
        } else {
            body.push_str(&format!("{:02}", rest / size));
            rest %= size;
        }
    }
    format!("INTERVAL '{body}' {}", fields.to_uppercase())
}

/// `CAST(interval AS STRING)`: Spark's ANSI text; the second argument names the fields.
fn interval_to_string(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let fields = args[1].as_string::<i32>();
    let mut out = arrow::array::StringBuilder::with_capacity(rows, rows * 24);
    let value = &args[0];
    for row in 0..rows {
        if value.is_null(row) {
            out.append_null();
            continue;
        }
        let f = fields.value(row);
        match value.data_type() {
            DataType::Interval(IntervalUnit::YearMonth) => out.append_value(ansi_year_month(
                value
                    .as_primitive::<arrow::datatypes::IntervalYearMonthType>()
                    .value(row),
                f,
            )),
            DataType::Duration(TimeUnit::Microsecond) => out.append_value(ansi_day_time(
                value
                    .as_primitive::<arrow::datatypes::DurationMicrosecondType>()
                    .value(row),
                f,
            )),
            other => return exec_err!("interval text of {other}"),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `CAST(string AS INTERVAL ...)`: the value alone (`'1-2'`, `'3 04:05:06'`) in the target's
/// format, or a whole literal (`'INTERVAL ''3'' DAY'`, `'interval 3 days'`).
fn string_to_interval(
    udf: &SparkUdf,
    args: &[ArrayRef],
    rows: usize,
    year_month: bool,
) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let fields = args[1].as_string::<i32>();
    let mut months = Vec::new();
    let mut micros = Vec::new();
    for row in 0..rows {
        let parsed = if text.is_null(row) {
            None
        } else {
            let f = fields.value(row);
            let (start, end) = f.split_once(" to ").unwrap_or((f, f));
            let (start, end) = (Unit::parse(start), Unit::parse(end));
            let raw = text.value(row).trim();
            let attempt = match raw.get(..8) {
                Some(prefix) if prefix.eq_ignore_ascii_case("interval") => {
                    let inner = raw[8..].trim();
                    match inner.strip_prefix('\'').and_then(|r| r.split_once('\'')) {
                        Some((value, units)) => {
                            let units: Vec<&str> = units.split_whitespace().collect();
                            let (s, e) = match units.as_slice() {
                                [u] => (Unit::parse(u), None),
                                [u, to, v] if to.eq_ignore_ascii_case("to") => {
                                    (Unit::parse(u), Unit::parse(v))
                                }
                                _ => (None, None),
                            };
                            if s.is_none() {
                                Err(format!("'{raw}' is not an interval"))
                            } else {
                                parse_interval(value, s, e)
                            }
                        }
                        None => parse_interval(inner, None, None),
                    }
                }
                _ => parse_interval(raw, start, if start == end { None } else { end }),
            };
            match attempt {
                Ok((value, _)) => Some(value),
                Err(message) if udf.ansi => {
                    return exec_err!(
                        "[CAST_INVALID_INPUT] The value '{raw}' of the type \"STRING\" cannot be cast to \"INTERVAL {}\" because it is malformed ({message}). Correct the value as per the syntax, or change its target type. Use `try_cast` to tolerate malformed input and return NULL instead.",
                        f.to_uppercase()
                    )
                }
                Err(_) => None,
            }
        };
        match parsed {
            Some(ScalarValue::IntervalYearMonth(Some(m))) if year_month => {
                months.push(Some(m));
            }
            Some(ScalarValue::DurationMicrosecond(Some(m))) if !year_month => {
                micros.push(Some(m));
            }
            Some(_) if udf.ansi => {
                return exec_err!(
                    "[CAST_INVALID_INPUT] The value '{}' of the type \"STRING\" cannot be cast to \"INTERVAL {}\": it is the other kind of interval",
                    text.value(row),
                    fields.value(row).to_uppercase()
                )
            }
            _ => {
                months.push(None);
                micros.push(None);
            }
        }
    }
    Ok(if year_month {
        Arc::new(IntervalYearMonthArray::from(months))
    } else {
        Arc::new(DurationMicrosecondArray::from(micros))
    })
}

/// Spark's type name of an interval with `fields` (`None`: the family's full range).
pub fn interval_type_name(data_type: &DataType, fields: Option<&str>) -> Option<String> {
    match (data_type, fields) {
        (DataType::Interval(IntervalUnit::YearMonth) | DataType::Duration(_), Some(f)) => {
            Some(format!("interval {f}"))
        }
        (DataType::Interval(IntervalUnit::YearMonth), None) => {
            Some("interval year to month".into())
        }
        (DataType::Duration(_), None) => Some("interval day to second".into()),
        (DataType::Interval(_), _) => Some("interval".into()),
        _ => None,
    }
}

/// The interval fields an argument's field carries.
pub fn fields_of(field: &arrow::datatypes::Field) -> Option<&str> {
    field.metadata().get(INTERVAL_FIELDS).map(String::as_str)
}

/// Checks that intervals compared or combined belong to one family.
pub fn same_family(a: &DataType, b: &DataType) -> std::result::Result<(), String> {
    if (is_year_month(a) && is_day_time(b)) || (is_day_time(a) && is_year_month(b)) {
        return Err(format!(
            "[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] the left and right operands of the binary operator have incompatible types (\"{}\" and \"{}\")",
            spark_type_name(a).to_uppercase(),
            spark_type_name(b).to_uppercase()
        ));
    }
    Ok(())
}
