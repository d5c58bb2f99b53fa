//! Date and time functions with Spark's semantics and Java (`DateTimeFormatter`) patterns.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Builder, Float64Builder, Int32Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Date32Type, Int32Type, TimeUnit, TimestampMicrosecondType};
use chrono::format::{parse, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion_common::{exec_err, plan_err, Result};

use super::{is_integer, is_string, SparkUdf};

/// Ember's timestamp type: microseconds, no time zone.
pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The date and time functions Ember defines itself; `ansi` decides whether unparsable input
/// fails (true) or gives NULL.
pub fn functions(ansi: bool) -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "to_date",
            (1, 2),
            coerce_parse_input,
            |_| Ok(DataType::Date32),
            to_date,
        )
        .with_ansi(ansi),
        SparkUdf::new(
            "to_timestamp",
            (1, 2),
            coerce_parse_input,
            |_| Ok(TIMESTAMP),
            to_timestamp,
        )
        .with_ansi(ansi),
        SparkUdf::new(
            "date_format",
            (2, 2),
            |t| Ok(vec![timestamp_arg(&t[0])?, string_arg(&t[1])?]),
            |_| Ok(DataType::Utf8),
            date_format,
        ),
        SparkUdf::new(
            "date_add",
            (2, 2),
            |t| Ok(vec![date_arg(&t[0])?, int_arg(&t[1])?]),
            |_| Ok(DataType::Date32),
            |_, a, r| add_days(a, r, 1),
        ),
        SparkUdf::new(
            "date_sub",
            (2, 2),
            |t| Ok(vec![date_arg(&t[0])?, int_arg(&t[1])?]),
            |_| Ok(DataType::Date32),
            |_, a, r| add_days(a, r, -1),
        ),
        SparkUdf::new(
            "add_months",
            (2, 2),
            |t| Ok(vec![date_arg(&t[0])?, int_arg(&t[1])?]),
            |_| Ok(DataType::Date32),
            add_months,
        ),
        SparkUdf::new(
            "datediff",
            (2, 2),
            |t| Ok(vec![date_arg(&t[0])?, date_arg(&t[1])?]),
            |_| Ok(DataType::Int32),
            datediff,
        ),
        SparkUdf::new(
            "months_between",
            (2, 3),
            |t| {
                let mut out = vec![timestamp_arg(&t[0])?, timestamp_arg(&t[1])?];
                if t.len() == 3 {
                    out.push(DataType::Boolean);
                }
                Ok(out)
            },
            |_| Ok(DataType::Float64),
            months_between,
        ),
        SparkUdf::new(
            "last_day",
            (1, 1),
            |t| Ok(vec![date_arg(&t[0])?]),
            |_| Ok(DataType::Date32),
            last_day,
        ),
        SparkUdf::new(
            "trunc",
            (2, 2),
            |t| Ok(vec![date_arg(&t[0])?, string_arg(&t[1])?]),
            |_| Ok(DataType::Date32),
            trunc,
        ),
        SparkUdf::new(
            "date_trunc",
            (2, 2),
            |t| Ok(vec![string_arg(&t[0])?, timestamp_arg(&t[1])?]),
            |_| Ok(TIMESTAMP),
            date_trunc,
        ),
    ]
}

fn coerce_parse_input(t: &[DataType]) -> Result<Vec<DataType>> {
    let first = match &t[0] {
        DataType::Date32 => DataType::Date32,
        DataType::Timestamp(_, _) => TIMESTAMP,
        other => string_arg(other)?,
    };
    let mut out = vec![first];
    if t.len() == 2 {
        out.push(string_arg(&t[1])?);
    }
    Ok(out)
}

fn string_arg(t: &DataType) -> Result<DataType> {
    if is_string(t) || t.is_null() {
        Ok(DataType::Utf8)
    } else {
        plan_err!("expects a string, not {t}")
    }
}

fn int_arg(t: &DataType) -> Result<DataType> {
    if is_integer(t) {
        Ok(DataType::Int32)
    } else {
        plan_err!("expects an integer number of days or months, not {t}")
    }
}

fn date_arg(t: &DataType) -> Result<DataType> {
    if matches!(t, DataType::Date32 | DataType::Timestamp(_, _)) || is_string(t) || t.is_null() {
        Ok(DataType::Date32)
    } else {
        plan_err!("expects a date, not {t}")
    }
}

fn timestamp_arg(t: &DataType) -> Result<DataType> {
    if matches!(t, DataType::Date32 | DataType::Timestamp(_, _)) || is_string(t) || t.is_null() {
        Ok(TIMESTAMP)
    } else {
        plan_err!("expects a timestamp, not {t}")
    }
}

/// A Date32 value as a calendar date.
pub fn date_of(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_FROM_CE)?)
}

/// A calendar date as a Date32 value.
pub fn days_of(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

fn datetime_of(micros: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

fn micros_of(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

/// A Java `DateTimeFormatter` pattern (`yyyy-MM-dd HH:mm:ss`) as a chrono strftime string.
pub fn java_to_strftime(pattern: &str) -> Result<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal text; '' is a single quote.
            let mut j = i + 1;
            if j < chars.len() && chars[j] == '\'' {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                if chars[j] == '%' {
                    out.push('%');
                }
                out.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M' | 'L', 1) => "%-m",
            ('M' | 'L', 2) => "%m",
            ('M' | 'L', 3) => "%b",
            ('M' | 'L', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 1..=3) => "%3f",
            ('S', 4..=6) => "%6f",
            ('S', _) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z' | 'x', _) => "%z",
            ('X', _) => "%:z",
            ('%', _) => {
                out.push_str(&"%%".repeat(n));
                i += n;
                continue;
            }
            (c, _) if c.is_ascii_alphabetic() => {
                return exec_err!(
                    "[INVALID_DATETIME_PATTERN] Unsupported pattern letter '{c}' in '{pattern}'; use letters such as yyyy, MM, dd, HH, mm, ss, SSS"
                )
            }
            _ => {
                for _ in 0..n {
                    out.push(c);
                }
                i += n;
                continue;
            }
        };
        out.push_str(spec);
        i += n;
    }
    Ok(out)
}

/// Parses `text` with a Java pattern; missing fields default as in Spark (1970-01-01 00:00).
pub fn parse_with_pattern(text: &str, pattern: &str) -> Result<Option<NaiveDateTime>> {
    let format = java_to_strftime(pattern)?;
    let mut parsed = Parsed::new();
    if parse(&mut parsed, text, StrftimeItems::new(&format)).is_err() {
        return Ok(None);
    }
    let defaults = [
        (
            parsed.year().is_none() && parsed.year_mod_100().is_none(),
            0,
        ),
        (parsed.month().is_none(), 1),
        (parsed.day().is_none() && parsed.ordinal().is_none(), 2),
    ];
    for (missing, which) in defaults {
        if missing {
            let set = match which {
                0 => parsed.set_year(1970),
                1 => parsed.set_month(1),
                _ => parsed.set_day(1),
            };
            if set.is_err() {
                return Ok(None);
            }
        }
    }
    let Ok(date) = parsed.to_naive_date() else {
        return Ok(None);
    };
    let time = if parsed.hour_div_12().is_none() && parsed.hour_mod_12().is_none() {
        NaiveTime::MIN
    } else {
        if parsed.minute().is_none() && parsed.set_minute(0).is_err() {
            return Ok(None);
        }
        match parsed.to_naive_time() {
            Ok(t) => t,
            Err(_) => return Ok(None),
        }
    };
    Ok(Some(date.and_time(time)))
}

/// Spark's string-to-timestamp cast: `yyyy[-[m]m[-[d]d]][( |T)HH:mm[:ss[.SSSSSS]]]`.
pub fn parse_default(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    let (date_part, time_part) = match text.find([' ', 'T']) {
        Some(p) => (&text[..p], Some(text[p + 1..].trim())),
        None => (text, None),
    };
    let mut fields = date_part.split('-');
    let year = fields.next().filter(|y| (4..=6).contains(&y.len()))?;
    let mut ymd = [year.parse::<i32>().ok()?, 1, 1];
    for slot in ymd.iter_mut().skip(1) {
        if let Some(f) = fields.next() {
            if f.is_empty() || f.len() > 2 || !f.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            *slot = f.parse().ok()?;
        }
    }
    if fields.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(ymd[0], ymd[1] as u32, ymd[2] as u32)?;
    let time = match time_part {
        None | Some("") => NaiveTime::MIN,
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()?,
    };
    Some(date.and_time(time))
}

/// The shared body of `to_date` and `to_timestamp`.
fn parse_column(
    udf: &SparkUdf,
    args: &[ArrayRef],
    rows: usize,
    target: &str,
) -> Result<Vec<Option<NaiveDateTime>>> {
    let input = &args[0];
    match input.data_type() {
        DataType::Date32 => {
            let d = input.as_primitive::<Date32Type>();
            return Ok((0..rows)
                .map(|i| {
                    if d.is_null(i) {
                        None
                    } else {
                        date_of(d.value(i)).map(|x| x.and_time(NaiveTime::MIN))
                    }
                })
                .collect());
        }
        DataType::Timestamp(_, _) => {
            let t = input.as_primitive::<TimestampMicrosecondType>();
            return Ok((0..rows)
                .map(|i| {
                    if t.is_null(i) {
                        None
                    } else {
                        datetime_of(t.value(i))
                    }
                })
                .collect());
        }
        _ => {}
    }
    let s = input.as_string::<i32>();
    let pattern = args.get(1).map(|p| p.as_string::<i32>());
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        if s.is_null(i) || pattern.is_some_and(|p| p.is_null(i)) {
            out.push(None);
            continue;
        }
        let text = s.value(i);
        let parsed = match pattern {
            Some(p) => parse_with_pattern(text, p.value(i))?,
            None => parse_default(text),
        };
        if parsed.is_none() && udf.ansi {
            return match pattern {
                Some(p) => exec_err!(
                    "[CANNOT_PARSE_TIMESTAMP] Text '{text}' could not be parsed as a {target} with pattern '{}'. Fix the value or the pattern, or set ember.sql.ansi.enabled to false to get NULL instead",
                    p.value(i)
                ),
                None => exec_err!(
                    "[CAST_INVALID_INPUT] The value '{text}' of the type \"STRING\" cannot be cast to \"{}\" because it is malformed. Use the pattern argument, e.g. to_{target}(s, 'dd/MM/yyyy'), or set ember.sql.ansi.enabled to false to get NULL instead",
                    target.to_uppercase()
                ),
            };
        }
        out.push(parsed);
    }
    Ok(out)
}

/// `to_date(str[, pattern])`.
fn to_date(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let values = parse_column(udf, args, rows, "date")?;
    let mut out = Date32Builder::with_capacity(rows);
    for v in values {
        out.append_option(v.map(|t| days_of(t.date())));
    }
    Ok(Arc::new(out.finish()))
}

/// `to_timestamp(str[, pattern])`.
fn to_timestamp(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let values = parse_column(udf, args, rows, "timestamp")?;
    let mut out = TimestampMicrosecondBuilder::with_capacity(rows);
    for v in values {
        out.append_option(v.map(micros_of));
    }
    Ok(Arc::new(out.finish()))
}

/// `date_format(ts, pattern)`.
fn date_format(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let ts = args[0].as_primitive::<TimestampMicrosecondType>();
    let pattern = args[1].as_string::<i32>();
    let mut out = StringBuilder::with_capacity(rows, rows * 16);
    let mut cached: Option<(String, String)> = None;
    for i in 0..rows {
        if ts.is_null(i) || pattern.is_null(i) {
            out.append_null();
            continue;
        }
        let p = pattern.value(i);
        if cached.as_ref().is_none_or(|(java, _)| java != p) {
            cached = Some((p.to_string(), java_to_strftime(p)?));
        }
        let Some((_, format)) = &cached else {
            return exec_err!("date_format: no pattern");
        };
        match datetime_of(ts.value(i)) {
            Some(t) => out.append_value(t.format(format).to_string()),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Applies `f` to each non-NULL (date, int) pair.
fn date_int_kernel(
    args: &[ArrayRef],
    rows: usize,
    f: impl Fn(NaiveDate, i32) -> Option<NaiveDate>,
) -> Result<ArrayRef> {
    let d = args[0].as_primitive::<Date32Type>();
    let n = args[1].as_primitive::<Int32Type>();
    let mut out = Date32Builder::with_capacity(rows);
    for i in 0..rows {
        if d.is_null(i) || n.is_null(i) {
            out.append_null();
            continue;
        }
        match date_of(d.value(i)).and_then(|x| f(x, n.value(i))) {
            Some(r) => out.append_value(days_of(r)),
            None => {
                return exec_err!(
                    "[DATETIME_OVERFLOW] date {} plus {} is out of range",
                    d.value(i),
                    n.value(i)
                )
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `date_add(d, n)` (`sign` 1) and `date_sub(d, n)` (`sign` -1).
fn add_days(args: &[ArrayRef], rows: usize, sign: i64) -> Result<ArrayRef> {
    date_int_kernel(args, rows, |d, n| {
        d.checked_add_signed(chrono::Duration::days(sign * i64::from(n)))
    })
}

/// `add_months(d, n)`: the day is clamped to the end of a shorter month.
fn add_months(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    date_int_kernel(args, rows, |d, n| {
        if n >= 0 {
            d.checked_add_months(Months::new(n as u32))
        } else {
            d.checked_sub_months(Months::new(n.unsigned_abs()))
        }
    })
}

/// `datediff(end, start)`: days from `start` to `end`.
fn datediff(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let end = args[0].as_primitive::<Date32Type>();
    let start = args[1].as_primitive::<Date32Type>();
    let mut out = Int32Builder::with_capacity(rows);
    for i in 0..rows {
        if end.is_null(i) || start.is_null(i) {
            out.append_null();
        } else {
            out.append_value(end.value(i).wrapping_sub(start.value(i)));
        }
    }
    Ok(Arc::new(out.finish()))
}

fn is_last_day(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|n| n.month() != d.month())
}

/// Spark's `DateTimeUtils.monthsBetween`.
pub fn spark_months_between(t1: NaiveDateTime, t2: NaiveDateTime, round_off: bool) -> f64 {
    let (d1, d2) = (t1.date(), t2.date());
    let month_diff =
        f64::from((d1.year() * 12 + d1.month() as i32) - (d2.year() * 12 + d2.month() as i32));
    if d1.day() == d2.day() || (is_last_day(d1) && is_last_day(d2)) {
        return month_diff;
    }
    let seconds_in_day = |t: NaiveDateTime| {
        f64::from(t.num_seconds_from_midnight()) + f64::from(t.nanosecond() / 1000) / 1e6
    };
    let seconds_diff = (f64::from(d1.day() as i32 - d2.day() as i32)) * 86_400.0
        + seconds_in_day(t1)
        - seconds_in_day(t2);
    let diff = month_diff + seconds_diff / (31.0 * 86_400.0);
    if round_off {
        // Java's Math.round: half up.
        (diff * 1e8 + 0.5).floor() / 1e8
    } else {
        diff
    }
}

/// `months_between(t1, t2[, roundOff])`.
fn months_between(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let t1 = args[0].as_primitive::<TimestampMicrosecondType>();
    let t2 = args[1].as_primitive::<TimestampMicrosecondType>();
    let round: Option<&BooleanArray> = args.get(2).map(|a| a.as_boolean());
    let mut out = Float64Builder::with_capacity(rows);
    for i in 0..rows {
        if t1.is_null(i) || t2.is_null(i) || round.is_some_and(|r| r.is_null(i)) {
            out.append_null();
            continue;
        }
        let r = round.is_none_or(|r| r.value(i));
        match (datetime_of(t1.value(i)), datetime_of(t2.value(i))) {
            (Some(a), Some(b)) => out.append_value(spark_months_between(a, b, r)),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `last_day(d)`.
fn last_day(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let d = args[0].as_primitive::<Date32Type>();
    let mut out = Date32Builder::with_capacity(rows);
    for i in 0..rows {
        let last = if d.is_null(i) {
            None
        } else {
            date_of(d.value(i)).and_then(|x| {
                let first = x.with_day(1)?;
                first.checked_add_months(Months::new(1))?.pred_opt()
            })
        };
        out.append_option(last.map(days_of));
    }
    Ok(Arc::new(out.finish()))
}

/// Truncation levels of `trunc` and `date_trunc`, finest last.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Level {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

fn level_of(name: &str, for_timestamps: bool) -> Option<Level> {
    let level = match name.to_uppercase().as_str() {
        "YEAR" | "YYYY" | "YY" => Level::Year,
        "QUARTER" => Level::Quarter,
        "MONTH" | "MM" | "MON" => Level::Month,
        "WEEK" => Level::Week,
        "DAY" | "DD" => Level::Day,
        "HOUR" => Level::Hour,
        "MINUTE" => Level::Minute,
        "SECOND" => Level::Second,
        "MILLISECOND" => Level::Millisecond,
        "MICROSECOND" => Level::Microsecond,
        _ => return None,
    };
    (for_timestamps || level <= Level::Week).then_some(level)
}

fn truncate(t: NaiveDateTime, level: Level) -> Option<NaiveDateTime> {
    let d = t.date();
    let date = match level {
        Level::Year => d.with_day(1)?.with_month(1)?,
        Level::Quarter => d.with_day(1)?.with_month((d.month() - 1) / 3 * 3 + 1)?,
        Level::Month => d.with_day(1)?,
        Level::Week => d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday())),
        _ => d,
    };
    if level <= Level::Day {
        return Some(date.and_time(NaiveTime::MIN));
    }
    let micros = micros_of(t);
    let unit: i64 = match level {
        Level::Hour => 3_600_000_000,
        Level::Minute => 60_000_000,
        Level::Second => 1_000_000,
        Level::Millisecond => 1_000,
        _ => 1,
    };
    datetime_of(micros - micros.rem_euclid(unit))
}

/// `trunc(date, 'year'|'quarter'|'month'|'week')`: NULL for any other level.
fn trunc(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let d = args[0].as_primitive::<Date32Type>();
    let fmt = args[1].as_string::<i32>();
    let mut out = Date32Builder::with_capacity(rows);
    for i in 0..rows {
        let v = if d.is_null(i) || fmt.is_null(i) {
            None
        } else {
            level_of(fmt.value(i), false)
                .and_then(|level| truncate(date_of(d.value(i))?.and_time(NaiveTime::MIN), level))
        };
        out.append_option(v.map(|t| days_of(t.date())));
    }
    Ok(Arc::new(out.finish()))
}

/// `date_trunc(level, ts)`: NULL for an unknown level.
fn date_trunc(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let fmt = args[0].as_string::<i32>();
    let ts = args[1].as_primitive::<TimestampMicrosecondType>();
    let mut out = TimestampMicrosecondBuilder::with_capacity(rows);
    for i in 0..rows {
        let v = if ts.is_null(i) || fmt.is_null(i) {
            None
        } else {
            level_of(fmt.value(i), true)
                .and_then(|level| truncate(datetime_of(ts.value(i))?, level))
        };
        out.append_option(v.map(micros_of));
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, StringArray};

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn udf(name: &str, ansi: bool) -> SparkUdf {
        functions(ansi)
            .into_iter()
            .find(|f| f.name == name)
            .unwrap()
    }

    #[test]
    fn java_patterns_parse_like_spark() {
        let t = parse_with_pattern("05/01/2024 13:04:09", "dd/MM/yyyy HH:mm:ss")
            .unwrap()
            .unwrap();
        assert_eq!(t, ymd(2024, 1, 5).and_hms_opt(13, 4, 9).unwrap());
        let t = parse_with_pattern("5-1-2024", "d-M-yyyy").unwrap().unwrap();
        assert_eq!(t.date(), ymd(2024, 1, 5));
        let t = parse_with_pattern("2024-03", "yyyy-MM").unwrap().unwrap();
        assert_eq!(t.date(), ymd(2024, 3, 1));
        assert!(parse_with_pattern("2024-02-30", "yyyy-MM-dd")
            .unwrap()
            .is_none());
        assert!(parse_with_pattern("x", "yyyy-QQ").is_err());
        assert_eq!(
            java_to_strftime("yyyy-MM-dd'T'HH:mm").unwrap(),
            "%Y-%m-%dT%H:%M"
        );
    }

    #[test]
    fn default_parse_accepts_cast_forms() {
        assert_eq!(parse_default("2024-1-5").unwrap().date(), ymd(2024, 1, 5));
        assert_eq!(
            parse_default("2024-01-05 10:30:00.5").unwrap(),
            ymd(2024, 1, 5).and_hms_milli_opt(10, 30, 0, 500).unwrap()
        );
        assert!(parse_default("2024/01/05").is_none());
        assert!(parse_default("abc").is_none());
    }

    #[test]
    fn to_date_fails_under_ansi_and_is_null_otherwise() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["31/12/2023", "bad"])),
            Arc::new(StringArray::from(vec!["dd/MM/yyyy", "dd/MM/yyyy"])),
        ];
        let strict = udf("to_date", true);
        let err = (strict.kernel)(&strict, &args, 2).unwrap_err().to_string();
        assert!(err.contains("'bad'") && err.contains("dd/MM/yyyy"), "{err}");
        let lenient = udf("to_date", false);
        let out = (lenient.kernel)(&lenient, &args, 2).unwrap();
        let out = out.as_primitive::<Date32Type>();
        assert_eq!(out.value(0), days_of(ymd(2023, 12, 31)));
        assert!(out.is_null(1));
    }

    #[test]
    fn months_between_rounds_to_eight_digits() {
        let a = ymd(1997, 2, 28).and_hms_opt(10, 30, 0).unwrap();
        let b = ymd(1996, 10, 30).and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(spark_months_between(a, b, true), 3.94959677);
        let a = ymd(2024, 3, 31).and_hms_opt(0, 0, 0).unwrap();
        let b = ymd(2024, 2, 29).and_hms_opt(5, 0, 0).unwrap();
        assert_eq!(spark_months_between(a, b, true), 1.0);
    }

    #[test]
    fn add_months_clamps_and_last_day_and_trunc() {
        let f = udf("add_months", true);
        let days: ArrayRef = Arc::new(Date32Array::from(vec![days_of(ymd(2024, 1, 31))]));
        let n: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![1]));
        let out = (f.kernel)(&f, &[days.clone(), n], 1).unwrap();
        assert_eq!(
            out.as_primitive::<Date32Type>().value(0),
            days_of(ymd(2024, 2, 29))
        );
        let f = udf("last_day", true);
        let out = (f.kernel)(&f, std::slice::from_ref(&days), 1).unwrap();
        assert_eq!(
            out.as_primitive::<Date32Type>().value(0),
            days_of(ymd(2024, 1, 31))
        );
        let t = ymd(2024, 5, 15).and_hms_opt(10, 20, 30).unwrap();
        assert_eq!(truncate(t, Level::Quarter).unwrap().date(), ymd(2024, 4, 1));
        assert_eq!(truncate(t, Level::Week).unwrap().date(), ymd(2024, 5, 13));
        assert_eq!(
            truncate(t, Level::Hour).unwrap(),
            ymd(2024, 5, 15).and_hms_opt(10, 0, 0).unwrap()
        );
        assert!(level_of("hour", false).is_none());
    }
}
