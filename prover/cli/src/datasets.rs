//! `prover datasets fetch`: the command-line side of fetching pinned benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::FetchArgs;
use prover::datasets::fetch::{self, Source};

/// Runs `prover datasets fetch`.
pub(super) fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let source = Source::parse(&args.dataset, args.version.as_deref())?;
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("datasets").join(match source {
            Source::Minif2fDeepseek => "minif2f-deepseek",
            Source::Minif2fYangky11 => "minif2f-yangky11",
            Source::ProofnetDeepseek => "proofnet-deepseek",
        })
    });
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let fetched = fetch::fetch(source, &out, scratch.path())?;
    for (path, rows) in &fetched.files {
        note!("prover datasets: wrote {rows} rows to {}", path.display());
    }
    Ok(ExitCode::from(crate::exit::SETTLED))
}
