//! `Backend`: the language server. Every handler answers from memory within milliseconds; a proof runs as a job submitted to the session (`Session::submit`), watched by a tokio task that reports its progress and ends with one `workspace/applyEdit`.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;

use prover::job::{CancelToken, Goal, JobEvent, Observer};
use prover::pipeline::plan::{PlanSearch, PlanTap, PlannerRun, Planning};
use prover::pipeline::{Stop, StopSender};
use prover::session::Session;
use prover::settings::{EditorSettings, Overlay, SettingsFile, session_config};
use prover::{ProveResult, ProveStatus, SorryGoal, Theorem};
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use prover::text::source::{self as text, Declaration};

use crate::to_proto::{self, Encoding};

/// The command that starts a job.
pub const PROVE_COMMAND: &str = "prover.proveSorry";
/// The command that cancels jobs.
pub const CANCEL_COMMAND: &str = "prover.cancel";
/// The code action's title.
pub const ACTION_TITLE: &str = "Prove this sorry (prover)";

/// An open document.
#[derive(Debug, Clone)]
struct Document {
    text: String,
    version: i32,
    /// Why the server's copy may differ from the editor's (a change it could not apply), until
    /// the editor sends the whole text again; no job starts on such a document.
    out_of_sync: Option<String>,
}

/// A job in progress: the server's side of a [`prover::job::Job`].
#[derive(Debug, Clone)]
struct Job {
    uri: Uri,
    /// The declaration's byte range in the document, shifted by edits before it.
    anchor: Range<usize>,
    cancel: CancelToken,
    token: Option<String>,
}

#[derive(Default)]
struct State {
    session: Option<Arc<Session>>,
    /// The planner, when the settings turn it on (`[planner] kind = "openai"`): a sorry that is
    /// a theorem's whole proof is proved through it.
    planning: Option<Planning>,
    /// Whether an opened file's imports are imported at once (`--prewarm`, `[repl] prewarm`,
    /// as the session's settings say).
    prewarm: bool,
    encoding: Option<Encoding>,
    progress: bool,
    document_changes: bool,
    documents: HashMap<Uri, Document>,
    jobs: HashMap<u64, Job>,
    next_job: u64,
    /// Verified proofs by the hash of the header, the declaration and the sorry's ordinal.
    known: HashMap<String, String>,
    /// Jobs waiting for the next `didChange` of a document (to confirm their edit landed).
    change_watchers: Vec<(Uri, tokio::sync::oneshot::Sender<()>)>,
    /// The editor's `initializationOptions`.
    initialization_options: SettingsFile,
    /// The settings of the last `workspace/didChangeConfiguration` taken, as sent.
    configuration: Value,
    /// Warnings found while initializing, shown once the editor says it is initialized.
    pending_warnings: Vec<String>,
}

/// The server. Its settings are layers, each key taken from the highest layer that sets it:
/// the last `workspace/didChangeConfiguration`, then `initializationOptions`, then the command
/// line, then `prover.toml`, then the defaults. The editor's layers use `prover.toml`'s keys.
pub struct Backend {
    client: Client,
    file: SettingsFile,
    overlay: Overlay,
    state: Arc<Mutex<State>>,
}

/// Starts, on `session`'s cold pool, the REPLs one job runs on, importing the import blocks
/// of the open documents' `texts` (`prover lsp --prewarm`). The pool starts processes only on
/// slots that have none, so the first documents' imports take the slots and the rest wait
/// for their first job, as the pool never runs more processes than its size.
fn prewarm_open_documents(session: &Session, texts: &[String]) {
    let started: usize = texts
        .iter()
        .map(|text| session.prewarm_imports(text, 1))
        .sum();
    if !texts.is_empty() {
        tracing::debug!(
            started,
            documents = texts.len(),
            "REPLs importing the open files' imports"
        );
    }
}

/// The warning shown for a document whose copy went out of sync.
fn out_of_sync_warning(uri: &Uri, reason: &str) -> String {
    format!(
        "prover: {} is out of sync ({reason}): no proofs are offered there until the editor \
         sends its whole text (close and reopen the file)",
        uri.as_str()
    )
}

impl Backend {
    /// A server for `client`.
    pub fn new(client: Client, file: SettingsFile, overlay: Overlay) -> Backend {
        Backend {
            client,
            file,
            overlay,
            state: Arc::default(),
        }
    }

    /// When a file opens, start the REPLs one job runs on, each importing the file's import
    /// block, in the background (`prover lsp --prewarm`: the command line's layer, so
    /// `[repl] prewarm` in the editor's settings overrides it, and `prover.toml`'s holds
    /// without it).
    pub fn prewarming(mut self, prewarm: bool) -> Backend {
        if prewarm {
            self.overlay.repl.prewarm = Some(true);
        }
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `window/workDoneProgress/cancel`: the progress report's cancel button.
    pub async fn progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        let token = match params.token {
            NumberOrString::String(s) => s,
            NumberOrString::Number(n) => n.to_string(),
        };
        let state = self.state();
        for job in state.jobs.values() {
            if job.token.as_deref() == Some(token.as_str()) {
                job.cancel.cancel();
            }
        }
    }

    /// [`framing::REFUSED_METHOD`](crate::framing::REFUSED_METHOD): the framing layer did not
    /// pass on a message. When it was (or may have been) a change to a document, that document,
    /// or every document when which one cannot be known, is out of sync until its next full
    /// text, and its jobs are cancelled.
    pub async fn refused(&self, params: Value) {
        let method = params["method"].as_str();
        let reason = params["reason"]
            .as_str()
            .unwrap_or("a message that did not read");
        let document_method =
            method.is_none_or(|m| m.starts_with("textDocument/did") || m.is_empty());
        if !document_method {
            return;
        }
        let uri = params["uri"]
            .as_str()
            .and_then(|u| serde_json::from_value::<Uri>(json!(u)).ok());
        let mut warnings = Vec::new();
        {
            let mut state = self.state();
            let affected: Vec<Uri> = match &uri {
                Some(uri) => state
                    .documents
                    .keys()
                    .filter(|u| *u == uri)
                    .cloned()
                    .collect(),
                None => state.documents.keys().cloned().collect(),
            };
            for uri in affected {
                mark_out_of_sync(&mut state, &uri, reason);
                warnings.push(out_of_sync_warning(&uri, reason));
            }
        }
        for warning in warnings {
            self.client
                .show_message(MessageType::WARNING, warning)
                .await;
        }
    }

    /// The settings the editor's layers make on top of the command line and the file, and the
    /// planner they turn on (none by default).
    fn editor_config(
        &self,
        initialization_options: &SettingsFile,
        configuration: &EditorSettings,
    ) -> std::result::Result<(prover::session::SessionConfig, Option<Planning>, bool), String> {
        let editor = EditorSettings {
            settings: initialization_options.overlaid_by(&configuration.settings),
            unknown: Vec::new(),
        };
        let (overlay, file) = editor.over(&self.overlay, &self.file);
        let mut config = session_config(&overlay, &file).map_err(|e| e.to_string())?;
        // A settings change opens the new session while the old one still holds the cache
        // directory: unless the user chose otherwise, the editor goes on with an in-memory
        // cache (and says so in its log) rather than refusing the new settings.
        if overlay
            .cache
            .shared_fallback
            .or(file.cache.shared_fallback)
            .is_none()
        {
            config.cache_fallback = prover::session::CacheFallback::Memory;
        }
        let planning =
            Planning::open(&PlannerRun::default(), &file, false, &[]).map_err(|e| e.to_string())?;
        Ok((
            config,
            planning,
            prover::settings::prewarm(&overlay.repl, &file),
        ))
    }

    fn prove(&self, arguments: &[Value]) -> Result<()> {
        let argument = arguments.first().ok_or_else(|| {
            Error::invalid_params("prover.proveSorry takes {uri, version, range}")
        })?;
        let uri: Uri = serde_json::from_value(argument["uri"].clone())
            .map_err(|e| Error::invalid_params(format!("uri: {e}")))?;
        let range: tower_lsp_server::ls_types::Range =
            serde_json::from_value(argument["range"].clone())
                .map_err(|e| Error::invalid_params(format!("range: {e}")))?;
        let mut state = self.state();
        let encoding = state.encoding.unwrap_or(Encoding::Utf16);
        let Some(session) = state.session.clone() else {
            return Err(Error::invalid_request());
        };
        let document = state
            .documents
            .get(&uri)
            .cloned()
            .ok_or_else(|| Error::invalid_params("the document is not open"))?;
        if let Some(reason) = &document.out_of_sync {
            return Err(Error {
                code: ErrorCode::ServerError(-32801),
                message: format!(
                    "the server's copy of the document is out of sync ({reason}); reopen the file"
                )
                .into(),
                data: None,
            });
        }
        let sorry = byte_range(&document.text, &range, encoding)
            .filter(|r| document.text.get(r.clone()) == Some("sorry"))
            .ok_or_else(|| Error {
                code: ErrorCode::ServerError(-32801),
                message: "the text at the range is no longer `sorry` (content modified)".into(),
                data: None,
            })?;
        let declaration = text::declaration_of(&document.text, sorry).ok_or_else(|| {
            Error::invalid_params(
                "only a sorry inside a top-level theorem, lemma or example can be proved",
            )
        })?;
        let id = state.next_job;
        state.next_job += 1;
        let token = state.progress.then(|| format!("prover/{id}"));
        let goal = prover::text::sorry_goal(&document.text, &declaration);
        let expansions = Arc::new(Progress::new());
        let counter = expansions.clone();
        // With the planner on, a sorry that is a theorem's whole proof is proved as `prove
        // --planner openai` proves a theorem; any other sorry by one search in place.
        let planned = state
            .planning
            .clone()
            .and_then(|planning| Some((planning, planned_theorem(&document.text, &declaration)?)));
        let (end, cancel, stop, whole): (Ending, CancelToken, Option<StopSender>, Option<usize>) =
            match planned {
                Some((planning, (theorem, by_end))) => {
                    let (sender, stop) = Stop::channel();
                    let prover = session.prover().clone();
                    let tap = Arc::new(ProgressTap(counter));
                    let end = async move {
                        Some(planning.plan(&prover, theorem, &stop, tap).await.result)
                    };
                    (
                        Box::pin(end),
                        CancelToken::new(),
                        Some(sender),
                        Some(by_end),
                    )
                }
                None => {
                    let handle = session.submit(
                        prover::job::Job::Prove(Goal::Sorry(goal.clone())),
                        move |event: &JobEvent| counter.record(event),
                    );
                    let cancel = handle.cancel_token();
                    let end = async move { handle.wait().await.into_prove_result() };
                    (Box::pin(end), cancel, None, None)
                }
            };
        state.jobs.insert(
            id,
            Job {
                uri: uri.clone(),
                anchor: declaration.start..declaration.end,
                cancel: cancel.clone(),
                token: token.clone(),
            },
        );
        let job = JobRun {
            id,
            client: self.client.clone(),
            state: self.state.clone(),
            session,
            uri,
            goal,
            key: key_of(&document.text, &declaration),
            declaration,
            expansions,
            cancel,
            token,
            stop,
            whole,
        };
        tokio::spawn(job.run(end));
        Ok(())
    }
}

/// How a job ends: its result, or `None` when it was cancelled.
type Ending = Pin<Box<dyn Future<Output = Option<ProveResult>> + Send>>;

/// The theorem a sorry stands for when it is the declaration's whole proof (`… := by sorry`,
/// nothing but whitespace around it): the declaration up to its `by`, the file before it as the
/// header. `None` for any other sorry (a later tactic, a nested `have`, a term), which the
/// planner does not plan.
/// The theorem, and where its `by` ends from the declaration's start.
fn planned_theorem(text: &str, declaration: &Declaration) -> Option<(Theorem, usize)> {
    let statement = text
        .get(declaration.start..declaration.sorry.start)?
        .trim_end();
    let by_end = declaration.start + statement.len();
    let head = text.get(declaration.head..by_end)?;
    let whole = head
        .strip_suffix("by")
        .is_some_and(|before| before.trim_end().ends_with(":="))
        && head.matches(":=").count() == 1
        && text
            .get(declaration.sorry.end..declaration.end)?
            .trim()
            .is_empty();
    let theorem = Theorem {
        name: prover::text::sorry_goal(text, declaration).name,
        header: text[..declaration.start].to_owned(),
        formal_statement: statement.to_owned(),
    };
    whole.then_some((theorem, statement.len()))
}

/// The editor's progress report fed by every search of a plan (each search's own count).
struct ProgressTap(Arc<Progress>);

impl PlanTap for ProgressTap {
    fn observer(&self, _search: PlanSearch) -> Box<dyn Observer> {
        let counter = self.0.clone();
        Box::new(move |event: &JobEvent| counter.record(event))
    }
}

fn byte_range(
    text: &str,
    range: &tower_lsp_server::ls_types::Range,
    encoding: Encoding,
) -> Option<Range<usize>> {
    let start = to_proto::offset_of(text, range.start.line, range.start.character, encoding)?;
    let end = to_proto::offset_of(text, range.end.line, range.end.character, encoding)?;
    (start <= end).then_some(start..end)
}

fn lsp_range(
    text: &str,
    range: Range<usize>,
    encoding: Encoding,
) -> tower_lsp_server::ls_types::Range {
    let (sl, sc) = to_proto::position_of(text, range.start, encoding);
    let (el, ec) = to_proto::position_of(text, range.end, encoding);
    tower_lsp_server::ls_types::Range::new(Position::new(sl, sc), Position::new(el, ec))
}

/// The key of a proof: the text before the declaration, the declaration, and which of its
/// sorries the proof is for.
fn key_of(text: &str, declaration: &Declaration) -> String {
    let header = &text[..declaration.start];
    let body = &text[declaration.start..declaration.end];
    let mut hasher = datasets::hash::Fnv1a64::new();
    hasher.write(header.as_bytes());
    hasher.write_u8(datasets::hash::PART_END);
    hasher.write(body.as_bytes());
    hasher.write_u8(datasets::hash::PART_END);
    hasher.write(&declaration.ordinal.to_le_bytes());
    format!("{:016x}", hasher.finish())
}

/// What the progress report shows of a running search: expansions so far, and the best
/// priority a node was expanded at (the score of the most promising state).
struct Progress {
    expansions: AtomicU32,
    /// `f64` bits; `NaN` (no node yet) until the first expansion.
    best: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            expansions: AtomicU32::new(0),
            best: AtomicU64::new(f64::NAN.to_bits()),
        }
    }

    /// Takes in a job's progress event.
    fn record(&self, event: &JobEvent) {
        if let JobEvent::Progress(progress) = event {
            self.expansions
                .store(progress.expansions, Ordering::Relaxed);
            if let Some(best) = progress.best {
                self.best.store(best.to_bits(), Ordering::Relaxed);
            }
        }
    }

    /// `12 expansions · best −1.73 · 3 s · portfolio`.
    fn message(&self, elapsed: Duration, policy: &str) -> String {
        let best = f64::from_bits(self.best.load(Ordering::Relaxed));
        let best = if best.is_nan() {
            String::new()
        } else {
            format!(" · best {}", format!("{best:.2}").replace('-', "−"))
        };
        format!(
            "{} expansions{best} · {:.0} s · {policy}",
            self.expansions.load(Ordering::Relaxed),
            elapsed.as_secs_f64()
        )
    }
}

/// One job, from search to edit.
struct JobRun {
    id: u64,
    client: Client,
    state: Arc<Mutex<State>>,
    session: Arc<Session>,
    uri: Uri,
    goal: SorryGoal,
    /// The proof's key in [`State::known`].
    key: String,
    declaration: Declaration,
    /// What the job's observer saw of its search.
    expansions: Arc<Progress>,
    cancel: CancelToken,
    token: Option<String>,
    /// A planned job's stop: set when the job is cancelled, so the plan starts nothing more
    /// (its searches running then end within their budget; nothing is applied).
    stop: Option<StopSender>,
    /// For a plan's proof (the text after `:= by`, exactly as its final check accepted it):
    /// where the declaration's `by` ends, from its start. The proof replaces everything from
    /// there to the end of the sorry, rather than being laid out in the sorry's place.
    whole: Option<usize>,
}

impl JobRun {
    async fn run(self, search: Ending) {
        let started = Instant::now();
        let progress = match &self.token {
            Some(token) => {
                let token = NumberOrString::String(token.clone());
                let _ = self.client.create_work_done_progress(token.clone()).await;
                Some(
                    self.client
                        .progress(token, "Proving")
                        .with_cancel_button()
                        .with_message("starting")
                        .begin()
                        .await,
                )
            }
            None => None,
        };
        let expansions = &self.expansions;
        let prover = self.session.prover();
        let policy = prover.policies().spec().kind.name();
        let deadline = prover.config().search.max_time;
        tokio::pin!(search);
        let end = loop {
            tokio::select! {
                end = &mut search => break end,
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    if let (Some(stop), true) = (&self.stop, self.cancel.is_cancelled()) {
                        stop.stop();
                    }
                    if let Some(progress) = &progress {
                        let mut message = expansions.message(started.elapsed(), policy);
                        // The share of the time budget spent, when there is one.
                        if let Some(deadline) = deadline.filter(|d| !d.is_zero()) {
                            let spent = started.elapsed().as_secs_f64() / deadline.as_secs_f64();
                            message.push_str(&format!(
                                " · {:.0} % of {:.0} s",
                                (100.0 * spent).min(100.0),
                                deadline.as_secs_f64()
                            ));
                        }
                        progress.report_with_message(message, None).await;
                    }
                }
            }
        };
        // A cancel that came after the search ended still applies nothing.
        let result = match end {
            Some(result) if !self.cancel.is_cancelled() => Some(result),
            _ => None,
        };
        let ending = match &result {
            None => "cancelled".to_owned(),
            Some(result)
                if result.status == ProveStatus::Proved
                    && result
                        .plan
                        .as_ref()
                        .is_some_and(|plan| plan.outcome == datasets::plan::PlanOutcome::Plan) =>
            {
                let closed = result.plan.as_ref().map_or(0, |plan| plan.holes_closed);
                format!("proved through a skeleton ({closed} hole(s) closed)")
            }
            Some(result) if result.status == ProveStatus::Proved => {
                let steps = result.proof.as_deref().map_or(0, |p| {
                    p.lines()
                        .filter(|l| l.starts_with("  ") && !l[2..].starts_with(' '))
                        .count()
                });
                match &result.rests_on {
                    Some(rests_on) => format!(
                        "proved in {steps} step(s), resting on {}",
                        rests_on.describe()
                    ),
                    None => format!("proved in {steps} step(s)"),
                }
            }
            Some(result) => format!(
                "stopped: {}",
                result.stop_detail.as_deref().unwrap_or("no proof")
            ),
        };
        if let Some(progress) = progress {
            progress.finish_with_message(ending.clone()).await;
        }
        let job = self.finish();
        let Some(result) = result else {
            return;
        };
        match (result.status, &result.proof) {
            (ProveStatus::Proved, Some(proof)) => {
                self.apply(job, proof).await;
                // Applied, but never silently: the proof holds only as far as what it rests on.
                if let Some(rests_on) = &result.rests_on {
                    self.show(
                        MessageType::WARNING,
                        format!(
                            "prover: the proof of this sorry in {} rests on {}, not only on \
                             Lean's standard axioms: a sorry or an axiom elsewhere in the file",
                            self.goal.name,
                            rests_on.describe()
                        ),
                    )
                    .await;
                }
            }
            (ProveStatus::Error, _) => {
                self.client
                    .show_message(
                        MessageType::WARNING,
                        format!("prover: {ending} (see the server's log)"),
                    )
                    .await;
            }
            _ => {
                self.client
                    .show_message(
                        MessageType::INFO,
                        format!("prover: no proof found ({ending})"),
                    )
                    .await;
            }
        }
    }

    /// Removes the job; returns it as it stands (its anchor moved by edits since).
    fn finish(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.jobs.remove(&self.id)
    }

    /// Edits the document at the declaration's current place, and confirms that the next
    /// `didChange` holds the proof: a client may answer `applied: true` and still skip an edit
    /// for a version it has moved past (Neovim's "Buffer … newer than edits"). After a miss the
    /// declaration is found again and the edit sent once more; after a second, or when the
    /// declaration is gone, the proof is shown in a message and kept for the next code action.
    async fn apply(&self, job: Option<Job>, proof: &str) {
        let declaration_text = self.goal.declaration.clone();
        let mut start = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            // A plan's proof is a whole `by` block, not a script for the sorry's place.
            if self.whole.is_none() {
                state.known.insert(self.key.clone(), proof.to_owned());
            }
            job.map_or(self.declaration.start, |j| j.anchor.start)
        };
        for _attempt in 0..2 {
            let Some((edit, edited)) = self.edit_at(start, proof) else {
                self.show(
                    MessageType::INFO,
                    format!(
                        "prover: the declaration changed while it was proved; the proof was:{proof}"
                    ),
                )
                .await;
                return;
            };
            let watcher = self.watch_changes();
            match self.client.apply_edit(edit).await {
                Ok(response) if response.applied => {}
                _ => {
                    self.show(
                        MessageType::INFO,
                        format!("prover: the editor did not take the edit; the proof is:{proof}"),
                    )
                    .await;
                    return;
                }
            }
            if !self.document_contains(&edited) {
                let _ = tokio::time::timeout(CONFIRMATION_WINDOW, watcher).await;
            }
            if self.document_contains(&edited) {
                if !self.progress_supported() {
                    let steps = proof.lines().filter(|l| !l.trim().is_empty()).count();
                    self.show(
                        MessageType::INFO,
                        format!("prover: proved ({steps} tactic line(s))"),
                    )
                    .await;
                }
                return;
            }
            // The edit did not land: find the declaration where it is now and try once more.
            match self.current_text().and_then(|t| t.find(&declaration_text)) {
                Some(found) => start = found,
                None => break,
            }
        }
        self.show(
            MessageType::INFO,
            format!("prover: the edit did not reach the document; the proof is:{proof}"),
        )
        .await;
    }

    /// The edit for the declaration starting at `start` in the current document, and the
    /// declaration as it reads once edited; `None` when the declaration is no longer there.
    fn edit_at(&self, start: usize, proof: &str) -> Option<(WorkspaceEdit, String)> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let encoding = state.encoding.unwrap_or(Encoding::Utf16);
        let document = state
            .documents
            .get(&self.uri)
            .filter(|d| d.out_of_sync.is_none())?;
        let declaration_text = &self.goal.declaration;
        if document.text.get(start..start + declaration_text.len()) != Some(declaration_text) {
            return None;
        }
        let moved = self
            .declaration
            .shifted(start as isize - self.declaration.start as isize);
        let (range, new_text) = match self.whole {
            // The plan's checked text: the statement up to `by`, then exactly its proof.
            Some(by_end) => (moved.start + by_end..moved.sorry.end, proof.to_owned()),
            None => text::proof_edit(&document.text, &moved, proof),
        };
        // The declaration as it reads once edited (the edit lies inside it).
        let mut edited = declaration_text.clone();
        edited.replace_range(range.start - start..range.end - start, &new_text);
        let edit = TextEdit {
            range: lsp_range(&document.text, range, encoding),
            new_text,
        };
        let workspace_edit = if state.document_changes {
            WorkspaceEdit {
                document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier {
                        uri: self.uri.clone(),
                        version: Some(document.version),
                    },
                    edits: vec![OneOf::Left(edit)],
                }])),
                ..WorkspaceEdit::default()
            }
        } else {
            WorkspaceEdit {
                changes: Some(HashMap::from([(self.uri.clone(), vec![edit])])),
                ..WorkspaceEdit::default()
            }
        };
        Some((workspace_edit, edited))
    }

    /// Resolves at the next `didChange` of this job's document.
    fn watch_changes(&self) -> tokio::sync::oneshot::Receiver<()> {
        let (tell, told) = tokio::sync::oneshot::channel();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.change_watchers.push((self.uri.clone(), tell));
        told
    }

    fn current_text(&self) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.documents.get(&self.uri).map(|d| d.text.clone())
    }

    fn document_contains(&self, edited: &str) -> bool {
        self.current_text().is_some_and(|t| t.contains(edited))
    }

    fn progress_supported(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .progress
    }

    async fn show(&self, kind: MessageType, message: String) {
        self.client.show_message(kind, message).await;
    }
}

/// How long a job waits for the `didChange` that shows its edit landed.
const CONFIRMATION_WINDOW: Duration = Duration::from_secs(2);

/// Marks a document out of sync and cancels its jobs (their anchors may be wrong).
fn mark_out_of_sync(state: &mut State, uri: &Uri, reason: &str) {
    if let Some(document) = state.documents.get_mut(uri) {
        document.out_of_sync = Some(reason.to_owned());
    }
    for job in state.jobs.values().filter(|j| j.uri == *uri) {
        job.cancel.cancel();
    }
}

fn shifted(range: &Range<usize>, shift: isize) -> Range<usize> {
    ((range.start as isize + shift) as usize)..((range.end as isize + shift) as usize)
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let options = params
            .initialization_options
            .as_ref()
            .unwrap_or(&Value::Null);
        let options = EditorSettings::from_json(options)
            .map_err(|e| Error::invalid_params(format!("initializationOptions: {e}")))?;
        let (config, planning, prewarm) = self
            .editor_config(&options.settings, &EditorSettings::default())
            .map_err(|e| Error {
                code: ErrorCode::InvalidParams,
                message: format!("prover settings: {e}").into(),
                data: None,
            })?;
        let session =
            Session::open_on(&tokio::runtime::Handle::current(), config).map_err(|e| Error {
                code: ErrorCode::InternalError,
                message: format!("prover: {e}").into(),
                data: None,
            })?;
        let capabilities = &params.capabilities;
        let utf8 = capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
        {
            let mut state = self.state();
            state.pending_warnings = options
                .unknown
                .iter()
                .map(|key| {
                    format!(
                        "prover: initializationOptions: unknown setting `{key}` ignored (the \
                         keys are prover.toml's)"
                    )
                })
                .collect();
            state.initialization_options = options.settings;
            state.session = Some(Arc::new(session));
            state.planning = planning;
            state.prewarm = prewarm;
            state.encoding = Some(if utf8 {
                Encoding::Utf8
            } else {
                Encoding::Utf16
            });
            state.progress = capabilities
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false);
            state.document_changes = capabilities
                .workspace
                .as_ref()
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false);
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(if utf8 {
                    PositionEncodingKind::UTF8
                } else {
                    PositionEncodingKind::UTF16
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        resolve_provider: Some(true),
                        ..CodeActionOptions::default()
                    },
                )),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![PROVE_COMMAND.to_owned(), CANCEL_COMMAND.to_owned()],
                    ..ExecuteCommandOptions::default()
                }),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "prover".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let warnings = std::mem::take(&mut self.state().pending_warnings);
        for warning in warnings {
            self.client
                .show_message(MessageType::WARNING, warning)
                .await;
        }
    }

    async fn shutdown(&self) -> Result<()> {
        let session = {
            let mut state = self.state();
            for job in state.jobs.values() {
                job.cancel.cancel();
            }
            state.jobs.clear();
            state.session.take()
        };
        if let Some(session) = session {
            let _ = session.shutdown().await;
        }
        Ok(())
    }

    /// New settings replace the session for jobs started from now on (running jobs finish
    /// under the settings they started with). The settings are the editor's top layer (see
    /// [`Backend`]), replacing the previous `didChangeConfiguration`'s; settings under a
    /// `prover` key are taken, as editors nest each server's section. Settings equal to the last
    /// ones change nothing (so `{}` after no settings keeps the session); unknown keys are
    /// named in a warning; refused settings keep the old session and say why.
    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let settings = match params.settings {
            Value::Object(mut map) if map.contains_key("prover") => {
                map.remove("prover").unwrap_or_default()
            }
            other => other,
        };
        let settings = match settings {
            Value::Null => json!({}),
            other => other,
        };
        let initialization_options = {
            let state = self.state();
            if state.configuration == settings
                || (state.configuration.is_null() && settings == json!({}))
            {
                return;
            }
            state.initialization_options.clone()
        };
        let mut warnings = Vec::new();
        let opened = EditorSettings::from_json(&settings)
            .map_err(|e| e.to_string())
            .and_then(|editor| {
                warnings.extend(editor.unknown.iter().map(|key| {
                    format!("prover: settings: unknown setting `{key}` ignored (the keys are prover.toml's)")
                }));
                self.editor_config(&initialization_options, &editor)
            })
            .and_then(|(config, planning, prewarm)| {
                Session::open_on(&tokio::runtime::Handle::current(), config)
                    .map(|session| (session, planning, prewarm))
                    .map_err(|e| e.to_string())
            });
        match opened {
            Ok((session, planning, prewarm)) => {
                let session = Arc::new(session);
                let (old, open_texts) = {
                    let mut state = self.state();
                    state.configuration = settings;
                    state.planning = planning;
                    state.prewarm = prewarm;
                    let open_texts: Vec<String> = if prewarm {
                        state.documents.values().map(|d| d.text.clone()).collect()
                    } else {
                        Vec::new()
                    };
                    (state.session.replace(Arc::clone(&session)), open_texts)
                };
                // The new session's pool starts cold: the files already open would otherwise
                // wait for their imports at their first job, as without `--prewarm`.
                prewarm_open_documents(&session, &open_texts);
                if let Some(old) = old.and_then(Arc::into_inner) {
                    tokio::spawn(async move {
                        let _ = old.shutdown().await;
                    });
                }
            }
            Err(error) => warnings.push(format!(
                "prover: the new settings were refused, the old ones stay ({error})"
            )),
        }
        for warning in warnings {
            self.client
                .show_message(MessageType::WARNING, warning)
                .await;
        }
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let document = params.text_document;
        let (session, prewarm) = {
            let state = self.state();
            (state.session.clone(), state.prewarm)
        };
        if prewarm && let Some(session) = session {
            prewarm_open_documents(&session, std::slice::from_ref(&document.text));
        }
        self.state().documents.insert(
            document.uri,
            Document {
                text: document.text,
                version: document.version,
                out_of_sync: None,
            },
        );
    }

    /// Applies the changes in order. A change to a version not newer than the one held, or
    /// with a range outside the text, is refused: the document is out of sync (no job starts
    /// on it, its running jobs are cancelled, a warning says so) until a change with the whole
    /// text, which also cancels every job on it.
    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let warning = {
            let mut state = self.state();
            let encoding = state.encoding.unwrap_or(Encoding::Utf16);
            let uri = params.text_document.uri;
            let version = params.text_document.version;
            let Some(mut document) = state.documents.remove(&uri) else {
                return;
            };
            let was_in_sync = document.out_of_sync.is_none();
            if version <= document.version {
                document.out_of_sync = Some(format!(
                    "a change to version {version} came after version {}",
                    document.version
                ));
            } else {
                document.version = version;
                for change in params.content_changes {
                    let Some(lsp_range) = change.range else {
                        // The whole text: the copy is right again, and every job's goal may
                        // have changed.
                        for job in state.jobs.values().filter(|j| j.uri == uri) {
                            job.cancel.cancel();
                        }
                        document.text = change.text;
                        document.out_of_sync = None;
                        continue;
                    };
                    if document.out_of_sync.is_some() {
                        continue;
                    }
                    let Some(range) = byte_range(&document.text, &lsp_range, encoding) else {
                        document.out_of_sync = Some(format!(
                            "a change at {}:{}–{}:{} is outside its {} line(s)",
                            lsp_range.start.line,
                            lsp_range.start.character,
                            lsp_range.end.line,
                            lsp_range.end.character,
                            document.text.split('\n').count()
                        ));
                        continue;
                    };
                    let delta = change.text.len() as isize - range.len() as isize;
                    for job in state.jobs.values_mut().filter(|j| j.uri == uri) {
                        if range.start < job.anchor.end && range.end > job.anchor.start {
                            // The goal may have changed: the job's proof would be for other text.
                            job.cancel.cancel();
                        } else if range.end <= job.anchor.start {
                            job.anchor = shifted(&job.anchor, delta);
                        }
                    }
                    document.text.replace_range(range, &change.text);
                }
            }
            let warning = match (&document.out_of_sync, was_in_sync) {
                (Some(reason), true) => Some(out_of_sync_warning(&uri, reason)),
                _ => None,
            };
            if document.out_of_sync.is_some() {
                for job in state.jobs.values().filter(|j| j.uri == uri) {
                    job.cancel.cancel();
                }
            }
            let (told, waiting) = std::mem::take(&mut state.change_watchers)
                .into_iter()
                .partition(|(watched, _)| *watched == uri);
            state.change_watchers = waiting;
            state.documents.insert(uri, document);
            for (_, tell) in told {
                let _ = tell.send(());
            }
            warning
        };
        if let Some(warning) = warning {
            self.client
                .show_message(MessageType::WARNING, warning)
                .await;
        }
    }

    /// Forgets the document and cancels its jobs: nothing is left to apply their edits to.
    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let mut state = self.state();
        let uri = params.text_document.uri;
        state.documents.remove(&uri);
        for job in state.jobs.values().filter(|j| j.uri == uri) {
            job.cancel.cancel();
        }
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let state = self.state();
        let encoding = state.encoding.unwrap_or(Encoding::Utf16);
        let Some(document) = state
            .documents
            .get(&params.text_document.uri)
            .filter(|d| d.out_of_sync.is_none())
        else {
            return Ok(None);
        };
        let Some(wanted) = byte_range(&document.text, &params.range, encoding) else {
            return Ok(None);
        };
        let mut actions = Vec::new();
        for sorry in text::sorry_tokens(&document.text) {
            if sorry.end < wanted.start || sorry.start > wanted.end {
                continue;
            }
            let Some(declaration) = text::declaration_of(&document.text, sorry.clone()) else {
                continue;
            };
            let key = key_of(&document.text, &declaration);
            let range = lsp_range(&document.text, sorry, encoding);
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: ACTION_TITLE.to_owned(),
                kind: Some(CodeActionKind::QUICKFIX),
                command: Some(Command {
                    title: "Prove".to_owned(),
                    command: PROVE_COMMAND.to_owned(),
                    arguments: Some(vec![json!({
                        "uri": params.text_document.uri,
                        "version": document.version,
                        "range": range,
                    })]),
                }),
                data: Some(json!({"key": key, "uri": params.text_document.uri, "range": range})),
                ..CodeAction::default()
            }));
        }
        Ok(Some(actions))
    }

    async fn code_action_resolve(&self, mut action: CodeAction) -> Result<CodeAction> {
        let state = self.state();
        let encoding = state.encoding.unwrap_or(Encoding::Utf16);
        let data = action.data.clone().unwrap_or_default();
        let (Some(key), Ok(uri), Ok(range)) = (
            data["key"].as_str(),
            serde_json::from_value::<Uri>(data["uri"].clone()),
            serde_json::from_value::<tower_lsp_server::ls_types::Range>(data["range"].clone()),
        ) else {
            return Ok(action);
        };
        let document = state
            .documents
            .get(&uri)
            .filter(|d| d.out_of_sync.is_none());
        if let (Some(proof), Some(document)) = (state.known.get(key), document)
            && let Some(sorry) = byte_range(&document.text, &range, encoding)
            && let Some(declaration) = text::declaration_of(&document.text, sorry)
        {
            let (range, new_text) = text::proof_edit(&document.text, &declaration, proof);
            action.edit = Some(WorkspaceEdit {
                changes: Some(HashMap::from([(
                    uri,
                    vec![TextEdit {
                        range: lsp_range(&document.text, range, encoding),
                        new_text,
                    }],
                )])),
                ..WorkspaceEdit::default()
            });
        }
        Ok(action)
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        match params.command.as_str() {
            PROVE_COMMAND => self.prove(&params.arguments).map(|()| None),
            CANCEL_COMMAND => {
                for job in self.state().jobs.values() {
                    job.cancel.cancel();
                }
                Ok(None)
            }
            other => Err(Error::invalid_params(format!("unknown command {other}"))),
        }
    }
}
