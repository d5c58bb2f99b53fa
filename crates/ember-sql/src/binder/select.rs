//! Binding a SELECT block: projection, WHERE, GROUP BY, aggregates, HAVING, DISTINCT and the
//! ORDER BY that may reach below the projection.

use std::collections::HashSet;

use arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, DFSchema};
use datafusion_expr::utils::find_aggregate_exprs;
use datafusion_expr::{Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder, SortExpr};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::expr::cast_to;
use super::grouping::{grouping_sets_aggregate, is_grouping_call, GroupingSets};
use super::naming::spark_name;
use super::Binder;
use crate::error::error_at;

/// A SELECT item after binding: its expression, its output name and where it came from.
struct SelectItem {
    expr: Expr,
    name: String,
    source: Option<ast::Expr>,
}

impl Binder<'_> {
    pub(crate) fn bind_select(
        &mut self,
        select: &ast::Select,
        order_by: Option<&ast::OrderBy>,
    ) -> Result<LogicalPlan> {
        let windows = self.resolve_named_windows(&select.named_window)?;
        self.named_windows.push(windows);
        let plan = self.bind_select_body(select, order_by);
        self.named_windows.pop();
        plan
    }

    fn bind_select_body(
        &mut self,
        select: &ast::Select,
        order_by: Option<&ast::OrderBy>,
    ) -> Result<LogicalPlan> {
        let mut plan = self.bind_from(&select.from)?;

        if let Some(selection) = &select.selection {
            let predicate = self.bind_expr(selection, plan.schema())?;
            if !find_aggregate_exprs(std::iter::once(&predicate)).is_empty() {
                return Err(error_at(
                    selection,
                    "Aggregate functions are not allowed in WHERE; move the condition to HAVING",
                ));
            }
            if !datafusion_expr::utils::find_window_exprs(std::iter::once(&predicate)).is_empty() {
                return Err(error_at(
                    selection,
                    "Window functions are not allowed in WHERE; compute them in a subquery and filter its result",
                ));
            }
            let predicate_type = predicate.get_type(plan.schema())?;
            if !matches!(predicate_type, DataType::Boolean | DataType::Null) {
                return Err(error_at(
                    selection,
                    format!(
                        "WHERE needs a boolean condition, but '{selection}' is {}; compare it, e.g. {selection} <> 0",
                        crate::types::spark_type_name(&predicate_type)
                    ),
                ));
            }
            let predicate = cast_to(predicate, &DataType::Boolean, plan.schema())?;
            plan = LogicalPlanBuilder::from(plan).filter(predicate)?.build()?;
        }

        let from_schema = plan.schema().clone();
        let items = self.bind_select_items(&select.projection, &from_schema)?;

        let (group_exprs, grouping_sets) =
            self.bind_group_by(&select.group_by, &items, &from_schema)?;
        let mut having = match &select.having {
            Some(h) => Some((self.bind_expr(h, &from_schema)?, h)),
            None => None,
        };
        // ORDER BY may aggregate too (`ORDER BY sum(x)`); find those before building the Aggregate.
        let order_items: Vec<&ast::OrderByExpr> = match order_by.map(|o| &o.kind) {
            Some(ast::OrderByKind::Expressions(exprs)) => exprs.iter().collect(),
            Some(ast::OrderByKind::All(_)) => {
                return Err(EmberError::NotSupported("ORDER BY ALL".into()))
            }
            None => vec![],
        };
        let mut order_prebound = Vec::new();
        for item in &order_items {
            if is_ordinal(&item.expr).is_some() || refers_to_alias(&item.expr, &items) {
                continue;
            }
            if let Ok(e) = self.bind_expr(&item.expr, &from_schema) {
                order_prebound.push(e);
            }
        }

        let mut aggregate_sources: Vec<&Expr> = items.iter().map(|i| &i.expr).collect();
        if let Some((h, _)) = &having {
            aggregate_sources.push(h);
        }
        aggregate_sources.extend(order_prebound.iter());
        let aggregates = find_aggregate_exprs(aggregate_sources);
        let is_aggregate = !group_exprs.is_empty() || !aggregates.is_empty() || having.is_some();

        let mut items = items;
        let mut pre_projection_rebase: Option<(Vec<Expr>, Vec<Expr>)> = None;
        if is_aggregate {
            if grouping_sets.is_none() && aggregates.iter().any(is_grouping_call) {
                return Err(EmberError::analysis(
                    "grouping() can only be used with GROUPING SETS, ROLLUP or CUBE",
                ));
            }
            plan = match &grouping_sets {
                Some(sets) => grouping_sets_aggregate(plan, sets, &aggregates)?,
                None => LogicalPlanBuilder::from(plan)
                    .aggregate(group_exprs.clone(), aggregates.clone())?
                    .build()?,
            };
            let agg_schema = plan.schema().clone();
            for item in &mut items {
                let rebased = rebase(item.expr.clone(), &group_exprs, &aggregates)?;
                check_grouped(&rebased, &agg_schema, item.source.as_ref())?;
                item.expr = rebased;
            }
            if let Some((h, node)) = having.take() {
                let rebased = rebase(h, &group_exprs, &aggregates)?;
                check_grouped(&rebased, &agg_schema, Some(node))?;
                let rebased = cast_to(rebased, &DataType::Boolean, &agg_schema)?;
                plan = LogicalPlanBuilder::from(plan).filter(rebased)?.build()?;
            }
            pre_projection_rebase = Some((group_exprs, aggregates));
        }

        // Window functions run after grouping and HAVING, before the projection.
        let window_exprs = datafusion_expr::utils::find_window_exprs(items.iter().map(|i| &i.expr));
        if !window_exprs.is_empty() {
            plan = LogicalPlanBuilder::from(plan)
                .window(window_exprs.clone())?
                .build()?;
            for item in &mut items {
                item.expr = rebase(item.expr.clone(), &[], &window_exprs)?;
            }
        }

        let pre_schema = plan.schema().clone();
        let projection: Vec<Expr> = items
            .iter()
            .map(|i| output_expr(&i.expr, &i.name))
            .collect();
        let distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
        if let Some(ast::Distinct::On(_)) = &select.distinct {
            return Err(EmberError::NotSupported("DISTINCT ON".into()));
        }

        if order_items.is_empty() {
            plan = LogicalPlanBuilder::from(plan)
                .project(projection)?
                .build()?;
            if distinct {
                plan = distinct_of(plan)?;
            }
            return Ok(plan);
        }

        // Resolve ORDER BY: ordinals and select-list names first, then columns below the projection.
        let projected = LogicalPlanBuilder::from(plan.clone())
            .project(projection.clone())?
            .build()?;
        let out_schema = projected.schema().clone();
        let mut sorts = Vec::new();
        let mut extras: Vec<Column> = Vec::new();
        for item in &order_items {
            let (asc, nulls_first) = sort_options(&item.options);
            let expr = if let Some(n) = is_ordinal(&item.expr) {
                let columns = out_schema.columns();
                let column = columns.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
                    error_at(
                        &item.expr,
                        format!(
                            "ORDER BY position {n} is not in the select list (1 to {})",
                            columns.len()
                        ),
                    )
                })?;
                Expr::Column(column)
            } else if let Ok(e) = self.bind_output_expr(&item.expr, &out_schema, &items) {
                e
            } else {
                if distinct {
                    return Err(error_at(
                        &item.expr,
                        format!(
                            "ORDER BY '{}' must be in the SELECT DISTINCT list",
                            item.expr
                        ),
                    ));
                }
                let bound = self.bind_expr(&item.expr, &from_schema)?;
                let bound = match &pre_projection_rebase {
                    Some((g, a)) => {
                        let r = rebase(bound, g, a)?;
                        check_grouped(&r, &pre_schema, Some(&item.expr))?;
                        r
                    }
                    None => bound,
                };
                for c in bound.column_refs() {
                    if !out_schema.has_column(c) && !extras.contains(c) {
                        extras.push(c.clone());
                    }
                }
                bound
            };
            sorts.push(SortExpr::new(expr, asc, nulls_first));
        }
        if extras.is_empty() {
            plan = projected;
            if distinct {
                plan = distinct_of(plan)?;
            }
            return Ok(LogicalPlanBuilder::from(plan).sort(sorts)?.build()?);
        }
        let mut widened = projection.clone();
        widened.extend(extras.iter().cloned().map(Expr::Column));
        let output: Vec<Expr> = out_schema.columns().into_iter().map(Expr::Column).collect();
        Ok(LogicalPlanBuilder::from(plan)
            .project(widened)?
            .sort(sorts)?
            .project(output)?
            .build()?)
    }

    /// Binds an ORDER BY expression against the SELECT output (aliases), as Spark tries first.
    fn bind_output_expr(
        &mut self,
        expr: &ast::Expr,
        out_schema: &DFSchema,
        items: &[SelectItem],
    ) -> Result<Expr> {
        if let ast::Expr::Identifier(ident) = expr {
            let matching: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.name.eq_ignore_ascii_case(&ident.value))
                .map(|(n, _)| n)
                .collect();
            if matching.len() == 1 {
                return Ok(Expr::Column(out_schema.columns()[matching[0]].clone()));
            }
        }
        let bound = self.bind_expr(expr, out_schema)?;
        // An aggregate in ORDER BY is computed by the Aggregate below, not over the output.
        if !find_aggregate_exprs(std::iter::once(&bound)).is_empty() {
            return Err(EmberError::internal("aggregate in ORDER BY"));
        }
        Ok(bound)
    }

    fn bind_select_items(
        &mut self,
        projection: &[ast::SelectItem],
        schema: &DFSchema,
    ) -> Result<Vec<SelectItem>> {
        let mut items = Vec::new();
        for item in projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => items.push(SelectItem {
                    expr: self.bind_expr(e, schema)?,
                    name: spark_name(e),
                    source: Some(e.clone()),
                }),
                ast::SelectItem::ExprWithAlias { expr, alias } => items.push(SelectItem {
                    expr: self.bind_expr(expr, schema)?,
                    name: alias.value.clone(),
                    source: Some(expr.clone()),
                }),
                ast::SelectItem::Wildcard(options) => {
                    if schema.fields().is_empty() {
                        return Err(EmberError::analysis("SELECT * needs a FROM clause"));
                    }
                    let excluded = excluded_columns(options, schema)?;
                    for (qualifier, field) in schema.iter() {
                        if excluded
                            .iter()
                            .any(|e| e.eq_ignore_ascii_case(field.name()))
                        {
                            continue;
                        }
                        items.push(SelectItem {
                            expr: Expr::Column(Column::new(qualifier.cloned(), field.name())),
                            name: field.name().clone(),
                            source: None,
                        });
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let wanted = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(name) => name
                            .0
                            .last()
                            .and_then(|p| p.as_ident())
                            .map(|i| i.value.clone())
                            .unwrap_or_default(),
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => {
                            return Err(error_at(e, "unsupported qualified wildcard"))
                        }
                    };
                    let before = items.len();
                    for (qualifier, field) in schema.iter() {
                        if qualifier
                            .map(|q| q.table().eq_ignore_ascii_case(&wanted))
                            .unwrap_or(false)
                        {
                            items.push(SelectItem {
                                expr: Expr::Column(Column::new(qualifier.cloned(), field.name())),
                                name: field.name().clone(),
                                source: None,
                            });
                        }
                    }
                    if items.len() == before {
                        return Err(EmberError::analysis(format!(
                            "'{wanted}.*' matches no table in the FROM clause"
                        )));
                    }
                }
                ast::SelectItem::ExprWithAliases { expr, .. } => {
                    return Err(error_at(
                        expr,
                        "multi-column aliases are only supported for generator functions",
                    ))
                }
            }
        }
        Ok(items)
    }

    /// The grouping expressions, and the grouping sets when the clause has ROLLUP, CUBE or
    /// GROUPING SETS.
    fn bind_group_by(
        &mut self,
        group_by: &ast::GroupByExpr,
        items: &[SelectItem],
        schema: &DFSchema,
    ) -> Result<(Vec<Expr>, Option<GroupingSets>)> {
        let (exprs, modifiers) = match group_by {
            ast::GroupByExpr::All(modifiers) => {
                if !modifiers.is_empty() {
                    return Err(EmberError::NotSupported(
                        "GROUP BY ALL with modifiers".into(),
                    ));
                }
                let all = items
                    .iter()
                    .filter(|i| find_aggregate_exprs(std::iter::once(&i.expr)).is_empty())
                    .map(|i| i.expr.clone())
                    .collect();
                return Ok((all, None));
            }
            ast::GroupByExpr::Expressions(exprs, modifiers) => (exprs, modifiers),
        };
        let mut bind_item =
            |binder: &mut Self, e: &ast::Expr| binder.bind_group_item(e, items, schema);
        if let Some(sets) = self.bind_grouping_sets(exprs, modifiers, &mut bind_item)? {
            return Ok((sets.exprs.clone(), Some(sets)));
        }
        let mut out = Vec::new();
        for e in exprs {
            let bound = self.bind_group_item(e, items, schema)?;
            if matches!(bound, Expr::Literal(..)) {
                continue;
            }
            if !out.contains(&bound) {
                out.push(bound);
            }
        }
        Ok((out, None))
    }

    /// One GROUP BY item: an ordinal, a select-list alias (as Spark allows) or an expression.
    fn bind_group_item(
        &mut self,
        e: &ast::Expr,
        items: &[SelectItem],
        schema: &DFSchema,
    ) -> Result<Expr> {
        let bound = if let Some(n) = is_ordinal(e) {
            let item = items.get(n.wrapping_sub(1)).ok_or_else(|| {
                error_at(
                    e,
                    format!(
                        "GROUP BY position {n} is not in the select list (1 to {})",
                        items.len()
                    ),
                )
            })?;
            item.expr.clone()
        } else {
            match self.bind_expr(e, schema) {
                Ok(b) => b,
                Err(err) => match e {
                    ast::Expr::Identifier(ident) => items
                        .iter()
                        .find(|i| i.name.eq_ignore_ascii_case(&ident.value))
                        .map(|i| i.expr.clone())
                        .ok_or(err)?,
                    _ => return Err(err),
                },
            }
        };
        if !find_aggregate_exprs(std::iter::once(&bound)).is_empty() {
            return Err(error_at(
                e,
                format!("aggregate functions are not allowed in GROUP BY: '{e}'"),
            ));
        }
        Ok(bound)
    }
}

fn distinct_of(plan: LogicalPlan) -> Result<LogicalPlan> {
    let columns: Vec<Expr> = plan
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    Ok(LogicalPlanBuilder::from(plan)
        .aggregate(columns, Vec::<Expr>::new())?
        .build()?)
}

/// A select expression under its output name; plain columns keep their qualifier.
fn output_expr(expr: &Expr, name: &str) -> Expr {
    match expr {
        Expr::Column(c) if c.name == name => expr.clone(),
        _ => expr.clone().alias(name),
    }
}

fn is_ordinal(expr: &ast::Expr) -> Option<usize> {
    match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse::<usize>().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn refers_to_alias(expr: &ast::Expr, items: &[SelectItem]) -> bool {
    matches!(expr, ast::Expr::Identifier(i) if items.iter().any(|item| item.name.eq_ignore_ascii_case(&i.value) && item.source.as_ref().map(|s| !matches!(s, ast::Expr::Identifier(_))).unwrap_or(false)))
}

/// Spark: ascending sorts put NULLs first, descending sorts put them last.
fn sort_options(options: &ast::OrderByOptions) -> (bool, bool) {
    let asc = options.asc.unwrap_or(true);
    let nulls_first = options.nulls_first.unwrap_or(asc);
    (asc, nulls_first)
}

/// Replaces grouping expressions and aggregates with references to the Aggregate's output.
fn rebase(expr: Expr, group_exprs: &[Expr], aggregates: &[Expr]) -> Result<Expr> {
    Ok(expr
        .transform_down(|e| {
            if group_exprs.contains(&e) || aggregates.contains(&e) {
                let column = match &e {
                    Expr::Column(c) => c.clone(),
                    other => Column::from_name(other.schema_name().to_string()),
                };
                return Ok(Transformed::new(
                    Expr::Column(column),
                    true,
                    datafusion_common::tree_node::TreeNodeRecursion::Jump,
                ));
            }
            Ok(Transformed::no(e))
        })?
        .data)
}

/// After rebasing, any column not produced by the Aggregate was neither grouped nor aggregated.
fn check_grouped(expr: &Expr, agg_schema: &DFSchema, node: Option<&ast::Expr>) -> Result<()> {
    let missing: HashSet<&Column> = expr
        .column_refs()
        .into_iter()
        .filter(|c| !agg_schema.has_column(c))
        .collect();
    if let Some(column) = missing.into_iter().next() {
        let message = format!(
            "Column '{}' is neither in the GROUP BY nor inside an aggregate function; add it to GROUP BY or wrap it in first() or max()",
            column.name
        );
        return Err(match node {
            Some(n) => error_at(n, message),
            None => EmberError::analysis(message),
        });
    }
    Ok(())
}

/// The columns `* EXCEPT (a, b)` (Databricks) or `* EXCLUDE (a, b)` leaves out, checked to
/// exist; other wildcard options are refused.
fn excluded_columns(
    options: &ast::WildcardAdditionalOptions,
    schema: &datafusion_common::DFSchema,
) -> Result<Vec<String>> {
    if options.opt_ilike.is_some() || options.opt_replace.is_some() || options.opt_rename.is_some()
    {
        return Err(EmberError::NotSupported(format!(
            "the wildcard options of '{options}'; only * EXCEPT (columns) is supported"
        )));
    }
    let mut names: Vec<ast::Ident> = Vec::new();
    if let Some(except) = &options.opt_except {
        names.push(except.first_element.clone());
        names.extend(except.additional_elements.iter().cloned());
    }
    if let Some(exclude) = &options.opt_exclude {
        match exclude {
            ast::ExcludeSelectItem::Single(name) => {
                names.extend(name.0.last().and_then(|p| p.as_ident()).cloned())
            }
            ast::ExcludeSelectItem::Multiple(list) => {
                for name in list {
                    names.extend(name.0.last().and_then(|p| p.as_ident()).cloned());
                }
            }
        }
    }
    for name in &names {
        if !schema
            .fields()
            .iter()
            .any(|f| f.name().eq_ignore_ascii_case(&name.value))
        {
            return Err(crate::error::error_at_ident(
                name,
                format!(
                    "* EXCEPT names '{}', which is not a column here",
                    name.value
                ),
            ));
        }
    }
    Ok(names.into_iter().map(|n| n.value).collect())
}
