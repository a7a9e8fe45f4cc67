//! The editor tactic server (`prover lsp`): a second language server for `.lean` files that offers "Prove this sorry" on every `sorry`, searches in the background with progress and cancel, and edits the buffer with a proof Lean re-checked. The only code that knows LSP.
//!
//! - [`to_proto`]: LSP positions (UTF-16 units or bytes) to and from byte offsets; the
//!   `sorry` scanner, the declaration around a `sorry`, the edit that puts a proof in its place
//!   and the search goal of a `sorry` are the library's (`prover::text`).
//! - [`server`]: the `Backend` (`tower_lsp_server::LanguageServer`) and its jobs.
//! - [`framing`]: our own Content-Length framing in front of tower-lsp-server's, so that no
//!   frame an editor sends ends the server, and the exit code `exit` deserves.
//! - [`trace`]: `--trace-file`, every byte in and out.
//!
//! The design is `../shared/docs/editor-server.md`; what this version covers is in the README.

pub mod framing;
pub mod server;
pub mod to_proto;
pub mod trace;

use prover::settings::{Overlay, SettingsFile};
use tower_lsp_server::{LspService, Server};

/// Serves the protocol on `input`/`output` until the client exits, with frames up to
/// [`framing::DEFAULT_MAX_FRAME_BYTES`] and no prewarming. See [`serve_with`].
pub async fn serve<I, O>(
    file: SettingsFile,
    overlay: Overlay,
    input: I,
    output: O,
) -> std::io::Result<framing::Ended>
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin,
{
    serve_with(file, overlay, Options::default(), input, output).await
}

/// How the server runs, beside the settings: what `prover lsp`'s own flags say.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The largest message body read from the editor, in bytes; a larger one is answered with
    /// an error and skipped unread.
    pub max_frame_bytes: usize,
    /// When a file opens, start the REPLs one job runs on, each importing the file's import
    /// block (`Session::prewarm_imports`), so the first job does not wait for the import.
    pub prewarm: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_frame_bytes: framing::DEFAULT_MAX_FRAME_BYTES,
            prewarm: false,
        }
    }
}

/// Serves the protocol on `input`/`output` until the client exits or the input ends; says how
/// it ended (for the exit code). Frames go through [`framing`] first: a malformed or oversized
/// one is answered with an error and the server reads on. Requests are handled one at a time,
/// in order (every handler answers from memory; proofs run as jobs), so document changes are
/// never applied out of order. `Err` is a broken input or output.
pub async fn serve_with<I, O>(
    file: SettingsFile,
    overlay: Overlay,
    options: Options,
    input: I,
    output: O,
) -> std::io::Result<framing::Ended>
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin,
{
    let (service, socket) = LspService::build(|client| {
        server::Backend::new(client, file, overlay).prewarming(options.prewarm)
    })
    .custom_method(
        "window/workDoneProgress/cancel",
        server::Backend::progress_cancel,
    )
    .custom_method(framing::REFUSED_METHOD, server::Backend::refused)
    .finish();
    framing::behind_framing(
        input,
        output,
        options.max_frame_bytes,
        |from, to| async move {
            Server::new(from, to, socket)
                .concurrency_level(1)
                .serve(service)
                .await;
        },
    )
    .await
}
