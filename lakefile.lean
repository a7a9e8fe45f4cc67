import Lake
open Lake DSL

/-!
The Lean side of prover: pins the toolchain (`lean-toolchain`), Mathlib and the
leanprover-community/repl that `prover` drives as a subprocess.

The pins match the yangky11/miniF2F-lean4 statements (Lean v4.24.0, Mathlib
`f897ebcf72cd16f89ab4577d0c826cd14afaafc7`). To switch toolchains, change all three
together: `lean-toolchain`, the Mathlib revision and the REPL tag (REPL tags equal Lean
releases), then run `scripts/setup.sh` again. README.md has the DeepSeek v4.9 recipe.
-/

-- `autoImplicit false` applies to `lake build` of `lean-project/` only; the REPL elaborates
-- every command with Lean's defaults unless a row's header sets it (README, "Lean versions").
package prover where
  leanOptions := #[⟨`autoImplicit, false⟩]

require mathlib from git
  "https://github.com/leanprover-community/mathlib4" @ "f897ebcf72cd16f89ab4577d0c826cd14afaafc7"

require REPL from git
  "https://github.com/leanprover-community/repl" @ "v4.24.0"

/-- Lean sources of the project: examples the real-Lean tests and the set-up job check. -/
@[default_target]
lean_lib ProverExamples where
  srcDir := "lean-project"
