//! Ember's own logical plan nodes: what Spark's plans have and `datafusion_expr::LogicalPlan`
//! does not, carried as `LogicalPlan::Extension`.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion_common::{DFSchemaRef, Result as DFResult};
use datafusion_expr::{Expr, Extension, LogicalPlan, SortExpr, UserDefinedLogicalNodeCore};

/// `SORT BY` (and the sort half of `CLUSTER BY`): sorts the rows of each partition on its
/// own, as Spark's `Sort(global = false)`; the output keeps the input's partitions, so the
/// result is ordered within each partition only. A global order is `LogicalPlan::Sort`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortWithinPartitions {
    pub expr: Vec<SortExpr>,
    pub input: Arc<LogicalPlan>,
}

impl SortWithinPartitions {
    /// The node as a logical plan.
    pub fn plan(expr: Vec<SortExpr>, input: LogicalPlan) -> LogicalPlan {
        LogicalPlan::Extension(Extension {
            node: Arc::new(SortWithinPartitions {
                expr,
                input: Arc::new(input),
            }),
        })
    }

    /// The node under `plan`, when `plan` is one.
    pub fn of(plan: &LogicalPlan) -> Option<&SortWithinPartitions> {
        match plan {
            LogicalPlan::Extension(extension) => extension
                .node
                .as_any()
                .downcast_ref::<SortWithinPartitions>(),
            _ => None,
        }
    }
}

impl PartialOrd for SortWithinPartitions {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        // Plans are compared only for equality; no order between two sorts means anything.
        (self == other).then_some(Ordering::Equal)
    }
}

impl UserDefinedLogicalNodeCore for SortWithinPartitions {
    fn name(&self) -> &str {
        "SortWithinPartitions"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![self.input.as_ref()]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        self.expr.iter().map(|s| s.expr.clone()).collect()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SortWithinPartitions: ")?;
        for (i, sort) in self.expr.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{sort}")?;
        }
        Ok(())
    }

    fn with_exprs_and_inputs(
        &self,
        exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> DFResult<Self> {
        let input = inputs.pop().ok_or_else(|| {
            datafusion_common::DataFusionError::Internal(
                "SortWithinPartitions needs one input".into(),
            )
        })?;
        Ok(SortWithinPartitions {
            expr: self
                .expr
                .iter()
                .zip(exprs)
                .map(|(sort, expr)| SortExpr::new(expr, sort.asc, sort.nulls_first))
                .collect(),
            input: Arc::new(input),
        })
    }

    fn supports_limit_pushdown(&self) -> bool {
        false
    }
}
