//! Id newtypes, so a stage id can never be passed where a task id is expected.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id_type!(
    /// A job: the work one action (collect, count, save) submits.
    JobId, "job "
);
id_type!(
    /// A stage: a set of tasks running the same fragment on different partitions.
    StageId, "stage "
);
id_type!(
    /// One attempt at running one partition of one stage.
    TaskId, "task "
);
id_type!(
    /// The output of one exchange: map tasks write it, reduce tasks read it.
    ShuffleId, "shuffle "
);
id_type!(
    /// An RDD in the lineage graph.
    RddId, "rdd "
);

/// An executor: in local mode "driver", in cluster mode the id the driver handed out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExecutorId(pub String);

impl fmt::Display for ExecutorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "executor {}", self.0)
    }
}

/// Hands out increasing ids, shared by everything in one process.
#[derive(Debug, Default)]
pub struct IdGenerator(AtomicU64);

impl IdGenerator {
    pub const fn new() -> Self {
        IdGenerator(AtomicU64::new(0))
    }

    pub fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}
