//! Parquet tables: schema from the footers, one split per group of row groups, projected reads.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use ember_common::{EmberError, Result};
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use std::collections::VecDeque;
use std::path::PathBuf;

use arrow::error::ArrowError;

use crate::prune::ColumnStats;
use crate::store::s3::ObjectChunks;
use crate::table::Unit;
use arrow::array::Array;
use datafusion_common::ScalarValue;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;

use crate::store::{open_local, FileEntry, Store};
use crate::table::{Split, SplitKind};
use crate::BatchIter;

/// One Parquet file with its decoded footer, kept so reads do not parse it again.
#[derive(Debug, Clone)]
pub(crate) struct ParquetFile {
    pub entry: FileEntry,
    pub metadata: ArrowReaderMetadata,
}

impl ParquetFile {
    /// Reads a file's footer: from the local file, or with one ranged GET of the object's tail.
    pub fn open(store: &Store, entry: FileEntry) -> Result<ParquetFile> {
        let metadata = match store {
            Store::Local => {
                let file = open_local(&entry.path, 0)?;
                ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
            }
            Store::S3(s3) => {
                let chunks = s3.chunk_reader(&entry.path, entry.size)?;
                ArrowReaderMetadata::load(&chunks, ArrowReaderOptions::new())
            }
        }
        .map_err(|e| read_error(&entry.path, e))?;
        Ok(ParquetFile { entry, metadata })
    }

    pub fn num_rows(&self) -> u64 {
        let rows = self.metadata.metadata().file_metadata().num_rows();
        u64::try_from(rows).unwrap_or(0)
    }
}

fn read_error(path: &Path, error: impl std::fmt::Display) -> EmberError {
    EmberError::DataSource(format!(
        "Cannot read Parquet file {}: {error}",
        path.display()
    ))
}

/// The table schema and, for each table column, the root column of every file that holds it.
pub(crate) struct ParquetLayout {
    pub schema: SchemaRef,
    pub column_map: Vec<Vec<usize>>,
}

/// Settles the table schema: the first file's, which every other file must match (names and
/// types; a column is nullable if it is in any file), or the user's, found by name in each file.
pub(crate) fn layout(
    files: &[ParquetFile],
    user_schema: Option<SchemaRef>,
) -> Result<ParquetLayout> {
    let Some(first) = files.first() else {
        return match user_schema {
            Some(schema) => Ok(ParquetLayout {
                schema,
                column_map: Vec::new(),
            }),
            None => Err(EmberError::DataSource(
                "Unable to infer the schema of a Parquet table without data files; \
                 give the columns explicitly (CREATE TABLE t (a INT, ...) USING parquet)"
                    .to_string(),
            )),
        };
    };
    if let Some(schema) = user_schema {
        let column_map = files
            .iter()
            .map(|file| map_user_schema(&schema, file))
            .collect::<Result<_>>()?;
        return Ok(ParquetLayout { schema, column_map });
    }
    let first_schema = first.metadata.schema().clone();
    let mut nullable: Vec<bool> = first_schema
        .fields()
        .iter()
        .map(|f| f.is_nullable())
        .collect();
    for file in &files[1..] {
        let schema = file.metadata.schema();
        check_same_schema(first, &first_schema, file, schema)?;
        for (seen, field) in nullable.iter_mut().zip(schema.fields()) {
            *seen |= field.is_nullable();
        }
    }
    let fields: Vec<Field> = first_schema
        .fields()
        .iter()
        .zip(nullable)
        .map(|(field, nullable)| Field::new(field.name(), field.data_type().clone(), nullable))
        .collect();
    let identity: Vec<usize> = (0..fields.len()).collect();
    Ok(ParquetLayout {
        schema: Arc::new(Schema::new(fields)),
        column_map: vec![identity; files.len()],
    })
}

fn check_same_schema(
    first: &ParquetFile,
    first_schema: &Schema,
    other: &ParquetFile,
    other_schema: &Schema,
) -> Result<()> {
    let mismatch = |detail: String| {
        EmberError::DataSource(format!(
            "Parquet files have different schemas: {} and {} {detail}",
            first.entry.path.display(),
            other.entry.path.display()
        ))
    };
    for (index, field) in first_schema.fields().iter().enumerate() {
        match other_schema.fields().get(index) {
            None => {
                return Err(mismatch(format!(
                    "(column `{}` is missing from the second)",
                    field.name()
                )))
            }
            Some(other_field) if other_field.name() != field.name() => {
                return Err(mismatch(format!(
                    "(column {index} is `{}` in the first and `{}` in the second)",
                    field.name(),
                    other_field.name()
                )))
            }
            Some(other_field) if other_field.data_type() != field.data_type() => {
                return Err(mismatch(format!(
                    "(column `{}` is {} in the first and {} in the second)",
                    field.name(),
                    field.data_type(),
                    other_field.data_type()
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = other_schema.fields().get(first_schema.fields().len()) {
        return Err(mismatch(format!(
            "(column `{}` is only in the second)",
            extra.name()
        )));
    }
    Ok(())
}

/// Finds each user column in a file by name (case-insensitively, as Spark does by default).
fn map_user_schema(user: &Schema, file: &ParquetFile) -> Result<Vec<usize>> {
    let file_schema = file.metadata.schema();
    user.fields()
        .iter()
        .map(|field| {
            let found = file_schema
                .fields()
                .iter()
                .position(|f| f.name() == field.name())
                .or_else(|| {
                    file_schema
                        .fields()
                        .iter()
                        .position(|f| f.name().eq_ignore_ascii_case(field.name()))
                });
            let Some(index) = found else {
                let names: Vec<&str> = file_schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                return Err(EmberError::DataSource(format!(
                    "Column `{}` of the table schema is not in Parquet file {}; it has columns: {}",
                    field.name(),
                    file.entry.path.display(),
                    names.join(", ")
                )));
            };
            let file_type = file_schema.field(index).data_type();
            if file_type != field.data_type() {
                return Err(EmberError::DataSource(format!(
                    "Column `{}` is {} in the table schema but {file_type} in Parquet file {}",
                    field.name(),
                    field.data_type(),
                    file.entry.path.display()
                )));
            }
            Ok(index)
        })
        .collect()
}

/// One split per run of consecutive row groups of a file whose compressed size stays within
/// `max_split_bytes` (a larger row group is a split of its own).
pub(crate) fn splits(files: &[ParquetFile], max_split_bytes: usize) -> Vec<(usize, Split)> {
    let max = max_split_bytes.max(1) as u64;
    let mut splits = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        let mut current: Vec<usize> = Vec::new();
        let mut current_bytes = 0u64;
        for (index, row_group) in file.metadata.metadata().row_groups().iter().enumerate() {
            let bytes = u64::try_from(row_group.compressed_size()).unwrap_or(0);
            if !current.is_empty() && current_bytes + bytes > max {
                splits.push((
                    file_index,
                    Split {
                        path: file.entry.path.clone(),
                        kind: SplitKind::ParquetRowGroups(std::mem::take(&mut current)),
                    },
                ));
                current_bytes = 0;
            }
            current.push(index);
            current_bytes += bytes;
        }
        if !current.is_empty() {
            splits.push((
                file_index,
                Split {
                    path: file.entry.path.clone(),
                    kind: SplitKind::ParquetRowGroups(current),
                },
            ));
        }
    }
    splits
}

/// Reads the given row groups of a file, returning the table columns `projection` (indices into
/// the table schema) in that order, under `output_schema`.
pub(crate) fn read(
    store: &Store,
    file: &ParquetFile,
    column_map: &[usize],
    row_groups: Vec<usize>,
    projection: &[usize],
    output_schema: SchemaRef,
    batch_size: usize,
) -> Result<BatchIter> {
    let file_columns: Vec<usize> = projection
        .iter()
        .map(|&column| {
            column_map.get(column).copied().ok_or_else(|| {
                EmberError::internal(format!("projected column {column} is not in the table"))
            })
        })
        .collect::<Result<_>>()?;
    // The reader returns the selected root columns in file order; put them in projection order.
    let mut roots = file_columns.clone();
    roots.sort_unstable();
    roots.dedup();
    let positions: Vec<usize> = file_columns
        .iter()
        .map(|column| roots.partition_point(|root| root < column))
        .collect();
    let path = file.entry.path.clone();
    let reader: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send> =
        match store {
            Store::Local => {
                let input = open_local(&path, 0)?;
                let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
                    input,
                    file.metadata.clone(),
                );
                let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
                Box::new(
                    builder
                        .with_projection(mask)
                        .with_row_groups(row_groups)
                        .with_batch_size(batch_size.max(1))
                        .build()
                        .map_err(|e| read_error(&path, e))?,
                )
            }
            Store::S3(s3) => {
                let chunks = s3.chunk_reader(&path, file.entry.size)?;
                Box::new(ObjectRowGroups {
                    chunks,
                    metadata: file.metadata.clone(),
                    roots: roots.clone(),
                    remaining: row_groups.into(),
                    current: None,
                    batch_size: batch_size.max(1),
                    path: path.clone(),
                })
            }
        };
    Ok(Box::new(reader.map(move |batch| {
        let batch = batch.map_err(|e| read_error(&path, e))?;
        let columns = positions.iter().map(|&p| batch.column(p).clone()).collect();
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(output_schema.clone(), columns, &options)
            .map_err(|e| read_error(&path, e))
    })))
}

/// Reads the row groups of an object one at a time: each row group's projected column chunks
/// are fetched first (ranged GETs, coalesced), then decoded from memory, so a task holds one
/// row group's columns at a time and never issues a request per page.
struct ObjectRowGroups {
    chunks: ObjectChunks,
    metadata: ArrowReaderMetadata,
    roots: Vec<usize>,
    remaining: VecDeque<usize>,
    current: Option<ParquetRecordBatchReader>,
    batch_size: usize,
    path: PathBuf,
}

impl ObjectRowGroups {
    fn open_next(&mut self) -> Result<Option<ParquetRecordBatchReader>> {
        let Some(row_group) = self.remaining.pop_front() else {
            return Ok(None);
        };
        let metadata = self.metadata.metadata();
        let schema = metadata.file_metadata().schema_descr();
        let group = metadata.row_group(row_group);
        let ranges: Vec<std::ops::Range<u64>> = (0..group.num_columns())
            .filter(|&leaf| self.roots.contains(&schema.get_column_root_idx(leaf)))
            .map(|leaf| {
                let (start, length) = group.column(leaf).byte_range();
                start..start + length
            })
            .collect();
        let chunks = self.chunks.prefetch(ranges)?;
        let builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(chunks, self.metadata.clone());
        let mask = ProjectionMask::roots(builder.parquet_schema(), self.roots.iter().copied());
        builder
            .with_projection(mask)
            .with_row_groups(vec![row_group])
            .with_batch_size(self.batch_size)
            .build()
            .map(Some)
            .map_err(|e| read_error(&self.path, e))
    }
}

impl Iterator for ObjectRowGroups {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(reader) = self.current.as_mut() {
                match reader.next() {
                    Some(batch) => return Some(batch),
                    None => self.current = None,
                }
            }
            match self.open_next() {
                Ok(Some(reader)) => self.current = Some(reader),
                Ok(None) => return None,
                Err(e) => {
                    self.remaining.clear();
                    return Some(Err(ArrowError::ExternalError(Box::new(e))));
                }
            }
        }
    }
}

/// Per row group of `file`, the bounds and NULL counts of the `referenced` data columns (table
/// column indices) from the footer's statistics, with the file's partition values after the
/// `data_schema` columns. A column without statistics is left unknown.
pub(crate) fn row_group_stats(
    file: &ParquetFile,
    column_map: &[usize],
    data_schema: &Schema,
    referenced: &[usize],
    columns: usize,
    partition_values: &[ScalarValue],
) -> Vec<Unit> {
    let metadata = file.metadata.metadata();
    let groups = metadata.row_groups();
    let data_columns = data_schema.fields().len();
    let mut units: Vec<Unit> = (0..groups.len())
        .map(|g| {
            let mut unit = Unit::of_partition(columns, data_columns, partition_values);
            unit.rows = u64::try_from(groups[g].num_rows()).ok();
            unit
        })
        .collect();
    let file_schema = file.metadata.schema();
    let parquet_schema = metadata.file_metadata().schema_descr();
    for &column in referenced {
        let Some(file_field) = column_map
            .get(column)
            .and_then(|&i| file_schema.fields().get(i))
        else {
            continue;
        };
        let Ok(converter) =
            StatisticsConverter::try_new(file_field.name(), file_schema, parquet_schema)
        else {
            continue;
        };
        let (Ok(mins), Ok(maxes)) = (
            converter.row_group_mins(groups.iter()),
            converter.row_group_maxes(groups.iter()),
        ) else {
            continue;
        };
        let nulls = converter.row_group_null_counts(groups.iter()).ok();
        for (g, unit) in units.iter_mut().enumerate() {
            let value = |array: &arrow::array::ArrayRef| {
                ScalarValue::try_from_array(array, g)
                    .ok()
                    .filter(|v| !v.is_null())
            };
            if let Some(stats) = unit.columns.get_mut(column) {
                *stats = ColumnStats {
                    min: value(&mins),
                    max: value(&maxes),
                    null_count: nulls.as_ref().filter(|n| n.is_valid(g)).map(|n| n.value(g)),
                    all_null: false,
                };
            }
        }
    }
    units
}
