//! CSV read options under Spark's names (`header`, `sep`, `inferSchema`, `nullValue`, ...).

use std::collections::BTreeMap;

use ember_common::{EmberError, Result};

/// Spark's default `dateFormat`.
pub const DEFAULT_DATE_FORMAT: &str = "yyyy-MM-dd";
/// Spark's default `timestampFormat`; with it Ember accepts any ISO-8601-like timestamp.
pub const DEFAULT_TIMESTAMP_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss[.SSS][XXX]";

/// What a CSV reader does with a malformed record (a field that does not parse as its
/// column's type, or too few or too many fields), as Spark's `mode` option says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseMode {
    /// Keep the record: malformed fields become NULL and the raw line goes to the
    /// `columnNameOfCorruptRecord` column if the table has one (Spark's default).
    #[default]
    Permissive,
    /// Skip the record.
    DropMalformed,
    /// Stop the query with the file, line and reason.
    FailFast,
}

/// Spark's default `columnNameOfCorruptRecord`.
pub const DEFAULT_CORRUPT_RECORD_COLUMN: &str = "_corrupt_record";

/// How to read delimited text files, parsed from a table's `OPTIONS (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// The first line of every file holds column names (`header`, default false).
    pub header: bool,
    /// The field separator (`sep` or `delimiter`, default `,`).
    pub delimiter: u8,
    /// The quote character (`quote`, default `"`; an empty value turns quoting off).
    pub quote: u8,
    /// The character escaping a quote inside a quoted field (`escape`, default `\`).
    pub escape: Option<u8>,
    /// Infer column types from the data instead of reading every column as a string
    /// (`inferSchema`, default false).
    pub infer_schema: bool,
    /// The text that stands for NULL besides the empty field (`nullValue`, default empty).
    pub null_value: String,
    /// The Spark pattern of date columns (`dateFormat`, default `yyyy-MM-dd`).
    pub date_format: String,
    /// The Spark pattern of timestamp columns (`timestampFormat`).
    pub timestamp_format: String,
    /// Read (and write) files gzip-compressed (`compression 'gzip'`); files ending in `.gz`
    /// are read as gzip anyway, as Spark does.
    pub gzip: bool,
    /// What to do with malformed records (`mode`, default PERMISSIVE).
    pub mode: ParseMode,
    /// The string column that receives the raw text of a malformed record in PERMISSIVE mode
    /// (`columnNameOfCorruptRecord`, default `_corrupt_record`), when the table declares it.
    pub corrupt_record_column: String,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: false,
            delimiter: b',',
            quote: b'"',
            escape: Some(b'\\'),
            infer_schema: false,
            null_value: String::new(),
            date_format: DEFAULT_DATE_FORMAT.to_string(),
            timestamp_format: DEFAULT_TIMESTAMP_FORMAT.to_string(),
            gzip: false,
            mode: ParseMode::Permissive,
            corrupt_record_column: DEFAULT_CORRUPT_RECORD_COLUMN.to_string(),
        }
    }
}

impl CsvOptions {
    /// Reads Spark's CSV option names; keys are case-insensitive and unknown keys are ignored,
    /// as in Spark. Bad values (a two-character separator, `header 'maybe'`) are errors.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<CsvOptions> {
        let mut csv = CsvOptions::default();
        for (key, value) in options {
            match key.to_ascii_lowercase().as_str() {
                "header" => csv.header = parse_bool(key, value)?,
                "sep" | "delimiter" => csv.delimiter = parse_char(key, value)?,
                "quote" => {
                    // Spark turns quoting off with an empty quote; NUL never appears in text.
                    csv.quote = if value.is_empty() {
                        0
                    } else {
                        parse_char(key, value)?
                    }
                }
                "escape" => {
                    csv.escape = if value.is_empty() {
                        None
                    } else {
                        Some(parse_char(key, value)?)
                    }
                }
                "inferschema" => csv.infer_schema = parse_bool(key, value)?,
                "nullvalue" => csv.null_value = value.clone(),
                "dateformat" => csv.date_format = value.clone(),
                "timestampformat" => csv.timestamp_format = value.clone(),
                "columnnameofcorruptrecord" => csv.corrupt_record_column = value.clone(),
                "mode" => match value.to_ascii_uppercase().as_str() {
                    "PERMISSIVE" => csv.mode = ParseMode::Permissive,
                    "DROPMALFORMED" => csv.mode = ParseMode::DropMalformed,
                    "FAILFAST" => csv.mode = ParseMode::FailFast,
                    _ => {
                        return Err(invalid(
                            key,
                            value,
                            "expected PERMISSIVE, DROPMALFORMED or FAILFAST",
                        ))
                    }
                },
                "compression" | "codec" => match value.to_ascii_lowercase().as_str() {
                    "none" | "uncompressed" => csv.gzip = false,
                    "gzip" | "gz" => csv.gzip = true,
                    "bzip2" | "deflate" | "lz4" | "snappy" | "zstd" => {
                        return Err(EmberError::NotSupported(format!(
                            "CSV {key} '{value}'; CSV files can be gzip-compressed or uncompressed"
                        )))
                    }
                    _ => return Err(invalid(key, value, "expected none, uncompressed or gzip")),
                },
                _ => {}
            }
        }
        if csv.quote == csv.delimiter {
            return Err(EmberError::analysis(format!(
                "CSV options quote and sep are both '{}'; they must differ",
                csv.delimiter as char
            )));
        }
        Ok(csv)
    }

    /// True when dates use the default `yyyy-MM-dd` pattern, which Arrow parses natively.
    pub(crate) fn default_date_format(&self) -> bool {
        self.date_format == DEFAULT_DATE_FORMAT
    }

    /// True when timestamps use the default pattern, read with Arrow's ISO-8601 parser.
    pub(crate) fn default_timestamp_format(&self) -> bool {
        self.timestamp_format == DEFAULT_TIMESTAMP_FORMAT
    }
}

fn invalid(key: &str, value: &str, expected: &str) -> EmberError {
    EmberError::analysis(format!(
        "Invalid value '{value}' for CSV option '{key}': {expected}"
    ))
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(key, value, "expected true or false")),
    }
}

/// One single-byte character; `\t` written as two characters means a tab, as in Spark.
fn parse_char(key: &str, value: &str) -> Result<u8> {
    match value {
        "\\t" => return Ok(b'\t'),
        "\\u0001" => return Ok(1),
        _ => {}
    }
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() => Ok(c as u8),
        (Some(_), None) => Err(invalid(key, value, "expected a single ASCII character")),
        _ => Err(invalid(key, value, "expected a single character")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn spark_names_are_read_case_insensitively() -> Result<()> {
        let csv = CsvOptions::from_options(&options(&[
            ("HEADER", "True"),
            ("sep", "|"),
            ("inferSchema", "true"),
            ("nullValue", "NA"),
            ("dateFormat", "dd/MM/yyyy"),
            ("someUnknownOption", "whatever"),
        ]))?;
        assert!(csv.header);
        assert_eq!(csv.delimiter, b'|');
        assert!(csv.infer_schema);
        assert_eq!(csv.null_value, "NA");
        assert_eq!(csv.date_format, "dd/MM/yyyy");
        assert!(!csv.default_date_format());
        Ok(())
    }

    #[test]
    fn delimiter_alias_and_tab_escape() -> Result<()> {
        let csv = CsvOptions::from_options(&options(&[("delimiter", "\\t")]))?;
        assert_eq!(csv.delimiter, b'\t');
        let defaults = CsvOptions::from_options(&BTreeMap::new())?;
        assert_eq!(defaults, CsvOptions::default());
        assert_eq!(defaults.delimiter, b',');
        assert!(!defaults.header);
        Ok(())
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let message = CsvOptions::from_options(&options(&[("sep", "||")]))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("'||'") && message.contains("sep"),
            "{message}"
        );
        let message = CsvOptions::from_options(&options(&[("header", "maybe")]))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("'maybe'") && message.contains("true or false"),
            "{message}"
        );
        let message = CsvOptions::from_options(&options(&[("mode", "LENIENT")]))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("PERMISSIVE, DROPMALFORMED or FAILFAST"),
            "{message}"
        );
        let message = CsvOptions::from_options(&options(&[("compression", "bzip2")]))
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("Not supported yet"), "{message}");
    }

    #[test]
    fn modes_and_compression() -> Result<()> {
        let csv = CsvOptions::from_options(&options(&[
            ("mode", "dropMalformed"),
            ("compression", "GZIP"),
            ("columnNameOfCorruptRecord", "bad"),
        ]))?;
        assert_eq!(csv.mode, ParseMode::DropMalformed);
        assert!(csv.gzip);
        assert_eq!(csv.corrupt_record_column, "bad");
        assert_eq!(CsvOptions::default().mode, ParseMode::Permissive);
        Ok(())
    }
}
