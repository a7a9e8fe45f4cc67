//! Which tactic policy a search uses: [`PolicySpec`] (what to build, and the identity that guards reused verdicts), [`Policies`] (one policy per search, one model client shared), and the combinators.
//!
//! **Invariant:** [`PolicySpec::id`] covers every parameter that changes which tactics are
//! proposed or allowed to run. It is part of the budget under which a proof or a failure is
//! recorded (`cache::Budget`), so a parameter missing from it would let a verdict found under
//! one policy be reported for another. It destructures the model and portfolio settings whole, so
//! a new field does not compile until it is placed in the identity or said not to matter.

pub mod combine;
pub mod learned;
pub mod prefetch;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;

pub use combine::{CombinedPolicy, FallbackPolicy};

use crate::guard::TacticGuard;
use crate::llm::{LlmClient, LlmConfig, LlmError, OpenAiPolicy};
use crate::portfolio::{Portfolio, PortfolioConfig};
use crate::search::{Candidate, Policy, PolicyError, Query, StateHint};
use learned::model::MODEL_FORMAT_VERSION;
use learned::{LearnedModel, LearnedPolicy};
use std::sync::RwLock;

/// The kinds of policy a user picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// The fixed automation portfolio: no model, no network.
    Portfolio,
    /// An OpenAI-compatible model server.
    Openai,
    /// The model's candidates merged with the portfolio's.
    Combined,
    /// The in-process learned policy's candidates merged with the portfolio's.
    Learned,
}

impl PolicyKind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [PolicyKind; 4] = [
        PolicyKind::Portfolio,
        PolicyKind::Openai,
        PolicyKind::Combined,
        PolicyKind::Learned,
    ];

    /// The name users write (`--policy openai`, `policy = "openai"`).
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Portfolio => "portfolio",
            PolicyKind::Openai => "openai",
            PolicyKind::Combined => "combined",
            PolicyKind::Learned => "learned",
        }
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PolicyKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        PolicyKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = PolicyKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown policy `{text}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Everything that decides a policy's proposals: plain data, built by `settings`.
#[derive(Debug, Clone)]
pub struct PolicySpec {
    /// Which policy.
    pub kind: PolicyKind,
    /// The portfolio's settings (used by `portfolio`, `combined` and as the fallback).
    pub portfolio: PortfolioConfig,
    /// The model server's settings, for `openai` and `combined`.
    pub llm: Option<LlmConfig>,
    /// With `openai`: the portfolio answers an expansion the model server failed.
    pub fallback: bool,
    /// Whether the guard lets `native_decide` and its kin run.
    pub allow_native_decide: bool,
    /// The learned policy's starting model, for `learned`.
    pub learned: Option<LearnedSpec>,
}

/// The learned policy's model as a run starts, and whether the run updates it.
#[derive(Debug, Clone)]
pub struct LearnedSpec {
    /// The model (shared read-only; each `Policies` works on a copy of its own).
    pub model: Arc<LearnedModel>,
    /// [`LearnedModel::content_hash`] of `model`.
    pub hash: String,
    /// The run learns from each proof it finds (`--learn-online`): the identity then names
    /// this run alone, since the model a later theorem meets depends on what came before.
    pub online: Option<String>,
}

impl LearnedSpec {
    /// The spec of `model`, not learning online.
    pub fn of(model: LearnedModel) -> Self {
        let hash = model.content_hash();
        LearnedSpec {
            model: Arc::new(model),
            hash,
            online: None,
        }
    }
}

impl Default for PolicySpec {
    /// The portfolio with default settings.
    fn default() -> Self {
        PolicySpec {
            kind: PolicyKind::Portfolio,
            portfolio: PortfolioConfig::default(),
            llm: None,
            fallback: false,
            allow_native_decide: false,
            learned: None,
        }
    }
}

impl PolicySpec {
    /// Names the policy and every setting that changes its proposals or which of them run.
    pub fn id(&self) -> String {
        let llm = self.llm.as_ref().map(llm_id).unwrap_or_default();
        let portfolio = portfolio_id(&self.portfolio);
        let learned = match &self.learned {
            Some(LearnedSpec { hash, online, .. }) => match online {
                Some(run) => {
                    format!("learned(v{MODEL_FORMAT_VERSION} sha1={hash} online run={run})")
                }
                None => format!("learned(v{MODEL_FORMAT_VERSION} sha1={hash})"),
            },
            None => format!("learned(v{MODEL_FORMAT_VERSION} empty)"),
        };
        let proposals = match self.kind {
            PolicyKind::Portfolio => portfolio,
            PolicyKind::Openai if self.fallback => format!("{llm} else {portfolio}"),
            PolicyKind::Openai => llm,
            PolicyKind::Combined => format!("{llm} + {portfolio}"),
            PolicyKind::Learned => format!("{learned} + {portfolio}"),
        };
        // The guard decides which proposals run, so it is part of what a failure was under.
        format!("{proposals} guard(native={})", self.allow_native_decide)
    }

    /// The untrusted-tactic guard searches under this policy use.
    pub fn guard(&self) -> TacticGuard {
        TacticGuard {
            allow_native_decide: self.allow_native_decide,
        }
    }
}

fn llm_id(config: &LlmConfig) -> String {
    let LlmConfig {
        base_url,
        // Further servers of the same model: which of them answers does not change what
        // answers may come back.
        replicas: _,
        model,
        api,
        prompt_template,
        samples,
        samples_mode,
        temperature,
        top_p,
        max_tokens,
        stop,
        seed,
        logprobs,
        // Transport: how patiently and how often the same question is asked, not which
        // answers come back. A failure under transport trouble is never recorded anyway.
        request_timeout: _,
        connect_timeout: _,
        retries: _,
        backoff: _,
        max_concurrency: _,
        api_key: _,
        breaker_failures: _,
        probe_interval: _,
    } = config;
    format!(
        "openai({base_url} {model} {api:?} template={prompt_template:?} n={samples} \
         samples_mode={} t={temperature} top_p={top_p} max_tokens={max_tokens} stop={stop:?} \
         seed={seed:?} logprobs={logprobs})",
        samples_mode.name()
    )
}

fn portfolio_id(config: &PortfolioConfig) -> String {
    let PortfolioConfig {
        allow_native_decide,
        max_hypothesis_terms,
        max_candidates,
    } = config;
    format!(
        "portfolio(v{} native={allow_native_decide} hyps={max_hypothesis_terms} \
         max={max_candidates})",
        env!("CARGO_PKG_VERSION")
    )
}

/// A policy behind a box, so a front end can pick one at run time.
pub struct DynPolicy {
    /// The policy.
    pub policy: Box<dyn Policy + Send>,
    /// Counts expansions a fallback policy answered, when there is one.
    pub fallbacks: Option<Arc<AtomicU64>>,
}

impl DynPolicy {
    /// Expansions answered by the fallback so far.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks
            .as_ref()
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }
}

impl Policy for DynPolicy {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        self.policy.propose(query)
    }

    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        self.policy.prefetch(upcoming)
    }

    fn state_hints(&self) -> Option<Arc<dyn StateHint>> {
        self.policy.state_hints()
    }
}

/// Why a batch stopped starting theorems: the model server stayed down past the outage limit.
#[derive(Debug, Clone)]
pub struct ModelOutage(pub String);

/// Makes one policy per search from a [`PolicySpec`]; the model client (its connection pool,
/// concurrency limit and circuit breaker) is shared by all of them.
pub struct Policies {
    spec: PolicySpec,
    llm: Option<Arc<LlmClient>>,
    /// The learned policy's model, shared by every search of these policies.
    learned: Arc<RwLock<LearnedModel>>,
    runtime: Handle,
    outage_limit: Duration,
    /// One prober at a time while the model server is down.
    probing: tokio::sync::Mutex<()>,
}

impl Policies {
    /// Policies as `spec` says, their model requests on `runtime`; a batch waits at most
    /// `outage_limit` for a model server that is down.
    pub fn new(
        spec: PolicySpec,
        outage_limit: Duration,
        runtime: &Handle,
    ) -> Result<Policies, LlmError> {
        let llm = match (&spec.kind, &spec.llm) {
            (PolicyKind::Portfolio, _) | (_, None) => None,
            (_, Some(config)) => Some(Arc::new(LlmClient::new(config.clone())?)),
        };
        let learned = spec
            .learned
            .as_ref()
            .map(|l| LearnedModel::clone(&l.model))
            .unwrap_or_default();
        Ok(Policies {
            spec,
            llm,
            learned: Arc::new(RwLock::new(learned)),
            runtime: runtime.clone(),
            outage_limit,
            probing: tokio::sync::Mutex::new(()),
        })
    }

    /// What these policies are.
    pub fn spec(&self) -> &PolicySpec {
        &self.spec
    }

    /// [`PolicySpec::id`].
    pub fn id(&self) -> String {
        self.spec.id()
    }

    /// The model client, for model policies.
    pub fn client(&self) -> Option<&LlmClient> {
        self.llm.as_deref()
    }

    /// Whether the portfolio answers when the model server fails (`--llm-fallback`).
    pub fn falls_back(&self) -> bool {
        self.spec.fallback
    }

    /// The untrusted-tactic guard.
    pub fn guard(&self) -> TacticGuard {
        self.spec.guard()
    }

    /// A fresh policy for one search.
    pub fn make(&self) -> DynPolicy {
        let portfolio = || Portfolio::new(self.spec.portfolio.clone());
        let (policy, fallbacks): (Box<dyn Policy + Send>, _) = match (self.spec.kind, &self.llm) {
            (PolicyKind::Learned, _) => {
                let learned = LearnedPolicy::new(self.learned.clone());
                (Box::new(CombinedPolicy::new(learned, portfolio())), None)
            }
            (PolicyKind::Portfolio, _) | (_, None) => (Box::new(portfolio()), None),
            (PolicyKind::Openai, Some(client)) => {
                let llm = OpenAiPolicy::new(client.clone(), self.runtime.clone());
                if self.spec.fallback {
                    let policy = FallbackPolicy::new(llm, portfolio());
                    let counter = policy.fallback_counter();
                    (Box::new(policy), Some(counter))
                } else {
                    (Box::new(llm), None)
                }
            }
            (PolicyKind::Combined, Some(client)) => {
                let llm = OpenAiPolicy::new(client.clone(), self.runtime.clone());
                (Box::new(CombinedPolicy::new(llm, portfolio())), None)
            }
        };
        DynPolicy { policy, fallbacks }
    }

    /// Teaches the learned model proof steps and refusals (`--learn-online`); later searches
    /// see them at once.
    pub fn learn(&self, steps: &[(String, String)], refusals: &[(String, String)]) {
        let mut model = self.learned.write().unwrap_or_else(|p| p.into_inner());
        model.extend(steps, refusals);
    }

    /// A copy of the learned model as it is now (`--save-model`).
    pub fn learned_model(&self) -> LearnedModel {
        self.learned
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits, before a theorem starts, while the model server is down: probes it with backoff
    /// until it answers, or gives up after the outage limit. Returns at once without a model,
    /// with a fallback (the portfolio answers meanwhile), or while the server is up.
    pub async fn wait_for_model(&self) -> Result<(), ModelOutage> {
        let Some(client) = self.llm.as_ref().filter(|_| !self.spec.fallback) else {
            return Ok(());
        };
        let mut announced = false;
        loop {
            let _prober = self.probing.lock().await;
            let Some(outage) = client.outage() else {
                return Ok(());
            };
            if outage.open_for >= self.outage_limit {
                return Err(ModelOutage(format!(
                    "the model server at {} has not answered for {:.0}s ({} proposals failed in \
                     a row; last error: {}); stopping the run (--llm-outage-limit). Results so \
                     far are kept; rerun to resume",
                    client.url(),
                    outage.open_for.as_secs_f64(),
                    outage.failures,
                    outage.last_error
                )));
            }
            if !announced {
                tracing::warn!(
                    url = %client.url(),
                    "the model server is down; no new theorem starts until it answers (giving \
                     up after {:.0}s)",
                    self.outage_limit.as_secs_f64()
                );
                announced = true;
            }
            let wait = client.until_probe().unwrap_or_default();
            let remaining = self.outage_limit.saturating_sub(outage.open_for);
            tokio::time::sleep(wait.min(remaining)).await;
            if client.until_probe().is_some_and(|d| d.is_zero()) {
                // The probe is an ordinary proposal for a trivial state; its answer is dropped.
                let _ = client.propose("⊢ True").await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{SearchOverlay, SettingsFile, policy_spec};

    /// A named change to a setting.
    type Change<T> = (&'static str, fn(&mut T));

    fn id(overlay: &SearchOverlay) -> String {
        policy_spec(overlay, &SettingsFile::default()).unwrap().id()
    }

    fn openai(url: &str) -> SearchOverlay {
        SearchOverlay {
            policy: Some(PolicyKind::Openai),
            llm_url: Some(url.to_owned()),
            ..SearchOverlay::default()
        }
    }

    #[test]
    fn every_policy_parameter_is_part_of_the_policy_identity() {
        let base = openai("http://127.0.0.1:8000/v1");
        let base_id = id(&base);
        assert_eq!(
            base_id,
            id(&base.clone()),
            "the same settings, the same identity"
        );
        assert_ne!(
            id(&openai("http://127.0.0.1:8001/v1")),
            base_id,
            "another server"
        );
        let changes: [Change<SearchOverlay>; 13] = [
            ("model", |o| o.llm_model = Some("other".into())),
            ("max tokens", |o| o.max_tokens = Some(64)),
            ("stop", |o| o.stop = Some(vec!["\n".into()])),
            ("samples mode", |o| {
                o.llm_samples_mode = Some(crate::llm::SamplesMode::Requests)
            }),
            ("no logprobs", |o| o.no_logprobs = true),
            ("chat", |o| o.llm_chat = true),
            ("template", |o| o.prompt_template = Some("{state}\n".into())),
            ("samples", |o| o.samples = Some(8)),
            ("temperature", |o| o.temperature = Some(0.7)),
            ("seed", |o| o.seed = Some(3)),
            ("native_decide", |o| o.allow_native_decide = true),
            ("fallback", |o| o.llm_fallback = true),
            ("combined", |o| o.policy = Some(PolicyKind::Combined)),
        ];
        for (what, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(
                id(&changed),
                base_id,
                "{what} must change the policy identity"
            );
        }
        let portfolio = SearchOverlay::default();
        let native = SearchOverlay {
            allow_native_decide: true,
            ..SearchOverlay::default()
        };
        assert_ne!(id(&portfolio), id(&native));
        assert_ne!(id(&portfolio), base_id);
    }

    #[test]
    fn model_and_portfolio_settings_outside_the_flags_are_part_of_the_identity_too() {
        let base = policy_spec(
            &openai("http://127.0.0.1:8000/v1"),
            &SettingsFile::default(),
        )
        .unwrap();
        let changes: [Change<PolicySpec>; 5] = [
            ("stop strings", |s| {
                s.llm.as_mut().unwrap().stop = vec!["\n".into()]
            }),
            ("log-probabilities", |s| {
                s.llm.as_mut().unwrap().logprobs = false
            }),
            ("top_p", |s| s.llm.as_mut().unwrap().top_p = 0.9),
            ("hint list cap", |s| s.portfolio.max_hypothesis_terms = 2),
            ("candidate cap", |s| s.portfolio.max_candidates = 3),
        ];
        for (what, change) in changes {
            let mut changed = base.clone();
            changed.kind = PolicyKind::Combined;
            let combined = changed.id();
            change(&mut changed);
            assert_ne!(
                changed.id(),
                combined,
                "{what} must change the policy identity"
            );
        }
        let mut transport = base.clone();
        transport.llm.as_mut().unwrap().retries = 9;
        transport.llm.as_mut().unwrap().api_key = Some("secret".into());
        assert_eq!(
            transport.id(),
            base.id(),
            "transport settings do not change proposals"
        );
        assert!(
            !transport.id().contains("secret"),
            "the key never reaches the cache or manifest"
        );
    }

    #[test]
    fn policy_names_read_back() {
        for kind in PolicyKind::ALL {
            assert_eq!(kind.name().parse::<PolicyKind>(), Ok(kind));
        }
        let error = "gpt".parse::<PolicyKind>().unwrap_err();
        assert!(error.contains("portfolio, openai, combined"), "{error}");
    }
}
