//! Writes a seeded random world for the simulated REPL, plus the oracle's answers about it.

use std::path::PathBuf;
use std::process::ExitCode;

use prover_tests::worldgen::{DEFAULT_HEADER, WorldSpec, dataset_jsonl, generate, planner_script};
use serde_json::json;

const USAGE: &str = "\
sim-world-gen: writes a random world for sim-repl (a simulated REPL, not Lean).

USAGE:
    sim-world-gen --theorems N --depth D --branching B --seed S --out FILE.json [OPTIONS]

OPTIONS:
    --dead-end-rate R      chance an off-path tactic enters an unprovable state (default 0.2)
    --repeat-rate R        chance an off-path tactic returns to an existing state (default 0.15)
    --unprovable-rate R    chance a theorem has no proof (default 0.25)
    --vocabulary N         distinct tactic texts (default 32)
    --dataset FILE.jsonl   also write miniF2F-style rows (name, header, formal_statement)
    --two-lemma-rate R     chance a theorem needs two lemmas: no tactic sequence proves it, a
                           skeleton of two `have … := by sorry` lines with provable holes and a
                           closing tactic using both does (default 0)
    --planner-script FILE  also write a sim-openai script answering planning requests for the
                           world (`--planner openai`): per two-lemma theorem the good skeleton
                           at once, after a changed statement, after a false lemma (on the
                           replan naming its goal), or never; for other theorems a skeleton
                           with no progress or no skeleton at all

Writes FILE.json (the world) and FILE.answers.json: for each theorem whether it is provable and
a shortest proof found by breadth-first search, and whether it needs two lemmas (with the
skeleton, and whether the planner script ever proposes it).
";

fn run() -> Result<(), String> {
    let mut spec = WorldSpec::default();
    let mut out: Option<PathBuf> = None;
    let mut dataset: Option<PathBuf> = None;
    let mut script: Option<PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            return Ok(());
        }
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let int = || v.parse::<usize>().map_err(|e| format!("{flag} {v}: {e}"));
        let rate = || match v.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
            _ => Err(format!("{flag} {v}: expected a number in [0, 1]")),
        };
        match flag.as_str() {
            "--theorems" => spec.theorems = int()?,
            "--depth" => spec.depth = int()?,
            "--branching" => spec.branching = int()?,
            "--seed" => spec.seed = v.parse().map_err(|e| format!("--seed {v}: {e}"))?,
            "--dead-end-rate" => spec.dead_end_rate = rate()?,
            "--repeat-rate" => spec.repeat_rate = rate()?,
            "--unprovable-rate" => spec.unprovable_rate = rate()?,
            "--vocabulary" => spec.tactic_vocabulary = int()?,
            "--two-lemma-rate" => spec.two_lemma_rate = rate()?,
            "--planner-script" => script = Some(v.into()),
            "--out" => out = Some(v.into()),
            "--dataset" => dataset = Some(v.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let out = out.ok_or("--out is required")?;
    let generated = generate(&spec);
    generated
        .world
        .save(&out)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let answers_path = {
        let s = out.to_string_lossy();
        PathBuf::from(format!(
            "{}.answers.json",
            s.strip_suffix(".json").unwrap_or(&s)
        ))
    };
    let theorems: serde_json::Map<String, serde_json::Value> = generated
        .provable
        .iter()
        .map(|(name, provable)| {
            let proof = &generated.shortest_proof[name];
            let mut answer = json!({"provable": provable, "shortest_proof": proof});
            if let Some(needed) = generated.two_lemma.get(name) {
                answer["needs_two_lemmas"] = json!(true);
                answer["skeleton"] = json!(needed.skeleton);
                answer["planned"] = json!(needed.planned);
            }
            (name.clone(), answer)
        })
        .collect();
    let answers = json!({"seed": spec.seed, "theorems": theorems});
    let text = serde_json::to_string_pretty(&answers).expect("answers always serialize");
    std::fs::write(&answers_path, text)
        .map_err(|e| format!("cannot write {}: {e}", answers_path.display()))?;
    if let Some(path) = script {
        let text = serde_json::to_string_pretty(&planner_script(&generated))
            .expect("a script always serializes");
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = dataset {
        std::fs::write(&path, dataset_jsonl(&generated.world, DEFAULT_HEADER))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sim-world-gen: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
