//! `coalesce(a, b, ...)` evaluated once per argument.
//!
//! Spark's `coalesce` is lazy: an argument is evaluated only for rows where every earlier one
//! is NULL. As a `CASE WHEN a IS NOT NULL THEN a ...` it names `a` twice, so nested calls
//! (`coalesce(coalesce(coalesce(x, 1), 1), 1)`) double in size at every level. The binder uses
//! this function, which takes every argument once, whenever evaluating an argument on rows
//! that do not need it cannot be seen: when no argument after the first can fail (see
//! `binder/coalesce.rs`). The arguments arrive cast to one type.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::{is_not_null, kernels::zip::zip};
use arrow::datatypes::DataType;
use datafusion_common::{exec_err, Result};

use super::SparkUdf;

/// The function.
pub fn coalesce() -> SparkUdf {
    SparkUdf::new(
        "coalesce",
        (1, usize::MAX),
        |t| Ok(t.to_vec()),
        |t| Ok(t.first().cloned().unwrap_or(DataType::Null)),
        coalesce_kernel,
    )
}

fn coalesce_kernel(_: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    let Some((first, rest)) = args.split_first() else {
        return exec_err!("coalesce takes at least 1 argument");
    };
    let mut result = Arc::clone(first);
    for next in rest {
        if result.null_count() == 0 {
            break;
        }
        if next.data_type() != result.data_type() {
            return exec_err!(
                "coalesce arguments of types {} and {}",
                result.data_type(),
                next.data_type()
            );
        }
        result = zip(&is_not_null(&result)?, &result, next)?;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int32Array};
    use arrow::datatypes::Int32Type;

    #[test]
    fn the_first_non_null_argument_wins_row_by_row() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, None, None]));
        let b: ArrayRef = Arc::new(Int32Array::from(vec![Some(9), Some(2), None, None]));
        let c: ArrayRef = Arc::new(Int32Array::from(vec![Some(9), Some(9), Some(3), None]));
        let out = coalesce_kernel(&coalesce(), &[a, b, c], 4).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![Some(1), Some(2), Some(3), None]
        );
    }
}
