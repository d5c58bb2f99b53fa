//! Ember's SQL dialect: sqlparser's Spark dialect with the corrections Spark's grammar needs,
//! and the token rewrites that turn Spark's lexical forms into what the parser expects.
//!
//! What differs from `SparkSqlDialect`:
//! - `a DIV b` binds like `*` and `/` (the stock dialect parses everything after `DIV` as its
//!   right operand, so `7 DIV 2 + 1` became `7 DIV 3`), and `a || b` like `+` and `-`;
//! - string literals take backslash escapes, unescaped with Spark's rules
//!   ([`spark_unescape`]), and adjacent string literals concatenate (`'a' 'b'` is `'ab'`);
//! - numeric literal suffixes (`127Y`, `1S`, `1L`, `2.5F`, `2.5D`, `1BD`) stay part of the
//!   number instead of becoming column aliases ([`rewrite_tokens`]).

use sqlparser::ast::{BinaryOperator, Expr};
use sqlparser::dialect::{Dialect, Precedence, SparkSqlDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// Spark SQL as Ember parses it.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmberDialect;

const SPARK: SparkSqlDialect = SparkSqlDialect {};

impl Dialect for EmberDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        SPARK.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        SPARK.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        SPARK.is_identifier_part(ch)
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        SPARK.supports_filter_during_aggregation()
    }

    fn supports_group_by_expr(&self) -> bool {
        SPARK.supports_group_by_expr()
    }

    fn supports_group_by_with_modifier(&self) -> bool {
        SPARK.supports_group_by_with_modifier()
    }

    fn supports_lambda_functions(&self) -> bool {
        SPARK.supports_lambda_functions()
    }

    fn supports_select_wildcard_except(&self) -> bool {
        SPARK.supports_select_wildcard_except()
    }

    fn supports_struct_literal(&self) -> bool {
        SPARK.supports_struct_literal()
    }

    fn supports_nested_comments(&self) -> bool {
        SPARK.supports_nested_comments()
    }

    fn supports_create_table_using(&self) -> bool {
        SPARK.supports_create_table_using()
    }

    fn supports_long_type_as_bigint(&self) -> bool {
        SPARK.supports_long_type_as_bigint()
    }

    fn supports_values_as_table_factor(&self) -> bool {
        SPARK.supports_values_as_table_factor()
    }

    fn supports_interval_options(&self) -> bool {
        // `INTERVAL DAY`, `INTERVAL YEAR TO MONTH` as types (CAST targets, columns).
        true
    }

    fn require_interval_qualifier(&self) -> bool {
        // Spark takes `INTERVAL '3 days 4 hours'`, the units inside the string.
        false
    }

    fn supports_bang_not_operator(&self) -> bool {
        SPARK.supports_bang_not_operator()
    }

    fn supports_select_item_multi_column_alias(&self) -> bool {
        SPARK.supports_select_item_multi_column_alias()
    }

    fn supports_cte_without_as(&self) -> bool {
        SPARK.supports_cte_without_as()
    }

    fn supports_map_literal_with_angle_brackets(&self) -> bool {
        SPARK.supports_map_literal_with_angle_brackets()
    }

    /// Spark's lexer reads `\n`, `\t`, `\'` ... inside string literals; the tokenizer keeps
    /// them raw (it runs with unescaping off) and [`spark_unescape`] applies Spark's rules.
    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }

    /// `'a' 'b'` is the literal `'ab'`, as in Spark.
    fn supports_string_literal_concatenation(&self) -> bool {
        true
    }

    /// `a || b` binds like `+` and `-`, as in Spark's grammar (sqlparser gives it the precedence
    /// of `*`, so `1 + 2 || 3` was `1 + (2 || 3)` instead of `(1 + 2) || 3`).
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        if parser.peek_token_ref().token == Token::StringConcat {
            return Some(Ok(self.prec_value(Precedence::PlusMinus)));
        }
        None
    }

    /// `a DIV b`: integer division at the precedence of `*` (the tokenizer's default
    /// precedence for `DIV`), so its right operand stops at the next `+`, `-`, comparison...
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        if !parser.parse_keyword(Keyword::DIV) {
            return None;
        }
        Some(
            parser
                .parse_subexpr(precedence)
                .map(|right| Expr::BinaryOp {
                    left: Box::new(expr.clone()),
                    op: BinaryOperator::MyIntegerDivide,
                    right: Box::new(right),
                }),
        )
    }
}

/// Spark's unescaping of a string literal's body (`ParserUtils.unescapeSQLString`): `\0` or
/// `\1` and two octal digits are an octal escape (`\101` is `A`), else `\0` is NUL; `\b`,
/// `\n`, `\r`, `\t` and `\Z` (Ctrl-Z) are control characters; `\uXXXX` is a UTF-16 code unit and `\UXXXXXXXX` a code point;
/// `\%` and `\_` keep their backslash (they are LIKE escapes); any other escaped character is
/// itself (`\\` is `\`, `\'` is `'`, `\d` is `d`). A doubled quote (`'it''s'`) is, as in
/// Spark's lexer, the end of one literal and the start of the next, which concatenate: `its`.
pub fn spark_unescape(raw: &str, quote: char) -> String {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    // UTF-16 code units from `\u` escapes, combined into characters (surrogate pairs) when
    // the next character is not another `\u` escape.
    let mut units: Vec<u16> = Vec::new();
    let flush = |units: &mut Vec<u16>, out: &mut String| {
        if !units.is_empty() {
            out.extend(char::decode_utf16(units.drain(..)).map(|c| c.unwrap_or('\u{FFFD}')));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == quote && chars.get(i + 1) == Some(&quote) {
            flush(&mut units, &mut out);
            i += 2;
            continue;
        }
        if c != '\\' || i + 1 >= chars.len() {
            flush(&mut units, &mut out);
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        if next == 'u' && i + 6 <= chars.len() {
            let hex: String = chars[i + 2..i + 6].iter().collect();
            if let Ok(unit) = u16::from_str_radix(&hex, 16) {
                units.push(unit);
                i += 6;
                continue;
            }
        }
        flush(&mut units, &mut out);
        if next == 'U' && i + 10 <= chars.len() {
            let hex: String = chars[i + 2..i + 10].iter().collect();
            if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                flush(&mut units, &mut out);
                out.push(c);
                i += 10;
                continue;
            }
        }
        if ('0'..='1').contains(&next) && i + 4 <= chars.len() {
            let (d2, d3) = (chars[i + 2], chars[i + 3]);
            if ('0'..='7').contains(&d2) && ('0'..='7').contains(&d3) {
                let code = (next as u32 - '0' as u32) * 64
                    + (d2 as u32 - '0' as u32) * 8
                    + (d3 as u32 - '0' as u32);
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                i += 4;
                continue;
            }
        }
        match next {
            '0' => out.push('\0'),
            'b' => out.push('\u{8}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'Z' => out.push('\u{1A}'),
            '%' => out.push_str("\\%"),
            '_' => out.push_str("\\_"),
            other => out.push(other),
        }
        i += 2;
    }
    flush(&mut units, &mut out);
    out
}

/// The suffix of a typed numeric literal (`Y`, `S`, `L`, `F`, `D`, `BD`), upper-cased.
pub fn numeric_suffix(word: &str) -> Option<&'static str> {
    match word.to_ascii_uppercase().as_str() {
        "Y" => Some("Y"),
        "S" => Some("S"),
        "L" => Some("L"),
        "F" => Some("F"),
        "D" => Some("D"),
        "BD" => Some("BD"),
        _ => None,
    }
}

/// Rewrites the tokenizer's output into Spark's lexical forms: string literal bodies are
/// unescaped ([`spark_unescape`]), and a number directly followed by a literal suffix
/// (`127Y`, `2.5d`, `1BD`, no space between) becomes one number token carrying the suffix
/// (`Number("127Y")`), which the binder types. `1L` already comes as a long number.
pub fn rewrite_tokens(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    exists_calls(ltz_literals(merge_interval_units(rewrite_literals(tokens))))
}

/// `exists(array, x -> ...)` is Spark's higher-order function; sqlparser reads `EXISTS (`
/// as an EXISTS subquery. When what follows the parenthesis does not start a query, the word
/// becomes a plain function name.
fn exists_calls(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    for (n, &i) in significant.iter().enumerate() {
        let is_exists = matches!(&tokens[i].token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("EXISTS"));
        if !is_exists {
            continue;
        }
        let after = |k: usize| significant.get(n + k).map(|&j| &tokens[j].token);
        if after(1) != Some(&Token::LParen) {
            continue;
        }
        let starts_query = match after(2) {
            Some(Token::Word(w)) => {
                w.quote_style.is_none()
                    && ["SELECT", "WITH", "VALUES", "FROM", "TABLE"]
                        .iter()
                        .any(|k| w.value.eq_ignore_ascii_case(k))
            }
            Some(Token::LParen) | None => true,
            _ => false,
        };
        if !starts_query {
            if let Token::Word(w) = &tokens[i].token {
                tokens[i].token = Token::Word(sqlparser::tokenizer::Word {
                    value: w.value.clone(),
                    quote_style: None,
                    keyword: sqlparser::keywords::Keyword::NoKeyword,
                });
            }
        }
    }
    tokens
}

/// `TIMESTAMP_LTZ '...'` is a typed literal in Spark; sqlparser reads a typed literal only
/// after a type it knows, so the word becomes `TIMESTAMPTZ` (sqlparser's zoned timestamp),
/// which the binder reads as TIMESTAMP_LTZ.
fn ltz_literals(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    for i in 0..tokens.len() {
        let is_ltz = matches!(&tokens[i].token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("TIMESTAMP_LTZ"));
        if !is_ltz {
            continue;
        }
        let next = tokens[i + 1..]
            .iter()
            .find(|t| !matches!(t.token, Token::Whitespace(_)));
        if matches!(next.map(|t| &t.token), Some(Token::SingleQuotedString(_))) {
            tokens[i].token = Token::make_keyword("TIMESTAMPTZ");
        }
    }
    tokens
}

/// Whether `word` names an interval unit (`DAY`, `days`, ...).
fn is_interval_unit(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    matches!(
        lower.strip_suffix('s').unwrap_or(&lower),
        "year"
            | "month"
            | "week"
            | "day"
            | "hour"
            | "minute"
            | "second"
            | "millisecond"
            | "microsecond"
    )
}

/// Spark's multi-unit interval literal `INTERVAL 3 DAYS 4 HOURS` (two or more value-unit
/// pairs, values numbers or strings, perhaps negative) becomes the one string literal
/// `INTERVAL '3 DAYS 4 HOURS'`, which sqlparser reads and the binder parses.
fn merge_interval_units(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant = |i: usize| !matches!(tokens[i].token, Token::Whitespace(_));
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let is_interval = matches!(&tokens[i].token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("INTERVAL"));
        if !is_interval {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // Collect value-unit pairs after INTERVAL.
        let mut j = i + 1;
        let mut pairs: Vec<String> = Vec::new();
        let mut end = i;
        loop {
            let mut k = j;
            while k < tokens.len() && !significant(k) {
                k += 1;
            }
            let mut negative = false;
            if k < tokens.len() && tokens[k].token == Token::Minus {
                negative = true;
                k += 1;
                while k < tokens.len() && !significant(k) {
                    k += 1;
                }
            }
            let value = match tokens.get(k).map(|t| &t.token) {
                Some(Token::Number(n, _)) => n.clone(),
                Some(Token::SingleQuotedString(s)) => s.clone(),
                _ => break,
            };
            let mut u = k + 1;
            while u < tokens.len() && !significant(u) {
                u += 1;
            }
            let unit = match tokens.get(u).map(|t| &t.token) {
                Some(Token::Word(w)) if w.quote_style.is_none() && is_interval_unit(&w.value) => {
                    w.value.clone()
                }
                _ => break,
            };
            pairs.push(format!("{}{value} {unit}", if negative { "-" } else { "" }));
            end = u;
            j = u + 1;
        }
        if pairs.len() < 2 {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        out.push(tokens[i].clone());
        out.push(TokenWithSpan {
            token: Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
            span: tokens[i].span,
        });
        out.push(TokenWithSpan {
            token: Token::SingleQuotedString(pairs.join(" ")),
            span: sqlparser::tokenizer::Span::new(tokens[i + 1].span.start, tokens[end].span.end),
        });
        i = end + 1;
    }
    out
}

fn rewrite_literals(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let adjacent_to_number = matches!(
            out.last(),
            Some(TokenWithSpan { token: Token::Number(_, false), span }) if span.end == token.span.start
        );
        match token.token {
            Token::Word(ref w) if adjacent_to_number && w.quote_style.is_none() => {
                if let Some(suffix) = numeric_suffix(&w.value) {
                    if let Some(TokenWithSpan {
                        token: Token::Number(text, long),
                        span,
                    }) = out.last_mut()
                    {
                        if suffix == "L" {
                            *long = true;
                        } else {
                            text.push_str(suffix);
                        }
                        span.end = token.span.end;
                        continue;
                    }
                }
                out.push(token);
            }
            Token::SingleQuotedString(raw) => out.push(TokenWithSpan {
                token: Token::SingleQuotedString(spark_unescape(&raw, '\'')),
                span: token.span,
            }),
            Token::DoubleQuotedString(raw) => out.push(TokenWithSpan {
                token: Token::DoubleQuotedString(spark_unescape(&raw, '"')),
                span: token.span,
            }),
            _ => out.push(token),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_as_spark_does() {
        assert_eq!(spark_unescape(r"\\d+", '\''), r"\d+");
        assert_eq!(spark_unescape(r"\d", '\''), "d");
        assert_eq!(spark_unescape(r"a\tb\nc", '\''), "a\tb\nc");
        assert_eq!(spark_unescape(r"it\'s", '\''), "it's");
        assert_eq!(spark_unescape("it''s", '\''), "its");
        assert_eq!(spark_unescape(r"\%\_", '\''), r"\%\_");
        assert_eq!(spark_unescape(r"\101\0", '\''), "A\0");
        assert_eq!(spark_unescape(r"\u0041\u00e9", '\''), "Aé");
        assert_eq!(spark_unescape(r"\ud83d\ude00", '\''), "😀");
        assert_eq!(spark_unescape(r"end\", '\''), r"end\");
    }
}
