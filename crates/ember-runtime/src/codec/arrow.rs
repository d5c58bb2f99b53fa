//! Arrow values inside protobuf: schemas, data types, scalar values and record batches travel
//! as Arrow IPC bytes, which keeps every type exact without a message per type.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use datafusion_common::ScalarValue;
use ember_common::{EmberError, Result};

/// Record batches (all of `schema`) as one Arrow IPC stream.
pub fn encode_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut writer = StreamWriter::try_new(Vec::new(), schema)?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(writer.into_inner()?)
}

/// The schema and batches of an Arrow IPC stream.
pub fn decode_batches(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = StreamReader::try_new(bytes, None)?;
    let schema = reader.schema();
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// A schema (an IPC stream without batches).
pub fn encode_schema(schema: &SchemaRef) -> Result<Vec<u8>> {
    encode_batches(schema, &[])
}

/// The schema of [`encode_schema`]'s bytes.
pub fn decode_schema(bytes: &[u8]) -> Result<SchemaRef> {
    Ok(decode_batches(bytes)?.0)
}

/// A data type (as the one field of a schema).
pub fn encode_data_type(data_type: &DataType) -> Result<Vec<u8>> {
    encode_schema(&Arc::new(Schema::new(vec![Field::new(
        "t",
        data_type.clone(),
        true,
    )])))
}

/// The data type of [`encode_data_type`]'s bytes.
pub fn decode_data_type(bytes: &[u8]) -> Result<DataType> {
    let schema = decode_schema(bytes)?;
    schema
        .fields()
        .first()
        .map(|f| f.data_type().clone())
        .ok_or_else(|| EmberError::internal("an encoded data type without its field"))
}

/// A scalar value (as a one-row, one-column batch), NULLs and nested types included.
pub fn encode_scalar(value: &ScalarValue) -> Result<Vec<u8>> {
    let array: ArrayRef = value.to_array()?;
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        array.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![array])?;
    encode_batches(&schema, &[batch])
}

/// The scalar value of [`encode_scalar`]'s bytes.
pub fn decode_scalar(bytes: &[u8]) -> Result<ScalarValue> {
    let (_, batches) = decode_batches(bytes)?;
    let batch = batches
        .first()
        .ok_or_else(|| EmberError::internal("an encoded scalar without its batch"))?;
    Ok(ScalarValue::try_from_array(batch.column(0), 0)?)
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::TimeUnit;

    use super::*;

    #[test]
    fn values_types_and_schemas_round_trip() {
        for value in [
            ScalarValue::Int32(Some(7)),
            ScalarValue::Utf8(None),
            ScalarValue::Decimal128(Some(12345), 15, 2),
            ScalarValue::Date32(Some(19000)),
            ScalarValue::TimestampMicrosecond(Some(1), Some("UTC".into())),
        ] {
            assert_eq!(
                decode_scalar(&encode_scalar(&value).unwrap()).unwrap(),
                value
            );
        }
        let t = DataType::Timestamp(TimeUnit::Microsecond, None);
        assert_eq!(decode_data_type(&encode_data_type(&t).unwrap()).unwrap(), t);
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, false)]));
        assert_eq!(
            decode_schema(&encode_schema(&schema).unwrap()).unwrap(),
            schema
        );
    }
}
