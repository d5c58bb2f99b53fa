//! `GenerateExec`: Spark's `Generate`, a generator (`explode`, `posexplode`, `inline`,
//! `stack`) turning each input row into zero or more rows, each the input row followed by
//! the generated columns. With `outer`, a row whose generator yields nothing is kept once
//! with NULLs in the generated columns (`explode_outer`, `LATERAL VIEW OUTER`).
//!
//! ```text
//! input batch ─▶ evaluate the argument(s) ─▶ per row: how many output rows (list length,
//!   n for stack) ─▶ take input columns by repeated row index ─▶ take the elements (or the
//!   stack arguments) by element index ─▶ output batches of about ember.sql.batchSize rows
//! ```

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, StructArray, UInt32Array, UInt64Array,
};
use arrow::compute::{interleave, take};
use arrow::datatypes::{DataType, SchemaRef};
use ember_common::logical::GeneratorKind;
use ember_common::{EmberError, Result};
use ember_core::{BatchIter, TaskContext};

use crate::expressions::{display_expr, evaluate, PhysicalExprRef};
use crate::plan::{ExecutionPlan, Partitioning};

/// Output rows per batch when `ember.sql.batchSize` is unset.
const DEFAULT_BATCH_ROWS: usize = 8192;

#[derive(Debug)]
pub struct GenerateExec {
    kind: GeneratorKind,
    args: Vec<PhysicalExprRef>,
    outer: bool,
    /// The input's columns, then the generated ones.
    schema: SchemaRef,
    input: Arc<dyn ExecutionPlan>,
}

impl GenerateExec {
    /// `schema` is the input's schema followed by the generated columns.
    pub fn new(
        kind: GeneratorKind,
        args: Vec<PhysicalExprRef>,
        outer: bool,
        schema: SchemaRef,
        input: Arc<dyn ExecutionPlan>,
    ) -> Self {
        GenerateExec {
            kind,
            args,
            outer,
            schema,
            input,
        }
    }

    pub fn kind(&self) -> GeneratorKind {
        self.kind
    }

    pub fn args(&self) -> &[PhysicalExprRef] {
        &self.args
    }

    pub fn outer(&self) -> bool {
        self.outer
    }
}

impl ExecutionPlan for GenerateExec {
    fn name(&self) -> &'static str {
        "GenerateExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn children(&self) -> Vec<Arc<dyn ExecutionPlan>> {
        vec![Arc::clone(&self.input)]
    }

    fn with_new_children(
        &self,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children
            .into_iter()
            .next()
            .ok_or_else(|| EmberError::internal("GenerateExec needs one child"))?;
        Ok(Arc::new(GenerateExec::new(
            self.kind,
            self.args.clone(),
            self.outer,
            Arc::clone(&self.schema),
            input,
        )))
    }

    fn output_partitioning(&self) -> Partitioning {
        // The input's rows stay in their partitions, but the hash keys may now repeat in
        // generated rows only as copies: the partitioning of the input columns still holds.
        self.input.output_partitioning()
    }

    fn execute(&self, partition: usize, cx: &TaskContext) -> Result<BatchIter> {
        let input = self.input.execute(partition, cx)?;
        let batch_rows = match cx.conf().get_usize("ember.sql.batchSize") {
            0 => DEFAULT_BATCH_ROWS,
            n => n,
        };
        let generator = Generator {
            kind: self.kind,
            args: self.args.clone(),
            outer: self.outer,
            schema: Arc::clone(&self.schema),
            batch_rows,
        };
        Ok(Box::new(input.flat_map(move |batch| {
            let out: Vec<Result<RecordBatch>> = match batch.and_then(|b| generator.run(&b)) {
                Ok(batches) => batches.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            out.into_iter()
        })))
    }

    fn describe(&self) -> String {
        let args: Vec<String> = self.args.iter().map(display_expr).collect();
        let generated: Vec<String> = self.schema.fields()[self.input.schema().fields().len()..]
            .iter()
            .map(|f| f.name().clone())
            .collect();
        format!(
            "GenerateExec: {}{}({}) -> [{}]",
            self.kind.name(),
            if self.outer { "_outer" } else { "" },
            args.join(", "),
            generated.join(", ")
        )
    }
}

struct Generator {
    kind: GeneratorKind,
    args: Vec<PhysicalExprRef>,
    outer: bool,
    schema: SchemaRef,
    batch_rows: usize,
}

/// Where the generated values of one output row come from.
struct Plan {
    /// The input row of each output row.
    rows: Vec<u32>,
    /// The element of each output row (`None`: NULLs, for an outer row).
    elements: Vec<Option<u64>>,
    /// The position of the element within its row (posexplode).
    positions: Vec<Option<i32>>,
}

impl Generator {
    fn run(&self, batch: &RecordBatch) -> Result<Vec<RecordBatch>> {
        let args = self
            .args
            .iter()
            .map(|a| evaluate(a, batch))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::new();
        let mut start = 0;
        // A slice of input rows at a time, so that one batch of long arrays does not become
        // one enormous output batch.
        while start < batch.num_rows() {
            let (plan, next) = self.plan(&args, start, batch.num_rows())?;
            if !plan.rows.is_empty() {
                out.push(self.emit(batch, &args, &plan)?);
            }
            start = next;
        }
        Ok(out)
    }

    /// Output rows for input rows from `start` on, up to the row that makes them reach the
    /// batch size; also the first input row not planned.
    fn plan(&self, args: &[ArrayRef], start: usize, end: usize) -> Result<(Plan, usize)> {
        let mut plan = Plan {
            rows: Vec::new(),
            elements: Vec::new(),
            positions: Vec::new(),
        };
        for row in start..end {
            let range = self.elements_of(args, row)?;
            if range.is_empty() {
                if self.outer {
                    plan.rows.push(row as u32);
                    plan.elements.push(None);
                    plan.positions.push(None);
                }
            } else {
                let first = range.start;
                for element in range {
                    plan.rows.push(row as u32);
                    plan.elements.push(Some(element as u64));
                    plan.positions.push(Some((element - first) as i32));
                }
            }
            if plan.rows.len() >= self.batch_rows {
                return Ok((plan, row + 1));
            }
        }
        Ok((plan, end))
    }

    /// The elements `row` generates: indexes into the list's (or map's) values, or for
    /// `stack` the output rows 0..n.
    fn elements_of(&self, args: &[ArrayRef], row: usize) -> Result<std::ops::Range<usize>> {
        if let GeneratorKind::Stack { rows } = self.kind {
            return Ok(0..rows);
        }
        let array = &args[0];
        if array.is_null(row) {
            return Ok(0..0);
        }
        Ok(match array.data_type() {
            DataType::List(_) => {
                let offsets = array.as_list::<i32>().value_offsets();
                offsets[row] as usize..offsets[row + 1] as usize
            }
            DataType::LargeList(_) => {
                let offsets = array.as_list::<i64>().value_offsets();
                offsets[row] as usize..offsets[row + 1] as usize
            }
            DataType::Map(_, _) => {
                let offsets = array.as_map().value_offsets();
                offsets[row] as usize..offsets[row + 1] as usize
            }
            DataType::Null => 0..0,
            other => {
                return Err(EmberError::internal(format!(
                    "{} over {other}",
                    self.kind.name()
                )))
            }
        })
    }

    fn emit(&self, batch: &RecordBatch, args: &[ArrayRef], plan: &Plan) -> Result<RecordBatch> {
        let rows = UInt32Array::from(plan.rows.clone());
        let mut columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), &rows, None))
            .collect::<std::result::Result<_, _>>()?;
        let elements = UInt64Array::from(plan.elements.clone());
        let generated_fields = &self.schema.fields()[batch.num_columns()..];
        match self.kind {
            GeneratorKind::Explode | GeneratorKind::PosExplode => {
                if self.kind == GeneratorKind::PosExplode {
                    columns.push(Arc::new(Int32Array::from(plan.positions.clone())));
                }
                let array = &args[0];
                match array.data_type() {
                    DataType::Map(_, _) => {
                        let map = array.as_map();
                        columns.push(take(map.keys().as_ref(), &elements, None)?);
                        columns.push(take(map.values().as_ref(), &elements, None)?);
                    }
                    DataType::List(_) => {
                        columns.push(take(
                            array.as_list::<i32>().values().as_ref(),
                            &elements,
                            None,
                        )?);
                    }
                    DataType::LargeList(_) => {
                        columns.push(take(
                            array.as_list::<i64>().values().as_ref(),
                            &elements,
                            None,
                        )?);
                    }
                    _ => {
                        for field in generated_fields
                            .iter()
                            .skip(columns.len() - batch.num_columns())
                        {
                            columns.push(arrow::array::new_null_array(
                                field.data_type(),
                                plan.rows.len(),
                            ));
                        }
                    }
                }
            }
            GeneratorKind::Inline => {
                let array = &args[0];
                let structs: ArrayRef = match array.data_type() {
                    DataType::List(_) => {
                        take(array.as_list::<i32>().values().as_ref(), &elements, None)?
                    }
                    DataType::LargeList(_) => {
                        take(array.as_list::<i64>().values().as_ref(), &elements, None)?
                    }
                    _ => arrow::array::new_null_array(
                        &DataType::Struct(generated_fields.to_vec().into()),
                        plan.rows.len(),
                    ),
                };
                let structs: &StructArray = structs.as_struct();
                // A NULL struct (or an outer row) gives NULL in every field.
                let nulls = structs.logical_nulls();
                for column in structs.columns() {
                    let column = match &nulls {
                        Some(nulls) => with_extra_nulls(column, nulls)?,
                        None => Arc::clone(column),
                    };
                    columns.push(column);
                }
            }
            GeneratorKind::Stack { rows: n } => {
                // Output column j of stack row r is argument 1 + r * width + j (NULL past
                // the last argument); arguments come already cast to the column's type.
                let values = &args[1..];
                let width = generated_fields.len();
                for (j, field) in generated_fields.iter().enumerate() {
                    let sources: Vec<ArrayRef> = (0..n)
                        .map(|r| {
                            values.get(r * width + j).cloned().unwrap_or_else(|| {
                                arrow::array::new_null_array(field.data_type(), batch.num_rows())
                            })
                        })
                        .collect();
                    let sources: Vec<&dyn Array> = sources.iter().map(|a| a.as_ref()).collect();
                    let indices: Vec<(usize, usize)> = plan
                        .rows
                        .iter()
                        .zip(&plan.elements)
                        .map(|(row, element)| (element.unwrap_or(0) as usize, *row as usize))
                        .collect();
                    columns.push(interleave(&sources, &indices)?);
                }
            }
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

/// `column` with NULL wherever `nulls` says so as well.
fn with_extra_nulls(column: &ArrayRef, nulls: &arrow::buffer::NullBuffer) -> Result<ArrayRef> {
    let combined = arrow::buffer::NullBuffer::union(Some(nulls), column.logical_nulls().as_ref());
    let data = column.to_data().into_builder().nulls(combined).build()?;
    Ok(arrow::array::make_array(data))
}

#[cfg(test)]
mod tests {
    use arrow::array::{ListArray, StringArray};
    use arrow::datatypes::{Field, Int64Type, Schema};

    use super::*;

    fn input() -> RecordBatch {
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![]),
            None,
            Some(vec![Some(3), None]),
        ]);
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, false),
                Field::new("xs", list.data_type().clone(), true),
            ])),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
                Arc::new(list),
            ],
        )
        .unwrap()
    }

    fn generate(kind: GeneratorKind, outer: bool, batch_rows: usize) -> Vec<RecordBatch> {
        let batch = input();
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        if kind == GeneratorKind::PosExplode {
            fields.push(Field::new("pos", DataType::Int32, true));
        }
        fields.push(Field::new("col", DataType::Int64, true));
        let generator = Generator {
            kind,
            args: vec![Arc::new(
                datafusion_physical_expr::expressions::Column::new("xs", 1),
            )],
            outer,
            schema: Arc::new(Schema::new(fields)),
            batch_rows,
        };
        generator.run(&batch).unwrap()
    }

    fn rows(batches: &[RecordBatch]) -> Vec<String> {
        let mut out = Vec::new();
        for batch in batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ember_common::display::SparkFormatter::try_new(c.as_ref()).unwrap())
                .collect();
            for row in 0..batch.num_rows() {
                out.push(
                    formatters
                        .iter()
                        .map(|f| f.value(row))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
        out
    }

    #[test]
    fn explode_skips_empty_and_null_lists_unless_outer() {
        let out = generate(GeneratorKind::Explode, false, 100);
        assert_eq!(
            rows(&out),
            ["a [1,2] 1", "a [1,2] 2", "d [3,null] 3", "d [3,null] NULL"]
        );
        let out = generate(GeneratorKind::Explode, true, 100);
        assert_eq!(
            rows(&out),
            [
                "a [1,2] 1",
                "a [1,2] 2",
                "b [] NULL",
                "c NULL NULL",
                "d [3,null] 3",
                "d [3,null] NULL"
            ]
        );
    }

    #[test]
    fn posexplode_numbers_elements_and_small_batches_split_output() {
        let out = generate(GeneratorKind::PosExplode, false, 1);
        assert_eq!(
            rows(&out),
            [
                "a [1,2] 0 1",
                "a [1,2] 1 2",
                "d [3,null] 0 3",
                "d [3,null] 1 NULL"
            ]
        );
        assert!(out.len() >= 2, "batches of about one row");
        assert!(out.iter().all(|b| b.num_rows() <= 2));
    }
}
