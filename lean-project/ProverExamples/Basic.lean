import Mathlib

/-!
Small theorems, proved, that the set-up job builds to confirm Mathlib imports and elaborates
on the pinned toolchain. `examples/check-small.jsonl` checks the same kind of statements
through the REPL with `prover check`.
-/

theorem prover_example_add (a b : ℕ) (h₀ : a = 3) (h₁ : b = 4) : a + b = 7 := by
  subst h₀ h₁
  norm_num

theorem prover_example_sq_nonneg (x : ℝ) : 0 ≤ x ^ 2 + 1 := by
  positivity
