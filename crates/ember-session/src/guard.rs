//! Every statement runs on a thread of its own with a large stack, and a panic in it
//! becomes an error naming the statement: deep expressions (a 3,000-term sum) recurse
//! through the parser, binder, optimizer and planner without overflowing the caller's stack,
//! and a bug never ends the process or turns into an empty answer.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ember_common::{EmberError, Result};

/// The stack of a statement's thread: address space reserved, memory used only as deep as
/// the statement recurses.
pub const STATEMENT_STACK_BYTES: usize = 512 * 1024 * 1024;

/// Runs `work` for the statement `sql` on a thread with [`STATEMENT_STACK_BYTES`] of stack;
/// a panic becomes [`EmberError::Internal`] naming the statement.
pub fn guarded<T: Send>(sql: &str, work: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let outcome = std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("ember-statement".into())
            .stack_size(STATEMENT_STACK_BYTES)
            .spawn_scoped(scope, || catch_unwind(AssertUnwindSafe(work)));
        match spawned {
            Ok(thread) => thread.join().unwrap_or_else(Err),
            // No thread to be had (resources exhausted): run here, still catching panics.
            Err(_) => catch_unwind(AssertUnwindSafe(|| {
                Err(EmberError::execution(
                    "cannot start a thread for the statement; the process is out of resources",
                ))
            })),
        }
    });
    outcome.unwrap_or_else(|panic| Err(panic_error(sql, panic.as_ref())))
}

/// The internal error a panic becomes.
pub fn panic_error(sql: &str, panic: &(dyn std::any::Any + Send)) -> EmberError {
    let cause = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    let statement = ember_sql::error::abbreviate(sql.trim(), ember_sql::error::MAX_QUOTED_CHARS);
    log::error!("a panic while running '{statement}': {cause}");
    EmberError::Internal(format!("a panic while running '{statement}': {cause}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_naming_the_statement() {
        let err = guarded::<()>("SELECT boom", || panic!("index out of bounds")).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, EmberError::Internal(_)), "{text}");
        assert!(
            text.contains("SELECT boom") && text.contains("index out of bounds"),
            "{text}"
        );
        assert_eq!(guarded("SELECT 1", || Ok(7)).unwrap(), 7);
    }

    #[test]
    fn deep_recursion_fits_in_the_statement_stack() {
        fn depth(n: usize) -> usize {
            let padding = [n as u8; 512];
            if n == 0 {
                padding[0] as usize
            } else {
                depth(n - 1) + usize::from(padding[n % 512] > 0)
            }
        }
        // About 100 MB of stack frames: far beyond a default thread's 2 or 8 MB.
        assert!(guarded("deep", || Ok(depth(200_000))).unwrap() > 0);
    }
}
