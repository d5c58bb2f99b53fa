//! `local-cluster[E,C,M]`: the executor processes this driver starts, and which program they run.

use super::*;

/// What `spawn_executor` needs to start one more `local-cluster` executor.
pub(super) struct LocalCluster {
    pub(super) binary: std::path::PathBuf,
    pub(super) driver: SocketAddr,
    pub(super) cores: usize,
    pub(super) memory: u64,
    /// The cluster secret, handed to each executor in its environment (never its arguments,
    /// which other users of the machine can read).
    pub(super) secret: Option<String>,
    /// `ember.ssl.*` settings: executors serve and call with the driver's TLS files.
    pub(super) ssl: Vec<(String, String)>,
}

/// The program started for each `local-cluster` executor: `ember.executor.binary`, else this
/// program when it is `ember`, else an `ember` beside it or one directory up (cargo's layout
/// of test binaries).
pub(super) fn executor_binary(conf: &EmberConf) -> Result<std::path::PathBuf> {
    if let Some(configured) = conf.get("ember.executor.binary").filter(|b| !b.is_empty()) {
        return Ok(configured.into());
    }
    if let Ok(from_env) = std::env::var("EMBER_EXECUTOR_BINARY") {
        if !from_env.is_empty() {
            return Ok(from_env.into());
        }
    }
    let current = std::env::current_exe()
        .map_err(|e| EmberError::io("finding this program to start executors", e))?;
    let name = format!("ember{}", std::env::consts::EXE_SUFFIX);
    if current.file_name().is_some_and(|n| n == name.as_str()) {
        return Ok(current);
    }
    let mut dir = current.parent();
    for _ in 0..2 {
        let Some(d) = dir else { break };
        let candidate = d.join(&name);
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(EmberError::Config(format!(
        "local-cluster needs the ember program to start executors, and {} is not it; set \
         ember.executor.binary (or EMBER_EXECUTOR_BINARY) to the path of `ember`",
        current.display()
    )))
}

impl LocalCluster {
    /// Starts one executor process on loopback.
    pub(super) fn spawn(&self) -> Result<Child> {
        Command::new(&self.binary)
            .args([
                "executor",
                "--driver",
                &self.driver.to_string(),
                "--host",
                "127.0.0.1",
                "--cores",
                &self.cores.to_string(),
                "--memory",
                &self.memory.to_string(),
                "--exit-on-stdin-eof",
            ])
            .args(
                self.ssl
                    .iter()
                    .flat_map(|(key, value)| ["--conf".to_string(), format!("{key}={value}")]),
            )
            .envs(
                self.secret
                    .as_ref()
                    .map(|secret| (crate::cluster::auth::SECRET_ENV, secret.as_str())),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| EmberError::io(format!("starting executor {}", self.binary.display()), e))
    }
}
