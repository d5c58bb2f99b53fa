//! A light reading of a query's text: what each output column computes and the ORDER BY keys.
//!
//! This is not a SQL parser; it scans the result statement with quote and parenthesis depth
//! tracking, which is enough for the TPC-H queries (and fails soft: an unreadable select list
//! makes every column an ordinary value, an unreadable ORDER BY makes the comparison a
//! multiset one).

use crate::queries::{result_statement, split_statements};

/// What an output column computes, which decides the tolerance it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// `sum(...)`, possibly scaled by a constant (`sum(x) / 7.0`): within 100 absolute.
    Sum,
    /// `avg(...)`: within 1% of the reference after rounding to 2 places.
    Avg,
    /// `count(...)`: exact.
    Count,
    /// A ratio of aggregates (`sum(a) / sum(b)`, Q8, Q14): within 1% after rounding to 2 places
    /// (TPC-H specification, clause 2.1.3.5).
    Ratio,
    /// Anything else: exact for text and integers, equal after rounding to 2 places for
    /// decimals and floats.
    Value,
}

impl ColumnKind {
    /// How this kind is compared, in words, for mismatch reports.
    pub fn rule(self) -> &'static str {
        match self {
            ColumnKind::Sum => "sum: within 100",
            ColumnKind::Avg => "avg: within 1% after rounding to 2 places",
            ColumnKind::Count => "count: exact",
            ColumnKind::Ratio => "ratio: within 1% after rounding to 2 places",
            ColumnKind::Value => "equal after rounding to 2 places",
        }
    }
}

/// One item of the outermost select list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// The alias, or the column name for a plain (possibly qualified) column, or the expression.
    pub name: String,
    /// The expression, lower-cased with whitespace collapsed.
    pub expr: String,
    /// What it computes.
    pub kind: ColumnKind,
}

/// What the checker needs to know about a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryShape {
    /// The outermost select list, or empty when it could not be read (e.g. `select *`).
    pub columns: Vec<OutputColumn>,
    /// The outermost ORDER BY keys as output column indexes; `None` without ORDER BY;
    /// `Some(Err(key))` when a key does not name an output column.
    pub order_by: Option<std::result::Result<Vec<usize>, String>>,
    /// Whether the outermost query has a LIMIT (ties at the cut may legally differ).
    pub has_limit: bool,
}

impl QueryShape {
    /// Reads the result statement of `query_text` (the last SELECT/WITH statement).
    pub fn of(query_text: &str) -> QueryShape {
        let statements = split_statements(query_text);
        let statement = result_statement(&statements)
            .and_then(|index| statements.get(index))
            .map(|s| normalize(s))
            .unwrap_or_default();
        let columns: Vec<OutputColumn> = select_list(&statement)
            .map(|items| items.iter().map(|item| output_column(item)).collect())
            .unwrap_or_default();
        let order_by = order_by_keys(&statement).map(|keys| {
            keys.iter()
                .map(|key| resolve_order_key(key, &columns).ok_or_else(|| key.clone()))
                .collect()
        });
        let has_limit = find_top_level(&statement, " limit ", 0).is_some();
        QueryShape {
            columns,
            order_by,
            has_limit,
        }
    }
}

/// Lower-cases outside quotes and collapses runs of whitespace into one space.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut pending_space = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            in_string = c != '\'';
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        in_string = c == '\'';
        out.extend(c.to_lowercase());
    }
    out
}

/// The byte offset of the first occurrence of `needle` at parenthesis depth 0 outside quotes,
/// searching from `from`.
fn find_top_level(text: &str, needle: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut index = 0;
    while index < bytes.len() {
        let b = bytes[index];
        if in_string {
            in_string = b != b'\'';
        } else {
            match b {
                b'\'' => in_string = true,
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0
                    && index >= from
                    && bytes[index..].starts_with(needle.as_bytes()) =>
                {
                    return Some(index);
                }
                _ => {}
            }
        }
        index += 1;
    }
    None
}

/// All byte offsets of `separator` at depth 0 outside quotes.
fn split_top_level<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut start = 0;
    while let Some(at) = find_top_level(text, separator, start) {
        parts.push(&text[start..at]);
        start = at + separator.len();
    }
    parts.push(&text[start..]);
    parts
}

/// The items of the outermost select list of a normalized statement.
fn select_list(statement: &str) -> Option<Vec<String>> {
    let padded = format!(" {statement} ");
    let select = find_top_level(&padded, " select ", 0)?;
    let mut start = select + " select ".len();
    if padded[start..].starts_with("distinct ") {
        start += "distinct ".len();
    }
    let end = find_top_level(&padded, " from ", start).unwrap_or(padded.len());
    let list = padded[start..end].trim();
    if list == "*" || list.is_empty() {
        return None;
    }
    Some(
        split_top_level(list, ",")
            .into_iter()
            .map(|item| item.trim().to_string())
            .collect(),
    )
}

fn output_column(item: &str) -> OutputColumn {
    let parts = split_top_level(item, " as ");
    let (expr, name) =
        if let Some((alias, before)) = parts.split_last().filter(|(_, b)| !b.is_empty()) {
            (
                before.join(" as ").trim().to_string(),
                unquote(alias.trim()),
            )
        } else {
            let expr = item.trim().to_string();
            let name = if is_identifier_path(&expr) {
                expr.rsplit('.').next().unwrap_or(&expr).to_string()
            } else {
                expr.clone()
            };
            (expr, name)
        };
    let kind = column_kind(&expr);
    OutputColumn { name, expr, kind }
}

fn unquote(alias: &str) -> String {
    alias
        .trim_matches(|c| c == '"' || c == '`' || c == '\'')
        .to_string()
}

fn is_identifier_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

const AGGREGATES: [&str; 5] = ["sum(", "avg(", "count(", "min(", "max("];

fn has_aggregate(text: &str) -> bool {
    AGGREGATES.iter().any(|agg| {
        text.match_indices(agg).any(|(at, _)| {
            // `sum(` must not be the tail of a longer name such as `checksum(`.
            at == 0
                || !text.as_bytes()[at - 1].is_ascii_alphanumeric()
                    && text.as_bytes()[at - 1] != b'_'
        })
    })
}

fn column_kind(expr: &str) -> ColumnKind {
    let divided = split_top_level(expr, "/");
    if divided.len() > 1 && divided.iter().all(|side| has_aggregate(side)) {
        return ColumnKind::Ratio;
    }
    let compact = expr.replace(' ', "");
    if compact.starts_with("sum(") {
        ColumnKind::Sum
    } else if compact.starts_with("avg(") {
        ColumnKind::Avg
    } else if compact.starts_with("count(") {
        ColumnKind::Count
    } else if has_aggregate(expr) && divided.len() > 1 {
        // A scaled aggregate such as `100.00 * sum(a) / count(b)` reads as a ratio.
        ColumnKind::Ratio
    } else {
        ColumnKind::Value
    }
}

/// The outermost ORDER BY keys, lower-cased, without ASC/DESC/NULLS.
fn order_by_keys(statement: &str) -> Option<Vec<String>> {
    let padded = format!(" {statement} ");
    // The last top-level ORDER BY belongs to the outermost query.
    let mut at = find_top_level(&padded, " order by ", 0)?;
    while let Some(next) = find_top_level(&padded, " order by ", at + 1) {
        at = next;
    }
    let start = at + " order by ".len();
    let end = find_top_level(&padded, " limit ", start).unwrap_or(padded.len());
    let keys = split_top_level(&padded[start..end], ",")
        .into_iter()
        .map(|key| {
            let mut key = key.trim().to_string();
            for suffix in [" nulls first", " nulls last", " asc", " desc"] {
                if let Some(stripped) = key.strip_suffix(suffix) {
                    key = stripped.trim().to_string();
                }
            }
            key
        })
        .filter(|key| !key.is_empty())
        .collect();
    Some(keys)
}

fn resolve_order_key(key: &str, columns: &[OutputColumn]) -> Option<usize> {
    if let Ok(position) = key.parse::<usize>() {
        return (1..=columns.len())
            .contains(&position)
            .then(|| position - 1);
    }
    let bare = if is_identifier_path(key) {
        key.rsplit('.').next().unwrap_or(key)
    } else {
        key
    };
    columns
        .iter()
        .position(|column| column.name == key || column.name == bare)
        .or_else(|| columns.iter().position(|column| column.expr == key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::{queries_dir, query_text};

    fn shape(query: usize) -> QueryShape {
        QueryShape::of(&query_text(query, &queries_dir()).unwrap())
    }

    fn kinds(shape: &QueryShape) -> Vec<(&str, ColumnKind)> {
        shape
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect()
    }

    #[test]
    fn q01_columns_are_sums_avgs_and_a_count() {
        use ColumnKind::*;
        let q1 = shape(1);
        assert_eq!(
            kinds(&q1),
            vec![
                ("l_returnflag", Value),
                ("l_linestatus", Value),
                ("sum_qty", Sum),
                ("sum_base_price", Sum),
                ("sum_disc_price", Sum),
                ("sum_charge", Sum),
                ("avg_qty", Avg),
                ("avg_price", Avg),
                ("avg_disc", Avg),
                ("count_order", Count),
            ]
        );
        assert_eq!(q1.order_by, Some(Ok(vec![0, 1])));
        assert!(!q1.has_limit);
    }

    #[test]
    fn ratios_scaled_sums_and_unaliased_aggregates() {
        assert_eq!(kinds(&shape(8))[1], ("mkt_share", ColumnKind::Ratio));
        assert_eq!(
            kinds(&shape(14)),
            vec![("promo_revenue", ColumnKind::Ratio)]
        );
        assert_eq!(kinds(&shape(17)), vec![("avg_yearly", ColumnKind::Sum)]);
        let q18 = shape(18);
        assert_eq!(q18.columns[5].name, "sum(l_quantity)");
        assert_eq!(q18.columns[5].kind, ColumnKind::Sum);
        assert_eq!(q18.order_by, Some(Ok(vec![4, 3])));
    }

    #[test]
    fn outer_select_of_nested_and_multi_statement_queries() {
        let q13 = shape(13);
        assert_eq!(
            kinds(&q13),
            vec![
                ("c_count", ColumnKind::Value),
                ("custdist", ColumnKind::Count)
            ]
        );
        assert_eq!(q13.order_by, Some(Ok(vec![1, 0])));
        let q15 = shape(15);
        assert_eq!(q15.columns.len(), 5);
        assert_eq!(q15.order_by, Some(Ok(vec![0])));
        let q3 = shape(3);
        assert_eq!(q3.columns[1].kind, ColumnKind::Sum);
        assert_eq!(q3.order_by, Some(Ok(vec![1, 2])));
        assert!(q3.has_limit);
        assert_eq!(shape(6).order_by, None);
    }

    #[test]
    fn every_query_has_readable_columns_and_order_keys() {
        for query in 1..=22 {
            let shape = shape(query);
            assert!(!shape.columns.is_empty(), "q{query}");
            if let Some(order) = &shape.order_by {
                assert!(order.is_ok(), "q{query}: unresolved ORDER BY key {order:?}");
            }
        }
    }

    #[test]
    fn order_keys_by_position_and_unknown_names() {
        let shape = QueryShape::of("select 'é' as ü, sum(x) as s from t order by ü");
        assert_eq!(shape.columns[0].name, "ü");
        assert_eq!(shape.columns[1].kind, ColumnKind::Sum);
        assert_eq!(shape.order_by, Some(Ok(vec![0])));
        let shape = QueryShape::of("select a, sum(b) total from t group by a order by 2 desc, zz");
        assert_eq!(shape.order_by, Some(Err("zz".to_string())));
        let shape = QueryShape::of("select a, b from t order by 2 desc, t.a");
        assert_eq!(shape.order_by, Some(Ok(vec![1, 0])));
    }
}
