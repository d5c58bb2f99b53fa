//! Binding the FROM clause: tables, views, CTEs, files queried directly, subqueries and joins.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion_common::{Column, DFSchema, ExprSchema, TableReference};
use datafusion_expr::utils::split_conjunction_owned;
use datafusion_expr::{BinaryExpr, Expr, JoinType, LogicalPlan, LogicalPlanBuilder, Operator};
use ember_common::{EmberError, Result};
use ember_datasource::{FileFormat, FileTable};
use sqlparser::ast;

use super::typing::ExprType;
use super::Binder;
use crate::catalog::{closest_names, CatalogEntry};
use crate::error::{error_at, not_supported_at};
use ember_datasource::FileTableSource;

/// A bound FROM item: its plan and the columns `*` shows, in `*`'s order. After
/// `JOIN ... USING (k)` (or NATURAL JOIN) the plan keeps both sides' `k`, but `*` shows the
/// merged `k` once, first; the other `k` stays reachable by its qualifier (`SELECT nt2.k`,
/// `nt2.*`), as Spark's hidden join columns are.
pub(crate) struct Relation {
    pub plan: LogicalPlan,
    pub visible: Vec<Column>,
    /// Columns DataFusion renamed because their names repeat (`x`, `x:1`), with the name the
    /// query gave them: `*` shows that name and a reference to it is ambiguous, as in Spark.
    pub renamed: Vec<(Column, String)>,
}

impl Relation {
    fn all_visible(plan: LogicalPlan) -> Self {
        let visible = plan.schema().columns();
        Relation {
            plan,
            visible,
            renamed: Vec::new(),
        }
    }

    /// This relation side by side with `right` (a join of the two): `visible` the columns
    /// `*` shows of the join.
    fn beside(self, right: Relation, plan: LogicalPlan, visible: Vec<Column>) -> Relation {
        let mut renamed = self.renamed;
        renamed.extend(right.renamed);
        Relation {
            plan,
            visible,
            renamed,
        }
    }

    /// The plan's columns that `*` does not show.
    pub fn hidden(&self) -> Vec<Column> {
        self.plan
            .schema()
            .columns()
            .into_iter()
            .filter(|c| !self.visible.contains(c))
            .collect()
    }

    /// The plan narrowed to its visible columns, for a FROM item that gets an alias.
    fn into_visible_plan(self) -> Result<LogicalPlan> {
        if self.visible.len() == self.plan.schema().fields().len() {
            return Ok(self.plan);
        }
        let exprs: Vec<Expr> = self.visible.into_iter().map(Expr::Column).collect();
        Ok(LogicalPlanBuilder::from(self.plan)
            .project(exprs)?
            .build()?)
    }
}

impl Binder<'_> {
    /// `FROM a, b, c` is a chain of cross joins; the optimizer turns WHERE conjuncts into keys.
    pub(crate) fn bind_from(&mut self, from: &[ast::TableWithJoins]) -> Result<Relation> {
        let mut relation: Option<Relation> = None;
        for table in from {
            if let (Some(left), true) = (relation.as_ref(), is_lateral(&table.relation)) {
                let _ = left;
                let left = relation.take().expect("checked above");
                let lateral = self.bind_lateral(left, &table.relation, None)?;
                relation = Some(self.bind_joins(lateral, &table.joins)?);
                continue;
            }
            let right = self.bind_table_with_joins(table)?;
            relation = Some(match relation {
                None => right,
                Some(left) => {
                    let mut visible = left.visible.clone();
                    visible.extend(right.visible.iter().cloned());
                    let plan = LogicalPlanBuilder::from(left.plan.clone())
                        .cross_join(right.plan.clone())?
                        .build()?;
                    left.beside(right, plan, visible)
                }
            });
        }
        match relation {
            Some(r) => Ok(r),
            None => Ok(Relation::all_visible(
                LogicalPlanBuilder::empty(true).build()?,
            )),
        }
    }

    fn bind_table_with_joins(&mut self, table: &ast::TableWithJoins) -> Result<Relation> {
        let ast::TableWithJoins { relation, joins } = table;
        let left = self.bind_table_factor(relation)?;
        self.bind_joins(left, joins)
    }

    /// `range(end)`, `range(start, end[, step[, partitions]])`: a BIGINT column `id` (Spark's
    /// `Range`), the numbers made by `RangeExec` in `partitions` slices (by default the
    /// session's default parallelism).
    fn bind_range(
        &mut self,
        args: &ast::TableFunctionArgs,
        factor: &ast::TableFactor,
    ) -> Result<LogicalPlan> {
        let ast::TableFunctionArgs { args, settings } = args;
        if settings.is_some() {
            return Err(not_supported_at(
                factor,
                "SETTINGS in a table-valued function",
            ));
        }
        let empty = DFSchema::empty();
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = arg else {
                return Err(error_at(
                    factor,
                    format!("range() takes numbers as its arguments, not '{arg}'"),
                ));
            };
            let bound = self.bind_expr(e, &empty)?;
            let value = constant_integer(&bound).ok_or_else(|| {
                error_at(e, format!("range() takes constant integers, not '{e}'"))
            })?;
            values.push(value);
        }
        let (start, end, step, partitions) = match values.as_slice() {
            [end] => (0, *end, 1, None),
            [start, end] => (*start, *end, 1, None),
            [start, end, step] => (*start, *end, *step, None),
            [start, end, step, partitions] => (*start, *end, *step, Some(*partitions)),
            _ => {
                return Err(error_at(
                    factor,
                    format!(
                        "[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] The `range` requires [1, 2, 3, 4] parameters but the actual number is {}",
                        values.len()
                    ),
                ))
            }
        };
        if step == 0 {
            return Err(error_at(
                factor,
                "[FAILED_FUNCTION_CALL] range(): the step cannot be 0",
            ));
        }
        let partitions = match partitions {
            Some(p) if p <= 0 => {
                return Err(error_at(
                    factor,
                    format!("range(): the number of partitions must be positive, not {p}"),
                ))
            }
            Some(p) => usize::try_from(p).unwrap_or(1),
            None => self.conf.get_usize("ember.default.parallelism").max(1),
        };
        let source = Arc::new(ember_datasource::RangeSource {
            start,
            end,
            step,
            partitions,
        });
        Ok(LogicalPlanBuilder::scan(TableReference::bare("range"), source, None)?.build()?)
    }

    /// `left JOIN ... JOIN ...`.
    fn bind_joins(&mut self, mut left: Relation, joins: &[ast::Join]) -> Result<Relation> {
        for join in joins {
            let ast::Join {
                relation,
                global,
                join_operator,
            } = join;
            if *global {
                return Err(not_supported_at(join, "GLOBAL JOIN (ClickHouse)"));
            }
            if is_lateral(relation) {
                left = self.bind_lateral(left, relation, Some(join_operator))?;
                continue;
            }
            let right = self.bind_table_factor(relation)?;
            left = self.bind_join(left, right, join_operator)?;
        }
        Ok(left)
    }

    /// `left, LATERAL (subquery)` or `left [LEFT] JOIN LATERAL (subquery) [ON ...]`: the
    /// subquery may refer to `left`'s columns. Correlated, it stays a join with a `Subquery`
    /// on its right, which the optimizer's `DecorrelateLateralJoin` rewrites into joins.
    fn bind_lateral(
        &mut self,
        left: Relation,
        factor: &ast::TableFactor,
        operator: Option<&ast::JoinOperator>,
    ) -> Result<Relation> {
        let ast::TableFactor::Derived {
            lateral: _,
            subquery,
            alias,
            sample,
        } = factor
        else {
            unreachable!("a LATERAL subquery")
        };
        if sample.is_some() {
            return Err(not_supported_at(factor, "TABLESAMPLE"));
        }
        let plan = self.bind_subquery_plan(subquery, left.plan.schema())?;
        let right = apply_alias(plan, alias.as_ref(), Some("__subquery"))?;
        use datafusion_common::tree_node::TreeNode;
        let correlated = right
            .plan
            .exists(|node| {
                Ok(node.expressions().iter().any(|e| {
                    e.exists(|e| Ok(matches!(e, Expr::OuterReferenceColumn(..))))
                        .unwrap_or(true)
                }))
            })
            .unwrap_or(true);
        let cross = ast::JoinOperator::CrossJoin(ast::JoinConstraint::None);
        let operator = operator.unwrap_or(&cross);
        if !correlated {
            return self.bind_join(left, right, operator);
        }
        use ast::JoinOperator as J;
        let (join_type, constraint) = match operator {
            J::Join(c) | J::Inner(c) | J::CrossJoin(c) => (JoinType::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinType::Left, c),
            other => {
                let kind = match other {
                    J::Right(_) | J::RightOuter(_) => "RIGHT OUTER JOIN",
                    J::FullOuter(_) => "FULL OUTER JOIN",
                    J::Semi(_) | J::LeftSemi(_) => "LEFT SEMI JOIN",
                    J::Anti(_) | J::LeftAnti(_) => "LEFT ANTI JOIN",
                    other => join_keyword(other),
                };
                return Err(error_at(
                    factor,
                    format!(
                        "[INVALID_LATERAL_JOIN_TYPE] The {kind} with LATERAL correlation is not allowed because an OUTER subquery cannot correlate to its join partner. Remove the LATERAL correlation or use an INNER JOIN, or LEFT OUTER JOIN instead."
                    ),
                ));
            }
        };
        let filter = match constraint {
            ast::JoinConstraint::None => None,
            ast::JoinConstraint::On(condition) => {
                let combined = left.plan.schema().join(right.plan.schema())?;
                let bound = self.bind_expr(condition, &combined)?;
                Some(super::expr::cast_to(
                    bound,
                    &arrow::datatypes::DataType::Boolean,
                    &combined,
                )?)
            }
            _ => {
                return Err(not_supported_at(
                    factor,
                    "USING or NATURAL with a LATERAL subquery; write ON <condition>",
                ))
            }
        };
        let subquery_node = LogicalPlan::Subquery(super::subquery::subquery_of(right.plan.clone()));
        let plan = LogicalPlan::Join(datafusion_expr::logical_plan::Join::try_new(
            Arc::new(left.plan.clone()),
            Arc::new(subquery_node),
            vec![],
            filter,
            join_type,
            datafusion_expr::logical_plan::JoinConstraint::On,
            datafusion_common::NullEquality::NullEqualsNothing,
            false,
        )?);
        let mut visible = left.visible.clone();
        visible.extend(right.visible.iter().cloned());
        Ok(left.beside(right, plan, visible))
    }

    fn bind_table_factor(&mut self, factor: &ast::TableFactor) -> Result<Relation> {
        match factor {
            ast::TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                if let Some(args) = args {
                    if name.to_string().eq_ignore_ascii_case("range") {
                        let plan = self.bind_range(args, factor)?;
                        let relation = Relation::all_visible(plan);
                        return match alias {
                            Some(_) => apply_alias(relation.plan, alias.as_ref(), None),
                            None => Ok(relation),
                        };
                    }
                    return Err(not_supported_at(
                        factor,
                        format!("the table-valued function {name}(...)"),
                    ));
                }
                if !with_hints.is_empty() || !index_hints.is_empty() {
                    return Err(not_supported_at(
                        factor,
                        "table hints (WITH (...), USE INDEX)",
                    ));
                }
                if let Some(version) = version {
                    return Err(not_supported_at(factor, format!("time travel ({version})")));
                }
                if *with_ordinality {
                    return Err(not_supported_at(factor, "WITH ORDINALITY"));
                }
                if !partitions.is_empty() {
                    return Err(not_supported_at(
                        factor,
                        "PARTITION (...) after a table name; filter on the partition columns in WHERE",
                    ));
                }
                if json_path.is_some() {
                    return Err(not_supported_at(factor, "a JSON path after a table name"));
                }
                if sample.is_some() {
                    return Err(not_supported_at(factor, "TABLESAMPLE"));
                }
                let relation = self.bind_table_name(name)?;
                match alias {
                    Some(_) => apply_alias(relation.into_visible_plan()?, alias.as_ref(), None),
                    None => Ok(relation),
                }
            }
            ast::TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                // LATERAL first in FROM has nothing on its left to refer to: a plain subquery.
                let _ = lateral;
                if sample.is_some() {
                    return Err(not_supported_at(factor, "TABLESAMPLE"));
                }
                let plan = self.bind_query(subquery)?;
                apply_alias(plan, alias.as_ref(), Some("__subquery"))
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let relation = self.bind_table_with_joins(table_with_joins)?;
                match alias {
                    // The alias names the join's visible columns; the hidden ones are gone.
                    Some(_) => apply_alias(relation.into_visible_plan()?, alias.as_ref(), None),
                    None => Ok(relation),
                }
            }
            other => Err(not_supported_at(other, format!("the FROM item '{other}'"))),
        }
    }

    pub(crate) fn bind_table_name(&mut self, name: &ast::ObjectName) -> Result<Relation> {
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
                        &self.timestamp_types().ltz,
                    )
                    .map(Relation::all_visible);
                }
            }
        }
        if parts.len() != name.0.len() {
            return Err(not_supported_at(name, format!("the table name '{name}'")));
        }
        let Some((last, qualifiers)) = parts.split_last() else {
            return Err(error_at(name, "empty table name"));
        };
        if !is_default_database(qualifiers) {
            return Err(error_at(
                name,
                format!(
                    "Table or view '{name}' cannot be found: Ember has one database, 'default' \
                     (spark_catalog.default); name the table alone or as default.{}",
                    last.value
                ),
            ));
        }
        let table_name = last.value.clone();
        if qualifiers.is_empty() {
            for scope in self.ctes.iter().rev() {
                if let Some(plan) = scope.get(&table_name.to_lowercase()) {
                    return aliased(plan.clone(), table_name.as_str());
                }
            }
        }
        if qualifiers.is_empty() {
            if let Some(source) = self.catalog.cached(&table_name) {
                return Ok(Relation::all_visible(
                    LogicalPlanBuilder::scan(
                        TableReference::bare(table_name.as_str()),
                        source,
                        None,
                    )?
                    .build()?,
                ));
            }
        }
        match self.catalog.lookup(&table_name) {
            Some(CatalogEntry::Table(table)) => {
                scan(&table_name, table, &self.timestamp_types().ltz).map(Relation::all_visible)
            }
            Some(CatalogEntry::View(plan)) => aliased((*plan).clone(), table_name.as_str()),
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
        left: Relation,
        right: Relation,
        operator: &ast::JoinOperator,
    ) -> Result<Relation> {
        use ast::JoinOperator as J;
        let (join_type, constraint) = match operator {
            J::Join(c) | J::Inner(c) => (JoinType::Inner, c),
            J::CrossJoin(c) => (JoinType::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinType::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinType::Right, c),
            J::FullOuter(c) => (JoinType::Full, c),
            J::Semi(c) | J::LeftSemi(c) => (JoinType::LeftSemi, c),
            J::Anti(c) | J::LeftAnti(c) => (JoinType::LeftAnti, c),
            J::RightSemi(_)
            | J::RightAnti(_)
            | J::CrossApply
            | J::OuterApply
            | J::AsOf { .. }
            | J::StraightJoin(_)
            | J::ArrayJoin
            | J::LeftArrayJoin
            | J::InnerArrayJoin => {
                return Err(EmberError::NotSupported(format!(
                    "the join '{}'",
                    join_keyword(operator)
                )))
            }
        };
        match constraint {
            ast::JoinConstraint::None => {
                if join_type != JoinType::Inner {
                    return Err(EmberError::analysis(format!(
                        "{join_type} JOIN needs an ON condition"
                    )));
                }
                let mut visible = left.visible.clone();
                visible.extend(right.visible.iter().cloned());
                let plan = LogicalPlanBuilder::from(left.plan.clone())
                    .cross_join(right.plan.clone())?
                    .build()?;
                Ok(left.beside(right, plan, visible))
            }
            ast::JoinConstraint::On(condition) => {
                let combined = left.plan.schema().join(right.plan.schema())?;
                let bound = self.bind_expr(condition, &combined)?;
                let condition_type = bound.fast_type(&combined)?;
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
                let (keys, filter) =
                    split_join_condition(bound, left.plan.schema(), right.plan.schema());
                let (left_keys, right_keys): (Vec<Expr>, Vec<Expr>) = keys.into_iter().unzip();
                let mut visible = left.visible.clone();
                if !matches!(join_type, JoinType::LeftSemi | JoinType::LeftAnti) {
                    visible.extend(right.visible.iter().cloned());
                }
                let plan = LogicalPlanBuilder::from(left.plan.clone())
                    .join_with_expr_keys(
                        right.plan.clone(),
                        join_type,
                        (left_keys, right_keys),
                        filter,
                    )?
                    .build()?;
                Ok(left.beside(right, plan, visible))
            }
            ast::JoinConstraint::Using(names) => {
                let mut columns = Vec::new();
                for name in names {
                    match name.0.as_slice() {
                        [part] => match part.as_ident() {
                            Some(ident) => columns.push(ident.value.clone()),
                            None => return Err(not_supported_at(name, "this USING column")),
                        },
                        _ => {
                            return Err(error_at(
                                name,
                                format!("USING takes column names, not '{name}'"),
                            ))
                        }
                    }
                }
                let using = self.using_column_count();
                join_using(left, right, join_type, &columns, using)
            }
            ast::JoinConstraint::Natural => {
                let right_names: Vec<String> = right
                    .visible
                    .iter()
                    .map(|c| c.name.to_lowercase())
                    .collect();
                let mut common: Vec<String> = Vec::new();
                for c in &left.visible {
                    let lower = c.name.to_lowercase();
                    if right_names.contains(&lower)
                        && !common.iter().any(|c| c.to_lowercase() == lower)
                    {
                        common.push(c.name.clone());
                    }
                }
                if common.is_empty() {
                    if matches!(join_type, JoinType::LeftSemi | JoinType::LeftAnti) {
                        return Err(EmberError::analysis(format!(
                            "NATURAL {join_type} JOIN needs a column both sides have"
                        )));
                    }
                    let mut visible = left.visible.clone();
                    visible.extend(right.visible.iter().cloned());
                    let plan = LogicalPlanBuilder::from(left.plan.clone())
                        .cross_join(right.plan.clone())?
                        .build()?;
                    return Ok(left.beside(right, plan, visible));
                }
                let using = self.using_column_count();
                join_using(left, right, join_type, &common, using)
            }
        }
    }

    /// A fresh number for the qualifier of a FULL JOIN's merged USING columns.
    fn using_column_count(&mut self) -> usize {
        self.using_joins += 1;
        self.using_joins
    }
}

/// The SQL keywords of a join operator, for messages.
fn join_keyword(operator: &ast::JoinOperator) -> &'static str {
    use ast::JoinOperator as J;
    match operator {
        J::RightSemi(_) => "RIGHT SEMI JOIN",
        J::RightAnti(_) => "RIGHT ANTI JOIN",
        J::CrossApply => "CROSS APPLY",
        J::OuterApply => "OUTER APPLY",
        J::AsOf { .. } => "ASOF JOIN",
        J::StraightJoin(_) => "STRAIGHT_JOIN",
        J::ArrayJoin | J::LeftArrayJoin | J::InnerArrayJoin => "ARRAY JOIN",
        _ => "JOIN",
    }
}

/// `JOIN ... USING (c, ...)`, as Spark outputs it: `*` shows each USING column once (the
/// left one, the right one for a RIGHT join, their coalesce for a FULL join), then the other
/// visible left columns, then the other visible right columns. Both sides' key columns stay
/// in the plan, hidden from `*` but reachable by qualifier.
fn join_using(
    left: Relation,
    right: Relation,
    join_type: JoinType,
    names: &[String],
    using_number: usize,
) -> Result<Relation> {
    let find = |relation: &Relation, name: &str, side: &str| -> Result<Column> {
        let matches: Vec<&Column> = relation
            .visible
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(name))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(EmberError::analysis(format!(
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
        let lt = left
            .plan
            .schema()
            .field_from_column(&l)?
            .data_type()
            .clone();
        let rt = right
            .plan
            .schema()
            .field_from_column(&r)?
            .data_type()
            .clone();
        let common = super::coercion::comparison_type(&lt, &rt).ok_or_else(|| {
            EmberError::analysis(format!(
                "USING column '{name}' has incompatible types {lt} and {rt}"
            ))
        })?;
        // Spark joins doubles with -0.0 = 0.0 and NaN = NaN.
        left_keys.push(super::expr::comparable(
            super::expr::cast_to(Expr::Column(l.clone()), &common, left.plan.schema())?,
            &common,
        ));
        right_keys.push(super::expr::comparable(
            super::expr::cast_to(Expr::Column(r.clone()), &common, right.plan.schema())?,
            &common,
        ));
        using.push((name.clone(), l, r, common));
    }
    let joined = LogicalPlanBuilder::from(left.plan.clone())
        .join_with_expr_keys(right.plan.clone(), join_type, (left_keys, right_keys), None)?
        .build()?;
    let semi = matches!(join_type, JoinType::LeftSemi | JoinType::LeftAnti);
    let left_key = |c: &Column| using.iter().any(|u| &u.1 == c);
    let right_key = |c: &Column| using.iter().any(|u| &u.2 == c);
    let others: Vec<Column> = left
        .visible
        .iter()
        .filter(|c| !left_key(c))
        .chain(right.visible.iter().filter(|c| !semi && !right_key(c)))
        .cloned()
        .collect();
    if join_type != JoinType::Full {
        let mut visible: Vec<Column> = using
            .iter()
            .map(|(_, l, r, _)| {
                if join_type == JoinType::Right {
                    r.clone()
                } else {
                    l.clone()
                }
            })
            .collect();
        visible.extend(others);
        return Ok(left.beside(right, joined, visible));
    }
    // FULL JOIN: the merged column is coalesce(l, r), under a qualifier of its own so that it
    // stands beside both sides' columns of the same name.
    let qualifier = TableReference::bare(format!("__using{using_number}"));
    let mut exprs: Vec<Expr> = joined
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    let mut visible = Vec::new();
    for (name, l, r, common) in &using {
        let l = super::expr::cast_to(Expr::Column(l.clone()), common, joined.schema())?;
        let r = super::expr::cast_to(Expr::Column(r.clone()), common, joined.schema())?;
        let merged = Expr::Case(datafusion_expr::expr::Case::new(
            None,
            vec![(Box::new(l.clone().is_not_null()), Box::new(l))],
            Some(Box::new(r)),
        ));
        exprs.push(merged.alias_qualified(Some(qualifier.clone()), name.as_str()));
        visible.push(Column::new(Some(qualifier.clone()), name.as_str()));
    }
    visible.extend(others);
    let plan = LogicalPlanBuilder::from(joined).project(exprs)?.build()?;
    Ok(left.beside(right, plan, visible))
}

/// Whether `qualifiers` (the parts of a table name before the table) name Ember's one
/// database: none, `default`, or `spark_catalog.default`.
pub(crate) fn is_default_database(qualifiers: &[&ast::Ident]) -> bool {
    match qualifiers {
        [] => true,
        [database] => database.value.eq_ignore_ascii_case("default"),
        [catalog, database] => {
            catalog.value.eq_ignore_ascii_case("spark_catalog")
                && database.value.eq_ignore_ascii_case("default")
        }
        _ => false,
    }
}

fn format_name(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Parquet => "parquet",
        FileFormat::Csv => "csv",
    }
}

fn scan(
    name: &str,
    table: Arc<FileTable>,
    ltz: &arrow::datatypes::DataType,
) -> Result<LogicalPlan> {
    let source = Arc::new(FileTableSource { table });
    let plan = LogicalPlanBuilder::scan(TableReference::bare(name), source, None)?.build()?;
    // Timestamps written in another unit or zone (other tools, another session time zone)
    // read as microseconds, instants in the session zone.
    use arrow::datatypes::DataType;
    let normal = |t: &DataType| match t {
        DataType::Timestamp(_, Some(_)) => Some(ltz.clone()),
        DataType::Timestamp(_, None) => Some(crate::types::ntz()),
        _ => None,
    };
    let schema = plan.schema().clone();
    let differs = schema
        .fields()
        .iter()
        .any(|f| normal(f.data_type()).is_some_and(|n| &n != f.data_type()));
    if !differs {
        return Ok(plan);
    }
    let columns = schema
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(datafusion_common::Column::new(
                qualifier.cloned(),
                field.name(),
            ));
            match normal(field.data_type()) {
                Some(n) if &n != field.data_type() => {
                    Expr::Cast(datafusion_expr::Cast::new(Box::new(column), n))
                        .alias_qualified(qualifier.cloned(), field.name())
                }
                _ => column,
            }
        })
        .collect::<Vec<_>>();
    Ok(LogicalPlanBuilder::from(plan).project(columns)?.build()?)
}

/// The value of a constant integer expression (a literal, negated or cast).
fn constant_integer(expr: &Expr) -> Option<i64> {
    use datafusion_common::ScalarValue as S;
    match expr {
        Expr::Literal(S::Int8(Some(v)), _) => Some(i64::from(*v)),
        Expr::Literal(S::Int16(Some(v)), _) => Some(i64::from(*v)),
        Expr::Literal(S::Int32(Some(v)), _) => Some(i64::from(*v)),
        Expr::Literal(S::Int64(Some(v)), _) => Some(*v),
        Expr::Negative(inner) => constant_integer(inner)?.checked_neg(),
        Expr::Cast(cast) => constant_integer(&cast.expr),
        Expr::Alias(alias) => constant_integer(&alias.expr),
        _ => None,
    }
}

/// Whether a FROM item is `LATERAL (subquery)`.
fn is_lateral(factor: &ast::TableFactor) -> bool {
    match factor {
        // The other fields are bound by `bind_lateral` or `bind_table_factor`.
        ast::TableFactor::Derived {
            lateral,
            subquery: _,
            alias: _,
            sample: _,
        } => *lateral,
        _ => false,
    }
}

/// `FROM x AS t` requalifies every column with `t`; `AS t(a, b)` also renames them.
fn apply_alias(
    plan: LogicalPlan,
    alias: Option<&ast::TableAlias>,
    default_name: Option<&str>,
) -> Result<Relation> {
    let Some(alias) = alias else {
        return match default_name {
            Some(name) => aliased(plan, name),
            None => Ok(Relation::all_visible(plan)),
        };
    };
    let columns = super::query::alias_columns(alias)?;
    let mut plan = plan;
    if !columns.is_empty() {
        let fields = plan.schema().columns();
        if columns.len() != fields.len() {
            return Err(crate::error::error_at_ident(
                &alias.name,
                format!(
                    "alias {} names {} columns but the relation has {}",
                    alias.name,
                    columns.len(),
                    fields.len()
                ),
            ));
        }
        let exprs: Vec<Expr> = fields
            .into_iter()
            .zip(&columns)
            .map(|(c, a)| Expr::Column(c).alias(a.value.as_str()))
            .collect();
        plan = LogicalPlanBuilder::from(plan).project(exprs)?.build()?;
    }
    aliased(plan, alias.name.value.as_str())
}

/// `plan` with every column requalified by `name`. DataFusion renames the columns whose
/// names repeat (`x`, `x` become `x`, `x:1`); those are returned with the name the query
/// gave them.
pub(crate) fn aliased(plan: LogicalPlan, name: &str) -> Result<Relation> {
    let names: Vec<String> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let plan = LogicalPlanBuilder::from(plan).alias(name)?.build()?;
    let renamed = plan
        .schema()
        .columns()
        .into_iter()
        .zip(names)
        .filter(|(column, name)| &column.name != name)
        .collect();
    Ok(Relation {
        visible: plan.schema().columns(),
        plan,
        renamed,
    })
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
