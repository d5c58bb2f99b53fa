//! The RDD types of the core: in-memory collections, per-partition maps, shuffle reads and unions.

pub mod map_partitions_rdd;
pub mod parallel_collection_rdd;
pub mod shuffled_rdd;
pub mod union_rdd;

pub use map_partitions_rdd::MapPartitionsRdd;
pub use parallel_collection_rdd::ParallelCollectionRdd;
pub use shuffled_rdd::ShuffledRdd;
pub use union_rdd::UnionRdd;
