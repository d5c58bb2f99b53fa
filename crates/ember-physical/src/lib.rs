//! Physical plans: `*Exec` operators over Arrow record batches, the physical planner, and the
//! lowering of a physical plan onto RDD stages.

pub mod expressions;
pub mod operators;
pub mod plan;
pub mod planner;
pub mod stages;
#[cfg(test)]
pub(crate) mod test_util;

pub use plan::{ExecutionPlan, Partitioning};
pub use planner::{PhysicalPlanner, SizeEstimator};
