//! Builds the tactic policy and the untrusted-tactic guard a search uses, from flags and settings.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use tokio::runtime::Handle;

use super::config::{self, Settings};
use super::search_args::{PolicyKind, SearchArgs};
use crate::engine::{DynPolicy, Engine, ProveConfig, ProveResult, Theorem};
use crate::guard::TacticGuard;
use crate::llm::{Api, CombinedPolicy, FallbackPolicy, LlmClient, LlmConfig, OpenAiPolicy};
use crate::portfolio::{Portfolio, PortfolioConfig};
use crate::search::{NoHook, Policy};

/// Makes one policy per search; the LLM client (and its concurrency limit) is shared.
pub(super) struct PolicyFactory {
    kind: PolicyKind,
    portfolio: PortfolioConfig,
    llm: Option<Arc<LlmClient>>,
    runtime: Handle,
    allow_native_decide: bool,
    llm_fallback: bool,
    outage_limit: Duration,
    /// One prober at a time while the model server is down.
    probing: tokio::sync::Mutex<()>,
}

/// Why `eval` stopped starting theorems.
#[derive(Debug, Clone)]
pub(super) struct ModelOutage(pub(super) String);

impl PolicyFactory {
    pub(super) fn new(
        args: &SearchArgs,
        settings: &Settings,
        runtime: &Handle,
    ) -> anyhow::Result<PolicyFactory> {
        let kind = config::policy_kind(args, settings);
        // Model flags are checked even when no model is asked, so a slip is seen at once.
        llm_config(args, settings, String::new())?;
        let allow_native_decide = config::allow_native_decide(args, settings);
        let portfolio = PortfolioConfig {
            allow_native_decide,
            ..PortfolioConfig::default()
        };
        let llm = match kind {
            PolicyKind::Portfolio => None,
            PolicyKind::Openai | PolicyKind::Combined => {
                Some(Arc::new(llm_client(args, settings)?))
            }
        };
        Ok(PolicyFactory {
            kind,
            portfolio,
            llm,
            runtime: runtime.clone(),
            allow_native_decide,
            llm_fallback: args.llm_fallback || settings.llm.fallback.unwrap_or(false),
            outage_limit: config::seconds(
                args.llm_outage_limit
                    .or(settings.llm.outage_limit)
                    .unwrap_or(600.0),
                "--llm-outage-limit",
            )?,
            probing: tokio::sync::Mutex::new(()),
        })
    }

    /// The model client, for model policies.
    pub(super) fn client(&self) -> Option<&LlmClient> {
        self.llm.as_deref()
    }

    /// Whether the portfolio answers when the model server fails (`--llm-fallback`).
    pub(super) fn falls_back(&self) -> bool {
        self.llm_fallback
    }

    /// Waits, before a theorem starts, while the model server is down: probes it with backoff
    /// until it answers, or gives up after the outage limit. Returns at once without a model,
    /// with `--llm-fallback` (the portfolio answers meanwhile), or while the server is up.
    pub(super) async fn wait_for_model(&self) -> Result<(), ModelOutage> {
        let Some(client) = self.llm.as_ref().filter(|_| !self.llm_fallback) else {
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

    pub(super) fn make(&self) -> DynPolicy {
        let portfolio = || Portfolio::new(self.portfolio.clone());
        let llm = || {
            OpenAiPolicy::new(
                self.llm
                    .clone()
                    .expect("an LLM client exists for LLM policies"),
                self.runtime.clone(),
            )
        };
        let (policy, fallbacks): (Box<dyn Policy + Send>, _) = match self.kind {
            PolicyKind::Portfolio => (Box::new(portfolio()), None),
            PolicyKind::Openai if self.llm_fallback => {
                let policy = FallbackPolicy::new(llm(), portfolio());
                let counter = policy.fallback_counter();
                (Box::new(policy), Some(counter))
            }
            PolicyKind::Openai => (Box::new(llm()), None),
            PolicyKind::Combined => (Box::new(CombinedPolicy::new(llm(), portfolio())), None),
        };
        DynPolicy { policy, fallbacks }
    }

    /// Names the policy and the settings that change its proposals, for cached failures.
    pub(super) fn id(&self) -> String {
        let llm = self.llm.as_ref().map(|client| {
            let c = client.config();
            format!(
                "openai({} {} {:?} template={:?} n={} t={} top_p={} max_tokens={} seed={:?})",
                c.base_url,
                c.model,
                c.api,
                c.prompt_template,
                c.samples,
                c.temperature,
                c.top_p,
                c.max_tokens,
                c.seed
            )
        });
        let portfolio = format!(
            "portfolio(v{} native={})",
            env!("CARGO_PKG_VERSION"),
            self.allow_native_decide
        );
        let proposals = match self.kind {
            PolicyKind::Portfolio => portfolio,
            PolicyKind::Openai if self.llm_fallback => {
                format!("{} else {portfolio}", llm.unwrap_or_default())
            }
            PolicyKind::Openai => llm.unwrap_or_default(),
            PolicyKind::Combined => format!("{} + {portfolio}", llm.unwrap_or_default()),
        };
        // The guard decides which proposals run, so it is part of what a failure was under.
        format!("{proposals} guard(native={})", self.allow_native_decide)
    }

    /// Proves one theorem with a fresh policy from this factory, noting any fallbacks.
    pub(super) fn prove(
        &self,
        engine: &Engine,
        theorem: &Theorem,
        config: &ProveConfig,
    ) -> ProveResult {
        let mut policy = self.make();
        let mut result = engine.prove(theorem, config, &mut policy, self.guard(), NoHook);
        result.llm_fallbacks = policy.fallbacks();
        result
    }

    pub(super) fn guard(&self) -> TacticGuard {
        TacticGuard {
            allow_native_decide: self.allow_native_decide,
        }
    }
}

fn llm_client(args: &SearchArgs, settings: &Settings) -> anyhow::Result<LlmClient> {
    let Some(base_url) = args.llm_url.clone().or_else(|| settings.llm.url.clone()) else {
        bail!("--policy openai and --policy combined need --llm-url (or [llm] url in prover.toml)");
    };
    Ok(LlmClient::new(llm_config(args, settings, base_url)?)?)
}

/// The model client's settings from flags and `[llm]`, every value checked.
fn llm_config(
    args: &SearchArgs,
    settings: &Settings,
    base_url: String,
) -> anyhow::Result<LlmConfig> {
    let s = &settings.llm;
    let mut config = LlmConfig {
        base_url,
        ..LlmConfig::default()
    };
    if let Some(model) = args.llm_model.clone().or_else(|| s.model.clone()) {
        config.model = model;
    }
    if let Some(template) = args
        .prompt_template
        .clone()
        .or_else(|| s.prompt_template.clone())
    {
        config.prompt_template = crate::llm::resolve_template(&template);
    }
    if args.llm_chat || s.chat.unwrap_or(false) {
        config.api = Api::Chat;
    }
    if let Some(n) = args.samples.or(s.samples) {
        config.samples = config::at_least_one(n, "--samples")?;
        if n > 1024 {
            bail!("--samples must be at most 1024, got {n}");
        }
    }
    if let Some(t) = args.temperature.or(s.temperature) {
        if !(t.is_finite() && (0.0..=10.0).contains(&t)) {
            bail!("--temperature must be a number from 0 to 10, got {t}");
        }
        config.temperature = t;
    }
    if let Some(n) = args.llm_retries.or(s.retries) {
        config.retries = n;
    }
    if let Some(secs) = args.llm_timeout.or(s.timeout) {
        config.request_timeout = config::seconds(secs, "--llm-timeout")?;
    }
    if let Some(n) = args.llm_breaker.or(s.breaker) {
        if n == 0 {
            bail!("--llm-breaker must be at least 1");
        }
        config.breaker_failures = n;
    }
    if let Some(m) = args.llm_concurrency.or(s.concurrency) {
        config.max_concurrency = config::at_once(m, "--llm-concurrency")?;
    }
    config.seed = args.seed;
    let key_var = s.api_key_env.as_deref().unwrap_or("OPENAI_API_KEY");
    config.api_key = std::env::var(key_var).ok().filter(|k| !k.is_empty());
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        search: SearchArgs,
    }

    fn id(args: &[&str]) -> String {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let flags =
            Flags::try_parse_from(std::iter::once("prover").chain(args.iter().copied())).unwrap();
        PolicyFactory::new(&flags.search, &Settings::default(), runtime.handle())
            .unwrap()
            .id()
    }

    #[test]
    fn every_policy_parameter_is_part_of_the_policy_identity() {
        let base = [
            "--policy",
            "openai",
            "--llm-url",
            "http://127.0.0.1:8000/v1",
        ];
        let base_id = id(&base);
        assert_eq!(base_id, id(&base), "the same settings, the same identity");
        assert_ne!(
            id(&[
                "--policy",
                "openai",
                "--llm-url",
                "http://127.0.0.1:8001/v1"
            ]),
            base_id,
            "another server"
        );
        for extra in [
            &["--llm-model", "other"][..],
            &["--llm-chat"],
            &["--prompt-template", "{state}\n"],
            &["--samples", "8"],
            &["--temperature", "0.7"],
            &["--seed", "3"],
            &["--allow-native-decide"],
            &["--llm-fallback"],
        ] {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            assert_ne!(
                id(&args),
                base_id,
                "{extra:?} must change the policy identity"
            );
        }
        assert_ne!(
            id(&["--policy", "portfolio"]),
            id(&["--policy", "portfolio", "--allow-native-decide"])
        );
        assert_ne!(id(&["--policy", "portfolio"]), base_id);
    }
}
