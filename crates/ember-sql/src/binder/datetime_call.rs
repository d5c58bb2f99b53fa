//! Calls bound by hand: the datetime functions whose meaning depends on the session's time
//! zone and timestamp type (`to_timestamp`, `current_timestamp`, `timestamp_seconds`,
//! `unix_seconds`, `current_time`, ...), and `arrays_zip`, whose struct fields are named after
//! its arguments.

use arrow::datatypes::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::Expr;
use ember_common::Result;
use sqlparser::ast;

use super::call::Call;
use super::expr::cast_to;
use super::function::{call_udf, one_arg};
use super::typing::ExprType;
use super::Binder;
use crate::error::{error_at, not_supported_at};

impl Binder<'_> {
    pub(super) fn bind_datetime_call(
        &mut self,
        name: &str,
        call: &Call<'_>,
        bound: Vec<Expr>,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        match name {
            "to_date" | "to_timestamp" => {
                let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
                let Some(udf) = crate::functions::datetime::functions(ansi)
                    .into_iter()
                    .find(|f| datafusion_expr::ScalarUDFImpl::name(f) == name)
                else {
                    return Err(error_at(node, format!("Undefined function '{name}'")));
                };
                let call = call_udf(udf.into_udf(), bound, schema, name, node)?;
                // to_timestamp reads the wall clock in the session zone (a TIMESTAMP is LTZ).
                if name == "to_timestamp" {
                    cast_to(call, &self.timestamp_types().timestamp, schema)
                } else {
                    Ok(call)
                }
            }
            "arrays_zip" => {
                if bound.is_empty() {
                    // Spark: arrays_zip() is an empty array of empty structs; refuse it.
                    return Err(error_at(node, "arrays_zip takes at least one array"));
                }
                // The struct's fields are named after the arguments: a column's name, else
                // its position.
                let names: Vec<String> = call
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| match a {
                        super::call::CallArg::Expr(ast::Expr::Identifier(id)) => id.value.clone(),
                        super::call::CallArg::Expr(ast::Expr::CompoundIdentifier(parts)) => parts
                            .last()
                            .map_or_else(|| i.to_string(), |p| p.value.clone()),
                        _ => i.to_string(),
                    })
                    .collect();
                let mut args = Vec::with_capacity(bound.len() + 1);
                for (e, a) in bound.into_iter().zip(&call.args) {
                    let t = e.fast_type(schema)?;
                    if !matches!(t, DataType::List(_) | DataType::Null) {
                        let text = match a {
                            super::call::CallArg::Expr(x) => x.to_string(),
                            super::call::CallArg::Star => "*".into(),
                        };
                        return Err(error_at(
                        node,
                        format!(
                            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{node}\": arrays_zip takes arrays, but {text} is \"{}\"",
                            crate::types::spark_type_sql(&t)
                        ),
                    ));
                    }
                    args.push(if t.is_null() {
                        cast_to(
                            e,
                            &crate::functions::collection::list_of(DataType::Null),
                            schema,
                        )?
                    } else {
                        e
                    });
                }
                args.push(Expr::Literal(
                    ScalarValue::Utf8(Some(
                        names.join(&crate::functions::arrays_zip::SEPARATOR.to_string()),
                    )),
                    None,
                ));
                let udf =
                    crate::functions::spark_udf_by_name(crate::functions::arrays_zip::NAME, true)
                        .unwrap_or_else(|| unreachable!("an Ember function"))
                        .into_udf();
                Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args)))
            }
            // The wall-clock time of day in the session zone, fixed for the query.
            "current_time" => {
                match bound.as_slice() {
                [] => {}
                [Expr::Literal(ScalarValue::Int32(Some(6)) | ScalarValue::Int64(Some(6)), _)] => {}
                _ => {
                    return Err(not_supported_at(
                        node,
                        "current_time(p) with a precision other than 6; Ember's TIME keeps microseconds",
                    ))
                }
            }
                let now = self.call_scalar("now", vec![], schema, node)?;
                let utc = DataType::Timestamp(
                    arrow::datatypes::TimeUnit::Microsecond,
                    Some("UTC".into()),
                );
                let ltz = cast_to(
                    cast_to(now, &utc, schema)?,
                    &self.timestamp_types().ltz,
                    schema,
                )?;
                let local = cast_to(ltz, &crate::types::ntz(), schema)?;
                Ok(Expr::Cast(datafusion_expr::Cast::new(
                    Box::new(local),
                    crate::functions::time::time(),
                )))
            }
            "timestamp_seconds" | "timestamp_millis" | "timestamp_micros" => {
                let [n] = one_arg(bound, name, node)?;
                let t = n.fast_type(schema)?;
                if !(t.is_numeric() || t.is_null())
                    || (name != "timestamp_seconds" && !(t.is_integer() || t.is_null()))
                {
                    return Err(error_at(
                    node,
                    format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{node}\": {name} takes {}, not \"{}\"",
                        if name == "timestamp_seconds" { "a number" } else { "an integer" },
                        crate::types::spark_type_sql(&t)
                    ),
                ));
                }
                let unit = match name {
                    "timestamp_seconds" => 1_000_000,
                    "timestamp_millis" => 1_000,
                    _ => 1,
                };
                let ltz = self.timestamp_types().ltz;
                super::timestamp::epoch_to_timestamp(n, &t, unit, &ltz, schema)
            }
            "unix_seconds" | "unix_millis" | "unix_micros" => {
                let [ts] = one_arg(bound, name, node)?;
                let ts = cast_to(ts, &self.timestamp_types().ltz, schema)?;
                let unit = match name {
                    "unix_seconds" => 1_000_000,
                    "unix_millis" => 1_000,
                    _ => 1,
                };
                Ok(super::timestamp::epoch_units(ts, unit))
            }
            // The current instant is an LTZ timestamp; localtimestamp its wall clock in the
            // session zone. date_trunc works on the wall clock and returns an LTZ timestamp.
            "current_timestamp" | "now" | "localtimestamp" | "date_trunc" => {
                let function = if name == "localtimestamp" {
                    "now"
                } else {
                    name
                };
                let call = self.call_scalar(function, bound, schema, node)?;
                // now() is the UTC reading of the instant; date_trunc's result the wall clock.
                let call = if function == "date_trunc" {
                    call
                } else {
                    let utc = DataType::Timestamp(
                        arrow::datatypes::TimeUnit::Microsecond,
                        Some("UTC".into()),
                    );
                    cast_to(call, &utc, schema)?
                };
                let ltz = cast_to(call, &self.timestamp_types().ltz, schema)?;
                if name == "localtimestamp" {
                    cast_to(ltz, &crate::types::ntz(), schema)
                } else {
                    Ok(ltz)
                }
            }
            other => unreachable!("{other} is not a datetime call"),
        }
    }
}
