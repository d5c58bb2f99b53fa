//! TPC-H for Ember: data generation, the 22 queries, reference answers and result checking.
//!
//! This crate does not run SQL. The `ember tpch` command uses it like this:
//!
//! ```text
//! ensure_data(sf, format)            -> data dir (generated once, cached, `_SUCCESS` marker)
//! for table in TABLES: table_ddl()   -> CREATE TABLE ... run by the engine
//! query_text(q, &queries_dir())      -> split_statements() -> the engine runs each statement,
//!                                        keeping the batches of result_statement()
//! load_answer(&answers_dir(), answer_set_name(sf)?, q)
//! check_result(q, &text, &batches, &answer) -> CheckOutcome (Display = readable report)
//! ```

mod answer;
mod check;
mod generate;
mod queries;
mod shape;
mod tables;

pub use answer::{load_answer, Answer};
pub use check::{check_result, CheckOutcome, Mismatch, RowOrder, MAX_REPORTED_MISMATCHES};
pub use generate::{
    default_data_dir, ensure_data, generate, is_complete, GenerateSummary, TableSummary,
    SUCCESS_MARKER,
};
pub use queries::{
    answer_set_name, answers_dir, queries_dir, query_text, result_statement, split_statements,
    tpch_dir, QUERY_COUNT,
};
pub use shape::{ColumnKind, OutputColumn, QueryShape};
pub use tables::{table_ddl, table_schema, DataFormat, TABLES};
