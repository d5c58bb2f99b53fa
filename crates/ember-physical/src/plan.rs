//! The `ExecutionPlan` trait every `*Exec` operator implements, and plan printing.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::Result;
use ember_core::{BatchIter, TaskContext};

use crate::expressions::PhysicalExprRef;

/// How an operator's output rows are spread over its partitions.
#[derive(Debug, Clone)]
pub enum Partitioning {
    /// Rows are wherever the input put them.
    Unknown(usize),
    /// Rows with equal key values are in the same partition.
    Hash(Vec<PhysicalExprRef>, usize),
    /// Everything is in one partition.
    Single,
}

impl Partitioning {
    pub fn partition_count(&self) -> usize {
        match self {
            Partitioning::Unknown(n) | Partitioning::Hash(_, n) => *n,
            Partitioning::Single => 1,
        }
    }
}

/// Lets a `&dyn ExecutionPlan` be downcast to its operator type.
pub trait AsAny {
    fn as_any_ref(&self) -> &dyn std::any::Any;
}

impl<T: std::any::Any> AsAny for T {
    fn as_any_ref(&self) -> &dyn std::any::Any {
        self
    }
}

/// A physical operator. `execute` computes one partition lazily: no work happens before the
/// returned iterator is first pulled.
pub trait ExecutionPlan: AsAny + fmt::Debug + Send + Sync {
    /// Operator name as EXPLAIN shows it, e.g. `HashAggregateExec`.
    fn name(&self) -> &'static str;

    fn schema(&self) -> SchemaRef;

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>>;

    /// A copy of this operator over new children (same count and order as `children`).
    fn with_new_children(
        &self,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>>;

    fn output_partitioning(&self) -> Partitioning;

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter>;

    /// The one stable line EXPLAIN and plan snapshots print for this operator.
    fn describe(&self) -> String;

    /// RDDs this operator reads directly (a cached table's persisted RDD), so that the
    /// stage's RDD declares them as dependencies and the DAG scheduler sees their lineage.
    fn rdd_dependencies(&self) -> Vec<ember_core::Dependency> {
        Vec::new()
    }
}

/// The plan as an indented tree, one operator per line.
pub fn display_plan(plan: &dyn ExecutionPlan) -> String {
    let mut out = String::new();
    fn walk(plan: &dyn ExecutionPlan, depth: usize, out: &mut String) {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&plan.describe());
        out.push('\n');
        for child in plan.children() {
            walk(child.as_ref(), depth + 1, out);
        }
    }
    walk(plan, 0, &mut out);
    out
}
