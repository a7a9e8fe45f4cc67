//! The `Policy` and `CandidateFilter` traits, and how raw proposals become the tactics one expansion runs.

use std::fmt;
use std::sync::{Arc, Weak};

use super::error::PolicyError;
use super::hash::FastSet;
use super::tree::{PathView, same_bytes};

/// One proposed tactic with the policy's confidence in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The tactic text; the search trims surrounding whitespace before using it.
    pub tactic: String,
    /// A log-probability-like score, normally ≤ 0; higher is better. BFS-Prover uses the
    /// token-mean log-probability of the sampled tactic. NaN is treated as −∞.
    pub score: f64,
}

impl Candidate {
    /// A candidate with the given tactic text and score.
    pub fn new(tactic: impl Into<String>, score: f64) -> Self {
        Self {
            tactic: tactic.into(),
            score,
        }
    }
}

/// What a policy is asked: one state to expand, where it sits in the search, and how many
/// tactics the search will run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Query<'a> {
    /// The state's canonical text (`ProofEnv::canonical_text`): what every policy reads.
    pub state: &'a str,
    /// Tactics from the root on the first path that reached the state.
    pub depth: u32,
    /// Those tactics, root first (`path.len() == depth`), for policies that condition on the
    /// proof so far. They are read from the search graph only when iterated.
    pub path: FirstPath<'a>,
    /// A hint: the search runs at most that many of the candidates (after its own filtering and
    /// deduplication), so a sampling policy may sample about that many. It may be `usize::MAX`
    /// when the search is configured without a width limit.
    pub width: usize,
}

impl<'a> Query<'a> {
    /// A query for a root state: depth 0, no path.
    pub fn root(state: &'a str, width: usize) -> Self {
        Query {
            state,
            depth: 0,
            path: FirstPath::EMPTY,
            width,
        }
    }
}

/// The tactics of the first path that reached a state, root first.
///
/// Asking a policy costs the search nothing for it: a path the search passes is a view of its
/// graph, read one step per tactic only when the policy reads it ([`iter`](Self::iter),
/// [`to_vec`](Self::to_vec)). Best-first paths run thousands of tactics deep, and most policies
/// never look, so the search does not copy them out at every expansion. [`last`](Self::last)
/// costs one step. A caller that builds a query itself lists the tactics
/// ([`From<&[&str]>`](#impl-From%3C%26%5B%26str%5D%3E-for-FirstPath%3C'a%3E)).
#[derive(Clone, Copy)]
pub struct FirstPath<'a> {
    len: usize,
    source: PathSource<'a>,
}

#[derive(Clone, Copy)]
enum PathSource<'a> {
    Listed(&'a [&'a str]),
    Graph(PathView<'a>),
}

impl<'a> FirstPath<'a> {
    /// The path of a root: no tactic.
    pub const EMPTY: FirstPath<'static> = FirstPath {
        len: 0,
        source: PathSource::Listed(&[]),
    };

    /// The path the graph view leads up from a node of this depth.
    pub(super) fn in_graph(view: PathView<'a>, depth: u32) -> Self {
        FirstPath {
            len: depth as usize,
            source: PathSource::Graph(view),
        }
    }

    /// How many tactics: the state's depth.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether this is a root's path.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tactic that produced the state, if it is not a root.
    pub fn last(&self) -> Option<&'a str> {
        match self.source {
            PathSource::Listed(tactics) => tactics.last().copied(),
            PathSource::Graph(view) => view.leaf_first().next(),
        }
    }

    /// The tactics, root first.
    pub fn iter(&self) -> std::vec::IntoIter<&'a str> {
        self.to_vec().into_iter()
    }

    /// The tactics, root first.
    pub fn to_vec(&self) -> Vec<&'a str> {
        match self.source {
            PathSource::Listed(tactics) => tactics.to_vec(),
            PathSource::Graph(view) => {
                let mut tactics = Vec::with_capacity(self.len);
                tactics.extend(view.leaf_first());
                tactics.reverse();
                tactics
            }
        }
    }
}

impl<'a> From<&'a [&'a str]> for FirstPath<'a> {
    fn from(tactics: &'a [&'a str]) -> Self {
        FirstPath {
            len: tactics.len(),
            source: PathSource::Listed(tactics),
        }
    }
}

impl<'a> IntoIterator for FirstPath<'a> {
    type Item = &'a str;
    type IntoIter = std::vec::IntoIter<&'a str>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for FirstPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Equal when the tactics are, however each path is held.
impl PartialEq for FirstPath<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// Proposes scored tactics for a proof state.
///
/// Contract: **a policy changes how fast a proof is found, never whether one exists under
/// exhaustive limits.** The search executes every proposed tactic of every reachable state when
/// no budget, width or filter cuts it short, so scores only decide the order. Which tactics are
/// proposed does decide provability, of course.
///
/// A policy sees plain text only ([`Query`]), never the environment's state type, so one boxed
/// policy serves every environment.
pub trait Policy {
    /// Proposes candidate tactics for `query.state`.
    ///
    /// An `Err` is counted and the state is abandoned unexpanded; the search continues elsewhere.
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError>;

    /// A hint: the search will probably soon [`propose`](Self::propose) for these queries, best
    /// first ([`SearchConfig::policy_lookahead`](super::SearchConfig::policy_lookahead) of the
    /// next best unexpanded states, given just before an expansion's tactics run). A policy
    /// whose answers take a round trip may start them now and answer the later `propose` from
    /// them; it must answer that `propose` as it would have without the hint. Some of these
    /// states are never expanded. The default ignores the hint.
    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        let _ = upcoming;
    }

    /// Where an environment may announce a state it has just produced, while the rest of an
    /// expansion's tactics still run (before the search has even recorded it): a policy whose
    /// answers take a round trip may start the one for that state at once. `None` (the
    /// default): the policy has no use for such hints. The same rule as for
    /// [`prefetch`](Self::prefetch): a hinted state's later `propose` is answered as without it.
    fn state_hints(&self) -> Option<Arc<dyn StateHint>> {
        None
    }
}

/// A policy's ear for new states, shared with an environment ([`Policy::state_hints`]); called
/// from whichever thread or task saw the state.
pub trait StateHint: Send + Sync {
    /// A tactic has just produced the state whose canonical text is `state`; the search may
    /// soon propose for it.
    fn new_state(&self, state: &str);

    /// An environment that can run tactics ahead of need asks to hear, from now on, each
    /// answer the policy prepares ahead of need (for [`Policy::prefetch`]'s states and
    /// announced new states) as soon as it is in, so it can start the likely tactics before
    /// the search asks. The policy keeps `ear` only weakly: the environment's end ends it.
    /// The default never tells.
    fn tell_proposals(&self, ear: Weak<dyn ProposalHint>) {
        let _ = ear;
    }
}

/// An environment's ear for a policy's answers prepared ahead of need
/// ([`StateHint::tell_proposals`]); called from whichever thread or task the answer came in on.
pub trait ProposalHint: Send + Sync {
    /// The policy's `propose` for the state whose canonical text is `state` will answer
    /// `candidates` (as the policy gives them, before the search trims, filters and cuts them).
    fn proposed(&self, state: &str, candidates: &[Candidate]);
}

impl fmt::Debug for dyn ProposalHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProposalHint")
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        (**self).propose(query)
    }

    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        (**self).prefetch(upcoming)
    }

    fn state_hints(&self) -> Option<Arc<dyn StateHint>> {
        (**self).state_hints()
    }
}

/// Decides whether a proposed tactic may run at all, before the environment sees it.
///
/// This is where an untrusted-tactic guard plugs in (`sorry`, `native_decide`, …); the search
/// reports each refusal with its reason ([`SearchEvent::Filtered`](super::SearchEvent)) and
/// counts them. Closures `FnMut(&str) -> Result<(), String>` are filters.
pub trait CandidateFilter {
    /// `Ok` to let `tactic` (already trimmed) run; otherwise why it may not, in words a
    /// training row or a log can carry.
    fn screen(&mut self, tactic: &str) -> Result<(), String>;
}

impl<F: FnMut(&str) -> Result<(), String>> CandidateFilter for F {
    fn screen(&mut self, tactic: &str) -> Result<(), String> {
        self(tactic)
    }
}

/// The filter that lets every tactic through.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl CandidateFilter for AllowAll {
    fn screen(&mut self, _tactic: &str) -> Result<(), String> {
        Ok(())
    }
}

/// A proposal the filter refused, with the filter's reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// The candidate (trimmed).
    pub candidate: Candidate,
    /// Why it may not run.
    pub reason: String,
}

/// What happened to a policy's proposals on the way to execution.
#[derive(Debug, Default)]
pub(super) struct Prepared {
    /// The tactics to run, best first, at most `width` of them.
    pub(super) selected: Vec<Candidate>,
    /// Proposals the filter refused, in proposal order.
    pub(super) rejected: Vec<Refused>,
    /// Proposals dropped because an earlier proposal had the same trimmed text, or was empty.
    pub(super) duplicates: u32,
    /// Acceptable proposals left out because `width` better ones were kept.
    pub(super) beyond_width: u32,
}

/// Trims, filters, deduplicates, orders by score and cuts to `width`.
///
/// Duplicates keep the first occurrence and its score, as BFS-Prover-V2 does. Sorting is stable,
/// so equal scores keep the policy's order and the result is deterministic.
///
/// The proposals are reworked in place: tactics are trimmed without reallocating, duplicates are
/// found by comparing trimmed texts (directly for a short list, through a hash set of borrowed
/// texts for a long one), and the selected candidates stay in the proposals' own buffer.
pub(super) fn prepare_candidates(
    mut proposals: Vec<Candidate>,
    filter: &mut impl CandidateFilter,
    width: usize,
) -> Prepared {
    for proposal in &mut proposals {
        trim_in_place(&mut proposal.tactic);
        if proposal.score.is_nan() {
            proposal.score = f64::NEG_INFINITY;
        }
    }
    let duplicate = find_duplicates(&proposals);
    let mut prepared = Prepared::default();
    let mut index = 0;
    proposals.retain_mut(|candidate| {
        let is_duplicate = duplicate.get(index);
        index += 1;
        if is_duplicate {
            prepared.duplicates += 1;
            false
        } else if let Err(reason) = filter.screen(&candidate.tactic) {
            // A refused text counts as seen too, so a repeat of it is a duplicate rather than a
            // second rejection: the count then means "distinct tactics refused".
            prepared.rejected.push(Refused {
                candidate: Candidate {
                    tactic: std::mem::take(&mut candidate.tactic),
                    score: candidate.score,
                },
                reason,
            });
            false
        } else {
            true
        }
    });
    prepared.selected = proposals;
    prepared
        .selected
        .sort_by(|a, b| b.score.total_cmp(&a.score));
    if prepared.selected.len() > width {
        prepared.beyond_width = u32::try_from(prepared.selected.len() - width).unwrap_or(u32::MAX);
        prepared.selected.truncate(width);
    }
    prepared
}

/// The tactics a search runs for `proposals` when no filter refuses any: [`prepare_candidates`]'s
/// selection (trimmed, empty ones and repeats dropped, best first, the first `width`). What an
/// environment running tactics ahead of need takes as a state's likely tactics, so it runs the
/// very ones the search will ask for.
pub fn selected_tactics(proposals: Vec<Candidate>, width: usize) -> Vec<Candidate> {
    prepare_candidates(proposals, &mut AllowAll, width).selected
}

/// Removes leading and trailing whitespace without a new allocation.
fn trim_in_place(text: &mut String) {
    let trimmed = text.trim();
    if trimmed.len() == text.len() {
        return;
    }
    let start = trimmed.as_ptr() as usize - text.as_ptr() as usize;
    let end = start + trimmed.len();
    text.truncate(end);
    text.drain(..start);
}

/// Up to this many proposals, duplicates are found by comparing each with the earlier ones.
const SHORT_LIST: usize = 16;

/// Which proposals (trimmed) are empty or repeat an earlier proposal's text.
///
/// A proposal repeats a seen text exactly when some earlier proposal has the same text: the
/// earliest of equal texts is never a duplicate, and it is either selected or rejected, so it
/// is seen either way.
fn find_duplicates(proposals: &[Candidate]) -> Flags {
    if proposals.len() <= SHORT_LIST {
        let mut mask = 0u64;
        for (i, proposal) in proposals.iter().enumerate() {
            let tactic = &proposal.tactic;
            if tactic.is_empty()
                || proposals[..i]
                    .iter()
                    .any(|c| same_bytes(c.tactic.as_bytes(), tactic.as_bytes()))
            {
                mask |= 1 << i;
            }
        }
        Flags::Short(mask)
    } else {
        let mut seen = FastSet::default();
        seen.reserve(proposals.len());
        Flags::Long(
            proposals
                .iter()
                .map(|c| c.tactic.is_empty() || !seen.insert(c.tactic.as_str()))
                .collect(),
        )
    }
}

/// One flag per proposal.
enum Flags {
    Short(u64),
    Long(Vec<bool>),
}

impl Flags {
    fn get(&self, i: usize) -> bool {
        match self {
            Flags::Short(mask) => mask & (1 << i) != 0,
            Flags::Long(flags) => flags[i],
        }
    }
}
