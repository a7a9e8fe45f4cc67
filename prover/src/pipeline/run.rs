//! A run's identity: the manifest `<out>.manifest.json` (how the results were made; a resume with another configuration is refused) and the records it is made of (the Lean pins, the REPLs, the input's hashes).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ::datasets::{InputRecord, RunManifest, Theorem, manifest::MANIFEST_SCHEMA_VERSION};
use lean_bridge::PoolConfig;
use serde_json::{Value, json};

/// Why a run's manifest refused the run or could not be written; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest beside the output could not be read.
    #[error(transparent)]
    Read(#[from] ::datasets::manifest::ManifestError),
    /// The output holds results made under another configuration.
    #[error("{0}")]
    OtherConfiguration(String),
    /// The manifest could not be written.
    #[error("{0}")]
    Write(String),
}

/// What a run is: its kind (`eval`, `check`, `iterate`, `explore`), the build of prover that
/// runs it, what must be equal to resume into its output, what is only recorded, and its input.
pub struct RunIdentity {
    /// The subcommand.
    pub kind: String,
    /// The prover build (version, git commit): the front end's, which knows its own build.
    pub prover: BTreeMap<String, String>,
    /// What must be equal for a resume.
    pub config: BTreeMap<String, Value>,
    /// What is only recorded.
    pub recorded: BTreeMap<String, Value>,
    /// The input read.
    pub input: InputRecord,
}

/// The manifest of the run in progress, rewritten when it ends.
pub struct Manifest {
    path: PathBuf,
    manifest: RunManifest,
}

/// Prepares the manifest of a run writing `out`, before any work: refuses when `out` already
/// holds results made under another configuration (unless `fresh`). Nothing is written until
/// [`Manifest::start`].
pub fn prepare(
    out: &Path,
    identity: RunIdentity,
    fresh: bool,
    resuming: bool,
) -> Result<Manifest, ManifestError> {
    let RunIdentity {
        kind,
        prover,
        config,
        recorded,
        input,
    } = identity;
    let path = RunManifest::path_for(out);
    let earlier = if fresh {
        None
    } else {
        RunManifest::read(&path)?
    };
    let mut manifest = RunManifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        kind: kind.clone(),
        prover,
        config,
        recorded,
        input,
        host: host(),
        started_unix: now(),
        finished_unix: None,
        runs: 1,
        counts: BTreeMap::new(),
        model_probe: None,
    };
    if let (true, Some(earlier)) = (resuming, &earlier) {
        let differences = earlier.config_differences(&manifest);
        if !differences.is_empty() {
            let restart = match kind.as_str() {
                "iterate" => "or pass another --dir",
                "explore" => "or pass another --out",
                _ => "pass --fresh to start over, or pass another --out",
            };
            return Err(ManifestError::OtherConfiguration(format!(
                "{} holds results made under another configuration ({}):\n  {}\nrerun with the \
                 same settings to resume, {restart}",
                out.display(),
                path.display(),
                differences.join("\n  ")
            )));
        }
        manifest.started_unix = earlier.started_unix;
        manifest.runs = earlier.runs.saturating_add(1);
    }
    Ok(Manifest { path, manifest })
}

impl Manifest {
    /// The manifest as it stands (no counts, no end time yet).
    pub fn record(&self) -> &RunManifest {
        &self.manifest
    }

    /// Records what the preflight's probe found about the model server.
    pub fn set_model_probe(&mut self, probe: Option<::datasets::manifest::ModelProbe>) {
        self.manifest.model_probe = probe;
    }

    /// Writes the manifest as the run starts (no end time yet).
    pub fn start(&self) -> Result<(), ManifestError> {
        self.manifest.write(&self.path).map_err(|e| {
            ManifestError::Write(format!(
                "cannot write the run manifest {}: {e}",
                self.path.display()
            ))
        })
    }

    /// Records the end of the run and the counts over the whole results file. A manifest
    /// that cannot be written fails the run (exit 2): the results stay, and the old manifest
    /// with them, whole.
    pub fn finish(mut self, counts: &[(&str, usize)]) -> Result<(), ManifestError> {
        self.manifest.finished_unix = Some(now());
        self.manifest.counts = counts
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v as u64))
            .collect();
        self.manifest.write(&self.path).map_err(|e| {
            ManifestError::Write(format!(
                "cannot write the run manifest {} at the end of the run: {e}",
                self.path.display()
            ))
        })
    }
}

/// The input a run read, with its hash.
pub fn input_record(path: &Path, bytes: &[u8], rows: usize) -> InputRecord {
    InputRecord {
        path: path.display().to_string(),
        sha1: sha1_smol::Sha1::from(bytes).digest().to_string(),
        rows,
        statement_sha1: BTreeMap::new(),
        lineages: Default::default(),
        statement_hashes: BTreeMap::new(),
    }
}

/// The input record of a dataset of theorems: its hash and each statement's.
pub fn dataset_input(
    path: &Path,
    bytes: &[u8],
    theorems: &[crate::engine::Theorem],
) -> InputRecord {
    let mut input = input_record(path, bytes, theorems.len());
    input.statement_sha1 = theorems
        .iter()
        .map(|t| (t.name.clone(), t.statement_hash()))
        .collect();
    let identities = super::identity::Identities::of_dataset(bytes, theorems);
    input.lineages = identities.lineages();
    input.statement_hashes = identities.statement_hashes();
    input
}

/// What must be equal for two runs to write into one output (`eval`, `iterate`, `explore`): the policy identity,
/// every search setting, the recheck's, and the Lean pins.
pub fn search_config(
    config: &crate::engine::ProveConfig,
    pool: &lean_bridge::PoolConfig,
) -> std::collections::BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let budget = config.budget();
    let mut map = lean_pins(pool);
    for (key, value) in [
        ("policy", json!(budget.policy)),
        ("width", json!(budget.width)),
        ("alpha", json!(budget.alpha)),
        ("max_expansions", json!(budget.max_expansions)),
        ("max_time_ms", json!(budget.max_time_ms)),
        ("max_env_calls", json!(budget.max_env_calls)),
        ("tactic_deadline_ms", json!(budget.tactic_deadline_ms)),
        (
            "statement_deadline_ms",
            json!(config.statement_deadline.as_millis() as u64),
        ),
        (
            "recheck_timeout_ms",
            json!(config.check.timeout.as_millis() as u64),
        ),
        (
            "recheck_allow_native_decide",
            json!(config.check.guard.allow_native_decide),
        ),
    ] {
        map.insert(key.to_owned(), value);
    }
    map
}

/// A dataset of theorems that could not be read; the message names the file, the line and the
/// field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DatasetError(String);

/// The theorems of a dataset file and its bytes (for the manifest's hash); a malformed row or
/// a name given twice is refused, naming the file, the line and the field. `what` names the
/// file in messages (`dataset`, `conjectures`).
pub fn read_dataset(path: &Path, what: &str) -> Result<(Vec<u8>, Vec<Theorem>), DatasetError> {
    let bytes = std::fs::read(path)
        .map_err(|e| DatasetError(format!("cannot read {what} {}: {e}", path.display())))?;
    let mut theorems = Vec::new();
    let mut malformed = Vec::new();
    for (number, line) in ::datasets::jsonl_lines(&bytes) {
        match line.and_then(|line| ::datasets::parse_theorem(number, line)) {
            Ok(theorem) => theorems.push(theorem),
            Err(error) => malformed.push(error),
        }
    }
    if let Some(first) = malformed.first() {
        return Err(DatasetError(format!(
            "{what} {}: {first}{}",
            path.display(),
            if malformed.len() > 1 {
                format!(" (and {} more malformed rows)", malformed.len() - 1)
            } else {
                String::new()
            }
        )));
    }
    let mut seen = HashSet::new();
    for theorem in &theorems {
        if !seen.insert(theorem.name.clone()) {
            return Err(DatasetError(format!(
                "{what} {}: the name `{}` appears twice; results are keyed by name",
                path.display(),
                theorem.name
            )));
        }
    }
    Ok((bytes, theorems))
}

/// How the REPLs were run, for the record: the command line and how many.
pub fn repl_record(pool: &PoolConfig) -> BTreeMap<String, Value> {
    let mut record = BTreeMap::new();
    record.insert("repl_command".to_owned(), json!(pool.repl.command));
    record.insert("workers".to_owned(), json!(pool.workers));
    record
}

/// The Lean pins a pool runs under: `lean-toolchain` and the SHA-1 of `lake-manifest.json` in
/// its project. (The REPL command line is only recorded: a wrapper or a log path may change.)
pub fn lean_pins(pool: &PoolConfig) -> BTreeMap<String, Value> {
    let mut pins = BTreeMap::new();
    let read = |file: &str| {
        pool.repl
            .working_dir
            .as_ref()
            .and_then(|dir| std::fs::read(dir.join(file)).ok())
    };
    pins.insert(
        "lean_toolchain".to_owned(),
        json!(read("lean-toolchain").map(|t| String::from_utf8_lossy(&t).trim().to_owned())),
    );
    pins.insert(
        "lake_manifest_sha1".to_owned(),
        json!(read("lake-manifest.json").map(|t| sha1_smol::Sha1::from(t).digest().to_string())),
    );
    pins
}

fn host() -> BTreeMap<String, Value> {
    let mut host = BTreeMap::new();
    host.insert(
        "cores".to_owned(),
        json!(std::thread::available_parallelism().map_or(0, |n| n.get())),
    );
    host.insert(
        "memory_bytes".to_owned(),
        json!(lean_bridge::memory::total_memory_bytes().ok()),
    );
    host.insert("os".to_owned(), json!(std::env::consts::OS));
    host
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The inputs and outputs a session's own flags add to a run: `--learned-model` is read,
/// `--save-model` written (a model file, nothing else).
pub fn session_files<'a>(
    learned_model: Option<&'a Path>,
    save_model: Option<&'a Path>,
    inputs: &mut Vec<::datasets::output::Input<'a>>,
    outputs: &mut Vec<::datasets::output::Output<'a>>,
) {
    if let Some(path) = learned_model {
        inputs.push(::datasets::output::Input {
            flag: "--learned-model",
            path,
        });
    }
    if let Some(path) = save_model {
        outputs.push(::datasets::output::Output {
            flag: "--save-model",
            path,
            target: ::datasets::output::Target::File(::datasets::FileKind::Model),
        });
    }
}

/// The `--trace DIR` output: a directory of `.trace.jsonl` files.
pub fn trace_output(dir: Option<&Path>) -> Option<::datasets::output::Output<'_>> {
    dir.map(|path| ::datasets::output::Output {
        flag: "--trace",
        path,
        target: ::datasets::output::Target::DirOf(".trace.jsonl"),
    })
}

/// What the pipelines (`iterate`, `explore`) take from the session's settings: the prompt
/// their rows carry (the model's template, BFS-Prover's `{state}:::` otherwise) and the rules
/// proofs are verified under (`[check]`, with the search's `native_decide` opt-in).
pub fn pipeline_settings(
    config: &crate::session::SessionConfig,
    settings: &crate::settings::SettingsFile,
) -> Result<(String, crate::check::CheckConfig), crate::settings::SettingsError> {
    let prompt_template = config.policy.llm.as_ref().map_or_else(
        || "{state}:::".to_owned(),
        |llm| llm.prompt_template.clone(),
    );
    let check = crate::settings::check_config(
        &crate::settings::CheckOverlay {
            allow_native_decide: config.policy.allow_native_decide,
            ..crate::settings::CheckOverlay::default()
        },
        settings,
    )?;
    Ok((prompt_template, check))
}

/// The session of a run that searches many theorems side by side (`eval`, `iterate`,
/// `explore`): each search runs its tactics one at a time and hints nothing to its policy ahead
/// of need unless `--search-parallelism` / `[search] parallelism` or `--policy-lookahead` /
/// `[search] policy_lookahead` say otherwise, since the theorems already share the pool and the
/// model server.
pub(crate) fn side_by_side_session_config(
    overlay: &crate::settings::Overlay,
    file: &crate::settings::SettingsFile,
) -> Result<crate::session::SessionConfig, crate::settings::SettingsError> {
    let mut config = crate::settings::session_config(overlay, file)?;
    config.prove.search_parallelism.get_or_insert(1);
    config.prove.policy_lookahead.get_or_insert(0);
    Ok(config)
}
