//! `LearnedModel`: proof steps stored as (state features, abstract tactic), found again by MinHash banding and ranked by similarity-weighted vote, with failure counts from Lean's refusals; a versioned compact file.
//!
//! Prediction for a state: the `NEIGHBOURS` stored states most like it (Jaccard over feature
//! hashes; candidates from MinHash bands, every example when the model is small), each
//! neighbour's tactic instantiated for the new state's locals, scored by
//! `ln(vote / total) − ln(1 + failures)`: log-probability-like (≤ 0, the best near 0), so the
//! candidates share one frontier with the portfolio's. Failures are counted per (feature
//! bucket, tactic) from the refusals recorded in search, the CPU analogue of DPO: a tactic Lean
//! keeps refusing at such states sinks.
//!
//! Deterministic: training sorts and deduplicates its input, hashes are fixed (FNV-1a, seeded
//! MinHash), ties break by example order.
//!
//! The file: `PRVLRN\0\0`, the format version (u32, little-endian), the stored parts
//! (postcard), and the SHA-1 of everything before it (20 bytes). A flipped bit, a cut or
//! appended bytes fail the checksum, so a damaged file is refused rather than read wrongly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::features::{AbstractTactic, abstract_tactic, features, instantiate, jaccard};
use crate::search::Candidate;

/// Hash functions in a MinHash signature.
const SIGNATURE: usize = 16;
/// Signature rows per band: two states share a band when those rows agree.
const ROWS: usize = 2;
/// Stored states consulted per prediction.
const NEIGHBOURS: usize = 24;
/// The power of similarity a neighbour's vote weighs: a state of the same shape (similarity 1)
/// outvotes several merely related ones (0.6⁴ ≈ 0.13), as Tactician's nearest neighbours do.
const VOTE_SHARPNESS: i32 = 4;
/// Up to this many examples, every one is compared (exact, and cheap).
const SMALL_MODEL: usize = 4096;
/// The most candidates compared from the bands at once.
const MAX_COMPARED: usize = 4096;

/// The file's first bytes, then its format version.
const MAGIC: &[u8; 8] = b"PRVLRN\0\0";
/// The model file format version this build reads and writes (2: with the checksum).
pub const MODEL_FORMAT_VERSION: u32 = 2;
/// The checksum's length: a SHA-1 digest.
const CHECKSUM_LEN: usize = 20;

/// A model file that cannot be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Reading or writing failed.
    #[error("learned model {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a model file, or damaged.
    #[error("learned model {}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Written by a prover with another format.
    #[error("learned model {}: format version {found}, this prover reads version {MODEL_FORMAT_VERSION}; retrain it with `prover train`", path.display())]
    Version {
        /// The file.
        path: std::path::PathBuf,
        /// Its version.
        found: u32,
    },
}

/// One stored step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Example {
    features: Vec<u32>,
    tactic: u32,
}

/// What the file holds (the index is rebuilt on load).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Stored {
    tactics: Vec<AbstractTactic>,
    examples: Vec<Example>,
    /// (bucket, tactic, count), sorted.
    failures: Vec<(u32, u32, u32)>,
}

/// The model: examples, their index, failure counts.
#[derive(Debug, Default, Clone)]
pub struct LearnedModel {
    tactics: Vec<AbstractTactic>,
    tactic_ids: HashMap<AbstractTactic, u32>,
    examples: Vec<Example>,
    seen: HashSet<(Vec<u32>, u32)>,
    bands: HashMap<(u8, u32), Vec<u32>>,
    failures: BTreeMap<(u32, u32), u32>,
}

impl LearnedModel {
    /// An empty model: it proposes nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A model of these steps (state, tactic) and refusals (state, tactic Lean refused there):
    /// a pure function of the two lists, whatever their order.
    pub fn train(steps: &[(String, String)], refusals: &[(String, String)]) -> Self {
        let mut model = LearnedModel::new();
        model.extend(steps, refusals);
        model
    }

    /// Adds steps and refusals in a canonical order (sorted, duplicates once).
    pub fn extend(&mut self, steps: &[(String, String)], refusals: &[(String, String)]) {
        let mut steps: Vec<&(String, String)> = steps.iter().collect();
        steps.sort();
        steps.dedup();
        for (state, tactic) in steps {
            self.learn_step(state, tactic);
        }
        let mut refusals: Vec<&(String, String)> = refusals.iter().collect();
        refusals.sort();
        for (state, tactic) in refusals {
            self.learn_refusal(state, tactic);
        }
    }

    /// Stores one proof step; `false` when the state has no goal or the step is known.
    pub fn learn_step(&mut self, state: &str, tactic: &str) -> bool {
        let Some(state) = features(state) else {
            return false;
        };
        let abstracted = abstract_tactic(tactic.trim(), &state.locals);
        let id = self.tactic_id(abstracted);
        if !self.seen.insert((state.hashes.clone(), id)) {
            return false;
        }
        let index = u32::try_from(self.examples.len()).unwrap_or(u32::MAX);
        for band in bands_of(&state.hashes) {
            self.bands.entry(band).or_default().push(index);
        }
        self.examples.push(Example {
            features: state.hashes,
            tactic: id,
        });
        true
    }

    /// Counts one refusal of `tactic` at `state`.
    pub fn learn_refusal(&mut self, state: &str, tactic: &str) {
        let Some(state) = features(state) else {
            return;
        };
        let id = self.tactic_id(abstract_tactic(tactic.trim(), &state.locals));
        *self
            .failures
            .entry((bucket(&state.hashes), id))
            .or_default() += 1;
    }

    fn tactic_id(&mut self, tactic: AbstractTactic) -> u32 {
        if let Some(id) = self.tactic_ids.get(&tactic) {
            return *id;
        }
        let id = u32::try_from(self.tactics.len()).unwrap_or(u32::MAX);
        self.tactic_ids.insert(tactic.clone(), id);
        self.tactics.push(tactic);
        id
    }

    /// Stored steps.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether the model holds no step.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Candidate tactics for `state`, best first.
    pub fn propose(&self, state: &str) -> Vec<Candidate> {
        let Some(query) = features(state) else {
            return Vec::new();
        };
        let compared: Vec<u32> = if self.examples.len() <= SMALL_MODEL {
            (0..self.examples.len() as u32).collect()
        } else {
            let mut ids: Vec<u32> = bands_of(&query.hashes)
                .iter()
                .filter_map(|band| self.bands.get(band))
                .flatten()
                .copied()
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.truncate(MAX_COMPARED);
            ids
        };
        let mut near: Vec<(f64, u32)> = compared
            .into_iter()
            .map(|id| {
                (
                    jaccard(&query.hashes, &self.examples[id as usize].features),
                    id,
                )
            })
            .filter(|(similarity, _)| *similarity > 0.0)
            .collect();
        near.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        near.truncate(NEIGHBOURS);
        if near.is_empty() {
            return Vec::new();
        }
        // Votes per tactic, in order of first (best) neighbour, for a stable order. A vote
        // weighs similarity^VOTE_SHARPNESS, so the nearest states decide.
        let weight = |similarity: f64| similarity.powi(VOTE_SHARPNESS);
        let total: f64 = near.iter().map(|(s, _)| weight(*s)).sum();
        let mut votes: Vec<(u32, f64)> = Vec::new();
        for (similarity, id) in &near {
            let tactic = self.examples[*id as usize].tactic;
            match votes.iter_mut().find(|(t, _)| *t == tactic) {
                Some((_, vote)) => *vote += weight(*similarity),
                None => votes.push((tactic, weight(*similarity))),
            }
        }
        let bucket = bucket(&query.hashes);
        let mut out: Vec<Candidate> = Vec::new();
        for (tactic, vote) in votes {
            let Some(text) = instantiate(&self.tactics[tactic as usize], &query.locals) else {
                continue;
            };
            let failures = self.failures.get(&(bucket, tactic)).copied().unwrap_or(0);
            let score = (vote / total).ln() - f64::from(failures).ln_1p();
            if !out.iter().any(|c| c.tactic == text) {
                out.push(Candidate::new(text, score));
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out
    }

    /// The file's bytes: magic, version, the stored parts (postcard), then the SHA-1 of all
    /// that.
    pub fn to_bytes(&self) -> Vec<u8> {
        let stored = Stored {
            tactics: self.tactics.clone(),
            examples: self.examples.clone(),
            failures: self
                .failures
                .iter()
                .map(|(&(b, t), &n)| (b, t, n))
                .collect(),
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&MODEL_FORMAT_VERSION.to_le_bytes());
        // Encoding plain vectors of numbers and strings cannot fail.
        bytes.extend(postcard::to_stdvec(&stored).unwrap_or_default());
        let checksum = ::datasets::hash::sha1(&bytes);
        bytes.extend_from_slice(&checksum);
        bytes
    }

    /// A model from a file's bytes; errors name `path`. The checksum is checked before
    /// anything else is believed, the version field included.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<LearnedModel, ModelError> {
        let corrupt = |reason: String| ModelError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
            return Err(corrupt(
                "not a prover learned model (train one with `prover train`)".into(),
            ));
        };
        let (version, _) = rest
            .split_at_checked(4)
            .ok_or_else(|| corrupt("cut short (no format version)".into()))?;
        let version = u32::from_le_bytes(version.try_into().unwrap_or_default());
        let checked = bytes
            .len()
            .checked_sub(CHECKSUM_LEN)
            .filter(|len| *len >= MAGIC.len() + 4)
            .map(|len| bytes.split_at(len))
            .filter(|(content, checksum)| ::datasets::hash::sha1(content).as_slice() == *checksum);
        let Some((content, _)) = checked else {
            // An older file has no checksum; a damaged one fails it.
            if version != MODEL_FORMAT_VERSION {
                return Err(ModelError::Version {
                    path: path.to_owned(),
                    found: version,
                });
            }
            return Err(corrupt(format!(
                "damaged: the checksum over its {} bytes does not match (a changed, cut or \
                 extended file); retrain it with `prover train` or use a copy",
                bytes.len()
            )));
        };
        if version != MODEL_FORMAT_VERSION {
            return Err(ModelError::Version {
                path: path.to_owned(),
                found: version,
            });
        }
        let body = &content[MAGIC.len() + 4..];
        let stored: Stored =
            postcard::from_bytes(body).map_err(|e| corrupt(format!("damaged: {e}")))?;
        let mut model = LearnedModel::new();
        for tactic in stored.tactics {
            model.tactic_id(tactic);
        }
        for example in stored.examples {
            if example.tactic as usize >= model.tactics.len() {
                return Err(corrupt("an example names an unknown tactic".into()));
            }
            let index = model.examples.len() as u32;
            for band in bands_of(&example.features) {
                model.bands.entry(band).or_default().push(index);
            }
            model
                .seen
                .insert((example.features.clone(), example.tactic));
            model.examples.push(example);
        }
        for (bucket, tactic, count) in stored.failures {
            model.failures.insert((bucket, tactic), count);
        }
        Ok(model)
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<LearnedModel, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?;
        LearnedModel::from_bytes(&bytes, path)
    }

    /// Writes the model file atomically.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        ::datasets::write_atomic(path, &self.to_bytes()).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// SHA-1 of the file's bytes: part of the policy identity, so failures recorded under one
    /// model are never reused for another.
    pub fn content_hash(&self) -> String {
        ::datasets::hash::sha1_hex(self.to_bytes())
    }
}

/// The MinHash signature of a feature set: for each of `SIGNATURE` seeds, the least seeded hash.
fn signature(features: &[u32]) -> [u32; SIGNATURE] {
    let mut signature = [u32::MAX; SIGNATURE];
    for &feature in features {
        for (seed, slot) in signature.iter_mut().enumerate() {
            let h = mix(feature ^ (seed as u32).wrapping_mul(0x9e37_79b9));
            *slot = (*slot).min(h);
        }
    }
    signature
}

/// The band keys of a feature set.
fn bands_of(features: &[u32]) -> Vec<(u8, u32)> {
    let signature = signature(features);
    signature
        .chunks(ROWS)
        .enumerate()
        .map(|(band, rows)| {
            let key = rows.iter().fold(0x811c_9dc5u32, |h, r| mix(h ^ r));
            (band as u8, key)
        })
        .collect()
}

/// The coarse class of a state that failure counts are kept per: its first band.
fn bucket(features: &[u32]) -> u32 {
    bands_of(features).first().map_or(0, |(_, key)| *key)
}

/// A 32-bit finalizer (murmur3's), spreading nearby inputs apart.
fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(state: &str, tactic: &str) -> (String, String) {
        (state.to_owned(), tactic.to_owned())
    }

    #[test]
    fn a_trained_step_is_proposed_again_at_a_similar_state_with_new_names() {
        let model = LearnedModel::train(
            &[
                step("n : ℕ\nh₀ : n ≤ 3\n⊢ n < 4", "gizmo_elim h₀"),
                step("x : ℝ\n⊢ x ^ 2 ≥ 0", "positivity"),
            ],
            &[],
        );
        let proposed = model.propose("m : ℕ\nhm : m ≤ 3\n⊢ m < 4");
        assert_eq!(proposed[0].tactic, "gizmo_elim hm");
        assert!(proposed[0].score <= 0.0 && proposed[0].score > -1.0);
        assert!(LearnedModel::new().propose("⊢ True").is_empty());
    }

    #[test]
    fn refusals_push_a_tactic_down() {
        let steps = [
            step("a : ℕ\n⊢ a + 0 = a", "simp"),
            step("a : ℕ\n⊢ a + 0 = a", "omega"),
        ];
        let plain = LearnedModel::train(&steps, &[]);
        let refused = LearnedModel::train(&steps, &vec![step("b : ℕ\n⊢ b + 0 = b", "simp"); 3]);
        let score = |m: &LearnedModel, t: &str| {
            m.propose("c : ℕ\n⊢ c + 0 = c")
                .into_iter()
                .find(|c| c.tactic == t)
                .unwrap()
                .score
        };
        assert!(score(&refused, "simp") < score(&plain, "simp"));
        assert_eq!(score(&refused, "omega"), score(&plain, "omega"));
    }

    #[test]
    fn training_is_a_function_of_the_rows_and_the_file_reads_back() {
        let rows = [
            step("n : ℕ\nh₀ : n ≤ 3\n⊢ n < 4", "gizmo_elim h₀"),
            step("x : ℝ\n⊢ x ^ 2 ≥ 0", "positivity"),
        ];
        let reversed: Vec<_> = rows.iter().rev().cloned().collect();
        let a = LearnedModel::train(&rows, &[]);
        let b = LearnedModel::train(&reversed, &[]);
        assert_eq!(a.to_bytes(), b.to_bytes());
        assert_eq!(a.content_hash(), b.content_hash());
        let path = Path::new("model.bin");
        let read = LearnedModel::from_bytes(&a.to_bytes(), path).unwrap();
        assert_eq!(read.to_bytes(), a.to_bytes());
        assert_eq!(
            read.propose("m : ℕ\nhm : m ≤ 3\n⊢ m < 4"),
            a.propose("m : ℕ\nhm : m ≤ 3\n⊢ m < 4")
        );
    }

    #[test]
    fn a_bad_file_is_refused_naming_it() {
        let path = Path::new("/tmp/model.bin");
        let error = LearnedModel::from_bytes(b"{\"json\": true}", path)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("/tmp/model.bin") && error.contains("not a prover learned model"),
            "{error}"
        );
        // A file of format version 1 (no checksum) names its version.
        let mut old = MAGIC.to_vec();
        old.extend_from_slice(&1u32.to_le_bytes());
        old.extend(postcard::to_stdvec(&Stored::default()).unwrap());
        let error = LearnedModel::from_bytes(&old, path)
            .unwrap_err()
            .to_string();
        assert!(error.contains("format version 1,"), "{error}");
    }

    #[test]
    fn every_flipped_bit_cut_and_appended_byte_is_refused_naming_the_file() {
        let path = Path::new("/tmp/model.bin");
        let good = LearnedModel::train(
            &[
                step("n : ℕ\nh₀ : n ≤ 3\n⊢ n < 4", "gizmo_elim h₀"),
                step("x : ℝ\n⊢ x ^ 2 ≥ 0", "positivity"),
            ],
            &[step("x : ℝ\n⊢ x ^ 2 ≥ 0", "simp")],
        )
        .to_bytes();
        assert!(LearnedModel::from_bytes(&good, path).is_ok());
        let refused = |bytes: &[u8], what: &str| {
            let error = LearnedModel::from_bytes(bytes, path)
                .err()
                .unwrap_or_else(|| panic!("{what} was read as a model"))
                .to_string();
            assert!(error.contains("/tmp/model.bin"), "{what}: {error}");
        };
        for index in 0..good.len() {
            for bit in 0..8 {
                let mut flipped = good.clone();
                flipped[index] ^= 1 << bit;
                refused(&flipped, &format!("bit {bit} of byte {index} flipped"));
            }
        }
        for len in 0..good.len() {
            refused(&good[..len], &format!("the first {len} bytes"));
        }
        for extra in [&b"\0"[..], b"garbage", &[0u8; 20]] {
            refused(&[&good[..], extra].concat(), "appended bytes");
        }
    }
}
