//! The editor tactic server (`prover lsp`): a second language server for `.lean` files that offers "Prove this sorry" on every `sorry`, searches in the background with progress and cancel, and edits the buffer with a proof Lean re-checked. The only code that knows LSP.
//!
//! - [`text`]: positions in bytes, UTF-16 units and codepoints; the `sorry` scanner; the
//!   declaration around a `sorry`; the edit that puts a proof in its place.
//! - [`goal`]: the search goal of a `sorry` (which sorry, and how a proof goes in its place).
//! - [`server`]: the `Backend` (`tower_lsp_server::LanguageServer`) and its jobs.
//! - [`trace`]: `--trace-file`, every byte in and out.
//!
//! The design is `../shared/docs/editor-server.md`; what this version covers is in the README.

pub mod goal;
pub mod server;
pub mod text;
pub mod trace;

use prover::settings::{Overlay, SettingsFile};
use tower_lsp_server::{LspService, Server};

/// Serves the protocol on `input`/`output` until the client exits. Requests are handled one
/// at a time, in order (every handler answers from memory; proofs run as jobs), so document
/// changes are never applied out of order.
pub async fn serve<I, O>(file: SettingsFile, overlay: Overlay, input: I, output: O)
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite,
{
    let (service, socket) = LspService::build(|client| server::Backend::new(client, file, overlay))
        .custom_method(
            "window/workDoneProgress/cancel",
            server::Backend::progress_cancel,
        )
        .finish();
    Server::new(input, output, socket)
        .concurrency_level(1)
        .serve(service)
        .await;
}
