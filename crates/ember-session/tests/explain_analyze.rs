//! EXPLAIN ANALYZE runs the query and puts each stage's figures next to the plan.

use ember_common::EmberConf;
use ember_session::EmberSession;

fn session() -> EmberSession {
    let mut conf = EmberConf::new();
    conf.set("ember.master", "local[2]").unwrap();
    EmberSession::new(conf).unwrap()
}

fn plan_text(session: &EmberSession, sql: &str) -> String {
    let result = session.sql(sql).unwrap();
    let column = result.batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap()
        .value(0)
        .to_string();
    column
}

#[test]
fn every_stage_shows_what_it_did() {
    let session = session();
    let rows: Vec<String> = (0..100).map(|x| format!("({x})")).collect();
    let text = plan_text(
        &session,
        &format!(
            "EXPLAIN ANALYZE SELECT x % 3 AS k, count(*) AS n FROM VALUES {} AS t(x) GROUP BY x % 3 ORDER BY k",
            rows.join(", ")
        ),
    );
    // Map side: the partial aggregate emits one row per key and partition; result: 3 rows.
    let lines: Vec<&str> = text.lines().collect();
    let map = lines
        .iter()
        .find(|l| l.starts_with("Stage 0 (ShuffleMapStage) [tasks="))
        .unwrap_or_else(|| panic!("no analyzed map stage in:\n{text}"));
    assert!(map.contains("shuffle write="), "{map}");
    let result = lines
        .iter()
        .find(|l| l.contains("(ResultStage) [tasks="))
        .unwrap_or_else(|| panic!("no analyzed result stage in:\n{text}"));
    assert!(result.contains("rows=3"), "{result}");
    assert!(result.contains("shuffle read="), "{result}");
    assert!(text.contains("3 rows in"), "{text}");
}

#[test]
fn explain_analyze_of_a_statement_is_refused() {
    let session = session();
    let error = session.sql("EXPLAIN ANALYZE SET x = 1").unwrap_err();
    assert!(error.to_string().contains("EXPLAIN ANALYZE"), "{error}");
}
