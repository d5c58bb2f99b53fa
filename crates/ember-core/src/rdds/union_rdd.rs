//! Lays several RDDs of one schema side by side: partitions of the first, then the second, ...

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ember_common::{EmberError, RddId, Result};

use crate::{BatchIter, Dependency, Rdd, TaskContext};

/// The union (UNION ALL) of its parents; each parent is a `Range` dependency.
#[derive(Debug)]
pub struct UnionRdd {
    id: RddId,
    parents: Vec<Arc<dyn Rdd>>,
    /// `starts[i]` is the first partition of this RDD that belongs to parent i.
    starts: Vec<usize>,
    num_partitions: usize,
}

impl UnionRdd {
    /// The union of `parents`, which must be at least one and share column types.
    pub fn new(id: RddId, parents: Vec<Arc<dyn Rdd>>) -> Result<Self> {
        let first = parents.first().ok_or_else(|| {
            EmberError::execution("a union needs at least one input RDD, got none")
        })?;
        let schema = first.schema();
        for (i, parent) in parents.iter().enumerate().skip(1) {
            let other = parent.schema();
            let same = other.fields().len() == schema.fields().len()
                && other
                    .fields()
                    .iter()
                    .zip(schema.fields())
                    .all(|(a, b)| a.data_type() == b.data_type());
            if !same {
                return Err(EmberError::execution(format!(
                    "union input {i} ({}) has columns {:?}, but input 0 ({}) has {:?}; \
                     every input of a union needs the same column types",
                    parent.name(),
                    other
                        .fields()
                        .iter()
                        .map(|f| f.data_type())
                        .collect::<Vec<_>>(),
                    first.name(),
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.data_type())
                        .collect::<Vec<_>>(),
                )));
            }
        }
        let mut starts = Vec::with_capacity(parents.len());
        let mut num_partitions = 0;
        for parent in &parents {
            starts.push(num_partitions);
            num_partitions += parent.num_partitions();
        }
        Ok(UnionRdd {
            id,
            parents,
            starts,
            num_partitions,
        })
    }

    /// The parent holding `partition` and the partition's index within that parent.
    fn locate(&self, partition: usize) -> Option<(&Arc<dyn Rdd>, usize)> {
        if partition >= self.num_partitions {
            return None;
        }
        // The last parent starting at or before `partition` (empty parents are skipped).
        let index = self.starts.partition_point(|&start| start <= partition) - 1;
        Some((&self.parents[index], partition - self.starts[index]))
    }
}

impl Rdd for UnionRdd {
    fn id(&self) -> RddId {
        self.id
    }

    fn name(&self) -> String {
        format!("UnionRdd[{}]", self.id.0)
    }

    fn schema(&self) -> SchemaRef {
        self.parents[0].schema()
    }

    fn num_partitions(&self) -> usize {
        self.num_partitions
    }

    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .zip(&self.starts)
            .map(|(parent, &start)| Dependency::Range {
                rdd: parent.clone(),
                in_start: 0,
                out_start: start,
                len: parent.num_partitions(),
            })
            .collect()
    }

    fn compute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let (parent, parent_partition) = self.locate(partition).ok_or_else(|| {
            EmberError::internal(format!(
                "{} has {} partitions, asked for partition {partition}",
                self.name(),
                self.num_partitions
            ))
        })?;
        parent.compute(parent_partition, cx)
    }

    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.locate(partition)
            .map(|(parent, p)| parent.preferred_locations(p))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdds::ParallelCollectionRdd;
    use crate::test_util::{key_value_batch, kv_schema};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn partitions_map_to_their_parent() {
        let a: Arc<dyn Rdd> = Arc::new(
            ParallelCollectionRdd::new(
                RddId(1),
                kv_schema(),
                vec![key_value_batch(&[1, 2], &[0, 0])],
                2,
            )
            .unwrap(),
        );
        let b: Arc<dyn Rdd> = Arc::new(
            ParallelCollectionRdd::new(RddId(2), kv_schema(), vec![key_value_batch(&[3], &[0])], 1)
                .unwrap(),
        );
        let union = UnionRdd::new(RddId(3), vec![a, b]).unwrap();
        assert_eq!(union.num_partitions(), 3);
        let (parent, p) = union.locate(2).unwrap();
        assert_eq!((parent.id(), p), (RddId(2), 0));
        let (parent, p) = union.locate(1).unwrap();
        assert_eq!((parent.id(), p), (RddId(1), 1));
        assert!(union.locate(3).is_none());
        match &union.dependencies()[1] {
            Dependency::Range { out_start, len, .. } => assert_eq!((*out_start, *len), (2, 1)),
            other => panic!("expected a range dependency, got {other:?}"),
        }
    }

    #[test]
    fn mismatched_schemas_are_rejected() {
        let a: Arc<dyn Rdd> =
            Arc::new(ParallelCollectionRdd::new(RddId(1), kv_schema(), vec![], 1).unwrap());
        let other = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let b: Arc<dyn Rdd> =
            Arc::new(ParallelCollectionRdd::new(RddId(2), other, vec![], 1).unwrap());
        let err = UnionRdd::new(RddId(3), vec![a, b]).unwrap_err();
        assert!(err.to_string().contains("union input 1"), "{err}");
        assert!(UnionRdd::new(RddId(4), vec![]).is_err());
    }
}
