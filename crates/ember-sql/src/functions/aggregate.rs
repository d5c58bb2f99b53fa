//! Aggregates with Spark's semantics: `first`/`last` (optionally ignoring NULLs), `max_by`,
//! `min_by`. Each keeps a small state (value, flag or ordering key) so that partial results
//! merge in the final aggregation.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion_common::{exec_err, plan_err, Result, ScalarValue};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

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
}
