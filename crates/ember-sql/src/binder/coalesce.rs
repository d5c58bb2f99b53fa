//! `coalesce`, `nvl` and `ifnull` without naming an argument twice.
//!
//! Spark evaluates an argument of `coalesce` only for rows where every earlier one is NULL,
//! which matters when evaluating it could fail (`coalesce(x, 1 / y)` with `y = 0` where `x` is
//! not NULL). `CASE WHEN a IS NOT NULL THEN a ... END` is lazy that way but names `a` twice,
//! so nested calls grow exponentially. The n-ary `coalesce` of `functions/conditional.rs`
//! names each argument once but evaluates all of them; it is used when no argument after
//! the first can fail, where the two cannot be told apart.

use datafusion_common::tree_node::TreeNode;
use datafusion_common::DFSchema;
use datafusion_expr::expr::ScalarFunction;
use datafusion_expr::{Expr, Operator};
use std::sync::Arc;

use super::function::coalesce_expr;
use super::typing::ExprType;
use crate::functions::ansi::cast_can_fail;

/// `coalesce(args)`, the arguments already cast to one type.
pub(super) fn coalesce_of(args: Vec<Expr>, schema: &DFSchema) -> Expr {
    if args.len() > 1 && args[1..].iter().all(|a| cannot_fail(a, schema)) {
        Expr::ScalarFunction(ScalarFunction::new_udf(coalesce_udf(), args))
    } else {
        coalesce_expr(args)
    }
}

fn coalesce_udf() -> Arc<datafusion_expr::ScalarUDF> {
    static UDF: std::sync::OnceLock<Arc<datafusion_expr::ScalarUDF>> = std::sync::OnceLock::new();
    Arc::clone(UDF.get_or_init(|| crate::functions::conditional::coalesce().into_udf()))
}

/// Whether evaluating `expr` can never raise an error (so evaluating it on more rows than
/// needed cannot be seen).
fn cannot_fail(expr: &Expr, schema: &DFSchema) -> bool {
    !expr
        .exists(|e| Ok(!node_cannot_fail(e, schema)))
        .unwrap_or(true)
}

fn node_cannot_fail(expr: &Expr, schema: &DFSchema) -> bool {
    match expr {
        Expr::Column(_)
        | Expr::OuterReferenceColumn(..)
        | Expr::Literal(..)
        | Expr::Alias(_)
        | Expr::Not(_)
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotTrue(_)
        | Expr::IsNotFalse(_)
        | Expr::IsNotUnknown(_)
        | Expr::TryCast(_)
        | Expr::Case(_) => true,
        Expr::BinaryExpr(binary) => matches!(
            binary.op,
            Operator::Eq
                | Operator::NotEq
                | Operator::Lt
                | Operator::LtEq
                | Operator::Gt
                | Operator::GtEq
                | Operator::And
                | Operator::Or
                | Operator::IsDistinctFrom
                | Operator::IsNotDistinctFrom
        ),
        Expr::Cast(cast) => cast
            .expr
            .fast_type(schema)
            .is_ok_and(|from| !cast_can_fail(&from, cast.field.data_type())),
        Expr::ScalarFunction(f) => {
            matches!(f.func.name(), "coalesce" | "normalize_nan_and_zero")
        }
        _ => false,
    }
}
