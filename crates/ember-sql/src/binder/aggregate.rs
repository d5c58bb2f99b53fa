//! Aggregate calls: Spark's aggregates that are rewrites of stock ones (`count_if`,
//! `collect_list`, `every`, ...), Ember's own (`first`, `max_by`, ...), then the rest.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::AggregateFunction;
use datafusion_expr::{AggregateUDF, Expr};
use ember_common::Result;
use sqlparser::ast;

use super::expr::cast_to;
use super::function::{coalesce_expr, coerce_arguments, one_arg, FunctionRegistry};
use super::typing::ExprType;
use super::Binder;
use crate::error::{error_at, not_supported_at};
use crate::functions::aggregate::{CheckedSum, Pick, PickAggregate};

/// Aggregates that `bind_aggregate` builds from stock ones or Ember's own under Spark's name.
pub(crate) fn is_rewritten_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count_if"
            | "collect_list"
            | "collect_set"
            | "approx_count_distinct"
            | "first"
            | "last"
            | "first_value"
            | "last_value"
            | "any_value"
            | "max_by"
            | "min_by"
            | "every"
            | "some"
            | "any"
    )
}

impl Binder<'_> {
    /// Binds an aggregate call: Spark's aggregates that are rewrites of stock ones
    /// (`count_if`, `collect_list`, ...), Ember's own (`first`, `max_by`, ...), then the rest.
    ///
    /// `windowed` is true for an aggregate under `OVER`, whose arguments may be aggregates of
    /// the enclosing GROUP BY (`sum(max(x)) OVER ()`).
    pub(crate) fn bind_aggregate(
        &mut self,
        call: &super::call::Call,
        schema: &DFSchema,
        node: &ast::Expr,
        windowed: bool,
    ) -> Result<Expr> {
        let name = call.name.as_str();
        let distinct = call.distinct;
        let mut bound = Vec::new();
        for arg in &call.args {
            match arg {
                super::call::CallArg::Star if name == "count" => {
                    bound.push(Expr::Literal(ScalarValue::Int32(Some(1)), None))
                }
                super::call::CallArg::Expr(e) => {
                    let b = self.bind_expr(e, schema)?;
                    if !windowed
                        && !datafusion_expr::utils::find_aggregate_exprs(std::iter::once(&b))
                            .is_empty()
                    {
                        return Err(error_at(
                            node,
                            format!("aggregate functions cannot be nested in '{node}'"),
                        ));
                    }
                    bound.push(b)
                }
                super::call::CallArg::Star => {
                    return Err(error_at(
                        node,
                        format!("'*' is not an argument of {name}; only count(*) takes it"),
                    ))
                }
            }
        }
        if let (true, Some(first)) = (
            matches!(name, "min" | "max" | "sum" | "avg" | "mean"),
            bound.first(),
        ) {
            let t = first.fast_type(schema)?;
            let refused = match name {
                "min" | "max" => !crate::types::is_orderable(&t),
                _ => crate::functions::calendar_interval::is_calendar(&t),
            };
            if refused {
                return Err(error_at(
                    node,
                    format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{node}\" due to data type mismatch: {name} does not take a value of type \"{}\"",
                        crate::types::spark_type_sql(&t)
                    ),
                ));
            }
        }
        let picks = matches!(
            name,
            "first" | "last" | "first_value" | "last_value" | "any_value"
        );
        if call.null_treatment.is_some() && !picks {
            return Err(error_at(
                node,
                format!(
                    "IGNORE NULLS / RESPECT NULLS is not allowed in {name}; it is for first, last, first_value, last_value, any_value, nth_value, lag and lead"
                ),
            ));
        }
        if !call.order_by.is_empty() {
            return Err(if matches!(name, "string_agg" | "listagg") {
                not_supported_at(
                    node,
                    format!("{name} with WITHIN GROUP (ORDER BY ...); the order of its values would be lost"),
                )
            } else {
                error_at(
                    node,
                    format!("WITHIN GROUP / ORDER BY is not allowed in the arguments of {name}"),
                )
            });
        }
        let mut filter = match call.filter {
            Some(f) => {
                let bound = self.bind_expr(f, schema)?;
                let filter_type = bound.fast_type(schema)?;
                if !matches!(filter_type, DataType::Boolean | DataType::Null) {
                    return Err(error_at(
                        f,
                        format!(
                            "FILTER (WHERE {f}) needs a boolean condition, but it is {}; compare it, e.g. {f} <> 0",
                            crate::types::spark_type_name(&filter_type)
                        ),
                    ));
                }
                Some(cast_to(bound, &DataType::Boolean, schema)?)
            }
            None => None,
        };
        let registry = FunctionRegistry::global();
        let lookup = |n: &str| {
            registry
                .aggregate(n)
                .ok_or_else(|| error_at(node, format!("Undefined function '{n}'")))
        };
        let aggregate = |udaf: Arc<AggregateUDF>,
                         args: Vec<Expr>,
                         distinct: bool,
                         filter: Option<Expr>|
         -> Result<Expr> {
            let mut args = coerce_arguments(udaf.as_ref(), args, schema, name, node)?;
            if distinct {
                // DISTINCT sees -0.0 and 0.0 (and every NaN) as one value, as in Spark.
                args = args
                    .into_iter()
                    .map(|a| super::organization::sort_key(a, schema))
                    .collect::<Result<Vec<_>>>()?;
            }
            Ok(Expr::AggregateFunction(AggregateFunction::new_udf(
                udaf,
                args,
                distinct,
                filter.map(Box::new),
                vec![],
                None,
            )))
        };
        match name {
            "count" if distinct && bound.len() > 1 => {
                // Spark counts the distinct tuples whose values are all non-NULL: one struct
                // value per row, NULL when any part is NULL.
                let all_present = bound
                    .iter()
                    .map(|e| e.clone().is_not_null())
                    .reduce(Expr::and)
                    .ok_or_else(|| error_at(node, "count(DISTINCT) needs an argument"))?;
                let tuple = datafusion_functions::core::r#struct().call(bound);
                let value = Expr::Case(datafusion_expr::expr::Case::new(
                    None,
                    vec![(Box::new(all_present), Box::new(tuple))],
                    None,
                ));
                aggregate(lookup("count")?, vec![value], true, filter)
            }
            // Spark's names for bool_and and bool_or.
            "every" | "some" | "any" => {
                let [value] = one_arg(bound, name, node)?;
                if !matches!(value.fast_type(schema)?, DataType::Boolean | DataType::Null) {
                    return Err(error_at(
                        node,
                        format!(
                            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{node}\": {name} takes a boolean argument"
                        ),
                    ));
                }
                let value = cast_to(value, &DataType::Boolean, schema)?;
                let stock = if name == "every" {
                    "bool_and"
                } else {
                    "bool_or"
                };
                aggregate(lookup(stock)?, vec![value], distinct, filter)
            }
            "count_if" => {
                let [value] = one_arg(bound, name, node)?;
                if !matches!(value.fast_type(schema)?, DataType::Boolean | DataType::Null) {
                    return Err(error_at(
                        node,
                        format!("Function count_if takes a boolean argument, not '{node}'"),
                    ));
                }
                let counted = Expr::Case(datafusion_expr::expr::Case::new(
                    None,
                    vec![(
                        Box::new(cast_to(value, &DataType::Boolean, schema)?),
                        Box::new(Expr::Literal(ScalarValue::Int32(Some(1)), None)),
                    )],
                    None,
                ));
                aggregate(lookup("count")?, vec![counted], distinct, filter)
            }
            "collect_list" | "collect_set" | "array_agg" => {
                let [value] = one_arg(bound, name, node)?;
                let element = value.fast_type(schema)?;
                // Spark skips NULLs and returns an empty array for no rows.
                let not_null = value.clone().is_not_null();
                filter = Some(match filter {
                    Some(f) => f.and(not_null),
                    None => not_null,
                });
                let call = aggregate(
                    lookup("array_agg")?,
                    vec![value],
                    distinct || name == "collect_set",
                    filter,
                )?;
                let empty = ScalarValue::new_list_nullable(&[], &element);
                let empty = Expr::Literal(ScalarValue::List(empty), None);
                Ok(coalesce_expr(vec![call, empty]))
            }
            "approx_count_distinct" => {
                let value = bound.into_iter().next().ok_or_else(|| {
                    error_at(
                        node,
                        "Function approx_count_distinct takes 1 or 2 arguments, got 0",
                    )
                })?;
                let call = aggregate(lookup("approx_distinct")?, vec![value], false, filter)?;
                cast_to(call, &DataType::Int64, schema)
            }
            "first" | "last" | "first_value" | "last_value" | "any_value" => {
                let mut it = bound.into_iter();
                let value = it.next().ok_or_else(|| {
                    error_at(
                        node,
                        format!("Function {name} takes 1 or 2 arguments, got 0"),
                    )
                })?;
                let ignore_nulls = match it.next() {
                    None => call.ignores_nulls(),
                    Some(Expr::Literal(ScalarValue::Boolean(Some(b)), _)) => {
                        b || call.ignores_nulls()
                    }
                    Some(_) => {
                        return Err(error_at(
                            node,
                            format!("the second argument of {name} must be a boolean literal, e.g. {name}(x, true)"),
                        ))
                    }
                };
                let pick = if name.starts_with("last") {
                    Pick::Last
                } else {
                    Pick::First
                };
                aggregate(
                    PickAggregate::udaf(pick, ignore_nulls),
                    vec![value],
                    distinct,
                    filter,
                )
            }
            "max_by" | "min_by" => {
                let pick = if name == "max_by" {
                    Pick::MaxBy
                } else {
                    Pick::MinBy
                };
                aggregate(PickAggregate::udaf(pick, false), bound, distinct, filter)
            }
            "avg" | "mean"
                if bound.len() == 1
                    && matches!(bound[0].fast_type(schema)?, DataType::Decimal128(..)) =>
            {
                // Spark's average of decimal(p, s): sum / count in decimal arithmetic, rounded
                // half-up to decimal(p + 4, s + 4) (the stock average truncates).
                let DataType::Decimal128(p, s) = bound[0].fast_type(schema)? else {
                    unreachable!("matched above")
                };
                let value = bound.remove(0);
                let sum = aggregate(
                    lookup("sum")?,
                    vec![value.clone()],
                    distinct,
                    filter.clone(),
                )?;
                let count = aggregate(lookup("count")?, vec![value], distinct, filter)?;
                let count = cast_to(count, &DataType::Decimal128(20, 0), schema)?;
                let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
                let quotient = self.bind_divide_with(sum, count, ansi, schema, node)?;
                let result = DataType::Decimal128((p + 4).min(38), (s + 4).min(38));
                cast_to(quotient, &result, schema)
            }
            "sum" | "avg" if bound.len() == 1 && bound[0].fast_type(schema)?.is_null() => {
                // Spark reads an untyped NULL argument as a double: sum(NULL) is a NULL double.
                let value = cast_to(bound.remove(0), &DataType::Float64, schema)?;
                aggregate(lookup(name)?, vec![value], distinct, filter)
            }
            "sum"
                if !distinct
                    && self.conf.get_bool("ember.sql.ansi.enabled")
                    && bound.len() == 1
                    && matches!(
                        bound[0].fast_type(schema)?,
                        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
                    ) =>
            {
                // Spark's ANSI sum of integers fails on overflow; the stock sum wraps.
                aggregate(CheckedSum::udaf(), bound, false, filter)
            }
            _ => {
                let udaf = lookup(name)?;
                aggregate(udaf, bound, distinct, filter)
            }
        }
    }
}
