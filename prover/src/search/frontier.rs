//! The frontier: a max-priority queue of open nodes whose ties break by insertion order, holding what only an open node needs (its path score and depth).

use std::cmp::Ordering;

use super::tree::NodeId;

/// An open node as the frontier holds it: what selecting and expanding it needs besides the
/// graph. Path score and depth are needed only while a node is open or being expanded, so they
/// live here, not in every node of the graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Open {
    pub(super) node: NodeId,
    pub(super) priority: f64,
    /// Σ of tactic scores along the first path that reached the node.
    pub(super) path_score: f64,
    pub(super) depth: u32,
}

/// Open nodes waiting for expansion, highest priority first.
///
/// Priorities are fixed when a node is pushed (a repeated state keeps its first path's score),
/// so there is nothing to re-score and a binary heap suffices. Equal priorities pop in
/// insertion order, which makes the search deterministic without any randomness.
///
/// Insertion order is not stored: a node's first push comes in node-id order (a node is queued
/// when it is created), so among first pushes the node id is the insertion order. The rare
/// second push of a node (its expansion stopped at a proof and resumes) goes to a small heap of
/// its own with its place in the insertion order, and the two heaps are merged at `pop` by the
/// full order. A first push is then 24 bytes, and the frontier holds one per state not yet
/// expanded.
///
/// The heap is 4-ary: a pop walks half as many levels as in a binary heap, and a level's four
/// children are adjacent (two cache lines), so a pop from a heap of 10⁵ entries, most of it
/// outside the cache, waits on about half as many misses. The order (priority, then node id)
/// is total among first pushes, so the arity changes nothing of what pops when.
#[derive(Debug, Default, Clone)]
pub(super) struct Frontier {
    heap: Vec<Entry>,
    /// Second pushes, with their insertion numbers.
    again: Vec<(Entry, u64)>,
    /// For each second push in order, how many nodes had been pushed before it.
    again_after: Vec<u32>,
    /// Nodes pushed for the first time so far (node ids below this).
    first_pushes: u32,
}

/// Children per heap position: those of `i` are `ARITY·i + 1 ..= ARITY·i + ARITY`.
const ARITY: usize = 4;

/// 24 bytes: the order key of the priority, the node's path score and depth, and the node.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// `priority` mapped to a `u64` whose order is `f64::total_cmp`'s.
    key: u64,
    path_score: f64,
    node: u32,
    depth: u32,
}

impl Entry {
    fn new(open: Open) -> Entry {
        let bits = open.priority.to_bits();
        // `total_cmp`'s mapping (flip the magnitude of negatives), then offset to unsigned.
        let key = (bits ^ (((bits as i64 >> 63) as u64) >> 1)) ^ (1 << 63);
        Entry {
            key,
            path_score: open.path_score,
            node: open.node.0,
            depth: open.depth,
        }
    }

    fn open(self) -> Open {
        let bits = self.key ^ (1 << 63);
        let bits = bits ^ (((bits as i64 >> 63) as u64) >> 1);
        Open {
            node: NodeId(self.node),
            priority: f64::from_bits(bits),
            path_score: self.path_score,
            depth: self.depth,
        }
    }

    /// Whether `self` pops before `other` among first pushes: the higher priority, then the
    /// lower node id (the earlier insertion).
    #[inline]
    fn before(&self, other: &Entry) -> bool {
        self.key > other.key || (self.key == other.key && self.node < other.node)
    }
}

impl Frontier {
    pub(super) fn push(&mut self, open: Open) {
        let entry = Entry::new(open);
        if open.node.0 >= self.first_pushes {
            // A node's first push: nodes are queued in id order as they are created.
            self.first_pushes = open.node.0 + 1;
            if self.heap.len() == self.heap.capacity() {
                // Grow by an eighth, not by doubling: the heap is most of what an open node
                // costs, and a doubled one would hold up to twice that.
                self.heap.reserve_exact((self.heap.len() / 8).max(1024));
            }
            let at = self.heap.len();
            self.heap.push(entry);
            sift_up(&mut self.heap, at);
        } else {
            let insertion = u64::from(self.first_pushes) + self.again_after.len() as u64;
            self.again_after.push(self.first_pushes);
            self.again.push((entry, insertion));
        }
    }

    /// The node of the best first push, which [`pop`](Self::pop) gives next unless a second
    /// push goes before it: a hint for what to read into the cache before popping.
    pub(super) fn peek_node(&self) -> Option<NodeId> {
        self.heap.first().map(|entry| NodeId(entry.node))
    }

    pub(super) fn pop(&mut self) -> Option<Open> {
        let again = self.best_again();
        let take_again = match (self.heap.first(), again) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(first), Some(at)) => {
                let (entry, insertion) = self.again[at];
                match entry.key.cmp(&first.key) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal => insertion < self.insertion_of_first_push(first.node),
                }
            }
        };
        if take_again {
            let at = again.expect("chosen only when present");
            return Some(self.again.swap_remove(at).0.open());
        }
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() {
            last
        } else {
            let top = std::mem::replace(&mut self.heap[0], last);
            sift_down(&mut self.heap, 0);
            top
        };
        Some(top.open())
    }

    /// Where node `node`'s first push came among all pushes.
    fn insertion_of_first_push(&self, node: u32) -> u64 {
        let again_before = self.again_after.partition_point(|&pushed| pushed <= node);
        u64::from(node) + again_before as u64
    }

    /// The best second push, by priority and then insertion (a handful at most: a scan).
    fn best_again(&self) -> Option<usize> {
        (0..self.again.len()).max_by(|&a, &b| {
            let (a, ia) = self.again[a];
            let (b, ib) = self.again[b];
            a.key.cmp(&b.key).then(ib.cmp(&ia))
        })
    }

    /// Up to `count` open nodes for which `wanted` holds, in the order [`pop`](Self::pop)
    /// would give them, looking at no more than `scan` entries; the frontier is not touched
    /// (a look-ahead for the policy). A parent pops before its children, so the heap's next
    /// entries are a best-first walk of its tree from the root, merged with the second pushes
    /// by `pop`'s own rule.
    pub(super) fn peek_best(
        &self,
        count: usize,
        scan: usize,
        mut wanted: impl FnMut(NodeId) -> bool,
    ) -> Vec<Open> {
        let mut best = Vec::new();
        // Heap positions that may pop next, and second pushes not yet looked at.
        let mut reachable: Vec<usize> = if self.heap.is_empty() {
            Vec::new()
        } else {
            vec![0]
        };
        let mut again: Vec<usize> = (0..self.again.len()).collect();
        let mut looked_at = 0;
        while best.len() < count && looked_at < scan {
            let first = (0..reachable.len()).reduce(|a, b| {
                if self.heap[reachable[b]].before(&self.heap[reachable[a]]) {
                    b
                } else {
                    a
                }
            });
            let second = (0..again.len()).reduce(|a, b| {
                let ((ea, ia), (eb, ib)) = (self.again[again[a]], self.again[again[b]]);
                if eb.key > ea.key || (eb.key == ea.key && ib < ia) {
                    b
                } else {
                    a
                }
            });
            let take_second = match (first, second) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(first), Some(second)) => {
                    let heap_entry = self.heap[reachable[first]];
                    let (entry, insertion) = self.again[again[second]];
                    match entry.key.cmp(&heap_entry.key) {
                        Ordering::Greater => true,
                        Ordering::Less => false,
                        Ordering::Equal => {
                            insertion < self.insertion_of_first_push(heap_entry.node)
                        }
                    }
                }
            };
            let entry = if take_second {
                let at = again.swap_remove(second.expect("chosen only when present"));
                self.again[at].0
            } else if let Some(first) = first {
                let at = reachable.swap_remove(first);
                let children = ARITY * at + 1..=ARITY * at + ARITY;
                reachable.extend(children.filter(|&c| c < self.heap.len()));
                self.heap[at]
            } else {
                break;
            };
            looked_at += 1;
            if wanted(NodeId(entry.node)) {
                best.push(entry.open());
            }
        }
        best
    }
}

fn sift_up(heap: &mut [Entry], mut at: usize) {
    let entry = heap[at];
    while at > 0 {
        let parent = (at - 1) / ARITY;
        if !entry.before(&heap[parent]) {
            break;
        }
        heap[at] = heap[parent];
        at = parent;
    }
    heap[at] = entry;
}

/// Moves the hole at `at` down to a leaf along the better children, then sifts the entry that
/// was there up from the leaf (fewer comparisons than stopping early: the entry, taken from the
/// end, usually belongs near the bottom).
fn sift_down(heap: &mut [Entry], mut at: usize) {
    let entry = heap[at];
    let end = heap.len();
    loop {
        let first = ARITY * at + 1;
        if first >= end {
            break;
        }
        let mut best = first;
        for child in first + 1..(first + ARITY).min(end) {
            if heap[child].before(&heap[best]) {
                best = child;
            }
        }
        heap[at] = heap[best];
        at = best;
    }
    heap[at] = entry;
    sift_up(heap, at);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(node: u32, priority: f64) -> Open {
        Open {
            node: NodeId(node),
            priority,
            path_score: priority,
            depth: node,
        }
    }

    #[test]
    fn pops_highest_priority_then_earliest_insertion() {
        let mut frontier = Frontier::default();
        frontier.push(open(0, -1.0));
        frontier.push(open(1, -0.5));
        frontier.push(open(2, -1.0));
        frontier.push(open(3, f64::NEG_INFINITY));
        let order: Vec<u32> = std::iter::from_fn(|| frontier.pop())
            .map(|open| open.node.0)
            .collect();
        assert_eq!(order, [1, 0, 2, 3]);
    }

    #[test]
    fn a_second_push_comes_after_every_earlier_push_of_its_priority_and_before_later_ones() {
        let mut frontier = Frontier::default();
        for node in 0..4 {
            frontier.push(open(node, -1.0));
        }
        let first = frontier.pop().expect("four queued");
        assert_eq!(first.node, NodeId(0));
        // Node 0 again, after nodes 1..=3 and before 4 and 5.
        frontier.push(first);
        frontier.push(open(4, -1.0));
        frontier.push(open(5, -0.5));
        let order: Vec<Open> = std::iter::from_fn(|| frontier.pop()).collect();
        let nodes: Vec<u32> = order.iter().map(|open| open.node.0).collect();
        assert_eq!(nodes, [5, 1, 2, 3, 0, 4]);
        assert_eq!(order[4], first, "it keeps its path score and depth");
    }

    #[test]
    fn pushes_and_pops_follow_a_plain_list_kept_in_the_same_order() {
        // The 4-ary heap against the rule itself: the highest priority, then the lowest node
        // id, found by scanning a list; pops interleaved with pushes so sifts run at every size.
        let mut state = 0x9e37_79b9_u64;
        let mut next = move |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        let mut frontier = Frontier::default();
        let mut reference: Vec<Open> = Vec::new();
        let mut created = 0;
        for _ in 0..5000 {
            if next(3) == 0 {
                let best = (0..reference.len()).reduce(|a, b| {
                    let (x, y) = (&reference[a], &reference[b]);
                    match y.priority.total_cmp(&x.priority) {
                        Ordering::Greater => b,
                        Ordering::Less => a,
                        Ordering::Equal if y.node < x.node => b,
                        Ordering::Equal => a,
                    }
                });
                let expected = best.map(|at| reference.swap_remove(at));
                assert_eq!(frontier.pop(), expected);
            } else {
                let pushed = open(created, -(next(40) as f64) / 8.0);
                created += 1;
                frontier.push(pushed);
                reference.push(pushed);
            }
        }
    }

    #[test]
    fn priorities_come_back_bit_for_bit_in_total_order() {
        let priorities = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            2.5,
            f64::INFINITY,
        ];
        let mut frontier = Frontier::default();
        for (node, &priority) in priorities.iter().enumerate() {
            frontier.push(open(node as u32, priority));
        }
        let popped: Vec<u64> = std::iter::from_fn(|| frontier.pop())
            .map(|open| open.priority.to_bits())
            .collect();
        let expected: Vec<u64> = priorities.iter().rev().map(|p| p.to_bits()).collect();
        assert_eq!(popped, expected);
    }

    #[test]
    fn peeking_at_the_best_leaves_the_order_unchanged() {
        let mut frontier = Frontier::default();
        for (node, priority) in [(0, -1.0), (1, -0.5), (2, -1.0), (3, -0.2), (4, -0.5)] {
            frontier.push(open(node, priority));
        }
        let nodes = |opens: Vec<Open>| opens.iter().map(|open| open.node.0).collect::<Vec<_>>();
        assert_eq!(nodes(frontier.peek_best(2, 10, |node| node.0 != 3)), [1, 4]);
        assert_eq!(nodes(frontier.peek_best(5, 2, |_| true)), [3, 1]);
        // A second push of node 0 takes its place after the first pushes of its priority.
        let first = frontier.pop().expect("five queued");
        assert_eq!(first.node, NodeId(3));
        let zero = Open {
            node: NodeId(0),
            priority: -0.5,
            path_score: 0.0,
            depth: 1,
        };
        frontier.push(zero);
        assert_eq!(nodes(frontier.peek_best(9, 9, |_| true)), [1, 4, 0, 0, 2]);
        let order: Vec<u32> = std::iter::from_fn(|| frontier.pop())
            .map(|open| open.node.0)
            .collect();
        assert_eq!(order, [1, 4, 0, 0, 2]);
    }

    #[test]
    fn a_peek_is_the_pop_order_under_random_first_and_second_pushes() {
        // A small linear congruential generator: the test needs variety, not quality.
        let mut state = 0x2545_f491_u64;
        let mut next = move |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % bound
        };
        for _ in 0..50 {
            let mut frontier = Frontier::default();
            let mut created = 0;
            let mut popped = Vec::new();
            for _ in 0..60 {
                match next(4) {
                    0 if !popped.is_empty() => {
                        let again: Open = popped.swap_remove(next(popped.len() as u64) as usize);
                        frontier.push(again);
                    }
                    1 => popped.extend(frontier.pop()),
                    _ => {
                        frontier.push(open(created, -(next(5) as f64) / 2.0));
                        created += 1;
                    }
                }
            }
            let peeked = frontier.peek_best(usize::MAX, usize::MAX, |_| true);
            let mut copy = frontier.clone();
            let order: Vec<Open> = std::iter::from_fn(|| copy.pop()).collect();
            assert_eq!(peeked, order);
            let wanted = |node: NodeId| !node.0.is_multiple_of(3);
            let some = frontier.peek_best(4, 9, wanted);
            let expected: Vec<Open> = order
                .iter()
                .take(9)
                .filter(|open| wanted(open.node))
                .take(4)
                .copied()
                .collect();
            assert_eq!(some, expected);
        }
    }
}
