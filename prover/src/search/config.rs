//! `SearchConfig`: the knobs of one best-first search attempt, with BFS-Prover's published values as defaults.

use std::time::Duration;

/// Parameters of one search attempt on one theorem. Plain data with public fields.
///
/// Defaults follow the *released run* of BFS-Prover-V2 (`run_local_search.sh`), which is the
/// project's rule when driving a BFS-Prover model (`docs/search-algorithm.md` §4):
///
/// | field | default | why |
/// |---|---|---|
/// | `depth_exponent` (α) | 2.0 | the released run's `depth_reward`; the code default 0.0 is plain greedy log-prob sum, which starves deep proofs. V1 only says it length-normalises "to encourage exploration of deeper proof paths" |
/// | `expansion_width` | 4 | the released run's `n_sampling_search` (code default 16) |
/// | `max_time` | 600 s | V2's `timeout_per_theorem`, its only per-theorem budget |
/// | `max_expansions`, `max_env_calls` | none | V2 has no expansion cap; the budget is time |
/// | `tactic_deadline` | 12 s | the released run's per-tactic CPU limit (`tactic_timeout`; the environment adds the 1.5× wall backstop) |
/// | `max_consecutive_errors` | 3 | V2 gives up on a theorem after 3 Lean restarts (`MAX_DOJO_RESTARTS`) |
/// | `proofs_wanted` | 1 | BFS-Prover stops at the first proof; more is for synthetic data (`prover explore`) |
/// | `policy_lookahead` | 0 | no hints: the policy is asked exactly as before |
#[derive(Debug, Clone, PartialEq)]
pub struct SearchConfig {
    /// α in `priority = (Σ tactic scores along the path) / depth^α`. 0 ranks by the plain sum
    /// (greedy), 1 by the mean per step; larger values favour deeper nodes, because the sum is
    /// ≤ 0 and a larger divisor moves it towards 0.
    pub depth_exponent: f64,
    /// At most this many tactics run per expansion, the best-scored ones after filtering and
    /// deduplication. `usize::MAX` for no limit.
    pub expansion_width: usize,
    /// Stop after this many expansions (`None`: no limit). Resuming a node after a rejected
    /// proof counts as an expansion.
    pub max_expansions: Option<u32>,
    /// Stop once this much time has passed on the search's clock (`None`: no limit). Checked
    /// before every expansion and every tactic, so a search overruns by at most one tactic.
    pub max_time: Option<Duration>,
    /// Stop after this many calls to `ProofEnv::apply` (`None`: no limit).
    pub max_env_calls: Option<u32>,
    /// Passed to every `ProofEnv::apply`: how long one tactic may run.
    pub tactic_deadline: Duration,
    /// Stop with `StopReason::EnvFailure` when the environment, the policy or the checker has
    /// failed this many times in a row (each counted separately; any success resets its count).
    /// `u32::MAX` never stops; 0 behaves like 1.
    pub max_consecutive_errors: u32,
    /// Keep searching after an accepted proof until this many are found (or a budget or the
    /// tree runs out). The outcome is the first proof either way, so this never changes whether
    /// nor which proof is reported; [`SearchReport::proofs`](super::SearchReport::proofs) lists
    /// them all. 0 behaves like 1.
    pub proofs_wanted: u32,
    /// Before each expansion's tactics run, the search tells the policy about this many of the
    /// next best unexpanded states ([`Policy::prefetch`](super::Policy::prefetch)), so a policy
    /// that can ask ahead (a model server) overlaps its round trips with the tactics. A hint
    /// only: the search asks and uses the policy exactly as it does with 0, so its report does
    /// not depend on it.
    pub policy_lookahead: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            depth_exponent: 2.0,
            expansion_width: 4,
            max_expansions: None,
            max_time: Some(Duration::from_secs(600)),
            max_env_calls: None,
            tactic_deadline: Duration::from_secs(12),
            max_consecutive_errors: 3,
            proofs_wanted: 1,
            policy_lookahead: 0,
        }
    }
}

impl SearchConfig {
    /// The default scoring, with every limit removed: no width limit, no budgets, and
    /// infrastructure errors never stop the search. Under this configuration the search
    /// explores every proposed tactic of every reachable state unless it finds a proof first,
    /// which is what the policy contract ("never changes whether a proof exists") is stated
    /// against.
    pub fn exhaustive() -> Self {
        Self {
            expansion_width: usize::MAX,
            max_expansions: None,
            max_time: None,
            max_env_calls: None,
            max_consecutive_errors: u32::MAX,
            ..Self::default()
        }
    }

    /// The priority of a node reached by `depth` tactics whose scores sum to `path_score`.
    /// The root (depth 0) has priority 0 and is not divided.
    pub fn priority(&self, path_score: f64, depth: u32) -> f64 {
        if depth == 0 {
            return 0.0;
        }
        path_score / f64::from(depth).powf(self.depth_exponent)
    }
}
