//! The binder (Spark's analyzer): resolves names against the catalog and scopes, applies
//! Spark's type coercion, and builds a `datafusion_expr::LogicalPlan`.
//!
//! One type, spread over files named after SQL constructs: `query.rs` (WITH, set operations,
//! ORDER BY, LIMIT), `select.rs` (projection, GROUP BY, HAVING), `relation.rs` (FROM and
//! joins), `expr.rs` (expressions), `function.rs` (function calls), `naming.rs` (Spark's
//! result column names).

mod aggregate;
mod call;
mod coalesce;
pub(crate) mod coercion;
mod date_part;
mod datetime_call;
mod expr;
mod function;
mod generate;
mod grouping;
mod interval;
mod lambda;
mod like;
pub(crate) mod literal;
mod naming;
mod operator;
mod organization;
mod query;
mod relation;
mod select;
mod struct_field;
mod subquery;
#[cfg(test)]
mod test_util;
mod timestamp;
mod typing;
mod window;

use std::collections::BTreeMap;

use arrow::datatypes::DataType;
use datafusion_common::DFSchema;
use datafusion_expr::LogicalPlan;
use ember_common::{EmberConf, Result};
use sqlparser::ast;

use crate::catalog::SessionCatalog;

pub use function::FunctionRegistry;

/// What a FROM clause's columns look like to the SELECT over it, beyond their schema.
#[derive(Debug, Default)]
struct FromScope {
    /// Columns `*` does not show (the other side's key of `JOIN ... USING`): a name matching
    /// one of them and a visible column means the visible one.
    hidden: Vec<datafusion_common::Column>,
    /// Columns DataFusion renamed because their names repeat (`x:1`), with the name the query
    /// gave them (`x`).
    renamed: Vec<(datafusion_common::Column, String)>,
}

/// Binds SQL ASTs to logical plans for one session.
pub struct Binder<'a> {
    catalog: &'a SessionCatalog,
    conf: &'a EmberConf,
    /// Common table expressions in scope, innermost last.
    ctes: Vec<BTreeMap<String, LogicalPlan>>,
    /// Schemas of the queries enclosing the subquery being bound, innermost last: where a
    /// column not found in the current scope resolves as an outer (correlated) reference.
    outer_schemas: Vec<DFSchema>,
    /// `WINDOW name AS (...)` definitions of the SELECTs being bound, innermost last.
    named_windows: Vec<BTreeMap<String, ast::WindowSpec>>,
    /// Values of a prepared statement's `?` / `$n` parameters.
    parameters: Option<&'a crate::Parameters>,
    /// What the FROM clauses of the SELECTs being bound hide or rename, innermost last.
    from_scopes: Vec<FromScope>,
    /// FULL JOINs with USING bound so far, numbering the qualifiers of their merged columns.
    using_joins: usize,
    /// How deep `bind_expr` is in the expression being bound.
    depth: usize,
    /// The types the statement's context gives its parameters, by position (`$1` is 0): the
    /// other side of a comparison or arithmetic, the type of a CAST, a LIKE pattern's string,
    /// an INSERT's target column. Clients bind typed values with them.
    parameter_types: BTreeMap<usize, DataType>,
}

/// The placeholder name and position of `node` when it is a parameter (`?`, `$1`), perhaps in
/// parentheses.
fn parameter_of(node: &ast::Expr) -> Option<(&str, sqlparser::tokenizer::Span)> {
    let mut node = node;
    while let ast::Expr::Nested(inner) = node {
        node = inner;
    }
    match node {
        ast::Expr::Value(ast::ValueWithSpan {
            value: ast::Value::Placeholder(name),
            span,
        }) => Some((name, *span)),
        _ => None,
    }
}

/// Whether `node` is a parameter (`?`, `$1`), perhaps in parentheses.
pub(crate) fn is_parameter(node: &ast::Expr) -> bool {
    parameter_of(node).is_some()
}

impl<'a> Binder<'a> {
    pub fn new(catalog: &'a SessionCatalog, conf: &'a EmberConf) -> Self {
        Binder {
            catalog,
            conf,
            ctes: Vec::new(),
            outer_schemas: Vec::new(),
            named_windows: Vec::new(),
            parameters: None,
            from_scopes: Vec::new(),
            using_joins: 0,
            depth: 0,
            parameter_types: BTreeMap::new(),
        }
    }

    /// Binds `?` and `$n` placeholders to these values.
    pub fn with_parameters(mut self, parameters: Option<&'a crate::Parameters>) -> Self {
        self.parameters = parameters;
        self
    }

    /// The parameter types found while binding (see [`Binder::note_parameter_type`]), by
    /// position; a parameter whose context says nothing about its type is absent. Also
    /// meaningful after a bind that failed part-way.
    pub fn parameter_types(&self) -> &BTreeMap<usize, DataType> {
        &self.parameter_types
    }

    /// Records that the parameter `node` (when it is one, perhaps in parentheses) takes values
    /// of type `data_type`; the first type noted for a parameter wins.
    pub fn note_parameter_type(&mut self, node: &ast::Expr, data_type: &DataType) {
        let Some((name, span)) = parameter_of(node) else {
            return;
        };
        if data_type.is_null() {
            return;
        }
        if let Some(index) = self.parameters.and_then(|p| p.index(name, span.start)) {
            self.parameter_types
                .entry(index)
                .or_insert_with(|| data_type.clone());
        }
    }

    /// Notes the types of the parameters written directly in `query`'s VALUES rows from the
    /// columns they fill (`INSERT INTO t VALUES (?, ?)` takes t's column types).
    pub fn note_values_parameter_types(&mut self, query: &ast::Query, columns: &[DataType]) {
        if let ast::SetExpr::Values(values) = query.body.as_ref() {
            for row in &values.rows {
                for (value, data_type) in row.iter().zip(columns) {
                    self.note_parameter_type(value, data_type);
                }
            }
        }
    }

    /// Binds a query (SELECT, WITH, VALUES, set operations) to a logical plan.
    pub fn bind_query_statement(&mut self, query: &ast::Query) -> Result<LogicalPlan> {
        self.bind_query(query)
    }

    fn case_sensitive(&self) -> bool {
        self.conf.get_bool("ember.sql.caseSensitive")
    }
}
