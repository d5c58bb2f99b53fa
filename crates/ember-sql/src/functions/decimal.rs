//! Decimal arithmetic as Spark computes it: the result type from Spark's precision and scale
//! rules (with `spark.sql.decimalOperations.allowPrecisionLoss`, its default), the value
//! computed exactly and rounded half-up to that type, and a value that does not fit an ANSI
//! error (`NUMERIC_VALUE_OUT_OF_RANGE`) or, in legacy mode and for `try_*`, NULL.
//!
//! ```text
//! op      precision                              scale
//! + -     max(p1-s1, p2-s2) + max(s1, s2) + 1    max(s1, s2)
//! *       p1 + p2 + 1                            s1 + s2
//! /       p1 - s1 + s2 + max(6, s1 + p2 + 1)     max(6, s1 + p2 + 1)
//! %       min(p1-s1, p2-s2) + max(s1, s2)        max(s1, s2)
//! then, above 38 digits: precision 38, scale max(38 - integer digits, min(scale, 6))
//! ```
//!
//! Each operation is a [`SparkUdf`] (`decimal_add`, ...) over the two operands, already cast
//! to their decimal types, and a NULL literal of the result type as a third argument, which
//! is how the result type travels in plans and in the task wire format.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Decimal128Builder};
use arrow::datatypes::{i256, DataType, Decimal128Type};
use datafusion_common::{exec_err, Result};

use super::SparkUdf;

/// The largest precision of a decimal.
pub const MAX_PRECISION: u8 = 38;
/// The smallest scale Spark keeps when a result type is cut to 38 digits.
const MINIMUM_ADJUSTED_SCALE: i32 = 6;

/// A decimal arithmetic operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
}

impl DecimalOp {
    pub const ALL: [DecimalOp; 5] = [
        DecimalOp::Add,
        DecimalOp::Subtract,
        DecimalOp::Multiply,
        DecimalOp::Divide,
        DecimalOp::Remainder,
    ];

    fn name(self) -> &'static str {
        match self {
            DecimalOp::Add => "decimal_add",
            DecimalOp::Subtract => "decimal_subtract",
            DecimalOp::Multiply => "decimal_multiply",
            DecimalOp::Divide => "decimal_divide",
            DecimalOp::Remainder => "decimal_remainder",
        }
    }

    fn of(name: &str) -> Option<DecimalOp> {
        DecimalOp::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Spark's result type of `(p1, s1) op (p2, s2)`.
    pub fn result_type(self, (p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> (u8, i8) {
        let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
        let (precision, scale) = match self {
            DecimalOp::Add | DecimalOp::Subtract => {
                let scale = s1.max(s2);
                ((p1 - s1).max(p2 - s2) + scale + 1, scale)
            }
            DecimalOp::Multiply => (p1 + p2 + 1, s1 + s2),
            DecimalOp::Divide => {
                let scale = MINIMUM_ADJUSTED_SCALE.max(s1 + p2 + 1);
                (p1 - s1 + s2 + scale, scale)
            }
            DecimalOp::Remainder => {
                let scale = s1.max(s2);
                ((p1 - s1).min(p2 - s2) + scale, scale)
            }
        };
        adjust_precision_scale(precision, scale)
    }
}

/// Spark's `DecimalType.adjustPrecisionScale`: a type beyond 38 digits keeps its integer
/// digits and gives up scale, down to `min(scale, 6)`.
fn adjust_precision_scale(precision: i32, scale: i32) -> (u8, i8) {
    let max = MAX_PRECISION as i32;
    if precision <= max {
        return (precision.max(1) as u8, scale as i8);
    }
    if scale < 0 {
        return (MAX_PRECISION, scale as i8);
    }
    let int_digits = precision - scale;
    let min_scale = scale.min(MINIMUM_ADJUSTED_SCALE);
    (MAX_PRECISION, (max - int_digits).max(min_scale) as i8)
}

/// The function computing `op`; `ansi` decides between an error and NULL on overflow.
pub fn decimal_arithmetic(op: DecimalOp, ansi: bool) -> SparkUdf {
    SparkUdf::new(
        op.name(),
        (3, 3),
        |t| Ok(t.to_vec()),
        |t| match t.get(2) {
            Some(t @ DataType::Decimal128(..)) => Ok(t.clone()),
            _ => datafusion_common::plan_err!(
                "decimal arithmetic takes two decimals and a decimal NULL of the result type"
            ),
        },
        kernel,
    )
    .with_ansi(ansi)
}

/// Every decimal arithmetic function, for rebuilding them by name.
pub fn functions(ansi: bool) -> Vec<SparkUdf> {
    DecimalOp::ALL
        .into_iter()
        .map(|op| decimal_arithmetic(op, ansi))
        .collect()
}

fn pow10(exponent: u32) -> i256 {
    i256::from_i128(10).wrapping_pow(exponent)
}

/// `10^exponent` as an i128, for exponents up to 38.
fn pow10_128(exponent: i32) -> Option<i128> {
    u32::try_from(exponent)
        .ok()
        .and_then(|e| 10i128.checked_pow(e))
}

/// `value / divisor` rounded half away from zero, in 128 bits.
fn divide_round_half_up_128(value: i128, divisor: i128) -> Option<i128> {
    let quotient = value.checked_div(divisor)?;
    let remainder = value.checked_rem(divisor)?;
    if remainder.unsigned_abs().checked_mul(2)? >= divisor.unsigned_abs() {
        Some(if (value < 0) != (divisor < 0) {
            quotient - 1
        } else {
            quotient + 1
        })
    } else {
        Some(quotient)
    }
}

/// `value` from scale `from` to scale `to`, in 128 bits.
fn rescale_128(value: i128, from: i32, to: i32) -> Option<i128> {
    if to >= from {
        value.checked_mul(pow10_128(to - from)?)
    } else {
        match pow10_128(from - to) {
            Some(divisor) => divide_round_half_up_128(value, divisor),
            // Dropping more than 38 digits of scale leaves 0 (or ±1 after rounding) of a
            // value under 10^38; leave it to the 256-bit path.
            None => None,
        }
    }
}

/// [`compute`] in 128 bits, the common case: `None` when an intermediate value does not fit
/// (the caller then computes in 256 bits); a zero divisor is left to [`compute`] too.
fn compute_128(op: DecimalOp, l: i128, s1: i32, r: i128, s2: i32, scale: i32) -> Option<i128> {
    match op {
        DecimalOp::Add | DecimalOp::Subtract => {
            let common = s1.max(s2);
            let a = rescale_128(l, s1, common)?;
            let b = rescale_128(r, s2, common)?;
            let exact = if op == DecimalOp::Add {
                a.checked_add(b)?
            } else {
                a.checked_sub(b)?
            };
            rescale_128(exact, common, scale)
        }
        DecimalOp::Multiply => rescale_128(l.checked_mul(r)?, s1 + s2, scale),
        DecimalOp::Divide => {
            if r == 0 {
                return None;
            }
            let shift = scale + s2 - s1;
            let numerator = if shift >= 0 {
                l.checked_mul(pow10_128(shift)?)?
            } else {
                divide_round_half_up_128(l, pow10_128(-shift)?)?
            };
            divide_round_half_up_128(numerator, r)
        }
        DecimalOp::Remainder => {
            if r == 0 {
                return None;
            }
            let common = s1.max(s2);
            let a = rescale_128(l, s1, common)?;
            let b = rescale_128(r, s2, common)?;
            rescale_128(a.checked_rem(b)?, common, scale)
        }
    }
}

/// `value / 10^digits`, rounded half away from zero (Java's ROUND_HALF_UP).
fn divide_round_half_up(value: i256, divisor: i256) -> i256 {
    let quotient = value.wrapping_div(divisor);
    let remainder = value.wrapping_rem(divisor);
    let twice = remainder.wrapping_abs().wrapping_mul(i256::from_i128(2));
    if twice >= divisor.wrapping_abs() {
        if value.is_negative() != divisor.is_negative() {
            quotient.wrapping_sub(i256::ONE)
        } else {
            quotient.wrapping_add(i256::ONE)
        }
    } else {
        quotient
    }
}

/// `value` (at `from` scale) at `to` scale: exact when the scale grows, rounded half-up
/// when it shrinks. `None` when it does not fit in 256 bits, which only a result far beyond
/// 38 digits reaches.
fn rescale(value: i256, from: i32, to: i32) -> Option<i256> {
    if to >= from {
        value.checked_mul(pow10((to - from) as u32))
    } else {
        Some(divide_round_half_up(value, pow10((from - to) as u32)))
    }
}

/// The exact result of one operation, at the result scale; `Err(())` for a zero divisor,
/// `Ok(None)` for a value too large for 256 bits.
fn compute(
    op: DecimalOp,
    l: i128,
    s1: i32,
    r: i128,
    s2: i32,
    scale: i32,
) -> std::result::Result<Option<i256>, ()> {
    let (l, r) = (i256::from_i128(l), i256::from_i128(r));
    Ok(match op {
        DecimalOp::Add | DecimalOp::Subtract => {
            let common = s1.max(s2);
            let (Some(a), Some(b)) = (rescale(l, s1, common), rescale(r, s2, common)) else {
                return Ok(None);
            };
            let exact = if op == DecimalOp::Add {
                a.checked_add(b)
            } else {
                a.checked_sub(b)
            };
            exact.and_then(|v| rescale(v, common, scale))
        }
        DecimalOp::Multiply => l.checked_mul(r).and_then(|v| rescale(v, s1 + s2, scale)),
        DecimalOp::Divide => {
            if r == i256::ZERO {
                return Err(());
            }
            // l / r at `scale` = l * 10^(scale + s2 - s1) / r, rounded.
            let shift = scale + s2 - s1;
            let numerator = if shift >= 0 {
                l.checked_mul(pow10(shift as u32))
            } else {
                Some(divide_round_half_up(l, pow10((-shift) as u32)))
            };
            numerator.map(|n| divide_round_half_up(n, r))
        }
        DecimalOp::Remainder => {
            if r == i256::ZERO {
                return Err(());
            }
            let common = s1.max(s2);
            let (Some(a), Some(b)) = (rescale(l, s1, common), rescale(r, s2, common)) else {
                return Ok(None);
            };
            // The sign follows the dividend, as Java's BigDecimal.remainder.
            rescale(a.wrapping_rem(b), common, scale)
        }
    })
}

/// A decimal's unscaled value at `scale` as text: `-12.340`.
fn plain_string(value: i256, scale: i32) -> String {
    let digits = value.wrapping_abs().to_string();
    let sign = if value.is_negative() { "-" } else { "" };
    if scale <= 0 {
        return format!("{sign}{digits}");
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac_part}")
}

/// The kernel of every decimal operation (the operation is the function's name).
pub(crate) fn kernel(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let Some(op) = DecimalOp::of(udf.name) else {
        return exec_err!("{} is not a decimal operation", udf.name);
    };
    let (Some(left), Some(right), Some(result)) = (args.first(), args.get(1), args.get(2)) else {
        return exec_err!("{} takes 3 arguments", udf.name);
    };
    let (DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) =
        (left.data_type(), right.data_type())
    else {
        return exec_err!("{} takes decimal operands", udf.name);
    };
    let DataType::Decimal128(precision, scale) = result.data_type() else {
        return exec_err!("{} returns a decimal", udf.name);
    };
    let (s1, s2, scale) = (*s1 as i32, *s2 as i32, *scale as i32);
    let limit = pow10(*precision as u32);
    let limit_128 = pow10_128(*precision as i32).unwrap_or(i128::MAX);
    let left: &Decimal128Array = left.as_primitive::<Decimal128Type>();
    let right: &Decimal128Array = right.as_primitive::<Decimal128Type>();
    let mut out = Decimal128Builder::with_capacity(rows);
    for i in 0..rows {
        if left.is_null(i) || right.is_null(i) {
            out.append_null();
            continue;
        }
        // Most values fit in 128 bits all the way; only the others take the 256-bit path.
        if let Some(v) = compute_128(op, left.value(i), s1, right.value(i), s2, scale) {
            if v.unsigned_abs() < limit_128.unsigned_abs() {
                out.append_value(v);
                continue;
            }
        }
        let value = match compute(op, left.value(i), s1, right.value(i), s2, scale) {
            Err(()) if udf.ansi => return exec_err!("{}", super::DIVIDE_BY_ZERO),
            Err(()) => {
                out.append_null();
                continue;
            }
            Ok(value) => value,
        };
        match value.filter(|v| v.wrapping_abs() < limit) {
            Some(v) => out.append_value(v.as_i128()),
            None if udf.ansi => {
                let shown = match value {
                    Some(v) => plain_string(v, scale),
                    None => "a value beyond 76 digits".to_string(),
                };
                return exec_err!(
                    "[NUMERIC_VALUE_OUT_OF_RANGE.WITH_SUGGESTION] {shown} cannot be represented \
                     as Decimal({precision}, {scale}). If necessary set \
                     ember.sql.ansi.enabled to false to bypass this error, and return NULL \
                     instead."
                );
            }
            None => out.append_null(),
        }
    }
    Ok(Arc::new(
        out.finish()
            .with_precision_and_scale(*precision, scale as i8)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_common::ScalarValue;

    fn run(op: DecimalOp, ansi: bool, l: ScalarValue, r: ScalarValue) -> Result<ScalarValue> {
        let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) =
            (l.data_type(), r.data_type())
        else {
            panic!("decimal operands");
        };
        let (p, s) = op.result_type((p1, s1), (p2, s2));
        let result = ScalarValue::Decimal128(None, p, s).to_array()?;
        let udf = decimal_arithmetic(op, ansi);
        let out = kernel(&udf, &[l.to_array()?, r.to_array()?, result], 1)?;
        ScalarValue::try_from_array(&out, 0)
    }

    fn dec(text: &str) -> ScalarValue {
        crate::binder::literal::number_literal(text).unwrap()
    }

    #[test]
    fn result_types_follow_spark() {
        assert_eq!(DecimalOp::Add.result_type((36, 7), (36, 5)), (38, 6));
        assert_eq!(DecimalOp::Multiply.result_type((38, 18), (2, 0)), (38, 15));
        assert_eq!(DecimalOp::Multiply.result_type((38, 18), (38, 18)), (38, 6));
        assert_eq!(DecimalOp::Add.result_type((38, 18), (38, 18)), (38, 17));
        assert_eq!(DecimalOp::Divide.result_type((38, 18), (38, 18)), (38, 6));
        assert_eq!(DecimalOp::Divide.result_type((38, 0), (22, 0)), (38, 6));
        assert_eq!(DecimalOp::Multiply.result_type((3, 1), (2, 1)), (6, 2));
        assert_eq!(DecimalOp::Divide.result_type((2, 1), (2, 1)), (8, 6));
        assert_eq!(DecimalOp::Remainder.result_type((2, 1), (2, 1)), (2, 1));
    }

    #[test]
    fn values_are_exact_then_rounded_half_up() {
        let sum = run(
            DecimalOp::Add,
            true,
            dec("12345678912345678912345678912.1234567"),
            dec("9999999999999999999999999999999.12345"),
        )
        .unwrap();
        assert_eq!(sum.to_string(), "10012345678912345678912345678911.246907");
        let product = run(
            DecimalOp::Multiply,
            true,
            dec("123456789123456789.1234567890"),
            dec("1.123456789123456789"),
        )
        .unwrap();
        assert_eq!(product.to_string(), "138698367904130467.654320988515622621");
        let quotient = run(
            DecimalOp::Divide,
            true,
            dec("12345678912345.123456789123"),
            dec("0.000000012345678"),
        )
        .unwrap();
        assert_eq!(quotient.to_string(), "1000000073899961059796.725866332");
        let quotient = run(
            DecimalOp::Divide,
            true,
            ScalarValue::Decimal128(Some(999_999_999_999_999_999_999), 38, 0),
            dec("1000000000000000000000"),
        )
        .unwrap();
        assert_eq!(quotient.to_string(), "1.000000");
        let negative = run(DecimalOp::Divide, true, dec("-1.0"), dec("3.0")).unwrap();
        assert_eq!(negative.to_string(), "-0.333333");
        let remainder = run(DecimalOp::Remainder, true, dec("-7.5"), dec("2.0")).unwrap();
        assert_eq!(remainder.to_string(), "-1.5");
    }

    #[test]
    fn the_128_bit_path_agrees_with_the_256_bit_one() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for _ in 0..20_000 {
            let digits = |n: u64| (n % 38 + 1) as u32;
            let value = |n: u64, d: u32| {
                let v = (n as i128 * 7919) % 10i128.pow(d);
                if n.is_multiple_of(3) {
                    -v
                } else {
                    v
                }
            };
            let (p1, p2) = (digits(next()), digits(next()));
            let (s1, s2) = (
                (next() % (p1 as u64 + 1)) as i32,
                (next() % (p2 as u64 + 1)) as i32,
            );
            let (l, r) = (value(next(), p1), value(next(), p2));
            for op in DecimalOp::ALL {
                let (_, scale) = op.result_type((p1 as u8, s1 as i8), (p2 as u8, s2 as i8));
                let scale = scale as i32;
                if let Some(fast) = compute_128(op, l, s1, r, s2, scale) {
                    let exact = compute(op, l, s1, r, s2, scale).unwrap().unwrap();
                    assert_eq!(
                        i256::from_i128(fast),
                        exact,
                        "{op:?} {l}e-{s1} {r}e-{s2} at scale {scale}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 50_000, "{checked}");
    }

    #[test]
    fn overflow_fails_in_ansi_mode_and_is_null_otherwise() {
        let big = || ScalarValue::Decimal128(Some(5 * 10i128.pow(37)), 38, 0);
        let err = run(DecimalOp::Add, true, big(), big())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NUMERIC_VALUE_OUT_OF_RANGE")
                && err.contains("100000000000000000000000000000000000000 cannot be represented as Decimal(38, 0)"),
            "{err}"
        );
        assert!(run(DecimalOp::Add, false, big(), big()).unwrap().is_null());
        let zero = ScalarValue::Decimal128(Some(0), 2, 1);
        assert!(run(DecimalOp::Divide, false, dec("1.0"), zero.clone())
            .unwrap()
            .is_null());
        assert!(run(DecimalOp::Remainder, true, dec("1.0"), zero).is_err());
    }
}
