//! Reading one CSV split into record batches with Arrow's CSV decoder.

use std::io::{BufRead, BufReader, Chain, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, TimestampMicrosecondArray};
use arrow::compute::kernels::cast_utils::Parser;
use arrow::csv::reader::Decoder;
use arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use chrono::NaiveDateTime;
use ember_common::{EmberError, Result};
use regex::Regex;

use super::pattern::spark_to_chrono;
use super::range::RangeRead;
use super::{format, reader_builder};
use crate::options::CsvOptions;
use crate::store::{io_error, FileRead, Store};

const READ_BUFFER_BYTES: usize = 256 * 1024;

type Input = Chain<Cursor<Vec<u8>>, RangeRead<BufReader<FileRead>>>;

/// A date or timestamp column in a non-default pattern: Arrow reads it as text, Ember parses it.
#[derive(Debug, Clone)]
enum Conversion {
    Date(String),
    Timestamp(String),
}

/// What a split reader needs to know about the table.
pub(crate) struct CsvSplitRequest<'a> {
    pub store: Store,
    pub path: &'a Path,
    /// `None` reads the whole file.
    pub range: Option<(u64, u64)>,
    pub table_schema: &'a SchemaRef,
    pub options: &'a CsvOptions,
    pub projection: &'a [usize],
    pub output_schema: SchemaRef,
    pub batch_size: usize,
}

/// Opens a split and returns its batch reader.
pub(crate) fn read_split(request: CsvSplitRequest<'_>) -> Result<CsvSplitReader> {
    let CsvSplitRequest {
        store,
        path,
        range,
        table_schema,
        options,
        projection,
        output_schema,
        batch_size,
    } = request;
    let (start, end) = range.unwrap_or((0, u64::MAX));
    let file = super::open(&store, path, start, options)?;
    let (mut range_reader, mut data_start) = RangeRead::new(
        BufReader::with_capacity(READ_BUFFER_BYTES, file),
        start,
        end,
    )
    .map_err(|e| io_error(path, e))?;
    if start == 0 && options.header {
        let mut header = Vec::new();
        data_start += range_reader
            .read_until(b'\n', &mut header)
            .map_err(|e| io_error(path, e))? as u64;
    }
    // The first record tells whether lines end with a trailing delimiter (TPC-H `.tbl`).
    let mut first_line = Vec::new();
    range_reader
        .read_until(b'\n', &mut first_line)
        .map_err(|e| io_error(path, e))?;
    let first_fields = if first_line.is_empty() {
        0
    } else {
        format(options)?
            .with_header(false)
            .infer_schema(first_line.as_slice(), Some(0))
            .map(|(schema, _)| schema.fields().len())
            .unwrap_or(0)
    };
    let columns = table_schema.fields().len();
    let trailing = columns > 0 && first_fields == columns + 1;

    // The decoder reads dates and timestamps in custom patterns as text, every column nullable
    // (non-null columns are checked when the output batch is built), plus the trailing field.
    let mut conversions = Vec::with_capacity(columns);
    let mut read_fields = Vec::with_capacity(columns + 1);
    for field in table_schema.fields() {
        let conversion = match field.data_type() {
            DataType::Date32 if !options.default_date_format() => {
                Some(Conversion::Date(spark_to_chrono(&options.date_format)?))
            }
            DataType::Timestamp(TimeUnit::Microsecond, None)
                if !options.default_timestamp_format() =>
            {
                Some(Conversion::Timestamp(spark_to_chrono(
                    &options.timestamp_format,
                )?))
            }
            _ => None,
        };
        let data_type = match conversion {
            Some(_) => DataType::Utf8,
            None => field.data_type().clone(),
        };
        read_fields.push(Field::new(field.name(), data_type, true));
        conversions.push(conversion);
    }
    if trailing {
        read_fields.push(Field::new("_trailing_delimiter", DataType::Utf8, true));
    }
    let read_schema = Arc::new(Schema::new(read_fields));

    let mut decoded: Vec<usize> = projection.to_vec();
    decoded.sort_unstable();
    decoded.dedup();
    let positions: Vec<usize> = projection
        .iter()
        .map(|column| decoded.partition_point(|d| d < column))
        .collect();
    let trailing_position = trailing.then(|| {
        decoded.push(columns);
        decoded.len() - 1
    });
    let decoder = reader_builder(read_schema.clone(), options)?
        .with_header(false)
        .with_batch_size(batch_size.max(1))
        .with_projection(decoded)
        .build_decoder();
    Ok(CsvSplitReader {
        options: options.clone(),
        store,
        path: path.to_path_buf(),
        input: Cursor::new(first_line).chain(range_reader),
        decoder,
        data_start,
        records_read: 0,
        table_schema: table_schema.clone(),
        projection: projection.to_vec(),
        positions,
        trailing_position,
        conversions,
        output_schema,
        done: false,
    })
}

/// Yields the batches of one split; stops at the first error.
pub(crate) struct CsvSplitReader {
    options: CsvOptions,
    store: Store,
    path: PathBuf,
    input: Input,
    decoder: Decoder,
    /// Offset of the first data byte of the split, for line numbers in error messages.
    data_start: u64,
    records_read: u64,
    table_schema: SchemaRef,
    projection: Vec<usize>,
    /// For each output column, its position in the decoded batch.
    positions: Vec<usize>,
    trailing_position: Option<usize>,
    conversions: Vec<Option<Conversion>>,
    output_schema: SchemaRef,
    done: bool,
}

impl Iterator for CsvSplitReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = self.next_batch().transpose();
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }
}

impl CsvSplitReader {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            let buf = self.input.fill_buf().map_err(|e| io_error(&self.path, e))?;
            let decoded = match self.decoder.decode(buf) {
                Ok(decoded) => decoded,
                Err(e) => return Err(self.decode_error(e)),
            };
            self.input.consume(decoded);
            if decoded == 0 || self.decoder.capacity() == 0 {
                break;
            }
        }
        let batch = match self.decoder.flush() {
            Ok(Some(batch)) => batch,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.decode_error(e)),
        };
        let first_record = self.records_read;
        self.records_read += batch.num_rows() as u64;

        if let Some(position) = self.trailing_position {
            let extra = batch.column(position);
            if extra.null_count() != extra.len() {
                let row = (0..extra.len()).find(|&i| extra.is_valid(i)).unwrap_or(0);
                let columns = self.table_schema.fields().len();
                return Err(self.malformed(
                    first_record + row as u64,
                    &format!("expected {columns} fields but found {}", columns + 1),
                ));
            }
        }
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.positions.len());
        for (&column, &position) in self.projection.iter().zip(&self.positions) {
            let array = batch.column(position).clone();
            let array = match self.conversions.get(column).cloned().flatten() {
                None => array,
                Some(conversion) => self.convert(&array, &conversion, column, first_record)?,
            };
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        let batch = RecordBatch::try_new_with_options(self.output_schema.clone(), arrays, &options)
            .map_err(|e| {
                EmberError::DataSource(format!(
                    "Malformed CSV data in {}: {e}",
                    self.path.display()
                ))
            })?;
        Ok(Some(batch))
    }

    /// Parses a text column in a custom date or timestamp pattern.
    fn convert(
        &self,
        array: &ArrayRef,
        conversion: &Conversion,
        column: usize,
        first_record: u64,
    ) -> Result<ArrayRef> {
        let strings = array.as_string::<i32>();
        let failure = |row: usize, value: &str, pattern: &str| {
            let name = self.table_schema.field(column).name();
            self.malformed(
                first_record + row as u64,
                &format!("cannot parse '{value}' with the pattern '{pattern}' for column `{name}`"),
            )
        };
        match conversion {
            Conversion::Date(format) => {
                let mut values = Vec::with_capacity(strings.len());
                for (row, value) in strings.iter().enumerate() {
                    values.push(match value {
                        None => None,
                        Some(text) => Some(
                            Date32Type::parse_formatted(text, format)
                                .ok_or_else(|| failure(row, text, format))?,
                        ),
                    });
                }
                Ok(Arc::new(Date32Array::from(values)))
            }
            Conversion::Timestamp(format) => {
                let mut values = Vec::with_capacity(strings.len());
                for (row, value) in strings.iter().enumerate() {
                    values.push(match value {
                        None => None,
                        Some(text) => Some(
                            NaiveDateTime::parse_from_str(text, format)
                                .map_err(|_| failure(row, text, format))?
                                .and_utc()
                                .timestamp_micros(),
                        ),
                    });
                }
                Ok(Arc::new(TimestampMicrosecondArray::from(values)))
            }
        }
    }

    /// The 1-based line of a record of this split (0-based), counting the lines before it.
    fn line_of(&self, record: u64) -> String {
        let before = if self.data_start == 0 {
            Ok(0)
        } else {
            super::open(&self.store, &self.path, 0, &self.options).and_then(|file| {
                count_newlines(file.take(self.data_start)).map_err(|e| io_error(&self.path, e))
            })
        };
        match before {
            Ok(before) => (before + 1 + record).to_string(),
            Err(_) => format!("{} after byte {}", record + 1, self.data_start),
        }
    }

    fn malformed(&self, record: u64, reason: &str) -> EmberError {
        EmberError::DataSource(format!(
            "Malformed CSV record in {} at line {}: {reason}",
            self.path.display(),
            self.line_of(record)
        ))
    }

    /// Rewrites Arrow's decoder errors, whose line numbers count from the split's start.
    fn decode_error(&self, error: ArrowError) -> EmberError {
        let message = error.to_string();
        let columns = self.table_schema.fields().len();
        if let Some(c) = capture(
            r"incorrect number of fields for line (\d+), expected \d+ got (more than )?(\d+)",
            &message,
        ) {
            let record = number(&c, 1).saturating_sub(1);
            let found = c.get(3).map_or("", |m| m.as_str());
            let more = if c.get(2).is_some() { "more than " } else { "" };
            let expected = if self.trailing_position.is_some() {
                format!("{columns} (plus an empty trailing field, as on the first line)")
            } else {
                columns.to_string()
            };
            return self.malformed(
                record,
                &format!("expected {expected} fields but found {more}{found}"),
            );
        }
        if let Some(c) = capture(
            r"(?s)Error while parsing value '(.*)' as type '([^']*)' for column (\d+) at line (\d+)",
            &message,
        ) {
            let value = c.get(1).map_or("", |m| m.as_str());
            let type_name = c.get(2).map_or("", |m| m.as_str());
            return self.malformed(
                number(&c, 4),
                &format!(
                    "cannot parse '{value}' as {type_name} for column `{}`",
                    self.column_name(number(&c, 3))
                ),
            );
        }
        if let Some(c) = capture(
            r"(?s)Error parsing column (\d+) at line (\d+): (.*)",
            &message,
        ) {
            let reason = c.get(3).map_or("", |m| m.as_str());
            return self.malformed(
                number(&c, 2),
                &format!("column `{}`: {reason}", self.column_name(number(&c, 1))),
            );
        }
        EmberError::DataSource(format!(
            "Malformed CSV data in {} (after byte {}): {message}",
            self.path.display(),
            self.data_start
        ))
    }

    fn column_name(&self, index: u64) -> String {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.table_schema.fields().get(i))
            .map_or_else(|| format!("#{index}"), |f| f.name().clone())
    }
}

fn capture<'a>(pattern: &str, message: &'a str) -> Option<regex::Captures<'a>> {
    Regex::new(pattern).ok()?.captures(message)
}

fn number(captures: &regex::Captures<'_>, group: usize) -> u64 {
    captures
        .get(group)
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(0)
}

fn count_newlines(reader: impl Read) -> std::io::Result<u64> {
    let mut reader = BufReader::new(reader);
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}
