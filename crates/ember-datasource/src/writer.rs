//! Writing record batches to Parquet and CSV files (tests, the TPC-H generator).

use std::fs::File;
use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ember_common::{EmberError, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::store::io_error;

/// Rows per Parquet row group unless told otherwise (Parquet's usual 1Mi rows).
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1024 * 1024;

fn write_error(path: &Path, error: impl std::fmt::Display) -> EmberError {
    EmberError::DataSource(format!("Cannot write {}: {error}", path.display()))
}

/// Writes batches (at least one, which gives the schema) to a Snappy-compressed Parquet file
/// with row groups of [`DEFAULT_ROW_GROUP_ROWS`] rows.
pub fn write_parquet(path: &Path, batches: &[RecordBatch]) -> Result<()> {
    let Some(first) = batches.first() else {
        return Err(EmberError::internal(format!(
            "write_parquet({}) needs at least one batch to know the schema; use write_parquet_iter",
            path.display()
        )));
    };
    write_parquet_iter(
        path,
        first.schema(),
        batches.iter().cloned().map(Ok),
        DEFAULT_ROW_GROUP_ROWS,
    )
    .map(|_| ())
}

/// Streams batches of `schema` into a Snappy-compressed Parquet file with row groups of at most
/// `row_group_rows` rows; returns the number of rows written.
pub fn write_parquet_iter(
    path: &Path,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
    row_group_rows: usize,
) -> Result<u64> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .build();
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(properties)).map_err(|e| write_error(path, e))?;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| write_error(path, e))?;
    }
    writer.close().map_err(|e| write_error(path, e))?;
    Ok(rows)
}

/// Writes batches as delimited text, with a header line of column names when `header` is set.
/// Dates are written as `yyyy-MM-dd`, timestamps in ISO-8601, NULL as an empty field.
pub fn write_csv(path: &Path, batches: &[RecordBatch], header: bool, delimiter: u8) -> Result<()> {
    let file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut writer = arrow::csv::WriterBuilder::new()
        .with_header(header)
        .with_delimiter(delimiter)
        .build(file);
    for batch in batches {
        writer.write(batch).map_err(|e| write_error(path, e))?;
    }
    Ok(())
}
