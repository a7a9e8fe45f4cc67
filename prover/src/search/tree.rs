//! The search graph: one node per distinct state text, edges labelled by tactics, PROVED/FAILED status propagation and shortest-proof extraction.

use std::collections::{HashMap, VecDeque};

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
#[derive(Debug)]
pub(super) enum Expansion {
    NotStarted,
    /// The policy was asked; these tactics are still to run. A node stays here after its
    /// expansion stopped early (a proof was found, or a budget ran out), so it can resume
    /// without asking the policy again.
    Pending(VecDeque<Candidate>),
    /// Every pending tactic ran.
    Finished,
    /// The policy failed on this node. It is never expanded again, but it is not FAILED either:
    /// nothing shows that it has no proof, so it must not make its parents FAILED.
    Abandoned,
}

impl Expansion {
    /// Whether selecting the node would do anything.
    pub(super) fn is_over(&self) -> bool {
        matches!(self, Expansion::Finished | Expansion::Abandoned)
    }
}

/// Where an edge leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Node(NodeId),
    /// The tactic closed all goals (and the proof has not been rejected).
    Proved,
    /// The tactic was refused, the environment failed, or the proof through it was rejected.
    Failed,
}

#[derive(Debug)]
pub(super) struct Node<S> {
    pub(super) state: S,
    pub(super) text: String,
    pub(super) depth: u32,
    /// Σ of tactic scores along the first path that reached this state.
    pub(super) path_score: f64,
    pub(super) priority: f64,
    pub(super) status: Status,
    pub(super) expansion: Expansion,
    children: Vec<EdgeId>,
    parents: Vec<EdgeId>,
}

#[derive(Debug)]
struct Edge {
    parent: NodeId,
    tactic: String,
    target: Target,
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
    by_text: HashMap<String, NodeId>,
}

impl<S> Graph<S> {
    pub(super) fn new(root: S, root_text: String) -> Self {
        let mut graph = Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            by_text: HashMap::new(),
        };
        graph.push_node(root, root_text, 0, 0.0, 0.0);
        graph
    }

    pub(super) fn node(&self, id: NodeId) -> &Node<S> {
        &self.nodes[id.index()]
    }

    pub(super) fn node_mut(&mut self, id: NodeId) -> &mut Node<S> {
        &mut self.nodes[id.index()]
    }

    pub(super) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn root_status(&self) -> Status {
        self.node(NodeId::ROOT).status
    }

    /// Adds the edge `parent --tactic--> state`. `priority` maps (path score, depth) of a new
    /// node to its queue priority.
    pub(super) fn add_state_edge(
        &mut self,
        parent: NodeId,
        tactic: &str,
        score: f64,
        state: S,
        text: String,
        priority: impl FnOnce(f64, u32) -> f64,
    ) -> Landing {
        let landing = match self.by_text.get(&text) {
            Some(&known) => Landing::Known(known),
            None => {
                let depth = self.node(parent).depth + 1;
                let path_score = self.node(parent).path_score + score;
                Landing::New(self.push_node(
                    state,
                    text,
                    depth,
                    path_score,
                    priority(path_score, depth),
                ))
            }
        };
        let (Landing::New(child) | Landing::Known(child)) = landing;
        let edge = self.push_edge(parent, tactic, Target::Node(child));
        self.nodes[child.index()].parents.push(edge);
        landing
    }

    /// Adds an edge that closed every goal.
    pub(super) fn add_proved_edge(&mut self, parent: NodeId, tactic: &str) -> EdgeId {
        self.push_edge(parent, tactic, Target::Proved)
    }

    /// Adds an edge that failed (refused tactic or environment error).
    pub(super) fn add_failed_edge(&mut self, parent: NodeId, tactic: &str) {
        self.push_edge(parent, tactic, Target::Failed);
    }

    /// Turns a proved edge into a failed one, after its proof was rejected.
    pub(super) fn fail_edge(&mut self, edge: EdgeId) {
        self.edges[edge.0 as usize].target = Target::Failed;
    }

    pub(super) fn edge_parent(&self, edge: EdgeId) -> NodeId {
        self.edges[edge.0 as usize].parent
    }

    /// Marks `node` FAILED if its expansion is finished and every outgoing edge failed, and
    /// then re-examines its parents the same way. Returns how many nodes became FAILED.
    pub(super) fn settle_failure(&mut self, node: NodeId) -> usize {
        let mut newly_failed = 0;
        let mut worklist = vec![node];
        while let Some(id) = worklist.pop() {
            if !self.is_dead(id) {
                continue;
            }
            self.nodes[id.index()].status = Status::Failed;
            newly_failed += 1;
            let parents = self.nodes[id.index()].parents.iter();
            worklist.extend(parents.map(|&edge| self.edges[edge.0 as usize].parent));
        }
        newly_failed
    }

    fn is_dead(&self, id: NodeId) -> bool {
        let node = self.node(id);
        node.status == Status::Open
            && matches!(node.expansion, Expansion::Finished)
            && node
                .children
                .iter()
                .all(|&edge| match self.edges[edge.0 as usize].target {
                    Target::Failed => true,
                    Target::Proved => false,
                    Target::Node(child) => self.node(child).status == Status::Failed,
                })
    }

    /// Marks the parent of an accepted proof edge PROVED, and every node above it.
    pub(super) fn mark_proved(&mut self, edge: EdgeId) {
        let mut worklist = vec![self.edge_parent(edge)];
        while let Some(id) = worklist.pop() {
            let node = &mut self.nodes[id.index()];
            if node.status == Status::Proved {
                continue;
            }
            node.status = Status::Proved;
            let parents = node.parents.iter();
            worklist.extend(parents.map(|&edge| self.edges[edge.0 as usize].parent));
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
        let mut reached_by: Vec<Option<EdgeId>> = vec![None; self.nodes.len()];
        let mut visited = vec![false; self.nodes.len()];
        visited[NodeId::ROOT.index()] = true;
        let mut queue = VecDeque::from([NodeId::ROOT]);
        while let Some(id) = queue.pop_front() {
            if id == goal {
                break;
            }
            for &edge in &self.node(id).children {
                if let Target::Node(child) = self.edges[edge.0 as usize].target
                    && !visited[child.index()]
                {
                    visited[child.index()] = true;
                    reached_by[child.index()] = Some(edge);
                    queue.push_back(child);
                }
            }
        }
        let mut path = vec![last];
        let mut at = goal;
        while let Some(edge) = reached_by[at.index()] {
            path.push(edge);
            at = self.edge_parent(edge);
        }
        path.reverse();
        Proof {
            tactics: path
                .iter()
                .map(|&e| self.edges[e.0 as usize].tactic.clone())
                .collect(),
            states: path
                .iter()
                .map(|&e| self.node(self.edge_parent(e)).text.clone())
                .collect(),
        }
    }

    fn push_node(
        &mut self,
        state: S,
        text: String,
        depth: u32,
        path_score: f64,
        priority: f64,
    ) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes"));
        self.by_text.insert(text.clone(), id);
        self.nodes.push(Node {
            state,
            text,
            depth,
            path_score,
            priority,
            status: Status::Open,
            expansion: Expansion::NotStarted,
            children: Vec::new(),
            parents: Vec::new(),
        });
        id
    }

    fn push_edge(&mut self, parent: NodeId, tactic: &str, target: Target) -> EdgeId {
        let id = EdgeId(u32::try_from(self.edges.len()).expect("fewer than 2^32 edges"));
        self.edges.push(Edge {
            parent,
            tactic: tactic.to_owned(),
            target,
        });
        self.nodes[parent.index()].children.push(id);
        id
    }
}
