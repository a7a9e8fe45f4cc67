//! Streamable HTTP (`--http ADDR`): one server per project, shared by many agents (one `Session`, one cache, one job table), behind an optional bearer token; rmcp's service checks the `Host` header against loopback names unless the server was told to listen elsewhere.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::server::Handler;
use crate::tools::Tools;

/// Whether a request carries `Authorization: Bearer TOKEN`, compared in constant time.
fn authorized(request: &Request<Incoming>, token: &str) -> bool {
    let Some(given) = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves MCP on `listener` until `stop` is cancelled. `token`: the bearer token every request
/// must carry. `loopback_only`: refuse `Host` headers that are not loopback names (DNS
/// rebinding), as rmcp does by default.
pub async fn serve(
    tools: Arc<Tools>,
    listener: TcpListener,
    token: Option<String>,
    loopback_only: bool,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = stop.child_token();
    if !loopback_only {
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(Handler::new(tools.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let token: Option<Arc<str>> = token.map(Arc::from);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("cannot accept a connection: {e}");
                    continue;
                }
            },
            () = stop.cancelled() => return Ok(()),
        };
        let service = service.clone();
        let token = token.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut service = service.clone();
                let token = token.clone();
                async move {
                    if let Some(token) = &token
                        && !authorized(&request, token)
                    {
                        let body = Full::new(Bytes::from_static(
                            b"{\"error\":\"missing or wrong bearer token\"}",
                        ))
                        .map_err(|never| match never {})
                        .boxed();
                        let mut response = Response::new(body);
                        *response.status_mut() = StatusCode::UNAUTHORIZED;
                        return Ok::<_, std::convert::Infallible>(response);
                    }
                    service.call(request).await
                }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), handler);
            tokio::select! {
                served = connection => {
                    if let Err(e) = served {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                }
                () = stop.cancelled() => {}
            }
        });
    }
}
