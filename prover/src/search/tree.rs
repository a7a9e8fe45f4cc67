//! The search graph: one node per distinct state text, edges labelled by tactics, PROVED/FAILED status propagation and shortest-proof extraction.
//!
//! The layout is chosen for a graph that grows by several hundred thousand edges a second and is
//! dropped at the end of every attempt, where cache misses, page faults and allocator calls are
//! what costs, and for a footprint of a few dozen bytes a node besides its text:
//!
//! - state texts and tactics are interned ([`Interner`]): each distinct text is stored once, in
//!   an append-only arena, and named by a dense `u32`; a node's text id is the node id;
//! - the edge that created a node (its first in-edge: every node has exactly one) is stored in
//!   the node's [`Link`] as its parent and tactic; only the other edges are records of their
//!   own: those that reached a known state are 12-byte [`Extra`]s threaded into their target's
//!   in-edge list (their target and their place among the creating edges are rebuilt when a
//!   proof is found), those that closed every goal are [`ProvedEdge`]s;
//! - what a tactic that reaches a known state reads and writes of it (where its text starts,
//!   its [`Word`], the head of its in-edge list) is one 12-byte record, the state index's own
//!   entry for the text ([`NodeMeta`]), so such a lookup costs three cache misses (index slot,
//!   record, text) where separate arrays cost five;
//! - the per-node and per-edge arrays are [`Chunked`], so they hold no doubling slack;
//! - a node keeps a count of its out-edges that have not failed instead of a list of them, so
//!   "every tactic of this node failed" is one comparison; out-edges in insertion order, which
//!   only the shortest-proof walk needs, are rebuilt from the links and the extras when a proof
//!   is found;
//! - the tactics still to run live in a side table, for the few nodes whose expansion is under
//!   way, not in every node.

use std::collections::VecDeque;

use super::chunked::Chunked;
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

/// An edge that closed every goal (an index into the graph's proved edges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EdgeId(u32);

impl EdgeId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// Ids at or above this are sentinels (no edge, an empty slot, a proved or failed target).
const MAX_ID: u32 = u32::MAX - 2;

/// No node, no edge, no text: the end of a list, an empty slot.
const NONE: u32 = u32::MAX;

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
    /// The policy was asked; the tactics still to run are in the graph's pending table. A node
    /// stays here after its expansion stopped early (a proof was found, or a budget ran out),
    /// so it can resume without asking the policy again.
    Pending,
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

/// What the search reads of a node. (Its path score and depth, needed only while it is open,
/// are in the frontier: [`Open`](super::frontier::Open).)
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeView {
    pub(super) status: Status,
    pub(super) expansion: Expansion,
}

/// A node's status (bits 0–1), expansion (bits 2–3) and count of out-edges that have not
/// failed (bits 4–31). The count saturates: a node with 2²⁸ − 1 live out-edges is never FAILED,
/// which only forgoes an early stop, never claims a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word(u32);

impl Word {
    const NEW: Word = Word(0);
    const LIVE_UNIT: u32 = 1 << 4;
    const LIVE_MAX: u32 = u32::MAX >> 4;

    fn status(self) -> Status {
        match self.0 & 3 {
            0 => Status::Open,
            1 => Status::Proved,
            _ => Status::Failed,
        }
    }

    fn with_status(self, status: Status) -> Word {
        let bits = match status {
            Status::Open => 0,
            Status::Proved => 1,
            Status::Failed => 2,
        };
        Word((self.0 & !3) | bits)
    }

    fn expansion(self) -> Expansion {
        match (self.0 >> 2) & 3 {
            0 => Expansion::NotStarted,
            1 => Expansion::Pending,
            2 => Expansion::Finished,
            _ => Expansion::Abandoned,
        }
    }

    fn with_expansion(self, expansion: Expansion) -> Word {
        let bits = match expansion {
            Expansion::NotStarted => 0,
            Expansion::Pending => 1,
            Expansion::Finished => 2,
            Expansion::Abandoned => 3,
        };
        Word((self.0 & !(3 << 2)) | (bits << 2))
    }

    fn live_edges(self) -> u32 {
        self.0 >> 4
    }

    fn with_live_edge(self) -> Word {
        if self.live_edges() == Self::LIVE_MAX {
            self
        } else {
            Word(self.0 + Self::LIVE_UNIT)
        }
    }

    fn without_live_edge(self) -> Word {
        match self.live_edges() {
            0 | Self::LIVE_MAX => self,
            _ => Word(self.0 - Self::LIVE_UNIT),
        }
    }
}

/// A node's creating edge: its parent and tactic, [`NONE`] for the root. Read only along
/// first paths and proofs.
#[derive(Debug, Clone, Copy)]
struct Link {
    parent: u32,
    tactic: u32,
}

/// What the search reads and writes of a node at every edge into it and every selection: its
/// [`Word`] and the head of the list of its other in-edges (extras, linked through
/// `Extra::next_in`). Kept in the state index's entry for the node's text, beside where that
/// text starts.
#[derive(Debug, Clone, Copy)]
struct NodeMeta {
    word: Word,
    extra_in: u32,
}

impl NodeMeta {
    const NEW: NodeMeta = NodeMeta {
        word: Word::NEW,
        extra_in: NONE,
    };
}

/// An edge to a known state (not its creating edge), 12 bytes. Its target is the node whose
/// in-edge list holds it, which only the shortest-proof walk needs and rebuilds; where it comes
/// among the creating edges is in the graph's [`CreationOrder`].
#[derive(Debug, Clone, Copy)]
struct Extra {
    tactic: u32,
    parent: u32,
    /// The next in-edge of the target node.
    next_in: u32,
}

/// An edge that closed every goal. A tactic that was refused, or on which the environment
/// failed, gets no edge (`Graph::add_failed_edge`).
#[derive(Debug, Clone, Copy)]
struct ProvedEdge {
    tactic: u32,
    parent: u32,
    /// The proof through it was rejected.
    failed: bool,
}

/// The order in which nodes (after the root) and extras were added, one bit each (1 for a
/// node): what fixes a node's out-edge order for the shortest-proof walk, kept at an eighth
/// of a byte per edge instead of a count in every extra.
#[derive(Debug, Default)]
struct CreationOrder {
    words: Vec<u64>,
    len: usize,
}

impl CreationOrder {
    fn push(&mut self, node: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        if node {
            let last = self.words.len() - 1;
            self.words[last] |= 1 << (self.len % 64);
        }
        self.len += 1;
    }

    /// For each extra in order, how many nodes existed when it was added: it comes after the
    /// creating edges of the nodes below that and before the others.
    fn nodes_before_extras(&self) -> Vec<u32> {
        let mut nodes = 1u32;
        let mut out = Vec::new();
        for at in 0..self.len {
            if self.words[at / 64] >> (at % 64) & 1 == 1 {
                nodes += 1;
            } else {
                out.push(nodes);
            }
        }
        out
    }
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
    states: Chunked<S>,
    links: Chunked<Link>,
    /// Every node's canonical text and [`NodeMeta`]; a node's text id is its node id.
    texts: Interner<NodeMeta>,
    tactics: Interner<()>,
    extras: Chunked<Extra>,
    proved: Vec<ProvedEdge>,
    order: CreationOrder,
    /// The tactics still to run of each `Expansion::Pending` node: the node being expanded and
    /// the few whose expansion stopped at a proof, so a list searched from its end.
    pending: Vec<(u32, VecDeque<Candidate>)>,
    /// Scratch space for the status walks, kept to avoid an allocation per expansion.
    worklist: Vec<NodeId>,
}

impl<S> Graph<S> {
    pub(super) fn new(root: S, root_text: String) -> Self {
        let mut graph = Graph {
            states: Chunked::default(),
            links: Chunked::default(),
            texts: Interner::default(),
            tactics: Interner::default(),
            extras: Chunked::default(),
            proved: Vec::new(),
            order: CreationOrder::default(),
            pending: Vec::new(),
            worklist: Vec::new(),
        };
        let tag = tag_of(&root_text);
        let Probe::Vacant(slot) = graph.texts.probe(tag, &root_text) else {
            unreachable!("an empty graph knows no text");
        };
        graph.push_node(
            root,
            Link {
                parent: NONE,
                tactic: NONE,
            },
            slot,
            tag,
            &root_text,
        );
        graph
    }

    pub(super) fn node(&self, id: NodeId) -> NodeView {
        let word = self.texts.meta(id.index()).word;
        NodeView {
            status: word.status(),
            expansion: word.expansion(),
        }
    }

    pub(super) fn state(&self, id: NodeId) -> &S {
        &self.states[id.index()]
    }

    fn word(&mut self, id: u32) -> &mut Word {
        &mut self.texts.meta_mut(id as usize).word
    }

    fn set_expansion(&mut self, id: NodeId, expansion: Expansion) {
        let word = self.word(id.0);
        *word = word.with_expansion(expansion);
    }

    /// Marks a node whose policy failed: never expanded again, never FAILED.
    pub(super) fn abandon(&mut self, id: NodeId) {
        self.set_expansion(id, Expansion::Abandoned);
    }

    /// The canonical text of a node's state.
    #[inline]
    pub(super) fn text(&self, id: NodeId) -> &str {
        self.texts.get(id.index())
    }

    pub(super) fn node_count(&self) -> usize {
        self.texts.len()
    }

    pub(super) fn root_status(&self) -> Status {
        self.texts.meta(0).word.status()
    }

    /// Stores the tactics a node's expansion is to run, and marks it pending.
    pub(super) fn start_expansion(&mut self, id: NodeId, tactics: VecDeque<Candidate>) {
        self.pending.push((id.0, tactics));
        self.set_expansion(id, Expansion::Pending);
    }

    /// The tactics a pending node's expansion has still to run, in order.
    pub(super) fn pending_tactics(&self, id: NodeId) -> Option<&VecDeque<Candidate>> {
        let at = self.pending_index(id)?;
        Some(&self.pending[at].1)
    }

    fn pending_index(&self, id: NodeId) -> Option<usize> {
        self.pending.iter().rposition(|(node, _)| *node == id.0)
    }

    /// Takes a pending node's next tactic; marks the expansion finished when it was the last.
    pub(super) fn next_candidate(&mut self, id: NodeId) -> Option<Candidate> {
        let at = self.pending_index(id)?;
        let pending = &mut self.pending[at].1;
        let next = pending.pop_front();
        if pending.is_empty() {
            self.pending.swap_remove(at);
            self.set_expansion(id, Expansion::Finished);
        }
        next
    }

    /// Adds the edge `parent --tactic--> state`.
    #[cfg(test)]
    pub(super) fn add_state_edge(
        &mut self,
        parent: NodeId,
        tactic: &str,
        state: S,
        text: &str,
    ) -> Landing {
        self.add_tagged_state_edge(parent, tactic, state, text, state_tag(text))
    }

    /// Reads into the cache, side by side, what adding states with these tags will read: each
    /// one's index slot and, where the slot's tag matches, the start of the text it names. An
    /// expansion's new states are looked up one after another, each a few cache misses in
    /// tables far larger than the cache; issued together, those misses overlap.
    pub(super) fn warm_up(&self, tags: impl Iterator<Item = u32>) {
        let texts = &self.texts;
        if texts.slots.is_empty() {
            return;
        }
        let mut seen = 0u32;
        for tag in tags {
            let slot = texts.slots[texts.home(tag)];
            if slot.tag == tag {
                seen ^= texts.touch(slot.id as usize);
            }
            seen ^= slot.id;
        }
        // Only the loads matter: keep the compiler from dropping them.
        std::hint::black_box(seen);
    }

    /// Reads into the cache what selecting and expanding `id` reads first (its record and the
    /// start of its text), so that those misses overlap with whatever comes before: the
    /// frontier's own walk when `id` is the node it is about to pop.
    pub(super) fn warm_node(&self, id: NodeId) {
        std::hint::black_box(self.texts.touch(id.index()));
    }

    /// Adds the edge `parent --tactic--> state`, whose canonical text `text` has the index
    /// tag `tag` ([`state_tag`]).
    pub(super) fn add_tagged_state_edge(
        &mut self,
        parent: NodeId,
        tactic: &str,
        state: S,
        text: &str,
        tag: u32,
    ) -> Landing {
        match self.texts.probe(tag, text) {
            Probe::Found(known) => {
                let id = u32::try_from(self.extras.len())
                    .ok()
                    .filter(|&id| id <= MAX_ID)
                    .expect("fewer than 2^32 - 2 edges");
                let tactic = self.tactics.intern(tactic);
                // Prepended: the in-edge order only decides the order of the status walks,
                // never their result.
                let meta = self.texts.meta_mut(known as usize);
                let next_in = std::mem::replace(&mut meta.extra_in, id);
                let known_failed = meta.word.status() == Status::Failed;
                self.extras.push(Extra {
                    tactic,
                    parent: parent.0,
                    next_in,
                });
                self.order.push(false);
                if !known_failed {
                    let word = self.word(parent.0);
                    *word = word.with_live_edge();
                }
                Landing::Known(NodeId(known))
            }
            Probe::Vacant(slot) => {
                let tactic = self.tactics.intern(tactic);
                let id = self.push_node(
                    state,
                    Link {
                        parent: parent.0,
                        tactic,
                    },
                    slot,
                    tag,
                    text,
                );
                self.order.push(true);
                let word = self.word(parent.0);
                *word = word.with_live_edge();
                Landing::New(id)
            }
        }
    }

    /// Adds an edge that closed every goal.
    pub(super) fn add_proved_edge(&mut self, parent: NodeId, tactic: &str) -> EdgeId {
        let word = self.word(parent.0);
        *word = word.with_live_edge();
        let id = u32::try_from(self.proved.len())
            .ok()
            .filter(|&id| id <= MAX_ID)
            .expect("fewer than 2^32 - 2 edges");
        let tactic = self.tactics.intern(tactic);
        self.proved.push(ProvedEdge {
            tactic,
            parent: parent.0,
            failed: false,
        });
        EdgeId(id)
    }

    /// Records nothing for an edge that failed (refused tactic or environment error): a failed
    /// edge leads nowhere, so no walk follows it, no path uses its tactic, and a node whose
    /// recorded edges all failed is dead with or without it (`is_dead`). A quarter or more of
    /// all tactics fail, so this keeps that share of the graph out of memory.
    pub(super) fn add_failed_edge(&mut self, _parent: NodeId, _tactic: &str) {}

    /// Turns a proved edge into a failed one, after its proof was rejected.
    pub(super) fn fail_edge(&mut self, edge: EdgeId) {
        let proved = &mut self.proved[edge.index()];
        if !proved.failed {
            proved.failed = true;
            let parent = proved.parent;
            let word = self.word(parent);
            *word = word.without_live_edge();
        }
    }

    pub(super) fn edge_parent(&self, edge: EdgeId) -> NodeId {
        NodeId(self.proved[edge.index()].parent)
    }

    /// Pushes the parent node of every in-edge of `id` onto the worklist; with `lose_edge`, each
    /// of those parents first loses the live out-edge that edge was (`id` just FAILED).
    fn push_parents(&mut self, id: NodeId, worklist: &mut Vec<NodeId>, lose_edge: bool) {
        let mut parent = self.links[id.index()].parent;
        let mut next = self.texts.meta(id.index()).extra_in;
        while parent != NONE {
            if lose_edge {
                let word = self.word(parent);
                *word = word.without_live_edge();
            }
            worklist.push(NodeId(parent));
            (parent, next) = match self.extras.get(next as usize) {
                Some(extra) => (extra.parent, extra.next_in),
                None => (NONE, NONE),
            };
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
            let word = self.word(id.0);
            *word = word.with_status(Status::Failed);
            newly_failed += 1;
            self.push_parents(id, &mut worklist, true);
        }
        self.worklist = worklist;
        newly_failed
    }

    fn is_dead(&self, id: NodeId) -> bool {
        let word = self.texts.meta(id.index()).word;
        word.status() == Status::Open
            && word.expansion() == Expansion::Finished
            && word.live_edges() == 0
    }

    /// Marks the parent of an accepted proof edge PROVED, and every node above it.
    pub(super) fn mark_proved(&mut self, edge: EdgeId) {
        let mut worklist = std::mem::take(&mut self.worklist);
        worklist.clear();
        worklist.push(self.edge_parent(edge));
        while let Some(id) = worklist.pop() {
            let word = self.word(id.0);
            if word.status() == Status::Proved {
                continue;
            }
            *word = word.with_status(Status::Proved);
            self.push_parents(id, &mut worklist, false);
        }
        self.worklist = worklist;
    }

    /// The first path that reached `id`, to be read only if a policy asks: building the view
    /// costs nothing, reading it one step per tactic (paths of best-first search run thousands
    /// deep, so reading them at every expansion would cost more than the rest of the search).
    pub(super) fn first_path(&self, id: NodeId) -> PathView<'_> {
        PathView {
            node: id,
            links: &self.links,
            tactics: &self.tactics,
        }
    }

    /// The shortest known script that ends with the proved edge `last`: a breadth-first walk
    /// from the root to the edge's parent over the edges found so far, each node's out-edges in
    /// the order they were added, then `last`.
    ///
    /// Every edge is a real transition (a known state reached again is the same state by the
    /// `canonical_text` contract), so any path is a valid script; the shortest is the one to
    /// report and replay.
    pub(super) fn proof_ending_with(&self, last: EdgeId) -> Proof {
        let goal = self.edge_parent(last);
        let out = OutEdges::new(&self.links, &self.texts, &self.extras, &self.order);
        // Per node, how the walk first reached it: `NONE` (not reached, or the root), `CREATED`
        // (its creating edge) or an extra's index.
        const CREATED: u32 = NONE - 1;
        let mut reached_by = vec![NONE; self.node_count()];
        let mut queue = VecDeque::from([NodeId::ROOT]);
        while let Some(id) = queue.pop_front() {
            if id == goal {
                break;
            }
            out.for_each(id.0, |child, via| {
                if child != NodeId::ROOT.0 && reached_by[child as usize] == NONE {
                    reached_by[child as usize] = via.unwrap_or(CREATED);
                    queue.push_back(NodeId(child));
                }
            });
        }
        let last = self.proved[last.index()];
        let mut steps = vec![(last.tactic, last.parent)];
        let mut at = goal.0;
        while at != NodeId::ROOT.0 {
            let (tactic, parent) = match reached_by[at as usize] {
                CREATED => {
                    let link = self.links[at as usize];
                    (link.tactic, link.parent)
                }
                // Every node is reached from the root through creating edges, so the walk
                // reaches the goal; this only guards the loop.
                NONE => break,
                extra => {
                    let extra = self.extras[extra as usize];
                    (extra.tactic, extra.parent)
                }
            };
            steps.push((tactic, parent));
            at = parent;
        }
        steps.reverse();
        Proof {
            tactics: steps
                .iter()
                .map(|&(tactic, _)| self.tactics.get(tactic as usize).to_owned())
                .collect(),
            states: steps
                .iter()
                .map(|&(_, parent)| self.texts.get(parent as usize).to_owned())
                .collect(),
        }
    }

    /// Adds a node for `text`, just probed as `vacant` with tag `tag`.
    fn push_node(&mut self, state: S, link: Link, vacant: usize, tag: u32, text: &str) -> NodeId {
        let id = self.texts.insert(vacant, tag, text, NodeMeta::NEW);
        self.states.push(state);
        self.links.push(link);
        NodeId(id)
    }
}

/// Every node's out-edges to nodes in the order they were added, rebuilt from the links, the
/// extras and the creation order for one shortest-proof walk: per node, its created children
/// (by id, which is the order their creating edges were added) and its extras (by index),
/// merged by how many nodes existed when each extra was added.
struct OutEdges {
    /// Node `p`'s created children are `children[child_start[p]..child_start[p + 1]]`.
    child_start: Vec<u32>,
    children: Vec<u32>,
    /// Node `p`'s extras are `extra_list[extra_start[p]..extra_start[p + 1]]`.
    extra_start: Vec<u32>,
    extra_list: Vec<u32>,
    /// Per extra, its target and how many nodes existed when it was added.
    extra_target: Vec<u32>,
    extra_nodes_before: Vec<u32>,
}

impl OutEdges {
    fn new(
        links: &Chunked<Link>,
        texts: &Interner<NodeMeta>,
        extras: &Chunked<Extra>,
        order: &CreationOrder,
    ) -> OutEdges {
        let (child_start, children) = group_by_parent(
            links.len(),
            links
                .iter()
                .enumerate()
                .filter(|(_, link)| link.parent != NONE)
                .map(|(id, link)| (link.parent, id as u32)),
        );
        let mut extra_target = vec![NONE; extras.len()];
        for (node, meta) in texts.metas().enumerate() {
            let mut next = meta.extra_in;
            while let Some(extra) = extras.get(next as usize) {
                extra_target[next as usize] = node as u32;
                next = extra.next_in;
            }
        }
        let (extra_start, extra_list) = group_by_parent(
            links.len(),
            extras
                .iter()
                .enumerate()
                .map(|(index, extra)| (extra.parent, index as u32)),
        );
        OutEdges {
            child_start,
            children,
            extra_start,
            extra_list,
            extra_target,
            extra_nodes_before: order.nodes_before_extras(),
        }
    }

    /// Calls `visit(child, via)` for each out-edge of `node` that leads to a node, in order:
    /// `via` is `None` for a creating edge, the extra's index otherwise.
    fn for_each(&self, node: u32, mut visit: impl FnMut(u32, Option<u32>)) {
        let node = node as usize;
        let children =
            &self.children[self.child_start[node] as usize..self.child_start[node + 1] as usize];
        let own =
            &self.extra_list[self.extra_start[node] as usize..self.extra_start[node + 1] as usize];
        let (mut c, mut e) = (0, 0);
        loop {
            let take_child = match (children.get(c), own.get(e)) {
                (Some(&child), Some(&extra)) => child < self.extra_nodes_before[extra as usize],
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_child {
                visit(children[c], None);
                c += 1;
            } else {
                let extra = own[e];
                visit(self.extra_target[extra as usize], Some(extra));
                e += 1;
            }
        }
    }
}

/// `(parent, item)` pairs grouped by parent, each group in the pairs' order: a counting sort
/// into `starts` (length `nodes + 1`) and the items.
fn group_by_parent(
    nodes: usize,
    pairs: impl Iterator<Item = (u32, u32)> + Clone,
) -> (Vec<u32>, Vec<u32>) {
    let mut starts = vec![0u32; nodes + 1];
    for (parent, _) in pairs.clone() {
        starts[parent as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut cursor = starts.clone();
    let mut items = vec![0u32; starts[nodes] as usize];
    for (parent, item) in pairs {
        let at = &mut cursor[parent as usize];
        items[*at as usize] = item;
        *at += 1;
    }
    (starts, items)
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
    links: &'a Chunked<Link>,
    tactics: &'a Interner<()>,
}

impl<'a> PathView<'a> {
    /// The path's tactics from the node up: the last one first.
    pub(super) fn leaf_first(self) -> impl Iterator<Item = &'a str> {
        let mut at = self.node;
        std::iter::from_fn(move || {
            if at == NodeId::ROOT {
                return None;
            }
            let link = self.links[at.index()];
            at = NodeId(link.parent);
            Some(self.tactics.get(link.tactic as usize))
        })
    }
}

/// Distinct texts, each stored once in one arena and named by a dense `u32` in the order they
/// were first seen.
///
/// Text `i` runs from its start to the next text's start (or the arena's end). Starts are kept
/// as their low 32 bits; since they only grow, the high bits of text `i`'s start are the number
/// of entries of `wraps` at or below `i` (one entry each time the low bits wrapped), which is
/// empty below 4 GiB of text.
///
/// The index is open addressing with linear probing over 8-byte slots: a 32-bit tag (the upper
/// half of the text's hash) and the id, so a lookup reads one slot and, only when the tag
/// matches, the text's bounds and the text itself. A tag's home slot is
/// `tag · capacity / 2³²`, so the table is ordered by tag (up to probing), any capacity works
/// (it grows by half, not by doubling), and growing it is one sequential pass that needs
/// neither the texts nor their hashes.
///
/// The arena grows by a quarter, not by doubling, so its spare capacity stays under a fifth
/// of the text it holds.
///
/// Each text's entry carries a value `M` of the owner's beside its start (the graph's
/// [`NodeMeta`] for state texts, nothing for tactics): what is read once a lookup has found a
/// text is then on the cache line the lookup has just read.
#[derive(Debug)]
struct Interner<M> {
    arena: String,
    entries: Chunked<Entry<M>>,
    wraps: Vec<u32>,
    slots: Vec<Slot>,
}

impl<M> Default for Interner<M> {
    fn default() -> Self {
        Interner {
            arena: String::new(),
            entries: Chunked::default(),
            wraps: Vec::new(),
            slots: Vec::new(),
        }
    }
}

/// A text's place in the arena (the low 32 bits of its start) and its owner's value.
#[derive(Debug, Clone, Copy)]
struct Entry<M> {
    start: u32,
    meta: M,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The upper 32 bits of the text's hash.
    tag: u32,
    /// The text's id, or [`NONE`].
    id: u32,
}

impl Slot {
    const EMPTY: Slot = Slot { tag: 0, id: NONE };

    /// Whether the slot holds `text`, reading the text only where the tag matches.
    #[inline]
    fn holds<M>(self, tag: u32, text: &str, interner: &Interner<M>) -> bool {
        self.tag == tag && same_bytes(interner.bytes(self.id as usize), text.as_bytes())
    }
}

/// `a == b`, without a `memcmp` call for up to 16 bytes (tactics, short goals: every lookup of
/// a known tactic or state ends in one comparison, where the call cost more than comparing).
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    // Two overlapping words cover every byte.
    match len {
        0 => true,
        1..=3 => a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1],
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, len - 4) == word4(b, len - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, len - 8) == word8(b, len - 8),
        _ => a == b,
    }
}

#[inline]
fn word4(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

#[inline]
fn word8(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The index's key for a text: the upper half of its hash.
#[inline]
fn tag_of(text: &str) -> u32 {
    (hash_str(text) >> 32) as u32
}

/// The state index's key for a canonical text, for [`Graph::add_tagged_state_edge`].
#[inline]
pub(super) fn state_tag(text: &str) -> u32 {
    tag_of(text)
}

/// Where a text is, or would go, in the index.
enum Probe {
    Found(u32),
    /// Not indexed; this empty slot ends its probe sequence.
    Vacant(usize),
}

impl Interner<()> {
    /// The id of `text`, added if it is new.
    fn intern(&mut self, text: &str) -> u32 {
        let tag = tag_of(text);
        match self.probe(tag, text) {
            Probe::Found(id) => id,
            Probe::Vacant(slot) => self.insert(slot, tag, text, ()),
        }
    }
}

impl<M> Interner<M> {
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// Text `id`'s value. Panics for an id never given out.
    #[inline]
    fn meta(&self, id: usize) -> &M {
        &self.entries[id].meta
    }

    #[inline]
    fn meta_mut(&mut self, id: usize) -> &mut M {
        &mut self.entries[id].meta
    }

    /// Every text's value, in id order.
    fn metas(&self) -> impl Iterator<Item = &M> {
        self.entries.iter().map(|entry| &entry.meta)
    }

    /// Loads text `id`'s entry and its first byte, for [`Graph::warm_up`]: a value to be
    /// black-boxed, nothing else (0 for an id never given out).
    #[inline]
    fn touch(&self, id: usize) -> u32 {
        let Some(entry) = self.entries.get(id) else {
            return 0;
        };
        let first = self.arena.as_bytes().get(entry.start as usize).copied();
        entry.start ^ u32::from(first.unwrap_or_default())
    }

    /// Where text `id` starts in the arena, given the low bits `low` of that start.
    #[inline]
    fn wide_start(&self, id: usize, low: u32) -> usize {
        if self.wraps.is_empty() {
            return low as usize;
        }
        let high = self.wraps.partition_point(|&wrap| wrap as usize <= id) as u64;
        ((high << 32) | u64::from(low)) as usize
    }

    /// Text `id`'s bytes ("" for an id never given out). Nothing here can panic, so when the
    /// text is not used (an event no hook reads), the compiler drops the whole lookup.
    #[inline]
    fn bytes(&self, id: usize) -> &[u8] {
        let Some(low) = self.entries.get(id).map(|entry| entry.start) else {
            return &[];
        };
        let start = self.wide_start(id, low);
        let end = match self.entries.get(id + 1) {
            Some(next) => self.wide_start(id + 1, next.start),
            None => self.arena.len(),
        };
        self.arena.as_bytes().get(start..end).unwrap_or_default()
    }

    /// Text `id`.
    #[inline]
    fn get(&self, id: usize) -> &str {
        let Some(low) = self.entries.get(id).map(|entry| entry.start) else {
            return "";
        };
        let start = self.wide_start(id, low);
        let end = match self.entries.get(id + 1) {
            Some(next) => self.wide_start(id + 1, next.start),
            None => self.arena.len(),
        };
        self.arena.get(start..end).unwrap_or_default()
    }

    #[inline]
    fn home(&self, tag: u32) -> usize {
        ((u64::from(tag) * self.slots.len() as u64) >> 32) as usize
    }

    #[inline]
    fn probe(&self, tag: u32, text: &str) -> Probe {
        if self.slots.is_empty() {
            return Probe::Vacant(0);
        }
        let mut at = self.home(tag);
        loop {
            let slot = self.slots[at];
            if slot.id == NONE {
                return Probe::Vacant(at);
            }
            if slot.holds(tag, text, self) {
                return Probe::Found(slot.id);
            }
            at += 1;
            if at == self.slots.len() {
                at = 0;
            }
        }
    }

    /// Adds `text`, just probed as `vacant`, under the next id, with the value `meta`.
    fn insert(&mut self, vacant: usize, tag: u32, text: &str, meta: M) -> u32 {
        let id = u32::try_from(self.len())
            .ok()
            .filter(|&id| id <= MAX_ID)
            .expect("fewer than 2^32 - 2 texts");
        let start = self.arena.len() as u64;
        while (self.wraps.len() as u64) < start >> 32 {
            self.wraps.push(id);
        }
        self.entries.push(Entry {
            start: start as u32,
            meta,
        });
        if self.arena.capacity() - self.arena.len() < text.len() {
            self.arena
                .reserve_exact(text.len().max(self.arena.len() / 4).max(1024));
        }
        self.arena.push_str(text);
        let slot = Slot { tag, id };
        // Keep the load factor at or below 3/4.
        if self.len() * 4 > self.slots.len() * 3 {
            self.grow();
            self.place(slot);
        } else {
            self.slots[vacant] = slot;
        }
        id
    }

    fn place(&mut self, slot: Slot) {
        let mut at = self.home(slot.tag);
        while self.slots[at].id != NONE {
            at += 1;
            if at == self.slots.len() {
                at = 0;
            }
        }
        self.slots[at] = slot;
    }

    /// Grows the table by half. Slots are taken in table order, which is tag order apart from
    /// probing, so the new table is written front to back too.
    fn grow(&mut self) {
        let capacity = (self.slots.len() + self.slots.len() / 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; capacity]);
        for slot in old {
            if slot.id != NONE {
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
        let depth = graph.first_path(id).leaf_first().count() as u32;
        FirstPath::in_graph(graph.first_path(id), depth).to_vec()
    }

    #[test]
    fn the_first_path_follows_creating_edges_whatever_reached_the_node_later() {
        let mut graph = Graph::new(0, "root".to_owned());
        let Landing::New(a) = graph.add_state_edge(NodeId::ROOT, "ta", 1, "a") else {
            panic!("a is new");
        };
        let Landing::New(b) = graph.add_state_edge(a, "tb", 2, "b") else {
            panic!("b is new");
        };
        // Later edges into `b` (from the root, from itself, from `a` again) change nothing.
        assert_eq!(
            graph.add_state_edge(NodeId::ROOT, "shortcut", 2, "b"),
            Landing::Known(b)
        );
        assert_eq!(graph.add_state_edge(b, "loop", 2, "b"), Landing::Known(b));
        assert_eq!(graph.add_state_edge(a, "again", 2, "b"), Landing::Known(b));
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
        let Landing::New(a) = graph.add_state_edge(NodeId::ROOT, "ta", 1, "a") else {
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

    #[test]
    fn the_interner_stores_each_text_once_under_dense_ids_across_growth() {
        let mut interner = Interner::<()>::default();
        let texts: Vec<String> = (0..5000).map(|i| format!("⊢ goal_{}", i % 3000)).collect();
        let ids: Vec<u32> = texts.iter().map(|t| interner.intern(t)).collect();
        assert_eq!(interner.len(), 3000);
        for (text, &id) in texts.iter().zip(&ids) {
            assert_eq!(interner.get(id as usize), text);
            assert_eq!(interner.intern(text), id);
        }
        assert_eq!(ids[..3000], (0..3000).collect::<Vec<u32>>()[..]);
        assert_eq!(
            interner.arena.len(),
            texts[..3000].iter().map(String::len).sum::<usize>()
        );
        assert_eq!(interner.intern(""), 3000);
        assert_eq!(interner.get(3000), "");
    }

    #[test]
    fn short_texts_compare_as_slices_do() {
        let texts: Vec<Vec<u8>> = (0..=18)
            .flat_map(|len| {
                let base: Vec<u8> = (0..len as u8).map(|b| b'a' + b).collect();
                // The text itself and, for each position, the text with that byte changed.
                let mut variants = vec![base.clone()];
                for at in 0..len {
                    let mut changed = base.clone();
                    changed[at] ^= 0x20;
                    variants.push(changed);
                }
                variants
            })
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn an_edge_to_a_failed_state_counts_as_failed_and_a_rejected_proof_fails_its_node() {
        let mut graph = Graph::new(0, "root".to_owned());
        let Landing::New(a) = graph.add_state_edge(NodeId::ROOT, "ta", 1, "a") else {
            panic!("a is new");
        };
        graph.start_expansion(a, VecDeque::from([Candidate::new("x", 0.0)]));
        assert!(graph.next_candidate(a).is_some());
        assert_eq!(graph.settle_failure(a), 1);
        assert_eq!(graph.node(a).status, Status::Failed);
        // The root reaches the failed `a` again and closes its goals with a proof the checker
        // then refuses: both its edges have failed, so it is dead too.
        graph.start_expansion(
            NodeId::ROOT,
            VecDeque::from([Candidate::new("again", 0.0), Candidate::new("done", 0.0)]),
        );
        assert!(graph.next_candidate(NodeId::ROOT).is_some());
        assert_eq!(
            graph.add_state_edge(NodeId::ROOT, "again", 1, "a"),
            Landing::Known(a)
        );
        assert!(graph.next_candidate(NodeId::ROOT).is_some());
        let proved = graph.add_proved_edge(NodeId::ROOT, "done");
        assert_eq!(
            graph.settle_failure(NodeId::ROOT),
            0,
            "the proved edge is live"
        );
        graph.fail_edge(proved);
        assert_eq!(graph.settle_failure(NodeId::ROOT), 1);
        assert_eq!(graph.root_status(), Status::Failed);
    }

    #[test]
    fn the_proof_walk_takes_out_edges_in_the_order_they_were_added() {
        // root -t1-> a (new), root -t2-> b (new), a -t3-> b (known), b -t4-> c (new);
        // then root -t5-> c (known): the shortest path to c is root -t5-> c, found because
        // the walk follows root's extra edge after its creating edges.
        let mut graph = Graph::new(0, "root".to_owned());
        let Landing::New(a) = graph.add_state_edge(NodeId::ROOT, "t1", 1, "a") else {
            panic!("a is new");
        };
        let Landing::New(b) = graph.add_state_edge(NodeId::ROOT, "t2", 2, "b") else {
            panic!("b is new");
        };
        graph.add_state_edge(a, "t3", 2, "b");
        let Landing::New(c) = graph.add_state_edge(b, "t4", 3, "c") else {
            panic!("c is new");
        };
        graph.add_state_edge(NodeId::ROOT, "t5", 3, "c");
        let last = graph.add_proved_edge(c, "qed");
        let proof = graph.proof_ending_with(last);
        assert_eq!(proof.tactics, ["t5", "qed"]);
        assert_eq!(proof.states, ["root", "c"]);
        // Through `b`, whose creating edge comes before `a`'s extra edge into it.
        let last = graph.add_proved_edge(b, "qed");
        assert_eq!(graph.proof_ending_with(last).tactics, ["t2", "qed"]);
    }
}
