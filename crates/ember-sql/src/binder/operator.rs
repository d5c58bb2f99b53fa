//! Operators: unary and binary arithmetic, comparison and logic with Spark's type coercion,
//! division and integer overflow as Spark's ANSI and legacy modes define them.

use arrow::datatypes::DataType;
use datafusion_common::{DFSchema, ScalarValue};
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion_expr::{BinaryExpr, Expr, Operator};
use ember_common::{EmberError, Result};
use sqlparser::ast;

use super::expr::{cast_to, comparable};
use super::literal::literal;
use super::typing::ExprType;
use super::Binder;
use crate::error::error_at;
use crate::functions::ansi::{self, Overflow};
use crate::functions::chain::{self, ChainOp, ChainStep, StepKind, MIN_CHAIN_OPERANDS};
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
                let t = v.fast_type(schema)?;
                if !(t.is_numeric()
                    || matches!(
                        t,
                        DataType::Interval(_) | DataType::Duration(_) | DataType::Null
                    ))
                {
                    return Err(error_at(
                        node,
                        format!("Cannot negate '{operand}' of type {}", spark_type_name(&t)),
                    ));
                }
                if crate::functions::interval::is_year_month(&t)
                    || crate::functions::interval::is_day_time(&t)
                {
                    return Ok(super::interval::negate_interval(v, &t, schema));
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
        let interval_op = match op {
            B::Plus => Some(Operator::Plus),
            B::Minus => Some(Operator::Minus),
            B::Multiply => Some(Operator::Multiply),
            B::Divide => Some(Operator::Divide),
            B::Eq => Some(Operator::Eq),
            B::NotEq => Some(Operator::NotEq),
            B::Lt => Some(Operator::Lt),
            B::LtEq => Some(Operator::LtEq),
            B::Gt => Some(Operator::Gt),
            B::GtEq => Some(Operator::GtEq),
            B::Spaceship => Some(Operator::IsNotDistinctFrom),
            _ => None,
        };
        if matches!(
            op,
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Spaceship
        ) {
            for side in [&l, &r] {
                let t = side.fast_type(schema)?;
                if !crate::types::is_orderable(&t) {
                    return Err(error_at(
                        node,
                        format!(
                            "[DATATYPE_MISMATCH.INVALID_ORDERING_TYPE] Cannot resolve \"{node}\" due to data type mismatch: The `{op}` does not support ordering on type \"{}\"",
                            crate::types::spark_type_sql(&t)
                        ),
                    ));
                }
            }
        }
        if let Some(interval_op) = interval_op {
            if let Some(bound) = self.bind_interval_arithmetic(&l, interval_op, &r, schema, node)? {
                return Ok(bound);
            }
        }
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
                let lt = l.fast_type(schema)?;
                let rt = r.fast_type(schema)?;
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
            let l = boolean_operand(l, op, schema, node)?;
            let r = boolean_operand(r, op, schema, node)?;
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

    /// A long chain of one operator bound without recursing along it (see
    /// [`crate::functions::chain`]): `e0 + e1 - e2 * e3 ...` as one `arith_chain` call, `a AND b AND
    /// ...` (or OR) as a balanced tree, which means the same. `None` for a short chain, or an
    /// arithmetic chain whose steps are not all integer, floating or decimal arithmetic: those
    /// bind as nested binary operations.
    pub(crate) fn bind_long_chain(
        &mut self,
        expr: &ast::Expr,
        schema: &DFSchema,
    ) -> Result<Option<Expr>> {
        use ast::BinaryOperator as B;
        let ast::Expr::BinaryOp { op, .. } = expr else {
            return Ok(None);
        };
        match op {
            B::Plus | B::Minus | B::Multiply => self.bind_arithmetic_chain(expr, schema),
            B::And | B::Or => self.bind_logical_chain(expr, op, schema),
            B::StringConcat => self.bind_concat_chain(expr, schema),
            _ => Ok(None),
        }
    }

    fn bind_arithmetic_chain(
        &mut self,
        expr: &ast::Expr,
        schema: &DFSchema,
    ) -> Result<Option<Expr>> {
        use ast::BinaryOperator as B;
        // The left spine: ((e0 op1 e1) op2 e2) ...
        let mut operands: Vec<(ChainOp, &ast::Expr)> = Vec::new();
        let mut node = expr;
        while let ast::Expr::BinaryOp {
            left,
            op: op @ (B::Plus | B::Minus | B::Multiply),
            right,
        } = node
        {
            let op = match op {
                B::Plus => ChainOp::Add,
                B::Minus => ChainOp::Subtract,
                _ => ChainOp::Multiply,
            };
            operands.push((op, right));
            node = left;
        }
        if operands.len() + 1 < MIN_CHAIN_OPERANDS {
            return Ok(None);
        }
        operands.reverse();
        let first = self.bind_expr(node, schema)?;
        let mut bound = Vec::with_capacity(operands.len());
        for (op, operand) in &operands {
            bound.push((*op, self.bind_expr(operand, schema)?));
        }
        let ansi = self.conf.get_bool("ember.sql.ansi.enabled");
        // Each step as the nested binary operation would compute it.
        let mut steps = Vec::with_capacity(bound.len());
        let mut args = Vec::with_capacity(bound.len() + 1);
        let mut acc_type = first.fast_type(schema)?;
        let mut first = Some(first);
        for (chain_op, operand) in bound {
            let operand_type = operand.fast_type(schema)?;
            let op = match chain_op {
                ChainOp::Add => Operator::Plus,
                ChainOp::Subtract => Operator::Minus,
                ChainOp::Multiply => Operator::Multiply,
            };
            let decimal = matches!(acc_type, DataType::Decimal128(..))
                || matches!(operand_type, DataType::Decimal128(..));
            let acc_view = match &first {
                Some(e) => decimal_view(e, &acc_type),
                None => decimal_view(&Expr::Literal(ScalarValue::Null, None), &acc_type),
            };
            let (kind, acc_cast, operand_cast) =
                match (decimal, acc_view, decimal_view(&operand, &operand_type)) {
                    (true, Some(left), Some(right)) => {
                        let decimal_op = match chain_op {
                            ChainOp::Add => DecimalOp::Add,
                            ChainOp::Subtract => DecimalOp::Subtract,
                            ChainOp::Multiply => DecimalOp::Multiply,
                        };
                        let (p, s) = decimal_op.result_type(left, right);
                        (
                            StepKind::Decimal {
                                p,
                                s,
                                p1: left.0,
                                s1: left.1,
                            },
                            DataType::Decimal128(left.0, left.1),
                            DataType::Decimal128(right.0, right.1),
                        )
                    }
                    _ => {
                        let Ok((l, r)) =
                            BinaryTypeCoercer::new(&acc_type, &op, &operand_type).get_input_types()
                        else {
                            return Ok(None);
                        };
                        let kind = match &l {
                            DataType::Int8
                            | DataType::Int16
                            | DataType::Int32
                            | DataType::Int64
                                if l == r =>
                            {
                                StepKind::Integer(l.clone())
                            }
                            DataType::Float32 | DataType::Float64 if l == r => {
                                StepKind::Floating(l.clone())
                            }
                            _ => return Ok(None),
                        };
                        (kind, l, r)
                    }
                };
            if let Some(e) = first.take() {
                args.push(cast_to(e, &acc_cast, schema)?);
            }
            args.push(cast_to(operand, &operand_cast, schema)?);
            acc_type = kind.result_type();
            steps.push(ChainStep { op: chain_op, kind });
        }
        let mut call_args = vec![
            Expr::Literal(ScalarValue::Utf8(Some(chain::spell(&steps))), None),
            Expr::Literal(ScalarValue::try_from(&acc_type)?, None),
        ];
        call_args.extend(args);
        Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(
            chain::arith_chain(ansi).into_udf(),
            call_args,
        ))))
    }

    /// `a || b || c ...` as one `concat(a, b, c, ...)`, which Spark's CombineConcats makes of it
    /// too (NULL if any operand is NULL).
    fn bind_concat_chain(&mut self, expr: &ast::Expr, schema: &DFSchema) -> Result<Option<Expr>> {
        let operands = chain_operands(expr, &ast::BinaryOperator::StringConcat);
        if operands.len() < MIN_CHAIN_OPERANDS {
            return Ok(None);
        }
        let bound = operands
            .into_iter()
            .map(|operand| self.bind_expr(operand, schema))
            .collect::<Result<Vec<_>>>()?;
        self.call_scalar("concat", bound, schema, expr).map(Some)
    }

    fn bind_logical_chain(
        &mut self,
        expr: &ast::Expr,
        op: &ast::BinaryOperator,
        schema: &DFSchema,
    ) -> Result<Option<Expr>> {
        let operands = chain_operands(expr, op);
        if operands.len() < MIN_CHAIN_OPERANDS {
            return Ok(None);
        }
        let operator = if *op == ast::BinaryOperator::And {
            Operator::And
        } else {
            Operator::Or
        };
        let mut bound = Vec::with_capacity(operands.len());
        for operand in operands {
            let e = self.bind_expr(operand, schema)?;
            bound.push(boolean_operand(e, operator, schema, expr)?);
        }
        Ok(Some(balanced(bound, operator)))
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
        let zero = ScalarValue::new_zero(&divisor.fast_type(schema)?).unwrap_or(ScalarValue::Null);
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
        let lt = l.fast_type(schema)?;
        let rt = r.fast_type(schema)?;
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
        let lt = l.fast_type(schema)?;
        let rt = r.fast_type(schema)?;
        let comparison = matches!(
            op,
            Operator::Eq
                | Operator::NotEq
                | Operator::Lt
                | Operator::LtEq
                | Operator::Gt
                | Operator::GtEq
                | Operator::IsDistinctFrom
                | Operator::IsNotDistinctFrom
        );
        // Numbers compare as Spark widens them (a decimal next to a double as doubles);
        // other pairs as DataFusion coerces them.
        let spark_numeric = (comparison && lt.is_numeric() && rt.is_numeric())
            .then(|| super::coercion::comparison_type(&lt, &rt))
            .flatten();
        let (lt2, rt2) = match spark_numeric {
            Some(t) => (t.clone(), t),
            None => BinaryTypeCoercer::new(&lt, &op, &rt)
                .get_input_types()
                .map_err(|_| type_error(node, &lt, &rt))?,
        };
        let (mut l, mut r) = (cast_to(l, &lt2, schema)?, cast_to(r, &rt2, schema)?);
        if comparison {
            // Spark compares doubles with -0.0 = 0.0 and NaN = NaN.
            l = comparable(l, &lt2);
            r = comparable(r, &rt2);
        }
        Ok(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(l),
            op,
            Box::new(r),
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
    let lt = left.fast_type(schema)?;
    let signed = matches!(
        lt,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    );
    if overflow == Overflow::Wrap || !signed || lt != right.fast_type(schema)? {
        return Ok(bound);
    }
    let udf = ansi::arithmetic(arith, overflow).into_udf();
    Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
        udf,
        vec![left.as_ref().clone(), right.as_ref().clone()],
    )))
}

/// An operand of AND / OR: a boolean (or NULL, or a string Spark casts); numbers are an
/// error, as Spark casts no number to boolean implicitly.
fn boolean_operand(side: Expr, op: Operator, schema: &DFSchema, node: &ast::Expr) -> Result<Expr> {
    let t = side.fast_type(schema)?;
    if !matches!(
        t,
        DataType::Boolean
            | DataType::Null
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
    ) {
        let operand = crate::error::abbreviate(
            &side.human_display().to_string(),
            crate::error::MAX_QUOTED_CHARS,
        );
        return Err(error_at(
            node,
            format!(
                "{op} needs boolean operands, but '{operand}' is {} in '{node}'; compare it, e.g. {operand} <> 0",
                crate::types::spark_type_name(&t)
            ),
        ));
    }
    cast_to(side, &DataType::Boolean, schema)
        .map_err(|_| error_at(node, format!("{op} needs boolean operands in '{node}'")))
}

/// `operands[0] op operands[1] op ...` as a balanced tree: AND and OR are associative, so
/// the tree's shape does not change the value, only its depth (log n, not n).
fn balanced(mut operands: Vec<Expr>, op: Operator) -> Expr {
    if operands.len() == 1 {
        return operands.remove(0);
    }
    let right = operands.split_off(operands.len() / 2);
    Expr::BinaryExpr(BinaryExpr::new(
        Box::new(balanced(operands, op)),
        op,
        Box::new(balanced(right, op)),
    ))
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
    let (lt, rt) = (l.fast_type(schema)?, r.fast_type(schema)?);
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

/// Every operand of a chain of `op` (`a op b op c ...`, associative), through parentheses, in
/// order, without recursion.
fn chain_operands<'a>(expr: &'a ast::Expr, op: &ast::BinaryOperator) -> Vec<&'a ast::Expr> {
    let mut operands: Vec<&ast::Expr> = Vec::new();
    let mut pending = vec![expr];
    while let Some(node) = pending.pop() {
        match node {
            ast::Expr::BinaryOp {
                left,
                op: inner,
                right,
            } if inner == op => {
                pending.push(right);
                pending.push(left);
            }
            ast::Expr::Nested(inner) if matches!(inner.as_ref(), ast::Expr::BinaryOp { op: o, .. } if o == op) => {
                pending.push(inner)
            }
            other => operands.push(other),
        }
    }
    operands
}
