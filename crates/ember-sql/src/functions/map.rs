//! Spark's map functions over whole maps: `map_from_arrays`, `map_entries`, `map_concat`
//! (the constructor `map`, lookups and `map_keys`/`map_values` are in `collection.rs`).
//! A NULL or repeated key is an error, as under Spark's default
//! `spark.sql.mapKeyDedupPolicy=EXCEPTION`.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, MapArray, StructArray, UInt32Array};

use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Fields};
use arrow::row::Rows;
use datafusion_common::{exec_err, plan_err, Result};

use super::array::{element, one_array, rows_of};
use super::collection::{assemble_map, list_of};
use super::SparkUdf;
use crate::binder::coercion::common_type;
use crate::types::spark_type_name;

/// The map functions of this file.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new(
            "map_from_arrays",
            (2, 2),
            |t| {
                let keys = one_array(&t[..1])?.remove(0);
                let values = one_array(&t[1..2])?.remove(0);
                Ok(vec![keys, values])
            },
            |t| {
                Ok(super::collection::map_of(
                    element(&t[..1])?,
                    element(&t[1..2])?,
                ))
            },
            map_from_arrays,
        ),
        SparkUdf::new(
            "map_concat",
            (1, usize::MAX),
            coerce_map_concat,
            |t| Ok(t[0].clone()),
            map_concat,
        ),
        SparkUdf::new(
            "map_entries",
            (1, 1),
            |t| match &t[0] {
                m @ DataType::Map(_, _) => Ok(vec![m.clone()]),
                other => plan_err!(
                    "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] map_entries expects a map, not {}",
                    spark_type_name(other)
                ),
            },
            |t| match &t[0] {
                DataType::Map(entries, _) => match entries.data_type() {
                    DataType::Struct(fields) => Ok(list_of(DataType::Struct(nullable(fields)))),
                    _ => plan_err!("a map's entries are structs"),
                },
                _ => plan_err!("map_entries expects a map"),
            },
            map_entries,
        ),
    ]
}

/// `map_from_arrays(keys, values)`: arrays of one length; a NULL or repeated key is an error.
fn map_from_arrays(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let (keys, values) = (args[0].as_list::<i32>(), args[1].as_list::<i32>());
    let mut key_picks: Vec<u32> = Vec::new();
    let mut value_picks: Vec<u32> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    let key_rows = rows_of(keys.values(), false, true)?;
    for row in 0..rows {
        if keys.is_null(row) || values.is_null(row) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let (k, v) = (keys.value_offsets(), values.value_offsets());
        let (k_range, v_range) = (
            k[row] as usize..k[row + 1] as usize,
            v[row] as usize..v[row + 1] as usize,
        );
        if k_range.len() != v_range.len() {
            return exec_err!(
                "[DATATYPE_MISMATCH.MAP_FROM_ARRAYS_LENGTH_MISMATCH] the key array and the value array of map_from_arrays must have the same length, got {} and {}",
                k_range.len(),
                v_range.len()
            );
        }
        let mut seen = HashSet::new();
        for i in k_range.clone() {
            if keys.values().is_null(i) {
                return exec_err!("[NULL_MAP_KEY] Cannot use null as map key.");
            }
            if !seen.insert(key_rows.row(i)) {
                return exec_err!(
                    "[DUPLICATED_MAP_KEY] Duplicate map key {} was found, please check the input data.",
                    datafusion_common::ScalarValue::try_from_array(keys.values(), i)?
                );
            }
        }
        lengths.push(k_range.len());
        key_picks.extend(k_range.map(|i| i as u32));
        value_picks.extend(v_range.map(|i| i as u32));
        valid.push(true);
    }
    let key_values = take(keys.values().as_ref(), &UInt32Array::from(key_picks), None)?;
    let value_values = take(
        values.values().as_ref(),
        &UInt32Array::from(value_picks),
        None,
    )?;
    assemble_map(key_values, value_values, lengths, valid)
}

/// `fields`, each nullable (Spark's `struct<key, value>` of `map_entries`).
fn nullable(fields: &Fields) -> Fields {
    fields
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect::<Vec<_>>()
        .into()
}

/// `map_concat`'s arguments: maps, their key and value types widened to common ones.
fn coerce_map_concat(types: &[DataType]) -> Result<Vec<DataType>> {
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for t in types {
        match t {
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => {
                    keys.push(kv[0].data_type().clone());
                    values.push(kv[1].data_type().clone());
                }
                _ => return plan_err!("a map's entries are key-value structs"),
            },
            DataType::Null => {}
            other => {
                return plan_err!(
                    "[DATATYPE_MISMATCH.MAP_CONCAT_DIFF_TYPES] map_concat takes maps, not {}",
                    spark_type_name(other)
                )
            }
        }
    }
    let key = common_type(&keys, true);
    let value = common_type(&values, true);
    match (key, value) {
        (Some(k), Some(v)) => Ok(vec![super::collection::map_of(k, v); types.len()]),
        _ => plan_err!(
            "[DATATYPE_MISMATCH.MAP_CONCAT_DIFF_TYPES] the maps of map_concat must have one key type and one value type"
        ),
    }
}

/// `map_concat(m1, m2, ...)`: every entry of every map; NULL when a map is NULL; a key in
/// two maps is an error (Spark's default `spark.sql.mapKeyDedupPolicy=EXCEPTION`).
fn map_concat(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let maps: Vec<&MapArray> = args.iter().map(|a| a.as_map()).collect();
    let keys: Vec<&dyn Array> = maps.iter().map(|m| m.keys().as_ref()).collect();
    let values: Vec<&dyn Array> = maps.iter().map(|m| m.values().as_ref()).collect();
    let key_rows: Vec<Rows> = maps
        .iter()
        .map(|m| rows_of(m.keys(), false, true))
        .collect::<Result<_>>()?;
    let mut picks: Vec<(usize, usize)> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let mut valid = Vec::with_capacity(rows);
    for row in 0..rows {
        if maps.iter().any(|m| m.is_null(row)) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let before = picks.len();
        let mut seen = HashSet::new();
        for (which, map) in maps.iter().enumerate() {
            let offsets = map.value_offsets();
            for entry in offsets[row] as usize..offsets[row + 1] as usize {
                if !seen.insert(key_rows[which].row(entry)) {
                    return exec_err!(
                        "[DUPLICATED_MAP_KEY] Duplicate map key {} was found, please check the input data.",
                        datafusion_common::ScalarValue::try_from_array(map.keys(), entry)?
                    );
                }
                picks.push((which, entry));
            }
        }
        lengths.push(picks.len() - before);
        valid.push(true);
    }
    let key_values = arrow::compute::interleave(&keys, &picks)?;
    let value_values = arrow::compute::interleave(&values, &picks)?;
    // The arguments were coerced to one map type: its key and value types are these.
    assemble_map(key_values, value_values, lengths, valid)
}

/// `map_entries(m)`: the entries as an array of `struct<key, value>`.
fn map_entries(_: &SparkUdf, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    let map = args[0].as_map();
    let entries: StructArray = map.entries().clone();
    let entries =
        StructArray::try_new(nullable(entries.fields()), entries.columns().to_vec(), None)?;
    let values: ArrayRef = Arc::new(entries);
    Ok(Arc::new(ListArray::try_new(
        Arc::new(Field::new("item", values.data_type().clone(), true)),
        map.offsets().clone(),
        values,
        map.nulls().cloned(),
    )?))
}
