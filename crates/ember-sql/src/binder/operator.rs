//! Operators: unary and binary arithmetic, comparison and logic with Spark's type coercion,
//! division and integer overflow as Spark's ANSI and legacy modes define them.

use arrow::datatypes::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion_expr::{BinaryExpr, Expr, ExprSchemable, Operator};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::expr::cast_to;
use super::literal::literal;
use super::Binder;
use crate::error::error_at;
use crate::functions::ansi::{self, Overflow};
use crate::functions::decimal::DecimalOp;
use crate::types::spark_type_name;

impl Binder<'_> {
    pub(crate) fn bind_unary(
        &mut self,
        op: ast::UnaryOperator,
        operand: &ast::Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        match op {
            ast::UnaryOperator::Not | ast::UnaryOperator::BangNot => {
                Ok(Expr::Not(Box::new(self.bind_boolean(operand, schema)?)))
            }
            ast::UnaryOperator::Plus => self.bind_expr(operand, schema),
            ast::UnaryOperator::Minus => {
                if let ast::Expr::Value(v) = operand {
                    if let ast::Value::Number(n, long) = &v.value {
                        return literal(&ast::Value::Number(format!("-{n}"), *long), node);
                    }
                }
                let v = self.bind_expr(operand, schema)?;
                let t = v.get_type(schema)?;
                if !(t.is_numeric() || matches!(t, DataType::Interval(_) | DataType::Null)) {
                    return Err(error_at(
                        node,
                        format!("Cannot negate '{operand}' of type {}", spark_type_name(&t)),
                    ));
                }
                if t.is_null() {
                    // Spark reads an untyped NULL operand as a double: -NULL is a NULL double.
                    return Ok(Expr::Negative(Box::new(cast_to(
                        v,
                        &DataType::Float64,
                        schema,
                    )?)));
                }
                if matches!(
                    t,
                    DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
                ) {
                    // Spark's negation wraps in legacy mode and fails on the smallest value in ANSI.
                    let overflow = if self.conf.get_bool("ember.sql.ansi.enabled") {
                        Overflow::Fail
                    } else {
                        Overflow::Wrap
                    };
                    let udf = ansi::arithmetic(ansi::ArithOp::Negate, overflow).into_udf();
                    return Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, vec![v])));
                }
                Ok(Expr::Negative(Box::new(v)))
            }
            other => Err(EmberError::NotSupported(format!("the operator {other}"))),
        }
    }

    pub(crate) fn bind_binary(
        &mut self,
        l: Expr,
        op: &ast::BinaryOperator,
        r: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let op = match op {
            B::Plus => Operator::Plus,
            B::Minus => Operator::Minus,
            B::Multiply => Operator::Multiply,
            B::Divide => return self.bind_divide(l, r, schema, node),
            B::Modulo => {
                let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
                if let Some(bound) = decimal_arithmetic(DecimalOp::Remainder, &l, &r, ansi, schema)?
                {
                    return Ok(bound);
                }
                let r = self.guard_divisor(r, schema)?;
                return self.coerce_binary(l, Operator::Modulo, r, schema, node);
            }
            B::Eq => Operator::Eq,
            B::NotEq => Operator::NotEq,
            B::Lt => Operator::Lt,
            B::LtEq => Operator::LtEq,
            B::Gt => Operator::Gt,
            B::GtEq => Operator::GtEq,
            B::Spaceship => Operator::IsNotDistinctFrom,
            B::And => Operator::And,
            B::Or => Operator::Or,
            B::StringConcat => return self.call_scalar("concat", vec![l, r], schema, node),
            B::MyIntegerDivide | B::DuckIntegerDivide => {
                let lt = l.get_type(schema)?;
                let rt = r.get_type(schema)?;
                if !(lt.is_integer() || lt.is_null()) || !(rt.is_integer() || rt.is_null()) {
                    return Err(error_at(
                        node,
                        format!(
                            "div needs integral operands, got {} and {}",
                            spark_type_name(&lt),
                            spark_type_name(&rt)
                        ),
                    ));
                }
                let l = cast_to(l, &DataType::Int64, schema)?;
                let r = self.guard_divisor(cast_to(r, &DataType::Int64, schema)?, schema)?;
                return self.coerce_binary(l, Operator::Divide, r, schema, node);
            }
            B::BitwiseAnd => Operator::BitwiseAnd,
            B::BitwiseOr => Operator::BitwiseOr,
            B::BitwiseXor => Operator::BitwiseXor,
            other => {
                return Err(EmberError::NotSupported(format!(
                    "the operator {other} in '{node}'"
                )))
            }
        };
        if matches!(op, Operator::And | Operator::Or) {
            // Spark casts no numbers to boolean implicitly: `1 AND true` is a type error.
            for side in [&l, &r] {
                let t = side.get_type(schema)?;
                let operand = side.human_display();
                if !matches!(
                    t,
                    DataType::Boolean
                        | DataType::Null
                        | DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                ) {
                    return Err(error_at(
                        node,
                        format!(
                            "{op} needs boolean operands, but '{operand}' is {} in '{node}'; compare it, e.g. {operand} <> 0",
                            crate::types::spark_type_name(&t)
                        ),
                    ));
                }
            }
            let l = cast_to(l, &DataType::Boolean, schema)
                .map_err(|_| error_at(node, format!("{op} needs boolean operands in '{node}'")))?;
            let r = cast_to(r, &DataType::Boolean, schema)
                .map_err(|_| error_at(node, format!("{op} needs boolean operands in '{node}'")))?;
            return Ok(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(l),
                op,
                Box::new(r),
            )));
        }
        let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
        let overflow = if ansi { Overflow::Fail } else { Overflow::Wrap };
        self.bind_arithmetic(l, op, r, overflow, schema, node)
    }

    /// `l op r` for `+`, `-`, `*` (and comparisons, which only coerce) with Spark's
    /// semantics: decimals (and integers next to a decimal) in Spark's decimal arithmetic,
    /// integers checked for overflow as `overflow` says.
    pub(crate) fn bind_arithmetic(
        &mut self,
        l: Expr,
        op: Operator,
        r: Expr,
        overflow: Overflow,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let decimal_op = match op {
            Operator::Plus => Some(DecimalOp::Add),
            Operator::Minus => Some(DecimalOp::Subtract),
            Operator::Multiply => Some(DecimalOp::Multiply),
            _ => None,
        };
        if let Some(decimal_op) = decimal_op {
            let ansi = overflow == Overflow::Fail;
            if let Some(bound) = decimal_arithmetic(decimal_op, &l, &r, ansi, schema)? {
                return Ok(bound);
            }
        }
        let bound = self.coerce_binary(l, op, r, schema, node)?;
        integer_overflow(bound, overflow, schema)
    }

    /// Under ANSI mode a zero divisor is an error (Spark's DIVIDE_BY_ZERO); otherwise NULL.
    fn guard_divisor(&mut self, divisor: Expr, schema: &DFSchema) -> Result<Expr> {
        let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
        self.guard_divisor_with(divisor, ansi, schema)
    }

    fn guard_divisor_with(&mut self, divisor: Expr, ansi: bool, schema: &DFSchema) -> Result<Expr> {
        if ansi {
            return Ok(Expr::ScalarFunction(
                datafusion_expr::expr::ScalarFunction::new_udf(
                    crate::functions::CheckDivisor::udf(),
                    vec![divisor],
                ),
            ));
        }
        let zero = ScalarValue::new_zero(&divisor.get_type(schema)?).unwrap_or(ScalarValue::Null);
        let udf = super::function::FunctionRegistry::global()
            .scalar("nullif")
            .ok_or_else(|| EmberError::internal("nullif is not registered"))?;
        Ok(Expr::ScalarFunction(
            datafusion_expr::expr::ScalarFunction::new_udf(
                udf,
                vec![divisor, Expr::Literal(zero, None)],
            ),
        ))
    }

    /// Spark's `/`: integral and floating operands divide as double; decimals stay decimal.
    fn bind_divide(
        &mut self,
        l: Expr,
        r: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
        self.bind_divide_with(l, r, ansi, schema, node)
    }

    /// `/` failing on a zero divisor (`ansi`) or returning NULL (legacy mode, `try_divide`).
    pub(crate) fn bind_divide_with(
        &mut self,
        l: Expr,
        r: Expr,
        ansi: bool,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        if let Some(bound) = decimal_arithmetic(DecimalOp::Divide, &l, &r, ansi, schema)? {
            return Ok(bound);
        }
        let r = self.guard_divisor_with(r, ansi, schema)?;
        let lt = l.get_type(schema)?;
        let rt = r.get_type(schema)?;
        let l = cast_to(l, &DataType::Float64, schema).map_err(|_| type_error(node, &lt, &rt))?;
        let r = cast_to(r, &DataType::Float64, schema).map_err(|_| type_error(node, &lt, &rt))?;
        self.coerce_binary(l, Operator::Divide, r, schema, node)
    }

    pub(crate) fn coerce_binary(
        &mut self,
        l: Expr,
        op: Operator,
        r: Expr,
        schema: &DFSchema,
        node: &ast::Expr,
    ) -> Result<Expr> {
        let lt = l.get_type(schema)?;
        let rt = r.get_type(schema)?;
        let (lt2, rt2) = BinaryTypeCoercer::new(&lt, &op, &rt)
            .get_input_types()
            .map_err(|_| type_error(node, &lt, &rt))?;
        Ok(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(cast_to(l, &lt2, schema)?),
            op,
            Box::new(cast_to(r, &rt2, schema)?),
        )))
    }
}

/// Integer `+`, `-` and `*` with Spark's overflow behaviour: `bound` is a coerced binary
/// expression; when both sides are one signed integer type it becomes a checked call (ANSI
/// fails naming the values, `try_*` returns NULL). Wrapping keeps the plain operator.
pub(crate) fn integer_overflow(bound: Expr, overflow: Overflow, schema: &DFSchema) -> Result<Expr> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &bound else {
        return Ok(bound);
    };
    let arith = match op {
        Operator::Plus => ansi::ArithOp::Add,
        Operator::Minus => ansi::ArithOp::Subtract,
        Operator::Multiply => ansi::ArithOp::Multiply,
        _ => return Ok(bound),
    };
    let lt = left.get_type(schema)?;
    let signed = matches!(
        lt,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    );
    if overflow == Overflow::Wrap || !signed || lt != right.get_type(schema)? {
        return Ok(bound);
    }
    let udf = ansi::arithmetic(arith, overflow).into_udf();
    Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
        udf,
        vec![left.as_ref().clone(), right.as_ref().clone()],
    )))
}

/// Spark's decimal view of an operand next to a decimal: a decimal keeps its type, an
/// integer literal takes the digits it needs (`10` is decimal(2,0)), another integer its
/// type's width (int is decimal(10,0), bigint decimal(20,0)). `None` for other types.
fn decimal_view(expr: &Expr, t: &DataType) -> Option<(u8, i8)> {
    if let Expr::Literal(value, _) = expr {
        let digits = match value {
            ScalarValue::Int8(Some(v)) => Some(v.unsigned_abs().to_string().len()),
            ScalarValue::Int16(Some(v)) => Some(v.unsigned_abs().to_string().len()),
            ScalarValue::Int32(Some(v)) => Some(v.unsigned_abs().to_string().len()),
            ScalarValue::Int64(Some(v)) => Some(v.unsigned_abs().to_string().len()),
            _ => None,
        };
        if let Some(digits) = digits {
            return Some((digits as u8, 0));
        }
    }
    match t {
        DataType::Decimal128(p, s) => Some((*p, *s)),
        DataType::Int8 => Some((3, 0)),
        DataType::Int16 => Some((5, 0)),
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((20, 0)),
        _ => None,
    }
}

/// `l op r` in Spark's decimal arithmetic when one side is a decimal and the other a decimal
/// or an integer (see [`crate::functions::decimal`]); `None` otherwise.
fn decimal_arithmetic(
    op: DecimalOp,
    l: &Expr,
    r: &Expr,
    ansi: bool,
    schema: &DFSchema,
) -> Result<Option<Expr>> {
    let (lt, rt) = (l.get_type(schema)?, r.get_type(schema)?);
    if !matches!(lt, DataType::Decimal128(..)) && !matches!(rt, DataType::Decimal128(..)) {
        return Ok(None);
    }
    let (Some(left), Some(right)) = (decimal_view(l, &lt), decimal_view(r, &rt)) else {
        return Ok(None);
    };
    let (precision, scale) = op.result_type(left, right);
    let l = cast_to(l.clone(), &DataType::Decimal128(left.0, left.1), schema)?;
    let r = cast_to(r.clone(), &DataType::Decimal128(right.0, right.1), schema)?;
    let udf = crate::functions::decimal::decimal_arithmetic(op, ansi).into_udf();
    Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(
        udf,
        vec![
            l,
            r,
            Expr::Literal(ScalarValue::Decimal128(None, precision, scale), None),
        ],
    ))))
}

pub(crate) fn type_error(node: &ast::Expr, left: &DataType, right: &DataType) -> EmberError {
    error_at(
        node,
        format!(
            "Cannot apply '{node}' to {} and {}; cast one side, e.g. CAST(x AS {})",
            spark_type_name(left),
            spark_type_name(right),
            spark_type_name(left).to_uppercase()
        ),
    )
}
