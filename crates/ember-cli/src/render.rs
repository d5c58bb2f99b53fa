//! Results as the shell prints them: a table in the layout of arrow's `pretty` module, written
//! row by row to the output instead of built as one string, so that a million-row result
//! costs the memory of its batches, not gigabytes of text.
//!
//! Two passes over the rows: the first measures every column's width, the second writes.

use std::io::{self, Write};

use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use ember_common::display::SparkFormatter;
use unicode_width::UnicodeWidthStr;

/// Writes `headers` and the first `max_rows` rows of `batches` as a table; returns the
/// number of rows written.
pub fn write_table(
    out: &mut impl Write,
    headers: &[String],
    batches: &[RecordBatch],
    max_rows: usize,
) -> io::Result<usize> {
    let mut widths: Vec<usize> = headers.iter().map(|h| cell_width(h)).collect();
    let mut cell = String::new();
    let mut shown = 0;
    for_each_row(batches, max_rows, |formatters, row| {
        for (column, formatter) in formatters.iter().enumerate() {
            cell.clear();
            formatter.write(row, &mut cell);
            widths[column] = widths[column].max(cell_width(&cell));
        }
        shown += 1;
        Ok(())
    })?;

    let border: String = {
        let mut line = String::from("+");
        for width in &widths {
            line.push_str(&"-".repeat(width + 2));
            line.push('+');
        }
        line
    };
    writeln!(out, "{border}")?;
    write_row(out, headers.iter().map(String::as_str), &widths)?;
    writeln!(out, "{border}")?;
    let mut cells: Vec<String> = vec![String::new(); widths.len()];
    for_each_row(batches, max_rows, |formatters, row| {
        for (text, formatter) in cells.iter_mut().zip(formatters) {
            text.clear();
            formatter.write(row, text);
        }
        write_row(out, cells.iter().map(String::as_str), &widths)
    })?;
    writeln!(out, "{border}")?;
    Ok(shown)
}

/// Calls `f` with the formatters of each batch and each row index, for the first `max_rows`
/// rows.
fn for_each_row<'a>(
    batches: &'a [RecordBatch],
    max_rows: usize,
    mut f: impl FnMut(&[SparkFormatter<'a>], usize) -> io::Result<()>,
) -> io::Result<()> {
    let mut left = max_rows;
    for batch in batches {
        if left == 0 {
            break;
        }
        let formatters = batch
            .columns()
            .iter()
            .map(|column| SparkFormatter::try_new(column.as_ref() as &dyn Array))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io::Error::other)?;
        let rows = batch.num_rows().min(left);
        for row in 0..rows {
            f(&formatters, row)?;
        }
        left -= rows;
    }
    Ok(())
}

/// Display width of a cell: its widest line.
fn cell_width(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// One row; a cell with line breaks takes several lines, as in arrow's tables.
fn write_row<'c>(
    out: &mut impl Write,
    cells: impl Iterator<Item = &'c str>,
    widths: &[usize],
) -> io::Result<()> {
    let lines: Vec<Vec<&str>> = cells
        .map(|c| {
            let lines: Vec<&str> = c.lines().collect();
            if lines.is_empty() {
                vec![""]
            } else {
                lines
            }
        })
        .collect();
    let height = lines.iter().map(Vec::len).max().unwrap_or(1);
    for line in 0..height {
        out.write_all(b"|")?;
        for (cell, width) in lines.iter().zip(widths) {
            let text = cell.get(line).copied().unwrap_or("");
            let pad = width.saturating_sub(UnicodeWidthStr::width(text));
            write!(out, " {text}{} |", " ".repeat(pad))?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int32, true),
                Field::new("name", DataType::Utf8, true),
            ])),
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, Some(300)])),
                Arc::new(StringArray::from(vec![Some("ada"), Some("两个"), None])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn tables_match_arrows_pretty_layout() {
        let options = ember_common::display::spark_format_options();
        let batches = [batch(), batch()];
        let mut out = Vec::new();
        let headers = vec!["id".to_string(), "name".to_string()];
        let shown = write_table(&mut out, &headers, &batches, usize::MAX).unwrap();
        assert_eq!(shown, 6);
        let expected = arrow::util::pretty::pretty_format_batches_with_options(&batches, &options)
            .unwrap()
            .to_string();
        assert_eq!(String::from_utf8(out).unwrap(), format!("{expected}\n"));
    }

    #[test]
    fn at_most_max_rows_are_written() {
        let mut out = Vec::new();
        let headers = vec!["id".to_string(), "name".to_string()];
        let shown = write_table(&mut out, &headers, &[batch(), batch()], 4).unwrap();
        assert_eq!(shown, 4);
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 4 + 4);
    }
}
