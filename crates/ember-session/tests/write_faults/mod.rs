//! The cases and the checks of the commit-protocol tests, shared by
//! `crates/ember-session/tests/commit_protocol.rs` (local folders) and
//! `crates/ember-cli/tests/s3.rs` (S3).

use ember_common::EmberConf;
use ember_datasource::store::testing::{fail_writes_from, stop_failing, write_operations};
use ember_session::EmberSession;

pub fn session(settings: &[(String, String)]) -> EmberSession {
    let mut conf = EmberConf::new();
    conf.set("ember.master", "local[2]").unwrap();
    conf.set("ember.sql.shuffle.partitions", "3").unwrap();
    for (key, value) in settings {
        conf.set(key, value).unwrap();
    }
    EmberSession::new(conf).unwrap()
}

/// The rows of `x` a new table over `location` reads, sorted; `None` when there is no table
/// there to read.
fn read(session: &EmberSession, location: &str, name: &str) -> Option<Vec<i32>> {
    let created = session.sql(&format!(
        "CREATE TABLE {name} (x INT) USING parquet LOCATION '{location}'"
    ));
    if created.is_err() {
        return None;
    }
    let result = session
        .sql(&format!("SELECT x FROM {name} ORDER BY x"))
        .unwrap_or_else(|e| panic!("reading {location}: {e}"));
    session.sql(&format!("DROP TABLE {name}")).unwrap();
    let mut rows = Vec::new();
    for batch in &result.batches {
        let column = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int32Array>()
            .unwrap();
        rows.extend(column.iter().flatten());
    }
    Some(rows)
}

struct Case {
    name: &'static str,
    /// Statements that make the table as it is before the one under test.
    setup: &'static [&'static str],
    statement: &'static str,
    old: Option<Vec<i32>>,
    new: Vec<i32>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "ctas",
            setup: &[],
            statement: "CREATE TABLE t USING parquet LOCATION '$LOC' AS \
                        SELECT x FROM VALUES (1), (2), (3), (4), (5), (6) AS v(x) DISTRIBUTE BY x",
            old: None,
            new: vec![1, 2, 3, 4, 5, 6],
        },
        Case {
            name: "insert",
            setup: &["CREATE TABLE t USING parquet LOCATION '$LOC' AS \
                      SELECT x FROM VALUES (1), (2), (3) AS v(x) DISTRIBUTE BY x"],
            statement: "INSERT INTO t SELECT x FROM VALUES (10), (11), (12), (13) AS v(x) \
                        DISTRIBUTE BY x",
            old: Some(vec![1, 2, 3]),
            new: vec![1, 2, 3, 10, 11, 12, 13],
        },
        Case {
            name: "overwrite",
            setup: &["CREATE TABLE t USING parquet LOCATION '$LOC' AS \
                      SELECT x FROM VALUES (1), (2), (3) AS v(x) DISTRIBUTE BY x"],
            statement: "INSERT OVERWRITE t SELECT x FROM VALUES (10), (11), (12), (13) AS v(x) \
                        DISTRIBUTE BY x",
            old: Some(vec![1, 2, 3]),
            new: vec![10, 11, 12, 13],
        },
    ]
}

/// The old table reads as `None` (no table), or as no rows (an empty folder's table).
fn is_old(seen: &Option<Vec<i32>>, old: &Option<Vec<i32>>) -> bool {
    match old {
        None => seen.as_ref().is_none_or(|rows| rows.is_empty()),
        Some(_) => seen == old,
    }
}

/// Runs every case at every failing operation with tables under `base` (a folder or an
/// `s3://` prefix); `files_and_manifest` counts a location's visible and committed files.
pub fn check_all_or_nothing(
    settings: &[(String, String)],
    base: &str,
    files_and_manifest: &dyn Fn(&str) -> (usize, usize),
) -> Vec<String> {
    let mut report = Vec::new();
    for case in cases() {
        // A clean run counts the statement's write operations.
        let scope = format!("commit-{}-", case.name);
        let clean_loc = format!("{base}/{scope}clean");
        let s = session(settings);
        for setup in case.setup {
            s.sql(&setup.replace("$LOC", &clean_loc)).unwrap();
        }
        fail_writes_from(&scope, None);
        s.sql(&case.statement.replace("$LOC", &clean_loc)).unwrap();
        let operations = write_operations();
        stop_failing();
        assert_eq!(read(&s, &clean_loc, "r").as_ref(), Some(&case.new));
        assert!(
            operations >= 5,
            "{}: only {operations} write operations",
            case.name
        );

        for n in 1..=operations + 1 {
            let loc = format!("{base}/{scope}{n}");
            let location = loc.as_str();
            let s = session(settings);
            for setup in case.setup {
                s.sql(&setup.replace("$LOC", &loc)).unwrap();
            }
            fail_writes_from(&scope, Some(n));
            let outcome = s.sql(&case.statement.replace("$LOC", &loc));
            stop_failing();
            let seen = read(&s, location, "r");
            match &outcome {
                Ok(_) => assert_eq!(
                    seen.as_ref(),
                    Some(&case.new),
                    "{} failing from operation {n}: succeeded but reads {seen:?}",
                    case.name
                ),
                Err(e) => assert!(
                    is_old(&seen, &case.old),
                    "{} failing from operation {n}: failed ({e}) and reads {seen:?}, not the \
                     old table {:?}",
                    case.name,
                    case.old
                ),
            }
            if outcome.is_err() {
                // The same statement again, with the store healthy. A CTAS whose table was
                // never registered runs as it was; the others find their table registered.
                s.sql(&case.statement.replace("$LOC", &loc))
                    .unwrap_or_else(|e| panic!("{} retry after failing at {n}: {e}", case.name));
                let again = read(&s, location, "r");
                assert_eq!(
                    again.as_ref(),
                    Some(&case.new),
                    "{} retry after {n}",
                    case.name
                );
            }
            let (visible, listed) = files_and_manifest(location);
            if outcome.is_ok() && visible != listed {
                // Committed, but the clean-up after the commit point failed: readers ignore
                // the leftovers (checked above) and the next write removes them.
                s.sql(&format!(
                    "CREATE TABLE next USING parquet LOCATION '{loc}' AS SELECT 1 AS x WHERE false"
                ))
                .ok();
                s.sql("INSERT INTO t SELECT x FROM t WHERE x < 0")
                    .unwrap_or_else(|e| panic!("{} next write after {n}: {e}", case.name));
                assert_eq!(read(&s, location, "r").as_ref(), Some(&case.new));
            }
            let (visible, listed) = files_and_manifest(location);
            assert_eq!(
                visible, listed,
                "{} after failing at {n}: {visible} visible files, {listed} committed",
                case.name
            );
            report.push(format!(
                "{} failing from write {n} of {operations}: {}",
                case.name,
                if outcome.is_ok() {
                    "succeeded (commit point passed)"
                } else {
                    "failed, old table kept, retry succeeded"
                }
            ));
        }
    }
    report
}
