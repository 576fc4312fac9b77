//! A ring that lives in a `static`: firmware's shared region, built at compile time.
//!
//! ```
//! use vitalring_core::static_ring::{slot_words, StaticRing};
//! use vitalring_core::Geometry;
//!
//! const GEOMETRY: Geometry = match Geometry::new(256, 8) {
//!     Ok(g) => g,
//!     Err(_) => panic!("invalid ring geometry"),
//! };
//! static RING: StaticRing<{ slot_words(GEOMETRY) }> = StaticRing::new();
//!
//! // `&RING` is a `Region`: hand it to `Writer::create` and `Reader::attach`.
//! use vitalring_core::region::Region;
//! assert_eq!(RING.region().len(), GEOMETRY.region_len());
//! ```
//!
//! The ring is all zeros until a writer creates it, so it lands in `.bss` and costs no flash.
//! Its layout is the wire format's (an 80-byte header, then the slots), 8-byte aligned, so the
//! same type can be placed in a linker section that another core or a DMA engine shares: the
//! bytes are exactly what a Linux reader maps.

use crate::atomics::AtomicU32;
use crate::layout::{Geometry, HEADER_SIZE};
use crate::region::{Access, Region, RegionRef, SharedHeader};

/// The number of 32-bit slot words a ring of `geometry` holds (the `WORDS` of a
/// [`StaticRing`]).
pub const fn slot_words(geometry: Geometry) -> usize {
    (geometry.region_len() - HEADER_SIZE) / 4
}

/// A whole ring (header and `WORDS` slot words) that can be built in a `const` context.
#[derive(Debug)]
#[repr(C, align(8))]
pub struct StaticRing<const WORDS: usize> {
    header: SharedHeader,
    slots: [AtomicU32; WORDS],
}

#[cfg(not(loom))]
const _: () = {
    // The slots start right after the 80-byte header, as on the wire.
    assert!(core::mem::offset_of!(StaticRing<2>, slots) == HEADER_SIZE);
    assert!(core::mem::size_of::<StaticRing<2>>() == HEADER_SIZE + 8);
};

impl<const WORDS: usize> StaticRing<WORDS> {
    /// A ring of zeros, ready for `Writer::create`.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            header: SharedHeader::zeroed(),
            slots: [const { AtomicU32::new(0) }; WORDS],
        }
    }

    /// A ring of zeros (loom's atomics have no `const fn new`).
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            header: SharedHeader::zeroed(),
            slots: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    /// Total length in bytes: `80 + 4 * WORDS`.
    pub const fn len(&self) -> usize {
        HEADER_SIZE + 4 * WORDS
    }

    /// Always false: a ring holds at least a header.
    pub const fn is_empty(&self) -> bool {
        false
    }
}

impl<const WORDS: usize> Default for StaticRing<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const WORDS: usize> Region for StaticRing<WORDS> {
    /// A read-write view: the ring's owner writes through it, and readers in the same address
    /// space only load through theirs.
    fn region(&self) -> RegionRef<'_> {
        RegionRef::from_parts(&self.header, &self.slots, Access::ReadWrite)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::layout::Encoding;
    use crate::payload::Record;
    use crate::slot::{LapPolicy, Poll, Reader, Start, Writer, WriterConfig};
    use crate::time::{UnixMs, UnixNs};

    const GEOMETRY: Geometry = match Geometry::new(128, 4) {
        Ok(g) => g,
        Err(_) => panic!("invalid geometry"),
    };
    static RING: StaticRing<{ slot_words(GEOMETRY) }> = StaticRing::new();

    #[test]
    fn a_static_ring_carries_frames() {
        assert_eq!(RING.len(), GEOMETRY.region_len());
        assert_eq!(RING.region().len(), GEOMETRY.region_len());
        let config = WriterConfig {
            geometry: GEOMETRY,
            epoch: 9,
            created: UnixNs(1),
            now: UnixMs(1),
        };
        let mut w = Writer::create(&RING, config).unwrap();
        let ring = crate::Ring::new_checked(&RING).unwrap();
        let mut r = Reader::attach(ring, [0u8; 96], LapPolicy::Latest, Start::Next).unwrap();
        w.publish_heartbeat(UnixNs(5), UnixMs(2));
        w.publish_record(&Record::Heartbeat, Encoding::Binary, UnixNs(6), UnixMs(3))
            .unwrap();
        for want in [5, 6] {
            match r.poll() {
                Poll::Frame(v) => {
                    assert_eq!(
                        crate::payload::decode(v.meta.frame_type, v.meta.encoding, v.payload),
                        Ok(Record::Heartbeat)
                    );
                    assert_eq!(v.meta.timestamp, UnixNs(want));
                }
                other => panic!("expected a heartbeat, got {other:?}"),
            }
        }
        assert!(matches!(r.poll(), Poll::Empty));
        assert_eq!(r.counters().delivered, 2);
    }

    #[test]
    fn a_ring_of_the_wrong_size_is_refused() {
        static SMALL: StaticRing<8> = StaticRing::new();
        let config = WriterConfig {
            geometry: GEOMETRY,
            epoch: 9,
            created: UnixNs(1),
            now: UnixMs(1),
        };
        assert!(Writer::create(&SMALL, config).is_err());
    }
}
