//! A plan as a tree (`prover tree` on a `--plan-log` file): the theorem, its direct search, each skeleton the planner proposed, each skeleton's holes, and each hole's search (and the search of its negation), drawn by `tree`'s SVG, HTML and DOT writers.
//!
//! The route that proved the theorem (the direct search, or the closed skeleton, its holes
//! and their searches) is the tree's proof path. A node's text is what it stands for: the
//! statement, a search's outcome, a skeleton's text, a hole's goal; an edge says what led
//! there (a skeleton's label and why, a hole's place, a search's cost).

use datasets::plan::{HoleRecord, HoleSearch, PlanOutcome, PlanRecord, SkeletonLabel};

use crate::tree::{Edge, Node, NodeKind, Tree};

/// The tree of one theorem's plan record.
pub fn build(record: &PlanRecord) -> Tree {
    let mut tree = Tree {
        name: format!("plan of {}", record.name),
        nodes: Vec::new(),
        edges: Vec::new(),
        note: None,
    };
    let proved = record.outcome != PlanOutcome::Unproved;
    let root = push(
        &mut tree,
        None,
        if proved {
            NodeKind::Proof
        } else {
            NodeKind::Failed
        },
        record.statement.clone(),
    );
    let direct_proved = record.outcome == PlanOutcome::Direct && record.direct.proved;
    search_node(
        &mut tree,
        root,
        "direct search",
        &record.direct,
        direct_proved,
    );
    for (index, skeleton) in record.skeletons.iter().enumerate() {
        let on_proof =
            record.outcome == PlanOutcome::Plan && skeleton.label == SkeletonLabel::ClosedAll;
        let kind = match skeleton.label {
            SkeletonLabel::ClosedAll if on_proof => NodeKind::Proof,
            SkeletonLabel::ClosedAll => NodeKind::Closed,
            SkeletonLabel::Partial => NodeKind::Failed,
            SkeletonLabel::Refuted => NodeKind::DeadEnd,
            SkeletonLabel::Refused => NodeKind::Refused,
        };
        let node = push(&mut tree, Some(root), kind, skeleton.text.clone());
        tree.edges.push(Edge {
            from: root,
            to: node,
            tactic: format!("skeleton {} (request {})", index + 1, skeleton.round + 1),
            outcome: label_word(skeleton.label).to_owned(),
            error: skeleton.reason.clone(),
            seconds: 0.0,
            score: None,
            back: false,
            on_proof,
        });
        for hole in &skeleton.holes {
            hole_nodes(&mut tree, node, hole, on_proof);
        }
    }
    if let Some(fallback) = &record.fallback {
        let proved = record.outcome == PlanOutcome::Direct && fallback.proved;
        search_node(
            &mut tree,
            root,
            "direct search again (fallback)",
            fallback,
            proved,
        );
    }
    tree
}

fn push(tree: &mut Tree, parent: Option<usize>, kind: NodeKind, text: String) -> usize {
    let depth = parent.map_or(0, |p| tree.nodes[p].depth + 1);
    tree.nodes.push(Node {
        kind,
        text,
        depth,
        score: None,
        parent,
        tried: 0,
    });
    tree.nodes.len() - 1
}

/// A hole under its skeleton, and its searches under it.
fn hole_nodes(tree: &mut Tree, skeleton: usize, hole: &HoleRecord, on_proof: bool) {
    let kind = if hole.search.proved {
        NodeKind::Proof
    } else if hole.refuted() {
        NodeKind::DeadEnd
    } else if hole.search.stop_reason.is_none() {
        NodeKind::Open
    } else {
        NodeKind::Failed
    };
    let kind = match kind {
        NodeKind::Proof if !on_proof => NodeKind::Closed,
        other => other,
    };
    let node = push(tree, Some(skeleton), kind, hole.goal.clone());
    tree.edges.push(Edge {
        from: skeleton,
        to: node,
        tactic: format!("hole at line {}, column {}", hole.line, hole.column),
        outcome: if hole.search.proved {
            "proved".to_owned()
        } else if hole.refuted() {
            "refuted".to_owned()
        } else {
            "open".to_owned()
        },
        error: None,
        seconds: 0.0,
        score: None,
        back: false,
        on_proof,
    });
    search_node(
        tree,
        node,
        "its search",
        &hole.search,
        on_proof && hole.search.proved,
    );
    if let Some(refutation) = &hole.refutation {
        search_node(tree, node, "the search of its negation", refutation, false);
    }
}

/// One search's node under `parent`: its proof, or why it stopped.
fn search_node(
    tree: &mut Tree,
    parent: usize,
    what: &str,
    search: &HoleSearch,
    on_proof: bool,
) -> usize {
    let kind = match (search.proved, on_proof) {
        (true, true) => NodeKind::Proof,
        (true, false) => NodeKind::Closed,
        (false, _) if search.stop_reason.is_none() => NodeKind::Open,
        (false, _) => NodeKind::Failed,
    };
    let outcome = match (&search.proof, &search.stop_reason) {
        (Some(proof), _) if search.proved => format!("proved by:\n{}", proof.trim()),
        (_, Some(reason)) => format!("not proved: {reason}"),
        _ => "not searched (a sibling hole was refuted first)".to_owned(),
    };
    let text = format!(
        "{outcome}\n{} expansions, {} Lean calls{}",
        search.expansions,
        search.lean_calls,
        if search.from_cache {
            ", from the cache or an earlier skeleton"
        } else {
            ""
        }
    );
    let node = push(tree, Some(parent), kind, text);
    tree.edges.push(Edge {
        from: parent,
        to: node,
        tactic: what.to_owned(),
        outcome: if search.proved {
            "proved".to_owned()
        } else {
            search
                .stop_reason
                .as_ref()
                .map_or_else(|| "not searched".to_owned(), ToString::to_string)
        },
        error: None,
        seconds: 0.0,
        score: None,
        back: false,
        on_proof,
    });
    node
}

fn label_word(label: SkeletonLabel) -> &'static str {
    match label {
        SkeletonLabel::Refused => "refused",
        SkeletonLabel::ClosedAll => "closed_all",
        SkeletonLabel::Partial => "partial",
        SkeletonLabel::Refuted => "refuted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::StopCode;
    use datasets::plan::{PLAN_SCHEMA_VERSION, PlannerTokens, SkeletonRecord};

    fn hole(goal: &str, search: HoleSearch, refutation: Option<HoleSearch>) -> HoleRecord {
        HoleRecord {
            line: 2,
            column: 30,
            goal: goal.into(),
            search,
            frontier: Vec::new(),
            errors: Vec::new(),
            refutation,
        }
    }

    #[test]
    fn a_plan_draws_its_skeletons_holes_and_searches_with_the_closed_route_as_the_proof() {
        let proved = |proof: &str| HoleSearch {
            proved: true,
            proof: Some(proof.into()),
            expansions: 1,
            lean_calls: 3,
            ..HoleSearch::default()
        };
        let record = PlanRecord {
            schema_version: PLAN_SCHEMA_VERSION,
            name: "t".into(),
            statement: "theorem t : p := by".into(),
            outcome: PlanOutcome::Plan,
            direct: HoleSearch {
                stop_reason: Some(StopCode::Exhausted),
                expansions: 1,
                ..HoleSearch::default()
            },
            planner_calls: 2,
            planner_tokens: PlannerTokens::default(),
            skeletons: vec![
                SkeletonRecord {
                    round: 0,
                    text: "theorem t : p := by\n  have h : q := by sorry\n  exact f h".into(),
                    label: SkeletonLabel::Refuted,
                    reason: Some("0 of 1 holes closed".into()),
                    holes: vec![hole(
                        "⊢ q",
                        HoleSearch {
                            stop_reason: Some(StopCode::Cancelled),
                            ..HoleSearch::default()
                        },
                        Some(proved("push_neg")),
                    )],
                },
                SkeletonRecord {
                    round: 1,
                    text: "theorem t : p := by\n  have h : r := by sorry\n  exact g h".into(),
                    label: SkeletonLabel::ClosedAll,
                    reason: None,
                    holes: vec![hole("⊢ r", proved("simp"), None)],
                },
            ],
            planner_error: None,
            fallback: None,
            proof: Some("\n  have h : r := by simp\n  exact g h".into()),
        };
        let tree = build(&record);
        // Root, direct search; skeleton 1, its hole, its search, its negation's search;
        // skeleton 2, its hole, its search.
        assert_eq!(tree.nodes.len(), 9, "{tree:#?}");
        assert_eq!(tree.edges.len(), 8);
        let kinds: Vec<NodeKind> = tree.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            [
                NodeKind::Proof,
                NodeKind::Failed,
                NodeKind::DeadEnd,
                NodeKind::DeadEnd,
                NodeKind::Failed,
                NodeKind::Closed,
                NodeKind::Proof,
                NodeKind::Proof,
                NodeKind::Proof,
            ]
        );
        let proof: Vec<&str> = tree
            .edges
            .iter()
            .filter(|e| e.on_proof)
            .map(|e| e.tactic.as_str())
            .collect();
        assert_eq!(
            proof,
            [
                "skeleton 2 (request 2)",
                "hole at line 2, column 30",
                "its search"
            ]
        );
        let html = crate::tree::html(&tree);
        assert!(html.contains("plan of t"), "{html}");
        assert!(html.contains("proved by:\nsimp"), "{html}");
        let dot = crate::tree::dot(&tree);
        assert!(dot.contains("the search of its negation"), "{dot}");
        assert_eq!(build(&record), tree, "the same record, the same tree");
    }
}
