//! Values bound to the parameters of a prepared statement: `?` (numbered in the order they
//! appear in the text) and `$1`, `$2`, ... (numbered explicitly). A bound parameter becomes a
//! literal of its value's type, so `l_quantity < ?` bound to 24 binds as `l_quantity < 24`.

use datafusion_common::ScalarValue;
use ember_common::{EmberError, Result};
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// The most parameters a statement takes (`$n` beyond this is refused before anything is sized
/// by it).
pub const MAX_PARAMETERS: usize = 65_535;

/// The parameters of one statement and, once bound, their values.
#[derive(Debug, Clone, Default)]
pub struct Parameters {
    /// Where each `?` starts, in text order: the `?` at `question_marks[i]` is parameter i+1.
    question_marks: Vec<Location>,
    /// The highest `$n`.
    max_numbered: usize,
    values: Option<Vec<ScalarValue>>,
}

impl Parameters {
    /// Finds the parameters of `sql` (a script of one statement, as given to the parser).
    pub fn of(sql: &str) -> Result<Self> {
        let tokens = Tokenizer::new(&crate::dialect::EmberDialect, sql)
            .with_unescape(false)
            .tokenize_with_location()
            .map_err(|e| EmberError::analysis(e.to_string()))?;
        let mut parameters = Parameters::default();
        for token in tokens {
            if let Token::Placeholder(name) = &token.token {
                if name == "?" {
                    parameters.question_marks.push(token.span.start);
                } else if let Some(n) = numbered(name) {
                    if n > MAX_PARAMETERS {
                        return Err(EmberError::Analysis {
                            message: format!(
                                "Parameter {name} is out of range: a statement takes at most {MAX_PARAMETERS} parameters"
                            ),
                            position: crate::error::position_of(token.span),
                        });
                    }
                    parameters.max_numbered = parameters.max_numbered.max(n);
                }
            }
        }
        Ok(parameters)
    }

    /// How many values the statement takes.
    pub fn count(&self) -> usize {
        self.question_marks.len().max(self.max_numbered)
    }

    /// The names parameters have in a parameter schema: `$1`, `$2`, ...
    pub fn names(&self) -> Vec<String> {
        (1..=self.count()).map(|i| format!("${i}")).collect()
    }

    /// Binds `values` (one per parameter, in order).
    pub fn bind(mut self, values: Vec<ScalarValue>) -> Result<Self> {
        if values.len() != self.count() {
            return Err(EmberError::analysis(format!(
                "The statement has {} parameter(s) but {} value(s) were bound",
                self.count(),
                values.len()
            )));
        }
        self.values = Some(values);
        Ok(self)
    }

    /// Binds NULL to every parameter: how a prepared statement's result schema is found
    /// before values are known.
    pub fn bind_nulls(self) -> Self {
        let count = self.count();
        Parameters {
            values: Some(vec![ScalarValue::Null; count]),
            ..self
        }
    }

    /// The position (0 for `$1` or the first `?`) of the placeholder `name` that starts at
    /// `at`; `None` when it is not a parameter of this statement.
    pub(crate) fn index(&self, name: &str, at: Location) -> Option<usize> {
        if name == "?" {
            self.question_marks.iter().position(|l| *l == at)
        } else {
            numbered(name).map(|n| n - 1)
        }
    }

    /// The value of the placeholder `name` that starts at `at`.
    pub(crate) fn value(
        &self,
        name: &str,
        at: Location,
    ) -> std::result::Result<ScalarValue, String> {
        let Some(index) = self.index(name, at) else {
            return Err(format!(
                "'{name}' is not a parameter; use ? or $1, $2, ... in a prepared statement"
            ));
        };
        let Some(values) = &self.values else {
            return Err(format!(
                "Parameter {name} has no value; bind values to the prepared statement first"
            ));
        };
        values
            .get(index)
            .cloned()
            .ok_or_else(|| format!("Parameter {name} has no value: {} were bound", values.len()))
    }
}

/// `n` of `$n` (n >= 1).
fn numbered(name: &str) -> Option<usize> {
    name.strip_prefix('$')?.parse().ok().filter(|n| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_marks_are_numbered_in_text_order() {
        let p = Parameters::of("SELECT ? + 1,\n  x FROM t WHERE y = ?").unwrap();
        assert_eq!(p.count(), 2);
        let p = p
            .bind(vec![ScalarValue::Int64(Some(7)), ScalarValue::from("a")])
            .unwrap();
        assert_eq!(
            p.value("?", Location::new(2, 22)).unwrap(),
            ScalarValue::from("a")
        );
        assert_eq!(
            p.value("?", Location::new(1, 8)).unwrap(),
            ScalarValue::Int64(Some(7))
        );
    }

    #[test]
    fn numbered_parameters_and_wrong_counts() {
        let p = Parameters::of("SELECT $2, $1, $2").unwrap();
        assert_eq!(p.count(), 2);
        assert_eq!(p.names(), vec!["$1", "$2"]);
        let err = p.clone().bind(vec![ScalarValue::Null]).unwrap_err();
        assert!(
            err.to_string().contains("2 parameter(s) but 1 value(s)"),
            "{err}"
        );
        let unbound = p.value("$1", Location::new(1, 8)).unwrap_err();
        let err = Parameters::of("SELECT $100000000000").unwrap_err();
        assert!(err.to_string().contains("at most 65535"), "{err}");
        assert!(unbound.contains("has no value"), "{unbound}");
    }
}
