//! Every field of the parsed statement is either bound or refused: the binder destructures
//! sqlparser's AST nodes exhaustively, so a field it does not handle is a compile error when
//! sqlparser grows one, never a clause silently dropped. A `..` rest pattern over a sqlparser
//! node would undo that, so this test lists every one in the binder and fails on any that is
//! not on the allow-list below, each with the reason it cannot drop meaning.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// `(file, pattern, why)`: where a rest pattern over a sqlparser node is sound.
const ALLOWED: &[(&str, &str, &str)] = &[
    // Refusals: the node is rejected whatever its other fields hold.
    (
        "call.rs",
        "ast::FunctionArg::Named",
        "named arguments are refused",
    ),
    (
        "call.rs",
        "ast::FunctionArg::ExprNamed",
        "named arguments are refused",
    ),
    (
        "query.rs",
        "ast::LimitClause::OffsetCommaLimit",
        "`LIMIT o, n` is refused",
    ),
    ("relation.rs", "J::AsOf", "ASOF joins are refused"),
    (
        "select.rs",
        "ast::SelectItem::ExprWithAliases",
        "multi-alias items are refused",
    ),
    (
        "expr.rs",
        "E::QualifiedWildcard",
        "`t.*` outside a SELECT list is refused",
    ),
    // Tests of which variant a node is, after its fields were bound by the arm itself.
    (
        "expr.rs",
        "E::ILike",
        "LIKE or ILIKE; the fields are bound in the same arm",
    ),
    (
        "expr.rs",
        "E::IsDistinctFrom",
        "which operator; the operands are bound in the same arm",
    ),
    (
        "operator.rs",
        "ast::Expr::BinaryOp",
        "dispatch on the operator; the chain binders take the operands",
    ),
    (
        "query.rs",
        "ast::Value::Number",
        "an ORDER BY ordinal, read from the whole literal",
    ),
];

/// Whether `path` names a sqlparser type: `ast::...`, `sqlparser::...`, or an alias the file
/// gives one (`use ast::Expr as E;`).
fn is_sqlparser_path(path: &str, aliases: &[String]) -> bool {
    path.starts_with("ast::")
        || path.starts_with("sqlparser::")
        || aliases.iter().any(|a| path.starts_with(&format!("{a}::")))
}

/// The local names a file gives sqlparser types (`use ast::JoinOperator as J;`).
fn sqlparser_aliases(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("use ast::")
                .or_else(|| line.strip_prefix("use sqlparser::ast::"))?;
            let (_, alias) = rest.trim_end_matches(';').split_once(" as ")?;
            Some(alias.trim().to_string())
        })
        .collect()
}

/// The path named before the `{` or `(` that a rest pattern at `rest` closes.
fn pattern_path(source: &str, rest: usize) -> String {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut i = rest;
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b'}' | b')' => depth += 1,
            b'{' | b'(' if depth > 0 => depth -= 1,
            b'{' | b'(' => break,
            _ => {}
        }
    }
    let before = source[..i].trim_end();
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |p| p + 1);
    before[start..].to_string()
}

/// Every `..}` or `..)` rest pattern in `source` (outside comments), as the line and the path
/// of the pattern it is in.
fn rest_patterns(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in source.match_indices("..") {
        let line_start = source[..at].rfind('\n').map_or(0, |p| p + 1);
        if source[line_start..at].contains("//") {
            continue;
        }
        let before = source[..at].chars().next_back();
        let after = source[at + 2..].trim_start().chars().next();
        let is_rest = matches!(after, Some('}') | Some(')') | Some(','))
            && matches!(before, Some(' ') | Some('\n') | Some('(') | Some(','));
        if is_rest {
            let line = source[..at].matches('\n').count() + 1;
            found.push((line, pattern_path(source, at)));
        }
    }
    found
}

#[test]
fn the_binder_destructures_the_ast_exhaustively() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/binder");
    let mut unexpected = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in fs::read_dir(&dir).expect("src/binder") {
        let path = entry.expect("a directory entry").path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        // naming.rs only spells column names from the text; it binds nothing.
        if path.extension().is_none_or(|e| e != "rs") || file == "naming.rs" {
            continue;
        }
        let source = fs::read_to_string(&path).expect("a binder source file");
        let aliases = sqlparser_aliases(&source);
        for (line, pattern) in rest_patterns(&source) {
            if !is_sqlparser_path(&pattern, &aliases) {
                continue;
            }
            match ALLOWED.iter().find(|(f, p, _)| *f == file && *p == pattern) {
                Some((f, p, _)) => {
                    seen.insert((*f, *p));
                }
                None => unexpected.push(format!("{file}:{line}: `{pattern} {{ .. }}`")),
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "rest patterns over sqlparser nodes can drop a clause silently; destructure every \
         field (bind it or refuse it), or add the pattern to ALLOWED with the reason:\n{}",
        unexpected.join("\n")
    );
    let stale: Vec<_> = ALLOWED
        .iter()
        .filter(|(f, p, _)| !seen.contains(&(*f, *p)))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED lists patterns no longer in the binder: {stale:?}"
    );
}

#[test]
fn the_scanner_finds_rest_patterns_over_sqlparser_nodes() {
    let source = "use ast::Expr as E;\nmatch e {\n    ast::Expr::Like {\n        expr,\n        ..\n    } => 1,\n    E::Foo(a, ..) => 2,\n    x if (0..n).contains(&x) => 3,\n    // a comment about E::Bar { .. }\n}";
    let found: Vec<String> = rest_patterns(source).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        found,
        vec!["ast::Expr::Like".to_string(), "E::Foo".to_string()]
    );
    let aliases = sqlparser_aliases(source);
    assert_eq!(aliases, vec!["E".to_string()]);
    assert!(found.iter().all(|p| is_sqlparser_path(p, &aliases)));
    assert!(!is_sqlparser_path("DataType::Decimal128", &aliases));
}
