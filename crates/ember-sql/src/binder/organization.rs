//! Spark's query organization of a SELECT: `ORDER BY`, or `DISTRIBUTE BY` / `SORT BY` /
//! `CLUSTER BY`, and the sort keys shared with windows and set operations.

use datafusion_common::DFSchema;
use datafusion_expr::logical_plan::Partitioning;
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder, SortExpr};
use ember_common::logical::SortWithinPartitions;
use ember_common::Result;
use sqlparser::ast;

use super::expr::comparable;
use super::typing::ExprType;
use crate::error::{error_at, not_supported_at};

/// One key of a query organization clause, to resolve against the SELECT.
pub(super) struct OrganizationKey<'a> {
    pub(super) expr: &'a ast::Expr,
    pub(super) clause: &'static str,
    /// `ORDER BY 2` and `SORT BY 2` name the second output column; `DISTRIBUTE BY 2` is a
    /// constant.
    pub(super) ordinal_allowed: bool,
}

/// Spark's query organization of a SELECT: `ORDER BY` (one total order), or `DISTRIBUTE BY`
/// (rows with equal keys go to one partition, a hash shuffle) and `SORT BY` (each partition
/// sorted on its own); `CLUSTER BY k` is `DISTRIBUTE BY k SORT BY k`.
pub(super) enum QueryOrganization<'a> {
    None,
    OrderBy(Vec<&'a ast::OrderByExpr>),
    Partitioned {
        distribute: Vec<&'a ast::Expr>,
        /// Each key with (ascending, nulls first).
        sort: Vec<(&'a ast::Expr, bool, bool)>,
    },
}

impl<'a> QueryOrganization<'a> {
    /// The organization a SELECT asks for, refusing combinations Spark's grammar refuses.
    pub(super) fn of(
        order_by: Option<&'a ast::OrderBy>,
        cluster_by: &'a [ast::Expr],
        distribute_by: &'a [ast::Expr],
        sort_by: &'a [ast::OrderByExpr],
        select: &ast::Select,
    ) -> Result<Self> {
        let partitioned =
            !cluster_by.is_empty() || !distribute_by.is_empty() || !sort_by.is_empty();
        if let Some(order_by) = order_by {
            let ast::OrderBy { kind, interpolate } = order_by;
            if interpolate.is_some() {
                return Err(not_supported_at(
                    order_by,
                    "ORDER BY ... INTERPOLATE (ClickHouse)",
                ));
            }
            if partitioned {
                return Err(error_at(
                    order_by,
                    "Combination of ORDER BY/SORT BY/DISTRIBUTE BY/CLUSTER BY is not supported",
                ));
            }
            let items = match kind {
                ast::OrderByKind::Expressions(items) => items,
                ast::OrderByKind::All(_) => {
                    return Err(not_supported_at(order_by, "ORDER BY ALL; list the columns"))
                }
            };
            for item in items {
                check_order_by_expr(item)?;
            }
            return Ok(QueryOrganization::OrderBy(items.iter().collect()));
        }
        if !cluster_by.is_empty() {
            if !distribute_by.is_empty() || !sort_by.is_empty() {
                return Err(error_at(
                    select,
                    "Combination of ORDER BY/SORT BY/DISTRIBUTE BY/CLUSTER BY is not supported",
                ));
            }
            return Ok(QueryOrganization::Partitioned {
                distribute: cluster_by.iter().collect(),
                sort: cluster_by.iter().map(|e| (e, true, true)).collect(),
            });
        }
        if !partitioned {
            return Ok(QueryOrganization::None);
        }
        let mut sort = Vec::new();
        for item in sort_by {
            check_order_by_expr(item)?;
            let (asc, nulls_first) = sort_options(&item.options);
            sort.push((&item.expr, asc, nulls_first));
        }
        Ok(QueryOrganization::Partitioned {
            distribute: distribute_by.iter().collect(),
            sort,
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, QueryOrganization::None)
    }

    /// The keys to resolve, in the order [`QueryOrganization::apply`] takes them back.
    pub(super) fn keys(&self) -> Vec<OrganizationKey<'a>> {
        match self {
            QueryOrganization::None => vec![],
            QueryOrganization::OrderBy(items) => items
                .iter()
                .map(|item| OrganizationKey {
                    expr: &item.expr,
                    clause: "ORDER BY",
                    ordinal_allowed: true,
                })
                .collect(),
            QueryOrganization::Partitioned { distribute, sort } => distribute
                .iter()
                .map(|e| OrganizationKey {
                    expr: e,
                    clause: "DISTRIBUTE BY",
                    ordinal_allowed: false,
                })
                .chain(sort.iter().map(|(e, _, _)| OrganizationKey {
                    expr: e,
                    clause: "SORT BY",
                    ordinal_allowed: true,
                }))
                .collect(),
        }
    }

    /// Organizes `plan` by the resolved keys (one per [`QueryOrganization::keys`]).
    pub(super) fn apply(&self, plan: LogicalPlan, resolved: Vec<Expr>) -> Result<LogicalPlan> {
        match self {
            QueryOrganization::None => Ok(plan),
            QueryOrganization::OrderBy(items) => {
                let schema = plan.schema().clone();
                let sorts = items
                    .iter()
                    .zip(resolved)
                    .map(|(item, expr)| {
                        check_sortable(&expr, &schema, &item.expr)?;
                        let (asc, nulls_first) = sort_options(&item.options);
                        Ok(SortExpr::new(sort_key(expr, &schema)?, asc, nulls_first))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(LogicalPlanBuilder::from(plan).sort(sorts)?.build()?)
            }
            QueryOrganization::Partitioned { distribute, sort } => {
                let schema = plan.schema().clone();
                let nodes = distribute.iter().chain(sort.iter().map(|(e, _, _)| e));
                for (i, (node, expr)) in nodes.zip(&resolved).enumerate() {
                    if i < distribute.len() {
                        check_groupable(expr, &schema, node)?;
                    } else {
                        check_sortable(expr, &schema, node)?;
                    }
                }
                let mut resolved = resolved
                    .into_iter()
                    .map(|e| sort_key(e, &schema))
                    .collect::<Result<Vec<_>>>()?
                    .into_iter();
                let keys: Vec<Expr> = resolved.by_ref().take(distribute.len()).collect();
                let mut plan = plan;
                if !keys.is_empty() {
                    plan = LogicalPlanBuilder::from(plan)
                        .repartition(Partitioning::DistributeBy(keys))?
                        .build()?;
                }
                if !sort.is_empty() {
                    let sorts = sort
                        .iter()
                        .zip(resolved)
                        .map(|((_, asc, nulls_first), expr)| {
                            SortExpr::new(expr, *asc, *nulls_first)
                        })
                        .collect();
                    plan = SortWithinPartitions::plan(sorts, plan);
                }
                Ok(plan)
            }
        }
    }
}

/// A sort, partition or distribution key as Spark compares it (see [`comparable`]).
pub(crate) fn sort_key(expr: Expr, schema: &DFSchema) -> Result<Expr> {
    let t = expr.fast_type(schema)?;
    Ok(comparable(expr, &t))
}

/// Refuses to sort by a key Spark cannot order (a map, a calendar interval).
pub(crate) fn check_sortable(expr: &Expr, schema: &DFSchema, node: &ast::Expr) -> Result<()> {
    let t = expr.fast_type(schema)?;
    if crate::types::is_orderable(&t) {
        return Ok(());
    }
    Err(error_at(
        node,
        format!(
            "[DATATYPE_MISMATCH.INVALID_ORDERING_TYPE] Cannot resolve \"{node}\" due to data type mismatch: the sort order does not support ordering on type \"{}\"",
            crate::types::spark_type_sql(&t)
        ),
    ))
}

/// Refuses to group or partition by a key Spark cannot order (a map, a calendar interval).
pub(crate) fn check_groupable(expr: &Expr, schema: &DFSchema, node: &ast::Expr) -> Result<()> {
    let t = expr.fast_type(schema)?;
    if crate::types::is_orderable(&t) {
        return Ok(());
    }
    Err(error_at(
        node,
        format!(
            "[GROUP_EXPRESSION_TYPE_IS_NOT_ORDERABLE] The expression \"{node}\" cannot be used as a grouping expression because its data type \"{}\" is not an orderable data type",
            crate::types::spark_type_sql(&t)
        ),
    ))
}

/// Refuses the parts of an ORDER BY item Spark does not have.
pub(crate) fn check_order_by_expr(item: &ast::OrderByExpr) -> Result<()> {
    let ast::OrderByExpr {
        expr: _,
        options: _,
        with_fill,
    } = item;
    if with_fill.is_some() {
        return Err(not_supported_at(
            item,
            "ORDER BY ... WITH FILL (ClickHouse)",
        ));
    }
    Ok(())
}

/// Spark: ascending sorts put NULLs first, descending sorts put them last.
fn sort_options(options: &ast::OrderByOptions) -> (bool, bool) {
    let asc = options.asc.unwrap_or(true);
    let nulls_first = options.nulls_first.unwrap_or(asc);
    (asc, nulls_first)
}
