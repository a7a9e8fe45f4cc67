//! Newline-delimited JSON-RPC on stdio, read by us before rmcp: a line that is not JSON is answered with `-32700` (rmcp drops it silently, which leaves a client waiting), every line in and out can be recorded (`--trace-file`), and the end of the input ends the server.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};

/// The longest line read from the client; a longer one is answered with `-32700` and skipped.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// `--trace-file`: every message in and out as one JSON line `{"dir": "in"|"out", "message"}`.
#[derive(Clone)]
pub struct Trace {
    file: Arc<Mutex<std::fs::File>>,
}

impl Trace {
    /// Creates (truncates) the trace file.
    pub fn create(path: &Path) -> io::Result<Trace> {
        Ok(Trace {
            file: Arc::new(Mutex::new(std::fs::File::create(path)?)),
        })
    }

    fn record(&self, dir: &str, line: &str) {
        use std::io::Write;
        let message = serde_json::from_str::<Value>(line).unwrap_or_else(|_| json!(line));
        let row = json!({"dir": dir, "message": message});
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // A trace that cannot be written is not worth stopping a server for.
        let _ = writeln!(file, "{row}");
    }
}

/// The messages a client sent, as recorded in a `--trace-file`, as the lines it sent them in
/// (a line that was not JSON was recorded as a string, and is sent again as it was): what
/// `prover mcp --replay TRACE` feeds a fresh server.
pub fn recorded_input(trace: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(trace)
        .map_err(|e| format!("cannot read --replay {}: {e}", trace.display()))?;
    let mut input = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row: Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not a trace row: {e}", trace.display(), i + 1))?;
        match (row["dir"].as_str(), &row["message"]) {
            (Some("in"), Value::String(raw)) => input.extend_from_slice(raw.as_bytes()),
            (Some("in"), message) if !message.is_null() => {
                input.extend_from_slice(message.to_string().as_bytes())
            }
            (Some("in" | "out"), _) => {}
            _ => {
                return Err(format!(
                    "{}:{}: a trace row has `dir` \"in\" or \"out\" and a `message`",
                    trace.display(),
                    i + 1
                ));
            }
        }
        if row["dir"] == "in" {
            input.push(b'\n');
        }
    }
    Ok(input)
}

fn parse_error(why: &str) -> String {
    json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("Parse error: {why}")}})
        .to_string()
}

/// Reads `input` line by line and hands the JSON lines to `serve` (which reads them from its
/// first stream and writes its answers to its second), answering the others itself; writes
/// every answer to `output`; calls `at_eof` when the input ends. Returns when the input ended
/// and the server finished.
pub async fn behind_lines<I, O, F, Fut>(
    input: I,
    mut output: O,
    trace: Option<Trace>,
    at_eof: impl FnOnce() + Send + 'static,
    serve: F,
) -> io::Result<()>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin,
    F: FnOnce(DuplexStream, DuplexStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (mut to_server, server_input) = tokio::io::duplex(1 << 20);
    let (server_output, from_server) = tokio::io::duplex(1 << 20);
    let (refusals, mut refused) = tokio::sync::mpsc::unbounded_channel::<String>();
    let server = tokio::spawn(serve(server_input, server_output));
    let reader_trace = trace.clone();
    let reader = tokio::spawn(async move {
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut input)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .await?;
            if read == 0 {
                break;
            }
            if line.len() > MAX_LINE_BYTES && line.last() != Some(&b'\n') {
                let _ = refusals.send(parse_error("the message is longer than the limit"));
                // Skip the rest of the line.
                let mut rest = Vec::new();
                input.read_until(b'\n', &mut rest).await?;
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            if let Some(trace) = &reader_trace {
                trace.record("in", text);
            }
            match serde_json::from_str::<Value>(text) {
                Ok(_) => {
                    to_server.write_all(text.as_bytes()).await?;
                    to_server.write_all(b"\n").await?;
                }
                Err(e) => {
                    let _ = refusals.send(parse_error(&e.to_string()));
                }
            }
        }
        // The end of the input is the end of the session: rmcp sees its input close, and
        // answers the calls in flight before it stops.
        at_eof();
        to_server.shutdown().await?;
        Ok::<(), io::Error>(())
    });
    let mut from_server = BufReader::new(from_server).lines();
    loop {
        let line = tokio::select! {
            line = from_server.next_line() => match line? {
                Some(line) => line,
                None => break,
            },
            Some(refusal) = refused.recv() => refusal,
        };
        if let Some(trace) = &trace {
            trace.record("out", &line);
        }
        output.write_all(line.as_bytes()).await?;
        output.write_all(b"\n").await?;
        output.flush().await?;
    }
    // Refusals sent after the server's last word still reach the client.
    while let Ok(refusal) = refused.try_recv() {
        output.write_all(refusal.as_bytes()).await?;
        output.write_all(b"\n").await?;
    }
    output.flush().await?;
    let _ = server.await;
    reader.abort();
    Ok(())
}
