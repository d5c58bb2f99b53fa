//! CACHE TABLE: cached data is read instead of the files, lives within the executor's memory
//! (evicting other tables' blocks), and a partition that is gone is recomputed from lineage.

use std::path::Path;

use arrow::array::{Array, Int64Array};
use ember_common::EmberConf;
use ember_core::StorageLevel;
use ember_session::EmberSession;

fn session(executor_memory: &str) -> EmberSession {
    let mut conf = EmberConf::new();
    conf.set("ember.master", "local[2]").unwrap();
    conf.set("ember.executor.memory", executor_memory).unwrap();
    EmberSession::new(conf).unwrap()
}

/// `id,name` rows 0..rows in a CSV file.
fn write_csv(path: &Path, rows: i64) {
    let mut text = String::from("id,name\n");
    for i in 0..rows {
        text.push_str(&format!("{i},name-{i}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn single_i64(session: &EmberSession, sql: &str) -> i64 {
    let result = session.sql(sql).unwrap();
    let column = result.batches[0].column(0);
    column
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0)
}

fn create(session: &EmberSession, name: &str, path: &Path) {
    session
        .sql(&format!(
            "CREATE TABLE {name} USING csv OPTIONS (header 'true', inferSchema 'true') LOCATION '{}'",
            path.display()
        ))
        .unwrap();
}

#[test]
fn a_cached_table_is_read_without_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    write_csv(&file, 1000);
    let session = session("1g");
    create(&session, "t", &file);
    session.sql("CACHE TABLE t").unwrap();
    let (level, status) = session.cache_status("t").unwrap();
    assert_eq!(level, StorageLevel::MemoryAndDisk);
    assert_eq!(status.memory_partitions, 1);
    // The file is gone: only the cache can answer.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(single_i64(&session, "SELECT sum(id) FROM t"), 499_500);
    assert_eq!(
        single_i64(&session, "SELECT count(*) FROM t WHERE name LIKE 'name-9%'"),
        111
    );
    // Uncached, the table reads its (missing) file again, and says which.
    session.sql("UNCACHE TABLE t").unwrap();
    assert!(session.cache_status("t").is_none());
    let error = session
        .sql("SELECT count(*) FROM t")
        .unwrap_err()
        .to_string();
    assert!(error.contains("t.csv"), "{error}");
}

#[test]
fn evicted_partitions_are_recomputed_from_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write_csv(&a, 20_000);
    write_csv(&b, 20_000);
    // How big one cached copy is, measured with plenty of memory.
    let bytes = {
        let probe = session("1g");
        create(&probe, "a", &a);
        probe
            .sql("CACHE TABLE a OPTIONS ('storageLevel' 'MEMORY_ONLY')")
            .unwrap();
        probe.cache_status("a").unwrap().1.memory_bytes
    };
    assert!(bytes > 0);
    // Storage memory (60% of the executor's) for one and a half copies.
    let memory = bytes * 3 / 2 * 10 / 6;
    let session = session(&memory.to_string());
    create(&session, "a", &a);
    create(&session, "b", &b);
    session
        .sql("CACHE TABLE a OPTIONS ('storageLevel' 'MEMORY_ONLY')")
        .unwrap();
    session
        .sql("CACHE TABLE grouped OPTIONS ('storageLevel' 'MEMORY_ONLY') AS SELECT id % 7 AS k, count(*) AS n FROM a GROUP BY id % 7")
        .unwrap();
    assert_eq!(session.cache_status("a").unwrap().1.memory_partitions, 1);
    // Caching b needs a's room: a's MEMORY_ONLY block is dropped, not spilled.
    session
        .sql("CACHE TABLE b OPTIONS ('storageLevel' 'MEMORY_ONLY')")
        .unwrap();
    let a_status = session.cache_status("a").unwrap().1;
    assert_eq!(a_status.memory_partitions + a_status.disk_partitions, 0);
    // The next query recomputes a from its file, and caches it again.
    assert_eq!(single_i64(&session, "SELECT sum(id) FROM a"), 199_990_000);
    assert_eq!(session.cache_status("a").unwrap().1.memory_partitions, 1);
    // The grouped cache has a shuffle in its lineage: still the right answer.
    assert_eq!(single_i64(&session, "SELECT sum(n) FROM grouped"), 20_000);
    assert_eq!(single_i64(&session, "SELECT count(*) FROM grouped"), 7);
}

#[test]
fn memory_and_disk_spills_instead_of_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write_csv(&a, 20_000);
    write_csv(&b, 20_000);
    let bytes = {
        let probe = session("1g");
        create(&probe, "a", &a);
        probe.sql("CACHE TABLE a").unwrap();
        probe.cache_status("a").unwrap().1.memory_bytes
    };
    let memory = bytes * 3 / 2 * 10 / 6;
    let session = session(&memory.to_string());
    create(&session, "a", &a);
    create(&session, "b", &b);
    session.sql("CACHE TABLE a").unwrap();
    session.sql("CACHE TABLE b").unwrap();
    let status = session.cache_status("a").unwrap().1;
    assert_eq!((status.memory_partitions, status.disk_partitions), (0, 1));
    std::fs::remove_file(&a).unwrap();
    // Read back from disk, not from the (deleted) file.
    assert_eq!(single_i64(&session, "SELECT count(*) FROM a"), 20_000);
}

#[test]
fn a_cached_view_belongs_to_its_session_and_a_cached_table_to_all() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    write_csv(&file, 100);
    let first = session("1g");
    create(&first, "t", &file);
    first
        .sql("CACHE TABLE v AS SELECT id FROM t WHERE id < 10")
        .unwrap();
    first.sql("CACHE TABLE t").unwrap();
    let second = first.new_session();
    second
        .sql("CREATE TEMPORARY VIEW v AS SELECT id FROM t WHERE id >= 90")
        .unwrap();
    // Each session reads its own view v; both read the one cached table t.
    assert_eq!(single_i64(&first, "SELECT sum(id) FROM v"), 45);
    assert_eq!(single_i64(&second, "SELECT sum(id) FROM v"), 945);
    assert!(second.cache_status("v").is_none());
    assert!(second.cache_status("t").is_some());
    std::fs::remove_file(&file).unwrap();
    assert_eq!(single_i64(&second, "SELECT count(*) FROM t"), 100);
}
