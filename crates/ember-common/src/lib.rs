//! Shared vocabulary of every Ember crate: the error type, configuration keys and id newtypes.

pub mod config;
pub mod display;
pub mod error;
pub mod ids;
pub mod logical;

pub use config::EmberConf;
pub use error::{EmberError, Result};
pub use ids::{ExecutorId, JobId, RddId, ShuffleId, StageId, TaskId};
