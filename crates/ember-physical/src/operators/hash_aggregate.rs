//! `HashAggregateExec`: GROUP BY with aggregate functions, hashed on arrow-row group keys.
//!
//! An aggregation runs in one step (`Single`) or in two with an exchange between them:
//!
//! ```text
//!   Final     merge states per group key, evaluate final values   (group keys, sum(x), avg(y))
//!     │
//!   Exchange  hash on the group keys (or to one partition without keys)
//!     │
//!   Partial   per input partition: update states per group key   (group keys, sum(x)[sum], avg(y)[count], avg(y)[sum])
//! ```
//!
//! Each partition keeps a hash table from the arrow-row encoding of the group key to a dense
//! group index, and one DataFusion `GroupsAccumulator` per aggregate that holds the state of
//! every group in vectors indexed by that group index. Each input batch becomes one vector of
//! group indices, and every accumulator is updated with it in one vectorized call.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, BooleanArray};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion_expr::{EmitTo, GroupsAccumulator};
use datafusion_physical_expr::aggregate::AggregateFunctionExpr;
use datafusion_physical_expr::expressions::Column;
use datafusion_physical_expr::GroupsAccumulatorAdapter;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};
use hashbrown::{DefaultHashBuilder, HashTable};

use crate::expressions::{display_expr, evaluate, evaluate_predicate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

/// Most rows in one output batch.
const OUTPUT_BATCH_ROWS: usize = 8192;

/// Which step of an aggregation a [`HashAggregateExec`] performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateMode {
    /// Raw input rows to per-group aggregate *states* (one output column per state field).
    Partial,
    /// States produced by a `Partial` step (after an exchange) to final values.
    Final,
    /// Raw input rows to final values in one step.
    Single,
}

/// Hash aggregation of one partition; see the module doc for how the modes fit together.
///
/// Output columns are the group keys (nullable, named as given) followed by, in `Partial`
/// mode, every aggregate's state fields, otherwise one column per aggregate named by the
/// aggregate's name. Without group keys, `Final` and `Single` emit exactly one row per
/// partition even for empty input (`count` 0, `sum` NULL), and so does `Partial` (the initial
/// state), so the planner must exchange a keyless aggregation into one partition.
#[derive(Debug)]
pub struct HashAggregateExec {
    mode: AggregateMode,
    group_exprs: Vec<(PhysicalExprRef, String)>,
    aggregates: Vec<Arc<AggregateFunctionExpr>>,
    aggregate_filters: Vec<Option<PhysicalExprRef>>,
    /// Per aggregate, what feeds its accumulator: the arguments then the ORDER BY keys
    /// (`Partial`, `Single`), or the state columns in the input (`Final`).
    aggregate_inputs: Vec<Vec<PhysicalExprRef>>,
    /// Per aggregate, its arguments then ORDER BY keys, over `raw_input_schema`.
    raw_aggregate_inputs: Vec<Vec<PhysicalExprRef>>,
    /// The schema of the rows the aggregation started from: the input's schema, except in
    /// `Final` mode, where it is the input schema of the `Partial` step.
    raw_input_schema: SchemaRef,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
}

impl HashAggregateExec {
    /// A `Partial` (per input partition, emits group keys + aggregate *state* columns) or
    /// `Single` (raw input to final values in one step) aggregation over `input`.
    ///
    /// `group_exprs` and the aggregates' arguments are evaluated on `input`'s rows;
    /// `aggregate_filters` holds one optional FILTER (WHERE ...) predicate per aggregate.
    /// Use [`HashAggregateExec::final_for`] to build the `Final` step.
    pub fn try_new(
        mode: AggregateMode,
        group_exprs: Vec<(PhysicalExprRef, String)>,
        aggregates: Vec<Arc<AggregateFunctionExpr>>,
        aggregate_filters: Vec<Option<PhysicalExprRef>>,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        if mode == AggregateMode::Final {
            return Err(EmberError::internal(
                "HashAggregateExec::try_new cannot build a Final aggregation; use HashAggregateExec::final_for \
                 with the Partial aggregation whose states it merges",
            ));
        }
        let raw_input_schema = input.schema();
        Self::build(
            mode,
            group_exprs,
            aggregates,
            aggregate_filters,
            raw_input_schema,
            input,
        )
    }

    /// The `Final` aggregation that merges the states `partial` produces, reading them from
    /// `input` (an exchange over `partial`'s output, with the same schema as `partial`'s output).
    pub fn final_for(partial: &HashAggregateExec, input: Arc<dyn ExecutionPlan>) -> Result<Self> {
        if partial.mode != AggregateMode::Partial {
            return Err(EmberError::internal(format!(
                "HashAggregateExec::final_for needs a Partial aggregation, got mode {:?} ({})",
                partial.mode,
                partial.describe()
            )));
        }
        let group_exprs = partial
            .group_exprs
            .iter()
            .enumerate()
            .map(|(index, (_, name))| {
                (
                    Arc::new(Column::new(name, index)) as PhysicalExprRef,
                    name.clone(),
                )
            })
            .collect();
        let filters = vec![None; partial.aggregates.len()];
        Self::build(
            AggregateMode::Final,
            group_exprs,
            partial.aggregates.clone(),
            filters,
            Arc::clone(&partial.raw_input_schema),
            input,
        )
    }

    /// A `Final` aggregation from its parts, as [`HashAggregateExec::final_for`] builds it:
    /// `group_exprs` over `input`'s schema (the group columns of the `Partial` output),
    /// `aggregates` over `raw_input_schema` (the `Partial` step's input schema). For plans
    /// that travel without their `Partial` step (a shuffle read below the `Final`).
    pub fn try_new_final(
        group_exprs: Vec<(PhysicalExprRef, String)>,
        aggregates: Vec<Arc<AggregateFunctionExpr>>,
        raw_input_schema: SchemaRef,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let filters = vec![None; aggregates.len()];
        Self::build(
            AggregateMode::Final,
            group_exprs,
            aggregates,
            filters,
            raw_input_schema,
            input,
        )
    }

    /// The schema of the rows the aggregation started from: the input's schema, except in
    /// `Final` mode, where it is the input schema of the `Partial` step.
    pub fn raw_input_schema(&self) -> &SchemaRef {
        &self.raw_input_schema
    }

    /// The group key expressions (over the input's schema) with their output names.
    pub fn group_exprs(&self) -> &[(PhysicalExprRef, String)] {
        &self.group_exprs
    }

    /// The step of the aggregation this operator performs.
    pub fn mode(&self) -> AggregateMode {
        self.mode
    }

    /// The aggregate functions, in output order.
    pub fn aggregates(&self) -> &[Arc<AggregateFunctionExpr>] {
        &self.aggregates
    }

    /// One optional FILTER predicate per aggregate (always `None` in `Final` mode, where the
    /// filters were already applied by the `Partial` step).
    pub fn aggregate_filters(&self) -> &[Option<PhysicalExprRef>] {
        &self.aggregate_filters
    }

    fn build(
        mode: AggregateMode,
        group_exprs: Vec<(PhysicalExprRef, String)>,
        aggregates: Vec<Arc<AggregateFunctionExpr>>,
        aggregate_filters: Vec<Option<PhysicalExprRef>>,
        raw_input_schema: SchemaRef,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        if aggregate_filters.len() != aggregates.len() {
            return Err(EmberError::internal(format!(
                "HashAggregateExec got {} aggregate filters for {} aggregates; pass one Option per aggregate",
                aggregate_filters.len(),
                aggregates.len()
            )));
        }
        let input_schema = input.schema();
        let mut fields = Vec::with_capacity(group_exprs.len() + aggregates.len());
        for (expr, name) in &group_exprs {
            let data_type = expr.data_type(&input_schema)?;
            fields.push(Field::new(name, data_type, true));
        }
        for filter in aggregate_filters.iter().flatten() {
            let data_type = filter.data_type(&input_schema)?;
            if data_type != arrow::datatypes::DataType::Boolean {
                return Err(EmberError::internal(format!(
                    "aggregate filter {} is {data_type}, not boolean",
                    display_expr(filter)
                )));
            }
        }
        let raw_aggregate_inputs: Vec<Vec<PhysicalExprRef>> = aggregates
            .iter()
            .map(|aggregate| {
                let mut exprs = aggregate.expressions();
                exprs.extend(
                    aggregate
                        .order_bys()
                        .iter()
                        .map(|sort| Arc::clone(&sort.expr)),
                );
                exprs
            })
            .collect();
        let mut aggregate_inputs = Vec::with_capacity(aggregates.len());
        let mut next_state_column = group_exprs.len();
        for (aggregate, raw_inputs) in aggregates.iter().zip(&raw_aggregate_inputs) {
            match mode {
                AggregateMode::Partial | AggregateMode::Single => {
                    aggregate_inputs.push(raw_inputs.clone());
                }
                AggregateMode::Final => {
                    let mut exprs = Vec::new();
                    for state_field in aggregate.state_fields()? {
                        let index = next_state_column;
                        next_state_column += 1;
                        let input_field = input_schema.fields().get(index).ok_or_else(|| {
                            EmberError::internal(format!(
                                "Final aggregation of {} needs state column {index} ({}) but its input has only {} \
                                 columns; its input must have the schema of the Partial aggregation's output",
                                aggregate.name(),
                                state_field.name(),
                                input_schema.fields().len()
                            ))
                        })?;
                        if input_field.data_type() != state_field.data_type() {
                            return Err(EmberError::internal(format!(
                                "Final aggregation of {} expects state column {index} ({}) of type {}, but its input \
                                 column {} is {}",
                                aggregate.name(),
                                state_field.name(),
                                state_field.data_type(),
                                input_field.name(),
                                input_field.data_type()
                            )));
                        }
                        exprs.push(
                            Arc::new(Column::new(input_field.name(), index)) as PhysicalExprRef
                        );
                    }
                    aggregate_inputs.push(exprs);
                }
            }
        }
        if mode == AggregateMode::Final && next_state_column != input_schema.fields().len() {
            return Err(EmberError::internal(format!(
                "Final aggregation expects {next_state_column} input columns (group keys and aggregate states), but \
                 its input has {}",
                input_schema.fields().len()
            )));
        }
        for aggregate in &aggregates {
            match mode {
                AggregateMode::Partial => {
                    fields.extend(aggregate.state_fields()?.iter().map(|f| f.as_ref().clone()))
                }
                AggregateMode::Final | AggregateMode::Single => {
                    fields.push(aggregate.field().as_ref().clone())
                }
            }
        }
        Ok(HashAggregateExec {
            mode,
            group_exprs,
            aggregates,
            aggregate_filters,
            aggregate_inputs,
            raw_aggregate_inputs,
            raw_input_schema,
            input,
            schema: Arc::new(Schema::new(fields)),
        })
    }
}

impl ExecutionPlan for HashAggregateExec {
    fn name(&self) -> &'static str {
        "HashAggregateExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![Arc::clone(&self.input)]
    }

    fn with_new_children(
        &self,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input]: [Arc<dyn ExecutionPlan>; 1] =
            children.try_into().map_err(|children: Vec<_>| {
                EmberError::internal(format!(
                    "HashAggregateExec needs one child, got {}",
                    children.len()
                ))
            })?;
        let raw_input_schema = match self.mode {
            AggregateMode::Final => Arc::clone(&self.raw_input_schema),
            AggregateMode::Partial | AggregateMode::Single => input.schema(),
        };
        Ok(Arc::new(Self::build(
            self.mode,
            self.group_exprs.clone(),
            self.aggregates.clone(),
            self.aggregate_filters.clone(),
            raw_input_schema,
            input,
        )?))
    }

    fn output_partitioning(&self) -> Partitioning {
        match self.input.output_partitioning() {
            Partitioning::Single => Partitioning::Single,
            // A Final step keeps its group keys at the input's column positions, so an input
            // hashed on (some of) the group columns is hashed the same way on the output.
            Partitioning::Hash(exprs, count)
                if self.mode == AggregateMode::Final
                    && exprs.iter().all(|e| self.is_group_column(e)) =>
            {
                Partitioning::Hash(exprs, count)
            }
            other => Partitioning::Unknown(other.partition_count()),
        }
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let input = self.input.execute(partition, cx)?;
        let stream = HashAggregateStream {
            mode: self.mode,
            group_exprs: self
                .group_exprs
                .iter()
                .map(|(expr, _)| Arc::clone(expr))
                .collect(),
            aggregates: self.aggregates.clone(),
            aggregate_inputs: self.aggregate_inputs.clone(),
            raw_aggregate_inputs: self.raw_aggregate_inputs.clone(),
            raw_input_schema: Arc::clone(&self.raw_input_schema),
            aggregate_filters: self.aggregate_filters.clone(),
            input_schema: self.input.schema(),
            schema: Arc::clone(&self.schema),
            cx: cx.clone(),
            state: StreamState::Aggregating(input),
        };
        Ok(Box::new(stream))
    }

    fn describe(&self) -> String {
        let groups: Vec<&str> = self
            .group_exprs
            .iter()
            .map(|(_, name)| name.as_str())
            .collect();
        let aggregates: Vec<String> = self
            .aggregates
            .iter()
            .zip(&self.aggregate_filters)
            .map(|(aggregate, filter)| match filter {
                Some(filter) if !aggregate.name().to_ascii_uppercase().contains("FILTER") => {
                    format!(
                        "{} FILTER (WHERE {})",
                        aggregate.name(),
                        display_expr(filter)
                    )
                }
                _ => aggregate.name().to_string(),
            })
            .collect();
        format!(
            "HashAggregateExec: mode={:?}, gby=[{}], aggr=[{}]",
            self.mode,
            groups.join(", "),
            aggregates.join(", ")
        )
    }
}

impl HashAggregateExec {
    fn is_group_column(&self, expr: &PhysicalExprRef) -> bool {
        expr.downcast_ref::<Column>()
            .is_some_and(|column| column.index() < self.group_exprs.len())
    }
}

/// Where a partition's aggregation is: consuming its input, handing out the result in
/// batches, or finished.
enum StreamState {
    Aggregating(BatchIter),
    Emitting { output: RecordBatch, offset: usize },
    Done,
}

/// The per-partition work of [`HashAggregateExec`]: a lazy iterator that consumes the whole
/// input on its first `next()` and then yields the groups in batches of at most 8192 rows.
struct HashAggregateStream {
    mode: AggregateMode,
    group_exprs: Vec<PhysicalExprRef>,
    aggregates: Vec<Arc<AggregateFunctionExpr>>,
    aggregate_inputs: Vec<Vec<PhysicalExprRef>>,
    raw_aggregate_inputs: Vec<Vec<PhysicalExprRef>>,
    raw_input_schema: SchemaRef,
    aggregate_filters: Vec<Option<PhysicalExprRef>>,
    input_schema: SchemaRef,
    schema: SchemaRef,
    cx: TaskContext,
    state: StreamState,
}

impl Iterator for HashAggregateStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match std::mem::replace(&mut self.state, StreamState::Done) {
                StreamState::Aggregating(input) => match self.aggregate(input) {
                    Ok(output) => self.state = StreamState::Emitting { output, offset: 0 },
                    Err(error) => return Some(Err(error)),
                },
                StreamState::Emitting { output, offset } => {
                    if offset >= output.num_rows() {
                        return None;
                    }
                    let length = OUTPUT_BATCH_ROWS.min(output.num_rows() - offset);
                    let batch = output.slice(offset, length);
                    self.state = StreamState::Emitting {
                        output,
                        offset: offset + length,
                    };
                    return Some(Ok(batch));
                }
                StreamState::Done => return None,
            }
        }
    }
}

impl HashAggregateStream {
    /// Consumes the whole input and returns every group's keys and aggregate columns.
    fn aggregate(&mut self, input: BatchIter) -> Result<RecordBatch> {
        let mut groups = GroupTable::try_new(&self.group_exprs, &self.input_schema)?;
        let mut accumulators = self
            .aggregates
            .iter()
            .map(create_groups_accumulator)
            .collect::<Result<Vec<_>>>()?;
        let mut group_indices = Vec::new();
        for batch in input {
            self.cx.check_cancelled()?;
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            self.aggregate_batch(&batch, &mut groups, &mut accumulators, &mut group_indices)?;
        }
        self.cx.check_cancelled()?;
        if groups.num_groups() == 0 && self.group_exprs.is_empty() {
            // SQL gives one row for an aggregation without GROUP BY even over no rows.
            self.create_initial_group(&mut accumulators)?;
            groups.create_single_group();
        }
        self.emit(groups, accumulators)
    }

    /// Creates group 0 with every aggregate's initial state (count 0, sum NULL), by updating
    /// each accumulator with one NULL row that its filter excludes.
    ///
    /// A zero-row update would not do: DataFusion's accumulators assume that a batch without
    /// NULLs or a filter gave a value to every group up to `total_num_groups`.
    fn create_initial_group(&self, accumulators: &mut [Box<dyn GroupsAccumulator>]) -> Result<()> {
        let excluded = BooleanArray::from(vec![false]);
        for (index, accumulator) in accumulators.iter_mut().enumerate() {
            let values = self.raw_aggregate_inputs[index]
                .iter()
                .map(|expr| Ok(new_null_array(&expr.data_type(&self.raw_input_schema)?, 1)))
                .collect::<Result<Vec<_>>>()?;
            accumulator
                .update_batch(&values, &[0], Some(&excluded), 1)
                .map_err(|e| aggregate_error(e, &self.aggregates[index]))?;
        }
        Ok(())
    }

    fn aggregate_batch(
        &self,
        batch: &RecordBatch,
        groups: &mut GroupTable,
        accumulators: &mut [Box<dyn GroupsAccumulator>],
        group_indices: &mut Vec<usize>,
    ) -> Result<()> {
        let keys = self
            .group_exprs
            .iter()
            .map(|expr| evaluate(expr, batch))
            .collect::<Result<Vec<_>>>()?;
        groups.intern(&keys, batch.num_rows(), group_indices)?;
        let total_num_groups = groups.num_groups();
        for (index, accumulator) in accumulators.iter_mut().enumerate() {
            let values = self.aggregate_inputs[index]
                .iter()
                .map(|expr| evaluate(expr, batch))
                .collect::<Result<Vec<_>>>()?;
            let result = match self.mode {
                AggregateMode::Final => {
                    accumulator.merge_batch(&values, group_indices, total_num_groups)
                }
                AggregateMode::Partial | AggregateMode::Single => {
                    let filter = match &self.aggregate_filters[index] {
                        Some(predicate) => Some(evaluate_predicate(predicate, batch)?),
                        None => None,
                    };
                    accumulator.update_batch(
                        &values,
                        group_indices,
                        filter.as_ref(),
                        total_num_groups,
                    )
                }
            };
            result.map_err(|e| aggregate_error(e, &self.aggregates[index]))?;
        }
        Ok(())
    }

    fn emit(
        &self,
        groups: GroupTable,
        accumulators: Vec<Box<dyn GroupsAccumulator>>,
    ) -> Result<RecordBatch> {
        let num_groups = groups.num_groups();
        if num_groups == 0 {
            // Some accumulators (the per-group adapter) cannot build an empty state array.
            return Ok(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
        let mut columns = groups.into_columns(&self.schema)?;
        for (aggregate, mut accumulator) in self.aggregates.iter().zip(accumulators) {
            match self.mode {
                AggregateMode::Partial => columns.extend(
                    accumulator
                        .state(EmitTo::All)
                        .map_err(|e| aggregate_error(e, aggregate))?,
                ),
                AggregateMode::Final | AggregateMode::Single => columns.push(
                    accumulator
                        .evaluate(EmitTo::All)
                        .map_err(|e| aggregate_error(e, aggregate))?,
                ),
            }
        }
        let options = RecordBatchOptions::new().with_row_count(Some(num_groups));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options).map_err(
            |e| {
                EmberError::internal(format!(
                "HashAggregateExec ({:?}) built an output batch that does not fit its schema: {e}",
                self.mode
            ))
            },
        )
    }
}

/// An aggregate's error as the user should see it (ANSI overflow and the like), or an internal
/// error naming the aggregate.
fn aggregate_error(
    error: datafusion_common::DataFusionError,
    aggregate: &AggregateFunctionExpr,
) -> EmberError {
    match EmberError::from(error).into_root() {
        EmberError::DataFusion(datafusion_common::DataFusionError::Internal(message)) => {
            EmberError::internal(format!("aggregate {} failed: {message}", aggregate.name()))
        }
        other => other,
    }
}

/// The aggregate's vectorized accumulator, or its row accumulator behind the adapter (DISTINCT
/// aggregates over most types, and functions without a groups implementation).
fn create_groups_accumulator(
    aggregate: &Arc<AggregateFunctionExpr>,
) -> Result<Box<dyn GroupsAccumulator>> {
    if aggregate.groups_accumulator_supported() {
        return Ok(aggregate.create_groups_accumulator()?);
    }
    let aggregate = Arc::clone(aggregate);
    Ok(Box::new(GroupsAccumulatorAdapter::new(move || {
        aggregate.create_accumulator()
    })))
}

/// The group keys seen so far, each with a dense index (its position in the output).
enum GroupTable {
    /// No GROUP BY: every row is in group 0, which exists once any batch (even an empty
    /// one) was seen.
    NoKeys { seen: bool },
    /// Group keys encoded as arrow rows; `map` holds group indices hashed by their row bytes.
    Keys {
        converter: RowConverter,
        hasher: DefaultHashBuilder,
        map: HashTable<usize>,
        /// The key of each group, by group index.
        group_rows: Rows,
        /// The hash of each group's row, by group index, so growing `map` does not rehash rows.
        group_hashes: Vec<u64>,
    },
}

impl GroupTable {
    fn try_new(group_exprs: &[PhysicalExprRef], input_schema: &Schema) -> Result<Self> {
        if group_exprs.is_empty() {
            return Ok(GroupTable::NoKeys { seen: false });
        }
        let sort_fields = group_exprs
            .iter()
            .map(|expr| Ok(SortField::new(expr.data_type(input_schema)?)))
            .collect::<Result<Vec<_>>>()?;
        let converter = RowConverter::new(sort_fields)?;
        let group_rows = converter.empty_rows(0, 0);
        Ok(GroupTable::Keys {
            converter,
            hasher: DefaultHashBuilder::default(),
            map: HashTable::new(),
            group_rows,
            group_hashes: Vec::new(),
        })
    }

    /// Creates group 0 of an aggregation without group keys.
    fn create_single_group(&mut self) {
        if let GroupTable::NoKeys { seen } = self {
            *seen = true;
        }
    }

    fn num_groups(&self) -> usize {
        match self {
            GroupTable::NoKeys { seen } => usize::from(*seen),
            GroupTable::Keys { group_hashes, .. } => group_hashes.len(),
        }
    }

    /// Sets `group_indices` to the group index of each of the `num_rows` rows whose key
    /// columns are `keys`, adding a group for every key not seen before.
    fn intern(
        &mut self,
        keys: &[ArrayRef],
        num_rows: usize,
        group_indices: &mut Vec<usize>,
    ) -> Result<()> {
        group_indices.clear();
        match self {
            GroupTable::NoKeys { seen } => {
                // Group 0 must not exist before it has rows: see `create_initial_group`.
                *seen |= num_rows > 0;
                group_indices.resize(num_rows, 0);
            }
            GroupTable::Keys {
                converter,
                hasher,
                map,
                group_rows,
                group_hashes,
            } => {
                let rows = converter.convert_columns(keys)?;
                group_indices.reserve(rows.num_rows());
                for row in rows.iter() {
                    let hash = hasher.hash_one(row.as_ref());
                    let existing = map.find(hash, |&group| {
                        group_hashes[group] == hash && group_rows.row(group) == row
                    });
                    let group = match existing {
                        Some(&group) => group,
                        None => {
                            let group = group_hashes.len();
                            group_rows.push(row);
                            group_hashes.push(hash);
                            map.insert_unique(hash, group, |&group| group_hashes[group]);
                            group
                        }
                    };
                    group_indices.push(group);
                }
            }
        }
        Ok(())
    }

    /// The group key columns in group index order, typed as in `schema`'s leading fields.
    fn into_columns(self, schema: &Schema) -> Result<Vec<ArrayRef>> {
        match self {
            GroupTable::NoKeys { .. } => Ok(Vec::new()),
            GroupTable::Keys {
                converter,
                group_rows,
                ..
            } => {
                let columns = converter.convert_rows(group_rows.iter())?;
                // arrow-row decodes dictionary keys to their value type; give back the type the
                // schema promises.
                columns
                    .into_iter()
                    .zip(schema.fields())
                    .map(|(column, field)| {
                        if column.data_type() == field.data_type() {
                            Ok(column)
                        } else {
                            Ok(arrow::compute::cast(&column, field.data_type())?)
                        }
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use arrow::array::{Array, Decimal128Array, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::DataType;
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    use datafusion_expr::{AggregateUDF, Operator};
    use datafusion_functions_aggregate::average::avg_udaf;
    use datafusion_functions_aggregate::count::count_udaf;
    use datafusion_functions_aggregate::min_max::{max_udaf, min_udaf};
    use datafusion_functions_aggregate::sum::sum_udaf;
    use datafusion_physical_expr::aggregate::AggregateExprBuilder;
    use datafusion_physical_expr::expressions::{binary, col, lit};

    use super::*;

    use crate::test_util::MemoryExec;

    fn input_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("j", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
        ]))
    }

    fn input_batch(
        k: Vec<Option<&str>>,
        j: Vec<Option<i64>>,
        v: Vec<Option<i64>>,
        f: Vec<Option<f64>>,
    ) -> RecordBatch {
        RecordBatch::try_new(
            input_schema(),
            vec![
                Arc::new(StringArray::from(k)),
                Arc::new(Int64Array::from(j)),
                Arc::new(Int64Array::from(v)),
                Arc::new(Float64Array::from(f)),
            ],
        )
        .unwrap()
    }

    /// Two partitions of rows with NULL keys and NULL values.
    fn sample_partitions() -> Vec<Vec<RecordBatch>> {
        vec![
            vec![
                input_batch(
                    vec![Some("a"), Some("b"), None, Some("a")],
                    vec![Some(1), Some(1), Some(2), Some(2)],
                    vec![Some(1), Some(10), Some(100), None],
                    vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)],
                ),
                input_batch(
                    vec![Some("b"), None],
                    vec![Some(1), Some(2)],
                    vec![Some(20), Some(200)],
                    vec![Some(5.0), None],
                ),
            ],
            vec![input_batch(
                vec![Some("a"), Some("c"), Some("a")],
                vec![Some(1), None, Some(1)],
                vec![Some(3), None, Some(5)],
                vec![Some(6.0), Some(7.0), Some(8.0)],
            )],
        ]
    }

    /// The sample rows in one partition, for Single steps that must see every row of a group.
    fn one_partition() -> Vec<Vec<RecordBatch>> {
        vec![sample_partitions().concat()]
    }

    fn aggregate(
        fun: Arc<AggregateUDF>,
        arg: PhysicalExprRef,
        name: &str,
        distinct: bool,
    ) -> Arc<AggregateFunctionExpr> {
        Arc::new(
            AggregateExprBuilder::new(fun, vec![arg])
                .schema(input_schema())
                .alias(name)
                .with_distinct(distinct)
                .build()
                .unwrap(),
        )
    }

    fn column(name: &str) -> PhysicalExprRef {
        col(name, &input_schema()).unwrap()
    }

    fn standard_aggregates() -> Vec<Arc<AggregateFunctionExpr>> {
        vec![
            aggregate(sum_udaf(), column("v"), "sum(v)", false),
            aggregate(count_udaf(), column("v"), "count(v)", false),
            aggregate(count_udaf(), lit(1i64), "count(1)", false),
            aggregate(avg_udaf(), column("f"), "avg(f)", false),
            aggregate(min_udaf(), column("v"), "min(v)", false),
            aggregate(max_udaf(), column("k"), "max(k)", false),
        ]
    }

    fn groups(names: &[&str]) -> Vec<(PhysicalExprRef, String)> {
        names.iter().map(|n| (column(n), n.to_string())).collect()
    }

    fn collect(plan: &dyn ExecutionPlan, partitions: usize) -> Vec<RecordBatch> {
        let cx = TaskContext::for_tests();
        let mut batches = Vec::new();
        for partition in 0..partitions {
            for batch in plan.execute(partition, &cx).unwrap() {
                batches.push(batch.unwrap());
            }
        }
        batches
    }

    /// Every row as `a|b|c`, sorted, so results compare regardless of group order.
    fn rows(batches: &[RecordBatch]) -> Vec<String> {
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
                .collect();
            for row in 0..batch.num_rows() {
                let cells: Vec<String> = formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect();
                rows.push(cells.join("|"));
            }
        }
        rows.sort();
        rows
    }

    fn single(
        group_names: &[&str],
        aggregates: Vec<Arc<AggregateFunctionExpr>>,
        input: Arc<dyn ExecutionPlan>,
    ) -> HashAggregateExec {
        let filters = vec![None; aggregates.len()];
        HashAggregateExec::try_new(
            AggregateMode::Single,
            groups(group_names),
            aggregates,
            filters,
            input,
        )
        .unwrap()
    }

    /// Runs Partial on every input partition, gathers the states into one partition (what a
    /// shuffle into one reducer does) and runs Final over them.
    fn two_phase(
        group_names: &[&str],
        aggregates: Vec<Arc<AggregateFunctionExpr>>,
        partitions: Vec<Vec<RecordBatch>>,
    ) -> (HashAggregateExec, Vec<RecordBatch>) {
        let partition_count = partitions.len();
        let input = MemoryExec::new(input_schema(), partitions);
        let filters = vec![None; aggregates.len()];
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            groups(group_names),
            aggregates,
            filters,
            input,
        )
        .unwrap();
        let states = collect(&partial, partition_count);
        let exchange = MemoryExec::new(partial.schema(), vec![states]);
        let final_step = HashAggregateExec::final_for(&partial, exchange).unwrap();
        let output = collect(&final_step, 1);
        (final_step, output)
    }

    #[test]
    fn groups_by_one_key_with_null_as_its_own_group() {
        let input = MemoryExec::new(input_schema(), one_partition());
        let exec = single(&["k"], standard_aggregates(), input);
        let output = collect(&exec, 1);
        assert_eq!(
            rows(&output),
            vec![
                "NULL|300|2|2|3.0|100|NULL",
                "a|9|3|4|4.75|1|a",
                "b|30|2|2|3.5|10|b",
                "c|NULL|0|1|7.0|NULL|c",
            ]
        );
        let schema = exec.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            ["k", "sum(v)", "count(v)", "count(1)", "avg(f)", "min(v)", "max(k)"]
        );
        assert!(exec.schema().field(0).is_nullable());
        assert_eq!(output[0].schema(), exec.schema());
    }

    #[test]
    fn groups_by_two_keys() {
        let input = MemoryExec::new(input_schema(), one_partition());
        let exec = single(&["k", "j"], standard_aggregates(), input);
        assert_eq!(
            rows(&collect(&exec, 1)),
            vec![
                "NULL|2|300|2|2|3.0|100|NULL",
                "a|1|9|3|3|5.0|1|a",
                "a|2|NULL|0|1|4.0|NULL|a",
                "b|1|30|2|2|3.5|10|b",
                "c|NULL|NULL|0|1|7.0|NULL|c",
            ]
        );
    }

    #[test]
    fn partial_then_final_equals_single() {
        for keys in [&["k"][..], &["k", "j"][..], &[][..]] {
            let input = MemoryExec::new(input_schema(), one_partition());
            let expected = rows(&collect(&single(keys, standard_aggregates(), input), 1));
            let (final_step, output) = two_phase(keys, standard_aggregates(), sample_partitions());
            assert_eq!(rows(&output), expected, "group keys {keys:?}");
            assert_eq!(final_step.mode(), AggregateMode::Final);
            assert_eq!(final_step.group_exprs().len(), keys.len());
        }
    }

    #[test]
    fn partial_output_holds_state_columns() {
        let input = MemoryExec::new(input_schema(), sample_partitions());
        let aggregates = vec![aggregate(avg_udaf(), column("f"), "avg(f)", false)];
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            groups(&["k"]),
            aggregates,
            vec![None],
            input,
        )
        .unwrap();
        let schema = partial.schema();
        assert_eq!(schema.fields().len(), 3, "{schema:?}");
        assert_eq!(schema.field(0).name(), "k");
        // avg keeps a count and a sum per group.
        let output = collect(&partial, 1);
        assert_eq!(rows(&output), vec!["NULL|1|3.0", "a|2|5.0", "b|2|7.0"]);
    }

    #[test]
    fn count_distinct_merges_value_sets_across_partitions() {
        // Group "a" sees {1, 2} in one partition and {2, 3} in the other: 3 distinct values,
        // where adding the per-partition counts would give 4.
        let partitions = vec![
            vec![input_batch(
                vec![Some("a"), Some("a"), Some("a"), Some("b")],
                vec![Some(1), Some(1), Some(1), Some(1)],
                vec![Some(1), Some(2), Some(2), None],
                vec![None, None, None, None],
            )],
            vec![input_batch(
                vec![Some("a"), Some("a"), Some("b"), Some("b")],
                vec![Some(1), Some(1), Some(1), Some(1)],
                vec![Some(2), Some(3), Some(7), Some(7)],
                vec![None, None, None, None],
            )],
        ];
        let aggregates = || {
            vec![
                aggregate(count_udaf(), column("v"), "count(DISTINCT v)", true),
                // Utf8 DISTINCT goes through the row accumulator adapter.
                aggregate(count_udaf(), column("k"), "count(DISTINCT k)", true),
                aggregate(sum_udaf(), column("v"), "sum(DISTINCT v)", true),
            ]
        };
        let (_, output) = two_phase(&["k"], aggregates(), partitions.clone());
        assert_eq!(rows(&output), vec!["a|3|1|6", "b|1|1|7"]);
        let (_, output) = two_phase(&[], aggregates(), partitions.clone());
        assert_eq!(rows(&output), vec!["4|2|13"]);
        let input = MemoryExec::new(input_schema(), vec![partitions.concat()]);
        let exec = single(&[], aggregates(), input);
        assert_eq!(rows(&collect(&exec, 1)), vec!["4|2|13"]);
    }

    #[test]
    fn no_group_keys_on_empty_input_gives_one_row() {
        let empty = vec![vec![RecordBatch::new_empty(input_schema())], vec![]];
        let aggregates = || {
            vec![
                aggregate(count_udaf(), column("v"), "count(v)", false),
                aggregate(sum_udaf(), column("v"), "sum(v)", false),
                aggregate(count_udaf(), column("v"), "count(DISTINCT v)", true),
            ]
        };
        let input = MemoryExec::new(input_schema(), vec![vec![]]);
        let exec = single(&[], aggregates(), input);
        let output = collect(&exec, 1);
        assert_eq!(rows(&output), vec!["0|NULL|0"]);
        assert_eq!(output[0].num_rows(), 1);

        let (_, output) = two_phase(&[], aggregates(), empty.clone());
        assert_eq!(rows(&output), vec!["0|NULL|0"]);

        // A Final step whose exchange delivered nothing at all still answers one row.
        let input = MemoryExec::new(input_schema(), empty);
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            vec![],
            aggregates(),
            vec![None; 3],
            input,
        )
        .unwrap();
        let final_step =
            HashAggregateExec::final_for(&partial, MemoryExec::new(partial.schema(), vec![vec![]]))
                .unwrap();
        assert_eq!(rows(&collect(&final_step, 1)), vec!["0|NULL|0"]);

        // With group keys, empty input has no groups.
        let input = MemoryExec::new(
            input_schema(),
            vec![vec![RecordBatch::new_empty(input_schema())]],
        );
        assert!(collect(&single(&["k"], aggregates(), input), 1).is_empty());
    }

    #[test]
    fn decimal_sum_keeps_decimal_type() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("d", DataType::Decimal128(15, 2), true),
        ]));
        let decimals = Decimal128Array::from(vec![Some(150), Some(275), None, Some(1)])
            .with_precision_and_scale(15, 2)
            .unwrap();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 1, 1, 2])),
                Arc::new(decimals),
            ],
        )
        .unwrap();
        let input = MemoryExec::new(Arc::clone(&schema), vec![vec![batch.clone()], vec![batch]]);
        let sum = Arc::new(
            AggregateExprBuilder::new(sum_udaf(), vec![col("d", &schema).unwrap()])
                .schema(Arc::clone(&schema))
                .alias("sum(d)")
                .build()
                .unwrap(),
        );
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            vec![(col("k", &schema).unwrap(), "k".to_string())],
            vec![sum],
            vec![None],
            input,
        )
        .unwrap();
        let states = collect(&partial, 2);
        let final_step =
            HashAggregateExec::final_for(&partial, MemoryExec::new(partial.schema(), vec![states]))
                .unwrap();
        let output = collect(&final_step, 1);
        assert_eq!(
            final_step.schema().field(1).data_type(),
            &DataType::Decimal128(25, 2)
        );
        assert_eq!(
            output[0].column(1).data_type(),
            &DataType::Decimal128(25, 2)
        );
        assert_eq!(rows(&output), vec!["1|8.50", "2|0.02"]);
    }

    #[test]
    fn many_groups_across_batches_come_out_in_bounded_batches() {
        const GROUPS: i64 = 100_000;
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Int64, false),
        ]));
        // Five batches of 40k rows: every key appears twice, in different batches.
        let batches: Vec<RecordBatch> = (0..5)
            .map(|b| {
                let keys: Vec<i64> = (b * 40_000..(b + 1) * 40_000).map(|i| i % GROUPS).collect();
                let values: Vec<i64> = keys.iter().map(|k| k * 2).collect();
                RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![
                        Arc::new(Int64Array::from(keys)),
                        Arc::new(Int64Array::from(values)),
                    ],
                )
                .unwrap()
            })
            .collect();
        let input = MemoryExec::new(Arc::clone(&schema), vec![batches]);
        let aggregates = vec![
            Arc::new(
                AggregateExprBuilder::new(sum_udaf(), vec![col("v", &schema).unwrap()])
                    .schema(Arc::clone(&schema))
                    .alias("sum(v)")
                    .build()
                    .unwrap(),
            ),
            Arc::new(
                AggregateExprBuilder::new(count_udaf(), vec![lit(1i64)])
                    .schema(Arc::clone(&schema))
                    .alias("count(1)")
                    .build()
                    .unwrap(),
            ),
        ];
        let exec = HashAggregateExec::try_new(
            AggregateMode::Single,
            vec![(col("k", &schema).unwrap(), "k".to_string())],
            aggregates,
            vec![None, None],
            input,
        )
        .unwrap();
        let output = collect(&exec, 1);
        assert!(output.iter().all(|b| b.num_rows() <= OUTPUT_BATCH_ROWS));
        assert_eq!(output.len(), (GROUPS as usize).div_ceil(OUTPUT_BATCH_ROWS));
        let mut seen = vec![false; GROUPS as usize];
        for batch in &output {
            let keys = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            let sums = batch
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            let counts = batch
                .column(2)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            for row in 0..batch.num_rows() {
                let key = keys.value(row);
                assert!(!seen[key as usize], "key {key} emitted twice");
                seen[key as usize] = true;
                assert_eq!(counts.value(row), 2, "key {key}");
                assert_eq!(sums.value(row), key * 4, "key {key}");
            }
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn aggregate_filter_applies_per_aggregate() {
        let schema = input_schema();
        let over_two = binary(column("v"), Operator::Gt, lit(2i64), &schema).unwrap();
        let aggregates = vec![
            aggregate(sum_udaf(), column("v"), "sum(v)", false),
            aggregate(
                count_udaf(),
                column("v"),
                "count(v) FILTER (WHERE v > 2)",
                false,
            ),
            aggregate(sum_udaf(), column("v"), "s", false),
        ];
        let filters = vec![None, Some(Arc::clone(&over_two)), Some(over_two)];
        let input = MemoryExec::new(input_schema(), sample_partitions());
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            groups(&["k"]),
            aggregates,
            filters,
            input,
        )
        .unwrap();
        let states = collect(&partial, 2);
        let final_step =
            HashAggregateExec::final_for(&partial, MemoryExec::new(partial.schema(), vec![states]))
                .unwrap();
        assert_eq!(
            rows(&collect(&final_step, 1)),
            vec!["NULL|300|2|300", "a|9|2|8", "b|30|2|30", "c|NULL|0|NULL"]
        );
        assert_eq!(
            partial.describe(),
            "HashAggregateExec: mode=Partial, gby=[k], aggr=[sum(v), count(v) FILTER (WHERE v > 2), s FILTER (WHERE v@2 > 2)]"
        );
        assert_eq!(
            final_step.describe(),
            "HashAggregateExec: mode=Final, gby=[k], aggr=[sum(v), count(v) FILTER (WHERE v > 2), s]"
        );
    }

    #[test]
    fn describe_is_one_stable_line() {
        let input = MemoryExec::new(input_schema(), vec![]);
        let exec = single(
            &["k", "j"],
            vec![
                aggregate(sum_udaf(), column("v"), "sum(v)", false),
                aggregate(count_udaf(), lit(1i64), "count(1)", false),
            ],
            input,
        );
        assert_eq!(
            exec.describe(),
            "HashAggregateExec: mode=Single, gby=[k, j], aggr=[sum(v), count(1)]"
        );
    }

    #[test]
    fn execute_is_lazy_and_checks_cancellation() {
        let input = MemoryExec::new(input_schema(), sample_partitions());
        let pulled = Arc::clone(&input.pulled);
        let exec = single(&["k"], standard_aggregates(), input);
        let cx = TaskContext::for_tests();
        let mut stream = exec.execute(0, &cx).unwrap();
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            0,
            "execute must not pull its input"
        );
        assert!(stream.next().unwrap().is_ok());
        assert_eq!(pulled.load(Ordering::SeqCst), 2);

        let cancelled = exec.execute(0, &cx).unwrap();
        cx.cancel();
        let results: Vec<_> = cancelled.collect();
        assert_eq!(results.len(), 1);
        assert!(
            matches!(results[0], Err(EmberError::Cancelled(_))),
            "{:?}",
            results[0]
        );
    }

    #[test]
    fn input_errors_propagate_without_output() {
        let schema = input_schema();
        let input = MemoryExec::with_results(
            Arc::clone(&schema),
            vec![vec![
                Ok(sample_partitions()[0][0].clone()),
                Err(EmberError::execution("disk on fire")),
            ]],
        );
        let exec = single(&["k"], standard_aggregates(), input);
        let results: Vec<_> = exec
            .execute(0, &TaskContext::for_tests())
            .unwrap()
            .collect();
        assert_eq!(results.len(), 1);
        let error = results[0].as_ref().unwrap_err();
        assert!(error.to_string().contains("disk on fire"), "{error}");
    }

    #[test]
    fn expression_errors_become_ember_errors() {
        let schema = input_schema();
        let divide_by_zero = binary(column("v"), Operator::Divide, lit(0i64), &schema).unwrap();
        let aggregates = vec![aggregate(sum_udaf(), divide_by_zero, "sum(v / 0)", false)];
        let input = MemoryExec::new(input_schema(), one_partition());
        let exec = single(&["k"], aggregates, input);
        let results: Vec<_> = exec
            .execute(0, &TaskContext::for_tests())
            .unwrap()
            .collect();
        assert_eq!(results.len(), 1);
        let error = results[0].as_ref().unwrap_err();
        assert!(
            error.to_string().to_lowercase().contains("divide by zero"),
            "{error}"
        );
    }

    #[test]
    fn final_keeps_hash_partitioning_on_group_columns() {
        #[derive(Debug)]
        struct HashedExec(SchemaRef);
        impl ExecutionPlan for HashedExec {
            fn name(&self) -> &'static str {
                "HashedExec"
            }
            fn schema(&self) -> SchemaRef {
                Arc::clone(&self.0)
            }
            fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
                vec![]
            }
            fn with_new_children(
                &self,
                _: Vec<Arc<dyn ExecutionPlan>>,
            ) -> Result<Arc<dyn ExecutionPlan>> {
                Err(EmberError::internal("HashedExec has no children"))
            }
            fn output_partitioning(&self) -> Partitioning {
                Partitioning::Hash(vec![Arc::new(Column::new("k", 0))], 4)
            }
            fn execute(&self, _: usize, _: &TaskContext) -> Result<BatchIter> {
                Ok(Box::new(std::iter::empty()))
            }
            fn describe(&self) -> String {
                "HashedExec".to_string()
            }
        }
        let input = MemoryExec::new(input_schema(), vec![vec![], vec![], vec![]]);
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            groups(&["k"]),
            standard_aggregates(),
            vec![None; 6],
            input,
        )
        .unwrap();
        assert_eq!(partial.output_partitioning().partition_count(), 3);
        let final_step =
            HashAggregateExec::final_for(&partial, Arc::new(HashedExec(partial.schema()))).unwrap();
        match final_step.output_partitioning() {
            Partitioning::Hash(exprs, 4) => assert_eq!(display_expr(&exprs[0]), "k@0"),
            other => panic!("expected hash partitioning on k, got {other:?}"),
        }
    }

    #[test]
    fn bad_construction_is_an_error() {
        let input: Arc<dyn ExecutionPlan> = MemoryExec::new(input_schema(), vec![]);
        let error = HashAggregateExec::try_new(
            AggregateMode::Single,
            groups(&["k"]),
            standard_aggregates(),
            vec![None],
            Arc::clone(&input),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("1 aggregate filters for 6 aggregates"),
            "{error}"
        );

        let error = HashAggregateExec::try_new(
            AggregateMode::Final,
            groups(&["k"]),
            vec![],
            vec![],
            Arc::clone(&input),
        )
        .unwrap_err();
        assert!(error.to_string().contains("final_for"), "{error}");

        // A Final over something that is not the Partial's output is refused.
        let partial = HashAggregateExec::try_new(
            AggregateMode::Partial,
            groups(&["k"]),
            standard_aggregates(),
            vec![None; 6],
            Arc::clone(&input),
        )
        .unwrap();
        let error = HashAggregateExec::final_for(&partial, Arc::clone(&input)).unwrap_err();
        assert!(error.to_string().contains("Final aggregation"), "{error}");

        let single_step = single(&["k"], standard_aggregates(), Arc::clone(&input));
        assert!(HashAggregateExec::final_for(&single_step, input).is_err());
    }

    #[test]
    fn with_new_children_keeps_the_aggregation() {
        let input = MemoryExec::new(input_schema(), sample_partitions());
        let exec = single(&["k"], standard_aggregates(), input);
        let other = MemoryExec::new(input_schema(), vec![sample_partitions().remove(1)]);
        let copy = exec.with_new_children(vec![other]).unwrap();
        assert_eq!(copy.describe(), exec.describe());
        assert_eq!(
            rows(&collect(copy.as_ref(), 1)),
            vec!["a|8|2|2|7.0|3|a", "c|NULL|0|1|7.0|NULL|c"]
        );
        assert!(exec.with_new_children(vec![]).is_err());
    }
}
