//! `LlmError`: why a model request failed for good, after how many attempts.

use std::time::Duration;

/// A proposal request that failed, after retries where the failure was retryable.
///
/// Every variant that reached the server carries `attempts`, the number of HTTP requests sent
/// for this proposal (1 when the failure was not retryable).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The configuration cannot work (bad URL, `https://` without the `https` feature, …).
    #[error("invalid model server configuration: {0}")]
    Config(String),
    /// The server answered with a non-success status. 429 and 5xx were retried; other 4xx
    /// (a wrong model name, a bad parameter) were not, since repeating cannot help.
    #[error("model server answered HTTP {status} after {attempts} attempt(s): {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the answer body (the server's error message, usually).
        body: String,
        /// Requests sent.
        attempts: u32,
    },
    /// No complete answer within `request_timeout`.
    #[error("model server did not answer within {after:?} ({attempts} attempt(s))")]
    Timeout {
        /// The per-attempt deadline.
        after: Duration,
        /// Requests sent.
        attempts: u32,
    },
    /// Connecting, sending or reading failed (refused, reset, DNS, …).
    #[error("cannot reach the model server after {attempts} attempt(s): {message}")]
    Transport {
        /// The transport error, with its causes.
        message: String,
        /// Requests sent.
        attempts: u32,
    },
    /// A success status with a body that is not the expected JSON.
    #[error(
        "malformed answer from the model server after {attempts} attempt(s): {reason}; body starts {body:?}"
    )]
    Malformed {
        /// What was wrong with it.
        reason: String,
        /// The start of the body.
        body: String,
        /// Requests sent.
        attempts: u32,
    },
    /// The circuit breaker is open: the server failed this many proposals in a row, so this one
    /// was not sent.
    #[error(
        "model server unavailable: {failures} proposals failed in a row, not asking again for \
         now (down for {open_for:?}); last error: {last_error}"
    )]
    Unavailable {
        /// Failed proposals in a row.
        failures: u32,
        /// How long the breaker has been open.
        open_for: Duration,
        /// The last failure.
        last_error: String,
    },
    /// A success status whose JSON body is `{"error": …}` (some servers report failures so).
    #[error("model server reported an error after {attempts} attempt(s): {message}")]
    Server {
        /// The `error.message` field, or the whole `error` value.
        message: String,
        /// Requests sent.
        attempts: u32,
    },
}

impl LlmError {
    /// Requests sent before giving up (0 for a configuration error).
    pub fn attempts(&self) -> u32 {
        match self {
            LlmError::Config(_) | LlmError::Unavailable { .. } => 0,
            LlmError::Status { attempts, .. }
            | LlmError::Timeout { attempts, .. }
            | LlmError::Transport { attempts, .. }
            | LlmError::Malformed { attempts, .. }
            | LlmError::Server { attempts, .. } => *attempts,
        }
    }
}

/// At most this many characters of a body go into an error, so a huge HTML error page or a
/// runaway answer does not flood the logs.
const EXCERPT_CHARS: usize = 300;

/// The first [`EXCERPT_CHARS`] characters of `body`, lossily decoded, marked when cut.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
