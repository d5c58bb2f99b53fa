//! Hive-style partition folders: `sales/year=2024/region=EU/part-0.parquet` gives the table
//! the columns `year` and `region`, whose values come from the path and are not in the files.
//!
//! As in Spark, partition columns follow the data columns, values are percent-decoded,
//! `__HIVE_DEFAULT_PARTITION__` is NULL, and types are inferred (int, bigint, double, date,
//! else string) unless the table's declared columns name them.

use std::path::Path;

use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use datafusion_common::ScalarValue;
use ember_common::{EmberError, Result};

use crate::store::{is_glob, FileEntry};

/// The partition value Hive and Spark write for NULL.
pub const DEFAULT_PARTITION_NAME: &str = "__HIVE_DEFAULT_PARTITION__";

/// The partition columns of a table and, per file, their values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Partitions {
    pub fields: Vec<Field>,
    /// Per file (in listing order), one value per partition column.
    pub values: Vec<Vec<ScalarValue>>,
}

/// The folder partition paths are read relative to: the location, or for a glob the part of
/// it before the first segment with a wildcard.
fn base_of(location: &str) -> &str {
    if !is_glob(location) {
        return location.trim_end_matches('/');
    }
    let wildcard = location.find(['*', '?', '[']).unwrap_or(location.len());
    match location[..wildcard].rfind('/') {
        Some(slash) => &location[..slash],
        None => "",
    }
}

/// `key=value` folders between the base and each file. `None` when no file is in one.
/// `declared` are the table's declared columns, which may give partition columns their types.
pub(crate) fn discover(
    location: &str,
    files: &[FileEntry],
    declared: Option<&Schema>,
) -> Result<Option<Partitions>> {
    let base = Path::new(base_of(location));
    let mut keys: Option<(Vec<String>, &Path)> = None;
    let mut raw_values: Vec<Vec<Option<String>>> = Vec::with_capacity(files.len());
    for file in files {
        let relative = file.path.strip_prefix(base).unwrap_or(&file.path);
        let mut file_keys = Vec::new();
        let mut values = Vec::new();
        if let Some(folders) = relative.parent() {
            for folder in folders.components() {
                let folder = folder.as_os_str().to_string_lossy();
                if let Some((key, value)) = folder.split_once('=') {
                    if !key.is_empty() {
                        file_keys.push(unescape(key));
                        let value = unescape(value);
                        values.push((value != DEFAULT_PARTITION_NAME).then_some(value));
                    }
                }
            }
        }
        match &keys {
            None => keys = Some((file_keys, &file.path)),
            Some((first, first_path)) if !same_keys(first, &file_keys) => {
                return Err(EmberError::DataSource(format!(
                    "Conflicting partition folders under {location}: {} is in [{}] but {} is in \
                     [{}]; every file must sit in the same key=value folders",
                    first_path.display(),
                    first.join(", "),
                    file.path.display(),
                    file_keys.join(", ")
                )))
            }
            Some(_) => {}
        }
        raw_values.push(values);
    }
    let Some((names, _)) = keys.filter(|(names, _)| !names.is_empty()) else {
        return Ok(None);
    };
    let mut fields = Vec::with_capacity(names.len());
    let mut columns: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(names.len()); files.len()];
    for (index, name) in names.iter().enumerate() {
        let texts: Vec<Option<&str>> = raw_values.iter().map(|v| v[index].as_deref()).collect();
        let declared_type = declared.and_then(|schema| {
            schema
                .fields()
                .iter()
                .find(|f| f.name().eq_ignore_ascii_case(name))
                .map(|f| f.data_type().clone())
        });
        let data_type = declared_type.unwrap_or_else(|| infer_type(&texts));
        for (file, text) in texts.iter().enumerate() {
            let value = match text {
                None => ScalarValue::try_from(&data_type)?,
                Some(text) => ScalarValue::try_from_string(text.to_string(), &data_type)
                    .ok()
                    .filter(|v| !v.is_null())
                    .ok_or_else(|| {
                        EmberError::DataSource(format!(
                            "Partition folder {name}={text} of {} does not hold a {data_type} value",
                            files[file].path.display()
                        ))
                    })?,
            };
            columns[file].push(value);
        }
        fields.push(Field::new(name, data_type, true));
    }
    Ok(Some(Partitions {
        fields,
        values: columns,
    }))
}

fn same_keys(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Spark's partition type inference: int, bigint, double, date, else string.
fn infer_type(values: &[Option<&str>]) -> DataType {
    let present: Vec<&str> = values.iter().flatten().copied().collect();
    let all =
        |check: &dyn Fn(&str) -> bool| !present.is_empty() && present.iter().all(|v| check(v));
    // A value with a leading zero (`month=05`) is still a number to Spark.
    if all(&|v| v.parse::<i32>().is_ok()) {
        DataType::Int32
    } else if all(&|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else if all(&|v| v.parse::<f64>().is_ok_and(f64::is_finite)) {
        DataType::Float64
    } else if all(&|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()) {
        DataType::Date32
    } else {
        DataType::Utf8
    }
}

/// Undoes Spark's escaping of partition values (`%3A` for `:`, `%2F` for `/`, ...).
fn unescape(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn files(paths: &[&str]) -> Vec<FileEntry> {
        paths
            .iter()
            .map(|p| FileEntry {
                path: PathBuf::from(p),
                size: 1,
            })
            .collect()
    }

    #[test]
    fn key_value_folders_become_typed_columns() -> Result<()> {
        let listed = files(&[
            "s3://b/sales/year=2023/region=EU/part-0.parquet",
            "s3://b/sales/year=2024/region=US%2FWest/part-0.parquet",
            "s3://b/sales/year=2024/region=__HIVE_DEFAULT_PARTITION__/part-1.parquet",
        ]);
        let found = discover("s3://b/sales", &listed, None)?.expect("partitions");
        assert_eq!(found.fields[0], Field::new("year", DataType::Int32, true));
        assert_eq!(found.fields[1], Field::new("region", DataType::Utf8, true));
        assert_eq!(
            found.values[1][1],
            ScalarValue::Utf8(Some("US/West".into()))
        );
        assert_eq!(found.values[2][1], ScalarValue::Utf8(None));
        assert_eq!(found.values[0][0], ScalarValue::Int32(Some(2023)));
        Ok(())
    }

    #[test]
    fn globs_read_partitions_below_the_wildcard_and_declared_types_win() -> Result<()> {
        let listed = files(&["/d/t/day=2024-01-31/a.csv", "/d/t/day=2024-02-01/b.csv"]);
        let found = discover("/d/t/day=*/*.csv", &listed, None)?.expect("partitions");
        assert_eq!(found.fields[0].data_type(), &DataType::Date32);
        let declared = Schema::new(vec![Field::new("day", DataType::Utf8, true)]);
        let found = discover("/d/t", &listed, Some(&declared))?.expect("partitions");
        assert_eq!(
            found.values[0][0],
            ScalarValue::Utf8(Some("2024-01-31".into()))
        );
        assert_eq!(discover("/d/t", &files(&["/d/t/a.csv"]), None)?, None);
        Ok(())
    }

    #[test]
    fn conflicting_folders_and_bad_declared_values_are_errors() {
        let listed = files(&["/d/t/a=1/x.csv", "/d/t/b=1/y.csv"]);
        let message = discover("/d/t", &listed, None).unwrap_err().to_string();
        assert!(
            message.contains("Conflicting partition folders"),
            "{message}"
        );
        let declared = Schema::new(vec![Field::new("a", DataType::Int32, true)]);
        let listed = files(&["/d/t/a=x/x.csv"]);
        let message = discover("/d/t", &listed, Some(&declared))
            .unwrap_err()
            .to_string();
        assert!(message.contains("a=x"), "{message}");
    }

    #[test]
    fn mixed_values_widen() {
        assert_eq!(
            infer_type(&[Some("1"), Some("3000000000")]),
            DataType::Int64
        );
        assert_eq!(infer_type(&[Some("1"), Some("1.5")]), DataType::Float64);
        assert_eq!(infer_type(&[Some("1"), Some("x")]), DataType::Utf8);
        assert_eq!(infer_type(&[None]), DataType::Utf8);
        assert_eq!(unescape("a%3Ab%2"), "a:b%2");
    }
}
