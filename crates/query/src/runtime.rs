//! The query runtime: a tokio runtime of its own, so query work never runs on the caller's.
//!
//! DataFusion runs its operators as tokio tasks on whatever runtime polls the plan. Polling every
//! plan from a task spawned here keeps that work on these threads: the caller's runtime (the
//! HTTP server, or an ingest daemon's WebSocket reader and heartbeats in the same process) only
//! moves finished bytes. A multi-thread runtime rather than rayon because DataFusion's operators
//! are async and spawn tasks of their own.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

/// The stack of every query thread (workers and the blocking pool). Parsing, planning,
/// optimizing, evaluating and dropping a query's trees all happen here, and not all of those
/// walks are protected against deep recursion (see `limits.rs`). 64 MiB holds a statement at
/// four times each default limit with room to spare; the pages are reserved, and only the ones a deep query
/// touches are ever committed, so a shallow query costs what it did on tokio's 2 MiB.
pub(crate) const QUERY_THREAD_STACK: usize = 64 << 20;

/// Owns the runtime; shuts it down without blocking when the engine goes away.
#[derive(Debug)]
pub(crate) struct QueryRuntime {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl QueryRuntime {
    pub(crate) fn new(threads: usize) -> std::io::Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_stack_size(QUERY_THREAD_STACK)
            .thread_name("dss-lake-query")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(QueryRuntime {
            runtime: Some(runtime),
            handle,
        })
    }

    /// Runs `future` on the query threads until it ends on its own (a streaming query watches
    /// its channel for a client that went away).
    pub(crate) fn spawn_detached<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handle.spawn(future));
    }

    /// Runs `future` on the query threads; dropping the returned handle aborts it.
    pub(crate) fn spawn<F>(&self, future: F) -> AbortOnDrop<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        AbortOnDrop(self.handle.spawn(future))
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // The last engine clone may be dropped inside a task of this very runtime, where a
            // runtime must not be dropped; a short-lived thread does it from outside.
            std::thread::spawn(move || runtime.shutdown_background());
        }
    }
}

/// A task handle that aborts its task when dropped, so a caller that gives up (a client that
/// disconnects, a CLI interrupted) also stops the work.
#[derive(Debug)]
pub(crate) struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_query_threads_and_the_runtime_can_drop_inside_async_code() {
        let rt = QueryRuntime::new(1).unwrap();
        let name = rt
            .spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("dss-lake-query"));
        drop(rt);
    }
}
