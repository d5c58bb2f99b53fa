//! `extract(field FROM x)`, `date_part` and the field functions (`year`, `hour`, ...) over
//! dates, timestamps, TIME values and intervals, with Spark's result types.

use arrow::datatypes::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::Expr;
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::expr::cast_to;
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;
use crate::types::spark_type_name;

impl Binder<'_> {
    pub(crate) fn date_part(
        &mut self,
        part: &str,
        value: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let t = value.fast_type(schema)?;
        let year_month = crate::functions::interval::is_year_month(&t);
        if year_month || crate::functions::interval::is_day_time(&t) {
            let function = match (part, year_month) {
                ("year", true) => "spark_interval_years",
                ("month", true) => "spark_interval_months",
                ("day", false) => "spark_interval_days",
                ("hour", false) => "spark_interval_hours",
                ("minute", false) => "spark_interval_minutes",
                ("second", false) => "spark_interval_seconds",
                _ => {
                    return Err(error_at(
                        node,
                        format!(
                            "[INVALID_EXTRACT_FIELD] Cannot extract {} from {}",
                            part.to_uppercase(),
                            spark_type_name(&t)
                        ),
                    ))
                }
            };
            let udf = crate::functions::spark_udf_by_name(function, true)
                .ok_or_else(|| EmberError::internal(format!("{function} is an Ember function")))?
                .into_udf();
            return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
                udf,
                vec![value],
            )));
        }
        if crate::functions::time::is_time(&t) {
            if !matches!(part, "hour" | "minute" | "second") {
                return Err(error_at(
                    node,
                    format!(
                        "[INVALID_EXTRACT_FIELD] Cannot extract {} from TIME(6); a TIME has HOUR, MINUTE and SECOND",
                        part.to_uppercase()
                    ),
                ));
            }
            let udf = crate::functions::spark_udf_by_name("spark_time_part", true)
                .unwrap_or_else(|| unreachable!("spark_time_part is an Ember function"))
                .into_udf();
            return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
                udf,
                vec![
                    cast_to(value, &crate::functions::time::time(), schema)?,
                    Expr::Literal(ScalarValue::Utf8(Some(part.to_string())), None),
                ],
            )));
        }
        if crate::functions::calendar_interval::is_calendar(&t) {
            let function = match part {
                "year" => "spark_calendar_interval_years",
                "month" => "spark_calendar_interval_months",
                "day" => "spark_calendar_interval_days",
                "hour" => "spark_calendar_interval_hours",
                "minute" => "spark_calendar_interval_minutes",
                "second" => "spark_calendar_interval_seconds",
                _ => {
                    return Err(error_at(
                        node,
                        format!(
                            "[INVALID_EXTRACT_FIELD] Cannot extract {} from interval",
                            part.to_uppercase()
                        ),
                    ))
                }
            };
            let udf = crate::functions::spark_udf_by_name(function, true)
                .unwrap_or_else(|| unreachable!("{function} is an Ember function"))
                .into_udf();
            return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
                udf,
                vec![value],
            )));
        }
        let value = match t {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                cast_to(value, &DataType::Date32, schema)?
            }
            _ => value,
        };
        let call = self.call_scalar(
            "date_part",
            vec![
                Expr::Literal(ScalarValue::Utf8(Some(part.to_string())), None),
                value,
            ],
            schema,
            node,
        )?;
        cast_to(call, &DataType::Int32, schema)
    }
}
