//! CSV schema inference with Spark's rules: column names from the header or `_c0, _c1, ...`,
//! types from a sample of the first records.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::compute::kernels::cast_utils::{string_to_datetime, Parser};
use arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef, TimeUnit};
use chrono::{NaiveDateTime, Utc};
use ember_common::{EmberError, Result};

use super::pattern::spark_to_chrono;
use super::{format, reader_builder};
use crate::options::CsvOptions;
use crate::store::{FileEntry, Store};

/// How many records inference samples, across the files in order.
pub(crate) const INFERENCE_SAMPLE_RECORDS: usize = 1000;

/// The schema of CSV files: every column a string, or with `inferSchema` the narrowest Spark
/// type that every non-null sampled value fits: int, bigint, double, boolean, date, timestamp.
pub(crate) fn infer_schema(
    store: &Store,
    location: &str,
    files: &[FileEntry],
    options: &CsvOptions,
) -> Result<SchemaRef> {
    let Some(first) = files.iter().find(|f| f.size > 0) else {
        return Err(EmberError::DataSource(format!(
            "Unable to infer the schema of CSV data at {location}: there are no non-empty files; \
             give the columns explicitly (CREATE TABLE t (a INT, ...) USING csv)"
        )));
    };
    let cannot_read = |path: &std::path::Path, e: arrow::error::ArrowError| {
        EmberError::DataSource(format!("Cannot read CSV file {}: {e}", path.display()))
    };
    let (first_line, _) = format(options)?
        .with_header(options.header)
        .infer_schema(super::open(store, &first.path, 0, options)?, Some(0))
        .map_err(|e| cannot_read(&first.path, e))?;
    let names = column_names(&first_line, options.header);
    let strings: Vec<Field> = names
        .iter()
        .map(|name| Field::new(name, DataType::Utf8, true))
        .collect();
    let strings = Arc::new(Schema::new(strings));
    if !options.infer_schema {
        return Ok(strings);
    }

    let date_format = if options.default_date_format() {
        None
    } else {
        Some(spark_to_chrono(&options.date_format)?)
    };
    let timestamp_format = if options.default_timestamp_format() {
        None
    } else {
        Some(spark_to_chrono(&options.timestamp_format)?)
    };
    let mut candidates = vec![Candidates::default(); names.len()];
    let mut remaining = INFERENCE_SAMPLE_RECORDS;
    for file in files.iter().filter(|f| f.size > 0) {
        if remaining == 0 {
            break;
        }
        let reader = reader_builder(strings.clone(), options)?
            .with_header(options.header)
            .with_truncated_rows(true)
            .with_bounds(0, remaining)
            .build(super::open(store, &file.path, 0, options)?)
            .map_err(|e| cannot_read(&file.path, e))?;
        for batch in reader {
            let batch = batch.map_err(|e| cannot_read(&file.path, e))?;
            remaining = remaining.saturating_sub(batch.num_rows());
            for (column, candidate) in batch.columns().iter().zip(candidates.iter_mut()) {
                for value in column.as_string::<i32>().iter().flatten() {
                    candidate.update(value, date_format.as_deref(), timestamp_format.as_deref());
                }
            }
        }
    }
    let fields: Vec<Field> = names
        .iter()
        .zip(&candidates)
        .map(|(name, candidate)| Field::new(name, candidate.data_type(), true))
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// Header names as Spark cleans them: an empty name becomes `_c<i>`, and names that occur more
/// than once (case-insensitively) get their column index appended.
fn column_names(first_line: &Schema, header: bool) -> Vec<String> {
    let count = first_line.fields().len();
    if !header {
        return (0..count).map(|i| format!("_c{i}")).collect();
    }
    let raw: Vec<String> = first_line
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f.name().trim();
            if name.is_empty() {
                format!("_c{i}")
            } else {
                name.to_string()
            }
        })
        .collect();
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = raw
        .iter()
        .map(|n| n.to_lowercase())
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    raw.into_iter()
        .enumerate()
        .map(|(i, name)| {
            if duplicates.contains(&name.to_lowercase()) {
                format!("{name}{i}")
            } else {
                name
            }
        })
        .collect()
}

/// The types every value of a column seen so far still fits.
#[derive(Debug, Clone, Copy)]
struct Candidates {
    seen: bool,
    int: bool,
    bigint: bool,
    double: bool,
    boolean: bool,
    date: bool,
    timestamp: bool,
}

impl Default for Candidates {
    fn default() -> Self {
        Candidates {
            seen: false,
            int: true,
            bigint: true,
            double: true,
            boolean: true,
            date: true,
            timestamp: true,
        }
    }
}

impl Candidates {
    fn update(&mut self, value: &str, date_format: Option<&str>, timestamp_format: Option<&str>) {
        self.seen = true;
        self.int = self.int && value.parse::<i32>().is_ok();
        self.bigint = self.bigint && value.parse::<i64>().is_ok();
        // Rust also reads "inf" and "nan"; Spark keeps such words as strings.
        self.double = self.double
            && value.bytes().any(|b| b.is_ascii_digit())
            && value.parse::<f64>().is_ok();
        self.boolean = self.boolean
            && (value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"));
        self.date = self.date
            && match date_format {
                None => value.len() <= 10 && Date32Type::parse(value).is_some(),
                Some(format) => Date32Type::parse_formatted(value, format).is_some(),
            };
        self.timestamp = self.timestamp
            && value.bytes().any(|b| b.is_ascii_digit())
            && match timestamp_format {
                None => value.len() >= 10 && string_to_datetime(&Utc, value).is_ok(),
                Some(format) => NaiveDateTime::parse_from_str(value, format).is_ok(),
            };
    }

    fn data_type(&self) -> DataType {
        match self {
            Candidates { seen: false, .. } => DataType::Utf8,
            Candidates { int: true, .. } => DataType::Int32,
            Candidates { bigint: true, .. } => DataType::Int64,
            Candidates { double: true, .. } => DataType::Float64,
            Candidates { boolean: true, .. } => DataType::Boolean,
            Candidates { date: true, .. } => DataType::Date32,
            Candidates {
                timestamp: true, ..
            } => DataType::Timestamp(TimeUnit::Microsecond, None),
            _ => DataType::Utf8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> DataType {
        let mut candidates = Candidates::default();
        for value in values {
            candidates.update(value, None, None);
        }
        candidates.data_type()
    }

    #[test]
    fn values_widen_like_spark() {
        assert_eq!(infer(&["1", "-2"]), DataType::Int32);
        assert_eq!(infer(&["1", "3000000000"]), DataType::Int64);
        assert_eq!(infer(&["1", "2.5"]), DataType::Float64);
        assert_eq!(infer(&["1e3"]), DataType::Float64);
        assert_eq!(infer(&["true", "FALSE"]), DataType::Boolean);
        assert_eq!(infer(&["2024-02-29", "1999-12-31"]), DataType::Date32);
        assert_eq!(
            infer(&["2024-02-29 10:00:00", "2024-03-01"]),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(infer(&["1", "true"]), DataType::Utf8);
        assert_eq!(infer(&["nan", "inf"]), DataType::Utf8);
        assert_eq!(infer(&["2024-02-30"]), DataType::Utf8);
        assert_eq!(infer(&[]), DataType::Utf8);
    }

    #[test]
    fn custom_date_formats_are_used() -> Result<()> {
        let format = spark_to_chrono("dd/MM/yyyy")?;
        let mut candidates = Candidates::default();
        candidates.update("31/12/2024", Some(&format), None);
        assert_eq!(candidates.data_type(), DataType::Date32);
        candidates.update("2024-12-31", Some(&format), None);
        assert_eq!(candidates.data_type(), DataType::Utf8);
        Ok(())
    }

    #[test]
    fn header_names_are_cleaned() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("", DataType::Utf8, true),
            Field::new("v", DataType::Utf8, true),
            Field::new("V", DataType::Utf8, true),
        ]);
        assert_eq!(column_names(&schema, true), vec!["id", "_c1", "v2", "V3"]);
        assert_eq!(
            column_names(&schema, false),
            vec!["_c0", "_c1", "_c2", "_c3"]
        );
    }
}
