//! A buffered reader over the lines a byte range of a file owns.
//!
//! ```text
//!  file:   |aaaa\n|bbbb\n|cccc\n|dddd\n|
//!               ^start         ^end
//!  reads:         cccc (first line starting after start), dddd (starts at end)
//! ```
//! bbbb belongs to the range before (it starts there); the next range skips to after dddd.
//! A line belongs to the range in which it starts, counting a line that starts exactly at `end`
//! (or at `start` of a range other than the first) as belonging to the earlier range.

use std::io::{self, BufRead, Read};

/// Reads from `pos` up to `end`, then to the end of the line that crosses or starts at `end`.
pub(crate) struct RangeRead<R: BufRead> {
    inner: R,
    pos: u64,
    end: u64,
    done: bool,
    /// In the tail: the length of the last slice handed out if it ends with the newline.
    tail_newline_at: Option<usize>,
}

impl<R: BufRead> RangeRead<R> {
    /// `inner` is positioned at `start`; `first` is true for the range starting at 0.
    /// Returns the reader and the offset of the first byte it reads.
    pub fn new(mut inner: R, start: u64, end: u64) -> io::Result<(RangeRead<R>, u64)> {
        let mut pos = start;
        let mut done = false;
        if start > 0 {
            let mut skipped = Vec::new();
            let n = inner.read_until(b'\n', &mut skipped)?;
            pos += n as u64;
            // No newline left, or the next line starts after `end`: the range owns no line.
            done = skipped.last() != Some(&b'\n') || pos > end;
        }
        let reader = RangeRead {
            inner,
            pos,
            end,
            done,
            tail_newline_at: None,
        };
        Ok((reader, pos))
    }
}

impl<R: BufRead> Read for RangeRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for RangeRead<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.done {
            return Ok(&[]);
        }
        let buf = self.inner.fill_buf()?;
        if self.pos < self.end {
            let max = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
            self.tail_newline_at = None;
            return Ok(&buf[..buf.len().min(max)]);
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.tail_newline_at = Some(i + 1);
                Ok(&buf[..=i])
            }
            None => {
                self.tail_newline_at = None;
                Ok(buf)
            }
        }
    }

    fn consume(&mut self, amount: usize) {
        let in_tail = self.pos >= self.end;
        self.inner.consume(amount);
        self.pos += amount as u64;
        if in_tail && self.tail_newline_at == Some(amount) {
            self.done = true;
        }
        self.tail_newline_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read_range(data: &[u8], start: u64, end: u64) -> io::Result<String> {
        let mut cursor = Cursor::new(data.to_vec());
        cursor.set_position(start);
        let (mut reader, _) = RangeRead::new(cursor, start, end)?;
        let mut out = String::new();
        reader.read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_line_is_read_by_exactly_one_range() -> io::Result<()> {
        let data = b"aa\nbbbb\nc\n\ndddddd\neee";
        for size in 1..=data.len() as u64 + 1 {
            let mut joined = String::new();
            let mut start = 0;
            while start < data.len() as u64 {
                let end = (start + size).min(data.len() as u64);
                joined.push_str(&read_range(data, start, end)?);
                start = end;
            }
            assert_eq!(joined.as_bytes(), data, "range size {size}");
        }
        Ok(())
    }

    #[test]
    fn a_range_inside_one_long_line_reads_nothing() -> io::Result<()> {
        assert_eq!(read_range(b"aaaaaaaaaa\nb\n", 2, 5)?, "");
        assert_eq!(read_range(b"aaaaaaaaaa\nb\n", 0, 2)?, "aaaaaaaaaa\n");
        assert_eq!(read_range(b"aaaaaaaaaa\nb\n", 5, 11)?, "b\n");
        Ok(())
    }
}
