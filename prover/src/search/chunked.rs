//! Append-only arrays in fixed-size chunks, so a graph of a million nodes holds no doubling slack and never copies what it holds to grow.
//!
//! A `Vec` that doubles holds up to twice what it needs, and the graph's arrays are its
//! footprint: at 10⁶ nodes the spare capacity of the node, link and edge vectors alone came to
//! over ten bytes a node. Here the first chunk grows as a `Vec` does (a small search allocates
//! little), and every later chunk is allocated at its full size once, so the spare capacity is
//! at most one chunk. An element is found by one shift and one mask.

/// Elements per chunk, as a power of two.
const CHUNK_BITS: u32 = 14;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

/// An append-only array stored as chunks of [`CHUNK`] elements.
#[derive(Debug)]
pub(super) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push(&mut self, value: T) {
        let chunk = self.len >> CHUNK_BITS;
        if chunk == self.chunks.len() {
            // The first chunk grows by doubling up to `CHUNK` (a power of two, so it never
            // goes past it); later ones are allocated whole.
            let capacity = if chunk == 0 { 0 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(capacity));
        }
        self.chunks[chunk].push(value);
        self.len += 1;
    }

    #[inline]
    pub(super) fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index >> CHUNK_BITS)?.get(index & MASK)
    }

    /// Every element in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> + Clone {
        self.chunks.iter().flatten()
    }
}

impl<T> std::ops::Index<usize> for Chunked<T> {
    type Output = T;

    #[inline]
    fn index(&self, index: usize) -> &T {
        &self.chunks[index >> CHUNK_BITS][index & MASK]
    }
}

impl<T> std::ops::IndexMut<usize> for Chunked<T> {
    #[inline]
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index >> CHUNK_BITS][index & MASK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_keep_their_index_across_chunks_and_spare_capacity_stays_within_one_chunk() {
        let mut array = Chunked::default();
        let n = 3 * CHUNK + 5;
        for i in 0..n {
            array.push(i as u32);
        }
        assert_eq!(array.len(), n);
        for i in [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 7, n - 1] {
            assert_eq!(array[i], i as u32);
            assert_eq!(array.get(i), Some(&(i as u32)));
        }
        assert_eq!(array.get(n), None);
        array[CHUNK] = 7;
        assert_eq!((array[CHUNK], array[CHUNK + 1]), (7, CHUNK as u32 + 1));
        assert_eq!(array.iter().count(), n);
        let capacity: usize = array.chunks.iter().map(Vec::capacity).sum();
        assert!(capacity - n < CHUNK, "{capacity} for {n}");
    }
}
