//! Where table files live: listing a location and opening its files.
//!
//! A location is a local path (`/data/t`, `file:///data/t`) or an S3 URL (`s3://bucket/t`);
//! either may be a single file, a directory (every visible file under it) or a glob
//! (`s3://bucket/sales/*.parquet`). S3 goes through `object_store` (see [`s3`]); reads from it
//! are ranged GETs.

pub(crate) mod commits;
mod io;
pub(crate) mod s3;
pub mod testing;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ember_common::{EmberConf, EmberError, Result};

pub use s3::S3Settings;
use s3::S3Store;

/// One data file of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileEntry {
    /// A local path, or the file's full `s3://bucket/key` URL.
    pub path: PathBuf,
    pub size: u64,
}

/// A file opened for reading from some offset.
pub(crate) type FileRead = Box<dyn Read + Send>;

/// The storage a table's files are read from.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    /// The local file system (`/data/t`, `file:///data/t`).
    Local,
    /// One S3 bucket.
    S3(Arc<S3Store>),
}

impl Store {
    /// The store for a location, with S3 settings resolved from `conf` and the environment,
    /// and the location as that store spells it.
    pub fn for_location(location: &str, conf: &EmberConf) -> Result<(Store, String)> {
        match scheme(location)? {
            Scheme::Local(path) => Ok((Store::Local, path)),
            Scheme::S3 { bucket } => {
                let settings = S3Settings::resolve(&bucket, conf)?;
                Ok((
                    Store::S3(S3Store::get(&bucket, settings)?),
                    location.to_string(),
                ))
            }
        }
    }

    /// The store for a location with the S3 settings the driver resolved (`None` for a local
    /// location): how an executor opens a table's files.
    pub fn with_settings(location: &str, settings: Option<&S3Settings>) -> Result<Store> {
        match (scheme(location)?, settings) {
            (Scheme::Local(_), _) => Ok(Store::Local),
            (Scheme::S3 { bucket }, Some(settings)) => {
                Ok(Store::S3(S3Store::get(&bucket, settings.clone())?))
            }
            (Scheme::S3 { .. }, None) => Err(EmberError::internal(format!(
                "the table at {location} came without its S3 settings"
            ))),
        }
    }

    /// The S3 settings of an S3 store, to ship with a table to executors.
    pub fn settings(&self) -> Option<&S3Settings> {
        match self {
            Store::Local => None,
            Store::S3(store) => Some(store.settings()),
        }
    }

    /// The data files at a location, sorted by path: the file itself, every visible file under
    /// a directory (recursively) that its commit log names (all of them without a log), or
    /// every visible file a glob pattern matches.
    pub fn list(&self, location: &str) -> Result<Vec<FileEntry>> {
        let files = match self {
            Store::Local => list_local(location)?,
            Store::S3(store) => store.list(location)?,
        };
        self.only_committed(location, files)
    }

    /// Opens a file for reading from `offset` to its end.
    pub fn open_at(&self, path: &Path, offset: u64) -> Result<FileRead> {
        match self {
            Store::Local => Ok(Box::new(open_local(path, offset)?)),
            Store::S3(store) => store.open_at(path, offset),
        }
    }
}

/// A file being written: local, or an S3 object uploaded as it grows. Only
/// [`FileSink::finish`] makes it complete (an S3 object appears only then).
pub(crate) enum FileSink {
    Local(std::io::BufWriter<File>, PathBuf),
    S3(s3::ObjectWrite),
}

impl std::io::Write for FileSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            FileSink::Local(file, _) => file.write(data),
            FileSink::S3(object) => object.write(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            FileSink::Local(file, _) => file.flush(),
            FileSink::S3(object) => object.flush(),
        }
    }
}

impl FileSink {
    pub fn finish(self) -> Result<()> {
        let path = match &self {
            FileSink::Local(_, path) => path.display().to_string(),
            FileSink::S3(object) => object.url().to_string(),
        };
        testing::operation("finish", &path)?;
        match self {
            FileSink::Local(mut file, path) => {
                file.flush().map_err(|e| io_error(&path, e))?;
                let file = file
                    .into_inner()
                    .map_err(|e| io_error(&path, e.into_error()))?;
                file.sync_all().map_err(|e| io_error(&path, e))
            }
            FileSink::S3(object) => object.finish(),
        }
    }
}

/// Writing side: what table writers and their commit need.
impl Store {
    /// Creates a file (and its folders) for writing.
    pub fn create(&self, path: &str) -> Result<FileSink> {
        testing::operation("create", path)?;
        match self {
            Store::Local => {
                let path = PathBuf::from(path);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
                }
                let file = File::create(&path).map_err(|e| io_error(&path, e))?;
                Ok(FileSink::Local(std::io::BufWriter::new(file), path))
            }
            Store::S3(store) => Ok(FileSink::S3(store.create(path)?)),
        }
    }

    /// Moves a file, creating the target's folders.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        testing::operation("rename", from)?;
        match self {
            Store::Local => {
                let target = Path::new(to);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
                }
                std::fs::rename(from, to).map_err(|e| io_error(Path::new(from), e))
            }
            Store::S3(store) => store.rename(from, to),
        }
    }

    /// Deletes a file; a missing file is not an error.
    pub fn delete(&self, path: &str) -> Result<()> {
        testing::operation("delete", path)?;
        match self {
            Store::Local => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(io_error(Path::new(path), e))
                }
                _ => Ok(()),
            },
            Store::S3(store) => store.delete(path),
        }
    }

    /// Deletes a folder and everything in it; a missing folder is not an error.
    pub fn delete_folder(&self, path: &str) -> Result<()> {
        testing::operation("delete", path)?;
        match self {
            Store::Local => match std::fs::remove_dir_all(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(io_error(Path::new(path), e))
                }
                _ => Ok(()),
            },
            Store::S3(store) => store.delete_prefix(path),
        }
    }

    /// Removes a local folder if it is empty (S3 has no folders to remove).
    pub fn remove_empty_folder(&self, path: &str) {
        if let Store::Local = self {
            let _ = std::fs::remove_dir(path);
        }
    }

    /// The committed data files under a folder (see [`Store::list`]); none when it does not
    /// exist.
    pub fn list_or_empty(&self, location: &str) -> Result<Vec<FileEntry>> {
        let files = self.list_raw_or_empty(location)?;
        self.only_committed(location, files)
    }

    /// Every visible file under a folder, committed or not; none when it does not exist.
    pub fn list_raw_or_empty(&self, location: &str) -> Result<Vec<FileEntry>> {
        match self {
            Store::Local => {
                if !Path::new(location).exists() {
                    return Ok(Vec::new());
                }
                list_local(location)
            }
            Store::S3(store) => store.list_or_empty(location),
        }
    }
}

enum Scheme {
    Local(String),
    S3 { bucket: String },
}

fn scheme(location: &str) -> Result<Scheme> {
    if let Some(rest) = location.strip_prefix("file://") {
        return Ok(Scheme::Local(rest.to_string()));
    }
    let Some((scheme, rest)) = location.split_once("://") else {
        return Ok(Scheme::Local(location.to_string()));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "s3" | "s3a" => {
            let bucket = rest.split('/').next().unwrap_or_default();
            if bucket.is_empty() {
                return Err(EmberError::DataSource(format!(
                    "The location {location} names no bucket; write s3://bucket/path"
                )));
            }
            Ok(Scheme::S3 {
                bucket: bucket.to_string(),
            })
        }
        _ => Err(EmberError::NotSupported(format!(
            "reading '{scheme}://' locations ({location}); use a local path or s3://bucket/path"
        ))),
    }
}

/// Opens a local file positioned at `offset`.
pub(crate) fn open_local(path: &Path, offset: u64) -> Result<File> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    if offset > 0 {
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error(path, e))?;
    }
    Ok(file)
}

pub(crate) fn io_error(path: &Path, error: std::io::Error) -> EmberError {
    EmberError::io(path.display().to_string(), error)
}

/// Spark skips files and directories whose name starts with `.` or `_` (`_SUCCESS`, `.crc`).
pub(crate) fn is_hidden_name(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(is_hidden_name)
}

pub(crate) fn is_glob(location: &str) -> bool {
    location.contains(['*', '?', '['])
}

fn list_local(location: &str) -> Result<Vec<FileEntry>> {
    let mut files = Vec::new();
    if is_glob(location) {
        let paths = glob::glob(location).map_err(|e| {
            EmberError::DataSource(format!("Invalid glob pattern '{location}': {e}"))
        })?;
        let mut matched = false;
        for path in paths {
            let path =
                path.map_err(|e| EmberError::DataSource(format!("Cannot list '{location}': {e}")))?;
            matched = true;
            if is_hidden(&path) {
                continue;
            }
            add_path(&path, &mut files)?;
        }
        if !matched {
            return Err(EmberError::DataSource(format!(
                "No files match the pattern: {location}"
            )));
        }
    } else {
        let path = Path::new(location);
        if !path.exists() {
            return Err(EmberError::DataSource(format!(
                "Path does not exist: {location}"
            )));
        }
        add_path(path, &mut files)?;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// Adds a file, or every visible file under a directory.
fn add_path(path: &Path, files: &mut Vec<FileEntry>) -> Result<()> {
    let metadata = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if metadata.is_file() {
        files.push(FileEntry {
            path: path.to_path_buf(),
            size: metadata.len(),
        });
        return Ok(());
    }
    if metadata.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| io_error(path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(path, e))?;
            let child = entry.path();
            if !is_hidden(&child) {
                add_path(&child, files)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, bytes: &[u8]) -> Result<()> {
        std::fs::write(path, bytes).map_err(|e| io_error(path, e))
    }

    #[test]
    fn directories_are_listed_recursively_sorted_without_hidden_files() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| io_error(Path::new("tempdir"), e))?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("p=2")).map_err(|e| io_error(root, e))?;
        std::fs::create_dir_all(root.join("_temporary")).map_err(|e| io_error(root, e))?;
        touch(&root.join("b.csv"), b"1\n")?;
        touch(&root.join("a.csv"), b"12\n")?;
        touch(&root.join("p=2/c.csv"), b"3\n")?;
        touch(&root.join("_SUCCESS"), b"")?;
        touch(&root.join(".a.csv.crc"), b"x")?;
        touch(&root.join("_temporary/d.csv"), b"4\n")?;
        let files = Store::Local.list(&root.display().to_string())?;
        let names: Vec<_> = files
            .iter()
            .map(|f| f.path.strip_prefix(root).map(|p| p.display().to_string()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| EmberError::internal(e.to_string()))?;
        assert_eq!(names, vec!["a.csv", "b.csv", "p=2/c.csv"]);
        assert_eq!(files[0].size, 3);
        Ok(())
    }

    #[test]
    fn globs_match_files_and_report_empty_matches() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| io_error(Path::new("tempdir"), e))?;
        let root = dir.path();
        touch(&root.join("x1.parquet"), b"")?;
        touch(&root.join("x2.parquet"), b"")?;
        touch(&root.join("y.csv"), b"")?;
        let files = Store::Local.list(&format!("{}/*.parquet", root.display()))?;
        assert_eq!(files.len(), 2);
        assert!(files[0].path.ends_with("x1.parquet"));
        let pattern = format!("{}/*.orc", root.display());
        let message = Store::Local.list(&pattern).unwrap_err().to_string();
        assert_eq!(message, format!("No files match the pattern: {pattern}"));
        Ok(())
    }

    #[test]
    fn missing_paths_are_named() {
        let message = Store::Local.list("/no/such/dir").unwrap_err().to_string();
        assert_eq!(message, "Path does not exist: /no/such/dir");
    }

    #[test]
    fn schemes_other_than_file_and_s3_are_not_supported_yet() -> Result<()> {
        let conf = EmberConf::new();
        assert_eq!(Store::for_location("file:///tmp/x", &conf)?.1, "/tmp/x");
        let message = Store::for_location("gs://bucket/t", &conf)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("Not supported yet"), "{message}");
        let message = Store::for_location("s3:///t", &conf)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(message.contains("names no bucket"), "{message}");
        Ok(())
    }
}
