//! Parses `ember.master`: where tasks run.

use std::fmt;

use ember_common::{EmberError, Result};

/// Where a context runs its tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Master {
    /// In this process, on `cores` worker threads (`local`, `local[N]`, `local[*]`).
    Local {
        /// Worker threads, each an executor core.
        cores: usize,
    },
    /// `local-cluster[E,C,M]`: the driver starts E executor processes on loopback, each with
    /// C cores and M of memory (MiB as a bare number, as in Spark, or `1g`, `512m`).
    LocalCluster {
        /// Executor processes.
        executors: usize,
        /// Cores of each executor.
        cores: usize,
        /// Memory of each executor, in bytes.
        memory: u64,
    },
    /// `ember://HOST:PORT`: the driver listens on HOST:PORT and `ember executor --driver
    /// HOST:PORT` processes join it whenever they start.
    Cluster {
        /// The address the driver listens on for executors.
        address: String,
    },
}

impl Master {
    /// Parses `local`, `local[N]` or `local[*]` (all cores).
    pub fn parse(value: &str) -> Result<Master> {
        let value = value.trim();
        if value == "local" {
            return Ok(Master::Local { cores: 1 });
        }
        if let Some(inner) = value
            .strip_prefix("local[")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            let inner = inner.trim();
            if inner == "*" {
                let cores = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1);
                return Ok(Master::Local { cores });
            }
            return match inner.parse::<usize>() {
                Ok(cores) if cores > 0 => Ok(Master::Local { cores }),
                _ => Err(EmberError::Config(format!(
                    "ember.master '{value}': the number of cores in local[N] must be a positive \
                     integer or *, e.g. local[4] or local[*]"
                ))),
            };
        }
        if let Some(inner) = value
            .strip_prefix("local-cluster[")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            return parse_local_cluster(value, inner);
        }
        if let Some(address) = value.strip_prefix("ember://") {
            let address = address.trim_end_matches('/');
            let valid = address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid {
                return Err(EmberError::Config(format!(
                    "ember.master '{value}': expected ember://HOST:PORT, the address this driver \
                     listens on for executors, e.g. ember://0.0.0.0:7078"
                )));
            }
            return Ok(Master::Cluster {
                address: address.to_string(),
            });
        }
        let cluster = ["spark://", "yarn", "k8s://", "mesos://"];
        if cluster.iter().any(|prefix| value.starts_with(prefix)) {
            return Err(EmberError::NotSupported(format!(
                "ember.master '{value}': external cluster managers are not supported; \
                 use local[N], local-cluster[E,C,M] or ember://HOST:PORT (executors join this driver)"
            )));
        }
        Err(EmberError::Config(format!(
            "unknown ember.master '{value}'; accepted: local (1 core), local[N] (N cores), \
             local[*] (all cores), local-cluster[E,C,M] (E executor processes of C cores and M \
             MiB), ember://HOST:PORT (a driver executors join)"
        )))
    }

    /// Executor cores expected: for a cluster, every executor's (the known ones).
    pub fn cores(&self) -> usize {
        match self {
            Master::Local { cores } => *cores,
            Master::LocalCluster {
                executors, cores, ..
            } => executors * cores,
            Master::Cluster { .. } => 0,
        }
    }

    /// Whether tasks run in executor processes rather than threads of this one.
    pub fn is_cluster(&self) -> bool {
        !matches!(self, Master::Local { .. })
    }
}

fn parse_local_cluster(value: &str, inner: &str) -> Result<Master> {
    let usage = || {
        EmberError::Config(format!(
            "ember.master '{value}': expected local-cluster[E,C,M] with E executors, C cores \
             each and M memory each (MiB, or with a unit: 1g, 512m), e.g. local-cluster[3,1,1024]"
        ))
    };
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    let [executors, cores, memory] = parts.as_slice() else {
        return Err(usage());
    };
    let executors = executors.parse::<usize>().map_err(|_| usage())?;
    let cores = cores.parse::<usize>().map_err(|_| usage())?;
    let memory = match memory.parse::<u64>() {
        Ok(mib) => mib * 1024 * 1024,
        Err(_) => ember_common::config::parse_bytes(memory).ok_or_else(usage)?,
    };
    if executors == 0 || cores == 0 || memory == 0 {
        return Err(usage());
    }
    Ok(Master::LocalCluster {
        executors,
        cores,
        memory,
    })
}

impl fmt::Display for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Master::Local { cores } => write!(f, "local[{cores}]"),
            Master::LocalCluster {
                executors,
                cores,
                memory,
            } => write!(
                f,
                "local-cluster[{executors},{cores},{}]",
                memory / (1024 * 1024)
            ),
            Master::Cluster { address } => write!(f, "ember://{address}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_forms_parse_and_others_explain_themselves() {
        assert_eq!(Master::parse("local").unwrap().cores(), 1);
        assert_eq!(Master::parse(" local[3] ").unwrap().cores(), 3);
        assert!(Master::parse("local[*]").unwrap().cores() >= 1);
        let err = Master::parse("local[0]").unwrap_err().to_string();
        assert!(err.contains("positive integer"), "{err}");
        let err = Master::parse("spark://host:7077").unwrap_err().to_string();
        assert!(err.contains("not supported"), "{err}");
        assert_eq!(
            Master::parse("local-cluster[3,1,1g]").unwrap(),
            Master::LocalCluster {
                executors: 3,
                cores: 1,
                memory: 1 << 30
            }
        );
        let master = Master::parse("local-cluster[2, 2, 512]").unwrap();
        assert_eq!(master.to_string(), "local-cluster[2,2,512]");
        assert_eq!(master.cores(), 4);
        let err = Master::parse("local-cluster[2,1]").unwrap_err().to_string();
        assert!(err.contains("local-cluster[E,C,M]"), "{err}");
        assert_eq!(
            Master::parse("ember://0.0.0.0:7078").unwrap(),
            Master::Cluster {
                address: "0.0.0.0:7078".into()
            }
        );
        assert!(Master::parse("ember://nowhere").is_err());
        let err = Master::parse("lokal").unwrap_err().to_string();
        assert!(err.contains("local[N]") && err.contains("lokal"), "{err}");
    }
}
