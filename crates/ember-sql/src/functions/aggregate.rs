//! Aggregates with Spark's semantics: `first`/`last` (optionally ignoring NULLs), `max_by`,
//! `min_by`, and ANSI `sum` of integers that fails on overflow. Each keeps a small state
//! (value, flag or ordering key) so that partial results merge in the final aggregation.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion_common::{exec_err, plan_err, Result, ScalarValue};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

/// Which value an aggregate keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pick {
    /// The first value seen.
    First,
    /// The last value seen.
    Last,
    /// The value of the row with the largest ordering key.
    MaxBy,
    /// The value of the row with the smallest ordering key.
    MinBy,
}

/// `first(x[, ignoreNulls])`, `last(...)`, `max_by(x, key)`, `min_by(x, key)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PickAggregate {
    pick: Pick,
    ignore_nulls: bool,
    signature: Signature,
}

impl PickAggregate {
    /// The aggregate for `pick`; `ignore_nulls` only matters for `first` and `last`.
    pub fn udaf(pick: Pick, ignore_nulls: bool) -> Arc<AggregateUDF> {
        Arc::new(AggregateUDF::from(PickAggregate {
            pick,
            ignore_nulls,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    }

    /// Rebuilds the aggregate from its name (`first`, `first_ignore_nulls`, `last`,
    /// `last_ignore_nulls`, `max_by`, `min_by`), as found in a serialized plan.
    pub fn udaf_by_name(name: &str) -> Option<Arc<AggregateUDF>> {
        let (pick, ignore_nulls) = match name {
            "first" => (Pick::First, false),
            "first_ignore_nulls" => (Pick::First, true),
            "last" => (Pick::Last, false),
            "last_ignore_nulls" => (Pick::Last, true),
            "max_by" => (Pick::MaxBy, false),
            "min_by" => (Pick::MinBy, false),
            _ => return None,
        };
        Some(Self::udaf(pick, ignore_nulls))
    }

    fn by_key(&self) -> bool {
        matches!(self.pick, Pick::MaxBy | Pick::MinBy)
    }
}

impl AggregateUDFImpl for PickAggregate {
    fn name(&self) -> &str {
        // The flag is part of the name so that first(x) and first(x, true) differ in a plan.
        match (self.pick, self.ignore_nulls) {
            (Pick::First, false) => "first",
            (Pick::First, true) => "first_ignore_nulls",
            (Pick::Last, false) => "last",
            (Pick::Last, true) => "last_ignore_nulls",
            (Pick::MaxBy, _) => "max_by",
            (Pick::MinBy, _) => "min_by",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let expected = if self.by_key() { 2 } else { 1 };
        if arg_types.len() != expected {
            return plan_err!(
                "Function {} takes {expected} argument{}, got {}",
                self.name(),
                if expected == 1 { "" } else { "s" },
                arg_types.len()
            );
        }
        if self.by_key()
            && matches!(
                arg_types[1],
                DataType::List(_) | DataType::Struct(_) | DataType::Map(_, _)
            )
        {
            return plan_err!("the ordering of {} must be comparable", self.name());
        }
        Ok(arg_types
            .iter()
            .map(|t| {
                if t.is_null() {
                    DataType::Int32
                } else {
                    t.clone()
                }
            })
            .collect())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(t) => Ok(t.clone()),
            None => plan_err!("{} needs an argument", self.name()),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let value = Field::new(
            format!("{}[{}]", args.name, "value"),
            args.return_type().clone(),
            true,
        );
        let second = if self.by_key() {
            let key_type = args
                .input_fields
                .get(1)
                .map(|f| f.data_type().clone())
                .unwrap_or(DataType::Null);
            Field::new(format!("{}[key]", args.name), key_type, true)
        } else {
            Field::new(format!("{}[is_set]", args.name), DataType::Boolean, true)
        };
        Ok(vec![Arc::new(value), Arc::new(second)])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let value_type = acc_args.return_field.data_type().clone();
        let value = ScalarValue::try_from(&value_type)?;
        let key = if self.by_key() {
            match acc_args.exprs.get(1) {
                Some(e) => ScalarValue::try_from(e.data_type(acc_args.schema)?)?,
                None => return exec_err!("{} needs an ordering argument", self.name()),
            }
        } else {
            ScalarValue::Boolean(Some(false))
        };
        Ok(Box::new(PickAccumulator {
            pick: self.pick,
            ignore_nulls: self.ignore_nulls,
            value,
            key,
        }))
    }
}

/// The running value and, for `first`/`last`, whether it is set (`key` is a boolean), or for
/// `max_by`/`min_by` the best ordering key so far (NULL until one is seen).
#[derive(Debug)]
struct PickAccumulator {
    pick: Pick,
    ignore_nulls: bool,
    value: ScalarValue,
    key: ScalarValue,
}

impl PickAccumulator {
    fn is_set(&self) -> bool {
        matches!(self.key, ScalarValue::Boolean(Some(true)))
    }

    /// Takes row `row` of `values` if it wins against the current value; `set` says whether
    /// the row holds a value at all (for merged states).
    fn offer_first_last(&mut self, values: &ArrayRef, rows: &[usize]) -> Result<()> {
        let chosen = match self.pick {
            Pick::First if self.is_set() => None,
            Pick::First => rows.first(),
            _ => rows.last(),
        };
        if let Some(&row) = chosen {
            self.value = ScalarValue::try_from_array(values, row)?;
            self.key = ScalarValue::Boolean(Some(true));
        }
        Ok(())
    }

    fn offer_by_key(&mut self, values: &ArrayRef, keys: &ArrayRef) -> Result<()> {
        let want = if self.pick == Pick::MaxBy {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        let cmp =
            arrow::array::make_comparator(keys.as_ref(), keys.as_ref(), SortOptions::default())?;
        let mut best: Option<usize> = None;
        for row in 0..keys.len() {
            if keys.is_null(row) {
                continue;
            }
            if best.is_none_or(|b| cmp(row, b) == want) {
                best = Some(row);
            }
        }
        let Some(row) = best else {
            return Ok(());
        };
        let key = ScalarValue::try_from_array(keys, row)?;
        let better = self.key.is_null() || key.partial_cmp(&self.key) == Some(want);
        if better {
            self.value = ScalarValue::try_from_array(values, row)?;
            self.key = key;
        }
        Ok(())
    }
}

impl Accumulator for PickAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(v) = values.first() else {
            return exec_err!("aggregate called without arguments");
        };
        match self.pick {
            Pick::MaxBy | Pick::MinBy => match values.get(1) {
                Some(k) => self.offer_by_key(v, k),
                None => exec_err!("max_by/min_by need an ordering argument"),
            },
            _ => {
                let rows: Vec<usize> = if self.ignore_nulls {
                    (0..v.len()).filter(|&r| v.is_valid(r)).collect()
                } else {
                    (0..v.len()).collect()
                };
                self.offer_first_last(v, &rows)
            }
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (Some(v), Some(second)) = (states.first(), states.get(1)) else {
            return exec_err!("aggregate state needs two columns");
        };
        match self.pick {
            Pick::MaxBy | Pick::MinBy => self.offer_by_key(v, second),
            _ => {
                let set = second.as_boolean();
                let rows: Vec<usize> = (0..set.len())
                    .filter(|&r| set.is_valid(r) && set.value(r))
                    .collect();
                self.offer_first_last(v, &rows)
            }
        }
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value.clone(), self.key.clone()])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.size() + self.key.size()
    }
}

/// `sum` of integers under ANSI mode: a bigint that fails with ARITHMETIC_OVERFLOW instead of
/// wrapping (the stock `sum` wraps, as Spark's legacy mode does).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedSum {
    signature: Signature,
}

impl CheckedSum {
    /// The shared instance.
    pub fn udaf() -> Arc<AggregateUDF> {
        static UDAF: std::sync::OnceLock<Arc<AggregateUDF>> = std::sync::OnceLock::new();
        Arc::clone(UDAF.get_or_init(|| {
            Arc::new(AggregateUDF::from(CheckedSum {
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        }))
    }
}

fn sum_overflow(a: i64, b: i64) -> datafusion_common::DataFusionError {
    datafusion_common::DataFusionError::Execution(format!(
        "[ARITHMETIC_OVERFLOW] long overflow: the sum {a} + {b} does not fit in BIGINT. Sum it as a decimal, e.g. sum(CAST(x AS DECIMAL(38,0))), or set ember.sql.ansi.enabled to false"
    ))
}

impl AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &str {
        // Plans read as the sum they are; only the overflow check differs.
        "sum"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if t.is_integer() || t.is_null() => Ok(vec![DataType::Int64]),
            _ => plan_err!("the checked sum takes one integer argument, got {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[sum]", args.name),
            DataType::Int64,
            true,
        ))])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if acc_args.is_distinct {
            return exec_err!("the checked sum does not take DISTINCT");
        }
        Ok(Box::new(CheckedSumAccumulator { sum: None }))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(CheckedSumGroups::default()))
    }
}

/// The running sum, NULL until a value is seen.
#[derive(Debug)]
struct CheckedSumAccumulator {
    sum: Option<i64>,
}

impl CheckedSumAccumulator {
    fn add_array(&mut self, values: &ArrayRef) -> Result<()> {
        let values = values.as_primitive::<Int64Type>();
        // arrow's checked sum kernel: vectorized, fails on overflow.
        let Some(part) = arrow::compute::sum_checked(values).map_err(|_| {
            let mut running = 0i64;
            for v in values.iter().flatten() {
                match running.checked_add(v) {
                    Some(r) => running = r,
                    None => return sum_overflow(running, v),
                }
            }
            sum_overflow(running, 0)
        })?
        else {
            return Ok(());
        };
        self.sum = Some(match self.sum {
            None => part,
            Some(s) => s.checked_add(part).ok_or_else(|| sum_overflow(s, part))?,
        });
        Ok(())
    }
}

impl Accumulator for CheckedSumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(v) => self.add_array(v),
            None => exec_err!("sum called without an argument"),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Int64(self.sum)])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(self.sum))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

/// Per-group sums for GROUP BY: one bigint and a seen flag per group.
#[derive(Debug, Default)]
struct CheckedSumGroups {
    sums: Vec<i64>,
    seen: Vec<bool>,
}

impl CheckedSumGroups {
    fn add(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(values) = values.first() else {
            return exec_err!("sum called without an argument");
        };
        let values = values.as_primitive::<Int64Type>();
        self.sums.resize(total_num_groups, 0);
        self.seen.resize(total_num_groups, false);
        let raw = values.values();
        for (row, &group) in group_indices.iter().enumerate() {
            if values.is_null(row) || opt_filter.is_some_and(|f| !f.is_valid(row) || !f.value(row))
            {
                continue;
            }
            let v = raw[row];
            let sum = self.sums[group];
            self.sums[group] = sum.checked_add(v).ok_or_else(|| sum_overflow(sum, v))?;
            self.seen[group] = true;
        }
        Ok(())
    }

    fn emit(&mut self, emit_to: EmitTo) -> ArrayRef {
        let sums = emit_to.take_needed(&mut self.sums);
        let seen = emit_to.take_needed(&mut self.seen);
        let out: Int64Array = sums
            .into_iter()
            .zip(seen)
            .map(|(s, seen)| seen.then_some(s))
            .collect();
        Arc::new(out)
    }
}

impl GroupsAccumulator for CheckedSumGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(values, group_indices, opt_filter, total_num_groups)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.add(values, group_indices, None, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.emit(emit_to))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit(emit_to)])
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(values) = values.first() else {
            return exec_err!("sum called without an argument");
        };
        // Each row is its own partial sum; filtered-out rows are empty (NULL).
        let state = match opt_filter {
            None => Arc::clone(values),
            Some(filter) => {
                let values = values.as_primitive::<Int64Type>();
                let kept: Int64Array = values
                    .iter()
                    .zip(filter.iter())
                    .map(|(v, keep)| if keep == Some(true) { v } else { None })
                    .collect();
                Arc::new(kept)
            }
        };
        Ok(vec![state])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<i64>() + self.seen.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};

    fn acc(pick: Pick, ignore_nulls: bool, value: DataType, key: ScalarValue) -> PickAccumulator {
        PickAccumulator {
            pick,
            ignore_nulls,
            value: ScalarValue::try_from(&value).unwrap(),
            key,
        }
    }

    fn ints(v: Vec<Option<i32>>) -> ArrayRef {
        Arc::new(Int32Array::from(v))
    }

    #[test]
    fn pick_aggregates_rebuild_from_their_names() {
        for pick in [Pick::First, Pick::Last, Pick::MaxBy, Pick::MinBy] {
            for ignore_nulls in [false, true] {
                let udaf = PickAggregate::udaf(pick, ignore_nulls);
                let rebuilt = PickAggregate::udaf_by_name(udaf.name()).unwrap();
                assert_eq!(rebuilt.name(), udaf.name());
            }
        }
        let rebuilt = PickAggregate::udaf_by_name("first_ignore_nulls").unwrap();
        let inner = rebuilt.inner().downcast_ref::<PickAggregate>();
        assert_eq!(
            inner.map(|p| (p.pick, p.ignore_nulls)),
            Some((Pick::First, true))
        );
        assert!(PickAggregate::udaf_by_name("sum").is_none());
    }

    #[test]
    fn first_and_last_respect_ignore_nulls() {
        let batch = ints(vec![None, Some(1), Some(2), None]);
        let unset = ScalarValue::Boolean(Some(false));
        let mut a = acc(Pick::First, false, DataType::Int32, unset.clone());
        a.update_batch(std::slice::from_ref(&batch)).unwrap();
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Int32(None));
        let mut a = acc(Pick::First, true, DataType::Int32, unset.clone());
        a.update_batch(std::slice::from_ref(&batch)).unwrap();
        a.update_batch(&[ints(vec![Some(9)])]).unwrap();
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Int32(Some(1)));
        let mut a = acc(Pick::Last, true, DataType::Int32, unset.clone());
        a.update_batch(&[batch]).unwrap();
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Int32(Some(2)));
        // Merging: an unset partial state must not overwrite a set one.
        let mut merged = acc(Pick::Last, true, DataType::Int32, unset);
        let states: Vec<ArrayRef> = vec![
            ints(vec![Some(2), None]),
            Arc::new(arrow::array::BooleanArray::from(vec![true, false])),
        ];
        merged.merge_batch(&states).unwrap();
        assert_eq!(merged.evaluate().unwrap(), ScalarValue::Int32(Some(2)));
    }

    #[test]
    fn max_by_and_min_by_follow_the_key_across_batches_and_merges() {
        let names: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
        let keys = ints(vec![Some(5), None, Some(7)]);
        let mut max = acc(Pick::MaxBy, false, DataType::Utf8, ScalarValue::Int32(None));
        max.update_batch(&[names.clone(), keys.clone()]).unwrap();
        assert_eq!(max.evaluate().unwrap(), ScalarValue::from("c"));
        let mut min = acc(Pick::MinBy, false, DataType::Utf8, ScalarValue::Int32(None));
        min.update_batch(&[names, keys]).unwrap();
        assert_eq!(min.evaluate().unwrap(), ScalarValue::from("a"));
        let state: Vec<ArrayRef> =
            vec![Arc::new(StringArray::from(vec!["z"])), ints(vec![Some(1)])];
        min.merge_batch(&state).unwrap();
        assert_eq!(min.evaluate().unwrap(), ScalarValue::from("z"));
        max.merge_batch(&state).unwrap();
        assert_eq!(max.evaluate().unwrap(), ScalarValue::from("c"));
    }

    fn bigints(v: Vec<Option<i64>>) -> ArrayRef {
        Arc::new(Int64Array::from(v))
    }

    #[test]
    fn checked_sum_fails_on_overflow_and_is_null_when_empty() {
        let mut acc = CheckedSumAccumulator { sum: None };
        acc.update_batch(&[bigints(vec![None])]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(None));
        acc.update_batch(&[bigints(vec![Some(1), None, Some(2)])])
            .unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(3)));
        let err = acc
            .update_batch(&[bigints(vec![Some(i64::MAX)])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("[ARITHMETIC_OVERFLOW] long overflow"), "{err}");
        let mut one_batch = CheckedSumAccumulator { sum: None };
        let err = one_batch
            .update_batch(&[bigints(vec![Some(i64::MAX), Some(5)])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("9223372036854775807 + 5"), "{err}");
    }

    #[test]
    fn checked_sum_groups_sum_per_group_and_fail_on_overflow() {
        let mut groups = CheckedSumGroups::default();
        let values = bigints(vec![Some(1), Some(2), None, Some(4)]);
        groups
            .update_batch(&[values], &[0, 1, 2, 0], None, 3)
            .unwrap();
        let out = groups.evaluate(EmitTo::All).unwrap();
        let out = out.as_primitive::<Int64Type>();
        assert_eq!((out.value(0), out.value(1), out.is_null(2)), (5, 2, true));
        let mut groups = CheckedSumGroups::default();
        let values = bigints(vec![Some(i64::MAX), Some(1), Some(i64::MAX)]);
        let filter = BooleanArray::from(vec![true, true, false]);
        groups
            .update_batch(std::slice::from_ref(&values), &[0, 1, 0], Some(&filter), 2)
            .unwrap();
        assert!(groups.update_batch(&[values], &[0, 1, 1], None, 2).is_err());
    }
}
