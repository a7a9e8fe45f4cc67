//! `prover::goal` and `prover::portfolio` on real goal text: every miniF2F goal and every goal in the recorded REPL transcripts.
//!
//! The unit tests use hand-picked goals; this file checks that the reader holds up on what Lean
//! actually prints, including wrapped targets, `case` tags and inaccessible names (`h₀✝`).

use std::path::{Path, PathBuf};

use prover::goal::{self, Goal, Head};
use prover::guard::TacticGuard;
use prover::portfolio::Portfolio;
use serde_json::Value;

#[path = "../../tests/src/test_data.rs"]
mod test_data;

/// `(name, goal)` for every row of the two main miniF2F splits, or `None` after the test's skip
/// line when the data is not here.
fn minif2f_goals(test: &str) -> Option<Vec<(String, String)>> {
    let mut goals = Vec::new();
    for split in ["valid", "test"] {
        let path = test_data::find_or_skip(&format!("datasets/minif2f/{split}.jsonl"), test)?;
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let row: Value = serde_json::from_str(line).unwrap();
            goals.push((
                row["name"].as_str().unwrap().to_owned(),
                row["goal"].as_str().unwrap().to_owned(),
            ));
        }
    }
    Some(goals)
}

/// Goal strings in the transcripts' answers: `(file, text, holds exactly one goal)`.
///
/// `goals` arrays and `goal` fields hold one goal each; the `goals` *string* of an
/// `allTactics` entry holds the goals before that tactic, possibly none (`no goals`).
fn transcript_goals(test: &str) -> Option<Vec<(String, String, bool)>> {
    let dir = test_data::find_or_skip("fixtures/repl-transcripts", test)?;
    let mut files = Vec::new();
    collect_expected_outputs(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no transcripts found");
    let mut goals = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // Answers are pretty-printed JSON objects separated by one blank line.
        for answer in text.split("\n\n").filter(|a| !a.trim().is_empty()) {
            let value: Value = serde_json::from_str(answer)
                .unwrap_or_else(|e| panic!("{name}: answer is not JSON ({e}): {answer}"));
            walk(&value, &name, &mut goals);
        }
    }
    Some(goals)
}

fn collect_expected_outputs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_expected_outputs(&path, out);
        } else if path.to_string_lossy().ends_with(".expected.out") {
            out.push(path);
        }
    }
}

fn walk(value: &Value, file: &str, out: &mut Vec<(String, String, bool)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("goals", Value::Array(items)) => {
                        for item in items {
                            out.push((file.to_owned(), item.as_str().unwrap().to_owned(), true));
                        }
                    }
                    ("goals", Value::String(s)) => out.push((file.to_owned(), s.clone(), false)),
                    ("goal", Value::String(s)) => out.push((file.to_owned(), s.clone(), true)),
                    _ => walk(v, file, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, file, out)),
        _ => {}
    }
}

/// The target as an independent reading of the raw text: everything after the `⊢` line's
/// marker, wrapped lines joined with one space.
fn expected_target(raw: &str) -> String {
    let mut lines = raw.lines().skip_while(|l| !l.starts_with('⊢'));
    let first = lines.next().expect("a ⊢ line");
    let mut target = first.trim_start_matches('⊢').trim().to_owned();
    for line in lines.take_while(|l| l.starts_with(' ')) {
        target.push(' ');
        target.push_str(line.trim());
    }
    target
}

/// Checks one single-goal string and returns the parsed goal.
fn check_single(label: &str, raw: &str) -> Goal {
    let goals = goal::parse_goals(raw);
    assert_eq!(goals.len(), 1, "{label}: {raw:?} → {goals:#?}");
    let parsed = goals.into_iter().next().unwrap();
    assert!(!parsed.target.is_empty(), "{label}: empty target");
    assert_eq!(parsed.target, expected_target(raw), "{label}");
    // One hypothesis per unindented line before the target, minus a leading `case` line.
    let head_lines = raw
        .lines()
        .take_while(|l| !l.starts_with('⊢'))
        .filter(|l| !l.starts_with(' '))
        .count();
    let case_lines = usize::from(parsed.case.is_some());
    assert_eq!(parsed.hypotheses.len() + case_lines, head_lines, "{label}");
    for hypothesis in &parsed.hypotheses {
        assert!(!hypothesis.names.is_empty(), "{label}: {hypothesis:?}");
        assert!(!hypothesis.ty.is_empty(), "{label}: {hypothesis:?}");
        for name in &hypothesis.names {
            assert!(goal::is_identifier(name), "{label}: name {name:?}");
        }
    }
    parsed
}

/// The portfolio proposes something for every real goal, and nothing the guard refuses.
fn check_portfolio(label: &str, raw: &str) {
    let candidates = Portfolio::default().candidates(raw);
    assert!(!candidates.is_empty(), "{label}");
    let guard = TacticGuard::default();
    for candidate in candidates {
        assert_eq!(
            guard.check(&candidate.tactic),
            Ok(()),
            "{label}: {candidate:?}"
        );
    }
}

#[test]
fn every_minif2f_goal_parses() {
    let Some(goals) = minif2f_goals("every_minif2f_goal_parses") else {
        return;
    };
    assert_eq!(goals.len(), 488);
    let mut hypotheses = 0;
    let mut heads = std::collections::BTreeMap::<String, usize>::new();
    for (name, raw) in &goals {
        let parsed = check_single(name, raw);
        hypotheses += parsed.hypotheses.len();
        *heads
            .entry(format!("{:?}", goal::head(&parsed.target)))
            .or_default() += 1;
        check_portfolio(name, raw);
    }
    println!(
        "parsed {} miniF2F goals with {hypotheses} hypothesis lines; target heads: {heads:?}",
        goals.len()
    );
}

#[test]
fn every_transcript_goal_parses() {
    let Some(goals) = transcript_goals("every_transcript_goal_parses") else {
        return;
    };
    let mut parsed_goals = 0;
    for (file, raw, single) in &goals {
        if *single {
            check_single(file, raw);
            parsed_goals += 1;
        } else {
            // A tactic's "goals before": each blank-line-separated block is one goal.
            let blocks: Vec<&str> = raw.split("\n\n").filter(|b| b.contains('⊢')).collect();
            let parsed = goal::parse_goals(raw);
            assert_eq!(parsed.len(), blocks.len(), "{file}: {raw:?}");
            for block in blocks {
                check_single(file, block);
            }
            parsed_goals += parsed.len();
        }
        check_portfolio(file, raw);
    }
    assert!(
        goals.len() >= 100,
        "only {} goal strings found",
        goals.len()
    );
    println!(
        "parsed {parsed_goals} goals from {} goal strings in the REPL transcripts",
        goals.len()
    );
}

fn minif2f(goals: &[(String, String)], name: &str) -> Goal {
    let (_, raw) = goals
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in miniF2F"));
    goal::parse_goals(raw).remove(0)
}

fn names(goal: &Goal) -> Vec<String> {
    goal.hypotheses.iter().map(|h| h.names.join(" ")).collect()
}

#[test]
fn spot_checks_of_specific_real_goals() {
    let Some(goals) = minif2f_goals("spot_checks_of_specific_real_goals") else {
        return;
    };
    let g = minif2f(&goals, "amc12a_2015_p10");
    assert_eq!(names(&g), ["x y", "h₀", "h₁", "h₂"]);
    assert_eq!(g.hypotheses[0].ty, "ℤ");
    assert_eq!(g.hypotheses[3].ty, "x + y + x * y = 80");
    assert_eq!(g.target, "x = 26");
    assert_eq!(goal::head(&g.target), Head::Eq);

    // The one wrapped target in miniF2F.
    let g = minif2f(&goals, "imo_2006_p3");
    assert_eq!(
        g.target,
        "a * b * (a ^ 2 - b ^ 2) + b * c * (b ^ 2 - c ^ 2) + c * a * (c ^ 2 - a ^ 2) ≤ \
         9 * √2 / 32 * (a ^ 2 + b ^ 2 + c ^ 2) ^ 2"
    );
    assert_eq!(goal::head(&g.target), Head::Le);

    let g = minif2f(&goals, "mathd_numbertheory_13");
    assert_eq!(names(&g), ["u v", "S", "h₀", "h₁", "h₂"]);
    assert_eq!(g.hypotheses[1].ty, "Set ℕ");
    assert_eq!(goal::head(&g.hypotheses[2].ty), Head::Forall);
    assert_eq!(g.hypotheses[4].ty, "IsLeast (S \\ {u}) v");
    assert_eq!(g.target, "(↑u + ↑v) / 2 = 64");

    let g = minif2f(&goals, "mathd_numbertheory_169");
    assert!(g.hypotheses.is_empty());
    assert_eq!(g.target, "20!.gcd 200000 = 40000");

    // An inaccessible name: kept, but not offered to tactics.
    let g = minif2f(&goals, "mathd_algebra_144");
    assert_eq!(names(&g), ["a b c d", "h₀✝", "h₀", "h₁", "h₂", "h₃"]);
    assert!(!goal::is_accessible("h₀✝"));
    assert!(g.destructurable().is_empty(), "h₀✝ cannot be named");

    let g = minif2f(&goals, "imo_1987_p6");
    let binders = goal::intro_binders(&g.target);
    assert_eq!(binders.len(), 2);
    assert_eq!(binders[0].name.as_deref(), Some("i"));
    assert_eq!(binders[1].ty.as_deref(), Some("i ≤ p - 2"));
    let tactics: Vec<String> = Portfolio::default()
        .candidates(&g.to_string())
        .into_iter()
        .map(|c| c.tactic)
        .collect();
    assert!(tactics.contains(&"intro i hi".to_owned()), "{tactics:?}");

    let g = minif2f(&goals, "amc12a_2002_p6");
    assert_eq!(goal::head(&g.target), Head::Exists);

    let g = minif2f(&goals, "mathd_numbertheory_780");
    assert_eq!(g.bounds("m").in_conjunction, ["h₁"]);

    // A transcript goal with a case tag and inaccessible names (Mathlib `induction`).
    let goals = goal::parse_goals("case succ\nn✝ : ℕ\na✝ : n✝ = n✝\n⊢ n✝ + 1 = n✝ + 1");
    assert_eq!(goals[0].case.as_deref(), Some("succ"));
    assert_eq!(names(&goals[0]), ["n✝", "a✝"]);
    let Some(transcript) = transcript_goals("spot_checks_of_specific_real_goals") else {
        return;
    };
    assert!(
        transcript
            .iter()
            .any(|(_, raw, _)| raw == "case succ\nn✝ : ℕ\na✝ : n✝ = n✝\n⊢ n✝ + 1 = n✝ + 1")
    );
    // Two names on one line, from the `by_cases` transcript.
    assert!(
        transcript
            .iter()
            .any(|(_, raw, _)| raw.contains("h1 h2 : x = x"))
    );
    let g = goal::parse_goals(
        "case pos\nx : ℝ\nh0 : |x| > 1\nh1 h2 : x = x\nh3 : x < 0\n⊢ x < 0 ∨ 2 * x > 2",
    )
    .remove(0);
    assert_eq!(g.hypotheses[2].names, ["h1", "h2"]);
    assert_eq!(goal::head(&g.hypotheses[1].ty), Head::Gt);
    assert_eq!(goal::head(&g.target), Head::Or);
}
