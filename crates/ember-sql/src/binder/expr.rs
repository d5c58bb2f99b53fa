//! Binding expressions: column resolution, literals, operators and Spark's type coercion.

use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef};
use datafusion_common::{Column, DFSchema, ScalarValue, TableReference};
use datafusion_expr::expr::{Between, Case, Cast, Exists, InList, ScalarFunction, TryCast};
use datafusion_expr::{Expr, Operator};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::coercion::{common_type, comparison_type, implicit_cast};
use super::interval::interval_literal;
use super::literal::{datetime_field_name, literal, typed_literal};
use super::subquery::subquery_of;
use super::typing::ExprType;
use super::{is_parameter, Binder};
use crate::catalog::closest_names;
use crate::error::{error_at, not_supported_at};
use crate::functions::{ansi, is_string};
use crate::types::{spark_type_name, sql_to_arrow};

/// The deepest an expression may nest: each level costs the binder, the optimizer and the
/// planner a few stack frames and DataFusion's naming of it grows with its depth.
pub const MAX_EXPRESSION_DEPTH: usize = 4096;

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

    /// Notes each parameter among `operands` (the sides of a comparison or arithmetic, the
    /// value and bounds of BETWEEN, the value and items of IN) as taking the type of the
    /// first other operand whose type is known.
    fn note_operand_parameters(
        &mut self,
        operands: &[(&ast::Expr, &Expr)],
        schema: &DFSchema,
    ) -> Result<()> {
        if self.parameters.is_none() {
            return Ok(());
        }
        for (i, (node, _)) in operands.iter().enumerate() {
            if !is_parameter(node) {
                continue;
            }
            for (j, (other_node, other)) in operands.iter().enumerate() {
                if i == j || is_parameter(other_node) {
                    continue;
                }
                let data_type = other.fast_type(schema)?;
                if !data_type.is_null() {
                    self.note_parameter_type(node, &data_type);
                    break;
                }
            }
        }
        Ok(())
    }

    /// Binds an expression against the columns of `schema`, refusing one that nests deeper
    /// than [`MAX_EXPRESSION_DEPTH`] (long chains of `+`, `-`, `AND`, `OR` bind as one level).
    pub(crate) fn bind_expr(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Expr> {
        if self.depth >= MAX_EXPRESSION_DEPTH {
            return Err(error_at(
                expr,
                format!(
                    "The expression nests more than {MAX_EXPRESSION_DEPTH} levels deep (parentheses, calls, operators other than +, -, AND and OR); split it into steps, e.g. with a subquery or a CTE"
                ),
            ));
        }
        self.depth += 1;
        let bound = self.bind_expr_at_depth(expr, schema);
        self.depth -= 1;
        bound
    }

    fn bind_expr_at_depth(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Expr> {
        use ast::Expr as E;
        match expr {
            E::Identifier(ident) => self.resolve_column(std::slice::from_ref(ident), schema, expr),
            E::CompoundIdentifier(idents) => match self.resolve_column(idents, schema, expr) {
                Ok(column) => Ok(column),
                // `s.f`, `t.s.f.g`: a struct column and fields inside it.
                Err(e) => self
                    .resolve_struct_field(idents, schema, expr)
                    .unwrap_or(Err(e)),
            },
            E::Value(ast::ValueWithSpan {
                value: ast::Value::Placeholder(name),
                span,
            }) => self.parameter(name, *span, expr),
            E::Value(value) => literal(&value.value, expr),
            E::TypedString(ast::TypedString {
                data_type,
                value,
                uses_odbc_syntax,
            }) => {
                if *uses_odbc_syntax {
                    return Err(not_supported_at(expr, "ODBC literals ({d '...'})"));
                }
                typed_literal(data_type, &value.value, expr, &self.timestamp_types())
            }
            E::Interval(interval) => interval_literal(interval, expr),
            E::Nested(inner) => self.bind_expr(inner, schema),
            E::UnaryOp { op, expr: operand } => self.bind_unary(*op, operand, schema, expr),
            E::BinaryOp { left, op, right } => {
                if let Some(chain) = self.bind_long_chain(expr, schema)? {
                    return Ok(chain);
                }
                let l = self.bind_expr(left, schema)?;
                let r = self.bind_expr(right, schema)?;
                self.note_operand_parameters(&[(left, &l), (right, &r)], schema)?;
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
                self.note_operand_parameters(&[(a, &l), (b, &r)], schema)?;
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
                self.note_operand_parameters(&[(value, &v), (low, &lo), (high, &hi)], schema)?;
                let ansi = self.ansi();
                let types = [
                    v.fast_type(schema)?,
                    lo.fast_type(schema)?,
                    hi.fast_type(schema)?,
                ];
                let common = comparison_type(&types[0], &types[1])
                    .and_then(|t| comparison_type(&t, &types[2]))
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
                let side = |e: Expr| -> Result<Box<Expr>> {
                    Ok(Box::new(comparable(
                        implicit_cast(e, &common, schema, ansi)?,
                        &common,
                    )))
                };
                Ok(Expr::Between(Between::new(
                    side(v)?,
                    *negated,
                    side(lo)?,
                    side(hi)?,
                )))
            }
            E::InList {
                expr: value,
                list,
                negated,
            } => {
                let ansi = self.ansi();
                let v = self.bind_expr(value, schema)?;
                let items = list
                    .iter()
                    .map(|e| self.bind_expr(e, schema))
                    .collect::<Result<Vec<_>>>()?;
                if self.parameters.is_some() {
                    let operands: Vec<(&ast::Expr, &Expr)> = std::iter::once((value.as_ref(), &v))
                        .chain(list.iter().zip(&items))
                        .collect();
                    self.note_operand_parameters(&operands, schema)?;
                }
                let mut types = vec![v.fast_type(schema)?];
                for item in &items {
                    types.push(item.fast_type(schema)?);
                }
                let common = types[1..]
                    .iter()
                    .try_fold(types[0].clone(), |acc, t| comparison_type(&acc, t))
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
                    .map(|e| {
                        Ok(comparable(
                            implicit_cast(e, &common, schema, ansi)?,
                            &common,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Expr::InList(InList::new(
                    Box::new(comparable(
                        implicit_cast(v, &common, schema, ansi)?,
                        &common,
                    )),
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
                let case_insensitive = matches!(expr, E::ILike { .. });
                self.note_parameter_type(value, &DataType::Utf8);
                self.note_parameter_type(pattern, &DataType::Utf8);
                self.bind_like(
                    expr,
                    value,
                    pattern,
                    escape_char.as_ref(),
                    *negated,
                    case_insensitive,
                    schema,
                )
            }
            E::RLike {
                negated,
                expr: value,
                pattern,
                // REGEXP and RLIKE are the same operator.
                regexp: _,
            } => {
                self.note_parameter_type(value, &DataType::Utf8);
                self.note_parameter_type(pattern, &DataType::Utf8);
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
                array,
                format,
            } => {
                if *array || format.is_some() {
                    return Err(not_supported_at(
                        expr,
                        "CAST with ARRAY or FORMAT; cast to the type alone",
                    ));
                }
                let v = self.bind_expr(value, schema)?;
                if let ast::DataType::Interval { fields, precision } = data_type {
                    if precision.is_some() {
                        return Err(not_supported_at(
                            expr,
                            format!(
                                "the precision in {data_type}; Spark's intervals have microseconds"
                            ),
                        ));
                    }
                    let try_cast = matches!(kind, ast::CastKind::TryCast | ast::CastKind::SafeCast);
                    return self.bind_interval_cast(v, fields.as_ref(), try_cast, schema, expr);
                }
                let to = sql_to_arrow(data_type, &self.timestamp_types())
                    .map_err(|e| error_at(expr, e.to_string()))?;
                self.note_parameter_type(value, &to);
                let from = v.fast_type(schema)?;
                if (crate::functions::interval::is_year_month(&from)
                    || crate::functions::interval::is_day_time(&from)
                    || crate::functions::calendar_interval::is_calendar(&from))
                    && is_string(&to)
                {
                    return Ok(super::interval::interval_to_string(v, schema));
                }
                let ansi_mode = self.conf.get_bool("ember.sql.ansi.enabled");
                let is_bytes = |t: &DataType| {
                    matches!(
                        t,
                        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
                    )
                };
                let bytes_cast_refused = |reason: &str| {
                    error_at(
                        expr,
                        format!(
                            "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] Cannot resolve '{expr}' due to data type mismatch: cannot cast \"{}\" to \"{}\"{reason}",
                            spark_type_name(&from).to_uppercase(),
                            spark_type_name(&to).to_uppercase()
                        ),
                    )
                };
                if is_bytes(&to) && !is_bytes(&from) && !from.is_null() && !is_string(&from) {
                    if !from.is_integer() {
                        return Err(bytes_cast_refused(""));
                    }
                    if ansi_mode {
                        return Err(bytes_cast_refused(
                            " with ANSI mode on; set ember.sql.ansi.enabled to false for the big-endian bytes of the integer",
                        ));
                    }
                    return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
                        crate::functions::binary::integral_to_binary().into_udf(),
                        vec![v],
                    )));
                }
                if is_bytes(&from) && !is_bytes(&to) && !is_string(&to) {
                    return Err(bytes_cast_refused("; binary casts only to string"));
                }
                let try_cast = matches!(kind, ast::CastKind::TryCast | ast::CastKind::SafeCast);
                if let Some(cast) = super::interval::interval_to_number(
                    &v,
                    &to,
                    ansi_mode && !try_cast,
                    schema,
                    expr,
                )? {
                    return Ok(cast);
                }
                if let Some(cast) =
                    super::timestamp::time_cast(&v, &from, &to, ansi_mode, try_cast, schema, expr)?
                {
                    return Ok(cast);
                }
                if let Some(cast) =
                    super::timestamp::timestamp_cast(&v, &from, &to, ansi_mode, schema, expr)?
                {
                    return Ok(cast);
                }
                Ok(match kind {
                    ast::CastKind::TryCast | ast::CastKind::SafeCast => {
                        Expr::TryCast(TryCast::new(Box::new(v), to))
                    }
                    _ if ansi::cast_can_fail(&from, &to) => {
                        // Spark's cast: ANSI errors name the value, legacy mode returns NULL.
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
                // Where CASE and END are: positions only.
                case_token: _,
                end_token: _,
                operand,
                conditions,
                else_result,
            } => self.bind_case(
                operand.as_deref(),
                conditions,
                else_result.as_deref(),
                schema,
                expr,
            ),
            E::Extract {
                field,
                // `EXTRACT(f FROM x)` and `EXTRACT(f, x)` mean the same.
                syntax: _,
                expr: value,
            } => {
                let part = datetime_field_name(field).ok_or_else(|| {
                    error_at(expr, format!("EXTRACT({field} ...) is not supported; use YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFWEEK, HOUR, MINUTE or SECOND"))
                })?;
                let v = self.bind_expr(value, schema)?;
                if part == "second" && crate::functions::time::is_time(&v.fast_type(schema)?) {
                    // EXTRACT(SECOND FROM time) keeps the fraction: decimal(8,6).
                    let udf = crate::functions::spark_udf_by_name(
                        "spark_time_second_with_fraction",
                        true,
                    )
                    .unwrap_or_else(|| unreachable!("an Ember function"))
                    .into_udf();
                    return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, vec![v])));
                }
                self.date_part(part, v, schema, expr)
            }
            E::Substring {
                expr: value,
                substring_from,
                substring_for,
                // `SUBSTRING(s, 2, 3)`, `SUBSTRING(s FROM 2 FOR 3)` and `SUBSTR(...)` are one
                // function.
                special: _,
                shorthand: _,
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
                trim_characters,
            } => {
                if trim_characters.is_some() {
                    return Err(not_supported_at(
                        expr,
                        "TRIM(string, characters); write TRIM(characters FROM string)",
                    ));
                }
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
            // struct(a, b, 1): sqlparser reads it as BigQuery's STRUCT; fields are named after
            // the columns given (or `AS name`), else col1, col2, ... as Spark names them.
            E::Struct { values, fields } => {
                if !fields.is_empty() {
                    return Err(not_supported_at(
                        expr,
                        "STRUCT<...>(...) with declared field types; use named_struct('a', x, ...) or CAST",
                    ));
                }
                let mut args = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    let (name, value) = match value {
                        E::Named { expr, name } => (name.value.clone(), expr.as_ref()),
                        E::Identifier(id) => (id.value.clone(), value),
                        E::CompoundIdentifier(ids) => (
                            ids.last()
                                .map_or_else(|| format!("col{}", i + 1), |id| id.value.clone()),
                            value,
                        ),
                        other => (format!("col{}", i + 1), other),
                    };
                    args.push(Expr::Literal(ScalarValue::Utf8(Some(name)), None));
                    args.push(self.bind_expr(value, schema)?);
                }
                self.call_scalar("named_struct", args, schema, expr)
            }
            E::CompoundFieldAccess { root, access_chain } => {
                let mut value = self.bind_expr(root, schema)?;
                for access in access_chain {
                    value = match access {
                        ast::AccessExpr::Subscript(ast::Subscript::Index {
                            index:
                                ast::Expr::Value(ast::ValueWithSpan {
                                    value: ast::Value::SingleQuotedString(field),
                                    // Where the name is: positions only.
                                    span: _,
                                }),
                        }) if matches!(value.fast_type(schema)?, DataType::Struct(_)) => {
                            // s['f'] is the field f of a struct, as in Spark.
                            self.struct_field(value, field, schema, expr)?
                        }
                        ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                            let index = self.bind_expr(index, schema)?;
                            let mut get = crate::functions::collection::get_item();
                            get = get.with_ansi(self.ansi());
                            super::function::call_udf(
                                get.into_udf(),
                                vec![value, index],
                                schema,
                                "spark_get_item",
                                expr,
                            )?
                        }
                        ast::AccessExpr::Subscript(slice) => {
                            return Err(not_supported_at(
                                expr,
                                format!(
                                    "the array slice [{slice}]; use slice(array, start, length)"
                                ),
                            ))
                        }
                        ast::AccessExpr::Dot(ast::Expr::Identifier(field)) => {
                            self.struct_field(value, &field.value, schema, expr)?
                        }
                        ast::AccessExpr::Dot(field) => {
                            return Err(not_supported_at(
                                expr,
                                format!("the field access .{field} on an expression"),
                            ))
                        }
                    };
                }
                Ok(value)
            }
            other => Err(not_supported_at(other, format!("the expression '{other}'"))),
        }
    }

    pub(crate) fn bind_boolean(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Expr> {
        let bound = self.bind_expr(expr, schema)?;
        cast_to(bound, &DataType::Boolean, schema)
    }

    /// Binds the two sides of a string operator (LIKE) as strings of one physical type:
    /// functions such as `left` answer `Utf8View`, literals `Utf8`, and the kernels want
    /// both sides alike.
    pub(super) fn bind_string_pair(
        &mut self,
        left: &ast::Expr,
        right: &ast::Expr,
        schema: &DFSchema,
    ) -> Result<(Expr, Expr)> {
        let l = self.bind_string(left, schema)?;
        let r = self.bind_string(right, schema)?;
        if l.fast_type(schema)? == r.fast_type(schema)? {
            return Ok((l, r));
        }
        Ok((
            cast_to(l, &DataType::Utf8, schema)?,
            cast_to(r, &DataType::Utf8, schema)?,
        ))
    }

    fn bind_string(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Expr> {
        let bound = self.bind_expr(expr, schema)?;
        match bound.fast_type(schema)? {
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
        if idents.len() > 2 {
            let databases: Vec<&ast::Ident> = idents[..idents.len() - 2].iter().collect();
            if !super::relation::is_default_database(&databases) {
                return Err(error_at(
                    node,
                    format!(
                        "Column '{node}' cannot be resolved: Ember has one database, 'default'; \
                         write table.column"
                    ),
                ));
            }
        }
        let case_sensitive = self.case_sensitive();
        let same = |a: &str, b: &str| {
            if case_sensitive {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        };
        // A column DataFusion renamed because its name repeats (`x:1`) answers to the name the
        // query gave it, so that the name is ambiguous, as in Spark.
        let renamed = |q: Option<&TableReference>, field: &str| -> Option<&String> {
            self.from_scopes.iter().rev().find_map(|scope| {
                scope
                    .renamed
                    .iter()
                    .find(|(c, _)| c.relation.as_ref() == q && c.name == field)
                    .map(|(_, n)| n)
            })
        };
        let find = |schema: &DFSchema| -> Vec<(Column, FieldRef)> {
            schema
                .iter()
                .filter(|(q, field)| {
                    let field_name = renamed(*q, field.name()).unwrap_or(field.name());
                    same(field_name, name)
                        && match qualifier {
                            Some(wanted) => q.map(|q| same(q.table(), wanted)).unwrap_or(false),
                            None => true,
                        }
                })
                .map(|(q, field)| (Column::new(q.cloned(), field.name()), Arc::clone(field)))
                .collect::<Vec<_>>()
        };
        // Several matches of which one is visible: the others are the hidden key columns of a
        // JOIN ... USING, and the name means the merged, visible one.
        let hidden = |c: &Column| {
            self.from_scopes
                .iter()
                .any(|scope| scope.hidden.contains(c))
        };
        let find = |schema: &DFSchema| -> Vec<(Column, FieldRef)> {
            let all = find(schema);
            if all.len() > 1 {
                let visible: Vec<(Column, FieldRef)> =
                    all.iter().filter(|(c, _)| !hidden(c)).cloned().collect();
                if visible.len() == 1 {
                    return visible;
                }
            }
            all
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
                    matches
                        .iter()
                        .map(|c| match renamed(c.relation.as_ref(), &c.name) {
                            Some(name) => Column::new(c.relation.clone(), name).flat_name(),
                            None => c.flat_name(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
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
        // `CASE x WHEN v1 ... WHEN v2 ...` compares `x` with each value; when every comparison
        // coerces `x` alike, `x` is evaluated once (a CASE with a base expression) instead
        // of being named in every WHEN, which nested CASEs would multiply.
        let mut base: Option<Expr> = None;
        let mut one_base = operand.is_some();
        for case_when in conditions {
            let when = match &operand {
                // `CASE x WHEN v THEN ...` is `CASE WHEN x = v THEN ...`.
                Some(o) => {
                    let v = self.bind_expr(&case_when.condition, schema)?;
                    let compared = self.coerce_binary(o.clone(), Operator::Eq, v, schema, node)?;
                    match &compared {
                        Expr::BinaryExpr(b) if b.op == Operator::Eq => match &base {
                            None => base = Some((*b.left).clone()),
                            Some(x) if x == b.left.as_ref() => {}
                            Some(_) => one_base = false,
                        },
                        _ => one_base = false,
                    }
                    compared
                }
                None => self.bind_boolean(&case_when.condition, schema)?,
            };
            whens.push(when);
            thens.push(self.bind_expr(&case_when.result, schema)?);
        }
        let else_expr = else_result.map(|e| self.bind_expr(e, schema)).transpose()?;
        let mut types = thens
            .iter()
            .map(|t| t.fast_type(schema))
            .collect::<datafusion_common::Result<Vec<_>>>()?;
        if let Some(e) = &else_expr {
            types.push(e.fast_type(schema)?);
        }
        let ansi = self.ansi();
        let common = common_type(&types, ansi).ok_or_else(|| {
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
            .map(|(w, t)| {
                Ok((
                    Box::new(w),
                    Box::new(implicit_cast(t, &common, schema, ansi)?),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let else_expr = else_expr
            .map(|e| implicit_cast(e, &common, schema, ansi))
            .transpose()?
            .map(Box::new);
        if let (true, Some(base)) = (one_base, base) {
            let when_then = when_then
                .into_iter()
                .map(|(w, t)| match *w {
                    Expr::BinaryExpr(b) => (b.right, t),
                    other => (Box::new(other), t),
                })
                .collect();
            return Ok(Expr::Case(Case::new(
                Some(Box::new(base)),
                when_then,
                else_expr,
            )));
        }
        Ok(Expr::Case(Case::new(None, when_then, else_expr)))
    }
}

/// `expr` (of type `t`) as Spark compares, groups and sorts it: a float through
/// `normalize_nan_and_zero` (see [`crate::functions::normalize`]), anything else as it is.
pub(crate) fn comparable(expr: Expr, t: &DataType) -> Expr {
    if !crate::functions::normalize::needs_normalizing(t) {
        return expr;
    }
    match expr {
        Expr::Literal(ScalarValue::Float64(Some(v)), metadata) => {
            let v = if v == 0.0 {
                0.0
            } else if v.is_nan() {
                f64::NAN
            } else {
                v
            };
            Expr::Literal(ScalarValue::Float64(Some(v)), metadata)
        }
        Expr::Literal(ScalarValue::Float32(Some(v)), metadata) => {
            let v = if v == 0.0 {
                0.0
            } else if v.is_nan() {
                f32::NAN
            } else {
                v
            };
            Expr::Literal(ScalarValue::Float32(Some(v)), metadata)
        }
        Expr::Literal(..) => expr,
        other => Expr::ScalarFunction(ScalarFunction::new_udf(normalize_udf(), vec![other])),
    }
}

fn normalize_udf() -> Arc<datafusion_expr::ScalarUDF> {
    static UDF: std::sync::OnceLock<Arc<datafusion_expr::ScalarUDF>> = std::sync::OnceLock::new();
    Arc::clone(UDF.get_or_init(|| crate::functions::normalize::normalize_nan_and_zero().into_udf()))
}

/// Wraps `expr` in a cast unless it already has type `to`.
pub(crate) fn cast_to(expr: Expr, to: &DataType, schema: &DFSchema) -> Result<Expr> {
    let from = expr.fast_type(schema)?;
    if &from == to {
        return Ok(expr);
    }
    if let Some(converted) = super::timestamp::timestamp_conversion(&expr, &from, to) {
        return Ok(converted);
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
}
