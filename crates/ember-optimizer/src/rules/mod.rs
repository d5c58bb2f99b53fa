//! Ember's logical rules, one file each, named for what they do.

mod column_pruning;
mod constant_folding;
mod decorrelate_lateral_join;
mod decorrelate_predicate_subquery;
mod eliminate_limit;
mod eliminate_projection;
mod eliminate_sorts;
mod extract_common_or_predicates;
mod infer_filters_from_join_keys;
mod optimize_subqueries;
mod push_down_filter;
mod push_down_limit;
mod push_down_semi_anti_join;
mod reorder_joins;
mod scalar_subquery_to_join;
mod simplify_expressions;
mod subquery_marks;
mod subquery_util;

pub use column_pruning::ColumnPruning;
pub use constant_folding::ConstantFolding;
pub use decorrelate_lateral_join::DecorrelateLateralJoin;
pub use decorrelate_predicate_subquery::DecorrelatePredicateSubquery;
pub use eliminate_limit::EliminateLimit;
pub use eliminate_projection::EliminateProjection;
pub use eliminate_sorts::EliminateSorts;
pub use extract_common_or_predicates::ExtractCommonOrPredicates;
pub use infer_filters_from_join_keys::InferFiltersFromJoinKeys;
pub use optimize_subqueries::OptimizeSubqueries;
pub use push_down_filter::PushDownFilter;
pub use push_down_limit::PushDownLimit;
pub use push_down_semi_anti_join::PushDownLeftSemiAntiJoin;
pub use reorder_joins::ReorderJoins;
pub use scalar_subquery_to_join::ScalarSubqueryToJoin;
pub use simplify_expressions::SimplifyExpressions;
/// The run-time check of scalar subqueries (one row per key), which executors must rebuild.
pub use subquery_util::AssertSingleRow;
