//! `InferFiltersFromJoinKeys`: copies single-column predicates on an equi-join key to the other side of the join (Spark's `InferFiltersFromConstraints`).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{Column, DFSchema, NullEquality, Result as DFResult};
use datafusion_expr::expr::InList;
use datafusion_expr::utils::split_conjunction_owned;
use datafusion_expr::{
    Between, BinaryExpr, Distinct, Expr, ExprSchemable, Filter, Join, JoinType, Like, LogicalPlan,
    Operator,
};
use ember_common::Result;

use crate::expr_util::{is_movable_predicate, replace_columns, with_filter};
use crate::{OptimizerContext, Rule};

/// For every equi-join key `l.a = r.b`, copies what is known about `l.a` on one side to `r.b`
/// as a Filter on the other side's input, so that `push_down_filter` can take it to the scan:
///
/// ```text
/// Inner Join: l.a = r.b                      Inner Join: l.a = r.b
///   Filter: l.a = 5 AND l.c > 1      ──▶       Filter: l.a = 5 AND l.c > 1
///     TableScan: l                               TableScan: l
///   TableScan: r                               Filter: r.b = 5
///                                                TableScan: r
/// ```
///
/// What is known about a side is read from the Filters below it (through Projection,
/// SubqueryAlias, Sort, Limit, Distinct, Window, the grouping columns of an Aggregate and the
/// kept sides of joins), from the join's own filter (the ON clause) and, for an inner join,
/// from a Filter right above it. A copy goes to every column of the other side that inner
/// join keys below make equal to the key, so `a.x = b.x AND b.x = c.x AND c.x = 1` filters
/// all three tables whatever the join order. Only predicates over the key column alone are copied, in the
/// shapes `key <op> constant` (`=`, `<>`, `<`, `<=`, `>`, `>=`), `key [NOT] IN (constants)`,
/// `key [NOT] BETWEEN constants`, `key [NOT] LIKE constant` and `key IS NOT NULL` (the key may
/// sit under a cast). They are deterministic, subquery-free and reject NULL, like the equality
/// that carries them.
///
/// A predicate only goes to a side whose rows without a match are dropped by the join, since
/// only such rows may be removed early: both sides of inner and semi joins, the null-supplying
/// side of a left or right join, the right side of a left anti join (and mirrored), never a
/// full outer join. Null-aware (`NOT IN`) and null-equal joins, keys that are not plain
/// columns, keys whose two columns differ in type and floating-point keys (`-0.0 = 0.0`) are
/// left alone. `key IS NOT NULL` is copied only when nothing else is known about the key (any
/// other copied predicate rejects NULL already); the join keys alone imply no filter, since the
/// hash join drops NULL keys by itself.
///
/// A predicate the other side already has is not added again, so a second application changes
/// nothing; once `push_down_filter` has moved the copies below Unions or into other places this
/// rule cannot see through, it could add them again, so it runs in a `Once` batch ("Infer
/// Filters", after "Operator Optimization" has turned comma joins into equi-joins and before
/// "Join Reorder", whose estimates then see the copied filters).
#[derive(Debug, Default, Clone, Copy)]
pub struct InferFiltersFromJoinKeys;

impl Rule for InferFiltersFromJoinKeys {
    fn name(&self) -> &str {
        "infer_filters_from_join_keys"
    }

    fn apply(&self, plan: LogicalPlan, _cx: &OptimizerContext) -> Result<Transformed<LogicalPlan>> {
        Ok(plan.transform_up(|node| match node {
            LogicalPlan::Join(join) => match infer_into_join(&join, &[])? {
                Some(new_join) => Ok(Transformed::yes(new_join)),
                None => Ok(Transformed::no(LogicalPlan::Join(join))),
            },
            LogicalPlan::Filter(filter) => infer_from_filter_above(filter),
            other => Ok(Transformed::no(other)),
        })?)
    }
}

/// `Filter` over an inner join: what the filter says about one side's key holds for every
/// joined row, so it can be copied to the other side's input as well.
fn infer_from_filter_above(filter: Filter) -> DFResult<Transformed<LogicalPlan>> {
    let LogicalPlan::Join(join) = filter.input.as_ref() else {
        return Ok(Transformed::no(LogicalPlan::Filter(filter)));
    };
    if join.join_type != JoinType::Inner {
        return Ok(Transformed::no(LogicalPlan::Filter(filter)));
    }
    let above: Vec<Constraint> = split_conjunction_owned(filter.predicate.clone())
        .iter()
        .filter_map(Constraint::try_from_predicate)
        .collect();
    match infer_into_join(join, &above)? {
        Some(new_join) => Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(
            filter.predicate.clone(),
            Arc::new(new_join),
        )?))),
        None => Ok(Transformed::no(LogicalPlan::Filter(filter))),
    }
}

/// A predicate over one column alone, of a shape that may be copied across an equality:
/// `column` is the column, `predicate` the whole predicate with the column on the left.
#[derive(Debug, Clone, PartialEq)]
struct Constraint {
    column: Column,
    predicate: Expr,
}

impl Constraint {
    /// The constraint `predicate` states, or `None` when it is not a copyable single-column
    /// predicate. `5 < t.a` is normalized to `t.a > 5` so that duplicates compare equal.
    fn try_from_predicate(predicate: &Expr) -> Option<Self> {
        if !is_movable_predicate(predicate) {
            return None;
        }
        let (column, predicate) = match predicate {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) if is_comparison(*op) => {
                if let (Some(column), true) = (key_operand(left), is_constant(right)) {
                    (column, predicate.clone())
                } else if let (true, Some(column)) = (is_constant(left), key_operand(right)) {
                    let swapped = op.swap()?;
                    let flipped =
                        Expr::BinaryExpr(BinaryExpr::new(right.clone(), swapped, left.clone()));
                    (column, flipped)
                } else {
                    return None;
                }
            }
            Expr::InList(InList { expr, list, .. }) if list.iter().all(is_constant) => {
                (key_operand(expr)?, predicate.clone())
            }
            Expr::Between(Between {
                expr, low, high, ..
            }) if is_constant(low) && is_constant(high) => (key_operand(expr)?, predicate.clone()),
            Expr::Like(Like { expr, pattern, .. }) if is_constant(pattern) => {
                (key_operand(expr)?, predicate.clone())
            }
            Expr::IsNotNull(expr) => (key_operand(expr)?, predicate.clone()),
            _ => return None,
        };
        Some(Self { column, predicate })
    }

    /// The same constraint over `column` instead (`predicate` is rewritten).
    fn renamed(&self, column: &Column) -> DFResult<Self> {
        let replacements = HashMap::from([(self.column.clone(), Expr::Column(column.clone()))]);
        Ok(Self {
            column: column.clone(),
            predicate: replace_columns(self.predicate.clone(), &replacements)?,
        })
    }

    fn is_not_null(&self) -> bool {
        matches!(self.predicate, Expr::IsNotNull(_))
    }
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
    )
}

/// The column of `t.a` or of a cast of it.
fn key_operand(expr: &Expr) -> Option<Column> {
    match expr {
        Expr::Column(column) => Some(column.clone()),
        Expr::Cast(cast) => key_operand(&cast.expr),
        Expr::TryCast(cast) => key_operand(&cast.expr),
        _ => None,
    }
}

fn is_constant(expr: &Expr) -> bool {
    expr.column_refs().is_empty() && is_movable_predicate(expr)
}

/// What holds on every output row of a plan, over its output columns: single-column
/// constraints, and pairs of columns equal through inner join keys (so that a copy can reach
/// every column of a key's equivalence class, as in `a.x = b.x AND b.x = c.x AND c.x = 1`).
#[derive(Debug, Default)]
struct Facts {
    constraints: Vec<Constraint>,
    equalities: Vec<(Column, Column)>,
}

impl Facts {
    fn extend(&mut self, other: Facts) {
        self.constraints.extend(other.constraints);
        self.equalities.extend(other.equalities);
    }

    /// The facts over the renamed columns; those over a column without a new name are lost.
    fn renamed(self, renames: &HashMap<Column, Vec<Column>>) -> Facts {
        let new_names = |column: &Column| renames.get(column).into_iter().flatten();
        let constraints = self
            .constraints
            .iter()
            .flat_map(|constraint| {
                new_names(&constraint.column).filter_map(|column| constraint.renamed(column).ok())
            })
            .collect();
        let mut equalities = Vec::new();
        for (a, b) in &self.equalities {
            for new_a in new_names(a) {
                for new_b in new_names(b).filter(|new_b| *new_b != new_a) {
                    equalities.push((new_a.clone(), new_b.clone()));
                }
            }
        }
        Facts {
            constraints,
            equalities,
        }
    }

    /// `column` and every column known equal to it.
    fn equivalence_class(&self, column: &Column) -> Vec<Column> {
        let mut class = vec![column.clone()];
        let mut next = 0;
        while next < class.len() {
            let current = class[next].clone();
            for (a, b) in &self.equalities {
                let other = if *a == current {
                    b
                } else if *b == current {
                    a
                } else {
                    continue;
                };
                if !class.contains(other) {
                    class.push(other.clone());
                }
            }
            next += 1;
        }
        class
    }
}

/// The facts that hold on every output row of `plan`.
fn facts(plan: &LogicalPlan) -> Facts {
    match plan {
        LogicalPlan::Filter(filter) => {
            let mut found = facts(&filter.input);
            found.constraints.extend(
                split_conjunction_owned(filter.predicate.clone())
                    .iter()
                    .filter_map(Constraint::try_from_predicate),
            );
            found
        }
        LogicalPlan::Projection(projection) => {
            renamed_facts(&projection.input, &projection.expr, &projection.schema)
        }
        // DataFusion folds repeated grouping expressions into one output column, so output
        // `i` is grouping expression `i` only when none repeats.
        LogicalPlan::Aggregate(aggregate)
            if aggregate.schema.fields().len()
                != aggregate.group_expr.len() + aggregate.aggr_expr.len() =>
        {
            Facts::default()
        }
        LogicalPlan::Aggregate(aggregate) => {
            if aggregate
                .group_expr
                .iter()
                .any(|e| matches!(e, Expr::GroupingSet(_)))
            {
                return Facts::default();
            }
            renamed_facts(&aggregate.input, &aggregate.group_expr, &aggregate.schema)
        }
        LogicalPlan::SubqueryAlias(alias) => {
            let input_schema = alias.input.schema();
            if input_schema.fields().len() != alias.schema.fields().len() {
                return Facts::default();
            }
            let renames: HashMap<Column, Vec<Column>> = (0..alias.schema.fields().len())
                .map(|i| {
                    (
                        column_at(input_schema, i),
                        vec![column_at(&alias.schema, i)],
                    )
                })
                .collect();
            facts(&alias.input).renamed(&renames)
        }
        LogicalPlan::Sort(sort) => facts(&sort.input),
        LogicalPlan::Limit(limit) => facts(&limit.input),
        LogicalPlan::Distinct(Distinct::All(input)) => facts(input),
        LogicalPlan::Window(window) => facts(&window.input),
        LogicalPlan::Join(join) => join_output_facts(join),
        _ => Facts::default(),
    }
}

/// Facts of `input` carried to the output of a Projection or an Aggregate whose expression
/// `i` names output field `i`: only plain (possibly aliased) columns carry them.
fn renamed_facts(input: &LogicalPlan, exprs: &[Expr], schema: &DFSchema) -> Facts {
    if exprs.len() > schema.fields().len() {
        return Facts::default();
    }
    let mut renames: HashMap<Column, Vec<Column>> = HashMap::new();
    for (i, expr) in exprs.iter().enumerate() {
        if let Expr::Column(column) = expr.clone().unalias() {
            renames
                .entry(column)
                .or_default()
                .push(column_at(schema, i));
        }
    }
    if renames.is_empty() {
        return Facts::default();
    }
    facts(input).renamed(&renames)
}

/// Only the sides whose columns are never null-extended keep their facts; an inner join's ON
/// clause and keys hold on its output too.
fn join_output_facts(join: &Join) -> Facts {
    match join.join_type {
        JoinType::Inner => {
            let mut found = facts(&join.left);
            found.extend(facts(&join.right));
            found.constraints.extend(on_clause_constraints(join));
            if !join.null_aware && join.null_equality == NullEquality::NullEqualsNothing {
                found.equalities.extend(column_keys(join));
            }
            found
        }
        JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
            facts(&join.left)
        }
        JoinType::Right | JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
            facts(&join.right)
        }
        JoinType::Full => Facts::default(),
    }
}

fn on_clause_constraints(join: &Join) -> Vec<Constraint> {
    join.filter
        .clone()
        .map(split_conjunction_owned)
        .unwrap_or_default()
        .iter()
        .filter_map(Constraint::try_from_predicate)
        .collect()
}

/// Column of field `index` of `schema`, as an expression in a parent would name it.
fn column_at(schema: &DFSchema, index: usize) -> Column {
    let (qualifier, field) = schema.qualified_field(index);
    Column::new(qualifier.cloned(), field.name())
}

/// Which inputs of a join may lose rows that fail a copied predicate without changing the
/// answer: those whose rows without a match are dropped. `(left, right)`.
fn filterable_sides(join: &Join) -> (bool, bool) {
    if join.null_aware || join.null_equality != NullEquality::NullEqualsNothing {
        return (false, false);
    }
    match join.join_type {
        JoinType::Inner | JoinType::LeftSemi | JoinType::RightSemi => (true, true),
        JoinType::Left | JoinType::LeftAnti => (false, true),
        JoinType::Right | JoinType::RightAnti => (true, false),
        // A mark join keeps every row and marks whether it matched; a full join keeps all.
        JoinType::Full | JoinType::LeftMark | JoinType::RightMark => (false, false),
    }
}

/// Key pairs `(left column, right column)` of the same, non-floating-point type.
fn column_keys(join: &Join) -> Vec<(Column, Column)> {
    let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
    join.on
        .iter()
        .filter_map(|(l, r)| match (l, r) {
            (Expr::Column(l_column), Expr::Column(r_column)) => {
                let (l_type, r_type) = (
                    l.get_type(left_schema).ok()?,
                    r.get_type(right_schema).ok()?,
                );
                let comparable = l_type == r_type && !is_floating(&l_type);
                comparable.then(|| (l_column.clone(), r_column.clone()))
            }
            _ => None,
        })
        .collect()
}

fn is_floating(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    )
}

/// The join with the inferred Filters on its inputs, or `None` when nothing new is known.
/// `above` holds the constraints of a Filter right above an inner join.
fn infer_into_join(join: &Join, above: &[Constraint]) -> DFResult<Option<LogicalPlan>> {
    let (left_filterable, right_filterable) = filterable_sides(join);
    if !left_filterable && !right_filterable {
        return Ok(None);
    }
    let keys = column_keys(join);
    if keys.is_empty() {
        return Ok(None);
    }
    let (left_schema, right_schema) = (join.left.schema(), join.right.schema());
    let on_clause = on_clause_constraints(join);
    // What is known about each side: its own rows, the ON clause's conditions on a match, and
    // the Filter above (which only reaches this function for inner joins).
    let known = |input: &LogicalPlan, schema: &DFSchema| -> Facts {
        let mut found = facts(input);
        found.constraints.extend(
            on_clause
                .iter()
                .chain(above)
                .filter(|c| schema.has_column(&c.column))
                .cloned(),
        );
        found
    };
    let left_known = known(&join.left, left_schema);
    let right_known = known(&join.right, right_schema);

    let mut to_left = Vec::new();
    let mut to_right = Vec::new();
    if right_filterable {
        let pairs: Vec<(&Column, &Column)> = keys.iter().map(|(l, r)| (l, r)).collect();
        to_right = copies(&left_known, &right_known, &pairs)?;
    }
    if left_filterable {
        let pairs: Vec<(&Column, &Column)> = keys.iter().map(|(l, r)| (r, l)).collect();
        to_left = copies(&right_known, &left_known, &pairs)?;
    }
    if to_left.is_empty() && to_right.is_empty() {
        return Ok(None);
    }
    let new_join = LogicalPlan::Join(Join {
        left: Arc::new(with_filter(to_left, join.left.as_ref().clone())?),
        right: Arc::new(with_filter(to_right, join.right.as_ref().clone())?),
        ..join.clone()
    });
    Ok(Some(new_join))
}

/// The predicates to add on the target side: every source constraint on a column equal to a
/// key's source column, moved to every target column equal to the key's target column, unless
/// the target knows it already. `IS NOT NULL` only when nothing else is known about that column.
fn copies(source: &Facts, target: &Facts, keys: &[(&Column, &Column)]) -> DFResult<Vec<Expr>> {
    let mut new: Vec<Constraint> = Vec::new();
    for (from, to) in keys {
        let from_columns = source.equivalence_class(from);
        let to_columns = target.equivalence_class(to);
        let sourced = source
            .constraints
            .iter()
            .filter(|c| from_columns.contains(&c.column));
        for constraint in sourced {
            for to_column in &to_columns {
                let copy = constraint.renamed(to_column)?;
                if !target.constraints.contains(&copy) && !new.contains(&copy) {
                    new.push(copy);
                }
            }
        }
    }
    let known_otherwise = |column: &Column| {
        target
            .constraints
            .iter()
            .chain(new.iter())
            .any(|c| &c.column == column && !c.is_not_null())
    };
    Ok(new
        .iter()
        .filter(|c| !c.is_not_null() || !known_otherwise(&c.column))
        .map(|c| c.predicate.clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_expr::{cast, col, lit, LogicalPlanBuilder, ScalarUDF};

    use super::*;
    use crate::rules::PushDownFilter;
    use crate::test_util::{abc, assert_unchanged, optimized, run, scan, Random};

    /// `r(x Int32, y Utf8)`.
    fn xy(name: &str) -> LogicalPlanBuilder {
        scan(name, &[("x", DataType::Int32), ("y", DataType::Utf8)])
    }

    /// `l` (filtered by `left_filter`) joined with `r` (filtered by `right_filter`) on `l.a = r.x`.
    fn join(
        join_type: JoinType,
        left_filter: Option<Expr>,
        right_filter: Option<Expr>,
        on_filter: Option<Expr>,
    ) -> LogicalPlan {
        let mut left = abc("l");
        if let Some(predicate) = left_filter {
            left = left.filter(predicate).unwrap();
        }
        let mut right = xy("r");
        if let Some(predicate) = right_filter {
            right = right.filter(predicate).unwrap();
        }
        left.join(
            right.build().unwrap(),
            join_type,
            (vec!["a"], vec!["x"]),
            on_filter,
        )
        .unwrap()
        .build()
        .unwrap()
    }

    #[test]
    fn inner_join_mirrors_key_predicates_to_the_other_side() {
        let predicate = col("l.a")
            .eq(lit(5i32))
            .and(lit(10i32).lt(col("l.a")))
            .and(col("l.a").in_list(vec![lit(1i32), lit(2i32)], false))
            .and(col("l.a").between(lit(0i32), lit(9i32)))
            .and(col("l.b").gt(lit(3i32)))
            .and(col("l.a").gt(col("l.b")));
        let plan = join(JoinType::Inner, Some(predicate), None, None);
        // The predicates on the key go right; `l.b > 3` and `l.a > l.b` are not about the key
        // alone; `10 < l.a` is normalized to `r.x > 10`.
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        Inner Join: l.a = r.x
          Filter: l.a = Int32(5) AND Int32(10) < l.a AND l.a IN ([Int32(1), Int32(2)]) AND l.a BETWEEN Int32(0) AND Int32(9) AND l.b > Int32(3) AND l.a > l.b
            TableScan: l
          Filter: r.x = Int32(5) AND r.x > Int32(10) AND r.x IN ([Int32(1), Int32(2)]) AND r.x BETWEEN Int32(0) AND Int32(9)
            TableScan: r
        ");

        // And from right to left, merged into the Filter already there.
        let plan = join(
            JoinType::Inner,
            Some(col("l.b").eq(lit(1i32))),
            Some(col("r.x").gt_eq(lit(7i32))),
            None,
        );
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        Inner Join: l.a = r.x
          Filter: l.b = Int32(1) AND l.a >= Int32(7)
            TableScan: l
          Filter: r.x >= Int32(7)
            TableScan: r
        ");
    }

    #[test]
    fn filter_above_an_inner_join_and_its_on_clause_are_sources() {
        let inner = join(
            JoinType::Inner,
            None,
            None,
            Some(col("l.a").not_eq(lit(3i32))),
        );
        let plan = LogicalPlanBuilder::from(inner)
            .filter(col("r.x").lt(lit(100i32)))
            .unwrap()
            .build()
            .unwrap();
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        Filter: r.x < Int32(100)
          Inner Join: l.a = r.x Filter: l.a != Int32(3)
            Filter: l.a < Int32(100)
              TableScan: l
            Filter: r.x != Int32(3)
              TableScan: r
        ");
    }

    #[test]
    fn left_join_copies_only_to_the_null_supplying_side() {
        // A filter on the preserved left input may go to the right input: right rows failing
        // it could only match left rows that are not there.
        let plan = join(JoinType::Left, Some(col("l.a").gt(lit(4i32))), None, None);
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        Left Join: l.a = r.x
          Filter: l.a > Int32(4)
            TableScan: l
          Filter: r.x > Int32(4)
            TableScan: r
        ");

        // A filter on the right input must not reach the left one: left rows without a match
        // are kept, null-extended. Neither may a right-side condition of the ON clause.
        let plan = join(JoinType::Left, None, Some(col("r.x").eq(lit(3i32))), None);
        assert_unchanged(&InferFiltersFromJoinKeys, plan);
        let plan = join(JoinType::Left, None, None, Some(col("r.x").eq(lit(3i32))));
        assert_unchanged(&InferFiltersFromJoinKeys, plan);

        // A left-side condition of the ON clause limits which right rows can match.
        let plan = join(JoinType::Left, None, None, Some(col("l.a").eq(lit(3i32))));
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        Left Join: l.a = r.x Filter: l.a = Int32(3)
          TableScan: l
          Filter: r.x = Int32(3)
            TableScan: r
        ");

        // A right join is the mirror image.
        let plan = join(JoinType::Right, Some(col("l.a").eq(lit(1i32))), None, None);
        assert_unchanged(&InferFiltersFromJoinKeys, plan);
    }

    #[test]
    fn semi_anti_and_full_joins() {
        let right_filter = || Some(col("r.x").eq(lit(3i32)));
        // Semi: a left row survives only with a match, so the right side's key filter holds.
        let plan = join(JoinType::LeftSemi, None, right_filter(), None);
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        LeftSemi Join: l.a = r.x
          Filter: l.a = Int32(3)
            TableScan: l
          Filter: r.x = Int32(3)
            TableScan: r
        ");
        // Anti: left rows without a match are the answer; nothing goes left.
        assert_unchanged(
            &InferFiltersFromJoinKeys,
            join(JoinType::LeftAnti, None, right_filter(), None),
        );
        // ... but right rows that cannot match any left row may go.
        let plan = join(
            JoinType::LeftAnti,
            Some(col("l.a").eq(lit(3i32))),
            None,
            None,
        );
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        LeftAnti Join: l.a = r.x
          Filter: l.a = Int32(3)
            TableScan: l
          Filter: r.x = Int32(3)
            TableScan: r
        ");
        // A null-aware anti join (NOT IN) must keep the right side's NULLs.
        let LogicalPlan::Join(anti) = join(
            JoinType::LeftAnti,
            Some(col("l.a").eq(lit(3i32))),
            None,
            None,
        ) else {
            unreachable!("join() builds a Join");
        };
        let null_aware = LogicalPlan::Join(Join {
            null_aware: true,
            ..anti
        });
        assert_unchanged(&InferFiltersFromJoinKeys, null_aware);
        // Full: both sides are preserved.
        assert_unchanged(
            &InferFiltersFromJoinKeys,
            join(
                JoinType::Full,
                Some(col("l.a").eq(lit(3i32))),
                right_filter(),
                None,
            ),
        );
    }

    #[test]
    fn second_application_changes_nothing_even_after_push_down() {
        let plan = join(
            JoinType::Inner,
            Some(col("l.a").eq(lit(5i32))),
            Some(col("r.x").lt(lit(9i32))),
            None,
        );
        let once = run(&InferFiltersFromJoinKeys, plan).data;
        insta::assert_snapshot!(once.display_indent().to_string(), @r"
        Inner Join: l.a = r.x
          Filter: l.a = Int32(5) AND l.a < Int32(9)
            TableScan: l
          Filter: r.x < Int32(9) AND r.x = Int32(5)
            TableScan: r
        ");
        assert_unchanged(&InferFiltersFromJoinKeys, once.clone());

        // The same once the copies are in the scans, below a projection and an alias.
        let mut pushed = LogicalPlanBuilder::from(once)
            .project(vec![col("l.a"), col("r.x").alias("k")])
            .unwrap()
            .alias("s")
            .unwrap()
            .join(
                xy("t").build().unwrap(),
                JoinType::Inner,
                (vec!["s.k"], vec!["t.x"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        pushed = push_down(pushed);
        // Through the projection and the alias, `s.k` is known to be 5 and below 9: `t.x` too.
        let inferred = run(&InferFiltersFromJoinKeys, pushed);
        assert!(inferred.transformed);
        let text = inferred.data.display_indent().to_string();
        assert!(
            text.contains("Filter: t.x = Int32(5) AND t.x < Int32(9)\n    TableScan: t"),
            "{text}"
        );
        // And once more pushed into the scans, nothing new is found.
        assert_unchanged(&InferFiltersFromJoinKeys, push_down(inferred.data));
    }

    /// Runs `push_down_filter` to its fixed point.
    fn push_down(plan: LogicalPlan) -> LogicalPlan {
        let mut plan = plan;
        for _ in 0..20 {
            let result = run(&PushDownFilter, plan);
            plan = result.data;
            if !result.transformed {
                return plan;
            }
        }
        panic!("push_down_filter did not reach a fixed point");
    }

    /// A three-way chain `a.a = b.x AND b.x = c.x` with a filter on `a` only.
    fn pushed_plan() -> LogicalPlan {
        abc("a")
            .filter(col("a.a").eq(lit(1i32)))
            .unwrap()
            .join(
                xy("b").build().unwrap(),
                JoinType::Inner,
                (vec!["a.a"], vec!["b.x"]),
                None,
            )
            .unwrap()
            .join(
                xy("c").build().unwrap(),
                JoinType::Inner,
                (vec!["b.x"], vec!["c.x"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap()
    }

    #[test]
    fn transitive_through_a_chain_of_joins() {
        let once = run(&InferFiltersFromJoinKeys, pushed_plan()).data;
        assert_unchanged(&InferFiltersFromJoinKeys, once);
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, pushed_plan()), @r"
        Inner Join: b.x = c.x
          Inner Join: a.a = b.x
            Filter: a.a = Int32(1)
              TableScan: a
            Filter: b.x = Int32(1)
              TableScan: b
          Filter: c.x = Int32(1)
            TableScan: c
        ");
    }

    #[test]
    fn into_every_column_equal_to_the_key_on_a_join_side() {
        // `(a JOIN b ON a.a = b.x) JOIN c ON b.x = c.x` with `c.x = 1`: the left side gets
        // both `b.x = 1` and `a.a = 1`, which push_down_filter then takes to each scan.
        let plan = abc("a")
            .join(
                xy("b").build().unwrap(),
                JoinType::Inner,
                (vec!["a.a"], vec!["b.x"]),
                None,
            )
            .unwrap()
            .join(
                xy("c")
                    .filter(col("c.x").eq(lit(1i32)))
                    .unwrap()
                    .build()
                    .unwrap(),
                JoinType::Inner,
                (vec!["b.x"], vec!["c.x"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        let once = run(&InferFiltersFromJoinKeys, plan).data;
        insta::assert_snapshot!(once.display_indent().to_string(), @r"
        Inner Join: b.x = c.x
          Filter: b.x = Int32(1) AND a.a = Int32(1)
            Inner Join: a.a = b.x
              TableScan: a
              TableScan: b
          Filter: c.x = Int32(1)
            TableScan: c
        ");
        let pushed = push_down(once);
        insta::assert_snapshot!(pushed.display_indent().to_string(), @r"
        Inner Join: b.x = c.x
          Inner Join: a.a = b.x
            Filter: a.a = Int32(1)
              TableScan: a, full_filters=[a.a = Int32(1)]
            Filter: b.x = Int32(1)
              TableScan: b, full_filters=[b.x = Int32(1)]
          Filter: c.x = Int32(1)
            TableScan: c, full_filters=[c.x = Int32(1)]
        ");
        assert_unchanged(&InferFiltersFromJoinKeys, pushed);
    }

    #[test]
    fn non_deterministic_and_subquery_free_only() {
        let random = ScalarUDF::new_from_impl(Random::default());
        let volatile = col("l.a").gt(cast(random.call(vec![]), DataType::Int32));
        assert_unchanged(
            &InferFiltersFromJoinKeys,
            join(JoinType::Inner, Some(volatile), None, None),
        );
        // A predicate that reads two columns is not about the key alone.
        let two_columns = col("l.a").eq(col("l.b"));
        assert_unchanged(
            &InferFiltersFromJoinKeys,
            join(JoinType::Inner, Some(two_columns), None, None),
        );
    }

    #[test]
    fn keys_of_different_types_are_skipped() {
        let left = abc("l").filter(col("l.a").eq(lit(5i32))).unwrap();
        let right = scan("r", &[("x", DataType::Int64)]);
        let plan = left
            .join_with_expr_keys(
                right.clone().build().unwrap(),
                JoinType::Inner,
                (vec![cast(col("l.a"), DataType::Int64)], vec![col("r.x")]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&InferFiltersFromJoinKeys, plan);
        let left = scan("l", &[("a", DataType::Int32)])
            .filter(col("l.a").eq(lit(5i32)))
            .unwrap();
        let plan = left
            .join(
                right.build().unwrap(),
                JoinType::Inner,
                (vec!["a"], vec!["x"]),
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        assert_unchanged(&InferFiltersFromJoinKeys, plan);
    }

    #[test]
    fn is_not_null_only_when_nothing_else_is_known() {
        let plan = join(JoinType::Inner, Some(col("l.a").is_not_null()), None, None);
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        Inner Join: l.a = r.x
          Filter: l.a IS NOT NULL
            TableScan: l
          Filter: r.x IS NOT NULL
            TableScan: r
        ");
        let plan = join(
            JoinType::Inner,
            Some(col("l.a").is_not_null().and(col("l.a").gt(lit(2i32)))),
            None,
            None,
        );
        insta::assert_snapshot!(optimized(&InferFiltersFromJoinKeys, plan), @r"
        Inner Join: l.a = r.x
          Filter: l.a IS NOT NULL AND l.a > Int32(2)
            TableScan: l
          Filter: r.x > Int32(2)
            TableScan: r
        ");
        // The join keys alone imply no filter.
        assert_unchanged(
            &InferFiltersFromJoinKeys,
            join(JoinType::Inner, None, None, None),
        );
    }
}
