//! The small runtime behind the job plane's blocking handles (the Postgres record, the S3
//! store): they are called from plain threads, and may be dropped anywhere, async code
//! included, where dropping a tokio runtime the usual way would panic.

use std::future::Future;

pub struct BlockingRuntime(Option<tokio::runtime::Runtime>);

impl BlockingRuntime {
    pub fn new() -> std::io::Result<Self> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| Self(Some(rt)))
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        match &self.0 {
            Some(rt) => rt,
            // Only `drop` takes it out.
            None => unreachable!("the runtime is gone only once dropped"),
        }
    }

    /// Runs `future` to completion on this thread.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime().block_on(future)
    }

    /// Enters the runtime's context (to create what must be made inside one).
    pub fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.runtime().enter()
    }
}

impl Drop for BlockingRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
