//! Where the TPC-H queries and answers live, reading a query, and splitting it into statements.

use std::path::{Path, PathBuf};

use ember_common::{EmberError, Result};

/// Number of TPC-H queries.
pub const QUERY_COUNT: usize = 22;

/// The `tpch/` folder of the repository: `$EMBER_TPCH_DIR` when set, else the folder found at
/// compile time two levels above this crate.
pub fn tpch_dir() -> PathBuf {
    match std::env::var_os("EMBER_TPCH_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tpch"),
    }
}

/// The folder holding `q01.sql` .. `q22.sql`.
pub fn queries_dir() -> PathBuf {
    tpch_dir().join("queries")
}

/// The folder holding one answer set per scale factor (`sf0.01/q01.out`, ...).
pub fn answers_dir() -> PathBuf {
    tpch_dir().join("answers")
}

/// The name of the answer set for a scale factor (`sf0.01`, `sf0.1`, `sf1`), or `None` when
/// the repository has no answers at that scale.
pub fn answer_set_name(sf: f64) -> Option<&'static str> {
    [(0.01, "sf0.01"), (0.1, "sf0.1"), (1.0, "sf1")]
        .into_iter()
        .find(|(known, _)| (sf - known).abs() < 1e-9)
        .map(|(_, name)| name)
}

fn check_query_number(query: usize) -> Result<()> {
    if (1..=QUERY_COUNT).contains(&query) {
        Ok(())
    } else {
        Err(EmberError::Config(format!(
            "TPC-H has queries 1 to {QUERY_COUNT}, there is no query {query}"
        )))
    }
}

/// The text of query `query` (1..=22) read from `queries_dir/qNN.sql`, as published: it may
/// hold several statements (Q15 creates a view, queries it, drops it); see
/// [`split_statements`].
pub fn query_text(query: usize, queries_dir: &Path) -> Result<String> {
    check_query_number(query)?;
    let path = queries_dir.join(format!("q{query:02}.sql"));
    std::fs::read_to_string(&path).map_err(|e| {
        EmberError::io(
            format!(
                "{} (set EMBER_TPCH_DIR to the folder holding queries/ and answers/)",
                path.display()
            ),
            e,
        )
    })
}

/// Splits SQL text into statements at `;`, dropping `--` comments and empty statements.
/// Quoted strings are kept whole.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            current.push(c);
            if c == '\'' {
                in_string = false;
            }
            continue;
        }
        match c {
            '\'' => {
                in_string = true;
                current.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        current.push('\n');
                        break;
                    }
                }
            }
            ';' => {
                push_statement(&mut statements, &current);
                current.clear();
            }
            _ => current.push(c),
        }
    }
    push_statement(&mut statements, &current);
    statements
}

fn push_statement(statements: &mut Vec<String>, text: &str) {
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        statements.push(trimmed.to_string());
    }
}

/// The index of the statement whose rows are the query's result: the last one that is a
/// query (`SELECT` or `WITH`). For Q15 that is the second of three.
pub fn result_statement(statements: &[String]) -> Option<usize> {
    statements.iter().rposition(|statement| {
        let lower = statement.trim_start().to_ascii_lowercase();
        lower.starts_with("select") || lower.starts_with("with") || lower.starts_with('(')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_query_from_the_repository() {
        for query in 1..=QUERY_COUNT {
            let text = query_text(query, &queries_dir()).unwrap();
            let statements = split_statements(&text);
            let result = result_statement(&statements).unwrap();
            assert!(
                statements[result]
                    .to_ascii_lowercase()
                    .starts_with("select"),
                "q{query}"
            );
        }
    }

    #[test]
    fn q15_has_three_statements_and_the_select_is_the_result() {
        let text = query_text(15, &queries_dir()).unwrap();
        let statements = split_statements(&text);
        assert_eq!(statements.len(), 3);
        assert!(statements[0].starts_with("create view revenue0"));
        assert!(statements[2].starts_with("drop view"));
        assert_eq!(result_statement(&statements), Some(1));
    }

    #[test]
    fn splitting_keeps_semicolons_in_strings_and_drops_comments() {
        let statements = split_statements("-- c1; still comment\nselect ';' as x; -- tail\n");
        assert_eq!(statements, vec!["select ';' as x".to_string()]);
    }

    #[test]
    fn bad_query_numbers_and_missing_files_are_errors() {
        assert!(query_text(0, &queries_dir())
            .unwrap_err()
            .to_string()
            .contains("no query 0"));
        assert!(query_text(23, &queries_dir()).is_err());
        let error = query_text(1, Path::new("/nonexistent")).unwrap_err();
        assert!(error.to_string().contains("q01.sql"), "{error}");
    }

    #[test]
    fn answer_sets_are_known_for_three_scale_factors() {
        assert_eq!(answer_set_name(0.01), Some("sf0.01"));
        assert_eq!(answer_set_name(1.0), Some("sf1"));
        assert_eq!(answer_set_name(10.0), None);
        assert!(answers_dir().join("sf1/q01.out").is_file());
    }
}
