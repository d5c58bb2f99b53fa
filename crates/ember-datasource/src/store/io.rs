//! The bridge between Ember's blocking readers and `object_store`'s async API.
//!
//! Tasks read files on their own threads through `Read` and Parquet's `ChunkReader`. Object
//! store requests run on one small Tokio runtime shared by the process; a task thread hands a
//! request over and waits for its answer, so the calling thread needs no runtime of its own and
//! may even be inside another one (a Flight SQL handler's `spawn_blocking` thread).

use std::future::Future;
use std::sync::OnceLock;

use ember_common::{EmberError, Result};
use tokio::runtime::Runtime;

/// Threads of the I/O runtime: enough to keep many requests in flight, few enough not to
/// compete with the task threads that decode what they fetch.
const IO_THREADS: usize = 2;

fn runtime() -> Result<&'static Runtime> {
    static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(IO_THREADS)
                .thread_name("ember-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            EmberError::internal(format!("cannot start the object store I/O runtime: {e}"))
        })
}

/// Runs `future` on the I/O runtime and waits for its output on this thread.
pub(crate) fn block_on<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> Result<T> {
    let handle = runtime()?.spawn(future);
    futures::executor::block_on(handle)
        .map_err(|e| EmberError::internal(format!("an object store request failed: {e}")))
}

/// Starts `future` on the I/O runtime without waiting for it.
pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) -> Result<()> {
    runtime()?.spawn(future);
    Ok(())
}
