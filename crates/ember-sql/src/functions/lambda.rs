//! Spark's higher-order functions: `transform`, `filter`, `exists`, `forall`, `aggregate`
//! (`reduce`), `zip_with`, `map_filter`, `transform_keys`, `transform_values`.
//!
//! A lambda (`x -> x + c`) is bound once, its body a physical expression over a schema of its
//! parameters followed by the columns it captures from the row (`c`). A call evaluates the body
//! over all the elements of all the rows of a batch at once: the elements become one batch
//! (each captured column repeated for the elements of its row), the body runs over it, and the
//! result is cut back into rows by the collection's offsets. `aggregate` folds position by
//! position, over all the rows that have an element at that position.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListArray, MapArray, StructArray,
    UInt32Array,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::compute::{filter, take};
use arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion_common::{exec_err, Result, ScalarValue};
use datafusion_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_physical_expr::PhysicalExpr;

/// Which higher-order function a [`LambdaUdf`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HigherOrder {
    Transform,
    Filter,
    Exists,
    Forall,
    Aggregate,
    ZipWith,
    MapFilter,
    TransformKeys,
    TransformValues,
}

impl HigherOrder {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "transform" => Self::Transform,
            "filter" => Self::Filter,
            "exists" => Self::Exists,
            "forall" => Self::Forall,
            "aggregate" | "reduce" => Self::Aggregate,
            "zip_with" => Self::ZipWith,
            "map_filter" => Self::MapFilter,
            "transform_keys" => Self::TransformKeys,
            "transform_values" => Self::TransformValues,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Transform => "transform",
            Self::Filter => "filter",
            Self::Exists => "exists",
            Self::Forall => "forall",
            Self::Aggregate => "aggregate",
            Self::ZipWith => "zip_with",
            Self::MapFilter => "map_filter",
            Self::TransformKeys => "transform_keys",
            Self::TransformValues => "transform_values",
        }
    }

    /// How many arguments come before the captured columns (the collections, `aggregate`'s
    /// start value).
    pub fn direct_arguments(self) -> usize {
        match self {
            Self::ZipWith | Self::Aggregate => 2,
            _ => 1,
        }
    }
}

/// A higher-order function with its bound lambdas.
#[derive(Debug)]
pub struct LambdaUdf {
    pub kind: HigherOrder,
    /// The lambda bodies (`aggregate`: the merge, then the finish if any).
    pub bodies: Vec<Arc<dyn PhysicalExpr>>,
    /// The schema of each body: its parameters, then the captured columns.
    pub schemas: Vec<SchemaRef>,
    pub return_type: DataType,
    signature: Signature,
}

impl LambdaUdf {
    pub fn new(
        kind: HigherOrder,
        bodies: Vec<Arc<dyn PhysicalExpr>>,
        schemas: Vec<SchemaRef>,
        return_type: DataType,
    ) -> Self {
        Self {
            kind,
            bodies,
            schemas,
            return_type,
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl PartialEq for LambdaUdf {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.return_type == other.return_type
            && self.schemas == other.schemas
            && format!("{:?}", self.bodies) == format!("{:?}", other.bodies)
    }
}

impl Eq for LambdaUdf {}

impl Hash for LambdaUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        format!("{:?}", self.bodies).hash(state);
    }
}

impl ScalarUDFImpl for LambdaUdf {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let direct = self.kind.direct_arguments();
        let (direct_args, captured) = arrays.split_at(direct.min(arrays.len()));
        let out = match self.kind {
            HigherOrder::Transform
            | HigherOrder::Filter
            | HigherOrder::Exists
            | HigherOrder::Forall => self.over_list(&direct_args[0], captured)?,
            HigherOrder::Aggregate => self.aggregate(&direct_args[0], &direct_args[1], captured)?,
            HigherOrder::ZipWith => self.zip_with(&direct_args[0], &direct_args[1], captured)?,
            HigherOrder::MapFilter | HigherOrder::TransformKeys | HigherOrder::TransformValues => {
                self.over_map(&direct_args[0], captured)?
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// For each element of a collection with `offsets`, its row.
fn parents(offsets: &[i32]) -> UInt32Array {
    let mut out = Vec::with_capacity((offsets[offsets.len() - 1] - offsets[0]) as usize);
    for row in 0..offsets.len() - 1 {
        let n = (offsets[row + 1] - offsets[row]) as usize;
        out.extend(std::iter::repeat_n(row as u32, n));
    }
    UInt32Array::from(out)
}

/// The offsets rebased to start at zero.
fn rebased(offsets: &[i32]) -> OffsetBuffer<i32> {
    let start = offsets[0];
    OffsetBuffer::new(ScalarBuffer::from(
        offsets.iter().map(|o| o - start).collect::<Vec<_>>(),
    ))
}

impl LambdaUdf {
    /// The element field of the list this function returns, checked against `values`.
    fn list_field(&self, values: &ArrayRef) -> Result<FieldRef> {
        match &self.return_type {
            DataType::List(field) if field.data_type() == values.data_type() => {
                Ok(Arc::clone(field))
            }
            other => exec_err!(
                "{} made {} elements for a {other} result",
                self.kind.name(),
                values.data_type()
            ),
        }
    }

    /// Evaluates body `i` over `params` (one value per element) and the captured columns
    /// taken by `rows` (each element's row).
    fn eval(
        &self,
        i: usize,
        params: Vec<ArrayRef>,
        captured: &[ArrayRef],
        rows: &UInt32Array,
    ) -> Result<ArrayRef> {
        let mut columns = params;
        for c in captured {
            columns.push(take(c.as_ref(), rows, None)?);
        }
        let schema = Arc::clone(&self.schemas[i]);
        let columns = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    Ok(arrow::compute::cast(&c, f.data_type())?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new_with_options(
            schema,
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )?;
        self.bodies[i].evaluate(&batch)?.into_array(rows.len())
    }

    fn over_list(&self, list: &ArrayRef, captured: &[ArrayRef]) -> Result<ArrayRef> {
        let list = list.as_list::<i32>();
        let offsets = list.value_offsets();
        let (start, end) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
        let values = list.values().slice(start, end - start);
        let rows = parents(offsets);
        let mut params = vec![Arc::clone(&values)];
        if self.schemas[0].fields().len() > captured.len() + 1 {
            // The element's position, from 0.
            let positions: Int32Array = (0..list.len())
                .flat_map(|r| 0..(offsets[r + 1] - offsets[r]))
                .map(Some)
                .collect();
            params.push(Arc::new(positions));
        }
        let result = self.eval(0, params, captured, &rows)?;
        match self.kind {
            HigherOrder::Transform => {
                let field = self.list_field(&result)?;
                Ok(Arc::new(ListArray::try_new(
                    field,
                    rebased(offsets),
                    result,
                    list.nulls().cloned(),
                )?))
            }
            HigherOrder::Filter => {
                let keep = keep_mask(&result);
                let kept = filter(values.as_ref(), &keep)?;
                let mut new_offsets = Vec::with_capacity(offsets.len());
                new_offsets.push(0i32);
                let mut total = 0i32;
                for r in 0..list.len() {
                    let (a, b) = (
                        (offsets[r] - offsets[0]) as usize,
                        (offsets[r + 1] - offsets[0]) as usize,
                    );
                    total += keep.slice(a, b - a).true_count() as i32;
                    new_offsets.push(total);
                }
                let DataType::List(field) = list.data_type() else {
                    return exec_err!("filter over {}", list.data_type());
                };
                Ok(Arc::new(ListArray::try_new(
                    Arc::clone(field),
                    OffsetBuffer::new(ScalarBuffer::from(new_offsets)),
                    kept,
                    list.nulls().cloned(),
                )?))
            }
            _ => {
                // exists / forall, with Spark's three-valued logic: NULL when no element
                // decides and some is NULL.
                let result = result.as_boolean();
                let exists = self.kind == HigherOrder::Exists;
                let out: BooleanArray = (0..list.len())
                    .map(|r| {
                        if list.is_null(r) {
                            return None;
                        }
                        let (a, b) = (
                            (offsets[r] - offsets[0]) as usize,
                            (offsets[r + 1] - offsets[0]) as usize,
                        );
                        let mut saw_null = false;
                        for i in a..b {
                            if result.is_null(i) {
                                saw_null = true;
                            } else if result.value(i) == exists {
                                return Some(exists);
                            }
                        }
                        if saw_null {
                            None
                        } else {
                            Some(!exists)
                        }
                    })
                    .collect();
                Ok(Arc::new(out))
            }
        }
    }

    fn over_map(&self, map: &ArrayRef, captured: &[ArrayRef]) -> Result<ArrayRef> {
        let map = map.as_map();
        let offsets = map.value_offsets();
        let (start, end) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
        let keys = map.keys().slice(start, end - start);
        let values = map.values().slice(start, end - start);
        let rows = parents(offsets);
        let result = self.eval(
            0,
            vec![Arc::clone(&keys), Arc::clone(&values)],
            captured,
            &rows,
        )?;
        let DataType::Map(entries_field, sorted) = map.data_type() else {
            return exec_err!("{} over {}", self.kind.name(), map.data_type());
        };
        let DataType::Struct(entry_fields) = entries_field.data_type() else {
            return exec_err!("map entries of {}", entries_field.data_type());
        };
        let (new_offsets, keys, values) = match self.kind {
            HigherOrder::MapFilter => {
                let keep = keep_mask(&result);
                let mut new_offsets = vec![0i32];
                let mut total = 0i32;
                for r in 0..map.len() {
                    let (a, b) = (
                        (offsets[r] - offsets[0]) as usize,
                        (offsets[r + 1] - offsets[0]) as usize,
                    );
                    total += keep.slice(a, b - a).true_count() as i32;
                    new_offsets.push(total);
                }
                (
                    OffsetBuffer::new(ScalarBuffer::from(new_offsets)),
                    filter(keys.as_ref(), &keep)?,
                    filter(values.as_ref(), &keep)?,
                )
            }
            HigherOrder::TransformKeys => {
                check_keys(&result, offsets)?;
                (rebased(offsets), result, values)
            }
            _ => (rebased(offsets), keys, result),
        };
        let fields = vec![
            Arc::new(Field::new(
                entry_fields[0].name(),
                keys.data_type().clone(),
                false,
            )),
            Arc::new(Field::new(
                entry_fields[1].name(),
                values.data_type().clone(),
                true,
            )),
        ];
        let entries = StructArray::try_new(fields.clone().into(), vec![keys, values], None)?;
        let entries_field: FieldRef = Arc::new(Field::new(
            entries_field.name(),
            DataType::Struct(fields.into()),
            false,
        ));
        Ok(Arc::new(MapArray::try_new(
            entries_field,
            new_offsets,
            entries,
            map.nulls().cloned(),
            *sorted,
        )?))
    }

    fn zip_with(
        &self,
        left: &ArrayRef,
        right: &ArrayRef,
        captured: &[ArrayRef],
    ) -> Result<ArrayRef> {
        let (l, r) = (left.as_list::<i32>(), right.as_list::<i32>());
        let (lo, ro) = (l.value_offsets(), r.value_offsets());
        let mut offsets = vec![0i32];
        let (mut li, mut ri, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        let mut nulls = Vec::with_capacity(l.len());
        for row in 0..l.len() {
            let valid = l.is_valid(row) && r.is_valid(row);
            nulls.push(valid);
            let (ln, rn) = (lo[row + 1] - lo[row], ro[row + 1] - ro[row]);
            let n = if valid { ln.max(rn) } else { 0 };
            for i in 0..n {
                li.push((i < ln).then(|| (lo[row] + i) as u32));
                ri.push((i < rn).then(|| (ro[row] + i) as u32));
                rows.push(row as u32);
            }
            offsets.push(offsets[offsets.len() - 1] + n);
        }
        let xs = take(l.values().as_ref(), &UInt32Array::from(li), None)?;
        let ys = take(r.values().as_ref(), &UInt32Array::from(ri), None)?;
        let result = self.eval(0, vec![xs, ys], captured, &UInt32Array::from(rows))?;
        let field = self.list_field(&result)?;
        Ok(Arc::new(ListArray::try_new(
            field,
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            result,
            Some(nulls.into()),
        )?))
    }

    /// `aggregate(list, start, (acc, x) -> merge[, acc -> finish])`: position by position over
    /// the rows long enough, each step one evaluation of `merge`.
    fn aggregate(
        &self,
        list: &ArrayRef,
        start: &ArrayRef,
        captured: &[ArrayRef],
    ) -> Result<ArrayRef> {
        let list = list.as_list::<i32>();
        let offsets = list.value_offsets();
        let acc_type = self.schemas[0].field(0).data_type().clone();
        let mut acc = if start.data_type() == &acc_type {
            Arc::clone(start)
        } else {
            arrow::compute::cast(start, &acc_type)?
        };
        let longest = (0..list.len())
            .map(|r| offsets[r + 1] - offsets[r])
            .max()
            .unwrap_or(0);
        for k in 0..longest {
            let rows: Vec<u32> = (0..list.len())
                .filter(|&r| list.is_valid(r) && offsets[r + 1] - offsets[r] > k)
                .map(|r| r as u32)
                .collect();
            let elements = UInt32Array::from(
                rows.iter()
                    .map(|&r| (offsets[r as usize] + k) as u32)
                    .collect::<Vec<_>>(),
            );
            let rows = UInt32Array::from(rows);
            let acc_now = take(acc.as_ref(), &rows, None)?;
            let x = take(list.values().as_ref(), &elements, None)?;
            let merged = self.eval(0, vec![acc_now, x], captured, &rows)?;
            let merged = if merged.data_type() == &acc_type {
                merged
            } else {
                arrow::compute::cast(&merged, &acc_type)?
            };
            // Put each merged value back in its row.
            let mut position = vec![None; list.len()];
            for (i, &r) in rows.values().iter().enumerate() {
                position[r as usize] = Some(i);
            }
            let indices: Vec<(usize, usize)> = position
                .iter()
                .enumerate()
                .map(|(r, p)| match p {
                    Some(i) => (1, *i),
                    None => (0, r),
                })
                .collect();
            acc = arrow::compute::interleave(&[acc.as_ref(), merged.as_ref()], &indices)?;
        }
        // A NULL list makes a NULL result.
        if list.null_count() > 0 {
            let valid = BooleanArray::from(
                (0..list.len())
                    .map(|r| list.is_valid(r))
                    .collect::<Vec<_>>(),
            );
            acc = arrow::compute::nullif(&acc, &arrow::compute::not(&valid)?)?;
        }
        if self.bodies.len() > 1 {
            let all = UInt32Array::from((0..list.len() as u32).collect::<Vec<_>>());
            return self.eval(1, vec![acc], captured, &all);
        }
        Ok(acc)
    }
}

/// True where a predicate is true (NULL counts as false).
fn keep_mask(result: &ArrayRef) -> BooleanArray {
    let b = result.as_boolean();
    BooleanArray::from(
        (0..b.len())
            .map(|i| b.is_valid(i) && b.value(i))
            .collect::<Vec<_>>(),
    )
}

/// `transform_keys` may not make a NULL key or the same key twice in a map (Spark's default
/// `spark.sql.mapKeyDedupPolicy`, EXCEPTION).
fn check_keys(keys: &ArrayRef, offsets: &[i32]) -> Result<()> {
    if keys.null_count() > 0 {
        return exec_err!("[NULL_MAP_KEY] Cannot use null as map key.");
    }
    let converter =
        arrow::row::RowConverter::new(vec![arrow::row::SortField::new(keys.data_type().clone())])?;
    let rows = converter.convert_columns(&[Arc::clone(keys)])?;
    for r in 0..offsets.len() - 1 {
        let (a, b) = (
            (offsets[r] - offsets[0]) as usize,
            (offsets[r + 1] - offsets[0]) as usize,
        );
        let mut seen = std::collections::HashSet::new();
        for i in a..b {
            if !seen.insert(rows.row(i)) {
                let key = ScalarValue::try_from_array(keys.as_ref(), i)?;
                return exec_err!(
                    "[DUPLICATED_MAP_KEY] Duplicate map key {key} was found, please check the input data."
                );
            }
        }
    }
    Ok(())
}
