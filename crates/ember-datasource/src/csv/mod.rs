//! Delimited text tables: Spark-style schema inference, byte-range splits and split reading.
//!
//! A file larger than the split size is cut into byte ranges. The reader of a range starts
//! after the first newline at or after `start` (at 0 for the first range) and reads every line
//! that starts at or before `end`, so each line is read by exactly one range. Line numbers in
//! error messages count records, which equal lines unless a quoted field holds a newline (such
//! files must not be split either; Spark's `multiLine` is not supported yet).
//!
//! TPC-H `.tbl` files end each line with the delimiter (`1|foo|`). A range whose first record
//! has exactly one field more than the schema is read with an extra column that must be empty
//! on every line, and that column is dropped.

mod infer;
pub(crate) mod pattern;
mod range;
mod read;

use std::io::Read;
use std::path::PathBuf;

use arrow::csv::reader::Format;
use arrow::csv::ReaderBuilder;
use arrow::datatypes::SchemaRef;
use ember_common::{EmberError, Result};
use regex::Regex;

use crate::options::CsvOptions;
use crate::store::{io_error, FileEntry, FileRead, Store};
use crate::table::{Split, SplitKind};

pub(crate) use infer::infer_schema;
pub(crate) use read::{read_split, CsvSplitRequest};

/// The parser settings shared by inference and reading.
fn format(options: &CsvOptions) -> Result<Format> {
    let mut format = Format::default()
        .with_delimiter(options.delimiter)
        .with_quote(options.quote)
        .with_null_regex(null_regex(options)?);
    if let Some(escape) = options.escape {
        format = format.with_escape(escape);
    }
    Ok(format)
}

fn reader_builder(schema: SchemaRef, options: &CsvOptions) -> Result<ReaderBuilder> {
    let mut builder = ReaderBuilder::new(schema)
        .with_delimiter(options.delimiter)
        .with_quote(options.quote)
        .with_null_regex(null_regex(options)?);
    if let Some(escape) = options.escape {
        builder = builder.with_escape(escape);
    }
    Ok(builder)
}

/// An empty field is always NULL; so is a field equal to `nullValue`.
fn null_regex(options: &CsvOptions) -> Result<Regex> {
    let pattern = if options.null_value.is_empty() {
        "^$".to_string()
    } else {
        format!("^(?:{})?$", regex::escape(&options.null_value))
    };
    Regex::new(&pattern)
        .map_err(|e| EmberError::internal(format!("null value pattern {pattern}: {e}")))
}

/// Whether a file is read through a gzip decoder: `compression 'gzip'` or a `.gz` name.
pub(crate) fn is_gzip(path: &std::path::Path, options: &CsvOptions) -> bool {
    options.gzip
        || path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("gz"))
}

/// Opens a file's text from `offset` (always 0 for gzip files, which are never split).
pub(crate) fn open(
    store: &Store,
    path: &std::path::Path,
    offset: u64,
    options: &CsvOptions,
) -> Result<FileRead> {
    let raw = store.open_at(path, offset)?;
    if is_gzip(path, options) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::new(raw),
        )))
    } else {
        Ok(raw)
    }
}

/// Whole files up to `max_split_bytes`, byte ranges of that size for larger files; a gzip
/// file cannot be cut and is always read whole.
pub(crate) fn splits(
    files: &[FileEntry],
    max_split_bytes: usize,
    options: &CsvOptions,
) -> Vec<(usize, Split)> {
    let max = max_split_bytes.max(1) as u64;
    let mut splits = Vec::new();
    for (index, file) in files.iter().enumerate() {
        if file.size <= max || is_gzip(&file.path, options) {
            splits.push((
                index,
                Split {
                    path: file.path.clone(),
                    kind: SplitKind::WholeFile,
                },
            ));
            continue;
        }
        let mut start = 0;
        while start < file.size {
            let end = (start + max).min(file.size);
            splits.push((
                index,
                Split {
                    path: file.path.clone(),
                    kind: SplitKind::ByteRange { start, end },
                },
            ));
            start = end;
        }
    }
    splits
}

/// Rows estimated from the total size and the average line length of the first file's head
/// (gzip text taken as four times its compressed size).
pub(crate) fn estimate_rows(
    store: &Store,
    files: &[FileEntry],
    options: &CsvOptions,
) -> Result<Option<u64>> {
    let Some(first) = files.iter().find(|f| f.size > 0) else {
        return Ok(Some(0));
    };
    let path: PathBuf = first.path.clone();
    let mut head = Vec::new();
    open(store, &path, 0, options)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| io_error(&path, e))?;
    let lines = head.iter().filter(|&&b| b == b'\n').count().max(1) as u64;
    let average = (head.len() as u64 / lines).max(1);
    let total: u64 = files
        .iter()
        .map(|f| {
            if is_gzip(&f.path, options) {
                f.size.saturating_mul(4)
            } else {
                f.size
            }
        })
        .sum();
    Ok(Some(total.div_ceil(average)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_files_are_cut_into_byte_ranges() {
        let files = vec![
            FileEntry {
                path: PathBuf::from("/d/a.csv"),
                size: 10,
            },
            FileEntry {
                path: PathBuf::from("/d/b.csv"),
                size: 25,
            },
        ];
        let splits = splits(&files, 10, &CsvOptions::default());
        let kinds: Vec<_> = splits.iter().map(|(i, s)| (*i, s.kind.clone())).collect();
        assert_eq!(
            kinds,
            vec![
                (0, SplitKind::WholeFile),
                (1, SplitKind::ByteRange { start: 0, end: 10 }),
                (1, SplitKind::ByteRange { start: 10, end: 20 }),
                (1, SplitKind::ByteRange { start: 20, end: 25 }),
            ]
        );
    }
}
