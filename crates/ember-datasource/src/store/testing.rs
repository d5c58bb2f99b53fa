//! Fault injection for tests of the commit protocol: from the n-th write operation (create,
//! finish, rename, delete) on a path containing a given text, every such operation fails, as
//! when the connection to a store is cut. Reads never fail, so that a test can look at what
//! a reader sees afterwards; operations on other paths are not counted (tests run side by
//! side).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ember_common::{EmberError, Result};

static SCOPE: Mutex<Option<String>> = Mutex::new(None);
static FAIL_FROM: AtomicU64 = AtomicU64::new(u64::MAX);
static COUNT: AtomicU64 = AtomicU64::new(0);

/// Counts the write operations on paths containing `scope` from now on, and fails them from
/// the `n`-th (counted from 1); `None` fails none (but still counts).
pub fn fail_writes_from(scope: &str, n: Option<u64>) {
    *SCOPE.lock().unwrap_or_else(|e| e.into_inner()) = Some(scope.to_string());
    COUNT.store(0, Ordering::SeqCst);
    FAIL_FROM.store(n.unwrap_or(u64::MAX), Ordering::SeqCst);
}

/// Stops counting and failing.
pub fn stop_failing() {
    *SCOPE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    FAIL_FROM.store(u64::MAX, Ordering::SeqCst);
}

/// Write operations counted since the last [`fail_writes_from`].
pub fn write_operations() -> u64 {
    COUNT.load(Ordering::SeqCst)
}

pub(crate) fn operation(what: &str, path: &str) -> Result<()> {
    let in_scope = SCOPE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_deref()
        .is_some_and(|scope| path.contains(scope));
    if !in_scope {
        return Ok(());
    }
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if n >= FAIL_FROM.load(Ordering::SeqCst) {
        return Err(EmberError::DataSource(format!(
            "injected store failure: {what} {path} (write operation {n})"
        )));
    }
    Ok(())
}
