//! SQL front end: parsing (sqlparser, Spark dialect), the binder, and the session catalog.

pub mod binder;
pub mod catalog;
pub mod dialect;
pub mod error;
pub mod functions;
pub mod parameters;
pub mod parser;
pub mod types;

pub use binder::Binder;
pub use catalog::{CatalogEntry, SessionCatalog};
pub use ember_datasource::FileTableSource;
pub use parameters::Parameters;
pub use parser::{parse_statements, EmberStatement};
