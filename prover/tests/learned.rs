//! The learned policy end to end against sim-repl (a simulated REPL, not Lean) and sim-openai: trained on one half of a theorem family, it proves more of the other half than the portfolio at a small budget, with fewer expansions; `iterate --policy learned` solves in round 2 what round 1 could not.
//!
//! The family is built here, where the portfolio can be asked what it proposes:
//! - *gizmo* theorems need `gizmo_elim h` then `exact h.ne`, tactics the portfolio does not
//!   know, with a hypothesis name that differs from theorem to theorem;
//! - *chain* theorems of depth 1 to 3 need `norm_num [h]` at every step, which the portfolio
//!   proposes sixth, after four tactics that lead into dead ends: each level costs it five
//!   expansions, so a small budget proves only the short chains.

use std::collections::BTreeMap;
use std::path::Path;

use prover::portfolio::Portfolio;
use prover_tests::harness::{MINIF2F_HEADER, ProverRun, SimRepl, read_jsonl};
use prover_tests::openai_sim::{self, Options, Script};
use prover_tests::world::{Outcome, Theorem as WorldTheorem, Transition, World};
use serde_json::{Value, json};

const NAMES: [&str; 6] = ["h₀", "hx", "ha", "hn", "h₁", "hk"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Gizmo,
    Chain(usize),
}

/// The family: one theorem per kind, in order; its world, and the steps of each proof.
struct Family {
    world: World,
    /// name → (state, tactic) of its intended proof.
    proofs: BTreeMap<String, Vec<(String, String)>>,
}

fn family(kinds: &[Kind]) -> Family {
    let portfolio = Portfolio::default();
    let mut world = World::default();
    let mut proofs = BTreeMap::new();
    for (i, kind) in kinds.iter().enumerate() {
        let h = NAMES[i % NAMES.len()];
        let k = 10 + 7 * i;
        let name = format!("fam_{i}");
        let mut state_names = Vec::new();
        let mut add_state = |world: &mut World, text: String| {
            let id = format!("f{i}_{}", world.states.len());
            world.states.insert(id.clone(), vec![text]);
            state_names.push(id.clone());
            id
        };
        let mut steps = Vec::new();
        let (statement, root) = match kind {
            Kind::Gizmo => {
                let root = add_state(&mut world, format!("n : ℕ\n{h} : n ≤ {k}\n⊢ n ≠ {}", k + 1));
                let next = add_state(
                    &mut world,
                    format!("n : ℕ\n{h} : n < {}\n⊢ n ≠ {}", k + 1, k + 1),
                );
                for (from, tactic, outcome) in [
                    (
                        &root,
                        format!("gizmo_elim {h}"),
                        Outcome::Goals(next.clone()),
                    ),
                    (&next, format!("exact {h}.ne"), Outcome::Proved),
                ] {
                    steps.push((world.states[from][0].clone(), tactic.clone()));
                    world.transitions.push(transition(from, &tactic, outcome));
                }
                (
                    format!("theorem {name} (n : ℕ) ({h} : n ≤ {k}) : n ≠ {}", k + 1),
                    root,
                )
            }
            Kind::Chain(depth) => {
                let chain: Vec<String> = (0..*depth)
                    .map(|j| {
                        add_state(
                            &mut world,
                            format!("n : ℕ\n{h} : n ≤ {k}\n⊢ n < {}", k + 1 + j),
                        )
                    })
                    .collect();
                for (j, from) in chain.iter().enumerate() {
                    let text = world.states[from][0].clone();
                    let candidates = portfolio.candidates(&text);
                    let right = format!("norm_num [{h}]");
                    let rank = candidates.iter().position(|c| c.tactic == right);
                    assert_eq!(
                        rank,
                        Some(5),
                        "the portfolio ranks {right} sixth at {text:?}: {candidates:?}"
                    );
                    // The four best-ranked lead into dead ends: states where nothing works.
                    for (m, decoy) in candidates.iter().take(4).enumerate() {
                        let dead = add_state(
                            &mut world,
                            format!("n : ℕ\n{h} : n ≤ {k}\n⊢ n < {} + {}", k + 1 + j, m + 1),
                        );
                        world.transitions.push(transition(
                            from,
                            &decoy.tactic,
                            Outcome::Goals(dead),
                        ));
                    }
                    let outcome = match chain.get(j + 1) {
                        Some(next) => Outcome::Goals(next.clone()),
                        None => Outcome::Proved,
                    };
                    steps.push((text, right.clone()));
                    world.transitions.push(transition(from, &right, outcome));
                }
                (
                    format!("theorem {name} (n : ℕ) ({h} : n ≤ {k}) : n < {}", k + 1),
                    chain[0].clone(),
                )
            }
        };
        world.theorems.push(WorldTheorem {
            name: name.clone(),
            statement,
            root,
            axioms: Vec::new(),
        });
        proofs.insert(name, steps);
    }
    Family { world, proofs }
}

fn transition(from: &str, tactic: &str, outcome: Outcome) -> Transition {
    Transition {
        from: from.to_owned(),
        tactic: tactic.to_owned(),
        outcome,
        fault: None,
        latency_ms: 0,
    }
}

/// A dataset of the family's theorems `range`.
fn dataset(family: &Family, range: std::ops::Range<usize>, path: &Path) {
    let rows: Vec<String> = family.world.theorems[range]
        .iter()
        .map(|t| {
            datasets::Theorem {
                name: t.name.clone(),
                header: MINIF2F_HEADER.to_owned(),
                formal_statement: format!("{} := by", t.statement),
            }
            .to_row()
        })
        .collect();
    std::fs::write(path, rows.join("\n") + "\n").unwrap();
}

fn assert_ok(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
}

/// Proved theorems and expansions per proof of an `eval` results file.
fn figures(results: &[Value]) -> (usize, f64) {
    let proved: Vec<&Value> = results.iter().filter(|r| r["status"] == "proved").collect();
    let expansions: u64 = proved
        .iter()
        .map(|r| r["expansions"].as_u64().unwrap())
        .sum();
    (proved.len(), expansions as f64 / proved.len().max(1) as f64)
}

#[test]
fn trained_on_one_half_the_learned_policy_proves_more_of_the_other_half_with_fewer_expansions() {
    let dir = tempfile::tempdir().unwrap();
    let kinds: Vec<Kind> = (0..24)
        .map(|i| match i % 4 {
            0 => Kind::Gizmo,
            1 => Kind::Chain(1),
            2 => Kind::Chain(2),
            _ => Kind::Chain(3),
        })
        .collect();
    let family = family(&kinds);
    let world = dir.path().join("world.json");
    family.world.save(&world).unwrap();
    let sim = SimRepl::world(&world);
    let (train, held_out) = (
        dir.path().join("train.jsonl"),
        dir.path().join("held-out.jsonl"),
    );
    dataset(&family, 0..12, &train);
    dataset(&family, 12..24, &held_out);

    // The training proofs are found by a model (the simulated server knows each step).
    let mut responses = serde_json::Map::new();
    for steps in family.proofs.values() {
        for (state, tactic) in steps {
            responses.insert(
                format!("{state}:::"),
                json!([{"text": tactic, "logprobs": [-0.1]}]),
            );
        }
    }
    let script_path = dir.path().join("script.json");
    std::fs::write(
        &script_path,
        json!({"responses": responses, "default": []}).to_string(),
    )
    .unwrap();
    let server =
        openai_sim::serve(Script::from_path(&script_path).unwrap(), Options::default()).unwrap();
    let rounds = dir.path().join("rounds");
    assert_ok(
        &ProverRun::new("iterate")
            .path("--conjectures", &train)
            .path("--dir", &rounds)
            .args([
                "--policy",
                "openai",
                "--llm-url",
                &format!("http://{}/v1", server.addr()),
            ])
            .args([
                "--cheap-expansions",
                "0",
                "--workers",
                "2",
                "--tactic-timeout",
                "2",
            ])
            .repl(&sim)
            .output(),
    );
    assert_eq!(
        read_jsonl(&rounds.join("round-1/proofs.jsonl")).len(),
        12,
        "every training theorem proved"
    );
    let model = dir.path().join("model.bin");
    let stderr = assert_ok(
        &ProverRun::new("train")
            .path("--data", &rounds.join("round-1/sft.jsonl"))
            .path("--data", &rounds.join("round-1/dpo.jsonl"))
            .path("--out", &model)
            .output(),
    );
    assert!(stderr.contains("stored states"), "{stderr}");

    let eval = |label: &str, policy: &[&str]| {
        let out = dir.path().join(format!("{label}.jsonl"));
        assert_ok(
            &ProverRun::new("eval")
                .path("--dataset", &held_out)
                .path("--out", &out)
                .args([
                    "--max-expansions",
                    "6",
                    "--workers",
                    "2",
                    "--tactic-timeout",
                    "2",
                ])
                .args(policy)
                .repl(&sim)
                .output(),
        );
        read_jsonl(&out)
    };
    let portfolio = eval("portfolio", &["--policy", "portfolio"]);
    let model_arg = model.display().to_string();
    let learned = eval(
        "learned",
        &["--policy", "learned", "--learned-model", &model_arg],
    );
    let (portfolio_proved, portfolio_expansions) = figures(&portfolio);
    let (learned_proved, learned_expansions) = figures(&learned);
    println!(
        "held-out half (12 theorems, 6 expansions each): portfolio proved {portfolio_proved} at \
         {portfolio_expansions:.2} expansions per proof; learned proved {learned_proved} at \
         {learned_expansions:.2}"
    );
    assert!(
        learned_proved > portfolio_proved,
        "{learned_proved} vs {portfolio_proved}"
    );
    assert!(learned_expansions < portfolio_expansions);
    assert_eq!(learned_proved, 12, "every held-out theorem: {learned:#?}");
    // A corrupt model is refused before anything runs, naming the file.
    std::fs::write(&model, b"not a model").unwrap();
    let broken = ProverRun::new("eval")
        .path("--dataset", &held_out)
        .path("--out", &dir.path().join("broken.jsonl"))
        .args(["--policy", "learned", "--learned-model", &model_arg])
        .repl(&sim)
        .output();
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&model_arg) && stderr.contains("not a prover learned model"),
        "{stderr}"
    );
}

#[test]
fn iterate_with_the_learned_policy_solves_in_round_two_what_round_one_could_not() {
    let dir = tempfile::tempdir().unwrap();
    let kinds: Vec<Kind> = (0..8)
        .map(|i| {
            if i < 2 {
                Kind::Chain(2)
            } else {
                Kind::Chain(3)
            }
        })
        .collect();
    let family = family(&kinds);
    let world = dir.path().join("world.json");
    family.world.save(&world).unwrap();
    let conjectures = dir.path().join("conjectures.jsonl");
    dataset(&family, 0..8, &conjectures);
    let rounds = dir.path().join("rounds");
    let model = dir.path().join("final.bin");
    let stderr = assert_ok(
        &ProverRun::new("iterate")
            .path("--conjectures", &conjectures)
            .path("--dir", &rounds)
            .path("--save-model", &model)
            .args([
                "--rounds",
                "2",
                "--policy",
                "learned",
                "--cheap-expansions",
                "0",
            ])
            .args([
                "--max-expansions",
                "6",
                "--workers",
                "2",
                "--tactic-timeout",
                "2",
            ])
            .repl(&SimRepl::world(&world))
            .output(),
    );
    let solved = |round: u32| {
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(rounds.join(format!("round-{round}/manifest.json"))).unwrap(),
        )
        .unwrap();
        manifest["counts"]["solved_by_search"].as_u64().unwrap()
    };
    println!(
        "iterate --policy learned: round 1 solved {}, round 2 solved {}",
        solved(1),
        solved(2)
    );
    assert_eq!(
        solved(1),
        2,
        "round 1 (nothing learned yet) proves the short chains only"
    );
    assert_eq!(
        solved(2),
        6,
        "round 2, retrained on round 1, proves the long ones: {stderr}"
    );
    assert!(
        stderr.contains("retrained on rounds 1-1"),
        "no retraining said: {stderr}"
    );
    assert!(model.is_file());

    // Each round's model lies beside it, and its manifest names that model.
    let manifest_of = |round: u32| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(rounds.join(format!("round-{round}/manifest.json"))).unwrap(),
        )
        .unwrap()
    };
    let hashes: Vec<String> = (1..=2)
        .map(|round| {
            let file = rounds.join(format!("round-{round}/model.bin"));
            let bytes = std::fs::read(&file).unwrap();
            let hash = sha1_smol::Sha1::from(&bytes).digest().to_string();
            let manifest = manifest_of(round);
            assert_eq!(manifest["recorded"]["learned_model"]["sha1"], hash.as_str());
            assert!(
                manifest["config"]["policy"]
                    .as_str()
                    .unwrap()
                    .contains(&hash),
                "round {round}'s policy names its model: {manifest:#}"
            );
            hash
        })
        .collect();
    assert_ne!(
        hashes[0], hashes[1],
        "round 2 searched with the retrained model"
    );
    assert_eq!(
        manifest_of(1)["recorded"]["learned_model"]["stored_states"],
        0
    );

    // A flipped bit in a saved model is refused before anything runs, naming the file.
    let damaged = rounds.join("round-2/model.bin");
    let mut bytes = std::fs::read(&damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&damaged, &bytes).unwrap();
    let refused = ProverRun::new("eval")
        .path("--dataset", &conjectures)
        .path("--out", &dir.path().join("refused.jsonl"))
        .args(["--policy", "learned"])
        .path("--learned-model", &damaged)
        .repl(&SimRepl::world(&world))
        .output();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&damaged.display().to_string()) && stderr.contains("checksum"),
        "{stderr}"
    );
    assert!(!dir.path().join("refused.jsonl").exists());
}
