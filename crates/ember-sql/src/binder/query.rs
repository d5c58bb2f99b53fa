//! Binding a query: WITH, the body (SELECT, VALUES, set operations), ORDER BY, LIMIT and OFFSET.

use std::collections::BTreeMap;

use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder, SortExpr};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::coercion::{common_type, implicit_cast};
use super::typing::ExprType;
use super::Binder;
use crate::error::{error_at, not_supported_at, not_supported_at_span};

impl Binder<'_> {
    pub(crate) fn bind_query(&mut self, query: &ast::Query) -> Result<LogicalPlan> {
        let pushed_scope = match &query.with {
            Some(with) => {
                self.bind_ctes(with)?;
                true
            }
            None => false,
        };
        let result = self.bind_query_body(query);
        if pushed_scope {
            self.ctes.pop();
        }
        result
    }

    /// Binds `WITH a AS (...), b AS (...)` into a new innermost CTE scope, which the caller
    /// pops when the query is bound; on an error the scope is popped here.
    fn bind_ctes(&mut self, with: &ast::With) -> Result<()> {
        let ast::With {
            // Where WITH starts: positions only.
            with_token: _,
            recursive,
            cte_tables,
        } = with;
        if *recursive {
            return Err(not_supported_at(with, "WITH RECURSIVE"));
        }
        self.ctes.push(BTreeMap::new());
        for cte in cte_tables {
            if let Err(e) = self.bind_cte(cte) {
                self.ctes.pop();
                return Err(e);
            }
        }
        Ok(())
    }

    fn bind_cte(&mut self, cte: &ast::Cte) -> Result<()> {
        let ast::Cte {
            alias,
            query,
            from,
            materialized,
            // Where the CTE's query ends: positions only.
            closing_paren_token: _,
        } = cte;
        if let Some(from) = from {
            return Err(not_supported_at_span(
                from.span,
                "WITH ... AS (...) FROM (PostgreSQL)",
            ));
        }
        if let Some(materialized) = materialized {
            return Err(not_supported_at(
                cte,
                format!("WITH ... AS {materialized} (...); write WITH name AS (query)"),
            ));
        }
        let columns = alias_columns(alias)?;
        let name = alias.name.value.clone();
        let mut plan = self.bind_query(query)?;
        if !columns.is_empty() {
            let fields = plan.schema().columns();
            if fields.len() != columns.len() {
                return Err(crate::error::error_at_ident(
                    &alias.name,
                    format!(
                        "WITH {name}(...) names {} columns but its query has {}",
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
        if let Some(scope) = self.ctes.last_mut() {
            scope.insert(name.to_lowercase(), plan);
        }
        Ok(())
    }

    fn bind_query_body(&mut self, query: &ast::Query) -> Result<LogicalPlan> {
        // Every field is named: a clause a new sqlparser adds stops the build here until it
        // is bound or refused.
        let ast::Query {
            // Bound by `bind_query`.
            with: _,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = query;
        if let Some(fetch) = fetch {
            return Err(not_supported_at(query, format!("{fetch}; use LIMIT n")));
        }
        if let Some(lock) = locks.first() {
            return Err(not_supported_at(
                query,
                format!("{lock}: Ember tables have no row locks"),
            ));
        }
        if let Some(for_clause) = for_clause {
            return Err(not_supported_at(query, format!("{for_clause}")));
        }
        if settings.is_some() {
            return Err(not_supported_at(query, "SETTINGS (ClickHouse)"));
        }
        if let Some(format) = format_clause {
            return Err(not_supported_at(query, format!("{format} (ClickHouse)")));
        }
        if !pipe_operators.is_empty() {
            return Err(not_supported_at(query, "pipe syntax (|>)"));
        }
        let mut plan = match body.as_ref() {
            ast::SetExpr::Select(select) => self.bind_select(select, order_by.as_ref())?,
            other => {
                let plan = self.bind_set_expr(other)?;
                match order_by {
                    Some(order_by) => self.bind_order_by_output(plan, order_by)?,
                    None => plan,
                }
            }
        };
        if let Some(limit_clause) = limit_clause {
            let (limit, offset) = match limit_clause {
                ast::LimitClause::LimitOffset {
                    limit,
                    offset,
                    limit_by,
                } => {
                    if let Some(by) = limit_by.first() {
                        return Err(not_supported_at(by, "LIMIT ... BY (ClickHouse)"));
                    }
                    // `OFFSET n ROWS` and `OFFSET n` mean the same.
                    (limit.as_ref(), offset.as_ref().map(|o| &o.value))
                }
                ast::LimitClause::OffsetCommaLimit { offset, .. } => {
                    return Err(not_supported_at(
                        offset,
                        "LIMIT offset, count (MySQL); write LIMIT count OFFSET offset",
                    ))
                }
            };
            let fetch = limit.map(|l| constant_count(l, "LIMIT")).transpose()?;
            let skip = offset
                .map(|o| constant_count(o, "OFFSET"))
                .transpose()?
                .unwrap_or(0);
            plan = LogicalPlanBuilder::from(plan).limit(skip, fetch)?.build()?;
        }
        Ok(plan)
    }

    fn bind_set_expr(&mut self, body: &ast::SetExpr) -> Result<LogicalPlan> {
        match body {
            ast::SetExpr::Select(select) => self.bind_select(select, None),
            ast::SetExpr::Query(query) => self.bind_query(query),
            ast::SetExpr::Values(values) => self.bind_values(values),
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                for side in [left, right] {
                    refuse_organization_in_set_operand(side)?;
                }
                let left_plan = self.bind_set_expr(left)?;
                let right_plan = self.bind_set_expr(right)?;
                bind_set_operation(left_plan, op, set_quantifier, right_plan, self.ansi())
            }
            ast::SetExpr::Table(table) => {
                let ast::Table {
                    table_name,
                    schema_name,
                } = table.as_ref();
                let Some(table_name) = table_name else {
                    return Err(not_supported_at(body, "TABLE without a table name"));
                };
                let mut parts: Vec<ast::Ident> = Vec::new();
                parts.extend(schema_name.iter().map(|s| ast::Ident::new(s.as_str())));
                parts.push(ast::Ident::new(table_name.as_str()));
                // `TABLE t` is `SELECT * FROM t`.
                let relation = self.bind_table_name(&ast::ObjectName::from(parts))?;
                super::select::star_projection(relation)
            }
            ast::SetExpr::Insert(_)
            | ast::SetExpr::Update(_)
            | ast::SetExpr::Delete(_)
            | ast::SetExpr::Merge(_) => Err(not_supported_at(
                body,
                "a data-changing statement used as a query",
            )),
        }
    }

    /// `VALUES (1, 'a'), (2, 'b')`: columns named col1, col2, ... as in Spark.
    pub(crate) fn bind_values(&mut self, values: &ast::Values) -> Result<LogicalPlan> {
        let ast::Values {
            explicit_row,
            value_keyword,
            rows: value_rows,
        } = values;
        if *explicit_row {
            return Err(not_supported_at(
                values,
                "VALUES ROW(...) (MySQL); write VALUES (...), (...)",
            ));
        }
        if *value_keyword {
            return Err(not_supported_at(
                values,
                "VALUE (...) (MySQL); write VALUES",
            ));
        }
        let empty = datafusion_common::DFSchema::empty();
        let mut rows = Vec::new();
        for row in value_rows {
            let bound = row
                .iter()
                .map(|e| self.bind_expr(e, &empty))
                .collect::<Result<Vec<_>>>()?;
            if let Some(first) = rows.first() {
                let first: &Vec<Expr> = first;
                if first.len() != bound.len() {
                    return Err(EmberError::analysis(format!(
                        "VALUES rows must all have the same number of columns: {} and {}",
                        first.len(),
                        bound.len()
                    )));
                }
            }
            rows.push(bound);
        }
        let width = rows.first().map(Vec::len).unwrap_or(0);
        let mut types = Vec::new();
        for column in 0..width {
            let column_types = rows
                .iter()
                .map(|r| r[column].fast_type(&empty))
                .collect::<datafusion_common::Result<Vec<_>>>()?;
            let common = common_type(&column_types, self.ansi()).ok_or_else(|| {
                EmberError::analysis(format!("VALUES column {} has no common type", column + 1))
            })?;
            types.push(common);
        }
        let ansi = self.ansi();
        let rows = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&types)
                    .map(|(e, t)| {
                        if t.is_null() {
                            Ok(e)
                        } else {
                            implicit_cast(e, t, &empty, ansi)
                        }
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = super::interval::unify_values_fields(rows, &empty);
        let plan = LogicalPlanBuilder::values(rows)?.build()?;
        let renamed: Vec<Expr> = plan
            .schema()
            .columns()
            .into_iter()
            .enumerate()
            .map(|(i, c)| Expr::Column(c).alias(format!("col{}", i + 1)))
            .collect();
        Ok(LogicalPlanBuilder::from(plan).project(renamed)?.build()?)
    }

    /// ORDER BY over a set operation or VALUES: only output columns and ordinals.
    fn bind_order_by_output(
        &mut self,
        plan: LogicalPlan,
        order_by: &ast::OrderBy,
    ) -> Result<LogicalPlan> {
        let ast::OrderBy { kind, interpolate } = order_by;
        if interpolate.is_some() {
            return Err(not_supported_at(
                order_by,
                "ORDER BY ... INTERPOLATE (ClickHouse)",
            ));
        }
        let ast::OrderByKind::Expressions(items) = kind else {
            return Err(not_supported_at(order_by, "ORDER BY ALL; list the columns"));
        };
        let schema = plan.schema().clone();
        let mut sorts = Vec::new();
        for item in items {
            super::organization::check_order_by_expr(item)?;
            let expr = match &item.expr {
                ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                    let n: usize = item.expr.to_string().parse().unwrap_or(0);
                    let columns = schema.columns();
                    Expr::Column(columns.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
                        error_at(
                            &item.expr,
                            format!(
                                "ORDER BY position {n} is not in the select list (1 to {})",
                                columns.len()
                            ),
                        )
                    })?)
                }
                e => self.bind_expr(e, &schema)?,
            };
            super::organization::check_sortable(&expr, &schema, &item.expr)?;
            let asc = item.options.asc.unwrap_or(true);
            sorts.push(SortExpr::new(
                super::organization::sort_key(expr, &schema)?,
                asc,
                item.options.nulls_first.unwrap_or(asc),
            ));
        }
        Ok(LogicalPlanBuilder::from(plan).sort(sorts)?.build()?)
    }
}

/// One set operation over its two bound sides. Columns match by position, take the left
/// side's names and the widened type of each pair (see [`align_for_union`]); `MINUS` is
/// `EXCEPT`, as in Spark.
fn bind_set_operation(
    left: LogicalPlan,
    op: &ast::SetOperator,
    set_quantifier: &ast::SetQuantifier,
    right: LogicalPlan,
    ansi: bool,
) -> Result<LogicalPlan> {
    let all = match set_quantifier {
        ast::SetQuantifier::All => true,
        ast::SetQuantifier::None | ast::SetQuantifier::Distinct => false,
        by_name => {
            return Err(EmberError::NotSupported(format!(
                "{op} {by_name}; columns of set operations match by position"
            )))
        }
    };
    match op {
        ast::SetOperator::Union => {
            let (left, right) = align_for_union(left, right, "UNION", ansi)?;
            let unioned = LogicalPlanBuilder::from(left).union(right)?.build()?;
            if all {
                return Ok(unioned);
            }
            super::select::distinct_of(unioned)
        }
        ast::SetOperator::Intersect | ast::SetOperator::Except | ast::SetOperator::Minus => {
            let intersect = *op == ast::SetOperator::Intersect;
            let operation = if all {
                format!("{op} ALL")
            } else {
                op.to_string()
            };
            let (left, right) = align_for_union(left, right, &operation, ansi)?;
            super::select::refuse_map_columns(&left, &operation)?;
            if all {
                intersect_or_except_all(left, right, intersect)
            } else {
                intersect_or_except(left, right, intersect)
            }
        }
    }
}

/// `INTERSECT ALL` and `EXCEPT ALL` (bag semantics) through the distinct operation: each side
/// numbers the copies of every distinct row 1, 2, 3, ..., and the distinct operation then runs
/// over (row, copy number). A left side with `l` copies of row `x` and a right side with `r`
/// copies hold `(x, 1..=l)` and `(x, 1..=r)`, so the intersection keeps `(x, k)` for
/// `k <= min(l, r)` and the difference keeps it for `r < k <= l`: min(l, r) copies and
/// max(l - r, 0) copies of `x` once the copy number is projected away.
///
/// ```text
/// Project cols
///   INTERSECT / EXCEPT (distinct) over (cols, __copy)
///     Project [cols, row_number() OVER (PARTITION BY cols) AS __copy]
///       Window <- left
///     Project [cols, row_number() OVER (PARTITION BY cols) AS __copy]
///       Window <- right
/// ```
///
/// Window partitions group NULLs together, as the aggregation of the distinct operation does,
/// so rows with NULLs are counted like any other row.
fn intersect_or_except_all(
    left: LogicalPlan,
    right: LogicalPlan,
    intersect: bool,
) -> Result<LogicalPlan> {
    let columns: Vec<Expr> = left
        .schema()
        .fields()
        .iter()
        .map(|f| Expr::Column(datafusion_common::Column::from_name(f.name())))
        .collect();
    let matched = intersect_or_except(number_copies(left)?, number_copies(right)?, intersect)?;
    Ok(LogicalPlanBuilder::from(matched)
        .project(columns)?
        .build()?)
}

/// `plan`'s columns followed by `__copy`: which copy of its row (among the rows equal to it,
/// NULLs included) each row is, counting from 1 in no particular order.
fn number_copies(plan: LogicalPlan) -> Result<LogicalPlan> {
    use datafusion_expr::expr::{WindowFunction, WindowFunctionParams};
    use datafusion_expr::{WindowFrame, WindowFunctionDefinition};
    let columns: Vec<Expr> = plan
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    let partition_by = columns
        .iter()
        .map(|c| super::organization::sort_key(c.clone(), plan.schema()))
        .collect::<Result<Vec<_>>>()?;
    let row_number = super::window::window_function("row_number")
        .ok_or_else(|| EmberError::internal("row_number is not registered"))?;
    // All rows of a window partition are equal, so they need no ORDER BY to be numbered.
    let numbering = Expr::WindowFunction(Box::new(WindowFunction {
        fun: WindowFunctionDefinition::WindowUDF(row_number),
        params: WindowFunctionParams {
            args: vec![],
            partition_by,
            order_by: vec![],
            window_frame: WindowFrame::new(None),
            filter: None,
            null_treatment: None,
            distinct: false,
        },
    }));
    let windowed = LogicalPlanBuilder::from(plan)
        .window(vec![numbering])?
        .build()?;
    let copy_number = windowed
        .schema()
        .columns()
        .pop()
        .ok_or_else(|| EmberError::internal("a Window plan without its window column"))?;
    let mut exprs = columns;
    exprs.push(Expr::Column(copy_number).alias("__copy"));
    Ok(LogicalPlanBuilder::from(windowed).project(exprs)?.build()?)
}

/// `INTERSECT` and `EXCEPT` (distinct) as an aggregation over the tagged union of both sides,
/// so NULLs compare equal as set semantics require:
///
/// ```text
/// Project cols
///   Filter in_left > 0 AND in_right > 0          (EXCEPT: in_right = 0)
///     Aggregate [cols], [sum(l) AS in_left, sum(r) AS in_right]
///       Union(Project [cols, 1 AS l, 0 AS r] <- left, Project [cols, 0 AS l, 1 AS r] <- right)
/// ```
fn intersect_or_except(
    left: LogicalPlan,
    right: LogicalPlan,
    intersect: bool,
) -> Result<LogicalPlan> {
    use datafusion_common::ScalarValue;
    use datafusion_expr::expr::AggregateFunction;
    let tag = |plan: LogicalPlan, in_left: i64| -> Result<LogicalPlan> {
        let mut exprs: Vec<Expr> = plan
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        exprs.push(Expr::Literal(ScalarValue::Int64(Some(in_left)), None).alias("__in_left"));
        exprs.push(Expr::Literal(ScalarValue::Int64(Some(1 - in_left)), None).alias("__in_right"));
        Ok(LogicalPlanBuilder::from(plan).project(exprs)?.build()?)
    };
    let names: Vec<String> = left
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let unioned = LogicalPlanBuilder::from(tag(left, 1)?)
        .union(tag(right, 0)?)?
        .build()?;
    let sum = super::function::FunctionRegistry::global()
        .aggregate("sum")
        .ok_or_else(|| EmberError::internal("sum is not registered"))?;
    let count_of = |column: &str| {
        Expr::AggregateFunction(AggregateFunction::new_udf(
            std::sync::Arc::clone(&sum),
            vec![Expr::Column(datafusion_common::Column::from_name(column))],
            false,
            None,
            vec![],
            None,
        ))
        .alias(column)
    };
    let group: Vec<Expr> = names
        .iter()
        .map(|n| Expr::Column(datafusion_common::Column::from_name(n.as_str())))
        .collect();
    // Spark's set operations see -0.0 and 0.0 (and every NaN) as one value.
    let keys = group
        .iter()
        .map(|e| {
            let Expr::Column(column) = e else {
                unreachable!("set operation keys are columns")
            };
            super::select::normalized_key(e.clone(), column, unioned.schema())
        })
        .collect::<Result<Vec<_>>>()?;
    let aggregated = LogicalPlanBuilder::from(unioned)
        .aggregate(keys, vec![count_of("__in_left"), count_of("__in_right")])?
        .build()?;
    let zero = || Expr::Literal(ScalarValue::Int64(Some(0)), None);
    let in_left = Expr::Column(datafusion_common::Column::from_name("__in_left"));
    let in_right = Expr::Column(datafusion_common::Column::from_name("__in_right"));
    let keep = if intersect {
        in_left.gt(zero()).and(in_right.gt(zero()))
    } else {
        in_left.gt(zero()).and(in_right.eq(zero()))
    };
    Ok(LogicalPlanBuilder::from(aggregated)
        .filter(keep)?
        .project(group)?
        .build()?)
}

/// UNION matches columns by position and widens each pair to a common type.
fn align_for_union(
    left: LogicalPlan,
    right: LogicalPlan,
    operation: &str,
    ansi: bool,
) -> Result<(LogicalPlan, LogicalPlan)> {
    let (ls, rs) = (left.schema().clone(), right.schema().clone());
    if ls.fields().len() != rs.fields().len() {
        return Err(EmberError::analysis(format!(
            "{operation} needs the same number of columns on both sides: {} and {}",
            ls.fields().len(),
            rs.fields().len()
        )));
    }
    let mut left_exprs = Vec::new();
    let mut right_exprs = Vec::new();
    for (i, (lc, rc)) in ls.columns().into_iter().zip(rs.columns()).enumerate() {
        let lt = ls.field(i).data_type().clone();
        let rt = rs.field(i).data_type().clone();
        let common = common_type(&[lt.clone(), rt.clone()], ansi).ok_or_else(|| {
            EmberError::analysis(format!(
                "{operation} column {} has incompatible types {} and {}",
                i + 1,
                crate::types::spark_type_name(&lt),
                crate::types::spark_type_name(&rt)
            ))
        })?;
        let name = lc.name.clone();
        left_exprs.push(implicit_cast(Expr::Column(lc), &common, &ls, ansi)?.alias(name.as_str()));
        right_exprs.push(implicit_cast(Expr::Column(rc), &common, &rs, ansi)?.alias(name.as_str()));
    }
    Ok((
        LogicalPlanBuilder::from(left)
            .project(left_exprs)?
            .build()?,
        LogicalPlanBuilder::from(right)
            .project(right_exprs)?
            .build()?,
    ))
}

/// The column names of `name(a, b)` in a FROM alias or a CTE; typed columns (`t(a INT)`) are
/// not Spark's.
pub(crate) fn alias_columns(alias: &ast::TableAlias) -> Result<Vec<ast::Ident>> {
    let ast::TableAlias {
        // Whether AS was written: `t AS x` and `t x` mean the same.
        explicit: _,
        name: _,
        columns,
        at,
    } = alias;
    if let Some(at) = at {
        return Err(not_supported_at_span(at.span, "AT in a table alias"));
    }
    columns
        .iter()
        .map(|column| {
            let ast::TableAliasColumnDef { name, data_type } = column;
            match data_type {
                Some(data_type) => Err(not_supported_at(
                    column,
                    format!("a column type ({data_type}) in an alias; cast the column instead"),
                )),
                None => Ok(name.clone()),
            }
        })
        .collect()
}

/// SORT BY, DISTRIBUTE BY and CLUSTER BY after a set operation belong to the whole of it in
/// Spark, but sqlparser hangs them on the last SELECT: refuse rather than apply them to one
/// side.
fn refuse_organization_in_set_operand(side: &ast::SetExpr) -> Result<()> {
    if let ast::SetExpr::Select(select) = side {
        let clause = if !select.sort_by.is_empty() {
            Some("SORT BY")
        } else if !select.distribute_by.is_empty() {
            Some("DISTRIBUTE BY")
        } else if !select.cluster_by.is_empty() {
            Some("CLUSTER BY")
        } else {
            None
        };
        if let Some(clause) = clause {
            return Err(not_supported_at(
                select.as_ref(),
                format!(
                    "{clause} after a set operation; wrap the set operation in a subquery: \
                     SELECT * FROM (... UNION ...) {clause} ..."
                ),
            ));
        }
    }
    Ok(())
}

fn constant_count(expr: &ast::Expr, clause: &str) -> Result<usize> {
    match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse::<usize>().map_err(|_| {
                error_at(
                    expr,
                    format!("{clause} must be a non-negative integer, got {n}"),
                )
            }),
            _ => Err(error_at(
                expr,
                format!("{clause} must be a non-negative integer, got {expr}"),
            )),
        },
        _ => Err(error_at(
            expr,
            format!("{clause} must be a constant non-negative integer, got {expr}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::DataType;
    use datafusion_common::ScalarValue;

    use super::*;

    /// Binds `sql` over views `t(a INT, b INT)` and `s(x INT, y STRING)`.
    fn bind(sql: &str) -> std::result::Result<LogicalPlan, String> {
        crate::binder::test_util::bind_over_views(
            sql,
            &[
                (
                    "t",
                    ["a", "b"],
                    ScalarValue::Int32(Some(1)),
                    ScalarValue::Int32(Some(1)),
                ),
                (
                    "s",
                    ["x", "y"],
                    ScalarValue::Int32(Some(1)),
                    ScalarValue::Utf8(Some("y".into())),
                ),
            ],
        )
    }

    fn output(plan: &LogicalPlan) -> Vec<(String, DataType)> {
        plan.schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect()
    }

    #[test]
    fn intersect_all_numbers_copies_on_both_sides() {
        let plan = bind("SELECT a, b FROM t INTERSECT ALL SELECT x, x + 1 FROM s").unwrap();
        let text = plan.display_indent().to_string();
        assert_eq!(
            text.matches("WindowAggr: windowExpr=[[row_number() PARTITION BY [a, b]")
                .count(),
            2,
            "{text}"
        );
        assert!(
            text.contains("Aggregate: groupBy=[[a, b, __copy]]"),
            "{text}"
        );
        assert!(
            text.contains("Filter: __in_left > Int64(0) AND __in_right > Int64(0)"),
            "{text}"
        );
        assert_eq!(
            output(&plan),
            vec![("a".into(), DataType::Int32), ("b".into(), DataType::Int32)]
        );
    }

    #[test]
    fn except_all_and_minus_all_keep_copies_missing_on_the_right() {
        for op in ["EXCEPT ALL", "MINUS ALL"] {
            let plan = bind(&format!("SELECT a FROM t {op} SELECT x FROM s")).unwrap();
            let text = plan.display_indent().to_string();
            assert!(text.contains("row_number() PARTITION BY [a]"), "{text}");
            assert!(
                text.contains("Filter: __in_left > Int64(0) AND __in_right = Int64(0)"),
                "{text}"
            );
            assert_eq!(output(&plan), vec![("a".into(), DataType::Int32)]);
        }
    }

    #[test]
    fn distinct_intersect_does_not_number_copies() {
        for op in ["INTERSECT", "INTERSECT DISTINCT", "EXCEPT", "MINUS"] {
            let plan = bind(&format!("SELECT a FROM t {op} SELECT x FROM s")).unwrap();
            let text = plan.display_indent().to_string();
            assert!(!text.contains("row_number"), "{op}: {text}");
            assert!(text.contains("Aggregate: groupBy=[[a]]"), "{op}: {text}");
        }
    }

    #[test]
    fn all_operations_take_left_names_and_widened_types() {
        let plan =
            bind("SELECT a AS left_name FROM t INTERSECT ALL SELECT CAST(x AS BIGINT) AS r FROM s")
                .unwrap();
        assert_eq!(output(&plan), vec![("left_name".into(), DataType::Int64)]);
        let plan = bind("SELECT a FROM t EXCEPT ALL SELECT CAST(x AS DOUBLE) FROM s").unwrap();
        assert_eq!(output(&plan), vec![("a".into(), DataType::Float64)]);
    }

    #[test]
    fn column_count_mismatch_names_the_operation_and_both_counts() {
        let err = bind("SELECT a, b FROM t INTERSECT ALL SELECT x FROM s").unwrap_err();
        assert!(
            err.contains("INTERSECT ALL needs the same number of columns on both sides: 2 and 1"),
            "{err}"
        );
        let err = bind("SELECT a FROM t EXCEPT ALL SELECT x, y FROM s").unwrap_err();
        assert!(
            err.contains("EXCEPT ALL needs the same number of columns on both sides: 1 and 2"),
            "{err}"
        );
    }

    #[test]
    fn intersect_binds_tighter_than_union_and_except() {
        // a UNION ALL (b INTERSECT ALL c): the union is the root, the intersection its right side.
        let plan = bind("SELECT a FROM t UNION ALL SELECT x FROM s INTERSECT ALL SELECT b FROM t")
            .unwrap();
        let LogicalPlan::Union(union) = &plan else {
            panic!("expected a Union at the root:\n{}", plan.display_indent());
        };
        let right = union.inputs[1].display_indent().to_string();
        assert!(right.contains("row_number"), "{right}");
        // a EXCEPT ALL b EXCEPT ALL c is (a EXCEPT ALL b) EXCEPT ALL c: two levels of numbering.
        let text = bind("SELECT a FROM t EXCEPT ALL SELECT x FROM s EXCEPT ALL SELECT b FROM t")
            .unwrap()
            .display_indent()
            .to_string();
        assert_eq!(text.matches("WindowAggr:").count(), 4, "{text}");
    }

    #[test]
    fn by_name_set_operations_are_rejected() {
        let err = bind("SELECT a FROM t UNION BY NAME SELECT x AS a FROM s").unwrap_err();
        assert!(err.contains("match by position"), "{err}");
    }
}
