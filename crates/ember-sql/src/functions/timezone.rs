//! `TIMESTAMP` (LTZ) and `TIMESTAMP_NTZ`, as Spark distinguishes them.
//!
//! An LTZ value is an instant: microseconds since the epoch in UTC, typed Arrow
//! `Timestamp(µs, zone)` with the session time zone, in which it is shown, parsed and split
//! into fields (Arrow's kernels already read a zoned timestamp's fields in its zone). An NTZ
//! value is a wall-clock time: the microseconds of that reading as if it were UTC, typed
//! `Timestamp(µs, None)`.
//!
//! Conversions (Spark's `Cast`): NTZ → LTZ reads the wall clock in the session zone (Arrow's
//! cast does this), LTZ → NTZ takes the wall clock of the instant in the zone
//! ([`ltz_to_ntz`], which Arrow's cast does not: it keeps the UTC reading), LTZ → DATE the date
//! in the zone. A wall-clock time that a daylight-saving gap skips moves forward by the gap, one
//! that an overlap repeats takes the earlier offset, as `java.time.ZonedDateTime.of` does.

use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{Array, ArrayRef, AsArray, StringBuilder, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use datafusion_common::{exec_err, Result};
use ember_common::display::SparkFormatter;

use super::SparkUdf;

/// The internal conversions (not callable by name), for the plan codec.
pub fn internal() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "spark_ltz_to_ntz",
            (1, 1),
            |t| Ok(vec![t[0].clone()]),
            |_| Ok(DataType::Timestamp(TimeUnit::Microsecond, None)),
            ltz_to_ntz,
        ),
        SparkUdf::new(
            "spark_timestamp_to_epoch",
            (2, 2),
            |t| Ok(vec![t[0].clone(), DataType::Int64]),
            |_| Ok(DataType::Int64),
            |_, args, _| {
                // Whole units (of the second argument's microseconds) since the epoch, floored.
                let values = args[0].as_primitive::<TimestampMicrosecondType>();
                let unit = args[1].as_primitive::<arrow::datatypes::Int64Type>();
                let unit = if unit.is_empty() || unit.is_null(0) {
                    1
                } else {
                    unit.value(0).max(1)
                };
                let out: arrow::array::Int64Array = values.unary(|us| us.div_euclid(unit));
                Ok(Arc::new(out))
            },
        ),
        SparkUdf::new(
            "spark_timestamp_to_fractional_seconds",
            (1, 1),
            |t| Ok(vec![t[0].clone()]),
            |_| Ok(DataType::Float64),
            |_, args, _| {
                let values = args[0].as_primitive::<TimestampMicrosecondType>();
                let out: arrow::array::Float64Array = values.unary(|us| us as f64 / 1_000_000.0);
                Ok(Arc::new(out))
            },
        ),
        SparkUdf::new(
            "spark_timestamp_add_day_time",
            (2, 2),
            |t| {
                Ok(vec![
                    t[0].clone(),
                    DataType::Duration(TimeUnit::Microsecond),
                ])
            },
            |t| Ok(t[0].clone()),
            add_day_time,
        ),
        SparkUdf::new(
            "spark_timestamp_to_string",
            (1, 1),
            |t| Ok(vec![t[0].clone()]),
            |_| Ok(DataType::Utf8),
            timestamp_to_string,
        ),
    ]
}

/// Parses a session time zone name (`America/Los_Angeles`, `+08:00`, `UTC`).
pub fn parse_zone(zone: &str) -> Result<Tz> {
    zone.parse::<Tz>()
        .or_else(|_| exec_err!("'{zone}' is not a time zone"))
}

/// The instant (UTC microseconds) at which the wall clock `local` reads in `zone`: a time in
/// a daylight-saving gap moves forward by the gap, one in an overlap takes the earlier offset.
pub fn local_to_instant(local: NaiveDateTime, zone: &Tz) -> Option<i64> {
    let resolved = match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(earlier, _) => earlier,
        LocalResult::None => {
            // In a gap: use the offset before it, which moves the wall clock forward.
            let before = zone
                .offset_from_utc_datetime(&(local - chrono::Duration::days(1)))
                .fix();
            let utc = local - chrono::Duration::seconds(i64::from(before.local_minus_utc()));
            return Some(utc.and_utc().timestamp_micros());
        }
    };
    Some(resolved.timestamp_micros())
}

/// The wall clock of the instant `micros` (UTC) in `zone`, as NTZ microseconds.
pub fn instant_to_local(micros: i64, zone: &Tz) -> Option<i64> {
    let utc = DateTime::from_timestamp_micros(micros)?;
    Some(
        utc.with_timezone(zone)
            .naive_local()
            .and_utc()
            .timestamp_micros(),
    )
}

/// `CAST(ltz AS TIMESTAMP_NTZ)`: the wall clock of each instant in its zone.
fn ltz_to_ntz(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let DataType::Timestamp(TimeUnit::Microsecond, zone) = args[0].data_type() else {
        return exec_err!("spark_ltz_to_ntz of {}", args[0].data_type());
    };
    let values = args[0].as_primitive::<TimestampMicrosecondType>();
    let Some(zone) = zone else {
        return Ok(Arc::new(values.clone()));
    };
    let zone = parse_zone(zone)?;
    let mut out = Vec::with_capacity(values.len());
    for v in values.iter() {
        match v {
            None => out.push(None),
            Some(v) => match instant_to_local(v, &zone) {
                Some(local) => out.push(Some(local)),
                None => return exec_err!("[DATETIME_OVERFLOW] the timestamp {v} is out of range"),
            },
        }
    }
    Ok(Arc::new(TimestampMicrosecondArray::from(out)))
}

/// `ltz + day-time interval` (Spark's `timestampAddDayTime`): the interval's whole days move
/// the wall clock in the zone (a day across a daylight-saving change is 23 or 25 hours), the
/// rest is added to the instant.
fn add_day_time(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let DataType::Timestamp(TimeUnit::Microsecond, Some(zone)) = args[0].data_type() else {
        return exec_err!("spark_timestamp_add_day_time of {}", args[0].data_type());
    };
    let tz = parse_zone(zone)?;
    let values = args[0].as_primitive::<TimestampMicrosecondType>();
    let spans = args[1].as_primitive::<arrow::datatypes::DurationMicrosecondType>();
    let day = super::interval::MICROS_PER_DAY;
    let mut out = Vec::with_capacity(values.len());
    for row in 0..values.len() {
        if values.is_null(row) || spans.is_null(row) {
            out.push(None);
            continue;
        }
        let (ts, span) = (values.value(row), spans.value(row));
        let (days, rest) = (span / day, span % day);
        let moved = if days == 0 {
            Some(ts)
        } else {
            instant_to_local(ts, &tz)
                .and_then(|local| local.checked_add(days.checked_mul(day)?))
                .and_then(DateTime::from_timestamp_micros)
                .and_then(|local| local_to_instant(local.naive_utc(), &tz))
        };
        match moved.and_then(|t| t.checked_add(rest)) {
            Some(t) => out.push(Some(t)),
            None => {
                return exec_err!(
                "[DATETIME_OVERFLOW] Datetime operation overflow: the timestamp is out of range"
            )
            }
        }
    }
    Ok(Arc::new(
        TimestampMicrosecondArray::from(out).with_timezone(Arc::clone(zone)),
    ))
}

/// `CAST(timestamp AS STRING)`: as Spark shows it (`2020-01-01 10:00:00.5`, an LTZ value in its
/// zone, without the offset).
fn timestamp_to_string(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let formatter = SparkFormatter::try_new(args[0].as_ref())?;
    let mut out = StringBuilder::with_capacity(rows, rows * 26);
    for row in 0..rows {
        if args[0].is_null(row) {
            out.append_null();
        } else {
            out.append_value(formatter.value(row));
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    #[test]
    fn wall_clocks_and_instants_in_a_zone_with_daylight_saving() {
        let la = parse_zone("America/Los_Angeles").unwrap();
        let winter = local_to_instant(at(2020, 1, 1, 0, 0), &la).unwrap();
        assert_eq!(winter, at(2020, 1, 1, 8, 0).and_utc().timestamp_micros());
        assert_eq!(
            instant_to_local(winter, &la),
            Some(at(2020, 1, 1, 0, 0).and_utc().timestamp_micros())
        );
        // 2019-03-10 02:30 does not exist in Los Angeles: it is 03:30 PDT (10:30 UTC).
        let gap = local_to_instant(at(2019, 3, 10, 2, 30), &la).unwrap();
        assert_eq!(gap, at(2019, 3, 10, 10, 30).and_utc().timestamp_micros());
        // 2019-11-03 01:30 happens twice: the earlier is PDT (08:30 UTC).
        let overlap = local_to_instant(at(2019, 11, 3, 1, 30), &la).unwrap();
        assert_eq!(overlap, at(2019, 11, 3, 8, 30).and_utc().timestamp_micros());
        let plus8 = parse_zone("+08:00").unwrap();
        assert_eq!(
            local_to_instant(at(2020, 1, 1, 8, 0), &plus8),
            Some(at(2020, 1, 1, 0, 0).and_utc().timestamp_micros())
        );
    }
}
