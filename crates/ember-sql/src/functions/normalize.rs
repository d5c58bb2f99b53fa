//! `normalize_nan_and_zero(x)`: Spark's `NormalizeNaNAndZero`. Spark compares, groups, joins
//! and partitions doubles with `-0.0` equal to `0.0` and every NaN equal to every other (and
//! above all numbers); Arrow's kernels compare floats by their total order, where `-0.0` comes
//! before `0.0`. The binder wraps the float operands of comparisons and the float keys of
//! grouping, DISTINCT, joins, windows and sorts in this function, which maps `-0.0` to `0.0`
//! and every NaN to one NaN, so that Arrow's order is Spark's.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion_common::{exec_err, Result};

use super::SparkUdf;

/// The function.
pub fn normalize_nan_and_zero() -> SparkUdf {
    SparkUdf::new(
        "normalize_nan_and_zero",
        (1, 1),
        |t| Ok(t.to_vec()),
        |t| Ok(t.first().cloned().unwrap_or(DataType::Null)),
        normalize_kernel,
    )
}

/// Whether values of `t` need normalizing before Arrow compares them as Spark does.
pub fn needs_normalizing(t: &DataType) -> bool {
    matches!(t, DataType::Float32 | DataType::Float64)
}

fn normalize_kernel(_: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    let Some(values) = args.first() else {
        return exec_err!("normalize_nan_and_zero takes 1 argument");
    };
    Ok(match values.data_type() {
        DataType::Float64 => Arc::new(
            values
                .as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(|v| {
                    if v == 0.0 {
                        0.0
                    } else if v.is_nan() {
                        f64::NAN
                    } else {
                        v
                    }
                }),
        ) as ArrayRef,
        DataType::Float32 => Arc::new(
            values
                .as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(|v| {
                    if v == 0.0 {
                        0.0
                    } else if v.is_nan() {
                        f32::NAN
                    } else {
                        v
                    }
                }),
        ) as ArrayRef,
        _ => Arc::clone(values),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Float64Array;
    use arrow::compute::kernels::cmp::eq;

    #[test]
    fn negative_zero_and_nans_become_one_value_each() {
        let values: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(-0.0),
            Some(0.0),
            Some(f64::NAN),
            Some(-f64::NAN),
            None,
            Some(1.5),
        ]));
        let out = normalize_kernel(&normalize_nan_and_zero(), &[values], 6).unwrap();
        let out = out.as_primitive::<Float64Type>();
        assert!(out.value(0).is_sign_positive() && out.value(0) == 0.0);
        assert!(out.is_null(4));
        assert_eq!(out.value(5), 1.5);
        let zeros = Float64Array::from(vec![out.value(0), out.value(2)]);
        let expected = Float64Array::from(vec![0.0, f64::NAN]);
        assert!(eq(&zeros, &expected)
            .unwrap()
            .iter()
            .all(|b| b == Some(true)));
        let nans = Float64Array::from(vec![out.value(3)]);
        assert!(eq(&nans, &Float64Array::from(vec![f64::NAN]))
            .unwrap()
            .value(0));
    }
}
