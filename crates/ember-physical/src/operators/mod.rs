//! The `*Exec` operators, one file each.

pub mod cached_scan;
pub mod exchange;
pub mod filter;
pub mod generate;
pub mod hash_aggregate;
pub mod hash_join;
pub mod limit;
pub mod nested_loop_join;
pub mod projection;
pub mod range;
pub mod scan;
pub mod sort;
pub mod union;
pub mod values;
pub mod window;
pub mod write;
