//! Cluster mode: the driver places tasks on executor processes over gRPC (Arrow Flight
//! actions), executors fetch each other's shuffle blocks with Flight `do_get`, and losing an
//! executor loses only what it held, which lineage recomputes.
//!
//! ```text
//!   ember sql --master local-cluster[3,1,1g]      ember server / --master ember://HOST:PORT
//!        │ spawns 3 `ember executor` children           │ executors join whenever they start
//!        ▼                                              ▼
//!   driver: DAG scheduler ─▶ ClusterBackend ──launch_task──▶ executor ──do_get──▶ executor
//!                 ▲                 │◀──── TaskResult ─────┘   (shuffle blocks, Arrow IPC)
//!                 └── map statuses, lost executors ──┘
//! ```

pub mod auth;
pub mod driver;
pub mod executor;
pub mod proto;
pub mod rpc;

use std::sync::Arc;
use std::time::Duration;

use ember_common::{EmberConf, Result};
use ember_core::{EmberContext, Master};

pub use driver::ClusterBackend;
pub use executor::{run_executor, ExecutorOptions};

/// Starts a context for `ember.master`: local masters run tasks on threads of this process,
/// `local-cluster[E,C,M]` and `ember://HOST:PORT` on executor processes.
pub fn start_context(conf: EmberConf) -> Result<Arc<EmberContext>> {
    let master = Master::parse(&conf.get("ember.master").unwrap_or_default())?;
    if !master.is_cluster() {
        return EmberContext::new(conf);
    }
    let backend_conf = conf.clone();
    let backend_master = master.clone();
    EmberContext::with_backend(conf, master, move |parts| {
        Ok(Box::new(ClusterBackend::start(
            &backend_conf,
            &backend_master,
            parts.tracker.clone(),
        )?))
    })
}

/// The last few values computed per key (a stage's fragment, encoded on the driver or
/// decoded on an executor), so that the tasks of one stage share one.
pub(crate) struct Recent<K, V> {
    entries: parking_lot::Mutex<std::collections::VecDeque<(K, V)>>,
    capacity: usize,
}

impl<K: PartialEq, V: Clone> Recent<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Recent {
            entries: parking_lot::Mutex::new(std::collections::VecDeque::new()),
            capacity,
        }
    }

    /// The value kept for `key`, else `make()`'s, kept (the oldest goes beyond capacity).
    pub(crate) fn get_or_try_insert(&self, key: K, make: impl FnOnce() -> Result<V>) -> Result<V> {
        if let Some((_, value)) = self.entries.lock().iter().find(|(k, _)| *k == key) {
            return Ok(value.clone());
        }
        let value = make()?;
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back((key, value.clone()));
        Ok(value)
    }
}

/// A duration setting: `10s`, `500ms`, `2min`, `1h`, or a bare number of seconds.
pub fn duration_conf(conf: &EmberConf, key: &str) -> Duration {
    let value = conf.get(key).unwrap_or_default();
    parse_duration(&value).unwrap_or_else(|| {
        log::warn!("{key}: '{value}' is not a duration such as 10s or 500ms; using 10s");
        Duration::from_secs(10)
    })
}

pub use ember_common::config::parse_duration;
