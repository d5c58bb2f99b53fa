//! The type of a bound expression, computed without names.
//!
//! DataFusion's `get_type` goes through `to_field`, which builds the expression's display name
//! at every node of the tree, so asking the type of an expression `n` levels deep costs
//! O(n²), and the binder asks at every level while it builds: a 3,000-term sum took minutes.
//! [`ExprType::fast_type`] walks the tree once (no names) for the expressions the binder builds
//! and falls back to DataFusion's `get_type` for anything else.

use arrow::datatypes::DataType;
use datafusion_common::{DFSchema, ExprSchema, Result};
use datafusion_expr::expr::{Case, Cast, ScalarFunction, TryCast};
use datafusion_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion_expr::{BinaryExpr, Expr, ExprSchemable};

/// The type of an expression over a schema, without building its name.
pub(crate) trait ExprType {
    fn fast_type(&self, schema: &DFSchema) -> Result<DataType>;
}

impl ExprType for Expr {
    fn fast_type(&self, schema: &DFSchema) -> Result<DataType> {
        let mut node = self;
        // Unwrap the nodes whose type is their operand's without recursing.
        loop {
            match node {
                Expr::Alias(alias) => node = &alias.expr,
                Expr::Negative(inner) => node = inner,
                _ => break,
            }
        }
        match node {
            Expr::Column(column) => Ok(schema.field_from_column(column)?.data_type().clone()),
            Expr::Literal(value, _) => Ok(value.data_type()),
            Expr::Cast(Cast { field, .. }) | Expr::TryCast(TryCast { field, .. }) => {
                Ok(field.data_type().clone())
            }
            Expr::Not(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::Between(_)
            | Expr::InList(_)
            | Expr::Like(_)
            | Expr::Exists(_)
            | Expr::InSubquery(_) => Ok(DataType::Boolean),
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let (lt, rt) = (left.fast_type(schema)?, right.fast_type(schema)?);
                BinaryTypeCoercer::new(&lt, op, &rt).get_result_type()
            }
            Expr::ScalarFunction(ScalarFunction { func, args }) => {
                let types = args
                    .iter()
                    .map(|a| a.fast_type(schema))
                    .collect::<Result<Vec<_>>>()?;
                // Functions that only know their type from their arguments' fields (not all
                // stock ones implement `return_type`) take DataFusion's way.
                func.return_type(&types).or_else(|_| node.get_type(schema))
            }
            Expr::Case(Case {
                when_then_expr,
                else_expr,
                ..
            }) => match when_then_expr.first() {
                Some((_, then)) => then.fast_type(schema),
                None => match else_expr {
                    Some(e) => e.fast_type(schema),
                    None => node.get_type(schema),
                },
            },
            other => other.get_type(schema),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_common::ScalarValue;

    #[test]
    fn agrees_with_datafusion_on_what_the_binder_builds() {
        let schema = DFSchema::empty();
        let one = || Expr::Literal(ScalarValue::Int32(Some(1)), None);
        let mut sum = one();
        for _ in 0..10 {
            sum = Expr::BinaryExpr(BinaryExpr::new(
                Box::new(Expr::Cast(Cast::new(Box::new(sum), DataType::Int64))),
                datafusion_expr::Operator::Plus,
                Box::new(one()),
            ));
        }
        let comparison = sum.clone().gt(one());
        for e in [sum, comparison, one().alias("x"), one().is_null()] {
            assert_eq!(
                e.fast_type(&schema).unwrap(),
                e.get_type(&schema).unwrap(),
                "{e}"
            );
        }
    }
}
