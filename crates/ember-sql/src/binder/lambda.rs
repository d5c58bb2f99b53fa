//! Higher-order functions with lambdas (`transform(xs, x -> x + 1)`): the lambda's body is
//! bound over its parameters and the row's columns, the columns it captures become arguments
//! of the call, and the body a physical expression of [`LambdaUdf`].

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, DFSchema};
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_expr::{Expr, ScalarUDF};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::call::{Call, CallArg};
use super::expr::cast_to;
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;
use crate::functions::lambda::{HigherOrder, LambdaUdf};
use crate::types::spark_type_sql;

/// A lambda as written: its parameter names and body.
struct Lambda<'a> {
    params: Vec<String>,
    body: &'a ast::Expr,
}

fn lambda_of<'a>(arg: &CallArg<'a>) -> Option<Lambda<'a>> {
    let CallArg::Expr(ast::Expr::Lambda(ast::LambdaFunction {
        params,
        body,
        // `x -> e` and `lambda x : e` mean the same.
        syntax: _,
    })) = arg
    else {
        return None;
    };
    let params = match params {
        ast::OneOrManyWithParens::One(p) => vec![p],
        ast::OneOrManyWithParens::Many(ps) => ps.iter().collect(),
    };
    if params.iter().any(|p| p.data_type.is_some()) {
        return None;
    }
    Some(Lambda {
        params: params.iter().map(|p| p.name.value.clone()).collect(),
        body,
    })
}

fn element_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) => Some(f.data_type().clone()),
        _ => None,
    }
}

fn map_types(t: &DataType) -> Option<(DataType, DataType)> {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                Some((kv[0].data_type().clone(), kv[1].data_type().clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

impl Binder<'_> {
    /// `transform`, `filter`, `exists`, `forall`, `aggregate`/`reduce`, `zip_with`,
    /// `map_filter`, `transform_keys`, `transform_values` with their lambdas.
    pub(crate) fn bind_higher_order(
        &mut self,
        kind: HigherOrder,
        call: &Call<'_>,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let name = kind.name();
        let direct = kind.direct_arguments();
        let lambdas: Vec<Lambda<'_>> = call
            .args
            .iter()
            .skip(direct)
            .filter_map(lambda_of)
            .collect();
        let expected_lambdas = if kind == HigherOrder::Aggregate {
            1..=2
        } else {
            1..=1
        };
        if call.args.len() != direct + lambdas.len() || !expected_lambdas.contains(&lambdas.len()) {
            return Err(error_at(
                node,
                format!(
                    "[WRONG_NUM_ARGS] {name} takes {direct} value{} and {} lambda function{} (x -> ...), in this order",
                    if direct > 1 { "s" } else { "" },
                    if kind == HigherOrder::Aggregate { "1 or 2" } else { "1" },
                    if kind == HigherOrder::Aggregate { "s" } else { "" },
                ),
            ));
        }
        let mut direct_args = Vec::with_capacity(direct);
        for arg in call.args.iter().take(direct) {
            match arg {
                CallArg::Expr(e) if lambda_of(arg).is_none() => {
                    direct_args.push(self.bind_expr(e, schema)?)
                }
                _ => {
                    return Err(error_at(
                        node,
                        format!("{name} takes a value, not a lambda, before its lambda function"),
                    ))
                }
            }
        }
        let first_type = direct_args[0].fast_type(schema)?;
        let mismatch = |what: &str, t: &DataType| {
            error_at(
                node,
                format!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{node}\": {name} takes {what}, not \"{}\"",
                    spark_type_sql(t)
                ),
            )
        };
        // The parameter types of each lambda.
        let param_types: Vec<Vec<DataType>> = match kind {
            HigherOrder::Transform
            | HigherOrder::Filter
            | HigherOrder::Exists
            | HigherOrder::Forall => {
                let element =
                    element_type(&first_type).ok_or_else(|| mismatch("an array", &first_type))?;
                vec![vec![element, DataType::Int32]]
            }
            HigherOrder::ZipWith => {
                let second = direct_args[1].fast_type(schema)?;
                let a =
                    element_type(&first_type).ok_or_else(|| mismatch("two arrays", &first_type))?;
                let b = element_type(&second).ok_or_else(|| mismatch("two arrays", &second))?;
                vec![vec![a, b]]
            }
            HigherOrder::MapFilter | HigherOrder::TransformKeys | HigherOrder::TransformValues => {
                let (k, v) =
                    map_types(&first_type).ok_or_else(|| mismatch("a map", &first_type))?;
                vec![vec![k, v]]
            }
            HigherOrder::Aggregate => {
                let element =
                    element_type(&first_type).ok_or_else(|| mismatch("an array", &first_type))?;
                let acc = direct_args[1].fast_type(schema)?;
                vec![vec![acc.clone(), element], vec![acc]]
            }
        };
        let max_params = |i: usize| match (kind, i) {
            (HigherOrder::Transform | HigherOrder::Filter, _) => 1..=2,
            (HigherOrder::Exists | HigherOrder::Forall, _) | (HigherOrder::Aggregate, 1) => 1..=1,
            _ => 2..=2,
        };
        // Bind each body over its parameters and the row's columns.
        let mut bodies = Vec::with_capacity(lambdas.len());
        for (i, lambda) in lambdas.iter().enumerate() {
            if !max_params(i).contains(&lambda.params.len()) {
                return Err(error_at(
                    lambda.body,
                    format!(
                        "[INVALID_LAMBDA_FUNCTION_CALL.NUM_ARGS_MISMATCH] The lambda function of {name} takes {} parameter(s), but it has {}",
                        if max_params(i).start() == max_params(i).end() { max_params(i).start().to_string() } else { format!("{} or {}", max_params(i).start(), max_params(i).end()) },
                        lambda.params.len()
                    ),
                ));
            }
            let params: Vec<(String, DataType)> = lambda
                .params
                .iter()
                .cloned()
                .zip(param_types[i].iter().cloned())
                .collect();
            let lambda_schema = lambda_scope(&params, schema)?;
            let bound = self.bind_expr(lambda.body, &lambda_schema)?;
            if !datafusion_expr::utils::find_aggregate_exprs(std::iter::once(&bound)).is_empty()
                || bound
                    .exists(|e| {
                        Ok(matches!(
                            e,
                            Expr::ScalarSubquery(_)
                                | Expr::Exists(_)
                                | Expr::InSubquery(_)
                                | Expr::WindowFunction(_)
                                | Expr::OuterReferenceColumn(..)
                        ))
                    })
                    .unwrap_or(true)
            {
                return Err(crate::error::not_supported_at(
                    lambda.body,
                    "an aggregate, window function, subquery or outer reference inside a lambda function",
                ));
            }
            let bound = match (kind, i) {
                (
                    HigherOrder::Filter
                    | HigherOrder::Exists
                    | HigherOrder::Forall
                    | HigherOrder::MapFilter,
                    _,
                ) => {
                    let t = bound.fast_type(&lambda_schema)?;
                    if !matches!(t, DataType::Boolean | DataType::Null) {
                        return Err(error_at(
                            lambda.body,
                            format!("[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] the lambda function of {name} must return a boolean, not \"{}\"", spark_type_sql(&t)),
                        ));
                    }
                    cast_to(bound, &DataType::Boolean, &lambda_schema)?
                }
                (HigherOrder::Aggregate, 0) => {
                    // Spark requires the merge to return the start value's type exactly.
                    let t = bound.fast_type(&lambda_schema)?;
                    let acc = &param_types[0][0];
                    if &t != acc && !t.is_null() {
                        return Err(error_at(
                            lambda.body,
                            format!(
                                "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{node}\": the merge function of {name} returns \"{}\", but the start value is \"{}\"; cast the start value (e.g. 0L, 0.0D, CAST(0 AS DECIMAL(10,2)))",
                                spark_type_sql(&t),
                                spark_type_sql(acc)
                            ),
                        ));
                    }
                    cast_to(bound, acc, &lambda_schema)?
                }
                _ => bound,
            };
            bodies.push((params, bound, lambda_schema));
        }
        // The columns the bodies capture become arguments after the direct ones.
        let mut captured: Vec<Column> = Vec::new();
        for (params, body, _) in &bodies {
            for c in body.column_refs() {
                let is_param = c.relation.is_none() && params.iter().any(|(p, _)| p == &c.name);
                if !is_param && !captured.contains(c) {
                    captured.push(c.clone());
                }
            }
        }
        let renames: HashMap<Column, Column> = captured
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), Column::from_name(format!("__captured_{i}"))))
            .collect();
        let mut physical = Vec::new();
        let mut schemas = Vec::new();
        let mut body_types = Vec::new();
        for (params, body, lambda_schema) in bodies {
            body_types.push(body.fast_type(&lambda_schema)?);
            let body = body
                .transform_up(|e| match &e {
                    Expr::Column(c) => match renames.get(c) {
                        Some(r) => Ok(Transformed::yes(Expr::Column(r.clone()))),
                        None => Ok(Transformed::yes(Expr::Column(Column::from_name(
                            c.name.clone(),
                        )))),
                    },
                    _ => Ok(Transformed::no(e)),
                })?
                .data;
            let mut fields: Vec<Field> = params
                .iter()
                .map(|(p, t)| Field::new(p, t.clone(), true))
                .collect();
            for (i, c) in captured.iter().enumerate() {
                let (_, field) = schema.qualified_field_from_column(c)?;
                fields.push(Field::new(
                    format!("__captured_{i}"),
                    field.data_type().clone(),
                    true,
                ));
            }
            let arrow_schema = Arc::new(Schema::new(fields));
            let df_schema = DFSchema::try_from(arrow_schema.as_ref().clone())?;
            let expr = datafusion_physical_expr::create_physical_expr(
                &body,
                &df_schema,
                &ExecutionProps::new(),
                &PhysicalPlanningContext::default(),
            )
            .map_err(|e| EmberError::from(e).into_root())?;
            physical.push(expr);
            schemas.push(arrow_schema);
        }
        let return_type = match kind {
            HigherOrder::Transform | HigherOrder::ZipWith => {
                crate::functions::collection::list_of(body_types[0].clone())
            }
            HigherOrder::Filter | HigherOrder::MapFilter => first_type.clone(),
            HigherOrder::Exists | HigherOrder::Forall => DataType::Boolean,
            HigherOrder::Aggregate => body_types.last().cloned().unwrap_or(DataType::Null),
            HigherOrder::TransformKeys => {
                let (_, v) = map_types(&first_type).unwrap_or((DataType::Null, DataType::Null));
                crate::functions::collection::map_of(body_types[0].clone(), v)
            }
            HigherOrder::TransformValues => {
                let (k, _) = map_types(&first_type).unwrap_or((DataType::Null, DataType::Null));
                crate::functions::collection::map_of(k, body_types[0].clone())
            }
        };
        let udf = Arc::new(ScalarUDF::from(LambdaUdf::new(
            kind,
            physical,
            schemas,
            return_type,
        )));
        let mut args = direct_args;
        args.extend(captured.into_iter().map(Expr::Column));
        Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args)))
    }
}

/// The scope of a lambda's body: its parameters (unqualified), then the row's columns but
/// those the parameters hide.
fn lambda_scope(params: &[(String, DataType)], schema: &DFSchema) -> Result<DFSchema> {
    let mut fields: Vec<(Option<datafusion_common::TableReference>, Arc<Field>)> = params
        .iter()
        .map(|(p, t)| (None, Arc::new(Field::new(p, t.clone(), true))))
        .collect();
    for (qualifier, field) in schema.iter() {
        if params
            .iter()
            .any(|(p, _)| p.eq_ignore_ascii_case(field.name()))
        {
            continue;
        }
        fields.push((qualifier.cloned(), Arc::clone(field)));
    }
    Ok(DFSchema::new_with_metadata(fields, Default::default())?)
}
