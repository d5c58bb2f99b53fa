//! Function calls: Spark's names mapped onto scalar and aggregate function implementations.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field};
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::{AggregateFunction, ScalarFunction};
use datafusion_expr::type_coercion::functions::fields_with_udf;
use datafusion_expr::{AggregateUDF, Expr, ExprSchemable, ScalarUDF};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::expr::{cast_to, common_type};
use super::Binder;
use crate::catalog::closest_names;
use crate::error::error_at;
use crate::types::spark_type_name;

/// Every function Ember knows, by Spark name.
pub struct FunctionRegistry {
    scalars: HashMap<String, Arc<ScalarUDF>>,
    aggregates: HashMap<String, Arc<AggregateUDF>>,
}

/// Spark names whose implementation has another name.
const SCALAR_ALIASES: &[(&str, &str)] = &[
    ("substring", "substr"),
    ("pow", "power"),
    ("ceiling", "ceil"),
    ("len", "character_length"),
    ("length", "character_length"),
    ("char_length", "character_length"),
    ("ucase", "upper"),
    ("lcase", "lower"),
    ("trim", "btrim"),
    ("instr", "strpos"),
    ("log", "ln"),
];

const AGGREGATE_ALIASES: &[(&str, &str)] = &[
    ("mean", "avg"),
    ("std", "stddev"),
    ("stddev_samp", "stddev"),
    ("var_samp", "var_sample"),
];

impl FunctionRegistry {
    pub fn global() -> &'static FunctionRegistry {
        static REGISTRY: OnceLock<FunctionRegistry> = OnceLock::new();
        REGISTRY.get_or_init(|| {
            let mut scalars = HashMap::new();
            for f in datafusion_functions::all_default_functions() {
                for alias in f.aliases() {
                    scalars.insert(alias.to_lowercase(), Arc::clone(&f));
                }
                scalars.insert(f.name().to_lowercase(), f);
            }
            let mut aggregates = HashMap::new();
            for f in datafusion_functions_aggregate::all_default_aggregate_functions() {
                for alias in f.aliases() {
                    aggregates.insert(alias.to_lowercase(), Arc::clone(&f));
                }
                aggregates.insert(f.name().to_lowercase(), f);
            }
            FunctionRegistry {
                scalars,
                aggregates,
            }
        })
    }

    pub fn scalar(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        let name = name.to_lowercase();
        let name = SCALAR_ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map(|(_, t)| t.to_string())
            .unwrap_or(name);
        self.scalars.get(&name).cloned()
    }

    pub fn aggregate(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        let name = name.to_lowercase();
        let name = AGGREGATE_ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map(|(_, t)| t.to_string())
            .unwrap_or(name);
        self.aggregates.get(&name).cloned()
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.scalars
            .keys()
            .chain(self.aggregates.keys())
            .map(String::as_str)
    }
}

impl Binder<'_> {
    pub(crate) fn bind_function(
        &mut self,
        function: &ast::Function,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let name = function.name.to_string().to_lowercase();
        if function.over.is_some() {
            return Err(EmberError::NotSupported(format!(
                "window functions such as '{node}'"
            )));
        }
        let (args, distinct) = match &function.args {
            ast::FunctionArguments::None => (Vec::new(), false),
            ast::FunctionArguments::Subquery(_) => {
                return Err(EmberError::NotSupported(format!(
                    "subqueries as function arguments in '{node}'"
                )))
            }
            ast::FunctionArguments::List(list) => (
                list.args.clone(),
                matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                ),
            ),
        };
        let registry = FunctionRegistry::global();
        if let Some(udaf) = registry.aggregate(&name) {
            let mut bound = Vec::new();
            for arg in &args {
                match arg {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)
                        if name == "count" =>
                    {
                        bound.push(Expr::Literal(ScalarValue::Int32(Some(1)), None))
                    }
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                        let b = self.bind_expr(e, schema)?;
                        if !datafusion_expr::utils::find_aggregate_exprs(std::iter::once(&b))
                            .is_empty()
                        {
                            return Err(error_at(
                                node,
                                format!("aggregate functions cannot be nested in '{node}'"),
                            ));
                        }
                        bound.push(b)
                    }
                    other => {
                        return Err(error_at(
                            node,
                            format!("unsupported argument '{other}' to {name}"),
                        ))
                    }
                }
            }
            let filter = match &function.filter {
                Some(f) => Some(Box::new(self.bind_expr(f, schema)?)),
                None => None,
            };
            let bound = coerce_arguments(udaf.as_ref(), bound, schema, &name, node)?;
            return Ok(Expr::AggregateFunction(AggregateFunction::new_udf(
                udaf,
                bound,
                distinct,
                filter,
                vec![],
                None,
            )));
        }
        if distinct {
            return Err(error_at(
                node,
                format!("DISTINCT is only allowed in aggregate functions, not in {name}"),
            ));
        }
        let mut bound = Vec::new();
        for arg in &args {
            match arg {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    bound.push(self.bind_expr(e, schema)?)
                }
                other => {
                    return Err(error_at(
                        node,
                        format!("unsupported argument '{other}' to {name}"),
                    ))
                }
            }
        }
        match name.as_str() {
            "year" | "month" | "day" | "dayofmonth" | "quarter" | "hour" | "minute" | "second"
            | "dayofweek" | "dayofyear" | "weekofyear" => {
                let part = match name.as_str() {
                    "dayofmonth" => "day",
                    "dayofweek" => "dow",
                    "dayofyear" => "doy",
                    "weekofyear" => "week",
                    other => other,
                };
                let [value] = one_arg(bound, &name, node)?;
                let extracted = self.date_part(part, value, schema, node)?;
                // Spark's dayofweek counts Sunday as 1; date_part's dow counts it as 0.
                return Ok(if part == "dow" {
                    self.coerce_binary(
                        extracted,
                        datafusion_expr::Operator::Plus,
                        Expr::Literal(ScalarValue::Int32(Some(1)), None),
                        schema,
                        node,
                    )?
                } else {
                    extracted
                });
            }
            "if" | "iff" => {
                if bound.len() != 3 {
                    return Err(error_at(
                        node,
                        "if(condition, then, else) takes 3 arguments",
                    ));
                }
                let mut it = bound.into_iter();
                let (c, t, e) = (it.next(), it.next(), it.next());
                let (Some(c), Some(t), Some(e)) = (c, t, e) else {
                    unreachable!()
                };
                let types = [t.get_type(schema)?, e.get_type(schema)?];
                let common = common_type(&types)
                    .ok_or_else(|| error_at(node, "if branches have no common type"))?;
                return Ok(Expr::Case(datafusion_expr::expr::Case::new(
                    None,
                    vec![(
                        Box::new(cast_to(c, &DataType::Boolean, schema)?),
                        Box::new(cast_to(t, &common, schema)?),
                    )],
                    Some(Box::new(cast_to(e, &common, schema)?)),
                )));
            }
            "coalesce" | "nvl" | "ifnull" => {
                let types = bound
                    .iter()
                    .map(|b| b.get_type(schema))
                    .collect::<datafusion_common::Result<Vec<_>>>()?;
                let common = common_type(&types).ok_or_else(|| {
                    error_at(node, format!("{name} arguments have no common type"))
                })?;
                let bound = bound
                    .into_iter()
                    .map(|b| cast_to(b, &common, schema))
                    .collect::<Result<Vec<_>>>()?;
                return self.call_scalar("coalesce", bound, schema, node);
            }
            _ => {}
        }
        self.call_scalar(&name, bound, schema, node)
    }

    /// Calls a scalar function by name, coercing the arguments to its signature.
    pub(crate) fn call_scalar(
        &mut self,
        name: &str,
        args: Vec<Expr>,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let registry = FunctionRegistry::global();
        let Some(udf) = registry.scalar(name) else {
            let suggestions = closest_names(name, registry.names());
            let hint = if suggestions.is_empty() {
                String::new()
            } else {
                format!(" Did you mean {}?", suggestions.join(", "))
            };
            return Err(error_at(
                node,
                format!("Undefined function '{name}'.{hint}"),
            ));
        };
        let args = coerce_arguments(udf.as_ref(), args, schema, name, node)?;
        Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args)))
    }
}

fn one_arg(args: Vec<Expr>, name: &str, node: &ast::Expr) -> Result<[Expr; 1]> {
    let n = args.len();
    <[Expr; 1]>::try_from(args)
        .map_err(|_| error_at(node, format!("{name} takes 1 argument, got {n}")))
}

fn coerce_arguments<F: datafusion_expr::type_coercion::functions::UDFCoercionExt>(
    func: &F,
    args: Vec<Expr>,
    schema: &DFSchema,
    name: &str,
    node: &ast::Expr,
) -> Result<Vec<Expr>> {
    let fields = args
        .iter()
        .map(|a| {
            a.get_type(schema)
                .map(|t| Arc::new(Field::new("arg", t, true)))
        })
        .collect::<datafusion_common::Result<Vec<_>>>()?;
    let coerced = fields_with_udf(&fields, func).map_err(|_| {
        error_at(
            node,
            format!(
                "Function {name} cannot take arguments of type ({}) in '{node}'",
                fields
                    .iter()
                    .map(|f| spark_type_name(f.data_type()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    args.into_iter()
        .zip(coerced)
        .map(|(a, f)| cast_to(a, f.data_type(), schema))
        .collect()
}
