//! Spark's ANSI checks: integer arithmetic that fails (or, for `try_*`, returns NULL) on
//! overflow, `abs` of the smallest integer, and explicit casts that fail naming the value.
//!
//! Each is a [`SparkUdf`] whose name says the operation (`checked_add`, `try_multiply`,
//! `negative`, `abs`, `spark_cast`) and whose `ansi` flag carries the session's ANSI mode.
//! Kernels take arrow's checked kernels first and only walk the rows when one overflowed, to
//! find the value to name (ANSI) or the rows to turn into NULL (`try_*`).

use std::fmt::Display;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray};
use arrow::compute::kernels::numeric;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    ArrowNativeTypeOp, ArrowPrimitiveType, DataType, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type,
};
use arrow::error::ArrowError;
use arrow::util::display::FormatOptions;
use datafusion_common::{exec_err, DataFusionError, Result, ScalarValue};

use super::SparkUdf;
use crate::types::spark_type_name;

/// The ANSI hint every error here ends with.
const BYPASS: &str = "or set ember.sql.ansi.enabled to false";

/// An integer operation that can overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `a + b`
    Add,
    /// `a - b`
    Subtract,
    /// `a * b`
    Multiply,
    /// `-a`
    Negate,
    /// `abs(a)`
    Abs,
}

impl ArithOp {
    fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Subtract => "-",
            ArithOp::Multiply => "*",
            ArithOp::Negate => "-",
            ArithOp::Abs => "abs",
        }
    }

    /// The `try_*` function that tolerates this overflow.
    fn try_function(self) -> &'static str {
        match self {
            ArithOp::Add => "try_add",
            ArithOp::Subtract | ArithOp::Negate | ArithOp::Abs => "try_subtract",
            ArithOp::Multiply => "try_multiply",
        }
    }
}

/// What an overflow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Fail with Spark's ARITHMETIC_OVERFLOW error (ANSI mode).
    Fail,
    /// Return NULL for the rows that overflow (`try_add` and friends).
    Null,
    /// Wrap around in two's complement (Spark's legacy mode).
    Wrap,
}

/// The function computing `op` over two integers of one type (one for `Negate`/`Abs`).
pub fn arithmetic(op: ArithOp, overflow: Overflow) -> SparkUdf {
    let name = match (op, overflow) {
        (ArithOp::Add, Overflow::Null) => "try_add",
        (ArithOp::Subtract, Overflow::Null) => "try_subtract",
        (ArithOp::Multiply, Overflow::Null) => "try_multiply",
        (ArithOp::Add, _) => "checked_add",
        (ArithOp::Subtract, _) => "checked_subtract",
        (ArithOp::Multiply, _) => "checked_multiply",
        (ArithOp::Negate, Overflow::Wrap) => "negative",
        (ArithOp::Negate, _) => "checked_negative",
        (ArithOp::Abs, Overflow::Wrap) => "abs",
        (ArithOp::Abs, _) => "checked_abs",
    };
    let arity = if matches!(op, ArithOp::Negate | ArithOp::Abs) {
        (1, 1)
    } else {
        (2, 2)
    };
    SparkUdf::new(
        name,
        arity,
        |t| Ok(t.to_vec()),
        |t| Ok(t.first().cloned().unwrap_or(DataType::Null)),
        arithmetic_kernel,
    )
    .with_ansi(overflow == Overflow::Fail)
}

fn op_of(name: &str) -> Result<(ArithOp, Overflow)> {
    Ok(match name {
        "try_add" => (ArithOp::Add, Overflow::Null),
        "try_subtract" => (ArithOp::Subtract, Overflow::Null),
        "try_multiply" => (ArithOp::Multiply, Overflow::Null),
        "checked_add" => (ArithOp::Add, Overflow::Fail),
        "checked_subtract" => (ArithOp::Subtract, Overflow::Fail),
        "checked_multiply" => (ArithOp::Multiply, Overflow::Fail),
        "negative" => (ArithOp::Negate, Overflow::Wrap),
        "checked_negative" => (ArithOp::Negate, Overflow::Fail),
        "abs" => (ArithOp::Abs, Overflow::Wrap),
        "checked_abs" => (ArithOp::Abs, Overflow::Fail),
        other => return exec_err!("{other} is not an integer arithmetic function"),
    })
}

fn arithmetic_kernel(udf: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    let (op, overflow) = op_of(udf.name)?;
    let Some(a) = args.first() else {
        return exec_err!("{} needs an argument", udf.name);
    };
    let b = args.get(1);
    if let Some(b) = b {
        if b.data_type() != a.data_type() {
            return exec_err!(
                "{} needs operands of one type, got {} and {}",
                udf.name,
                spark_type_name(a.data_type()),
                spark_type_name(b.data_type())
            );
        }
    }
    match a.data_type() {
        DataType::Int8 => integer_op::<Int8Type>(op, overflow, a, b),
        DataType::Int16 => integer_op::<Int16Type>(op, overflow, a, b),
        DataType::Int32 => integer_op::<Int32Type>(op, overflow, a, b),
        DataType::Int64 => integer_op::<Int64Type>(op, overflow, a, b),
        DataType::Null => Ok(Arc::clone(a)),
        other => exec_err!(
            "{} takes integers, not {}",
            udf.name,
            spark_type_name(other)
        ),
    }
}

/// Spark's name of the overflowing type in ARITHMETIC_OVERFLOW ("integer overflow").
fn overflow_kind(t: &DataType) -> &'static str {
    match t {
        DataType::Int8 => "tinyint",
        DataType::Int16 => "smallint",
        DataType::Int32 => "integer",
        _ => "long",
    }
}

fn overflow_error<N: Display>(op: ArithOp, t: &DataType, a: N, b: Option<N>) -> DataFusionError {
    let shown = match (op, b) {
        (ArithOp::Abs, _) => format!("abs({a})"),
        (ArithOp::Negate, _) => format!("-({a})"),
        (_, Some(b)) => format!("{a} {} {b}", op.symbol()),
        (_, None) => a.to_string(),
    };
    DataFusionError::Execution(format!(
        "[ARITHMETIC_OVERFLOW] {} overflow: {shown} does not fit in {}. Use {} to tolerate overflow and return NULL instead, {BYPASS}",
        overflow_kind(t),
        spark_type_name(t).to_uppercase(),
        op.try_function()
    ))
}

pub(crate) fn integer_op<T>(
    op: ArithOp,
    overflow: Overflow,
    a: &ArrayRef,
    b: Option<&ArrayRef>,
) -> Result<ArrayRef>
where
    T: ArrowPrimitiveType,
    T::Native: ArrowNativeTypeOp + Display,
{
    let fast = match (op, b) {
        (ArithOp::Add, Some(b)) => numeric::add(a, b),
        (ArithOp::Subtract, Some(b)) => numeric::sub(a, b),
        (ArithOp::Multiply, Some(b)) => numeric::mul(a, b),
        (ArithOp::Negate, _) => numeric::neg(a.as_ref()),
        (ArithOp::Abs, _) => {
            // abs overflows only on the smallest value: negate where negative.
            let values = a.as_primitive::<T>();
            let ok = values
                .iter()
                .flatten()
                .all(|v| v.is_ge(T::Native::ZERO) || v.neg_checked().is_ok());
            if ok {
                let out: PrimitiveArray<T> = values.unary(|v| {
                    if v.is_lt(T::Native::ZERO) {
                        v.neg_wrapping()
                    } else {
                        v
                    }
                });
                return Ok(Arc::new(out));
            }
            Err(ArrowError::ArithmeticOverflow("abs".into()))
        }
        (_, None) => return exec_err!("{op:?} needs two operands"),
    };
    match fast {
        Ok(out) => return Ok(out),
        Err(ArrowError::ArithmeticOverflow(_)) => {}
        Err(e) => return Err(e.into()),
    }
    // Some row overflowed: find it (ANSI) or compute row by row (NULL or wrap).
    let x = a.as_primitive::<T>();
    let y = b.map(|b| b.as_primitive::<T>());
    let apply = |v: T::Native, w: T::Native| -> (Option<T::Native>, T::Native) {
        let (checked, wrapped) = match op {
            ArithOp::Add => (v.add_checked(w).ok(), v.add_wrapping(w)),
            ArithOp::Subtract => (v.sub_checked(w).ok(), v.sub_wrapping(w)),
            ArithOp::Multiply => (v.mul_checked(w).ok(), v.mul_wrapping(w)),
            ArithOp::Negate => (v.neg_checked().ok(), v.neg_wrapping()),
            ArithOp::Abs if v.is_lt(T::Native::ZERO) => (v.neg_checked().ok(), v.neg_wrapping()),
            ArithOp::Abs => (Some(v), v),
        };
        (checked, wrapped)
    };
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        let w = match y {
            Some(y) if y.is_null(i) => {
                out.push(None);
                continue;
            }
            Some(y) => Some(y.value(i)),
            None => None,
        };
        if x.is_null(i) {
            out.push(None);
            continue;
        }
        let v = x.value(i);
        let (checked, wrapped) = apply(v, w.unwrap_or(T::Native::ZERO));
        out.push(match (checked, overflow) {
            (Some(r), _) => Some(r),
            (None, Overflow::Fail) => return Err(overflow_error(op, a.data_type(), v, w)),
            (None, Overflow::Null) => None,
            (None, Overflow::Wrap) => Some(wrapped),
        });
    }
    Ok(Arc::new(
        PrimitiveArray::<T>::from_iter(out).with_data_type(a.data_type().clone()),
    ))
}

/// `spark_cast(value, typed NULL)`: an explicit CAST to the second argument's type with
/// Spark's semantics. ANSI mode fails naming the first value that cannot be cast; legacy mode
/// returns NULL for it, wraps integers that do not fit and saturates doubles.
pub fn spark_cast(ansi: bool) -> SparkUdf {
    SparkUdf::new(
        "spark_cast",
        (2, 2),
        |t| Ok(t.to_vec()),
        |t| Ok(t.get(1).cloned().unwrap_or(DataType::Null)),
        cast_kernel,
    )
    .with_ansi(ansi)
}

/// Whether an explicit cast from `from` to `to` can fail on some value, so that it needs
/// [`spark_cast`] rather than a plain cast.
pub fn cast_can_fail(from: &DataType, to: &DataType) -> bool {
    let numeric = |t: &DataType| t.is_numeric();
    match to {
        _ if from == to || from.is_null() => false,
        _ if super::is_string(from) => !super::is_string(to),
        DataType::Boolean => false,
        t if t.is_integer() => {
            from.is_floating()
                || matches!(from, DataType::Decimal128(..))
                || (from.is_integer() && from.primitive_width() > t.primitive_width())
        }
        DataType::Decimal128(..) => numeric(from),
        _ => false,
    }
}

fn cast_kernel(udf: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    let (Some(value), Some(target)) = (args.first(), args.get(1)) else {
        return exec_err!("spark_cast takes a value and a typed NULL");
    };
    let to = target.data_type();
    let from = value.data_type();
    if !udf.ansi && to.is_integer() {
        if let Some(out) = legacy_numeric_to_integer(value, to)? {
            return Ok(out);
        }
    }
    let cast = if super::is_string(from) && to == &DataType::Boolean {
        string_to_boolean(value)?
    } else {
        let safe = CastOptions {
            safe: true,
            format_options: FormatOptions::default(),
        };
        cast_with_options(value, to, &safe)?
    };
    // Rows that held a value but cast to NULL are the ones that could not be cast.
    if cast.null_count() == value.null_count() {
        return Ok(cast);
    }
    let mut out = cast;
    for i in 0..value.len() {
        if value.is_null(i) || out.is_valid(i) {
            continue;
        }
        if udf.ansi {
            return Err(cast_error(value, i, to));
        }
        if super::is_string(from) && to.is_integer() {
            // Spark's legacy cast reads '12.5' as 12: retry with the fraction cut off.
            out = legacy_string_to_integer(value, &out, to)?;
        }
        break;
    }
    Ok(out)
}

/// The value at row `i`, as Spark shows it in an error: strings quoted, doubles with `D`.
fn shown_value(value: &ArrayRef, i: usize) -> String {
    match ScalarValue::try_from_array(value, i) {
        Ok(ScalarValue::Utf8(Some(s)))
        | Ok(ScalarValue::LargeUtf8(Some(s)))
        | Ok(ScalarValue::Utf8View(Some(s))) => format!("'{s}'"),
        Ok(ScalarValue::Float64(Some(f))) => format!("{}D", java_double(f)),
        Ok(v) => v.to_string(),
        Err(_) => format!("row {i}"),
    }
}

/// A double as Java prints it: `12.5`, `1.0E20`, `NaN`.
fn java_double(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let magnitude = f.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        return format!("{f:?}");
    }
    let text = format!("{f:E}");
    match text.split_once('E') {
        Some((mantissa, exp)) if !mantissa.contains('.') => format!("{mantissa}.0E{exp}"),
        _ => text,
    }
}

fn cast_error(value: &ArrayRef, i: usize, to: &DataType) -> DataFusionError {
    let from = value.data_type();
    let shown = shown_value(value, i);
    let from_name = spark_type_name(from).to_uppercase();
    let to_name = spark_type_name(to).to_uppercase();
    let message = if super::is_string(from) {
        format!(
            "[CAST_INVALID_INPUT] The value {shown} of the type \"{from_name}\" cannot be cast to \"{to_name}\" because it is malformed. Correct the value as per the syntax, or change its target type. Use try_cast to tolerate malformed input and return NULL instead, {BYPASS}"
        )
    } else if matches!(to, DataType::Decimal128(..)) {
        format!(
            "[NUMERIC_VALUE_OUT_OF_RANGE] {shown} cannot be represented as {to_name}. Use try_cast to return NULL instead, {BYPASS}"
        )
    } else {
        format!(
            "[CAST_OVERFLOW] The value {shown} of the type \"{from_name}\" cannot be cast to \"{to_name}\" due to an overflow. Use try_cast to tolerate overflow and return NULL instead, {BYPASS}"
        )
    };
    DataFusionError::Execution(message)
}

/// Spark's string to boolean: `t`, `true`, `y`, `yes`, `1` and `f`, `false`, `n`, `no`, `0`,
/// trimmed and in any case; anything else is NULL.
fn string_to_boolean(value: &ArrayRef) -> Result<ArrayRef> {
    let strings = cast_with_options(value, &DataType::Utf8, &CastOptions::default())?;
    let strings = strings.as_string::<i32>();
    let out: BooleanArray = strings
        .iter()
        .map(|s| {
            s.and_then(|s| match s.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "y" | "yes" | "1" => Some(true),
                "f" | "false" | "n" | "no" | "0" => Some(false),
                _ => None,
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// Legacy integer and floating casts to an integer type: integers wrap (Java's narrowing),
/// floating values saturate and NaN is 0 (Java's `toInt`). `None` for other inputs.
fn legacy_numeric_to_integer(value: &ArrayRef, to: &DataType) -> Result<Option<ArrayRef>> {
    let from = value.data_type();
    let wide: PrimitiveArray<Int64Type> = if from.is_integer() {
        cast_with_options(value, &DataType::Int64, &CastOptions::default())?
            .as_primitive::<Int64Type>()
            .clone()
    } else if from == &DataType::Float64 || from == &DataType::Float32 {
        let doubles = match from {
            DataType::Float32 => value.as_primitive::<Float32Type>().unary(f64::from),
            _ => value.as_primitive::<Float64Type>().clone(),
        };
        // Java saturates at the target type's bounds, not at bigint's.
        let (lo, hi) = match to {
            DataType::Int8 => (i8::MIN as f64, i8::MAX as f64),
            DataType::Int16 => (i16::MIN as f64, i16::MAX as f64),
            DataType::Int32 => (i32::MIN as f64, i32::MAX as f64),
            _ => (i64::MIN as f64, i64::MAX as f64),
        };
        let saturated: PrimitiveArray<Int64Type> = doubles.unary(|d| {
            if to == &DataType::Int64 {
                d as i64
            } else {
                d.clamp(lo, hi) as i64
            }
        });
        return Ok(Some(cast_with_options(
            &(Arc::new(saturated) as ArrayRef),
            to,
            &CastOptions::default(),
        )?));
    } else {
        return Ok(None);
    };
    let out: ArrayRef = match to {
        DataType::Int8 => Arc::new(wide.unary::<_, Int8Type>(|v| v as i8)),
        DataType::Int16 => Arc::new(wide.unary::<_, Int16Type>(|v| v as i16)),
        DataType::Int32 => Arc::new(wide.unary::<_, Int32Type>(|v| v as i32)),
        _ => Arc::new(wide),
    };
    Ok(Some(out))
}

/// Legacy string to integer for the rows a plain cast could not read: `'12.5'` is 12.
fn legacy_string_to_integer(value: &ArrayRef, cast: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let strings = cast_with_options(value, &DataType::Utf8, &CastOptions::default())?;
    let strings = strings.as_string::<i32>();
    let wide = cast_with_options(cast, &DataType::Int64, &CastOptions::default())?;
    let wide = wide.as_primitive::<Int64Type>();
    let fixed: PrimitiveArray<Int64Type> = (0..strings.len())
        .map(|i| {
            if wide.is_valid(i) {
                return Some(wide.value(i));
            }
            if strings.is_null(i) {
                return None;
            }
            let text = strings.value(i).trim();
            let (whole, fraction) = text.split_once('.')?;
            if !fraction.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            whole.parse::<i64>().ok()
        })
        .collect();
    let safe = CastOptions {
        safe: true,
        format_options: FormatOptions::default(),
    };
    Ok(cast_with_options(
        &(Arc::new(fixed) as ArrayRef),
        to,
        &safe,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray};

    fn run(udf: &SparkUdf, args: &[ArrayRef]) -> Result<ArrayRef> {
        let rows = args.first().map_or(0, |a| a.len());
        (udf.kernel)(udf, args, rows)
    }

    fn ints(v: Vec<Option<i32>>) -> ArrayRef {
        Arc::new(Int32Array::from(v))
    }

    #[test]
    fn ansi_addition_names_the_overflowing_values() {
        let add = arithmetic(ArithOp::Add, Overflow::Fail);
        let ok = run(
            &add,
            &[ints(vec![Some(1), None]), ints(vec![Some(2), Some(3)])],
        )
        .unwrap();
        assert_eq!(ok.as_primitive::<Int32Type>().value(0), 3);
        assert!(ok.is_null(1));
        let err = run(
            &add,
            &[
                ints(vec![Some(1), Some(i32::MAX)]),
                ints(vec![Some(1), Some(1)]),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("[ARITHMETIC_OVERFLOW] integer overflow: 2147483647 + 1"),
            "{err}"
        );
        assert!(err.contains("try_add"), "{err}");
    }

    #[test]
    fn try_functions_null_only_the_overflowing_rows() {
        let mul = arithmetic(ArithOp::Multiply, Overflow::Null);
        let a: ArrayRef = Arc::new(Int64Array::from(vec![i64::MAX, 3]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![2, 3]));
        let out = run(&mul, &[a, b]).unwrap();
        let out = out.as_primitive::<Int64Type>();
        assert!(out.is_null(0));
        assert_eq!(out.value(1), 9);
    }

    #[test]
    fn negation_and_abs_wrap_in_legacy_mode_and_fail_in_ansi() {
        let min = ints(vec![Some(i32::MIN), Some(-3)]);
        let out = run(
            &arithmetic(ArithOp::Abs, Overflow::Wrap),
            std::slice::from_ref(&min),
        )
        .unwrap();
        assert_eq!(
            out.as_primitive::<Int32Type>().values().to_vec(),
            vec![i32::MIN, 3]
        );
        let err = run(
            &arithmetic(ArithOp::Abs, Overflow::Fail),
            std::slice::from_ref(&min),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("abs(-2147483648)"), "{err}");
        let out = run(&arithmetic(ArithOp::Negate, Overflow::Wrap), &[min]).unwrap();
        assert_eq!(
            out.as_primitive::<Int32Type>().values().to_vec(),
            vec![i32::MIN, 3]
        );
    }

    #[test]
    fn ansi_casts_name_the_bad_value() {
        let strings: ArrayRef = Arc::new(StringArray::from(vec![Some("42"), None, Some("abc")]));
        let target: ArrayRef = Arc::new(Int32Array::from(vec![None, None, None]));
        let err = run(&spark_cast(true), &[strings.clone(), target.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[CAST_INVALID_INPUT] The value 'abc'"),
            "{err}"
        );
        let out = run(&spark_cast(false), &[strings, target]).unwrap();
        assert_eq!(out.as_primitive::<Int32Type>().value(0), 42);
        assert!(out.is_null(1) && out.is_null(2));
    }

    #[test]
    fn legacy_casts_wrap_saturate_and_cut_fractions() {
        let target: ArrayRef = Arc::new(Int32Array::from(vec![None, None, None]));
        let big: ArrayRef = Arc::new(Int64Array::from(vec![3_000_000_000, -1, 7]));
        let out = run(&spark_cast(false), &[big, target.clone()]).unwrap();
        assert_eq!(
            out.as_primitive::<Int32Type>().values().to_vec(),
            vec![-1_294_967_296, -1, 7]
        );
        let doubles: ArrayRef = Arc::new(Float64Array::from(vec![1e20, f64::NAN, -2.9]));
        let out = run(&spark_cast(false), &[doubles.clone(), target.clone()]).unwrap();
        assert_eq!(
            out.as_primitive::<Int32Type>().values().to_vec(),
            vec![i32::MAX, 0, -2]
        );
        let err = run(&spark_cast(true), &[doubles, target.clone()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("[CAST_OVERFLOW] The value 1.0E20D"), "{err}");
        assert_eq!(
            (
                java_double(12.5),
                java_double(-1.5e-7),
                java_double(f64::NAN)
            ),
            ("12.5".to_string(), "-1.5E-7".to_string(), "NaN".to_string())
        );
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["12.5", "x.5", " -3 "]));
        let out = run(&spark_cast(false), &[strings, target]).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!((out.value(0), out.is_null(1), out.value(2)), (12, true, -3));
    }

    #[test]
    fn decimal_overflow_and_booleans() {
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![123456])
                .with_precision_and_scale(6, 1)
                .unwrap(),
        );
        let target: ArrayRef = Arc::new(
            Decimal128Array::from(vec![None::<i128>])
                .with_precision_and_scale(4, 1)
                .unwrap(),
        );
        let err = run(&spark_cast(true), &[d.clone(), target.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "[NUMERIC_VALUE_OUT_OF_RANGE] 12345.6 cannot be represented as DECIMAL(4,1)"
            ),
            "{err}"
        );
        assert!(run(&spark_cast(false), &[d, target]).unwrap().is_null(0));
        let s: ArrayRef = Arc::new(StringArray::from(vec![" YES ", "0", "on"]));
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![None, None, None]));
        let out = run(&spark_cast(false), &[s, b]).unwrap();
        let out = out.as_boolean();
        assert!(out.value(0) && !out.value(1) && out.is_null(2));
    }

    #[test]
    fn only_casts_that_can_fail_need_spark_cast() {
        assert!(cast_can_fail(&DataType::Utf8, &DataType::Int32));
        assert!(cast_can_fail(&DataType::Int64, &DataType::Int32));
        assert!(cast_can_fail(&DataType::Float64, &DataType::Int64));
        assert!(!cast_can_fail(&DataType::Int32, &DataType::Int64));
        assert!(!cast_can_fail(&DataType::Int32, &DataType::Utf8));
        assert!(!cast_can_fail(&DataType::Int32, &DataType::Float64));
    }
}
