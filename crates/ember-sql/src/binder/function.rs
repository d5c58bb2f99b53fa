//! Function calls: Spark's names mapped onto scalar and aggregate function implementations.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field};
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::type_coercion::functions::fields_with_udf;
use datafusion_expr::{AggregateUDF, Expr, Operator, ScalarUDF};
use ember_common::Result;
use sqlparser::ast;

use super::aggregate::is_rewritten_aggregate;
use super::coercion::{common_type, implicit_cast};
use super::expr::cast_to;
use super::typing::ExprType;
use super::Binder;
use crate::catalog::closest_names;
use crate::error::error_at;
use crate::functions::ansi::{self, Overflow};
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
    ("rlike", "regexp_like"),
    ("regexp", "regexp_like"),
    ("sign", "signum"),
];

const AGGREGATE_ALIASES: &[(&str, &str)] = &[
    ("mean", "avg"),
    ("std", "stddev"),
    ("stddev_samp", "stddev"),
    ("variance", "var_samp"),
    ("var_samp", "var_sample"),
    // Ember's grouping() already returns the bit vector of all its arguments.
    ("grouping_id", "grouping"),
];

/// Argument counts of Spark functions, checked before binding: (name, min, max).
const ARITY: &[(&str, usize, usize)] = &[
    ("grouping", 1, 1),
    ("grouping_id", 1, 64),
    ("upper", 1, 1),
    ("lower", 1, 1),
    ("ucase", 1, 1),
    ("lcase", 1, 1),
    ("length", 1, 1),
    ("len", 1, 1),
    ("char_length", 1, 1),
    ("character_length", 1, 1),
    ("trim", 1, 2),
    ("ltrim", 1, 2),
    ("rtrim", 1, 2),
    ("substring", 2, 3),
    ("substr", 2, 3),
    ("concat_ws", 1, usize::MAX),
    ("replace", 2, 3),
    ("split", 2, 3),
    ("regexp_replace", 3, 4),
    ("regexp_extract", 2, 3),
    ("rlike", 2, 2),
    ("regexp", 2, 2),
    ("regexp_like", 2, 2),
    ("lpad", 2, 3),
    ("rpad", 2, 3),
    ("instr", 2, 2),
    ("locate", 2, 3),
    ("to_date", 1, 2),
    ("to_timestamp", 1, 2),
    ("date_format", 2, 2),
    ("date_add", 2, 2),
    ("date_sub", 2, 2),
    ("add_months", 2, 2),
    ("datediff", 2, 2),
    ("months_between", 2, 3),
    ("last_day", 1, 1),
    ("trunc", 2, 2),
    ("date_trunc", 2, 2),
    ("current_date", 0, 0),
    ("abs", 1, 1),
    ("try_add", 2, 2),
    ("try_subtract", 2, 2),
    ("try_multiply", 2, 2),
    ("try_divide", 2, 2),
    ("typeof", 1, 1),
    ("round", 1, 2),
    ("ceil", 1, 1),
    ("ceiling", 1, 1),
    ("floor", 1, 1),
    ("power", 2, 2),
    ("pow", 2, 2),
    ("sqrt", 1, 1),
    ("ln", 1, 1),
    ("log10", 1, 1),
    ("log2", 1, 1),
    ("log", 1, 2),
    ("exp", 1, 1),
    ("coalesce", 1, usize::MAX),
    ("nvl", 2, 2),
    ("ifnull", 2, 2),
    ("nvl2", 3, 3),
    ("if", 3, 3),
    ("iff", 3, 3),
    ("nullif", 2, 2),
    ("greatest", 2, usize::MAX),
    ("least", 2, usize::MAX),
    ("count_if", 1, 1),
    ("stddev", 1, 1),
    ("stddev_samp", 1, 1),
    ("std", 1, 1),
    ("variance", 1, 1),
    ("var_samp", 1, 1),
    ("collect_list", 1, 1),
    ("array_agg", 1, 1),
    ("collect_set", 1, 1),
    ("approx_count_distinct", 1, 2),
    ("first", 1, 2),
    ("last", 1, 2),
    ("first_value", 1, 2),
    ("last_value", 1, 2),
    ("any_value", 1, 2),
    ("max_by", 2, 2),
    ("min_by", 2, 2),
    ("sum", 1, 1),
    ("avg", 1, 1),
    ("mean", 1, 1),
    ("min", 1, 1),
    ("max", 1, 1),
];

/// Spark's message for a call with the wrong number of arguments.
fn check_arity(name: &str, got: usize, node: &ast::Expr) -> Result<()> {
    if name == "count" && got == 0 {
        return Err(error_at(
            node,
            "[WRONG_NUM_ARGS] The `count` requires at least 1 argument, but got 0; count rows with count(*)",
        ));
    }
    let Some((_, min, max)) = ARITY.iter().find(|(n, _, _)| *n == name) else {
        return Ok(());
    };
    if got < *min || got > *max {
        return Err(error_at(
            node,
            format!(
                "Function {name} takes {}, got {got}",
                crate::functions::describe_arity(*min, *max)
            ),
        ));
    }
    Ok(())
}

impl FunctionRegistry {
    /// The registry shared by every session.
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
            // Ember's own implementations replace the stock ones of the same name.
            for f in crate::functions::ember_scalar_functions() {
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

    /// The scalar function called `name` (a Spark name or alias).
    pub fn scalar(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        let name = name.to_lowercase();
        let name = SCALAR_ALIASES
            .iter()
            .find(|(a, _)| *a == name)
            .map(|(_, t)| t.to_string())
            .unwrap_or(name);
        self.scalars.get(&name).cloned()
    }

    /// The aggregate function called `name` (a Spark name or alias).
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
        let call = super::call::Call::of(function, node)?;
        if call.over.is_some() {
            return self.bind_window_function(&call, schema, node);
        }
        let name = call.name.clone();
        if let Some(data_type) = cast_alias(&name) {
            // Spark's cast aliases (SPARK-16730): int(x) is CAST(x AS INT).
            let [super::call::CallArg::Expr(value)] = call.args.as_slice() else {
                return Err(error_at(
                    node,
                    format!(
                        "[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `{name}` requires 1 parameters but the actual number is {}",
                        call.args.len()
                    ),
                ));
            };
            let cast = ast::Expr::Cast {
                kind: ast::CastKind::Cast,
                expr: Box::new((*value).clone()),
                data_type,
                array: false,
                format: None,
            };
            return self.bind_expr(&cast, schema);
        }
        if super::generate::is_generator(&name) {
            // A generator alone as a SELECT item or in LATERAL VIEW was taken out before the
            // expressions were bound; one that gets here is inside an expression or clause.
            return Err(error_at(
                node,
                format!(
                    "[UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS] The generator is not supported: {name} can only be used alone as a SELECT item or in LATERAL VIEW, not inside an expression or another clause"
                ),
            ));
        }
        if let Some(kind) = crate::functions::lambda::HigherOrder::from_name(&name) {
            return self.bind_higher_order(kind, &call, schema, node);
        }
        check_arity(&name, call.args.len(), node)?;
        if is_spark_aggregate(&name) {
            return self.bind_aggregate(&call, schema, node, false);
        }
        call.check_scalar(node)?;
        let mut bound = Vec::new();
        for arg in &call.args {
            match arg {
                super::call::CallArg::Expr(e) => bound.push(self.bind_expr(e, schema)?),
                super::call::CallArg::Star => {
                    return Err(error_at(
                        node,
                        format!("'*' is not an argument of {name}; only count(*) takes it"),
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
                let value = if value.fast_type(schema)?.is_null() {
                    cast_to(value, &DataType::Date32, schema)?
                } else {
                    value
                };
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
                let types = [t.fast_type(schema)?, e.fast_type(schema)?];
                let common = common_type(&types, self.ansi())
                    .ok_or_else(|| error_at(node, "if branches have no common type"))?;
                return Ok(Expr::Case(datafusion_expr::expr::Case::new(
                    None,
                    vec![(
                        Box::new(cast_to(c, &DataType::Boolean, schema)?),
                        Box::new(implicit_cast(t, &common, schema, self.ansi())?),
                    )],
                    Some(Box::new(implicit_cast(e, &common, schema, self.ansi())?)),
                )));
            }
            // typeof(x) is known when binding; an interval's fields come from its field.
            // (Not over an aggregate or window function: those must stay in the plan.)
            "typeof"
                if bound.len() == 1
                    && datafusion_expr::utils::find_aggregate_exprs(bound.iter()).is_empty()
                    && datafusion_expr::utils::find_window_exprs(bound.iter()).is_empty() =>
            {
                use datafusion_expr::ExprSchemable;
                if let Ok((_, field)) = bound[0].to_field(schema) {
                    return Ok(Expr::Literal(
                        ScalarValue::Utf8(Some(crate::types::spark_field_type_name(&field))),
                        None,
                    ));
                }
            }
            // struct(a, b, 1): fields named after the columns given, else col1, col2, ...
            "struct" => {
                let mut args = Vec::new();
                for (i, (arg, value)) in call.args.iter().zip(bound).enumerate() {
                    let name = match arg {
                        super::call::CallArg::Expr(ast::Expr::Identifier(id)) => id.value.clone(),
                        super::call::CallArg::Expr(ast::Expr::CompoundIdentifier(ids)) => ids
                            .last()
                            .map_or_else(|| format!("col{}", i + 1), |id| id.value.clone()),
                        _ => format!("col{}", i + 1),
                    };
                    args.push(Expr::Literal(ScalarValue::Utf8(Some(name)), None));
                    args.push(value);
                }
                return self.call_scalar("named_struct", args, schema, node);
            }
            // decode(expr, search, result [, search, result] ... [, default]): Oracle's
            // DECODE, a CASE over null-safe equality (decode(bin, charset) is the function).
            "decode" if bound.len() >= 3 => {
                let mut args = bound.into_iter();
                let Some(value) = args.next() else {
                    unreachable!("three or more arguments")
                };
                let mut rest: Vec<Expr> = args.collect();
                let default = (rest.len() % 2 == 1).then(|| rest.pop()).flatten();
                let mut result_types = Vec::new();
                for pair in rest.chunks(2) {
                    result_types.push(pair[1].fast_type(schema)?);
                }
                if let Some(d) = &default {
                    result_types.push(d.fast_type(schema)?);
                }
                let ansi = self.ansi();
                let common = common_type(&result_types, ansi)
                    .ok_or_else(|| error_at(node, "decode results have no common type"))?;
                let mut branches = Vec::new();
                let mut pairs = rest.into_iter();
                while let (Some(search), Some(result)) = (pairs.next(), pairs.next()) {
                    let matches = self.coerce_binary(
                        value.clone(),
                        Operator::IsNotDistinctFrom,
                        search,
                        schema,
                        node,
                    )?;
                    branches.push((
                        Box::new(matches),
                        Box::new(implicit_cast(result, &common, schema, ansi)?),
                    ));
                }
                let default = default
                    .map(|d| implicit_cast(d, &common, schema, ansi).map(Box::new))
                    .transpose()?;
                return Ok(Expr::Case(datafusion_expr::expr::Case::new(
                    None, branches, default,
                )));
            }
            "startswith" | "endswith" => {
                let stock = if name == "startswith" {
                    "starts_with"
                } else {
                    "ends_with"
                };
                return self.call_scalar(stock, bound, schema, node);
            }
            // pmod(a, n): the remainder of a / n with the sign of n made positive as Spark's
            // Pmod does (r = a % n; r < 0 ? (r + n) % n : r), through `%`'s own typing and
            // division-by-zero rules.
            "pmod" => {
                let [a, n] = match call.args.as_slice() {
                    [super::call::CallArg::Expr(a), super::call::CallArg::Expr(n)] => [*a, *n],
                    _ => return Err(error_at(node, "pmod takes two arguments: pmod(a, n)")),
                };
                let nested = |e: &ast::Expr| ast::Expr::Nested(Box::new(e.clone()));
                let op = |l: ast::Expr, o: ast::BinaryOperator, r: ast::Expr| ast::Expr::BinaryOp {
                    left: Box::new(l),
                    op: o,
                    right: Box::new(r),
                };
                let r = op(nested(a), ast::BinaryOperator::Modulo, nested(n));
                let zero = ast::Expr::Value(ast::Value::Number("0".into(), false).into());
                let negative = op(r.clone(), ast::BinaryOperator::Lt, zero);
                let wrapped = op(
                    ast::Expr::Nested(Box::new(op(
                        r.clone(),
                        ast::BinaryOperator::Plus,
                        nested(n),
                    ))),
                    ast::BinaryOperator::Modulo,
                    nested(n),
                );
                let case = ast::Expr::Case {
                    case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                    end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                    operand: None,
                    conditions: vec![ast::CaseWhen {
                        condition: negative,
                        result: wrapped,
                    }],
                    else_result: Some(Box::new(r)),
                };
                return self.bind_expr(&case, schema);
            }
            // version(): Ember's, not that of the DataFusion pieces it is built with.
            "version" if bound.is_empty() => {
                return Ok(Expr::Literal(
                    ScalarValue::Utf8(Some(format!("Ember {}", env!("CARGO_PKG_VERSION")))),
                    None,
                ));
            }
            // Datetime functions with Spark's time zone rules, and arrays_zip (datetime_call.rs).
            "to_date" | "to_timestamp" | "arrays_zip" | "current_time" | "timestamp_seconds"
            | "timestamp_millis" | "timestamp_micros" | "unix_seconds" | "unix_millis"
            | "unix_micros" | "current_timestamp" | "now" | "localtimestamp" | "date_trunc" => {
                return self.bind_datetime_call(&name, &call, bound, schema, node);
            }
            "abs" => {
                let [value] = one_arg(bound, &name, node)?;
                let t = value.fast_type(schema)?;
                if !matches!(
                    t,
                    DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
                ) {
                    return self.call_scalar("abs", vec![value], schema, node);
                }
                // abs of the smallest integer overflows: an error in ANSI mode, itself otherwise.
                let overflow = if self.conf.get_bool("ember.sql.ansi.enabled") {
                    Overflow::Fail
                } else {
                    Overflow::Wrap
                };
                let udf = ansi::arithmetic(ansi::ArithOp::Abs, overflow).into_udf();
                return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
                    udf,
                    vec![value],
                )));
            }
            "try_add" | "try_subtract" | "try_multiply" | "try_divide" => {
                let mut it = bound.into_iter();
                let (Some(a), Some(b)) = (it.next(), it.next()) else {
                    return Err(error_at(node, format!("Function {name} takes 2 arguments")));
                };
                let op = match name.as_str() {
                    "try_add" => Operator::Plus,
                    "try_subtract" => Operator::Minus,
                    "try_multiply" => Operator::Multiply,
                    _ => return self.bind_divide_with(a, b, false, schema, node),
                };
                return self.bind_arithmetic(a, op, b, Overflow::Null, schema, node);
            }
            "power" | "pow" => {
                let bound = bound
                    .into_iter()
                    .map(|b| cast_to(b, &DataType::Float64, schema))
                    .collect::<Result<Vec<_>>>()?;
                return self.call_scalar("power", bound, schema, node);
            }
            "round" => {
                let scale = match bound.get(1) {
                    Some(Expr::Literal(v, _)) => match v.cast_to(&DataType::Int32) {
                        Ok(ScalarValue::Int32(Some(d))) => Some(d),
                        _ => None,
                    },
                    Some(_) => {
                        return Err(error_at(
                            node,
                            "the scale of round must be an integer literal, e.g. round(x, 2)",
                        ))
                    }
                    None => Some(0),
                };
                let input = bound[0].fast_type(schema)?;
                let call = self.call_scalar("round", bound, schema, node)?;
                return match (input, scale) {
                    (DataType::Decimal128(p, s), Some(d)) => cast_to(
                        call,
                        &crate::functions::math::round_decimal_type(p, s, d),
                        schema,
                    ),
                    _ => Ok(call),
                };
            }
            "nvl2" => {
                let mut it = bound.into_iter();
                let (Some(test), Some(then), Some(otherwise)) = (it.next(), it.next(), it.next())
                else {
                    return Err(error_at(node, "Function nvl2 takes 3 arguments"));
                };
                let types = [then.fast_type(schema)?, otherwise.fast_type(schema)?];
                let common = common_type(&types, self.ansi())
                    .ok_or_else(|| error_at(node, "nvl2 branches have no common type"))?;
                return Ok(Expr::Case(datafusion_expr::expr::Case::new(
                    None,
                    vec![(
                        Box::new(test.is_not_null()),
                        Box::new(implicit_cast(then, &common, schema, self.ansi())?),
                    )],
                    Some(Box::new(implicit_cast(
                        otherwise,
                        &common,
                        schema,
                        self.ansi(),
                    )?)),
                )));
            }
            "coalesce" | "nvl" | "ifnull" => {
                let types = bound
                    .iter()
                    .map(|b| b.fast_type(schema))
                    .collect::<datafusion_common::Result<Vec<_>>>()?;
                let common = common_type(&types, self.ansi()).ok_or_else(|| {
                    error_at(node, format!("{name} arguments have no common type"))
                })?;
                let bound = bound
                    .into_iter()
                    .map(|b| implicit_cast(b, &common, schema, self.ansi()))
                    .collect::<Result<Vec<_>>>()?;
                return Ok(super::coalesce::coalesce_of(bound, schema));
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
            if super::window::window_function(name).is_some() {
                return Err(error_at(
                    node,
                    format!("Window function {name}() requires an OVER clause, e.g. {name}() OVER (PARTITION BY ... ORDER BY ...)"),
                ));
            }
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
        // Ember's own functions are registered in their ANSI form; outside ANSI mode the
        // ones that fail on bad input return NULL instead.
        let udf = match udf.inner().downcast_ref::<crate::functions::SparkUdf>() {
            Some(spark) if !self.ansi() => crate::functions::spark_udf_by_name(
                datafusion_expr::ScalarUDFImpl::name(spark),
                false,
            )
            .map(crate::functions::SparkUdf::into_udf)
            .unwrap_or(udf),
            _ => udf,
        };
        call_udf(udf, args, schema, name, node)
    }
}

/// Calls `udf`, coercing the arguments to its signature.
pub(super) fn call_udf(
    udf: Arc<ScalarUDF>,
    args: Vec<Expr>,
    schema: &DFSchema,
    name: &str,
    node: &ast::Expr,
) -> Result<Expr> {
    let args = coerce_arguments(udf.as_ref(), args, schema, name, node)?;
    Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args)))
}

/// `coalesce(a, b, ...)` as `CASE WHEN a IS NOT NULL THEN a WHEN ... ELSE last END` (the stock
/// coalesce only runs after DataFusion's simplifier rewrites it, which Ember does not use).
pub(super) fn coalesce_expr(mut args: Vec<Expr>) -> Expr {
    let Some(last) = args.pop() else {
        return Expr::Literal(ScalarValue::Null, None);
    };
    if args.is_empty() {
        return last;
    }
    let when_then = args
        .into_iter()
        .map(|a| (Box::new(a.clone().is_not_null()), Box::new(a)))
        .collect();
    Expr::Case(datafusion_expr::expr::Case::new(
        None,
        when_then,
        Some(Box::new(last)),
    ))
}

/// The type of a Spark cast alias function (`int(x)`, `double(x)`, `date(x)`, ...).
pub(crate) fn cast_alias(name: &str) -> Option<ast::DataType> {
    use ast::{DataType as D, ExactNumberInfo as N};
    Some(match name {
        "boolean" => D::Boolean,
        "tinyint" => D::TinyInt(None),
        "smallint" => D::SmallInt(None),
        "int" => D::Int(None),
        "bigint" => D::BigInt(None),
        "float" => D::Float(N::None),
        "double" => D::Double(N::None),
        "decimal" => D::Decimal(N::PrecisionAndScale(10, 0)),
        "date" => D::Date,
        "timestamp" => D::Timestamp(None, ast::TimezoneInfo::None),
        "binary" => D::Binary(None),
        "string" => D::String(None),
        _ => return None,
    })
}

/// Whether `name` is an aggregate function (Ember's own or a stock one).
fn is_spark_aggregate(name: &str) -> bool {
    is_rewritten_aggregate(name) || FunctionRegistry::global().aggregate(name).is_some()
}

pub(super) fn one_arg(args: Vec<Expr>, name: &str, node: &ast::Expr) -> Result<[Expr; 1]> {
    let n = args.len();
    <[Expr; 1]>::try_from(args)
        .map_err(|_| error_at(node, format!("{name} takes 1 argument, got {n}")))
}

pub(super) fn coerce_arguments<F: datafusion_expr::type_coercion::functions::UDFCoercionExt>(
    func: &F,
    args: Vec<Expr>,
    schema: &DFSchema,
    name: &str,
    node: &ast::Expr,
) -> Result<Vec<Expr>> {
    let fields = args
        .iter()
        .map(|a| {
            a.fast_type(schema)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> ast::Expr {
        ast::Expr::Identifier(ast::Ident::new("f"))
    }

    #[test]
    fn arity_errors_name_the_function_and_what_it_takes() {
        let err = check_arity("substring", 1, &node())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Function substring takes 2 or 3 arguments, got 1"),
            "{err}"
        );
        let err = check_arity("greatest", 1, &node()).unwrap_err().to_string();
        assert!(err.contains("takes at least 2 arguments, got 1"), "{err}");
        assert!(check_arity("substring", 3, &node()).is_ok());
        assert!(check_arity("not_in_the_table", 9, &node()).is_ok());
    }

    #[test]
    fn coalesce_becomes_a_case_over_its_arguments() {
        let a = Expr::Column(datafusion_common::Column::from_name("a"));
        let b = Expr::Literal(ScalarValue::Int32(Some(1)), None);
        let Expr::Case(case) = coalesce_expr(vec![a.clone(), b.clone()]) else {
            panic!("coalesce should bind to CASE");
        };
        assert_eq!(case.when_then_expr.len(), 1);
        assert_eq!(*case.when_then_expr[0].0, a.clone().is_not_null());
        assert_eq!(case.else_expr.as_deref(), Some(&b));
        assert_eq!(coalesce_expr(vec![a.clone()]), a);
    }

    #[test]
    fn spark_names_resolve_to_ember_implementations() {
        let registry = FunctionRegistry::global();
        for name in [
            "substring",
            "concat",
            "split",
            "to_date",
            "round",
            "ceil",
            "ln",
        ] {
            let f = registry.scalar(name).unwrap();
            let any: &dyn std::any::Any = f.inner().as_ref();
            assert!(
                any.downcast_ref::<crate::functions::SparkUdf>().is_some(),
                "{name} should be Ember's own implementation"
            );
        }
        assert!(is_spark_aggregate("max_by") && is_spark_aggregate("variance"));
        assert!(!is_spark_aggregate("upper"));
    }
}
