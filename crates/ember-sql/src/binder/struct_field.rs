//! Struct fields: `s.f` and `t.s.f` (a struct column, then fields), `s['f']`, `arr[0].f`, and
//! `s.*` (the fields as columns), with Spark's case rules for field names.

use arrow::datatypes::DataType;
use datafusion_common::{Column, DFSchema, ScalarValue};
use datafusion_expr::Expr;
use ember_common::Result;
use sqlparser::ast;

use super::select::{excluded_columns, SelectItem};
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;
use crate::types::spark_type_name;

impl Binder<'_> {
    /// `idents` as a column (its longest prefix that resolves) followed by struct fields;
    /// `None` when no prefix is a struct column.
    pub(super) fn resolve_struct_field(
        &mut self,
        idents: &[ast::Ident],
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Option<Result<Expr>> {
        for split in (1..idents.len()).rev() {
            let Ok(column) = self.resolve_column(&idents[..split], schema, node) else {
                continue;
            };
            if !matches!(column.fast_type(schema), Ok(DataType::Struct(_))) {
                continue;
            }
            let mut value = column;
            for field in &idents[split..] {
                value = match self.struct_field(value, &field.value, schema, node) {
                    Ok(v) => v,
                    Err(e) => return Some(Err(e)),
                };
            }
            return Some(Ok(value));
        }
        None
    }

    /// The field `name` of the struct `value` (Spark's case rules for the name).
    pub(super) fn struct_field(
        &mut self,
        value: Expr,
        name: &str,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let DataType::Struct(fields) = value.fast_type(schema)? else {
            return Err(error_at(
                node,
                format!(
                    "[INVALID_EXTRACT_BASE_FIELD_TYPE] Can't extract a value from {value}: need a struct to take the field {name}, but it is {}",
                    spark_type_name(&value.fast_type(schema)?)
                ),
            ));
        };
        let case_sensitive = self.case_sensitive();
        let Some(field) = fields.iter().find(|f| {
            if case_sensitive {
                f.name() == name
            } else {
                f.name().eq_ignore_ascii_case(name)
            }
        }) else {
            return Err(error_at(
                node,
                format!(
                    "[FIELD_NOT_FOUND] No such struct field `{name}` in {}",
                    fields
                        .iter()
                        .map(|f| format!("`{}`", f.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let name = field.name().clone();
        self.call_scalar(
            "get_field",
            vec![value, Expr::Literal(ScalarValue::Utf8(Some(name)), None)],
            schema,
            node,
        )
    }

    /// `s.*` of a struct value: one item per field, named as the field.
    pub(super) fn struct_fields_of(
        &mut self,
        value: Expr,
        options: &ast::WildcardAdditionalOptions,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Vec<SelectItem>> {
        let DataType::Struct(fields) = value.fast_type(schema)? else {
            return Err(error_at(
                node,
                format!("'{node}.*' needs a struct or a table name, and {node} is neither"),
            ));
        };
        let columns: Vec<Column> = fields.iter().map(|f| Column::from_name(f.name())).collect();
        let excluded = excluded_columns(options, &columns)?;
        let mut items = Vec::new();
        for field in fields.iter() {
            if excluded
                .iter()
                .any(|e| e.eq_ignore_ascii_case(field.name()))
            {
                continue;
            }
            let expr = self.call_scalar(
                "get_field",
                vec![
                    value.clone(),
                    Expr::Literal(
                        datafusion_common::ScalarValue::Utf8(Some(field.name().clone())),
                        None,
                    ),
                ],
                schema,
                node,
            )?;
            items.push(SelectItem {
                expr,
                name: field.name().clone(),
                source: None,
            });
        }
        Ok(items)
    }
}
