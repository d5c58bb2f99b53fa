//! Functions over bytes with Spark's semantics: `hex`, `unhex`, `base64`, `unbase64`,
//! `encode`, `decode`, and the digests `md5`, `sha1`, `sha2`, `crc32`.
//!
//! A string argument where bytes are expected is its UTF-8 bytes (Spark casts string to
//! binary implicitly); digests answer lowercase hex strings, `hex` uppercase.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, Int64Array, StringBuilder,
};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use base64::Engine;
use datafusion_common::{exec_err, plan_err, Result};
use sha2::Digest;

use super::{is_string, SparkUdf};

/// The byte functions Ember defines itself.
pub fn functions() -> Vec<SparkUdf> {
    vec![
        SparkUdf::new("hex", (1, 1), coerce_hex, |_| Ok(DataType::Utf8), hex),
        SparkUdf::new(
            "unhex",
            (1, 1),
            |t| strings(t, 1),
            |_| Ok(DataType::Binary),
            unhex,
        ),
        SparkUdf::new(
            "base64",
            (1, 1),
            |t| bytes(t, 1),
            |_| Ok(DataType::Utf8),
            base64_encode,
        ),
        SparkUdf::new(
            "unbase64",
            (1, 1),
            |t| strings(t, 1),
            |_| Ok(DataType::Binary),
            base64_decode,
        ),
        SparkUdf::new(
            "encode",
            (2, 2),
            |t| strings(t, 2),
            |_| Ok(DataType::Binary),
            encode,
        ),
        SparkUdf::new(
            "decode",
            (2, 2),
            |t| {
                let mut out = bytes(&t[..1], 1)?;
                out.extend(strings(&t[1..], 1)?);
                Ok(out)
            },
            |_| Ok(DataType::Utf8),
            decode,
        ),
        SparkUdf::new(
            "to_binary",
            (1, 2),
            |t| strings(t, 2),
            |_| Ok(DataType::Binary),
            to_binary,
        ),
        SparkUdf::new(
            "try_to_binary",
            (1, 2),
            |t| strings(t, 2),
            |_| Ok(DataType::Binary),
            try_to_binary,
        ),
        SparkUdf::new("md5", (1, 1), |t| bytes(t, 1), |_| Ok(DataType::Utf8), md5),
        SparkUdf::new(
            "sha1",
            (1, 1),
            |t| bytes(t, 1),
            |_| Ok(DataType::Utf8),
            sha1,
        ),
        SparkUdf::new("sha", (1, 1), |t| bytes(t, 1), |_| Ok(DataType::Utf8), sha1),
        SparkUdf::new(
            "sha2",
            (2, 2),
            |t| {
                let mut out = bytes(&t[..1], 1)?;
                out.push(integer(&t[1])?);
                Ok(out)
            },
            |_| Ok(DataType::Utf8),
            sha2,
        ),
        SparkUdf::new(
            "crc32",
            (1, 1),
            |t| bytes(t, 1),
            |_| Ok(DataType::Int64),
            crc32,
        ),
    ]
}

/// `CAST(integral AS BINARY)` outside ANSI mode: the value's big-endian bytes at its own
/// width (`CAST(1 AS BINARY)` is `00 00 00 01`), as Spark's legacy cast. Not callable by name.
pub fn integral_to_binary() -> SparkUdf {
    SparkUdf::new(
        "spark_integral_to_binary",
        (1, 1),
        |t| Ok(t.to_vec()),
        |_| Ok(DataType::Binary),
        integral_bytes,
    )
}

fn integral_bytes(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    use arrow::datatypes::{Int16Type, Int8Type};
    let arg = &args[0];
    let mut out = BinaryBuilder::with_capacity(rows, rows * 8);
    macro_rules! each {
        ($t:ty) => {
            for v in arg.as_primitive::<$t>().iter() {
                match v {
                    Some(v) => out.append_value(v.to_be_bytes()),
                    None => out.append_null(),
                }
            }
        };
    }
    match arg.data_type() {
        DataType::Int8 => each!(Int8Type),
        DataType::Int16 => each!(Int16Type),
        DataType::Int32 => each!(Int32Type),
        DataType::Int64 => each!(Int64Type),
        DataType::Null => (0..rows).for_each(|_| out.append_null()),
        other => return exec_err!("cannot cast {other} to BINARY"),
    }
    Ok(Arc::new(out.finish()))
}

/// Arguments that must be bytes: binary, or a string (its UTF-8 bytes), or NULL.
fn bytes(types: &[DataType], count: usize) -> Result<Vec<DataType>> {
    types
        .iter()
        .take(count)
        .map(|t| match t {
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null => {
                Ok(DataType::Binary)
            }
            t if is_string(t) => Ok(DataType::Binary),
            t => plan_err!(
                "expects binary or string, not {}",
                crate::types::spark_type_name(t)
            ),
        })
        .collect()
}

/// Arguments that must be strings: any atomic value is cast to its string, as Spark does.
fn strings(types: &[DataType], count: usize) -> Result<Vec<DataType>> {
    types
        .iter()
        .take(count)
        .map(|t| match t {
            DataType::List(_) | DataType::Struct(_) | DataType::Map(_, _) => {
                plan_err!("expects a string, not {}", crate::types::spark_type_name(t))
            }
            _ => Ok(DataType::Utf8),
        })
        .collect()
}

fn integer(t: &DataType) -> Result<DataType> {
    if t.is_integer() || t.is_null() || is_string(t) {
        Ok(DataType::Int32)
    } else {
        plan_err!(
            "expects an integer, not {}",
            crate::types::spark_type_name(t)
        )
    }
}

/// `hex` takes a bigint, binary or string; other numbers become bigints first (Spark's
/// implicit cast to the first type of `(bigint, binary, string)` that fits).
fn coerce_hex(types: &[DataType]) -> Result<Vec<DataType>> {
    Ok(vec![match &types[0] {
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        t if is_string(t) => DataType::Utf8,
        t if t.is_numeric() || t.is_null() => DataType::Int64,
        t => {
            return plan_err!(
                "hex expects a bigint, binary or string, not {}",
                crate::types::spark_type_name(t)
            )
        }
    }])
}

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";
const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, bytes: &[u8], digits: &[u8; 16]) {
    for b in bytes {
        out.push(digits[(b >> 4) as usize] as char);
        out.push(digits[(b & 0xf) as usize] as char);
    }
}

/// `hex(x)`: uppercase hex digits of a binary's or a string's bytes, or of a bigint as an
/// unsigned 64-bit number without leading zeros (`hex(-1)` is sixteen F's).
fn hex(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let arg = &args[0];
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    let mut text = String::new();
    match arg.data_type() {
        DataType::Int64 => {
            let values = arg.as_primitive::<Int64Type>();
            for v in values.iter() {
                match v {
                    Some(v) => out.append_value(format!("{:X}", v as u64)),
                    None => out.append_null(),
                }
            }
        }
        DataType::Binary => {
            for v in arg.as_binary::<i32>().iter() {
                match v {
                    Some(v) => {
                        text.clear();
                        push_hex(&mut text, v, UPPER_HEX);
                        out.append_value(&text);
                    }
                    None => out.append_null(),
                }
            }
        }
        DataType::Utf8 => {
            for v in arg.as_string::<i32>().iter() {
                match v {
                    Some(v) => {
                        text.clear();
                        push_hex(&mut text, v.as_bytes(), UPPER_HEX);
                        out.append_value(&text);
                    }
                    None => out.append_null(),
                }
            }
        }
        other => return exec_err!("hex over {other}"),
    }
    Ok(Arc::new(out.finish()))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The bytes hex digits stand for (an odd count has an implied leading 0, as Spark's
/// `Hex.unhex`); `None` when a character is not a hex digit.
pub fn unhex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let (first, rest) = if digits.len() % 2 == 1 {
        (Some(digits[0]), &digits[1..])
    } else {
        (None, digits)
    };
    if let Some(d) = first {
        out.push(hex_digit(d)?);
    }
    for pair in rest.chunks_exact(2) {
        out.push(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?);
    }
    Some(out)
}

/// `unhex(s)`: the bytes of hex digits; NULL when `s` has a character that is not one.
fn unhex(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let mut out = BinaryBuilder::with_capacity(rows, rows * 4);
    for v in args[0].as_string::<i32>().iter() {
        match v.and_then(unhex_bytes) {
            Some(bytes) => out.append_value(bytes),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Characters per line of `base64`'s output (Java's MIME encoder, which Spark uses while
/// `spark.sql.chunkBase64String.enabled` is true, its default).
const BASE64_LINE: usize = 76;

/// `base64(b)`: standard base64 with padding, in lines of 76 characters joined by CRLF.
fn base64_encode(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    let mut text = String::new();
    let mut lines = String::new();
    for v in args[0].as_binary::<i32>().iter() {
        match v {
            Some(v) => {
                text.clear();
                base64::engine::general_purpose::STANDARD.encode_string(v, &mut text);
                if text.len() <= BASE64_LINE {
                    out.append_value(&text);
                    continue;
                }
                lines.clear();
                // Base64 text is ASCII, so byte chunks are character chunks.
                for (i, line) in text.as_bytes().chunks(BASE64_LINE).enumerate() {
                    if i > 0 {
                        lines.push_str("\r\n");
                    }
                    lines.extend(line.iter().map(|&b| b as char));
                }
                out.append_value(&lines);
            }
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `unbase64(s)`: the bytes base64 text stands for. Like Java's MIME decoder, which Spark
/// uses, characters outside the base64 alphabet (line breaks, spaces) are skipped and the
/// padding may be left out; text that still does not decode is an error naming it.
fn base64_decode(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut out = BinaryBuilder::with_capacity(rows, rows * 4);
    let mut clean = String::new();
    for v in args[0].as_string::<i32>().iter() {
        let Some(v) = v else {
            out.append_null();
            continue;
        };
        clean.clear();
        clean.extend(
            v.chars()
                .take_while(|c| *c != '=')
                .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/'),
        );
        match engine.decode(&clean) {
            Ok(bytes) => out.append_value(bytes),
            Err(_) if !udf.ansi => out.append_null(),
            Err(e) => {
                return exec_err!(
                    "[CONVERSION_INVALID_INPUT] The value '{v}' of the type \"STRING\" cannot be converted to \"BINARY\" because it is malformed base64 ({e}). Correct the value, or use try_to_binary('{v}', 'base64') to get NULL instead"
                )
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Whether `text` is base64 as `to_binary` accepts it (Spark's `UnBase64.isValidBase64`):
/// groups of four symbols, spaces anywhere, the last group of at least two symbols, at most
/// two `=` at the very end (nothing after them, not even a space) and, with padding, a whole
/// number of groups.
fn is_valid_base64(text: &str) -> bool {
    if let Some(first_pad) = text.find('=') {
        if !text[first_pad..].bytes().all(|b| b == b'=') {
            return false;
        }
    }
    let symbols: Vec<u8> = text.bytes().filter(|b| *b != b' ').collect();
    let padding = symbols.iter().rev().take_while(|b| **b == b'=').count();
    let body = &symbols[..symbols.len() - padding];
    if padding > 2
        || !body
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
    {
        return false;
    }
    match (body.len() % 4, padding) {
        (1, _) => false,
        (0, 0) => true,
        (_, 0) => true,
        (rest, pad) => rest + pad == 4,
    }
}

/// `to_binary(s[, fmt])` with `fmt` hex (the default), utf-8, utf8 or base64; malformed
/// input fails naming it, or is NULL for `try_to_binary` (`lenient`).
fn convert_to_binary(args: &[ArrayRef], rows: usize, lenient: bool) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let formats = args.get(1).map(|f| f.as_string::<i32>());
    let mut out = BinaryBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        let format = match formats {
            Some(f) if f.is_null(i) => {
                out.append_null();
                continue;
            }
            Some(f) => f.value(i).to_ascii_lowercase(),
            None => "hex".to_string(),
        };
        if text.is_null(i) {
            out.append_null();
            continue;
        }
        let v = text.value(i);
        let converted = match format.as_str() {
            "hex" => unhex_bytes(v),
            "utf-8" | "utf8" => Some(v.as_bytes().to_vec()),
            "base64" => is_valid_base64(v)
                .then(|| {
                    let clean: String = v.chars().filter(|c| *c != ' ' && *c != '=').collect();
                    base64::engine::GeneralPurpose::new(
                        &base64::alphabet::STANDARD,
                        base64::engine::GeneralPurposeConfig::new()
                            .with_decode_padding_mode(
                                base64::engine::DecodePaddingMode::RequireNone,
                            )
                            .with_decode_allow_trailing_bits(true),
                    )
                    .decode(clean)
                    .ok()
                })
                .flatten(),
            other => {
                return exec_err!(
                    "[DATATYPE_MISMATCH.INVALID_ARG_VALUE] The format of to_binary must be one of 'hex', 'utf-8', 'utf8' or 'base64', got '{other}'"
                )
            }
        };
        match converted {
            Some(bytes) => out.append_value(bytes),
            None if lenient => out.append_null(),
            None => {
                return exec_err!(
                    "[CONVERSION_INVALID_INPUT] The value '{v}' ({}) cannot be converted to BINARY because it is malformed. Correct the value as per the syntax, or change its format. Use 'try_to_binary' to tolerate malformed input and return NULL instead",
                    format.to_uppercase()
                )
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

fn to_binary(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    convert_to_binary(args, rows, false)
}

fn try_to_binary(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    convert_to_binary(args, rows, true)
}

/// The character sets `encode` and `decode` know (Spark 4's list).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Charset {
    UsAscii,
    Iso8859_1,
    Utf8,
    Utf16Be,
    Utf16Le,
    /// UTF-16 with a byte-order mark: big-endian with a BOM when encoding, as Java does.
    Utf16,
    Utf32,
}

fn charset(name: &str) -> Result<Charset> {
    Ok(match name.trim().to_ascii_uppercase().as_str() {
        "US-ASCII" => Charset::UsAscii,
        "ISO-8859-1" => Charset::Iso8859_1,
        "UTF-8" => Charset::Utf8,
        "UTF-16BE" => Charset::Utf16Be,
        "UTF-16LE" => Charset::Utf16Le,
        "UTF-16" => Charset::Utf16,
        "UTF-32" => Charset::Utf32,
        _ => {
            return exec_err!(
                "[INVALID_PARAMETER_VALUE.CHARSET] The value of parameter `charset` is invalid: '{name}'; expects one of the charsets 'us-ascii', 'iso-8859-1', 'utf-8', 'utf-16be', 'utf-16le', 'utf-16', 'utf-32'"
            )
        }
    })
}

fn malformed(function: &str, charset: &str) -> datafusion_common::DataFusionError {
    datafusion_common::DataFusionError::Execution(format!(
        "[MALFORMED_CHARACTER_CODING] Invalid value found when performing `{function}` with `{charset}`"
    ))
}

/// `encode(s, charset)`: the bytes of `s` in `charset`; a character the charset cannot hold
/// is an error (Spark 4's `MALFORMED_CHARACTER_CODING`). Empty text is empty bytes whatever
/// the charset, as in Spark.
fn encode(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let text = args[0].as_string::<i32>();
    let names = args[1].as_string::<i32>();
    let mut out = BinaryBuilder::with_capacity(rows, rows * 8);
    let mut buf = Vec::new();
    for i in 0..rows {
        if text.is_null(i) || names.is_null(i) {
            out.append_null();
            continue;
        }
        buf.clear();
        let s = text.value(i);
        if s.is_empty() {
            out.append_value(b"");
            continue;
        }
        let name = names.value(i);
        match charset(name)? {
            Charset::Utf8 => buf.extend_from_slice(s.as_bytes()),
            Charset::UsAscii => {
                if !s.is_ascii() {
                    return Err(malformed("encode", name));
                }
                buf.extend_from_slice(s.as_bytes());
            }
            Charset::Iso8859_1 => {
                for c in s.chars() {
                    let code = u8::try_from(c as u32).map_err(|_| malformed("encode", name))?;
                    buf.push(code);
                }
            }
            Charset::Utf16Be | Charset::Utf16 => {
                if charset(names.value(i))? == Charset::Utf16 {
                    buf.extend_from_slice(&[0xFE, 0xFF]);
                }
                for unit in s.encode_utf16() {
                    buf.extend_from_slice(&unit.to_be_bytes());
                }
            }
            Charset::Utf16Le => {
                for unit in s.encode_utf16() {
                    buf.extend_from_slice(&unit.to_le_bytes());
                }
            }
            Charset::Utf32 => {
                for c in s.chars() {
                    buf.extend_from_slice(&(c as u32).to_be_bytes());
                }
            }
        }
        out.append_value(&buf);
    }
    Ok(Arc::new(out.finish()))
}

/// `decode(b, charset)`: the text bytes stand for in `charset`; bytes that are not valid
/// there are an error (Spark 4's `MALFORMED_CHARACTER_CODING`).
fn decode(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let data = args[0].as_binary::<i32>();
    let names = args[1].as_string::<i32>();
    let mut out = StringBuilder::with_capacity(rows, rows * 8);
    let mut text = String::new();
    for i in 0..rows {
        if data.is_null(i) || names.is_null(i) {
            out.append_null();
            continue;
        }
        let b = data.value(i);
        text.clear();
        let name = names.value(i);
        let bad = || malformed("decode", name);
        match charset(name)? {
            Charset::Utf8 => text.push_str(std::str::from_utf8(b).map_err(|_| bad())?),
            Charset::UsAscii => {
                if !b.is_ascii() {
                    return Err(bad());
                }
                text.extend(b.iter().map(|&c| c as char));
            }
            Charset::Iso8859_1 => text.extend(b.iter().map(|&c| c as char)),
            Charset::Utf16Be => decode_utf16(b, false, &mut text).ok_or_else(bad)?,
            Charset::Utf16Le => decode_utf16(b, true, &mut text).ok_or_else(bad)?,
            Charset::Utf16 => match b {
                [0xFE, 0xFF, rest @ ..] => decode_utf16(rest, false, &mut text),
                [0xFF, 0xFE, rest @ ..] => decode_utf16(rest, true, &mut text),
                _ => decode_utf16(b, false, &mut text),
            }
            .ok_or_else(bad)?,
            Charset::Utf32 => {
                for chunk in b.chunks(4) {
                    let c = <[u8; 4]>::try_from(chunk)
                        .ok()
                        .and_then(|c| char::from_u32(u32::from_be_bytes(c)))
                        .ok_or_else(bad)?;
                    text.push(c);
                }
            }
        }
        out.append_value(&text);
    }
    Ok(Arc::new(out.finish()))
}

/// Appends UTF-16 text; `None` when the bytes are not UTF-16 (an odd count, a lone
/// surrogate).
fn decode_utf16(bytes: &[u8], little_endian: bool, text: &mut String) -> Option<()> {
    if bytes.len() % 2 == 1 {
        return None;
    }
    let units = bytes.chunks_exact(2).map(|pair| {
        if little_endian {
            u16::from_le_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], pair[1]])
        }
    });
    for c in char::decode_utf16(units) {
        text.push(c.ok()?);
    }
    Some(())
}

/// A lowercase hex digest of each value.
fn digest_each(args: &[ArrayRef], rows: usize, digest: impl Fn(&[u8]) -> Vec<u8>) -> ArrayRef {
    let mut out = StringBuilder::with_capacity(rows, rows * 40);
    let mut text = String::new();
    for v in args[0].as_binary::<i32>().iter() {
        match v {
            Some(v) => {
                text.clear();
                push_hex(&mut text, &digest(v), LOWER_HEX);
                out.append_value(&text);
            }
            None => out.append_null(),
        }
    }
    Arc::new(out.finish())
}

fn md5(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(digest_each(args, rows, |v| md5::Md5::digest(v).to_vec()))
}

fn sha1(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(digest_each(args, rows, |v| sha1::Sha1::digest(v).to_vec()))
}

/// `sha2(b, bits)`: SHA-224, -256 (also for 0), -384 or -512 as lowercase hex; NULL for any
/// other bit length, as Spark.
fn sha2(_: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let data: &BinaryArray = args[0].as_binary::<i32>();
    let bits = args[1].as_primitive::<Int32Type>();
    let mut out = StringBuilder::with_capacity(rows, rows * 64);
    let mut text = String::new();
    for i in 0..rows {
        if data.is_null(i) || bits.is_null(i) {
            out.append_null();
            continue;
        }
        let v = data.value(i);
        let digest = match bits.value(i) {
            224 => sha2::Sha224::digest(v).to_vec(),
            0 | 256 => sha2::Sha256::digest(v).to_vec(),
            384 => sha2::Sha384::digest(v).to_vec(),
            512 => sha2::Sha512::digest(v).to_vec(),
            _ => {
                out.append_null();
                continue;
            }
        };
        text.clear();
        push_hex(&mut text, &digest, LOWER_HEX);
        out.append_value(&text);
    }
    Ok(Arc::new(out.finish()))
}

/// `crc32(b)`: the CRC-32 checksum as a bigint.
fn crc32(_: &SparkUdf, args: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
    let values: Int64Array = args[0]
        .as_binary::<i32>()
        .iter()
        .map(|v| v.map(|v| i64::from(crc32fast::hash(v))))
        .collect();
    Ok(Arc::new(values))
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;

    use super::*;

    fn run(name: &str, args: Vec<ArrayRef>) -> ArrayRef {
        let udf = functions().into_iter().find(|f| f.name == name).unwrap();
        let rows = args[0].len();
        (udf.kernel)(&udf, &args, rows).unwrap()
    }

    fn bin(values: &[Option<&[u8]>]) -> ArrayRef {
        Arc::new(BinaryArray::from(values.to_vec()))
    }

    fn strs(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn texts(array: &ArrayRef) -> Vec<Option<String>> {
        array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn hex_of_bytes_strings_and_longs() {
        let out = run("hex", vec![bin(&[Some(b"abc"), None, Some(&[0, 255])])]);
        assert_eq!(
            texts(&out),
            [Some("616263".into()), None, Some("00FF".into())]
        );
        let longs: ArrayRef = Arc::new(Int64Array::from(vec![17, -1, 0]));
        assert_eq!(
            texts(&run("hex", vec![longs])),
            [
                Some("11".into()),
                Some("FFFFFFFFFFFFFFFF".into()),
                Some("0".into())
            ]
        );
        assert_eq!(
            texts(&run("hex", vec![strs(&[Some("Spark SQL")])])),
            [Some("537061726B2053514C".into())]
        );
    }

    #[test]
    fn unhex_pads_odd_lengths_and_rejects_non_digits() {
        let out = run(
            "unhex",
            vec![strs(&[Some("537061726B"), Some("F"), Some("GG")])],
        );
        let out = out.as_binary::<i32>();
        assert_eq!(out.value(0), b"Spark");
        assert_eq!(out.value(1), [0x0F]);
        assert!(out.is_null(2));
    }

    #[test]
    fn base64_round_trip_and_mime_leniency() {
        let out = run("base64", vec![bin(&[Some(b"Spark SQL"), Some(b"")])]);
        assert_eq!(texts(&out), [Some("U3BhcmsgU1FM".into()), Some("".into())]);
        let long = run("base64", vec![bin(&[Some(&[b'x'; 60])])]);
        let long = texts(&long)[0].clone().unwrap();
        assert_eq!(
            long.split("\r\n").map(str::len).collect::<Vec<_>>(),
            [76, 4]
        );
        let back = run(
            "unbase64",
            vec![strs(&[Some("U3BhcmsgU1FM"), Some("U3Bh\r\ncmsg U1FM")])],
        );
        let back = back.as_binary::<i32>();
        assert_eq!(back.value(0), b"Spark SQL");
        assert_eq!(back.value(1), b"Spark SQL");
    }

    #[test]
    fn digests_match_known_values() {
        let abc = || bin(&[Some(b"Spark")]);
        assert_eq!(
            texts(&run("md5", vec![abc()])),
            [Some("8cde774d6f7333752ed72cacddb05126".into())]
        );
        assert_eq!(
            texts(&run("sha1", vec![abc()])),
            [Some("85f5955f4b27a9a4c2aab6ffe5d7189fc298b92c".into())]
        );
        let bits: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![256]));
        assert_eq!(
            texts(&run("sha2", vec![abc(), bits])),
            [Some(
                "529bc3b07127ecb7e53a4dcf1991d9152c24537d919178022b2c42657f79a26b".into()
            )]
        );
        let bad: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![100]));
        assert_eq!(texts(&run("sha2", vec![abc(), bad])), [None]);
        let crc = run("crc32", vec![abc()]);
        assert_eq!(crc.as_primitive::<Int64Type>().value(0), 1557323817);
    }

    #[test]
    fn to_binary_formats_and_strict_base64() {
        for valid in [" ab cd ", " ab c=", "U3BhcmsgU1FM", "YQ==", ""] {
            assert!(is_valid_base64(valid), "{valid:?}");
        }
        for invalid in ["a", "a?", "abcde", "abcd=", "a===", "ab==f", " ab cdef= = "] {
            assert!(!is_valid_base64(invalid), "{invalid:?}");
        }
        let fmt = |f: &str| strs(&[Some(f)]);
        let out = run("to_binary", vec![strs(&[Some("abc")]), fmt("utf-8")]);
        assert_eq!(out.as_binary::<i32>().value(0), b"abc");
        let out = run("to_binary", vec![strs(&[Some("U3Bhcms=")]), fmt("BASE64")]);
        assert_eq!(out.as_binary::<i32>().value(0), b"Spark");
        let udf = functions()
            .into_iter()
            .find(|f| f.name == "to_binary")
            .unwrap();
        let err = (udf.kernel)(&udf, &[strs(&[Some("GG")])], 1).unwrap_err();
        assert!(
            err.to_string().contains("CONVERSION_INVALID_INPUT"),
            "{err}"
        );
        let out = run("try_to_binary", vec![strs(&[Some("GG")])]);
        assert!(out.is_null(0));
    }

    #[test]
    fn encode_and_decode_charsets() {
        let cs = |name: &str| strs(&[Some(name)]);
        let out = run("encode", vec![strs(&[Some("héllo")]), cs("utf-16le")]);
        let bytes = out.as_binary::<i32>().value(0).to_vec();
        assert_eq!(&bytes[..4], &[b'h', 0, 0xE9, 0]);
        let back = run("decode", vec![bin(&[Some(&bytes)]), cs("UTF-16LE")]);
        assert_eq!(texts(&back), [Some("héllo".into())]);
        let latin = run("encode", vec![strs(&[Some("é")]), cs("ISO-8859-1")]);
        assert_eq!(latin.as_binary::<i32>().value(0), [0xE9]);
        let bom = run("encode", vec![strs(&[Some("Bill")]), cs("UTF-16")]);
        let bom = run("base64", vec![bom]);
        assert_eq!(texts(&bom), [Some("/v8AQgBpAGwAbA==".into())]);
        let udf = functions()
            .into_iter()
            .find(|f| f.name == "encode")
            .unwrap();
        let err = (udf.kernel)(&udf, &[strs(&[Some("a")]), cs("klingon")], 1).unwrap_err();
        assert!(err.to_string().contains("'klingon'"), "{err}");
        let err = (udf.kernel)(&udf, &[strs(&[Some("渭城")]), cs("US-ASCII")], 1).unwrap_err();
        assert!(
            err.to_string().contains("MALFORMED_CHARACTER_CODING"),
            "{err}"
        );
        let empty = (udf.kernel)(&udf, &[strs(&[Some("")]), cs("klingon")], 1).unwrap();
        assert_eq!(empty.as_binary::<i32>().value(0), b"");
        let udf = functions()
            .into_iter()
            .find(|f| f.name == "decode")
            .unwrap();
        let err = (udf.kernel)(&udf, &[bin(&[Some(&[0xff])]), cs("utf-8")], 1).unwrap_err();
        assert!(err.to_string().contains("`decode` with `utf-8`"), "{err}");
    }
}
