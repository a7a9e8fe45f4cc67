//! Proof states that outlive processes: a [`ProofHandle`] names a state by how it was reached
//! (header, statement, tactic path), never by a process's proof-state id, so any worker can
//! rebuild it by replay after a crash, a recycle or a move to another worker.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::protocol::{Pos, ProofStateId};

/// Where every proof state of one theorem starts: the header it runs on and its statement.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Root {
    pub(crate) header: String,
    pub(crate) statement: String,
    /// Which sorry of the statement is the root: the one starting here, or the first.
    pub(crate) at: Option<Pos>,
}

/// A proof state, reachable on any process: the header, the statement with `sorry` whose first
/// sorry is the root, and the tactics applied from the root. Cheap to clone.
///
/// Equality and hashing look at how the state was reached, not at its goals.
#[derive(Clone)]
pub struct ProofHandle {
    root: Arc<Root>,
    path: Arc<[Arc<str>]>,
    goals: Arc<[String]>,
}

impl ProofHandle {
    /// A root state known without asking Lean (from a cache). The pool elaborates the
    /// statement on whichever process first runs a tactic on it.
    pub fn root(header: &str, statement: &str, goals: Vec<String>) -> ProofHandle {
        ProofHandle::root_at(header, statement, None, goals)
    }

    /// The root state at the sorry of `statement` that starts at `at` (the REPL's position,
    /// relative to the statement), or at its first sorry when `at` is `None`.
    pub fn root_at(
        header: &str,
        statement: &str,
        at: Option<Pos>,
        goals: Vec<String>,
    ) -> ProofHandle {
        ProofHandle {
            root: Arc::new(Root {
                header: header.to_owned(),
                statement: statement.to_owned(),
                at,
            }),
            path: Arc::from(Vec::new()),
            goals: Arc::from(goals),
        }
    }

    /// The state `tactic` leads to from this one, with goals known without asking Lean (from a
    /// cache). The pool replays the path on whichever process first runs a tactic on it, and
    /// reports `ReplayDiverged` if Lean disagrees.
    pub fn child(&self, tactic: &str, goals: Vec<String>) -> ProofHandle {
        let mut path = self.path.to_vec();
        path.push(Arc::from(tactic));
        ProofHandle {
            root: Arc::clone(&self.root),
            path: Arc::from(path),
            goals: Arc::from(goals),
        }
    }

    pub(crate) fn root_key(&self) -> &Arc<Root> {
        &self.root
    }

    pub(crate) fn path_steps(&self) -> &[Arc<str>] {
        &self.path
    }

    /// The header (imports, `open`, `set_option`) the statement runs on.
    pub fn header(&self) -> &str {
        &self.root.header
    }

    /// The statement command whose first `sorry` is the root state.
    pub fn statement(&self) -> &str {
        &self.root.statement
    }

    /// Which sorry of the statement the root is: the one starting there, or the first.
    pub fn sorry_at(&self) -> Option<Pos> {
        self.root.at
    }

    /// The tactics from the root to this state, in order.
    pub fn tactics(&self) -> impl ExactSizeIterator<Item = &str> {
        self.path.iter().map(|t| &**t)
    }

    /// How many tactics lead here from the root.
    pub fn depth(&self) -> usize {
        self.path.len()
    }

    /// The open goals, one pretty-printed string each. The root state has the goal of its
    /// sorry as one string.
    pub fn goals(&self) -> &[String] {
        &self.goals
    }

    /// The path to this state, and then `last`.
    pub(crate) fn path_then(&self, last: &str) -> ProofPath {
        let mut tactics: Vec<String> = self.tactics().map(str::to_owned).collect();
        tactics.push(last.to_owned());
        ProofPath {
            header: self.root.header.clone(),
            statement: self.root.statement.clone(),
            tactics,
        }
    }
}

impl PartialEq for ProofHandle {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.root, &other.root) || self.root == other.root) && self.path == other.path
    }
}

impl Eq for ProofHandle {}

impl Hash for ProofHandle {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.root.hash(state);
        self.path.hash(state);
    }
}

impl fmt::Debug for ProofHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofHandle")
            .field("statement", &self.root.statement)
            .field("tactics", &self.path)
            .field("goals", &self.goals)
            .finish_non_exhaustive()
    }
}

/// A finished proof as the tactic path that closed it, in tactic mode. Recheck it in command
/// mode before trusting it (`lean-repl-protocol.md` §10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProofPath {
    /// The header the statement runs on.
    pub header: String,
    /// The statement command, with the `sorry` the tactics replace.
    pub statement: String,
    /// The tactics from the root, the last one closing the proof.
    pub tactics: Vec<String>,
}

/// One worker's proof-state ids, as a trie of tactic paths under each root, so the longest
/// prefix of a handle's path that this process already holds is found in one walk.
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    roots: HashMap<Arc<Root>, Node>,
}

#[derive(Debug)]
struct Node {
    id: ProofStateId,
    children: HashMap<Arc<str>, Node>,
}

impl StateCache {
    /// The longest prefix of `handle`'s path held here, as (its length, its id); `None` when
    /// not even the root is.
    pub(crate) fn longest_prefix(&self, handle: &ProofHandle) -> Option<(usize, ProofStateId)> {
        let mut node = self.roots.get(&**handle.root_key())?;
        let mut depth = 0;
        for tactic in handle.path_steps() {
            match node.children.get(&**tactic) {
                Some(child) => {
                    node = child;
                    depth += 1;
                }
                None => break,
            }
        }
        Some((depth, node.id))
    }

    /// Records the id of the state reached by `path` from `root`. Every shorter prefix must
    /// already be recorded; otherwise nothing is.
    pub(crate) fn insert(&mut self, root: &Arc<Root>, path: &[Arc<str>], id: ProofStateId) {
        let Some((last, parents)) = path.split_last() else {
            self.roots.insert(
                Arc::clone(root),
                Node {
                    id,
                    children: HashMap::new(),
                },
            );
            return;
        };
        let Some(mut node) = self.roots.get_mut(&**root) else {
            return;
        };
        for tactic in parents {
            match node.children.get_mut(&**tactic) {
                Some(child) => node = child,
                None => return,
            }
        }
        node.children.insert(
            Arc::clone(last),
            Node {
                id,
                children: HashMap::new(),
            },
        );
    }

    pub(crate) fn clear(&mut self) {
        self.roots.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_equal_by_path_not_goals() {
        let root = ProofHandle::root(
            "import Init",
            "theorem t : True := sorry",
            vec!["⊢ True".into()],
        );
        let a = root.child("trivial", vec![]);
        let b = root.child("trivial", vec!["different".into()]);
        assert_eq!(a, b);
        assert_ne!(a, root);
        assert_eq!(a.tactics().collect::<Vec<_>>(), ["trivial"]);
        let path = a.path_then("done");
        assert_eq!(path.tactics, ["trivial", "done"]);
        assert_eq!(path.statement, "theorem t : True := sorry");
    }

    #[test]
    fn cache_finds_the_longest_held_prefix() {
        let root = ProofHandle::root("h", "s", vec![]);
        let a = root.child("a", vec![]);
        let ab = a.child("b", vec![]);
        let abc = ab.child("c", vec![]);
        let mut cache = StateCache::default();
        assert_eq!(cache.longest_prefix(&abc), None);
        cache.insert(root.root_key(), root.path_steps(), 0);
        cache.insert(root.root_key(), a.path_steps(), 1);
        // A path whose parent is unknown is not recorded.
        cache.insert(root.root_key(), abc.path_steps(), 9);
        assert_eq!(cache.longest_prefix(&abc), Some((1, 1)));
        cache.insert(root.root_key(), ab.path_steps(), 2);
        assert_eq!(cache.longest_prefix(&abc), Some((2, 2)));
        let other_root = ProofHandle::root("h", "s2", vec![]);
        assert_eq!(cache.longest_prefix(&other_root), None);
        cache.clear();
        assert_eq!(cache.longest_prefix(&root), None);
    }
}
