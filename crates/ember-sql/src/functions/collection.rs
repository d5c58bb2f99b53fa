//! Arrays and maps with Spark's semantics: the constructors `array` and `map`, `size`,
//! `element_at` (1-based), the subscripts `a[i]` (0-based) and `m[k]`, `array_contains`,
//! `map_keys`, `map_values`.
//!
//! Arrays are Arrow lists whose element field is `item`; maps are Arrow maps of
//! `entries: struct<key, value>`.

use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListArray, MapArray,
    StructArray, UInt32Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{interleave, take};
use arrow::datatypes::{DataType, Field, Fields, Int32Type};
use datafusion_common::{exec_err, plan_err, Result, ScalarValue};

use super::SparkUdf;
use crate::binder::coercion::common_type;
use crate::types::spark_type_name;

/// The collection functions Ember defines itself.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new("array", (0, usize::MAX), coerce_array, array_type, array),
        SparkUdf::new("map", (0, usize::MAX), coerce_map, map_result, map),
        SparkUdf::new(
            "size",
            (1, 1),
            |t| collection_arg(t, "size").map(|t| vec![t]),
            |_| Ok(DataType::Int32),
            size,
        ),
        SparkUdf::new(
            "cardinality",
            (1, 1),
            |t| collection_arg(t, "cardinality").map(|t| vec![t]),
            |_| Ok(DataType::Int32),
            size,
        ),
        SparkUdf::new(
            "element_at",
            (2, 2),
            coerce_lookup,
            element_type,
            element_at,
        ),
        SparkUdf::new(
            "try_element_at",
            (2, 2),
            coerce_lookup,
            element_type,
            try_element_at,
        ),
        SparkUdf::new(
            "array_contains",
            (2, 2),
            coerce_contains,
            |_| Ok(DataType::Boolean),
            array_contains,
        ),
        SparkUdf::new(
            "map_keys",
            (1, 1),
            |t| map_arg(t, "map_keys"),
            |t| map_part_type(t, true),
            map_keys,
        ),
        SparkUdf::new(
            "map_values",
            (1, 1),
            |t| map_arg(t, "map_values"),
            |t| map_part_type(t, false),
            map_values,
        ),
    ]
}

/// `a[i]` (0-based) and `m[k]`: the binder's subscript. Not callable by name.
pub fn get_item() -> SparkUdf {
    SparkUdf::new(
        "spark_get_item",
        (2, 2),
        coerce_lookup,
        element_type,
        get_item_kernel,
    )
}

/// Spark's `array<T>` as Arrow.
pub fn list_of(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}

/// A list array holding `values` split into rows of `lengths` (a row whose `valid` is false
/// is NULL); its element field is `like`'s when `like` is a list type, else `item`.
pub fn assemble_list(
    like: &DataType,
    values: ArrayRef,
    lengths: Vec<usize>,
    valid: Vec<bool>,
) -> Result<ArrayRef> {
    let field = match like {
        DataType::List(f) => Arc::clone(f),
        _ => Arc::new(Field::new("item", values.data_type().clone(), true)),
    };
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        Some(NullBuffer::from(valid)),
    )?))
}

/// A map array of `keys` and `values` split into rows of `lengths` (a row whose `valid` is
/// false is NULL).
pub fn assemble_map(
    keys: ArrayRef,
    values: ArrayRef,
    lengths: Vec<usize>,
    valid: Vec<bool>,
) -> Result<ArrayRef> {
    let DataType::Map(field, _) = map_of(keys.data_type().clone(), values.data_type().clone())
    else {
        unreachable!("map_of makes a map")
    };
    let DataType::Struct(fields) = field.data_type().clone() else {
        unreachable!("map entries are structs")
    };
    let entries = StructArray::try_new(fields, vec![keys, values], None)?;
    Ok(Arc::new(MapArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        entries,
        Some(NullBuffer::from(valid)),
        false,
    )?))
}

/// Spark's `map<K, V>` as Arrow.
pub fn map_of(key: DataType, value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", key, false),
                Field::new("value", value, true),
            ])),
            false,
        )),
        false,
    )
}

fn wider(types: &[DataType], what: &str) -> Result<DataType> {
    if types.is_empty() {
        return Ok(DataType::Null);
    }
    match common_type(types, true) {
        Some(t) => Ok(t),
        None => plan_err!(
            "[DATATYPE_MISMATCH.DATA_DIFF_TYPES] the {what} must all have one type, but they are {}",
            types
                .iter()
                .map(spark_type_name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn coerce_array(types: &[DataType]) -> Result<Vec<DataType>> {
    let element = wider(types, "arguments of array")?;
    Ok(vec![element; types.len()])
}

fn array_type(types: &[DataType]) -> Result<DataType> {
    Ok(list_of(types.first().cloned().unwrap_or(DataType::Null)))
}

/// `array(a, b, ...)`: one list per row of the arguments.
fn array(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let element = args
        .first()
        .map(|a| a.data_type().clone())
        .unwrap_or(DataType::Null);
    let width = args.len();
    let values: ArrayRef = if width == 0 {
        new_null_array(&DataType::Null, 0)
    } else {
        let sources: Vec<&dyn Array> = args.iter().map(|a| a.as_ref()).collect();
        let indices: Vec<(usize, usize)> = (0..rows)
            .flat_map(|row| (0..width).map(move |column| (column, row)))
            .collect();
        interleave(&sources, &indices)?
    };
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(width, rows));
    Ok(Arc::new(ListArray::try_new(
        Arc::new(Field::new("item", element, true)),
        offsets,
        values,
        None,
    )?))
}

fn coerce_map(types: &[DataType]) -> Result<Vec<DataType>> {
    if types.len() % 2 == 1 {
        return plan_err!(
            "[WRONG_NUM_ARGS.WITHOUT_SUGGESTION] map expects a positive even number of arguments (keys and values), got {}",
            types.len()
        );
    }
    let keys: Vec<DataType> = types.iter().step_by(2).cloned().collect();
    let values: Vec<DataType> = types.iter().skip(1).step_by(2).cloned().collect();
    let key = wider(&keys, "keys of map")?;
    let value = wider(&values, "values of map")?;
    if matches!(key, DataType::Map(_, _)) {
        return plan_err!("[DATATYPE_MISMATCH.INVALID_MAP_KEY_TYPE] a map cannot be a map's key");
    }
    Ok(types
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if i % 2 == 0 {
                key.clone()
            } else {
                value.clone()
            }
        })
        .collect())
}

fn map_result(types: &[DataType]) -> Result<DataType> {
    Ok(map_of(
        types.first().cloned().unwrap_or(DataType::Null),
        types.get(1).cloned().unwrap_or(DataType::Null),
    ))
}

/// `map(k1, v1, k2, v2, ...)`: a NULL key or a key given twice is an error, as under Spark's
/// default `spark.sql.mapKeyDedupPolicy=EXCEPTION`.
fn map(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let pairs = args.len() / 2;
    let (key_type, value_type) = match args {
        [k, v, ..] => (k.data_type().clone(), v.data_type().clone()),
        _ => (DataType::Null, DataType::Null),
    };
    let (keys, values): (ArrayRef, ArrayRef) = if pairs == 0 {
        (new_null_array(&key_type, 0), new_null_array(&value_type, 0))
    } else {
        let key_sources: Vec<&dyn Array> = args.iter().step_by(2).map(|a| a.as_ref()).collect();
        let value_sources: Vec<&dyn Array> =
            args.iter().skip(1).step_by(2).map(|a| a.as_ref()).collect();
        let indices: Vec<(usize, usize)> = (0..rows)
            .flat_map(|row| (0..pairs).map(move |pair| (pair, row)))
            .collect();
        (
            interleave(&key_sources, &indices)?,
            interleave(&value_sources, &indices)?,
        )
    };
    if keys.null_count() > 0 {
        return exec_err!("[NULL_MAP_KEY] Cannot use null as map key.");
    }
    for row in 0..rows {
        for a in 0..pairs {
            for b in a + 1..pairs {
                let (i, j) = (row * pairs + a, row * pairs + b);
                if ScalarValue::try_from_array(&keys, i)? == ScalarValue::try_from_array(&keys, j)?
                {
                    return exec_err!(
                        "[DUPLICATED_MAP_KEY] Duplicate map key {} was found, please check the input data.",
                        ScalarValue::try_from_array(&keys, i)?
                    );
                }
            }
        }
    }
    let entries = StructArray::try_new(
        Fields::from(vec![
            Field::new("key", key_type, false),
            Field::new("value", value_type, true),
        ]),
        vec![keys, values],
        None,
    )?;
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(pairs, rows));
    let DataType::Map(field, _) = map_of(
        entries.fields()[0].data_type().clone(),
        entries.fields()[1].data_type().clone(),
    ) else {
        unreachable!("map_of makes a map")
    };
    Ok(Arc::new(MapArray::try_new(
        field, offsets, entries, None, false,
    )?))
}

fn collection_arg(types: &[DataType], name: &str) -> Result<DataType> {
    match &types[0] {
        t @ (DataType::List(_) | DataType::LargeList(_) | DataType::Map(_, _)) => Ok(t.clone()),
        DataType::Null => Ok(list_of(DataType::Null)),
        t => plan_err!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] {name} expects an array or a map, not {}",
            spark_type_name(t)
        ),
    }
}

fn map_arg(types: &[DataType], name: &str) -> Result<Vec<DataType>> {
    match &types[0] {
        t @ DataType::Map(_, _) => Ok(vec![t.clone()]),
        t => plan_err!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] {name} expects a map, not {}",
            spark_type_name(t)
        ),
    }
}

fn map_fields(t: &DataType) -> Option<(DataType, DataType)> {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                Some((fields[0].data_type().clone(), fields[1].data_type().clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

fn map_part_type(types: &[DataType], keys: bool) -> Result<DataType> {
    let Some((k, v)) = map_fields(&types[0]) else {
        return plan_err!("expects a map");
    };
    Ok(list_of(if keys { k } else { v }))
}

/// `size(x)`: elements of an array or entries of a map; NULL for NULL (Spark with ANSI mode
/// on, its default).
fn size(_: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    let a = &args[0];
    let sizes: Int32Array = match a.data_type() {
        DataType::List(_) => {
            let list = a.as_list::<i32>();
            (0..list.len())
                .map(|i| (!list.is_null(i)).then(|| list.value_length(i)))
                .collect()
        }
        DataType::LargeList(_) => {
            let list = a.as_list::<i64>();
            (0..list.len())
                .map(|i| (!list.is_null(i)).then(|| list.value_length(i) as i32))
                .collect()
        }
        DataType::Map(_, _) => {
            let map = a.as_map();
            let offsets = map.value_offsets();
            (0..map.len())
                .map(|i| (!map.is_null(i)).then(|| offsets[i + 1] - offsets[i]))
                .collect()
        }
        other => return exec_err!("size over {other}"),
    };
    Ok(Arc::new(sizes))
}

/// Arrays take an int index; maps a key of the map's key type.
fn coerce_lookup(types: &[DataType]) -> Result<Vec<DataType>> {
    match &types[0] {
        t @ (DataType::List(_) | DataType::LargeList(_)) => {
            if !(types[1].is_integer() || types[1].is_null()) {
                return plan_err!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] an array index must be an integer, not {}",
                    spark_type_name(&types[1])
                );
            }
            Ok(vec![t.clone(), DataType::Int32])
        }
        t @ DataType::Map(_, _) => {
            let Some((key, _)) = map_fields(t) else {
                return plan_err!("a map without keys and values");
            };
            Ok(vec![t.clone(), key])
        }
        DataType::Null => Ok(vec![list_of(DataType::Null), DataType::Int32]),
        t => plan_err!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] expects an array or a map, not {}",
            spark_type_name(t)
        ),
    }
}

fn element_type(types: &[DataType]) -> Result<DataType> {
    match &types[0] {
        DataType::List(f) | DataType::LargeList(f) => Ok(f.data_type().clone()),
        t @ DataType::Map(_, _) => Ok(map_fields(t).map(|(_, v)| v).unwrap_or(DataType::Null)),
        _ => Ok(DataType::Null),
    }
}

/// How an array index counts and what an index out of range gives.
#[derive(Clone, Copy, PartialEq)]
enum Indexing {
    /// `a[i]`: 0-based; out of range is an error under ANSI mode, else NULL.
    ZeroBased,
    /// `element_at(a, i)`: 1-based, negative from the end; 0 is always an error; out of
    /// range is an error under ANSI mode, else NULL.
    OneBased,
    /// `try_element_at`: as `element_at`, but NULL for any bad index.
    OneBasedOrNull,
}

fn get_item_kernel(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    lookup(args, rows, Indexing::ZeroBased, udf.ansi)
}

fn element_at(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    lookup(args, rows, Indexing::OneBased, udf.ansi)
}

fn try_element_at(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    lookup(args, rows, Indexing::OneBasedOrNull, false)
}

fn lookup(args: &[ArrayRef], rows: usize, indexing: Indexing, ansi: bool) -> Result<ArrayRef> {
    let (collection, key) = (&args[0], &args[1]);
    // For each row, the index into the values array, or None for NULL.
    let mut picks: Vec<Option<u32>> = Vec::with_capacity(rows);
    let values: ArrayRef = match collection.data_type() {
        DataType::List(_) => {
            let list = collection.as_list::<i32>();
            let index = key.as_primitive::<Int32Type>();
            for row in 0..rows {
                if list.is_null(row) || index.is_null(row) {
                    picks.push(None);
                    continue;
                }
                let start = list.value_offsets()[row] as i64;
                let len = list.value_length(row) as i64;
                let i = index.value(row) as i64;
                let position = match indexing {
                    Indexing::ZeroBased => i,
                    _ if i == 0 && indexing == Indexing::OneBased => {
                        return exec_err!(
                            "[INVALID_INDEX_OF_ZERO] The index 0 is invalid. An index shall be either < 0 or > 0 (the first element has index 1)."
                        )
                    }
                    _ if i > 0 => i - 1,
                    _ => len + i,
                };
                if position < 0 || position >= len {
                    if ansi && indexing != Indexing::OneBasedOrNull {
                        let function = if indexing == Indexing::ZeroBased {
                            "INVALID_ARRAY_INDEX"
                        } else {
                            "INVALID_ARRAY_INDEX_IN_ELEMENT_AT"
                        };
                        return exec_err!(
                            "[{function}] The index {i} is out of bounds. The array has {len} elements. Use `try_element_at` to tolerate accessing element at invalid index and return NULL instead. If necessary set ember.sql.ansi.enabled to \"false\" to bypass this error."
                        );
                    }
                    picks.push(None);
                } else {
                    picks.push(Some((start + position) as u32));
                }
            }
            Arc::clone(list.values())
        }
        DataType::Map(_, _) => {
            let map = collection.as_map();
            let offsets = map.value_offsets();
            for row in 0..rows {
                if map.is_null(row) || key.is_null(row) {
                    picks.push(None);
                    continue;
                }
                let wanted = ScalarValue::try_from_array(key, row)?;
                let mut found = None;
                for entry in offsets[row] as usize..offsets[row + 1] as usize {
                    if ScalarValue::try_from_array(map.keys(), entry)? == wanted {
                        found = Some(entry as u32);
                        break;
                    }
                }
                picks.push(found);
            }
            Arc::clone(map.values())
        }
        DataType::Null => return Ok(new_null_array(&DataType::Null, rows)),
        other => return exec_err!("element lookup in {other}"),
    };
    Ok(take(values.as_ref(), &UInt32Array::from(picks), None)?)
}

fn coerce_contains(types: &[DataType]) -> Result<Vec<DataType>> {
    match &types[0] {
        t @ DataType::List(f) => {
            let Some(common) = common_type(&[f.data_type().clone(), types[1].clone()], true) else {
                return plan_err!(
                    "[DATATYPE_MISMATCH.ARRAY_FUNCTION_DIFF_TYPES] array_contains needs a value of the array's element type {}, not {}",
                    spark_type_name(f.data_type()),
                    spark_type_name(&types[1])
                );
            };
            if &common == f.data_type() {
                Ok(vec![t.clone(), common])
            } else {
                Ok(vec![list_of(common.clone()), common])
            }
        }
        DataType::Null => Ok(vec![list_of(types[1].clone()), types[1].clone()]),
        t => plan_err!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] array_contains expects an array, not {}",
            spark_type_name(t)
        ),
    }
}

/// `array_contains(a, v)`: true when an element equals `v`; NULL when not found but the
/// array holds a NULL, or when `a` or `v` is NULL (Spark's three-valued answer).
fn array_contains(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let list = args[0].as_list::<i32>();
    let value = &args[1];
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if list.is_null(row) || value.is_null(row) {
            out.push(None);
            continue;
        }
        let wanted = ScalarValue::try_from_array(value, row)?;
        let elements = list.value(row);
        let mut answer = Some(false);
        for i in 0..elements.len() {
            if elements.is_null(i) {
                answer = None;
            } else if ScalarValue::try_from_array(&elements, i)? == wanted {
                answer = Some(true);
                break;
            }
        }
        out.push(answer);
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

fn map_part(args: &[ArrayRef], keys: bool) -> Result<ArrayRef> {
    let map = args[0].as_map();
    let values = if keys { map.keys() } else { map.values() };
    Ok(Arc::new(ListArray::try_new(
        Arc::new(Field::new("item", values.data_type().clone(), true)),
        map.offsets().clone(),
        Arc::clone(values),
        map.nulls().cloned().map(|n: NullBuffer| n),
    )?))
}

fn map_keys(_: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    map_part(args, true)
}

fn map_values(_: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    map_part(args, false)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;

    fn udf(name: &str) -> SparkUdf {
        functions()
            .into_iter()
            .chain([get_item()])
            .find(|f| f.name == name)
            .unwrap()
    }

    fn run(name: &str, args: Vec<ArrayRef>, rows: usize) -> Result<ArrayRef> {
        let f = udf(name);
        (f.kernel)(&f, &args, rows)
    }

    fn shown(array: &ArrayRef) -> Vec<String> {
        let f = ember_common::display::SparkFormatter::try_new(array.as_ref()).unwrap();
        (0..array.len()).map(|i| f.value(i)).collect()
    }

    #[test]
    fn arrays_and_maps_are_built_row_by_row() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![2, 3]));
        let out = run("array", vec![a, Arc::clone(&b)], 2).unwrap();
        assert_eq!(shown(&out), ["[1,2]", "[null,3]"]);
        let k: ArrayRef = Arc::new(Int64Array::from(vec![1, 1]));
        let v: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let k2: ArrayRef = Arc::new(Int64Array::from(vec![2, 5]));
        let out = run("map", vec![k, Arc::clone(&v), k2, v], 2).unwrap();
        assert_eq!(shown(&out), ["{1:\"a\",2:\"a\"}", "{1:\"b\",5:\"b\"}"]);
        let k: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let v: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        let err = run("map", vec![Arc::clone(&k), Arc::clone(&v), k, v], 1).unwrap_err();
        assert!(err.to_string().contains("DUPLICATED_MAP_KEY"), "{err}");
    }

    #[test]
    fn lookups_count_as_spark_does() {
        let xs = run(
            "array",
            vec![
                Arc::new(Int64Array::from(vec![10])),
                Arc::new(Int64Array::from(vec![20])),
            ],
            1,
        )
        .unwrap();
        let index = |i: i32| -> ArrayRef { Arc::new(Int32Array::from(vec![i])) };
        let at = |name: &str, i: i32| run(name, vec![Arc::clone(&xs), index(i)], 1);
        assert_eq!(shown(&at("spark_get_item", 0).unwrap()), ["10"]);
        assert_eq!(shown(&at("element_at", 1).unwrap()), ["10"]);
        assert_eq!(shown(&at("element_at", -1).unwrap()), ["20"]);
        assert!(at("element_at", 0)
            .unwrap_err()
            .to_string()
            .contains("INVALID_INDEX_OF_ZERO"));
        assert!(at("element_at", 3)
            .unwrap_err()
            .to_string()
            .contains("INVALID_ARRAY_INDEX_IN_ELEMENT_AT"));
        assert!(at("spark_get_item", 2)
            .unwrap_err()
            .to_string()
            .contains("INVALID_ARRAY_INDEX"));
        assert_eq!(shown(&at("try_element_at", 3).unwrap()), ["NULL"]);
        assert_eq!(shown(&run("size", vec![xs], 1).unwrap()), ["2"]);
    }
}
