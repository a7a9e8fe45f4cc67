//! `prover datasets fetch|list|audit`: the command-line side of the lineage registry, fetching
//! pinned benchmarks, and flagging degenerate statements.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::FetchArgs;
use prover::datasets::fetch::{self, Source};
use prover::datasets::lineage::Registry;

/// Runs `prover datasets fetch`: a registry lineage (by id, or by id without `@commit`), or
/// the older `minif2f`/`proofnet` with `--version`.
pub(super) fn fetch(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::builtin();
    let lineage = if args.dataset.contains('/')
        || args.dataset.contains('@')
        || registry.get(&args.dataset).is_ok()
    {
        if args.version.is_some() {
            anyhow::bail!("--version is for `minif2f`/`proofnet`; a lineage id names its version");
        }
        registry.get(&args.dataset)?
    } else {
        let source = Source::parse(&args.dataset, args.version.as_deref())?;
        registry.get(source.lineage_id())?
    };
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("datasets").join(match lineage.id.as_str() {
            // The directories earlier versions wrote keep their names.
            "minif2f/deepseek-v1.5@2c4ba91" => "minif2f-deepseek".to_owned(),
            "minif2f/yangky11@5746b7d" => "minif2f-yangky11".to_owned(),
            "proofnet/deepseek@2c4ba91" => "proofnet-deepseek".to_owned(),
            id => id.replace(['/', '@'], "-"),
        })
    });
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let fetched = fetch::fetch_lineage(lineage, &out, scratch.path())?;
    for (path, rows) in &fetched.files {
        note!(
            "prover datasets: wrote {rows} rows of {} to {}",
            lineage.id,
            path.display()
        );
    }
    Ok(ExitCode::from(crate::exit::SETTLED))
}

/// Runs `prover datasets list`: the registry on stdout.
pub(super) fn list() -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    for lineage in &Registry::builtin().lineages {
        writeln!(stdout, "{}\n", lineage.describe())?;
    }
    Ok(ExitCode::from(crate::exit::SETTLED))
}
