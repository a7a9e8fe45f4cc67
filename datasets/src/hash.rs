//! The stable hashes of prover, one copy each: FNV-1a (32 and 64 bits) for in-memory keys and
//! learned features, SHA-1 for names, splits, shards and file identities.
//!
//! "Stable" means the same bytes give the same hash on every run, platform and version of
//! Rust, which the standard library's randomized `HashMap` hasher does not promise. Each
//! function is pinned by published test vectors below, so a change that would move a model's
//! features, a theorem's split or a file's key fails a test first.

/// FNV-1a, 64 bits: the offset basis and prime of the FNV specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Fnv1a64 {
    /// The FNV-1a 64 offset basis.
    pub const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    /// The FNV-1a 64 prime.
    pub const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hasher that has seen nothing.
    pub const fn new() -> Fnv1a64 {
        Fnv1a64(Self::OFFSET_BASIS)
    }

    /// Feeds `bytes`, one at a time, in order.
    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u8(byte);
        }
    }

    /// Feeds one byte (a separator that no UTF-8 text contains is `0xff`).
    pub fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(Self::PRIME);
    }

    /// The hash of everything fed so far.
    pub const fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64::new()
    }
}

/// FNV-1a, 32 bits: the offset basis and prime of the FNV specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a32(u32);

impl Fnv1a32 {
    /// The FNV-1a 32 offset basis.
    pub const OFFSET_BASIS: u32 = 0x811c_9dc5;
    /// The FNV-1a 32 prime.
    pub const PRIME: u32 = 0x0100_0193;

    /// A hasher that has seen nothing.
    pub const fn new() -> Fnv1a32 {
        Fnv1a32(Self::OFFSET_BASIS)
    }

    /// Feeds `bytes`, one at a time, in order.
    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u8(byte);
        }
    }

    /// Feeds one byte.
    pub fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0 ^ u32::from(byte)).wrapping_mul(Self::PRIME);
    }

    /// The hash of everything fed so far.
    pub const fn finish(&self) -> u32 {
        self.0
    }
}

impl Default for Fnv1a32 {
    fn default() -> Self {
        Fnv1a32::new()
    }
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a64::new();
    hasher.write(bytes);
    hasher.finish()
}

/// FNV-1a 32 of `bytes`.
pub fn fnv1a_32(bytes: &[u8]) -> u32 {
    let mut hasher = Fnv1a32::new();
    hasher.write(bytes);
    hasher.finish()
}

/// The byte that ends each part in [`fnv1a_32_parts`]: never part of UTF-8 text, so `["ab", "c"]`
/// and `["a", "bc"]` hash apart.
pub const PART_END: u8 = 0xff;

/// FNV-1a 32 of `parts`, each followed by [`PART_END`]: the learned policy's feature hash.
pub fn fnv1a_32_parts(parts: &[&str]) -> u32 {
    let mut hasher = Fnv1a32::new();
    for part in parts {
        hasher.write(part.as_bytes());
        hasher.write_u8(PART_END);
    }
    hasher.finish()
}

/// The SHA-1 digest of `bytes`.
pub fn sha1(bytes: impl AsRef<[u8]>) -> [u8; 20] {
    sha1_smol::Sha1::from(bytes).digest().bytes()
}

/// The SHA-1 digest of `bytes` as 40 lowercase hex digits (as `sha1sum` prints it).
pub fn sha1_hex(bytes: impl AsRef<[u8]>) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
}

/// The first eight bytes of the SHA-1 of `bytes`, big-endian: the stable number a name is
/// bucketed by ([`crate::explore::split_of`] takes its top 16 bits modulo 100,
/// [`crate::shard::Shard`] the whole modulo the shard count).
pub fn sha1_prefix(bytes: impl AsRef<[u8]>) -> u64 {
    let digest = sha1(bytes);
    u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published FNV-1a vectors (the FNV reference test suite, `fnv_test.c` / draft-eastlake-fnv).
    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fnv1a_fed_in_pieces_is_fnv1a_of_the_whole() {
        let mut hasher = Fnv1a64::new();
        hasher.write(b"foo");
        hasher.write(b"");
        hasher.write(b"bar");
        assert_eq!(hasher.finish(), fnv1a_64(b"foobar"));
        let mut hasher = Fnv1a32::default();
        hasher.write(b"fo");
        hasher.write_u8(b'o');
        hasher.write(b"bar");
        assert_eq!(hasher.finish(), fnv1a_32(b"foobar"));
    }

    #[test]
    fn parts_are_separated() {
        assert_eq!(fnv1a_32_parts(&["foobar"]), fnv1a_32(b"foobar\xff"));
        assert_ne!(fnv1a_32_parts(&["ab", "c"]), fnv1a_32_parts(&["a", "bc"]));
        assert_ne!(fnv1a_32_parts(&["t1", "x"]), fnv1a_32_parts(&["t1x"]));
    }

    /// Published SHA-1 vectors (FIPS 180 examples, RFC 3174).
    #[test]
    fn sha1_matches_the_published_vectors() {
        assert_eq!(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            sha1("abc")[..4],
            [0xa9, 0x99, 0x3e, 0x36],
            "the digest bytes are the hex digits' bytes"
        );
    }

    #[test]
    fn the_prefix_is_the_digests_first_eight_bytes() {
        assert_eq!(sha1_prefix("abc"), 0xa999_3e36_4706_816a);
    }
}
