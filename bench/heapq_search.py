#!/usr/bin/env python3
"""Plain heapq best-first proof search over a world written by prover/benches/search.rs.

This is the Python baseline of `cargo bench -p prover --bench search`: the same algorithm as
`prover::search::Search`, written the obvious way, so the two can be timed side by side on one
world and must agree on the outcome.

    python3 bench/heapq_search.py WORLD --alpha A --width K --max-expansions N [--repeat R]

WORLD has one JSON object per line: {"id": 7, "tactics": [[tactic, score, result], ...]} where
result is a child state id, "proved" or "error". A state with no tactics (or no line) is a dead
end. State 0 is the root.

Algorithm (mirrors prover/src/search/run.rs):
- priority = (sum of tactic scores along the first path to a state) / depth**alpha, the root 0;
  the highest priority is expanded first, ties in insertion order (a counter in the heap entry);
- a state is queued once: a repeated state (by id) keeps its first path's score and depth;
- an expansion sorts the state's tactics by score, best first (stable, so equal scores keep world
  order), runs the first `width` of them in that order, and stops the whole search at the first
  one that proves the goal;
- the budget is checked before every expansion; an expansion always runs to its end.

The search core also marks states FAILED when all their children failed and skips them; a
queued state is never FAILED (only fully expanded states can be), so that changes no order and
is left out here.

Prints one JSON object; the timing covers the search loop only, best of --repeat runs.
"""

import argparse
import heapq
import json
import sys
import time

PROVED = "proved"
ERROR = "error"


def load(path):
    """Reads the world into {id: [(tactic, score, result), ...]}."""
    world = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            world[record["id"]] = [tuple(t) for t in record["tactics"]]
    return world


def search(world, alpha, width, max_expansions):
    """One best-first search from state 0; returns the counters."""
    root = 0
    depth = {root: 0}
    path_score = {root: 0.0}
    heap = [(-0.0, 0, root)]  # (-priority, insertion, state): heapq is a min-heap
    pushed = 1
    expansions = env_calls = duplicates = 0
    stop = "exhausted"
    no_tactics = ()
    while heap:
        if expansions >= max_expansions:
            stop = "expansion-limit"
            break
        _, _, state = heapq.heappop(heap)
        expansions += 1
        candidates = sorted(world.get(state, no_tactics), key=lambda t: -t[1])[:width]
        for _tactic, score, result in candidates:
            env_calls += 1
            if result == PROVED:
                stop = "proved"
                break
            if result == ERROR:
                continue
            if result in depth:
                duplicates += 1
                continue
            child_depth = depth[state] + 1
            child_score = path_score[state] + score
            depth[result] = child_depth
            path_score[result] = child_score
            priority = child_score / float(child_depth) ** alpha
            heapq.heappush(heap, (-priority, pushed, result))
            pushed += 1
        if stop == "proved":
            break
    return {
        "proved": stop == "proved",
        "stop": stop,
        "expansions": expansions,
        "env_calls": env_calls,
        "states": len(depth),
        "duplicate_states": duplicates,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world")
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--max-expansions", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    world = load(args.world)
    load_seconds = time.perf_counter() - started

    best = None
    result = None
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        result = search(world, args.alpha, args.width, args.max_expansions)
        seconds = time.perf_counter() - started
        best = seconds if best is None else min(best, seconds)

    result["seconds"] = best
    result["load_seconds"] = load_seconds
    result["expansions_per_sec"] = result["expansions"] / best if best > 0 else None
    result["env_calls_per_sec"] = result["env_calls"] / best if best > 0 else None
    result["python"] = sys.version.split()[0]
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
