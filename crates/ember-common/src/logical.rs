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

/// A generator of Spark's `Generate`: what turns one row into zero or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd)]
pub enum GeneratorKind {
    /// `explode(array)` → `col`; `explode(map)` → `key`, `value`.
    Explode,
    /// `posexplode`: `pos` (0-based) before what `explode` gives.
    PosExplode,
    /// `inline(array<struct>)`: the struct's fields as columns.
    Inline,
    /// `stack(n, v1, ..., vk)`: `n` rows of `ceil(k / n)` columns (`col0`, `col1`, ...),
    /// filled row by row, NULL past the last value. The arguments are `n` then the values.
    Stack { rows: usize },
}

impl GeneratorKind {
    /// Spark's name of the generator (without `_outer`).
    pub fn name(&self) -> &'static str {
        match self {
            GeneratorKind::Explode => "explode",
            GeneratorKind::PosExplode => "posexplode",
            GeneratorKind::Inline => "inline",
            GeneratorKind::Stack { .. } => "stack",
        }
    }
}

/// Spark's `Generate`: each input row followed by each row its generator makes of it
/// (`LATERAL VIEW [OUTER] explode(...) t AS c`, or a generator in the SELECT list). With
/// `outer`, a row the generator makes nothing of is kept once with NULLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Generate {
    pub kind: GeneratorKind,
    /// The generator's arguments, over the input's columns.
    pub args: Vec<Expr>,
    pub outer: bool,
    pub input: Arc<LogicalPlan>,
    /// The input's columns, then the generated ones (qualified by the LATERAL VIEW's alias).
    pub schema: DFSchemaRef,
}

impl Generate {
    /// The node as a logical plan.
    pub fn plan(
        kind: GeneratorKind,
        args: Vec<Expr>,
        outer: bool,
        input: LogicalPlan,
        schema: DFSchemaRef,
    ) -> LogicalPlan {
        LogicalPlan::Extension(Extension {
            node: Arc::new(Generate {
                kind,
                args,
                outer,
                input: Arc::new(input),
                schema,
            }),
        })
    }

    /// The node under `plan`, when `plan` is one.
    pub fn of(plan: &LogicalPlan) -> Option<&Generate> {
        match plan {
            LogicalPlan::Extension(extension) => extension.node.as_any().downcast_ref::<Generate>(),
            _ => None,
        }
    }

    /// How many columns the generator adds.
    pub fn generated_columns(&self) -> usize {
        self.schema.fields().len() - self.input.schema().fields().len()
    }
}

impl PartialOrd for Generate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self == other).then_some(Ordering::Equal)
    }
}

impl UserDefinedLogicalNodeCore for Generate {
    fn name(&self) -> &str {
        "Generate"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![self.input.as_ref()]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        self.args.clone()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "Generate: {}{}(",
            self.kind.name(),
            if self.outer { "_outer" } else { "" }
        )?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{arg}")?;
        }
        write!(f, ") -> [")?;
        let first = self.input.schema().fields().len();
        for (i, (qualifier, field)) in self.schema.iter().skip(first).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            match qualifier {
                Some(q) => write!(f, "{q}.{}", field.name())?,
                None => write!(f, "{}", field.name())?,
            }
        }
        write!(f, "]")
    }

    fn with_exprs_and_inputs(
        &self,
        exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> DFResult<Self> {
        let input = inputs.pop().ok_or_else(|| {
            datafusion_common::DataFusionError::Internal("Generate needs one input".into())
        })?;
        // The input may have changed its columns (pruning): the generated ones stay last.
        let first = self.input.schema().fields().len();
        let generated: Vec<_> = self
            .schema
            .iter()
            .skip(first)
            .map(|(q, f)| (q.cloned(), Arc::clone(f)))
            .collect();
        let mut fields: Vec<_> = input
            .schema()
            .iter()
            .map(|(q, f)| (q.cloned(), Arc::clone(f)))
            .collect();
        fields.extend(generated);
        let schema = Arc::new(datafusion_common::DFSchema::new_with_metadata(
            fields,
            self.schema.metadata().clone(),
        )?);
        Ok(Generate {
            kind: self.kind,
            args: exprs,
            outer: self.outer,
            input: Arc::new(input),
            schema,
        })
    }

    fn supports_limit_pushdown(&self) -> bool {
        false
    }
}
