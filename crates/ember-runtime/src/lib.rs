//! Driver and executor processes: the wire format of tasks (plan fragments as protobuf),
//! and later registration, heartbeats and the shuffle service.
//!
//! ```text
//! physical plan ──encode_plan──▶ pb::PlanNode (bytes on the wire) ──decode_plan──▶ physical plan
//!   operators: codec::plan      expressions, aggregates, window calls: codec::expr
//!   values, schemas, types: codec::arrow (Arrow IPC inside protobuf `bytes`)
//! ```

pub mod cluster;
pub mod codec;
