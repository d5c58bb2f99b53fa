//! The file formats a table can be stored in.

use std::fmt;

use ember_common::{EmberError, Result};

/// The format of a table's files, as named in `USING <format>` or `spark.read.format(...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// Apache Parquet files.
    Parquet,
    /// Delimited text files (CSV, TSV, TPC-H `.tbl`).
    Csv,
}

/// Formats Spark knows that Ember will read later.
const PLANNED_FORMATS: &[&str] = &["json", "orc", "text", "avro", "delta"];

impl FileFormat {
    /// Parses a format name case-insensitively: `parquet` or `csv`.
    pub fn from_name(name: &str) -> Result<FileFormat> {
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "parquet" => Ok(FileFormat::Parquet),
            "csv" => Ok(FileFormat::Csv),
            other if PLANNED_FORMATS.contains(&other) => Err(EmberError::NotSupported(format!(
                "the file format '{name}'; supported formats are: parquet, csv"
            ))),
            _ => Err(EmberError::analysis(format!(
                "Unknown file format '{name}'; supported formats are: parquet, csv"
            ))),
        }
    }

    /// The lower-case name, as Spark prints it.
    pub fn name(&self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(
            FileFormat::from_name("PARQUET").ok(),
            Some(FileFormat::Parquet)
        );
        assert_eq!(FileFormat::from_name("Csv").ok(), Some(FileFormat::Csv));
        assert_eq!(FileFormat::Csv.to_string(), "csv");
    }

    #[test]
    fn planned_formats_say_not_supported_yet() {
        let message = FileFormat::from_name("json")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("Not supported yet"), "{message}");
        assert!(message.contains("parquet, csv"), "{message}");
    }

    #[test]
    fn unknown_formats_list_the_supported_ones() {
        let message = FileFormat::from_name("xlsx")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(message.contains("'xlsx'"), "{message}");
        assert!(message.contains("parquet, csv"), "{message}");
    }
}
