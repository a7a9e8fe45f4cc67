//! A permissive simulated REPL (NOT Lean): accepts every declaration, and models only what a checker must not be fooled by.
//!
//! `sim-repl --accept-all` answers from this instead of a world. It stands for Lean on a proof
//! that elaborates, so the checker's own rules are what decides, and it reproduces the Lean
//! behaviours that attacks on a checker use:
//! - `trace "…"` in a proof and `#print "…"` anywhere print an info message with that text;
//! - `axiom NAME : …` (in a header or a command) declares an axiom; a later proof that names
//!   it as a word depends on it;
//! - `sorry` in a proof reports a sorry and the "declaration uses 'sorry'" warning (in the
//!   `--lean-version` flavour's spelling), and adds `sorryAx`;
//! - `native_decide` or `decide +native` adds the auxiliary axiom
//!   `NAME._native.native_decide.ax_1_1`, as Lean 4.2x does;
//! - several declarations in one command are several constants (an escaped command is one
//!   more declaration), and `namespace X` … `end X` prefixes their names, one scope per
//!   component as in Lean (`namespace A.B` … `end B` leaves `A`); a name's universe parameters
//!   are not part of it, `«…»` escapes are, and a `private` constant gets Lean's mangled name;
//! - `#print axioms NAME` as a command of its own reads the constants of the env it runs on,
//!   resolving `NAME` as Lean does ([`crate::sim::resolve_constant`]): under `open N`, a bare
//!   name answers once for each of `N.NAME` and `NAME` that exist;
//! - every other proof elaborates with the standard axioms `propext`, `Classical.choice`,
//!   `Quot.sound`, and `variable`, `include`, `macro_rules`, `set_option` are accepted silently.
//!
//! Envs form a tree as in the REPL: each command's env extends the one it ran on.

use serde_json::{Value, json};

use crate::sim::{LeanVersion, Reply, Responder, print_axioms_answers, private_name};

/// What one env holds: its declared constants with their axioms, the axioms declared so far,
/// the scopes left open (a namespace component, or `None` for a section) and the namespaces
/// opened with `open`.
#[derive(Debug, Clone, Default)]
struct Env {
    constants: Vec<(String, Vec<String>)>,
    axioms: Vec<String>,
    scopes: Vec<Option<String>>,
    opens: Vec<String>,
}

impl Env {
    /// The components of the current namespace.
    fn namespace(&self) -> Vec<String> {
        self.scopes.iter().flatten().cloned().collect()
    }
}

/// The permissive responder: a list of envs, nothing else.
#[derive(Debug, Default)]
pub struct Permissive {
    envs: Vec<Env>,
    proof_states: u64,
    version: LeanVersion,
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

    /// The same simulator imitating another Lean version's texts.
    pub fn with_version(mut self, version: LeanVersion) -> Permissive {
        self.version = version;
        self
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
            let axioms_of = |constant: &str| {
                state
                    .constants
                    .iter()
                    .rev()
                    .find(|(c, _)| c == constant)
                    .map(|(_, axioms)| axioms.clone())
            };
            let answers =
                print_axioms_answers(name.trim(), &state.namespace(), &state.opens, &axioms_of);
            for (severity, data) in answers {
                messages.push(message(cmd, severity, item.start, &data));
            }
            return;
        }
        for (at, shown) in quoted_after(text, "#print") {
            messages.push(message(cmd, "info", item.start + at, shown));
        }
        let scope_name = |text: &str| {
            // The name after `namespace`, `section` or `end`, as its components.
            let after = text.split_once(char::is_whitespace).map_or("", |(_, r)| r);
            let name = after
                .lines()
                .next()
                .unwrap_or("")
                .split("--")
                .next()
                .unwrap_or("");
            let full = datasets::lean::full_declaration_name("", name.trim());
            if name.trim().is_empty() {
                Vec::new()
            } else {
                split_printed(&full)
            }
        };
        match first_words.next() {
            Some("namespace") => {
                let components = scope_name(trimmed);
                state.scopes.extend(components.into_iter().map(Some));
            }
            Some("section") => {
                let count = scope_name(trimmed).len().max(1);
                state.scopes.extend(std::iter::repeat_n(None, count));
            }
            // `end A.B` closes one scope per component; a bare `end` closes one.
            Some("end") => {
                let count = scope_name(trimmed).len().max(1);
                let kept = state.scopes.len().saturating_sub(count);
                state.scopes.truncate(kept);
            }
            Some("open") => {
                state.opens.extend(
                    first_words
                        .take_while(|w| !matches!(*w, "in" | "hiding" | "renaming"))
                        .filter(|w| *w != "scoped")
                        .map(str::to_owned),
                );
            }
            Some("axiom") => {
                if let Some(name) = first_words.next() {
                    let full = format!("{}{name}", prefix(&state.namespace()));
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
                    _ => datasets::lean::declaration_name(trimmed),
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
                        self.version.sorry_warning(),
                    ));
                }
                // The constant's full name as Lean prints it; a private one is mangled.
                let full = name.map(|n| {
                    let header: String = state
                        .namespace()
                        .iter()
                        .map(|c| format!("namespace {c}\n"))
                        .collect();
                    let full = datasets::lean::full_declaration_name(&header, &n);
                    if datasets::lean::declares_private(trimmed) {
                        private_name(&full)
                    } else {
                        full
                    }
                });
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

/// The components of a printed name (`A.«b.c».d` gives `A`, `«b.c»`, `d`), escapes kept.
fn split_printed(name: &str) -> Vec<String> {
    let mut components = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in name.chars() {
        match c {
            '«' => escaped = true,
            '»' => escaped = false,
            '.' if !escaped => {
                components.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    components.push(current);
    components
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
