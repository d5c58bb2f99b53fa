//! S3 and S3-compatible stores through `object_store`.
//!
//! Settings come from `ember.s3.bucket.<bucket>.<key>`, then `ember.s3.<key>`, then the
//! variables AWS tools read (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, ...). The driver resolves them once per table and ships
//! them with the table's splits, so executors read with the same credentials. Secrets never
//! appear in `Debug` output or error messages.
//!
//! One `object_store` client per bucket and settings is kept for the life of the process (its
//! connection pool is reused by every task); a [`LimitStore`] bounds the requests in flight and
//! object_store retries throttled (503 SlowDown, 429) and transient failures with backoff.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Buf, Bytes};
use ember_common::config::{parse_duration, REDACTED};
use ember_common::{EmberConf, EmberError, Result};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::limit::LimitStore;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig};
use parquet::file::reader::{ChunkReader, Length};
use regex::Regex;

use super::io::{block_on, spawn};
use super::{is_glob, is_hidden_name, FileEntry, FileRead};

/// How Ember reaches one S3 bucket. Shipped with a table to the executors that read it.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct S3Settings {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub allow_http: bool,
    pub virtual_hosted_style: bool,
    pub anonymous: bool,
    pub max_connections: usize,
    pub max_retries: usize,
    pub retry_timeout_ms: u64,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |value: &Option<String>| value.as_ref().map(|_| REDACTED);
        f.debug_struct("S3Settings")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &secret(&self.access_key_id))
            .field("secret_access_key", &secret(&self.secret_access_key))
            .field("session_token", &secret(&self.session_token))
            .field("allow_http", &self.allow_http)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("anonymous", &self.anonymous)
            .field("max_connections", &self.max_connections)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout_ms", &self.retry_timeout_ms)
            .finish()
    }
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

impl S3Settings {
    /// The settings for `bucket`: per-bucket keys, then `ember.s3.*`, then the environment.
    pub fn resolve(bucket: &str, conf: &EmberConf) -> Result<S3Settings> {
        let get = |name: &str| {
            conf.get(&format!("ember.s3.bucket.{bucket}.{name}"))
                .or_else(|| conf.get(&format!("ember.s3.{name}")))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let flag = |name: &str, env_names: &[&str]| -> Result<bool> {
            let explicit = conf
                .get(&format!("ember.s3.bucket.{bucket}.{name}"))
                .or_else(|| conf.explicit_value(&format!("ember.s3.{name}")));
            match explicit.or_else(|| env(env_names)) {
                None => Ok(false),
                Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(EmberError::Config(format!(
                        "ember.s3.{name} expects true or false, got '{value}' (bucket {bucket})"
                    ))),
                },
            }
        };
        let number = |name: &str, default: u64| -> Result<u64> {
            match get(name) {
                None => Ok(default),
                Some(value) => value.parse().map_err(|_| {
                    EmberError::Config(format!(
                        "ember.s3.{name} expects a number, got '{value}' (bucket {bucket})"
                    ))
                }),
            }
        };
        // Credentials come as a set: from the configuration, or else from the environment.
        let (access_key_id, secret_access_key, session_token) = match get("accessKeyId") {
            Some(key) => (Some(key), get("secretAccessKey"), get("sessionToken")),
            None => (
                env(&["AWS_ACCESS_KEY_ID"]),
                env(&["AWS_SECRET_ACCESS_KEY"]),
                env(&["AWS_SESSION_TOKEN"]),
            ),
        };
        if access_key_id.is_some() != secret_access_key.is_some() {
            let missing = if access_key_id.is_some() {
                "a secret access key (ember.s3.secretAccessKey or AWS_SECRET_ACCESS_KEY)"
            } else {
                "an access key id (ember.s3.accessKeyId or AWS_ACCESS_KEY_ID)"
            };
            return Err(EmberError::Config(format!(
                "The credentials for bucket '{bucket}' lack {missing}"
            )));
        }
        let retry_timeout = match get("retryTimeout") {
            None => Duration::from_secs(60),
            Some(value) => parse_duration(&value).ok_or_else(|| {
                EmberError::Config(format!(
                    "ember.s3.retryTimeout expects a duration such as 60s, got '{value}'"
                ))
            })?,
        };
        let settings = S3Settings {
            region: get("region").or_else(|| env(&["AWS_REGION", "AWS_DEFAULT_REGION"])),
            endpoint: get("endpoint").or_else(|| env(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])),
            access_key_id,
            secret_access_key,
            session_token,
            allow_http: flag("allowHttp", &["AWS_ALLOW_HTTP"])?,
            virtual_hosted_style: flag("virtualHostedStyle", &[])?,
            anonymous: flag("anonymous", &[])?,
            max_connections: number("maxConnections", 32)?.max(1) as usize,
            max_retries: number("maxRetries", 5)? as usize,
            retry_timeout_ms: retry_timeout.as_millis() as u64,
        };
        if let Some(endpoint) = &settings.endpoint {
            if endpoint.to_ascii_lowercase().starts_with("http://") && !settings.allow_http {
                return Err(EmberError::Config(format!(
                    "The S3 endpoint {endpoint} for bucket '{bucket}' is plain HTTP; allow it with \
                     SET ember.s3.allowHttp=true (or ember.s3.bucket.{bucket}.allowHttp), or use https://"
                )));
            }
        }
        Ok(settings)
    }

    /// Replaces any secret that made it into a message (a server echoing a request) by
    /// [`REDACTED`].
    fn scrub(&self, message: String) -> String {
        let mut message = message;
        for secret in [&self.secret_access_key, &self.session_token]
            .into_iter()
            .flatten()
            .filter(|s| s.len() >= 4)
        {
            message = message.replace(secret.as_str(), REDACTED);
        }
        message
    }
}

/// One bucket's client.
pub(crate) struct S3Store {
    bucket: String,
    settings: S3Settings,
    store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("settings", &self.settings)
            .finish()
    }
}

type StoreCache = Mutex<HashMap<(String, S3Settings), Arc<S3Store>>>;

impl S3Store {
    /// The client for `bucket` with `settings`, built once per process.
    pub fn get(bucket: &str, settings: S3Settings) -> Result<Arc<S3Store>> {
        static STORES: OnceLock<StoreCache> = OnceLock::new();
        let cache = STORES.get_or_init(Default::default);
        let key = (bucket.to_string(), settings);
        let mut stores = cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = stores.get(&key) {
            return Ok(Arc::clone(store));
        }
        let store = Arc::new(S3Store::build(bucket, key.1.clone())?);
        stores.insert(key, Arc::clone(&store));
        Ok(store)
    }

    fn build(bucket: &str, settings: S3Settings) -> Result<S3Store> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_allow_http(settings.allow_http)
            .with_virtual_hosted_style_request(settings.virtual_hosted_style)
            .with_skip_signature(settings.anonymous)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: settings.max_retries,
                retry_timeout: Duration::from_millis(settings.retry_timeout_ms),
            });
        builder = builder.with_region(settings.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(key), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
            if let Some(token) = &settings.session_token {
                builder = builder.with_token(token);
            }
        }
        let client = builder.build().map_err(|e| {
            EmberError::Config(format!(
                "Cannot set up S3 access for bucket '{bucket}': {}",
                settings.scrub(e.to_string())
            ))
        })?;
        let store: Arc<dyn ObjectStore> =
            Arc::new(LimitStore::new(client, settings.max_connections));
        Ok(S3Store {
            bucket: bucket.to_string(),
            settings,
            store,
        })
    }

    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    /// The key of an `s3://bucket/key` URL of this bucket.
    fn key(&self, url: &str) -> Result<String> {
        let rest = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
        match rest.split_once('/') {
            Some((bucket, key)) if bucket == self.bucket => Ok(key.to_string()),
            None if rest == self.bucket => Ok(String::new()),
            _ => Err(EmberError::internal(format!(
                "{url} is not in bucket '{}'",
                self.bucket
            ))),
        }
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn object_path(&self, url: &str) -> Result<ObjectPath> {
        let key = self.key(url)?;
        ObjectPath::parse(&key)
            .map_err(|e| EmberError::DataSource(format!("{url} is not a valid object key: {e}")))
    }

    /// An object_store error as a message that names the object and bucket but no secret.
    fn error(&self, action: &str, url: &str, error: object_store::Error) -> EmberError {
        match error {
            object_store::Error::NotFound { .. } => {
                EmberError::DataSource(format!("Path does not exist: {url}"))
            }
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => {
                self.denied(url, &source.to_string())
            }
            // Listing reports a refusal as a generic error carrying the status.
            other if is_denial(&other.to_string()) => self.denied(url, &other.to_string()),
            other => EmberError::DataSource(
                self.settings
                    .scrub(format!("Cannot {action} {url}: {other}")),
            ),
        }
    }

    fn denied(&self, url: &str, detail: &str) -> EmberError {
        let reason = s3_reason(detail);
        let bucket = &self.bucket;
        EmberError::DataSource(self.settings.scrub(format!(
            "Access to {url} was denied ({reason}). Check the credentials Ember uses for \
             bucket '{bucket}': ember.s3.bucket.{bucket}.accessKeyId and .secretAccessKey, \
             ember.s3.accessKeyId and ember.s3.secretAccessKey, or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY"
        )))
    }

    /// Lists a location as [`super::Store::list`] does.
    pub fn list(&self, location: &str) -> Result<Vec<FileEntry>> {
        let key = self.key(location)?;
        let mut files = if is_glob(&key) {
            self.list_glob(location, &key)?
        } else {
            self.list_prefix(location, &key)?
        };
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        Ok(files)
    }

    /// Every object under `prefix` (a "directory"), as (key, size).
    fn list_all(&self, prefix: &str, location: &str) -> Result<Vec<(String, u64)>> {
        let store = Arc::clone(&self.store);
        // Keys as S3 spells them (no re-encoding of `%`, `~`, ...).
        let prefix = match prefix.trim_end_matches('/') {
            "" => None,
            key => Some(ObjectPath::parse(key).map_err(|e| {
                EmberError::DataSource(format!("{location} is not a valid object key: {e}"))
            })?),
        };
        let listed = block_on(async move {
            store
                .list(prefix.as_ref())
                .map_ok(|meta| (meta.location.to_string(), meta.size))
                .try_collect::<Vec<_>>()
                .await
        })?;
        listed.map_err(|e| self.error("list", location, e))
    }

    /// The visible objects under the "folder" `key` (none if there is no such folder).
    fn visible_under(&self, location: &str, key: &str) -> Result<Vec<FileEntry>> {
        let base = key.trim_end_matches('/');
        let depth = if base.is_empty() {
            0
        } else {
            base.split('/').count()
        };
        Ok(self
            .list_all(base, location)?
            .into_iter()
            .filter(|(object, _)| {
                !object.ends_with('/') && !object.split('/').skip(depth).any(is_hidden_name)
            })
            .map(|(object, size)| FileEntry {
                path: self.url(&object).into(),
                size,
            })
            .collect())
    }

    fn list_prefix(&self, location: &str, key: &str) -> Result<Vec<FileEntry>> {
        let base = key.trim_end_matches('/');
        let mut files = self.visible_under(location, key)?;
        if files.is_empty() && !base.is_empty() {
            // Not a directory: a single object, or nothing.
            let store = Arc::clone(&self.store);
            let path = self.object_path(location)?;
            let head = block_on(async move { store.head(&path).await })?;
            match head {
                Ok(meta) => files.push(FileEntry {
                    path: self.url(meta.location.as_ref()).into(),
                    size: meta.size,
                }),
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(EmberError::DataSource(format!(
                        "Path does not exist: {location}"
                    )))
                }
                Err(e) => return Err(self.error("read", location, e)),
            }
        }
        Ok(files)
    }

    /// Objects matching a glob: `*`, `?` and `[...]` match within one path segment; an object
    /// under a matching "directory" is included.
    fn list_glob(&self, location: &str, key: &str) -> Result<Vec<FileEntry>> {
        let segments: Vec<&str> = key.trim_end_matches('/').split('/').collect();
        let literal = segments.iter().take_while(|s| !is_glob(s)).count();
        let base = segments[..literal].join("/");
        let pattern = glob::Pattern::new(&segments.join("/")).map_err(|e| {
            EmberError::DataSource(format!("Invalid glob pattern '{location}': {e}"))
        })?;
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        let mut files = Vec::new();
        let mut matched = false;
        for (object, size) in self.list_all(&base, location)? {
            let parts: Vec<&str> = object.split('/').collect();
            if parts.len() < segments.len() || object.ends_with('/') {
                continue;
            }
            if !pattern.matches_with(&parts[..segments.len()].join("/"), options) {
                continue;
            }
            matched = true;
            if parts[literal..].iter().any(|p| is_hidden_name(p)) {
                continue;
            }
            files.push(FileEntry {
                path: self.url(&object).into(),
                size,
            });
        }
        if !matched {
            return Err(EmberError::DataSource(format!(
                "No files match the pattern: {location}"
            )));
        }
        Ok(files)
    }

    /// Streams an object from `offset` to its end. Chunks arrive as the store sends them; a
    /// reader dropped early stops the transfer.
    pub fn open_at(self: &Arc<Self>, path: &FsPath, offset: u64) -> Result<FileRead> {
        let url = path.to_string_lossy().into_owned();
        let object = self.object_path(&url)?;
        let (sender, receiver) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
        let this = Arc::clone(self);
        let task_url = url.clone();
        spawn(async move {
            let options = GetOptions {
                range: (offset > 0).then_some(GetRange::Offset(offset)),
                ..GetOptions::default()
            };
            let to_io = |e: EmberError| io::Error::other(e.to_string());
            let result = match this.store.get_opts(&object, options).await {
                Ok(result) => result,
                Err(e) => {
                    let _ = sender
                        .send(Err(to_io(this.error("read", &task_url, e))))
                        .await;
                    return;
                }
            };
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| to_io(this.error("read", &task_url, e)));
                let failed = chunk.is_err();
                if sender.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        })?;
        Ok(Box::new(ObjectRead {
            receiver,
            chunk: Bytes::new(),
            finished: false,
        }))
    }

    /// A Parquet reader over an object that has fetched its last 64 KiB (the footer, usually
    /// with the metadata) in one request.
    pub fn chunk_reader(self: &Arc<Self>, path: &FsPath, size: u64) -> Result<ObjectChunks> {
        let url = path.to_string_lossy().into_owned();
        let tail = size.min(FOOTER_PREFETCH_BYTES);
        let mut reader = ObjectChunks {
            store: Arc::clone(self),
            object: self.object_path(&url)?,
            url,
            size,
            fetched: Vec::new(),
        };
        if tail > 0 {
            let footer = size - tail..size;
            reader = reader.prefetch(std::iter::once(footer).collect())?;
        }
        Ok(reader)
    }
}

/// Writing, renaming and deleting objects (table writers and their commit).
impl S3Store {
    /// A writer that uploads an object: one PUT when it stays small, else a multipart upload
    /// of [`UPLOAD_PART_BYTES`] parts. Nothing is visible until [`ObjectWrite::finish`].
    pub fn create(self: &Arc<Self>, url: &str) -> Result<ObjectWrite> {
        Ok(ObjectWrite {
            store: Arc::clone(self),
            object: self.object_path(url)?,
            url: url.to_string(),
            buffer: Vec::new(),
            upload: None,
        })
    }

    /// Moves an object (S3 copies, then deletes the source).
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let store = Arc::clone(&self.store);
        let (source, target) = (self.object_path(from)?, self.object_path(to)?);
        block_on(async move { store.rename(&source, &target).await })?
            .map_err(|e| self.error("move", from, e))
    }

    /// Deletes every object under a prefix (a "folder").
    pub fn delete_prefix(&self, url: &str) -> Result<()> {
        let key = self.key(url)?;
        let objects = self.list_all(&key, url)?;
        for (object, _) in objects {
            self.delete(&self.url(&object))?;
        }
        Ok(())
    }

    /// Deletes one object.
    pub fn delete(&self, url: &str) -> Result<()> {
        let store = Arc::clone(&self.store);
        let object = self.object_path(url)?;
        match block_on(async move { store.delete(&object).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", url, e)),
        }
    }

    /// The visible data files under a location, or none if nothing is there.
    pub fn list_or_empty(&self, location: &str) -> Result<Vec<FileEntry>> {
        self.visible_under(location, &self.key(location)?)
    }
}

/// Size of the parts of a multipart upload (S3 wants at least 5 MiB but the last).
const UPLOAD_PART_BYTES: usize = 16 * 1024 * 1024;

/// `Write` into an S3 object (see [`S3Store::create`]); dropped without `finish`, the upload is
/// aborted and no object appears.
pub(crate) struct ObjectWrite {
    store: Arc<S3Store>,
    object: ObjectPath,
    url: String,
    buffer: Vec<u8>,
    upload: Option<Box<dyn object_store::MultipartUpload>>,
}

impl ObjectWrite {
    /// The object's `s3://bucket/key` URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn upload_part(&mut self) -> io::Result<()> {
        let to_io = |e: EmberError| io::Error::other(e.to_string());
        let mut upload = match self.upload.take() {
            Some(upload) => upload,
            None => {
                let store = Arc::clone(&self.store.store);
                let object = self.object.clone();
                block_on(async move { store.put_multipart(&object).await })
                    .map_err(to_io)?
                    .map_err(|e| to_io(self.store.error("write", &self.url, e)))?
            }
        };
        let part = upload.put_part(std::mem::take(&mut self.buffer).into());
        let result = block_on(part).map_err(to_io)?;
        self.upload = Some(upload);
        result.map_err(|e| to_io(self.store.error("write", &self.url, e)))
    }

    /// Completes the object; returns its size.
    pub fn finish(mut self) -> Result<()> {
        match self.upload.take() {
            None => {
                let store = Arc::clone(&self.store.store);
                let object = self.object.clone();
                let payload = std::mem::take(&mut self.buffer).into();
                block_on(async move { store.put(&object, payload).await })?
                    .map_err(|e| self.store.error("write", &self.url, e))?;
            }
            Some(mut upload) => {
                if !self.buffer.is_empty() {
                    let part = upload.put_part(std::mem::take(&mut self.buffer).into());
                    block_on(part)?.map_err(|e| self.store.error("write", &self.url, e))?;
                }
                block_on(async move { upload.complete().await.map(|_| ()) })?
                    .map_err(|e| self.store.error("write", &self.url, e))?;
            }
        }
        Ok(())
    }
}

impl io::Write for ObjectWrite {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= UPLOAD_PART_BYTES {
            self.upload_part()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWrite {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            let _ = spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

const FOOTER_PREFETCH_BYTES: u64 = 64 * 1024;

/// Whether an error message reports a 401 or 403 answer.
fn is_denial(text: &str) -> bool {
    text.contains("403 Forbidden") || text.contains("401 Unauthorized")
}

/// What went wrong, from an S3 error body (`<Code>SignatureDoesNotMatch</Code>`) or the status.
fn s3_reason(text: &str) -> String {
    let code = Regex::new(r"<Code>([^<]+)</Code>")
        .ok()
        .and_then(|re| re.captures(text))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string());
    if let Some(code) = code {
        return code;
    }
    Regex::new(r"status (\d{3}[^:,]*)")
        .ok()
        .and_then(|re| re.captures(text))
        .and_then(|c| c.get(1))
        .map_or_else(
            || "access denied".to_string(),
            |m| m.as_str().trim().to_string(),
        )
}

/// `Read` over the chunks an I/O task streams.
struct ObjectRead {
    receiver: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    chunk: Bytes,
    finished: bool,
}

impl Read for ObjectRead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.finished || out.is_empty() {
                return Ok(0);
            }
            match futures::executor::block_on(self.receiver.recv()) {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                None => self.finished = true,
            }
        }
        let n = self.chunk.len().min(out.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// Parquet's `ChunkReader` over an object: byte ranges fetched ahead ([`ObjectChunks::prefetch`],
/// the footer, a row group's column chunks) are served from memory; anything else is a ranged
/// GET.
#[derive(Clone)]
pub(crate) struct ObjectChunks {
    store: Arc<S3Store>,
    object: ObjectPath,
    url: String,
    size: u64,
    fetched: Vec<(u64, Bytes)>,
}

impl fmt::Debug for ObjectChunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectChunks")
            .field("url", &self.url)
            .field("size", &self.size)
            .finish()
    }
}

impl ObjectChunks {
    /// A reader holding exactly `ranges` of the object, fetched with as few requests as
    /// object_store's coalescing allows (ranges close together become one GET).
    pub fn prefetch(&self, ranges: Vec<Range<u64>>) -> Result<ObjectChunks> {
        let store = Arc::clone(&self.store.store);
        let object = self.object.clone();
        let requested = ranges.clone();
        let fetched = block_on(async move { store.get_ranges(&object, &requested).await })?
            .map_err(|e| self.store.error("read", &self.url, e))?;
        Ok(ObjectChunks {
            store: Arc::clone(&self.store),
            object: self.object.clone(),
            url: self.url.clone(),
            size: self.size,
            fetched: ranges.iter().map(|r| r.start).zip(fetched).collect(),
        })
    }

    fn cached(&self, start: u64, length: u64) -> Option<Bytes> {
        self.fetched.iter().find_map(|(offset, bytes)| {
            let end = offset + bytes.len() as u64;
            (start >= *offset && start + length <= end).then(|| {
                let from = (start - offset) as usize;
                bytes.slice(from..from + length as usize)
            })
        })
    }

    fn fetch(&self, range: Range<u64>) -> parquet::errors::Result<Bytes> {
        let store = Arc::clone(&self.store.store);
        let object = self.object.clone();
        let requested = range.clone();
        let fetched = block_on(async move { store.get_range(&object, requested).await })
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        fetched.map_err(|e| {
            let error = self.store.error("read", &self.url, e);
            parquet::errors::ParquetError::External(Box::new(error))
        })
    }
}

impl Length for ObjectChunks {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for ObjectChunks {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        // A page header: served from the fetched column chunk that holds it.
        let held = self.fetched.iter().find_map(|(offset, bytes)| {
            let end = offset + bytes.len() as u64;
            (start >= *offset && start < end).then(|| bytes.slice((start - offset) as usize..))
        });
        match held {
            Some(bytes) => Ok(bytes.reader()),
            None => {
                let end = self.size.min(start + FOOTER_PREFETCH_BYTES);
                Ok(self.fetch(start..end)?.reader())
            }
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self.cached(start, length as u64) {
            Some(bytes) => Ok(bytes),
            None => self.fetch(start..start + length as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_bucket_keys_then_global_keys() -> Result<()> {
        let mut conf = EmberConf::new();
        conf.set("ember.s3.region", "eu-west-1")?;
        conf.set("ember.s3.accessKeyId", "AKIAGLOBAL")?;
        conf.set("ember.s3.secretAccessKey", "global-secret")?;
        conf.set("ember.s3.bucket.special.accessKeyId", "AKIASPECIAL")?;
        conf.set("ember.s3.bucket.special.secretAccessKey", "special-secret")?;
        conf.set("ember.s3.bucket.special.endpoint", "http://127.0.0.1:9000")?;
        conf.set("ember.s3.bucket.special.allowHttp", "true")?;
        let plain = S3Settings::resolve("plain", &conf)?;
        assert_eq!(plain.region.as_deref(), Some("eu-west-1"));
        assert_eq!(plain.access_key_id.as_deref(), Some("AKIAGLOBAL"));
        assert!(!plain.allow_http);
        assert_eq!(plain.max_connections, 32);
        let special = S3Settings::resolve("special", &conf)?;
        assert_eq!(special.access_key_id.as_deref(), Some("AKIASPECIAL"));
        assert_eq!(special.secret_access_key.as_deref(), Some("special-secret"));
        assert!(special.allow_http);
        let shown = format!("{special:?}");
        assert!(!shown.contains("special-secret"), "{shown}");
        assert!(!shown.contains("AKIASPECIAL"), "{shown}");
        Ok(())
    }

    #[test]
    fn plain_http_needs_allow_http_and_keys_come_in_pairs() -> Result<()> {
        let mut conf = EmberConf::new();
        conf.set("ember.s3.endpoint", "http://localhost:9000")?;
        conf.set("ember.s3.accessKeyId", "a")?;
        conf.set("ember.s3.secretAccessKey", "b")?;
        let message = S3Settings::resolve("b", &conf).unwrap_err().to_string();
        assert!(message.contains("ember.s3.allowHttp=true"), "{message}");
        conf.set("ember.s3.allowHttp", "true")?;
        assert!(S3Settings::resolve("b", &conf)?.allow_http);
        conf.unset("ember.s3.secretAccessKey");
        let message = S3Settings::resolve("b", &conf).unwrap_err().to_string();
        assert!(message.contains("lack a secret access key"), "{message}");
        Ok(())
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let settings = S3Settings {
            secret_access_key: Some("very-secret".into()),
            ..S3Settings::default()
        };
        assert_eq!(
            settings.scrub("echo very-secret here".into()),
            format!("echo {REDACTED} here")
        );
        assert_eq!(
            s3_reason("Client error with status 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code></Error>"),
            "SignatureDoesNotMatch"
        );
    }
}
