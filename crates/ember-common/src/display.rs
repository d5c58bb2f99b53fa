//! How values are shown to people (shell tables, golden files): as Spark's SQL shell does.

use arrow::util::display::FormatOptions;

/// NULL as `NULL`, timestamps as `2024-01-02 03:04:05` (fractions of a second only when
/// there are some), dates as `2024-01-02`.
pub fn spark_format_options() -> FormatOptions<'static> {
    FormatOptions::new()
        .with_null("NULL")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_date_format(Some("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, TimestampMicrosecondArray};
    use arrow::util::display::ArrayFormatter;

    use super::*;

    #[test]
    fn timestamps_look_like_sparks() {
        let array: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(1_704_164_645_000_000),
            Some(1_704_164_645_250_000),
            None,
        ]));
        let options = spark_format_options();
        let formatter = ArrayFormatter::try_new(array.as_ref(), &options).unwrap();
        assert_eq!(formatter.value(0).to_string(), "2024-01-02 03:04:05");
        assert_eq!(formatter.value(1).to_string(), "2024-01-02 03:04:05.250");
        assert_eq!(formatter.value(2).to_string(), "NULL");
    }
}
