//! Our own Content-Length framing in front of tower-lsp-server's: every frame from the editor is read, capped and checked here, and only well-formed JSON-RPC reaches the service; anything else is answered with a JSON-RPC error (or, when it has no id, skipped with a logged warning) and the server reads on.
//!
//! tower-lsp-server's reader (`tokio_util`'s `FramedRead`) ends the stream at the first frame it
//! cannot decode, and it buffers a body of any announced size, so one bad frame ended the
//! server with exit code 0 and a 2 GB `Content-Length` grew it without bound. Here the editor's
//! bytes go through [`read_frames`], which hands the service a re-framed copy of each good
//! message over an in-memory pipe; the service's output comes back through another pipe and is
//! written out whole, frame by frame, between the errors this layer answers itself.
//!
//! What is refused, and how:
//! - a header block without `Content-Length`, with a `Content-Length` that is not a number, or
//!   a line that is no header: `-32700` (parse error) with id `null`; then everything up to the
//!   next `Content-Length:` or `Content-Type:` is skipped (the body of such a frame cannot be
//!   found otherwise);
//! - a `Content-Length` above the cap ([`DEFAULT_MAX_FRAME_BYTES`], `--max-frame-bytes`):
//!   `-32600` with id `null` at once, then the body is read and dropped in small chunks, never
//!   held;
//! - a body that is not UTF-8 or not JSON: `-32700` with id `null`;
//! - JSON nested deeper than serde_json's limit (128): `-32600` with the request's id, read
//!   without recursion, or logged when it is a notification;
//! - JSON that is no JSON-RPC message (no `"jsonrpc": "2.0"`, an array, …): `-32600` with its
//!   id if it has one;
//! - a document notification (`didOpen`, `didChange`, `didClose`) whose parameters do not read
//!   (a line −1): logged, since tower-lsp-server would drop it silently.
//!
//! A notification or a frame that could have been one (no id could be read) is also passed to
//! the service as [`REFUSED_METHOD`], so the server marks the document it was about, or every
//! document when that cannot be known, as out of sync (see `server.rs`).

use std::io;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The largest frame body read by default: far beyond any Lean file an editor sends (Mathlib's
/// largest is under 1 MiB), far below what hurts a machine.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 << 20;

/// The notification this layer sends the service about a message it did not pass on:
/// `{"method": <the method, if it could be read>, "uri": <its document, if any>, "reason": …}`.
pub const REFUSED_METHOD: &str = "$/prover/refused";

/// A header line longer than this is not a header (the body of a frame whose length was lost).
const MAX_HEADER_LINE: usize = 8 << 10;

/// serde_json's own nesting limit, named in messages.
const MAX_NESTING: usize = 128;

/// How the editor's side of the conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The `exit` notification came; `after_shutdown` says whether a `shutdown` request had.
    Exit {
        /// A `shutdown` request came first.
        after_shutdown: bool,
    },
    /// The input closed without `exit`.
    InputClosed {
        /// A `shutdown` request came first.
        after_shutdown: bool,
    },
}

impl Ended {
    /// The process's exit code: 0 after `shutdown` then `exit` (or a closed input after
    /// `shutdown`), 1 otherwise, as the LSP specification says of `exit` without `shutdown`.
    pub fn exit_code(self) -> u8 {
        match self {
            Ended::Exit { after_shutdown } | Ended::InputClosed { after_shutdown } => {
                u8::from(!after_shutdown)
            }
        }
    }
}

/// A frame ready to write: `Content-Length` header and body.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    framed
}

/// One line of a header block, read with a bound.
enum Line {
    /// The line, without its `\n` (and `\r`).
    Complete(Vec<u8>),
    /// More than [`MAX_HEADER_LINE`] bytes without a newline: the last few bytes, kept so a
    /// `Content-Length:` split across the bound is still found.
    TooLong(Vec<u8>),
    /// The input ended.
    End,
}

async fn read_line<R: AsyncRead + Unpin>(input: &mut BufReader<R>) -> io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let available = input.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Line::End
            } else {
                Line::Complete(line)
            });
        }
        let room = MAX_HEADER_LINE.saturating_sub(line.len());
        match available.iter().take(room).position(|&b| b == b'\n') {
            Some(end) => {
                line.extend_from_slice(&available[..end]);
                input.consume(end + 1);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Line::Complete(line));
            }
            None if available.len() >= room => {
                line.extend_from_slice(&available[..room]);
                input.consume(room);
                let keep = line.len().saturating_sub(HEADER_NAME_LEN);
                return Ok(Line::TooLong(line.split_off(keep)));
            }
            None => {
                let n = available.len();
                line.extend_from_slice(available);
                input.consume(n);
            }
        }
    }
}

/// The two headers LSP defines: where either starts, a frame may start.
const HEADER_NAMES: [&[u8]; 2] = [b"content-length:", b"content-type:"];

/// The longest of [`HEADER_NAMES`].
const HEADER_NAME_LEN: usize = 15;

/// Where the first LSP header (`Content-Length:` or `Content-Type:`, in any case) starts in
/// `line`.
fn header_at(line: &[u8]) -> Option<usize> {
    HEADER_NAMES
        .iter()
        .filter_map(|name| {
            line.windows(name.len())
                .position(|w| w.eq_ignore_ascii_case(name))
        })
        .min()
}

/// What one frame turned out to be.
enum Frame {
    /// A body within the cap.
    Body(Vec<u8>),
    /// Something was refused and answered; read on.
    Refused,
    /// The input ended.
    End,
}

/// What reads the editor's frames and where their answers go.
struct Reader<R> {
    input: BufReader<R>,
    max_frame_bytes: usize,
    /// Skipping lines up to the next header after a header block that lost its frame's length.
    resync: bool,
    /// Frames this layer writes itself (errors, log messages).
    out: mpsc::UnboundedSender<Vec<u8>>,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    fn answer(&self, message: &Value) {
        let _ = self.out.send(frame(message.to_string().as_bytes()));
    }

    fn error(&self, id: Value, code: i64, message: &str) {
        tracing::warn!("refused a frame from the editor: {message}");
        self.answer(&json!({"jsonrpc": "2.0", "id": id,
                            "error": {"code": code, "message": message}}));
    }

    /// Tells the editor's log (it has no id to answer).
    fn log(&self, message: &str) {
        tracing::warn!("refused a frame from the editor: {message}");
        self.answer(&json!({"jsonrpc": "2.0", "method": "window/logMessage",
                            "params": {"type": 2, "message": format!("prover: {message}")}}));
    }

    async fn next_frame(&mut self) -> io::Result<Frame> {
        let mut length: Option<Result<usize, String>> = None;
        let mut headers = 0;
        loop {
            let mut line = match read_line(&mut self.input).await? {
                Line::End => return Ok(Frame::End),
                Line::TooLong(tail) => {
                    if !self.resync {
                        self.resync = true;
                        self.error(Value::Null, -32700, "a header line longer than 8 KiB");
                    }
                    // The tail may begin a header the next read completes.
                    if header_at(&tail).is_none() {
                        continue;
                    }
                    tail
                }
                Line::Complete(line) => line,
            };
            if self.resync {
                match header_at(&line) {
                    Some(at) => {
                        line.drain(..at);
                        self.resync = false;
                        (length, headers) = (None, 0);
                    }
                    None => continue,
                }
            }
            if line.is_empty() {
                if headers == 0 {
                    // Blank lines between frames are harmless.
                    continue;
                }
                break;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                self.resync = true;
                self.error(
                    Value::Null,
                    -32700,
                    "a line that is no `Name: value` header",
                );
                continue;
            };
            let name = &line[..colon];
            if !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
                // The tail of a body cut short by a wrong `Content-Length`, run into the next
                // frame's header: that frame was answered already; take the header.
                let Some(at) = header_at(&line) else {
                    self.resync = true;
                    self.error(
                        Value::Null,
                        -32700,
                        "a line that is no `Name: value` header",
                    );
                    continue;
                };
                line.drain(..at);
            }
            let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len());
            let (name, value) = line.split_at(colon);
            if name.eq_ignore_ascii_case(b"content-length") {
                length = Some(parse_length(value.get(1..).unwrap_or_default()));
            }
            headers += 1;
        }
        let length = match length {
            None => {
                self.resync = true;
                self.error(
                    Value::Null,
                    -32700,
                    "a frame without a Content-Length header",
                );
                return Ok(Frame::Refused);
            }
            Some(Err(value)) => {
                self.resync = true;
                self.error(
                    Value::Null,
                    -32700,
                    &format!("a Content-Length that is not a byte count: {value:?}"),
                );
                return Ok(Frame::Refused);
            }
            Some(Ok(length)) => length,
        };
        if length > self.max_frame_bytes {
            self.error(
                Value::Null,
                -32600,
                &format!(
                    "a frame of {length} bytes is over the limit of {} bytes (--max-frame-bytes); \
                     its body is skipped",
                    self.max_frame_bytes
                ),
            );
            let skipped = tokio::io::copy(
                &mut (&mut self.input).take(length as u64),
                &mut tokio::io::sink(),
            )
            .await?;
            return Ok(if skipped < length as u64 {
                Frame::End
            } else {
                Frame::Refused
            });
        }
        let mut body = vec![0; length];
        match self.input.read_exact(&mut body).await {
            Ok(_) => Ok(Frame::Body(body)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Frame::End),
            Err(e) => Err(e),
        }
    }
}

fn parse_length(value: &[u8]) -> Result<usize, String> {
    let text = String::from_utf8_lossy(value);
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(trimmed.to_owned());
    }
    trimmed.parse().map_err(|_| trimmed.to_owned())
}

/// What can be read of a message too deep to parse whole: serde ignores the other fields
/// without recursion, so this reads at any depth.
#[derive(Deserialize)]
struct Probe {
    id: Option<Value>,
    method: Option<String>,
}

/// The document a message too deep to parse whole is about, when its `params` are an object
/// (read apart from [`Probe`], which must not fail on params of another shape).
#[derive(Deserialize)]
struct ProbeDocumentOf {
    params: Option<ProbeParams>,
}

#[derive(Deserialize)]
struct ProbeParams {
    #[serde(rename = "textDocument")]
    text_document: Option<ProbeDocument>,
}

#[derive(Deserialize)]
struct ProbeDocument {
    uri: Option<String>,
}

/// The document notifications the server's copy of each document depends on.
const DOCUMENT_NOTIFICATIONS: [&str; 3] = [
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
];

/// Whether the parameters of a document notification read as tower-lsp-server will read them
/// (it drops a notification whose parameters do not, without a word).
fn document_params_read(method: &str, params: &Value) -> Result<(), String> {
    use tower_lsp_server::ls_types::{
        DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    };
    let read = match method {
        "textDocument/didOpen" => DidOpenTextDocumentParams::deserialize(params).map(drop),
        "textDocument/didChange" => DidChangeTextDocumentParams::deserialize(params).map(drop),
        "textDocument/didClose" => DidCloseTextDocumentParams::deserialize(params).map(drop),
        _ => Ok(()),
    };
    read.map_err(|e| e.to_string())
}

/// What a checked body is.
enum Checked {
    /// A JSON-RPC message to pass on; its method and whether it has an id.
    Message {
        method: Option<String>,
        request: bool,
    },
    /// Refused and answered; the notification to tell the service, if any.
    Refused(Option<Value>),
}

fn id_of(value: &Value) -> Value {
    match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    }
}

/// The notification that tells the service about a message it did not get.
fn refused(method: Option<&str>, uri: Option<&str>, reason: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": REFUSED_METHOD,
           "params": {"method": method, "uri": uri, "reason": reason}})
}

impl<R: AsyncRead + Unpin> Reader<R> {
    fn check(&self, body: &[u8]) -> Checked {
        let Ok(text) = std::str::from_utf8(body) else {
            let reason = "a frame body that is not UTF-8";
            self.error(Value::Null, -32700, reason);
            return Checked::Refused(Some(refused(None, None, reason)));
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) if e.to_string().contains("recursion limit") => {
                let reason = format!("a message nested deeper than {MAX_NESTING} levels");
                return match serde_json::from_str::<Probe>(text) {
                    Ok(Probe {
                        id: Some(id @ (Value::Number(_) | Value::String(_))),
                        ..
                    }) => {
                        self.error(id, -32600, &reason);
                        Checked::Refused(None)
                    }
                    Ok(Probe { method, .. }) if method.is_some() => {
                        self.log(&format!(
                            "{reason} ({}) was skipped",
                            method.as_deref().unwrap_or_default()
                        ));
                        let uri = serde_json::from_str::<ProbeDocumentOf>(text)
                            .ok()
                            .and_then(|p| p.params?.text_document?.uri);
                        Checked::Refused(Some(refused(method.as_deref(), uri.as_deref(), &reason)))
                    }
                    _ => {
                        self.error(Value::Null, -32600, &reason);
                        Checked::Refused(Some(refused(None, None, &reason)))
                    }
                };
            }
            Err(e) => {
                let reason = format!("a frame body that is not JSON ({e})");
                self.error(Value::Null, -32700, &reason);
                return Checked::Refused(Some(refused(None, None, &reason)));
            }
        };
        let is_message = value.get("jsonrpc") == Some(&json!("2.0"))
            && (tower_lsp_server::jsonrpc::Request::deserialize(&value).is_ok()
                || tower_lsp_server::jsonrpc::Response::deserialize(&value).is_ok());
        let method = value.get("method").and_then(Value::as_str);
        if !is_message {
            let id = id_of(&value);
            let reason = "a JSON value that is no JSON-RPC 2.0 message";
            if id.is_null() && method.is_some() {
                self.log(reason);
            } else {
                self.error(id.clone(), -32600, reason);
            }
            return Checked::Refused(id.is_null().then(|| refused(method, None, reason)));
        }
        let request = value.get("id").is_some();
        if let Some(method) = method.filter(|m| DOCUMENT_NOTIFICATIONS.contains(m))
            && let Err(e) =
                document_params_read(method, value.get("params").unwrap_or(&Value::Null))
        {
            let uri = value
                .pointer("/params/textDocument/uri")
                .and_then(Value::as_str);
            let reason = format!("{method} with parameters that do not read ({e})");
            self.log(&reason);
            return Checked::Refused(Some(refused(Some(method), uri, &reason)));
        }
        Checked::Message {
            method: method.map(str::to_owned),
            request,
        }
    }
}

/// Reads the editor's frames from `input` until `exit` or the end, passes each good message to
/// `service` as a frame of its own, answers the rest through `out`.
async fn read_frames<R, W>(
    input: R,
    mut service: W,
    out: mpsc::UnboundedSender<Vec<u8>>,
    max_frame_bytes: usize,
) -> io::Result<Ended>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = Reader {
        input: BufReader::with_capacity(64 << 10, input),
        max_frame_bytes,
        resync: false,
        out,
    };
    let mut after_shutdown = false;
    loop {
        let body = match reader.next_frame().await? {
            Frame::End => return Ok(Ended::InputClosed { after_shutdown }),
            Frame::Refused => continue,
            Frame::Body(body) => body,
        };
        match reader.check(&body) {
            Checked::Refused(notice) => {
                if let Some(notice) = notice {
                    // The service may have stopped reading (after `exit`): nothing to tell.
                    let _ = service
                        .write_all(&frame(notice.to_string().as_bytes()))
                        .await;
                }
            }
            Checked::Message { method, request } => {
                if service.write_all(&frame(&body)).await.is_err() {
                    return Ok(Ended::InputClosed { after_shutdown });
                }
                match method.as_deref() {
                    Some("shutdown") if request => after_shutdown = true,
                    Some("exit") if !request => return Ok(Ended::Exit { after_shutdown }),
                    _ => {}
                }
            }
        }
    }
}

/// Reads the service's own frames (well formed: it wrote them) and passes each on whole.
async fn pump_frames<R: AsyncRead + Unpin>(from: R, out: mpsc::UnboundedSender<Vec<u8>>) {
    let mut from = BufReader::new(from);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match from.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else { continue };
        let mut body = vec![0; length];
        if from.read_exact(&mut body).await.is_err() {
            return;
        }
        // When the editor's side is gone the frames are dropped, so the service never blocks.
        let _ = out.send(frame(&body));
    }
}

/// Writes every frame to `output`, each whole and flushed.
async fn write_frames<O: AsyncWrite + Unpin>(
    mut output: O,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
) -> io::Result<()> {
    while let Some(frame) = frames.recv().await {
        output.write_all(&frame).await?;
        output.flush().await?;
    }
    Ok(())
}

/// Runs `serve` (a tower-lsp-server `Server` on the two pipe ends it is given) behind this
/// layer: the editor's frames from `input` are checked and passed on, and everything the
/// server and this layer write goes to `output`.
pub async fn behind_framing<I, O, F, Fut>(
    input: I,
    output: O,
    max_frame_bytes: usize,
    serve: F,
) -> io::Result<Ended>
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    F: FnOnce(tokio::io::DuplexStream, tokio::io::DuplexStream) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (to_service, service_input) = tokio::io::duplex(64 << 10);
    let (service_output, from_service) = tokio::io::duplex(64 << 10);
    let (out, frames) = mpsc::unbounded_channel();
    // `to_service` is dropped when the reading ends: the service sees its input end.
    let reading = read_frames(input, to_service, out.clone(), max_frame_bytes);
    let serving = async {
        let (ended, (), ()) = tokio::join!(
            reading,
            serve(service_input, service_output),
            pump_frames(from_service, out)
        );
        ended
    };
    let (ended, written) = tokio::join!(serving, write_frames(output, frames));
    let ended = ended?;
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(ended),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the reader over `input` with a service that records what it got; returns the
    /// frames passed on and the frames answered.
    async fn read_all(input: &[u8], max: usize) -> (Vec<Value>, Vec<Value>, Ended) {
        let (out, mut answers) = mpsc::unbounded_channel();
        let mut passed = Vec::new();
        let ended = read_frames(input, &mut passed, out, max).await.unwrap();
        let parse = |mut bytes: &[u8]| {
            let mut values = Vec::new();
            while let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                let header = std::str::from_utf8(&bytes[..at]).unwrap();
                let n: usize = header["Content-Length: ".len()..].parse().unwrap();
                values.push(serde_json::from_slice(&bytes[at + 4..at + 4 + n]).unwrap());
                bytes = &bytes[at + 4 + n..];
            }
            values
        };
        let mut answered = Vec::new();
        while let Ok(frame) = answers.try_recv() {
            answered.extend(parse(&frame));
        }
        (parse(&passed), answered, ended)
    }

    fn request(id: i64) -> Vec<u8> {
        frame(
            json!({"jsonrpc": "2.0", "id": id, "method": "shutdown"})
                .to_string()
                .as_bytes(),
        )
    }

    #[tokio::test]
    async fn a_good_frame_after_each_bad_one_is_passed_on() {
        let deep = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\",\"params\":{}{}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let mut input = Vec::new();
        for bad in [
            b"Content-Length: abc\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}".to_vec(),
            b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}".to_vec(),
            frame(b"{not json"),
            frame(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}"),
            frame(deep.as_bytes()),
            frame(b"[1,2]"),
            b"no header here\r\n".to_vec(),
        ] {
            input.extend(bad);
            input.extend(request(2));
        }
        let (passed, answered, ended) = read_all(&input, 1 << 20).await;
        let shutdowns = passed.iter().filter(|m| m["method"] == "shutdown").count();
        assert_eq!(shutdowns, 7, "every good frame after a bad one: {passed:?}");
        let codes: Vec<(Value, Value)> = answered
            .iter()
            .filter(|m| m.get("error").is_some())
            .map(|m| (m["id"].clone(), m["error"]["code"].clone()))
            .collect();
        assert_eq!(
            codes,
            [
                (Value::Null, json!(-32700)),
                (Value::Null, json!(-32700)),
                (Value::Null, json!(-32700)),
                (Value::Null, json!(-32700)),
                (json!(7), json!(-32600)),
                (Value::Null, json!(-32600)),
                (Value::Null, json!(-32700)),
            ]
        );
        assert_eq!(
            ended,
            Ended::InputClosed {
                after_shutdown: true
            }
        );
    }

    #[tokio::test]
    async fn an_oversized_frame_is_refused_before_its_body_arrives() {
        // A 2 GiB Content-Length and no body at all: the answer comes from the header alone.
        let (mut editor, server_input) = tokio::io::duplex(1024);
        let (out, mut answers) = mpsc::unbounded_channel();
        let reading = tokio::spawn(read_frames(server_input, tokio::io::sink(), out, 1 << 20));
        editor
            .write_all(b"Content-Length: 2147483648\r\n\r\n")
            .await
            .unwrap();
        let answer = answers.recv().await.unwrap();
        let text = String::from_utf8(answer).unwrap();
        assert!(
            text.contains("\"code\":-32600") && text.contains("2147483648"),
            "{text}"
        );
        // The body is skipped as it comes, in full, and the next frame is read.
        drop(editor);
        assert_eq!(
            reading.await.unwrap().unwrap(),
            Ended::InputClosed {
                after_shutdown: false
            }
        );
    }

    #[tokio::test]
    async fn a_skipped_body_is_not_taken_for_frames() {
        let mut input = b"Content-Length: 2000\r\n\r\n".to_vec();
        // The body itself looks like a frame: it must be skipped, not read.
        input.extend(request(5).repeat(40).iter().take(2000));
        input.extend(request(6));
        let (passed, answered, _) = read_all(&input, 1000).await;
        assert_eq!(passed.len(), 1, "{passed:?}");
        assert_eq!(passed[0]["id"], 6);
        assert_eq!(answered[0]["error"]["code"], -32600);
    }

    #[tokio::test]
    async fn exit_ends_the_reading_and_says_whether_shutdown_came_first() {
        let exit = frame(br#"{"jsonrpc":"2.0","method":"exit"}"#);
        let (_, _, ended) = read_all(&[exit.clone(), request(1)].concat(), 1 << 20).await;
        assert_eq!(ended.exit_code(), 1);
        assert_eq!(
            ended,
            Ended::Exit {
                after_shutdown: false
            }
        );
        let (_, _, ended) = read_all(&[request(1), exit].concat(), 1 << 20).await;
        assert_eq!(ended.exit_code(), 0);
    }

    #[tokio::test]
    async fn a_document_change_that_does_not_read_is_refused_naming_its_document() {
        let change = json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": "file:///a.lean", "version": 2},
                       "contentChanges": [{"range": {"start": {"line": -1, "character": 0},
                                                     "end": {"line": 0, "character": 0}},
                                           "text": "x"}]}});
        let (passed, answered, _) = read_all(&frame(change.to_string().as_bytes()), 1 << 20).await;
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0]["method"], REFUSED_METHOD);
        assert_eq!(passed[0]["params"]["uri"], "file:///a.lean");
        assert_eq!(answered[0]["method"], "window/logMessage");
    }
}
