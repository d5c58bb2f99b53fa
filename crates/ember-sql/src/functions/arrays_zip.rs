//! `arrays_zip(a, b, ...)`: an array of structs whose n-th holds the n-th element of each
//! array (NULL past an array's end), as long as the longest; NULL when an array is NULL. The
//! struct's fields are named after the arguments (a column's name, else its position), which
//! the binder passes as a last argument.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, StructArray, UInt32Array};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion_common::{exec_err, Result, ScalarValue};

use super::SparkUdf;

/// The name of the internal function; its last argument is the field names joined by
/// [`SEPARATOR`].
pub const NAME: &str = "spark_arrays_zip";
pub const SEPARATOR: char = '\u{1f}';

pub fn internal() -> Vec<SparkUdf> {
    vec![SparkUdf::new(
        NAME,
        (2, usize::MAX),
        |t| Ok(t.to_vec()),
        |t| {
            let names: Vec<String> = (0..t.len() - 1).map(|i| i.to_string()).collect();
            zipped_type(&t[..t.len() - 1], &names)
        },
        zip,
    )]
}

/// `array<struct<names...>>` of the arrays' element types.
pub fn zipped_type(lists: &[DataType], names: &[String]) -> Result<DataType> {
    let fields = lists
        .iter()
        .zip(names)
        .map(|(t, name)| match t {
            DataType::List(f) => Ok(Field::new(name, f.data_type().clone(), true)),
            DataType::Null => Ok(Field::new(name, DataType::Null, true)),
            other => exec_err!("arrays_zip takes arrays, not {other}"),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(super::collection::list_of(DataType::Struct(Fields::from(
        fields,
    ))))
}

/// The field names of the last argument.
pub fn names_of(value: Option<&ScalarValue>) -> Option<Vec<String>> {
    match value {
        Some(ScalarValue::Utf8(Some(names))) => {
            Some(names.split(SEPARATOR).map(str::to_string).collect())
        }
        _ => None,
    }
}

fn zip(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names_array = args[args.len() - 1].as_string::<i32>();
    let names: Vec<String> = names_array
        .value(0)
        .split(SEPARATOR)
        .map(str::to_string)
        .collect();
    let lists: Vec<&ListArray> = args[..args.len() - 1]
        .iter()
        .map(|a| a.as_list::<i32>())
        .collect();
    let mut offsets = vec![0i32];
    let mut valid = Vec::with_capacity(rows);
    let mut indices: Vec<Vec<Option<u32>>> = vec![Vec::new(); lists.len()];
    for row in 0..rows {
        let ok = lists.iter().all(|l| l.is_valid(row));
        valid.push(ok);
        let longest = if ok {
            lists.iter().map(|l| l.value_length(row)).max().unwrap_or(0)
        } else {
            0
        };
        for (j, l) in lists.iter().enumerate() {
            let start = l.value_offsets()[row];
            let len = l.value_length(row);
            for i in 0..longest {
                indices[j].push((i < len).then(|| (start + i) as u32));
            }
        }
        offsets.push(offsets[offsets.len() - 1] + longest);
    }
    let children = lists
        .iter()
        .zip(&indices)
        .map(|(l, idx)| {
            Ok(take(
                l.values().as_ref(),
                &UInt32Array::from(idx.clone()),
                None,
            )?)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let types: Vec<DataType> = args[..args.len() - 1]
        .iter()
        .map(|a| a.data_type().clone())
        .collect();
    let DataType::List(element) = zipped_type(&types, &names)? else {
        return exec_err!("arrays_zip makes a list");
    };
    let DataType::Struct(fields) = element.data_type() else {
        return exec_err!("arrays_zip makes structs");
    };
    let structs = StructArray::try_new(fields.clone(), children, None)?;
    Ok(Arc::new(ListArray::try_new(
        element,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(structs),
        Some(NullBuffer::from(valid)),
    )?))
}
