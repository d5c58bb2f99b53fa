//! Reading one CSV split into record batches with Arrow's CSV decoder.

use std::io::{BufRead, BufReader, Chain, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
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
use crate::options::{CsvOptions, ParseMode};
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

/// Where an output column comes from.
#[derive(Debug, Clone, Copy)]
enum OutputColumn {
    /// A file column (index into the file columns) at `position` in the decoded batch.
    File { column: usize, position: usize },
    /// The raw text of malformed records (`columnNameOfCorruptRecord`).
    Corrupt,
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
    // A string column named by columnNameOfCorruptRecord is not in the file (in every mode;
    // only PERMISSIVE fills it).
    let corrupt = table_schema.fields().iter().position(|f| {
        f.name() == &options.corrupt_record_column && f.data_type() == &DataType::Utf8
    });
    let file_schema: SchemaRef = match corrupt {
        None => Arc::clone(table_schema),
        Some(index) => {
            let keep: Vec<usize> = (0..table_schema.fields().len())
                .filter(|&i| i != index)
                .collect();
            Arc::new(table_schema.project(&keep)?)
        }
    };
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
    let columns = file_schema.fields().len();
    let trailing = columns > 0 && first_fields == columns + 1;

    // The decoder reads dates and timestamps in custom patterns as text, every column nullable
    // (non-null columns are checked when the output batch is built), plus the trailing field.
    let mut conversions = Vec::with_capacity(columns);
    let mut read_fields = Vec::with_capacity(columns + 1);
    for field in file_schema.fields() {
        let conversion = match field.data_type() {
            DataType::Date32 if !options.default_date_format() => {
                Some(Conversion::Date(spark_to_chrono(&options.date_format)?))
            }
            DataType::Timestamp(TimeUnit::Microsecond, _)
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

    // Table columns to file columns (the corrupt record column is not in the file).
    let file_column = |column: usize| match corrupt {
        Some(index) if column > index => column - 1,
        _ => column,
    };
    // Whether a record is malformed depends on the columns parsed: with the corrupt record
    // column read, every column is parsed so that it names every malformed record.
    let mut decoded: Vec<usize> = if corrupt.is_some_and(|c| projection.contains(&c)) {
        (0..columns).collect()
    } else {
        projection
            .iter()
            .filter(|&&column| Some(column) != corrupt)
            .map(|&column| file_column(column))
            .collect()
    };
    decoded.sort_unstable();
    decoded.dedup();
    let outputs: Vec<OutputColumn> = projection
        .iter()
        .map(|&column| {
            if Some(column) == corrupt {
                OutputColumn::Corrupt
            } else {
                let column = file_column(column);
                OutputColumn::File {
                    column,
                    position: decoded.partition_point(|d| *d < column),
                }
            }
        })
        .collect();
    let trailing_position = trailing.then(|| {
        decoded.push(columns);
        decoded.len() - 1
    });
    let batch_size = batch_size.max(1);
    let decoder = new_decoder(&read_schema, options, batch_size, &decoded)?;
    Ok(CsvSplitReader {
        options: options.clone(),
        store,
        path: path.to_path_buf(),
        input: Cursor::new(first_line).chain(range_reader),
        decoder,
        read_schema,
        decoded,
        batch_size,
        data_start,
        records_read: 0,
        decoder_base: 0,
        raw: Vec::new(),
        file_schema,
        outputs,
        trailing_position,
        conversions,
        output_schema,
        done: false,
    })
}

fn new_decoder(
    read_schema: &SchemaRef,
    options: &CsvOptions,
    batch_size: usize,
    decoded: &[usize],
) -> Result<Decoder> {
    Ok(reader_builder(Arc::clone(read_schema), options)?
        .with_header(false)
        .with_batch_size(batch_size)
        .with_projection(decoded.to_vec())
        .build_decoder())
}

/// Yields the batches of one split; stops at the first error.
///
/// Arrow's CSV decoder reads `batch_size` records at a time straight from the read buffer,
/// and the bytes it took are kept. A batch with a malformed record fails in FAILFAST mode;
/// otherwise its text is decoded again field by field, so that PERMISSIVE can null the
/// malformed fields (and keep the raw line) and DROPMALFORMED can skip the record.
/// Well-formed data never takes that slower path.
pub(crate) struct CsvSplitReader {
    options: CsvOptions,
    store: Store,
    path: PathBuf,
    input: Input,
    decoder: Decoder,
    read_schema: SchemaRef,
    /// The decoder's projection over `read_schema`.
    decoded: Vec<usize>,
    batch_size: usize,
    /// Offset of the first data byte of the split, for line numbers in error messages.
    data_start: u64,
    records_read: u64,
    /// `records_read` when the decoder was made (its error messages count from there).
    decoder_base: u64,
    /// The text of the records the decoder took for the batch being decoded.
    raw: Vec<u8>,
    /// The columns the file holds (the table's, without a corrupt record column).
    file_schema: SchemaRef,
    outputs: Vec<OutputColumn>,
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
            self.raw.clear();
            let first_record = self.records_read;
            let failed = match self.decode_batch(first_record) {
                Ok(None) => return Ok(None),
                Ok(Some(batch)) if batch.num_rows() > 0 => return Ok(Some(batch)),
                Ok(Some(_)) => continue,
                Err(error) => error,
            };
            // The text of the failed batch: what the decoder took, and the next lines (a
            // record the decoder refused was not taken).
            let mut chunk = std::mem::take(&mut self.raw);
            chunk.extend(self.read_chunk()?);
            if chunk.is_empty() {
                return Err(failed);
            }
            if self.options.mode == ParseMode::FailFast {
                // Arrow reports field counts before values; name the first bad record.
                let (_, first_bad) = self.decode_leniently(&chunk)?;
                return Err(match first_bad {
                    Some((row, reason)) => self.malformed(first_record + row as u64, &reason),
                    None => failed,
                });
            }
            let (batch, _) = self.decode_leniently(&chunk)?;
            self.decoder = new_decoder(
                &self.read_schema,
                &self.options,
                self.batch_size,
                &self.decoded,
            )?;
            self.decoder_base = self.records_read;
            if batch.num_rows() > 0 {
                return Ok(Some(batch));
            }
        }
    }

    /// Up to `batch_size` lines (a quoted field's line breaks do not end a record).
    fn read_chunk(&mut self) -> Result<Vec<u8>> {
        let mut chunk = Vec::new();
        let mut lines = 0;
        let mut in_quotes = false;
        while lines < self.batch_size || in_quotes {
            let start = chunk.len();
            let n = self
                .input
                .read_until(b'\n', &mut chunk)
                .map_err(|e| io_error(&self.path, e))?;
            if n == 0 {
                break;
            }
            in_quotes ^= odd_quotes(&chunk[start..], self.options.quote, self.options.escape);
            if !in_quotes {
                lines += 1;
            }
        }
        Ok(chunk)
    }

    /// The fast path: up to `batch_size` records through Arrow's decoder, straight from the
    /// read buffer; the bytes it took are kept in `raw` in case the batch is malformed.
    /// `None` at the end of the split.
    fn decode_batch(&mut self, first_record: u64) -> Result<Option<RecordBatch>> {
        loop {
            let buf = self.input.fill_buf().map_err(|e| io_error(&self.path, e))?;
            let decoded = match self.decoder.decode(buf) {
                Ok(decoded) => decoded,
                Err(e) => return Err(self.decode_error(e)),
            };
            self.raw.extend_from_slice(&buf[..decoded]);
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
        if let Some(position) = self.trailing_position {
            let extra = batch.column(position);
            if extra.null_count() != extra.len() {
                let row = (0..extra.len()).find(|&i| extra.is_valid(i)).unwrap_or(0);
                let columns = self.file_schema.fields().len();
                return Err(self.malformed(
                    first_record + row as u64,
                    &format!("expected {columns} fields but found {}", columns + 1),
                ));
            }
        }
        let rows = batch.num_rows();
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.outputs.len());
        for output in &self.outputs {
            arrays.push(match *output {
                OutputColumn::Corrupt => arrow::array::new_null_array(&DataType::Utf8, rows),
                OutputColumn::File { column, position } => {
                    let array = batch.column(position).clone();
                    match self.conversions.get(column).cloned().flatten() {
                        None => array,
                        Some(conversion) => {
                            self.convert(&array, &conversion, column, first_record)?
                        }
                    }
                }
            });
        }
        self.records_read += rows as u64;
        self.build(arrays, rows).map(Some)
    }

    fn build(&self, arrays: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.output_schema.clone(), arrays, &options).map_err(
            |e| {
                EmberError::DataSource(format!(
                    "Malformed CSV data in {}: {e}",
                    self.path.display()
                ))
            },
        )
    }

    /// The slow path for a chunk holding a malformed record: each record is split into fields
    /// and each projected column parsed on its own; a record whose field count is wrong or
    /// whose field does not parse is malformed. PERMISSIVE keeps it (the bad fields NULL, the
    /// raw line in the corrupt record column); DROPMALFORMED skips it.
    /// Also returns the first malformed record (its row in the chunk) and why it is malformed.
    fn decode_leniently(&mut self, chunk: &[u8]) -> Result<(RecordBatch, Option<(usize, String)>)> {
        let options = &self.options;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(options.delimiter)
            .quoting(options.quote != 0)
            .quote(if options.quote == 0 {
                b'"'
            } else {
                options.quote
            })
            .escape(options.escape.filter(|&e| e != options.quote))
            .double_quote(true)
            .from_reader(chunk);
        let columns = self.file_schema.fields().len();
        let decoded_columns: Vec<usize> = self
            .decoded
            .iter()
            .copied()
            .filter(|&c| c < columns)
            .collect();
        let mut texts: Vec<StringBuilder> = decoded_columns
            .iter()
            .map(|_| StringBuilder::new())
            .collect();
        let mut raw: Vec<String> = Vec::new();
        let mut bad: Vec<bool> = Vec::new();
        let mut first_bad: Option<(usize, String)> = None;
        let mut record = csv::ByteRecord::new();
        loop {
            let start = reader.position().byte() as usize;
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return Err(EmberError::DataSource(format!(
                        "Cannot read CSV file {}: {e}",
                        self.path.display()
                    )))
                }
            }
            let end = (reader.position().byte() as usize).min(chunk.len());
            let fields_ok = record.len() == columns
                || (self.trailing_position.is_some()
                    && record.len() == columns + 1
                    && record.get(columns).is_some_and(<[u8]>::is_empty));
            for (builder, &column) in texts.iter_mut().zip(&decoded_columns) {
                let text = record
                    .get(column)
                    .map(String::from_utf8_lossy)
                    .filter(|t| !t.is_empty() && *t != options.null_value.as_str());
                builder.append_option(text);
            }
            let line = String::from_utf8_lossy(&chunk[start.min(end)..end]);
            raw.push(line.trim_end_matches(['\n', '\r']).to_string());
            if !fields_ok && first_bad.is_none() {
                let reason = format!("expected {columns} fields but found {}", record.len());
                first_bad = Some((bad.len(), reason));
            }
            bad.push(!fields_ok);
        }
        let rows = bad.len();
        self.records_read += rows as u64;
        let mut parsed: Vec<ArrayRef> = Vec::with_capacity(decoded_columns.len());
        for (builder, &column) in texts.iter_mut().zip(&decoded_columns) {
            let strings = builder.finish();
            let values = match self.conversions.get(column).cloned().flatten() {
                Some(conversion) => in_zone(
                    parse_pattern(&strings, &conversion),
                    self.file_schema.field(column).data_type(),
                )?,
                None => {
                    let target = self.read_schema.field(column).data_type();
                    let cast_options = arrow::compute::CastOptions {
                        safe: true,
                        ..Default::default()
                    };
                    arrow::compute::cast_with_options(&strings, target, &cast_options)?
                }
            };
            for (row, flag) in bad.iter_mut().enumerate() {
                if strings.is_valid(row) && values.is_null(row) {
                    *flag = true;
                    if first_bad.as_ref().is_none_or(|(first, _)| row < *first) {
                        let field = self.file_schema.field(column);
                        let reason = match self.conversions.get(column).cloned().flatten() {
                            Some(Conversion::Date(p) | Conversion::Timestamp(p)) => format!(
                                "cannot parse '{}' with the pattern '{p}' for column `{}`",
                                strings.value(row),
                                field.name()
                            ),
                            None => format!(
                                "cannot parse '{}' as {} for column `{}`",
                                strings.value(row),
                                field.data_type(),
                                field.name()
                            ),
                        };
                        first_bad = Some((row, reason));
                    }
                }
            }
            parsed.push(values);
        }
        let keep: Option<BooleanArray> = match self.options.mode {
            ParseMode::DropMalformed => Some(bad.iter().map(|b| Some(!b)).collect()),
            _ => None,
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.outputs.len());
        for output in &self.outputs {
            let array: ArrayRef = match *output {
                OutputColumn::Corrupt => Arc::new(StringArray::from_iter(
                    raw.iter()
                        .zip(&bad)
                        .map(|(line, bad)| bad.then_some(line.as_str())),
                )),
                OutputColumn::File { column, .. } => {
                    let index = decoded_columns.partition_point(|c| *c < column);
                    parsed.get(index).cloned().ok_or_else(|| {
                        EmberError::internal(format!("CSV column {column} was not parsed"))
                    })?
                }
            };
            arrays.push(match &keep {
                Some(keep) => arrow::compute::filter(&array, keep)?,
                None => array,
            });
        }
        let rows = keep.map_or(rows, |k| k.true_count());
        Ok((self.build(arrays, rows)?, first_bad))
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
            let name = self.file_schema.field(column).name();
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
                in_zone(
                    Arc::new(TimestampMicrosecondArray::from(values)),
                    self.file_schema.field(column).data_type(),
                )
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

    /// Rewrites Arrow's decoder errors, whose line numbers count from the chunk's start.
    fn decode_error(&self, error: ArrowError) -> EmberError {
        // The decoder counts records from its creation.
        let first_record = self.decoder_base;
        let message = error.to_string();
        let columns = self.file_schema.fields().len();
        if let Some(c) = capture(
            r"incorrect number of fields for line (\d+), expected \d+ got (more than )?(\d+)",
            &message,
        ) {
            let record = first_record + number(&c, 1).saturating_sub(1);
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
                first_record + number(&c, 4),
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
                first_record + number(&c, 2),
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
            .and_then(|i| self.file_schema.fields().get(i))
            .map_or_else(|| format!("#{index}"), |f| f.name().clone())
    }
}

/// Wall-clock times parsed in a custom pattern, as the column's type: for a `TIMESTAMP`
/// (LTZ) column, the instants at which the clock reads so in the column's zone.
fn in_zone(parsed: ArrayRef, column_type: &DataType) -> Result<ArrayRef> {
    if parsed.data_type() == column_type {
        return Ok(parsed);
    }
    Ok(arrow::compute::cast(&parsed, column_type)?)
}

/// A text column parsed in a custom date or timestamp pattern; a value that does not parse is
/// NULL.
fn parse_pattern(strings: &StringArray, conversion: &Conversion) -> ArrayRef {
    match conversion {
        Conversion::Date(format) => {
            Arc::new(Date32Array::from_iter(strings.iter().map(|v| {
                v.and_then(|text| Date32Type::parse_formatted(text, format))
            })))
        }
        Conversion::Timestamp(format) => Arc::new(TimestampMicrosecondArray::from_iter(
            strings.iter().map(|v| {
                v.and_then(|text| NaiveDateTime::parse_from_str(text, format).ok())
                    .map(|t| t.and_utc().timestamp_micros())
            }),
        )),
    }
}

/// Whether a line has an odd number of (unescaped) quote characters, i.e. opens or closes a
/// quoted field that spans lines.
fn odd_quotes(line: &[u8], quote: u8, escape: Option<u8>) -> bool {
    if quote == 0 {
        return false;
    }
    match escape.filter(|&e| e != quote && line.contains(&e)) {
        None => line.iter().filter(|&&b| b == quote).count() % 2 == 1,
        Some(escape) => {
            let mut odd = false;
            let mut escaped = false;
            for &b in line {
                if escaped {
                    escaped = false;
                } else if b == escape {
                    escaped = true;
                } else if b == quote {
                    odd = !odd;
                }
            }
            odd
        }
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
