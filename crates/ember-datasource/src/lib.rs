//! Ember's data sources: file listing, CSV and Parquet tables split into scan partitions, and writers.
//!
//! A [`FileTable`] is what a scan reads: it lists its files once (a file, a directory or a glob),
//! settles the table schema (Parquet footers, a user schema, or Spark-style CSV inference) and
//! cuts the files into [`Split`]s, one per scan partition. [`FileTable::read_split`] then reads one
//! split lazily as Arrow record batches.
//!
//! ```text
//!  location ──store::list──▶ files (sorted) ──format──▶ schema + splits
//!                                                          │ read_split(i, projection)
//!                                                          ▼
//!                                                 BatchIter (lazy, Send)
//! ```

mod csv;
mod format;
mod options;
mod output;
mod parquet_source;
mod partition;
mod prune;
pub mod range;
pub mod store;
mod table;
mod table_source;
mod writer;

pub use format::FileFormat;
pub use options::{CsvOptions, ParseMode, DEFAULT_CORRUPT_RECORD_COLUMN};
pub use output::{written_batch, written_files, WriteSpec, WrittenFile, TEMPORARY_FOLDER};
pub use range::RangeSource;
pub use store::S3Settings;
pub use table::{DataFile, FileTable, FileTableParts, FormatParts, PruneSummary, Split, SplitKind};
pub use table_source::FileTableSource;
pub use writer::{write_csv, write_parquet, write_parquet_iter, DEFAULT_ROW_GROUP_ROWS};

use arrow::record_batch::RecordBatch;

/// A lazily evaluated stream of record batches, as read from one split.
pub type BatchIter = Box<dyn Iterator<Item = ember_common::Result<RecordBatch>> + Send>;
