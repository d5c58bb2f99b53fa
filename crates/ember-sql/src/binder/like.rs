//! `LIKE` and `ILIKE` with Spark's escapes.
//!
//! Spark's default escape is the backslash, and any single character may be named with
//! `ESCAPE`. The escape may precede only `_`, `%` or itself; anything else, or a pattern that
//! ends with the escape, is an error (`StringUtils.escapeLikeRegex`). The kernels escape with
//! the backslash only, so a literal pattern is checked here and rewritten to backslash
//! escapes; a computed pattern keeps the backslash.

use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::Like;
use datafusion_expr::Expr;
use ember_common::Result;
use sqlparser::ast;

use super::Binder;
use crate::error::error_at;

impl Binder<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn bind_like(
        &mut self,
        node: &ast::Expr,
        value: &ast::Expr,
        pattern: &ast::Expr,
        escape_char: Option<&ast::ValueWithSpan>,
        negated: bool,
        case_insensitive: bool,
        schema: &DFSchema,
    ) -> Result<Expr> {
        let escape = match escape_char {
            None => '\\',
            Some(c) => match &c.value {
                ast::Value::SingleQuotedString(s) if s.chars().count() == 1 => {
                    s.chars().next().expect("one character")
                }
                _ => {
                    return Err(error_at(
                        node,
                        "the LIKE escape must be a string of one character, such as ESCAPE '/'",
                    ))
                }
            },
        };
        let (v, p) = self.bind_string_pair(value, pattern, schema)?;
        let p = match p {
            Expr::Literal(literal, metadata) => {
                Expr::Literal(backslash_pattern(literal, escape, node)?, metadata)
            }
            p if escape == '\\' => p,
            _ => {
                return Err(error_at(
                    node,
                    "LIKE with an ESCAPE other than the backslash needs a literal pattern; \
                     write the pattern as a string literal or escape with '\\'",
                ))
            }
        };
        Ok(Expr::Like(Like::new(
            negated,
            Box::new(v),
            Box::new(p),
            // The kernels escape with the backslash when no escape is named.
            None,
            case_insensitive,
        )))
    }
}

/// A literal pattern checked as Spark checks it and rewritten to escape with the backslash.
fn backslash_pattern(literal: ScalarValue, escape: char, node: &ast::Expr) -> Result<ScalarValue> {
    let rewrite = |pattern: &str| -> Result<String> {
        let fail = |reason: String| {
            error_at(
                node,
                format!("The pattern '{pattern}' is invalid for LIKE: {reason}"),
            )
        };
        let mut out = String::with_capacity(pattern.len() + 4);
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c == escape {
                match chars.next() {
                    Some(next) if next == '_' || next == '%' || next == escape => {
                        out.push('\\');
                        out.push(next);
                    }
                    Some(next) => {
                        return Err(fail(format!(
                            "the escape character is not allowed to precede '{next}'"
                        )))
                    }
                    None => {
                        return Err(fail(
                            "it is not allowed to end with the escape character".to_string(),
                        ))
                    }
                }
            } else if c == '\\' {
                // A backslash that is not the escape is an ordinary character.
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        Ok(out)
    };
    Ok(match literal {
        ScalarValue::Utf8(Some(s)) => ScalarValue::Utf8(Some(rewrite(&s)?)),
        ScalarValue::LargeUtf8(Some(s)) => ScalarValue::LargeUtf8(Some(rewrite(&s)?)),
        ScalarValue::Utf8View(Some(s)) => ScalarValue::Utf8View(Some(rewrite(&s)?)),
        other => other,
    })
}
