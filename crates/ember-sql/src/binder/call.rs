//! A function call as written: every part of sqlparser's `Function` either taken into a
//! [`Call`] or refused, so no clause of a call (`IGNORE NULLS`, `WITHIN GROUP`, `FILTER`, an
//! `ORDER BY` inside the arguments, ...) is ever dropped on the way to binding.

use sqlparser::ast;

use crate::error::{error_at, not_supported_at};
use ember_common::Result;

/// One argument of a call.
pub(crate) enum CallArg<'a> {
    Expr(&'a ast::Expr),
    /// `count(*)`
    Star,
}

/// The parts of a call the binder acts on.
pub(crate) struct Call<'a> {
    /// The function's name, lower-cased.
    pub name: String,
    pub args: Vec<CallArg<'a>>,
    /// `f(DISTINCT ...)`
    pub distinct: bool,
    /// `FILTER (WHERE ...)`
    pub filter: Option<&'a ast::Expr>,
    /// `IGNORE NULLS` / `RESPECT NULLS`, after the call or inside its parentheses.
    pub null_treatment: Option<ast::NullTreatment>,
    /// `WITHIN GROUP (ORDER BY ...)`, or `ORDER BY ...` inside the parentheses.
    pub order_by: Vec<&'a ast::OrderByExpr>,
    /// `OVER (...)` / `OVER w`
    pub over: Option<&'a ast::WindowType>,
}

impl<'a> Call<'a> {
    /// Takes `function` apart; `node` is the whole call, where errors point.
    pub fn of(function: &'a ast::Function, node: &ast::Expr) -> Result<Call<'a>> {
        let ast::Function {
            name,
            uses_odbc_syntax,
            parameters,
            args,
            filter,
            null_treatment,
            over,
            within_group,
        } = function;
        let lower = name.to_string().to_lowercase();
        if *uses_odbc_syntax {
            return Err(not_supported_at(node, "ODBC escapes ({fn ...})"));
        }
        if !matches!(parameters, ast::FunctionArguments::None) {
            return Err(not_supported_at(
                node,
                format!("parametric calls such as {lower}(...)(...) (ClickHouse)"),
            ));
        }
        let mut call = Call {
            name: lower,
            args: Vec::new(),
            distinct: false,
            filter: filter.as_deref(),
            null_treatment: *null_treatment,
            order_by: within_group.iter().collect(),
            over: over.as_ref(),
        };
        let list = match args {
            ast::FunctionArguments::None => return Ok(call),
            ast::FunctionArguments::Subquery(_) => {
                return Err(not_supported_at(
                    node,
                    format!("a subquery as the argument list of {}", call.name),
                ))
            }
            ast::FunctionArguments::List(list) => list,
        };
        let ast::FunctionArgumentList {
            duplicate_treatment,
            args,
            clauses,
        } = list;
        call.distinct = matches!(duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
        for arg in args {
            call.args.push(match arg {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => CallArg::Expr(e),
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => CallArg::Star,
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(name)) => {
                    return Err(not_supported_at(
                        node,
                        format!("'{name}.*' as an argument of {}", call.name),
                    ))
                }
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::WildcardWithOptions(_)) => {
                    return Err(not_supported_at(
                        node,
                        format!("'* ...' with options as an argument of {}", call.name),
                    ))
                }
                ast::FunctionArg::Named { name, .. } => {
                    return Err(not_supported_at(
                        node,
                        format!("the named argument '{name}' of {}", call.name),
                    ))
                }
                ast::FunctionArg::ExprNamed { name, .. } => {
                    return Err(not_supported_at(
                        node,
                        format!("the named argument '{name}' of {}", call.name),
                    ))
                }
            });
        }
        for clause in clauses {
            match clause {
                ast::FunctionArgumentClause::IgnoreOrRespectNulls(treatment) => {
                    if call.null_treatment.replace(*treatment).is_some() {
                        return Err(error_at(
                            node,
                            "IGNORE NULLS / RESPECT NULLS is given twice",
                        ));
                    }
                }
                ast::FunctionArgumentClause::OrderBy(items) => {
                    if !call.order_by.is_empty() {
                        return Err(error_at(
                            node,
                            "ORDER BY inside the arguments and WITHIN GROUP (ORDER BY ...) cannot both be given",
                        ));
                    }
                    call.order_by.extend(items.iter());
                }
                other => {
                    return Err(not_supported_at(
                        node,
                        format!("'{other}' inside the arguments of {}", call.name),
                    ))
                }
            }
        }
        Ok(call)
    }

    /// Refuses the clauses only aggregates (and window functions) take, for a scalar call.
    pub fn check_scalar(&self, node: &ast::Expr) -> Result<()> {
        let name = &self.name;
        if self.distinct {
            return Err(error_at(
                node,
                format!("DISTINCT is only allowed in aggregate functions, not in {name}"),
            ));
        }
        if self.filter.is_some() {
            return Err(error_at(
                node,
                format!("FILTER (WHERE ...) is only allowed in aggregate functions, not in {name}"),
            ));
        }
        if self.null_treatment.is_some() {
            return Err(error_at(
                node,
                format!(
                    "IGNORE NULLS / RESPECT NULLS is not allowed in {name}; it is for first, last, first_value, last_value, any_value, nth_value, lag and lead"
                ),
            ));
        }
        if !self.order_by.is_empty() {
            return Err(error_at(
                node,
                format!("WITHIN GROUP / ORDER BY is not allowed in the arguments of {name}"),
            ));
        }
        Ok(())
    }

    /// Whether `IGNORE NULLS` was written.
    pub fn ignores_nulls(&self) -> bool {
        matches!(self.null_treatment, Some(ast::NullTreatment::IgnoreNulls))
    }
}
