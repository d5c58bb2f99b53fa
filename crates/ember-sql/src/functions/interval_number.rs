//! Casts between numbers and ANSI intervals of one field (Spark 3.3+): `CAST(3 AS INTERVAL
//! HOUR)` is 3 hours, `CAST(INTERVAL '90' MINUTE AS INT)` is 90. A number becomes that many of
//! the field's unit (a decimal's fraction rounded half up to the microsecond or month); an
//! interval becomes the number of its units, with the fraction of a second kept for decimals.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, DurationMicrosecondArray, IntervalYearMonthArray,
};
use arrow::datatypes::{
    DataType, Decimal128Type, DecimalType, DurationMicrosecondType, IntervalYearMonthType,
};
use datafusion_common::{exec_err, Result};

use super::interval::{
    day_time, year_month, MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND,
};
use super::SparkUdf;

/// The scale at which intervals become decimals.
pub const SCALE: i8 = 6;

/// (is year-month, units of the interval per field unit): months or microseconds.
fn unit(field: &str) -> Option<(bool, i64)> {
    Some(match field {
        "year" => (true, 12),
        "month" => (true, 1),
        "day" => (false, MICROS_PER_DAY),
        "hour" => (false, MICROS_PER_HOUR),
        "minute" => (false, MICROS_PER_MINUTE),
        "second" => (false, MICROS_PER_SECOND),
        _ => return None,
    })
}

fn decimal_input(t: &[DataType]) -> Result<Vec<DataType>> {
    Ok(vec![
        match &t[0] {
            DataType::Decimal128(_, s) => DataType::Decimal128(38, *s),
            _ => DataType::Decimal128(38, 0),
        },
        DataType::Utf8,
    ])
}

pub fn internal() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "spark_number_to_ym_interval",
            (2, 2),
            decimal_input,
            |_| Ok(year_month()),
            number_to_interval,
        ),
        SparkUdf::new(
            "spark_number_to_dt_interval",
            (2, 2),
            decimal_input,
            |_| Ok(day_time()),
            number_to_interval,
        ),
        SparkUdf::new(
            "spark_interval_to_number",
            (2, 2),
            |t| Ok(vec![t[0].clone(), DataType::Utf8]),
            |_| Ok(DataType::Decimal128(38, SCALE)),
            interval_to_number,
        ),
    ]
}

fn field_of(args: &[ArrayRef]) -> Result<(bool, i64, String)> {
    let fields = args[1].as_string::<i32>();
    let field = if fields.is_empty() || fields.is_null(0) {
        ""
    } else {
        fields.value(0)
    };
    match unit(field) {
        Some((ym, per)) => Ok((ym, per, field.to_string())),
        None => exec_err!("a number casts only to an interval of one field, not {field}"),
    }
}

/// `n` (a decimal of its scale) of the field's unit, rounded half up.
fn number_to_interval(udf: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let (ym, per, field) = field_of(args)?;
    let numbers = args[0].as_primitive::<Decimal128Type>();
    let DataType::Decimal128(_, scale) = numbers.data_type() else {
        return exec_err!("spark_number_to_interval of {}", numbers.data_type());
    };
    let divisor = 10i128.pow(u32::try_from(*scale).unwrap_or(0));
    let mut out = Vec::with_capacity(numbers.len());
    for v in numbers.iter() {
        let Some(v) = v else {
            out.push(None);
            continue;
        };
        let scaled = v.checked_mul(i128::from(per));
        let rounded = scaled.map(|s| {
            let (q, r) = (s / divisor, s % divisor);
            if r.abs() * 2 >= divisor {
                q + r.signum()
            } else {
                q
            }
        });
        let limit = if ym {
            i128::from(i32::MAX)
        } else {
            i128::from(i64::MAX)
        };
        match rounded {
            Some(r) if r.abs() <= limit => out.push(Some(r as i64)),
            _ if udf.ansi => {
                return exec_err!(
                    "[CAST_OVERFLOW] The value {} cannot be cast to \"INTERVAL {}\" due to an overflow. Use `try_cast` to tolerate overflow and return NULL instead.",
                    Decimal128Type::format_decimal(v, 38, *scale),
                    field.to_uppercase()
                )
            }
            _ => out.push(None),
        }
    }
    Ok(if ym {
        Arc::new(IntervalYearMonthArray::from(
            out.into_iter()
                .map(|v| v.map(|v| v as i32))
                .collect::<Vec<_>>(),
        ))
    } else {
        Arc::new(DurationMicrosecondArray::from(out))
    })
}

/// The number of the field's units in each interval, as decimal(38, 6).
fn interval_to_number(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let (_, per, _) = field_of(args)?;
    let scale = 10i128.pow(SCALE as u32);
    let values: Vec<Option<i128>> = match args[0].data_type() {
        DataType::Interval(arrow::datatypes::IntervalUnit::YearMonth) => args[0]
            .as_primitive::<IntervalYearMonthType>()
            .iter()
            .map(|v| v.map(|m| i128::from(m) * scale / i128::from(per)))
            .collect(),
        DataType::Duration(_) => args[0]
            .as_primitive::<DurationMicrosecondType>()
            .iter()
            .map(|v| v.map(|us| i128::from(us) * scale / i128::from(per)))
            .collect(),
        other => return exec_err!("spark_interval_to_number of {other}"),
    };
    Ok(Arc::new(
        Decimal128Array::from(values).with_precision_and_scale(38, SCALE)?,
    ))
}
