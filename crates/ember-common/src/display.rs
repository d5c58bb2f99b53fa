//! How values are shown to people (shell tables, golden files): as Spark's `HiveResult` does
//! for the SQL shell and its golden files.
//!
//! - `NULL` at the top level, `null` inside arrays, maps and structs;
//! - doubles and floats as Java's `Double.toString` / `Float.toString` (`2.35E10`, `1.0E-5`,
//!   `100.0`, `NaN`, `Infinity`);
//! - binary as its bytes read as UTF-8 (invalid sequences as U+FFFD);
//! - intervals as `1-2` (year-month) and `3 04:05:06.500000000` (day-time), the legacy
//!   calendar interval as `1 years 2 months 3 days 4 hours 5.5 seconds`;
//! - timestamps as `2024-01-02 03:04:05.25` (a fraction only when there is one, without
//!   trailing zeros), dates as `2024-01-02`, decimals with their whole scale;
//! - arrays `[1,2]`, structs `{"a":1,"b":"x"}`, maps `{1:"a",2:"b"}` (entries in the order of
//!   their text, as Spark sorts them), strings quoted only inside them.

use arrow::array::{
    Array, AsArray, BinaryArray, BinaryViewArray, Float32Array, Float64Array, LargeBinaryArray,
    MapArray, StructArray,
};
use std::fmt::Write as _;

use arrow::array::{
    DurationMicrosecondArray, IntervalMonthDayNanoArray, IntervalYearMonthArray,
    Time64MicrosecondArray,
};
use arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// The options of arrow's formatter for the types Spark shows as arrow does: NULL as `NULL`,
/// timestamps as `2024-01-02 03:04:05.250` (see [`SparkFormatter`] for the trimmed fraction),
/// dates as `2024-01-02`.
pub fn spark_format_options() -> FormatOptions<'static> {
    FormatOptions::new()
        .with_null("NULL")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_date_format(Some("%Y-%m-%d"))
}

/// Spark's text of a legacy calendar interval (`CalendarInterval.toString`): each non-zero
/// unit as `<n> <unit>s` from years down to seconds (a fraction only when there is one), or
/// `0 seconds`.
pub fn calendar_interval_text(months: i32, days: i32, micros: i64) -> String {
    if months == 0 && days == 0 && micros == 0 {
        return "0 seconds".into();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut unit = |value: i64, name: &str| {
        if value != 0 {
            parts.push(format!("{value} {name}"));
        }
    };
    unit(i64::from(months / 12), "years");
    unit(i64::from(months % 12), "months");
    unit(i64::from(days), "days");
    unit(micros / 3_600_000_000, "hours");
    let rest = micros % 3_600_000_000;
    unit(rest / 60_000_000, "minutes");
    let rest = rest % 60_000_000;
    if rest != 0 {
        let sign = if rest < 0 { "-" } else { "" };
        let abs = rest.unsigned_abs();
        let (whole, fraction) = (abs / 1_000_000, abs % 1_000_000);
        let mut text = format!("{sign}{whole}");
        if fraction != 0 {
            text.push('.');
            text.push_str(format!("{fraction:06}").trim_end_matches('0'));
        }
        parts.push(format!("{text} seconds"));
    }
    parts.join(" ")
}

/// Spark's text of a TIME (microseconds since midnight): `HH:mm:ss`, then the fraction
/// without trailing zeros.
pub fn time_text(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    let mut text = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if fraction != 0 {
        text.push('.');
        text.push_str(format!("{fraction:06}").trim_end_matches('0'));
    }
    text
}

/// Formats the values of one array as Spark shows them.
pub struct SparkFormatter<'a> {
    node: Node<'a>,
}

enum Node<'a> {
    /// Spark's year-month interval: `[-]Y-M`.
    YearMonth(&'a IntervalYearMonthArray),
    /// Spark's day-time interval: `[-]D HH:MM:SS.nnnnnnnnn`.
    DayTime(&'a DurationMicrosecondArray),
    /// Spark's legacy calendar interval: `3 months 1 hours`.
    Calendar(&'a IntervalMonthDayNanoArray),
    /// Spark's TIME: `01:02:03.45`.
    Time(&'a Time64MicrosecondArray),
    Float64(&'a Float64Array),
    Float32(&'a Float32Array),
    Strings(&'a dyn Array),
    Binary(Bytes<'a>),
    List {
        array: &'a dyn Array,
        element: Box<Node<'a>>,
    },
    Map {
        array: &'a MapArray,
        keys: Box<Node<'a>>,
        values: Box<Node<'a>>,
    },
    Struct {
        array: &'a StructArray,
        names: Vec<String>,
        fields: Vec<Node<'a>>,
    },
    /// Arrow's own text, with a timestamp's fraction trimmed when `timestamp`.
    Arrow {
        array: &'a dyn Array,
        formatter: ArrayFormatter<'a>,
        timestamp: bool,
    },
}

enum Bytes<'a> {
    Binary(&'a BinaryArray),
    Large(&'a LargeBinaryArray),
    View(&'a BinaryViewArray),
}

impl Bytes<'_> {
    fn value(&self, row: usize) -> &[u8] {
        match self {
            Bytes::Binary(a) => a.value(row),
            Bytes::Large(a) => a.value(row),
            Bytes::View(a) => a.value(row),
        }
    }
}

impl<'a> SparkFormatter<'a> {
    pub fn try_new(array: &'a dyn Array) -> Result<Self, ArrowError> {
        Ok(SparkFormatter {
            node: Node::try_new(array)?,
        })
    }

    /// Appends the value at `row` to `out`.
    pub fn write(&self, row: usize, out: &mut String) {
        self.node.write(row, false, out);
    }

    /// The value at `row`.
    pub fn value(&self, row: usize) -> String {
        let mut out = String::new();
        self.write(row, &mut out);
        out
    }
}

impl<'a> Node<'a> {
    fn try_new(array: &'a dyn Array) -> Result<Self, ArrowError> {
        Ok(match array.data_type() {
            DataType::Interval(IntervalUnit::YearMonth) => Node::YearMonth(array.as_primitive()),
            DataType::Duration(TimeUnit::Microsecond) => Node::DayTime(array.as_primitive()),
            DataType::Interval(IntervalUnit::MonthDayNano) => Node::Calendar(array.as_primitive()),
            DataType::Time64(TimeUnit::Microsecond) => Node::Time(array.as_primitive()),
            DataType::Float64 => Node::Float64(array.as_primitive()),
            DataType::Float32 => Node::Float32(array.as_primitive()),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Node::Strings(array),
            DataType::Binary => Node::Binary(Bytes::Binary(array.as_binary())),
            DataType::LargeBinary => Node::Binary(Bytes::Large(array.as_binary())),
            DataType::BinaryView => Node::Binary(Bytes::View(array.as_binary_view())),
            DataType::List(_) => Node::List {
                array,
                element: Box::new(Node::try_new(array.as_list::<i32>().values().as_ref())?),
            },
            DataType::LargeList(_) => Node::List {
                array,
                element: Box::new(Node::try_new(array.as_list::<i64>().values().as_ref())?),
            },
            DataType::Map(_, _) => {
                let map = array.as_map();
                Node::Map {
                    array: map,
                    keys: Box::new(Node::try_new(map.keys().as_ref())?),
                    values: Box::new(Node::try_new(map.values().as_ref())?),
                }
            }
            DataType::Struct(fields) => {
                let array = array.as_struct();
                Node::Struct {
                    array,
                    names: fields.iter().map(|f| f.name().clone()).collect(),
                    fields: array
                        .columns()
                        .iter()
                        .map(|c| Node::try_new(c.as_ref()))
                        .collect::<Result<_, _>>()?,
                }
            }
            other => Node::Arrow {
                array,
                formatter: ArrayFormatter::try_new(array, &SPARK_OPTIONS)?,
                timestamp: matches!(other, DataType::Timestamp(_, _)),
            },
        })
    }

    fn array(&self) -> &dyn Array {
        match self {
            Node::YearMonth(a) => *a,
            Node::DayTime(a) => *a,
            Node::Calendar(a) => *a,
            Node::Time(a) => *a,
            Node::Float64(a) => *a,
            Node::Float32(a) => *a,
            Node::Strings(a) => *a,
            Node::Binary(Bytes::Binary(a)) => *a,
            Node::Binary(Bytes::Large(a)) => *a,
            Node::Binary(Bytes::View(a)) => *a,
            Node::List { array, .. } => *array,
            Node::Map { array, .. } => *array,
            Node::Struct { array, .. } => *array,
            Node::Arrow { array, .. } => *array,
        }
    }

    /// Writes the value at `row`; `nested` inside an array, map or struct.
    fn write(&self, row: usize, nested: bool, out: &mut String) {
        if self.array().is_null(row) {
            out.push_str(if nested { "null" } else { "NULL" });
            return;
        }
        match self {
            Node::YearMonth(a) => {
                let months = a.value(row) as i64;
                let sign = if months < 0 { "-" } else { "" };
                let months = months.abs();
                let _ = write!(out, "{sign}{}-{}", months / 12, months % 12);
            }
            Node::DayTime(a) => {
                let micros = a.value(row) as i128;
                let sign = if micros < 0 { "-" } else { "" };
                let micros = micros.abs();
                let day = 86_400_000_000i128;
                let (days, rest) = (micros / day, micros % day);
                let (hours, rest) = (rest / 3_600_000_000, rest % 3_600_000_000);
                let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
                let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
                let _ = write!(
                    out,
                    "{sign}{days} {hours:02}:{minutes:02}:{seconds:02}.{:09}",
                    fraction * 1000
                );
            }
            Node::Calendar(a) => {
                let v = a.value(row);
                out.push_str(&calendar_interval_text(
                    v.months,
                    v.days,
                    v.nanoseconds / 1_000,
                ));
            }
            Node::Time(a) => out.push_str(&time_text(a.value(row))),
            Node::Float64(a) => push_java_double(a.value(row), out),
            Node::Float32(a) => push_java_float(a.value(row), out),
            Node::Strings(a) => {
                let text = match a.data_type() {
                    DataType::Utf8 => a.as_string::<i32>().value(row),
                    DataType::LargeUtf8 => a.as_string::<i64>().value(row),
                    _ => a.as_string_view().value(row),
                };
                if nested {
                    out.push('"');
                    out.push_str(text);
                    out.push('"');
                } else {
                    out.push_str(text);
                }
            }
            Node::Binary(bytes) => out.push_str(&String::from_utf8_lossy(bytes.value(row))),
            Node::List { array, element } => {
                let range = match array.data_type() {
                    DataType::List(_) => {
                        let offsets = array.as_list::<i32>().value_offsets();
                        offsets[row] as usize..offsets[row + 1] as usize
                    }
                    _ => {
                        let offsets = array.as_list::<i64>().value_offsets();
                        offsets[row] as usize..offsets[row + 1] as usize
                    }
                };
                out.push('[');
                for (i, item) in range.enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    element.write(item, true, out);
                }
                out.push(']');
            }
            Node::Map {
                array,
                keys,
                values,
            } => {
                let offsets = array.value_offsets();
                let mut entries: Vec<String> = (offsets[row] as usize..offsets[row + 1] as usize)
                    .map(|entry| {
                        let mut text = String::new();
                        keys.write(entry, true, &mut text);
                        text.push(':');
                        values.write(entry, true, &mut text);
                        text
                    })
                    .collect();
                entries.sort();
                out.push('{');
                out.push_str(&entries.join(","));
                out.push('}');
            }
            Node::Struct { names, fields, .. } => {
                out.push('{');
                for (i, (name, field)) in names.iter().zip(fields).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(name);
                    out.push_str("\":");
                    field.write(row, true, out);
                }
                out.push('}');
            }
            Node::Arrow {
                formatter,
                timestamp,
                ..
            } => {
                let start = out.len();
                let _ = write!(out, "{}", formatter.value(row));
                if *timestamp {
                    trim_fraction(out, start);
                }
            }
        }
    }
}

static SPARK_OPTIONS: FormatOptions<'static> = FormatOptions::new()
    .with_null("NULL")
    .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
    .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f"))
    .with_date_format(Some("%Y-%m-%d"));

/// Drops trailing zeros of the fraction of seconds written from `start` on (`.250` → `.25`).
fn trim_fraction(out: &mut String, start: usize) {
    let Some(dot) = out[start..].rfind('.').map(|i| start + i) else {
        return;
    };
    let trimmed = out.trim_end_matches('0').len().max(dot);
    out.truncate(if trimmed == dot + 1 { dot } else { trimmed });
}

/// Java's `Double.toString(x)`.
pub fn java_double_string(x: f64) -> String {
    let mut out = String::new();
    push_java_double(x, &mut out);
    out
}

fn push_java_double(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
    } else if (1e-3..1e7).contains(&x.abs()) {
        push_plain(&format!("{x}"), out);
    } else {
        push_scientific(&format!("{x:e}"), out);
    }
}

/// Java's `Float.toString(x)`.
pub fn java_float_string(x: f32) -> String {
    let mut out = String::new();
    push_java_float(x, &mut out);
    out
}

fn push_java_float(x: f32, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    } else if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
    } else if (1e-3..1e7).contains(&x.abs()) {
        push_plain(&format!("{x}"), out);
    } else {
        push_scientific(&format!("{x:e}"), out);
    }
}

/// Rust's shortest plain digits (`100`, `0.25`) with Java's `.0` for whole numbers.
fn push_plain(digits: &str, out: &mut String) {
    out.push_str(digits);
    if !digits.contains('.') {
        out.push_str(".0");
    }
}

/// Rust's shortest scientific digits (`2.35e10`, `1e-5`) in Java's form (`2.35E10`, `1.0E-5`).
fn push_scientific(digits: &str, out: &mut String) {
    let (mantissa, exponent) = digits.split_once('e').unwrap_or((digits, "0"));
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    out.push('E');
    out.push_str(exponent);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BinaryArray, Int32Array, Int32Builder, ListArray, MapBuilder, StringArray,
        StringBuilder, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Fields, Int32Type};

    use super::*;

    #[test]
    fn calendar_intervals_as_spark_writes_them() {
        assert_eq!(
            calendar_interval_text(3, 0, 3_600_000_000),
            "3 months 1 hours"
        );
        assert_eq!(calendar_interval_text(0, 0, 0), "0 seconds");
        assert_eq!(
            calendar_interval_text(14, -3, 61_500_000),
            "1 years 2 months -3 days 1 minutes 1.5 seconds"
        );
        assert_eq!(
            calendar_interval_text(-1, 0, -500_000),
            "-1 months -0.5 seconds"
        );
    }

    fn shown(array: ArrayRef) -> Vec<String> {
        let formatter = SparkFormatter::try_new(array.as_ref()).unwrap();
        (0..array.len()).map(|row| formatter.value(row)).collect()
    }

    #[test]
    fn timestamps_look_like_sparks() {
        let array: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(1_704_164_645_000_000),
            Some(1_704_164_645_250_000),
            Some(1_704_164_645_000_001),
            None,
        ]));
        assert_eq!(
            shown(array),
            [
                "2024-01-02 03:04:05",
                "2024-01-02 03:04:05.25",
                "2024-01-02 03:04:05.000001",
                "NULL"
            ]
        );
    }

    #[test]
    fn doubles_and_floats_as_java_prints_them() {
        let cases = [
            (2.35e10, "2.35E10"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (1e-4, "1.0E-4"),
            (1.234e-5, "1.234E-5"),
            (1e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (-0.0, "-0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1.7976931348623157e308, "1.7976931348623157E308"),
        ];
        for (x, java) in cases {
            assert_eq!(java_double_string(x), java, "{x:?}");
        }
        assert_eq!(java_float_string(0.1), "0.1");
        assert_eq!(java_float_string(3.4028235e38), "3.4028235E38");
        assert_eq!(java_float_string(1.5e-7), "1.5E-7");
    }

    #[test]
    fn binary_shows_its_utf8_text() {
        let array: ArrayRef = Arc::new(BinaryArray::from(vec![
            Some(b"Spark".as_slice()),
            Some(&[0xff, b'a']),
            None,
        ]));
        assert_eq!(shown(array), ["Spark", "\u{FFFD}a", "NULL"]);
    }

    #[test]
    fn nested_values_look_like_sparks() {
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2), None]),
            Some(vec![]),
            None,
        ]));
        assert_eq!(shown(list), ["[1,2,null]", "[]", "NULL"]);

        let mut builder = MapBuilder::new(None, Int32Builder::new(), StringBuilder::new());
        builder.keys().append_value(2);
        builder.values().append_value("b");
        builder.keys().append_value(1);
        builder.values().append_null();
        builder.append(true).unwrap();
        builder.append(false).unwrap();
        assert_eq!(
            shown(Arc::new(builder.finish())),
            ["{1:null,2:\"b\"}", "NULL"]
        );

        let strukt: ArrayRef = Arc::new(StructArray::new(
            Fields::from(vec![
                Field::new("a", DataType::Int32, true),
                Field::new("b", DataType::Utf8, true),
            ]),
            vec![
                Arc::new(Int32Array::from(vec![1])),
                Arc::new(StringArray::from(vec![Some("x")])),
            ],
            None,
        ));
        assert_eq!(shown(strukt), ["{\"a\":1,\"b\":\"x\"}"]);
    }
}
