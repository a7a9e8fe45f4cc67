//! The frontier: a max-priority queue of open nodes whose ties break by insertion order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::tree::NodeId;

/// Open nodes waiting for expansion, highest priority first.
///
/// Priorities are fixed when a node is pushed (a repeated state keeps its first path's score),
/// so there is nothing to re-score and a plain binary heap suffices. Equal priorities pop in
/// insertion order, which makes the search deterministic without any randomness.
#[derive(Debug, Default)]
pub(super) struct Frontier {
    heap: BinaryHeap<Entry>,
    pushed: u32,
}

impl Frontier {
    pub(super) fn push(&mut self, node: NodeId, priority: f64) {
        self.heap.push(Entry {
            priority,
            insertion: self.pushed,
            node,
        });
        // Saturates: past 2³² pushes (more than a graph can hold nodes) later ties break by
        // node id instead, still deterministically.
        self.pushed = self.pushed.saturating_add(1);
    }

    pub(super) fn pop(&mut self) -> Option<(NodeId, f64)> {
        self.heap.pop().map(|entry| (entry.node, entry.priority))
    }

    /// Up to `count` nodes for which `wanted` holds, in the order [`pop`](Self::pop) would give
    /// them, looking at no more than `scan` entries; the frontier is left as it was (the entries
    /// looked at go back unchanged, so later pops are the same). A look-ahead for the policy.
    pub(super) fn peek_best(
        &mut self,
        count: usize,
        scan: usize,
        mut wanted: impl FnMut(NodeId) -> bool,
    ) -> Vec<NodeId> {
        let mut looked_at = Vec::new();
        let mut best = Vec::new();
        while best.len() < count && looked_at.len() < scan {
            let Some(entry) = self.heap.pop() else {
                break;
            };
            if wanted(entry.node) {
                best.push(entry.node);
            }
            looked_at.push(entry);
        }
        self.heap.extend(looked_at);
        best
    }
}

/// 16 bytes: the frontier holds one per state not yet expanded.
#[derive(Debug)]
struct Entry {
    priority: f64,
    insertion: u32,
    node: NodeId,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Max-heap: higher priority first, then the earlier insertion.
        self.priority
            .total_cmp(&other.priority)
            .then_with(|| other.insertion.cmp(&self.insertion))
            .then_with(|| other.node.cmp(&self.node))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_highest_priority_then_earliest_insertion() {
        let mut frontier = Frontier::default();
        frontier.push(NodeId(0), -1.0);
        frontier.push(NodeId(1), -0.5);
        frontier.push(NodeId(2), -1.0);
        frontier.push(NodeId(3), f64::NEG_INFINITY);
        let order: Vec<u32> = std::iter::from_fn(|| frontier.pop())
            .map(|(n, _)| n.0)
            .collect();
        assert_eq!(order, [1, 0, 2, 3]);
    }

    #[test]
    fn peeking_at_the_best_leaves_the_order_unchanged() {
        let mut frontier = Frontier::default();
        for (node, priority) in [(0, -1.0), (1, -0.5), (2, -1.0), (3, -0.2), (4, -0.5)] {
            frontier.push(NodeId(node), priority);
        }
        let best = frontier.peek_best(2, 10, |node| node.0 != 3);
        assert_eq!(best, [NodeId(1), NodeId(4)]);
        assert_eq!(frontier.peek_best(5, 2, |_| true), [NodeId(3), NodeId(1)]);
        let order: Vec<u32> = std::iter::from_fn(|| frontier.pop())
            .map(|(n, _)| n.0)
            .collect();
        assert_eq!(order, [3, 1, 4, 0, 2]);
    }
}
