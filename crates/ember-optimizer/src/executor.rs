//! `RuleExecutor`: runs named batches of rules, once or to a fixed point, and records what changed.

use std::fmt;
use std::sync::Arc;

use datafusion_expr::LogicalPlan;
use ember_common::Result;

use crate::rules::{
    ColumnPruning, ConstantFolding, DecorrelateLateralJoin, DecorrelatePredicateSubquery,
    EliminateLimit, EliminateProjection, EliminateSorts, PushDownFilter, PushDownLimit,
    ScalarSubqueryToJoin, SimplifyExpressions,
};
use crate::rules::{
    ExtractCommonOrPredicates, InferFiltersFromJoinKeys, OptimizeSubqueries,
    PushDownLeftSemiAntiJoin, ReorderJoins,
};
use crate::{OptimizerContext, Rule};

/// How often a batch runs its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Every rule runs once, in order.
    Once,
    /// The rules run in order, again and again, until one whole pass changes nothing or the
    /// given number of passes has run (`FixedPoint(0)` runs one pass).
    FixedPoint(usize),
}

/// A named group of rules run with one [`Strategy`], like Catalyst's `Batch`.
pub struct Batch {
    /// Shown by `EXPLAIN EXTENDED` beside every rule application.
    pub name: String,
    pub strategy: Strategy,
    pub rules: Vec<Arc<dyn Rule>>,
}

impl Batch {
    /// A batch of `rules` run with `strategy`.
    pub fn new(name: impl Into<String>, strategy: Strategy, rules: Vec<Arc<dyn Rule>>) -> Self {
        Self {
            name: name.into(),
            strategy,
            rules,
        }
    }
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules: Vec<&str> = self.rules.iter().map(|rule| rule.name()).collect();
        f.debug_struct("Batch")
            .field("name", &self.name)
            .field("strategy", &self.strategy)
            .field("rules", &rules)
            .finish()
    }
}

/// One rule application that changed the plan, with the plan it produced.
#[derive(Debug, Clone)]
pub struct RuleApplication {
    pub batch: String,
    pub rule: String,
    /// 1-based pass of the batch in which the rule fired (always 1 for `Once` batches).
    pub iteration: usize,
    pub plan: LogicalPlan,
}

/// Runs batches of rules in order over a logical plan.
#[derive(Debug, Default)]
pub struct RuleExecutor {
    batches: Vec<Batch>,
}

impl RuleExecutor {
    /// An executor running `batches` in order.
    pub fn new(batches: Vec<Batch>) -> Self {
        Self { batches }
    }

    /// The batches, in the order they run.
    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }

    /// Optimizes `plan`, returning the final plan and every rule application that changed it,
    /// in order.
    ///
    /// In debug builds every application is checked to keep the names and types of the root's
    /// fields; a rule that breaks this is a bug reported as an internal error naming the rule.
    pub fn optimize(
        &self,
        plan: LogicalPlan,
        cx: &OptimizerContext,
    ) -> Result<(LogicalPlan, Vec<RuleApplication>)> {
        let mut plan = plan;
        let mut applications = Vec::new();
        for batch in &self.batches {
            let max_passes = match batch.strategy {
                Strategy::Once => 1,
                Strategy::FixedPoint(max) => max.max(1),
            };
            let mut pass = 0;
            loop {
                pass += 1;
                let mut changed_in_pass = false;
                for rule in &batch.rules {
                    #[cfg(debug_assertions)]
                    let before = plan.schema().clone();
                    let result = rule.apply(plan, cx)?;
                    plan = result.data;
                    if !result.transformed {
                        continue;
                    }
                    #[cfg(debug_assertions)]
                    check_schema_kept(&before, plan.schema(), &batch.name, rule.name())?;
                    changed_in_pass = true;
                    log::trace!(
                        "rule {} of batch {} changed the plan:\n{}",
                        rule.name(),
                        batch.name,
                        plan.display_indent()
                    );
                    applications.push(RuleApplication {
                        batch: batch.name.clone(),
                        rule: rule.name().to_string(),
                        iteration: pass,
                        plan: plan.clone(),
                    });
                }
                if !changed_in_pass {
                    break;
                }
                if pass >= max_passes {
                    if matches!(batch.strategy, Strategy::FixedPoint(_)) {
                        log::warn!(
                            "optimizer batch '{}' did not reach a fixed point after {} passes",
                            batch.name,
                            max_passes
                        );
                    }
                    break;
                }
            }
        }
        Ok((plan, applications))
    }
}

/// The rules must not change what the query returns: same field names and types at the root.
#[cfg(debug_assertions)]
fn check_schema_kept(
    before: &datafusion_common::DFSchema,
    after: &datafusion_common::DFSchema,
    batch: &str,
    rule: &str,
) -> Result<()> {
    let describe = |schema: &datafusion_common::DFSchema| -> Vec<String> {
        schema
            .fields()
            .iter()
            .map(|field| format!("{}: {}", field.name(), field.data_type()))
            .collect()
    };
    let (before, after) = (describe(before), describe(after));
    if before != after {
        return Err(ember_common::EmberError::internal(format!(
            "optimizer rule '{rule}' in batch '{batch}' changed the output schema from [{}] to [{}]",
            before.join(", "),
            after.join(", ")
        )));
    }
    Ok(())
}

/// Ember's batches, in order:
///
/// | batch | strategy | rules |
/// |---|---|---|
/// | Simplification | Once | constant_folding, simplify_expressions |
/// | Subquery Rewrite | FixedPoint(100) | decorrelate_lateral_join, decorrelate_predicate_subquery, scalar_subquery_to_join |
/// | Operator Optimization | FixedPoint(100) | push_down_filter, push_down_left_semi_anti_join, push_down_limit, eliminate_limit, eliminate_sorts, constant_folding, simplify_expressions |
/// | Infer Filters | Once | infer_filters_from_join_keys |
/// | Join Reorder | Once | extract_common_or_predicates, reorder_joins |
/// | Join Predicate Pushdown | FixedPoint(100) | push_down_filter |
/// | Column Pruning | Once | column_pruning, eliminate_projection |
/// | Subquery Optimization | Once | optimize_subqueries (the batches above, on the plans of uncorrelated scalar subqueries) |
pub fn default_optimizer() -> RuleExecutor {
    RuleExecutor::new(vec![
        Batch::new(
            "Simplification",
            Strategy::Once,
            vec![Arc::new(ConstantFolding), Arc::new(SimplifyExpressions)],
        ),
        Batch::new(
            "Subquery Rewrite",
            Strategy::FixedPoint(100),
            vec![
                Arc::new(DecorrelateLateralJoin),
                Arc::new(DecorrelatePredicateSubquery),
                Arc::new(ScalarSubqueryToJoin),
            ],
        ),
        Batch::new(
            "Operator Optimization",
            Strategy::FixedPoint(100),
            vec![
                Arc::new(PushDownFilter),
                Arc::new(PushDownLeftSemiAntiJoin),
                Arc::new(PushDownLimit),
                Arc::new(EliminateLimit),
                Arc::new(EliminateSorts),
                Arc::new(ConstantFolding),
                Arc::new(SimplifyExpressions),
            ],
        ),
        // Once: the copies are pushed below where the rule can see them (see its doc).
        Batch::new(
            "Infer Filters",
            Strategy::Once,
            vec![Arc::new(InferFiltersFromJoinKeys)],
        ),
        Batch::new(
            "Join Reorder",
            Strategy::Once,
            vec![Arc::new(ExtractCommonOrPredicates), Arc::new(ReorderJoins)],
        ),
        Batch::new(
            "Join Predicate Pushdown",
            Strategy::FixedPoint(100),
            vec![Arc::new(PushDownFilter)],
        ),
        Batch::new(
            "Column Pruning",
            Strategy::Once,
            vec![Arc::new(ColumnPruning), Arc::new(EliminateProjection)],
        ),
        Batch::new(
            "Subquery Optimization",
            Strategy::Once,
            vec![Arc::new(OptimizeSubqueries)],
        ),
    ])
}

#[cfg(test)]
mod tests {
    use datafusion_common::arrow::datatypes::DataType;
    use datafusion_common::tree_node::Transformed;
    use datafusion_expr::test::function_stub::count;
    use datafusion_expr::{col, lit, Expr};

    use super::*;
    use crate::test_util::{abc, scan};

    /// Removes the Filter at the root, if any: one step of progress per application.
    struct RemoveRootFilter;

    impl Rule for RemoveRootFilter {
        fn name(&self) -> &str {
            "remove_root_filter"
        }

        fn apply(
            &self,
            plan: LogicalPlan,
            _cx: &OptimizerContext,
        ) -> Result<Transformed<LogicalPlan>> {
            match plan {
                LogicalPlan::Filter(filter) => {
                    Ok(Transformed::yes(Arc::unwrap_or_clone(filter.input)))
                }
                other => Ok(Transformed::no(other)),
            }
        }
    }

    /// Replaces the root by a projection of its first column: breaks the schema.
    struct KeepFirstColumn;

    impl Rule for KeepFirstColumn {
        fn name(&self) -> &str {
            "keep_first_column"
        }

        fn apply(
            &self,
            plan: LogicalPlan,
            _cx: &OptimizerContext,
        ) -> Result<Transformed<LogicalPlan>> {
            let first = Expr::Column(datafusion_common::Column::from(
                plan.schema().qualified_field(0),
            ));
            let projected = datafusion_expr::LogicalPlanBuilder::from(plan)
                .project(vec![first])?
                .build()?;
            Ok(Transformed::yes(projected))
        }
    }

    fn three_filters() -> LogicalPlan {
        abc("t")
            .filter(col("a").gt(lit(1i32)))
            .unwrap()
            .filter(col("b").gt(lit(2i32)))
            .unwrap()
            .filter(col("c").eq(lit("x")))
            .unwrap()
            .build()
            .unwrap()
    }

    fn single_batch(strategy: Strategy) -> RuleExecutor {
        RuleExecutor::new(vec![Batch::new(
            "Test",
            strategy,
            vec![Arc::new(RemoveRootFilter)],
        )])
    }

    #[test]
    fn fixed_point_runs_until_no_rule_changes_the_plan() {
        let cx = OptimizerContext::default();
        let (plan, applications) = single_batch(Strategy::FixedPoint(10))
            .optimize(three_filters(), &cx)
            .unwrap();
        assert_eq!(plan.display_indent().to_string(), "TableScan: t");
        let recorded: Vec<(&str, &str, usize)> = applications
            .iter()
            .map(|a| (a.batch.as_str(), a.rule.as_str(), a.iteration))
            .collect();
        assert_eq!(
            recorded,
            vec![
                ("Test", "remove_root_filter", 1),
                ("Test", "remove_root_filter", 2),
                ("Test", "remove_root_filter", 3),
            ]
        );
        // Each application records the plan it produced.
        insta::assert_snapshot!(applications[0].plan.display_indent().to_string(), @r"
        Filter: t.b > Int32(2)
          Filter: t.a > Int32(1)
            TableScan: t
        ");
    }

    #[test]
    fn fixed_point_stops_at_its_limit_and_once_runs_once() {
        let cx = OptimizerContext::default();
        let (plan, applications) = single_batch(Strategy::FixedPoint(2))
            .optimize(three_filters(), &cx)
            .unwrap();
        assert_eq!(applications.len(), 2);
        assert_eq!(
            plan.display_indent().to_string(),
            "Filter: t.a > Int32(1)\n  TableScan: t"
        );
        let (_, applications) = single_batch(Strategy::Once)
            .optimize(three_filters(), &cx)
            .unwrap();
        assert_eq!(applications.len(), 1);
    }

    #[test]
    fn rules_that_change_nothing_are_not_recorded() {
        let plan = abc("t").build().unwrap();
        let (_, applications) = single_batch(Strategy::FixedPoint(10))
            .optimize(plan, &OptimizerContext::default())
            .unwrap();
        assert!(applications.is_empty());
    }

    #[cfg(debug_assertions)]
    #[test]
    fn a_rule_changing_the_schema_is_an_internal_error_naming_it() {
        let executor = RuleExecutor::new(vec![Batch::new(
            "Broken",
            Strategy::Once,
            vec![Arc::new(KeepFirstColumn)],
        )]);
        let error = executor
            .optimize(abc("t").build().unwrap(), &OptimizerContext::default())
            .unwrap_err();
        assert!(
            matches!(error, ember_common::EmberError::Internal(_)),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("keep_first_column"), "{message}");
        assert!(message.contains("Broken"), "{message}");
    }

    #[test]
    fn default_optimizer_turns_comma_joins_into_equi_joins_and_prunes() {
        let a = scan(
            "a",
            &[
                ("x", DataType::Int32),
                ("z", DataType::Int32),
                ("w", DataType::Utf8),
            ],
        );
        let b = scan(
            "b",
            &[
                ("x", DataType::Int32),
                ("y", DataType::Int32),
                ("v", DataType::Utf8),
            ],
        );
        let c = scan("c", &[("y", DataType::Int32), ("u", DataType::Utf8)]);
        // SELECT a.w, c.u FROM a, b, c WHERE a.x = b.x AND b.y = c.y AND a.z > 2 + 3
        let plan = a
            .cross_join(b.build().unwrap())
            .unwrap()
            .cross_join(c.build().unwrap())
            .unwrap()
            .filter(
                col("a.x")
                    .eq(col("b.x"))
                    .and(col("b.y").eq(col("c.y")))
                    .and(col("a.z").gt(lit(2i32) + lit(3i32))),
            )
            .unwrap()
            .project(vec![col("a.w"), col("c.u")])
            .unwrap()
            .build()
            .unwrap();
        let (plan, applications) = default_optimizer()
            .optimize(plan, &OptimizerContext::default())
            .unwrap();
        insta::assert_snapshot!(plan.display_indent().to_string(), @r"
        Projection: a.w, c.u
          Inner Join: c.y = b.y
            TableScan: c
            Inner Join: b.x = a.x
              TableScan: b projection=[x, y]
              Projection: a.x, a.w
                Filter: a.z > Int32(5)
                  TableScan: a, full_filters=[a.z > Int32(5)]
        ");
        let rules: Vec<String> = applications
            .iter()
            .map(|a| format!("{}/{}", a.batch, a.rule))
            .collect();
        assert_eq!(
            rules,
            vec![
                "Simplification/constant_folding",
                "Operator Optimization/push_down_filter",
                "Join Reorder/reorder_joins",
                "Column Pruning/column_pruning",
                "Column Pruning/eliminate_projection",
            ]
        );
    }

    #[test]
    fn default_optimizer_copies_key_filters_across_joins_into_both_scans() {
        let a = scan("a", &[("x", DataType::Int32), ("w", DataType::Utf8)]);
        let b = scan("b", &[("x", DataType::Int32), ("v", DataType::Utf8)]);
        // SELECT a.w, b.v FROM a, b WHERE a.x = b.x AND a.x = 3
        let plan = a
            .cross_join(b.build().unwrap())
            .unwrap()
            .filter(col("a.x").eq(col("b.x")).and(col("a.x").eq(lit(3i32))))
            .unwrap()
            .project(vec![col("a.w"), col("b.v")])
            .unwrap()
            .build()
            .unwrap();
        let (plan, applications) = default_optimizer()
            .optimize(plan, &OptimizerContext::default())
            .unwrap();
        insta::assert_snapshot!(plan.display_indent().to_string(), @r"
        Projection: a.w, b.v
          Inner Join: a.x = b.x
            Filter: a.x = Int32(3)
              TableScan: a, full_filters=[a.x = Int32(3)]
            Filter: b.x = Int32(3)
              TableScan: b, full_filters=[b.x = Int32(3)]
        ");
        assert!(applications
            .iter()
            .any(|a| a.batch == "Infer Filters" && a.rule == "infer_filters_from_join_keys"));
    }

    #[test]
    fn default_optimizer_count_star_reads_one_column() {
        let plan = abc("t")
            .aggregate(Vec::<Expr>::new(), vec![count(lit(1i64)).alias("count(*)")])
            .unwrap()
            .project(vec![col("count(*)")])
            .unwrap()
            .build()
            .unwrap();
        let (plan, _) = default_optimizer()
            .optimize(plan, &OptimizerContext::default())
            .unwrap();
        insta::assert_snapshot!(plan.display_indent().to_string(), @r"
        Aggregate: groupBy=[[]], aggr=[[COUNT(Int64(1)) AS count(*)]]
          TableScan: t projection=[a]
        ");
    }
}
