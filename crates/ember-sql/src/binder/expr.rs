//! Binding expressions: column resolution, literals, operators and Spark's type coercion.

use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef, IntervalMonthDayNano};
use chrono::{NaiveDate, NaiveDateTime};
use datafusion_common::{Column, DFSchema, ScalarValue};
use datafusion_expr::expr::{
    Between, Case, Cast, Exists, InList, InSubquery, Like, ScalarFunction, TryCast,
};
use datafusion_expr::type_coercion::binary::{
    comparison_coercion, type_union_resolution, BinaryTypeCoercer,
};
use datafusion_expr::{BinaryExpr, Expr, ExprSchemable, Operator};
use datafusion_expr::{LogicalPlan, LogicalPlanBuilder, Subquery};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::Binder;
use crate::catalog::closest_names;
use crate::error::error_at;
use crate::functions::ansi::{self, Overflow};
use crate::types::{spark_type_name, sql_to_arrow};

impl Binder<'_> {
    /// The value bound to a `?` or `$n` placeholder, as a literal.
    fn parameter(
        &self,
        name: &str,
        span: sqlparser::tokenizer::Span,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let Some(parameters) = self.parameters else {
            return Err(error_at(
                node,
                format!(
                    "Parameter {name} can only be used in a prepared statement with bound values"
                ),
            ));
        };
        let value = parameters
            .value(name, span.start)
            .map_err(|message| error_at(node, message))?;
        Ok(Expr::Literal(value, None))
    }

    /// Binds an expression against the columns of `schema`.
    pub(crate) fn bind_expr(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Expr> {
        use ast::Expr as E;
        match expr {
            E::Identifier(ident) => self.resolve_column(std::slice::from_ref(ident), schema, expr),
            E::CompoundIdentifier(idents) => self.resolve_column(idents, schema, expr),
            E::Value(ast::ValueWithSpan {
                value: ast::Value::Placeholder(name),
                span,
            }) => self.parameter(name, *span, expr),
            E::Value(value) => literal(&value.value, expr),
            E::TypedString(typed) => typed_literal(&typed.data_type, &typed.value.value, expr),
            E::Interval(interval) => interval_literal(interval, expr),
            E::Nested(inner) => self.bind_expr(inner, schema),
            E::UnaryOp { op, expr: operand } => self.bind_unary(*op, operand, schema, expr),
            E::BinaryOp { left, op, right } => {
                let l = self.bind_expr(left, schema)?;
                let r = self.bind_expr(right, schema)?;
                self.bind_binary(l, op, r, schema, expr)
            }
            E::IsNull(e) => Ok(Expr::IsNull(Box::new(self.bind_expr(e, schema)?))),
            E::IsNotNull(e) => Ok(Expr::IsNotNull(Box::new(self.bind_expr(e, schema)?))),
            E::IsTrue(e) => Ok(Expr::IsTrue(Box::new(self.bind_boolean(e, schema)?))),
            E::IsFalse(e) => Ok(Expr::IsFalse(Box::new(self.bind_boolean(e, schema)?))),
            E::IsNotTrue(e) => Ok(Expr::IsNotTrue(Box::new(self.bind_boolean(e, schema)?))),
            E::IsNotFalse(e) => Ok(Expr::IsNotFalse(Box::new(self.bind_boolean(e, schema)?))),
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                let op = if matches!(expr, E::IsDistinctFrom(..)) {
                    Operator::IsDistinctFrom
                } else {
                    Operator::IsNotDistinctFrom
                };
                let l = self.bind_expr(a, schema)?;
                let r = self.bind_expr(b, schema)?;
                self.coerce_binary(l, op, r, schema, expr)
            }
            E::Between {
                expr: value,
                negated,
                low,
                high,
            } => {
                let v = self.bind_expr(value, schema)?;
                let lo = self.bind_expr(low, schema)?;
                let hi = self.bind_expr(high, schema)?;
                let types = [
                    v.get_type(schema)?,
                    lo.get_type(schema)?,
                    hi.get_type(schema)?,
                ];
                let common = comparison_coercion(&types[0], &types[1])
                    .and_then(|t| comparison_coercion(&t, &types[2]))
                    .ok_or_else(|| {
                        error_at(
                            expr,
                            format!(
                                "Cannot compare {} with {} and {} in '{expr}'",
                                spark_type_name(&types[0]),
                                spark_type_name(&types[1]),
                                spark_type_name(&types[2])
                            ),
                        )
                    })?;
                Ok(Expr::Between(Between::new(
                    Box::new(cast_to(v, &common, schema)?),
                    *negated,
                    Box::new(cast_to(lo, &common, schema)?),
                    Box::new(cast_to(hi, &common, schema)?),
                )))
            }
            E::InList {
                expr: value,
                list,
                negated,
            } => {
                let v = self.bind_expr(value, schema)?;
                let items = list
                    .iter()
                    .map(|e| self.bind_expr(e, schema))
                    .collect::<Result<Vec<_>>>()?;
                let mut types = vec![v.get_type(schema)?];
                for item in &items {
                    types.push(item.get_type(schema)?);
                }
                let common = types[1..]
                    .iter()
                    .try_fold(types[0].clone(), |acc, t| comparison_coercion(&acc, t))
                    .ok_or_else(|| {
                        error_at(
                            expr,
                            format!(
                                "IN list values do not have a common type with {}: '{expr}'",
                                spark_type_name(&types[0])
                            ),
                        )
                    })?;
                let items = items
                    .into_iter()
                    .map(|e| cast_to(e, &common, schema))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Expr::InList(InList::new(
                    Box::new(cast_to(v, &common, schema)?),
                    items,
                    *negated,
                )))
            }
            E::Like {
                negated,
                expr: value,
                pattern,
                escape_char,
                any: false,
            }
            | E::ILike {
                negated,
                expr: value,
                pattern,
                escape_char,
                any: false,
            } => {
                let v = self.bind_string(value, schema)?;
                let p = self.bind_string(pattern, schema)?;
                let escape = match escape_char {
                    Some(c) => match &c.value {
                        ast::Value::SingleQuotedString(s) if s.chars().count() == 1 => {
                            s.chars().next()
                        }
                        _ => {
                            return Err(error_at(
                                expr,
                                "the LIKE escape must be a single character string",
                            ))
                        }
                    },
                    None => None,
                };
                let case_insensitive = matches!(expr, E::ILike { .. });
                Ok(Expr::Like(Like::new(
                    *negated,
                    Box::new(v),
                    Box::new(p),
                    escape,
                    case_insensitive,
                )))
            }
            E::RLike {
                negated,
                expr: value,
                pattern,
                ..
            } => {
                let v = self.bind_string(value, schema)?;
                let p = self.bind_string(pattern, schema)?;
                let call = self.call_scalar("regexp_like", vec![v, p], schema, expr)?;
                Ok(if *negated {
                    Expr::Not(Box::new(call))
                } else {
                    call
                })
            }
            E::Cast {
                kind,
                expr: value,
                data_type,
                format: None,
                ..
            } => {
                let v = self.bind_expr(value, schema)?;
                let to = sql_to_arrow(data_type).map_err(|e| error_at(expr, e.to_string()))?;
                let from = v.get_type(schema)?;
                Ok(match kind {
                    ast::CastKind::TryCast | ast::CastKind::SafeCast => {
                        Expr::TryCast(TryCast::new(Box::new(v), to))
                    }
                    _ if ansi::cast_can_fail(&from, &to) => {
                        // Spark's cast: ANSI errors name the value, legacy mode returns NULL.
                        let ansi_mode = self.conf.get_bool("ember.sql.ansi.enabled");
                        let target = ScalarValue::try_from(&to)?;
                        Expr::ScalarFunction(ScalarFunction::new_udf(
                            ansi::spark_cast(ansi_mode).into_udf(),
                            vec![v, Expr::Literal(target, None)],
                        ))
                    }
                    _ => Expr::Cast(Cast::new(Box::new(v), to)),
                })
            }
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.bind_case(
                operand.as_deref(),
                conditions,
                else_result.as_deref(),
                schema,
                expr,
            ),
            E::Extract {
                field, expr: value, ..
            } => {
                let part = datetime_field_name(field).ok_or_else(|| {
                    error_at(expr, format!("EXTRACT({field} ...) is not supported; use YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFWEEK, HOUR, MINUTE or SECOND"))
                })?;
                let v = self.bind_expr(value, schema)?;
                self.date_part(part, v, schema, expr)
            }
            E::Substring {
                expr: value,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(value, schema)?];
                args.push(match substring_from {
                    Some(from) => self.bind_expr(from, schema)?,
                    None => Expr::Literal(ScalarValue::Int64(Some(1)), None),
                });
                if let Some(len) = substring_for {
                    args.push(self.bind_expr(len, schema)?);
                }
                self.call_scalar("substr", args, schema, expr)
            }
            E::Trim {
                expr: value,
                trim_where,
                trim_what,
                ..
            } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args = vec![self.bind_expr(value, schema)?];
                if let Some(what) = trim_what {
                    args.push(self.bind_expr(what, schema)?);
                }
                self.call_scalar(name, args, schema, expr)
            }
            E::Position { expr: needle, r#in } => {
                let haystack = self.bind_expr(r#in, schema)?;
                let needle = self.bind_expr(needle, schema)?;
                self.call_scalar("strpos", vec![haystack, needle], schema, expr)
            }
            E::Ceil {
                expr: value,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => {
                let v = self.bind_expr(value, schema)?;
                self.call_scalar("ceil", vec![v], schema, expr)
            }
            E::Floor {
                expr: value,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => {
                let v = self.bind_expr(value, schema)?;
                self.call_scalar("floor", vec![v], schema, expr)
            }
            E::Function(function) => self.bind_function(function, schema, expr),
            E::Subquery(query) => self.bind_scalar_subquery(query, schema, expr),
            E::Exists { subquery, negated } => {
                let plan = self.bind_subquery_plan(subquery, schema)?;
                Ok(Expr::Exists(Exists::new(subquery_of(plan), *negated)))
            }
            E::InSubquery {
                expr: value,
                subquery,
                negated,
            } => self.bind_in_subquery(value, subquery, *negated, schema, expr),
            E::Wildcard(_) | E::QualifiedWildcard(..) => Err(error_at(
                expr,
                "'*' is only allowed in a SELECT list or in count(*)",
            )),
            other => Err(EmberError::NotSupported(format!(
                "the expression '{other}'"
            ))),
        }
    }

    fn bind_boolean(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Expr> {
        let bound = self.bind_expr(expr, schema)?;
        cast_to(bound, &DataType::Boolean, schema)
    }

    fn bind_string(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Expr> {
        let bound = self.bind_expr(expr, schema)?;
        match bound.get_type(schema)? {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Ok(bound),
            _ => cast_to(bound, &DataType::Utf8, schema),
        }
    }

    /// Resolves `a`, `t.a` or `db.t.a` against the schema, case-insensitively as Spark does.
    pub(crate) fn resolve_column(
        &self,
        idents: &[ast::Ident],
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let name = &idents[idents.len() - 1].value;
        let qualifier = (idents.len() >= 2).then(|| &idents[idents.len() - 2].value);
        let case_sensitive = self.case_sensitive();
        let same = |a: &str, b: &str| {
            if case_sensitive {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        };
        let find = |schema: &DFSchema| -> Vec<(Column, FieldRef)> {
            schema
                .iter()
                .filter(|(q, field)| {
                    same(field.name(), name)
                        && match qualifier {
                            Some(wanted) => q.map(|q| same(q.table(), wanted)).unwrap_or(false),
                            None => true,
                        }
                })
                .map(|(q, field)| (Column::new(q.cloned(), field.name()), Arc::clone(field)))
                .collect()
        };
        let matches: Vec<Column> = find(schema).into_iter().map(|(c, _)| c).collect();
        if matches.is_empty() {
            // A correlated reference: the innermost enclosing query that has the column.
            for outer in self.outer_schemas.iter().rev() {
                let found = find(outer);
                match found.len() {
                    0 => continue,
                    1 => {
                        let (column, field) = found.into_iter().next().unwrap_or_else(|| unreachable!());
                        return Ok(Expr::OuterReferenceColumn(field, column));
                    }
                    _ => {
                        return Err(error_at(
                            node,
                            format!(
                                "Outer reference '{}' is ambiguous, could be: {}. Qualify it with the table name or alias.",
                                idents.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join("."),
                                found.iter().map(|(c, _)| c.flat_name()).collect::<Vec<_>>().join(", ")
                            ),
                        ))
                    }
                }
            }
        }
        match matches.len() {
            1 => Ok(Expr::Column(matches.into_iter().next().unwrap_or_else(|| unreachable!()))),
            0 => {
                let shown = idents.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join(".");
                let candidates: Vec<String> = schema
                    .iter()
                    .map(|(q, f)| match q {
                        Some(q) => format!("{}.{}", q.table(), f.name()),
                        None => f.name().clone(),
                    })
                    .collect();
                let suggestions = closest_names(&shown, candidates.iter().map(String::as_str));
                let hint = if suggestions.is_empty() {
                    if candidates.is_empty() {
                        " There are no columns here.".to_string()
                    } else {
                        format!(" Available columns: {}.", candidates.iter().take(12).cloned().collect::<Vec<_>>().join(", "))
                    }
                } else {
                    format!(" Did you mean {}?", suggestions.join(", "))
                };
                Err(error_at(node, format!("Column '{shown}' cannot be resolved.{hint}")))
            }
            _ => Err(error_at(
                node,
                format!(
                    "Reference '{}' is ambiguous, could be: {}. Qualify it with the table name or alias.",
                    idents.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join("."),
                    matches.iter().map(|c| c.flat_name()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// Binds the query of a subquery with `schema` as its innermost outer scope.
    fn bind_subquery_plan(&mut self, query: &ast::Query, schema: &DFSchema) -> Result<LogicalPlan> {
        self.outer_schemas.push(schema.clone());
        let result = self.bind_query(query);
        self.outer_schemas.pop();
        result
    }

    /// `(SELECT ...)` used as a value: one column, at most one row (checked at run time).
    fn bind_scalar_subquery(
        &mut self,
        query: &ast::Query,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let plan = self.bind_subquery_plan(query, schema)?;
        let columns = plan.schema().fields().len();
        if columns != 1 {
            return Err(error_at(
                node,
                format!(
                    "Scalar subquery must return only one column, but got {columns}; select a single expression in '{node}'"
                ),
            ));
        }
        Ok(Expr::ScalarSubquery(subquery_of(plan)))
    }

    /// `x [NOT] IN (SELECT y ...)`: one column, both sides coerced to a common type.
    fn bind_in_subquery(
        &mut self,
        value: &ast::Expr,
        query: &ast::Query,
        negated: bool,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let v = self.bind_expr(value, schema)?;
        let plan = self.bind_subquery_plan(query, schema)?;
        let fields = plan.schema().fields().len();
        if fields != 1 {
            return Err(error_at(
                node,
                format!(
                    "The IN subquery must return one column to compare with '{value}', but it returns {fields}"
                ),
            ));
        }
        let vt = v.get_type(schema)?;
        let (qualifier, field) = plan.schema().qualified_field(0);
        let st = field.data_type().clone();
        let common = comparison_coercion(&vt, &st).ok_or_else(|| {
            error_at(
                node,
                format!(
                    "Cannot compare {} with the {} the IN subquery returns in '{node}'",
                    spark_type_name(&vt),
                    spark_type_name(&st)
                ),
            )
        })?;
        let plan = if st == common {
            plan
        } else {
            let name = field.name().clone();
            let column = Expr::Column(Column::new(qualifier.cloned(), &name));
            let sub_schema = plan.schema().clone();
            LogicalPlanBuilder::from(plan)
                .project(vec![cast_to(column, &common, &sub_schema)?.alias(name)])?
                .build()?
        };
        Ok(Expr::InSubquery(InSubquery::new(
            Box::new(cast_to(v, &common, schema)?),
            subquery_of(plan),
            negated,
        )))
    }

    fn bind_unary(
        &mut self,
        op: ast::UnaryOperator,
        operand: &ast::Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        match op {
            ast::UnaryOperator::Not | ast::UnaryOperator::BangNot => {
                Ok(Expr::Not(Box::new(self.bind_boolean(operand, schema)?)))
            }
            ast::UnaryOperator::Plus => self.bind_expr(operand, schema),
            ast::UnaryOperator::Minus => {
                if let ast::Expr::Value(v) = operand {
                    if let ast::Value::Number(n, long) = &v.value {
                        return literal(&ast::Value::Number(format!("-{n}"), *long), node);
                    }
                }
                let v = self.bind_expr(operand, schema)?;
                let t = v.get_type(schema)?;
                if !(t.is_numeric() || matches!(t, DataType::Interval(_) | DataType::Null)) {
                    return Err(error_at(
                        node,
                        format!("Cannot negate '{operand}' of type {}", spark_type_name(&t)),
                    ));
                }
                if t.is_null() {
                    // Spark reads an untyped NULL operand as a double: -NULL is a NULL double.
                    return Ok(Expr::Negative(Box::new(cast_to(
                        v,
                        &DataType::Float64,
                        schema,
                    )?)));
                }
                if matches!(
                    t,
                    DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
                ) {
                    // Spark's negation wraps in legacy mode and fails on the smallest value in ANSI.
                    let overflow = if self.conf.get_bool("ember.sql.ansi.enabled") {
                        Overflow::Fail
                    } else {
                        Overflow::Wrap
                    };
                    let udf = ansi::arithmetic(ansi::ArithOp::Negate, overflow).into_udf();
                    return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, vec![v])));
                }
                Ok(Expr::Negative(Box::new(v)))
            }
            other => Err(EmberError::NotSupported(format!("the operator {other}"))),
        }
    }

    pub(crate) fn bind_binary(
        &mut self,
        l: Expr,
        op: &ast::BinaryOperator,
        r: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let op = match op {
            B::Plus => Operator::Plus,
            B::Minus => Operator::Minus,
            B::Multiply => Operator::Multiply,
            B::Divide => return self.bind_divide(l, r, schema, node),
            B::Modulo => {
                let r = self.guard_divisor(r, schema)?;
                return self.coerce_binary(l, Operator::Modulo, r, schema, node);
            }
            B::Eq => Operator::Eq,
            B::NotEq => Operator::NotEq,
            B::Lt => Operator::Lt,
            B::LtEq => Operator::LtEq,
            B::Gt => Operator::Gt,
            B::GtEq => Operator::GtEq,
            B::Spaceship => Operator::IsNotDistinctFrom,
            B::And => Operator::And,
            B::Or => Operator::Or,
            B::StringConcat => return self.call_scalar("concat", vec![l, r], schema, node),
            B::MyIntegerDivide | B::DuckIntegerDivide => {
                let lt = l.get_type(schema)?;
                let rt = r.get_type(schema)?;
                if !(lt.is_integer() || lt.is_null()) || !(rt.is_integer() || rt.is_null()) {
                    return Err(error_at(
                        node,
                        format!(
                            "div needs integral operands, got {} and {}",
                            spark_type_name(&lt),
                            spark_type_name(&rt)
                        ),
                    ));
                }
                let l = cast_to(l, &DataType::Int64, schema)?;
                let r = self.guard_divisor(cast_to(r, &DataType::Int64, schema)?, schema)?;
                return self.coerce_binary(l, Operator::Divide, r, schema, node);
            }
            B::BitwiseAnd => Operator::BitwiseAnd,
            B::BitwiseOr => Operator::BitwiseOr,
            B::BitwiseXor => Operator::BitwiseXor,
            other => {
                return Err(EmberError::NotSupported(format!(
                    "the operator {other} in '{node}'"
                )))
            }
        };
        if matches!(op, Operator::And | Operator::Or) {
            // Spark casts no numbers to boolean implicitly: `1 AND true` is a type error.
            for side in [&l, &r] {
                let t = side.get_type(schema)?;
                let operand = side.human_display();
                if !matches!(
                    t,
                    DataType::Boolean
                        | DataType::Null
                        | DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                ) {
                    return Err(error_at(
                        node,
                        format!(
                            "{op} needs boolean operands, but '{operand}' is {} in '{node}'; compare it, e.g. {operand} <> 0",
                            crate::types::spark_type_name(&t)
                        ),
                    ));
                }
            }
            let l = cast_to(l, &DataType::Boolean, schema)
                .map_err(|_| error_at(node, format!("{op} needs boolean operands in '{node}'")))?;
            let r = cast_to(r, &DataType::Boolean, schema)
                .map_err(|_| error_at(node, format!("{op} needs boolean operands in '{node}'")))?;
            return Ok(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(l),
                op,
                Box::new(r),
            )));
        }
        let bound = self.coerce_binary(l, op, r, schema, node)?;
        let overflow = if self.conf.get_bool("ember.sql.ansi.enabled") {
            Overflow::Fail
        } else {
            Overflow::Wrap
        };
        integer_overflow(bound, overflow, schema)
    }

    /// Under ANSI mode a zero divisor is an error (Spark's DIVIDE_BY_ZERO); otherwise NULL.
    fn guard_divisor(&mut self, divisor: Expr, schema: &DFSchema) -> Result<Expr> {
        let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
        self.guard_divisor_with(divisor, ansi, schema)
    }

    fn guard_divisor_with(&mut self, divisor: Expr, ansi: bool, schema: &DFSchema) -> Result<Expr> {
        if ansi {
            return Ok(Expr::ScalarFunction(
                datafusion_expr::expr::ScalarFunction::new_udf(
                    crate::functions::CheckDivisor::udf(),
                    vec![divisor],
                ),
            ));
        }
        let zero = ScalarValue::new_zero(&divisor.get_type(schema)?).unwrap_or(ScalarValue::Null);
        let udf = super::function::FunctionRegistry::global()
            .scalar("nullif")
            .ok_or_else(|| EmberError::internal("nullif is not registered"))?;
        Ok(Expr::ScalarFunction(
            datafusion_expr::expr::ScalarFunction::new_udf(
                udf,
                vec![divisor, Expr::Literal(zero, None)],
            ),
        ))
    }

    /// Spark's `/`: integral and floating operands divide as double; decimals stay decimal.
    fn bind_divide(
        &mut self,
        l: Expr,
        r: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
        self.bind_divide_with(l, r, ansi, schema, node)
    }

    /// `/` failing on a zero divisor (`ansi`) or returning NULL (legacy mode, `try_divide`).
    pub(crate) fn bind_divide_with(
        &mut self,
        l: Expr,
        r: Expr,
        ansi: bool,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let r = self.guard_divisor_with(r, ansi, schema)?;
        let lt = l.get_type(schema)?;
        let rt = r.get_type(schema)?;
        let decimal =
            |t: &DataType| matches!(t, DataType::Decimal128(..)) || t.is_integer() || t.is_null();
        if decimal(&lt)
            && decimal(&rt)
            && (matches!(lt, DataType::Decimal128(..)) || matches!(rt, DataType::Decimal128(..)))
        {
            return self.bind_decimal_divide(l, &lt, r, &rt, schema);
        }
        let l = cast_to(l, &DataType::Float64, schema).map_err(|_| type_error(node, &lt, &rt))?;
        let r = cast_to(r, &DataType::Float64, schema).map_err(|_| type_error(node, &lt, &rt))?;
        self.coerce_binary(l, Operator::Divide, r, schema, node)
    }

    /// Decimal division with Spark's result type: scale `max(6, s1 + p2 + 1)`, precision
    /// `p1 - s1 + s2 + scale`, reduced to 38 digits keeping at least 6 of scale.
    fn bind_decimal_divide(
        &mut self,
        l: Expr,
        lt: &DataType,
        r: Expr,
        rt: &DataType,
        schema: &DFSchema,
    ) -> Result<Expr> {
        let (p1, s1) = spark_decimal_of(lt);
        let (p2, s2) = spark_decimal_of(rt);
        let scale = 6.max(s1 + p2 + 1);
        let precision = p1 - s1 + s2 + scale;
        let (precision, scale) = if precision > 38 {
            let int_digits = precision - scale;
            (38, (38 - int_digits).max(scale.min(6)))
        } else {
            (precision, scale)
        };
        // Arrow's decimal division yields the dividend's scale + 4: widen the dividend so the
        // quotient carries at least the scale Spark keeps, then round to Spark's type.
        let left_scale = s1.max(scale - 4).min(s1 + (38 - p1));
        let left_precision = (p1 + left_scale - s1).min(38);
        let l = cast_to(
            l,
            &DataType::Decimal128(left_precision as u8, left_scale as i8),
            schema,
        )?;
        let r = cast_to(r, &DataType::Decimal128(p2 as u8, s2 as i8), schema)?;
        let quotient =
            Expr::BinaryExpr(BinaryExpr::new(Box::new(l), Operator::Divide, Box::new(r)));
        cast_to(
            quotient,
            &DataType::Decimal128(precision as u8, scale as i8),
            schema,
        )
    }

    pub(crate) fn coerce_binary(
        &mut self,
        l: Expr,
        op: Operator,
        r: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let lt = l.get_type(schema)?;
        let rt = r.get_type(schema)?;
        let (lt2, rt2) = BinaryTypeCoercer::new(&lt, &op, &rt)
            .get_input_types()
            .map_err(|_| type_error(node, &lt, &rt))?;
        Ok(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(cast_to(l, &lt2, schema)?),
            op,
            Box::new(cast_to(r, &rt2, schema)?),
        )))
    }

    fn bind_case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let mut whens = Vec::new();
        let mut thens = Vec::new();
        let operand = operand.map(|o| self.bind_expr(o, schema)).transpose()?;
        for case_when in conditions {
            let when = match &operand {
                // `CASE x WHEN v THEN ...` is `CASE WHEN x = v THEN ...`.
                Some(o) => {
                    let v = self.bind_expr(&case_when.condition, schema)?;
                    self.coerce_binary(o.clone(), Operator::Eq, v, schema, node)?
                }
                None => self.bind_boolean(&case_when.condition, schema)?,
            };
            whens.push(when);
            thens.push(self.bind_expr(&case_when.result, schema)?);
        }
        let else_expr = else_result.map(|e| self.bind_expr(e, schema)).transpose()?;
        let mut types = thens
            .iter()
            .map(|t| t.get_type(schema))
            .collect::<datafusion_common::Result<Vec<_>>>()?;
        if let Some(e) = &else_expr {
            types.push(e.get_type(schema)?);
        }
        let common = common_type(&types).ok_or_else(|| {
            error_at(
                node,
                format!(
                    "THEN and ELSE branches have no common type ({}) in '{node}'",
                    types
                        .iter()
                        .map(spark_type_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let when_then = whens
            .into_iter()
            .zip(thens)
            .map(|(w, t)| Ok((Box::new(w), Box::new(cast_to(t, &common, schema)?))))
            .collect::<Result<Vec<_>>>()?;
        let else_expr = else_expr
            .map(|e| cast_to(e, &common, schema))
            .transpose()?
            .map(Box::new);
        Ok(Expr::Case(Case::new(None, when_then, else_expr)))
    }

    pub(crate) fn date_part(
        &mut self,
        part: &str,
        value: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let t = value.get_type(schema)?;
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

/// A subquery expression's payload, with the outer references its plan makes.
fn subquery_of(plan: LogicalPlan) -> Subquery {
    let plan = Arc::new(plan);
    Subquery {
        outer_ref_columns: plan.all_out_ref_exprs(),
        subquery: plan,
        spans: Default::default(),
    }
}

/// Integer `+`, `-` and `*` with Spark's overflow behaviour: `bound` is a coerced binary
/// expression; when both sides are one signed integer type it becomes a checked call (ANSI
/// fails naming the values, `try_*` returns NULL). Wrapping keeps the plain operator.
pub(crate) fn integer_overflow(bound: Expr, overflow: Overflow, schema: &DFSchema) -> Result<Expr> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &bound else {
        return Ok(bound);
    };
    let arith = match op {
        Operator::Plus => ansi::ArithOp::Add,
        Operator::Minus => ansi::ArithOp::Subtract,
        Operator::Multiply => ansi::ArithOp::Multiply,
        _ => return Ok(bound),
    };
    let lt = left.get_type(schema)?;
    let signed = matches!(
        lt,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    );
    if overflow == Overflow::Wrap || !signed || lt != right.get_type(schema)? {
        return Ok(bound);
    }
    let udf = ansi::arithmetic(arith, overflow).into_udf();
    Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
        udf,
        vec![left.as_ref().clone(), right.as_ref().clone()],
    )))
}

/// Spark's decimal view of a numeric type: int is decimal(10,0), bigint decimal(20,0).
fn spark_decimal_of(t: &DataType) -> (i32, i32) {
    match t {
        DataType::Decimal128(p, s) => (*p as i32, *s as i32),
        DataType::Int8 => (3, 0),
        DataType::Int16 => (5, 0),
        DataType::Int32 => (10, 0),
        _ => (20, 0),
    }
}

/// The common type of CASE branches, COALESCE arguments and the like.
pub(crate) fn common_type(types: &[DataType]) -> Option<DataType> {
    let non_null: Vec<DataType> = types.iter().filter(|t| !t.is_null()).cloned().collect();
    if non_null.is_empty() {
        return types.first().cloned();
    }
    type_union_resolution(&non_null)
}

fn type_error(node: &ast::Expr, left: &DataType, right: &DataType) -> EmberError {
    error_at(
        node,
        format!(
            "Cannot apply '{node}' to {} and {}; cast one side, e.g. CAST(x AS {})",
            spark_type_name(left),
            spark_type_name(right),
            spark_type_name(left).to_uppercase()
        ),
    )
}

/// Wraps `expr` in a cast unless it already has type `to`.
pub(crate) fn cast_to(expr: Expr, to: &DataType, schema: &DFSchema) -> Result<Expr> {
    let from = expr.get_type(schema)?;
    if &from == to {
        return Ok(expr);
    }
    if let Expr::Literal(value, _) = &expr {
        if let Ok(v) = value.cast_to(to) {
            return Ok(Expr::Literal(v, None));
        }
    }
    if !arrow::compute::can_cast_types(&from, to) {
        return Err(EmberError::analysis(format!(
            "Cannot cast {} to {}",
            spark_type_name(&from),
            spark_type_name(to)
        )));
    }
    Ok(Expr::Cast(Cast::new(Box::new(expr), to.clone())))
}

/// Spark literal typing: `1` int, `3000000000` bigint, `1.5` decimal(2,1), `1e3` double.
pub(crate) fn literal(value: &ast::Value, node: &ast::Expr) -> Result<Expr> {
    let scalar = match value {
        ast::Value::Number(text, true) => text
            .parse::<i64>()
            .map(|v| ScalarValue::Int64(Some(v)))
            .map_err(|_| {
                error_at(
                    node,
                    format!("'{text}L' is not a valid BIGINT; it must lie between -9223372036854775808 and 9223372036854775807"),
                )
            })?,
        ast::Value::Number(text, false) => number_literal(text)
            .ok_or_else(|| error_at(node, format!("'{text}' is not a valid number")))?,
        ast::Value::SingleQuotedString(s)
        | ast::Value::DoubleQuotedString(s)
        | ast::Value::EscapedStringLiteral(s) => ScalarValue::Utf8(Some(s.clone())),
        ast::Value::Boolean(b) => ScalarValue::Boolean(Some(*b)),
        ast::Value::Null => ScalarValue::Null,
        other => return Err(EmberError::NotSupported(format!("the literal {other}"))),
    };
    Ok(Expr::Literal(scalar, None))
}

fn number_literal(text: &str) -> Option<ScalarValue> {
    let lower = text.to_ascii_lowercase();
    if let Some(digits) = lower.strip_suffix('l') {
        return digits
            .parse::<i64>()
            .ok()
            .map(|v| ScalarValue::Int64(Some(v)));
    }
    if let Some(digits) = lower.strip_suffix('d') {
        return digits
            .parse::<f64>()
            .ok()
            .map(|v| ScalarValue::Float64(Some(v)));
    }
    if lower.contains('e') {
        return lower
            .parse::<f64>()
            .ok()
            .map(|v| ScalarValue::Float64(Some(v)));
    }
    if let Some((int_part, frac_part)) = lower.split_once('.') {
        let negative = int_part.starts_with('-');
        let int_digits = int_part
            .trim_start_matches(['-', '+'])
            .trim_start_matches('0');
        let scale = frac_part.len();
        let precision = (int_digits.len() + scale).max(scale).max(1);
        if precision > 38 {
            return lower
                .parse::<f64>()
                .ok()
                .map(|v| ScalarValue::Float64(Some(v)));
        }
        let unscaled: i128 = format!("{int_digits}{frac_part}")
            .parse::<i128>()
            .unwrap_or(0);
        let unscaled = if negative { -unscaled } else { unscaled };
        return Some(ScalarValue::Decimal128(
            Some(unscaled),
            precision as u8,
            scale as i8,
        ));
    }
    if let Ok(v) = lower.parse::<i32>() {
        return Some(ScalarValue::Int32(Some(v)));
    }
    if let Ok(v) = lower.parse::<i64>() {
        return Some(ScalarValue::Int64(Some(v)));
    }
    let digits = lower.trim_start_matches(['-', '+']);
    if digits.len() <= 38 {
        let v = lower.parse::<i128>().ok()?;
        return Some(ScalarValue::Decimal128(Some(v), digits.len() as u8, 0));
    }
    None
}

fn typed_literal(data_type: &ast::DataType, value: &ast::Value, node: &ast::Expr) -> Result<Expr> {
    let text = match value {
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            s.trim().to_string()
        }
        other => {
            return Err(error_at(
                node,
                format!("expected a quoted string after {data_type}, found {other}"),
            ))
        }
    };
    let scalar = match data_type {
        ast::DataType::Date => {
            let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                error_at(
                    node,
                    format!("Cannot parse '{text}' as a DATE; write it as DATE 'yyyy-MM-dd'"),
                )
            })?;
            ScalarValue::Date32(Some(days_since_epoch(date)))
        }
        ast::DataType::Timestamp(_, _) | ast::DataType::Datetime(_) => {
            let parsed = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
                .iter()
                .find_map(|f| {
                    NaiveDateTime::parse_from_str(&text, f)
                        .ok()
                        .or_else(|| NaiveDate::parse_from_str(&text, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
                })
                .ok_or_else(|| error_at(node, format!("Cannot parse '{text}' as a TIMESTAMP; write it as TIMESTAMP 'yyyy-MM-dd HH:mm:ss'")))?;
            ScalarValue::TimestampMicrosecond(Some(parsed.and_utc().timestamp_micros()), None)
        }
        other => {
            let to = sql_to_arrow(other)?;
            let v = ScalarValue::Utf8(Some(text.clone()));
            v.cast_to(&to).map_err(|_| {
                error_at(
                    node,
                    format!("Cannot parse '{text}' as {}", spark_type_name(&to)),
                )
            })?
        }
    };
    Ok(Expr::Literal(scalar, None))
}

pub(crate) fn days_since_epoch(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (date - epoch).num_days() as i32
}

fn interval_literal(interval: &ast::Interval, node: &ast::Expr) -> Result<Expr> {
    let text = match interval.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.trim().to_string(),
            ast::Value::Number(n, _) => n.clone(),
            other => {
                return Err(error_at(
                    node,
                    format!("expected a number in the interval, found {other}"),
                ))
            }
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => format!("-{expr}").replace('\'', ""),
        other => {
            return Err(error_at(
                node,
                format!("expected a number in the interval, found {other}"),
            ))
        }
    };
    let (amount, unit) = match &interval.leading_field {
        Some(field) => (text.clone(), field.to_string().to_lowercase()),
        None => {
            // `INTERVAL '3 days'`
            let mut parts = text.split_whitespace();
            let amount = parts.next().unwrap_or_default().to_string();
            (amount, parts.next().unwrap_or("").to_lowercase())
        }
    };
    let n: i64 = amount.parse().map_err(|_| {
        error_at(
            node,
            format!("'{amount}' is not a whole number of {unit}; write e.g. INTERVAL '3' DAY"),
        )
    })?;
    let unit = unit.trim_end_matches('s');
    let value = match unit {
        "year" => IntervalMonthDayNano::new((n * 12) as i32, 0, 0),
        "month" => IntervalMonthDayNano::new(n as i32, 0, 0),
        "week" => IntervalMonthDayNano::new(0, (n * 7) as i32, 0),
        "day" => IntervalMonthDayNano::new(0, n as i32, 0),
        "hour" => IntervalMonthDayNano::new(0, 0, n * 3_600_000_000_000),
        "minute" => IntervalMonthDayNano::new(0, 0, n * 60_000_000_000),
        "second" => IntervalMonthDayNano::new(0, 0, n * 1_000_000_000),
        other => {
            return Err(error_at(
                node,
                format!("unknown interval unit '{other}'; use YEAR, MONTH, WEEK, DAY, HOUR, MINUTE or SECOND"),
            ))
        }
    };
    Ok(Expr::Literal(
        ScalarValue::IntervalMonthDayNano(Some(value)),
        None,
    ))
}

pub(crate) fn datetime_field_name(field: &ast::DateTimeField) -> Option<&'static str> {
    use ast::DateTimeField as F;
    Some(match field {
        F::Year | F::Years => "year",
        F::Quarter => "quarter",
        F::Month | F::Months => "month",
        F::Week(_) | F::Weeks => "week",
        F::Day | F::Days => "day",
        F::DayOfWeek | F::Dow => "dow",
        F::DayOfYear | F::Doy => "doy",
        F::Hour | F::Hours => "hour",
        F::Minute | F::Minutes => "minute",
        F::Second | F::Seconds => "second",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binds `sql` over views `t(a, b)` and `s(x, y)` (ints) and returns the plan text or error.
    fn bind(sql: &str) -> std::result::Result<String, String> {
        let one = || ScalarValue::Int32(Some(1));
        crate::binder::test_util::bind_over_views(
            sql,
            &[
                ("t", ["a", "b"], one(), one()),
                ("s", ["x", "y"], one(), one()),
            ],
        )
        .map(|p| p.display_indent().to_string())
    }

    #[test]
    fn correlated_columns_bind_as_outer_references() {
        let plan = bind("SELECT a FROM t WHERE EXISTS (SELECT 1 FROM s WHERE s.x = t.a AND y > b)")
            .unwrap();
        assert!(plan.contains("s.x = outer_ref(t.a)"), "{plan}");
        assert!(plan.contains("s.y > outer_ref(t.b)"), "{plan}");
    }

    #[test]
    fn inner_columns_shadow_outer_ones() {
        let plan = bind("SELECT a FROM t WHERE a IN (SELECT a FROM t WHERE b > 0)").unwrap();
        assert!(!plan.contains("outer_ref"), "{plan}");
    }

    #[test]
    fn scalar_subquery_must_return_one_column() {
        let err = bind("SELECT (SELECT x, y FROM s) FROM t").unwrap_err();
        assert!(
            err.contains("Scalar subquery must return only one column, but got 2"),
            "{err}"
        );
        assert!(err.contains("line 1, column 9"), "{err}");
    }

    #[test]
    fn in_subquery_coerces_both_sides() {
        let plan = bind("SELECT a FROM t WHERE a IN (SELECT CAST(x AS BIGINT) FROM s)").unwrap();
        assert!(
            plan.contains("CAST(t.a AS Int64) IN (<subquery>)"),
            "{plan}"
        );
    }

    #[test]
    fn spark_number_literals() {
        assert_eq!(number_literal("1"), Some(ScalarValue::Int32(Some(1))));
        assert_eq!(
            number_literal("3000000000"),
            Some(ScalarValue::Int64(Some(3_000_000_000)))
        );
        assert_eq!(
            number_literal("0.06"),
            Some(ScalarValue::Decimal128(Some(6), 2, 2))
        );
        assert_eq!(
            number_literal("12.5"),
            Some(ScalarValue::Decimal128(Some(125), 3, 1))
        );
        assert_eq!(
            number_literal("1e3"),
            Some(ScalarValue::Float64(Some(1000.0)))
        );
    }
}
