//! Data-driven tests of `prover::search`: each test is an offline fixture and the expected search trace.
//!
//! A trace lists every event the hook saw, then the outcome and the non-zero counters. When a
//! test fails, the assertion prints the actual trace so it can be reviewed and pasted back.

use std::fmt::Write as _;
use std::time::Duration;

use prover::search::offline::{AlwaysAccept, OfflineEnv, OfflineState, ScriptedPolicy};
use prover::search::{
    Applied, Candidate, CheckError, EdgeOutcome, EnvError, ManualClock, Outcome, Policy,
    PolicyError, Proof, ProofEnv, Query, Search, SearchConfig, SearchEvent, SearchReport,
    SearchStats, Verdict,
};

// ---------------------------------------------------------------------------------------------
// Proofs found

#[test]
fn proves_an_intro_constructor_chain() {
    check(
        "
        ⊢ p → q → p ∧ q
          -0.1 intro hp hq => hp : p, hq : q ⊢ p ∧ q
          -0.5 simp        => error: simp made no progress
        hp : p, hq : q ⊢ p ∧ q
          -0.2 constructor => hp : p, hq : q ⊢ p ; hp : p, hq : q ⊢ q
        hp : p, hq : q ⊢ p ; hp : p, hq : q ⊢ q
          -0.1 exact hp    => hp : p, hq : q ⊢ q
        hp : p, hq : q ⊢ q
          -0.1 exact hq    => done
        ",
        "
        select #0 ⊢ p → q → p ∧ q (depth 0, priority 0.000)
          intro hp hq (-0.10) -> new #1 hp : p, hq : q ⊢ p ∧ q
          simp (-0.50) -> refused: simp made no progress
        select #1 hp : p, hq : q ⊢ p ∧ q (depth 1, priority -0.100)
          constructor (-0.20) -> new #2 hp : p, hq : q ⊢ p ; hp : p, hq : q ⊢ q
        select #2 hp : p, hq : q ⊢ p ; hp : p, hq : q ⊢ q (depth 2, priority -0.075)
          exact hp (-0.10) -> new #3 hp : p, hq : q ⊢ q
        select #3 hp : p, hq : q ⊢ q (depth 3, priority -0.044)
          exact hq (-0.10) -> proved
        recheck [intro hp hq; constructor; exact hp; exact hq] -> accepted
        outcome: proved [intro hp hq; constructor; exact hp; exact hq]
        stats: expansions 4, policy_calls 4, env_calls 5, candidates_proposed 5, tactics_refused 1, states 4, max_depth 3
        ",
    );
}

#[test]
fn stops_expanding_a_node_at_its_first_proved_child() {
    check(
        "
        ⊢ True
          -0.1 trivial => done
          -0.2 simp    => done
          -0.3 decide  => done
        ",
        "
        select #0 ⊢ True (depth 0, priority 0.000)
          trivial (-0.10) -> proved
        recheck [trivial] -> accepted
        outcome: proved [trivial]
        stats: expansions 1, policy_calls 1, env_calls 1, candidates_proposed 3, states 1
        ",
    );
}

#[test]
fn backs_up_from_a_dead_end_to_a_worse_scored_branch() {
    // `tauto` looks best but leads to a state no tactic works on.
    check(
        "
        ⊢ a ≤ b → a < b + 1
          -0.1 intro h => h : a ≤ b ⊢ a < b + 1
          -0.3 tauto   => ⊢ False
        h : a ≤ b ⊢ a < b + 1
          -0.4 omega   => done
        ⊢ False
          -0.1 simp    => error: simp made no progress
        ",
        "
        select #0 ⊢ a ≤ b → a < b + 1 (depth 0, priority 0.000)
          intro h (-0.10) -> new #1 h : a ≤ b ⊢ a < b + 1
          tauto (-0.30) -> new #2 ⊢ False
        select #1 h : a ≤ b ⊢ a < b + 1 (depth 1, priority -0.100)
          omega (-0.40) -> proved
        recheck [intro h; omega] -> accepted
        outcome: proved [intro h; omega]
        stats: expansions 2, policy_calls 2, env_calls 3, candidates_proposed 3, states 3, max_depth 1
        ",
    );
    check(
        "
        ⊢ a ≤ b → a < b + 1
          -0.3 intro h => h : a ≤ b ⊢ a < b + 1
          -0.1 tauto   => ⊢ False
        h : a ≤ b ⊢ a < b + 1
          -0.4 omega   => done
        ⊢ False
          -0.1 simp    => error: simp made no progress
        ",
        "
        select #0 ⊢ a ≤ b → a < b + 1 (depth 0, priority 0.000)
          tauto (-0.10) -> new #1 ⊢ False
          intro h (-0.30) -> new #2 h : a ≤ b ⊢ a < b + 1
        select #1 ⊢ False (depth 1, priority -0.100)
          simp (-0.10) -> refused: simp made no progress
        select #2 h : a ≤ b ⊢ a < b + 1 (depth 1, priority -0.300)
          omega (-0.40) -> proved
        recheck [intro h; omega] -> accepted
        outcome: proved [intro h; omega]
        stats: expansions 3, policy_calls 3, env_calls 4, candidates_proposed 4, tactics_refused 1, states 3, failed_states 1, max_depth 1
        ",
    );
}

#[test]
fn depth_exponent_decides_between_shallow_and_deep_nodes() {
    // The example of docs/search-algorithm.md §3: A at depth 1 with C = -0.9, B at depth 3 with
    // C = -1.8. α = 0 pops A first, α = 2 pops B first.
    let fixture = "
        ⊢ goal
          -0.9 a  => ⊢ A
          -0.5 b1 => ⊢ B1
        ⊢ B1
          -0.6 b2 => ⊢ B2
        ⊢ B2
          -0.7 b3 => ⊢ B
        ⊢ A
          -0.1 finish => done
        ⊢ B
          -0.1 finish => done
        ";
    case(fixture).config(|c| c.depth_exponent = 0.0).check(
        "
        select #0 ⊢ goal (depth 0, priority 0.000)
          b1 (-0.50) -> new #1 ⊢ B1
          a (-0.90) -> new #2 ⊢ A
        select #1 ⊢ B1 (depth 1, priority -0.500)
          b2 (-0.60) -> new #3 ⊢ B2
        select #2 ⊢ A (depth 1, priority -0.900)
          finish (-0.10) -> proved
        recheck [a; finish] -> accepted
        outcome: proved [a; finish]
        stats: expansions 3, policy_calls 3, env_calls 4, candidates_proposed 4, states 4, max_depth 2
        ",
    );
    case(fixture).config(|c| c.depth_exponent = 2.0).check(
        "
        select #0 ⊢ goal (depth 0, priority 0.000)
          b1 (-0.50) -> new #1 ⊢ B1
          a (-0.90) -> new #2 ⊢ A
        select #1 ⊢ B1 (depth 1, priority -0.500)
          b2 (-0.60) -> new #3 ⊢ B2
        select #3 ⊢ B2 (depth 2, priority -0.275)
          b3 (-0.70) -> new #4 ⊢ B
        select #4 ⊢ B (depth 3, priority -0.200)
          finish (-0.10) -> proved
        recheck [b1; b2; b3; finish] -> accepted
        outcome: proved [b1; b2; b3; finish]
        stats: expansions 4, policy_calls 4, env_calls 5, candidates_proposed 5, states 5, max_depth 3
        ",
    );
}

#[test]
fn equal_priorities_pop_in_insertion_order() {
    // Without scores every priority is 0, so the search is breadth-first.
    check(
        "
        ⊢ r
          left  => ⊢ l
          right => ⊢ m
        ⊢ l
          deep => ⊢ d
        ⊢ m
          close => done
        ⊢ d
          close => done
        ",
        "
        select #0 ⊢ r (depth 0, priority 0.000)
          left (0.00) -> new #1 ⊢ l
          right (0.00) -> new #2 ⊢ m
        select #1 ⊢ l (depth 1, priority 0.000)
          deep (0.00) -> new #3 ⊢ d
        select #2 ⊢ m (depth 1, priority 0.000)
          close (0.00) -> proved
        recheck [right; close] -> accepted
        outcome: proved [right; close]
        stats: expansions 3, policy_calls 3, env_calls 4, candidates_proposed 4, states 4, max_depth 2
        ",
    );
}

// ---------------------------------------------------------------------------------------------
// Deduplication

#[test]
fn a_repeated_state_keeps_its_first_score_and_is_not_requeued() {
    check(
        "
        ⊢ n + 0 = n
          -0.1 rw [Nat.add_zero] => ⊢ n = n
          -0.2 simp only [Nat.add_zero] => ⊢ n = n
          -0.3 skip => ⊢ n + 0 = n
        ⊢ n = n
          -0.5 rfl => done
        ",
        "
        select #0 ⊢ n + 0 = n (depth 0, priority 0.000)
          rw [Nat.add_zero] (-0.10) -> new #1 ⊢ n = n
          simp only [Nat.add_zero] (-0.20) -> known #1 ⊢ n = n
          skip (-0.30) -> known #0 ⊢ n + 0 = n
        select #1 ⊢ n = n (depth 1, priority -0.100)
          rfl (-0.50) -> proved
        recheck [rw [Nat.add_zero]; rfl] -> accepted
        outcome: proved [rw [Nat.add_zero]; rfl]
        stats: expansions 2, policy_calls 2, env_calls 4, candidates_proposed 4, states 2, duplicate_states 2, max_depth 1
        ",
    );
}

#[test]
fn duplicate_and_empty_candidates_run_once() {
    let root = OfflineState::parse("⊢ p");
    case(
        "
        ⊢ p
          -0.5 assumption => done
        ",
    )
    .also_propose(&root, "  assumption ", -0.1)
    .also_propose(&root, "assumption", -0.2)
    .also_propose(&root, "   ", 0.0)
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          assumption (-0.50) -> proved
        recheck [assumption] -> accepted
        outcome: proved [assumption]
        stats: expansions 1, policy_calls 1, env_calls 1, candidates_proposed 4, duplicate_tactics 3, states 1
        ",
    );
}

#[test]
fn the_reported_proof_is_the_shortest_known_one() {
    // #3 is first reached through a, c (depth 3); b later reaches it in two steps, and the
    // proof goes that way even though the search never expanded #3 through b.
    check(
        "
        ⊢ s
          -0.1 a => ⊢ A
          -1.0 b => ⊢ B
        ⊢ A
          -0.1 c => ⊢ C
        ⊢ C
          -10 d => ⊢ D
        ⊢ B
          -0.1 e => ⊢ D
        ⊢ D
          -0.1 fin => done
        ",
        "
        select #0 ⊢ s (depth 0, priority 0.000)
          a (-0.10) -> new #1 ⊢ A
          b (-1.00) -> new #2 ⊢ B
        select #1 ⊢ A (depth 1, priority -0.100)
          c (-0.10) -> new #3 ⊢ C
        select #3 ⊢ C (depth 2, priority -0.050)
          d (-10.00) -> new #4 ⊢ D
        select #2 ⊢ B (depth 1, priority -1.000)
          e (-0.10) -> known #4 ⊢ D
        select #4 ⊢ D (depth 3, priority -1.133)
          fin (-0.10) -> proved
        recheck [b; e; fin] -> accepted
        outcome: proved [b; e; fin]
        stats: expansions 5, policy_calls 5, env_calls 6, candidates_proposed 6, states 5, duplicate_states 1, max_depth 3
        ",
    );
}

// ---------------------------------------------------------------------------------------------
// Width and filtering

#[test]
fn width_runs_only_the_best_candidates() {
    let fixture = "
        ⊢ x = x
          -0.1 simp  => error: simp made no progress
          -0.2 ring  => error: ring failed
          -0.9 rfl   => done
        ";
    case(fixture).config(|c| c.expansion_width = 2).check(
        "
        select #0 ⊢ x = x (depth 0, priority 0.000)
          simp (-0.10) -> refused: simp made no progress
          ring (-0.20) -> refused: ring failed
        outcome: failed: search space exhausted
        stats: expansions 1, policy_calls 1, env_calls 2, candidates_proposed 3, candidates_beyond_width 1, tactics_refused 2, states 1, failed_states 1
        ",
    );
    case(fixture).config(|c| c.expansion_width = 3).check(
        "
        select #0 ⊢ x = x (depth 0, priority 0.000)
          simp (-0.10) -> refused: simp made no progress
          ring (-0.20) -> refused: ring failed
          rfl (-0.90) -> proved
        recheck [rfl] -> accepted
        outcome: proved [rfl]
        stats: expansions 1, policy_calls 1, env_calls 3, candidates_proposed 3, tactics_refused 2, states 1
        ",
    );
}

#[test]
fn the_filter_runs_before_the_width_cut_and_counts_what_it_drops() {
    case(
        "
        ⊢ 1 + 1 = 2
          -0.1 sorry         => done
          -0.2 native_decide => done
          -0.3 norm_num      => done
        ",
    )
    .config(|c| c.expansion_width = 1)
    .block("sorry")
    .block("native_decide")
    .check(
        "
        select #0 ⊢ 1 + 1 = 2 (depth 0, priority 0.000)
          sorry (-0.10) filtered: blocked by the test
          native_decide (-0.20) filtered: blocked by the test
          norm_num (-0.30) -> proved
        recheck [norm_num] -> accepted
        outcome: proved [norm_num]
        stats: expansions 1, policy_calls 1, env_calls 1, candidates_proposed 3, candidates_rejected 2, states 1
        ",
    );
}

// ---------------------------------------------------------------------------------------------
// Recheck

#[test]
fn a_rejected_proof_is_not_reported_and_the_node_resumes() {
    case(
        "
        ⊢ p
          -0.1 exact?  => done
          -0.2 apply h => ⊢ q
        ⊢ q
          -0.1 exact hq => done
        ",
    )
    .reject_proof("exact?")
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          exact? (-0.10) -> proved
        recheck [exact?] -> rejected: uses sorryAx
        select #0 ⊢ p (depth 0, priority 0.000)
          apply h (-0.20) -> new #1 ⊢ q
        select #1 ⊢ q (depth 1, priority -0.200)
          exact hq (-0.10) -> proved
        recheck [apply h; exact hq] -> accepted
        outcome: proved [apply h; exact hq]
        stats: expansions 3, policy_calls 2, env_calls 3, candidates_proposed 3, states 2, max_depth 1, proofs_rejected 1
        ",
    );
}

#[test]
fn a_rejected_last_tactic_fails_its_node() {
    case(
        "
        ⊢ p
          -0.1 constructor => ⊢ a
          -0.2 left        => ⊢ b
        ⊢ a
          -0.1 decide => done
        ⊢ b
          -0.1 trivial => done
        ",
    )
    .reject_proof("constructor; decide")
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          constructor (-0.10) -> new #1 ⊢ a
          left (-0.20) -> new #2 ⊢ b
        select #1 ⊢ a (depth 1, priority -0.100)
          decide (-0.10) -> proved
        recheck [constructor; decide] -> rejected: uses sorryAx
        select #2 ⊢ b (depth 1, priority -0.200)
          trivial (-0.10) -> proved
        recheck [left; trivial] -> accepted
        outcome: proved [left; trivial]
        stats: expansions 3, policy_calls 3, env_calls 4, candidates_proposed 4, states 3, failed_states 1, max_depth 1, proofs_rejected 1
        ",
    );
}

#[test]
fn checker_errors_withhold_the_proof_and_count() {
    case(
        "
        ⊢ p
          -0.1 simp  => done
          -0.2 aesop => done
        ",
    )
    .checker_fails()
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          simp (-0.10) -> proved
        recheck [simp] -> error: recheck process died
        select #0 ⊢ p (depth 0, priority 0.000)
          aesop (-0.20) -> proved
        recheck [aesop] -> error: recheck process died
        outcome: failed: search incomplete: the checker failed 2 time(s), so the tree ran out of work without being explored; last error: recheck process died
        stats: expansions 2, policy_calls 1, env_calls 2, candidates_proposed 2, states 1, failed_states 1, check_errors 2, proofs_rejected 2
        ",
    );
}

// ---------------------------------------------------------------------------------------------
// Infrastructure errors

#[test]
fn an_env_error_fails_one_edge_and_the_search_goes_on() {
    check(
        "
        ⊢ p
          -0.1 omega => env-error: repl exited while running omega
          -0.2 simp  => done
        ",
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          omega (-0.10) -> env error: repl exited while running omega
          simp (-0.20) -> proved
        recheck [simp] -> accepted
        outcome: proved [simp]
        stats: expansions 1, policy_calls 1, env_calls 2, candidates_proposed 2, states 1, env_errors 1
        ",
    );
}

#[test]
fn too_many_consecutive_env_errors_end_the_search() {
    case(
        "
        ⊢ p
          -0.1 a => env-error: timeout
          -0.2 b => env-error: repl exited
          -0.3 c => done
        ",
    )
    .config(|c| c.max_consecutive_errors = 2)
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          a (-0.10) -> env error: timeout
          b (-0.20) -> env error: repl exited
        outcome: failed: infrastructure failure: environment failed 2 times in a row; last error: repl exited
        stats: expansions 1, policy_calls 1, env_calls 2, candidates_proposed 3, states 1, env_errors 2
        ",
    );
}

#[test]
fn a_success_resets_the_error_streak() {
    case(
        "
        ⊢ p
          -0.1 a => env-error: timeout
          -0.2 b => error: unknown identifier
          -0.3 c => env-error: timeout
          -0.4 d => done
        ",
    )
    .config(|c| c.max_consecutive_errors = 2)
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          a (-0.10) -> env error: timeout
          b (-0.20) -> refused: unknown identifier
          c (-0.30) -> env error: timeout
          d (-0.40) -> proved
        recheck [d] -> accepted
        outcome: proved [d]
        stats: expansions 1, policy_calls 1, env_calls 4, candidates_proposed 4, tactics_refused 1, states 1, env_errors 2
        ",
    );
}

#[test]
fn a_policy_error_abandons_the_node_without_failing_it() {
    let stuck = OfflineState::parse("⊢ q");
    case(
        "
        ⊢ p
          -0.1 intro => ⊢ q
          -0.5 apply foo => ⊢ r
        ⊢ r
          -0.1 exact bar => done
        ",
    )
    .policy_fails_on(&stuck, "model server unreachable")
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          intro (-0.10) -> new #1 ⊢ q
          apply foo (-0.50) -> new #2 ⊢ r
        select #1 ⊢ q (depth 1, priority -0.100)
          policy failed: model server unreachable
        select #2 ⊢ r (depth 1, priority -0.500)
          exact bar (-0.10) -> proved
        recheck [apply foo; exact bar] -> accepted
        outcome: proved [apply foo; exact bar]
        stats: expansions 3, policy_calls 3, env_calls 3, candidates_proposed 3, states 3, max_depth 1, policy_errors 1
        ",
    );
}

#[test]
fn a_tree_left_unexplored_by_a_failing_policy_is_incomplete_not_exhausted() {
    // The model server is down for the one state that leads to the proof: the tree runs out,
    // but "no proof exists" would be a lie (issue 7: outages were cached as failures).
    let stuck = OfflineState::parse("⊢ q");
    case(
        "
        ⊢ p
          -0.1 intro => ⊢ q
        ⊢ q
          -0.1 exact bar => done
        ",
    )
    .policy_fails_on(&stuck, "HTTP 500")
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          intro (-0.10) -> new #1 ⊢ q
        select #1 ⊢ q (depth 1, priority -0.100)
          policy failed: HTTP 500
        outcome: failed: search incomplete: the policy failed 1 time(s), so the tree ran out of work without being explored; last error: HTTP 500
        stats: expansions 2, policy_calls 2, env_calls 1, candidates_proposed 1, states 2, max_depth 1, policy_errors 1
        ",
    );
}

#[test]
fn a_tree_left_unexplored_by_crashing_tactics_is_incomplete() {
    check(
        "
        ⊢ p
          -0.1 omega => env-error: repl exited while running omega
          -0.2 simp  => error: simp made no progress
        ",
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          omega (-0.10) -> env error: repl exited while running omega
          simp (-0.20) -> refused: simp made no progress
        outcome: failed: search incomplete: the environment failed 1 time(s), so the tree ran out of work without being explored; last error: repl exited while running omega
        stats: expansions 1, policy_calls 1, env_calls 2, candidates_proposed 2, tactics_refused 1, states 1, failed_states 1, env_errors 1
        ",
    );
}

// ---------------------------------------------------------------------------------------------
// Stop reasons

#[test]
fn exhausted_when_every_branch_fails() {
    check(
        "
        ⊢ False
          -0.1 intro => h : True ⊢ False
          -0.2 simp  => error: simp made no progress
        h : True ⊢ False
          -0.1 contradiction => error: no contradiction
        ",
        "
        select #0 ⊢ False (depth 0, priority 0.000)
          intro (-0.10) -> new #1 h : True ⊢ False
          simp (-0.20) -> refused: simp made no progress
        select #1 h : True ⊢ False (depth 1, priority -0.100)
          contradiction (-0.10) -> refused: no contradiction
        outcome: failed: search space exhausted
        stats: expansions 2, policy_calls 2, env_calls 3, candidates_proposed 3, tactics_refused 2, states 2, failed_states 2, max_depth 1
        ",
    );
}

#[test]
fn stops_at_the_expansion_limit() {
    case(CHAIN).config(|c| c.max_expansions = Some(2)).check(
        "
        select #0 ⊢ s0 (depth 0, priority 0.000)
          step (-0.50) -> new #1 ⊢ s1
        select #1 ⊢ s1 (depth 1, priority -0.500)
          step (-0.50) -> new #2 ⊢ s2
        outcome: failed: expansion limit of 2 reached
        stats: expansions 2, policy_calls 2, env_calls 2, candidates_proposed 2, states 3, max_depth 2
        ",
    );
}

#[test]
fn stops_at_the_env_call_limit_even_inside_an_expansion() {
    case(
        "
        ⊢ p
          -0.1 a => error: no
          -0.2 b => error: no
          -0.3 c => done
        ",
    )
    .config(|c| c.max_env_calls = Some(2))
    .check(
        "
        select #0 ⊢ p (depth 0, priority 0.000)
          a (-0.10) -> refused: no
          b (-0.20) -> refused: no
        outcome: failed: limit of 2 tactic runs reached
        stats: expansions 1, policy_calls 1, env_calls 2, candidates_proposed 3, tactics_refused 2, states 1
        ",
    );
}

#[test]
fn stops_at_the_time_limit() {
    // Every tactic takes 3 s on the manual clock; the limit is 7 s, so the third tactic is the
    // last to start.
    case(CHAIN)
        .config(|c| c.max_time = Some(Duration::from_secs(7)))
        .tick(Duration::from_secs(3))
        .check(
            "
            select #0 ⊢ s0 (depth 0, priority 0.000)
              step (-0.50) -> new #1 ⊢ s1 [3s]
            select #1 ⊢ s1 (depth 1, priority -0.500)
              step (-0.50) -> new #2 ⊢ s2 [3s]
            select #2 ⊢ s2 (depth 2, priority -0.250)
              step (-0.50) -> new #3 ⊢ s3 [3s]
            outcome: failed: time limit of 7s reached
            elapsed: 9s
            stats: expansions 3, policy_calls 3, env_calls 3, candidates_proposed 3, states 4, max_depth 3
            ",
        );
}

#[test]
fn stops_when_cancelled() {
    case(CHAIN).cancel_after_expansions(1).check(
        "
        select #0 ⊢ s0 (depth 0, priority 0.000)
        outcome: failed: cancelled
        stats: expansions 1, policy_calls 1, candidates_proposed 1, states 1
        ",
    );
}

/// A straight line of states; only the last step proves.
const CHAIN: &str = "
    ⊢ s0
      -0.5 step => ⊢ s1
    ⊢ s1
      -0.5 step => ⊢ s2
    ⊢ s2
      -0.5 step => ⊢ s3
    ⊢ s3
      -0.5 step => ⊢ s4
    ⊢ s4
      -0.5 step => done
    ";

// ---------------------------------------------------------------------------------------------
// The hook

#[test]
fn the_hook_sees_every_edge_with_its_outcome() {
    let env = OfflineEnv::from_fixture(&dedent(
        "
        ⊢ p
          -0.1 a => ⊢ q
          -0.2 b => ⊢ q
          -0.3 c => error: bad
          -0.4 d => env-error: dead
        ⊢ q
          -0.1 e => done
        ",
    ))
    .unwrap();
    let mut edges = Vec::new();
    let report = {
        let hook = |event: &SearchEvent<'_>| {
            if let SearchEvent::Edge(edge) = event {
                let outcome = match edge.outcome {
                    EdgeOutcome::NewState { .. } => "new",
                    EdgeOutcome::KnownState { .. } => "known",
                    EdgeOutcome::Proved => "proved",
                    EdgeOutcome::Rejected(_) => "rejected",
                    EdgeOutcome::EnvError(_) => "env error",
                };
                edges.push((
                    edge.parent.index(),
                    edge.tactic.to_owned(),
                    edge.score,
                    outcome,
                ));
            }
        };
        let mut search = Search::new(SearchConfig::default()).with_hook(hook);
        let mut policy = ScriptedPolicy::from_env(&env);
        let root = env.root();
        search.run(&mut env.clone(), &mut policy, &mut AlwaysAccept, root)
    };
    let expected = [
        (0, "a".to_owned(), -0.1, "new"),
        (0, "b".to_owned(), -0.2, "known"),
        (0, "c".to_owned(), -0.3, "rejected"),
        (0, "d".to_owned(), -0.4, "env error"),
        (1, "e".to_owned(), -0.1, "proved"),
    ];
    assert_eq!(edges, expected);
    assert_eq!(report.stats.env_calls as usize, edges.len());
}

#[test]
fn past_the_first_proof_the_search_collects_more_and_reports_the_first() {
    let fixture = dedent(
        "
        ⊢ p
          -0.1 a => done
          -0.2 b => ⊢ q
          -0.3 c => done
        ⊢ q
          -0.1 d => done
          -0.2 e => error: no
        ",
    );
    let env = OfflineEnv::from_fixture(&fixture).unwrap();
    let run = |wanted: u32| {
        let config = SearchConfig {
            proofs_wanted: wanted,
            ..SearchConfig::default()
        };
        let mut policy = ScriptedPolicy::from_env(&env);
        let root = env.root();
        Search::new(config).run(&mut env.clone(), &mut policy, &mut AlwaysAccept, root)
    };
    let scripts = |report: &SearchReport| -> Vec<String> {
        report.proofs.iter().map(|p| p.tactics.join("; ")).collect()
    };
    let first = run(1);
    assert_eq!(scripts(&first), ["a"]);
    let all = run(10);
    assert_eq!(
        all.proof(),
        first.proof(),
        "the reported proof is the first either way"
    );
    assert_eq!(
        scripts(&all),
        ["a", "c", "b; d"],
        "every proof, in the order found"
    );
    assert!(matches!(all.outcome, Outcome::Proved(_)));
    let two = run(2);
    assert_eq!(scripts(&two), ["a", "c"], "stops once enough are found");
    assert!(two.stats.env_calls < all.stats.env_calls);
}

#[test]
fn the_policy_is_asked_with_the_depth_and_the_first_path_to_the_state() {
    // `⊢ r` is reached first through `a; c`, then again through `b; d` before it is expanded (`c`
    // scores badly): its path stays the first.
    let env = OfflineEnv::from_fixture(&dedent(
        "
        ⊢ p
          -0.1 a => ⊢ q
          -0.2 b => ⊢ s
        ⊢ q
          -5.0 c => ⊢ r
        ⊢ s
          -0.1 d => ⊢ r
        ⊢ r
          -0.1 e => error: no
        ",
    ))
    .unwrap();
    /// Records every query, then answers as the fixture does.
    struct Recording {
        inner: ScriptedPolicy,
        queries: Vec<(String, u32, Vec<String>, usize)>,
    }
    impl Policy for Recording {
        fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
            assert_eq!(query.path.len(), query.depth as usize);
            self.queries.push((
                goals(query.state),
                query.depth,
                query.path.iter().map(|t| t.to_string()).collect(),
                query.width,
            ));
            self.inner.propose(query)
        }
    }
    let mut policy = Recording {
        inner: ScriptedPolicy::from_env(&env),
        queries: Vec::new(),
    };
    let config = SearchConfig {
        expansion_width: 3,
        ..SearchConfig::default()
    };
    let root = env.root();
    Search::new(config).run(&mut env.clone(), &mut policy, &mut AlwaysAccept, root);
    let path = |tactics: &[&str]| tactics.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    assert_eq!(
        policy.queries,
        [
            ("⊢ p".to_owned(), 0, path(&[]), 3),
            ("⊢ q".to_owned(), 1, path(&["a"]), 3),
            ("⊢ s".to_owned(), 1, path(&["b"]), 3),
            ("⊢ r".to_owned(), 2, path(&["a", "c"]), 3),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Harness

/// Runs `fixture` with the default configuration and compares the trace with `expected`.
fn check(fixture: &str, expected: &str) {
    case(fixture).check(expected);
}

fn case(fixture: &str) -> Case {
    Case {
        fixture: dedent(fixture),
        config: SearchConfig::default(),
        rejected_scripts: Vec::new(),
        checker_fails: false,
        blocked: Vec::new(),
        tick: Duration::ZERO,
        cancel_after_expansions: None,
        extra_candidates: Vec::new(),
        policy_failures: Vec::new(),
    }
}

/// One search to run: a fixture plus everything a test may change around it.
struct Case {
    fixture: String,
    config: SearchConfig,
    /// Scripts (tactics joined with `; `) the checker rejects.
    rejected_scripts: Vec<String>,
    checker_fails: bool,
    /// Tactics the candidate filter refuses.
    blocked: Vec<&'static str>,
    /// Time each tactic takes on the manual clock.
    tick: Duration,
    cancel_after_expansions: Option<u32>,
    extra_candidates: Vec<(OfflineState, Candidate)>,
    policy_failures: Vec<(OfflineState, String)>,
}

impl Case {
    fn config(mut self, edit: impl FnOnce(&mut SearchConfig)) -> Self {
        edit(&mut self.config);
        self
    }

    fn reject_proof(mut self, script: &str) -> Self {
        self.rejected_scripts.push(script.to_owned());
        self
    }

    fn checker_fails(mut self) -> Self {
        self.checker_fails = true;
        self
    }

    fn block(mut self, tactic: &'static str) -> Self {
        self.blocked.push(tactic);
        self
    }

    fn tick(mut self, per_tactic: Duration) -> Self {
        self.tick = per_tactic;
        self
    }

    fn cancel_after_expansions(mut self, expansions: u32) -> Self {
        self.cancel_after_expansions = Some(expansions);
        self
    }

    fn also_propose(mut self, state: &OfflineState, tactic: &str, score: f64) -> Self {
        self.extra_candidates
            .push((state.clone(), Candidate::new(tactic, score)));
        self
    }

    fn policy_fails_on(mut self, state: &OfflineState, message: &str) -> Self {
        self.policy_failures
            .push((state.clone(), message.to_owned()));
        self
    }

    fn check(self, expected: &str) {
        let (trace, report) = self.run();
        let expected = dedent(expected);
        assert!(
            trace == expected,
            "trace differs.\n--- expected\n{expected}\n--- actual\n{trace}"
        );
        if let Outcome::Proved(proof) = &report.outcome {
            self.assert_replays(proof);
        }
    }

    fn run(&self) -> (String, SearchReport) {
        let offline = OfflineEnv::from_fixture(&self.fixture).expect("fixture");
        let mut policy = ScriptedPolicy::from_env(&offline);
        for (state, candidate) in &self.extra_candidates {
            policy.add(state, candidate.clone());
        }
        for (state, message) in &self.policy_failures {
            policy.fail_on(state, message.clone());
        }
        let clock = ManualClock::new();
        let root = offline.root();
        let mut env = TickingEnv {
            offline,
            clock: clock.clone(),
            tick: self.tick,
        };
        let mut checker = |proof: &Proof| {
            if self.checker_fails {
                return Err(CheckError::new("recheck process died"));
            }
            let script = proof.tactics.join("; ");
            Ok(if self.rejected_scripts.contains(&script) {
                Verdict::Rejected("uses sorryAx".into())
            } else {
                Verdict::Accepted
            })
        };
        let blocked = self.blocked.clone();
        let filter = move |tactic: &str| {
            if blocked.contains(&tactic) {
                Err("blocked by the test".to_owned())
            } else {
                Ok(())
            }
        };

        let mut trace = String::new();
        let mut expansions = 0;
        let search = Search::new(self.config.clone())
            .with_clock(clock)
            .with_filter(filter);
        let cancel = search.cancel_token();
        let cancel_after = self.cancel_after_expansions;
        let show_durations = !self.tick.is_zero();
        let hook = |event: &SearchEvent<'_>| {
            render_event(&mut trace, event, show_durations);
            if let SearchEvent::Selected { .. } = event {
                expansions += 1;
                if Some(expansions) == cancel_after {
                    cancel.cancel();
                }
            }
        };
        let report = search
            .with_hook(hook)
            .run(&mut env, &mut policy, &mut checker, root);
        match &report.outcome {
            Outcome::Proved(proof) => {
                writeln!(trace, "outcome: proved [{}]", proof.tactics.join("; ")).unwrap();
            }
            Outcome::Failed(reason) => writeln!(trace, "outcome: failed: {reason}").unwrap(),
        }
        if show_durations {
            writeln!(trace, "elapsed: {:?}", report.elapsed).unwrap();
        }
        writeln!(trace, "stats: {}", render_stats(&report.stats)).unwrap();
        (trace, report)
    }

    fn assert_replays(&self, proof: &Proof) {
        let mut env = OfflineEnv::from_fixture(&self.fixture).unwrap();
        let root = env.root();
        let replayed = proof.replay(&mut env, root, Duration::from_secs(1));
        assert!(
            matches!(replayed, Ok(true)),
            "proof does not replay: {proof:?}"
        );
        assert_eq!(proof.states.len(), proof.tactics.len());
    }
}

/// The offline environment, with every tactic taking `tick` on a shared manual clock.
struct TickingEnv {
    offline: OfflineEnv,
    clock: ManualClock,
    tick: Duration,
}

impl ProofEnv for TickingEnv {
    type State = OfflineState;

    fn apply(
        &mut self,
        state: &OfflineState,
        tactic: &str,
        deadline: Duration,
    ) -> Result<Applied<OfflineState>, EnvError> {
        self.clock.advance(self.tick);
        self.offline.apply(state, tactic, deadline)
    }

    fn canonical_text(&self, state: &OfflineState) -> String {
        self.offline.canonical_text(state)
    }
}

fn render_event(trace: &mut String, event: &SearchEvent<'_>, show_durations: bool) {
    match event {
        SearchEvent::Selected {
            node,
            state,
            depth,
            priority,
        } => {
            let state = goals(state);
            let node = node.index();
            writeln!(
                trace,
                "select #{node} {state} (depth {depth}, priority {priority:.3})"
            )
        }
        SearchEvent::PolicyFailed { error, .. } => writeln!(trace, "  policy failed: {error}"),
        SearchEvent::Filtered {
            candidate, reason, ..
        } => {
            writeln!(
                trace,
                "  {} ({:.2}) filtered: {reason}",
                candidate.tactic, candidate.score
            )
        }
        SearchEvent::Edge(edge) => {
            let result = match edge.outcome {
                EdgeOutcome::NewState { node, state } => {
                    format!("new #{} {}", node.index(), goals(state))
                }
                EdgeOutcome::KnownState { node, state } => {
                    format!("known #{} {}", node.index(), goals(state))
                }
                EdgeOutcome::Proved => "proved".to_owned(),
                EdgeOutcome::Rejected(message) => format!("refused: {message}"),
                EdgeOutcome::EnvError(message) => format!("env error: {message}"),
            };
            let duration = if show_durations {
                format!(" [{:?}]", edge.duration)
            } else {
                String::new()
            };
            writeln!(
                trace,
                "  {} ({:.2}) -> {result}{duration}",
                edge.tactic, edge.score
            )
        }
        SearchEvent::Rechecked { proof, verdict } => {
            let verdict = match verdict {
                Ok(Verdict::Accepted) => "accepted".to_owned(),
                Ok(Verdict::Rejected(why)) => format!("rejected: {why}"),
                Err(error) => format!("error: {error}"),
            };
            writeln!(trace, "recheck [{}] -> {verdict}", proof.tactics.join("; "))
        }
    }
    .unwrap();
}

/// A canonical state text as on a fixture line.
fn goals(canonical: &str) -> String {
    canonical.replace("\n\n", " ; ")
}

/// The non-zero counters, in declaration order.
fn render_stats(stats: &SearchStats) -> String {
    let SearchStats {
        expansions,
        policy_calls,
        env_calls,
        candidates_proposed,
        candidates_rejected,
        duplicate_tactics,
        candidates_beyond_width,
        tactics_refused,
        states,
        duplicate_states,
        failed_states,
        max_depth,
        env_errors,
        policy_errors,
        check_errors,
        proofs_rejected,
    } = stats;
    let counters = [
        ("expansions", expansions),
        ("policy_calls", policy_calls),
        ("env_calls", env_calls),
        ("candidates_proposed", candidates_proposed),
        ("candidates_rejected", candidates_rejected),
        ("duplicate_tactics", duplicate_tactics),
        ("candidates_beyond_width", candidates_beyond_width),
        ("tactics_refused", tactics_refused),
        ("states", states),
        ("duplicate_states", duplicate_states),
        ("failed_states", failed_states),
        ("max_depth", max_depth),
        ("env_errors", env_errors),
        ("policy_errors", policy_errors),
        ("check_errors", check_errors),
        ("proofs_rejected", proofs_rejected),
    ];
    let shown: Vec<String> = counters
        .iter()
        .filter(|(_, value)| **value != 0)
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    shown.join(", ")
}

/// Removes the first line break and the indentation common to all non-blank lines, so fixtures
/// and expectations can be indented with the code.
fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line.get(indent..).unwrap_or("").trim_end());
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

// ---------------------------------------------------------------------------------------------
// Look-ahead hints to the policy

/// Records every look-ahead hint (`Policy::prefetch`) as `state @depth [path]` lines.
struct HintRecorder {
    inner: ScriptedPolicy,
    hints: Vec<Vec<String>>,
}

impl Policy for HintRecorder {
    fn propose(&mut self, query: &Query<'_>) -> Result<Vec<Candidate>, PolicyError> {
        self.inner.propose(query)
    }

    fn prefetch(&mut self, upcoming: &[Query<'_>]) {
        self.hints.push(
            upcoming
                .iter()
                .map(|q| format!("{} @{} {:?} w{}", q.state, q.depth, q.path, q.width))
                .collect(),
        );
    }
}

#[test]
fn the_policy_hears_of_the_next_best_unexpanded_states_before_each_expansions_tactics() {
    let fixture = "
        ⊢ a
          -0.1 t1 => ⊢ b
          -0.2 t2 => ⊢ c
          -0.3 t3 => ⊢ d
        ⊢ b
          -0.5 u => ⊢ e
        ⊢ c
          -0.1 v => done
        ";
    let run = |lookahead: usize| {
        let mut env = OfflineEnv::from_fixture(&dedent(fixture)).unwrap();
        let mut policy = HintRecorder {
            inner: ScriptedPolicy::from_env(&env),
            hints: Vec::new(),
        };
        let root = env.root();
        let config = SearchConfig {
            policy_lookahead: lookahead,
            ..SearchConfig::default()
        };
        let report = Search::new(config).with_clock(ManualClock::new()).run(
            &mut env,
            &mut policy,
            &mut AlwaysAccept,
            root,
        );
        (report, policy.hints)
    };
    let (plain, none) = run(0);
    assert!(none.is_empty(), "no look-ahead, no hint: {none:?}");
    let (hinted, hints) = run(2);
    assert_eq!(plain, hinted, "the hints change nothing the search does");
    // The root's expansion has no other state to hint at; `⊢ b` hints at the next two; `⊢ e`
    // runs no tactic; `⊢ c` hints at what is left unexpanded.
    assert_eq!(
        hints,
        [
            vec!["⊢ c @1 [\"t2\"] w4", "⊢ d @1 [\"t3\"] w4"],
            vec!["⊢ d @1 [\"t3\"] w4"],
        ]
    );
}

/// Records which states the search said it was about to expand (`ProofEnv::about_to_expand`).
struct AnnouncingEnv {
    inner: OfflineEnv,
    announced: Vec<String>,
}

impl ProofEnv for AnnouncingEnv {
    type State = <OfflineEnv as ProofEnv>::State;

    fn apply(
        &mut self,
        state: &Self::State,
        tactic: &str,
        deadline: Duration,
    ) -> Result<Applied<Self::State>, EnvError> {
        self.inner.apply(state, tactic, deadline)
    }

    fn canonical_text(&self, state: &Self::State) -> String {
        self.inner.canonical_text(state)
    }

    fn about_to_expand(&mut self, state: &Self::State, _deadline: Duration) {
        let text = self.inner.canonical_text(state);
        self.announced.push(text);
    }
}

#[test]
fn the_environment_hears_of_each_state_once_before_its_first_expansion() {
    let fixture = "
        ⊢ a
          -0.1 t1 => ⊢ b
          -0.2 t2 => ⊢ c
        ⊢ b
          -0.5 u => ⊢ e
        ⊢ c
          -0.1 v => done
        ";
    let inner = OfflineEnv::from_fixture(&dedent(fixture)).unwrap();
    let mut policy = HintRecorder {
        inner: ScriptedPolicy::from_env(&inner),
        hints: Vec::new(),
    };
    let root = inner.root();
    let mut env = AnnouncingEnv {
        inner,
        announced: Vec::new(),
    };
    let report = Search::new(SearchConfig::default())
        .with_clock(ManualClock::new())
        .run(&mut env, &mut policy, &mut AlwaysAccept, root);
    assert!(report.proof().is_some());
    // Best first: the root, then `⊢ b` (-0.1), `⊢ e`, then `⊢ c`; one announcement each, as
    // many as the policy was asked.
    assert_eq!(env.announced, ["⊢ a", "⊢ b", "⊢ e", "⊢ c"]);
    assert_eq!(env.announced.len() as u32, report.stats.policy_calls);
}
