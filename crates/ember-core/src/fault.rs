//! Deterministic fault injection for tests: an executor process dies at a named point.
//!
//! `ember.testing.killExecutor = <point>[:<n>][/<label>]` arms one kill: the `n`-th task (from
//! 0, counted from the moment the value was set) that reaches `<point>` dies there with its
//! executor process, as a SIGKILL would end it: no cleanup, no reply to the driver. A new
//! value arms a new kill; `<label>` only makes a value new (one kill per query in a test
//! loop). Only executor processes die this way; in local mode nothing is injected.
//!
//! | point | where the executor dies |
//! |---|---|
//! | `register` | right after the driver accepted its registration, before any task |
//! | `launch` | on receiving the task, before running it |
//! | `shuffleWrite.before` | a map task computed its partition, before storing any block |
//! | `shuffleWrite.during` | a map task stored its first block, not the others |
//! | `shuffleWrite.after` | a map task stored every block, before telling the driver |
//! | `fetch` | a task that reads a shuffle received its first block |
//! | `mapOutput.registered` | the driver recorded a map task's output: its executor is killed then (local-cluster) |
//!
//! The driver picks the task (it alone sees every task), and tells the executor in the
//! launch message; the executor dies when the task reaches the point.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use ember_common::{EmberError, Result};

/// The configuration key that arms a kill.
pub const KILL_EXECUTOR_KEY: &str = "ember.testing.killExecutor";

/// Where an executor can be made to die; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KillPoint {
    Register,
    Launch,
    ShuffleWriteBefore,
    ShuffleWriteDuring,
    ShuffleWriteAfter,
    Fetch,
    MapOutputRegistered,
}

impl KillPoint {
    /// Every point, in the order a task meets them.
    pub const ALL: [KillPoint; 7] = [
        KillPoint::Register,
        KillPoint::Launch,
        KillPoint::Fetch,
        KillPoint::ShuffleWriteBefore,
        KillPoint::ShuffleWriteDuring,
        KillPoint::ShuffleWriteAfter,
        KillPoint::MapOutputRegistered,
    ];

    /// The name used in `ember.testing.killExecutor`.
    pub fn name(self) -> &'static str {
        match self {
            KillPoint::Register => "register",
            KillPoint::Launch => "launch",
            KillPoint::ShuffleWriteBefore => "shuffleWrite.before",
            KillPoint::ShuffleWriteDuring => "shuffleWrite.during",
            KillPoint::ShuffleWriteAfter => "shuffleWrite.after",
            KillPoint::Fetch => "fetch",
            KillPoint::MapOutputRegistered => "mapOutput.registered",
        }
    }

    /// The point with this name.
    pub fn from_name(name: &str) -> Option<KillPoint> {
        KillPoint::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether only map (shuffle-writing) tasks reach the point.
    pub fn map_tasks_only(self) -> bool {
        matches!(
            self,
            KillPoint::ShuffleWriteBefore
                | KillPoint::ShuffleWriteDuring
                | KillPoint::ShuffleWriteAfter
                | KillPoint::MapOutputRegistered
        )
    }
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed `ember.testing.killExecutor` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillSpec {
    pub point: KillPoint,
    /// The candidate task (from 0) that dies.
    pub nth: usize,
}

impl KillSpec {
    /// Parses `<point>[:<n>][/<label>]`; an empty value arms nothing.
    pub fn parse(value: &str) -> Result<Option<KillSpec>> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let spec = value.split('/').next().unwrap_or_default();
        let (point, nth) = match spec.split_once(':') {
            Some((point, nth)) => (point, Some(nth)),
            None => (spec, None),
        };
        let names = || {
            KillPoint::ALL
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let point = KillPoint::from_name(point).ok_or_else(|| {
            EmberError::Config(format!(
                "{KILL_EXECUTOR_KEY}: unknown kill point '{point}'; expected one of {}",
                names()
            ))
        })?;
        let nth = match nth {
            None => 0,
            Some(n) => n.parse().map_err(|_| {
                EmberError::Config(format!(
                    "{KILL_EXECUTOR_KEY}: '{n}' is not a task number in '{value}'; expected \
                     <point>[:<n>][/<label>]"
                ))
            })?,
        };
        Ok(Some(KillSpec { point, nth }))
    }
}

/// Set in executor processes: only they may be killed by an injected fault.
static KILLABLE: AtomicBool = AtomicBool::new(false);

/// Marks this process as an executor that injected faults may end.
pub fn allow_kills() {
    KILLABLE.store(true, Ordering::SeqCst);
}

/// Ends this executor process at once if `armed` is `point` (a fault the driver injected into
/// this task); does nothing otherwise, and nothing outside executor processes.
pub fn kill_point(armed: Option<KillPoint>, point: KillPoint, what: &dyn fmt::Display) {
    if armed != Some(point) || !KILLABLE.load(Ordering::SeqCst) {
        return;
    }
    eprintln!("{KILL_EXECUTOR_KEY}: this executor dies at {point} ({what})");
    // Like SIGKILL: no destructors, no flushing, no reply.
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_task_numbers_and_labels() {
        assert_eq!(KillSpec::parse("").unwrap(), None);
        assert_eq!(
            KillSpec::parse("fetch").unwrap(),
            Some(KillSpec {
                point: KillPoint::Fetch,
                nth: 0
            })
        );
        assert_eq!(
            KillSpec::parse("shuffleWrite.during:3/q9").unwrap(),
            Some(KillSpec {
                point: KillPoint::ShuffleWriteDuring,
                nth: 3
            })
        );
        let error = KillSpec::parse("shuffle:1").unwrap_err().to_string();
        assert!(error.contains("unknown kill point 'shuffle'"), "{error}");
        assert!(error.contains("mapOutput.registered"), "{error}");
        let error = KillSpec::parse("launch:x").unwrap_err().to_string();
        assert!(error.contains("'x' is not a task number"), "{error}");
        for point in KillPoint::ALL {
            assert_eq!(KillPoint::from_name(point.name()), Some(point));
        }
    }

    #[test]
    fn nothing_dies_outside_executor_processes() {
        // This test process never called allow_kills.
        kill_point(Some(KillPoint::Launch), KillPoint::Launch, &"a test");
    }
}
