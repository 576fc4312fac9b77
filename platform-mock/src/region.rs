//! An in-process ring: the header and slot words as owned atomics behind an `Arc`.

use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use vitalring_core::layout::HEADER_SIZE;
use vitalring_core::region::{Access, Region, RegionRef, SharedHeader};
use vitalring_core::Geometry;

#[derive(Debug)]
struct Memory {
    header: SharedHeader,
    words: Box<[AtomicU32]>,
}

/// A shared region in process memory. Cloning is cheap and every clone views the same memory,
/// so a writer, any number of readers and a [`crate::FaultInjector`] can each hold one, across
/// threads.
#[derive(Debug, Clone)]
pub struct MockRegion {
    memory: Arc<Memory>,
    access: Access,
}

impl MockRegion {
    /// A zeroed, writable region of exactly `geometry.region_len()` bytes.
    pub fn new(geometry: Geometry) -> Self {
        Self::with_len(geometry.region_len())
    }

    /// A zeroed, writable region of `len` bytes (rounded down to whole 32-bit words, at least a
    /// header): for tests of mappings whose length does not match their header.
    pub fn with_len(len: usize) -> Self {
        let words = len.max(HEADER_SIZE).saturating_sub(HEADER_SIZE) / 4;
        Self {
            memory: Arc::new(Memory {
                header: SharedHeader::zeroed(),
                words: (0..words).map(|_| AtomicU32::new(0)).collect(),
            }),
            access: Access::ReadWrite,
        }
    }

    /// The epoch in the header (what a handshake would announce).
    pub fn epoch(&self) -> u64 {
        self.region().header_snapshot().epoch
    }

    /// A read-only handle to the same memory (what a reader maps).
    pub fn read_only(&self) -> Self {
        Self {
            memory: Arc::clone(&self.memory),
            access: Access::ReadOnly,
        }
    }

    /// Whether this handle may store.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Length in bytes, header included.
    pub fn len(&self) -> usize {
        self.region().len()
    }

    /// Always false: a region holds at least a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `other` views the same memory.
    pub fn same_memory(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.memory, &other.memory)
    }

    /// The bytes of the slot area from `offset` (a multiple of 4, at least 80) for `len` bytes,
    /// read word by word (relaxed). `None` if out of bounds or unaligned.
    pub fn read_bytes(&self, offset: usize, len: usize) -> Option<Vec<u8>> {
        if !offset.is_multiple_of(4) || !len.is_multiple_of(4) || offset < HEADER_SIZE {
            return None;
        }
        let view = self.region();
        let mut out = Vec::with_capacity(len);
        for at in (offset..offset + len).step_by(4) {
            out.extend_from_slice(&view.peek_word(at)?.to_le_bytes());
        }
        Some(out)
    }
}

impl Region for MockRegion {
    fn region(&self) -> RegionRef<'_> {
        RegionRef::from_parts(&self.memory.header, &self.memory.words, self.access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalring_core::region::RegionError;

    #[test]
    fn clones_share_memory_and_read_only_refuses_stores() {
        let g = Geometry::new(64, 2).unwrap();
        let rw = MockRegion::new(g);
        let ro = rw.read_only();
        assert!(rw.same_memory(&ro));
        assert_eq!(rw.len(), g.region_len());
        rw.region().poke_word(80, 0xdead_beef).unwrap();
        assert_eq!(ro.region().peek_word(80), Some(0xdead_beef));
        assert_eq!(ro.region().poke_word(80, 0), Err(RegionError::ReadOnly));
        assert_eq!(
            rw.read_bytes(80, 4),
            Some(0xdead_beef_u32.to_le_bytes().to_vec())
        );
        assert_eq!(rw.read_bytes(82, 4), None);
    }

    #[test]
    fn odd_lengths_round_down_to_words() {
        assert_eq!(MockRegion::with_len(10).len(), HEADER_SIZE);
        assert_eq!(MockRegion::with_len(HEADER_SIZE + 7).len(), HEADER_SIZE + 4);
    }
}
