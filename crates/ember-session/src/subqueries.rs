//! Uncorrelated scalar subqueries: the driver runs each one once, as a job of its own, before
//! the query that uses it, and puts its value in the plan as a literal (Spark's
//! `ScalarSubquery` expression). Correlated ones never get here: the optimizer turned them
//! into joins.

use std::sync::Arc;

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::ScalarValue;
use datafusion_expr::{
    ColumnarValue, Expr, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Subquery, Volatility,
};
use ember_common::{EmberError, Result};

/// Replaces every scalar subquery left in `plan` with its value, computed by `run` (which
/// plans and runs the subquery's own, already optimized, plan). Innermost subqueries first.
pub(crate) fn substitute_scalar_subqueries(
    plan: LogicalPlan,
    run: &mut dyn FnMut(&LogicalPlan) -> Result<Vec<RecordBatch>>,
) -> Result<LogicalPlan> {
    let mut failure = None;
    let result = map_scalar_subqueries(plan, &mut |subquery| {
        let value = run(&subquery.subquery).and_then(|batches| single_value(&subquery, &batches));
        match value {
            Ok(v) => Some(Expr::Literal(v, None)),
            Err(e) => {
                failure.get_or_insert(e);
                None
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

/// For EXPLAIN: replaces each scalar subquery with a `scalar-subquery#N()` placeholder and
/// returns the subqueries' plans by name, to be shown after the main plan.
pub(crate) fn name_scalar_subqueries(
    plan: LogicalPlan,
) -> Result<(LogicalPlan, Vec<(String, LogicalPlan)>)> {
    let mut named = Vec::new();
    let plan = map_scalar_subqueries(plan, &mut |subquery| {
        let name = format!("scalar-subquery#{}", named.len() + 1);
        let data_type = subquery
            .subquery
            .schema()
            .fields()
            .first()
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Null);
        named.push((name.clone(), subquery.subquery.as_ref().clone()));
        let udf = ScalarUDF::from(NotYetComputed {
            name,
            data_type,
            signature: Signature::nullary(Volatility::Volatile),
        });
        Some(Expr::ScalarFunction(
            datafusion_expr::expr::ScalarFunction::new_udf(Arc::new(udf), vec![]),
        ))
    })?;
    Ok((plan, named))
}

/// Rewrites the scalar subqueries of every node with `replace` (`None` keeps one as it is).
fn map_scalar_subqueries(
    plan: LogicalPlan,
    replace: &mut dyn FnMut(Subquery) -> Option<Expr>,
) -> Result<LogicalPlan> {
    let rewritten = plan.transform_up(|node| {
        node.map_expressions(|e| {
            e.transform_up(|e| match e {
                Expr::ScalarSubquery(subquery) => match replace(subquery.clone()) {
                    Some(value) => Ok(Transformed::yes(value)),
                    None => Ok(Transformed::no(Expr::ScalarSubquery(subquery))),
                },
                other => Ok(Transformed::no(other)),
            })
        })
    });
    Ok(rewritten.map_err(|e| EmberError::from(e).into_root())?.data)
}

/// The one value a scalar subquery returned: NULL for no rows, an error for more than one.
fn single_value(subquery: &Subquery, batches: &[RecordBatch]) -> Result<ScalarValue> {
    let expected = subquery
        .subquery
        .schema()
        .fields()
        .first()
        .map(|f| f.data_type().clone())
        .ok_or_else(|| EmberError::internal("a scalar subquery without a column"))?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows > 1 {
        return Err(EmberError::execution(format!(
            "[SCALAR_SUBQUERY_TOO_MANY_ROWS] More than one row returned by a subquery used as an expression ({rows} rows); make it return one row, e.g. with an aggregate or LIMIT 1"
        )));
    }
    let value = match batches.iter().find(|b| b.num_rows() == 1) {
        Some(batch) => ScalarValue::try_from_array(batch.column(0), 0)?,
        None => ScalarValue::try_from(&expected)?,
    };
    if value.data_type() == expected {
        Ok(value)
    } else {
        Ok(value.cast_to(&expected)?)
    }
}

/// Stands for a scalar subquery's value in EXPLAIN output; it is never evaluated.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NotYetComputed {
    name: String,
    data_type: DataType,
    signature: Signature,
}

impl ScalarUDFImpl for NotYetComputed {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion_common::Result<DataType> {
        Ok(self.data_type.clone())
    }

    fn invoke_with_args(
        &self,
        _args: ScalarFunctionArgs,
    ) -> datafusion_common::Result<ColumnarValue> {
        datafusion_common::exec_err!("{} is shown by EXPLAIN only and never evaluated", self.name)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Int32Array;
    use arrow::datatypes::{Field, Schema};
    use datafusion_expr::{col, lit, scalar_subquery, LogicalPlanBuilder};

    use super::*;

    fn values(rows: &[i32]) -> LogicalPlan {
        let rows: Vec<Vec<Expr>> = rows.iter().map(|v| vec![lit(*v)]).collect();
        LogicalPlanBuilder::values(rows).unwrap().build().unwrap()
    }

    fn outer_with_subquery() -> LogicalPlan {
        let sub = values(&[7]);
        LogicalPlanBuilder::from(values(&[1, 8]))
            .filter(col("column1").lt(scalar_subquery(Arc::new(sub))))
            .unwrap()
            .build()
            .unwrap()
    }

    fn batch(rows: &[i32]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "column1",
            DataType::Int32,
            true,
        )]));
        RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(rows.to_vec()))]).unwrap()
    }

    #[test]
    fn the_value_replaces_the_subquery_and_runs_once() {
        let mut runs = 0;
        let plan = substitute_scalar_subqueries(outer_with_subquery(), &mut |_| {
            runs += 1;
            Ok(vec![batch(&[7])])
        })
        .unwrap();
        assert_eq!(runs, 1);
        let text = plan.display_indent().to_string();
        assert!(text.contains("Filter: column1 < Int32(7)"), "{text}");
    }

    #[test]
    fn no_rows_is_null_and_two_rows_an_error() {
        let plan =
            substitute_scalar_subqueries(outer_with_subquery(), &mut |_| Ok(vec![])).unwrap();
        assert!(plan
            .display_indent()
            .to_string()
            .contains("column1 < Int32(NULL)"));
        let error = substitute_scalar_subqueries(outer_with_subquery(), &mut |_| {
            Ok(vec![batch(&[1]), batch(&[2])])
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("SCALAR_SUBQUERY_TOO_MANY_ROWS"),
            "{error}"
        );
    }

    #[test]
    fn explain_names_each_subquery() {
        let (plan, named) = name_scalar_subqueries(outer_with_subquery()).unwrap();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].0, "scalar-subquery#1");
        assert!(plan
            .display_indent()
            .to_string()
            .contains("column1 < scalar-subquery#1()"));
    }
}
