//! A permissive simulated REPL (NOT Lean): accepts every declaration, and models only what a checker must not be fooled by.
//!
//! `sim-repl --accept-all` answers from this instead of a world. It stands for Lean on a proof
//! that elaborates, so the checker's own rules are what decides, and it reproduces the Lean
//! behaviours that attacks on a checker use:
//! - `trace "…"` in a proof and `#print "…"` anywhere print an info message with that text;
//! - `axiom NAME : …` (in a header or a command) declares an axiom; a later proof that names
//!   it as a word depends on it;
//! - `sorry` in a proof reports a sorry and the "declaration uses 'sorry'" warning, and adds
//!   `sorryAx`;
//! - `native_decide` or `decide +native` adds the auxiliary axiom
//!   `NAME._native.native_decide.ax_1_1`, as Lean 4.2x does;
//! - several declarations in one command are several constants (an escaped command is one
//!   more declaration), and `namespace X` … `end X` prefixes their names;
//! - `#print axioms NAME` as a command of its own reads the constants of the env it runs on;
//! - every other proof elaborates with the standard axioms `propext`, `Classical.choice`,
//!   `Quot.sound`, and `variable`, `include`, `macro_rules`, `set_option` are accepted silently.
//!
//! Envs form a tree as in the REPL: each command's env extends the one it ran on.

use serde_json::{Value, json};

use crate::sim::{Reply, Responder, axioms_sentence};

/// What one env holds: its declared constants with their axioms, the axioms declared so far,
/// and the namespace left open.
#[derive(Debug, Clone, Default)]
struct Env {
    constants: Vec<(String, Vec<String>)>,
    axioms: Vec<String>,
    namespace: Vec<String>,
}

/// The permissive responder: a list of envs, nothing else.
#[derive(Debug, Default)]
pub struct Permissive {
    envs: Vec<Env>,
    proof_states: u64,
}

/// Lean's declaration keywords this simulator tells apart.
const DECLARATIONS: &[&str] = &["theorem", "lemma", "def", "abbrev", "example", "instance"];

/// The standard axioms every accepted proof here depends on.
const STANDARD: [&str; 3] = ["propext", "Classical.choice", "Quot.sound"];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '\'' | '.') || ('\u{2080}'..='\u{209C}').contains(&c)
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
}

/// Line (1-based) and column of byte `at`.
fn pos(text: &str, at: usize) -> Value {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "column": text[start..at].chars().count()})
}

fn message(text: &str, severity: &str, at: usize, data: &str) -> Value {
    json!({"severity": severity, "pos": pos(text, at), "endPos": pos(text, at), "data": data})
}

/// The text of every `"…"` literal after `keyword` in `text`, with its offset.
fn quoted_after<'a>(text: &'a str, keyword: &str) -> Vec<(usize, &'a str)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices(keyword) {
        let rest = text[at + keyword.len()..].trim_start();
        if let Some(body) = rest.strip_prefix('"')
            && let Some(end) = body.find('"')
        {
            found.push((at, &body[..end]));
        }
    }
    found
}

/// One top-level item of a command: where it starts and its first words.
struct Item<'a> {
    start: usize,
    text: &'a str,
}

/// Splits a command into items at every line whose first word starts a command
/// (a declaration keyword, a modifier, `axiom`, `namespace`, `end`, `#…`, `variable`, …).
fn items(cmd: &str) -> Vec<Item<'_>> {
    const STARTS: &[&str] = &[
        "theorem",
        "lemma",
        "def",
        "abbrev",
        "example",
        "instance",
        "axiom",
        "namespace",
        "section",
        "end",
        "variable",
        "include",
        "open",
        "import",
        "set_option",
        "macro_rules",
        "macro",
        "noncomputable",
        "private",
        "protected",
        "universe",
    ];
    let mut starts = Vec::new();
    let mut offset = 0;
    for raw in cmd.split_inclusive('\n') {
        let trimmed = raw.trim_start();
        let first = words(trimmed).next().unwrap_or("");
        if trimmed.starts_with('#') || STARTS.contains(&first) {
            starts.push(offset + (raw.len() - trimmed.len()));
        }
        offset += raw.len();
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| Item {
            start,
            text: &cmd[start..starts.get(k + 1).copied().unwrap_or(cmd.len())],
        })
        .collect()
}

impl Permissive {
    /// A fresh simulated process.
    pub fn new() -> Permissive {
        Permissive::default()
    }

    fn command(&mut self, cmd: &str, env: Option<u64>) -> Reply {
        let mut state = match env {
            Some(e) => match self.envs.get(e as usize) {
                Some(state) => state.clone(),
                None => return Reply::answer(&json!({"message": "Unknown environment."})),
            },
            None => Env::default(),
        };
        let mut messages = Vec::new();
        let mut sorries = Vec::new();
        for item in items(cmd) {
            self.item(cmd, &item, &mut state, &mut messages, &mut sorries);
        }
        self.envs.push(state);
        let mut answer = serde_json::Map::new();
        answer.insert("env".into(), json!(self.envs.len() - 1));
        if !messages.is_empty() {
            answer.insert("messages".into(), Value::Array(messages));
        }
        if !sorries.is_empty() {
            answer.insert("sorries".into(), Value::Array(sorries));
        }
        Reply::answer(&Value::Object(answer))
    }

    fn item(
        &mut self,
        cmd: &str,
        item: &Item<'_>,
        state: &mut Env,
        messages: &mut Vec<Value>,
        sorries: &mut Vec<Value>,
    ) {
        let text = item.text;
        let trimmed = text.trim();
        let mut first_words = words(trimmed)
            .filter(|w| !["noncomputable", "private", "protected", "nonrec"].contains(w));
        if let Some(name) = trimmed.strip_prefix("#print axioms") {
            let name = name.trim();
            let full = format!("{}{name}", prefix(&state.namespace));
            let found = [full.as_str(), name]
                .into_iter()
                .find_map(|n| state.constants.iter().rev().find(|(c, _)| c == n));
            let (severity, data) = match found {
                Some((constant, axioms)) => ("info", axioms_sentence(constant, axioms)),
                None => ("error", format!("unknown constant '{name}'")),
            };
            messages.push(message(cmd, severity, item.start, &data));
            return;
        }
        for (at, shown) in quoted_after(text, "#print") {
            messages.push(message(cmd, "info", item.start + at, shown));
        }
        match first_words.next() {
            Some("namespace") => {
                if let Some(name) = first_words.next() {
                    state.namespace.push(name.to_owned());
                }
            }
            // `end X` closes a namespace; a bare `end` closes a section.
            Some("end") if first_words.next().is_some() => {
                state.namespace.pop();
            }
            Some("axiom") => {
                if let Some(name) = first_words.next() {
                    let full = format!("{}{name}", prefix(&state.namespace));
                    state.axioms.push(full.clone());
                    state.axioms.push(name.to_owned());
                    state.constants.push((full.clone(), vec![full]));
                }
            }
            Some(keyword) if DECLARATIONS.contains(&keyword) => {
                // A name Lean's parser refuses is a parse error: nothing is declared.
                if let Some((at, data)) = crate::lean_syntax::declaration_head_error(text) {
                    let at = item.start + at;
                    messages.push(json!({
                        "severity": "error", "pos": pos(cmd, at), "endPos": null, "data": data,
                    }));
                    return;
                }
                let name = match keyword {
                    "example" | "instance" => None,
                    _ => first_words
                        .next()
                        .map(|n| n.split(['(', '{', '[', ':']).next().unwrap_or(n).to_owned()),
                };
                let proof_at = text.find(":=").map_or(text.len(), |i| i + 2);
                let proof = &text[proof_at..];
                for (at, shown) in quoted_after(proof, "trace") {
                    messages.push(message(cmd, "info", item.start + proof_at + at, shown));
                }
                let mut axioms: Vec<String> = STANDARD.iter().map(|a| a.to_string()).collect();
                let proof_words: Vec<&str> = words(proof).collect();
                if proof_words.contains(&"sorry") {
                    axioms.push("sorryAx".into());
                    let at = item.start + proof_at + proof.find("sorry").unwrap_or(0);
                    sorries.push(json!({
                        "proofState": self.proof_states,
                        "pos": pos(cmd, at),
                        "endPos": pos(cmd, at + 5),
                        "goal": "⊢ simulated goal",
                    }));
                    self.proof_states += 1;
                    messages.push(message(
                        cmd,
                        "warning",
                        item.start,
                        "declaration uses 'sorry'",
                    ));
                }
                let full = name.map(|n| format!("{}{n}", prefix(&state.namespace)));
                if proof_words.contains(&"native_decide")
                    || (proof_words.contains(&"decide") && proof_words.contains(&"native"))
                {
                    let owner = full.clone().unwrap_or_else(|| "_example".into());
                    axioms.push(format!("{owner}._native.native_decide.ax_1_1"));
                }
                for axiom in &state.axioms {
                    let named = |w: &&str| {
                        *w == axiom
                            || w.strip_prefix(axiom.as_str())
                                .is_some_and(|r| r.starts_with('.'))
                    };
                    if proof_words.iter().any(named) {
                        axioms.push(axiom.clone());
                    }
                }
                axioms.sort();
                axioms.dedup();
                if let Some(full) = full {
                    if state.constants.iter().any(|(c, _)| *c == full) {
                        messages.push(message(
                            cmd,
                            "error",
                            item.start,
                            &format!("'{full}' has already been declared"),
                        ));
                        return;
                    }
                    state.constants.push((full, axioms));
                }
            }
            _ => {}
        }
    }
}

fn prefix(namespace: &[String]) -> String {
    namespace.iter().map(|n| format!("{n}.")).collect()
}

impl Responder for Permissive {
    fn respond(&mut self, request: &Value) -> Reply {
        let env = request.get("env").and_then(Value::as_u64);
        match request.get("cmd").and_then(Value::as_str) {
            Some(cmd) => self.command(cmd, env),
            None => Reply::answer(&json!({
                "message": "the permissive simulated REPL answers commands only"
            })),
        }
    }
}
