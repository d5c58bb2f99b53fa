//! Writes are all or nothing at every point of failure: a store that fails from the n-th
//! write operation on (as when the connection is cut), for every n through a whole CTAS,
//! INSERT INTO and INSERT OVERWRITE. After each failure a fresh reader sees exactly the old
//! table, after each success exactly the new one, and running the failed statement again
//! succeeds and leaves no stray file behind.
//!
//! The same checks run over S3 in `crates/ember-cli/tests/s3.rs` (both use `write_faults/`).

mod write_faults;

use std::path::Path;

use write_faults::check_all_or_nothing;

/// Visible files in a local folder (what Spark would read) and the files of its latest
/// manifest.
pub fn local_files_and_manifest(location: &str) -> (usize, usize) {
    let location = Path::new(location);
    let visible = std::fs::read_dir(location)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    !name.starts_with('_') && !name.starts_with('.')
                })
                .count()
        })
        .unwrap_or(0);
    let log = location.join("_ember_commits");
    let latest = std::fs::read_dir(&log).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "manifest"))
            .max()
    });
    let listed = latest.map_or(0, |path| {
        std::fs::read_to_string(path).unwrap().lines().count() - 1
    });
    (visible, listed)
}

#[test]
fn every_write_is_all_or_nothing_at_every_failing_store_operation() {
    let dir = tempfile::tempdir().unwrap();
    let report = check_all_or_nothing(
        &[],
        &dir.path().display().to_string(),
        &local_files_and_manifest,
    );
    println!("{}", report.join("\n"));
}
