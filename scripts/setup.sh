#!/usr/bin/env bash
# Sets up prover for real use and runs a real job:
#   0. check that Rust (cargo) is there;
#   1. build the prover binary (and the simulators of "Try it without Lean") with cargo;
#   2. install elan (Lean's toolchain manager) with its official installer, if missing;
#   3. fetch the pinned Lean toolchain, Mathlib and the REPL, and Mathlib's build cache, and
#      make sure Lake would not rebuild Mathlib from source;
#   4. build the REPL and the project's Lean examples with Lake;
#   5. fetch the reference data some tests read into .lake/test-data (pinned, checked);
#   6. run `prover check` on lean-project/examples/check-small.jsonl.
# Steps 2, 3 and 5 need the internet (step 1 needs crates.io, or crates already in cargo's
# cache). Without it the script stops there and says so; prover is built by then.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
step() { printf '\n==> setup step %s\n' "$1" >&2; }
die() { printf '\nsetup: step %s failed: %s\n' "$1" "$2" >&2; exit 1; }
online() { curl --silent --head --max-time 10 "$1" >/dev/null 2>&1; }
# A failure is blamed on the network only when the network is really not there.
fail_fetch() {
  if online https://github.com; then
    die "$1" "$2 failed although github.com is reachable; see the output above"
  fi
  die "$1" "$2 needs the network (github.com, the Lean release and Mathlib cache servers) and it is not reachable from this machine. Run this script on a machine with internet access. prover is already built (target/release/prover, step 1): without Lean it runs against the simulators (README, \"Try it without Lean\"), and cargo test works offline."
}

export PATH="$HOME/.elan/bin:$HOME/.cargo/bin:$PATH"

step "0/6: check Rust"
command -v cargo >/dev/null 2>&1 \
  || die "0/6 (Rust)" "cargo is not installed: install Rust (https://rustup.rs, or your distribution's rustc and cargo packages), then rerun"
echo "cargo: $(cargo --version)" >&2

step "1/6: build prover and the simulators"
# First, so that prover exists even where the network steps below cannot run. Offline, cargo
# needs the crates in its cache already: `cargo fetch` once on a connected machine, or
# `cargo build --release --offline` with a vendored registry.
cargo build --release -p prover-cli -p prover-tests --bins >&2 \
  || die "1/6 (cargo build)" "cargo build failed; see the output above (offline: run \`cargo fetch\` where crates.io is reachable first, then \`cargo build --release --offline -p prover-cli\`)"

step "2/6: install elan (Lean toolchain manager)"
if command -v lake >/dev/null 2>&1 && command -v elan >/dev/null 2>&1; then
  echo "elan already installed: $(elan --version)" >&2
else
  installer=$(mktemp)
  if ! curl --fail --silent --show-error --location --max-time 60 \
      https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -o "$installer"; then
    fail_fetch "2/6 (install elan)" "downloading the elan installer"
  fi
  sh "$installer" -y --default-toolchain none >&2 || die "2/6 (install elan)" "the elan installer failed; see its output above"
  rm -f "$installer"
fi

step "3/6: fetch Lean $(cat lean-toolchain), Mathlib, the REPL and Mathlib's build cache"
lake --version >&2 || fail_fetch "3/6 (Lean toolchain)" "elan installing $(cat lean-toolchain)"
lake exe cache get >&2 || fail_fetch "3/6 (Mathlib and its cache)" "cloning Mathlib and the REPL and downloading Mathlib's cache"
mathlib_toolchain=.lake/packages/mathlib/lean-toolchain
if [ -f "$mathlib_toolchain" ] && ! cmp -s lean-toolchain "$mathlib_toolchain"; then
  die "3/6 (pins)" "lean-toolchain says $(cat lean-toolchain) but the pinned Mathlib wants $(cat "$mathlib_toolchain"). The toolchain, the Mathlib revision and the REPL tag in lakefile.lean move together (README, \"Lean versions\")"
fi
# `--no-build` exits 3 when something would be built: after `cache get` nothing of Mathlib
# may be, or Lake would spend hours compiling it from source.
set +e
lake build --no-build Mathlib >&2
code=$?
set -e
if [ "$code" -eq 3 ] && [ -z "${PROVER_ALLOW_MATHLIB_BUILD:-}" ]; then
  die "3/6 (Mathlib cache)" "Mathlib's build cache does not cover the pinned revision, so Lake would rebuild Mathlib from source (hours, and several GB). Pin an upstream leanprover-community/mathlib4 commit (forks have no cache) and rerun; to build it anyway, rerun with PROVER_ALLOW_MATHLIB_BUILD=1"
elif [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then
  die "3/6 (Mathlib cache)" "\`lake build --no-build Mathlib\` failed (exit $code); see the output above"
fi

step "4/6: build the REPL and the Lean examples"
lake build repl ProverExamples >&2 || die "4/6 (lake build)" "lake build failed; see the output above"
test -x .lake/packages/REPL/.lake/build/bin/repl || die "4/6 (lake build)" "the REPL binary is missing at .lake/packages/REPL/.lake/build/bin/repl"

step "5/6: fetch the reference data the tests read into .lake/test-data"
# Pinned like `prover datasets fetch`: git checks the REPL commit, prover checks blob ids.
data=.lake/test-data
# The REPL's own recorded transcripts, at v4.33.0-rc2 (the protocol document's) and at v4.24.0
# (the pinned version): the conformance test replays both.
for pinned in repl-transcripts:8948401ab4924499421c94b7facdfca5ff27d81d \
  repl-transcripts-v4.24.0:8fff8552292860d349b459d6a811e6915671dc0d; do
  transcripts="$data/fixtures/${pinned%%:*}"
  repl_commit="${pinned#*:}"
  [ -d "$transcripts/test" ] && continue
  scratch=$(mktemp -d)
  if git -C "$scratch" init --quiet \
      && git -C "$scratch" fetch --quiet --depth 1 https://github.com/leanprover-community/repl "$repl_commit" \
      && git -C "$scratch" checkout --quiet FETCH_HEAD; then
    mkdir -p "$transcripts"
    (cd "$scratch" && find test \( -name '*.in' -o -name '*.expected.out' -o -name 'file*.lean' \) -print0 \
      | xargs -0 tar cf -) | tar xf - -C "$transcripts"
    cp "$scratch/LICENSE" "$transcripts/LICENSE"
  else
    echo "setup: could not fetch the REPL transcripts at $repl_commit (tests that read them will print skip lines)" >&2
  fi
  rm -rf "$scratch"
done
fetch() {
  ./target/release/prover datasets fetch "$@" >&2 \
    || echo "setup: could not fetch $* (tests that read it will print skip lines)" >&2
}
[ -f "$data/datasets/minif2f/test.jsonl" ] || fetch minif2f --version deepseek --out "$data/datasets/minif2f"
[ -f "$data/datasets/minif2f/yangky11_v4.24.0/test.jsonl" ] \
  || fetch minif2f --version yangky11 --out "$data/datasets/minif2f/yangky11_v4.24.0"
[ -f "$data/datasets/proofnet/test.jsonl" ] || fetch proofnet --out "$data/datasets/proofnet"

step "6/6: prover check on lean-project/examples/check-small.jsonl"
mkdir -p target
./target/release/prover check --fresh \
  --input lean-project/examples/check-small.jsonl \
  --out target/check-small.results.jsonl \
  --workers 1 --timeout 600
echo "results: $root/target/check-small.results.jsonl" >&2
