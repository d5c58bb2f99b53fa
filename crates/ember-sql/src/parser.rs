//! Splits a script into statements and parses each: Spark's DDL and utility statements here,
//! queries through sqlparser's Spark dialect.

use std::collections::BTreeMap;

use ember_common::error::SqlPosition;
use ember_common::{EmberError, Result};
pub use sqlparser::ast::Query;
use sqlparser::ast::{self, ObjectName};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::dialect::{rewrite_tokens, EmberDialect};
use crate::error::syntax_error;

/// One statement of Ember's SQL.
#[derive(Debug, Clone)]
pub enum EmberStatement {
    Query(Box<ast::Query>),
    /// `CREATE TABLE t [(cols)] USING fmt [OPTIONS (...)] [LOCATION '...']`
    CreateTable {
        name: ObjectName,
        if_not_exists: bool,
        or_replace: bool,
        columns: Vec<ast::ColumnDef>,
        format: String,
        options: BTreeMap<String, String>,
        location: Option<String>,
        as_query: Option<Box<ast::Query>>,
    },
    /// `INSERT INTO [TABLE] t query` or `INSERT OVERWRITE [TABLE] t query`
    Insert {
        name: ObjectName,
        overwrite: bool,
        query: Box<ast::Query>,
    },
    /// `CREATE [OR REPLACE] [TEMPORARY] VIEW v AS query`
    CreateView {
        name: ObjectName,
        /// `CREATE VIEW v (a, b) AS ...` renames the query's columns.
        columns: Vec<ast::Ident>,
        or_replace: bool,
        if_not_exists: bool,
        temporary: bool,
        query: Box<ast::Query>,
    },
    /// `DROP TABLE|VIEW [IF EXISTS] name`
    Drop {
        name: ObjectName,
        if_exists: bool,
        view: bool,
    },
    ShowTables,
    Describe {
        name: ObjectName,
    },
    /// `SET`, `SET key`, `SET key = value`, `SET -v`
    Set {
        key: Option<String>,
        value: Option<String>,
    },
    /// `RESET [key]`
    Reset {
        key: Option<String>,
    },
    /// `CACHE [LAZY] TABLE t [OPTIONS ('storageLevel' 'MEMORY_AND_DISK')] [[AS] query]`
    Cache {
        name: ast::ObjectName,
        lazy: bool,
        options: BTreeMap<String, String>,
        query: Option<Box<ast::Query>>,
    },
    /// `UNCACHE TABLE [IF EXISTS] t`
    Uncache {
        name: ast::ObjectName,
        if_exists: bool,
    },
    /// `CLEAR CACHE`
    ClearCache,
    /// `EXPLAIN [EXTENDED | FORMATTED | ANALYZE] statement`
    Explain {
        extended: bool,
        /// Run the query and show each stage's figures next to the plan.
        analyze: bool,
        statement: Box<EmberStatement>,
    },
}

/// How deep the parser may recurse (nested parentheses, calls, subqueries). Statements are
/// parsed on a statement thread with a large stack (see `ember_session::guard`); sqlparser's
/// default of 50 refuses ordinary generated SQL.
pub const PARSER_RECURSION_LIMIT: usize = 2000;

/// A parsed statement with the SQL text it came from.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    pub statement: EmberStatement,
    pub text: String,
}

/// Parses a script of `;`-separated statements.
pub fn parse_statements(sql: &str) -> Result<Vec<ParsedStatement>> {
    let dialect = EmberDialect;
    let tokens = Tokenizer::new(&dialect, sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| syntax_error(ParserError::TokenizerError(e.to_string())))?;
    let tokens = rewrite_tokens(tokens);
    let mut statements = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    for token in tokens
        .into_iter()
        .chain(std::iter::once(TokenWithSpan::wrap(Token::SemiColon)))
    {
        if token.token == Token::SemiColon {
            let meaningful = current
                .iter()
                .any(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF));
            if meaningful {
                let text = source_text(sql, &current);
                let statement = parse_one(std::mem::take(&mut current), sql)?;
                statements.push(ParsedStatement { statement, text });
            }
            current.clear();
        } else if token.token != Token::EOF {
            current.push(token);
        }
    }
    Ok(statements)
}

fn source_text(sql: &str, tokens: &[TokenWithSpan]) -> String {
    let meaningful: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    match (meaningful.first(), meaningful.last()) {
        (Some(first), Some(last)) => {
            let start = offset_of(sql, first.span.start.line, first.span.start.column);
            let end = offset_of(sql, last.span.end.line, last.span.end.column);
            sql.get(start..end).unwrap_or_default().to_string()
        }
        _ => String::new(),
    }
}

/// Byte offset of a 1-based line and column (columns count characters).
fn offset_of(sql: &str, line: u64, column: u64) -> usize {
    let mut offset = 0;
    for (i, text) in sql.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            return offset
                + text
                    .char_indices()
                    .nth(column.saturating_sub(1) as usize)
                    .map(|(b, _)| b)
                    .unwrap_or(text.len());
        }
        offset += text.len();
    }
    sql.len()
}

fn parse_one(tokens: Vec<TokenWithSpan>, sql: &str) -> Result<EmberStatement> {
    let dialect = EmberDialect;
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .with_tokens_with_locations(tokens.clone());
    let statement =
        parse_statement(&mut parser, &tokens, sql).map_err(|e| at_end_if_unplaced(e, &tokens))?;
    // Anything left over is an error: `SELECT 1 2` must not silently drop `2`.
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(EmberError::Syntax {
            message: format!("unexpected '{}' after the end of the statement", next.token),
            position: SqlPosition {
                line: next.span.start.line,
                column: next.span.start.column,
            },
        });
    }
    Ok(statement)
}

fn parse_statement(
    parser: &mut Parser,
    tokens: &[TokenWithSpan],
    sql: &str,
) -> Result<EmberStatement> {
    if parser.parse_keyword(Keyword::EXPLAIN) {
        let analyze = parser.parse_keyword(Keyword::ANALYZE);
        let extended = parser.parse_keyword(Keyword::EXTENDED);
        if !extended {
            let _ = parser.parse_keyword(Keyword::FORMATTED);
        }
        let statement = parse_statement(parser, tokens, sql)?;
        return Ok(EmberStatement::Explain {
            extended,
            analyze,
            statement: Box::new(statement),
        });
    }
    if parser.parse_keyword(Keyword::CREATE) {
        let or_replace = parser.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
        let temporary =
            parser.parse_keyword(Keyword::TEMPORARY) || parser.parse_keyword(Keyword::TEMP);
        if parser.parse_keyword(Keyword::VIEW) {
            let if_not_exists =
                parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
            let name = p(parser.parse_object_name(false))?;
            let mut columns = Vec::new();
            if parser.consume_token(&Token::LParen) {
                loop {
                    columns.push(p(parser.parse_identifier())?);
                    if parser.parse_keyword(Keyword::COMMENT) {
                        p(parser.parse_literal_string())?;
                    }
                    if parser.consume_token(&Token::RParen) {
                        break;
                    }
                    p(parser.expect_token(&Token::Comma))?;
                }
            }
            p(parser.expect_keyword(Keyword::AS))?;
            let query = p(parser.parse_query())?;
            return Ok(EmberStatement::CreateView {
                name,
                columns,
                or_replace,
                if_not_exists,
                temporary,
                query,
            });
        }
        let _ = parser.parse_keyword(Keyword::EXTERNAL);
        if parser.parse_keyword(Keyword::TABLE) {
            return parse_create_table(parser, or_replace);
        }
        let next = parser.peek_token();
        return Err(syntax_at(
            &next,
            "expected TABLE or [TEMPORARY] VIEW after CREATE",
        ));
    }
    if parser.parse_keyword(Keyword::DROP) {
        let view = if parser.parse_keyword(Keyword::VIEW) {
            true
        } else if parser.parse_keyword(Keyword::TABLE) {
            false
        } else {
            let next = parser.peek_token();
            return Err(syntax_at(&next, "expected TABLE or VIEW after DROP"));
        };
        let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = p(parser.parse_object_name(false))?;
        return Ok(EmberStatement::Drop {
            name,
            if_exists,
            view,
        });
    }
    if parser.parse_keyword(Keyword::SHOW) {
        if parser.parse_keyword(Keyword::TABLES) || parser.parse_keyword(Keyword::VIEWS) {
            return Ok(EmberStatement::ShowTables);
        }
        let next = parser.peek_token();
        return Err(syntax_at(&next, "only SHOW TABLES is supported"));
    }
    if parser.parse_keyword(Keyword::DESCRIBE) || parser.parse_keyword(Keyword::DESC) {
        let _ = parser.parse_keyword(Keyword::TABLE);
        let _ = parser.parse_keyword(Keyword::EXTENDED);
        let name = p(parser.parse_object_name(false))?;
        return Ok(EmberStatement::Describe { name });
    }
    if parser.parse_keyword(Keyword::SET) {
        let rest = remaining_text(parser, tokens, sql);
        let rest = rest.trim();
        if rest.is_empty() || rest == "-v" {
            return Ok(EmberStatement::Set {
                key: None,
                value: None,
            });
        }
        return Ok(match rest.split_once('=') {
            Some((k, v)) => EmberStatement::Set {
                key: Some(k.trim().to_string()),
                value: Some(unquote(v.trim())),
            },
            None => EmberStatement::Set {
                key: Some(rest.to_string()),
                value: None,
            },
        });
    }
    if parser.parse_keyword(Keyword::RESET) {
        let rest = remaining_text(parser, tokens, sql);
        let rest = rest.trim();
        return Ok(EmberStatement::Reset {
            key: (!rest.is_empty()).then(|| rest.to_string()),
        });
    }
    if parser.parse_keyword(Keyword::CACHE) {
        let lazy = matches!(&parser.peek_token().token, Token::Word(w) if w.value.eq_ignore_ascii_case("LAZY"));
        if lazy {
            parser.next_token();
        }
        if !parser.parse_keyword(Keyword::TABLE) {
            let next = parser.peek_token();
            return Err(syntax_at(&next, "expected TABLE after CACHE [LAZY]"));
        }
        let name = p(parser.parse_object_name(false))?;
        let options = if parser.parse_keyword(Keyword::OPTIONS) {
            parse_options(parser)?
        } else {
            BTreeMap::new()
        };
        let _ = parser.parse_keyword(Keyword::AS);
        let next = parser.peek_token();
        let query = match &next.token {
            Token::EOF | Token::SemiColon => None,
            _ => Some(p(parser.parse_query())?),
        };
        return Ok(EmberStatement::Cache {
            name,
            lazy,
            options,
            query,
        });
    }
    if parser.parse_keyword(Keyword::UNCACHE) {
        if !parser.parse_keyword(Keyword::TABLE) {
            let next = parser.peek_token();
            return Err(syntax_at(&next, "expected TABLE after UNCACHE"));
        }
        let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = p(parser.parse_object_name(false))?;
        return Ok(EmberStatement::Uncache { name, if_exists });
    }
    if matches!(&parser.peek_token().token, Token::Word(w) if w.value.eq_ignore_ascii_case("CLEAR"))
    {
        parser.next_token();
        if !parser.parse_keyword(Keyword::CACHE) {
            let next = parser.peek_token();
            return Err(syntax_at(&next, "expected CACHE after CLEAR"));
        }
        return Ok(EmberStatement::ClearCache);
    }
    if parser.parse_keyword(Keyword::INSERT) {
        let overwrite = if parser.parse_keyword(Keyword::OVERWRITE) {
            true
        } else if parser.parse_keyword(Keyword::INTO) {
            false
        } else {
            let next = parser.peek_token();
            return Err(syntax_at(&next, "expected INTO or OVERWRITE after INSERT"));
        };
        let _ = parser.parse_keyword(Keyword::TABLE);
        let name = p(parser.parse_object_name(false))?;
        let next = parser.peek_token();
        if next.token == Token::LParen
            && !matches!(&parser.peek_nth_token(1).token, Token::Word(w) if matches!(w.keyword, Keyword::SELECT | Keyword::WITH | Keyword::VALUES))
        {
            return Err(EmberError::NotSupported(
                "INSERT with a column list; list the query's columns in the table's order instead"
                    .to_string(),
            ));
        }
        if parser.peek_keyword(Keyword::PARTITION) {
            return Err(EmberError::NotSupported(
                "INSERT ... PARTITION (...): writing into partition folders".to_string(),
            ));
        }
        let query = p(parser.parse_query())?;
        return Ok(EmberStatement::Insert {
            name,
            overwrite,
            query,
        });
    }
    for (keyword, feature) in [
        (
            Keyword::UPDATE,
            "UPDATE: Ember tables are files; rewrite them with CREATE TABLE",
        ),
        (
            Keyword::DELETE,
            "DELETE: Ember tables are files; rewrite them with CREATE TABLE",
        ),
    ] {
        if parser.peek_keyword(keyword) {
            return Err(EmberError::NotSupported(feature.to_string()));
        }
    }
    let next = parser.peek_token();
    let starts_query = matches!(&next.token, Token::LParen)
        || matches!(&next.token, Token::Word(w) if matches!(w.keyword, Keyword::SELECT | Keyword::WITH | Keyword::VALUES | Keyword::TABLE | Keyword::FROM));
    if !starts_query {
        return Err(syntax_at(
            &next,
            &format!(
                "'{}' does not start a statement Ember knows; expected SELECT, WITH, VALUES, CREATE TABLE, CREATE VIEW, INSERT, DROP, SHOW TABLES, DESCRIBE, SET, EXPLAIN, CACHE TABLE, UNCACHE TABLE or CLEAR CACHE",
                next.token
            ),
        ));
    }
    let query = p(parser.parse_query())?;
    Ok(EmberStatement::Query(query))
}

fn parse_create_table(parser: &mut Parser, or_replace: bool) -> Result<EmberStatement> {
    let if_not_exists = parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = p(parser.parse_object_name(false))?;
    let mut columns = Vec::new();
    if parser.consume_token(&Token::LParen) {
        loop {
            let column_name = p(parser.parse_identifier())?;
            let data_type = p(parser.parse_data_type())?;
            let _ = parser.parse_keywords(&[Keyword::NOT, Keyword::NULL]);
            columns.push(ast::ColumnDef {
                name: column_name,
                data_type,
                options: vec![],
            });
            if parser.consume_token(&Token::RParen) {
                break;
            }
            p(parser.expect_token(&Token::Comma))?;
        }
    }
    let mut format = None;
    let mut options = BTreeMap::new();
    let mut location = None;
    let mut as_query = None;
    loop {
        if parser.parse_keyword(Keyword::USING) {
            format = Some(p(parser.parse_identifier())?.value);
        } else if parser.parse_keyword(Keyword::OPTIONS) {
            options.extend(parse_options(parser)?);
        } else if parser.parse_keyword(Keyword::LOCATION) {
            location = Some(p(parser.parse_literal_string())?);
        } else if parser.parse_keyword(Keyword::AS) {
            as_query = Some(p(parser.parse_query())?);
            break;
        } else if parser.peek_keyword(Keyword::PARTITIONED) {
            return Err(EmberError::NotSupported(
                "CREATE TABLE ... PARTITIONED BY: writing partition folders (tables over \
                 existing key=value folders are read with their partition columns)"
                    .to_string(),
            ));
        } else {
            break;
        }
    }
    let format = match format {
        Some(f) => f,
        None => {
            let next = parser.peek_token();
            return Err(syntax_at(
                &next,
                "CREATE TABLE needs a data source: add USING parquet or USING csv",
            ));
        }
    };
    Ok(EmberStatement::CreateTable {
        name,
        if_not_exists,
        or_replace,
        columns,
        format,
        options,
        location,
        as_query,
    })
}

/// `(key 'value', 'key2' = 'value2', k3 true)`: keys are identifiers (dotted) or strings.
fn parse_options(parser: &mut Parser) -> Result<BTreeMap<String, String>> {
    let mut options = BTreeMap::new();
    p(parser.expect_token(&Token::LParen))?;
    if parser.consume_token(&Token::RParen) {
        return Ok(options);
    }
    loop {
        let key_token = parser.next_token();
        let mut key = match &key_token.token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s.clone(),
            Token::Word(w) => w.value.clone(),
            _ => return Err(syntax_at(&key_token, "expected an option name")),
        };
        while parser.consume_token(&Token::Period) {
            key.push('.');
            key.push_str(&p(parser.parse_identifier())?.value);
        }
        let _ = parser.consume_token(&Token::Eq);
        let value_token = parser.next_token();
        let value = match &value_token.token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s.clone(),
            Token::Number(n, _) => n.clone(),
            Token::Word(w) => w.value.clone(),
            _ => {
                return Err(syntax_at(
                    &value_token,
                    "expected an option value such as 'true'",
                ))
            }
        };
        options.insert(key, value);
        if parser.consume_token(&Token::RParen) {
            break;
        }
        p(parser.expect_token(&Token::Comma))?;
    }
    Ok(options)
}

/// The source text of the tokens the parser has not consumed yet.
fn remaining_text(parser: &mut Parser, tokens: &[TokenWithSpan], sql: &str) -> String {
    let next = parser.peek_token();
    let rest: Vec<TokenWithSpan> = tokens
        .iter()
        .filter(|t| {
            (t.span.start.line, t.span.start.column)
                >= (next.span.start.line, next.span.start.column)
        })
        .filter(|t| {
            !matches!(
                t.token,
                Token::Whitespace(Whitespace::SingleLineComment { .. })
            )
        })
        .cloned()
        .collect();
    while parser.peek_token().token != Token::EOF {
        parser.next_token();
    }
    if next.token == Token::EOF {
        return String::new();
    }
    source_text(sql, &rest)
}

/// Errors at the end of input come without a position; point them after the last token.
fn at_end_if_unplaced(error: EmberError, tokens: &[TokenWithSpan]) -> EmberError {
    match error {
        EmberError::Syntax { message, position } if position.line == 0 => {
            let end = tokens
                .iter()
                .rev()
                .find(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
                .map(|t| SqlPosition {
                    line: t.span.end.line,
                    column: t.span.end.column,
                })
                .unwrap_or(SqlPosition { line: 1, column: 1 });
            EmberError::Syntax {
                message: message.replace("found EOF", "found the end of the statement"),
                position: end,
            }
        }
        other => other,
    }
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    for q in ['\'', '"', '`'] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

fn p<T>(result: std::result::Result<T, ParserError>) -> Result<T> {
    result.map_err(syntax_error)
}

fn syntax_at(token: &TokenWithSpan, message: &str) -> EmberError {
    EmberError::Syntax {
        message: message.to_string(),
        position: SqlPosition {
            line: token.span.start.line,
            column: token.span.start.column,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_parses_ddl() {
        let stmts = parse_statements(
            "CREATE TABLE t USING csv OPTIONS (header 'true', sep '|') LOCATION '/x';\n SELECT 1; SET spark.sql.shuffle.partitions = 4;",
        )
        .unwrap();
        assert_eq!(stmts.len(), 3);
        match &stmts[0].statement {
            EmberStatement::CreateTable {
                format,
                options,
                location,
                ..
            } => {
                assert_eq!(format, "csv");
                assert_eq!(options.get("sep").map(String::as_str), Some("|"));
                assert_eq!(location.as_deref(), Some("/x"));
            }
            other => panic!("{other:?}"),
        }
        match &stmts[2].statement {
            EmberStatement::Set { key, value } => {
                assert_eq!(key.as_deref(), Some("spark.sql.shuffle.partitions"));
                assert_eq!(value.as_deref(), Some("4"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(stmts[1].text, "SELECT 1");
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_statements("SELECT a,\n  FROM t").unwrap_err();
        match err {
            EmberError::Syntax { position, .. } => assert_eq!(position.line, 2),
            other => panic!("{other:?}"),
        }
        let err = parse_statements("SELEC 1").unwrap_err();
        assert!(err.to_string().contains("line 1, column 1"), "{err}");
    }
}
