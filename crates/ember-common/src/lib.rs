//! Shared vocabulary of every Ember crate: the error type, configuration keys and id newtypes.

pub mod config;
pub mod display;
pub mod error;
pub mod ids;
pub mod logical;

pub use config::EmberConf;
pub use error::{EmberError, Result};
pub use ids::{ExecutorId, JobId, RddId, ShuffleId, StageId, TaskId};

/// The stack of Ember's threads that walk plans and expressions (task threads, the DAG
/// scheduler, RPC and Flight SQL handlers): a deep expression (a 3,000-term sum) recurses as
/// deep as it nests, in evaluation, encoding, decoding and dropping. Address space is
/// reserved; memory is used only as deep as a thread recurses.
pub const THREAD_STACK_BYTES: usize = 64 * 1024 * 1024;
