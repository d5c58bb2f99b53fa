//! `NestedLoopJoinExec`: joins without equality keys, pairing every probe row with every row
//! of a small build side collected into one batch and shared by all probe partitions.

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, AsArray, BooleanArray, UInt32Array};
use arrow::compute::{concat_batches, filter_record_batch, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion_common::JoinType;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};
use parking_lot::Mutex;

use crate::expressions::{display_expr, evaluate_predicate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

/// How many row pairs one step of the join materializes at most.
const PAIRS_PER_STEP: usize = 65536;

/// A join of `left` (the probe side, any partitioning) with `right` (the build side, one
/// partition, collected once) on an optional `filter` over left columns then right columns.
/// Supports Inner, Left, LeftSemi, LeftAnti and Full joins (the planner turns Right joins into
/// Left joins with the sides swapped); the output keeps the left partitioning. A Full join
/// needs the left side in one partition too: it emits the build rows no probe row matched once
/// the probe side is exhausted.
#[derive(Debug)]
pub struct NestedLoopJoinExec {
    left: Arc<dyn ExecutionPlan>,
    right: Arc<dyn ExecutionPlan>,
    filter: Option<PhysicalExprRef>,
    join_type: JoinType,
    joined_schema: SchemaRef,
    schema: SchemaRef,
    build: Arc<Mutex<Option<RecordBatch>>>,
}

impl NestedLoopJoinExec {
    /// Fails with `NotSupported` for join types other than Inner, Left, LeftSemi, LeftAnti and
    /// Full, and with an internal error when `right` (or, for Full, `left`) has more than one
    /// partition.
    pub fn try_new(
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
        filter: Option<PhysicalExprRef>,
        join_type: JoinType,
    ) -> Result<Self> {
        if !matches!(
            join_type,
            JoinType::Inner
                | JoinType::Left
                | JoinType::LeftSemi
                | JoinType::LeftAnti
                | JoinType::Full
        ) {
            return Err(EmberError::NotSupported(format!(
                "a {join_type} join without an equality condition; only inner, left, right, full, semi and anti joins may lack one"
            )));
        }
        if join_type == JoinType::Full && left.output_partitioning().partition_count() != 1 {
            return Err(EmberError::internal(
                "a full NestedLoopJoinExec needs a probe (left) side with a single partition",
            ));
        }
        if right.output_partitioning().partition_count() != 1 {
            return Err(EmberError::internal(
                "NestedLoopJoinExec needs a build (right) side with a single partition",
            ));
        }
        let left_schema = left.schema();
        let right_schema = right.schema();
        let nullable = |f: &Arc<Field>| Arc::new(f.as_ref().clone().with_nullable(true));
        let mut fields: Vec<Arc<Field>> = left_schema
            .fields()
            .iter()
            .map(|f| match join_type {
                JoinType::Full => nullable(f),
                _ => f.clone(),
            })
            .collect();
        fields.extend(right_schema.fields().iter().map(|f| match join_type {
            JoinType::Left | JoinType::Full => nullable(f),
            _ => f.clone(),
        }));
        let joined_schema = Arc::new(Schema::new(fields));
        let schema = match join_type {
            JoinType::LeftSemi | JoinType::LeftAnti => left_schema,
            _ => joined_schema.clone(),
        };
        Ok(NestedLoopJoinExec {
            left,
            right,
            filter,
            join_type,
            joined_schema,
            schema,
            build: Arc::new(Mutex::new(None)),
        })
    }

    /// The optional join condition, over left columns then right columns.
    pub fn filter(&self) -> Option<&PhysicalExprRef> {
        self.filter.as_ref()
    }

    /// Inner, Left, LeftSemi, LeftAnti or Full.
    pub fn join_type(&self) -> JoinType {
        self.join_type
    }
}

/// Everything one probe partition needs.
struct Probe {
    right: Arc<dyn ExecutionPlan>,
    filter: Option<PhysicalExprRef>,
    join_type: JoinType,
    joined_schema: SchemaRef,
    build: Arc<Mutex<Option<RecordBatch>>>,
    /// For Full joins: which build rows some probe row matched.
    build_matched: Arc<Mutex<Vec<bool>>>,
    cx: TaskContext,
}

impl Probe {
    fn build_batch(&self) -> Result<RecordBatch> {
        if let Some(batch) = self.build.lock().clone() {
            return Ok(batch);
        }
        let schema = self.right.schema();
        let mut batches = Vec::new();
        for batch in self.right.execute(0, &self.cx)? {
            self.cx.check_cancelled()?;
            batches.push(batch?);
        }
        let batch = concat_batches(&schema, &batches)?;
        *self.build.lock() = Some(batch.clone());
        Ok(batch)
    }

    /// Joins one probe batch, lazily: a slice of probe rows at a time, each against the whole
    /// build side, so that no output batch holds more than about `PAIRS_PER_STEP` pairs (or
    /// one probe row's pairs) and a cross join streams in bounded memory.
    fn join(self: &Arc<Self>, probe: RecordBatch) -> BatchIter {
        let build = match self.build_batch() {
            Ok(build) => build,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let chunk = (PAIRS_PER_STEP / build.num_rows().max(1)).max(1);
        let rows = probe.num_rows();
        let this = Arc::clone(self);
        Box::new(
            (0..rows)
                .step_by(chunk)
                .map(move |start| {
                    this.cx.check_cancelled()?;
                    let len = chunk.min(rows - start);
                    this.join_chunk(&probe.slice(start, len), &build)
                })
                .filter(|joined| !matches!(joined, Ok(batch) if batch.num_rows() == 0)),
        )
    }

    fn join_chunk(&self, probe: &RecordBatch, build: &RecordBatch) -> Result<RecordBatch> {
        let (n, m) = (probe.num_rows(), build.num_rows());
        let left_idx =
            UInt32Array::from_iter_values((0..n as u32).flat_map(|i| std::iter::repeat_n(i, m)));
        let right_idx = UInt32Array::from_iter_values((0..n).flat_map(|_| 0..m as u32));
        let mut columns: Vec<ArrayRef> = Vec::new();
        for c in probe.columns() {
            columns.push(take(c.as_ref(), &left_idx, None)?);
        }
        for c in build.columns() {
            columns.push(take(c.as_ref(), &right_idx, None)?);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(n * m));
        let pairs =
            RecordBatch::try_new_with_options(self.joined_schema.clone(), columns, &options)?;
        let mask = match &self.filter {
            Some(f) => evaluate_predicate(f, &pairs)?,
            None => BooleanArray::from(vec![true; n * m]),
        };
        // Probe rows with at least one matching pair: the left indices the mask keeps.
        let mut probe_hits = vec![false; n];
        let hit_rows = arrow::compute::filter(&left_idx, &mask)?;
        for row in hit_rows
            .as_primitive::<arrow::datatypes::UInt32Type>()
            .values()
        {
            probe_hits[*row as usize] = true;
        }
        let matched = BooleanArray::from(probe_hits);
        if self.join_type == JoinType::Full {
            let hit_rows = arrow::compute::filter(&right_idx, &mask)?;
            let mut flags = self.build_matched.lock();
            if flags.len() != m {
                *flags = vec![false; m];
            }
            for row in hit_rows
                .as_primitive::<arrow::datatypes::UInt32Type>()
                .values()
            {
                flags[*row as usize] = true;
            }
        }
        match self.join_type {
            JoinType::LeftSemi => Ok(filter_record_batch(probe, &matched)?),
            JoinType::LeftAnti => {
                let unmatched = arrow::compute::not(&matched)?;
                Ok(filter_record_batch(probe, &unmatched)?)
            }
            JoinType::Inner => Ok(filter_record_batch(&pairs, &mask)?),
            _ => {
                let hits = filter_record_batch(&pairs, &mask)?;
                let unmatched = arrow::compute::not(&matched)?;
                let lonely = filter_record_batch(probe, &unmatched)?;
                let rows = lonely.num_rows();
                let mut columns: Vec<ArrayRef> = lonely.columns().to_vec();
                for f in build.schema().fields() {
                    columns.push(new_null_array(f.data_type(), rows));
                }
                let options = RecordBatchOptions::new().with_row_count(Some(rows));
                let padded = RecordBatch::try_new_with_options(
                    self.joined_schema.clone(),
                    columns,
                    &options,
                )?;
                Ok(concat_batches(&self.joined_schema, &[hits, padded])?)
            }
        }
    }
}

impl Probe {
    /// For Full joins, after the last probe batch: the build rows nothing matched, with NULLs
    /// for the probe columns.
    fn unmatched_build_rows(&self) -> Result<RecordBatch> {
        let build = self.build_batch()?;
        let flags = self.build_matched.lock();
        let keep: BooleanArray = (0..build.num_rows())
            .map(|i| Some(!flags.get(i).copied().unwrap_or(false)))
            .collect();
        let lonely = filter_record_batch(&build, &keep)?;
        let rows = lonely.num_rows();
        let probe_fields = self.joined_schema.fields().len() - build.num_columns();
        let mut columns: Vec<ArrayRef> = self.joined_schema.fields()[..probe_fields]
            .iter()
            .map(|f| new_null_array(f.data_type(), rows))
            .collect();
        columns.extend(lonely.columns().iter().cloned());
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            self.joined_schema.clone(),
            columns,
            &options,
        )?)
    }
}

impl ExecutionPlan for NestedLoopJoinExec {
    fn name(&self) -> &'static str {
        "NestedLoopJoinExec"
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![self.left.clone(), self.right.clone()]
    }

    fn with_new_children(
        &self,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [left, right]: [Arc<dyn ExecutionPlan>; 2] =
            children.try_into().map_err(|c: Vec<_>| {
                EmberError::internal(format!(
                    "NestedLoopJoinExec takes 2 children, got {}",
                    c.len()
                ))
            })?;
        Ok(Arc::new(NestedLoopJoinExec::try_new(
            left,
            right,
            self.filter.clone(),
            self.join_type,
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        Partitioning::Unknown(self.left.output_partitioning().partition_count())
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let input = self.left.execute(partition, cx)?;
        let probe = Probe {
            right: self.right.clone(),
            filter: self.filter.clone(),
            join_type: self.join_type,
            joined_schema: self.joined_schema.clone(),
            build: self.build.clone(),
            build_matched: Arc::new(Mutex::new(Vec::new())),
            cx: cx.clone(),
        };
        let probe = Arc::new(probe);
        let joined = {
            let probe = Arc::clone(&probe);
            input.flat_map(move |batch| match batch {
                Ok(batch) => probe.join(batch),
                Err(e) => Box::new(std::iter::once(Err(e))),
            })
        };
        if self.join_type != JoinType::Full {
            return Ok(Box::new(joined));
        }
        let mut done = false;
        let rest = std::iter::from_fn(move || {
            if done {
                return None;
            }
            done = true;
            Some(probe.unmatched_build_rows())
        });
        Ok(Box::new(joined.chain(rest)))
    }

    fn describe(&self) -> String {
        let filter = match &self.filter {
            Some(filter) => format!(", filter={}", display_expr(filter)),
            None => String::new(),
        };
        format!(
            "NestedLoopJoinExec: type={}{filter}, build=Right",
            self.join_type
        )
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{AsArray, Int32Array};
    use arrow::datatypes::{DataType, Int32Type};

    use super::*;
    use crate::operators::values::ValuesExec;

    fn batch(name: &str, values: Vec<Option<i32>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Int32, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(values))]).unwrap()
    }

    fn values(b: RecordBatch) -> Arc<dyn ExecutionPlan> {
        Arc::new(ValuesExec::new(b.schema(), vec![b]))
    }

    fn run(join_type: JoinType, filter: bool) -> Vec<Vec<Option<i32>>> {
        run_with(join_type, filter, vec![Some(2), Some(3)])
    }

    fn run_with(
        join_type: JoinType,
        filter: bool,
        build: Vec<Option<i32>>,
    ) -> Vec<Vec<Option<i32>>> {
        let left = values(batch("a", vec![Some(1), Some(2), None]));
        let right = values(batch("b", build));
        let filter = filter.then(|| {
            use datafusion_physical_expr::expressions::{BinaryExpr, Column};
            Arc::new(BinaryExpr::new(
                Arc::new(Column::new("a", 0)),
                datafusion_expr::Operator::Lt,
                Arc::new(Column::new("b", 1)),
            )) as PhysicalExprRef
        });
        let join = NestedLoopJoinExec::try_new(left, right, filter, join_type).unwrap();
        let cx = TaskContext::for_tests();
        let out: Vec<RecordBatch> = join
            .execute(0, &cx)
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap();
        let out = concat_batches(&join.schema(), &out).unwrap();
        out.columns()
            .iter()
            .map(|c| c.as_primitive::<Int32Type>().iter().collect())
            .collect()
    }

    /// A cross join streams: no output batch holds much more than PAIRS_PER_STEP pairs, so
    /// `count(*)` over a large cartesian product runs in bounded memory.
    #[test]
    fn a_cross_join_streams_in_bounded_batches() {
        let probe = batch("l", (0..3000).map(Some).collect());
        let build = batch("r", (0..1000).map(Some).collect());
        let join = NestedLoopJoinExec::try_new(values(probe), values(build), None, JoinType::Inner)
            .unwrap();
        let mut rows = 0;
        let mut largest = 0;
        for batch in join.execute(0, &TaskContext::for_tests()).unwrap() {
            let batch = batch.unwrap();
            rows += batch.num_rows();
            largest = largest.max(batch.num_rows());
        }
        assert_eq!(rows, 3_000_000);
        assert!(largest <= PAIRS_PER_STEP, "a batch of {largest} rows");
    }

    #[test]
    fn inner_without_filter_is_a_cartesian_product() {
        let out = run(JoinType::Inner, false);
        assert_eq!(out[0], vec![Some(1), Some(1), Some(2), Some(2), None, None]);
        assert_eq!(
            out[1],
            vec![Some(2), Some(3), Some(2), Some(3), Some(2), Some(3)]
        );
    }

    #[test]
    fn left_join_pads_rows_without_a_match() {
        let out = run(JoinType::Left, true);
        // 1 < 2, 1 < 3, 2 < 3 match; NULL matches nothing.
        assert_eq!(out[0], vec![Some(1), Some(1), Some(2), None]);
        assert_eq!(out[1], vec![Some(2), Some(3), Some(3), None]);
    }

    #[test]
    fn semi_and_anti_split_the_probe_rows() {
        assert_eq!(run(JoinType::LeftSemi, true), vec![vec![Some(1), Some(2)]]);
        assert_eq!(run(JoinType::LeftAnti, true), vec![vec![None]]);
    }

    #[test]
    fn full_join_adds_the_build_rows_nothing_matched() {
        // a < b: 1 < 2, 1 < 3, 2 < 3 match; the probe NULL and the build 0 match nothing.
        let out = run_with(JoinType::Full, true, vec![Some(2), Some(0), Some(3)]);
        assert_eq!(out[0], vec![Some(1), Some(1), Some(2), None, None]);
        assert_eq!(out[1], vec![Some(2), Some(3), Some(3), None, Some(0)]);
    }

    #[test]
    fn full_join_with_an_empty_probe_side_keeps_every_build_row() {
        let left = values(batch("a", vec![]));
        let right = values(batch("b", vec![Some(7), None]));
        let join = NestedLoopJoinExec::try_new(left, right, None, JoinType::Full).unwrap();
        let out: Vec<RecordBatch> = join
            .execute(0, &TaskContext::for_tests())
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap();
        let out = concat_batches(&join.schema(), &out).unwrap();
        assert_eq!(out.num_rows(), 2);
        assert_eq!(out.column(0).null_count(), 2);
        assert!(join.schema().field(0).is_nullable());
    }

    #[test]
    fn right_joins_are_not_built_here() {
        let left = values(batch("a", vec![Some(1)]));
        let right = values(batch("b", vec![Some(1)]));
        let err = NestedLoopJoinExec::try_new(left, right, None, JoinType::Right).unwrap_err();
        assert!(err.to_string().contains("right"), "{err}");
    }
}
