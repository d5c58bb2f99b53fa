//! Subqueries as expressions: scalar subqueries, `IN (SELECT ...)` and `EXISTS`, bound with
//! the enclosing query's columns as the outer scope of correlated references.

use std::sync::Arc;

use datafusion_common::{Column, DFSchema};
use datafusion_expr::expr::InSubquery;
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder, Subquery};
use ember_common::Result;
use sqlparser::ast;

use super::expr::comparable;
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;
use crate::types::spark_type_name;

impl Binder<'_> {
    /// Binds the query of a subquery with `schema` as its innermost outer scope.
    pub(crate) fn bind_subquery_plan(
        &mut self,
        query: &ast::Query,
        schema: &DFSchema,
    ) -> Result<LogicalPlan> {
        self.outer_schemas.push(schema.clone());
        let result = self.bind_query(query);
        self.outer_schemas.pop();
        result
    }

    /// `(SELECT ...)` used as a value: one column, at most one row (checked at run time).
    pub(crate) fn bind_scalar_subquery(
        &mut self,
        query: &ast::Query,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let plan = self.bind_subquery_plan(query, schema)?;
        let columns = plan.schema().fields().len();
        if columns != 1 {
            return Err(error_at(
                node,
                format!(
                    "Scalar subquery must return only one column, but got {columns}; select a single expression in '{node}'"
                ),
            ));
        }
        Ok(Expr::ScalarSubquery(subquery_of(plan)))
    }

    /// `x [NOT] IN (SELECT y ...)`: one column, both sides coerced to a common type.
    pub(crate) fn bind_in_subquery(
        &mut self,
        value: &ast::Expr,
        query: &ast::Query,
        negated: bool,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let v = self.bind_expr(value, schema)?;
        let plan = self.bind_subquery_plan(query, schema)?;
        let fields = plan.schema().fields().len();
        if fields != 1 {
            return Err(error_at(
                node,
                format!(
                    "The IN subquery must return one column to compare with '{value}', but it returns {fields}"
                ),
            ));
        }
        let vt = v.fast_type(schema)?;
        let (qualifier, field) = plan.schema().qualified_field(0);
        let st = field.data_type().clone();
        let common = super::coercion::comparison_type(&vt, &st).ok_or_else(|| {
            error_at(
                node,
                format!(
                    "Cannot compare {} with the {} the IN subquery returns in '{node}'",
                    spark_type_name(&vt),
                    spark_type_name(&st)
                ),
            )
        })?;
        let normalize = crate::functions::normalize::needs_normalizing(&common);
        let plan = if st == common && !normalize {
            plan
        } else {
            let name = field.name().clone();
            let column = Expr::Column(Column::new(qualifier.cloned(), &name));
            let sub_schema = plan.schema().clone();
            let value = comparable(
                super::coercion::implicit_cast(column, &common, &sub_schema, self.ansi())?,
                &common,
            );
            LogicalPlanBuilder::from(plan)
                .project(vec![value.alias(name)])?
                .build()?
        };
        Ok(Expr::InSubquery(InSubquery::new(
            Box::new(comparable(
                super::coercion::implicit_cast(v, &common, schema, self.ansi())?,
                &common,
            )),
            subquery_of(plan),
            negated,
        )))
    }
}

/// A subquery expression's payload, with the outer references its plan makes.
pub(crate) fn subquery_of(plan: LogicalPlan) -> Subquery {
    let plan = Arc::new(plan);
    Subquery {
        outer_ref_columns: plan.all_out_ref_exprs(),
        subquery: plan,
        spans: Default::default(),
    }
}
