//! The search graph: one node per distinct state text, edges labelled by tactics, PROVED/FAILED status propagation and shortest-proof extraction.
//!
//! The layout is chosen for a graph that grows by several hundred thousand edges a second and is
//! dropped at the end of every attempt, where cache misses, page faults and allocator calls are
//! what costs:
//!
//! - state texts and tactics live in two append-only arenas, one allocation each; a node or an
//!   edge records only where its text starts (it ends where the next one's starts);
//! - the text → node index is an open-addressing table whose slots point into the arena, so
//!   each text is stored once and hashed once, and a lookup does not touch the node;
//! - out-edges and in-edges are intrusive lists threaded through the edges, not two `Vec`s
//!   per node; the tactics still to run live in a side table, not in every node.

use std::collections::VecDeque;

use super::hash::hash_str;
use super::policy::Candidate;
use super::proof::Proof;

/// A state node within one search attempt. The root is node 0; ids are dense and follow
/// creation order, so a hook can rebuild the graph from the events it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(super) u32);

impl NodeId {
    /// The root state's node.
    pub const ROOT: NodeId = NodeId(0);

    /// The id as an index, 0 for the root.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An edge (one tactic applied to one node) within one search attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EdgeId(u32);

impl EdgeId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// Ids at or above this are sentinels (no edge, an empty slot, a proved or failed target).
const MAX_ID: u32 = u32::MAX - 2;

/// The end of an intrusive edge list.
const NO_EDGE: u32 = u32::MAX;

/// Whether a node is known to lead to a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Nothing is known yet.
    Open,
    /// Some path from here ends in an accepted proof.
    Proved,
    /// Fully expanded and every outgoing edge failed: no proof through this node.
    Failed,
}

/// How far a node's expansion has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expansion {
    NotStarted,
    /// The policy was asked; the tactics still to run are in the graph's pending table, at
    /// this index. A node stays here after its expansion stopped early (a proof was found, or
    /// a budget ran out), so it can resume without asking the policy again.
    Pending(u32),
    /// Every pending tactic ran.
    Finished,
    /// The policy failed on this node. It is never expanded again, but it is not FAILED either:
    /// nothing shows that it has no proof, so it must not make its parents FAILED.
    Abandoned,
}

impl Expansion {
    /// Whether selecting the node would do anything.
    pub(super) fn is_over(self) -> bool {
        matches!(self, Expansion::Finished | Expansion::Abandoned)
    }
}

/// Where an edge leads: a node id, or [`PROVED`] (the tactic closed all goals and the proof
/// has not been rejected), or [`FAILED`] (the proof through it was rejected). A tactic that
/// was refused, or on which the environment failed, gets no edge (`Graph::add_failed_edge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target(u32);

const PROVED: Target = Target(u32::MAX - 1);
const FAILED: Target = Target(u32::MAX);

impl Target {
    fn node(self) -> Option<NodeId> {
        (self.0 <= MAX_ID).then_some(NodeId(self.0))
    }
}

/// An intrusive singly linked list of edges, in insertion order.
#[derive(Debug, Clone, Copy)]
struct EdgeList {
    first: u32,
    last: u32,
}

#[derive(Debug)]
pub(super) struct Node<S> {
    pub(super) state: S,
    /// Where the canonical text starts in the text arena.
    text_start: usize,
    pub(super) depth: u32,
    /// Σ of tactic scores along the first path that reached this state.
    pub(super) path_score: f64,
    pub(super) status: Status,
    pub(super) expansion: Expansion,
    /// Out-edges, linked through `Edge::next_child`.
    children: EdgeList,
}

#[derive(Debug)]
struct Edge {
    /// Where the tactic starts in the tactic arena.
    tactic_start: usize,
    parent: NodeId,
    target: Target,
    /// The next out-edge of `parent`.
    next_child: u32,
    /// The next (earlier) in-edge of the target node (state edges only).
    next_parent: u32,
}

/// Where a new state edge landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Landing {
    /// A state never seen before: a new node, to be queued.
    New(NodeId),
    /// A state already in the graph: an extra in-edge, no re-queue, no re-scoring.
    Known(NodeId),
}

/// The graph of one search attempt. Cycles are possible (a no-op tactic leads back).
#[derive(Debug)]
pub(super) struct Graph<S> {
    nodes: Vec<Node<S>>,
    edges: Vec<Edge>,
    /// Every node's canonical text, back to back in node order.
    texts: String,
    /// Every edge's tactic, back to back in edge order.
    tactics: String,
    by_text: TextIndex,
    /// Per node, the latest in-edge; the others are linked through `Edge::next_parent`. Kept
    /// apart from the nodes so that adding an edge to a known state does not touch the node.
    first_parent: Vec<u32>,
    /// Per node, the edge that created it (its earliest in-edge, which never changes;
    /// [`NO_EDGE`] for the root): the first path is one step per level up these. Kept apart from
    /// the nodes so that a [`PathView`] needs no node type.
    creating_edge: Vec<u32>,
    /// The tactics still to run of each `Expansion::Pending` node.
    pending: Vec<VecDeque<Candidate>>,
    /// Indices of `pending` that are free for reuse.
    free_pending: Vec<u32>,
    /// Scratch space for the status walks, kept to avoid an allocation per expansion.
    worklist: Vec<NodeId>,
}

impl<S> Graph<S> {
    pub(super) fn new(root: S, root_text: String) -> Self {
        let mut graph = Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            texts: String::new(),
            tactics: String::new(),
            by_text: TextIndex::default(),
            first_parent: Vec::new(),
            creating_edge: Vec::new(),
            pending: Vec::new(),
            free_pending: Vec::new(),
            worklist: Vec::new(),
        };
        let root = graph.push_node(root, &root_text, 0, 0.0);
        graph
            .by_text
            .insert(0, tag_of(&root_text), root, &graph.nodes, &graph.texts);
        graph
    }

    pub(super) fn node(&self, id: NodeId) -> &Node<S> {
        &self.nodes[id.index()]
    }

    pub(super) fn node_mut(&mut self, id: NodeId) -> &mut Node<S> {
        &mut self.nodes[id.index()]
    }

    /// The canonical text of a node's state.
    pub(super) fn text(&self, id: NodeId) -> &str {
        text_of(&self.nodes, &self.texts, id.index())
    }

    fn tactic(&self, edge: EdgeId) -> &str {
        tactic_of(&self.edges, &self.tactics, edge.index())
    }

    pub(super) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn root_status(&self) -> Status {
        self.node(NodeId::ROOT).status
    }

    /// Stores the tactics a node's expansion is to run, and marks it pending.
    pub(super) fn start_expansion(&mut self, id: NodeId, tactics: VecDeque<Candidate>) {
        let index = match self.free_pending.pop() {
            Some(index) => {
                self.pending[index as usize] = tactics;
                index
            }
            None => {
                self.pending.push(tactics);
                u32::try_from(self.pending.len() - 1).expect("fewer than 2^32 pending nodes")
            }
        };
        self.node_mut(id).expansion = Expansion::Pending(index);
    }

    /// The tactics a pending node's expansion has still to run, in order.
    pub(super) fn pending_tactics(&self, id: NodeId) -> Option<&VecDeque<Candidate>> {
        match self.node(id).expansion {
            Expansion::Pending(index) => Some(&self.pending[index as usize]),
            _ => None,
        }
    }

    /// Takes a pending node's next tactic; marks the expansion finished when it was the last.
    pub(super) fn next_candidate(&mut self, id: NodeId) -> Option<Candidate> {
        let Expansion::Pending(index) = self.node(id).expansion else {
            return None;
        };
        let pending = &mut self.pending[index as usize];
        let next = pending.pop_front();
        if pending.is_empty() {
            *pending = VecDeque::new();
            self.free_pending.push(index);
            self.node_mut(id).expansion = Expansion::Finished;
        }
        next
    }

    /// Adds the edge `parent --tactic--> state`; a new node gets the parent's path score plus
    /// `score`.
    pub(super) fn add_state_edge(
        &mut self,
        parent: NodeId,
        tactic: &str,
        score: f64,
        state: S,
        text: &str,
    ) -> Landing {
        let tag = tag_of(text);
        let landing = match self.by_text.probe(tag, text, &self.nodes, &self.texts) {
            Probe::Found(known) => Landing::Known(known),
            Probe::Vacant(slot) => {
                let depth = self.node(parent).depth + 1;
                let path_score = self.node(parent).path_score + score;
                let id = self.push_node(state, text, depth, path_score);
                self.by_text.insert(slot, tag, id, &self.nodes, &self.texts);
                Landing::New(id)
            }
        };
        let (Landing::New(child) | Landing::Known(child)) = landing;
        let edge = self.push_edge(parent, tactic, Target(child.0));
        if let Landing::New(id) = landing {
            self.creating_edge[id.index()] = edge.0;
        }
        // Prepended: the in-edge order only decides the order of the status walks, never
        // their result.
        let first = &mut self.first_parent[child.index()];
        self.edges[edge.index()].next_parent = *first;
        *first = edge.0;
        landing
    }

    /// Adds an edge that closed every goal.
    pub(super) fn add_proved_edge(&mut self, parent: NodeId, tactic: &str) -> EdgeId {
        self.push_edge(parent, tactic, PROVED)
    }

    /// Records nothing for an edge that failed (refused tactic or environment error): a failed
    /// edge leads nowhere, so no walk follows it, no path uses its tactic, and a node whose
    /// recorded edges all failed is dead with or without it (`is_dead`). A quarter or more of
    /// all tactics fail, so this keeps that share of the graph out of memory.
    pub(super) fn add_failed_edge(&mut self, _parent: NodeId, _tactic: &str) {}

    /// Turns a proved edge into a failed one, after its proof was rejected.
    pub(super) fn fail_edge(&mut self, edge: EdgeId) {
        self.edges[edge.index()].target = FAILED;
    }

    pub(super) fn edge_parent(&self, edge: EdgeId) -> NodeId {
        self.edges[edge.index()].parent
    }

    /// The out-edges of `id`, in insertion order.
    fn children(&self, id: NodeId) -> impl Iterator<Item = &Edge> + '_ {
        let first = self.node(id).children.first;
        let mut next = first;
        std::iter::from_fn(move || {
            let edge = self.edges.get(next as usize)?;
            next = edge.next_child;
            Some(edge)
        })
    }

    /// Pushes the parent node of every in-edge of `id` onto the worklist.
    fn push_parents(&self, id: NodeId, worklist: &mut Vec<NodeId>) {
        let mut edge = self.first_parent[id.index()];
        while let Some(e) = self.edges.get(edge as usize) {
            worklist.push(e.parent);
            edge = e.next_parent;
        }
    }

    /// Marks `node` FAILED if its expansion is finished and every outgoing edge failed, and
    /// then re-examines its parents the same way. Returns how many nodes became FAILED.
    pub(super) fn settle_failure(&mut self, node: NodeId) -> usize {
        if !self.is_dead(node) {
            return 0;
        }
        let mut newly_failed = 0;
        let mut worklist = std::mem::take(&mut self.worklist);
        worklist.clear();
        worklist.push(node);
        while let Some(id) = worklist.pop() {
            if !self.is_dead(id) {
                continue;
            }
            self.nodes[id.index()].status = Status::Failed;
            newly_failed += 1;
            self.push_parents(id, &mut worklist);
        }
        self.worklist = worklist;
        newly_failed
    }

    fn is_dead(&self, id: NodeId) -> bool {
        let node = self.node(id);
        node.status == Status::Open
            && node.expansion == Expansion::Finished
            && self.children(id).all(|edge| match edge.target.node() {
                Some(child) => self.node(child).status == Status::Failed,
                None => edge.target == FAILED,
            })
    }

    /// Marks the parent of an accepted proof edge PROVED, and every node above it.
    pub(super) fn mark_proved(&mut self, edge: EdgeId) {
        let mut worklist = std::mem::take(&mut self.worklist);
        worklist.clear();
        worklist.push(self.edge_parent(edge));
        while let Some(id) = worklist.pop() {
            let node = &mut self.nodes[id.index()];
            if node.status == Status::Proved {
                continue;
            }
            node.status = Status::Proved;
            self.push_parents(id, &mut worklist);
        }
        self.worklist = worklist;
    }

    /// The first path that reached `id`, to be read only if a policy asks: building the view
    /// costs nothing, reading it one step per tactic (paths of best-first search run thousands
    /// deep, so reading them at every expansion would cost more than the rest of the search).
    pub(super) fn first_path(&self, id: NodeId) -> PathView<'_> {
        PathView {
            node: id,
            creating_edge: &self.creating_edge,
            edges: &self.edges,
            tactics: &self.tactics,
        }
    }

    /// The shortest known script that ends with the proved edge `last`: a breadth-first walk
    /// from the root to the edge's parent over the edges found so far, then `last`.
    ///
    /// Every edge is a real transition (a known state reached again is the same state by the
    /// `canonical_text` contract), so any path is a valid script; the shortest is the one to
    /// report and replay.
    pub(super) fn proof_ending_with(&self, last: EdgeId) -> Proof {
        let goal = self.edge_parent(last);
        // Per node, the edge the walk first reached it by (`NO_EDGE`: not reached, or the root).
        let mut reached_by = vec![NO_EDGE; self.nodes.len()];
        let mut queue = VecDeque::from([NodeId::ROOT]);
        while let Some(id) = queue.pop_front() {
            if id == goal {
                break;
            }
            let mut edge = self.node(id).children.first;
            while let Some(e) = self.edges.get(edge as usize) {
                if let Some(child) = e.target.node()
                    && child != NodeId::ROOT
                    && reached_by[child.index()] == NO_EDGE
                {
                    reached_by[child.index()] = edge;
                    queue.push_back(child);
                }
                edge = e.next_child;
            }
        }
        let mut path = vec![last];
        let mut at = goal;
        while at != NodeId::ROOT {
            let edge = EdgeId(reached_by[at.index()]);
            path.push(edge);
            at = self.edge_parent(edge);
        }
        path.reverse();
        Proof {
            tactics: path.iter().map(|&e| self.tactic(e).to_owned()).collect(),
            states: path
                .iter()
                .map(|&e| self.text(self.edge_parent(e)).to_owned())
                .collect(),
        }
    }

    fn push_node(&mut self, state: S, text: &str, depth: u32, path_score: f64) -> NodeId {
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id <= MAX_ID)
            .expect("fewer than 2^32 - 2 nodes");
        let text_start = self.texts.len();
        self.texts.push_str(text);
        self.nodes.push(Node {
            state,
            text_start,
            depth,
            path_score,
            status: Status::Open,
            expansion: Expansion::NotStarted,
            children: EdgeList {
                first: NO_EDGE,
                last: NO_EDGE,
            },
        });
        self.first_parent.push(NO_EDGE);
        self.creating_edge.push(NO_EDGE);
        NodeId(id)
    }

    fn push_edge(&mut self, parent: NodeId, tactic: &str, target: Target) -> EdgeId {
        let id = u32::try_from(self.edges.len())
            .ok()
            .filter(|&id| id <= MAX_ID)
            .expect("fewer than 2^32 - 2 edges");
        let tactic_start = self.tactics.len();
        self.tactics.push_str(tactic);
        self.edges.push(Edge {
            tactic_start,
            parent,
            target,
            next_child: NO_EDGE,
            next_parent: NO_EDGE,
        });
        let list = &mut self.nodes[parent.index()].children;
        if list.last == NO_EDGE {
            list.first = id;
        } else {
            self.edges[list.last as usize].next_child = id;
        }
        list.last = id;
        EdgeId(id)
    }
}

/// Edge `index`'s tactic: from its start to the next edge's start (or the arena's end).
fn tactic_of<'a>(edges: &[Edge], tactics: &'a str, index: usize) -> &'a str {
    let end = edges
        .get(index + 1)
        .map_or(tactics.len(), |next| next.tactic_start);
    &tactics[edges[index].tactic_start..end]
}

/// The first path that reached a node, borrowed from the graph without its node type: what a
/// policy's [`FirstPath`](super::FirstPath) reads when it is read.
///
/// A node is created by the first edge that reaches it, from a node that existed before, so
/// following each node's creating edge strictly lowers the node index and ends at the root, one
/// step per tactic of the path.
#[derive(Clone, Copy)]
pub(super) struct PathView<'a> {
    node: NodeId,
    creating_edge: &'a [u32],
    edges: &'a [Edge],
    tactics: &'a str,
}

impl<'a> PathView<'a> {
    /// The path's tactics from the node up: the last one first.
    pub(super) fn leaf_first(self) -> impl Iterator<Item = &'a str> {
        let mut at = self.node;
        std::iter::from_fn(move || {
            if at == NodeId::ROOT {
                return None;
            }
            let edge = self.creating_edge[at.index()] as usize;
            at = self.edges[edge].parent;
            Some(tactic_of(self.edges, self.tactics, edge))
        })
    }
}

/// Node `index`'s text: from its start to the next node's start (or the arena's end).
fn text_of<'a, S>(nodes: &[Node<S>], texts: &'a str, index: usize) -> &'a str {
    let end = nodes
        .get(index + 1)
        .map_or(texts.len(), |next| next.text_start);
    &texts[nodes[index].text_start..end]
}

/// Canonical text → node: open addressing with linear probing.
///
/// A slot holds a 32-bit tag (the upper half of the text's hash), the node, and where the
/// node's text sits in the arena, so a lookup reads one slot and, only when tag and length
/// match, one text; it never touches the node itself. A tag's home slot is given by its top
/// bits, so the table is ordered by tag (up to probing) and doubling it is one sequential pass
/// that needs neither the texts nor their hashes.
#[derive(Debug, Default)]
struct TextIndex {
    /// The length is zero or a power of two.
    slots: Vec<Slot>,
    /// `64 - log2(slots.len())`.
    shift: u32,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The upper 32 bits of the text's hash.
    tag: u32,
    /// The node, or [`EMPTY_SLOT`].
    id: u32,
    /// Where the text starts in the arena, or [`FAR_TEXT`] when that does not fit in 32 bits
    /// (then the node is asked).
    start: u32,
    /// The text's length in bytes, saturated at `u32::MAX` (only a filter).
    len: u32,
}

const EMPTY_SLOT: u32 = u32::MAX;
const FAR_TEXT: u32 = u32::MAX;

impl Slot {
    const EMPTY: Slot = Slot {
        tag: 0,
        id: EMPTY_SLOT,
        start: 0,
        len: 0,
    };

    fn new(tag: u32, id: u32, start: usize, len: usize) -> Slot {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        // The direct read needs `start + len` to fit too.
        let start = u32::try_from(start)
            .ok()
            .filter(|&start| start.checked_add(len).is_some_and(|end| end < FAR_TEXT))
            .unwrap_or(FAR_TEXT);
        Slot {
            tag,
            id,
            start,
            len,
        }
    }
}

/// The index's key for a text: the upper half of its hash.
fn tag_of(text: &str) -> u32 {
    (hash_str(text) >> 32) as u32
}

/// Where a text is, or would go, in the index.
enum Probe {
    Found(NodeId),
    /// Not indexed; this empty slot ends its probe sequence.
    Vacant(usize),
}

impl TextIndex {
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The first slot to look at for `tag`: its top `log2(slots.len())` bits.
    fn home(&self, tag: u32) -> usize {
        ((u64::from(tag) << 32) >> self.shift) as usize
    }

    fn probe<S>(&self, tag: u32, text: &str, nodes: &[Node<S>], texts: &str) -> Probe {
        if self.slots.is_empty() {
            return Probe::Vacant(0);
        }
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        let mask = self.mask();
        let mut at = self.home(tag);
        loop {
            let slot = self.slots[at];
            if slot.id == EMPTY_SLOT {
                return Probe::Vacant(at);
            }
            if slot.tag == tag && slot.len == len {
                let known = if slot.start == FAR_TEXT {
                    text_of(nodes, texts, slot.id as usize).as_bytes()
                } else {
                    let start = slot.start as usize;
                    &texts.as_bytes()[start..start + len as usize]
                };
                if known == text.as_bytes() {
                    return Probe::Found(NodeId(slot.id));
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `id`, the last node, whose text was just probed as `vacant`.
    fn insert<S>(&mut self, vacant: usize, tag: u32, id: NodeId, nodes: &[Node<S>], texts: &str) {
        let start = nodes[id.index()].text_start;
        let slot = Slot::new(tag, id.0, start, texts.len() - start);
        // Keep the load factor at or below 1/2.
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
            self.place(slot);
        } else {
            self.slots[vacant] = slot;
        }
        self.len += 1;
    }

    fn place(&mut self, slot: Slot) {
        let mask = self.mask();
        let mut at = self.home(slot.tag);
        while self.slots[at].id != EMPTY_SLOT {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    /// Doubles the table. Slots are taken in table order, which is tag order apart from
    /// probing, so the new table is written front to back too.
    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; capacity]);
        self.shift = 64 - capacity.trailing_zeros();
        for slot in old {
            if slot.id != EMPTY_SLOT {
                self.place(slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::policy::FirstPath;
    use super::*;

    fn path_of(graph: &Graph<u32>, id: NodeId) -> Vec<&str> {
        FirstPath::in_graph(graph.first_path(id), graph.node(id).depth).to_vec()
    }

    #[test]
    fn the_first_path_follows_creating_edges_whatever_reached_the_node_later() {
        let mut graph = Graph::new(0, "root".to_owned());
        let Landing::New(a) = graph.add_state_edge(NodeId::ROOT, "ta", -1.0, 1, "a") else {
            panic!("a is new");
        };
        let Landing::New(b) = graph.add_state_edge(a, "tb", -1.0, 2, "b") else {
            panic!("b is new");
        };
        // Later edges into `b` (from the root, from itself, from `a` again) change nothing.
        assert_eq!(
            graph.add_state_edge(NodeId::ROOT, "shortcut", 0.0, 2, "b"),
            Landing::Known(b)
        );
        assert_eq!(
            graph.add_state_edge(b, "loop", 0.0, 2, "b"),
            Landing::Known(b)
        );
        assert_eq!(
            graph.add_state_edge(a, "again", 0.0, 2, "b"),
            Landing::Known(b)
        );
        assert_eq!(path_of(&graph, b), ["ta", "tb"]);
        assert_eq!(path_of(&graph, a), ["ta"]);
        assert!(path_of(&graph, NodeId::ROOT).is_empty());
        let view = FirstPath::in_graph(graph.first_path(b), 2);
        assert_eq!(view.len(), 2);
        assert_eq!(view.last(), Some("tb"));
        assert_eq!(view, FirstPath::from(&["ta", "tb"][..]));
        assert_ne!(view, FirstPath::from(&["ta", "shortcut"][..]));
        assert_eq!(format!("{view:?}"), r#"["ta", "tb"]"#);
        assert_eq!(view.into_iter().collect::<Vec<_>>(), ["ta", "tb"]);
    }

    #[test]
    fn a_node_whose_tactics_all_failed_is_dead_though_no_failed_edge_is_kept() {
        let mut graph = Graph::new(0, "root".to_owned());
        let Landing::New(a) = graph.add_state_edge(NodeId::ROOT, "ta", -1.0, 1, "a") else {
            panic!("a is new");
        };
        graph.start_expansion(a, VecDeque::from([Candidate::new("x", 0.0)]));
        assert!(graph.next_candidate(a).is_some());
        graph.add_failed_edge(a, "x");
        graph.start_expansion(NodeId::ROOT, VecDeque::from([Candidate::new("y", 0.0)]));
        assert!(graph.next_candidate(NodeId::ROOT).is_some());
        graph.add_failed_edge(NodeId::ROOT, "y");
        // `a` is dead, and so is the root: its one state edge leads to `a`, its other failed.
        assert_eq!(graph.settle_failure(a), 2);
        assert_eq!(graph.root_status(), Status::Failed);
    }
}
