//! A file table as the logical plan's `TableSource`; the physical planner downcasts to it.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion_expr::{Expr, TableProviderFilterPushDown, TableSource};

use crate::FileTable;

/// Wraps a [`FileTable`] so it can sit in a `TableScan`.
#[derive(Debug)]
pub struct FileTableSource {
    pub table: Arc<FileTable>,
}

impl TableSource for FileTableSource {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    /// Filters are applied while scanning but not relied on: the Filter above the scan stays.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion_common::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }
}
