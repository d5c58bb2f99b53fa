//! Spark's names for unaliased result columns: `sum(l_quantity)`, `(a + b)`, `count(1)`.

use sqlparser::ast;

/// A type as Spark's `DataType.sql` writes it: `INT`, `MAP<STRING, INT>`,
/// `STRUCT<a: INT, b: STRING>` (field names keep their case).
fn type_sql(data_type: &ast::DataType) -> String {
    match data_type {
        ast::DataType::Map(key, value) => format!("MAP<{}, {}>", type_sql(key), type_sql(value)),
        ast::DataType::Array(ast::ArrayElemTypeDef::AngleBracket(element)) => {
            format!("ARRAY<{}>", type_sql(element))
        }
        ast::DataType::Struct(fields, _) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let name = f
                        .field_name
                        .as_ref()
                        .map_or_else(|| format!("col{}", i + 1), |n| n.value.clone());
                    format!("{name}: {}", type_sql(&f.field_type))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        // Spark's TIMESTAMP is the LTZ type.
        ast::DataType::Custom(name, _)
            if name.to_string().eq_ignore_ascii_case("timestamp_ltz") =>
        {
            "TIMESTAMP".into()
        }
        other => other.to_string().to_uppercase(),
    }
}

/// A timestamp literal as Spark's `Literal.sql` writes it: `TIMESTAMP '2016-12-31 00:00:00'`
/// (the value in full, a fraction only when there is one); text with its own offset as typed.
fn timestamp_literal_name(data_type: &ast::DataType, text: &str) -> Option<String> {
    if let ast::DataType::Time(_, _) = data_type {
        let micros = crate::functions::time::parse_time(text)?;
        return Some(format!(
            "TIME '{}'",
            crate::functions::time::time_text(micros)
        ));
    }
    let prefix = match data_type {
        ast::DataType::Timestamp(_, _) | ast::DataType::Datetime(_) => "TIMESTAMP",
        ast::DataType::TimestampNtz(_) => "TIMESTAMP_NTZ",
        ast::DataType::Custom(name, _) => match name.to_string().to_lowercase().as_str() {
            "timestamp_ltz" => "TIMESTAMP",
            "timestamp_ntz" => "TIMESTAMP_NTZ",
            _ => return None,
        },
        _ => return None,
    };
    let text = text.trim();
    let parsed = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    let mut value = parsed.format("%Y-%m-%d %H:%M:%S").to_string();
    let micros = parsed.and_utc().timestamp_subsec_micros();
    if micros != 0 {
        value.push('.');
        value.push_str(format!("{micros:06}").trim_end_matches('0'));
    }
    Some(format!("{prefix} '{value}'"))
}

thread_local! {
    /// The parameters of the lambdas being named, innermost last.
    static LAMBDA_VARIABLES: std::cell::RefCell<Vec<Vec<String>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn is_lambda_variable(name: &str) -> bool {
    LAMBDA_VARIABLES.with(|v| {
        v.borrow()
            .iter()
            .any(|params| params.iter().any(|p| p.eq_ignore_ascii_case(name)))
    })
}

/// The column name Spark gives an unaliased SELECT item.
pub(crate) fn spark_name(expr: &ast::Expr) -> String {
    use ast::Expr as E;
    match expr {
        E::Identifier(i) if is_lambda_variable(&i.value) => "namedlambdavariable()".into(),
        E::Identifier(i) => i.value.clone(),
        // Spark writes a lambda as `lambdafunction(<body>, namedlambdavariable(), ...)`, its
        // parameters in the body as `namedlambdavariable()`.
        E::Lambda(lambda) => {
            let params: Vec<String> = match &lambda.params {
                ast::OneOrManyWithParens::One(p) => vec![p.name.value.clone()],
                ast::OneOrManyWithParens::Many(ps) => {
                    ps.iter().map(|p| p.name.value.clone()).collect()
                }
            };
            LAMBDA_VARIABLES.with(|v| v.borrow_mut().push(params.clone()));
            let body = spark_name(&lambda.body);
            LAMBDA_VARIABLES.with(|v| v.borrow_mut().pop());
            let variables = vec!["namedlambdavariable()"; params.len()].join(", ");
            format!("lambdafunction({body}, {variables})")
        }
        E::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()).unwrap_or_default(),
        E::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            ast::Value::Null => "NULL".into(),
            ast::Value::Boolean(b) => b.to_string(),
            ast::Value::Number(text, long) => number_name(text, *long),
            other => other.to_string(),
        },
        E::TypedString(t) => timestamp_literal_name(&t.data_type, &unquoted(&t.value.value))
            .unwrap_or_else(|| {
                format!(
                    "{} '{}'",
                    t.data_type.to_string().to_uppercase(),
                    unquoted(&t.value.value)
                )
            }),
        E::Nested(inner) => spark_name(inner),
        E::Interval(interval) => {
            super::interval::interval_name(interval, expr).unwrap_or_else(|| expr.to_string())
        }
        E::CompoundFieldAccess { root, access_chain } => {
            let mut name = spark_name(root);
            for access in access_chain {
                match access {
                    ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                        name = format!("{name}[{}]", spark_name(index));
                    }
                    other => name.push_str(&other.to_string()),
                }
            }
            name
        }
        E::Struct { values, .. } => format!(
            "struct({})",
            values
                .iter()
                .map(|v| match v {
                    E::Named { name, .. } => name.value.clone(),
                    other => spark_name(other),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        E::BinaryOp { .. } => binary_chain_name(expr),
        E::UnaryOp { op, expr } => match op {
            ast::UnaryOperator::Not | ast::UnaryOperator::BangNot => {
                format!("(NOT {})", spark_name(expr))
            }
            ast::UnaryOperator::Minus => match expr.as_ref() {
                E::Value(ast::ValueWithSpan {
                    value: ast::Value::Number(text, long),
                    ..
                }) => number_name(&format!("-{text}"), *long),
                E::Value(v) if !matches!(v.value, ast::Value::Null) => {
                    format!("-{}", spark_name(expr))
                }
                _ => format!("(- {})", spark_name(expr)),
            },
            other => format!("({other} {})", spark_name(expr)),
        },
        E::IsNull(e) => format!("({} IS NULL)", spark_name(e)),
        E::IsNotNull(e) => format!("({} IS NOT NULL)", spark_name(e)),
        E::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let inner = format!(
                "(({} >= {}) AND ({} <= {}))",
                spark_name(expr),
                spark_name(low),
                spark_name(expr),
                spark_name(high)
            );
            if *negated {
                format!("(NOT {inner})")
            } else {
                inner
            }
        }
        E::InList {
            expr,
            list,
            negated,
        } => format!(
            "({}{} IN ({}))",
            if *negated { "NOT " } else { "" },
            spark_name(expr),
            list.iter().map(spark_name).collect::<Vec<_>>().join(", ")
        ),
        // `a NOT LIKE b` is `Not(Like(a, b))` in Spark, named `(NOT a LIKE b)`; ILIKE is a
        // function-style expression, `ilike(a, b)`.
        E::Like {
            negated,
            expr,
            pattern,
            escape_char,
            ..
        } => {
            // Spark leaves its default escape, the backslash, out of the name.
            let escape = match escape_char
                .as_ref()
                .map(|c| spark_name(&E::Value(c.clone())))
            {
                Some(c) if c != "\\" => format!(" ESCAPE '{c}'"),
                _ => String::new(),
            };
            let like = format!("{} LIKE {}{escape}", spark_name(expr), spark_name(pattern));
            if *negated {
                format!("(NOT {like})")
            } else {
                like
            }
        }
        E::ILike {
            negated,
            expr,
            pattern,
            ..
        } => {
            let ilike = format!("ilike({}, {})", spark_name(expr), spark_name(pattern));
            if *negated {
                format!("(NOT {ilike})")
            } else {
                ilike
            }
        }
        E::Cast {
            kind,
            expr,
            data_type,
            ..
        } => {
            let keyword = match kind {
                ast::CastKind::TryCast | ast::CastKind::SafeCast => "TRY_CAST",
                _ => "CAST",
            };
            format!("{keyword}({} AS {})", spark_name(expr), type_sql(data_type))
        }
        E::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut s = String::from("CASE");
            if let Some(o) = operand {
                s.push_str(&format!(" {}", spark_name(o)));
            }
            for c in conditions {
                s.push_str(&format!(
                    " WHEN {} THEN {}",
                    spark_name(&c.condition),
                    spark_name(&c.result)
                ));
            }
            if let Some(e) = else_result {
                s.push_str(&format!(" ELSE {}", spark_name(e)));
            }
            s.push_str(" END");
            s
        }
        E::Extract { field, expr, .. } => format!(
            "extract({} FROM {})",
            field.to_string().to_lowercase(),
            spark_name(expr)
        ),
        E::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![spark_name(expr)];
            args.push(
                substring_from
                    .as_ref()
                    .map(|e| spark_name(e))
                    .unwrap_or_else(|| "1".into()),
            );
            if let Some(f) = substring_for {
                args.push(spark_name(f));
            }
            format!("substring({})", args.join(", "))
        }
        E::Function(f)
            if super::function::cast_alias(&f.name.to_string().to_lowercase()).is_some()
                && matches!(&f.args, ast::FunctionArguments::List(l) if l.args.len() == 1) =>
        {
            // int(x) is named as the cast it is: CAST(x AS INT).
            let name = f.name.to_string().to_lowercase();
            let data_type = super::function::cast_alias(&name).unwrap_or(ast::DataType::Int(None));
            let arg = match &f.args {
                ast::FunctionArguments::List(l) => match &l.args[0] {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => spark_name(e),
                    other => other.to_string(),
                },
                _ => String::new(),
            };
            format!("CAST({arg} AS {})", type_sql(&data_type))
        }
        E::Function(f) => {
            let name = f.name.to_string().to_lowercase();
            let (args, distinct) = match &f.args {
                ast::FunctionArguments::List(list) => (
                    list.args
                        .iter()
                        .map(|a| match a {
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                                spark_name(e)
                            }
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)
                                if name == "count" =>
                            {
                                "1".into()
                            }
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>(),
                    matches!(
                        list.duplicate_treatment,
                        Some(ast::DuplicateTreatment::Distinct)
                    ),
                ),
                _ => (vec![], false),
            };
            let mut args = args;
            // Spark's constructors fill the omitted arguments, which then show in the name.
            let defaults: &[&str] = match name.as_str() {
                "make_interval" => &["0", "0", "0", "0", "0", "0", "0.000000"],
                "make_dt_interval" => &["0", "0", "0", "0.000000"],
                "make_ym_interval" => &["0", "0"],
                _ => &[],
            };
            if args.len() < defaults.len() {
                args.extend(defaults[args.len()..].iter().map(|d| d.to_string()));
            }
            let name = if name == "count" && args.is_empty() {
                "count".to_string()
            } else {
                name
            };
            format!(
                "{name}({}{})",
                if distinct { "DISTINCT " } else { "" },
                args.join(", ")
            )
        }
        E::Ceil { expr, .. } => format!("CEIL({})", spark_name(expr)),
        E::Floor { expr, .. } => format!("FLOOR({})", spark_name(expr)),
        other => other.to_string(),
    }
}

/// The name of `a op b`, built along the left spine of a chain (`((a + b) + c) + ...`) in one
/// pass: a 3,000-term sum is named in linear time, not by re-formatting every prefix.
fn binary_chain_name(expr: &ast::Expr) -> String {
    // Spark names `a || b` after the function it is, and writes `div` in lower case.
    let parts = |op: &ast::BinaryOperator| -> (&'static str, String) {
        match op {
            ast::BinaryOperator::StringConcat => ("concat(", ", ".to_string()),
            ast::BinaryOperator::MyIntegerDivide | ast::BinaryOperator::DuckIntegerDivide => {
                ("(", " div ".to_string())
            }
            other => ("(", format!(" {other} ")),
        }
    };
    let mut steps: Vec<(&ast::BinaryOperator, &ast::Expr)> = Vec::new();
    let mut node = expr;
    while let ast::Expr::BinaryOp { left, op, right } = node {
        steps.push((op, right));
        node = left;
    }
    let mut name = String::new();
    for (op, _) in &steps {
        name.push_str(parts(op).0);
    }
    name.push_str(&spark_name(node));
    for (op, right) in steps.iter().rev() {
        name.push_str(&parts(op).1);
        name.push_str(&spark_name(right));
        name.push(')');
    }
    name
}

/// A numeric literal's name is its value as Spark prints it: `1L` is `1`, `2.5D` is `2.5`,
/// `1e3` is `1000.0`, `1.50` is `1.50`.
fn number_name(text: &str, long: bool) -> String {
    use datafusion_common::ScalarValue as S;
    let text = if long {
        format!("{text}L")
    } else {
        text.to_string()
    };
    match super::literal::number_literal(&text) {
        Ok(S::Float64(Some(v))) => java_double(v),
        Ok(S::Float32(Some(v))) => java_double(v as f64),
        Ok(S::Decimal128(Some(v), _, scale)) => {
            datafusion_common::ScalarValue::Decimal128(Some(v), 38, scale).to_string()
        }
        Ok(other) => other.to_string(),
        Err(_) => text,
    }
}

/// A double as Java's `Double.toString` writes it: `2.5`, `1000.0`, `1.0E10`, `1.0E-5`.
pub(crate) fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = v.abs();
    if v == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = v.to_string();
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exponent}")
}

fn unquoted(v: &ast::Value) -> String {
    match v {
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::parser::Parser;

    fn name_of(sql: &str) -> String {
        let expr = Parser::new(&crate::dialect::EmberDialect)
            .try_with_sql(sql)
            .unwrap()
            .parse_expr()
            .unwrap();
        spark_name(&expr)
    }

    #[test]
    fn names_follow_spark() {
        assert_eq!(name_of("sum(t.l_quantity)"), "sum(l_quantity)");
        assert_eq!(name_of("a + b * 2"), "(a + (b * 2))");
        assert_eq!(name_of("a - b + c || d"), "concat(((a - b) + c), d)");
        assert_eq!(name_of("7 div 2 * 3"), "((7 div 2) * 3)");
        assert_eq!(name_of("count(*)"), "count(1)");
        assert_eq!(name_of("count(DISTINCT x)"), "count(DISTINCT x)");
        assert_eq!(name_of("CAST(x AS int)"), "CAST(x AS INT)");
        assert_eq!(name_of("1.50"), "1.50");
        assert_eq!(name_of("1e3"), "1000.0");
        assert_eq!(name_of("1e10"), "1.0E10");
        assert_eq!(java_double(-0.0), "-0.0");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
    }
}
