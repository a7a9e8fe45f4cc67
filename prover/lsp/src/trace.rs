//! `--trace-file`: every byte the server reads and writes, recorded as JSON lines (`{"direction": "in"|"out", "text": …}`) in the order they passed, so a user's bug report can be replayed.

use std::io::Write as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The trace file, shared by both directions.
#[derive(Clone)]
pub struct Trace(Arc<Mutex<std::fs::File>>);

impl Trace {
    /// A trace written to `file`.
    pub fn new(file: std::fs::File) -> Self {
        Trace(Arc::new(Mutex::new(file)))
    }

    fn record(&self, direction: &str, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let line = serde_json::json!({
            "direction": direction,
            "text": String::from_utf8_lossy(bytes),
        });
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A trace is a debugging aid: a full disk must not take the server down.
        let _ = writeln!(file, "{line}");
    }
}

/// A stream whose traffic is recorded.
pub struct Traced<T> {
    inner: T,
    trace: Trace,
}

impl<T> Traced<T> {
    /// `inner`, recorded in `trace`.
    pub fn new(inner: T, trace: Trace) -> Self {
        Traced { inner, trace }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Traced<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.trace.record("in", &buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Traced<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = polled {
            self.trace.record("out", &buf[..written]);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
