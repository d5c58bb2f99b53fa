//! Ember's Catalyst-style logical optimizer: rules grouped in batches over `datafusion_expr::LogicalPlan`.
//!
//! ```text
//!  bound LogicalPlan ──▶ RuleExecutor ──▶ optimized LogicalPlan (+ the rule applications
//!                        │ batch "Simplification"        Once           that changed it,
//!                        │ batch "Operator Optimization" FixedPoint(100) for EXPLAIN EXTENDED)
//!                        │ batch "Column Pruning"        Once
//!                        ▼ ...
//! ```
//!
//! Every rule takes the plan by value and returns `Transformed`; the executor uses the flag
//! to detect a fixed point. See [`default_optimizer`] for the batches Ember runs.

pub mod cardinality;
mod context;
mod executor;
mod expr_util;
mod rule;
pub mod rules;
#[cfg(test)]
mod test_util;

pub use context::{OptimizerContext, TableStatistics};
pub use executor::{default_optimizer, Batch, RuleApplication, RuleExecutor, Strategy};
pub use rule::Rule;
pub use rules::{
    ColumnPruning, ConstantFolding, DecorrelatePredicateSubquery, EliminateLimit,
    EliminateProjection, EliminateSorts, PushDownFilter, PushDownLimit, ScalarSubqueryToJoin,
    SimplifyExpressions,
};
pub use rules::{ExtractCommonOrPredicates, InferFiltersFromJoinKeys, ReorderJoins};
