//! Spark SQL type names and their Arrow types, both ways.

use arrow::datatypes::{DataType, TimeUnit};
use ember_common::{EmberError, Result};
use sqlparser::ast::{self, ExactNumberInfo};

/// What the session's timestamp type names mean: `TIMESTAMP_LTZ` is an instant in the session
/// time zone (Arrow `Timestamp(µs, zone)`), `TIMESTAMP` is it or `TIMESTAMP_NTZ` by
/// `ember.sql.timestampType`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimestampTypes {
    /// `TIMESTAMP_LTZ`.
    pub ltz: DataType,
    /// `TIMESTAMP`.
    pub timestamp: DataType,
}

impl TimestampTypes {
    /// The types under a session's configuration.
    pub fn of(conf: &ember_common::EmberConf) -> Self {
        let zone = ember_common::config::session_time_zone(conf);
        let ltz = DataType::Timestamp(TimeUnit::Microsecond, Some(zone.into()));
        let ntz_default = conf
            .get("ember.sql.timestampType")
            .is_some_and(|t| t.eq_ignore_ascii_case("TIMESTAMP_NTZ"));
        let timestamp = if ntz_default { ntz() } else { ltz.clone() };
        Self { ltz, timestamp }
    }
}

/// `TIMESTAMP_NTZ`: a wall-clock time.
pub fn ntz() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// Whether `t` is a `TIMESTAMP_LTZ` (an instant with a zone).
pub fn is_ltz(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(_, Some(_)))
}

/// The Arrow type for a SQL type written by the user (`INT`, `DECIMAL(15,2)`, `STRING`, ...).
pub fn sql_to_arrow(data_type: &ast::DataType, timestamps: &TimestampTypes) -> Result<DataType> {
    use ast::DataType as S;
    Ok(match data_type {
        S::TinyInt(_) => DataType::Int8,
        S::SmallInt(_) => DataType::Int16,
        S::Int(_) | S::Integer(_) | S::Int32 => DataType::Int32,
        S::BigInt(_) | S::Int64 => DataType::Int64,
        S::Float(_) | S::Real | S::Float32 => DataType::Float32,
        S::Double(_) | S::DoublePrecision | S::Float64 => DataType::Float64,
        S::Boolean | S::Bool => DataType::Boolean,
        S::Date => DataType::Date32,
        S::Timestamp(Some(_), _) | S::TimestampNtz(Some(_)) | S::Datetime(Some(_)) => {
            return Err(EmberError::NotSupported(format!(
                "the precision in {data_type}; Spark's timestamps have microseconds, write TIMESTAMP"
            )))
        }
        // `TIMESTAMP_LTZ '...'` literals arrive as sqlparser's TIMESTAMPTZ (see the dialect).
        S::Timestamp(None, ast::TimezoneInfo::Tz) => timestamps.ltz.clone(),
        S::Timestamp(None, ast::TimezoneInfo::WithTimeZone) => {
            return Err(EmberError::NotSupported(format!(
                "{data_type}: Spark has no such type; write TIMESTAMP_LTZ (an instant shown in the session time zone) or TIMESTAMP_NTZ"
            )))
        }
        S::Timestamp(None, ast::TimezoneInfo::WithoutTimeZone) | S::TimestampNtz(None) => ntz(),
        S::Timestamp(None, ast::TimezoneInfo::None) | S::Datetime(None) => {
            timestamps.timestamp.clone()
        }
        S::Time(None | Some(6), ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => {
            crate::functions::time::time()
        }
        S::Time(Some(p), ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) if *p <= 6 => {
            return Err(EmberError::NotSupported(format!(
                "TIME({p}): Ember's TIME keeps microseconds (TIME(6)); cast to TIME and truncate with time_trunc"
            )))
        }
        S::Time(Some(p), _) if *p > 6 => {
            return Err(EmberError::analysis(format!(
                "[UNSUPPORTED_TIME_PRECISION] The seconds precision {p} of the TIME data type is out of the supported range [0, 6]"
            )))
        }
        S::String(_) | S::Text | S::Varchar(_) | S::Char(_) | S::CharVarying(_) | S::Character(_) => {
            DataType::Utf8
        }
        S::Binary(_) | S::Varbinary(_) | S::Bytea | S::Blob(_) => DataType::Binary,
        S::Decimal(info) | S::Dec(info) | S::Numeric(info) => {
            let (precision, scale) = match info {
                ExactNumberInfo::None => (10, 0),
                ExactNumberInfo::Precision(p) => (*p, 0),
                ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
            };
            if precision == 0 || precision > 38 {
                return Err(EmberError::analysis(format!(
                    "DECIMAL precision {precision} is out of range: use 1 to 38"
                )));
            }
            if scale < 0 || scale as u64 > precision {
                return Err(EmberError::analysis(format!(
                    "DECIMAL scale {scale} must be between 0 and the precision {precision}"
                )));
            }
            DataType::Decimal128(precision as u8, scale as i8)
        }
        S::Array(ast::ArrayElemTypeDef::AngleBracket(element)) => {
            crate::functions::collection::list_of(sql_to_arrow(element, timestamps)?)
        }
        S::Map(key, value) => {
            crate::functions::collection::map_of(
                sql_to_arrow(key, timestamps)?,
                sql_to_arrow(value, timestamps)?,
            )
        }
        S::Struct(fields, _) => {
            let fields = fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if f.options.is_some() {
                        return Err(EmberError::NotSupported(
                            "OPTIONS on a struct field".into(),
                        ));
                    }
                    let name = f
                        .field_name
                        .as_ref()
                        .map_or_else(|| format!("col{}", i + 1), |n| n.value.clone());
                    Ok(arrow::datatypes::Field::new(
                        name,
                        sql_to_arrow(&f.field_type, timestamps)?,
                        true,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            DataType::Struct(fields.into())
        }
        S::Custom(name, args) if args.is_empty() => match name.to_string().to_lowercase().as_str() {
            "long" => DataType::Int64,
            "timestamp_ntz" => ntz(),
            "timestamp_ltz" => timestamps.ltz.clone(),
            "short" => DataType::Int16,
            "byte" => DataType::Int8,
            other => {
                return Err(EmberError::analysis(format!(
                    "Unknown data type '{other}'; Spark types are tinyint, smallint, int, bigint, float, double, decimal(p,s), string, boolean, date, timestamp, binary"
                )))
            }
        },
        other => {
            return Err(EmberError::NotSupported(format!(
                "data type {other}; use tinyint, smallint, int, bigint, float, double, decimal(p,s), string, boolean, date, timestamp, time or binary"
            )))
        }
    })
}

/// Spark's name of a column's type: as [`spark_type_name`], with an interval's fields
/// (`interval day`) from the field's metadata.
pub fn spark_field_type_name(field: &arrow::datatypes::Field) -> String {
    crate::functions::interval::fields_of(field)
        .and_then(|fields| {
            crate::functions::interval::interval_type_name(field.data_type(), Some(fields))
        })
        .unwrap_or_else(|| spark_type_name(field.data_type()))
}

/// An Arrow type as Spark's `DataType.sql` writes it in messages: `INT`, `MAP<STRING, INT>`,
/// `STRUCT<a: INT>`, `ARRAY<INTERVAL>`.
pub fn spark_type_sql(data_type: &DataType) -> String {
    match data_type {
        DataType::List(f) | DataType::LargeList(f) => {
            format!("ARRAY<{}>", spark_type_sql(f.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "MAP<{}, {}>",
                spark_type_sql(kv[0].data_type()),
                spark_type_sql(kv[1].data_type())
            ),
            other => format!("MAP<{}>", spark_type_sql(other)),
        },
        DataType::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), spark_type_sql(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => spark_type_name(other).to_uppercase(),
    }
}

/// Whether Spark can order and group values of `t` (`TypeUtils.isOrderable`): every type but
/// maps and the legacy calendar interval, and arrays and structs holding them.
pub fn is_orderable(t: &DataType) -> bool {
    match t {
        DataType::Map(_, _) => false,
        t if crate::functions::calendar_interval::is_calendar(t) => false,
        DataType::List(f) | DataType::LargeList(f) => is_orderable(f.data_type()),
        DataType::Struct(fields) => fields.iter().all(|f| is_orderable(f.data_type())),
        _ => true,
    }
}

/// Whether `t` is a map or holds one.
pub fn contains_map(t: &DataType) -> bool {
    match t {
        DataType::Map(_, _) => true,
        DataType::List(f) | DataType::LargeList(f) => contains_map(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| contains_map(f.data_type())),
        _ => false,
    }
}

/// Spark's name of an Arrow type, as `DESCRIBE` and result schemas print it.
pub fn spark_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "void".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            format!("{data_type}").to_lowercase()
        }
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time(6)".into(),
        DataType::Interval(_) | DataType::Duration(_) => {
            crate::functions::interval::interval_type_name(data_type, None)
                .unwrap_or_else(|| "interval".into())
        }
        DataType::List(f) | DataType::LargeList(f) => {
            format!("array<{}>", spark_type_name(f.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                spark_type_name(kv[0].data_type()),
                spark_type_name(kv[1].data_type())
            ),
            other => format!("map<{}>", spark_type_name(other)),
        },
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), spark_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bounds_are_checked() {
        let d = ast::DataType::Decimal(ExactNumberInfo::PrecisionAndScale(15, 2));
        let t = TimestampTypes::of(&ember_common::EmberConf::new());
        assert_eq!(sql_to_arrow(&d, &t).unwrap(), DataType::Decimal128(15, 2));
        let bad = ast::DataType::Decimal(ExactNumberInfo::PrecisionAndScale(40, 2));
        assert!(sql_to_arrow(&bad, &t)
            .unwrap_err()
            .to_string()
            .contains("1 to 38"));
        assert_eq!(
            spark_type_name(&DataType::Decimal128(15, 2)),
            "decimal(15,2)"
        );
    }
}
