//! The engine: the pure search driven over Lean through a shared `ReplPool`, with every proof
//! rechecked in command mode before it is reported.
//!
//! A search is synchronous and runs on a blocking thread; it reaches the async pool through a
//! runtime handle. Many searches share one pool, and a state may be rebuilt on any process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lean_bridge::pool::{ApplyReply, ReplPool, StartReply};
use lean_bridge::proof::ProofHandle;
use lean_bridge::{BridgeError, Message};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use crate::check::{self, CheckConfig, ProofTask, Status};
use crate::search::{
    Applied, CandidateFilter, CheckError, EnvError, Outcome, Policy, PolicyError, Proof,
    ProofChecker, ProofEnv, Search, SearchConfig, SearchHook, SearchStats, StopReason, Verdict,
};

/// One theorem to prove, as a miniF2F-style dataset row gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theorem {
    /// The row's `name`.
    pub name: String,
    /// Imports and options (the row's `header`).
    pub header: String,
    /// The statement ending in `:= by` (a trailing `sorry` is dropped).
    pub formal_statement: String,
}

/// The outcome of proving one theorem: what `prover eval` writes per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProveStatus {
    /// A proof was found and passed the command-mode recheck.
    Proved,
    /// The search ended without a proof (budget, exhausted tree).
    Failed,
    /// The infrastructure failed (the statement did not elaborate, Lean kept crashing).
    Error,
}

/// The result for one theorem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProveResult {
    /// The theorem's name.
    pub name: String,
    /// Proved, failed or error.
    pub status: ProveStatus,
    /// The proof text after `:= by`, exactly as it passed the recheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Why the search stopped, when it did not prove the theorem: `exhausted`,
    /// `expansion_limit`, `time_limit`, `lean_call_limit`, `cancelled`, `infrastructure`,
    /// `statement_rejected` or `header_rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// The stop reason in words, with its figures or Lean's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_detail: Option<String>,
    /// Expansions made.
    pub expansions: u32,
    /// Requests sent to Lean for this theorem: the root, tactics and rechecks.
    pub lean_calls: u32,
    /// Candidates the untrusted-tactic guard refused.
    pub candidates_rejected: u32,
    /// Wall time.
    pub seconds: f64,
}

/// A policy behind a box, so the CLI can pick one at run time.
pub struct DynPolicy(pub Box<dyn Policy<ProofHandle> + Send>);

impl Policy<ProofHandle> for DynPolicy {
    fn propose(
        &mut self,
        state: &ProofHandle,
        state_text: &str,
        width: usize,
    ) -> Result<Vec<crate::search::Candidate>, PolicyError> {
        self.0.propose(state, state_text, width)
    }
}

/// `ProofEnv` over a shared pool. Timeouts count as a rejected tactic (Lean gave no answer
/// in time); crashes and protocol failures are environment errors.
pub struct LeanEnv {
    pool: Arc<ReplPool>,
    runtime: Handle,
}

impl LeanEnv {
    /// An environment over `pool`, driven from a blocking thread through `runtime`.
    pub fn new(pool: Arc<ReplPool>, runtime: Handle) -> LeanEnv {
        LeanEnv { pool, runtime }
    }
}

/// The canonical text of a state: all open goals, separated by blank lines.
pub fn state_text(state: &ProofHandle) -> String {
    state.goals().join("\n\n")
}

impl ProofEnv for LeanEnv {
    type State = ProofHandle;

    fn apply(
        &mut self,
        state: &ProofHandle,
        tactic: &str,
        deadline: Duration,
    ) -> Result<Applied<ProofHandle>, EnvError> {
        match self
            .runtime
            .block_on(self.pool.apply(state, tactic, deadline))
        {
            Ok(ApplyReply::Open(next)) => Ok(Applied::Goals(next)),
            Ok(ApplyReply::Proved(_)) => Ok(Applied::Proved),
            Ok(ApplyReply::Failed(reason)) => Ok(Applied::Rejected(reason)),
            Err(BridgeError::Timeout { after, .. }) => Ok(Applied::Rejected(format!(
                "no answer within {after:?}; the tactic was abandoned"
            ))),
            Err(error) => Err(EnvError::new(error.to_string())),
        }
    }

    fn canonical_text(&self, state: &ProofHandle) -> String {
        state_text(state)
    }
}

/// `ProofChecker` that runs `prover check`'s rules on the spliced proof.
pub struct LeanChecker {
    pool: Arc<ReplPool>,
    runtime: Handle,
    theorem: Theorem,
    config: CheckConfig,
    /// Rechecks sent to Lean.
    pub calls: u32,
    /// The proof text of the last accepted proof.
    pub accepted: Option<String>,
}

impl ProofChecker for LeanChecker {
    fn check(&mut self, proof: &Proof) -> Result<Verdict, CheckError> {
        let text = check::script_to_proof(&proof.tactics);
        let task = ProofTask {
            line: 0,
            name: self.theorem.name.clone(),
            header: self.theorem.header.clone(),
            formal_statement: self.theorem.formal_statement.clone(),
            proof: text.clone(),
        };
        self.calls += 1;
        let result = self
            .runtime
            .block_on(check::check_task(&self.pool, &task, &self.config));
        match result.status {
            Status::Valid => {
                self.accepted = Some(text);
                Ok(Verdict::Accepted)
            }
            Status::Invalid => Ok(Verdict::Rejected(result.reasons.join("; "))),
            Status::Error => Err(CheckError::new(result.reasons.join("; "))),
        }
    }
}

/// Everything one search needs besides the theorem.
#[derive(Debug, Clone)]
pub struct ProveConfig {
    /// The search's settings.
    pub search: SearchConfig,
    /// Settings of the final recheck.
    pub check: CheckConfig,
    /// Deadline for elaborating the statement (the root state).
    pub statement_deadline: Duration,
}

impl Default for ProveConfig {
    fn default() -> Self {
        ProveConfig {
            search: SearchConfig::default(),
            check: CheckConfig::default(),
            statement_deadline: Duration::from_secs(300),
        }
    }
}

/// The stable code of a stop reason, for results files.
pub fn stop_code(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::Exhausted => "exhausted",
        StopReason::ExpansionLimit(_) => "expansion_limit",
        StopReason::TimeLimit(_) => "time_limit",
        StopReason::EnvCallLimit(_) => "lean_call_limit",
        StopReason::Cancelled => "cancelled",
        StopReason::EnvFailure(_) => "infrastructure",
    }
}

fn error_result(
    theorem: &Theorem,
    code: &str,
    detail: String,
    lean_calls: u32,
    started: Instant,
) -> ProveResult {
    ProveResult {
        name: theorem.name.clone(),
        status: ProveStatus::Error,
        proof: None,
        stop_reason: Some(code.to_owned()),
        stop_detail: Some(detail),
        expansions: 0,
        lean_calls,
        candidates_rejected: 0,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn first_error(messages: &[Message]) -> String {
    messages
        .iter()
        .find(|m| m.is_error())
        .or(messages.first())
        .map(|m| m.data.clone())
        .unwrap_or_else(|| "no proof state came back".into())
}

/// Proves one theorem. Call from a blocking thread (never inside an async task): the search
/// blocks on the pool through `runtime`.
pub fn prove<P, F, H>(
    pool: &Arc<ReplPool>,
    runtime: &Handle,
    theorem: &Theorem,
    config: &ProveConfig,
    policy: &mut P,
    filter: F,
    hook: H,
) -> ProveResult
where
    P: Policy<ProofHandle>,
    F: CandidateFilter,
    H: SearchHook,
{
    let started = Instant::now();
    let statement = format!(
        "{} sorry",
        check::strip_trailing_sorry(&theorem.formal_statement).trim_end()
    );
    let root = match runtime.block_on(pool.start_proof(
        &theorem.header,
        &statement,
        config.statement_deadline,
    )) {
        Ok(StartReply::Started(root)) => root,
        Ok(StartReply::Rejected(messages)) => {
            let reason = format!(
                "the statement does not elaborate: {}",
                first_error(&messages)
            );
            return error_result(theorem, "statement_rejected", reason, 1, started);
        }
        Ok(StartReply::HeaderRejected(messages)) => {
            let reason = format!("the header does not elaborate: {}", first_error(&messages));
            return error_result(theorem, "header_rejected", reason, 1, started);
        }
        Err(error) => {
            return error_result(theorem, "infrastructure", error.to_string(), 1, started);
        }
    };
    let mut env = LeanEnv::new(pool.clone(), runtime.clone());
    let mut checker = LeanChecker {
        pool: pool.clone(),
        runtime: runtime.clone(),
        theorem: theorem.clone(),
        config: config.check.clone(),
        calls: 0,
        accepted: None,
    };
    let report = Search::new(config.search.clone())
        .with_filter(filter)
        .with_hook(hook)
        .run(&mut env, policy, &mut checker, root);
    let stats: &SearchStats = &report.stats;
    let lean_calls = 1 + stats.env_calls + checker.calls;
    let (status, proof, stop_reason, stop_detail) = match &report.outcome {
        Outcome::Proved(_) => (ProveStatus::Proved, checker.accepted.clone(), None, None),
        Outcome::Failed(reason) => {
            let status = if matches!(reason, StopReason::EnvFailure(_)) {
                ProveStatus::Error
            } else {
                ProveStatus::Failed
            };
            let code = stop_code(reason).to_owned();
            (status, None, Some(code), Some(reason.to_string()))
        }
    };
    ProveResult {
        name: theorem.name.clone(),
        status,
        proof,
        stop_reason,
        stop_detail,
        expansions: stats.expansions,
        lean_calls,
        candidates_rejected: stats.candidates_rejected,
        seconds: started.elapsed().as_secs_f64(),
    }
}
