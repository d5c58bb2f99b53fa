//! `HashJoinExec`: an equi-join that builds a hash table on one input and probes it with the other.
//!
//! ```text
//!            HashJoinExec (partition i)
//!             /                      \
//!   build side, partition i       probe side, partition i
//!   (or partition 0 for every      (streamed batch by batch)
//!    i in CollectBuild mode)
//!
//!   1. collect + concat the build partition, key rows (arrow-row) -> JoinHashTable
//!   2. per probe batch: key rows -> (build index, probe index) candidate pairs, at most
//!      `ember.sql.batchSize` pairs at a time -> take both sides -> residual filter
//!      -> matched pairs, plus unmatched / semi / anti probe rows once the batch is done
//!   3. probe side exhausted: unmatched / semi / anti build rows (bitmap of matched rows)
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, BooleanArray, UInt32Array};
use arrow::buffer::NullBuffer;
use arrow::compute::{concat_batches, filter, filter_record_batch, take};
use arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Schema, SchemaRef, UInt32Type};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion_common::JoinType;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};
use parking_lot::Mutex;

use crate::expressions::{display_expr, evaluate, evaluate_predicate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

/// Rows of output (and candidate pairs per step) when `ember.sql.batchSize` is unset or 0.
const DEFAULT_BATCH_SIZE: usize = 8192;

/// End of a chain in [`JoinHashTable::next`].
const NO_ROW: u32 = u32::MAX;

/// Which input the hash table is built on; the other input is streamed (probed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildSide {
    /// Build on the left input, probe with the right.
    Left,
    /// Build on the right input, probe with the left.
    Right,
}

impl fmt::Display for BuildSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildSide::Left => write!(f, "Left"),
            BuildSide::Right => write!(f, "Right"),
        }
    }
}

/// How the partitions of the two inputs meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMode {
    /// Both inputs are hash-partitioned on the join keys with the same partition count:
    /// partition i of the build side joins partition i of the probe side.
    Partitioned,
    /// The build side has a single partition (a broadcast) that every probe partition joins.
    /// Join types that emit build rows at the end (outer on the build side, Full, semi/anti
    /// of the build side) are refused, since every probe partition would emit them again.
    CollectBuild,
}

impl fmt::Display for JoinMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinMode::Partitioned => write!(f, "Partitioned"),
            JoinMode::CollectBuild => write!(f, "Broadcast"),
        }
    }
}

/// What a join emits for the rows of one side besides matched pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SideRows {
    /// Nothing.
    None,
    /// Rows without a match, padded with NULLs for the other side (outer joins).
    UnmatchedWithNulls,
    /// Rows with at least one match, this side's columns only (semi join).
    Matched,
    /// Rows without a match, this side's columns only (anti join).
    Unmatched,
}

impl SideRows {
    /// Whether rows of this side appear in the output even when the other side is empty.
    fn emitted_without_match(self) -> bool {
        matches!(self, SideRows::UnmatchedWithNulls | SideRows::Unmatched)
    }
}

/// The output of a join type, seen from the build and probe sides.
#[derive(Debug, Clone, Copy)]
struct JoinOutput {
    /// Matched (build, probe) pairs are emitted (Inner, Left, Right, Full).
    pairs: bool,
    probe_rows: SideRows,
    build_rows: SideRows,
}

impl JoinOutput {
    fn try_new(join_type: JoinType, build_side: BuildSide) -> Result<Self> {
        use SideRows::*;
        let (pairs, left_rows, right_rows) = match join_type {
            JoinType::Inner => (true, None, None),
            JoinType::Left => (true, UnmatchedWithNulls, None),
            JoinType::Right => (true, None, UnmatchedWithNulls),
            JoinType::Full => (true, UnmatchedWithNulls, UnmatchedWithNulls),
            JoinType::LeftSemi => (false, Matched, None),
            JoinType::LeftAnti => (false, Unmatched, None),
            JoinType::RightSemi => (false, None, Matched),
            JoinType::RightAnti => (false, None, Unmatched),
            other => {
                return Err(EmberError::NotSupported(format!(
                    "{other} join in HashJoinExec; it supports Inner, Left, Right, Full, LeftSemi, \
                     LeftAnti, RightSemi and RightAnti joins"
                )))
            }
        };
        let (build_rows, probe_rows) = match build_side {
            BuildSide::Left => (left_rows, right_rows),
            BuildSide::Right => (right_rows, left_rows),
        };
        Ok(JoinOutput {
            pairs,
            probe_rows,
            build_rows,
        })
    }
}

/// Everything a partition's [`HashJoinStream`] needs, shared by all partitions.
#[derive(Debug)]
struct JoinSpec {
    build: Arc<dyn ExecutionPlan>,
    probe: Arc<dyn ExecutionPlan>,
    build_keys: Vec<PhysicalExprRef>,
    probe_keys: Vec<PhysicalExprRef>,
    key_fields: Vec<SortField>,
    filter: Option<PhysicalExprRef>,
    build_side: BuildSide,
    mode: JoinMode,
    output: JoinOutput,
    /// Left fields then right fields, nullable as the join type makes them: what `filter`
    /// sees, and the output of Inner/Left/Right/Full joins.
    joined_schema: SchemaRef,
    schema: SchemaRef,
    /// In `CollectBuild` mode, the hash table of the single build partition, built by the
    /// first probe partition that needs it and reused by the others.
    collected_build: Mutex<Option<Arc<JoinHashTable>>>,
}

/// Equi-join of two inputs on `on` keys plus an optional residual `filter`, by a hash table
/// built on one side. See the module doc for the steps.
///
/// Keys compare with SQL equality: a row with a NULL in any key never matches (it still
/// shows up where its side is preserved: outer and anti joins, i.e. NOT EXISTS semantics).
/// Float keys match -0.0 with 0.0 and NaN with NaN, as Spark does.
#[derive(Debug)]
pub struct HashJoinExec {
    left: Arc<dyn ExecutionPlan>,
    right: Arc<dyn ExecutionPlan>,
    on: Vec<(PhysicalExprRef, PhysicalExprRef)>,
    filter: Option<PhysicalExprRef>,
    join_type: JoinType,
    build_side: BuildSide,
    mode: JoinMode,
    partitioning: Partitioning,
    spec: Arc<JoinSpec>,
}

impl HashJoinExec {
    /// A hash join of `left` and `right` on the `(left key, right key)` pairs of `on` (each pair
    /// of the same type), with an optional residual `filter` over left columns then right
    /// columns.
    ///
    /// Fails with `NotSupported` for join types it does not implement (mark joins), joins
    /// without keys, and `CollectBuild` joins that would emit build rows from every probe
    /// partition; fails when key types differ or the partition counts do not fit `mode`.
    pub fn try_new(
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
        on: Vec<(PhysicalExprRef, PhysicalExprRef)>,
        filter: Option<PhysicalExprRef>,
        join_type: JoinType,
        build_side: BuildSide,
        mode: JoinMode,
    ) -> Result<Self> {
        let output = JoinOutput::try_new(join_type, build_side)?;
        if on.is_empty() {
            return Err(EmberError::NotSupported(format!(
                "{join_type} hash join without equality keys; a hash join needs at least one \
                 `left = right` condition (a nested loop join would handle this one)"
            )));
        }
        let left_schema = left.schema();
        let right_schema = right.schema();
        let mut key_fields = Vec::with_capacity(on.len());
        for (left_key, right_key) in &on {
            let left_type = left_key.data_type(&left_schema)?;
            let right_type = right_key.data_type(&right_schema)?;
            if left_type != right_type {
                return Err(EmberError::internal(format!(
                    "hash join keys {} ({left_type}) and {} ({right_type}) have different types; \
                     the planner must cast both keys to a common type",
                    display_expr(left_key),
                    display_expr(right_key)
                )));
            }
            key_fields.push(SortField::new(left_type));
        }
        // Fails early for key types arrow-row cannot encode.
        RowConverter::new(key_fields.clone())?;

        let joined_schema = joined_schema(&left_schema, &right_schema, join_type);
        if let Some(filter) = &filter {
            let filter_type = filter.data_type(&joined_schema)?;
            if filter_type != DataType::Boolean {
                return Err(EmberError::internal(format!(
                    "hash join filter {} returns {filter_type}, not Boolean",
                    display_expr(filter)
                )));
            }
        }
        let schema = match join_type {
            JoinType::LeftSemi | JoinType::LeftAnti => left_schema.clone(),
            JoinType::RightSemi | JoinType::RightAnti => right_schema.clone(),
            _ => joined_schema.clone(),
        };

        let left_partitions = left.output_partitioning().partition_count();
        let right_partitions = right.output_partitioning().partition_count();
        let (build, probe) = match build_side {
            BuildSide::Left => (left.clone(), right.clone()),
            BuildSide::Right => (right.clone(), left.clone()),
        };
        let partitioning = match mode {
            JoinMode::Partitioned => {
                if left_partitions != right_partitions {
                    return Err(EmberError::internal(format!(
                        "partitioned hash join inputs have {left_partitions} (left) and \
                         {right_partitions} (right) partitions; both must be exchanged into \
                         the same number of partitions, or use CollectBuild with a single build \
                         partition"
                    )));
                }
                // Output rows stay in the partition of their left (or right) input row.
                match join_type {
                    JoinType::Inner | JoinType::Left | JoinType::LeftSemi | JoinType::LeftAnti => {
                        left.output_partitioning()
                    }
                    JoinType::RightSemi | JoinType::RightAnti => right.output_partitioning(),
                    _ => Partitioning::Unknown(left_partitions),
                }
            }
            JoinMode::CollectBuild => {
                let build_partitions = build.output_partitioning().partition_count();
                if build_partitions != 1 {
                    return Err(EmberError::internal(format!(
                        "CollectBuild hash join needs a build side ({build_side}) with 1 \
                         partition, it has {build_partitions}; add a single-partition exchange \
                         or use Partitioned mode"
                    )));
                }
                if output.build_rows != SideRows::None {
                    return Err(EmberError::NotSupported(format!(
                        "{join_type} join with the {build_side} side broadcast (CollectBuild): \
                         every probe partition would emit the unmatched build rows; build on \
                         the other side or use Partitioned mode"
                    )));
                }
                let probe_partitioning = probe.output_partitioning();
                let probe_partitions = probe_partitioning.partition_count();
                match (build_side, join_type) {
                    (BuildSide::Right, JoinType::Inner | JoinType::Left)
                    | (BuildSide::Right, JoinType::LeftSemi | JoinType::LeftAnti)
                    | (BuildSide::Left, JoinType::RightSemi | JoinType::RightAnti) => {
                        probe_partitioning
                    }
                    _ => Partitioning::Unknown(probe_partitions),
                }
            }
        };

        let (left_keys, right_keys): (Vec<_>, Vec<_>) = on.iter().cloned().unzip();
        let (build_keys, probe_keys) = match build_side {
            BuildSide::Left => (left_keys, right_keys),
            BuildSide::Right => (right_keys, left_keys),
        };
        let spec = Arc::new(JoinSpec {
            build,
            probe,
            build_keys,
            probe_keys,
            key_fields,
            filter: filter.clone(),
            build_side,
            mode,
            output,
            joined_schema,
            schema,
            collected_build: Mutex::new(None),
        });
        Ok(HashJoinExec {
            left,
            right,
            on,
            filter,
            join_type,
            build_side,
            mode,
            partitioning,
            spec,
        })
    }

    /// The left input.
    pub fn left(&self) -> &Arc<dyn ExecutionPlan> {
        &self.left
    }

    /// The right input.
    pub fn right(&self) -> &Arc<dyn ExecutionPlan> {
        &self.right
    }

    /// The `(left key, right key)` pairs.
    pub fn on(&self) -> &[(PhysicalExprRef, PhysicalExprRef)] {
        &self.on
    }

    /// The residual predicate over left columns then right columns.
    pub fn filter(&self) -> Option<&PhysicalExprRef> {
        self.filter.as_ref()
    }

    /// Inner, Left, Right, Full, LeftSemi, LeftAnti, RightSemi or RightAnti.
    pub fn join_type(&self) -> JoinType {
        self.join_type
    }

    /// The input the hash table is built on.
    pub fn build_side(&self) -> BuildSide {
        self.build_side
    }

    /// Whether partitions pair up (Partitioned) or one build partition serves all (CollectBuild).
    pub fn mode(&self) -> JoinMode {
        self.mode
    }
}

/// Left fields then right fields; the side(s) an outer join pads with NULLs become nullable.
fn joined_schema(left: &Schema, right: &Schema, join_type: JoinType) -> SchemaRef {
    let (left_nullable, right_nullable) = match join_type {
        JoinType::Left => (false, true),
        JoinType::Right => (true, false),
        JoinType::Full => (true, true),
        _ => (false, false),
    };
    let side_fields = |schema: &Schema, nullable: bool| -> Vec<Arc<Field>> {
        schema
            .fields()
            .iter()
            .map(|field| match nullable && !field.is_nullable() {
                true => Arc::new(field.as_ref().clone().with_nullable(true)),
                false => field.clone(),
            })
            .collect()
    };
    let mut fields = side_fields(left, left_nullable);
    fields.extend(side_fields(right, right_nullable));
    Arc::new(Schema::new(fields))
}

impl ExecutionPlan for HashJoinExec {
    fn name(&self) -> &'static str {
        "HashJoinExec"
    }

    fn schema(&self) -> SchemaRef {
        self.spec.schema.clone()
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
                EmberError::internal(format!("HashJoinExec takes 2 children, got {}", c.len()))
            })?;
        Ok(Arc::new(HashJoinExec::try_new(
            left,
            right,
            self.on.clone(),
            self.filter.clone(),
            self.join_type,
            self.build_side,
            self.mode,
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        self.partitioning.clone()
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let partitions = self.partitioning.partition_count();
        if partition >= partitions {
            return Err(EmberError::internal(format!(
                "HashJoinExec has {partitions} partitions, asked for partition {partition}"
            )));
        }
        let build_partition = match self.mode {
            JoinMode::Partitioned => partition,
            JoinMode::CollectBuild => 0,
        };
        let batch_size = match cx.conf().get_usize("ember.sql.batchSize") {
            0 => DEFAULT_BATCH_SIZE,
            n => n,
        };
        Ok(Box::new(HashJoinStream {
            spec: self.spec.clone(),
            cx: cx.clone(),
            build_partition,
            probe_partition: partition,
            batch_size,
            build_visited: Vec::new(),
            phase: Phase::Build,
        }))
    }

    fn describe(&self) -> String {
        let on = self
            .on
            .iter()
            .map(|(l, r)| format!("({}, {})", display_expr(l), display_expr(r)))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = match &self.filter {
            Some(filter) => format!(", filter={}", display_expr(filter)),
            None => String::new(),
        };
        format!(
            "HashJoinExec: type={}, on=[{on}]{filter}, build={}, mode={}",
            self.join_type, self.build_side, self.mode
        )
    }
}

/// Hasher for keys that already are well-mixed 64-bit hashes.
#[derive(Default)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes);
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A fast 64-bit hash of a key row's bytes (multiply-rotate over 8-byte words, then the
/// murmur3 finalizer so every bit of the result depends on every input bit).
fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut hash = 0x9e37_79b9_7f4a_7c15 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(word);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// Join keys of one batch: evaluated, float-normalized, encoded as comparable rows.
struct KeyRows {
    rows: Rows,
    /// Valid where no key column is NULL.
    valid: Option<NullBuffer>,
}

impl KeyRows {
    fn try_new(
        keys: &[PhysicalExprRef],
        batch: &RecordBatch,
        converter: &RowConverter,
    ) -> Result<Self> {
        let mut arrays = Vec::with_capacity(keys.len());
        let mut valid: Option<NullBuffer> = None;
        for key in keys {
            let array = normalize_float_key(evaluate(key, batch)?);
            valid = NullBuffer::union(valid.as_ref(), array.logical_nulls().as_ref());
            arrays.push(array);
        }
        let rows = converter.convert_columns(&arrays)?;
        Ok(KeyRows { rows, valid })
    }

    fn is_valid(&self, row: usize) -> bool {
        self.valid.as_ref().is_none_or(|valid| valid.is_valid(row))
    }
}

/// Spark's join key normalization: -0.0 equals 0.0 and every NaN equals every other NaN, so
/// both become one bit pattern before the row encoding compares bytes.
fn normalize_float_key(array: ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Float64 => Arc::new(array.as_primitive::<Float64Type>().unary::<_, Float64Type>(
            |v| {
                if v == 0.0 {
                    0.0
                } else if v.is_nan() {
                    f64::NAN
                } else {
                    v
                }
            },
        )),
        DataType::Float32 => Arc::new(array.as_primitive::<Float32Type>().unary::<_, Float32Type>(
            |v| {
                if v == 0.0 {
                    0.0
                } else if v.is_nan() {
                    f32::NAN
                } else {
                    v
                }
            },
        )),
        _ => array,
    }
}

/// The build side of one partition: its rows and a hash table from key to row indices.
///
/// `heads` maps a key hash to the first build row with that hash; `next[i]` is the following
/// row with the same hash (or `NO_ROW`), so a chain lists rows in ascending order. Rows whose
/// key has a NULL are not in any chain.
struct JoinHashTable {
    batch: RecordBatch,
    converter: RowConverter,
    keys: KeyRows,
    heads: HashMap<u64, u32, BuildHasherDefault<PrehashedHasher>>,
    next: Vec<u32>,
}

impl fmt::Debug for JoinHashTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHashTable")
            .field("rows", &self.batch.num_rows())
            .field("distinct_hashes", &self.heads.len())
            .finish()
    }
}

impl JoinHashTable {
    fn try_new(batch: RecordBatch, spec: &JoinSpec) -> Result<Self> {
        let num_rows = batch.num_rows();
        if num_rows >= NO_ROW as usize {
            return Err(EmberError::NotSupported(format!(
                "hash join build side with {num_rows} rows in one partition (at most {} fit); \
                 raise ember.sql.shuffle.partitions",
                NO_ROW - 1
            )));
        }
        let converter = RowConverter::new(spec.key_fields.clone())?;
        let keys = KeyRows::try_new(&spec.build_keys, &batch, &converter)?;
        let mut heads: HashMap<u64, u32, BuildHasherDefault<PrehashedHasher>> =
            HashMap::with_capacity_and_hasher(num_rows, Default::default());
        let mut next = vec![NO_ROW; num_rows];
        // Inserting from the last row makes every chain ascending.
        for row in (0..num_rows).rev() {
            if !keys.is_valid(row) {
                continue;
            }
            let head = heads
                .entry(hash_bytes(keys.rows.row(row).data()))
                .or_insert(NO_ROW);
            next[row] = *head;
            *head = row as u32;
        }
        Ok(JoinHashTable {
            batch,
            converter,
            keys,
            heads,
            next,
        })
    }

    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Appends the matching (build, probe) pairs of `probe` from its cursor on, stopping once
    /// `limit` pairs are collected (the cursor then remembers where inside a chain to go on).
    /// With `first_only`, each probe row gets at most one pair. Leaves the pairs empty only
    /// when the probe batch is done.
    fn find_matches(
        &self,
        probe: &mut ProbeBatch,
        limit: usize,
        first_only: bool,
        build_indices: &mut Vec<u32>,
        probe_indices: &mut Vec<u32>,
    ) {
        let num_rows = probe.batch.num_rows();
        while probe.cursor_row < num_rows {
            let row = probe.cursor_row;
            let mut candidate = match probe.cursor_candidate.take() {
                Some(candidate) => candidate,
                None if !probe.keys.is_valid(row) => NO_ROW,
                None => {
                    let probe_row = probe.keys.rows.row(row);
                    match self.heads.get(&hash_bytes(probe_row.data())) {
                        Some(head) => *head,
                        None => NO_ROW,
                    }
                }
            };
            let probe_row = probe.keys.rows.row(row);
            while candidate != NO_ROW {
                if build_indices.len() >= limit {
                    probe.cursor_candidate = Some(candidate);
                    return;
                }
                let build_row = candidate as usize;
                if self.keys.rows.row(build_row) == probe_row {
                    build_indices.push(candidate);
                    probe_indices.push(row as u32);
                    if first_only {
                        break;
                    }
                }
                candidate = self.next[build_row];
            }
            probe.cursor_row += 1;
        }
    }
}

/// One probe batch being joined, with where the probing got to.
struct ProbeBatch {
    batch: RecordBatch,
    keys: KeyRows,
    cursor_row: usize,
    /// The next build row to compare with `cursor_row`, when a chain was cut by the limit.
    cursor_candidate: Option<u32>,
    /// Per probe row, whether it matched (kept only when unmatched/semi/anti rows are emitted).
    matched: Vec<bool>,
}

/// Where a [`HashJoinStream`] is.
///
/// ```text
///   Build ──▶ Probe ──(probe side exhausted)──▶ EmitBuildRows ──▶ Done
///     │         └──────(no build rows to emit)────────────────────▲
///     └──(empty build side and nothing to emit without matches)───┘
/// ```
enum Phase {
    Build,
    Probe {
        table: Arc<JoinHashTable>,
        input: BatchIter,
        current: Option<ProbeBatch>,
    },
    EmitBuildRows {
        table: Arc<JoinHashTable>,
        indices: UInt32Array,
        offset: usize,
    },
    Done,
}

/// The lazy output of one partition of a [`HashJoinExec`].
struct HashJoinStream {
    spec: Arc<JoinSpec>,
    cx: TaskContext,
    build_partition: usize,
    probe_partition: usize,
    batch_size: usize,
    /// Per build row, whether it matched (kept only when build rows are emitted at the end).
    build_visited: Vec<bool>,
    phase: Phase,
}

impl Iterator for HashJoinStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let result = self.next_batch();
        if result.is_err() {
            self.phase = Phase::Done;
        }
        result.transpose()
    }
}

impl HashJoinStream {
    /// The next non-empty output batch.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if matches!(self.phase, Phase::Done) {
                return Ok(None);
            }
            self.cx.check_cancelled()?;
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Build => {
                    let table = self.build_table()?;
                    let output = self.spec.output;
                    if table.num_rows() == 0 && !output.probe_rows.emitted_without_match() {
                        // Nothing can match and no probe row is emitted alone: skip the probe side.
                        return Ok(None);
                    }
                    if output.build_rows != SideRows::None {
                        self.build_visited = vec![false; table.num_rows()];
                    }
                    let input = self.spec.probe.execute(self.probe_partition, &self.cx)?;
                    self.phase = Phase::Probe {
                        table,
                        input,
                        current: None,
                    };
                }
                Phase::Probe {
                    table,
                    mut input,
                    current,
                } => match current {
                    Some(mut probe) => {
                        let (batch, finished) = self.probe_step(&table, &mut probe)?;
                        let current = if finished { None } else { Some(probe) };
                        self.phase = Phase::Probe {
                            table,
                            input,
                            current,
                        };
                        if let Some(batch) = batch.filter(|b| b.num_rows() > 0) {
                            return Ok(Some(batch));
                        }
                    }
                    None => match input.next() {
                        Some(batch) => {
                            let batch = batch?;
                            let keys =
                                KeyRows::try_new(&self.spec.probe_keys, &batch, &table.converter)?;
                            let matched = match self.spec.output.probe_rows {
                                SideRows::None => Vec::new(),
                                _ => vec![false; batch.num_rows()],
                            };
                            let current = Some(ProbeBatch {
                                batch,
                                keys,
                                cursor_row: 0,
                                cursor_candidate: None,
                                matched,
                            });
                            self.phase = Phase::Probe {
                                table,
                                input,
                                current,
                            };
                        }
                        None => {
                            let want_visited = match self.spec.output.build_rows {
                                SideRows::None => continue,
                                SideRows::Matched => true,
                                SideRows::Unmatched | SideRows::UnmatchedWithNulls => false,
                            };
                            let indices: UInt32Array = (0..table.num_rows() as u32)
                                .filter(|&row| self.build_visited[row as usize] == want_visited)
                                .collect();
                            self.phase = Phase::EmitBuildRows {
                                table,
                                indices,
                                offset: 0,
                            };
                        }
                    },
                },
                Phase::EmitBuildRows {
                    table,
                    indices,
                    offset,
                } => {
                    if offset >= indices.len() {
                        return Ok(None);
                    }
                    let len = self.batch_size.min(indices.len() - offset);
                    let batch = self.build_rows_batch(&table, &indices.slice(offset, len))?;
                    self.phase = Phase::EmitBuildRows {
                        table,
                        indices,
                        offset: offset + len,
                    };
                    return Ok(Some(batch));
                }
                Phase::Done => return Ok(None),
            }
        }
    }

    /// Collects the build partition into one hash table (or reuses the broadcast one).
    fn build_table(&self) -> Result<Arc<JoinHashTable>> {
        let spec = &self.spec;
        // A broadcast table is built by the first task that needs it while the others wait
        // for it, rather than every concurrent task building its own copy.
        let mut collected = if spec.mode == JoinMode::CollectBuild {
            let guard = spec.collected_build.lock();
            if let Some(table) = guard.clone() {
                return Ok(table);
            }
            Some(guard)
        } else {
            None
        };
        let schema = spec.build.schema();
        let mut batches = Vec::new();
        for batch in spec.build.execute(self.build_partition, &self.cx)? {
            self.cx.check_cancelled()?;
            batches.push(batch?);
        }
        let batch = concat_batches(&schema, &batches)?;
        drop(batches);
        let table = Arc::new(JoinHashTable::try_new(batch, spec)?);
        log::debug!(
            "HashJoinExec built {:?} from build partition {}",
            table,
            self.build_partition
        );
        if let Some(guard) = collected.as_mut() {
            **guard = Some(table.clone());
        }
        Ok(table)
    }

    /// Joins the next chunk of `probe`'s pairs; returns the output batch, if any, and whether
    /// the probe batch is finished.
    fn probe_step(
        &mut self,
        table: &JoinHashTable,
        probe: &mut ProbeBatch,
    ) -> Result<(Option<RecordBatch>, bool)> {
        let spec = self.spec.clone();
        let output = spec.output;
        let first_only =
            !output.pairs && output.build_rows == SideRows::None && spec.filter.is_none();
        let mut build_indices = Vec::new();
        let mut probe_indices = Vec::new();
        table.find_matches(
            probe,
            self.batch_size,
            first_only,
            &mut build_indices,
            &mut probe_indices,
        );
        if build_indices.is_empty() {
            return Ok((self.probe_rows_batch(table, probe)?, true));
        }
        let mut build_indices = UInt32Array::from(build_indices);
        let mut probe_indices = UInt32Array::from(probe_indices);
        let mut pairs = None;
        if output.pairs || spec.filter.is_some() {
            let mut joined = self.pairs_batch(table, probe, &build_indices, &probe_indices)?;
            if let Some(predicate) = &spec.filter {
                let mask = evaluate_predicate(predicate, &joined)?;
                build_indices = filter(&build_indices, &mask)?
                    .as_primitive::<UInt32Type>()
                    .clone();
                probe_indices = filter(&probe_indices, &mask)?
                    .as_primitive::<UInt32Type>()
                    .clone();
                if output.pairs {
                    joined = filter_record_batch(&joined, &mask)?;
                }
            }
            if output.pairs {
                pairs = Some(joined);
            }
        }
        if output.build_rows != SideRows::None {
            for &row in build_indices.values() {
                self.build_visited[row as usize] = true;
            }
        }
        if output.probe_rows != SideRows::None {
            for &row in probe_indices.values() {
                probe.matched[row as usize] = true;
            }
        }
        Ok((pairs, false))
    }

    /// Left columns then right columns of the given (build row, probe row) pairs.
    fn pairs_batch(
        &self,
        table: &JoinHashTable,
        probe: &ProbeBatch,
        build_indices: &UInt32Array,
        probe_indices: &UInt32Array,
    ) -> Result<RecordBatch> {
        let build_columns = take_columns(&table.batch, build_indices)?;
        let probe_columns = take_columns(&probe.batch, probe_indices)?;
        self.joined_batch(build_columns, probe_columns, build_indices.len())
    }

    /// What a finished probe batch adds besides pairs: its unmatched rows padded with NULLs
    /// (outer), or its matched (semi) or unmatched (anti) rows.
    fn probe_rows_batch(
        &self,
        table: &JoinHashTable,
        probe: &ProbeBatch,
    ) -> Result<Option<RecordBatch>> {
        let want_matched = match self.spec.output.probe_rows {
            SideRows::None => return Ok(None),
            SideRows::Matched => true,
            SideRows::Unmatched | SideRows::UnmatchedWithNulls => false,
        };
        let mask: BooleanArray = probe
            .matched
            .iter()
            .map(|&m| Some(m == want_matched))
            .collect();
        let rows = filter_record_batch(&probe.batch, &mask)?;
        let num_rows = rows.num_rows();
        if num_rows == 0 {
            return Ok(None);
        }
        let batch = match self.spec.output.probe_rows {
            SideRows::UnmatchedWithNulls => {
                let nulls = null_columns(&table.batch, num_rows);
                self.joined_batch(nulls, rows.columns().to_vec(), num_rows)?
            }
            _ => batch_with_schema(&self.spec.schema, rows.columns().to_vec(), num_rows)?,
        };
        Ok(Some(batch))
    }

    /// Build rows emitted after the probe side is exhausted: padded with NULLs (outer), or
    /// alone (semi/anti).
    fn build_rows_batch(
        &self,
        table: &JoinHashTable,
        indices: &UInt32Array,
    ) -> Result<RecordBatch> {
        let build_columns = take_columns(&table.batch, indices)?;
        let num_rows = indices.len();
        match self.spec.output.build_rows {
            SideRows::UnmatchedWithNulls => {
                let nulls = self
                    .spec
                    .probe
                    .schema()
                    .fields()
                    .iter()
                    .map(|field| new_null_array(field.data_type(), num_rows))
                    .collect();
                self.joined_batch(build_columns, nulls, num_rows)
            }
            _ => batch_with_schema(&self.spec.schema, build_columns, num_rows),
        }
    }

    /// A batch of the joined schema from build and probe columns, put in left-right order.
    fn joined_batch(
        &self,
        build: Vec<ArrayRef>,
        probe: Vec<ArrayRef>,
        num_rows: usize,
    ) -> Result<RecordBatch> {
        let (mut columns, right) = match self.spec.build_side {
            BuildSide::Left => (build, probe),
            BuildSide::Right => (probe, build),
        };
        columns.extend(right);
        batch_with_schema(&self.spec.joined_schema, columns, num_rows)
    }
}

fn take_columns(batch: &RecordBatch, indices: &UInt32Array) -> Result<Vec<ArrayRef>> {
    Ok(batch
        .columns()
        .iter()
        .map(|column| take(column.as_ref(), indices, None))
        .collect::<Result<_, _>>()?)
}

fn null_columns(batch: &RecordBatch, num_rows: usize) -> Vec<ArrayRef> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|field| new_null_array(field.data_type(), num_rows))
        .collect()
}

/// A batch that keeps its row count even without columns (e.g. `count(*)` over a join).
fn batch_with_schema(
    schema: &SchemaRef,
    columns: Vec<ArrayRef>,
    num_rows: usize,
) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(num_rows));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &options,
    )?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use arrow::array::{Float64Array, Int32Array, Int64Array, StringArray};
    use arrow::util::display::array_value_to_string;
    use datafusion_expr::Operator;
    use datafusion_physical_expr::expressions::{binary, lit, Column};
    use ember_common::EmberConf;

    use super::*;

    /// An in-memory input: given batches per partition; counts how often it is executed.
    #[derive(Debug)]
    struct TestExec {
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
        executions: AtomicUsize,
    }

    impl TestExec {
        fn new(schema: SchemaRef, partitions: Vec<Vec<RecordBatch>>) -> Arc<Self> {
            Arc::new(TestExec {
                schema,
                partitions,
                executions: AtomicUsize::new(0),
            })
        }
    }

    impl ExecutionPlan for TestExec {
        fn name(&self) -> &'static str {
            "TestExec"
        }

        fn schema(&self) -> SchemaRef {
            self.schema.clone()
        }

        fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
            vec![]
        }

        fn with_new_children(
            &self,
            _: Vec<Arc<dyn ExecutionPlan>>,
        ) -> Result<Arc<dyn ExecutionPlan>> {
            Err(EmberError::internal("TestExec has no children"))
        }

        fn output_partitioning(&self) -> Partitioning {
            Partitioning::Unknown(self.partitions.len())
        }

        fn execute(&self, partition: usize, _cx: &TaskContext) -> Result<BatchIter> {
            self.executions.fetch_add(1, Ordering::SeqCst);
            let batches = self.partitions[partition].clone();
            Ok(Box::new(batches.into_iter().map(Ok)))
        }

        fn describe(&self) -> String {
            "TestExec".to_string()
        }
    }

    fn left_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("l_id", DataType::Int32, true),
            Field::new("l_name", DataType::Utf8, false),
        ]))
    }

    fn right_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("r_id", DataType::Int32, true),
            Field::new("r_val", DataType::Int64, false),
        ]))
    }

    fn left_batch(ids: Vec<Option<i32>>, names: Vec<&str>) -> RecordBatch {
        RecordBatch::try_new(
            left_schema(),
            vec![
                Arc::new(Int32Array::from(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    fn right_batch(ids: Vec<Option<i32>>, vals: Vec<i64>) -> RecordBatch {
        RecordBatch::try_new(
            right_schema(),
            vec![
                Arc::new(Int32Array::from(ids)),
                Arc::new(Int64Array::from(vals)),
            ],
        )
        .unwrap()
    }

    /// left: (1,a) (2,b) | (2,c) (3,d) (NULL,e) in two batches.
    fn left_input() -> Arc<TestExec> {
        TestExec::new(
            left_schema(),
            vec![vec![
                left_batch(vec![Some(1), Some(2)], vec!["a", "b"]),
                left_batch(vec![Some(2), Some(3), None], vec!["c", "d", "e"]),
            ]],
        )
    }

    /// right: (2,20) (2,21) (3,30) (4,40) (NULL,50).
    fn right_input() -> Arc<TestExec> {
        TestExec::new(
            right_schema(),
            vec![vec![right_batch(
                vec![Some(2), Some(2), Some(3), Some(4), None],
                vec![20, 21, 30, 40, 50],
            )]],
        )
    }

    fn column(name: &str, index: usize) -> PhysicalExprRef {
        Arc::new(Column::new(name, index))
    }

    fn id_keys() -> Vec<(PhysicalExprRef, PhysicalExprRef)> {
        vec![(column("l_id", 0), column("r_id", 0))]
    }

    /// `r_val > 25` over the joined schema (l_id, l_name, r_id, r_val).
    fn r_val_over_25() -> PhysicalExprRef {
        let joined = joined_schema(&left_schema(), &right_schema(), JoinType::Inner);
        binary(column("r_val", 3), Operator::Gt, lit(25i64), &joined).unwrap()
    }

    /// Every output row as `v1,v2,...` (NULL spelled out), sorted, plus the batch sizes.
    fn run_with(plan: &dyn ExecutionPlan, cx: &TaskContext) -> (Vec<String>, Vec<usize>) {
        let mut rows = Vec::new();
        let mut sizes = Vec::new();
        for partition in 0..plan.output_partitioning().partition_count() {
            for batch in plan.execute(partition, cx).unwrap() {
                let batch = batch.unwrap();
                assert_eq!(
                    batch.schema(),
                    plan.schema(),
                    "batch schema differs from the plan's"
                );
                sizes.push(batch.num_rows());
                for row in 0..batch.num_rows() {
                    let values: Vec<String> = batch
                        .columns()
                        .iter()
                        .map(|c| match c.is_null(row) {
                            true => "NULL".to_string(),
                            false => array_value_to_string(c, row).unwrap(),
                        })
                        .collect();
                    rows.push(values.join(","));
                }
            }
        }
        rows.sort();
        (rows, sizes)
    }

    fn run(plan: &dyn ExecutionPlan) -> Vec<String> {
        run_with(plan, &TaskContext::for_tests()).0
    }

    fn sorted(rows: &[&str]) -> Vec<String> {
        let mut rows: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        rows.sort();
        rows
    }

    fn join(
        join_type: JoinType,
        build_side: BuildSide,
        filter: Option<PhysicalExprRef>,
    ) -> Result<HashJoinExec> {
        HashJoinExec::try_new(
            left_input(),
            right_input(),
            id_keys(),
            filter,
            join_type,
            build_side,
            JoinMode::Partitioned,
        )
    }

    const INNER: &[&str] = &["2,b,2,20", "2,b,2,21", "2,c,2,20", "2,c,2,21", "3,d,3,30"];

    /// Hand-computed answers of every join type, without and with `r_val > 25`.
    fn expected(join_type: JoinType, filtered: bool) -> Vec<String> {
        let rows: Vec<&str> = match (join_type, filtered) {
            (JoinType::Inner, false) => INNER.to_vec(),
            (JoinType::Left, false) => [INNER, &["1,a,NULL,NULL", "NULL,e,NULL,NULL"]].concat(),
            (JoinType::Right, false) => [INNER, &["NULL,NULL,4,40", "NULL,NULL,NULL,50"]].concat(),
            (JoinType::Full, false) => [
                INNER,
                &[
                    "1,a,NULL,NULL",
                    "NULL,e,NULL,NULL",
                    "NULL,NULL,4,40",
                    "NULL,NULL,NULL,50",
                ],
            ]
            .concat(),
            (JoinType::LeftSemi, false) => vec!["2,b", "2,c", "3,d"],
            (JoinType::LeftAnti, false) => vec!["1,a", "NULL,e"],
            (JoinType::RightSemi, false) => vec!["2,20", "2,21", "3,30"],
            (JoinType::RightAnti, false) => vec!["4,40", "NULL,50"],
            (JoinType::Inner, true) => vec!["3,d,3,30"],
            (JoinType::Left, true) => vec![
                "3,d,3,30",
                "1,a,NULL,NULL",
                "2,b,NULL,NULL",
                "2,c,NULL,NULL",
                "NULL,e,NULL,NULL",
            ],
            (JoinType::Right, true) => vec![
                "3,d,3,30",
                "NULL,NULL,2,20",
                "NULL,NULL,2,21",
                "NULL,NULL,4,40",
                "NULL,NULL,NULL,50",
            ],
            (JoinType::Full, true) => vec![
                "3,d,3,30",
                "1,a,NULL,NULL",
                "2,b,NULL,NULL",
                "2,c,NULL,NULL",
                "NULL,e,NULL,NULL",
                "NULL,NULL,2,20",
                "NULL,NULL,2,21",
                "NULL,NULL,4,40",
                "NULL,NULL,NULL,50",
            ],
            (JoinType::LeftSemi, true) => vec!["3,d"],
            (JoinType::LeftAnti, true) => vec!["1,a", "2,b", "2,c", "NULL,e"],
            (JoinType::RightSemi, true) => vec!["3,30"],
            (JoinType::RightAnti, true) => vec!["2,20", "2,21", "4,40", "NULL,50"],
            other => panic!("no expected rows for {other:?}"),
        };
        sorted(&rows)
    }

    const JOIN_TYPES: [JoinType; 8] = [
        JoinType::Inner,
        JoinType::Left,
        JoinType::Right,
        JoinType::Full,
        JoinType::LeftSemi,
        JoinType::LeftAnti,
        JoinType::RightSemi,
        JoinType::RightAnti,
    ];

    #[test]
    fn every_join_type_on_either_build_side_gives_the_hand_computed_rows() {
        for join_type in JOIN_TYPES {
            for build_side in [BuildSide::Left, BuildSide::Right] {
                for filtered in [false, true] {
                    let filter = filtered.then(r_val_over_25);
                    let plan = join(join_type, build_side, filter).unwrap();
                    assert_eq!(
                        run(&plan),
                        expected(join_type, filtered),
                        "{join_type} join, build {build_side}, filtered {filtered}"
                    );
                }
            }
        }
    }

    #[test]
    fn fan_out_is_split_into_bounded_batches() {
        // 3 x 4 rows on one key: 12 pairs, emitted at most 5 at a time.
        let left = TestExec::new(
            left_schema(),
            vec![vec![left_batch(vec![Some(7); 3], vec!["x", "y", "z"])]],
        );
        let right = TestExec::new(
            right_schema(),
            vec![vec![right_batch(vec![Some(7); 4], vec![1, 2, 3, 4])]],
        );
        let mut conf = EmberConf::new();
        conf.set("ember.sql.batchSize", "5").unwrap();
        let cx = TaskContext::for_tests_with_conf(conf);
        for build_side in [BuildSide::Left, BuildSide::Right] {
            let plan = HashJoinExec::try_new(
                left.clone(),
                right.clone(),
                id_keys(),
                None,
                JoinType::Inner,
                build_side,
                JoinMode::Partitioned,
            )
            .unwrap();
            let (rows, sizes) = run_with(&plan, &cx);
            let mut expected = Vec::new();
            for name in ["x", "y", "z"] {
                for val in 1..=4 {
                    expected.push(format!("7,{name},7,{val}"));
                }
            }
            expected.sort();
            assert_eq!(rows, expected, "build {build_side}");
            assert!(sizes.iter().all(|&n| n <= 5), "batch sizes {sizes:?}");
            assert_eq!(sizes.iter().sum::<usize>(), 12);
        }
    }

    #[test]
    fn two_keys_int_and_string_match_only_when_both_are_equal() {
        let left_schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int32, false),
            Field::new("b", DataType::Utf8, true),
            Field::new("v", DataType::Int32, false),
        ]));
        let right_schema = Arc::new(Schema::new(vec![
            Field::new("c", DataType::Int32, false),
            Field::new("d", DataType::Utf8, true),
            Field::new("w", DataType::Int32, false),
        ]));
        let left = TestExec::new(
            left_schema.clone(),
            vec![vec![RecordBatch::try_new(
                left_schema,
                vec![
                    Arc::new(Int32Array::from(vec![1, 1, 2, 2, 3])),
                    Arc::new(StringArray::from(vec![
                        Some("x"),
                        Some("y"),
                        Some("x"),
                        None,
                        Some("z"),
                    ])),
                    Arc::new(Int32Array::from(vec![10, 11, 12, 13, 14])),
                ],
            )
            .unwrap()]],
        );
        let right = TestExec::new(
            right_schema.clone(),
            vec![vec![RecordBatch::try_new(
                right_schema,
                vec![
                    Arc::new(Int32Array::from(vec![1, 2, 2, 1, 3, 1])),
                    Arc::new(StringArray::from(vec![
                        Some("x"),
                        Some("y"),
                        None,
                        Some("y"),
                        Some("zz"),
                        Some("x"),
                    ])),
                    Arc::new(Int32Array::from(vec![20, 21, 22, 23, 24, 25])),
                ],
            )
            .unwrap()]],
        );
        let on = vec![
            (column("a", 0), column("c", 0)),
            (column("b", 1), column("d", 1)),
        ];
        for build_side in [BuildSide::Left, BuildSide::Right] {
            let plan = HashJoinExec::try_new(
                left.clone(),
                right.clone(),
                on.clone(),
                None,
                JoinType::Inner,
                build_side,
                JoinMode::Partitioned,
            )
            .unwrap();
            assert_eq!(
                run(&plan),
                sorted(&["1,x,10,1,x,20", "1,x,10,1,x,25", "1,y,11,1,y,23"]),
                "build {build_side}"
            );
        }
    }

    #[test]
    fn null_keys_never_match_even_each_other() {
        let left = TestExec::new(
            left_schema(),
            vec![vec![left_batch(vec![None, None], vec!["p", "q"])]],
        );
        let right = TestExec::new(right_schema(), vec![vec![right_batch(vec![None], vec![1])]]);
        let inner = HashJoinExec::try_new(
            left.clone(),
            right.clone(),
            id_keys(),
            None,
            JoinType::Inner,
            BuildSide::Right,
            JoinMode::Partitioned,
        )
        .unwrap();
        assert!(run(&inner).is_empty());
        let full = HashJoinExec::try_new(
            left,
            right,
            id_keys(),
            None,
            JoinType::Full,
            BuildSide::Left,
            JoinMode::Partitioned,
        )
        .unwrap();
        assert_eq!(
            run(&full),
            sorted(&["NULL,p,NULL,NULL", "NULL,q,NULL,NULL", "NULL,NULL,NULL,1"])
        );
    }

    #[test]
    fn float_keys_match_negative_zero_and_nan() {
        let schema = Arc::new(Schema::new(vec![Field::new("f", DataType::Float64, false)]));
        let batch = |values: Vec<f64>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(values))])
                .unwrap()
        };
        let left = TestExec::new(schema.clone(), vec![vec![batch(vec![0.0, f64::NAN, 1.5])]]);
        let right = TestExec::new(
            schema.clone(),
            vec![vec![batch(vec![-0.0, -f64::NAN, 2.5])]],
        );
        let plan = HashJoinExec::try_new(
            left,
            right,
            vec![(column("f", 0), column("f", 0))],
            None,
            JoinType::LeftSemi,
            BuildSide::Right,
            JoinMode::Partitioned,
        )
        .unwrap();
        assert_eq!(run(&plan), sorted(&["0.0", "NaN"]));
    }

    #[test]
    fn empty_build_side() {
        let empty_right = TestExec::new(right_schema(), vec![vec![]]);
        let left_rows = sorted(&[
            "1,a,NULL,NULL",
            "2,b,NULL,NULL",
            "2,c,NULL,NULL",
            "3,d,NULL,NULL",
            "NULL,e,NULL,NULL",
        ]);
        for (join_type, expected) in [
            (JoinType::Inner, vec![]),
            (JoinType::Left, left_rows),
            (JoinType::Right, vec![]),
            (JoinType::LeftSemi, vec![]),
            (
                JoinType::LeftAnti,
                sorted(&["1,a", "2,b", "2,c", "3,d", "NULL,e"]),
            ),
        ] {
            let left = left_input();
            let plan = HashJoinExec::try_new(
                left.clone(),
                empty_right.clone(),
                id_keys(),
                None,
                join_type,
                BuildSide::Right,
                JoinMode::Partitioned,
            )
            .unwrap();
            assert_eq!(run(&plan), expected, "{join_type}");
            // Inner and semi joins never read the probe side when nothing can match.
            let probed = left.executions.load(Ordering::SeqCst);
            assert_eq!(
                probed,
                usize::from(expected_probe_read(join_type)),
                "{join_type}"
            );
        }
    }

    fn expected_probe_read(join_type: JoinType) -> bool {
        matches!(join_type, JoinType::Left | JoinType::LeftAnti)
    }

    #[test]
    fn empty_probe_side() {
        let empty_left = TestExec::new(left_schema(), vec![vec![]]);
        for (join_type, expected) in [
            (JoinType::Inner, vec![]),
            (JoinType::Left, vec![]),
            (
                JoinType::Right,
                sorted(&[
                    "NULL,NULL,2,20",
                    "NULL,NULL,2,21",
                    "NULL,NULL,3,30",
                    "NULL,NULL,4,40",
                    "NULL,NULL,NULL,50",
                ]),
            ),
            (JoinType::RightSemi, vec![]),
            (
                JoinType::RightAnti,
                sorted(&["2,20", "2,21", "3,30", "4,40", "NULL,50"]),
            ),
        ] {
            let plan = HashJoinExec::try_new(
                empty_left.clone(),
                right_input(),
                id_keys(),
                None,
                join_type,
                BuildSide::Right,
                JoinMode::Partitioned,
            )
            .unwrap();
            assert_eq!(run(&plan), expected, "{join_type}");
        }
    }

    #[test]
    fn output_schema_nullability_follows_the_join_type() {
        let nullability = |join_type| {
            let plan = join(join_type, BuildSide::Right, None).unwrap();
            let schema = plan.schema();
            let fields: Vec<(String, bool)> = schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.is_nullable()))
                .collect();
            fields
        };
        let fields = |spec: &[(&str, bool)]| -> Vec<(String, bool)> {
            spec.iter().map(|(n, b)| (n.to_string(), *b)).collect()
        };
        let l = ("l_id", true);
        assert_eq!(
            nullability(JoinType::Inner),
            fields(&[l, ("l_name", false), ("r_id", true), ("r_val", false)])
        );
        assert_eq!(
            nullability(JoinType::Left),
            fields(&[l, ("l_name", false), ("r_id", true), ("r_val", true)])
        );
        assert_eq!(
            nullability(JoinType::Right),
            fields(&[l, ("l_name", true), ("r_id", true), ("r_val", false)])
        );
        assert_eq!(
            nullability(JoinType::Full),
            fields(&[l, ("l_name", true), ("r_id", true), ("r_val", true)])
        );
        assert_eq!(
            nullability(JoinType::LeftAnti),
            fields(&[l, ("l_name", false)])
        );
        assert_eq!(
            nullability(JoinType::RightSemi),
            fields(&[("r_id", true), ("r_val", false)])
        );
    }

    #[test]
    fn collect_build_joins_every_probe_partition_with_the_single_build_partition() {
        let left = TestExec::new(
            left_schema(),
            vec![
                vec![left_batch(vec![Some(1), Some(2)], vec!["a", "b"])],
                vec![left_batch(
                    vec![Some(2), Some(3), None],
                    vec!["c", "d", "e"],
                )],
            ],
        );
        let right = right_input();
        let plan = HashJoinExec::try_new(
            left.clone(),
            right.clone(),
            id_keys(),
            None,
            JoinType::Left,
            BuildSide::Right,
            JoinMode::CollectBuild,
        )
        .unwrap();
        assert_eq!(plan.output_partitioning().partition_count(), 2);
        assert_eq!(run(&plan), expected(JoinType::Left, false));
        assert_eq!(
            right.executions.load(Ordering::SeqCst),
            1,
            "the broadcast side is built once"
        );

        let err = HashJoinExec::try_new(
            left.clone(),
            right.clone(),
            id_keys(),
            None,
            JoinType::Right,
            BuildSide::Right,
            JoinMode::CollectBuild,
        )
        .unwrap_err();
        assert!(matches!(err, EmberError::NotSupported(_)), "{err}");
        let err = HashJoinExec::try_new(
            left.clone(),
            right,
            id_keys(),
            None,
            JoinType::Inner,
            BuildSide::Right,
            JoinMode::Partitioned,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("2 (left) and 1 (right) partitions"),
            "{err}"
        );
        let err = HashJoinExec::try_new(
            left,
            right_input(),
            id_keys(),
            None,
            JoinType::Inner,
            BuildSide::Left,
            JoinMode::CollectBuild,
        )
        .unwrap_err();
        assert!(err.to_string().contains("1 partition, it has 2"), "{err}");
    }

    #[test]
    fn partitioned_join_pairs_partition_i_with_partition_i() {
        let left = TestExec::new(
            left_schema(),
            vec![
                vec![left_batch(vec![Some(1)], vec!["a"])],
                vec![left_batch(vec![Some(2)], vec!["b"])],
            ],
        );
        // Key 1 sits in partition 1 on the right: a partitioned join must not find it.
        let right = TestExec::new(
            right_schema(),
            vec![
                vec![right_batch(vec![Some(2)], vec![20])],
                vec![right_batch(vec![Some(1), Some(2)], vec![10, 21])],
            ],
        );
        let plan = HashJoinExec::try_new(
            left,
            right,
            id_keys(),
            None,
            JoinType::Inner,
            BuildSide::Left,
            JoinMode::Partitioned,
        )
        .unwrap();
        assert_eq!(run(&plan), sorted(&["2,b,2,21"]));
    }

    #[test]
    fn execute_does_no_work_before_the_first_batch_is_pulled() {
        let left = left_input();
        let right = right_input();
        let plan = HashJoinExec::try_new(
            left.clone(),
            right.clone(),
            id_keys(),
            None,
            JoinType::Inner,
            BuildSide::Right,
            JoinMode::Partitioned,
        )
        .unwrap();
        let mut stream = plan.execute(0, &TaskContext::for_tests()).unwrap();
        assert_eq!(
            left.executions.load(Ordering::SeqCst) + right.executions.load(Ordering::SeqCst),
            0
        );
        assert!(stream.next().is_some());
        assert_eq!(right.executions.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn cancellation_stops_the_join_with_an_error() {
        let plan = join(JoinType::Inner, BuildSide::Right, None).unwrap();
        let cx = TaskContext::for_tests();
        let mut stream = plan.execute(0, &cx).unwrap();
        cx.cancel();
        let err = stream.next().unwrap().unwrap_err();
        assert!(matches!(err, EmberError::Cancelled(_)), "{err}");
        assert!(stream.next().is_none(), "the stream ends after an error");
    }

    #[test]
    fn unsupported_shapes_are_refused_up_front() {
        let err = join(JoinType::LeftMark, BuildSide::Right, None).unwrap_err();
        assert!(matches!(err, EmberError::NotSupported(_)), "{err}");
        assert!(err.to_string().contains("LeftMark"), "{err}");

        let err = HashJoinExec::try_new(
            left_input(),
            right_input(),
            vec![],
            None,
            JoinType::Inner,
            BuildSide::Right,
            JoinMode::Partitioned,
        )
        .unwrap_err();
        assert!(matches!(err, EmberError::NotSupported(_)), "{err}");

        // l_name (Utf8) = r_id (Int32)
        let err = HashJoinExec::try_new(
            left_input(),
            right_input(),
            vec![(column("l_name", 1), column("r_id", 0))],
            None,
            JoinType::Inner,
            BuildSide::Right,
            JoinMode::Partitioned,
        )
        .unwrap_err();
        assert!(err.to_string().contains("different types"), "{err}");

        let not_boolean = column("r_val", 3);
        let err = join(JoinType::Inner, BuildSide::Right, Some(not_boolean)).unwrap_err();
        assert!(err.to_string().contains("not Boolean"), "{err}");
    }

    #[test]
    fn describe_is_one_stable_line() {
        let plan = join(JoinType::Inner, BuildSide::Right, Some(r_val_over_25())).unwrap();
        assert_eq!(
            plan.describe(),
            "HashJoinExec: type=Inner, on=[(l_id@0, r_id@0)], filter=r_val@3 > 25, build=Right, mode=Partitioned"
        );
        let copy = plan.with_new_children(plan.children()).unwrap();
        assert_eq!(copy.describe(), plan.describe());
        assert!(plan.with_new_children(vec![]).is_err());
    }
}
