//! Turning sqlparser errors and AST spans into user-facing positions and caret excerpts.

use ember_common::error::SqlPosition;
use ember_common::EmberError;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

/// An analysis error pointing at the SQL construct `node`.
pub fn error_at(node: &impl Spanned, message: impl Into<String>) -> EmberError {
    EmberError::Analysis {
        message: message.into(),
        position: position_of(node.span()),
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
        sqlparser::parser::ParserError::RecursionLimitExceeded => {
            "statement nests too deeply".to_string()
        }
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

/// Renders an error against the SQL text it came from: the message, then the offending line
/// with a caret under the column, as Spark's ParseException does.
pub fn render_with_source(error: &EmberError, sql: &str) -> String {
    let position = match error {
        EmberError::Syntax { position, .. } => Some(*position),
        EmberError::Analysis { position, .. } => *position,
        _ => None,
    };
    let mut out = error.to_string();
    if let Some(p) = position.filter(|p| p.line > 0) {
        if let Some(line) = sql.lines().nth((p.line - 1) as usize) {
            out.push_str(&format!(
                "\n\n== SQL (line {}, column {}) ==\n{}\n",
                p.line, p.column, line
            ));
            out.push_str(&" ".repeat(p.column.saturating_sub(1) as usize));
            out.push('^');
        }
    }
    out
}
