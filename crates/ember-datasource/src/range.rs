//! `range(start, end[, step[, partitions]])` as the logical plan's `TableSource`: the ids
//! `start, start + step, ...` before `end`, a BIGINT column `id` in `partitions` slices, as
//! Spark's `Range`. The physical planner downcasts to it.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion_expr::TableSource;

/// The numbers `range(...)` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSource {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub partitions: usize,
}

impl RangeSource {
    /// How many ids it makes.
    pub fn rows(&self) -> u64 {
        let span = i128::from(self.end) - i128::from(self.start);
        let step = i128::from(self.step);
        if span == 0 || (span > 0) != (step > 0) {
            return 0;
        }
        ((span.abs() + step.abs() - 1) / step.abs()) as u64
    }

    /// The schema: one non-null BIGINT `id`.
    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]))
    }
}

impl TableSource for RangeSource {
    fn schema(&self) -> SchemaRef {
        RangeSource::schema()
    }
}
