//! An LSP test client with real Content-Length framing: requests with ids, answers to the server's requests (progress tokens, `workspace/applyEdit`, which it applies to its copy of the document), and a record of everything else the server sent.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The test client: framing, ids, and answers to the server's requests.
pub struct Client<R, W> {
    write: W,
    read: BufReader<R>,
    next_id: i64,
    /// Notifications and server requests seen, in order.
    pub seen: VecDeque<Value>,
    /// The document as the client holds it.
    pub text: String,
    /// Its version: 1 when opened, one more for each edit the client applies.
    pub version: i64,
    /// How many of the next `workspace/applyEdit`s to answer `applied: true` without applying
    /// them, as Neovim does with an edit for a version it has moved past.
    pub skip_edits: usize,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    /// A client reading the server's output from `read` and writing to `write`, holding `text`.
    pub fn new(read: R, write: W, text: &str) -> Self {
        Client {
            write,
            read: BufReader::new(read),
            next_id: 0,
            seen: VecDeque::new(),
            text: text.to_owned(),
            version: 1,
            skip_edits: 0,
        }
    }

    pub async fn send(&mut self, message: Value) {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.write.write_all(frame.as_bytes()).await.unwrap();
    }

    /// Writes bytes as they are, framed or not: what a broken client sends.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
        self.write.flush().await.unwrap();
    }

    pub async fn recv(&mut self) -> Value {
        let read = async {
            let mut length = 0;
            loop {
                let mut line = String::new();
                self.read.read_line(&mut line).await.unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            self.read.read_exact(&mut body).await.unwrap();
            serde_json::from_slice::<Value>(&body).unwrap()
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .expect("the server answers within a minute")
    }

    /// Handles one message from the server: answers its requests, applies edits.
    pub async fn handle(&mut self, message: Value) -> Option<Value> {
        match (message.get("id"), message["method"].as_str()) {
            (Some(id), Some("workspace/applyEdit")) => {
                let id = id.clone();
                let change = &message["params"]["edit"]["documentChanges"][0];
                let (uri, edits) = match change.get("edits") {
                    Some(edits) => (change["textDocument"]["uri"].clone(), edits.clone()),
                    None => {
                        let changes = message["params"]["edit"]["changes"].as_object().unwrap();
                        let (uri, edits) = changes.iter().next().unwrap();
                        (json!(uri), edits.clone())
                    }
                };
                self.seen.push_back(message.clone());
                if self.skip_edits > 0 {
                    self.skip_edits -= 1;
                } else {
                    for edit in edits.as_array().unwrap() {
                        self.apply(edit);
                    }
                    // As an editor does: the edit comes back as a change of the document.
                    self.version += 1;
                    let changes: Vec<Value> = edits
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| json!({"range": e["range"], "text": e["newText"]}))
                        .collect();
                    self.send(json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
                        "params": {"textDocument": {"uri": uri, "version": self.version},
                                   "contentChanges": changes}}))
                        .await;
                }
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": {"applied": true}}))
                    .await;
                None
            }
            (Some(id), Some(_)) => {
                let id = id.clone();
                self.seen.push_back(message.clone());
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": null}))
                    .await;
                None
            }
            (None, Some(_)) => {
                self.seen.push_back(message);
                None
            }
            _ => Some(message),
        }
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let message = self.recv().await;
            if let Some(response) = self.handle(message).await
                && response["id"] == id
            {
                return response;
            }
        }
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Waits until a message matching `wanted` arrives (answering requests meanwhile).
    pub async fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            if let Some(position) = self.seen.iter().position(&wanted) {
                return self.seen.remove(position).unwrap();
            }
            let message = self.recv().await;
            self.handle(message).await;
        }
    }

    /// Applies one text edit (UTF-16 positions) to the client's copy.
    pub fn apply(&mut self, edit: &Value) {
        let offset = |p: &Value| {
            let (line, character) = (
                p["line"].as_u64().unwrap(),
                p["character"].as_u64().unwrap(),
            );
            let start: usize = self
                .text
                .split_inclusive('\n')
                .take(line as usize)
                .map(str::len)
                .sum();
            let mut units = 0;
            for (i, c) in self.text[start..].char_indices() {
                if units >= character as usize || c == '\n' {
                    return start + i;
                }
                units += c.len_utf16();
            }
            self.text.len()
        };
        let (start, end) = (
            offset(&edit["range"]["start"]),
            offset(&edit["range"]["end"]),
        );
        self.text
            .replace_range(start..end, edit["newText"].as_str().unwrap());
    }
}
