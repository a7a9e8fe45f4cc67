import ProverExamples.Basic
