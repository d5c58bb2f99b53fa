//! Generators (`explode`, `posexplode`, `inline`, `stack` and their `_outer` forms): in
//! `LATERAL VIEW [OUTER] gen(...) t AS c1, c2` and in the SELECT list, as Spark's
//! `Generate` node.
//!
//! A generator in the SELECT list of a query without aggregation runs over the rows that
//! pass WHERE, as a LATERAL VIEW would; its item becomes the generated columns (`col`, or
//! `pos`, `col`, or `key`, `value`, or the aliases of `AS c` / `AS (a, b)`).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use datafusion_common::{DFSchema, ScalarValue, TableReference};
use datafusion_expr::{Expr, LogicalPlan};
use ember_common::logical::{Generate, GeneratorKind};
use ember_common::Result;
use sqlparser::ast;

use super::call::{Call, CallArg};
use super::coercion::{common_type, implicit_cast};
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;
use crate::types::spark_type_name;

/// The generator functions, with and without `_outer`.
const GENERATORS: &[&str] = &[
    "explode",
    "explode_outer",
    "posexplode",
    "posexplode_outer",
    "inline",
    "inline_outer",
    "stack",
];

/// A generator, its (coerced) arguments, and the names and types of the columns it adds.
type BoundGenerator = (GeneratorKind, Vec<Expr>, Vec<(String, DataType)>);

/// The qualifier of the columns a SELECT-list generator adds.
pub(super) const SELECT_LIST_GENERATOR: &str = "__generate";

/// `expr` as a generator call: the function, when it is one.
pub(super) fn generator_call(expr: &ast::Expr) -> Option<&ast::Function> {
    match expr {
        ast::Expr::Function(f) if is_generator(&f.name.to_string()) => Some(f),
        _ => None,
    }
}

pub(super) fn is_generator(name: &str) -> bool {
    let lower = name.to_lowercase();
    GENERATORS.contains(&lower.as_str())
}

impl Binder<'_> {
    /// Finds the generator in `projection` (at most one, at the top of its item) and makes
    /// its rows over `plan`; gives the new plan and the SELECT list with the generator's item
    /// replaced by the generated columns, or `plan` and `None` when there is no generator.
    pub(super) fn select_list_generator(
        &mut self,
        projection: &[ast::SelectItem],
        plan: LogicalPlan,
    ) -> Result<(LogicalPlan, Option<Vec<ast::SelectItem>>)> {
        let mut found: Option<(usize, &ast::Function, &ast::Expr, Vec<ast::Ident>)> = None;
        for (i, item) in projection.iter().enumerate() {
            let (expr, aliases) = match item {
                ast::SelectItem::UnnamedExpr(e) => (e, vec![]),
                ast::SelectItem::ExprWithAlias { expr, alias } => (expr, vec![alias.clone()]),
                ast::SelectItem::ExprWithAliases { expr, aliases } => (expr, aliases.clone()),
                _ => continue,
            };
            if let Some(function) = generator_call(expr) {
                if found.is_some() {
                    return Err(error_at(
                        expr,
                        "[UNSUPPORTED_GENERATOR.MULTI_GENERATOR] The generator is not supported: only one generator allowed per SELECT clause; use LATERAL VIEW for more",
                    ));
                }
                found = Some((i, function, expr, aliases));
            }
        }
        let Some((index, function, expr, aliases)) = found else {
            return Ok((plan, None));
        };
        let before = plan.schema().fields().len();
        let generated =
            self.bind_generator(function, expr, false, plan, SELECT_LIST_GENERATOR, &aliases)?;
        let columns: Vec<ast::SelectItem> = generated
            .schema()
            .fields()
            .iter()
            .skip(before)
            .map(|f| {
                ast::SelectItem::UnnamedExpr(ast::Expr::CompoundIdentifier(vec![
                    ast::Ident::new(SELECT_LIST_GENERATOR),
                    ast::Ident::with_quote('`', f.name()),
                ]))
            })
            .collect();
        let mut items = projection.to_vec();
        items.splice(index..=index, columns);
        Ok((generated, Some(items)))
    }

    /// `input` followed by the rows `function` generates from each of its rows, the new
    /// columns qualified by `qualifier` and named `aliases` (or Spark's default names).
    pub(super) fn bind_generator(
        &mut self,
        function: &ast::Function,
        node: &ast::Expr,
        outer: bool,
        input: LogicalPlan,
        qualifier: &str,
        aliases: &[ast::Ident],
    ) -> Result<LogicalPlan> {
        let call = Call::of(function, node)?;
        call.check_scalar(node)?;
        let name = call.name.clone();
        let (base, outer) = match name.strip_suffix("_outer") {
            Some(base) => (base.to_string(), true),
            None => (name.clone(), outer),
        };
        let schema = input.schema().clone();
        let mut args = Vec::new();
        for arg in &call.args {
            match arg {
                CallArg::Expr(e) => args.push(self.bind_expr(e, &schema)?),
                CallArg::Star => {
                    return Err(error_at(node, format!("'*' is not an argument of {name}")))
                }
            }
        }
        let (kind, args, generated) = match base.as_str() {
            "explode" | "posexplode" => {
                let [arg] = one(args, &name, node)?;
                let t = arg.fast_type(&schema)?;
                let mut generated = Vec::new();
                if base == "posexplode" {
                    generated.push(("pos".to_string(), DataType::Int32));
                }
                match &t {
                    DataType::List(f) | DataType::LargeList(f) => {
                        generated.push(("col".into(), f.data_type().clone()));
                    }
                    DataType::Map(entries, _) => match entries.data_type() {
                        DataType::Struct(fields) if fields.len() == 2 => {
                            generated.push(("key".into(), fields[0].data_type().clone()));
                            generated.push(("value".into(), fields[1].data_type().clone()));
                        }
                        _ => return Err(error_at(node, "a map without keys and values")),
                    },
                    other => return Err(mismatch(node, &name, "an array or a map", other)),
                }
                let kind = if base == "posexplode" {
                    GeneratorKind::PosExplode
                } else {
                    GeneratorKind::Explode
                };
                (kind, vec![arg], generated)
            }
            "inline" => {
                let [arg] = one(args, &name, node)?;
                let t = arg.fast_type(&schema)?;
                let generated = match &t {
                    DataType::List(f) | DataType::LargeList(f) => match f.data_type() {
                        DataType::Struct(fields) => fields
                            .iter()
                            .map(|f| (f.name().clone(), f.data_type().clone()))
                            .collect(),
                        _ => return Err(mismatch(node, &name, "an array of structs", &t)),
                    },
                    other => return Err(mismatch(node, &name, "an array of structs", other)),
                };
                (GeneratorKind::Inline, vec![arg], generated)
            }
            "stack" => self.bind_stack(args, &schema, node)?,
            other => return Err(error_at(node, format!("{other} is not a generator"))),
        };
        if !aliases.is_empty() && aliases.len() != generated.len() {
            return Err(error_at(
                node,
                format!(
                    "[UDTF_ALIAS_NUMBER_MISMATCH] The number of aliases supplied in the AS clause does not match the number of columns output by the UDTF. Expected {} aliases, but got {}.",
                    generated.len(),
                    aliases.len()
                ),
            ));
        }
        let mut fields: Vec<(Option<TableReference>, Arc<Field>)> = schema
            .iter()
            .map(|(q, f)| (q.cloned(), Arc::clone(f)))
            .collect();
        let qualifier = TableReference::bare(qualifier);
        for (i, (default, data_type)) in generated.into_iter().enumerate() {
            let name = aliases.get(i).map_or(default, |a| a.value.clone());
            fields.push((
                Some(qualifier.clone()),
                Arc::new(Field::new(name, data_type, true)),
            ));
        }
        let out = DFSchema::new_with_metadata(fields, schema.metadata().clone())?;
        Ok(Generate::plan(kind, args, outer, input, Arc::new(out)))
    }

    /// `stack(n, v1, ..., vk)`: `n` a constant int; the values cast to their column's type.
    fn bind_stack(
        &mut self,
        args: Vec<Expr>,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<BoundGenerator> {
        let mut args = args.into_iter();
        let rows = match args.next() {
            Some(Expr::Literal(ScalarValue::Int32(Some(n)), _)) if n >= 1 => n as usize,
            Some(_) => {
                return Err(error_at(
                    node,
                    "[DATATYPE_MISMATCH.NON_FOLDABLE_INPUT] the first argument of stack, the number of rows, must be a positive int literal",
                ))
            }
            None => {
                return Err(error_at(
                    node,
                    "[WRONG_NUM_ARGS] stack takes at least 2 arguments: the number of rows and values",
                ))
            }
        };
        let values: Vec<Expr> = args.collect();
        if values.is_empty() {
            return Err(error_at(
                node,
                "[WRONG_NUM_ARGS] stack takes at least 2 arguments: the number of rows and values",
            ));
        }
        let width = values.len().div_ceil(rows);
        let mut types = Vec::with_capacity(width);
        for column in 0..width {
            let column_types = (0..rows)
                .filter_map(|r| values.get(r * width + column))
                .map(|v| v.fast_type(schema).map_err(ember_common::EmberError::from))
                .collect::<Result<Vec<_>>>()?;
            let common = common_type(&column_types, self.ansi()).ok_or_else(|| {
                error_at(
                    node,
                    format!(
                        "[DATATYPE_MISMATCH.STACK_COLUMN_DIFF_TYPES] column {column} of stack has values of types {} with no common type",
                        column_types.iter().map(spark_type_name).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            types.push(common);
        }
        let mut cast = vec![Expr::Literal(ScalarValue::Int32(Some(rows as i32)), None)];
        for (i, value) in values.into_iter().enumerate() {
            cast.push(implicit_cast(
                value,
                &types[i % width],
                schema,
                self.ansi(),
            )?);
        }
        let generated = types
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("col{i}"), t))
            .collect();
        Ok((GeneratorKind::Stack { rows }, cast, generated))
    }
}

fn one(args: Vec<Expr>, name: &str, node: &ast::Expr) -> Result<[Expr; 1]> {
    let count = args.len();
    <[Expr; 1]>::try_from(args).map_err(|_| {
        error_at(
            node,
            format!("[WRONG_NUM_ARGS] {name} takes 1 argument, got {count}"),
        )
    })
}

fn mismatch(
    node: &ast::Expr,
    name: &str,
    wanted: &str,
    got: &DataType,
) -> ember_common::EmberError {
    error_at(
        node,
        format!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] {name} expects {wanted}, not {}",
            spark_type_name(got)
        ),
    )
}
