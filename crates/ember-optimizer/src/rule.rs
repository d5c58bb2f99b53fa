//! The `Rule` trait every logical optimization implements.

use datafusion_common::tree_node::Transformed;
use datafusion_expr::LogicalPlan;
use ember_common::Result;

use crate::OptimizerContext;

/// One rewrite of a logical plan, like a Catalyst `Rule[LogicalPlan]`.
///
/// A rule takes the plan by value and returns [`Transformed::yes`] only when it really changed
/// something: the [`crate::RuleExecutor`] stops a fixed-point batch when no rule reports a
/// change, so a rule that always says "yes" would spin until the batch's iteration limit.
/// A rule must keep the plan's output schema (names and types of the root's fields).
pub trait Rule: Send + Sync {
    /// The rule's name in snake case (`"push_down_filter"`), as shown by `EXPLAIN EXTENDED`.
    fn name(&self) -> &str;

    /// Rewrites `plan`, reporting whether anything changed.
    fn apply(&self, plan: LogicalPlan, cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>>;
}
