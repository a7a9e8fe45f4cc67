//! Pictures of one search tree from its trace (the edge records `--trace DIR` writes): the states as nodes coloured by status, the proof path highlighted, back-edges to repeated states drawn apart, laid out by depth, as SVG, HTML (the SVG with tooltips, a legend and the proof) or Graphviz DOT.
//!
//! A state is a node (the search merges states by goal text, and so does the trace); a tactic
//! Lean refused, and a tactic that closed every goal, end in a leaf of their own. Siblings that
//! are open frontier states, or refused tactics, collapse into one node each when there are
//! several, and past `max_nodes` the tree is cut breadth-first (the proof path kept) with a
//! note saying so.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use datasets::explore::{EdgeKind, TraceRow};

use crate::html::escape;

/// How a tree is drawn.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// Nodes drawn at most; the rest are cut with a note.
    pub max_nodes: usize,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions { max_nodes: 300 }
    }
}

/// What a node stands for, and its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    /// A state on the proof, or the leaf where the proof closed.
    Proof,
    /// A state reached and never expanded.
    Open,
    /// A state expanded, off the proof.
    Failed,
    /// A state expanded where no tactic led anywhere (every one refused).
    DeadEnd,
    /// A tactic Lean (or the guard) refused.
    Refused,
    /// A tactic that closed every goal off the proof (its recheck refused it, or another
    /// proof came first).
    Closed,
    /// Several open states or refused tactics of one parent, collapsed.
    Collapsed,
}

impl NodeKind {
    /// The CSS class and legend word.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Proof => "proof",
            NodeKind::Open => "open",
            NodeKind::Failed => "failed",
            NodeKind::DeadEnd => "dead-end",
            NodeKind::Refused => "refused",
            NodeKind::Closed => "closed",
            NodeKind::Collapsed => "collapsed",
        }
    }

    fn fill(self) -> &'static str {
        match self {
            NodeKind::Proof => "#2ca02c",
            NodeKind::Open => "#c7c7c7",
            NodeKind::Failed => "#ff7f0e",
            NodeKind::DeadEnd => "#d62728",
            NodeKind::Refused => "#f7b6d2",
            NodeKind::Closed => "#98df8a",
            NodeKind::Collapsed => "#ffffff",
        }
    }

    const ALL: [NodeKind; 7] = [
        NodeKind::Proof,
        NodeKind::Open,
        NodeKind::Failed,
        NodeKind::DeadEnd,
        NodeKind::Refused,
        NodeKind::Closed,
        NodeKind::Collapsed,
    ];
}

/// One node of the drawn tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// The goals (for a state), the tactic (for a leaf), or the collapsed members, one a line.
    pub text: String,
    /// Depth from the root.
    pub depth: u32,
    /// Summed tactic scores on the first path that reached it (a state's priority before
    /// length normalisation), when every score on it is known.
    pub score: Option<f64>,
    /// Its parent in the tree (the state the first edge to it left from).
    pub parent: Option<usize>,
    /// Tactics tried on it (states).
    pub tried: u32,
}

/// One drawn edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// From node.
    pub from: usize,
    /// To node.
    pub to: usize,
    /// The tactic (or, for a collapsed node, how many).
    pub tactic: String,
    /// What it led to.
    pub outcome: String,
    /// Lean's error, the guard's reason or the deadline.
    pub error: Option<String>,
    /// Seconds Lean took.
    pub seconds: f64,
    /// The policy's score.
    pub score: Option<f64>,
    /// An edge to a state first reached another way.
    pub back: bool,
    /// A step of the proof.
    pub on_proof: bool,
}

/// A search tree ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The theorem.
    pub name: String,
    /// Nodes; the root is 0.
    pub nodes: Vec<Node>,
    /// Edges: tree edges and back-edges.
    pub edges: Vec<Edge>,
    /// Why not every node is drawn, when some are not.
    pub note: Option<String>,
}

fn outcome_word(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Goals => "goals",
        EdgeKind::Proved => "proved",
        EdgeKind::LeanError => "lean_error",
        EdgeKind::Timeout => "timeout",
        EdgeKind::Filtered => "filtered",
    }
}

/// The tree of one theorem's trace rows (in the order they were tried).
pub fn build(rows: &[TraceRow], options: &TreeOptions) -> Tree {
    let name = rows.first().map(|r| r.name.clone()).unwrap_or_default();
    let mut nodes: Vec<Node> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let mut state_ids: HashMap<&str, usize> = HashMap::new();
    let root = rows.iter().find(|r| r.depth == 0).or(rows.first());
    if let Some(root) = root {
        state_ids.insert(&root.state_before, 0);
        nodes.push(state_node(&root.state_before, 0, Some(0.0), None));
    }
    for row in rows {
        let from = match state_ids.get(row.state_before.as_str()) {
            Some(id) => *id,
            None => {
                // A state whose first edge the trace lacks: hang it under the root.
                let id = nodes.len();
                state_ids.insert(&row.state_before, id);
                nodes.push(state_node(&row.state_before, row.depth, None, Some(0)));
                edges.push(Edge {
                    from: 0,
                    to: id,
                    tactic: "(not traced)".into(),
                    outcome: "goals".into(),
                    error: None,
                    seconds: 0.0,
                    score: None,
                    back: false,
                    on_proof: false,
                });
                id
            }
        };
        nodes[from].tried += 1;
        let score = match (nodes[from].score, row.score) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let mut edge = Edge {
            from,
            to: 0,
            tactic: row.tactic.clone(),
            outcome: outcome_word(row.outcome).to_owned(),
            error: row.error.clone(),
            seconds: row.seconds,
            score: row.score,
            back: false,
            on_proof: row.on_proof,
        };
        match (row.outcome, row.state_after.as_deref()) {
            (EdgeKind::Goals, Some(after)) => {
                if let Some(known) = state_ids.get(after) {
                    edge.to = *known;
                    edge.back = true;
                } else {
                    let id = nodes.len();
                    state_ids.insert(after, id);
                    let depth = nodes[from].depth + 1;
                    nodes.push(state_node(after, depth, score, Some(from)));
                    edge.to = id;
                }
            }
            (kind, _) => {
                let id = nodes.len();
                let leaf = match kind {
                    EdgeKind::Proved if row.on_proof => NodeKind::Proof,
                    EdgeKind::Proved | EdgeKind::Goals => NodeKind::Closed,
                    _ => NodeKind::Refused,
                };
                nodes.push(Node {
                    kind: leaf,
                    text: row.tactic.clone(),
                    depth: nodes[from].depth + 1,
                    score,
                    parent: Some(from),
                    tried: 0,
                });
                edge.to = id;
            }
        }
        edges.push(edge);
    }
    classify(&mut nodes, &edges);
    let mut tree = Tree {
        name,
        nodes,
        edges,
        note: None,
    };
    collapse(&mut tree);
    cap(&mut tree, options.max_nodes);
    tree
}

fn state_node(goal: &str, depth: u32, score: Option<f64>, parent: Option<usize>) -> Node {
    Node {
        kind: NodeKind::Open,
        text: goal.to_owned(),
        depth,
        score,
        parent,
        tried: 0,
    }
}

/// Sets each state's kind from its edges.
fn classify(nodes: &mut [Node], edges: &[Edge]) {
    let mut on_proof = vec![false; nodes.len()];
    let mut leads = vec![false; nodes.len()];
    for edge in edges {
        if edge.on_proof {
            on_proof[edge.from] = true;
            on_proof[edge.to] = true;
        }
        if edge.outcome == "goals" || edge.outcome == "proved" {
            leads[edge.from] = true;
        }
    }
    for (id, node) in nodes.iter_mut().enumerate() {
        if matches!(
            node.kind,
            NodeKind::Refused | NodeKind::Closed | NodeKind::Proof
        ) {
            continue;
        }
        node.kind = if on_proof[id] {
            NodeKind::Proof
        } else if node.tried == 0 {
            NodeKind::Open
        } else if leads[id] {
            NodeKind::Failed
        } else {
            NodeKind::DeadEnd
        };
    }
}

/// Collapses, per parent, two or more open children (with nothing below them) into one node,
/// and two or more refused tactics into one; the collapsed node lists its members.
fn collapse(tree: &mut Tree) {
    let mut has_children = vec![false; tree.nodes.len()];
    for node in &tree.nodes {
        if let Some(p) = node.parent {
            has_children[p] = true;
        }
    }
    let back_target: Vec<bool> = {
        let mut t = vec![false; tree.nodes.len()];
        for e in tree.edges.iter().filter(|e| e.back) {
            t[e.to] = true;
        }
        t
    };
    // (parent, kind) → the tree edges into collapsible members.
    let mut groups: BTreeMap<(usize, NodeKind), Vec<usize>> = BTreeMap::new();
    for (i, edge) in tree.edges.iter().enumerate() {
        if edge.back {
            continue;
        }
        let node = &tree.nodes[edge.to];
        let collapsible = match node.kind {
            NodeKind::Open => !has_children[edge.to] && !back_target[edge.to],
            NodeKind::Refused => true,
            _ => false,
        };
        if collapsible {
            groups.entry((edge.from, node.kind)).or_default().push(i);
        }
    }
    let mut remove = vec![false; tree.nodes.len()];
    for ((parent, kind), members) in groups {
        if members.len() < 2 {
            continue;
        }
        let first = tree.edges[members[0]].to;
        let mut listing = String::new();
        let mut seconds = 0.0;
        for &i in &members {
            let e = &tree.edges[i];
            seconds += e.seconds;
            let _ = write!(listing, "{} — {} ({:.3}s)", e.tactic, e.outcome, e.seconds);
            if let Some(error) = &e.error {
                let _ = write!(listing, ": {}", one_line(error, 200));
            }
            if kind == NodeKind::Open {
                let _ = write!(listing, "\n    {}", one_line(&tree.nodes[e.to].text, 200));
            }
            listing.push('\n');
        }
        let word = if kind == NodeKind::Open {
            "open states"
        } else {
            "refused tactics"
        };
        tree.nodes[first] = Node {
            kind: NodeKind::Collapsed,
            text: format!("{} {word}:\n{listing}", members.len()),
            depth: tree.nodes[first].depth,
            score: None,
            parent: Some(parent),
            tried: 0,
        };
        let merged = Edge {
            from: parent,
            to: first,
            tactic: format!("{} tactics", members.len()),
            outcome: if kind == NodeKind::Open {
                "goals".into()
            } else {
                "refused".into()
            },
            error: None,
            seconds,
            score: None,
            back: false,
            on_proof: false,
        };
        tree.edges[members[0]] = merged;
        for &i in &members[1..] {
            remove[tree.edges[i].to] = true;
        }
    }
    keep_nodes(tree, &remove.iter().map(|r| !r).collect::<Vec<_>>());
}

/// Keeps the nodes marked in `keep` (and the edges between them), renumbering.
fn keep_nodes(tree: &mut Tree, keep: &[bool]) {
    let mut new_id = vec![usize::MAX; tree.nodes.len()];
    let mut nodes = Vec::new();
    for (i, node) in tree.nodes.iter().enumerate() {
        if keep[i] {
            new_id[i] = nodes.len();
            nodes.push(node.clone());
        }
    }
    for node in &mut nodes {
        node.parent = node.parent.map(|p| new_id[p]);
    }
    tree.edges.retain(|e| keep[e.from] && keep[e.to]);
    for edge in &mut tree.edges {
        edge.from = new_id[edge.from];
        edge.to = new_id[edge.to];
    }
    tree.nodes = nodes;
}

/// Cuts the tree to `max_nodes` nodes breadth-first, proof nodes first, with a note.
fn cap(tree: &mut Tree, max_nodes: usize) {
    let total = tree.nodes.len();
    if total <= max_nodes.max(1) {
        return;
    }
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| {
        let n = &tree.nodes[i];
        (n.kind != NodeKind::Proof, n.depth, i)
    });
    let mut keep = vec![false; total];
    let mut kept = 0;
    for i in order {
        if kept >= max_nodes.max(1) {
            break;
        }
        let parent_kept = tree.nodes[i].parent.is_none_or(|p| keep[p]);
        if parent_kept {
            keep[i] = true;
            kept += 1;
        }
    }
    keep_nodes(tree, &keep);
    tree.note = Some(format!(
        "showing {kept} of {total} nodes (the proof path, then breadth-first); raise --max-nodes to see more"
    ));
}

fn one_line(text: &str, limit: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > limit {
        flat.chars().take(limit).collect::<String>() + "…"
    } else {
        flat
    }
}

/// Node positions: a tidy layered layout (leaves left to right in depth-first order, a parent
/// centred over its children, one layer per depth).
fn layout(tree: &Tree) -> Vec<(f64, f64)> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); tree.nodes.len()];
    for (i, node) in tree.nodes.iter().enumerate() {
        if let Some(p) = node.parent
            && p != i
        {
            children[p].push(i);
        }
    }
    let mut x = vec![0.0; tree.nodes.len()];
    let mut next_leaf = 0.0;
    // Iterative post-order from every root (the root, and any orphan).
    let roots: Vec<usize> = (0..tree.nodes.len())
        .filter(|&i| tree.nodes[i].parent.is_none())
        .collect();
    for root in roots {
        let mut stack = vec![(root, false)];
        while let Some((node, done)) = stack.pop() {
            if done || children[node].is_empty() {
                x[node] = if children[node].is_empty() {
                    next_leaf += 1.0;
                    next_leaf - 1.0
                } else {
                    let first = x[children[node][0]];
                    let last = x[*children[node].last().unwrap_or(&node)];
                    (first + last) / 2.0
                };
                continue;
            }
            stack.push((node, true));
            for &child in children[node].iter().rev() {
                stack.push((child, false));
            }
        }
    }
    let min_depth = tree.nodes.iter().map(|n| n.depth).min().unwrap_or(0);
    tree.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                MARGIN + x[i] * X_STEP,
                TOP + f64::from(n.depth - min_depth) * Y_STEP,
            )
        })
        .collect()
}

const MARGIN: f64 = 30.0;
const TOP: f64 = 70.0;
const X_STEP: f64 = 34.0;
const Y_STEP: f64 = 80.0;
const RADIUS: f64 = 9.0;

fn node_tooltip(node: &Node) -> String {
    let mut tip = format!("{} · depth {}", node.kind.name(), node.depth);
    if let Some(score) = node.score {
        let _ = write!(tip, " · score {score:.3}");
    }
    if node.tried > 0 {
        let _ = write!(tip, " · {} tactics tried", node.tried);
    }
    tip.push('\n');
    tip += &node.text;
    tip
}

fn edge_tooltip(edge: &Edge) -> String {
    let mut tip = format!("{} → {} ({:.3}s", edge.tactic, edge.outcome, edge.seconds);
    if let Some(score) = edge.score {
        let _ = write!(tip, ", score {score:.3}");
    }
    tip.push(')');
    if edge.back {
        tip += ", to a state reached before";
    }
    if let Some(error) = &edge.error {
        tip.push('\n');
        tip += error;
    }
    tip
}

/// The tree as one `<svg>` element, every node's goal and every edge's tactic, outcome, error
/// and time in its tooltip (`<title>`).
pub fn svg(tree: &Tree) -> String {
    let at = layout(tree);
    let width = at.iter().map(|p| p.0).fold(600.0, f64::max) + MARGIN;
    let height = at.iter().map(|p| p.1).fold(TOP, f64::max) + 50.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"search-tree\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\">"
    );
    s += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#9467bd\"/></marker></defs>";
    s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>";
    let _ = write!(
        s,
        "<text x=\"{MARGIN}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        escape(&tree.name)
    );
    // The legend.
    let mut x = MARGIN;
    for kind in NodeKind::ALL {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"40\" r=\"6\" fill=\"{}\" stroke=\"#333\"/><text x=\"{:.1}\" y=\"44\" font-size=\"11\">{}</text>",
            x + 6.0,
            kind.fill(),
            x + 16.0,
            kind.name()
        );
        x += 22.0 + 7.0 * kind.name().len() as f64;
    }
    let _ = write!(
        s,
        "<path d=\"M{:.1} 40h24\" stroke=\"#9467bd\" stroke-dasharray=\"4 3\" fill=\"none\" marker-end=\"url(#arrow)\"/><text x=\"{:.1}\" y=\"44\" font-size=\"11\">back-edge</text>",
        x,
        x + 30.0
    );
    if let Some(note) = &tree.note {
        let _ = write!(
            s,
            "<text x=\"{MARGIN}\" y=\"{:.0}\" font-size=\"12\" fill=\"#d62728\">{}</text>",
            height - 12.0,
            escape(note)
        );
    }
    // Tree edges first, proof edges last so they stay on top, then back-edges.
    let mut ordered: Vec<&Edge> = tree.edges.iter().filter(|e| !e.back).collect();
    ordered.sort_by_key(|e| e.on_proof);
    for edge in ordered {
        let (a, b) = (at[edge.from], at[edge.to]);
        let (stroke, width) = if edge.on_proof {
            ("#2ca02c", 3.0)
        } else if edge.outcome == "goals" || edge.outcome == "proved" {
            ("#7f7f7f", 1.2)
        } else {
            ("#e377c2", 1.0)
        };
        let _ = write!(
            s,
            "<g class=\"edge\"><title>{}</title><line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/></g>",
            escape(&edge_tooltip(edge)),
            a.0,
            a.1 + RADIUS,
            b.0,
            b.1 - RADIUS
        );
        if edge.on_proof {
            let label: String = edge.tactic.chars().take(28).collect();
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#1a6e1a\">{}</text>",
                (a.0 + b.0) / 2.0 + 4.0,
                (a.1 + b.1) / 2.0,
                escape(&label)
            );
        }
    }
    for edge in tree.edges.iter().filter(|e| e.back) {
        let (a, b) = (at[edge.from], at[edge.to]);
        let bend = (b.0 - a.0).abs().max(Y_STEP) * 0.3;
        let _ = write!(
            s,
            "<g class=\"edge back\"><title>{}</title><path d=\"M{:.1} {:.1}Q{:.1} {:.1} {:.1} {:.1}\" stroke=\"#9467bd\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\" fill=\"none\" marker-end=\"url(#arrow)\"/></g>",
            escape(&edge_tooltip(edge)),
            a.0 + RADIUS,
            a.1,
            (a.0 + b.0) / 2.0 + bend,
            (a.1 + b.1) / 2.0,
            b.0 + RADIUS,
            b.1
        );
    }
    for (i, node) in tree.nodes.iter().enumerate() {
        let (x, y) = at[i];
        let dash = if node.kind == NodeKind::Collapsed {
            " stroke-dasharray=\"3 2\""
        } else {
            ""
        };
        let _ = write!(
            s,
            "<g class=\"node {}\"><title>{}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{RADIUS}\" fill=\"{}\" stroke=\"#333\"{dash}/></g>",
            node.kind.name(),
            escape(&node_tooltip(node)),
            node.kind.fill()
        );
        if node.kind == NodeKind::Collapsed {
            let count = node.text.split_whitespace().next().unwrap_or("");
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
                y + 3.0,
                escape(count)
            );
        }
    }
    s += "</svg>";
    s
}

/// The tree as Graphviz DOT: goals in the node labels, tactic, outcome, time and error in the
/// edge labels, back-edges dashed and left out of the ranking.
pub fn dot(tree: &Tree) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph search_tree {{");
    let _ = writeln!(
        s,
        "  label={};",
        dot_string(&format!(
            "{}{}",
            tree.name,
            tree.note
                .as_ref()
                .map(|n| format!("\n{n}"))
                .unwrap_or_default()
        ))
    );
    let _ = writeln!(s, "  labelloc=t;");
    let _ = writeln!(
        s,
        "  node [shape=box, style=filled, fontname=\"monospace\", fontsize=10];"
    );
    let _ = writeln!(s, "  edge [fontname=\"monospace\", fontsize=9];");
    for (i, node) in tree.nodes.iter().enumerate() {
        let mut label = format!("[{}] depth {}", node.kind.name(), node.depth);
        if let Some(score) = node.score {
            let _ = write!(label, " score {score:.3}");
        }
        label.push('\n');
        label += &node.text;
        let _ = writeln!(
            s,
            "  n{i} [label={}, fillcolor=\"{}\"{}];",
            dot_string(&label),
            node.kind.fill(),
            if node.kind == NodeKind::Collapsed {
                ", style=\"filled,dashed\""
            } else {
                ""
            }
        );
    }
    for edge in &tree.edges {
        let mut label = format!("{}\n{} {:.3}s", edge.tactic, edge.outcome, edge.seconds);
        if let Some(error) = &edge.error {
            label.push('\n');
            label += &one_line(error, 120);
        }
        let style = if edge.back {
            ", style=dashed, color=\"#9467bd\", constraint=false"
        } else if edge.on_proof {
            ", color=\"#2ca02c\", penwidth=3"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  n{} -> n{} [label={}{style}];",
            edge.from,
            edge.to,
            dot_string(&label)
        );
    }
    s += "}\n";
    s
}

/// A DOT string literal, lines left-justified.
fn dot_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in crate::html::xml_safe(text).chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\n' => out += "\\l",
            '\r' => {}
            c => out.push(c),
        }
    }
    out += "\\l\"";
    out
}

/// The tree as a self-contained HTML page: the SVG (tooltips on every node and edge), the
/// proof's steps, and every node's goal text in a list.
pub fn html(tree: &Tree) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>Search tree: {}</h1><p>{} nodes, {} edges ({} back-edges to repeated states). Hover a node for its goal, score and depth, an edge for its tactic, outcome, Lean error and time.</p>",
        escape(&tree.name),
        tree.nodes.len(),
        tree.edges.len(),
        tree.edges.iter().filter(|e| e.back).count()
    );
    if let Some(note) = &tree.note {
        let _ = write!(body, "<p class=\"note\">{}</p>", escape(note));
    }
    let _ = write!(body, "<div class=\"scroll\">{}</div>", svg(tree));
    let proof: Vec<&Edge> = tree.edges.iter().filter(|e| e.on_proof).collect();
    if proof.is_empty() {
        body += "<h2>No proof</h2>";
    } else {
        body += "<h2>Proof</h2><table><thead><tr><th>depth</th><th>goal</th><th>tactic</th><th>time</th></tr></thead><tbody>";
        for edge in proof {
            let from = &tree.nodes[edge.from];
            let _ = write!(
                body,
                "<tr><td class=\"num\">{}</td><td><pre>{}</pre></td><td><code>{}</code></td><td class=\"num\">{:.3}s</td></tr>",
                from.depth,
                escape(&from.text),
                escape(&edge.tactic),
                edge.seconds
            );
        }
        body += "</tbody></table>";
    }
    body += "<details><summary>Every node</summary><table><thead><tr><th>#</th><th>status</th><th>depth</th><th>score</th><th>text</th></tr></thead><tbody>";
    for (i, node) in tree.nodes.iter().enumerate() {
        let _ = write!(
            body,
            "<tr><td class=\"num\">{i}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><pre>{}</pre></td></tr>",
            node.kind.name(),
            node.depth,
            node.score.map(|s| format!("{s:.3}")).unwrap_or_default(),
            escape(&node.text)
        );
    }
    body += "</tbody></table></details>";
    crate::html::page(&format!("Search tree: {}", tree.name), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datasets::explore::EXPLORE_SCHEMA_VERSION;

    fn row(
        before: &str,
        tactic: &str,
        outcome: EdgeKind,
        after: Option<&str>,
        depth: u32,
    ) -> TraceRow {
        TraceRow {
            schema_version: EXPLORE_SCHEMA_VERSION,
            name: "t".into(),
            state_before: before.into(),
            tactic: tactic.into(),
            outcome,
            state_after: after.map(str::to_owned),
            error: (outcome == EdgeKind::LeanError).then(|| "unknown tactic".to_owned()),
            score: Some(-1.0),
            depth,
            seconds: 0.5,
            on_proof: false,
        }
    }

    fn sample() -> Vec<TraceRow> {
        let mut rows = vec![
            row("⊢ root", "intro", EdgeKind::Goals, Some("⊢ a"), 0),
            row("⊢ root", "bad1", EdgeKind::LeanError, None, 0),
            row("⊢ root", "bad2", EdgeKind::LeanError, None, 0),
            row("⊢ root", "split", EdgeKind::Goals, Some("⊢ b"), 0),
            row("⊢ a", "loop", EdgeKind::Goals, Some("⊢ root"), 1),
            row("⊢ a", "simp", EdgeKind::Proved, None, 1),
            row("⊢ b", "x", EdgeKind::LeanError, None, 1),
        ];
        rows[0].on_proof = true;
        rows[5].on_proof = true;
        rows
    }

    #[test]
    fn statuses_back_edges_and_collapsing() {
        let tree = build(&sample(), &TreeOptions::default());
        let kinds: Vec<NodeKind> = tree.nodes.iter().map(|n| n.kind).collect();
        // root, a, (two refusals collapsed), b, proof leaf, b's refusal.
        assert_eq!(
            kinds,
            [
                NodeKind::Proof,
                NodeKind::Proof,
                NodeKind::Collapsed,
                NodeKind::DeadEnd,
                NodeKind::Proof,
                NodeKind::Refused
            ]
        );
        assert_eq!(tree.edges.iter().filter(|e| e.back).count(), 1);
        assert_eq!(tree.nodes[1].score, Some(-1.0));
        let svg = svg(&tree);
        assert!(svg.contains("stroke-dasharray=\"4 3\"") && svg.contains("unknown tactic"));
        let dot = dot(&tree);
        assert!(dot.contains("constraint=false") && dot.contains("⊢ a"));
    }

    #[test]
    fn large_trees_are_cut_with_a_note() {
        let mut rows = Vec::new();
        for i in 0..50 {
            rows.push(row(
                &format!("⊢ s{i}"),
                "step",
                EdgeKind::Goals,
                Some(&format!("⊢ s{}", i + 1)),
                i,
            ));
        }
        let tree = build(&rows, &TreeOptions { max_nodes: 10 });
        assert_eq!(tree.nodes.len(), 10);
        assert!(tree.note.as_deref().unwrap().contains("10 of 51"));
        assert!(svg(&tree).contains("raise --max-nodes"));
    }
}
