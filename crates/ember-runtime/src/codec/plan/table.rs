//! File tables on the wire: files, sizes, splits, schema, format options and S3 settings,
//! so that an executor reads the very splits the driver planned without listing again.

use std::path::PathBuf;

use ember_common::{EmberError, Result};
use ember_datasource::{
    CsvOptions, DataFile, FileTable, FileTableParts, FormatParts, ParseMode, S3Settings, Split,
    SplitKind,
};

use crate::codec::arrow as ipc;

use super::helpers::{required, to_usize};
use super::pb;

fn path_text(path: &std::path::Path) -> Result<String> {
    path.to_str().map(str::to_string).ok_or_else(|| {
        EmberError::NotSupported(format!(
            "sending a scan of {} to an executor: the path is not valid UTF-8; rename the file",
            path.display()
        ))
    })
}

pub(super) fn encode_table(table: &FileTable) -> Result<pb::FileTableNode> {
    let parts = table.to_parts();
    let (format, column_map, csv) = match &parts.format {
        FormatParts::Parquet { column_map } => (
            pb::FORMAT_PARQUET,
            column_map
                .iter()
                .map(|columns| pb::Indices {
                    values: columns.iter().map(|c| *c as u64).collect(),
                })
                .collect(),
            None,
        ),
        FormatParts::Csv { options } => (
            pb::FORMAT_CSV,
            Vec::new(),
            Some(encode_csv_options(options)),
        ),
    };
    let files = parts
        .files
        .iter()
        .map(|f| {
            Ok(pb::DataFileNode {
                path: path_text(&f.path)?,
                size: f.size,
                partition_values: f
                    .partition_values
                    .iter()
                    .map(ipc::encode_scalar)
                    .collect::<Result<Vec<_>>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let splits = parts
        .splits
        .iter()
        .map(|(file, split)| {
            use pb::split_node::Kind;
            let kind = match &split.kind {
                SplitKind::ParquetRowGroups(groups) => Kind::RowGroups(pb::Indices {
                    values: groups.iter().map(|g| *g as u64).collect(),
                }),
                SplitKind::ByteRange { start, end } => Kind::ByteRange(pb::ByteRange {
                    start: *start,
                    end: *end,
                }),
                SplitKind::WholeFile => Kind::WholeFile(pb::Empty {}),
            };
            Ok(pb::SplitNode {
                file: *file as u64,
                path: path_text(&split.path)?,
                kind: Some(kind),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pb::FileTableNode {
        location: parts.location.clone(),
        format,
        schema: ipc::encode_schema(&parts.schema)?,
        files,
        splits,
        column_map,
        csv,
        estimated_rows: parts.estimated_rows,
        s3: parts.s3.as_ref().map(encode_s3_settings),
        partition_columns: parts.partition_columns as u64,
    })
}

pub(super) fn decode_table(node: &pb::FileTableNode) -> Result<FileTable> {
    use pb::split_node::Kind;
    let format = match node.format {
        pb::FORMAT_PARQUET => {
            let column_map = node
                .column_map
                .iter()
                .map(|columns| {
                    columns
                        .values
                        .iter()
                        .map(|c| to_usize(*c, "Parquet column"))
                        .collect::<Result<Vec<_>>>()
                })
                .collect::<Result<Vec<_>>>()?;
            FormatParts::Parquet { column_map }
        }
        pb::FORMAT_CSV => {
            let csv = required(&node.csv, "the CSV options of a CSV table")?;
            FormatParts::Csv {
                options: decode_csv_options(csv, &node.location)?,
            }
        }
        other => {
            return Err(EmberError::internal(format!(
                "unknown file format {other} for table {} in a plan fragment; known: 0 \
                 (parquet), 1 (csv)",
                node.location
            )))
        }
    };
    let splits = node
        .splits
        .iter()
        .map(|s| {
            let kind = match required(&s.kind, "a split's kind")? {
                Kind::RowGroups(groups) => SplitKind::ParquetRowGroups(
                    groups
                        .values
                        .iter()
                        .map(|g| to_usize(*g, "row group"))
                        .collect::<Result<Vec<_>>>()?,
                ),
                Kind::ByteRange(range) => SplitKind::ByteRange {
                    start: range.start,
                    end: range.end,
                },
                Kind::WholeFile(_) => SplitKind::WholeFile,
            };
            Ok((
                to_usize(s.file, "file index")?,
                Split {
                    path: PathBuf::from(&s.path),
                    kind,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    FileTable::from_parts(FileTableParts {
        location: node.location.clone(),
        schema: ipc::decode_schema(&node.schema)?,
        files: node
            .files
            .iter()
            .map(|f| {
                Ok(DataFile {
                    path: PathBuf::from(&f.path),
                    size: f.size,
                    partition_values: f
                        .partition_values
                        .iter()
                        .map(|v| ipc::decode_scalar(v))
                        .collect::<Result<Vec<_>>>()?,
                })
            })
            .collect::<Result<Vec<_>>>()?,
        partition_columns: to_usize(node.partition_columns, "partition column count")?,
        splits,
        format,
        estimated_rows: node.estimated_rows,
        s3: node.s3.as_ref().map(decode_s3_settings),
    })
}

pub(super) fn encode_csv_options(options: &CsvOptions) -> pb::CsvOptionsNode {
    pb::CsvOptionsNode {
        header: options.header,
        delimiter: u32::from(options.delimiter),
        quote: u32::from(options.quote),
        escape: options.escape.map(u32::from),
        infer_schema: options.infer_schema,
        null_value: options.null_value.clone(),
        date_format: options.date_format.clone(),
        timestamp_format: options.timestamp_format.clone(),
        gzip: options.gzip,
        mode: match options.mode {
            ParseMode::Permissive => pb::CSV_MODE_PERMISSIVE,
            ParseMode::DropMalformed => pb::CSV_MODE_DROP_MALFORMED,
            ParseMode::FailFast => pb::CSV_MODE_FAIL_FAST,
        },
        corrupt_record_column: options.corrupt_record_column.clone(),
    }
}

pub(super) fn decode_csv_options(csv: &pb::CsvOptionsNode, location: &str) -> Result<CsvOptions> {
    let byte = |value: u32, what: &str| {
        u8::try_from(value).map_err(|_| {
            EmberError::internal(format!(
                "CSV {what} {value} of table {} is not one byte",
                location
            ))
        })
    };
    Ok(CsvOptions {
        header: csv.header,
        delimiter: byte(csv.delimiter, "delimiter")?,
        quote: byte(csv.quote, "quote")?,
        escape: csv.escape.map(|e| byte(e, "escape")).transpose()?,
        infer_schema: csv.infer_schema,
        null_value: csv.null_value.clone(),
        date_format: csv.date_format.clone(),
        timestamp_format: csv.timestamp_format.clone(),
        gzip: csv.gzip,
        mode: match csv.mode {
            pb::CSV_MODE_PERMISSIVE => ParseMode::Permissive,
            pb::CSV_MODE_DROP_MALFORMED => ParseMode::DropMalformed,
            pb::CSV_MODE_FAIL_FAST => ParseMode::FailFast,
            other => {
                return Err(EmberError::internal(format!(
                    "unknown CSV mode {other} for table {}",
                    location
                )))
            }
        },
        corrupt_record_column: csv.corrupt_record_column.clone(),
    })
}

pub(crate) fn encode_s3_settings(settings: &S3Settings) -> pb::S3SettingsNode {
    pb::S3SettingsNode {
        region: settings.region.clone(),
        endpoint: settings.endpoint.clone(),
        access_key_id: settings.access_key_id.clone(),
        secret_access_key: settings.secret_access_key.clone(),
        session_token: settings.session_token.clone(),
        allow_http: settings.allow_http,
        virtual_hosted_style: settings.virtual_hosted_style,
        anonymous: settings.anonymous,
        max_connections: settings.max_connections as u64,
        max_retries: settings.max_retries as u64,
        retry_timeout_ms: settings.retry_timeout_ms,
    }
}

pub(crate) fn decode_s3_settings(node: &pb::S3SettingsNode) -> S3Settings {
    S3Settings {
        region: node.region.clone(),
        endpoint: node.endpoint.clone(),
        access_key_id: node.access_key_id.clone(),
        secret_access_key: node.secret_access_key.clone(),
        session_token: node.session_token.clone(),
        allow_http: node.allow_http,
        virtual_hosted_style: node.virtual_hosted_style,
        anonymous: node.anonymous,
        max_connections: usize::try_from(node.max_connections)
            .unwrap_or(usize::MAX)
            .max(1),
        max_retries: usize::try_from(node.max_retries).unwrap_or(usize::MAX),
        retry_timeout_ms: node.retry_timeout_ms,
    }
}
