//! `prover report --flags … --transfer …`: reads audit flags and transfer files and gives each
//! run the rows of its own lineage, for the report's lineage section.

use std::path::PathBuf;

use anyhow::Context;
use prover_report::Run;

/// Reads the `--flags` and `--transfer` files (malformed lines warned about as `file:line` and
/// skipped) and attaches to each run the flags of its lineage and the transfers from it.
pub(super) fn attach(
    runs: &mut [Run],
    flags: &[PathBuf],
    transfers: &[PathBuf],
) -> anyhow::Result<()> {
    let mut flag_rows = Vec::new();
    for path in flags {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --flags {}", path.display()))?;
        let (rows, errors) = ::datasets::audit::read_flags(&text);
        for error in errors {
            note!(
                "prover report: warning: {}:{}: {}; line skipped",
                path.display(),
                error.line,
                error.reason
            );
        }
        flag_rows.extend(rows);
    }
    let mut transfer_rows = Vec::new();
    for path in transfers {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --transfer {}", path.display()))?;
        let (rows, errors) = ::datasets::transfer::read_transfers(&text);
        for error in errors {
            note!(
                "prover report: warning: {}:{}: {}; line skipped",
                path.display(),
                error.line,
                error.reason
            );
        }
        transfer_rows.extend(rows);
    }
    for run in runs {
        let Some(lineage) = prover_report::lineage::run_lineage(run) else {
            continue;
        };
        run.flags = flag_rows
            .iter()
            .filter(|row| row.lineage.as_deref() == Some(lineage.as_str()))
            .cloned()
            .collect();
        run.transfers = transfer_rows
            .iter()
            .filter(|row| row.from_lineage == lineage)
            .cloned()
            .collect();
    }
    Ok(())
}
