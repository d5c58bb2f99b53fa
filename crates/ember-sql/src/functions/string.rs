//! String functions with Spark's semantics: substring, concat, replace, split, regexp_*, locate.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Builder, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field, Int32Type};
use datafusion_common::{exec_err, plan_err, Result};
use regex::Regex;

use super::{is_integer, SparkUdf};

/// The string functions Ember defines itself.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "substr",
            (2, 3),
            |t| coerce(t, &[Str, Int, Int]),
            |_| Ok(DataType::Utf8),
            substr,
        ),
        SparkUdf::new(
            "concat",
            (0, usize::MAX),
            super::array::coerce_concat,
            |t| match t.first() {
                Some(list @ DataType::List(_)) => Ok(list.clone()),
                _ => Ok(DataType::Utf8),
            },
            concat,
        ),
        SparkUdf::new(
            "replace",
            (2, 3),
            |t| coerce(t, &[Str, Str, Str]),
            |_| Ok(DataType::Utf8),
            replace,
        ),
        SparkUdf::new(
            "split",
            (2, 3),
            |t| coerce(t, &[Str, Str, Int]),
            |_| Ok(string_list_type()),
            split,
        ),
        SparkUdf::new(
            "regexp_replace",
            (3, 4),
            |t| coerce(t, &[Str, Str, Str, Int]),
            |_| Ok(DataType::Utf8),
            regexp_replace,
        ),
        SparkUdf::new(
            "regexp_extract",
            (2, 3),
            |t| coerce(t, &[Str, Str, Int]),
            |_| Ok(DataType::Utf8),
            regexp_extract,
        ),
        SparkUdf::new(
            "locate",
            (2, 3),
            |t| coerce(t, &[Str, Str, Int]),
            |_| Ok(DataType::Int32),
            locate,
        ),
    ]
}

/// Spark's `array<string>`.
pub fn string_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// What an argument position accepts.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
}
use Kind::{Int, Str};

fn coerce(types: &[DataType], kinds: &[Kind]) -> Result<Vec<DataType>> {
    types
        .iter()
        .zip(kinds)
        .map(|(t, k)| match k {
            Str => match t {
                DataType::List(_) | DataType::Struct(_) | DataType::Map(_, _) => {
                    plan_err!("expects a string, not {t}")
                }
                _ => Ok(DataType::Utf8),
            },
            Int if is_integer(t) || super::is_string(t) => Ok(DataType::Int32),
            Int => plan_err!("expects an integer, not {t}"),
        })
        .collect()
}

/// `substring(str, pos[, len])`: 1-based; a negative `pos` counts from the end; 0 acts as 1.
fn substr(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let s = args[0].as_string::<i32>();
    let pos = args[1].as_primitive::<Int32Type>();
    let len = args.get(2).map(|a| a.as_primitive::<Int32Type>());
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        if s.is_null(i) || pos.is_null(i) || len.is_some_and(|l| l.is_null(i)) {
            out.append_null();
            continue;
        }
        let l = len.map_or(i64::MAX, |l| i64::from(l.value(i)));
        out.append_value(spark_substring(s.value(i), i64::from(pos.value(i)), l));
    }
    Ok(Arc::new(out.finish()))
}

/// Spark's `UTF8String.substringSQL`, in characters.
pub fn spark_substring(v: &str, pos: i64, len: i64) -> &str {
    let n = v.chars().count() as i64;
    let start = match pos {
        p if p > 0 => p - 1,
        p if p < 0 => n + p,
        _ => 0,
    };
    let end = start.saturating_add(len).min(n);
    let start = start.max(0);
    if start >= end {
        return "";
    }
    let byte = |c: i64| v.char_indices().nth(c as usize).map_or(v.len(), |(b, _)| b);
    &v[byte(start)..byte(end)]
}

/// `concat(a, b, ...)`: NULL when any argument is NULL.
/// `concat(a, b, ...)`: strings, or arrays one after another (`concat(array(1), array(2))`);
/// NULL when any argument is NULL.
fn concat(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if matches!(args.first().map(|a| a.data_type()), Some(DataType::List(_))) {
        return super::array::concat_arrays(udf, args, rows);
    }
    let strings: Vec<_> = args.iter().map(|a| a.as_string::<i32>()).collect();
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    let mut buf = String::new();
    for i in 0..rows {
        if strings.iter().any(|s| s.is_null(i)) {
            out.append_null();
            continue;
        }
        buf.clear();
        for s in &strings {
            buf.push_str(s.value(i));
        }
        out.append_value(&buf);
    }
    Ok(Arc::new(out.finish()))
}

/// `replace(str, search[, replacement])`: every occurrence; an empty `search` changes nothing.
fn replace(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let s = args[0].as_string::<i32>();
    let search = args[1].as_string::<i32>();
    let with = args.get(2).map(|a| a.as_string::<i32>());
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        if s.is_null(i) || search.is_null(i) || with.is_some_and(|w| w.is_null(i)) {
            out.append_null();
        } else if search.value(i).is_empty() {
            out.append_value(s.value(i));
        } else {
            let w = with.map_or("", |w| w.value(i));
            out.append_value(s.value(i).replace(search.value(i), w));
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Compiles regular expressions, reusing the last one (patterns are almost always literals).
struct RegexCache {
    function: &'static str,
    last: Option<(String, Regex)>,
}

impl RegexCache {
    fn new(function: &'static str) -> Self {
        RegexCache {
            function,
            last: None,
        }
    }

    fn get(&mut self, pattern: &str) -> Result<&Regex> {
        let stale = self.last.as_ref().is_none_or(|(p, _)| p != pattern);
        if stale {
            let compiled = match Regex::new(pattern) {
                Ok(r) => r,
                Err(e) => {
                    let e = e.to_string().lines().last().unwrap_or_default().to_string();
                    return exec_err!(
                        "[INVALID_PARAMETER_VALUE.PATTERN] The value of parameter `regexp` in `{}` is invalid: '{pattern}': {e}",
                        self.function
                    );
                }
            };
            self.last = Some((pattern.to_string(), compiled));
        }
        match &self.last {
            Some((_, r)) => Ok(r),
            None => exec_err!("regex cache is empty"),
        }
    }
}

/// `split(str, regex[, limit])`: `array<string>`; `limit > 0` keeps at most `limit` parts.
fn split(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let s = args[0].as_string::<i32>();
    let pattern = args[1].as_string::<i32>();
    let limit = args.get(2).map(|a| a.as_primitive::<Int32Type>());
    let mut cache = RegexCache::new("split");
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..rows {
        if s.is_null(i) || pattern.is_null(i) || limit.is_some_and(|l| l.is_null(i)) {
            out.append_null();
            continue;
        }
        let v = s.value(i);
        let limit = limit.map_or(-1, |l| l.value(i));
        if pattern.value(i).is_empty() {
            // Spark splits into characters (no empty trailing part).
            if v.is_empty() {
                out.values().append_value("");
            } else {
                let chars: Vec<&str> = v
                    .char_indices()
                    .map(|(b, c)| &v[b..b + c.len_utf8()])
                    .collect();
                let keep = if limit > 0 {
                    limit as usize
                } else {
                    chars.len()
                };
                for (k, c) in chars.iter().enumerate().take(keep) {
                    if k + 1 == keep && keep < chars.len() {
                        let b = v.len() - chars[k..].iter().map(|c| c.len()).sum::<usize>();
                        out.values().append_value(&v[b..]);
                    } else {
                        out.values().append_value(c);
                    }
                }
            }
            out.append(true);
            continue;
        }
        let re = cache.get(pattern.value(i))?;
        if limit > 0 {
            for part in re.splitn(v, limit as usize) {
                out.values().append_value(part);
            }
        } else {
            for part in re.split(v) {
                out.values().append_value(part);
            }
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

/// Java's replacement syntax (`$1`, `\$`) in the `regex` crate's (`${1}`, `$$`).
pub fn java_replacement(rep: &str) -> String {
    let mut out = String::with_capacity(rep.len() + 4);
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `regexp_replace(str, regex, rep[, pos])`: every match from `pos` (1-based) on.
fn regexp_replace(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let s = args[0].as_string::<i32>();
    let pattern = args[1].as_string::<i32>();
    let rep = args[2].as_string::<i32>();
    let pos = args.get(3).map(|a| a.as_primitive::<Int32Type>());
    let mut cache = RegexCache::new("regexp_replace");
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        if s.is_null(i) || pattern.is_null(i) || rep.is_null(i) || pos.is_some_and(|p| p.is_null(i))
        {
            out.append_null();
            continue;
        }
        let p = pos.map_or(1, |p| p.value(i));
        if p < 1 {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.REGEX_POSITION] The value of parameter `position` in `regexp_replace` is invalid: expects a positive position, got {p}"
            );
        }
        let v = s.value(i);
        let skip = v
            .char_indices()
            .nth(p as usize - 1)
            .map_or(v.len(), |(b, _)| b);
        let re = cache.get(pattern.value(i))?;
        let replaced = re.replace_all(&v[skip..], java_replacement(rep.value(i)).as_str());
        out.append_value(format!("{}{}", &v[..skip], replaced));
    }
    Ok(Arc::new(out.finish()))
}

/// `regexp_extract(str, regex[, idx])`: group `idx` (default 1) of the first match, '' if none.
fn regexp_extract(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let s = args[0].as_string::<i32>();
    let pattern = args[1].as_string::<i32>();
    let idx = args.get(2).map(|a| a.as_primitive::<Int32Type>());
    let mut cache = RegexCache::new("regexp_extract");
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        if s.is_null(i) || pattern.is_null(i) || idx.is_some_and(|x| x.is_null(i)) {
            out.append_null();
            continue;
        }
        let re = cache.get(pattern.value(i))?;
        let group = idx.map_or(1, |x| x.value(i));
        let groups = re.captures_len() - 1;
        if group < 0 || group as usize > groups {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.REGEX_GROUP_INDEX] The value of parameter `idx` in `regexp_extract` is invalid: expects group index between 0 and {groups}, but got {group}"
            );
        }
        let found = re
            .captures(s.value(i))
            .and_then(|c| c.get(group as usize))
            .map_or("", |m| m.as_str());
        out.append_value(found);
    }
    Ok(Arc::new(out.finish()))
}

/// `locate(substr, str[, pos])`: 1-based position of `substr` at or after `pos`, 0 if absent
/// (and 0 when `pos` is NULL or below 1, as Spark).
fn locate(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let needle = args[0].as_string::<i32>();
    let hay = args[1].as_string::<i32>();
    let pos = args.get(2).map(|a| a.as_primitive::<Int32Type>());
    let mut out = Int32Builder::with_capacity(rows);
    for i in 0..rows {
        if pos.is_some_and(|p| p.is_null(i)) {
            out.append_value(0);
            continue;
        }
        if needle.is_null(i) || hay.is_null(i) {
            out.append_null();
            continue;
        }
        let start = pos.map_or(1, |p| p.value(i));
        if start < 1 {
            out.append_value(0);
            continue;
        }
        let (n, h) = (needle.value(i), hay.value(i));
        if n.is_empty() {
            out.append_value(1);
            continue;
        }
        let skip = h.char_indices().nth(start as usize - 1).map(|(b, _)| b);
        let found = skip
            .and_then(|b| {
                h[b..]
                    .find(n)
                    .map(|f| h[..b + f].chars().count() as i32 + 1)
            })
            .unwrap_or(0);
        out.append_value(found);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, ListArray, StringArray};

    fn strings(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn ints(v: &[Option<i32>]) -> ArrayRef {
        Arc::new(Int32Array::from(v.to_vec()))
    }

    fn udf(name: &str) -> SparkUdf {
        functions().into_iter().find(|f| f.name == name).unwrap()
    }

    fn run(name: &str, args: &[ArrayRef]) -> ArrayRef {
        let f = udf(name);
        (f.kernel)(&f, args, args[0].len()).unwrap()
    }

    fn texts(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn substring_follows_spark_positions() {
        assert_eq!(spark_substring("Spark SQL", 5, i64::MAX), "k SQL");
        assert_eq!(spark_substring("Spark SQL", -3, i64::MAX), "SQL");
        assert_eq!(spark_substring("Spark SQL", 5, 1), "k");
        assert_eq!(spark_substring("Spark SQL", 0, 2), "Sp");
        assert_eq!(spark_substring("Spark SQL", 1, 2), "Sp");
        assert_eq!(spark_substring("abc", -5, 3), "a");
        assert_eq!(spark_substring("abc", 2, -1), "");
        assert_eq!(spark_substring("héllo", 2, 3), "éll");
        let out = run(
            "substr",
            &[strings(&[Some("abc"), None]), ints(&[Some(2), Some(1)])],
        );
        assert_eq!(texts(&out), vec![Some("bc".into()), None]);
    }

    #[test]
    fn concat_is_null_when_any_argument_is() {
        let out = run(
            "concat",
            &[
                strings(&[Some("a"), Some("a")]),
                strings(&[Some("b"), None]),
            ],
        );
        assert_eq!(texts(&out), vec![Some("ab".into()), None]);
    }

    #[test]
    fn replace_with_empty_search_keeps_the_string() {
        let out = run(
            "replace",
            &[
                strings(&[Some("abcabc"), Some("abc")]),
                strings(&[Some("b"), Some("")]),
            ],
        );
        assert_eq!(texts(&out), vec![Some("acac".into()), Some("abc".into())]);
    }

    #[test]
    fn split_keeps_empty_parts_and_honours_limit() {
        let out = run(
            "split",
            &[strings(&[Some("a,b,,c,")]), strings(&[Some(",")])],
        );
        let list = out.as_any().downcast_ref::<ListArray>().unwrap();
        let parts = list.value(0);
        assert_eq!(
            texts(&parts),
            vec![
                Some("a".into()),
                Some("b".into()),
                Some("".into()),
                Some("c".into()),
                Some("".into())
            ]
        );
        let out = run(
            "split",
            &[
                strings(&[Some("a1b22c")]),
                strings(&[Some("[0-9]+")]),
                ints(&[Some(2)]),
            ],
        );
        let list = out.as_any().downcast_ref::<ListArray>().unwrap();
        assert_eq!(
            texts(&list.value(0)),
            vec![Some("a".into()), Some("b22c".into())]
        );
    }

    #[test]
    fn regexp_functions_use_java_conventions() {
        assert_eq!(java_replacement("$1-$2"), "${1}-${2}");
        assert_eq!(java_replacement("\\$x"), "$$x");
        let out = run(
            "regexp_replace",
            &[
                strings(&[Some("100-200")]),
                strings(&[Some("(\\d+)")]),
                strings(&[Some("<$1>")]),
            ],
        );
        assert_eq!(texts(&out), vec![Some("<100>-<200>".into())]);
        let out = run(
            "regexp_extract",
            &[
                strings(&[Some("100-200"), Some("foo")]),
                strings(&[Some("(\\d+)-(\\d+)"), Some("(\\d+)")]),
                ints(&[Some(2), Some(1)]),
            ],
        );
        assert_eq!(texts(&out), vec![Some("200".into()), Some("".into())]);
        let f = udf("regexp_extract");
        let bad = (f.kernel)(
            &f,
            &[
                strings(&[Some("a")]),
                strings(&[Some("(a)")]),
                ints(&[Some(2)]),
            ],
            1,
        );
        assert!(bad.unwrap_err().to_string().contains("between 0 and 1"));
    }

    #[test]
    fn locate_counts_characters_from_pos() {
        let out = run(
            "locate",
            &[
                strings(&[Some("bar"), Some("bar"), Some("bar"), Some("x")]),
                strings(&[
                    Some("foobarbar"),
                    Some("foobarbar"),
                    Some("foobarbar"),
                    None,
                ]),
                ints(&[Some(1), Some(5), Some(0), Some(1)]),
            ],
        );
        let got: Vec<Option<i32>> = out.as_primitive::<Int32Type>().iter().collect();
        assert_eq!(got, vec![Some(4), Some(7), Some(0), None]);
    }
}
