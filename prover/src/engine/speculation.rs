//! Speculative expansion: the tactics of the states a search will probably expand next, run ahead of need on idle REPL workers and handed to `LeanEnv::apply_all` when the search asks for them.
//!
//! Two things must be known before a tactic can run ahead: the state's handle and the tactics
//! the policy will propose for it. The environment learns the handles (the states the search
//! hints at through `ProofEnv::upcoming`, and every child its tactics produce); the policy tells
//! the answers it prepares ahead of need as they come in (`StateHint::tell_proposals`, a
//! [`ProposalHint`]). Once both are in for a state, its tactics are queued, and run while
//! fewer than `limit` (the search's parallelism) of this search's tactic applications are in
//! flight, real and speculative together, no tactic of the expansion under way still waits to
//! be launched, and the pool has an idle worker, likeliest state first (`Rank`). A tactic the
//! search then runs takes the speculative answer (waiting for it if it is still running)
//! instead of sending it again. A state a tactic run ahead produced is announced to the policy
//! at once when its parent is one the search knows (one generation deep, at most the
//! look-ahead per parent), so its model answer and its own tactics start before the search
//! gets there.
//!
//! The search sees only answers to what it asked, in its own order, so its report is the same
//! with or without speculation whenever the environment is deterministic. An answer nobody
//! asks for is dropped (counted, [`SpeculationStats::dropped`]); a speculative timeout or crash
//! reaches the search only if it asks for that very tactic.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use lean_bridge::BridgeError;
use lean_bridge::pool::{ApplyReply, ReplPool};
use lean_bridge::proof::ProofHandle;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::cache::ProofCache;
use crate::search::{Candidate, ProposalHint, StateHint, selected_tactics};

/// Lean's reply to one tactic, as the pool gives it.
pub type Reply = Result<ApplyReply, BridgeError>;

/// States whose handles and tactics are kept for running ahead: a few rounds of look-ahead
/// hints and of new children, so a state outranked for a while still finds its answers.
const STATES_KEPT: usize = 64;

/// Tactics waiting to run ahead, at most: the first queued are dropped beyond (only a bound; a
/// search's look-ahead queues a few states' width each).
const QUEUED_KEPT: usize = 1024;

/// What became of one search's speculation, for the logs, the bench and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeculationStats {
    /// Tactics sent to Lean ahead of need.
    pub speculated: u64,
    /// Of those, answers the search took.
    pub used: u64,
    /// The most tactic applications of this search in flight at once, real and speculative.
    pub peak_in_flight: usize,
    /// States produced by tactics run ahead and announced to the policy before the search
    /// took them.
    pub announced: u64,
}

impl SpeculationStats {
    /// Tactics run ahead whose answers the search never asked for (so far).
    pub fn dropped(&self) -> u64 {
        self.speculated.saturating_sub(self.used)
    }
}

/// One search's speculation: shared by its environment, the policy's ear and the tasks running
/// its tactics.
pub struct Speculation {
    /// Itself, for the slots and tasks it hands out.
    me: Weak<Speculation>,
    pool: Arc<ReplPool>,
    runtime: Handle,
    cache: Option<Arc<ProofCache>>,
    /// The most tactic applications in flight at once, real and speculative.
    limit: usize,
    /// How many of a state's proposals the search runs (its expansion width).
    width: usize,
    deadline: Duration,
    /// The policy's ear for new states, and how many children of one state run ahead it hears
    /// of (the look-ahead).
    ear: Option<(Arc<dyn StateHint>, usize)>,
    table: Mutex<Table>,
    /// Signalled whenever a slot is given back.
    freed: Condvar,
}

#[derive(Default)]
struct Table {
    /// By canonical text: what is known of a state so far.
    states: HashMap<String, Ahead>,
    /// Those texts, oldest first; at most [`STATES_KEPT`].
    order: VecDeque<String>,
    /// Tactics waiting to run ahead, each with its state's rank; the highest rank runs first,
    /// then the first queued.
    queue: VecDeque<(Rank, Key)>,
    /// Expansions begun so far: the first part of a rank.
    epoch: u64,
    /// States ranked in this epoch so far.
    ranked: u32,
    /// Tactics run ahead, running or answered, not yet taken by the search.
    launched: HashMap<Key, JoinHandle<Reply>>,
    /// Their keys, oldest first (some already taken): the oldest are forgotten beyond a bound.
    launched_order: VecDeque<Key>,
    /// This search's tactic applications in flight, real and speculative.
    in_flight: usize,
    /// Tactics of the expansion under way not yet launched: their slots are kept for them.
    reserved: usize,
    /// The search waits for a slot: speculation launches nothing meanwhile.
    real_waiting: usize,
    /// The state the search chose to expand next, with how many of its workers should hold
    /// it, while the search waits for the policy's answer: until the expansion begins, workers
    /// as they come free rebuild it instead of running anything ahead.
    expanding: Option<(ProofHandle, usize)>,
    /// The search ended: nothing more is launched.
    closed: bool,
    stats: SpeculationStats,
}

/// A state and a tactic on it.
type Key = (ProofHandle, String);

/// How likely a state is to be expanded soon, larger first: the states learned since the
/// latest expansion began (its children, in the order they came), then those of the one before
/// (the search's look-ahead, best first, then that expansion's children), and so on. A
/// best-first search most often goes on with a child of what it just expanded.
type Rank = (u64, std::cmp::Reverse<u32>);

/// What is known of one state: its handle (from the environment) and the tactics its
/// expansion would run (from the policy), and whether they were queued.
#[derive(Default)]
struct Ahead {
    /// 0: the search knows the state (it hinted at it, or one of its tactics produced it);
    /// 1: a tactic run ahead on such a state produced it.
    generation: u8,
    /// Its children produced ahead of need and announced to the policy so far.
    announced: usize,
    rank: Rank,
    handle: Option<ProofHandle>,
    tactics: Option<Vec<String>>,
    queued: bool,
    /// The search has expanded it: a late answer for it queues nothing.
    expanded: bool,
}

/// One tactic application in flight for the search; dropping it gives the slot back.
pub struct Slot {
    speculation: Arc<Speculation>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut table = self.speculation.lock();
            table.in_flight = table.in_flight.saturating_sub(1);
        }
        self.speculation.freed.notify_all();
        self.speculation.pump();
    }
}

/// How the search's own run of a tactic goes ([`Speculation::claim`]).
pub enum Claim {
    /// It was run ahead: this task answers it.
    Ahead(JoinHandle<Reply>),
    /// It was not: run it now, holding this slot.
    Run(Slot),
}

impl Speculation {
    /// Speculation for one search over `pool`, with at most `limit` tactic applications in
    /// flight, the first `width` proposals of a state run ahead, each with `deadline`. With an
    /// `ear` (the policy's, and a bound), a tactic run ahead on a state the search knows
    /// announces the state it produced at once (the first `bound` per state), so the model's
    /// answer for it, and then its own tactics, are under way before the search even takes the
    /// answer; states found that way announce nothing further.
    pub fn new(
        pool: Arc<ReplPool>,
        runtime: Handle,
        cache: Option<Arc<ProofCache>>,
        (limit, width, deadline): (usize, usize, Duration),
        ear: Option<(Arc<dyn StateHint>, usize)>,
    ) -> Arc<Speculation> {
        Arc::new_cyclic(|me| Speculation {
            me: me.clone(),
            pool,
            runtime,
            cache,
            limit: limit.max(1),
            width,
            deadline,
            ear,
            table: Mutex::new(Table::default()),
            freed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What became of the speculation so far.
    pub fn stats(&self) -> SpeculationStats {
        self.lock().stats
    }

    /// The search will probably expand `state` soon, or a tactic just produced it. A state the
    /// search names (`chosen`) replaces another handle of the same text: it is the one the
    /// search will ask about (the first path to the text); a produced one only fills a gap.
    pub fn know_state(&self, state: &ProofHandle, chosen: bool) {
        let text = super::state_text(state);
        {
            let mut table = self.lock();
            let rank = table.next_rank();
            let ahead = table.entry(text.clone());
            ahead.generation = 0;
            ahead.rank = rank;
            match &ahead.handle {
                Some(known) if known == state || !chosen => {}
                _ => {
                    ahead.handle = Some(state.clone());
                    ahead.queued = false;
                }
            }
            if let Some(handle) = ahead.handle.clone() {
                for (queued_rank, (queued, _)) in &mut table.queue {
                    if *queued == handle {
                        *queued_rank = rank;
                    }
                }
            }
            table.queue_ready(&text);
        }
        self.pump();
    }

    /// The search chose `state` to expand next and now asks the policy for its tactics. Those
    /// of its likely tactics not already run ahead will need workers holding it the moment the
    /// answer is in: until the expansion [`begin`](Self::begin)s, nothing more runs ahead and
    /// workers as they come free rebuild the state ([`ReplPool::preload`]), up to one per such
    /// tactic (all `limit` while the policy's answer is not known). Nothing when every likely
    /// tactic already ran ahead.
    pub fn about_to_expand(&self, state: &ProofHandle) {
        let text = super::state_text(state);
        {
            let mut table = self.lock();
            let not_run_ahead = table
                .states
                .get(&text)
                .and_then(|ahead| ahead.tactics.as_ref())
                .map(|tactics| {
                    tactics
                        .iter()
                        .filter(|t| !table.launched.contains_key(&(state.clone(), (*t).clone())))
                        .count()
                });
            let want = not_run_ahead.unwrap_or(self.limit).min(self.limit);
            table.expanding = (want > 0).then(|| (state.clone(), want));
        }
        self.pump();
    }

    /// The search's expansion of `state` is about to launch `tactics` tactics: their slots are
    /// kept for them until each is claimed, skipped or the expansion [`end`](Self::end)s. The
    /// state's tactics are run ahead no more: the search asks for them now.
    pub fn begin(&self, state: &ProofHandle, tactics: usize) {
        let text = super::state_text(state);
        let mut table = self.lock();
        table.reserved = tactics;
        table.expanding = None;
        table.epoch += 1;
        table.ranked = 0;
        table.entry(text).expanded = true;
    }

    /// One tactic of the expansion needs no launch (the cache answered it).
    pub fn skip(&self) {
        let mut table = self.lock();
        table.reserved = table.reserved.saturating_sub(1);
    }

    /// The search runs `tactic` on `state` now: the task that ran it ahead if there is one, or
    /// else a slot, waited for (on this blocking thread) while `limit` applications are in
    /// flight; speculation starts nothing while the search waits.
    pub fn claim(&self, state: &ProofHandle, tactic: &str) -> Claim {
        let key = (state.clone(), tactic.to_owned());
        let mut table = self.lock();
        table.reserved = table.reserved.saturating_sub(1);
        if let Some(task) = table.launched.remove(&key) {
            table.stats.used += 1;
            return Claim::Ahead(task);
        }
        table.queue.retain(|(_, queued)| *queued != key);
        table.real_waiting += 1;
        while table.in_flight >= self.limit {
            table = self.freed.wait(table).unwrap_or_else(|p| p.into_inner());
        }
        table.real_waiting -= 1;
        table.take_slot();
        drop(table);
        Claim::Run(self.slot())
    }

    /// The search ended: nothing more runs ahead (tactics running finish on their own, their
    /// answers dropped).
    pub fn close(&self) {
        let mut table = self.lock();
        table.closed = true;
        table.expanding = None;
        table.queue.clear();
        table.launched.clear();
        table.launched_order.clear();
    }

    /// The expansion launched all it will: what it kept free goes back to speculation.
    pub fn end(&self) {
        self.lock().reserved = 0;
        self.pump();
    }

    fn slot(&self) -> Slot {
        Slot {
            speculation: self
                .me
                .upgrade()
                .expect("a live speculation hands out its slots"),
        }
    }

    /// Launches queued tactics while the bound, the expansion under way and the pool allow:
    /// each on a worker idle right now that no waiting request wants ([`ReplPool::try_apply`]),
    /// so work ahead of need never queues for a worker.
    fn pump(&self) {
        let Some(me) = self.me.upgrade() else {
            return;
        };
        loop {
            let (key, run, slot) = {
                let mut table = self.lock();
                if table.closed {
                    return;
                }
                if let Some((state, want)) = table.expanding.clone() {
                    drop(table);
                    let _runtime = self.runtime.enter();
                    let replays = self.pool.preload(&state, want, self.deadline).len();
                    if replays > 0 {
                        tracing::trace!(
                            replays,
                            depth = state.depth(),
                            "preloading the next state"
                        );
                    }
                    return;
                }
                let (key, run) = loop {
                    if table.closed
                        || table.real_waiting > 0
                        || table.in_flight + table.reserved >= self.limit
                    {
                        return;
                    }
                    let Some(at) = table.likeliest() else {
                        return;
                    };
                    let key = table.queue[at].1.clone();
                    if table.launched.contains_key(&key) || self.cached(&key) {
                        table.queue.remove(at);
                        continue;
                    }
                    // Taken under the table's lock (the pool's lock nests inside it, never
                    // the other way round), so no other launch can count on the same worker.
                    let Some(run) = self.pool.try_apply(&key.0, &key.1, self.deadline) else {
                        return;
                    };
                    table.queue.remove(at);
                    break (key, run);
                };
                table.take_slot();
                table.stats.speculated += 1;
                let slot = Slot {
                    speculation: Arc::clone(&me),
                };
                (key, run, slot)
            };
            // Spawned outside the lock: a runtime shutting down drops the task at once (and
            // with it the worker, given back, and the slot, whose drop takes the lock).
            let (state, speculation) = (key.0.clone(), Arc::clone(&me));
            let task = self.runtime.spawn(async move {
                let reply = run.await;
                if let Ok(ApplyReply::Open(child)) = &reply {
                    speculation.produced(&state, child);
                }
                // The slot goes back only now, after the worker did: the next launch may take it.
                drop(slot);
                reply
            });
            tracing::trace!(tactic = %key.1, depth = key.0.depth(), "running a tactic ahead of need");
            let mut table = self.lock();
            if table.closed {
                continue;
            }
            // The search may have claimed this tactic in between and run it itself; then this
            // answer is one it never takes.
            table.launched.insert(key.clone(), task);
            table.launched_order.push_back(key);
            let kept = STATES_KEPT * self.width.max(1);
            while table.launched_order.len() > kept {
                if let Some(old) = table.launched_order.pop_front() {
                    // Forgotten, not aborted: a REPL request dropped halfway would kill its process.
                    table.launched.remove(&old);
                }
            }
        }
    }

    /// A tactic run ahead on `parent` produced `child`: when the search knows `parent`, the
    /// policy hears of `child` at once (within the bound per parent), and `child` may run
    /// ahead in turn once the policy's answer for it is in.
    fn produced(&self, parent: &ProofHandle, child: &ProofHandle) {
        let Some((ear, bound)) = &self.ear else {
            return;
        };
        let (parent_text, child_text) = (super::state_text(parent), super::state_text(child));
        {
            let mut table = self.lock();
            if table.closed {
                return;
            }
            let Some(ahead) = table.states.get_mut(&parent_text) else {
                return;
            };
            if ahead.generation > 0 || ahead.announced >= *bound {
                return;
            }
            ahead.announced += 1;
            if !table.states.contains_key(&child_text) {
                let rank = table.next_rank();
                let ahead = table.entry(child_text.clone());
                ahead.generation = 1;
                ahead.rank = rank;
                ahead.handle = Some(child.clone());
                table.stats.announced += 1;
            } else {
                // Known already (the search's, or another path's): nothing new to announce.
                return;
            }
        }
        ear.new_state(&child_text);
    }

    /// Whether the cache already answers this tactic (the search will not ask Lean).
    fn cached(&self, (state, tactic): &Key) -> bool {
        self.cache.as_ref().is_some_and(|cache| {
            cache
                .transition(state.header(), &super::state_text(state), tactic)
                .is_some()
        })
    }
}

impl ProposalHint for Speculation {
    fn proposed(&self, state: &str, candidates: &[Candidate]) {
        let tactics = likely_tactics(candidates, self.width);
        {
            let mut table = self.lock();
            let ahead = table.entry(state.to_owned());
            if ahead.tactics.as_ref() != Some(&tactics) {
                ahead.tactics = Some(tactics);
                ahead.queued = false;
            }
            table.queue_ready(state);
        }
        self.pump();
    }
}

impl Table {
    /// The entry for `text`, made (and the oldest forgotten beyond [`STATES_KEPT`]) if new.
    fn entry(&mut self, text: String) -> &mut Ahead {
        if !self.states.contains_key(&text) {
            while self.order.len() >= STATES_KEPT {
                if let Some(old) = self.order.pop_front() {
                    self.states.remove(&old);
                }
            }
            self.order.push_back(text.clone());
        }
        self.states.entry(text).or_default()
    }

    /// Queues the state's tactics once both its handle and its tactics are known.
    fn queue_ready(&mut self, text: &str) {
        let Some(ahead) = self.states.get_mut(text) else {
            return;
        };
        let (Some(handle), Some(tactics), false, false) =
            (&ahead.handle, &ahead.tactics, ahead.queued, ahead.expanded)
        else {
            return;
        };
        ahead.queued = true;
        let rank = ahead.rank;
        let keys: Vec<(Rank, Key)> = tactics
            .iter()
            .map(|tactic| (rank, (handle.clone(), tactic.clone())))
            .collect();
        self.queue.extend(keys);
        while self.queue.len() > QUEUED_KEPT {
            self.queue.pop_front();
        }
    }

    /// The next rank in this epoch.
    fn next_rank(&mut self) -> Rank {
        self.ranked = self.ranked.saturating_add(1);
        (self.epoch, std::cmp::Reverse(self.ranked))
    }

    /// Where the queued tactic of the likeliest state is (the first queued among equals).
    fn likeliest(&self) -> Option<usize> {
        let mut best: Option<(usize, Rank)> = None;
        for (at, (rank, _)) in self.queue.iter().enumerate() {
            if best.is_none_or(|(_, best_rank)| *rank > best_rank) {
                best = Some((at, *rank));
            }
        }
        best.map(|(at, _)| at)
    }

    fn take_slot(&mut self) {
        self.in_flight += 1;
        self.stats.peak_in_flight = self.stats.peak_in_flight.max(self.in_flight);
    }
}

/// The tactics the search would run for `candidates`, best first: the core's own selection
/// ([`selected_tactics`]: trimmed, empty ones and repeats dropped, ordered by score, the first
/// `width`). The search's filter is not applied: a tactic it refuses is run ahead for nothing.
pub fn likely_tactics(candidates: &[Candidate], width: usize) -> Vec<String> {
    selected_tactics(candidates.to_vec(), width)
        .into_iter()
        .map(|candidate| candidate.tactic)
        .collect()
}
