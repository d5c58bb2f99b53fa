//! Ember's own scalar functions, where Spark's semantics differ from the stock implementations.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef};
use arrow::compute::kernels::cmp::eq;
use arrow::datatypes::DataType;
use datafusion_common::{exec_err, Result, ScalarValue};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// `check_divisor(x)`: returns `x`, or fails with Spark's ANSI DIVIDE_BY_ZERO error when a
/// value is zero. The binder wraps the divisor of `/`, `%` and `div` in it under ANSI mode,
/// because floating-point division would otherwise return Infinity.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckDivisor {
    signature: Signature,
}

impl CheckDivisor {
    pub fn udf() -> Arc<ScalarUDF> {
        static UDF: OnceLock<Arc<ScalarUDF>> = OnceLock::new();
        Arc::clone(UDF.get_or_init(|| {
            Arc::new(ScalarUDF::from(CheckDivisor {
                signature: Signature::any(1, Volatility::Immutable),
            }))
        }))
    }
}

const DIVIDE_BY_ZERO: &str = "[DIVIDE_BY_ZERO] Division by zero. Use try_divide to tolerate a divisor of 0 and return NULL instead, or set ember.sql.ansi.enabled to false";

impl ScalarUDFImpl for CheckDivisor {
    fn name(&self) -> &str {
        "check_divisor"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(value) = args.args.into_iter().next() else {
            return exec_err!("check_divisor takes one argument");
        };
        match &value {
            ColumnarValue::Scalar(s) => {
                if !s.is_null() && s == &ScalarValue::new_zero(&s.data_type())? {
                    return exec_err!("{DIVIDE_BY_ZERO}");
                }
            }
            ColumnarValue::Array(array) => {
                if has_zero(array)? {
                    return exec_err!("{DIVIDE_BY_ZERO}");
                }
            }
        }
        Ok(value)
    }
}

fn has_zero(array: &ArrayRef) -> Result<bool> {
    if array.null_count() == array.len() {
        return Ok(false);
    }
    let zero = ScalarValue::new_zero(array.data_type())?.to_scalar()?;
    let matches = eq(array, &zero)?;
    Ok(matches.true_count() > 0)
}
