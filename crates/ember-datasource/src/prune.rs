//! Skipping files and Parquet row groups that cannot hold a row the query's filters accept.
//!
//! A unit (a file's partition folder, a row group) has, per column, what is known of its
//! values: the minimum, the maximum and the number of NULLs (a partition value is its own
//! minimum and maximum). [`may_match`] answers whether a filter can be true for some row of the
//! unit, and errs on the side of "yes": anything it does not understand keeps the unit. The
//! filters themselves stay in the plan; pruning only saves reading.

use std::cmp::Ordering;

use arrow::datatypes::{DataType, Schema};
use datafusion_common::ScalarValue;
use datafusion_expr::{Between, BinaryExpr, Expr, Operator};

/// What is known of one column's values in a unit.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnStats {
    pub min: Option<ScalarValue>,
    pub max: Option<ScalarValue>,
    pub null_count: Option<u64>,
    /// Every value is NULL (a `__HIVE_DEFAULT_PARTITION__` folder).
    pub all_null: bool,
}

/// What is known of a unit: per table column (by index), and its row count.
pub(crate) trait UnitStats {
    fn column(&self, index: usize) -> Option<&ColumnStats>;
    fn row_count(&self) -> Option<u64>;
}

/// Whether any row of the unit may satisfy `filter` (over `schema`, the table schema).
pub(crate) fn may_match(filter: &Expr, schema: &Schema, stats: &dyn UnitStats) -> bool {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => may_match(left, schema, stats) && may_match(right, schema, stats),
            Operator::Or => may_match(left, schema, stats) || may_match(right, schema, stats),
            _ => compare(left, *op, right, schema, stats).unwrap_or(true),
        },
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => {
            compare(expr, Operator::GtEq, low, schema, stats).unwrap_or(true)
                && compare(expr, Operator::LtEq, high, schema, stats).unwrap_or(true)
        }
        Expr::InList(list) if !list.negated => list
            .list
            .iter()
            .any(|value| compare(&list.expr, Operator::Eq, value, schema, stats).unwrap_or(true)),
        Expr::IsNull(expr) => column_stats(expr, schema, stats)
            .is_none_or(|(c, _)| c.all_null || c.null_count.is_none_or(|nulls| nulls > 0)),
        Expr::IsNotNull(expr) => {
            let Some((column, _)) = column_stats(expr, schema, stats) else {
                return true;
            };
            match (column.null_count, stats.row_count()) {
                _ if column.all_null => false,
                (Some(nulls), Some(rows)) => nulls < rows,
                _ => true,
            }
        }
        _ => true,
    }
}

/// The stats of a column reference (possibly under a widening cast), and the type the filter
/// compares it as (the cast's, else the column's).
fn column_stats<'a>(
    expr: &Expr,
    schema: &Schema,
    stats: &'a dyn UnitStats,
) -> Option<(&'a ColumnStats, DataType)> {
    let (column, cast) = match expr {
        Expr::Column(column) => (column, None),
        Expr::Cast(cast) => match cast.expr.as_ref() {
            Expr::Column(column) => (column, Some(cast.field.data_type().clone())),
            _ => return None,
        },
        _ => return None,
    };
    let index = column_index(schema, &column.name)?;
    let from = schema.field(index).data_type();
    if let Some(to) = &cast {
        if !order_preserving_cast(from, to) {
            return None;
        }
    }
    Some((stats.column(index)?, cast.unwrap_or_else(|| from.clone())))
}

/// A column by name: exactly, else case-insensitively (Spark's default).
pub(crate) fn column_index(schema: &Schema, name: &str) -> Option<usize> {
    schema.index_of(name).ok().or_else(|| {
        schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    })
}

/// Casts that keep the order of values, so a bound of the column is a bound of the cast.
fn order_preserving_cast(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let rank = |t: &DataType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    match (from, to) {
        _ if from == to => true,
        (a, b) if rank(a).is_some() && rank(b).is_some() => rank(a) <= rank(b),
        (Int8 | Int16 | Int32 | Int64, Float64 | Decimal128(..)) => true,
        (Float32, Float64) => true,
        (Decimal128(_, s1), Decimal128(_, s2)) => s1 <= s2,
        (Date32, Timestamp(..)) => true,
        (Utf8, Utf8View | LargeUtf8) | (Utf8View | LargeUtf8, Utf8) => true,
        _ => false,
    }
}

fn literal(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value),
        _ => None,
    }
}

/// `column op literal` (either way round) against the column's bounds; `None` if the shape or
/// the types are not understood.
fn compare(
    left: &Expr,
    op: Operator,
    right: &Expr,
    schema: &Schema,
    stats: &dyn UnitStats,
) -> Option<bool> {
    let (column, op, value) = match (literal(left), literal(right)) {
        (None, Some(value)) => (left, op, value),
        (Some(value), None) => (right, op.swap()?, value),
        _ => return None,
    };
    if !matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
    ) {
        // IS [NOT] DISTINCT FROM (<=>) is true for NULLs: not judged here.
        return None;
    }
    let (column, target) = column_stats(column, schema, stats)?;
    // NaN is left out of Parquet's min/max but sorts above every number: a float column's
    // upper bound is not known.
    if matches!(
        target,
        DataType::Float32 | DataType::Float64 | DataType::Float16
    ) && matches!(
        op,
        Operator::Gt | Operator::GtEq | Operator::NotEq | Operator::Eq
    ) {
        return None;
    }
    if value.is_null() || column.all_null {
        // `x = NULL` and its kin are never true.
        return Some(false);
    }
    // Compare in the column's type (or its widening cast's): the literal converted to it
    // exactly (5 for 5.0, not 5 for 5.5), the bounds widened losslessly. Anything else (a
    // rounding or overflowing conversion) would move a bound and could skip matching rows.
    let exact = |scalar: &ScalarValue| -> Option<ScalarValue> {
        if scalar.data_type() == target {
            return Some(scalar.clone());
        }
        let converted = scalar.cast_to(&target).ok().filter(|v| !v.is_null())?;
        let back = converted.cast_to(&scalar.data_type()).ok()?;
        (back == *scalar).then_some(converted)
    };
    let value = &exact(value)?;
    let bound = |bound: &Option<ScalarValue>| -> Option<ScalarValue> {
        exact(bound.as_ref().filter(|b| !b.is_null())?)
    };
    let cmp =
        |bound: &Option<ScalarValue>| -> Option<Ordering> { bound.as_ref()?.partial_cmp(value) };
    let min = bound(&column.min);
    let max = bound(&column.max);
    let (lo, hi) = (cmp(&min), cmp(&max));
    Some(match op {
        Operator::Eq => lo? != Ordering::Greater && hi? != Ordering::Less,
        Operator::NotEq => !(lo? == Ordering::Equal && hi? == Ordering::Equal),
        Operator::Lt => lo? == Ordering::Less,
        Operator::LtEq => lo? != Ordering::Greater,
        Operator::Gt => hi? == Ordering::Greater,
        Operator::GtEq => hi? != Ordering::Less,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use datafusion_expr::{col, lit};

    struct Unit(Vec<ColumnStats>, u64);

    impl UnitStats for Unit {
        fn column(&self, index: usize) -> Option<&ColumnStats> {
            self.0.get(index)
        }
        fn row_count(&self) -> Option<u64> {
            Some(self.1)
        }
    }

    fn unit(min: i32, max: i32, nulls: u64) -> Unit {
        Unit(
            vec![ColumnStats {
                min: Some(ScalarValue::Int32(Some(min))),
                max: Some(ScalarValue::Int32(Some(max))),
                null_count: Some(nulls),
                all_null: false,
            }],
            10,
        )
    }

    fn schema() -> Schema {
        Schema::new(vec![Field::new("x", DataType::Int32, true)])
    }

    #[test]
    fn comparisons_against_bounds() {
        let s = schema();
        let u = unit(10, 20, 0);
        assert!(may_match(&col("x").eq(lit(15i32)), &s, &u));
        assert!(!may_match(&col("x").eq(lit(21i32)), &s, &u));
        assert!(!may_match(&col("x").lt(lit(10i32)), &s, &u));
        assert!(may_match(&col("x").lt_eq(lit(10i32)), &s, &u));
        assert!(!may_match(&lit(25i32).lt(col("x")), &s, &u));
        assert!(may_match(&col("x").gt(lit(19i32)), &s, &u));
        assert!(!may_match(
            &col("x").between(lit(21i32), lit(30i32)),
            &s,
            &u
        ));
        assert!(!may_match(
            &col("x").in_list(vec![lit(1i32), lit(30i32)], false),
            &s,
            &u
        ));
        assert!(may_match(
            &col("x").in_list(vec![lit(1i32), lit(11i32)], false),
            &s,
            &u
        ));
        assert!(!may_match(&col("x").is_null(), &s, &u));
        assert!(may_match(&col("x").is_null(), &s, &unit(10, 20, 1)));
        assert!(!may_match(&col("x").is_not_null(), &s, &unit(10, 20, 10)));
        assert!(!may_match(
            &col("x").gt(lit(30i32)).or(col("x").lt(lit(5i32))),
            &s,
            &u
        ));
        assert!(!may_match(
            &col("x").gt(lit(15i32)).and(col("x").lt(lit(10i32))),
            &s,
            &u
        ));
        assert!(may_match(
            &col("x").gt(lit(15i32)).and(col("x").lt(lit(12i32))),
            &s,
            &u
        ));
    }

    #[test]
    fn widening_casts_compare_and_unknown_shapes_keep_the_unit() {
        let s = schema();
        let u = unit(10, 20, 0);
        let widened = Expr::Cast(datafusion_expr::Cast::new(
            Box::new(col("x")),
            DataType::Int64,
        ));
        assert!(!may_match(&widened.clone().gt(lit(20i64)), &s, &u));
        assert!(may_match(&widened.gt(lit(19i64)), &s, &u));
        let narrowed = Expr::Cast(datafusion_expr::Cast::new(
            Box::new(col("x")),
            DataType::Int8,
        ));
        assert!(may_match(&narrowed.gt(lit(100i8)), &s, &u));
        assert!(may_match(&(col("x") + lit(1i32)).gt(lit(100i32)), &s, &u));
        assert!(may_match(&col("y").gt(lit(100i32)), &s, &u));
        assert!(may_match(
            &col("x").gt(lit(100i32)),
            &s,
            &Unit(vec![ColumnStats::default()], 10)
        ));
        // A literal of another type is compared after converting it exactly to the column's.
        assert!(!may_match(&col("x").gt(lit(20i64)), &s, &u));
        assert!(
            may_match(&col("x").gt(lit(3_000_000_000i64)), &s, &u),
            "does not fit: keep"
        );
    }

    #[test]
    fn bounds_are_never_rounded_into_skipping_rows() {
        // A decimal(10,3) column with values up to 1.004; the filter's literal has scale 2.
        let s = Schema::new(vec![Field::new("d", DataType::Decimal128(10, 3), true)]);
        let u = Unit(
            vec![ColumnStats {
                min: Some(ScalarValue::Decimal128(Some(1000), 10, 3)),
                max: Some(ScalarValue::Decimal128(Some(1004), 10, 3)),
                null_count: Some(0),
                all_null: false,
            }],
            10,
        );
        let one = lit(ScalarValue::Decimal128(Some(100), 3, 2));
        assert!(may_match(&col("d").gt(one.clone()), &s, &u), "1.004 > 1.00");
        assert!(!may_match(&col("d").lt(one), &s, &u));
        // A value too large for the literal's type must not become NULL and prune.
        let big = Schema::new(vec![Field::new("p", DataType::Decimal128(15, 2), true)]);
        let prices = Unit(
            vec![ColumnStats {
                min: Some(ScalarValue::Decimal128(Some(100), 15, 2)),
                max: Some(ScalarValue::Decimal128(Some(10_494_950), 15, 2)),
                null_count: Some(0),
                all_null: false,
            }],
            10,
        );
        let five = lit(ScalarValue::Decimal128(Some(500), 3, 2));
        assert!(may_match(&col("p").gt(five), &big, &prices));
        // A fraction compared with an integer column: not converted, the unit is kept.
        assert!(may_match(
            &col("x").gt(lit(19.5f64)),
            &schema(),
            &unit(10, 20, 0)
        ));
    }

    #[test]
    fn null_safe_equality_and_float_upper_bounds_keep_the_unit() {
        let s = schema();
        let u = Unit(
            vec![ColumnStats {
                all_null: true,
                ..ColumnStats::default()
            }],
            10,
        );
        let null_safe = Expr::BinaryExpr(BinaryExpr::new(
            Box::new(col("x")),
            Operator::IsNotDistinctFrom,
            Box::new(lit(ScalarValue::Int32(None))),
        ));
        assert!(
            may_match(&null_safe, &s, &u),
            "x <=> NULL matches an all-NULL unit"
        );
        let f = Schema::new(vec![Field::new("f", DataType::Float64, true)]);
        let floats = Unit(
            vec![ColumnStats {
                min: Some(ScalarValue::Float64(Some(1.0))),
                max: Some(ScalarValue::Float64(Some(1.0))),
                null_count: Some(0),
                all_null: false,
            }],
            10,
        );
        assert!(
            may_match(&col("f").gt(lit(5.0f64)), &f, &floats),
            "a NaN may hide"
        );
        assert!(!may_match(&col("f").lt(lit(0.5f64)), &f, &floats));
    }
}
