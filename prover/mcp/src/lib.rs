//! The MCP server (`prover mcp`): budgeted proof search, checking and sorry filling for agents, over stdio or streamable HTTP, on one shared `Session`. The only code that knows MCP.
//!
//! - [`tools`]: the tools without MCP: arguments, goals, jobs on the session, deadlines.
//! - [`to_proto`]: results as the tools' JSON answers.
//! - [`jobs`]: the job table behind `prover_job` and `prover_cancel`.
//! - [`server`]: rmcp's `ServerHandler`: the tool list, argument errors, progress, cancellation.
//! - [`framing`]: stdio lines read before rmcp (`-32700` for a line that is not JSON, the trace).
//! - [`http`]: streamable HTTP with a bearer token.
//!
//! rmcp is pinned exactly and named only in `server.rs` and `http.rs`.

pub mod framing;
pub mod http;
pub mod jobs;
pub mod server;
pub mod to_proto;
pub mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use prover::Session;
use prover::settings::{Overlay, PlannerOverlay, SettingsFile};
use rmcp::ServiceExt;
use tokio::io::{AsyncRead, AsyncWrite};

pub use tokio_util::sync::CancellationToken;
pub use tools::Tools;

/// Why the server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// A setting was refused.
    #[error(transparent)]
    Settings(#[from] prover::settings::SettingsError),
    /// The session could not open.
    #[error(transparent)]
    Session(#[from] prover::session::SessionError),
    /// The transport broke.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `--http` on an address other than loopback without a token.
    #[error(
        "--http {0} is not a loopback address: set a bearer token (--token-env) or pass --allow-remote"
    )]
    Unprotected(SocketAddr),
}

/// Opens the session every call shares, on the current runtime, from the command line's
/// overlay and `prover.toml`; `planner` is the command line's part of `prover_plan`'s settings.
pub fn open(
    file: SettingsFile,
    overlay: Overlay,
    planner: PlannerOverlay,
) -> Result<Arc<Tools>, McpError> {
    let config = prover::settings::session_config(&overlay, &file)?;
    let lean = prover::session::lean_identity(&config.pool);
    let session = Session::open_on(&tokio::runtime::Handle::current(), config)?;
    Ok(Arc::new(Tools::new(session, file, overlay, planner, lean)))
}

/// What the end of a stdio client's input means for the jobs still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtEof {
    /// The client left: cancel them (their answers, `cancelled`, are still written).
    CancelJobs,
    /// The input was a recording (`--replay`): let them finish.
    FinishJobs,
}

/// Serves MCP on newline-delimited stdio until the input ends, then stops the REPLs and
/// flushes the cache.
pub async fn serve_stdio<I, O>(
    tools: Arc<Tools>,
    input: I,
    output: O,
    trace: Option<PathBuf>,
    at_eof: AtEof,
) -> Result<(), McpError>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
{
    let trace = match trace {
        Some(path) => Some(
            framing::Trace::create(&path).map_err(|source| McpError::Io {
                what: format!("cannot create --trace-file {}", path.display()),
                source,
            })?,
        ),
        None => None,
    };
    let handler = server::Handler::new(tools.clone());
    let leaving = tools.clone();
    let on_eof = move || {
        if at_eof == AtEof::CancelJobs {
            let cancelled = leaving.cancel_all();
            if cancelled > 0 {
                tracing::info!("the client left: {cancelled} running job(s) cancelled");
            }
        }
    };
    let served = framing::behind_lines(input, output, trace, on_eof, |from, to| async move {
        match handler.serve((from, to)).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::info!("the client left before the session began: {e}"),
        }
    })
    .await;
    finish(&tools).await;
    served.map_err(|source| McpError::Io {
        what: "the client connection broke".into(),
        source,
    })
}

/// Serves MCP over streamable HTTP on `addr` until `stop` is cancelled. A non-loopback
/// address needs a `token` or `allow_remote`. `bound` hears the address actually bound (for
/// port 0).
pub async fn serve_http(
    tools: Arc<Tools>,
    addr: SocketAddr,
    token: Option<String>,
    allow_remote: bool,
    stop: CancellationToken,
    bound: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let loopback = addr.ip().is_loopback();
    if !loopback && token.is_none() && !allow_remote {
        return Err(McpError::Unprotected(addr));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| McpError::Io {
            what: format!("cannot listen on {addr}"),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| McpError::Io {
        what: format!("cannot listen on {addr}"),
        source,
    })?;
    bound(local);
    let served = http::serve(tools.clone(), listener, token, loopback, stop).await;
    finish(&tools).await;
    served.map_err(|source| McpError::Io {
        what: "the HTTP server broke".into(),
        source,
    })
}

/// Stops the REPLs and flushes the cache.
async fn finish(tools: &Tools) {
    if let Err(e) = tools.session().shutdown().await {
        tracing::warn!("the cache was not flushed: {e}");
    }
}
