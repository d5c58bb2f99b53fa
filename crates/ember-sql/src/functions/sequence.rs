//! `sequence(start, stop[, step])` over timestamps (Spark's `TemporalSequenceImpl`): the k-th
//! element is `start` plus k steps, its months and days on the wall clock (in the zone of an
//! LTZ timestamp), its microseconds on the instant, while it does not pass `stop`. The step is
//! a year-month, day-time or calendar interval; without one it is a day (back a day when
//! `stop` comes first).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, IntervalUnit, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Days, Months};
use datafusion_common::{exec_err, Result};

use super::collection::assemble_list;
use super::timezone::{instant_to_local, local_to_instant, parse_zone};

/// At most this many elements (Spark's `MAX_ROUNDED_ARRAY_LENGTH`).
const MAX_SEQUENCE: usize = i32::MAX as usize - 15;

/// The step of each row as (months, days, microseconds).
fn steps(step: Option<&ArrayRef>, row: usize, forward: bool) -> Option<(i64, i64, i64)> {
    let Some(s) = step else {
        return Some((0, if forward { 1 } else { -1 }, 0));
    };
    if s.is_null(row) {
        return None;
    }
    Some(match s.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => (
            i64::from(
                s.as_primitive::<arrow::datatypes::IntervalYearMonthType>()
                    .value(row),
            ),
            0,
            0,
        ),
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = s
                .as_primitive::<arrow::datatypes::IntervalMonthDayNanoType>()
                .value(row);
            (
                i64::from(v.months),
                i64::from(v.days),
                v.nanoseconds / 1_000,
            )
        }
        _ => (
            0,
            0,
            s.as_primitive::<arrow::datatypes::DurationMicrosecondType>()
                .value(row),
        ),
    })
}

pub fn timestamp_sequence(args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let DataType::Timestamp(TimeUnit::Microsecond, zone) = args[0].data_type().clone() else {
        return exec_err!("sequence over {}", args[0].data_type());
    };
    let tz = zone.as_deref().map(parse_zone).transpose()?;
    let start = args[0].as_primitive::<TimestampMicrosecondType>();
    let stop = args[1].as_primitive::<TimestampMicrosecondType>();
    // The wall clock of an instant, and back (identity for a wall-clock timestamp).
    let local = |t: i64| match &tz {
        Some(z) => instant_to_local(t, z),
        None => Some(t),
    };
    let instant = |t: i64| match &tz {
        Some(z) => {
            DateTime::from_timestamp_micros(t).and_then(|d| local_to_instant(d.naive_utc(), z))
        }
        None => Some(t),
    };
    let mut values: Vec<i64> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        if start.is_null(row) || stop.is_null(row) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let (a, b) = (start.value(row), stop.value(row));
        let Some((months, days, micros)) = steps(args.get(2), row, a <= b) else {
            lengths.push(0);
            valid.push(false);
            continue;
        };
        let forward = months > 0 || days > 0 || micros > 0;
        let backward = months < 0 || days < 0 || micros < 0;
        if (forward && backward)
            || (!forward && !backward && a != b)
            || (forward && a > b)
            || (backward && a < b)
        {
            let text = |array: &ArrayRef| -> Result<String> {
                Ok(ember_common::display::SparkFormatter::try_new(array.as_ref())?.value(row))
            };
            let step = match args.get(2) {
                Some(s) => text(s)?,
                None => "1 day".into(),
            };
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.SEQUENCE_WRONG_INPUT_TYPES] Illegal sequence boundaries: {} to {} by {step}",
                text(&args[0])?,
                text(&args[1])?
            );
        }
        let Some(first_local) = local(a).and_then(DateTime::from_timestamp_micros) else {
            return exec_err!("[DATETIME_OVERFLOW] the sequence start is out of range");
        };
        let first_local = first_local.naive_utc();
        let before = values.len();
        for k in 0i64.. {
            let shifted = if months >= 0 {
                first_local.checked_add_months(Months::new((months * k) as u32))
            } else {
                first_local.checked_sub_months(Months::new((-months * k) as u32))
            }
            .and_then(|t| {
                if days >= 0 {
                    t.checked_add_days(Days::new((days * k) as u64))
                } else {
                    t.checked_sub_days(Days::new((-days * k) as u64))
                }
            });
            let Some(t) = shifted
                .and_then(|t| instant(t.and_utc().timestamp_micros()))
                .and_then(|t| t.checked_add(micros.checked_mul(k)?))
            else {
                break;
            };
            if (forward && t > b) || (backward && t < b) {
                break;
            }
            values.push(t);
            if values.len() > MAX_SEQUENCE {
                return exec_err!(
                    "[COLLECTION_SIZE_LIMIT_EXCEEDED.PARAMETER] sequence would make more than {MAX_SEQUENCE} elements"
                );
            }
            if !forward && !backward {
                break;
            }
        }
        lengths.push(values.len() - before);
        valid.push(true);
    }
    let values: ArrayRef =
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone_opt(zone));
    assemble_list(&DataType::Null, values, lengths, valid)
}
