//! A small, fast, non-cryptographic hash (FxHash-style word mixing plus a final avalanche) for the search's own tables.
//!
//! The keys are proof-state texts and tactics produced by our own collaborators, not by an
//! adversary, so SipHash's flooding resistance buys nothing and costs most of a lookup. The
//! hash never decides anything the search does: every table that uses it compares full keys,
//! and the search iterates none of them.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The FxHash multiplier (as in rustc's `FxHasher`).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// A `HashMap` with [`FastHasher`].
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A `HashSet` with [`FastHasher`].
pub(super) type FastSet<T> = HashSet<T, BuildHasherDefault<FastHasher>>;

/// FxHash over 8-byte words, finished with the murmur3 avalanche so the low bits (which
/// pick the bucket) depend on every input bit.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.add(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The same little-endian word as copying the bytes into a zeroed `[u8; 8]`, without
            // the `memcpy` call a variable-length copy compiles to (it cost as much as the
            // hashing itself on short texts).
            let word = rest
                .iter()
                .rev()
                .fold(0u64, |word, &byte| (word << 8) | u64::from(byte));
            self.add(word);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The hash of `text`, as the graph's state index computes it.
#[inline]
pub(super) fn hash_str(text: &str) -> u64 {
    let mut hasher = FastHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinguishes_lengths_and_tails() {
        let texts = [
            "",
            "a",
            "a\0",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "⊢ goal_1",
            "⊢ goal_2",
        ];
        let hashes: FastSet<u64> = texts.iter().map(|t| hash_str(t)).collect();
        assert_eq!(hashes.len(), texts.len());
    }

    #[test]
    fn a_tail_is_hashed_as_the_zero_padded_little_endian_word() {
        for text in ["a", "abcdefg", "abcdefgh", "abcdefghijk", "⊢ goal_123"] {
            let bytes = text.as_bytes();
            let mut expected = FastHasher::default();
            expected.add(bytes.len() as u64);
            for chunk in bytes.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                expected.add(u64::from_le_bytes(word));
            }
            assert_eq!(hash_str(text), expected.finish(), "{text}");
        }
    }
}
