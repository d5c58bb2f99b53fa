//! A table folder's commit log: which of its files are the table, version by version.
//!
//! ```text
//!  <location>/_ember_commits/00000000000000000003.manifest   "ember-manifest 1" then one
//!                                                            file name per line (relative)
//! ```
//!
//! The manifest with the highest version names the table's files; readers ignore every other
//! file in the folder (a failed commit's, a superseded version's). Writing a manifest is the
//! commit point: one object PUT on S3, a write-then-rename locally, so a reader sees the old
//! version or the new one, never a mix. A folder without a log (written by Spark or by hand)
//! is read whole, as before. One writer at a time per table, as with Spark's file sources.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use ember_common::{EmberError, Result};

use super::{FileEntry, Store};

/// The folder of the log, under the table's location (hidden from readers by its `_`).
pub const COMMITS_FOLDER: &str = "_ember_commits";

const HEADER: &str = "ember-manifest 1";
const EXTENSION: &str = ".manifest";

/// The latest committed version of a table folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub version: u64,
    /// File names relative to the location.
    pub files: BTreeSet<String>,
}

fn log_folder(root: &str) -> String {
    format!("{}/{COMMITS_FOLDER}", root.trim_end_matches('/'))
}

fn manifest_name(version: u64) -> String {
    format!("{version:020}{EXTENSION}")
}

/// A file's name relative to the location `root` (its path with the location's removed).
pub(crate) fn relative_name(root: &str, path: &Path) -> Option<String> {
    let path = path.to_string_lossy();
    let root = root.trim_end_matches('/');
    path.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_string)
}

impl Store {
    /// The latest committed version at `root`, or `None` when the folder has no log.
    pub(crate) fn committed(&self, root: &str) -> Result<Option<Committed>> {
        let folder = log_folder(root);
        let latest = self
            .list_raw_or_empty(&folder)?
            .into_iter()
            .filter_map(|entry| {
                let name = entry.path.file_name()?.to_str()?.to_string();
                let version = name.strip_suffix(EXTENSION)?.parse::<u64>().ok()?;
                Some((version, entry))
            })
            .max_by_key(|(version, _)| *version);
        let Some((version, entry)) = latest else {
            return Ok(None);
        };
        let mut text = String::new();
        self.open_at(&entry.path, 0)?
            .read_to_string(&mut text)
            .map_err(|e| EmberError::io(entry.path.display().to_string(), e))?;
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(EmberError::DataSource(format!(
                "{} is not an Ember manifest (it does not start with '{HEADER}')",
                entry.path.display()
            )));
        }
        let files = lines
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Some(Committed { version, files }))
    }

    /// Commits `files` (relative names) as `version` of the table at `root`.
    pub(crate) fn write_manifest(
        &self,
        root: &str,
        version: u64,
        files: &BTreeSet<String>,
    ) -> Result<()> {
        let folder = log_folder(root);
        let target = format!("{folder}/{}", manifest_name(version));
        let mut text = String::from(HEADER);
        text.push('\n');
        for file in files {
            text.push_str(file);
            text.push('\n');
        }
        let write = |path: &str| -> Result<()> {
            let mut sink = self.create(path)?;
            std::io::Write::write_all(&mut sink, text.as_bytes())
                .map_err(|e| EmberError::io(path, e))?;
            sink.finish()
        };
        match self {
            // A hidden temporary file renamed into place: readers see all of it or nothing.
            Store::Local => {
                let temporary = format!("{folder}/.{}.tmp", manifest_name(version));
                write(&temporary)?;
                self.rename(&temporary, &target)
            }
            // One PUT: the object appears whole.
            Store::S3(_) => write(&target),
        }
    }

    /// Removes the manifests older than `version` (best effort: readers only read the latest).
    pub(crate) fn remove_manifests_before(&self, root: &str, version: u64) {
        let Ok(entries) = self.list_raw_or_empty(&log_folder(root)) else {
            return;
        };
        for entry in entries {
            let name = entry.path.file_name().and_then(|n| n.to_str());
            let older = name
                .and_then(|n| n.strip_suffix(EXTENSION))
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|v| v < version);
            if older {
                if let Err(e) = self.delete(&entry.path.to_string_lossy()) {
                    log::debug!(
                        "could not remove old manifest {}: {e}",
                        entry.path.display()
                    );
                }
            }
        }
    }

    /// Removes the log of a table folder (a failed first write's empty version 0).
    pub(crate) fn remove_log(&self, root: &str) -> Result<()> {
        self.delete_folder(&log_folder(root))?;
        self.remove_empty_folder(&log_folder(root));
        Ok(())
    }

    /// Keeps the entries a manifest names, when the listed location has a log.
    pub(crate) fn only_committed(
        &self,
        location: &str,
        files: Vec<FileEntry>,
    ) -> Result<Vec<FileEntry>> {
        if super::is_glob(location) {
            return Ok(files);
        }
        let Some(committed) = self.committed(location)? else {
            return Ok(files);
        };
        Ok(files
            .into_iter()
            .filter(|f| {
                relative_name(location, &f.path).is_some_and(|n| committed.files.contains(&n))
            })
            .collect())
    }
}
