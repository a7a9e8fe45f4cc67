//! Flags of the skeleton planner, shared by `prover prove` and `prover eval`: whether to plan, the planner's endpoint, how much to plan, and the plan log.

use std::path::PathBuf;

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use prover::settings::{PlannerKind, PlannerOverlay};

/// `--planner`: the library's [`PlannerKind`] names, each with its help line.
fn planner_kind() -> impl TypedValueParser<Value = PlannerKind> {
    PossibleValuesParser::new([
        PossibleValue::new(PlannerKind::Off.name()).help("One flat search per theorem"),
        PossibleValue::new(PlannerKind::Openai.name()).help(
            "A direct search, then `have` skeletons from an OpenAI-compatible chat endpoint whose holes the search closes",
        ),
    ])
    .try_map(|name| name.parse::<PlannerKind>())
}

/// The planner's flags.
#[derive(Debug, Clone, Args, Default)]
pub struct PlannerArgs {
    /// Plan proofs: after a direct search with a share of the budget, ask a model for proof
    /// skeletons (`have … := by sorry` lines) and close their holes by search [default: off].
    #[arg(long, value_parser = planner_kind())]
    pub planner: Option<PlannerKind>,
    /// Base URL of the planner's OpenAI-compatible server [default: --llm-url's setting].
    #[arg(long, value_name = "URL")]
    pub planner_url: Option<String>,
    /// Model name sent to the planner's server [default: the tactic model's].
    #[arg(long, value_name = "NAME")]
    pub planner_model: Option<String>,
    /// Skeletons asked for per planner request (1 to 64) [default: 4].
    #[arg(long, value_name = "K")]
    pub planner_samples: Option<usize>,
    /// Share of each theorem's budget the direct search gets before any planning, a fraction
    /// from 0 to below 1 [default: 0.15].
    #[arg(long, value_name = "F")]
    pub planner_direct_share: Option<f64>,
    /// Further planner requests, each carrying what became of the best skeleton so far, when
    /// no skeleton closed [default: 3].
    #[arg(long, value_name = "R")]
    pub replans: Option<u32>,
    /// Seconds one planner request may take [default: 300].
    #[arg(long, value_name = "SECS")]
    pub planner_timeout: Option<f64>,
    /// A file whose text replaces the planner's default system prompt.
    #[arg(long, value_name = "FILE")]
    pub planner_prompt: Option<PathBuf>,
    /// Append one record per planned theorem (its skeletons, their holes and each hole's
    /// search) to this JSONL file.
    #[arg(long, value_name = "FILE.jsonl")]
    pub plan_log: Option<PathBuf>,
}

impl PlannerArgs {
    /// The settings overlay of these flags.
    pub fn overlay(&self) -> PlannerOverlay {
        let PlannerArgs {
            planner,
            planner_url,
            planner_model,
            planner_samples,
            planner_direct_share,
            replans,
            planner_timeout,
            planner_prompt,
            plan_log: _,
        } = self;
        PlannerOverlay {
            planner: *planner,
            planner_url: planner_url.clone(),
            planner_model: planner_model.clone(),
            planner_samples: *planner_samples,
            planner_direct_share: *planner_direct_share,
            replans: *replans,
            planner_timeout: *planner_timeout,
            planner_prompt: planner_prompt.clone(),
        }
    }
}
