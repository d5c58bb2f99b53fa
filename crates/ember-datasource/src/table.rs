//! `FileTable`: a table over files, its splits, and reading one split.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion_common::ScalarValue;
use ember_common::{EmberConf, EmberError, Result};

use crate::csv::{self, CsvSplitRequest};
use crate::format::FileFormat;
use crate::options::CsvOptions;
use crate::parquet_source::{self, ParquetFile};
use crate::partition;
use crate::prune::{column_index, may_match, ColumnStats, UnitStats};
use crate::store::{FileEntry, S3Settings, Store};
use crate::BatchIter;
use datafusion_expr::Expr;

/// One partition of a scan: a part of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The file this split reads.
    pub path: PathBuf,
    /// Which part of the file.
    pub kind: SplitKind,
}

/// The part of a file a split reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitKind {
    /// These row groups of a Parquet file, in order.
    ParquetRowGroups(Vec<usize>),
    /// The lines of a text file that start in `start..=end` (see the `csv` module docs).
    ByteRange { start: u64, end: u64 },
    /// The whole file.
    WholeFile,
}

impl fmt::Display for Split {
    /// `lineitem.parquet[row groups 0..2]`, `orders.csv[bytes 0..134217728]`, `nation.csv`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        f.write_str(&name)?;
        match &self.kind {
            SplitKind::ParquetRowGroups(groups) => match groups.as_slice() {
                [single] => write!(f, "[row group {single}]"),
                [first, .., last] if last - first + 1 == groups.len() => {
                    write!(f, "[row groups {first}..{}]", last + 1)
                }
                _ => {
                    let list: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
                    write!(f, "[row groups {}]", list.join(", "))
                }
            },
            SplitKind::ByteRange { start, end } => write!(f, "[bytes {start}..{end}]"),
            SplitKind::WholeFile => Ok(()),
        }
    }
}

/// One data file of a [`FileTableParts`].
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    /// Where the file is.
    pub path: PathBuf,
    /// Its size in bytes when the table was listed.
    pub size: u64,
    /// The values of the table's partition columns for this file (from its `key=value`
    /// folders), in schema order; empty for an unpartitioned table.
    pub partition_values: Vec<ScalarValue>,
}

/// How a [`FileTableParts`]' files are read: per format, what listing and schema resolution
/// settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatParts {
    /// Parquet: per file, the file column of each table column.
    Parquet { column_map: Vec<Vec<usize>> },
    /// CSV: the parsed read options.
    Csv { options: CsvOptions },
}

/// A [`FileTable`] as plain data ([`FileTable::to_parts`], [`FileTable::from_parts`]): what
/// listing the location and settling the schema found, so that an executor reads the same
/// splits without listing again.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTableParts {
    /// The location the table was created with.
    pub location: String,
    /// The table schema: the data columns, then the partition columns.
    pub schema: SchemaRef,
    /// How many trailing columns of `schema` are partition columns.
    pub partition_columns: usize,
    /// The data files, sorted by path.
    pub files: Vec<DataFile>,
    /// The splits in order, each with the index of its file in `files`.
    pub splits: Vec<(usize, Split)>,
    /// The format and what reading it needs.
    pub format: FormatParts,
    /// See [`FileTable::estimated_rows`].
    pub estimated_rows: Option<u64>,
    /// How to reach the bucket of an `s3://` table (credentials included); `None` for local
    /// files.
    pub s3: Option<S3Settings>,
}

/// How the table's files are read.
#[derive(Debug, Clone)]
enum Source {
    Parquet {
        /// Per file, its decoded footer; `None` for a table put back together with
        /// [`FileTable::from_parts`], whose reads load the footer of their split's file.
        files: Vec<Option<ParquetFile>>,
        /// Per file, the file column of each table column.
        column_map: Vec<Vec<usize>>,
    },
    Csv {
        options: CsvOptions,
    },
}

/// A table over files: one file, a directory (every file in it that is not hidden or
/// underscore-prefixed, recursively), or a glob (`/data/*.parquet`).
///
/// The files are listed and their schema settled once, in [`FileTable::try_new`]; splits are
/// deterministic (files sorted by path).
#[derive(Debug, Clone)]
pub struct FileTable {
    location: String,
    format: FileFormat,
    store: Store,
    /// The data columns, then the partition columns.
    schema: SchemaRef,
    /// The columns stored in the files.
    data_schema: SchemaRef,
    files: Vec<FileEntry>,
    /// Per file, the values of the partition columns (empty without partitions).
    partition_values: Vec<Vec<ScalarValue>>,
    splits: Vec<Split>,
    /// For each split, the index of its file in `files`.
    split_files: Vec<usize>,
    source: Source,
    estimated_rows: Option<u64>,
    /// What [`FileTable::prune`] skipped, if anything.
    pruned: Option<PruneSummary>,
    /// The options the table was created with (empty on executors).
    options: BTreeMap<String, String>,
}

/// What pruning a scan by its filters skipped, for EXPLAIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneSummary {
    pub files_total: usize,
    pub files_read: usize,
    pub row_groups_total: usize,
    pub row_groups_read: usize,
}

impl fmt::Display for PruneSummary {
    /// `files read 2 of 6, row groups read 2 of 6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "files read {} of {}", self.files_read, self.files_total)?;
        if self.row_groups_total > 0 {
            write!(
                f,
                ", row groups read {} of {}",
                self.row_groups_read, self.row_groups_total
            )?;
        }
        Ok(())
    }
}

impl FileTable {
    /// Lists `location` and settles the schema: `user_schema` when given, else the Parquet
    /// footers or CSV inference (see [`CsvOptions`]). `max_split_bytes` bounds a split's size.
    pub fn try_new(
        location: &str,
        format: FileFormat,
        options: &BTreeMap<String, String>,
        user_schema: Option<SchemaRef>,
        max_split_bytes: usize,
    ) -> Result<FileTable> {
        Self::try_new_for_parallelism(location, format, options, user_schema, max_split_bytes, 1)
    }

    /// Like [`FileTable::try_new`], sizing splits as Spark does so that `parallelism` cores
    /// all get work: at most `max_partition_bytes`, at least 4 MB (Spark's
    /// `openCostInBytes`), otherwise the data's total size divided by `parallelism`.
    pub fn try_new_for_parallelism(
        location: &str,
        format: FileFormat,
        options: &BTreeMap<String, String>,
        user_schema: Option<SchemaRef>,
        max_partition_bytes: usize,
        parallelism: usize,
    ) -> Result<FileTable> {
        let (store, path) = Store::for_location(location, &EmberConf::new())?;
        Self::list_and_settle(
            store,
            &path,
            location,
            format,
            options,
            user_schema,
            max_partition_bytes,
            parallelism,
        )
    }

    /// A table as a session creates it: S3 settings from `conf` (`ember.s3.*`) and the
    /// environment, splits sized by `ember.sql.files.maxPartitionBytes` and
    /// `ember.default.parallelism`.
    pub fn open(
        location: &str,
        format: FileFormat,
        options: &BTreeMap<String, String>,
        user_schema: Option<SchemaRef>,
        conf: &EmberConf,
    ) -> Result<FileTable> {
        let (store, path) = Store::for_location(location, conf)?;
        let max_partition_bytes = conf.get_usize("ember.sql.files.maxPartitionBytes").max(1);
        let parallelism = conf.get_usize("ember.default.parallelism");
        Self::list_and_settle(
            store,
            &path,
            location,
            format,
            options,
            user_schema,
            max_partition_bytes,
            parallelism,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn list_and_settle(
        store: Store,
        path: &str,
        location: &str,
        format: FileFormat,
        options: &BTreeMap<String, String>,
        user_schema: Option<SchemaRef>,
        max_partition_bytes: usize,
        parallelism: usize,
    ) -> Result<FileTable> {
        let files = store.list(path)?;
        let partitions = partition::discover(path, &files, user_schema.as_deref())?;
        // Declared partition columns are not in the files.
        let user_schema = match (&partitions, user_schema) {
            (Some(found), Some(schema)) => {
                let fields: Vec<Field> = schema
                    .fields()
                    .iter()
                    .filter(|f| {
                        !found
                            .fields
                            .iter()
                            .any(|p| p.name().eq_ignore_ascii_case(f.name()))
                    })
                    .map(|f| f.as_ref().clone())
                    .collect();
                Some(Arc::new(Schema::new(fields)))
            }
            (_, schema) => schema,
        };
        let total: u64 = files.iter().map(|f| f.size).sum();
        let max_split_bytes = spark_max_split_bytes(max_partition_bytes, total, parallelism);
        if files.is_empty() && user_schema.is_none() {
            return Err(EmberError::DataSource(format!(
                "Unable to infer the schema of {format} data at {location}: it has no data files; \
                 give the columns explicitly (CREATE TABLE t (a INT, ...) USING {format})"
            )));
        }
        let (schema, source, splits, estimated_rows) = match format {
            FileFormat::Parquet => {
                let parquet_files = files
                    .iter()
                    .map(|entry| ParquetFile::open(&store, entry.clone()))
                    .collect::<Result<Vec<_>>>()?;
                let layout = parquet_source::layout(&parquet_files, user_schema)?;
                let splits = parquet_source::splits(&parquet_files, max_split_bytes);
                let rows = parquet_files.iter().map(ParquetFile::num_rows).sum();
                let source = Source::Parquet {
                    files: parquet_files.into_iter().map(Some).collect(),
                    column_map: layout.column_map,
                };
                (layout.schema, source, splits, Some(rows))
            }
            FileFormat::Csv => {
                let options = CsvOptions::from_options(options)?;
                let schema = match user_schema {
                    Some(schema) => schema,
                    None => csv::infer_schema(&store, location, &files, &options)?,
                };
                let splits = csv::splits(&files, max_split_bytes, &options);
                let rows = csv::estimate_rows(&store, &files, &options)?;
                (schema, Source::Csv { options }, splits, rows)
            }
        };
        let (split_files, splits): (Vec<usize>, Vec<Split>) = splits.into_iter().unzip();
        log::debug!(
            "{format} table at {location}: {} files, {} splits",
            files.len(),
            splits.len()
        );
        let data_schema = schema;
        let (schema, partition_values) = match partitions {
            None => (Arc::clone(&data_schema), vec![Vec::new(); files.len()]),
            Some(found) => {
                // A column both in the files and in the folders is read from the files.
                let keep: Vec<usize> = (0..found.fields.len())
                    .filter(|&i| {
                        let name = found.fields[i].name();
                        !data_schema
                            .fields()
                            .iter()
                            .any(|f| f.name().eq_ignore_ascii_case(name))
                    })
                    .collect();
                let mut fields: Vec<Field> = data_schema
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone())
                    .collect();
                fields.extend(keep.iter().map(|&i| found.fields[i].clone()));
                let values = found
                    .values
                    .into_iter()
                    .map(|file| keep.iter().map(|&i| file[i].clone()).collect())
                    .collect();
                (Arc::new(Schema::new(fields)), values)
            }
        };
        Ok(FileTable {
            location: location.to_string(),
            format,
            store,
            schema,
            data_schema,
            files,
            partition_values,
            splits,
            split_files,
            source,
            estimated_rows,
            pruned: None,
            options: options.clone(),
        })
    }

    /// The location the table was created with.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The format of the table's files.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The `OPTIONS (...)` the table was created with.
    pub fn options(&self) -> &BTreeMap<String, String> {
        &self.options
    }

    /// The table schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The scan partitions, in a deterministic order.
    pub fn splits(&self) -> &[Split] {
        &self.splits
    }

    /// Exact for Parquet (footer row counts), estimated from sizes and line length for CSV.
    pub fn estimated_rows(&self) -> Option<u64> {
        self.estimated_rows
    }

    /// The size of all data files in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// How many data files the table has.
    pub fn num_files(&self) -> usize {
        self.files.len()
    }

    /// How many trailing columns of the schema come from `key=value` partition folders.
    pub fn partition_columns(&self) -> usize {
        self.schema.fields().len() - self.data_schema.fields().len()
    }

    /// What [`FileTable::prune`] skipped; `None` for a table that was not pruned.
    pub fn pruned(&self) -> Option<PruneSummary> {
        self.pruned
    }

    /// This table without the splits that cannot hold a row every one of `filters` (over the
    /// table schema) accepts: files whose partition values rule it out, and Parquet row groups
    /// whose statistics do. `None` when nothing can be skipped. The filters must still be
    /// applied to what is read.
    pub fn prune(&self, filters: &[Expr]) -> Result<Option<FileTable>> {
        if filters.is_empty() || self.splits.is_empty() {
            return Ok(None);
        }
        let data_columns = self.data_schema.fields().len();
        let mut referenced: Vec<usize> = Vec::new();
        for filter in filters {
            for column in filter.column_refs() {
                if let Some(index) = column_index(&self.schema, &column.name) {
                    referenced.push(index);
                }
            }
        }
        referenced.sort_unstable();
        referenced.dedup();
        if referenced.is_empty() {
            return Ok(None);
        }
        let files_ok: Vec<bool> = self
            .partition_values
            .iter()
            .map(|values| {
                let stats = Unit::of_partition(self.schema.fields().len(), data_columns, values);
                filters.iter().all(|f| may_match(f, &self.schema, &stats))
            })
            .collect();
        let data_referenced: Vec<usize> = referenced
            .iter()
            .copied()
            .filter(|&c| c < data_columns)
            .collect();
        let mut row_group_stats: BTreeMap<usize, Vec<Unit>> = BTreeMap::new();
        let (mut row_groups_total, mut row_groups_read) = (0, 0);
        let mut splits = Vec::with_capacity(self.splits.len());
        let mut split_files = Vec::with_capacity(self.splits.len());
        for (split, &file) in self.splits.iter().zip(&self.split_files) {
            let keep = match &split.kind {
                SplitKind::ParquetRowGroups(groups) => {
                    row_groups_total += groups.len();
                    if !files_ok[file] {
                        continue;
                    }
                    let stats = match (&self.source, data_referenced.is_empty()) {
                        (Source::Parquet { files, column_map }, false) => {
                            match (
                                files.get(file).and_then(Option::as_ref),
                                column_map.get(file),
                            ) {
                                (Some(footer), Some(columns)) => {
                                    Some(&*row_group_stats.entry(file).or_insert_with(|| {
                                        parquet_source::row_group_stats(
                                            footer,
                                            columns,
                                            &self.data_schema,
                                            &data_referenced,
                                            self.schema.fields().len(),
                                            &self.partition_values[file],
                                        )
                                    }))
                                }
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    let kept: Vec<usize> = groups
                        .iter()
                        .copied()
                        .filter(|&g| {
                            stats.and_then(|s| s.get(g)).is_none_or(|unit| {
                                filters.iter().all(|f| may_match(f, &self.schema, unit))
                            })
                        })
                        .collect();
                    row_groups_read += kept.len();
                    (!kept.is_empty()).then(|| Split {
                        path: split.path.clone(),
                        kind: SplitKind::ParquetRowGroups(kept),
                    })
                }
                _ => files_ok[file].then(|| split.clone()),
            };
            if let Some(kept) = keep {
                splits.push(kept);
                split_files.push(file);
            }
        }
        let distinct = |files: &[usize]| {
            files
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        let summary = PruneSummary {
            files_total: distinct(&self.split_files),
            files_read: distinct(&split_files),
            row_groups_total,
            row_groups_read,
        };
        if summary.files_read == summary.files_total && row_groups_read == row_groups_total {
            return Ok(None);
        }
        log::debug!("pruned the scan of {}: {summary}", self.location);
        Ok(Some(FileTable {
            splits,
            split_files,
            pruned: Some(summary),
            ..self.clone()
        }))
    }

    /// The table taken apart into plain data (for shipping a scan to an executor):
    /// [`FileTable::from_parts`] puts it back together without listing the files again.
    pub fn to_parts(&self) -> FileTableParts {
        let format = match &self.source {
            Source::Parquet { column_map, .. } => FormatParts::Parquet {
                column_map: column_map.clone(),
            },
            Source::Csv { options } => FormatParts::Csv {
                options: options.clone(),
            },
        };
        FileTableParts {
            location: self.location.clone(),
            schema: self.schema.clone(),
            partition_columns: self.partition_columns(),
            files: self
                .files
                .iter()
                .zip(&self.partition_values)
                .map(|(f, values)| DataFile {
                    path: f.path.clone(),
                    size: f.size,
                    partition_values: values.clone(),
                })
                .collect(),
            splits: self
                .splits
                .iter()
                .cloned()
                .zip(self.split_files.iter().copied())
                .map(|(split, file)| (file, split))
                .collect(),
            format,
            estimated_rows: self.estimated_rows,
            s3: self.store.settings().cloned(),
        }
    }

    /// A table from [`FileTable::to_parts`]: no listing, no schema inference and no footer
    /// reads here (a Parquet read loads its file's footer when the split is first pulled).
    /// Fails when the parts do not fit together (a split naming a file that is not in
    /// `files`, a column map of another length than `files`).
    pub fn from_parts(parts: FileTableParts) -> Result<FileTable> {
        let store = Store::with_settings(&parts.location, parts.s3.as_ref())?;
        let data_columns = parts
            .schema
            .fields()
            .len()
            .checked_sub(parts.partition_columns)
            .ok_or_else(|| {
                EmberError::internal(format!(
                    "table {} has {} partition columns but only {} columns",
                    parts.location,
                    parts.partition_columns,
                    parts.schema.fields().len()
                ))
            })?;
        if let Some(file) = parts
            .files
            .iter()
            .find(|f| f.partition_values.len() != parts.partition_columns)
        {
            return Err(EmberError::internal(format!(
                "file {} of table {} has {} partition values for {} partition columns",
                file.path.display(),
                parts.location,
                file.partition_values.len(),
                parts.partition_columns
            )));
        }
        let data_schema = Arc::new(
            parts
                .schema
                .project(&(0..data_columns).collect::<Vec<_>>())?,
        );
        let (files, partition_values): (Vec<FileEntry>, Vec<Vec<ScalarValue>>) = parts
            .files
            .into_iter()
            .map(|f| {
                (
                    FileEntry {
                        path: f.path,
                        size: f.size,
                    },
                    f.partition_values,
                )
            })
            .unzip();
        if let Some((file, split)) = parts.splits.iter().find(|(file, _)| *file >= files.len()) {
            return Err(EmberError::internal(format!(
                "split {split} of {} names file {file}, but the table has {} files",
                parts.location,
                files.len()
            )));
        }
        let (format, source) = match parts.format {
            FormatParts::Parquet { column_map } => {
                if column_map.len() != files.len() {
                    return Err(EmberError::internal(format!(
                        "Parquet table {} has {} files but a column map for {}",
                        parts.location,
                        files.len(),
                        column_map.len()
                    )));
                }
                let source = Source::Parquet {
                    files: vec![None; files.len()],
                    column_map,
                };
                (FileFormat::Parquet, source)
            }
            FormatParts::Csv { options } => (FileFormat::Csv, Source::Csv { options }),
        };
        let (split_files, splits): (Vec<usize>, Vec<Split>) = parts.splits.into_iter().unzip();
        Ok(FileTable {
            location: parts.location,
            format,
            store,
            schema: parts.schema,
            data_schema,
            files,
            partition_values,
            splits,
            split_files,
            source,
            estimated_rows: parts.estimated_rows,
            pruned: None,
            options: BTreeMap::new(),
        })
    }

    /// Reads split `split` lazily (nothing is opened before the first `next`). `projection`
    /// holds indices into [`FileTable::schema`]; the batches have the schema
    /// `schema().project(projection)`, or the whole schema without a projection.
    pub fn read_split(
        &self,
        split: usize,
        projection: Option<&[usize]>,
        batch_size: usize,
    ) -> Result<BatchIter> {
        let Some(split_info) = self.splits.get(split).cloned() else {
            return Err(EmberError::internal(format!(
                "split {split} of {} does not exist; it has {} splits",
                self.location,
                self.splits.len()
            )));
        };
        let projection: Vec<usize> = match projection {
            Some(columns) => columns.to_vec(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let output_schema = Arc::new(self.schema.project(&projection).map_err(|e| {
            EmberError::internal(format!(
                "projection {projection:?} does not fit the schema of {}: {e}",
                self.location
            ))
        })?);
        let file_index = self.split_files.get(split).copied().unwrap_or(0);
        let data_columns = self.data_schema.fields().len();
        if projection.iter().all(|&c| c < data_columns) {
            return self.read_data(
                split,
                split_info,
                file_index,
                projection,
                output_schema,
                batch_size,
            );
        }
        // Partition columns are constants of the file, put beside the data columns read.
        let data_projection: Vec<usize> = projection
            .iter()
            .copied()
            .filter(|&c| c < data_columns)
            .collect();
        let data_output = Arc::new(self.data_schema.project(&data_projection)?);
        let values = self
            .partition_values
            .get(file_index)
            .cloned()
            .unwrap_or_default();
        let batches = self.read_data(
            split,
            split_info,
            file_index,
            data_projection,
            data_output,
            batch_size,
        )?;
        Ok(Box::new(batches.map(move |batch| {
            let batch = batch?;
            let rows = batch.num_rows();
            let mut data = batch.columns().iter();
            let columns = projection
                .iter()
                .map(|&column| match column.checked_sub(data_columns) {
                    None => data.next().cloned().ok_or_else(|| {
                        EmberError::internal("a data column is missing from a batch")
                    }),
                    Some(partition) => values
                        .get(partition)
                        .ok_or_else(|| EmberError::internal("a partition value is missing"))?
                        .to_array_of_size(rows)
                        .map_err(EmberError::from),
                })
                .collect::<Result<Vec<_>>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(rows));
            Ok(RecordBatch::try_new_with_options(
                Arc::clone(&output_schema),
                columns,
                &options,
            )?)
        })))
    }

    /// Reads data columns (`projection` below the partition columns) of a split.
    fn read_data(
        &self,
        split: usize,
        split_info: Split,
        file_index: usize,
        projection: Vec<usize>,
        output_schema: SchemaRef,
        batch_size: usize,
    ) -> Result<BatchIter> {
        let store = self.store.clone();
        match (&self.source, split_info.kind) {
            (Source::Parquet { files, column_map }, SplitKind::ParquetRowGroups(groups)) => {
                let footer = files.get(file_index).cloned().ok_or_else(|| {
                    EmberError::internal(format!("no Parquet file for split {split}"))
                })?;
                let entry = self.files.get(file_index).cloned().ok_or_else(|| {
                    EmberError::internal(format!("no Parquet file for split {split}"))
                })?;
                let column_map = column_map.get(file_index).cloned().unwrap_or_default();
                Ok(lazy(move || {
                    let file = match footer {
                        Some(file) => file,
                        None => ParquetFile::open(&store, entry)?,
                    };
                    parquet_source::read(
                        &store,
                        &file,
                        &column_map,
                        groups,
                        &projection,
                        output_schema,
                        batch_size,
                    )
                }))
            }
            (Source::Csv { options }, kind) => {
                let range = match kind {
                    SplitKind::ByteRange { start, end } => Some((start, end)),
                    _ => None,
                };
                let options = options.clone();
                let table_schema = self.data_schema.clone();
                let path = split_info.path;
                Ok(lazy(move || {
                    let reader = csv::read_split(CsvSplitRequest {
                        store,
                        path: &path,
                        range,
                        table_schema: &table_schema,
                        options: &options,
                        projection: &projection,
                        output_schema,
                        batch_size,
                    })?;
                    Ok(Box::new(reader) as BatchIter)
                }))
            }
            (_, kind) => Err(EmberError::internal(format!(
                "split kind {kind:?} does not fit a {} table",
                self.format
            ))),
        }
    }
}

/// The statistics of a file's partition folder or of a row group, per table column.
pub(crate) struct Unit {
    pub columns: Vec<ColumnStats>,
    pub rows: Option<u64>,
}

impl Unit {
    /// A file's partition values as exact bounds; nothing known of the data columns.
    pub fn of_partition(columns: usize, data_columns: usize, values: &[ScalarValue]) -> Unit {
        let mut stats = vec![ColumnStats::default(); columns];
        for (offset, value) in values.iter().enumerate() {
            if let Some(column) = stats.get_mut(data_columns + offset) {
                *column = if value.is_null() {
                    ColumnStats {
                        all_null: true,
                        ..ColumnStats::default()
                    }
                } else {
                    ColumnStats {
                        min: Some(value.clone()),
                        max: Some(value.clone()),
                        null_count: Some(0),
                        all_null: false,
                    }
                };
            }
        }
        Unit {
            columns: stats,
            rows: None,
        }
    }
}

impl UnitStats for Unit {
    fn column(&self, index: usize) -> Option<&ColumnStats> {
        self.columns.get(index)
    }

    fn row_count(&self) -> Option<u64> {
        self.rows
    }
}

/// Defers opening a split to the first `next`, so building a scan does no I/O.
fn lazy(open: impl FnOnce() -> Result<BatchIter> + Send + 'static) -> BatchIter {
    let mut open = Some(open);
    let mut inner: Option<BatchIter> = None;
    Box::new(std::iter::from_fn(move || {
        if let Some(open) = open.take() {
            match open() {
                Ok(iter) => inner = Some(iter),
                Err(e) => return Some(Err(e)),
            }
        }
        inner.as_mut()?.next()
    }))
}

/// Spark's `FilePartition.maxSplitBytes`: `min(maxPartitionBytes, max(openCostInBytes,
/// totalBytes / parallelism))`, with an open cost of 4 MB.
pub fn spark_max_split_bytes(
    max_partition_bytes: usize,
    total_bytes: u64,
    parallelism: usize,
) -> usize {
    const OPEN_COST_BYTES: u64 = 4 << 20;
    let per_core = total_bytes / parallelism.max(1) as u64;
    let size = per_core
        .max(OPEN_COST_BYTES)
        .min(max_partition_bytes.max(1) as u64);
    usize::try_from(size).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_are_sized_for_the_cores_as_in_spark() {
        use super::spark_max_split_bytes as max_split;
        const MB: u64 = 1 << 20;
        // 54 MB over 2 cores: 27 MB splits; tiny data: the 4 MB open cost; huge: 128 MB.
        assert_eq!(max_split(128 << 20, 54 * MB, 2) as u64, 27 * MB);
        assert_eq!(max_split(128 << 20, MB, 8) as u64, 4 * MB);
        assert_eq!(max_split(128 << 20, 10_000 * MB, 2) as u64, 128 * MB);
    }

    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    use arrow::array::{
        Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray,
    };
    use arrow::compute::concat_batches;
    use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, TimeUnit};

    use crate::writer::{write_csv, write_parquet_iter};

    fn tempdir() -> Result<tempfile::TempDir> {
        tempfile::tempdir().map_err(|e| EmberError::io("tempdir", e))
    }

    fn write(path: &Path, text: &str) -> Result<()> {
        std::fs::write(path, text).map_err(|e| EmberError::io(path.display().to_string(), e))
    }

    fn no_options() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every row of every split, in split order, as one batch.
    fn read_all(table: &FileTable, projection: Option<&[usize]>) -> Result<RecordBatch> {
        let schema = match projection {
            Some(p) => Arc::new(table.schema().project(p)?),
            None => table.schema(),
        };
        let mut batches = Vec::new();
        for split in 0..table.splits().len() {
            for batch in table.read_split(split, projection, 3)? {
                let batch = batch?;
                assert_eq!(batch.schema(), schema, "split {split} schema");
                batches.push(batch);
            }
        }
        Ok(concat_batches(&schema, &batches)?)
    }

    fn ids_and_names(rows: usize, offset: i64) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("score", DataType::Int32, true),
        ]));
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..rows as i64).map(|i| i + offset),
        ));
        let names: ArrayRef = Arc::new(StringArray::from_iter(
            (0..rows).map(|i| (i % 3 != 0).then(|| format!("n{i}"))),
        ));
        let scores: ArrayRef = Arc::new(Int32Array::from_iter_values(
            (0..rows as i32).map(|i| i * 10),
        ));
        Ok(RecordBatch::try_new(schema, vec![ids, names, scores])?)
    }

    fn write_ids_parquet(
        path: &Path,
        rows: usize,
        offset: i64,
        row_group_rows: usize,
    ) -> Result<()> {
        let batch = ids_and_names(rows, offset)?;
        write_parquet_iter(path, batch.schema(), [Ok(batch)], row_group_rows)?;
        Ok(())
    }

    #[test]
    fn row_groups_are_pruned_by_their_statistics() -> Result<()> {
        use datafusion_expr::{col, lit};
        let dir = tempdir()?;
        // ids 0..100 in row groups of 10: [0, 9], [10, 19], ...
        write_ids_parquet(&dir.path().join("a.parquet"), 100, 0, 10)?;
        write_ids_parquet(&dir.path().join("b.parquet"), 100, 1000, 10)?;
        let location = dir.path().display().to_string();
        let table =
            FileTable::try_new(&location, FileFormat::Parquet, &no_options(), None, 1 << 20)?;
        let filter = col("id").gt_eq(lit(35i64)).and(col("id").lt(lit(52i64)));
        let pruned = table.prune(std::slice::from_ref(&filter))?.expect("pruned");
        assert_eq!(
            pruned.pruned(),
            Some(PruneSummary {
                files_total: 2,
                files_read: 1,
                row_groups_total: 20,
                row_groups_read: 3
            })
        );
        let rows = read_all(&pruned, Some(&[0]))?;
        let ids = rows.column(0).as_primitive::<Int64Type>();
        assert_eq!((ids.value(0), ids.len()), (30, 30), "row groups 3, 4 and 5");
        // In the parts an executor gets, and back.
        let rebuilt = FileTable::from_parts(pruned.to_parts())?;
        assert_eq!(rebuilt.splits(), pruned.splits());
        // A filter on a column without bounds, or none that rules anything out: no pruning.
        assert!(table.prune(&[col("name").eq(lit("zzz"))])?.is_some());
        assert!(table.prune(&[col("id").gt_eq(lit(0i64))])?.is_none());
        assert!(table
            .prune(&[(col("id") + lit(1i64)).gt(lit(5000i64))])?
            .is_none());
        Ok(())
    }

    #[test]
    fn partition_folders_become_columns_and_prune_files() -> Result<()> {
        use datafusion_expr::{col, lit};
        let dir = tempdir()?;
        for (year, region, ids) in [
            (2023, "EU", "1\n2\n"),
            (2023, "US", "3\n"),
            (2024, "EU", "4\n5\n"),
            (2024, "__HIVE_DEFAULT_PARTITION__", "6\n"),
        ] {
            let folder = dir.path().join(format!("year={year}/region={region}"));
            std::fs::create_dir_all(&folder).map_err(|e| EmberError::io("mkdir", e))?;
            write(&folder.join("part-0.csv"), &format!("id\n{ids}"))?;
        }
        let location = dir.path().display().to_string();
        let opts = options(&[("header", "true"), ("inferSchema", "true")]);
        let table = FileTable::try_new(&location, FileFormat::Csv, &opts, None, 1 << 20)?;
        let schema = table.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, vec!["id", "year", "region"]);
        assert_eq!(table.partition_columns(), 2);
        assert_eq!(table.schema().field(1).data_type(), &DataType::Int32);
        let rows = read_all(&table, Some(&[2, 0, 1]))?;
        assert_eq!(rows.num_rows(), 6);
        let regions = rows.column(0).as_string::<i32>();
        assert_eq!(regions.value(0), "EU");
        assert!(regions.is_null(5));
        assert_eq!(rows.column(2).as_primitive::<Int32Type>().value(5), 2024);
        // Only partition columns: the files still give the row count.
        assert_eq!(read_all(&table, Some(&[1]))?.num_rows(), 6);

        let pruned = table
            .prune(&[col("year").eq(lit(2024i32))])?
            .expect("pruned");
        assert_eq!(
            pruned.pruned().map(|p| (p.files_read, p.files_total)),
            Some((2, 4))
        );
        assert_eq!(read_all(&pruned, None)?.num_rows(), 3);
        let pruned = table
            .prune(&[col("region").is_null().or(col("region").eq(lit("US")))])?
            .expect("pruned");
        assert_eq!(read_all(&pruned, Some(&[0]))?.num_rows(), 2);
        let rebuilt = FileTable::from_parts(pruned.to_parts())?;
        assert_eq!(read_all(&rebuilt, None)?, read_all(&pruned, None)?);
        // Declared columns type the partition columns.
        let schema = Arc::new(Schema::new(vec![
            Field::new("year", DataType::Int64, true),
            Field::new("id", DataType::Int32, true),
        ]));
        let table = FileTable::try_new(&location, FileFormat::Csv, &opts, Some(schema), 1 << 20)?;
        assert_eq!(table.schema().field(0).name(), "id");
        assert_eq!(table.schema().field(1).data_type(), &DataType::Int64);
        Ok(())
    }

    #[test]
    fn parts_rebuild_the_table_without_listing_again() -> Result<()> {
        let dir = tempdir()?;
        write_ids_parquet(&dir.path().join("a.parquet"), 10, 0, 4)?;
        write_ids_parquet(&dir.path().join("b.parquet"), 5, 100, 4)?;
        let location = dir.path().to_string_lossy().to_string();
        let table = FileTable::try_new(&location, FileFormat::Parquet, &no_options(), None, 1)?;
        let expected = read_all(&table, Some(&[2, 0]))?;
        let parts = table.to_parts();
        assert_eq!(parts.files.len(), 2);
        assert_eq!(parts.splits.len(), table.splits().len());
        // A file added after listing is not read by the rebuilt table.
        write_ids_parquet(&dir.path().join("c.parquet"), 7, 200, 4)?;
        let rebuilt = FileTable::from_parts(parts.clone())?;
        assert_eq!(rebuilt.to_parts(), parts);
        assert_eq!(rebuilt.splits(), table.splits());
        assert_eq!(rebuilt.estimated_rows(), Some(15));
        assert_eq!(read_all(&rebuilt, Some(&[2, 0]))?, expected);

        let csv = dir.path().join("t.csv");
        write(&csv, "id;name\n1;x\n2;\n3;z\n")?;
        let csv_location = csv.to_string_lossy().to_string();
        let opts = options(&[("header", "true"), ("sep", ";"), ("inferSchema", "true")]);
        let table = FileTable::try_new(&csv_location, FileFormat::Csv, &opts, None, 4)?;
        let rebuilt = FileTable::from_parts(table.to_parts())?;
        assert_eq!(rebuilt.schema(), table.schema());
        assert_eq!(read_all(&rebuilt, None)?, read_all(&table, None)?);
        assert_eq!(read_all(&rebuilt, None)?.num_rows(), 3);

        let mut broken = table.to_parts();
        broken.splits[0].0 = 9;
        let message = FileTable::from_parts(broken)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(message.contains("names file 9"), "{message}");
        Ok(())
    }

    #[test]
    fn parquet_row_groups_become_splits_and_rows_come_from_metadata() -> Result<()> {
        let dir = tempdir()?;
        write_ids_parquet(&dir.path().join("a.parquet"), 10, 0, 4)?;
        write_ids_parquet(&dir.path().join("b.parquet"), 5, 100, 100)?;
        let location = dir.path().display().to_string();
        let table = FileTable::try_new(&location, FileFormat::Parquet, &no_options(), None, 1)?;
        assert_eq!(table.num_files(), 2);
        assert_eq!(table.estimated_rows(), Some(15));
        // a.parquet has row groups of 4, 4 and 2 rows; a 1-byte split size keeps them apart.
        let shown: Vec<String> = table.splits().iter().map(|s| s.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "a.parquet[row group 0]",
                "a.parquet[row group 1]",
                "a.parquet[row group 2]",
                "b.parquet[row group 0]"
            ]
        );
        assert_eq!(table.schema().field(0).name(), "id");
        assert_eq!(table.schema().field(2).data_type(), &DataType::Int32);
        let rows = read_all(&table, None)?;
        assert_eq!(rows.num_rows(), 15);
        let ids = rows.column(0).as_primitive::<Int64Type>();
        assert_eq!(ids.value(9), 9);
        assert_eq!(ids.value(10), 100);

        // A generous split size groups all row groups of a file into one split.
        let grouped =
            FileTable::try_new(&location, FileFormat::Parquet, &no_options(), None, 1 << 30)?;
        let shown: Vec<String> = grouped.splits().iter().map(|s| s.to_string()).collect();
        assert_eq!(
            shown,
            vec!["a.parquet[row groups 0..3]", "b.parquet[row group 0]"]
        );
        assert!(grouped.total_bytes() > 0);
        Ok(())
    }

    #[test]
    fn parquet_projection_keeps_the_requested_order() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("t.parquet");
        write_ids_parquet(&path, 7, 0, 3)?;
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Parquet,
            &no_options(),
            None,
            1,
        )?;
        let rows = read_all(&table, Some(&[2, 0]))?;
        assert_eq!(rows.schema().field(0).name(), "score");
        assert_eq!(rows.schema().field(1).name(), "id");
        assert_eq!(rows.column(0).as_primitive::<Int32Type>().value(6), 60);
        assert_eq!(rows.column(1).as_primitive::<Int64Type>().value(6), 6);
        // An empty projection still counts rows (COUNT(*)).
        let counted: usize = (0..table.splits().len())
            .map(|s| {
                table
                    .read_split(s, Some(&[]), 1024)?
                    .map(|b| b.map(|b| b.num_rows()))
                    .sum::<Result<usize>>()
            })
            .sum::<Result<usize>>()?;
        assert_eq!(counted, 7);
        Ok(())
    }

    #[test]
    fn parquet_files_with_different_schemas_are_named() -> Result<()> {
        let dir = tempdir()?;
        write_ids_parquet(&dir.path().join("a.parquet"), 3, 0, 10)?;
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("name", DataType::Int32, true),
                Field::new("score", DataType::Int32, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(Int32Array::from(vec![1])),
                Arc::new(Int32Array::from(vec![1])),
            ],
        )?;
        write_parquet_iter(
            &dir.path().join("b.parquet"),
            other.schema(),
            [Ok(other)],
            10,
        )?;
        let error = FileTable::try_new(
            &dir.path().display().to_string(),
            FileFormat::Parquet,
            &no_options(),
            None,
            1,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("a.parquet") && error.contains("b.parquet"),
            "{error}"
        );
        assert!(
            error.contains("`name` is Utf8 in the first and Int32"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn parquet_user_schema_maps_columns_by_name() -> Result<()> {
        let dir = tempdir()?;
        write_ids_parquet(&dir.path().join("a.parquet"), 4, 0, 10)?;
        let user = Arc::new(Schema::new(vec![
            Field::new("score", DataType::Int32, true),
            Field::new("ID", DataType::Int64, true),
        ]));
        let location = dir.path().display().to_string();
        let table =
            FileTable::try_new(&location, FileFormat::Parquet, &no_options(), Some(user), 1)?;
        let rows = read_all(&table, None)?;
        assert_eq!(rows.column(0).as_primitive::<Int32Type>().value(3), 30);
        assert_eq!(rows.column(1).as_primitive::<Int64Type>().value(3), 3);
        let wrong = Arc::new(Schema::new(vec![Field::new("score", DataType::Utf8, true)]));
        let error = FileTable::try_new(
            &location,
            FileFormat::Parquet,
            &no_options(),
            Some(wrong),
            1,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("`score` is Utf8 in the table schema but Int32"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn empty_directories_need_a_schema() -> Result<()> {
        let dir = tempdir()?;
        write(&dir.path().join("_SUCCESS"), "")?;
        let location = dir.path().display().to_string();
        let error = FileTable::try_new(&location, FileFormat::Parquet, &no_options(), None, 1)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no data files") && error.contains(&location),
            "{error}"
        );
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true)]));
        let table = FileTable::try_new(
            &location,
            FileFormat::Parquet,
            &no_options(),
            Some(schema),
            1,
        )?;
        assert!(table.splits().is_empty());
        assert_eq!(table.estimated_rows(), Some(0));
        Ok(())
    }

    #[test]
    fn missing_paths_and_empty_globs_are_errors() -> Result<()> {
        let dir = tempdir()?;
        let missing = dir.path().join("nope").display().to_string();
        let error = FileTable::try_new(&missing, FileFormat::Csv, &no_options(), None, 1)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_eq!(error, format!("Path does not exist: {missing}"));
        let pattern = format!("{}/*.parquet", dir.path().display());
        let error = FileTable::try_new(&pattern, FileFormat::Parquet, &no_options(), None, 1)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_eq!(error, format!("No files match the pattern: {pattern}"));
        Ok(())
    }

    #[test]
    fn globs_select_files() -> Result<()> {
        let dir = tempdir()?;
        write_ids_parquet(&dir.path().join("a.parquet"), 2, 0, 10)?;
        write_ids_parquet(&dir.path().join("b.parquet"), 3, 0, 10)?;
        write(&dir.path().join("notes.txt"), "not parquet")?;
        let pattern = format!("{}/*.parquet", dir.path().display());
        let table =
            FileTable::try_new(&pattern, FileFormat::Parquet, &no_options(), None, 1 << 20)?;
        assert_eq!(table.num_files(), 2);
        assert_eq!(table.location(), pattern);
        assert_eq!(table.format(), FileFormat::Parquet);
        assert_eq!(read_all(&table, None)?.num_rows(), 5);
        Ok(())
    }

    #[test]
    fn csv_without_inference_reads_strings_named_from_header_or_position() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("t.csv");
        write(&path, "id,name\n1,\"a, b\"\n2,\n")?;
        let location = path.display().to_string();
        let table = FileTable::try_new(
            &location,
            FileFormat::Csv,
            &options(&[("header", "true")]),
            None,
            1 << 20,
        )?;
        assert_eq!(table.schema().field(0).name(), "id");
        assert_eq!(table.schema().field(1).data_type(), &DataType::Utf8);
        let rows = read_all(&table, None)?;
        assert_eq!(rows.num_rows(), 2);
        let names = rows.column(1).as_string::<i32>();
        assert_eq!(names.value(0), "a, b");
        assert!(names.is_null(1));

        let table = FileTable::try_new(&location, FileFormat::Csv, &no_options(), None, 1 << 20)?;
        let names: Vec<String> = table
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, vec!["_c0", "_c1"]);
        assert_eq!(read_all(&table, None)?.num_rows(), 3);
        Ok(())
    }

    #[test]
    fn csv_inference_follows_spark() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("t.csv");
        write(
            &path,
            "i,l,d,b,day,ts,s,n\n\
             1,1,1.5,true,2024-01-31,2024-01-31 10:00:00,x,\n\
             ,3000000000,2,false,,2024-02-01T11:30:00.5,1,NA\n\
             -7,4,NA,TRUE,2024-02-29,,y,\n",
        )?;
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &options(&[
                ("header", "true"),
                ("inferSchema", "true"),
                ("nullValue", "NA"),
            ]),
            None,
            1 << 20,
        )?;
        let types: Vec<DataType> = table
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            vec![
                DataType::Int32,
                DataType::Int64,
                DataType::Float64,
                DataType::Boolean,
                DataType::Date32,
                DataType::Timestamp(TimeUnit::Microsecond, None),
                DataType::Utf8,
                DataType::Utf8,
            ]
        );
        let rows = read_all(&table, None)?;
        let ints = rows.column(0).as_primitive::<Int32Type>();
        assert!(ints.is_null(1));
        assert_eq!(ints.value(2), -7);
        assert_eq!(
            rows.column(1).as_primitive::<Int64Type>().value(1),
            3_000_000_000
        );
        assert!(rows.column(2).is_null(2), "nullValue NA reads as NULL");
        assert_eq!(rows.column(7).null_count(), 3);
        Ok(())
    }

    #[test]
    fn csv_byte_ranges_read_every_row_exactly_once() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("t.csv");
        let mut text = String::from("id,word\n");
        for i in 0..200 {
            text.push_str(&format!("{i},{}\n", "w".repeat(i % 13)));
        }
        write(&path, &text)?;
        let location = path.display().to_string();
        let header = options(&[("header", "true"), ("inferSchema", "true")]);
        let whole = FileTable::try_new(&location, FileFormat::Csv, &header, None, 1 << 20)?;
        assert_eq!(whole.splits().len(), 1);
        assert_eq!(whole.splits()[0].kind, SplitKind::WholeFile);
        let expected = read_all(&whole, None)?;
        assert_eq!(expected.num_rows(), 200);
        for split_bytes in [1, 2, 3, 7, 16, 100] {
            let split = FileTable::try_new(&location, FileFormat::Csv, &header, None, split_bytes)?;
            assert_eq!(split.splits().len(), text.len().div_ceil(split_bytes));
            assert_eq!(
                read_all(&split, None)?,
                expected,
                "split size {split_bytes}"
            );
        }
        let estimate = whole.estimated_rows().unwrap_or(0);
        assert!((150..=260).contains(&estimate), "estimate {estimate}");
        Ok(())
    }

    #[test]
    fn csv_user_schema_parses_every_supported_type() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("t.csv");
        write(
            &path,
            "1|9000000000|2.5|123.45|2024-03-01|x|true|2024-03-01 12:00:00\n|||||||\n",
        )?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Int64, true),
            Field::new("c", DataType::Float64, true),
            Field::new("d", DataType::Decimal128(10, 2), true),
            Field::new("e", DataType::Date32, true),
            Field::new("f", DataType::Utf8, true),
            Field::new("g", DataType::Boolean, true),
            Field::new("h", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]));
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &options(&[("sep", "|")]),
            Some(schema),
            1 << 20,
        )?;
        let rows = read_all(&table, None)?;
        assert_eq!(rows.num_rows(), 2);
        let shown = arrow::util::pretty::pretty_format_batches(&[rows.slice(0, 1)])?.to_string();
        assert!(
            shown.contains(
                "| 1 | 9000000000 | 2.5 | 123.45 | 2024-03-01 | x | true | 2024-03-01T12:00:00 |"
            ),
            "{shown}"
        );
        assert!(
            (0..8).all(|c| rows.column(c).is_null(1)),
            "empty fields are NULL"
        );
        Ok(())
    }

    #[test]
    fn tbl_files_with_a_trailing_delimiter_are_accepted() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("nation.tbl");
        let mut text = String::new();
        for i in 0..25 {
            text.push_str(&format!("{i}|NATION{i}|{}|\n", i % 5));
        }
        write(&path, &text)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("n_nationkey", DataType::Int32, false),
            Field::new("n_name", DataType::Utf8, false),
            Field::new("n_regionkey", DataType::Int32, false),
        ]));
        let sep = options(&[("sep", "|")]);
        for split_bytes in [5, 1 << 20] {
            let table = FileTable::try_new(
                &path.display().to_string(),
                FileFormat::Csv,
                &sep,
                Some(schema.clone()),
                split_bytes,
            )?;
            let rows = read_all(&table, Some(&[2, 1]))?;
            assert_eq!(rows.num_rows(), 25);
            assert_eq!(rows.column(1).as_string::<i32>().value(24), "NATION24");
            assert_eq!(rows.column(0).as_primitive::<Int32Type>().value(24), 4);
        }
        // A non-empty extra field is malformed.
        write(&path, "0|A|0|\n1|B|1|x\n")?;
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &options(&[("sep", "|"), ("mode", "FAILFAST")]),
            Some(schema),
            1 << 20,
        )?;
        let error = read_all(&table, None).map(|_| ()).unwrap_err().to_string();
        assert!(
            error.contains("nation.tbl at line 2: expected 3 fields but found 4"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn malformed_rows_name_the_file_and_line() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("bad.csv");
        let mut text = String::from("a,b\n");
        for i in 0..20 {
            text.push_str(&format!("{i},{i}\n"));
        }
        text.push_str("21,oops\n22,22\n23\n");
        write(&path, &text)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Int32, true),
        ]));
        let header = options(&[("header", "true"), ("mode", "FAILFAST")]);
        // The bad value is on line 22 whichever split reads it.
        for split_bytes in [1 << 20, 10] {
            let table = FileTable::try_new(
                &path.display().to_string(),
                FileFormat::Csv,
                &header,
                Some(schema.clone()),
                split_bytes,
            )?;
            let error = read_all(&table, None).map(|_| ()).unwrap_err().to_string();
            assert!(
                error.contains("bad.csv at line 22: cannot parse 'oops' as Int32 for column `b`"),
                "split size {split_bytes}: {error}"
            );
        }
        let missing_field = text.replace("21,oops", "21,21");
        write(&path, &missing_field)?;
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &header,
            Some(schema),
            16,
        )?;
        let error = read_all(&table, None).map(|_| ()).unwrap_err().to_string();
        assert!(
            error.contains("bad.csv at line 24: expected 2 fields but found 1"),
            "{error}"
        );
        Ok(())
    }

    /// A file with a bad value (line 3), a short record (line 5), a long one (line 6) and a
    /// bad custom-format date (line 7) among good records.
    fn malformed_file(dir: &Path) -> Result<String> {
        let path = dir.join("people.csv");
        write(
            &path,
            "id,name,born\n1,ann,01/02/1990\nx,bob,02/03/1991\n3,cid,03/04/1992\n4,dan\n\
             5,eve,04/05/1993,extra\n6,fay,1994-05-06\n7,\"g, h\",05/06/1995\n",
        )?;
        Ok(path.display().to_string())
    }

    fn people_schema(corrupt: bool) -> SchemaRef {
        let mut fields = vec![
            Field::new("id", DataType::Int32, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("born", DataType::Date32, true),
        ];
        if corrupt {
            fields.push(Field::new("_corrupt_record", DataType::Utf8, true));
        }
        Arc::new(Schema::new(fields))
    }

    #[test]
    fn permissive_mode_nulls_bad_fields_and_keeps_the_raw_line() -> Result<()> {
        let dir = tempdir()?;
        let location = malformed_file(dir.path())?;
        let opts = options(&[("header", "true"), ("dateFormat", "dd/MM/yyyy")]);
        for batch_rows in [2, 100] {
            let table = FileTable::try_new(
                &location,
                FileFormat::Csv,
                &opts,
                Some(people_schema(true)),
                1 << 20,
            )?;
            let mut batches = Vec::new();
            for batch in table.read_split(0, None, batch_rows)? {
                batches.push(batch?);
            }
            let rows = concat_batches(&table.schema(), &batches)?;
            assert_eq!(rows.num_rows(), 7, "every record is kept");
            let ids = rows.column(0).as_primitive::<Int32Type>();
            let names = rows.column(1).as_string::<i32>();
            let corrupt = rows.column(3).as_string::<i32>();
            assert!(ids.is_null(1), "x is not an int");
            assert_eq!(
                names.value(1),
                "bob",
                "the good fields of a bad record stay"
            );
            assert_eq!(corrupt.value(1), "x,bob,02/03/1991");
            assert!(corrupt.is_null(0) && corrupt.is_null(2) && corrupt.is_null(6));
            assert!(rows.column(2).is_null(3), "a missing field is NULL");
            assert_eq!(corrupt.value(3), "4,dan");
            assert_eq!(corrupt.value(4), "5,eve,04/05/1993,extra");
            assert_eq!(names.value(6), "g, h");
            assert!(rows.column(2).is_null(5) && corrupt.value(5) == "6,fay,1994-05-06");
            // Projected without the corrupt column, and without the bad column.
            let projected = read_all(&table, Some(&[1]))?;
            assert_eq!(projected.num_rows(), 7);
        }
        // Without a corrupt record column the bad fields are simply NULL.
        let table = FileTable::try_new(
            &location,
            FileFormat::Csv,
            &opts,
            Some(people_schema(false)),
            1 << 20,
        )?;
        let rows = read_all(&table, None)?;
        assert_eq!(rows.num_rows(), 7);
        assert_eq!(rows.column(0).null_count(), 1);
        Ok(())
    }

    #[test]
    fn dropmalformed_mode_skips_bad_records_and_failfast_names_the_line() -> Result<()> {
        let dir = tempdir()?;
        let location = malformed_file(dir.path())?;
        let mut opts = options(&[
            ("header", "true"),
            ("dateFormat", "dd/MM/yyyy"),
            ("mode", "DROPMALFORMED"),
        ]);
        let table = FileTable::try_new(
            &location,
            FileFormat::Csv,
            &opts,
            Some(people_schema(false)),
            1 << 20,
        )?;
        let rows = read_all(&table, None)?;
        let ids: Vec<i32> = rows
            .column(0)
            .as_primitive::<Int32Type>()
            .iter()
            .flatten()
            .collect();
        assert_eq!(ids, vec![1, 3, 7]);
        // Only the columns read decide (as Spark prunes columns before parsing).
        assert_eq!(read_all(&table, Some(&[1]))?.num_rows(), 5);

        opts.insert("mode".into(), "FAILFAST".into());
        let table = FileTable::try_new(
            &location,
            FileFormat::Csv,
            &opts,
            Some(people_schema(false)),
            1 << 20,
        )?;
        let error = read_all(&table, None).map(|_| ()).unwrap_err().to_string();
        assert!(
            error.contains("people.csv at line 3: cannot parse 'x' as Int32 for column `id`"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn gzip_files_read_whole() -> Result<()> {
        use std::io::Write;
        let dir = tempdir()?;
        let path = dir.path().join("t.csv.gz");
        let mut text = String::from("id,word\n");
        for i in 0..500 {
            text.push_str(&format!("{i},w{i}\n"));
        }
        let file = std::fs::File::create(&path).map_err(|e| EmberError::io("gz", e))?;
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        encoder
            .write_all(text.as_bytes())
            .and_then(|_| encoder.finish().map(|_| ()))
            .map_err(|e| EmberError::io("gz", e))?;
        let opts = options(&[("header", "true"), ("inferSchema", "true")]);
        // Tiny splits: a gzip file is still one split.
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &opts,
            None,
            10,
        )?;
        assert_eq!(table.splits().len(), 1);
        assert_eq!(table.schema().field(0).data_type(), &DataType::Int32);
        let rows = read_all(&table, None)?;
        assert_eq!(rows.num_rows(), 500);
        assert_eq!(rows.column(1).as_string::<i32>().value(499), "w499");
        Ok(())
    }

    #[test]
    fn custom_date_formats_read_and_report_bad_values() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("d.csv");
        write(&path, "31/01/2024\n29/02/2024\n")?;
        let opts = options(&[("inferSchema", "true"), ("dateFormat", "dd/MM/yyyy")]);
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &opts,
            None,
            1 << 20,
        )?;
        assert_eq!(table.schema().field(0).data_type(), &DataType::Date32);
        let rows = read_all(&table, None)?;
        let shown = arrow::util::pretty::pretty_format_batches(&[rows])?.to_string();
        assert!(shown.contains("2024-02-29"), "{shown}");
        let schema = table.schema();
        write(&path, "31/01/2024\n2024-02-29\n")?;
        let mut opts = opts;
        opts.insert("mode".into(), "FAILFAST".into());
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &opts,
            Some(schema),
            1 << 20,
        )?;
        let error = read_all(&table, None).map(|_| ()).unwrap_err().to_string();
        assert!(
            error.contains("at line 2: cannot parse '2024-02-29' with the pattern"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn blank_lines_and_crlf_endings_are_skipped_like_spark() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("t.csv");
        write(&path, "a,b\r\n1,x\r\n\r\n2,y\n\n")?;
        let opts = options(&[("header", "true"), ("inferSchema", "true")]);
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &opts,
            None,
            1 << 20,
        )?;
        assert_eq!(table.schema().field(0).data_type(), &DataType::Int32);
        let rows = read_all(&table, None)?;
        assert_eq!(rows.num_rows(), 2);
        assert_eq!(rows.column(1).as_string::<i32>().value(1), "y");
        Ok(())
    }

    #[test]
    fn tables_can_be_shared_across_threads() {
        fn shared<T: Send + Sync + fmt::Debug>() {}
        shared::<FileTable>();
        shared::<Split>();
    }

    #[test]
    fn written_csv_reads_back() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("out.csv");
        let batch = ids_and_names(5, 0)?;
        write_csv(&path, std::slice::from_ref(&batch), true, b',')?;
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &options(&[("header", "true")]),
            Some(batch.schema()),
            1 << 20,
        )?;
        assert_eq!(read_all(&table, None)?, batch);
        Ok(())
    }

    #[test]
    fn reading_is_lazy_and_bad_splits_are_errors() -> Result<()> {
        let dir = tempdir()?;
        let path = dir.path().join("t.csv");
        write(&path, "1\n")?;
        let table = FileTable::try_new(
            &path.display().to_string(),
            FileFormat::Csv,
            &no_options(),
            None,
            1 << 20,
        )?;
        let iter = table.read_split(0, None, 10)?;
        std::fs::remove_file(&path).map_err(|e| EmberError::io("t.csv", e))?;
        let results: Vec<_> = iter.collect();
        assert_eq!(results.len(), 1);
        assert!(
            results[0].is_err(),
            "the file is opened on the first next()"
        );
        assert!(table.read_split(5, None, 10).is_err());
        assert!(table.read_split(0, Some(&[3]), 10).is_err());
        Ok(())
    }
}
