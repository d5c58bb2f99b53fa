//! Configuration keys (`ember.*`, with `spark.*` accepted as aliases) and their defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::{EmberError, Result};

/// One documented configuration key.
#[derive(Debug, Clone, Copy)]
pub struct ConfigEntry {
    pub key: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// Every key Ember reads. `SET -v` and the README list these.
pub const ENTRIES: &[ConfigEntry] = &[
    ConfigEntry {
        key: "ember.master",
        default: "local[*]",
        doc: "Where tasks run: local, local[N] or local[*] (threads of this process); local-cluster[E,C,M] (E executor processes of C cores and M MiB started on loopback); ember://HOST:PORT (this driver listens there and `ember executor --driver HOST:PORT` processes join it).",
    },
    ConfigEntry {
        key: "ember.testing.panicAt",
        default: "",
        doc: "Fault injection for tests: `planning` makes every query panic while it is optimized, to show that a panic becomes an internal error naming the statement (never a crash or an empty result). Empty (the default) injects nothing.",
    },
    ConfigEntry {
        key: "ember.testing.killExecutor",
        default: "",
        doc: "Fault injection for tests in cluster mode: `<point>[:<n>][/<label>]` makes the executor running the n-th task (from 0) that reaches the point die there, as with SIGKILL. Points: register, launch, fetch, shuffleWrite.before, shuffleWrite.during, shuffleWrite.after, mapOutput.registered. Each new value arms one kill; the label only makes a value new.",
    },
    ConfigEntry {
        key: "ember.executor.maxRelaunches",
        default: "10",
        doc: "local-cluster replaces an executor process it lost with a new one, at most this many times per application.",
    },
    ConfigEntry {
        key: "ember.authenticate",
        default: "true",
        doc: "Cluster mode: every call between driver and executors (registration, task launch, shuffle fetch) must prove knowledge of ember.authenticate.secret. false only on a trusted network.",
    },
    ConfigEntry {
        key: "ember.authenticate.secret",
        default: "",
        doc: "The cluster's shared secret (also EMBER_AUTHENTICATE_SECRET), the same on the driver and every executor; local-cluster makes one up. Never shown, never sent over the network.",
    },
    ConfigEntry {
        key: "ember.ssl.enabled",
        default: "false",
        doc: "Cluster mode: calls between driver and executors (tasks, shuffle blocks) run over TLS, with ember.ssl.certFile / ember.ssl.keyFile as this process's certificate and ember.ssl.trustFile as the CA its peers' certificates are checked against (local-cluster passes them on to its executors).",
    },
    ConfigEntry {
        key: "ember.ssl.certFile",
        default: "",
        doc: "PEM certificate chain this process serves the cluster's calls with (ember.ssl.enabled).",
    },
    ConfigEntry {
        key: "ember.ssl.keyFile",
        default: "",
        doc: "PEM private key of ember.ssl.certFile.",
    },
    ConfigEntry {
        key: "ember.ssl.trustFile",
        default: "",
        doc: "PEM CA certificate(s) the peers' certificates must be signed by.",
    },
    ConfigEntry {
        key: "ember.executor.instances",
        default: "0",
        doc: "Executors an ember:// driver expects; it waits for ember.scheduler.minRegisteredResourcesRatio of them before scheduling (local-cluster[E,..] expects E).",
    },
    ConfigEntry {
        key: "ember.scheduler.minRegisteredResourcesRatio",
        default: "0.8",
        doc: "Share of the expected executors that must register before the first job is scheduled.",
    },
    ConfigEntry {
        key: "ember.scheduler.maxRegisteredResourcesWaitingTime",
        default: "30s",
        doc: "Longest wait for executors to register before scheduling starts anyway.",
    },
    ConfigEntry {
        key: "ember.executor.heartbeatInterval",
        default: "10s",
        doc: "How often an executor tells the driver it is alive.",
    },
    ConfigEntry {
        key: "ember.network.timeout",
        default: "120s",
        doc: "An executor without a heartbeat for this long is removed, and its shuffle outputs and cached partitions are recomputed; an executor that cannot reach its driver for this long exits.",
    },
    ConfigEntry {
        key: "ember.locality.wait",
        default: "3s",
        doc: "How long a task waits for the busy executor holding its cached partition before it runs elsewhere (and recomputes the partition there).",
    },
    ConfigEntry {
        key: "ember.speculation",
        default: "false",
        doc: "Run a copy of a task that is far slower than the rest of its stage on another executor, and keep whichever finishes first.",
    },
    ConfigEntry {
        key: "ember.speculation.multiplier",
        default: "1.5",
        doc: "How many times slower than its stage's median task a task must be to get a speculative copy.",
    },
    ConfigEntry {
        key: "ember.speculation.quantile",
        default: "0.75",
        doc: "Share of a stage's tasks that must have finished before speculation starts for it.",
    },
    ConfigEntry {
        key: "ember.executor.binary",
        default: "",
        doc: "The program local-cluster starts for each executor; empty means this ember program (or an ember beside it).",
    },
    ConfigEntry {
        key: "ember.driver.maxResultSize",
        default: "1g",
        doc: "The largest result (bytes of its Arrow batches, or `1g`, `512m`) one job may bring to the driver, as Spark's spark.driver.maxResultSize: a larger one fails with an error saying so instead of exhausting the driver's memory. Results streamed to the shell or a Flight SQL client count per job of ember.sql.incrementalCollect.partitions partitions. 0 means no limit.",
    },
    ConfigEntry {
        key: "ember.sql.incrementalCollect.partitions",
        default: "0",
        doc: "Results streamed to the shell or a Flight SQL client are computed as one job per this many partitions, in partition order, two such jobs at a time (as Spark's Thrift server's incremental collect): the driver holds at most two jobs' results however slowly the client reads. 0 means the executors' total cores.",
    },
    ConfigEntry {
        key: "ember.sql.cli.maxRows",
        default: "40",
        doc: "The shell shows at most this many rows of a result on a terminal (saying how many there were); to a pipe or a file it writes all of them. 0 means the default.",
    },
    ConfigEntry {
        key: "ember.server.maxRequestSize",
        default: "16777216",
        doc: "The largest request `ember server` accepts (bytes, or `16m`); a larger statement or parameter batch is refused with an error naming both sizes. 0 means the default.",
    },
    ConfigEntry {
        key: "ember.server.auth",
        default: "password",
        doc: "How `ember server` authenticates Flight SQL clients: password (Basic user/password handshake, then a bearer token) or none (anyone who reaches the port).",
    },
    ConfigEntry {
        key: "ember.server.user",
        default: "ember",
        doc: "The user name Flight SQL clients log in with (ember.server.auth=password).",
    },
    ConfigEntry {
        key: "ember.server.password",
        default: "",
        doc: "The password Flight SQL clients log in with; also read from EMBER_SERVER_PASSWORD. Required when ember.server.auth=password. Never shown by SET.",
    },
    ConfigEntry {
        key: "ember.server.tls.cert",
        default: "",
        doc: "A PEM certificate (chain) file: with ember.server.tls.key, `ember server` serves Flight SQL over TLS.",
    },
    ConfigEntry {
        key: "ember.server.tls.key",
        default: "",
        doc: "The PEM private key of ember.server.tls.cert.",
    },
    ConfigEntry {
        key: "ember.sql.shuffle.partitions",
        default: "0",
        doc: "Partitions of every shuffle (aggregation, join, window). 0 means twice the executor cores.",
    },
    ConfigEntry {
        key: "ember.sql.session.timeZone",
        default: "",
        doc: "The session time zone (`America/Los_Angeles`, `+08:00`, `UTC`): TIMESTAMP (LTZ) values are instants shown, parsed and split into fields in it. Empty: this machine's zone, as Spark takes the JVM's.",
    },
    ConfigEntry {
        key: "ember.sql.timestampType",
        default: "TIMESTAMP_LTZ",
        doc: "What TIMESTAMP means in types, literals and casts: TIMESTAMP_LTZ (an instant shown in the session time zone, Spark's default) or TIMESTAMP_NTZ (a wall-clock time).",
    },
    ConfigEntry {
        key: "ember.sql.ansi.enabled",
        default: "true",
        doc: "ANSI mode: overflow, division by zero and invalid casts raise errors instead of returning NULL.",
    },
    ConfigEntry {
        key: "ember.sql.files.maxPartitionBytes",
        default: "134217728",
        doc: "Largest byte range of a splittable file (CSV) read by one task.",
    },
    ConfigEntry {
        key: "ember.default.parallelism",
        default: "0",
        doc: "How many cores file splits are sized for (Spark's spark.default.parallelism): a table's total size divided by this, within 4 MB and ember.sql.files.maxPartitionBytes. 0 means the executor cores.",
    },
    ConfigEntry {
        key: "ember.sql.batchSize",
        default: "8192",
        doc: "Rows per Arrow record batch read from files.",
    },
    ConfigEntry {
        key: "ember.task.maxFailures",
        default: "4",
        doc: "Attempts of one task before its stage, and so the job, fails.",
    },
    ConfigEntry {
        key: "ember.executor.memory",
        default: "1073741824",
        doc: "Memory of each executor (bytes, or 512m, 4g); 60% of it holds cached (CACHE TABLE) partitions, least recently used ones of other tables are evicted beyond that.",
    },
    ConfigEntry {
        key: "ember.shuffle.memoryFraction.bytes",
        default: "1073741824",
        doc: "Bytes of shuffle blocks an executor keeps in memory before spilling blocks to ember.local.dir.",
    },
    ConfigEntry {
        key: "ember.local.dir",
        default: "",
        doc: "Directory for spilled shuffle blocks. Empty means the system temporary directory.",
    },
    ConfigEntry {
        key: "ember.sql.autoBroadcastJoinThreshold",
        default: "10485760",
        doc: "Largest estimated size in bytes (10m, 1g...) of a join side that is broadcast to every task of the other side instead of shuffling both; -1 turns broadcast joins off.",
    },
    ConfigEntry {
        key: "ember.sql.verifyTaskSerialization",
        default: "false",
        doc: "Send every stage fragment through the task wire format (protobuf) and run the decoded copy, as executor processes will; checks that every plan can travel.",
    },
    ConfigEntry {
        key: "ember.s3.accessKeyId",
        default: "",
        doc: "The access key for s3:// paths; else AWS_ACCESS_KEY_ID, else the AWS credential chain (web identity, container, instance profile). Any ember.s3.* key can be set for one bucket as ember.s3.bucket.<bucket>.<key>.",
    },
    ConfigEntry {
        key: "ember.s3.secretAccessKey",
        default: "",
        doc: "The secret key for s3:// paths; else AWS_SECRET_ACCESS_KEY. Never shown by SET, in logs, EXPLAIN or errors.",
    },
    ConfigEntry {
        key: "ember.s3.sessionToken",
        default: "",
        doc: "A session token for temporary credentials; else AWS_SESSION_TOKEN.",
    },
    ConfigEntry {
        key: "ember.s3.region",
        default: "",
        doc: "The bucket's region; else AWS_REGION or AWS_DEFAULT_REGION, else us-east-1.",
    },
    ConfigEntry {
        key: "ember.s3.endpoint",
        default: "",
        doc: "The endpoint of an S3-compatible store (http://host:port); else AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS.",
    },
    ConfigEntry {
        key: "ember.s3.allowHttp",
        default: "false",
        doc: "Allow a plain-HTTP endpoint (an S3-compatible store on a trusted network); else only HTTPS is used.",
    },
    ConfigEntry {
        key: "ember.s3.virtualHostedStyle",
        default: "false",
        doc: "Address buckets as bucket.endpoint (virtual-hosted style) instead of endpoint/bucket (path style).",
    },
    ConfigEntry {
        key: "ember.s3.anonymous",
        default: "false",
        doc: "Send unsigned requests (public buckets); no credentials are looked up.",
    },
    ConfigEntry {
        key: "ember.s3.maxConnections",
        default: "32",
        doc: "Most requests one process has in flight to one bucket at a time.",
    },
    ConfigEntry {
        key: "ember.s3.maxRetries",
        default: "5",
        doc: "Retries of a request that failed with a throttling (503 SlowDown, 429) or transient error, with exponential backoff.",
    },
    ConfigEntry {
        key: "ember.s3.retryTimeout",
        default: "60s",
        doc: "Longest time spent retrying one request.",
    },
    ConfigEntry {
        key: "ember.sql.warehouse.dir",
        default: "spark-warehouse",
        doc: "Where CREATE TABLE ... AS SELECT without a LOCATION writes the table: <dir>/<table name> (a local folder or s3://bucket/prefix).",
    },
    ConfigEntry {
        key: "ember.sql.caseSensitive",
        default: "false",
        doc: "Whether column and table names are case sensitive (Spark's default: not).",
    },
];

/// A set of configuration values: defaults overlaid by `--conf` and `SET`.
#[derive(Clone, Default)]
pub struct EmberConf {
    values: BTreeMap<String, String>,
}

/// Shown instead of a secret's value, as Spark shows redacted settings.
pub const REDACTED: &str = "*********(redacted)";

/// Keys whose values are secrets (Spark's `spark.redaction.regex`: secret, password, token,
/// access key): `SET` and `Debug` show [`REDACTED`] instead of their values.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["secret", "password", "token", "accesskey", "access.key"]
        .iter()
        .any(|word| key.contains(word))
}

/// The value as `SET` may show it: [`REDACTED`] for a non-empty secret.
pub fn display_value(key: &str, value: &str) -> String {
    if is_secret_key(key) && !value.is_empty() {
        REDACTED.to_string()
    } else {
        value.to_string()
    }
}

impl fmt::Debug for EmberConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.iter().map(|(k, v)| (k, display_value(k, v))))
            .finish()
    }
}

/// The session time zone: `ember.sql.session.timeZone`, else this machine's zone (`TZ`, then
/// the system's setting), else `UTC`.
pub fn session_time_zone(conf: &EmberConf) -> String {
    if let Some(zone) = conf
        .get("ember.sql.session.timeZone")
        .filter(|z| !z.is_empty())
    {
        return zone;
    }
    machine_time_zone()
}

fn machine_time_zone() -> String {
    let valid = |z: &str| z.parse::<arrow::array::timezone::Tz>().is_ok();
    std::env::var("TZ")
        .ok()
        .map(|z| z.trim_start_matches(':').to_string())
        .filter(|z| !z.is_empty() && valid(z))
        .or_else(|| iana_time_zone::get_timezone().ok().filter(|z| valid(z)))
        .unwrap_or_else(|| "UTC".to_string())
}

/// `spark.sql.shuffle.partitions` and `ember.sql.shuffle.partitions` name the same setting.
pub fn normalize_key(key: &str) -> String {
    let key = key.trim();
    match key.strip_prefix("spark.") {
        Some(rest) => format!("ember.{rest}"),
        None => key.to_string(),
    }
}

impl EmberConf {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key. Known keys are checked for the right kind of value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let key = normalize_key(key);
        let value = value.trim().to_string();
        if let Some(entry) = ENTRIES.iter().find(|e| e.key == key) {
            let expects_number = entry.default.parse::<i64>().is_ok();
            let expects_bool = entry.default == "true" || entry.default == "false";
            if expects_number && parse_bytes(&value).is_none() && value.parse::<i64>().is_err() {
                return Err(EmberError::Config(format!(
                    "{key} expects a number, got '{value}'"
                )));
            }
            if expects_bool && parse_bool(&value).is_none() {
                return Err(EmberError::Config(format!(
                    "{key} expects true or false, got '{value}'"
                )));
            }
        }
        if key == "ember.sql.session.timeZone"
            && !value.is_empty()
            && value.parse::<arrow::array::timezone::Tz>().is_err()
        {
            return Err(EmberError::Config(format!(
                "[INVALID_CONF_VALUE.TIME_ZONE] The value '{value}' in the config \"{key}\" is invalid: not a time zone; use a region such as America/Los_Angeles, an offset such as +08:00, or UTC"
            )));
        }
        if key == "ember.sql.timestampType"
            && !matches!(
                value.to_uppercase().as_str(),
                "TIMESTAMP_LTZ" | "TIMESTAMP_NTZ"
            )
        {
            return Err(EmberError::Config(format!(
                "{key} expects TIMESTAMP_LTZ or TIMESTAMP_NTZ, got '{value}'"
            )));
        }
        self.values.insert(key, value);
        Ok(())
    }

    pub fn unset(&mut self, key: &str) {
        self.values.remove(&normalize_key(key));
    }

    /// The value set for a key, or its default for a known key.
    pub fn get(&self, key: &str) -> Option<String> {
        let key = normalize_key(key);
        self.values.get(&key).cloned().or_else(|| {
            ENTRIES
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.default.to_string())
        })
    }

    /// The value set for a key with `--conf` or `SET`, ignoring defaults.
    pub fn explicit_value(&self, key: &str) -> Option<String> {
        self.values.get(&normalize_key(key)).cloned()
    }

    pub fn get_usize(&self, key: &str) -> usize {
        self.get(key)
            .and_then(|v| parse_bytes(&v))
            .map(|v| v as usize)
            .unwrap_or(0)
    }

    /// A byte size that may be negative to mean "off" (`-1`): `None` then.
    pub fn get_bytes_or_off(&self, key: &str) -> Option<u64> {
        let value = self.get(key)?;
        if value.trim().starts_with('-') {
            return None;
        }
        parse_bytes(&value)
    }

    pub fn get_bool(&self, key: &str) -> bool {
        self.get(key).and_then(|v| parse_bool(&v)).unwrap_or(false)
    }

    /// Keys set explicitly, in order.
    pub fn explicit(&self) -> impl Iterator<Item = (&String, &String)> {
        self.values.iter()
    }

    /// Every known key with its current value, then keys set that Ember does not know.
    pub fn all(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = ENTRIES
            .iter()
            .map(|e| (e.key.to_string(), self.get(e.key).unwrap_or_default()))
            .collect();
        for (k, v) in &self.values {
            if !ENTRIES.iter().any(|e| e.key == k) {
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }
}

/// Parses `10s`, `500ms`, `2min`/`2m`, `1h` or a bare number of seconds.
pub fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim().to_ascii_lowercase();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => number,
        "ms" => number / 1000.0,
        "m" | "min" | "mins" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses `42`, `64k`, `128m`, `1g` (Spark's byte strings) into a number.
pub fn parse_bytes(value: &str) -> Option<u64> {
    let v = value.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (digits, factor) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 1u64 << 10),
        'm' => (&v[..v.len() - 1], 1 << 20),
        'g' => (&v[..v.len() - 1], 1 << 30),
        't' => (&v[..v.len() - 1], 1 << 40),
        _ => (v, 1),
    };
    digits.trim().parse::<u64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn broadcast_threshold_takes_sizes_and_minus_one() {
        let mut conf = super::EmberConf::new();
        let key = "spark.sql.autoBroadcastJoinThreshold";
        assert_eq!(conf.get_bytes_or_off(key), Some(10 << 20));
        conf.set(key, "20m").unwrap();
        assert_eq!(conf.get_bytes_or_off(key), Some(20 << 20));
        conf.set(key, "-1").unwrap();
        assert_eq!(conf.get_bytes_or_off(key), None);
        assert!(conf.set(key, "lots").is_err());
    }

    use super::*;

    #[test]
    fn spark_keys_are_aliases() {
        let mut conf = EmberConf::new();
        conf.set("spark.sql.shuffle.partitions", "7").unwrap();
        assert_eq!(conf.get_usize("ember.sql.shuffle.partitions"), 7);
    }

    #[test]
    fn known_keys_are_checked() {
        let mut conf = EmberConf::new();
        let err = conf.set("ember.task.maxFailures", "many").unwrap_err();
        assert!(err.to_string().contains("expects a number"), "{err}");
        assert!(conf.set("ember.sql.ansi.enabled", "yes").is_err());
        assert_eq!(parse_bytes("128m"), Some(128 << 20));
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut conf = EmberConf::new();
        conf.set("ember.s3.secretAccessKey", "hunter2").unwrap();
        conf.set("ember.s3.bucket.b.secretAccessKey", "hunter3")
            .unwrap();
        conf.set("ember.s3.region", "eu-west-1").unwrap();
        let shown = format!("{conf:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(
            shown.contains("eu-west-1") && shown.contains(REDACTED),
            "{shown}"
        );
        assert_eq!(display_value("ember.server.password", ""), "");
        assert_eq!(display_value("ember.s3.region", "x"), "x");
        assert!(is_secret_key("spark.hadoop.fs.s3a.access.key"));
    }

    #[test]
    fn durations_take_spark_units() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2min"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("soon"), None);
    }
}
