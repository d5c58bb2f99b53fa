//! Approved optimized logical plans of the TPC-H queries at SF 0.01, and no key-less inner join in them.
//!
//! Every query that plans today has its optimized logical plan compared with
//! `tpch/plans/qNN.txt`. Regenerate after a deliberate change, then review the diff:
//! `EMBER_GENERATE_TPCH_PLANS=1 cargo test -p ember-session --test tpch_plans`

use std::path::{Path, PathBuf};

use arrow::array::{Array, StringArray};
use ember_common::EmberConf;
use ember_session::EmberSession;
use ember_tpch::DataFormat;

fn plans_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tpch/plans")
}

/// The text of the single-cell result of `EXPLAIN EXTENDED`.
fn explain(session: &EmberSession, statement: &str) -> Result<String, String> {
    let result = session
        .sql(&format!("EXPLAIN EXTENDED {statement}"))
        .map_err(|e| e.to_string())?;
    let batch = result.batches.first().ok_or("EXPLAIN returned no batch")?;
    let column = batch
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or("EXPLAIN returned a non-string column")?;
    if column.is_empty() {
        return Err("EXPLAIN returned no row".into());
    }
    Ok(column.value(0).to_string())
}

fn section<'a>(text: &'a str, title: &str) -> &'a str {
    let start = text.find(title).map_or(text.len(), |i| i + title.len());
    let rest = &text[start..];
    let end = rest.find("\n== ").unwrap_or(rest.len());
    rest[..end].trim()
}

/// Inner joins without an equality key (a cartesian product) and nested-loop joins of any type.
/// All TPC-H join graphs are connected and every subquery decorrelates into keyed joins, so a
/// good plan never needs either.
fn keyless_inner_joins(logical: &str, physical: &str) -> Vec<String> {
    let logical_lines = logical.lines().filter(|line| {
        let line = line.trim_start();
        line.starts_with("Cross Join")
            || line == "Inner Join:"
            || line.starts_with("Inner Join:  Filter")
    });
    let physical_lines = physical.lines().filter(|line| {
        let line = line.trim_start();
        line.starts_with("NestedLoopJoinExec") || line.starts_with("CrossJoin")
    });
    logical_lines
        .chain(physical_lines)
        .map(|line| line.trim().to_string())
        .collect()
}

#[test]
fn tpch_optimized_plans_match_approved_files_and_have_no_cartesian_products() {
    let data = tempfile::tempdir().expect("a temporary directory");
    ember_tpch::generate(0.01, DataFormat::Parquet, data.path(), |_, _| {})
        .expect("TPC-H SF 0.01 generates");
    let mut conf = EmberConf::new();
    conf.set("ember.master", "local[2]")
        .expect("a valid master");
    conf.set("ember.sql.shuffle.partitions", "4")
        .expect("a valid partition count");
    let session = EmberSession::new(conf).expect("a session");
    for table in ember_tpch::TABLES {
        let ddl =
            ember_tpch::table_ddl(table, data.path(), DataFormat::Parquet).expect("TPC-H DDL");
        session.sql(&ddl).expect("TPC-H table creation");
    }

    let generate = std::env::var_os("EMBER_GENERATE_TPCH_PLANS").is_some();
    let mut failures = Vec::new();
    let mut planned = 0;
    for query in 1..=ember_tpch::QUERY_COUNT {
        let text = ember_tpch::query_text(query, &ember_tpch::queries_dir()).expect("query text");
        let statements = ember_tpch::split_statements(&text);
        let Some(index) = ember_tpch::result_statement(&statements) else {
            failures.push(format!("Q{query:02}: no result statement"));
            continue;
        };
        for statement in &statements[..index] {
            session
                .sql(statement)
                .expect("a set-up statement of the query");
        }
        let explained = explain(&session, &statements[index]);
        for statement in &statements[index + 1..] {
            session
                .sql(statement)
                .expect("a clean-up statement of the query");
        }
        let path = plans_dir().join(format!("q{query:02}.txt"));
        let explained = match explained {
            Ok(text) => text,
            Err(error) => {
                // Not planned today (an unsupported feature): must not have an approved plan.
                if path.exists() && !generate {
                    failures.push(format!(
                        "Q{query:02} has an approved plan but fails: {error}"
                    ));
                } else if path.exists() {
                    std::fs::remove_file(&path).expect("removing a stale plan");
                }
                continue;
            }
        };
        planned += 1;
        let logical = section(&explained, "== Optimized Logical Plan ==");
        let physical = section(&explained, "== Physical Plan ==");
        let keyless = keyless_inner_joins(logical, physical);
        if !keyless.is_empty() {
            failures.push(format!(
                "Q{query:02} joins without an equality although its join graph is connected: {}",
                keyless.join("; ")
            ));
        }
        let actual = format!("{logical}\n");
        if generate {
            std::fs::create_dir_all(plans_dir()).expect("tpch/plans");
            std::fs::write(&path, &actual).expect("writing an approved plan");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(approved) if approved == actual => {}
            Ok(approved) => {
                let diff = similar::TextDiff::from_lines(&approved, &actual)
                    .unified_diff()
                    .header("approved", "actual")
                    .to_string();
                failures.push(format!("Q{query:02} plan changed:\n{diff}"));
            }
            Err(_) => failures.push(format!(
                "Q{query:02} plans but has no approved plan at {}",
                path.display()
            )),
        }
    }
    assert!(planned >= 11, "only {planned} TPC-H queries planned");
    assert!(
        failures.is_empty(),
        "{}\n\nIf a plan change is deliberate, regenerate with \
         EMBER_GENERATE_TPCH_PLANS=1 cargo test -p ember-session --test tpch_plans",
        failures.join("\n\n")
    );
}
