//! Parses `ember.master`: where tasks run.

use std::fmt;

use ember_common::{EmberError, Result};

/// Where a context runs its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Master {
    /// In this process, on `cores` worker threads (`local`, `local[N]`, `local[*]`).
    Local {
        /// Worker threads, each an executor core.
        cores: usize,
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
        let cluster = [
            "local-cluster[",
            "spark://",
            "ember://",
            "yarn",
            "k8s://",
            "mesos://",
        ];
        if cluster.iter().any(|prefix| value.starts_with(prefix)) {
            return Err(EmberError::NotSupported(format!(
                "ember.master '{value}': cluster masters are not supported yet; \
                 use local, local[N] or local[*]"
            )));
        }
        Err(EmberError::Config(format!(
            "unknown ember.master '{value}'; accepted: local (1 core), local[N] (N cores), \
             local[*] (all cores); local-cluster[...] and spark://host:port are not supported yet"
        )))
    }

    /// Executor cores.
    pub fn cores(&self) -> usize {
        match self {
            Master::Local { cores } => *cores,
        }
    }
}

impl fmt::Display for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Master::Local { cores } => write!(f, "local[{cores}]"),
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
        assert!(err.contains("not supported yet"), "{err}");
        let err = Master::parse("local-cluster[2,1,1024]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not supported yet"), "{err}");
        let err = Master::parse("lokal").unwrap_err().to_string();
        assert!(err.contains("local[N]") && err.contains("lokal"), "{err}");
    }
}
