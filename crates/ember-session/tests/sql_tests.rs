//! Golden SQL tests: every `sql-tests/inputs/<topic>.sql` is run statement by statement and its
//! schemas and rows (or errors) compared with `sql-tests/results/<topic>.sql.out`, in Spark's
//! SQLQueryTestSuite format.
//!
//! Regenerate the expected files after a deliberate change, then review the diff:
//! `EMBER_GENERATE_GOLDEN_FILES=1 cargo test -p ember-session --test sql_tests`

mod golden;

#[test]
fn golden_sql_files() {
    let generate = std::env::var("EMBER_GENERATE_GOLDEN_FILES")
        .map(|v| v == "1")
        .unwrap_or(false);
    golden::check_golden_files(generate, &[], &[]);
}

/// The same files with every stage fragment sent through the task wire format (protobuf) and
/// the decoded copy run, as executor processes do: the answers must not change.
#[test]
fn golden_sql_files_through_the_task_wire_format() {
    golden::check_golden_files(false, &[("ember.sql.verifyTaskSerialization", "true")], &[]);
}
