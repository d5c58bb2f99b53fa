//! Math functions with Spark's semantics: HALF_UP `round`, bigint `ceil`/`floor`, NULL logs.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Builder, Float64Builder, Int64Builder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion_common::{exec_err, plan_err, Result};

use super::SparkUdf;

/// The math functions Ember defines itself.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new("round", (1, 2), coerce_round, round_type, round),
        SparkUdf::new(
            "ceil",
            (1, 1),
            |t| Ok(vec![numeric(&t[0])?]),
            ceil_floor_type,
            |_, a, r| ceil_floor(a, r, true),
        ),
        SparkUdf::new(
            "floor",
            (1, 1),
            |t| Ok(vec![numeric(&t[0])?]),
            ceil_floor_type,
            |_, a, r| ceil_floor(a, r, false),
        ),
        SparkUdf::new(
            "ln",
            (1, 1),
            |_| Ok(vec![DataType::Float64]),
            |_| Ok(DataType::Float64),
            |_, a, r| log_kernel(a, r, f64::ln),
        ),
        SparkUdf::new(
            "sqrt",
            (1, 1),
            |_| Ok(vec![DataType::Float64]),
            |_| Ok(DataType::Float64),
            sqrt,
        ),
        SparkUdf::new(
            "log10",
            (1, 1),
            |_| Ok(vec![DataType::Float64]),
            |_| Ok(DataType::Float64),
            |_, a, r| log_kernel(a, r, f64::log10),
        ),
        SparkUdf::new(
            "log2",
            (1, 1),
            |_| Ok(vec![DataType::Float64]),
            |_| Ok(DataType::Float64),
            |_, a, r| log_kernel(a, r, f64::log2),
        ),
        SparkUdf::new(
            "log",
            (1, 2),
            |t| Ok(vec![DataType::Float64; t.len()]),
            |_| Ok(DataType::Float64),
            log_base,
        ),
    ]
}

fn numeric(t: &DataType) -> Result<DataType> {
    match t {
        DataType::Decimal128(_, _) | DataType::Float64 => Ok(t.clone()),
        DataType::Float32 => Ok(DataType::Float64),
        t if t.is_integer() || t.is_null() => Ok(DataType::Int64),
        t if super::is_string(t) => Ok(DataType::Float64),
        _ => plan_err!("expects a number, not {t}"),
    }
}

fn coerce_round(t: &[DataType]) -> Result<Vec<DataType>> {
    let value = match &t[0] {
        DataType::Decimal128(_, _) | DataType::Float64 => t[0].clone(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => DataType::Int32,
        t if t.is_integer() => DataType::Int64,
        t if t.is_null() => DataType::Float64,
        _ => numeric(&t[0])?,
    };
    let mut out = vec![value];
    if let Some(scale) = t.get(1) {
        if !scale.is_integer() {
            return plan_err!("expects an integer scale, not {scale}");
        }
        out.push(DataType::Int32);
    }
    Ok(out)
}

/// `round(decimal(p, s), d)` is `decimal(p - s + 1 + min(s, d), min(s, d))` as in Spark 3.5;
/// the scale is not known when typing, so Ember keeps the input type (the scale is applied to
/// the values) for decimals with a literal scale handled by the binder.
fn round_type(t: &[DataType]) -> Result<DataType> {
    Ok(t[0].clone())
}

/// Spark's decimal result type of `round`/`ceil`/`floor` with scale `d`.
pub fn round_decimal_type(p: u8, s: i8, d: i32) -> DataType {
    let integral = i32::from(p) - i32::from(s) + 1;
    if d < 0 {
        let precision = integral.max(-d + 1).min(38);
        DataType::Decimal128(precision as u8, 0)
    } else {
        let scale = i32::from(s).min(d);
        DataType::Decimal128((integral + scale).min(38) as u8, scale as i8)
    }
}

fn ceil_floor_type(t: &[DataType]) -> Result<DataType> {
    Ok(match &t[0] {
        DataType::Decimal128(p, s) => round_decimal_type(*p, *s, 0),
        _ => DataType::Int64,
    })
}

/// `v / 10^k` rounded HALF_UP (k > 0).
fn div_half_up(v: i128, k: u32) -> Option<i128> {
    let div = 10i128.checked_pow(k)?;
    let (q, r) = (v / div, v % div);
    Some(if r.abs() * 2 >= div {
        q + v.signum()
    } else {
        q
    })
}

/// HALF_UP rounding of a double the way Spark does it: on its shortest decimal representation.
pub fn round_double_half_up(x: f64, d: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let text = format!("{x:e}");
    let Some((mantissa, exp)) = text.split_once('e') else {
        return x;
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return x;
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // value = 0.digits * 10^(exp + 1); keep the digits before position exp + 1 + d.
    let keep = exp + 1 + d;
    if keep < 0 {
        return 0.0 * x.signum();
    }
    let keep = keep as usize;
    if keep >= digits.len() {
        return x;
    }
    let bytes = digits.as_bytes();
    let mut kept: Vec<u8> = bytes[..keep].iter().map(|b| b - b'0').collect();
    let mut carry = bytes[keep] >= b'5';
    for digit in kept.iter_mut().rev() {
        if !carry {
            break;
        }
        if *digit == 9 {
            *digit = 0;
        } else {
            *digit += 1;
            carry = false;
        }
    }
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    text.push_str(if carry { "1" } else { "0" });
    text.extend(kept.iter().map(|d| char::from(b'0' + d)));
    let shift = exp + 1 - (keep as i32);
    format!("{text}e{shift}").parse().unwrap_or(x)
}

/// `round(x[, d])`: HALF_UP; `d` may be negative.
fn round(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let scales = args.get(1).map(|a| a.as_primitive::<Int32Type>());
    let scale = |i: usize| scales.map_or(Some(0), |s| (!s.is_null(i)).then(|| s.value(i)));
    let input = &args[0];
    match input.data_type() {
        DataType::Float64 => {
            let v = input.as_primitive::<Float64Type>();
            let mut out = Float64Builder::with_capacity(rows);
            for i in 0..rows {
                match scale(i) {
                    Some(d) if !v.is_null(i) => {
                        out.append_value(round_double_half_up(v.value(i), d))
                    }
                    _ => out.append_null(),
                }
            }
            Ok(Arc::new(out.finish()))
        }
        DataType::Decimal128(p, s) => {
            let (p, s) = (*p, *s);
            let v = input.as_primitive::<Decimal128Type>();
            let mut out = Decimal128Builder::with_capacity(rows);
            for i in 0..rows {
                match scale(i) {
                    Some(d) if !v.is_null(i) => {
                        let drop = i32::from(s) - d;
                        let r = if drop <= 0 {
                            Some(v.value(i))
                        } else {
                            div_half_up(v.value(i), drop as u32)
                                .and_then(|q| q.checked_mul(10i128.checked_pow(drop as u32)?))
                        };
                        match r {
                            Some(r) => out.append_value(r),
                            None => return exec_err!("round of {} overflows", v.value(i)),
                        }
                    }
                    _ => out.append_null(),
                }
            }
            Ok(Arc::new(out.finish().with_precision_and_scale(p, s)?))
        }
        _ => {
            let original = input.data_type().clone();
            let wide = cast(input, &DataType::Int64)?;
            let v = wide.as_primitive::<Int64Type>();
            let mut out = Int64Builder::with_capacity(rows);
            for i in 0..rows {
                match scale(i) {
                    Some(d) if !v.is_null(i) => {
                        if d >= 0 {
                            out.append_value(v.value(i));
                        } else {
                            let r = div_half_up(i128::from(v.value(i)), d.unsigned_abs())
                                .and_then(|q| q.checked_mul(10i128.checked_pow(d.unsigned_abs())?))
                                .and_then(|r| i64::try_from(r).ok())
                                .unwrap_or(0);
                            out.append_value(r);
                        }
                    }
                    _ => out.append_null(),
                }
            }
            Ok(cast(&(Arc::new(out.finish()) as ArrayRef), &original)?)
        }
    }
}

/// `ceil(x)` / `floor(x)`: bigint for integers and doubles, `decimal(p - s + 1, 0)` for decimals.
fn ceil_floor(args: &[ArrayRef], rows: usize, up: bool) -> Result<ArrayRef> {
    let input = &args[0];
    match input.data_type() {
        DataType::Float64 => {
            let v = input.as_primitive::<Float64Type>();
            let mut out = Int64Builder::with_capacity(rows);
            for i in 0..rows {
                if v.is_null(i) {
                    out.append_null();
                } else {
                    let x = if up {
                        v.value(i).ceil()
                    } else {
                        v.value(i).floor()
                    };
                    // Saturates like Java's (long) cast; NaN becomes 0.
                    out.append_value(x as i64);
                }
            }
            Ok(Arc::new(out.finish()))
        }
        DataType::Decimal128(p, s) => {
            let DataType::Decimal128(rp, rs) = round_decimal_type(*p, *s, 0) else {
                return exec_err!("ceil/floor: unexpected result type");
            };
            let v = input.as_primitive::<Decimal128Type>();
            let div = 10i128.pow(*s as u32);
            let mut out = Decimal128Builder::with_capacity(rows);
            for i in 0..rows {
                if v.is_null(i) {
                    out.append_null();
                    continue;
                }
                let x = v.value(i);
                let (q, r) = (x / div, x % div);
                let q = if r != 0 && up && x > 0 {
                    q + 1
                } else if r != 0 && !up && x < 0 {
                    q - 1
                } else {
                    q
                };
                out.append_value(q);
            }
            Ok(Arc::new(out.finish().with_precision_and_scale(rp, rs)?))
        }
        _ => Ok(cast(input, &DataType::Int64)?),
    }
}

/// Spark's logarithms are NULL for inputs that are not positive.
fn log_kernel(args: &[ArrayRef], rows: usize, f: fn(f64) -> f64) -> Result<ArrayRef> {
    let v = args[0].as_primitive::<Float64Type>();
    let mut out = Float64Builder::with_capacity(rows);
    for i in 0..rows {
        if v.is_null(i) || v.value(i) <= 0.0 {
            out.append_null();
        } else {
            out.append_value(f(v.value(i)));
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `sqrt(x)`: NaN for negative input, as Java's `Math.sqrt`.
fn sqrt(_: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    let v = args[0].as_primitive::<Float64Type>();
    let out: arrow::array::Float64Array = arrow::compute::kernels::arity::unary(v, f64::sqrt);
    Ok(Arc::new(out))
}

/// `log(x)` is `ln(x)`; `log(base, x)` is `ln(x) / ln(base)`, NULL unless both are positive.
fn log_base(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if args.len() == 1 {
        return log_kernel(args, rows, f64::ln);
    }
    let b = args[0].as_primitive::<Float64Type>();
    let v = args[1].as_primitive::<Float64Type>();
    let mut out = Float64Builder::with_capacity(rows);
    for i in 0..rows {
        if b.is_null(i) || v.is_null(i) || b.value(i) <= 0.0 || v.value(i) <= 0.0 {
            out.append_null();
        } else {
            out.append_value(v.value(i).ln() / b.value(i).ln());
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Float64Array, Int32Array};

    fn udf(name: &str) -> SparkUdf {
        functions().into_iter().find(|f| f.name == name).unwrap()
    }

    #[test]
    fn doubles_round_half_up_on_their_decimal_form() {
        assert_eq!(round_double_half_up(2.5, 0), 3.0);
        assert_eq!(round_double_half_up(-2.5, 0), -3.0);
        assert_eq!(round_double_half_up(2.675, 2), 2.68);
        assert_eq!(round_double_half_up(1.005, 2), 1.01);
        assert_eq!(round_double_half_up(1234.5678, -2), 1200.0);
        assert_eq!(round_double_half_up(9.99, 1), 10.0);
        assert_eq!(round_double_half_up(0.04, 0), 0.0);
        assert_eq!(round_double_half_up(3.0, 2), 3.0);
    }

    #[test]
    fn decimals_and_integers_round_half_up() {
        let f = udf("round");
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(125), Some(-125), None])
                .with_precision_and_scale(5, 2)
                .unwrap(),
        );
        let one: ArrayRef = Arc::new(Int32Array::from(vec![1, 1, 1]));
        let out = (f.kernel)(&f, &[dec, one], 3).unwrap();
        let out = out.as_primitive::<Decimal128Type>();
        assert_eq!(out.value(0), 130);
        assert_eq!(out.value(1), -130);
        assert!(out.is_null(2));
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1250, -1250]));
        let scale: ArrayRef = Arc::new(Int32Array::from(vec![-2, -2]));
        let out = (f.kernel)(&f, &[ints, scale], 2).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!((out.value(0), out.value(1)), (1300, -1300));
        assert_eq!(round_decimal_type(5, 2, 1), DataType::Decimal128(5, 1));
        assert_eq!(round_decimal_type(5, 2, -1), DataType::Decimal128(4, 0));
    }

    #[test]
    fn ceil_floor_return_bigint_and_logs_are_null_below_zero() {
        let f = udf("ceil");
        let v: ArrayRef = Arc::new(Float64Array::from(vec![-1.5, 1.2]));
        let out = (f.kernel)(&f, std::slice::from_ref(&v), 2).unwrap();
        assert_eq!(
            out.as_primitive::<Int64Type>().values().to_vec(),
            vec![-1, 2]
        );
        let f = udf("floor");
        let out = (f.kernel)(&f, &[v], 2).unwrap();
        assert_eq!(
            out.as_primitive::<Int64Type>().values().to_vec(),
            vec![-2, 1]
        );
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![-150, 150])
                .with_precision_and_scale(4, 2)
                .unwrap(),
        );
        let out = (f.kernel)(&f, &[dec], 2).unwrap();
        assert_eq!(out.data_type(), &DataType::Decimal128(3, 0));
        assert_eq!(
            out.as_primitive::<Decimal128Type>().values().to_vec(),
            vec![-2, 1]
        );
        let f = udf("sqrt");
        let v: ArrayRef = Arc::new(Float64Array::from(vec![Some(-1.0), Some(16.0), None]));
        let out = (f.kernel)(&f, &[v], 3).unwrap();
        let out = out.as_primitive::<Float64Type>();
        assert!(out.value(0).is_nan() && out.value(1) == 4.0 && out.is_null(2));
        let f = udf("ln");
        let v: ArrayRef = Arc::new(Float64Array::from(vec![0.0, 1.0]));
        let out = (f.kernel)(&f, &[v], 2).unwrap();
        assert!(out.is_null(0));
        assert_eq!(out.as_primitive::<Float64Type>().value(1), 0.0);
    }
}
