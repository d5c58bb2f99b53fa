//! `arith_chain`: a long chain of `+`, `-` and `*` (`a + b - c * d ...`: the left spine of
//! Spark's left-deep tree of binary operations) as one n-ary call that folds its operands left to right, each step
//! computed exactly as the binary operation it replaces (the same types, the same ANSI
//! overflow checks, the same decimal rounding).
//!
//! A 3,000-term sum bound as 3,000 nested calls is 3,000 levels deep: DataFusion builds each
//! node's name from its children's (quadratic work at every plan change), evaluation and the
//! task wire format recurse as deep. As one call it is one level, whatever its length.
//!
//! ```text
//! arith_chain('+i+i-l', NULL::bigint, e0, e1, e2, e3)
//!   = ((e0 +[int] e1) +[int] e2) -[bigint] e3
//! ```
//!
//! The first argument spells the steps: for each, `+` or `-` and the step's type: `b` `s` `i`
//! `l` (tinyint to bigint, checked under ANSI mode and wrapping otherwise), `f` / `d` (float,
//! double), `D<p>,<s>;` (decimal(p, s), Spark's decimal arithmetic). The second is a NULL of
//! the result type. Each operand arrives already cast to its step's operand type.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::kernels::numeric;
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Int16Type, Int32Type, Int64Type, Int8Type};
use datafusion_common::{exec_err, plan_err, Result, ScalarValue};

use super::ansi::{integer_op, ArithOp, Overflow};
use super::decimal::{decimal_arithmetic, DecimalOp};
use super::SparkUdf;

/// The fewest operands a chain needs before the binder folds it into one call: shorter
/// ones stay nested binary operations, as EXPLAIN shows them.
pub const MIN_CHAIN_OPERANDS: usize = 32;

/// The operation of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainOp {
    Add,
    Subtract,
    Multiply,
}

/// One step of a chain: `acc op operand`, computed in `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainStep {
    pub op: ChainOp,
    pub kind: StepKind,
}

/// The arithmetic a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// A signed integer type (checked under ANSI mode, wrapping otherwise).
    Integer(DataType),
    /// float or double.
    Floating(DataType),
    /// Spark's decimal arithmetic into decimal(p, s), the running value first cast to
    /// decimal(p1, s1) (its decimal view).
    Decimal { p: u8, s: i8, p1: u8, s1: i8 },
}

impl StepKind {
    /// The type the step produces.
    pub fn result_type(&self) -> DataType {
        match self {
            StepKind::Integer(t) | StepKind::Floating(t) => t.clone(),
            StepKind::Decimal { p, s, .. } => DataType::Decimal128(*p, *s),
        }
    }
}

/// The first argument of `arith_chain` for `steps`.
pub fn spell(steps: &[ChainStep]) -> String {
    let mut out = String::new();
    for step in steps {
        out.push(match step.op {
            ChainOp::Add => '+',
            ChainOp::Subtract => '-',
            ChainOp::Multiply => '*',
        });
        match &step.kind {
            StepKind::Integer(DataType::Int8) => out.push('b'),
            StepKind::Integer(DataType::Int16) => out.push('s'),
            StepKind::Integer(DataType::Int32) => out.push('i'),
            StepKind::Integer(_) => out.push('l'),
            StepKind::Floating(DataType::Float32) => out.push('f'),
            StepKind::Floating(_) => out.push('d'),
            StepKind::Decimal { p, s, p1, s1 } => out.push_str(&format!("D{p},{s},{p1},{s1};")),
        }
    }
    out
}

/// The steps a spelling describes.
pub fn parse(spelling: &str) -> Result<Vec<ChainStep>> {
    let mut steps = Vec::new();
    let mut chars = spelling.chars().peekable();
    while let Some(op) = chars.next() {
        let op = match op {
            '+' => ChainOp::Add,
            '-' => ChainOp::Subtract,
            '*' => ChainOp::Multiply,
            other => return plan_err!("arith_chain: '{other}' is not +, - or *"),
        };
        let kind = match chars.next() {
            Some('b') => StepKind::Integer(DataType::Int8),
            Some('s') => StepKind::Integer(DataType::Int16),
            Some('i') => StepKind::Integer(DataType::Int32),
            Some('l') => StepKind::Integer(DataType::Int64),
            Some('f') => StepKind::Floating(DataType::Float32),
            Some('d') => StepKind::Floating(DataType::Float64),
            Some('D') => {
                let spec: String = chars.by_ref().take_while(|c| *c != ';').collect();
                let numbers: Vec<i16> = spec.split(',').filter_map(|n| n.parse().ok()).collect();
                let [p, s, p1, s1] = numbers.as_slice() else {
                    return plan_err!("arith_chain: bad decimal step 'D{spec}'");
                };
                StepKind::Decimal {
                    p: *p as u8,
                    s: *s as i8,
                    p1: *p1 as u8,
                    s1: *s1 as i8,
                }
            }
            other => return plan_err!("arith_chain: bad step type {other:?}"),
        };
        steps.push(ChainStep { op, kind });
    }
    Ok(steps)
}

/// The function; `ansi` decides between an error and wrapping (integers) or NULL (decimals)
/// on overflow.
pub fn arith_chain(ansi: bool) -> SparkUdf {
    SparkUdf::new(
        "arith_chain",
        (4, usize::MAX),
        |t| Ok(t.to_vec()),
        |t| match t.get(1) {
            Some(t) => Ok(t.clone()),
            None => plan_err!("arith_chain takes its steps, a NULL of its type and operands"),
        },
        chain_kernel,
    )
    .with_ansi(ansi)
}

fn chain_kernel(udf: &SparkUdf, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let spelling = match args.first().map(|a| ScalarValue::try_from_array(a, 0)) {
        Some(Ok(ScalarValue::Utf8(Some(s)))) => s,
        _ => return exec_err!("arith_chain needs its steps as a string"),
    };
    let steps = parse(&spelling)?;
    let operands = &args[2.min(args.len())..];
    if operands.len() != steps.len() + 1 {
        return exec_err!(
            "arith_chain has {} steps but {} operands",
            steps.len(),
            operands.len()
        );
    }
    let mut acc = Arc::clone(&operands[0]);
    for (step, operand) in steps.iter().zip(&operands[1..]) {
        acc = apply_step(udf.ansi, step, &acc, operand, rows)?;
    }
    Ok(acc)
}

/// `acc op operand` as the binary operation of `step` computes it.
fn apply_step(
    ansi: bool,
    step: &ChainStep,
    acc: &ArrayRef,
    operand: &ArrayRef,
    rows: usize,
) -> Result<ArrayRef> {
    match &step.kind {
        StepKind::Integer(t) => {
            let acc = cast_exactly(acc, t)?;
            let operand = cast_exactly(operand, t)?;
            let op = match step.op {
                ChainOp::Add => ArithOp::Add,
                ChainOp::Subtract => ArithOp::Subtract,
                ChainOp::Multiply => ArithOp::Multiply,
            };
            let overflow = if ansi { Overflow::Fail } else { Overflow::Wrap };
            let b = Some(&operand);
            match t {
                DataType::Int8 => integer_op::<Int8Type>(op, overflow, &acc, b),
                DataType::Int16 => integer_op::<Int16Type>(op, overflow, &acc, b),
                DataType::Int32 => integer_op::<Int32Type>(op, overflow, &acc, b),
                _ => integer_op::<Int64Type>(op, overflow, &acc, b),
            }
        }
        StepKind::Floating(t) => {
            let acc = cast_exactly(acc, t)?;
            let operand = cast_exactly(operand, t)?;
            Ok(match step.op {
                ChainOp::Add => numeric::add(&acc, &operand)?,
                ChainOp::Subtract => numeric::sub(&acc, &operand)?,
                ChainOp::Multiply => numeric::mul(&acc, &operand)?,
            })
        }
        StepKind::Decimal { p, s, p1, s1 } => {
            let acc = cast_exactly(acc, &DataType::Decimal128(*p1, *s1))?;
            let op = match step.op {
                ChainOp::Add => DecimalOp::Add,
                ChainOp::Subtract => DecimalOp::Subtract,
                ChainOp::Multiply => DecimalOp::Multiply,
            };
            let udf = decimal_arithmetic(op, ansi);
            let result = ScalarValue::Decimal128(None, *p, *s).to_array_of_size(rows)?;
            super::decimal::kernel(&udf, &[acc, Arc::clone(operand), result], rows)
        }
    }
}

/// `array` as `to`, for the widening casts a step's operands take (exact: integers to a
/// wider integer or to a floating type, float to double).
fn cast_exactly(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    if array.data_type() == to {
        return Ok(Arc::clone(array));
    }
    Ok(cast_with_options(array, to, &CastOptions::default())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Float64Array, Int32Array, StringArray};

    fn run(
        ansi: bool,
        steps: &[ChainStep],
        result: DataType,
        operands: Vec<ArrayRef>,
    ) -> Result<ArrayRef> {
        let rows = operands[0].len();
        let mut args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![spell(steps); rows])),
            ScalarValue::try_from(&result)?.to_array_of_size(rows)?,
        ];
        args.extend(operands);
        chain_kernel(&arith_chain(ansi), &args, rows)
    }

    #[test]
    fn spellings_round_trip() {
        let steps = vec![
            ChainStep {
                op: ChainOp::Add,
                kind: StepKind::Integer(DataType::Int32),
            },
            ChainStep {
                op: ChainOp::Subtract,
                kind: StepKind::Decimal {
                    p: 12,
                    s: 2,
                    p1: 10,
                    s1: 0,
                },
            },
            ChainStep {
                op: ChainOp::Add,
                kind: StepKind::Floating(DataType::Float64),
            },
        ];
        assert_eq!(spell(&steps), "+i-D12,2,10,0;+d");
        assert_eq!(parse(&spell(&steps)).unwrap(), steps);
    }

    #[test]
    fn integer_steps_overflow_where_the_nested_operations_would() {
        let int = |v: Vec<i32>| Arc::new(Int32Array::from(v)) as ArrayRef;
        let step = |op| ChainStep {
            op,
            kind: StepKind::Integer(DataType::Int32),
        };
        // (MAX + 1) - 1 overflows at the first step, left to right, even though the total fits.
        let err = run(
            true,
            &[step(ChainOp::Add), step(ChainOp::Subtract)],
            DataType::Int32,
            vec![int(vec![i32::MAX]), int(vec![1]), int(vec![1])],
        )
        .unwrap_err();
        assert!(err.to_string().contains("ARITHMETIC_OVERFLOW"), "{err}");
        let ok = run(
            true,
            &[step(ChainOp::Subtract), step(ChainOp::Add)],
            DataType::Int32,
            vec![int(vec![i32::MAX]), int(vec![1]), int(vec![1])],
        )
        .unwrap();
        assert_eq!(
            ok.as_any().downcast_ref::<Int32Array>().unwrap().value(0),
            i32::MAX
        );
        let wrapped = run(
            false,
            &[step(ChainOp::Add)],
            DataType::Int32,
            vec![int(vec![i32::MAX]), int(vec![1])],
        )
        .unwrap();
        assert_eq!(
            wrapped
                .as_any()
                .downcast_ref::<Int32Array>()
                .unwrap()
                .value(0),
            i32::MIN
        );
    }

    #[test]
    fn decimal_and_double_steps() {
        let dec = |v: i128| {
            Arc::new(
                Decimal128Array::from(vec![v])
                    .with_precision_and_scale(3, 2)
                    .unwrap(),
            ) as ArrayRef
        };
        let steps = [
            ChainStep {
                op: ChainOp::Add,
                kind: StepKind::Decimal {
                    p: 4,
                    s: 2,
                    p1: 3,
                    s1: 2,
                },
            },
            ChainStep {
                op: ChainOp::Subtract,
                kind: StepKind::Decimal {
                    p: 5,
                    s: 2,
                    p1: 4,
                    s1: 2,
                },
            },
        ];
        let out = run(
            true,
            &steps,
            DataType::Decimal128(5, 2),
            vec![dec(150), dec(225), dec(100)],
        )
        .unwrap();
        assert_eq!(
            ScalarValue::try_from_array(&out, 0).unwrap().to_string(),
            "2.75"
        );
        let double = |v: f64| Arc::new(Float64Array::from(vec![v])) as ArrayRef;
        let steps = vec![
            ChainStep {
                op: ChainOp::Add,
                kind: StepKind::Floating(DataType::Float64)
            };
            2
        ];
        let out = run(
            true,
            &steps,
            DataType::Float64,
            vec![double(0.1), double(0.2), double(0.3)],
        )
        .unwrap();
        assert_eq!(
            out.as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .value(0),
            (0.1 + 0.2) + 0.3
        );
    }
}
