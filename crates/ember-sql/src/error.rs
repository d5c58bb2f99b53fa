//! Turning sqlparser errors and AST spans into user-facing positions and caret excerpts.

use ember_common::error::SqlPosition;
use ember_common::EmberError;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

/// An analysis error pointing at the SQL construct `node`.
pub fn error_at(node: &impl Spanned, message: impl Into<String>) -> EmberError {
    EmberError::Analysis {
        message: abbreviate(&message.into(), 4 * MAX_QUOTED_CHARS),
        position: position_of(node.span()),
    }
}

/// Ember does not support `what` (a clause, option or construct, named as the user wrote
/// it) yet; the error points at `node`.
pub fn not_supported_at(node: &impl Spanned, what: impl Into<String>) -> EmberError {
    not_supported_at_span(node.span(), what)
}

/// [`not_supported_at`] for a node known by its span (an identifier).
pub fn not_supported_at_span(span: Span, what: impl Into<String>) -> EmberError {
    let what = abbreviate(&what.into(), 4 * MAX_QUOTED_CHARS);
    match position_of(span) {
        Some(position) => EmberError::NotSupportedAt {
            message: what,
            position,
        },
        None => EmberError::NotSupported(what),
    }
}

/// An analysis error pointing at an identifier.
pub fn error_at_ident(ident: &sqlparser::ast::Ident, message: impl Into<String>) -> EmberError {
    EmberError::Analysis {
        message: message.into(),
        position: position_of(ident.span),
    }
}

pub fn position_of(span: Span) -> Option<SqlPosition> {
    (span.start.line > 0).then_some(SqlPosition {
        line: span.start.line,
        column: span.start.column,
    })
}

/// Converts a sqlparser error (`... at Line: 3, Column: 7`) into a syntax error with a position.
pub fn syntax_error(error: sqlparser::parser::ParserError) -> EmberError {
    let text = match error {
        sqlparser::parser::ParserError::TokenizerError(m)
        | sqlparser::parser::ParserError::ParserError(m) => m,
        sqlparser::parser::ParserError::RecursionLimitExceeded => format!(
            "the statement nests more than {} levels deep (parentheses, calls, subqueries); split it into steps, e.g. with a CTE",
            crate::parser::PARSER_RECURSION_LIMIT
        ),
    };
    let (message, position) = match text.rfind(" at Line: ") {
        Some(at) => {
            let tail = &text[at + " at Line: ".len()..];
            let mut parts = tail.split(", Column: ");
            let line = parts.next().and_then(|l| l.trim().parse().ok());
            let column = parts.next().and_then(|c| c.trim().parse().ok());
            match (line, column) {
                (Some(line), Some(column)) => {
                    (text[..at].to_string(), SqlPosition { line, column })
                }
                _ => (text.clone(), SqlPosition::default()),
            }
        }
        None => (text.clone(), SqlPosition::default()),
    };
    let message = message
        .replace("sql parser error: ", "")
        .replace("Expected: ", "expected ")
        .replace(", found: ", ", found ");
    EmberError::Syntax { message, position }
}

/// The most characters of a statement an error quotes: the caret line shows at most this
/// many around the error position, and SQL fragments inside messages are cut to it.
pub const MAX_QUOTED_CHARS: usize = 240;

/// `text` when it is short, else its start and end around ` ... `: a message never repeats a
/// whole long statement.
pub fn abbreviate(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    if count <= max_chars {
        return text.to_string();
    }
    let half = max_chars / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(count - half).collect();
    format!("{head} ... {tail}")
}

/// Renders an error against the SQL text it came from: the message, then the offending line
/// with a caret under the column, as Spark's ParseException does. A long line is shown only
/// around the column.
pub fn render_with_source(error: &EmberError, sql: &str) -> String {
    let position = match error {
        EmberError::Syntax { position, .. } => Some(*position),
        EmberError::Analysis { position, .. } => *position,
        EmberError::NotSupportedAt { position, .. } => Some(*position),
        _ => None,
    };
    let mut out = abbreviate(&error.to_string(), 4 * MAX_QUOTED_CHARS);
    if let Some(p) = position.filter(|p| p.line > 0) {
        if let Some(line) = sql.lines().nth((p.line - 1) as usize) {
            let chars: Vec<char> = line.chars().collect();
            let column = (p.column.saturating_sub(1) as usize).min(chars.len());
            let start = column.saturating_sub(MAX_QUOTED_CHARS / 2);
            let end = (start + MAX_QUOTED_CHARS).min(chars.len());
            let prefix = if start > 0 { "..." } else { "" };
            let suffix = if end < chars.len() { "..." } else { "" };
            let excerpt: String = chars[start..end].iter().collect();
            out.push_str(&format!(
                "\n\n== SQL (line {}, column {}) ==\n{prefix}{excerpt}{suffix}\n",
                p.line, p.column
            ));
            out.push_str(&" ".repeat(prefix.len() + column - start));
            out.push('^');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_statements_are_quoted_around_the_error_only() {
        let sql = format!("SELECT {} FROM", "1 + ".repeat(5_000));
        let error = EmberError::Syntax {
            message: "expected an expression".into(),
            position: SqlPosition {
                line: 1,
                column: 20_000,
            },
        };
        let rendered = render_with_source(&error, &sql);
        assert!(rendered.len() < 1_000, "{} chars", rendered.len());
        let lines: Vec<&str> = rendered.lines().collect();
        let caret = lines.last().unwrap();
        let quoted = lines[lines.len() - 2];
        assert_eq!(quoted.chars().nth(caret.len() - 1), sql.chars().nth(19_999));
        assert_eq!(abbreviate("abcdef", 4), "ab ... ef");
    }
}
