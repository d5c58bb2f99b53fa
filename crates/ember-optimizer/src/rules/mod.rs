//! Ember's logical rules, one file each, named for what they do.

mod column_pruning;
mod constant_folding;
mod eliminate_limit;
mod eliminate_projection;
mod eliminate_sorts;
mod push_down_filter;
mod push_down_limit;
mod simplify_expressions;

pub use column_pruning::ColumnPruning;
pub use constant_folding::ConstantFolding;
pub use eliminate_limit::EliminateLimit;
pub use eliminate_projection::EliminateProjection;
pub use eliminate_sorts::EliminateSorts;
pub use push_down_filter::PushDownFilter;
pub use push_down_limit::PushDownLimit;
pub use simplify_expressions::SimplifyExpressions;
