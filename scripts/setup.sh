#!/usr/bin/env bash
# Sets up prover for real use and runs a real job:
#   1. install elan (Lean's toolchain manager) with its official installer, if missing;
#   2. fetch the pinned Lean toolchain, Mathlib and the REPL, and Mathlib's build cache;
#   3. build the REPL and the project's Lean examples with Lake;
#   4. build the prover binary with cargo;
#   5. run `prover check` on lean-project/examples/check-small.jsonl.
# Steps 1 and 2 need the internet. Without it the script stops there and says so.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
step() { printf '\n==> setup step %s\n' "$1" >&2; }
die() { printf '\nsetup: step %s failed: %s\n' "$1" "$2" >&2; exit 1; }
needs_network() {
  die "$1" "$2 needs the network (github.com, raw.githubusercontent.com, the Lean release and Mathlib cache servers) and it is not reachable from this machine. Run this script on a machine with internet access; everything else (cargo build, cargo test) works offline."
}

export PATH="$HOME/.elan/bin:$PATH"

step "1/5: install elan (Lean toolchain manager)"
if command -v lake >/dev/null 2>&1 && command -v elan >/dev/null 2>&1; then
  echo "elan already installed: $(elan --version)" >&2
else
  installer=$(mktemp)
  if ! curl --fail --silent --show-error --location --max-time 60 \
      https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh -o "$installer"; then
    needs_network "1/5 (install elan)" "downloading the elan installer from raw.githubusercontent.com"
  fi
  sh "$installer" -y --default-toolchain none >&2 || die "1/5 (install elan)" "the elan installer failed"
  rm -f "$installer"
fi

step "2/5: fetch Lean $(cat lean-toolchain), Mathlib, the REPL and Mathlib's build cache"
if ! lake --version >&2; then
  needs_network "2/5 (download the Lean toolchain)" "elan downloading $(cat lean-toolchain)"
fi
if ! lake exe cache get >&2; then
  needs_network "2/5 (fetch Mathlib, the REPL and Mathlib's cache)" "cloning Mathlib and the REPL and downloading Mathlib's cache"
fi

step "3/5: build the REPL and the Lean examples"
lake build repl ProverExamples >&2 || die "3/5 (lake build)" "lake build failed; see the output above"
test -x .lake/packages/REPL/.lake/build/bin/repl || die "3/5 (lake build)" "the REPL binary is missing at .lake/packages/REPL/.lake/build/bin/repl"

step "4/5: build prover"
cargo build --release --bin prover >&2 || die "4/5 (cargo build)" "cargo build failed"

step "5/5: prover check on lean-project/examples/check-small.jsonl"
mkdir -p target
./target/release/prover check \
  --input lean-project/examples/check-small.jsonl \
  --out target/check-small.results.jsonl \
  --workers 1 --timeout 600
echo "results: $root/target/check-small.results.jsonl" >&2
