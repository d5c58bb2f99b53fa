//! Binding SQL in unit tests, over small views created from VALUES.

use datafusion_common::{Column, ScalarValue};
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use ember_common::EmberConf;

use super::Binder;
use crate::catalog::SessionCatalog;

/// Binds the query `sql` over temporary views `name(first, second)`, each holding one row
/// with the given values.
pub(crate) fn bind_over_views(
    sql: &str,
    views: &[(&str, [&str; 2], ScalarValue, ScalarValue)],
) -> Result<LogicalPlan, String> {
    let catalog = SessionCatalog::new();
    for (name, columns, first, second) in views {
        let plan = LogicalPlanBuilder::values(vec![vec![
            Expr::Literal(first.clone(), None),
            Expr::Literal(second.clone(), None),
        ]])
        .and_then(|b| {
            b.project(vec![
                Expr::Column(Column::from_name("column1")).alias(columns[0]),
                Expr::Column(Column::from_name("column2")).alias(columns[1]),
            ])
        })
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
        catalog
            .register_view(name, plan, true, false)
            .map_err(|e| e.to_string())?;
    }
    let conf = EmberConf::default();
    let statements = crate::parser::parse_statements(sql).map_err(|e| e.to_string())?;
    let crate::parser::EmberStatement::Query(query) = &statements[0].statement else {
        return Err("not a query".into());
    };
    Binder::new(&catalog, &conf)
        .bind_query_statement(query)
        .map_err(|e| e.to_string())
}
