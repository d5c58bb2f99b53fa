//! Spark's implicit type widening: the common type of CASE branches, COALESCE arguments, set
//! operation columns, VALUES rows and IN lists (`findWiderTypeForTwo`, in its ANSI form
//! `AnsiTypeCoercion` or the legacy `TypeCoercion`), and the type both sides of a numeric
//! comparison are cast to (`DecimalPrecision`, `ImplicitTypeCasts`).
//!
//! The rules differ from DataFusion's where it matters for answers: a decimal next to a
//! double is a double (DataFusion picks `decimal(30,15)`, which cannot hold large doubles and
//! rounds small ones), and under ANSI mode a string next to an integer is a bigint.

use arrow::datatypes::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::type_coercion::binary::{comparison_coercion, type_union_resolution};
use datafusion_expr::Expr;
use ember_common::Result;

use super::expr::cast_to;
use super::typing::ExprType;
use super::Binder;
use crate::functions::ansi;

impl Binder<'_> {
    /// Whether `ember.sql.ansi.enabled` is on.
    pub(crate) fn ansi(&self) -> bool {
        self.conf.get_bool("ember.sql.ansi.enabled")
    }

    /// What `TIMESTAMP` and `TIMESTAMP_LTZ` mean in this session.
    pub(crate) fn timestamp_types(&self) -> crate::types::TimestampTypes {
        crate::types::TimestampTypes::of(self.conf)
    }
}

fn is_integral(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

fn is_floating(t: &DataType) -> bool {
    matches!(t, DataType::Float32 | DataType::Float64)
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The types Spark's rules below decide for; pairs of other types (intervals, nested types,
/// unsigned integers) take DataFusion's rules.
fn is_modeled(t: &DataType) -> bool {
    is_integral(t)
        || is_floating(t)
        || is_string(t)
        || matches!(
            t,
            DataType::Null
                | DataType::Boolean
                | DataType::Decimal128(..)
                | DataType::Date32
                | DataType::Timestamp(..)
                | DataType::Binary
        )
}

/// `DecimalType.forType`: the decimal that holds every value of an integral type.
fn decimal_for(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Int8 => Some((3, 0)),
        DataType::Int16 => Some((5, 0)),
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((20, 0)),
        DataType::Decimal128(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// `DecimalPrecision.widerDecimalType`: the integer digits and the scale of both, bounded to
/// 38 digits.
fn wider_decimal((p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> DataType {
    let scale = s1.max(s2);
    let range = (i16::from(p1) - i16::from(s1)).max(i16::from(p2) - i16::from(s2));
    let precision = (range + i16::from(scale)).min(38) as u8;
    DataType::Decimal128(precision, scale.min(38))
}

/// `findTightestCommonType` (the same in both modes for these types).
fn tightest(t1: &DataType, t2: &DataType) -> Option<DataType> {
    use DataType::*;
    const PRECEDENCE: [DataType; 6] = [Int8, Int16, Int32, Int64, Float32, Float64];
    match (t1, t2) {
        _ if t1 == t2 => Some(t1.clone()),
        _ if is_string(t1) && is_string(t2) => Some(Utf8),
        (Null, t) | (t, Null) => Some(t.clone()),
        (i, Decimal128(p, s)) | (Decimal128(p, s), i) if is_integral(i) => {
            let (ip, _) = decimal_for(i)?;
            (i16::from(*p) - i16::from(*s) >= i16::from(ip)).then_some(Decimal128(*p, *s))
        }
        _ if (is_integral(t1) || is_floating(t1)) && (is_integral(t2) || is_floating(t2)) => {
            let rank = |t: &DataType| PRECEDENCE.iter().position(|p| p == t);
            let wider = PRECEDENCE[rank(t1)?.max(rank(t2)?)].clone();
            // An integral next to a float is a double, as no float holds every bigint.
            Some(if wider == Float32 { Float64 } else { wider })
        }
        (Date32, Timestamp(unit, tz)) | (Timestamp(unit, tz), Date32) => {
            Some(Timestamp(*unit, tz.clone()))
        }
        (Timestamp(u1, tz1), Timestamp(u2, tz2)) => {
            // A timestamp with the session time zone wins over one without.
            let tz = tz1.clone().or_else(|| tz2.clone());
            Some(Timestamp(
                if u1 == u2 {
                    *u1
                } else {
                    arrow::datatypes::TimeUnit::Microsecond
                },
                tz,
            ))
        }
        _ => None,
    }
}

/// `findWiderTypeForDecimal`.
fn wider_for_decimal(t1: &DataType, t2: &DataType) -> Option<DataType> {
    use DataType::*;
    match (t1, t2) {
        (Decimal128(..), _) | (_, Decimal128(..)) if is_floating(t1) || is_floating(t2) => {
            Some(Float64)
        }
        (Decimal128(..), _) | (_, Decimal128(..)) => {
            Some(wider_decimal(decimal_for(t1)?, decimal_for(t2)?))
        }
        _ => None,
    }
}

/// String promotion: ANSI mode reads the string as the other type (a bigint next to an
/// integer, a double next to a fractional number); legacy mode makes both strings.
fn wider_for_string(t1: &DataType, t2: &DataType, ansi: bool) -> Option<DataType> {
    use DataType::*;
    let (other, _) = match (is_string(t1), is_string(t2)) {
        (true, false) => (t2, t1),
        (false, true) => (t1, t2),
        _ => return None,
    };
    if ansi {
        match other {
            _ if is_integral(other) => Some(Int64),
            _ if is_floating(other) || matches!(other, Decimal128(..)) => Some(Float64),
            Null => Some(Utf8),
            Boolean | Date32 | Timestamp(..) | Binary => Some(other.clone()),
            _ => None,
        }
    } else {
        match other {
            Boolean | Binary => None,
            _ => Some(Utf8),
        }
    }
}

/// Spark's `findWiderTypeForTwo`.
pub(crate) fn wider_type(t1: &DataType, t2: &DataType, ansi: bool) -> Option<DataType> {
    if !is_modeled(t1) || !is_modeled(t2) {
        return type_union_resolution(&[t1.clone(), t2.clone()]);
    }
    tightest(t1, t2)
        .or_else(|| wider_for_decimal(t1, t2))
        .or_else(|| wider_for_string(t1, t2, ansi))
}

/// The common type of CASE branches, COALESCE arguments, set operation columns and the like:
/// `findWiderCommonType`, a left fold of [`wider_type`].
pub(crate) fn common_type(types: &[DataType], ansi: bool) -> Option<DataType> {
    let (first, rest) = types.split_first()?;
    rest.iter()
        .try_fold(first.clone(), |acc, t| wider_type(&acc, t, ansi))
}

/// `expr` cast to the common type `to` it was widened to. A string read as a number or a date
/// may not parse: Spark's cast then fails naming the value under ANSI mode
/// (`CAST_INVALID_INPUT`) and gives NULL otherwise.
pub(crate) fn implicit_cast(
    expr: Expr,
    to: &DataType,
    schema: &DFSchema,
    ansi: bool,
) -> Result<Expr> {
    let from = expr.fast_type(schema)?;
    if is_string(&from) && ansi::cast_can_fail(&from, to) {
        if let Expr::Literal(value, _) = &expr {
            if let Ok(v) = value.cast_to(to) {
                return Ok(Expr::Literal(v, None));
            }
        }
        let target = ScalarValue::try_from(to)?;
        return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
            ansi::spark_cast(ansi).into_udf(),
            vec![expr, Expr::Literal(target, None)],
        )));
    }
    cast_to(expr, to, schema)
}

/// The type both sides of a comparison are cast to. Numbers follow Spark (`DecimalPrecision`:
/// an integer next to a decimal is a decimal, a decimal next to a float a double; other numbers
/// widen); other pairs take DataFusion's comparison rules.
pub(crate) fn comparison_type(l: &DataType, r: &DataType) -> Option<DataType> {
    let numeric =
        |t: &DataType| is_integral(t) || is_floating(t) || matches!(t, DataType::Decimal128(..));
    if numeric(l) && numeric(r) {
        return tightest(l, r).or_else(|| wider_for_decimal(l, r));
    }
    comparison_coercion(l, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataType::*;

    #[test]
    fn a_decimal_next_to_a_double_is_a_double() {
        assert_eq!(
            wider_type(&Decimal128(10, 2), &Float64, true),
            Some(Float64)
        );
        assert_eq!(comparison_type(&Decimal128(10, 2), &Float64), Some(Float64));
        assert_eq!(comparison_type(&Float32, &Decimal128(38, 0)), Some(Float64));
    }

    #[test]
    fn decimals_widen_to_hold_both_ranges_and_scales() {
        assert_eq!(
            wider_type(&Decimal128(10, 2), &Decimal128(5, 4), true),
            Some(Decimal128(12, 4))
        );
        assert_eq!(
            wider_type(&Int32, &Decimal128(12, 2), true),
            Some(Decimal128(12, 2))
        );
        assert_eq!(
            wider_type(&Int64, &Decimal128(10, 2), true),
            Some(Decimal128(22, 2))
        );
        assert_eq!(
            wider_type(&Decimal128(38, 10), &Decimal128(38, 2), true),
            Some(Decimal128(38, 10))
        );
    }

    #[test]
    fn numbers_widen_by_precedence() {
        assert_eq!(wider_type(&Int32, &Int64, true), Some(Int64));
        assert_eq!(wider_type(&Int64, &Float32, true), Some(Float64));
        assert_eq!(wider_type(&Float32, &Float32, true), Some(Float32));
        assert_eq!(common_type(&[Null, Int8, Int16], true), Some(Int16));
    }

    #[test]
    fn strings_promote_by_mode() {
        assert_eq!(wider_type(&Utf8, &Int32, true), Some(Int64));
        assert_eq!(wider_type(&Utf8, &Decimal128(10, 2), true), Some(Float64));
        assert_eq!(wider_type(&Date32, &Utf8, true), Some(Date32));
        assert_eq!(wider_type(&Utf8, &Int32, false), Some(Utf8));
        assert_eq!(wider_type(&Utf8, &Boolean, false), None);
        assert_eq!(wider_type(&Boolean, &Int32, true), None);
    }
}
