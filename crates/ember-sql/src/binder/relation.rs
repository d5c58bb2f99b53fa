//! Binding the FROM clause: tables, views, CTEs, files queried directly, subqueries and joins.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion_common::{Column, DFSchema, ExprSchema, TableReference};
use datafusion_expr::utils::split_conjunction_owned;
use datafusion_expr::{BinaryExpr, Expr, JoinType, LogicalPlan, LogicalPlanBuilder, Operator};
use ember_common::{EmberError, Result};
use ember_datasource::{FileFormat, FileTable};
use sqlparser::ast;

use super::Binder;
use crate::catalog::{closest_names, CatalogEntry};
use crate::error::error_at;
use ember_datasource::FileTableSource;

impl Binder<'_> {
    /// `FROM a, b, c` is a chain of cross joins; the optimizer turns WHERE conjuncts into keys.
    pub(crate) fn bind_from(&mut self, from: &[ast::TableWithJoins]) -> Result<LogicalPlan> {
        let mut plan: Option<LogicalPlan> = None;
        for table in from {
            let right = self.bind_table_with_joins(table)?;
            plan = Some(match plan {
                None => right,
                Some(left) => LogicalPlanBuilder::from(left).cross_join(right)?.build()?,
            });
        }
        match plan {
            Some(p) => Ok(p),
            None => Ok(LogicalPlanBuilder::empty(true).build()?),
        }
    }

    fn bind_table_with_joins(&mut self, table: &ast::TableWithJoins) -> Result<LogicalPlan> {
        let mut left = self.bind_table_factor(&table.relation)?;
        for join in &table.joins {
            let right = self.bind_table_factor(&join.relation)?;
            left = self.bind_join(left, right, &join.join_operator)?;
        }
        Ok(left)
    }

    fn bind_table_factor(&mut self, factor: &ast::TableFactor) -> Result<LogicalPlan> {
        match factor {
            ast::TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => {
                let plan = self.bind_table_name(name)?;
                apply_alias(plan, alias.as_ref(), None)
            }
            ast::TableFactor::Derived {
                subquery,
                alias,
                lateral: false,
                ..
            } => {
                let plan = self.bind_query(subquery)?;
                apply_alias(plan, alias.as_ref(), Some("__subquery"))
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let plan = self.bind_table_with_joins(table_with_joins)?;
                apply_alias(plan, alias.as_ref(), None)
            }
            other => Err(EmberError::NotSupported(format!("the FROM item '{other}'"))),
        }
    }

    fn bind_table_name(&mut self, name: &ast::ObjectName) -> Result<LogicalPlan> {
        let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
        // parquet.`/path/to/files` and csv.`/path` query files directly, as in Spark.
        if let [format, path] = parts.as_slice() {
            if path.quote_style == Some('`') {
                if let Ok(format) = FileFormat::from_name(&format.value) {
                    let table =
                        FileTable::open(&path.value, format, &BTreeMap::new(), None, self.conf)?;
                    return scan(
                        &format!("{}.`{}`", format_name(format), path.value),
                        Arc::new(table),
                    );
                }
            }
        }
        let Some(last) = parts.last() else {
            return Err(error_at(name, "empty table name"));
        };
        let table_name = last.value.clone();
        if parts.len() == 1 {
            for scope in self.ctes.iter().rev() {
                if let Some(plan) = scope.get(&table_name.to_lowercase()) {
                    return Ok(LogicalPlanBuilder::from(plan.clone())
                        .alias(table_name.as_str())?
                        .build()?);
                }
            }
        }
        if parts.len() == 1 {
            if let Some(source) = self.catalog.cached(&table_name) {
                return Ok(LogicalPlanBuilder::scan(
                    TableReference::bare(table_name.as_str()),
                    source,
                    None,
                )?
                .build()?);
            }
        }
        match self.catalog.lookup(&table_name) {
            Some(CatalogEntry::Table(table)) => scan(&table_name, table),
            Some(CatalogEntry::View(plan)) => Ok(LogicalPlanBuilder::from((*plan).clone())
                .alias(table_name.as_str())?
                .build()?),
            None => {
                let mut names = self.catalog.names();
                for scope in &self.ctes {
                    names.extend(scope.keys().cloned());
                }
                let suggestions = closest_names(&table_name, names.iter().map(String::as_str));
                let hint = if suggestions.is_empty() {
                    " Create it with CREATE TABLE ... USING parquet LOCATION '...', or query a file directly with parquet.`/path`.".to_string()
                } else {
                    format!(" Did you mean {}?", suggestions.join(", "))
                };
                Err(error_at(
                    name,
                    format!("Table or view '{name}' cannot be found.{hint}"),
                ))
            }
        }
    }

    fn bind_join(
        &mut self,
        left: LogicalPlan,
        right: LogicalPlan,
        operator: &ast::JoinOperator,
    ) -> Result<LogicalPlan> {
        use ast::JoinOperator as J;
        let (join_type, constraint) = match operator {
            J::Join(c) | J::Inner(c) => (JoinType::Inner, c),
            J::CrossJoin(c) => (JoinType::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinType::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinType::Right, c),
            J::FullOuter(c) => (JoinType::Full, c),
            J::Semi(c) | J::LeftSemi(c) => (JoinType::LeftSemi, c),
            J::Anti(c) | J::LeftAnti(c) => (JoinType::LeftAnti, c),
            other => return Err(EmberError::NotSupported(format!("the join '{other:?}'"))),
        };
        match constraint {
            ast::JoinConstraint::None => {
                if join_type != JoinType::Inner {
                    return Err(EmberError::analysis(format!(
                        "{join_type} JOIN needs an ON condition"
                    )));
                }
                Ok(LogicalPlanBuilder::from(left).cross_join(right)?.build()?)
            }
            ast::JoinConstraint::On(condition) => {
                let combined = left.schema().join(right.schema())?;
                let bound = self.bind_expr(condition, &combined)?;
                let condition_type = datafusion_expr::ExprSchemable::get_type(&bound, &combined)?;
                if !matches!(
                    condition_type,
                    arrow::datatypes::DataType::Boolean | arrow::datatypes::DataType::Null
                ) {
                    return Err(crate::error::error_at(
                        condition,
                        format!(
                            "A join condition must be boolean, but '{condition}' is {}; compare it, e.g. {condition} = ...",
                            crate::types::spark_type_name(&condition_type)
                        ),
                    ));
                }
                let bound =
                    super::expr::cast_to(bound, &arrow::datatypes::DataType::Boolean, &combined)?;
                let (keys, filter) = split_join_condition(bound, left.schema(), right.schema());
                let (left_keys, right_keys): (Vec<Expr>, Vec<Expr>) = keys.into_iter().unzip();
                Ok(LogicalPlanBuilder::from(left)
                    .join_with_expr_keys(right, join_type, (left_keys, right_keys), filter)?
                    .build()?)
            }
            ast::JoinConstraint::Using(names) => {
                let names: Vec<String> = names
                    .iter()
                    .filter_map(|n| {
                        n.0.last()
                            .and_then(|p| p.as_ident())
                            .map(|i| i.value.clone())
                    })
                    .collect();
                join_using(left, right, join_type, &names)
            }
            ast::JoinConstraint::Natural => {
                let right_names: Vec<String> = right
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().to_lowercase())
                    .collect();
                let mut common: Vec<String> = Vec::new();
                for f in left.schema().fields() {
                    let lower = f.name().to_lowercase();
                    if right_names.contains(&lower)
                        && !common.iter().any(|c| c.to_lowercase() == lower)
                    {
                        common.push(f.name().clone());
                    }
                }
                if common.is_empty() {
                    return Ok(LogicalPlanBuilder::from(left).cross_join(right)?.build()?);
                }
                join_using(left, right, join_type, &common)
            }
        }
    }
}

/// `JOIN ... USING (c, ...)`, as Spark outputs it: each USING column once (the left one, the
/// right one for a RIGHT join, their coalesce for a FULL join), then the other left columns,
/// then the other right columns.
fn join_using(
    left: LogicalPlan,
    right: LogicalPlan,
    join_type: JoinType,
    names: &[String],
) -> Result<LogicalPlan> {
    let find = |plan: &LogicalPlan, name: &str, side: &str| -> Result<Column> {
        let matches: Vec<Column> = plan
            .schema()
            .iter()
            .filter(|(_, f)| f.name().eq_ignore_ascii_case(name))
            .map(|(q, f)| Column::new(q.cloned(), f.name()))
            .collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().unwrap_or_else(|| unreachable!())),
            0 => Err(EmberError::analysis(format!(
                "USING column '{name}' cannot be resolved on the {side} side of the join"
            ))),
            _ => Err(EmberError::analysis(format!(
                "USING column '{name}' is ambiguous on the {side} side of the join"
            ))),
        }
    };
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    let mut using = Vec::new();
    for name in names {
        let l = find(&left, name, "left")?;
        let r = find(&right, name, "right")?;
        let lt = left.schema().field_from_column(&l)?.data_type().clone();
        let rt = right.schema().field_from_column(&r)?.data_type().clone();
        let common = datafusion_expr::type_coercion::binary::comparison_coercion(&lt, &rt)
            .ok_or_else(|| {
                EmberError::analysis(format!(
                    "USING column '{name}' has incompatible types {lt} and {rt}"
                ))
            })?;
        left_keys.push(super::expr::cast_to(
            Expr::Column(l.clone()),
            &common,
            left.schema(),
        )?);
        right_keys.push(super::expr::cast_to(
            Expr::Column(r.clone()),
            &common,
            right.schema(),
        )?);
        using.push((name.clone(), l, r, common));
    }
    let left_columns = left.schema().columns();
    let right_columns = right.schema().columns();
    let joined = LogicalPlanBuilder::from(left)
        .join_with_expr_keys(right, join_type, (left_keys, right_keys), None)?
        .build()?;
    let mut exprs = Vec::new();
    for (name, l, r, common) in &using {
        exprs.push(match join_type {
            JoinType::Right => Expr::Column(r.clone()),
            JoinType::Full => {
                // coalesce(l, r), written as the CASE it means.
                let l = super::expr::cast_to(Expr::Column(l.clone()), common, joined.schema())?;
                let r = super::expr::cast_to(Expr::Column(r.clone()), common, joined.schema())?;
                Expr::Case(datafusion_expr::expr::Case::new(
                    None,
                    vec![(Box::new(l.clone().is_not_null()), Box::new(l))],
                    Some(Box::new(r)),
                ))
                .alias(name.as_str())
            }
            _ => Expr::Column(l.clone()),
        });
    }
    let is_using =
        |c: &Column, pick: fn(&(String, Column, Column, arrow::datatypes::DataType)) -> &Column| {
            using.iter().any(|u| pick(u) == c)
        };
    exprs.extend(
        left_columns
            .into_iter()
            .filter(|c| !is_using(c, |u| &u.1))
            .map(Expr::Column),
    );
    if !matches!(join_type, JoinType::LeftSemi | JoinType::LeftAnti) {
        exprs.extend(
            right_columns
                .into_iter()
                .filter(|c| !is_using(c, |u| &u.2))
                .map(Expr::Column),
        );
    }
    Ok(LogicalPlanBuilder::from(joined).project(exprs)?.build()?)
}

fn format_name(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Parquet => "parquet",
        FileFormat::Csv => "csv",
    }
}

fn scan(name: &str, table: Arc<FileTable>) -> Result<LogicalPlan> {
    let source = Arc::new(FileTableSource { table });
    Ok(LogicalPlanBuilder::scan(TableReference::bare(name), source, None)?.build()?)
}

/// `FROM x AS t` requalifies every column with `t`; `AS t(a, b)` also renames them.
fn apply_alias(
    plan: LogicalPlan,
    alias: Option<&ast::TableAlias>,
    default_name: Option<&str>,
) -> Result<LogicalPlan> {
    let Some(alias) = alias else {
        return match default_name {
            Some(name) => Ok(LogicalPlanBuilder::from(plan).alias(name)?.build()?),
            None => Ok(plan),
        };
    };
    let mut plan = plan;
    if !alias.columns.is_empty() {
        let fields = plan.schema().columns();
        if alias.columns.len() != fields.len() {
            return Err(crate::error::error_at_ident(
                &alias.name,
                format!(
                    "alias {} names {} columns but the relation has {}",
                    alias.name,
                    alias.columns.len(),
                    fields.len()
                ),
            ));
        }
        let exprs: Vec<Expr> = fields
            .into_iter()
            .zip(&alias.columns)
            .map(|(c, a)| Expr::Column(c).alias(a.name.value.as_str()))
            .collect();
        plan = LogicalPlanBuilder::from(plan).project(exprs)?.build()?;
    }
    Ok(LogicalPlanBuilder::from(plan)
        .alias(alias.name.value.as_str())?
        .build()?)
}

/// Splits a join condition into equi-join key pairs (left expr, right expr) and a residual filter.
pub(crate) fn split_join_condition(
    condition: Expr,
    left: &DFSchema,
    right: &DFSchema,
) -> (Vec<(Expr, Expr)>, Option<Expr>) {
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for conjunct in split_conjunction_owned(condition) {
        if let Expr::BinaryExpr(BinaryExpr {
            left: l,
            op: Operator::Eq,
            right: r,
        }) = &conjunct
        {
            if only_uses(l, left) && only_uses(r, right) {
                keys.push(((**l).clone(), (**r).clone()));
                continue;
            }
            if only_uses(l, right) && only_uses(r, left) {
                keys.push(((**r).clone(), (**l).clone()));
                continue;
            }
        }
        rest.push(conjunct);
    }
    (keys, datafusion_expr::utils::conjunction(rest))
}

fn only_uses(expr: &Expr, schema: &DFSchema) -> bool {
    let columns: HashSet<&Column> = expr.column_refs();
    !columns.is_empty() && columns.iter().all(|c| schema.has_column(c))
}
