//! Benchmark: the learned policy's training time, model size and load time at 10⁴ and 10⁵ proof steps, and its proposal latency per state (p50, p99) against the portfolio's.
//!
//! `cargo bench -p prover --bench learned` prints the figures; under `cargo test` it runs a
//! small smoke version. The steps are synthetic goal texts of varied shapes (variables,
//! hypotheses with varied names, relations, numerals) with tactics that name hypotheses.

use std::time::Instant;

use prover::policy::learned::LearnedModel;
use prover::portfolio::Portfolio;

const RELATIONS: [&str; 5] = ["=", "≤", "<", "≠", "∣"];
const TYPES: [&str; 4] = ["ℕ", "ℤ", "ℝ", "ℚ"];
const NAMES: [&str; 6] = ["h₀", "h₁", "hx", "ha", "hn", "hk"];
const TACTICS: [&str; 8] = [
    "linarith [{h}]",
    "norm_num [{h}]",
    "omega",
    "simp [{h}] at *",
    "nlinarith [sq_nonneg x, {h}]",
    "rw [{h}]",
    "exact {h}",
    "positivity",
];

/// A deterministic stream of numbers (SplitMix64).
struct Stream(u64);

impl Stream {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % below as u64) as usize
    }
}

fn step(stream: &mut Stream) -> (String, String) {
    let ty = TYPES[stream.next(TYPES.len())];
    let h = NAMES[stream.next(NAMES.len())];
    let (a, b) = (stream.next(50), stream.next(50));
    let (r1, r2) = (
        RELATIONS[stream.next(RELATIONS.len())],
        RELATIONS[stream.next(RELATIONS.len())],
    );
    let extra = stream.next(3);
    let mut state = format!("x y : {ty}\n{h} : x {r1} {a}");
    for i in 0..extra {
        state.push_str(&format!("\nh{i}' : y {r2} x + {}", a + i));
    }
    // Named functions from a large pool make most states distinct, as a library's are.
    let (f, g) = (stream.next(20_000), stream.next(20_000));
    state.push_str(&format!("\n⊢ f{f} x + g{g} y {r2} {b}"));
    let tactic = TACTICS[stream.next(TACTICS.len())].replace("{h}", h);
    (state, tactic)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if measuring {
        &[10_000, 100_000]
    } else {
        &[1_000]
    };
    let mut stream = Stream(7);
    let queries: Vec<String> = (0..if measuring { 1000 } else { 50 })
        .map(|_| step(&mut stream).0)
        .collect();
    let portfolio = Portfolio::default();
    let mut portfolio_us: Vec<f64> = queries
        .iter()
        .map(|q| {
            let started = Instant::now();
            std::hint::black_box(portfolio.candidates(q));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    portfolio_us.sort_by(f64::total_cmp);
    let mut lines = Vec::new();
    for &size in sizes {
        let steps: Vec<(String, String)> = (0..size).map(|_| step(&mut stream)).collect();
        let refusals: Vec<(String, String)> = steps.iter().step_by(10).cloned().collect();
        let started = Instant::now();
        let model = LearnedModel::train(&steps, &refusals);
        let train_s = started.elapsed().as_secs_f64();
        let bytes = model.to_bytes();
        let started = Instant::now();
        let loaded = LearnedModel::from_bytes(&bytes, std::path::Path::new("bench.bin")).unwrap();
        let load_s = started.elapsed().as_secs_f64();
        assert_eq!(loaded.len(), model.len());
        let mut learned_us: Vec<f64> = queries
            .iter()
            .map(|q| {
                let started = Instant::now();
                std::hint::black_box(loaded.propose(q));
                started.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        learned_us.sort_by(f64::total_cmp);
        assert!(queries.iter().any(|q| !loaded.propose(q).is_empty()));
        lines.push(format!(
            "  {size:>7} steps → {:>7} stored  train {train_s:>6.2}s  file {:>6.1} MiB  load {load_s:>5.2}s  propose p50 {:>7.1} µs  p99 {:>8.1} µs",
            model.len(),
            bytes.len() as f64 / (1 << 20) as f64,
            percentile(&learned_us, 0.5),
            percentile(&learned_us, 0.99)
        ));
    }
    if !measuring {
        println!(
            "learned bench smoke run: ok; run `cargo bench -p prover --bench learned` for figures"
        );
        return;
    }
    println!(
        "learned policy (synthetic steps; {} query states)",
        queries.len()
    );
    for line in lines {
        println!("{line}");
    }
    println!(
        "  portfolio: propose p50 {:.1} µs  p99 {:.1} µs",
        percentile(&portfolio_us, 0.5),
        percentile(&portfolio_us, 0.99)
    );
}
