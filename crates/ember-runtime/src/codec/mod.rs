//! Encoding physical plan fragments for the wire: no closures, no re-planning on the
//! executor. Versioned by [`WIRE_VERSION`].

pub mod arrow;
pub mod expr;
pub mod plan;

/// Bumped whenever a message changes incompatibly; a decoder refuses other versions.
pub const WIRE_VERSION: u32 = 1;
