//! Lowering a physical plan onto the RDD core: the plan is cut at every `ExchangeExec`; each
//! piece becomes a `PlanRdd` whose partitions run that fragment, and each exchange becomes a
//! `ShuffleDependency` read back by a `ShuffleReadExec`.
//!
//! ```text
//!   HashAggregateExec(Final)                 stage 1: PlanRdd [HashAggregateExec(Final)
//!     ExchangeExec hash(k)        ==>                          <- ShuffleReadExec shuffle 0]
//!       HashAggregateExec(Partial)           stage 0: PlanRdd [HashAggregateExec(Partial)
//!         ScanExec                                              <- ScanExec], writes shuffle 0
//! ```

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{RddId, Result, ShuffleId};
use ember_core::EmberContext;
use ember_core::{BatchIter, Dependency, Rdd, ShuffleDependency, TaskContext};

use crate::operators::exchange::{ExchangeExec, ShuffleReadExec};
use crate::plan::{ExecutionPlan, Partitioning};

/// An RDD whose partition i is partition i of a plan fragment (a stage's operators).
#[derive(Debug)]
pub struct PlanRdd {
    id: RddId,
    fragment: Arc<dyn ExecutionPlan>,
    dependencies: Vec<Dependency>,
    /// For the map side of a shuffle, how the exchange above it partitions its rows.
    exchange: Option<Partitioning>,
}

impl PlanRdd {
    /// An RDD running `fragment`, e.g. one an executor decoded from a task.
    pub fn new(id: RddId, fragment: Arc<dyn ExecutionPlan>, dependencies: Vec<Dependency>) -> Self {
        PlanRdd {
            id,
            fragment,
            dependencies,
            exchange: None,
        }
    }

    pub fn fragment(&self) -> &Arc<dyn ExecutionPlan> {
        &self.fragment
    }

    /// The partitioning of the exchange this fragment feeds, when it is a shuffle's map side.
    pub fn exchange(&self) -> Option<&Partitioning> {
        self.exchange.as_ref()
    }
}

impl Rdd for PlanRdd {
    fn id(&self) -> RddId {
        self.id
    }

    fn name(&self) -> String {
        format!("PlanRdd[{}] {}", self.id.0, self.fragment.name())
    }

    fn schema(&self) -> SchemaRef {
        self.fragment.schema()
    }

    fn num_partitions(&self) -> usize {
        self.fragment.output_partitioning().partition_count()
    }

    fn dependencies(&self) -> Vec<Dependency> {
        self.dependencies.clone()
    }

    fn compute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        self.fragment.execute(partition, cx)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// Builds the RDD lineage of a physical plan; returns the final RDD and the shuffles it uses.
pub fn lower_to_rdd(
    plan: Arc<dyn ExecutionPlan>,
    ctx: &EmberContext,
) -> Result<(Arc<dyn Rdd>, Vec<ShuffleId>)> {
    lower_to_rdd_with(plan, ctx, &|fragment| Ok(fragment))
}

/// A stage fragment on its way into the RDD that runs it, e.g. through the wire format.
pub type FragmentTransform = dyn Fn(Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>>;

/// Like [`lower_to_rdd`], passing every stage fragment (cut at the exchanges, with shuffle
/// reads at its leaves) through `prepare` before it goes into its RDD: the session uses it to
/// send each fragment through the task wire format and run the decoded copy.
pub fn lower_to_rdd_with(
    plan: Arc<dyn ExecutionPlan>,
    ctx: &EmberContext,
    prepare: &FragmentTransform,
) -> Result<(Arc<dyn Rdd>, Vec<ShuffleId>)> {
    let mut shuffles = Vec::new();
    // An exchange at the root (`DISTRIBUTE BY` as the last step) is cut like any other: the
    // result stage reads its shuffle.
    let (fragment, dependencies) = cut_child(plan, ctx, &mut shuffles, prepare)?;
    let rdd: Arc<dyn Rdd> = Arc::new(PlanRdd {
        id: ctx.new_rdd_id(),
        fragment: prepare(fragment)?,
        dependencies,
        exchange: None,
    });
    Ok((rdd, shuffles))
}

/// Replaces every exchange below `plan` (not below another exchange) with a shuffle read.
fn cut(
    plan: Arc<dyn ExecutionPlan>,
    ctx: &EmberContext,
    shuffles: &mut Vec<ShuffleId>,
    prepare: &FragmentTransform,
) -> Result<(Arc<dyn ExecutionPlan>, Vec<Dependency>)> {
    let children = plan.children();
    if children.is_empty() {
        let dependencies = plan.rdd_dependencies();
        return Ok((plan, dependencies));
    }
    let mut new_children = Vec::with_capacity(children.len());
    let mut dependencies = Vec::new();
    for child in children {
        let (c, deps) = cut_child(child, ctx, shuffles, prepare)?;
        dependencies.extend(deps);
        new_children.push(c);
    }
    Ok((plan.with_new_children(new_children)?, dependencies))
}

/// `child` with the exchanges below it cut; an exchange itself becomes a shuffle read whose
/// map side is a stage of its own.
fn cut_child(
    child: Arc<dyn ExecutionPlan>,
    ctx: &EmberContext,
    shuffles: &mut Vec<ShuffleId>,
    prepare: &FragmentTransform,
) -> Result<(Arc<dyn ExecutionPlan>, Vec<Dependency>)> {
    let Some(exchange) = as_exchange(&child) else {
        return cut(child, ctx, shuffles, prepare);
    };
    let (map_fragment, map_dependencies) =
        cut(Arc::clone(exchange.input()), ctx, shuffles, prepare)?;
    let map_rdd: Arc<dyn Rdd> = Arc::new(PlanRdd {
        id: ctx.new_rdd_id(),
        fragment: prepare(map_fragment)?,
        dependencies: map_dependencies,
        exchange: Some(exchange.partitioning().clone()),
    });
    let shuffle_id = ctx.new_shuffle_id();
    shuffles.push(shuffle_id);
    let dependency = Dependency::Shuffle(Arc::new(ShuffleDependency {
        shuffle_id,
        rdd: map_rdd,
        partitioner: exchange.partitioner(),
    }));
    let read = Arc::new(ShuffleReadExec::new(
        shuffle_id,
        child.schema(),
        child.output_partitioning(),
    )) as Arc<dyn ExecutionPlan>;
    Ok((read, vec![dependency]))
}

fn as_exchange(plan: &Arc<dyn ExecutionPlan>) -> Option<&ExchangeExec> {
    // `name()` identifies the operator; the downcast below is then safe by construction.
    if plan.name() != "ExchangeExec" {
        return None;
    }
    let any: &dyn std::any::Any = plan.as_ref().as_any_ref();
    any.downcast_ref::<ExchangeExec>()
}

/// The physical plan with its stages, as EXPLAIN prints it: each stage's operators, and where
/// a stage reads the shuffle another stage writes.
pub fn explain_stages(plan: &Arc<dyn ExecutionPlan>) -> String {
    explain_stages_annotated(plan, &[])
}

/// Like [`explain_stages`], with `annotations[i]` after the header of stage `i` (for EXPLAIN
/// ANALYZE's run figures). Stages are numbered in the order [`lower_to_rdd`] creates their
/// shuffles, the result stage last.
pub fn explain_stages_annotated(plan: &Arc<dyn ExecutionPlan>, annotations: &[String]) -> String {
    let mut stages: Vec<String> = Vec::new();
    let root = describe_stage(plan, &mut stages);
    let note = |i: usize| match annotations.get(i) {
        Some(a) if !a.is_empty() => format!(" {a}"),
        _ => String::new(),
    };
    let mut out = String::new();
    for (i, s) in stages.iter().enumerate() {
        out.push_str(&format!("Stage {i} (ShuffleMapStage){}\n{s}", note(i)));
    }
    out.push_str(&format!(
        "Stage {} (ResultStage){}\n{root}",
        stages.len(),
        note(stages.len())
    ));
    out
}

fn describe_stage(plan: &Arc<dyn ExecutionPlan>, stages: &mut Vec<String>) -> String {
    let mut out = String::new();
    fn walk(
        plan: &Arc<dyn ExecutionPlan>,
        depth: usize,
        out: &mut String,
        stages: &mut Vec<String>,
    ) {
        out.push_str(&"  ".repeat(depth + 1));
        if let Some(exchange) = as_exchange(plan) {
            let child = describe_stage(exchange.input(), stages);
            stages.push(child);
            out.push_str(&format!(
                "ShuffleReadExec: {} <- Stage {} ({} tasks)\n",
                exchange.partitioner().describe(),
                stages.len() - 1,
                exchange.input().output_partitioning().partition_count()
            ));
            return;
        }
        out.push_str(&plan.describe());
        out.push('\n');
        for child in plan.children() {
            walk(&child, depth + 1, out, stages);
        }
    }
    walk(plan, 0, &mut out, stages);
    out
}
