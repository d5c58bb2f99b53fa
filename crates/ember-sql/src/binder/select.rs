//! Binding a SELECT block: projection, WHERE, GROUP BY, aggregates, HAVING, DISTINCT and the
//! ORDER BY that may reach below the projection.

use std::collections::HashSet;

use arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, DFSchema, TableReference};
use datafusion_expr::utils::find_aggregate_exprs;
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::expr::{cast_to, comparable};
use super::grouping::{grouping_sets_aggregate, is_grouping_call, GroupingSets};
use super::naming::spark_name;
use super::organization::QueryOrganization;
use super::typing::ExprType;
use super::Binder;
use crate::error::{error_at, not_supported_at};

/// A SELECT item after binding: its expression, its output name and where it came from.
pub(super) struct SelectItem {
    pub(super) expr: Expr,
    pub(super) name: String,
    pub(super) source: Option<ast::Expr>,
}

impl Binder<'_> {
    pub(crate) fn bind_select(
        &mut self,
        select: &ast::Select,
        order_by: Option<&ast::OrderBy>,
    ) -> Result<LogicalPlan> {
        let windows = self.resolve_named_windows(&select.named_window)?;
        self.named_windows.push(windows);
        self.from_scopes.push(super::FromScope::default());
        let plan = self.bind_select_body(select, order_by);
        self.from_scopes.pop();
        self.named_windows.pop();
        plan
    }

    fn bind_select_body(
        &mut self,
        select: &ast::Select,
        order_by: Option<&ast::OrderBy>,
    ) -> Result<LogicalPlan> {
        // Every field is named, none skipped with `..`: a clause a new sqlparser adds stops
        // the build here until it is bound or refused, so no clause is ever silently dropped.
        let ast::Select {
            // Where SELECT starts: positions only.
            select_token: _,
            optimizer_hints,
            distinct,
            select_modifiers,
            top,
            // Where TOP stands relative to DISTINCT; TOP itself is refused.
            top_before_distinct: _,
            projection,
            exclude,
            into,
            from,
            lateral_views,
            prewhere,
            selection,
            connect_by,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            // Resolved by `bind_select` before the body.
            named_window: _,
            qualify,
            // Whether WINDOW came before QUALIFY in the text: order only.
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = select;
        if !optimizer_hints.is_empty() {
            return Err(not_supported_at(select, "optimizer hints"));
        }
        if select_modifiers.is_some() {
            return Err(not_supported_at(
                select,
                "MySQL's SELECT modifiers (HIGH_PRIORITY, SQL_CALC_FOUND_ROWS, ...)",
            ));
        }
        if top.is_some() {
            return Err(not_supported_at(select, "SELECT TOP n; use LIMIT n"));
        }
        if let Some(exclude) = exclude {
            return Err(not_supported_at(
                exclude,
                "EXCLUDE after the SELECT list; use SELECT * EXCEPT (columns)",
            ));
        }
        if let Some(into) = into {
            return Err(not_supported_at(
                into,
                "SELECT ... INTO; use CREATE TABLE ... AS SELECT or INSERT INTO",
            ));
        }
        if let Some(prewhere) = prewhere {
            return Err(not_supported_at(
                prewhere,
                "PREWHERE (ClickHouse); use WHERE",
            ));
        }
        if let Some(connect_by) = connect_by.first() {
            return Err(not_supported_at(
                connect_by,
                "CONNECT BY / START WITH (hierarchical queries)",
            ));
        }
        if let Some(mode) = value_table_mode {
            return Err(not_supported_at(
                select,
                format!("BigQuery's {mode}; select the columns instead"),
            ));
        }
        if *flavor != ast::SelectFlavor::Standard {
            return Err(not_supported_at(
                select,
                "FROM-first queries (FROM t SELECT ...); write SELECT ... FROM t",
            ));
        }
        let organization =
            QueryOrganization::of(order_by, cluster_by, distribute_by, sort_by, select)?;

        let relation = self.bind_from(from)?;
        if let Some(scope) = self.from_scopes.last_mut() {
            scope.hidden = relation.hidden();
            scope.renamed = relation.renamed.clone();
        }
        let mut visible = relation.visible;
        let mut plan = relation.plan;

        // LATERAL VIEW [OUTER] gen(...) t AS c1, ...: after FROM, before WHERE; its columns
        // are part of `*`.
        for view in lateral_views {
            let ast::LateralView {
                lateral_view,
                lateral_view_name,
                lateral_col_alias,
                outer,
            } = view;
            let Some(function) = super::generate::generator_call(lateral_view) else {
                return Err(error_at(
                    lateral_view,
                    format!(
                        "LATERAL VIEW needs a generator function (explode, explode_outer, posexplode, posexplode_outer, inline, inline_outer, stack), not '{lateral_view}'"
                    ),
                ));
            };
            let qualifier = lateral_view_name
                .0
                .last()
                .map(|part| part.to_string())
                .unwrap_or_default();
            let before = plan.schema().fields().len();
            plan = self.bind_generator(
                function,
                lateral_view,
                *outer,
                plan,
                &qualifier,
                lateral_col_alias,
            )?;
            visible.extend(plan.schema().columns().into_iter().skip(before));
        }

        if let Some(selection) = selection {
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
                    "Window functions are not allowed in WHERE; filter on them with QUALIFY, or compute them in a subquery and filter its result",
                ));
            }
            let predicate = boolean_condition(predicate, selection, "WHERE", plan.schema())?;
            plan = LogicalPlanBuilder::from(plan).filter(predicate)?.build()?;
        }

        // A generator in the SELECT list: its rows are made here, over the rows that passed
        // WHERE, and its item becomes the generated columns.
        let rewritten;
        let projection = match self.select_list_generator(projection, plan)? {
            (generated, Some(items)) => {
                plan = generated;
                rewritten = items;
                &rewritten
            }
            (unchanged, None) => {
                plan = unchanged;
                projection
            }
        };
        let has_generator = projection.as_ptr() != select.projection.as_ptr();
        if has_generator && (!group_by_is_empty(group_by) || having.is_some()) {
            return Err(not_supported_at(
                select,
                "a generator in the SELECT list of a query with GROUP BY or HAVING; generate in a subquery or with LATERAL VIEW",
            ));
        }

        let from_schema = plan.schema().clone();
        let items = self.bind_select_items(projection, &from_schema, &visible)?;
        if has_generator && !find_aggregate_exprs(items.iter().map(|i| &i.expr)).is_empty() {
            return Err(not_supported_at(
                select,
                "a generator next to aggregate functions in the SELECT list; aggregate in a subquery first",
            ));
        }

        let (group_exprs, grouping_sets) = self.bind_group_by(group_by, &items, &from_schema)?;
        let mut having = match having {
            Some(h) => Some((self.bind_with_aliases(h, &from_schema, &items)?, h)),
            None => None,
        };
        let mut qualify = match qualify {
            Some(q) => Some((self.bind_with_aliases(q, &from_schema, &items)?, q)),
            None => None,
        };
        // ORDER BY / SORT BY may aggregate too (`ORDER BY sum(x)`); find those before
        // building the Aggregate.
        let mut order_prebound = Vec::new();
        for key in organization.keys() {
            if is_ordinal(key.expr).is_some() || refers_to_alias(key.expr, &items) {
                continue;
            }
            if let Ok(e) = self.bind_expr(key.expr, &from_schema) {
                order_prebound.push(e);
            }
        }

        let mut aggregate_sources: Vec<&Expr> = items.iter().map(|i| &i.expr).collect();
        if let Some((h, _)) = &having {
            aggregate_sources.push(h);
        }
        if let Some((q, _)) = &qualify {
            aggregate_sources.push(q);
        }
        aggregate_sources.extend(order_prebound.iter());
        let aggregates = find_aggregate_exprs(aggregate_sources);
        let is_aggregate = !group_exprs.is_empty()
            || grouping_sets.is_some()
            || !aggregates.is_empty()
            || having.is_some();

        let mut items = items;
        let mut pre_projection_rebase: Option<Vec<(Expr, Column)>> = None;
        if is_aggregate {
            if grouping_sets.is_none() && aggregates.iter().any(is_grouping_call) {
                return Err(EmberError::analysis(
                    "grouping() can only be used with GROUPING SETS, ROLLUP or CUBE",
                ));
            }
            // Each grouping expression and aggregate becomes a column of the Aggregate, under a
            // name of its own (DataFusion names `min(CAST(k AS STRING))` like `min(k)`).
            let (group_node, group_columns) = output_columns(&group_exprs, &mut HashSet::new());
            // Spark groups doubles with -0.0 = 0.0 and NaN = NaN, and outputs the normal form.
            let group_node = group_node
                .into_iter()
                .zip(&group_columns)
                .map(|(e, (_, column))| normalized_key(e, column, plan.schema()))
                .collect::<Result<Vec<_>>>()?;
            let mut taken: HashSet<String> =
                group_columns.iter().map(|(_, c)| c.flat_name()).collect();
            let (mut aggregate_node, aggregate_columns) = output_columns(&aggregates, &mut taken);
            if group_node.is_empty() && aggregate_node.is_empty() && grouping_sets.is_none() {
                // `SELECT 'x' FROM t HAVING 1 = 1`: a global aggregate without aggregates still
                // makes its one row; count something to have a column, never read.
                aggregate_node.push(
                    datafusion_functions_aggregate::count::count(Expr::Literal(
                        datafusion_common::ScalarValue::Int32(Some(1)),
                        None,
                    ))
                    .alias("__rows"),
                );
            }
            plan = match &grouping_sets {
                Some(sets) => grouping_sets_aggregate(plan, sets, &aggregate_node)?,
                None => LogicalPlanBuilder::from(plan)
                    .aggregate(group_node, aggregate_node)?
                    .build()?,
            };
            // sum, min, max, ... of an interval keep its fields (`interval day`), as in Spark.
            let interval_fields =
                super::interval::aggregate_interval_fields(&aggregate_columns, &from_schema);
            let mut outputs = group_columns;
            outputs.extend(aggregate_columns);
            let agg_schema = plan.schema().clone();
            for item in &mut items {
                let rebased = rebase(item.expr.clone(), &outputs)?;
                check_grouped(&rebased, &agg_schema, item.source.as_ref())?;
                item.expr = super::interval::with_aggregate_fields(rebased, &interval_fields);
            }
            if let Some((h, node)) = having.take() {
                let rebased = rebase(h, &outputs)?;
                check_grouped(&rebased, &agg_schema, Some(node))?;
                if !datafusion_expr::utils::find_window_exprs(std::iter::once(&rebased)).is_empty()
                {
                    return Err(error_at(
                        node,
                        "Window functions are not allowed in HAVING; filter on them with QUALIFY",
                    ));
                }
                let rebased = boolean_condition(rebased, node, "HAVING", &agg_schema)?;
                plan = LogicalPlanBuilder::from(plan).filter(rebased)?.build()?;
            }
            if let Some((q, node)) = qualify.take() {
                let rebased = rebase(q, &outputs)?;
                check_grouped(&rebased, &agg_schema, Some(node))?;
                qualify = Some((rebased, node));
            }
            pre_projection_rebase = Some(outputs);
        }

        // Window functions run after grouping and HAVING, before QUALIFY and the projection.
        let mut window_sources: Vec<&Expr> = items.iter().map(|i| &i.expr).collect();
        if let Some((q, _)) = &qualify {
            window_sources.push(q);
        }
        let window_exprs = datafusion_expr::utils::find_window_exprs(window_sources);
        let mut taken: HashSet<String> = plan
            .schema()
            .columns()
            .iter()
            .map(|c| c.flat_name())
            .collect();
        let (window_node, window_columns) = output_columns(&window_exprs, &mut taken);
        if !window_exprs.is_empty() {
            plan = LogicalPlanBuilder::from(plan)
                .window(window_node)?
                .build()?;
            for item in &mut items {
                item.expr = rebase(item.expr.clone(), &window_columns)?;
            }
        }
        // QUALIFY filters on the window functions' results (Databricks' semantics: it needs a
        // window function in the SELECT list or in its own condition).
        if let Some((q, node)) = qualify {
            if window_exprs.is_empty() {
                return Err(error_at(
                    node,
                    "QUALIFY filters the results of window functions, but this query has none; \
                     use WHERE (or HAVING after GROUP BY) instead",
                ));
            }
            let rebased = rebase(q, &window_columns)?;
            let rebased = boolean_condition(rebased, node, "QUALIFY", plan.schema())?;
            plan = LogicalPlanBuilder::from(plan).filter(rebased)?.build()?;
        }

        let pre_schema = plan.schema().clone();
        let projection = output_exprs(&items);
        let distinct = match distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(exprs)) => {
                return Err(match exprs.first() {
                    Some(e) => not_supported_at(e, "SELECT DISTINCT ON (...)"),
                    None => not_supported_at(select, "SELECT DISTINCT ON (...)"),
                })
            }
        };

        if organization.is_empty() {
            plan = LogicalPlanBuilder::from(plan)
                .project(projection)?
                .build()?;
            if distinct {
                plan = distinct_of(plan)?;
            }
            return Ok(plan);
        }

        // Resolve the ORDER BY / SORT BY / DISTRIBUTE BY keys: ordinals and select-list names
        // first, then columns below the projection.
        let projected = LogicalPlanBuilder::from(plan.clone())
            .project(projection.clone())?
            .build()?;
        let out_schema = projected.schema().clone();
        let mut resolved = Vec::new();
        let mut extras: Vec<Column> = Vec::new();
        for key in organization.keys() {
            let ordinal = if key.ordinal_allowed {
                is_ordinal(key.expr)
            } else {
                None
            };
            let expr = if let Some(n) = ordinal {
                let columns = out_schema.columns();
                let column = columns.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
                    error_at(
                        key.expr,
                        format!(
                            "{} position {n} is not in the select list (1 to {})",
                            key.clause,
                            columns.len()
                        ),
                    )
                })?;
                Expr::Column(column)
            } else if let Ok(e) = self.bind_output_expr(key.expr, &out_schema, &items) {
                e
            } else {
                if distinct {
                    return Err(error_at(
                        key.expr,
                        format!(
                            "{} '{}' must be in the SELECT DISTINCT list",
                            key.clause, key.expr
                        ),
                    ));
                }
                let bound = self.bind_expr(key.expr, &from_schema)?;
                let bound = match &pre_projection_rebase {
                    Some(outputs) => {
                        let r = rebase(bound, outputs)?;
                        check_grouped(&r, &pre_schema, Some(key.expr))?;
                        r
                    }
                    None => bound,
                };
                let bound = if window_exprs.is_empty() {
                    bound
                } else {
                    rebase(bound, &window_columns)?
                };
                for c in bound.column_refs() {
                    if !out_schema.has_column(c) && !extras.contains(c) {
                        extras.push(c.clone());
                    }
                }
                bound
            };
            resolved.push(expr);
        }
        if extras.is_empty() {
            plan = projected;
            if distinct {
                plan = distinct_of(plan)?;
            }
            return organization.apply(plan, resolved);
        }
        let mut widened = projection.clone();
        widened.extend(extras.iter().cloned().map(Expr::Column));
        let output: Vec<Expr> = out_schema.columns().into_iter().map(Expr::Column).collect();
        let widened = LogicalPlanBuilder::from(plan).project(widened)?.build()?;
        let organized = organization.apply(widened, resolved)?;
        Ok(LogicalPlanBuilder::from(organized)
            .project(output)?
            .build()?)
    }

    /// Binds a HAVING or QUALIFY condition: columns of the FROM clause first, then the
    /// SELECT list's aliases (`SELECT a, count(*) AS n ... HAVING n > 1`, `QUALIFY rn = 1`),
    /// as Spark resolves them.
    fn bind_with_aliases(
        &mut self,
        expr: &ast::Expr,
        from_schema: &DFSchema,
        items: &[SelectItem],
    ) -> Result<Expr> {
        let first_error = match self.bind_expr(expr, from_schema) {
            Ok(bound) => return Ok(bound),
            Err(e) => e,
        };
        // The aliases that are not columns of the FROM clause, as extra unqualified columns.
        let mut alias_fields = Vec::new();
        let mut aliased: Vec<(String, Expr)> = Vec::new();
        for item in items {
            let is_column = from_schema
                .fields()
                .iter()
                .any(|f| f.name().eq_ignore_ascii_case(&item.name));
            let is_plain_column = matches!(&item.expr, Expr::Column(c) if c.name == item.name);
            if is_column
                || is_plain_column
                || aliased
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(&item.name))
            {
                continue;
            }
            let data_type = item.expr.fast_type(from_schema)?;
            alias_fields.push(arrow::datatypes::Field::new(&item.name, data_type, true));
            aliased.push((item.name.clone(), item.expr.clone()));
        }
        if aliased.is_empty() {
            return Err(first_error);
        }
        let alias_schema =
            DFSchema::from_unqualified_fields(alias_fields.into(), Default::default())?;
        let extended = from_schema.join(&alias_schema)?;
        let bound = match self.bind_expr(expr, &extended) {
            Ok(bound) => bound,
            Err(_) => return Err(first_error),
        };
        Ok(bound
            .transform_up(|e| match &e {
                Expr::Column(c) if c.relation.is_none() => {
                    match aliased.iter().find(|(name, _)| name == &c.name) {
                        Some((_, replacement)) => Ok(Transformed::yes(replacement.clone())),
                        None => Ok(Transformed::no(e)),
                    }
                }
                _ => Ok(Transformed::no(e)),
            })?
            .data)
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
        visible: &[Column],
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
                    let excluded = excluded_columns(options, visible)?;
                    for column in visible {
                        let name = self.display_name(column);
                        if excluded.iter().any(|e| e.eq_ignore_ascii_case(&name)) {
                            continue;
                        }
                        items.push(SelectItem {
                            expr: Expr::Column(column.clone()),
                            name,
                            source: None,
                        });
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, options) => {
                    let name = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(name) => name,
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => {
                            let value = self.bind_expr(e, schema)?;
                            items.extend(self.struct_fields_of(value, options, schema, e)?);
                            continue;
                        }
                    };
                    // `s.*` of a struct column `s` (when no table is called `s`): its fields.
                    let idents: Vec<ast::Ident> =
                        name.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
                    let names_table = qualifier_of_star(name).ok().is_some_and(|wanted| {
                        schema.iter().any(|(q, _)| {
                            q.is_some_and(|q| q.table().eq_ignore_ascii_case(&wanted))
                        })
                    });
                    if !names_table && idents.len() == name.0.len() {
                        let node = ast::Expr::CompoundIdentifier(idents.clone());
                        let value = if idents.len() == 1 {
                            self.resolve_column(&idents, schema, &node)
                        } else {
                            self.bind_expr(&node, schema)
                        };
                        if let Ok(value) = value {
                            if matches!(value.fast_type(schema)?, DataType::Struct(_)) {
                                items.extend(self.struct_fields_of(value, options, schema, &node)?);
                                continue;
                            }
                        }
                    }
                    let wanted = qualifier_of_star(name)?;
                    let columns: Vec<Column> = schema
                        .iter()
                        .filter(|(qualifier, _)| {
                            qualifier.is_some_and(|q| q.table().eq_ignore_ascii_case(&wanted))
                        })
                        .map(|(qualifier, field)| Column::new(qualifier.cloned(), field.name()))
                        .collect();
                    if columns.is_empty() {
                        return Err(error_at(
                            name,
                            format!("'{wanted}.*' matches no table in the FROM clause"),
                        ));
                    }
                    let excluded = excluded_columns(options, &columns)?;
                    for column in columns {
                        let name = self.display_name(&column);
                        if excluded.iter().any(|e| e.eq_ignore_ascii_case(&name)) {
                            continue;
                        }
                        items.push(SelectItem {
                            name,
                            expr: Expr::Column(column),
                            source: None,
                        });
                    }
                }
                ast::SelectItem::ExprWithAliases { expr, .. } => {
                    return Err(not_supported_at(
                        expr,
                        "multi-column aliases (AS (a, b)) on anything but a generator function (explode, posexplode, inline, stack)",
                    ))
                }
            }
        }
        Ok(items)
    }

    /// The name a FROM column has in the query: its own, or the one DataFusion renamed away.
    fn display_name(&self, column: &Column) -> String {
        self.from_scopes
            .last()
            .and_then(|scope| scope.renamed.iter().find(|(c, _)| c == column))
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| column.name.clone())
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
        let mut literal = None;
        for e in exprs {
            let bound = self.bind_group_item(e, items, schema)?;
            // A constant groups nothing apart (Spark's RemoveLiteralFromGroupExpressions)...
            if matches!(bound, Expr::Literal(..)) {
                literal.get_or_insert(bound);
                continue;
            }
            if !out.contains(&bound) {
                out.push(bound);
            }
        }
        // ...but a GROUP BY of constants only is still a grouping: one group when there are
        // rows, no group (no row) over an empty input.
        if out.is_empty() {
            out.extend(literal);
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
        super::organization::check_groupable(&bound, schema, e)?;
        Ok(bound)
    }
}

/// A WHERE, HAVING or QUALIFY condition: a boolean (or NULL) expression, else an error
/// pointing at it.
fn boolean_condition(
    predicate: Expr,
    node: &ast::Expr,
    clause: &str,
    schema: &DFSchema,
) -> Result<Expr> {
    let predicate_type = predicate.fast_type(schema)?;
    if !matches!(predicate_type, DataType::Boolean | DataType::Null) {
        return Err(error_at(
            node,
            format!(
                "{clause} needs a boolean condition, but '{node}' is {}; compare it, e.g. {node} <> 0",
                crate::types::spark_type_name(&predicate_type)
            ),
        ));
    }
    cast_to(predicate, &DataType::Boolean, schema)
}

/// `SELECT * FROM relation` (for `TABLE t`): its visible columns under their names.
pub(crate) fn star_projection(relation: super::relation::Relation) -> Result<LogicalPlan> {
    let exprs: Vec<Expr> = relation
        .visible
        .iter()
        .map(
            |column| match relation.renamed.iter().find(|(c, _)| c == column) {
                Some((_, name)) => Expr::Column(column.clone()).alias(name.as_str()),
                None => Expr::Column(column.clone()),
            },
        )
        .collect();
    Ok(LogicalPlanBuilder::from(relation.plan)
        .project(exprs)?
        .build()?)
}

/// Refuses DISTINCT and the set operations over map columns, as Spark does: maps have no
/// equality that ignores the order of their entries.
pub(crate) fn refuse_map_columns(plan: &LogicalPlan, operation: &str) -> Result<()> {
    for field in plan.schema().fields() {
        if crate::types::contains_map(field.data_type()) {
            return Err(ember_common::EmberError::analysis(format!(
                "[UNSUPPORTED_FEATURE.SET_OPERATION_ON_MAP_TYPE] The feature is not supported: Cannot have MAP type columns in DataFrame which calls set operations ({operation}), but the type of column `{}` is \"{}\"",
                field.name(),
                crate::types::spark_type_sql(field.data_type())
            )));
        }
    }
    Ok(())
}

pub(crate) fn distinct_of(plan: LogicalPlan) -> Result<LogicalPlan> {
    refuse_map_columns(&plan, "DISTINCT")?;
    let schema = plan.schema().clone();
    let columns: Vec<Expr> = schema
        .columns()
        .into_iter()
        .map(|c| normalized_key(Expr::Column(c.clone()), &c, &schema))
        .collect::<Result<_>>()?;
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

/// The SELECT list as projection expressions. Spark allows two outputs of one name
/// (`SELECT 1 AS x, 2 AS x`, `SELECT t.k, 1 AS k`); a DataFusion schema does not, so each
/// output whose name clashes gets a qualifier of its own (`__out2.x`), which the output's
/// name (what users see) does not show.
fn output_exprs(items: &[SelectItem]) -> Vec<Expr> {
    let exprs: Vec<Expr> = items
        .iter()
        .map(|i| output_expr(&i.expr, &i.name))
        .collect();
    let field = |e: &Expr| -> (Option<TableReference>, String) {
        match e {
            Expr::Column(c) => (c.relation.clone(), c.name.clone()),
            Expr::Alias(a) => (a.relation.clone(), a.name.clone()),
            other => (None, other.schema_name().to_string()),
        }
    };
    let fields: Vec<(Option<TableReference>, String)> = exprs.iter().map(field).collect();
    let clashes = |i: usize| {
        let (qualifier, name) = &fields[i];
        fields.iter().enumerate().any(|(j, (q, n))| {
            j != i && n == name && (q == qualifier || q.is_none() || qualifier.is_none())
        })
    };
    exprs
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            if !clashes(i) {
                return e;
            }
            let name = fields[i].1.clone();
            e.unalias()
                .alias_qualified(Some(TableReference::bare(format!("__out{i}"))), name)
        })
        .collect()
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

/// The expressions a node (Aggregate, Window) computes, each under a name of its own, and
/// the column that holds each one's value above the node. An expression is aliased only
/// when its DataFusion name is already `taken` (DataFusion names a cast like its operand, so
/// `min(k)` and `min(CAST(k AS STRING))` would both be `min(k)`).
fn output_columns(exprs: &[Expr], taken: &mut HashSet<String>) -> (Vec<Expr>, Vec<(Expr, Column)>) {
    let mut node = Vec::with_capacity(exprs.len());
    let mut columns = Vec::with_capacity(exprs.len());
    for expr in exprs {
        let column = match expr {
            Expr::Column(c) => c.clone(),
            other => Column::from_name(other.schema_name().to_string()),
        };
        if taken.insert(column.flat_name()) {
            node.push(expr.clone());
            columns.push((expr.clone(), column));
            continue;
        }
        let base = expr.schema_name().to_string();
        let name = (2..)
            .map(|n| format!("{base} #{n}"))
            .find(|name| taken.insert(name.clone()))
            .unwrap_or_else(|| unreachable!("an unbounded range has a free name"));
        node.push(expr.clone().alias(name.as_str()));
        columns.push((expr.clone(), Column::from_name(name)));
    }
    (node, columns)
}

/// A grouping key as the Aggregate computes it: a float through `normalize_nan_and_zero`,
/// still named `column`.
pub(crate) fn normalized_key(expr: Expr, column: &Column, schema: &DFSchema) -> Result<Expr> {
    let t = expr.fast_type(schema)?;
    if !crate::functions::normalize::needs_normalizing(&t) {
        return Ok(expr);
    }
    Ok(
        comparable(expr.unalias(), &t)
            .alias_qualified(column.relation.clone(), column.name.clone()),
    )
}

/// Replaces the expressions a node below computes (grouping expressions, aggregates, window
/// functions) with references to its output columns.
fn rebase(expr: Expr, outputs: &[(Expr, Column)]) -> Result<Expr> {
    Ok(expr
        .transform_down(|e| {
            if let Some((_, column)) = outputs.iter().find(|(computed, _)| computed == &e) {
                return Ok(Transformed::new(
                    Expr::Column(column.clone()),
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

/// The table named by `t.*`: `t`, `default.t` or `spark_catalog.default.t`.
fn qualifier_of_star(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
    if parts.len() != name.0.len() || parts.is_empty() {
        return Err(not_supported_at(name, format!("'{name}.*'")));
    }
    let (last, qualifiers) = parts.split_last().unwrap_or_else(|| unreachable!());
    if !super::relation::is_default_database(qualifiers) {
        return Err(error_at(
            name,
            format!(
                "'{name}.*' names a database Ember does not have; its only database is 'default'"
            ),
        ));
    }
    Ok(last.value.clone())
}

/// The columns `* EXCEPT (a, b)` (Databricks) or `* EXCLUDE (a, b)` leaves out of `columns`,
/// checked to exist; other wildcard options are refused.
pub(super) fn excluded_columns(
    options: &ast::WildcardAdditionalOptions,
    columns: &[Column],
) -> Result<Vec<String>> {
    let ast::WildcardAdditionalOptions {
        // Where `*` is: positions only.
        wildcard_token: _,
        opt_ilike,
        opt_exclude,
        opt_except,
        opt_replace,
        opt_rename,
        opt_alias,
    } = options;
    if opt_ilike.is_some() || opt_replace.is_some() || opt_rename.is_some() || opt_alias.is_some() {
        return Err(not_supported_at(
            options,
            format!("the wildcard options of '{options}'; only * EXCEPT (columns) is supported"),
        ));
    }
    let mut names: Vec<ast::Ident> = Vec::new();
    if let Some(except) = opt_except {
        names.push(except.first_element.clone());
        names.extend(except.additional_elements.iter().cloned());
    }
    if let Some(exclude) = opt_exclude {
        let excluded: Vec<&ast::ObjectName> = match exclude {
            ast::ExcludeSelectItem::Single(name) => vec![name],
            ast::ExcludeSelectItem::Multiple(list) => list.iter().collect(),
        };
        for name in excluded {
            match name.0.as_slice() {
                [part] => names.extend(part.as_ident().cloned()),
                _ => {
                    return Err(not_supported_at(
                        name,
                        format!("EXCLUDE of a qualified name '{name}'; name the column alone"),
                    ))
                }
            }
        }
    }
    for name in &names {
        if !columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&name.value))
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

/// Whether GROUP BY is absent (an empty expression list, no ALL).
fn group_by_is_empty(group_by: &ast::GroupByExpr) -> bool {
    matches!(group_by, ast::GroupByExpr::Expressions(exprs, modifiers) if exprs.is_empty() && modifiers.is_empty())
}
