//! Spark's array functions that reorder, filter or combine elements: `array_distinct`,
//! `array_sort`, `sort_array`, `array_max`, `array_min`, `array_position`, `array_remove`,
//! `array_compact`, `array_union`, `array_intersect`, `array_except`, `array_join`,
//! `array_repeat`, `flatten`, `slice`, `sequence`, `concat` and `reverse` of arrays.
//!
//! Elements are compared through arrow's row format (one conversion of a list's values per
//! call), so every element type that can be a grouping key can be deduplicated and sorted,
//! with Spark's NULL and NaN rules; each row then only picks indices, and the result is one
//! `take` of the values.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, StringBuilder, UInt32Array};

use arrow::compute::{cast, take, SortOptions};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion_common::{exec_err, plan_err, Result};

use super::collection::{assemble_list, list_of};
use super::SparkUdf;
use crate::binder::coercion::common_type;
use crate::types::spark_type_name;

/// The array functions of this file.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "reverse",
            (1, 1),
            |t| match &t[0] {
                l @ DataType::List(_) => Ok(vec![l.clone()]),
                _ => Ok(vec![DataType::Utf8]),
            },
            same,
            reverse,
        ),
        SparkUdf::new("array_distinct", (1, 1), one_array, same, array_distinct),
        SparkUdf::new("array_sort", (1, 1), one_array, same, array_sort),
        SparkUdf::new("sort_array", (1, 2), sort_array_args, same, sort_array),
        SparkUdf::new("array_compact", (1, 1), one_array, same, array_compact),
        SparkUdf::new("array_max", (1, 1), one_array, element, array_max),
        SparkUdf::new("array_min", (1, 1), one_array, element, array_min),
        SparkUdf::new(
            "array_position",
            (2, 2),
            array_and_element,
            |_| Ok(DataType::Int64),
            array_position,
        ),
        SparkUdf::new(
            "array_remove",
            (2, 2),
            array_and_element,
            same,
            array_remove,
        ),
        SparkUdf::new("array_union", (2, 2), two_arrays, same, array_union),
        SparkUdf::new("array_intersect", (2, 2), two_arrays, same, array_intersect),
        SparkUdf::new("array_except", (2, 2), two_arrays, same, array_except),
        SparkUdf::new(
            "array_join",
            (2, 3),
            |t| {
                let mut out = vec![string_array_of(&t[0])?];
                out.extend(std::iter::repeat_n(DataType::Utf8, t.len() - 1));
                Ok(out)
            },
            |_| Ok(DataType::Utf8),
            array_join,
        ),
        SparkUdf::new(
            "array_repeat",
            (2, 2),
            |t| Ok(vec![t[0].clone(), DataType::Int32]),
            |t| Ok(list_of(t[0].clone())),
            array_repeat,
        ),
        SparkUdf::new("flatten", (1, 1), one_nested_array, flat_type, flatten),
        SparkUdf::new(
            "slice",
            (3, 3),
            |t| {
                Ok(vec![
                    one_array(&t[..1])?.remove(0),
                    DataType::Int32,
                    DataType::Int32,
                ])
            },
            same,
            slice,
        ),
        SparkUdf::new(
            "sequence",
            (2, 3),
            sequence_args,
            |t| Ok(list_of(t[0].clone())),
            sequence,
        ),
    ]
}

/// `concat`'s arguments: all arrays (of one widened element type) or all strings.
pub fn coerce_concat(types: &[DataType]) -> Result<Vec<DataType>> {
    if !types.iter().any(|t| matches!(t, DataType::List(_))) {
        return Ok(vec![DataType::Utf8; types.len()]);
    }
    let mut elements = Vec::with_capacity(types.len());
    for t in types {
        match t {
            DataType::List(f) => elements.push(f.data_type().clone()),
            DataType::Null => {}
            other => {
                return plan_err!(
                    "[DATATYPE_MISMATCH.DATA_DIFF_TYPES] concat takes all arrays or all strings, not an array and {}",
                    spark_type_name(other)
                )
            }
        }
    }
    let element = common_type(&elements, true).ok_or_else(|| {
        datafusion_common::DataFusionError::Plan(
            "[DATATYPE_MISMATCH.DATA_DIFF_TYPES] the arrays of concat must have one element type"
                .to_string(),
        )
    })?;
    Ok(vec![list_of(element); types.len()])
}

/// Arrays one after another; NULL when any is NULL.
pub fn concat_arrays(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let lists: Vec<&ListArray> = args.iter().map(|a| a.as_list::<i32>()).collect();
    let all_values: Vec<&dyn Array> = lists.iter().map(|l| l.values().as_ref()).collect();
    let mut indices: Vec<(usize, usize)> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        if lists.iter().any(|l| l.is_null(row)) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let before = indices.len();
        for (which, list) in lists.iter().enumerate() {
            let offsets = list.value_offsets();
            indices.extend((offsets[row] as usize..offsets[row + 1] as usize).map(|i| (which, i)));
        }
        lengths.push(indices.len() - before);
        valid.push(true);
    }
    let values = arrow::compute::interleave(&all_values, &indices)?;
    assemble_list(lists[0].data_type(), values, lengths, valid)
}

/// `reverse(x)`: a string's characters or an array's elements in reverse order.
fn reverse(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    match args[0].data_type() {
        DataType::List(_) => rebuild(args[0].as_list::<i32>(), |_, range| {
            Ok(Some(range.rev().collect()))
        }),
        _ => {
            let strings = args[0].as_string::<i32>();
            let mut out = StringBuilder::with_capacity(rows, rows * 8);
            for value in strings.iter() {
                match value {
                    Some(v) => out.append_value(v.chars().rev().collect::<String>()),
                    None => out.append_null(),
                }
            }
            Ok(Arc::new(out.finish()))
        }
    }
}

pub(super) fn one_array(types: &[DataType]) -> Result<Vec<DataType>> {
    match &types[0] {
        t @ DataType::List(_) => Ok(vec![t.clone()]),
        DataType::Null => Ok(vec![list_of(DataType::Null)]),
        t => plan_err!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] expects an array, not {}",
            spark_type_name(t)
        ),
    }
}

fn same(types: &[DataType]) -> Result<DataType> {
    Ok(types[0].clone())
}

pub(super) fn element(types: &[DataType]) -> Result<DataType> {
    match &types[0] {
        DataType::List(f) => Ok(f.data_type().clone()),
        _ => Ok(DataType::Null),
    }
}

fn sort_array_args(types: &[DataType]) -> Result<Vec<DataType>> {
    let mut out = one_array(types)?;
    if types.len() == 2 {
        out.push(DataType::Boolean);
    }
    Ok(out)
}

/// An array and a value of its element type (both widened to a common type).
fn array_and_element(types: &[DataType]) -> Result<Vec<DataType>> {
    let element = element(&one_array(types)?)?;
    let common = common_type(&[element, types[1].clone()], true).ok_or_else(|| {
        datafusion_common::DataFusionError::Plan(format!(
            "[DATATYPE_MISMATCH.ARRAY_FUNCTION_DIFF_TYPES] the value must have the array's element type, not {}",
            spark_type_name(&types[1])
        ))
    })?;
    Ok(vec![list_of(common.clone()), common])
}

fn two_arrays(types: &[DataType]) -> Result<Vec<DataType>> {
    let a = element(&one_array(&types[..1])?)?;
    let b = element(&one_array(&types[1..2])?)?;
    let common = common_type(&[a, b], true).ok_or_else(|| {
        datafusion_common::DataFusionError::Plan(
            "[DATATYPE_MISMATCH.BINARY_ARRAY_DIFF_TYPES] the arrays must have the same element type"
                .to_string(),
        )
    })?;
    Ok(vec![list_of(common.clone()), list_of(common)])
}

fn string_array_of(t: &DataType) -> Result<DataType> {
    match t {
        DataType::List(_) | DataType::Null => Ok(list_of(DataType::Utf8)),
        other => plan_err!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] array_join expects an array, not {}",
            spark_type_name(other)
        ),
    }
}

fn one_nested_array(types: &[DataType]) -> Result<Vec<DataType>> {
    match &types[0] {
        t @ DataType::List(f) if matches!(f.data_type(), DataType::List(_)) => Ok(vec![t.clone()]),
        t => plan_err!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] flatten expects an array of arrays, not {}",
            spark_type_name(t)
        ),
    }
}

fn flat_type(types: &[DataType]) -> Result<DataType> {
    element(types)
}

fn sequence_args(types: &[DataType]) -> Result<Vec<DataType>> {
    let timestamp = types[..2]
        .iter()
        .find(|t| matches!(t, DataType::Timestamp(_, Some(_))))
        .or_else(|| {
            types[..2]
                .iter()
                .find(|t| matches!(t, DataType::Timestamp(_, None)))
        });
    if let Some(timestamp) = timestamp {
        let zone = match timestamp {
            DataType::Timestamp(_, zone) => zone.clone(),
            _ => None,
        };
        let ts = DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, zone);
        let mut out = vec![ts.clone(), ts];
        match types.get(2) {
            None => {}
            Some(t)
                if super::interval::is_year_month(t)
                    || super::interval::is_day_time(t)
                    || super::calendar_interval::is_calendar(t) =>
            {
                out.push(t.clone())
            }
            Some(other) => {
                return plan_err!(
                    "[DATATYPE_MISMATCH.SEQUENCE_WRONG_INPUT_TYPES] a sequence of timestamps steps by an interval, not {}",
                    spark_type_name(other)
                )
            }
        }
        return Ok(out);
    }
    if matches!(types[0], DataType::Date32) || matches!(types[1], DataType::Date32) {
        let mut out = vec![DataType::Date32, DataType::Date32];
        match types.get(2) {
            None => {}
            Some(t) if super::interval::is_year_month(t) || super::interval::is_day_time(t) => {
                out.push(t.clone())
            }
            Some(other) => {
                return plan_err!(
                    "[DATATYPE_MISMATCH.SEQUENCE_WRONG_INPUT_TYPES] a sequence of dates steps by an interval, not {}",
                    spark_type_name(other)
                )
            }
        }
        return Ok(out);
    }
    let common = common_type(types, true).unwrap_or(DataType::Int64);
    let common = match common {
        DataType::Int8 | DataType::Int16 | DataType::Int32 => DataType::Int32,
        DataType::Int64 => DataType::Int64,
        DataType::Null => DataType::Int32,
        other => {
            return plan_err!(
                "[DATATYPE_MISMATCH.SEQUENCE_WRONG_INPUT_TYPES] sequence over {} is not supported yet; use integers",
                spark_type_name(&other)
            )
        }
    };
    Ok(vec![common; types.len()])
}

/// A list's values as comparable rows (ascending, NULLs first unless `nulls_last`).
pub(super) fn rows_of(values: &ArrayRef, descending: bool, nulls_first: bool) -> Result<Rows> {
    let converter = RowConverter::new(vec![SortField::new_with_options(
        values.data_type().clone(),
        SortOptions {
            descending,
            nulls_first,
        },
    )])?;
    Ok(converter.convert_columns(&[Arc::clone(values)])?)
}

/// Builds a list like `list` whose row `i` holds the values at the indices `pick(i, range)`
/// gives (`None`: a NULL row).
fn rebuild(
    list: &ListArray,
    mut pick: impl FnMut(usize, std::ops::Range<usize>) -> Result<Option<Vec<usize>>>,
) -> Result<ArrayRef> {
    let offsets = list.value_offsets();
    let mut indices: Vec<u32> = Vec::new();
    let mut lengths = Vec::with_capacity(list.len());
    let mut valid = Vec::with_capacity(list.len());
    for row in 0..list.len() {
        if list.is_null(row) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        match pick(row, offsets[row] as usize..offsets[row + 1] as usize)? {
            Some(picked) => {
                lengths.push(picked.len());
                indices.extend(picked.into_iter().map(|i| i as u32));
                valid.push(true);
            }
            None => {
                lengths.push(0);
                valid.push(false);
            }
        }
    }
    let values = take(list.values().as_ref(), &UInt32Array::from(indices), None)?;
    assemble_list(list.data_type(), values, lengths, valid)
}

/// `array_distinct(a)`: each value once, in order of first appearance (NULL once too).
fn array_distinct(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let rows = rows_of(list.values(), false, true)?;
    rebuild(list, |_, range| {
        let mut seen = HashSet::new();
        Ok(Some(range.filter(|&i| seen.insert(rows.row(i))).collect()))
    })
}

fn sorted(list: &ListArray, descending: bool, nulls_first: bool) -> Result<ArrayRef> {
    let rows = rows_of(list.values(), descending, nulls_first)?;
    rebuild(list, |_, range| {
        let mut picked: Vec<usize> = range.collect();
        picked.sort_by(|a, b| rows.row(*a).cmp(&rows.row(*b)));
        Ok(Some(picked))
    })
}

/// `array_sort(a)`: ascending, NULLs last.
fn array_sort(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    sorted(args[0].as_list::<i32>(), false, false)
}

/// `sort_array(a[, ascending])`: NULLs first ascending, last descending.
fn sort_array(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let ascending = match args.get(1) {
        None => true,
        Some(flag) => {
            let flag = flag.as_boolean();
            if flag.null_count() > 0 {
                return exec_err!("sort_array's ascending flag must not be NULL");
            }
            if (0..rows).any(|i| flag.value(i) != flag.value(0)) {
                return exec_err!("sort_array's ascending flag must be a constant");
            }
            rows == 0 || flag.value(0)
        }
    };
    sorted(list, !ascending, ascending)
}

/// `array_compact(a)`: without its NULLs.
fn array_compact(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let values = list.values();
    rebuild(list, |_, range| {
        Ok(Some(range.filter(|&i| values.is_valid(i)).collect()))
    })
}

fn extreme(args: &[ArrayRef], max: bool) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let values = list.values();
    let rows = rows_of(values, false, true)?;
    let offsets = list.value_offsets();
    let picks: Vec<Option<u32>> = (0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return None;
            }
            let range = offsets[row] as usize..offsets[row + 1] as usize;
            let candidates = range.filter(|&i| values.is_valid(i));
            let best = if max {
                candidates.max_by(|a, b| rows.row(*a).cmp(&rows.row(*b)))
            } else {
                candidates.min_by(|a, b| rows.row(*a).cmp(&rows.row(*b)))
            };
            best.map(|i| i as u32)
        })
        .collect();
    Ok(take(values.as_ref(), &UInt32Array::from(picks), None)?)
}

/// `array_max(a)`: the largest non-NULL element (NaN above all numbers, as Spark).
fn array_max(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    extreme(args, true)
}

fn array_min(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    extreme(args, false)
}

/// The list's values and the wanted values together as rows, to compare elements with a
/// per-row value.
fn with_value_rows(list: &ListArray, value: &ArrayRef) -> Result<(Rows, usize)> {
    let values = list.values();
    let both = arrow::compute::concat(&[values.as_ref(), value.as_ref()])?;
    Ok((rows_of(&both, false, true)?, values.len()))
}

/// `array_position(a, v)`: the 1-based position of the first element equal to `v`, 0 when
/// there is none; NULL when `a` or `v` is NULL.
fn array_position(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let value = &args[1];
    let (all, base) = with_value_rows(list, value)?;
    let offsets = list.value_offsets();
    let out: Int64Array = (0..rows)
        .map(|row| {
            if list.is_null(row) || value.is_null(row) {
                return None;
            }
            let wanted = all.row(base + row);
            let start = offsets[row] as usize;
            Some(
                (start..offsets[row + 1] as usize)
                    .position(|i| list.values().is_valid(i) && all.row(i) == wanted)
                    .map_or(0, |p| p as i64 + 1),
            )
        })
        .collect();
    Ok(Arc::new(out))
}

/// `array_remove(a, v)`: without the elements equal to `v`; NULL when `v` is NULL.
fn array_remove(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let value = &args[1];
    let (all, base) = with_value_rows(list, value)?;
    let values = list.values();
    rebuild(list, |row, range| {
        if value.is_null(row) {
            return Ok(None);
        }
        let wanted = all.row(base + row);
        Ok(Some(
            range
                .filter(|&i| values.is_null(i) || all.row(i) != wanted)
                .collect(),
        ))
    })
}

/// Set operations over two arrays: each distinct element once, in order of appearance.
#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Intersect,
    Except,
}

fn set_op(args: &[ArrayRef], rows: usize, op: SetOp) -> Result<ArrayRef> {
    let (a, b) = (args[0].as_list::<i32>(), args[1].as_list::<i32>());
    // One list of both sides' elements per row: a's then b's.
    let a_values = a.values();
    let b_values = b.values();
    let all_values = arrow::compute::concat(&[a_values.as_ref(), b_values.as_ref()])?;
    let all = rows_of(&all_values, false, true)?;
    let base = a_values.len();
    let (a_offsets, b_offsets) = (a.value_offsets(), b.value_offsets());
    let mut indices: Vec<u32> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        if a.is_null(row) || b.is_null(row) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let a_range = a_offsets[row] as usize..a_offsets[row + 1] as usize;
        let b_range = base + b_offsets[row] as usize..base + b_offsets[row + 1] as usize;
        let in_b: HashSet<_> = b_range.clone().map(|i| all.row(i)).collect();
        let mut seen = HashSet::new();
        let before = indices.len();
        let candidates: Vec<usize> = match op {
            SetOp::Union => a_range.chain(b_range).collect(),
            SetOp::Intersect => a_range.filter(|&i| in_b.contains(&all.row(i))).collect(),
            SetOp::Except => a_range.filter(|&i| !in_b.contains(&all.row(i))).collect(),
        };
        for i in candidates {
            if seen.insert(all.row(i)) {
                indices.push(i as u32);
            }
        }
        lengths.push(indices.len() - before);
        valid.push(true);
    }
    let values = take(all_values.as_ref(), &UInt32Array::from(indices), None)?;
    assemble_list(a.data_type(), values, lengths, valid)
}

fn array_union(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    set_op(args, rows, SetOp::Union)
}

fn array_intersect(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    set_op(args, rows, SetOp::Intersect)
}

fn array_except(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    set_op(args, rows, SetOp::Except)
}

/// `array_join(a, delimiter[, nullReplacement])`: NULL elements skipped unless replaced.
fn array_join(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let strings = cast(list.values(), &DataType::Utf8)?;
    let strings = strings.as_string::<i32>();
    let delimiter = args[1].as_string::<i32>();
    let replacement = args.get(2).map(|r| r.as_string::<i32>());
    let offsets = list.value_offsets();
    let mut out = StringBuilder::with_capacity(rows, rows * 16);
    let mut text = String::new();
    for row in 0..rows {
        if list.is_null(row)
            || delimiter.is_null(row)
            || replacement.is_some_and(|r| r.is_null(row))
        {
            out.append_null();
            continue;
        }
        text.clear();
        let mut first = true;
        for i in offsets[row] as usize..offsets[row + 1] as usize {
            let piece = if strings.is_null(i) {
                match replacement {
                    Some(r) => r.value(row),
                    None => continue,
                }
            } else {
                strings.value(i)
            };
            if !first {
                text.push_str(delimiter.value(row));
            }
            text.push_str(piece);
            first = false;
        }
        out.append_value(&text);
    }
    Ok(Arc::new(out.finish()))
}

/// `array_repeat(v, n)`: `n` copies of `v` (none for a negative `n`); NULL for a NULL `n`.
fn array_repeat(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let counts = args[1].as_primitive::<Int32Type>();
    let mut indices = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        if counts.is_null(row) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let n = counts.value(row).max(0) as usize;
        if indices.len() + n > i32::MAX as usize {
            return exec_err!(
                "array_repeat would make an array of more than {} elements",
                i32::MAX
            );
        }
        indices.extend(std::iter::repeat_n(row as u32, n));
        lengths.push(n);
        valid.push(true);
    }
    let values = take(args[0].as_ref(), &UInt32Array::from(indices), None)?;
    // A new list: its element field is `item` of the values' type.
    assemble_list(&DataType::Null, values, lengths, valid)
}

/// `flatten(a)`: the inner arrays one after another; NULL when any inner array is NULL.
fn flatten(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let outer = args[0].as_list::<i32>();
    let inner = outer.values().as_list::<i32>();
    let inner_offsets = inner.value_offsets();
    let offsets = outer.value_offsets();
    let mut indices: Vec<u32> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        let range = offsets[row] as usize..offsets[row + 1] as usize;
        if outer.is_null(row) || range.clone().any(|i| inner.is_null(i)) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let before = indices.len();
        for i in range {
            indices.extend(inner_offsets[i] as u32..inner_offsets[i + 1] as u32);
        }
        lengths.push(indices.len() - before);
        valid.push(true);
    }
    let values = take(inner.values().as_ref(), &UInt32Array::from(indices), None)?;
    assemble_list(inner.data_type(), values, lengths, valid)
}

/// `slice(a, start, length)`: 1-based `start` (negative from the end), `length` elements.
fn slice(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let starts = args[1].as_primitive::<Int32Type>();
    let lengths = args[2].as_primitive::<Int32Type>();
    rebuild(list, |row, range| {
        if starts.is_null(row) || lengths.is_null(row) {
            return Ok(None);
        }
        let (start, length) = (starts.value(row) as i64, lengths.value(row) as i64);
        if start == 0 {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.START] The value of parameter(s) `start` in `slice` is invalid: Expects a positive or a negative value for `start`, but got 0."
            );
        }
        if length < 0 {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.LENGTH] The value of parameter(s) `length` in `slice` is invalid: Expects `length` greater than or equal to 0, but got {length}."
            );
        }
        let len = range.len() as i64;
        let first = if start > 0 { start - 1 } else { len + start };
        if first < 0 || first >= len {
            return Ok(Some(Vec::new()));
        }
        let end = (first + length).min(len);
        Ok(Some(
            (range.start + first as usize..range.start + end as usize).collect(),
        ))
    })
}

/// Elements `sequence` may make at most (Spark's `MAX_ROUNDED_ARRAY_LENGTH`).
const MAX_SEQUENCE: i128 = i32::MAX as i128 - 15;

/// `sequence(start, stop[, step])` over integers: `step` defaults to 1 or -1; a step that
/// moves away from `stop` is an error, as in Spark.
fn sequence(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if matches!(args[0].data_type(), DataType::Timestamp(_, _)) {
        return super::sequence::timestamp_sequence(args, rows);
    }
    if matches!(args[0].data_type(), DataType::Date32) {
        return date_sequence(udf, args, rows);
    }
    let as_i64 = |a: &ArrayRef| -> Result<Int64Array> {
        Ok(cast(a, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .clone())
    };
    let start = as_i64(&args[0])?;
    let stop = as_i64(&args[1])?;
    let step = args.get(2).map(as_i64).transpose()?;
    let mut values: Vec<i64> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        if start.is_null(row) || stop.is_null(row) || step.as_ref().is_some_and(|s| s.is_null(row))
        {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let (a, b) = (start.value(row) as i128, stop.value(row) as i128);
        let s = match &step {
            Some(s) => s.value(row) as i128,
            None if a <= b => 1,
            None => -1,
        };
        if !((s > 0 && a <= b) || (s < 0 && a >= b) || (s == 0 && a == b)) {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.SEQUENCE_WRONG_INPUT_TYPES] Illegal sequence boundaries: {a} to {b} by {s}"
            );
        }
        let count = if s == 0 { 1 } else { (b - a) / s + 1 };
        if count > MAX_SEQUENCE || values.len() as i128 + count > MAX_SEQUENCE {
            return exec_err!(
                "[COLLECTION_SIZE_LIMIT_EXCEEDED.PARAMETER] sequence would make {count} elements, more than the limit {MAX_SEQUENCE}"
            );
        }
        values.extend((0..count).map(|k| (a + k * s) as i64));
        lengths.push(count as usize);
        valid.push(true);
    }
    let values = cast(
        &(Arc::new(Int64Array::from(values)) as ArrayRef),
        args[0].data_type(),
    )?;
    // A new list: its element field is `item` of the values' type.
    assemble_list(&DataType::Null, values, lengths, valid)
}

/// `sequence(start_date, stop_date[, step])`: dates from `start` by a year-month step
/// (`start` plus k months, clamped to the month's end, as `add_months`) or by a whole number
/// of days (1 day by default, -1 when `stop` comes first).
fn date_sequence(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    use arrow::datatypes::Date32Type;
    let start = args[0].as_primitive::<Date32Type>();
    let stop = args[1].as_primitive::<Date32Type>();
    let step = args.get(2);
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let mut values: Vec<i32> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        if start.is_null(row) || stop.is_null(row) || step.is_some_and(|s| s.is_null(row)) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let (a, b) = (start.value(row), stop.value(row));
        // (months, days) per step.
        let (months, days) = match step {
            None => (0i64, if a <= b { 1 } else { -1 }),
            Some(s) if super::interval::is_year_month(s.data_type()) => (
                s.as_primitive::<arrow::datatypes::IntervalYearMonthType>()
                    .value(row) as i64,
                0,
            ),
            Some(s) => {
                let micros = cast(s, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .value(row);
                if micros % super::interval::MICROS_PER_DAY != 0 {
                    return exec_err!(
                        "[INVALID_PARAMETER_VALUE.SEQUENCE_WRONG_INPUT_TYPES] sequence over dates steps by whole days or months"
                    );
                }
                (0, micros / super::interval::MICROS_PER_DAY)
            }
        };
        let forward = months > 0 || days > 0;
        if (months == 0 && days == 0 && a != b) || (forward && a > b) || (!forward && a < b) {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.SEQUENCE_WRONG_INPUT_TYPES] Illegal sequence boundaries: {a} to {b} by {months} month(s) {days} day(s)"
            );
        }
        let before = values.len();
        let first = epoch + chrono::Duration::days(a as i64);
        for k in 0i64.. {
            let date = if months != 0 {
                let shift = chrono::Months::new((months * k).unsigned_abs() as u32);
                if months > 0 {
                    first.checked_add_months(shift)
                } else {
                    first.checked_sub_months(shift)
                }
            } else {
                first.checked_add_signed(chrono::Duration::days(days * k))
            };
            let Some(date) = date else { break };
            let day = (date - epoch).num_days() as i32;
            if (forward && day > b) || (!forward && day < b) {
                break;
            }
            values.push(day);
            if values.len() as i128 > MAX_SEQUENCE {
                return exec_err!(
                    "[COLLECTION_SIZE_LIMIT_EXCEEDED.PARAMETER] sequence would make more than {MAX_SEQUENCE} elements"
                );
            }
            if months == 0 && days == 0 {
                break;
            }
        }
        lengths.push(values.len() - before);
        valid.push(true);
    }
    let values: ArrayRef = Arc::new(arrow::array::Date32Array::from(values));
    // A new list: its element field is `item` of the values' type.
    assemble_list(&DataType::Null, values, lengths, valid)
}

#[cfg(test)]
mod tests {
    use arrow::array::Int32Array;
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::Field;

    use super::*;

    fn run(name: &str, args: Vec<ArrayRef>) -> Result<Vec<String>> {
        let f = functions().into_iter().find(|f| f.name == name).unwrap();
        let rows = args[0].len();
        let out = (f.kernel)(&f, &args, rows)?;
        let shown = ember_common::display::SparkFormatter::try_new(out.as_ref()).unwrap();
        Ok((0..out.len()).map(|i| shown.value(i)).collect())
    }

    fn ints(values: Vec<i32>) -> ArrayRef {
        Arc::new(Int32Array::from(values))
    }

    fn list(rows: Vec<Option<Vec<Option<i32>>>>) -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(rows))
    }

    #[test]
    fn distinct_sort_and_extremes() {
        let a = || {
            list(vec![
                Some(vec![Some(3), None, Some(1), Some(3), None]),
                None,
            ])
        };
        assert_eq!(
            run("array_distinct", vec![a()]).unwrap(),
            ["[3,null,1]", "NULL"]
        );
        assert_eq!(
            run("array_sort", vec![a()]).unwrap(),
            ["[1,3,3,null,null]", "NULL"]
        );
        assert_eq!(
            run("sort_array", vec![a()]).unwrap(),
            ["[null,null,1,3,3]", "NULL"]
        );
        let desc: ArrayRef = Arc::new(arrow::array::BooleanArray::from(vec![false, false]));
        assert_eq!(
            run("sort_array", vec![a(), desc]).unwrap(),
            ["[3,3,1,null,null]", "NULL"]
        );
        assert_eq!(run("array_max", vec![a()]).unwrap(), ["3", "NULL"]);
        assert_eq!(run("array_min", vec![a()]).unwrap(), ["1", "NULL"]);
        assert_eq!(
            run("array_compact", vec![a()]).unwrap(),
            ["[3,1,3]", "NULL"]
        );
    }

    #[test]
    fn positions_removal_and_set_operations() {
        let a = || list(vec![Some(vec![Some(1), Some(2), Some(3), Some(2)])]);
        let b = || list(vec![Some(vec![Some(1), Some(3), Some(5)])]);
        assert_eq!(
            run("array_position", vec![a(), ints(vec![2])]).unwrap(),
            ["2"]
        );
        assert_eq!(
            run("array_position", vec![a(), ints(vec![9])]).unwrap(),
            ["0"]
        );
        assert_eq!(
            run("array_remove", vec![a(), ints(vec![2])]).unwrap(),
            ["[1,3]"]
        );
        assert_eq!(run("array_union", vec![a(), b()]).unwrap(), ["[1,2,3,5]"]);
        assert_eq!(run("array_intersect", vec![a(), b()]).unwrap(), ["[1,3]"]);
        assert_eq!(run("array_except", vec![a(), b()]).unwrap(), ["[2]"]);
    }

    #[test]
    fn concat_and_reverse() {
        let a = || list(vec![Some(vec![Some(1), Some(2)]), None]);
        let b = || list(vec![Some(vec![Some(3)]), Some(vec![Some(4)])]);
        let f = super::super::string::functions()
            .into_iter()
            .find(|f| f.name == "concat")
            .unwrap();
        let out = (f.kernel)(&f, &[a(), b()], 2).unwrap();
        let shown = ember_common::display::SparkFormatter::try_new(out.as_ref()).unwrap();
        assert_eq!([shown.value(0), shown.value(1)], ["[1,2,3]", "NULL"]);
        assert_eq!(run("reverse", vec![a()]).unwrap(), ["[2,1]", "NULL"]);
        let s: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![Some("Spark SQL")]));
        assert_eq!(run("reverse", vec![s]).unwrap(), ["LQS krapS"]);
    }

    #[test]
    fn slices_sequences_and_flatten() {
        let a = || list(vec![Some(vec![Some(1), Some(2), Some(3), Some(4)])]);
        assert_eq!(
            run("slice", vec![a(), ints(vec![2]), ints(vec![2])]).unwrap(),
            ["[2,3]"]
        );
        assert_eq!(
            run("slice", vec![a(), ints(vec![-2]), ints(vec![5])]).unwrap(),
            ["[3,4]"]
        );
        assert!(run("slice", vec![a(), ints(vec![0]), ints(vec![1])])
            .unwrap_err()
            .to_string()
            .contains("START"));
        assert_eq!(
            run("sequence", vec![ints(vec![1]), ints(vec![5])]).unwrap(),
            ["[1,2,3,4,5]"]
        );
        assert_eq!(
            run("sequence", vec![ints(vec![5]), ints(vec![1])]).unwrap(),
            ["[5,4,3,2,1]"]
        );
        assert_eq!(
            run(
                "sequence",
                vec![ints(vec![1]), ints(vec![9]), ints(vec![4])]
            )
            .unwrap(),
            ["[1,5,9]"]
        );
        assert!(run(
            "sequence",
            vec![ints(vec![1]), ints(vec![5]), ints(vec![-1])]
        )
        .is_err());
        let inner = list(vec![Some(vec![Some(1), Some(2)]), Some(vec![Some(3)])]);
        let nested: ArrayRef = Arc::new(
            ListArray::try_new(
                Arc::new(Field::new("item", inner.data_type().clone(), true)),
                OffsetBuffer::from_lengths([2]),
                inner,
                None,
            )
            .unwrap(),
        );
        assert_eq!(run("flatten", vec![nested]).unwrap(), ["[1,2,3]"]);
    }
}
