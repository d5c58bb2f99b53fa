//! Ember's own functions, where Spark's semantics differ from the stock implementations.
//!
//! One file per family: `string.rs`, `binary.rs`, `datetime.rs`, `math.rs`, `aggregate.rs`. Most scalar
//! functions are a [`SparkUdf`]: a name, an argument coercion, a result type and a kernel
//! over Arrow arrays.

pub mod aggregate;
pub mod ansi;
pub mod array;
pub mod arrays_zip;
pub mod binary;
pub mod calendar_interval;
pub mod chain;
pub mod collection;
pub mod conditional;
pub mod datetime;
pub mod decimal;
pub mod interval;
pub mod interval_number;
pub mod lambda;
pub mod map;
pub mod math;
pub mod normalize;
pub mod sequence;
pub mod string;
pub mod time;
pub mod timezone;

use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef};
use arrow::compute::kernels::cmp::eq;
use arrow::datatypes::DataType;
use datafusion_common::{exec_err, plan_err, Result, ScalarValue};
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
    /// The shared instance.
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

/// A scalar function's kernel: the arguments (already coerced, as arrays of `rows` rows) to the
/// result array.
pub type Kernel = fn(&SparkUdf, &[ArrayRef], usize) -> Result<ArrayRef>;

/// A scalar function with Spark's semantics: coercion, result type and kernel are plain
/// functions, and `flag` carries a session setting (ANSI mode) into the kernel.
#[derive(Debug)]
pub struct SparkUdf {
    name: &'static str,
    signature: Signature,
    /// Accepted argument counts, inclusive.
    arity: (usize, usize),
    coerce: fn(&[DataType]) -> Result<Vec<DataType>>,
    result: fn(&[DataType]) -> Result<DataType>,
    kernel: Kernel,
    /// ANSI mode for functions that fail or return NULL on bad input.
    pub ansi: bool,
}

impl PartialEq for SparkUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.ansi == other.ansi
    }
}

impl Eq for SparkUdf {}

impl Hash for SparkUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.ansi.hash(state);
    }
}

impl SparkUdf {
    /// A function named `name` taking `arity.0..=arity.1` arguments.
    pub fn new(
        name: &'static str,
        arity: (usize, usize),
        coerce: fn(&[DataType]) -> Result<Vec<DataType>>,
        result: fn(&[DataType]) -> Result<DataType>,
        kernel: Kernel,
    ) -> Self {
        SparkUdf {
            name,
            signature: Signature::user_defined(Volatility::Immutable),
            arity,
            coerce,
            result,
            kernel,
            ansi: true,
        }
    }

    /// The same function with ANSI mode set to `ansi`.
    pub fn with_ansi(mut self, ansi: bool) -> Self {
        self.ansi = ansi;
        self
    }

    /// Wraps it as a DataFusion scalar function.
    pub fn into_udf(self) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::from(self))
    }
}

impl ScalarUDFImpl for SparkUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (min, max) = self.arity;
        if arg_types.len() < min || arg_types.len() > max {
            return plan_err!(
                "Function {} takes {}, got {}",
                self.name,
                describe_arity(min, max),
                arg_types.len()
            );
        }
        (self.coerce)(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.result)(arg_types)
    }

    fn return_field_from_args(
        &self,
        args: datafusion_expr::ReturnFieldArgs,
    ) -> Result<arrow::datatypes::FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let result = if self.name == arrays_zip::NAME {
            // arrays_zip: the struct's field names come as its last argument.
            match arrays_zip::names_of(args.scalar_arguments.last().copied().flatten()) {
                Some(names) => arrays_zip::zipped_type(&types[..types.len() - 1], &names)?,
                None => (self.result)(&types)?,
            }
        } else {
            (self.result)(&types)?
        };
        let field = arrow::datatypes::Field::new(self.name, result, true);
        // spark_interval_fields(x, 'day'): the interval fields Spark's type name shows.
        if self.name == interval::FIELDS_UDF {
            if let Some(Some(ScalarValue::Utf8(Some(fields)))) = args.scalar_arguments.get(1) {
                return Ok(Arc::new(
                    field.with_metadata(
                        [(interval::INTERVAL_FIELDS.to_string(), fields.clone())]
                            .into_iter()
                            .collect(),
                    ),
                ));
            }
        }
        Ok(Arc::new(field))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let arrays = arrays
            .into_iter()
            .map(|a| {
                if a.len() == rows {
                    Ok(a)
                } else {
                    // values_to_arrays expands scalars to the longest array; with no array
                    // argument at all they are one row long.
                    Ok(arrow::compute::kernels::take::take(
                        &a,
                        &arrow::array::UInt32Array::from(vec![0u32; rows]),
                        None,
                    )?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let out = (self.kernel)(self, &arrays, rows)?;
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// "1 argument", "2 or 3 arguments", "at least 2 arguments".
pub fn describe_arity(min: usize, max: usize) -> String {
    match (min, max) {
        (1, 1) => "1 argument".to_string(),
        (a, b) if a == b => format!("{a} arguments"),
        (a, usize::MAX) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
        (a, b) if b == a + 1 => format!("{a} or {b} arguments"),
        (a, b) => format!("{a} to {b} arguments"),
    }
}

/// Whether `t` is one of Spark's string types.
pub(crate) fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Whether `t` is an integer type.
pub(crate) fn is_integer(t: &DataType) -> bool {
    t.is_integer() || t.is_null()
}

/// Every scalar function Ember defines itself, replacing any stock one of the same name.
pub fn ember_scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let mut all = Vec::new();
    all.extend(string::functions());
    all.extend(binary::functions());
    all.extend(collection::functions());
    all.extend(array::functions());
    all.extend(map::functions());
    all.extend(interval::functions());
    all.extend(calendar_interval::functions());
    all.extend(time::functions());
    all.extend(datetime::functions(true));
    all.extend(math::functions());
    all.push(type_of_udf());
    all.into_iter().map(SparkUdf::into_udf).collect()
}

fn type_of_udf() -> SparkUdf {
    SparkUdf::new(
        "typeof",
        (1, 1),
        |t| Ok(t.to_vec()),
        |_| Ok(DataType::Utf8),
        type_of,
    )
}

/// Rebuilds one of Ember's own [`SparkUdf`]s from what identifies it in a serialized plan: its
/// name and its `ansi` flag (every other part of a `SparkUdf` follows from its name). `None` for
/// a name Ember does not define.
pub fn spark_udf_by_name(name: &str, ansi: bool) -> Option<SparkUdf> {
    use ansi::{ArithOp, Overflow};
    let mut all = string::functions();
    all.extend(binary::functions());
    all.extend(collection::functions());
    all.extend(array::functions());
    all.extend(map::functions());
    all.extend(interval::functions());
    all.extend(interval::internal());
    all.extend(interval::part_functions());
    all.extend(calendar_interval::functions());
    all.extend(calendar_interval::internal());
    all.extend(calendar_interval::part_functions());
    all.extend(timezone::internal());
    all.extend(arrays_zip::internal());
    all.extend(interval_number::internal());
    all.extend(time::functions());
    all.extend(time::internal());
    all.push(collection::get_item());
    all.extend(datetime::functions(ansi));
    all.extend(math::functions());
    all.push(type_of_udf());
    all.push(ansi::spark_cast(ansi));
    all.push(binary::integral_to_binary());
    all.extend(decimal::functions(ansi));
    all.push(chain::arith_chain(ansi));
    all.push(normalize::normalize_nan_and_zero());
    all.push(conditional::coalesce());
    for op in [
        ArithOp::Add,
        ArithOp::Subtract,
        ArithOp::Multiply,
        ArithOp::Negate,
        ArithOp::Abs,
    ] {
        for overflow in [Overflow::Fail, Overflow::Null, Overflow::Wrap] {
            all.push(ansi::arithmetic(op, overflow));
        }
    }
    all.into_iter()
        .find(|f| f.name == name)
        .map(|f| f.with_ansi(ansi))
}

/// `typeof(x)`: Spark's name of the argument's type (`int`, `string`, `void` for NULL).
fn type_of(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let Some(arg) = args.first() else {
        return exec_err!("typeof takes 1 argument");
    };
    let name = crate::types::spark_type_name(arg.data_type());
    Ok(Arc::new(arrow::array::StringArray::from(vec![name; rows])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;

    #[test]
    fn arity_descriptions_read_like_spark() {
        assert_eq!(describe_arity(1, 1), "1 argument");
        assert_eq!(describe_arity(2, 3), "2 or 3 arguments");
        assert_eq!(describe_arity(2, usize::MAX), "at least 2 arguments");
        assert_eq!(describe_arity(0, 4), "0 to 4 arguments");
    }

    #[test]
    fn typeof_names_spark_types() {
        let arg: ArrayRef = Arc::new(arrow::array::NullArray::new(2));
        let any = &string::functions()[0];
        let out = type_of(any, &[arg], 2).unwrap();
        let out = out
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!((out.value(0), out.len()), ("void", 2));
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1]));
        let out = type_of(any, &[ints], 1).unwrap();
        let out = out
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!(out.value(0), "int");
        assert!(ember_scalar_functions()
            .iter()
            .any(|f| f.name() == "typeof"));
    }

    #[test]
    fn spark_udfs_rebuild_from_name_and_flag() {
        for f in ember_scalar_functions() {
            for ansi in [true, false] {
                let rebuilt = spark_udf_by_name(f.name(), ansi).unwrap();
                assert_eq!((rebuilt.name, rebuilt.ansi), (f.name(), ansi));
            }
        }
        let add = spark_udf_by_name("checked_add", true).unwrap();
        let a: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![i64::MAX]));
        let b: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![1]));
        assert!((add.kernel)(&add, &[a, b], 1).is_err());
        assert_eq!(
            spark_udf_by_name("spark_cast", false).unwrap().arity,
            (2, 2)
        );
        assert!(spark_udf_by_name("no_such_function", true).is_none());
    }

    #[test]
    fn check_divisor_rejects_zero_only() {
        let ok: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        assert!(!has_zero(&ok).unwrap());
        let bad: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(0)]));
        assert!(has_zero(&bad).unwrap());
    }

    #[test]
    fn spark_udf_checks_its_arity_when_coercing() {
        let udf = string::functions()
            .into_iter()
            .find(|f| f.name == "substr")
            .unwrap();
        let err = udf.coerce_types(&[DataType::Utf8]).unwrap_err().to_string();
        assert!(err.contains("takes 2 or 3 arguments, got 1"), "{err}");
        assert_eq!(
            udf.coerce_types(&[DataType::Utf8, DataType::Int64])
                .unwrap(),
            vec![DataType::Utf8, DataType::Int32]
        );
    }
}
