#!/usr/bin/env bash
# Runs the whole test suite. Tests that need real Lean print "skipped: no Lean toolchain"
# when `lake` is not on PATH; the GitHub Actions workflow runs them with Lean installed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets "$@"
