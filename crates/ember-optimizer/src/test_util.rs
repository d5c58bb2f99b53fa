//! Small tables and helpers for the rules' unit tests.

use datafusion_common::arrow::datatypes::{DataType, Field, Schema};
use datafusion_common::tree_node::Transformed;
use datafusion_expr::logical_plan::builder::table_scan;
use datafusion_expr::{LogicalPlan, LogicalPlanBuilder};

use crate::{OptimizerContext, Rule};

/// A scan of table `name` with the given `(column, type)` pairs, all nullable.
pub(crate) fn scan(name: &str, columns: &[(&str, DataType)]) -> LogicalPlanBuilder {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(column, data_type)| Field::new(*column, data_type.clone(), true))
        .collect();
    table_scan(Some(name), &Schema::new(fields), None).unwrap()
}

/// `name(a Int32, b Int32, c Utf8)`.
pub(crate) fn abc(name: &str) -> LogicalPlanBuilder {
    scan(
        name,
        &[
            ("a", DataType::Int32),
            ("b", DataType::Int32),
            ("c", DataType::Utf8),
        ],
    )
}

/// A context whose table statistics give `rows` for a scan whose first column is named
/// `column` (test scans are `LogicalTableSource`s, which have no name), the default otherwise.
pub(crate) fn context_with_rows(rows: &'static [(&'static str, u64)]) -> OptimizerContext {
    OptimizerContext::default().with_table_statistics(std::sync::Arc::new(move |source| {
        let schema = source.schema();
        let first = schema.fields().first()?.name().clone();
        rows.iter()
            .find(|(column, _)| *column == first)
            .map(|(_, rows)| *rows)
    }))
}

/// Runs one rule once and returns its result.
pub(crate) fn run(rule: &dyn Rule, plan: LogicalPlan) -> Transformed<LogicalPlan> {
    rule.apply(plan, &OptimizerContext::default()).unwrap()
}

/// Runs one rule once, asserts it changed the plan and returns the indented plan text.
pub(crate) fn optimized(rule: &dyn Rule, plan: LogicalPlan) -> String {
    let before = plan.schema().clone();
    let result = run(rule, plan);
    assert!(result.transformed, "{} reported no change", rule.name());
    let after_names: Vec<_> = result
        .data
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let before_names: Vec<_> = before
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    assert_eq!(
        before_names,
        after_names,
        "{} changed the output schema",
        rule.name()
    );
    let text = result.data.display_indent().to_string();
    text
}

/// Runs one rule once and asserts it reported no change.
pub(crate) fn assert_unchanged(rule: &dyn Rule, plan: LogicalPlan) {
    let text = plan.display_indent().to_string();
    let result = run(rule, plan);
    assert!(!result.transformed, "{} reported a change", rule.name());
    assert_eq!(result.data.display_indent().to_string(), text);
}

/// A volatile nullary function (`random()`), for checking rules leave volatile work alone.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Random {
    signature: datafusion_expr::Signature,
}

impl Default for Random {
    fn default() -> Self {
        Self {
            signature: datafusion_expr::Signature::nullary(datafusion_expr::Volatility::Volatile),
        }
    }
}

impl datafusion_expr::ScalarUDFImpl for Random {
    fn name(&self) -> &str {
        "random"
    }
    fn signature(&self) -> &datafusion_expr::Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> datafusion_common::Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(
        &self,
        _: datafusion_expr::ScalarFunctionArgs,
    ) -> datafusion_common::Result<datafusion_expr::ColumnarValue> {
        Ok(datafusion_expr::ColumnarValue::Scalar(
            datafusion_common::ScalarValue::Float64(Some(0.25)),
        ))
    }
}
