//! Reference answers: `|`-separated text files with one header line.

use std::path::Path;

use ember_common::{EmberError, Result};

/// A reference answer: column names and rows of values as written in the answer file
/// (trimmed; numbers at full precision, dates as `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Column names from the header line.
    pub columns: Vec<String>,
    /// One entry per row, each with one value per column.
    pub rows: Vec<Vec<String>>,
}

impl Answer {
    /// Parses answer text: a header line, then one line per row, fields separated by `|` and
    /// trimmed (the TPC kit's official answers pad them). `source` names the text in errors.
    pub fn parse(text: &str, source: &str) -> Result<Answer> {
        let mut lines = text
            .lines()
            .enumerate()
            .skip_while(|(_, line)| line.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(EmberError::DataSource(format!(
                "answer file {source} is empty: expected a header line of '|'-separated column names"
            )));
        };
        let columns = split_fields(header);
        let mut rows = Vec::new();
        for (index, line) in lines {
            if line.trim().is_empty() {
                // With one column an empty line is a row holding NULL (TPC-H Q17 at SF 0.01
                // averages over no rows); with more columns it is only a blank line.
                if columns.len() == 1 {
                    rows.push(vec![String::new()]);
                }
                continue;
            }
            let row = split_fields(line);
            if row.len() != columns.len() {
                return Err(EmberError::DataSource(format!(
                    "answer file {source}, line {}: {} fields but the header has {} columns ({})",
                    index + 1,
                    row.len(),
                    columns.len(),
                    columns.join("|")
                )));
            }
            rows.push(row);
        }
        Ok(Answer { columns, rows })
    }
}

fn split_fields(line: &str) -> Vec<String> {
    line.split('|')
        .map(|field| field.trim().to_string())
        .collect()
}

/// Loads `answers_dir/<sf_name>/qNN.out`, e.g. `load_answer(&answers_dir(), "sf1", 3)`.
pub fn load_answer(answers_dir: &Path, sf_name: &str, query: usize) -> Result<Answer> {
    let path = answers_dir.join(sf_name).join(format!("q{query:02}.out"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        EmberError::io(
            format!(
                "{} (answers exist for sf0.01, sf0.1 and sf1, queries 1 to 22)",
                path.display()
            ),
            e,
        )
    })?;
    Answer::parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::answers_dir;

    #[test]
    fn empty_line_in_a_one_column_answer_is_a_null_row() {
        let answer = load_answer(&answers_dir(), "sf0.01", 17).unwrap();
        assert_eq!(answer.columns, vec!["avg_yearly".to_string()]);
        assert_eq!(answer.rows, vec![vec![String::new()]]);
        let answer = Answer::parse("a|b\n1|2\n\n3|4\n", "test").unwrap();
        assert_eq!(answer.rows.len(), 2);
    }

    #[test]
    fn loads_q01_at_sf001() {
        let answer = load_answer(&answers_dir(), "sf0.01", 1).unwrap();
        assert_eq!(answer.columns.len(), 10);
        assert_eq!(answer.columns[2], "sum_qty");
        assert_eq!(answer.rows.len(), 4);
        assert_eq!(answer.rows[0][0], "A");
        assert_eq!(answer.rows[0][2], "380456.00");
        assert_eq!(answer.rows[0][9], "14876");
    }

    #[test]
    fn every_answer_file_in_the_repository_parses() {
        for sf in ["sf0.01", "sf0.1", "sf1"] {
            for query in 1..=22 {
                let answer = load_answer(&answers_dir(), sf, query).unwrap();
                assert!(!answer.columns.is_empty(), "{sf} q{query}");
            }
        }
    }

    #[test]
    fn trims_padded_fields_and_rejects_ragged_rows() {
        let answer = Answer::parse("a  |b\n  1|x \n", "test").unwrap();
        assert_eq!(answer.columns, vec!["a", "b"]);
        assert_eq!(answer.rows, vec![vec!["1".to_string(), "x".to_string()]]);
        let error = Answer::parse("a|b\n1|2|3\n", "t.out").unwrap_err();
        assert!(
            error.to_string().contains("t.out, line 2: 3 fields"),
            "{error}"
        );
        assert!(Answer::parse("\n", "e.out").is_err());
    }

    #[test]
    fn missing_answer_file_names_the_path() {
        let error = load_answer(&answers_dir(), "sf7", 1).unwrap_err();
        assert!(error.to_string().contains("sf7"), "{error}");
    }
}
