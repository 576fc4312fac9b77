//! Breaking a ring on purpose: bit flips, word pokes, torn writes, laps and header rewrites.
//!
//! [`FaultInjector`] works on any writable [`Region`] (the mock's, or a Linux producer
//! mapping), through core's [`RegionRef::flip_bit`] and [`RegionRef::poke_word`]; it never
//! touches the live counters `writeIndex` and `heartbeatTimestamp` (core refuses that, to keep
//! one access size per word). Faults that need the counters to move are made with the real
//! [`Writer`]: see [`FaultInjector::torn_publish`] and [`lap`].

use vitalring_core::frame::{committed_word, writing_word, FrameMeta, WriteError};
use vitalring_core::layout::{header_crc, HEADER_SIZE, SLOT_HEADER_SIZE};
use vitalring_core::region::{Region, RegionError, RegionRef};
use vitalring_core::slot::Writer;
use vitalring_core::time::{UnixMs, UnixNs};
use vitalring_core::Geometry;

/// Byte offset of `frameSizeBytes` in the ring header.
pub const HEADER_FRAME_SIZE_OFFSET: usize = 8;
/// Byte offset of `frameCount` in the ring header.
pub const HEADER_FRAME_COUNT_OFFSET: usize = 12;
/// Byte offset of the header `crc32`.
pub const HEADER_CRC_OFFSET: usize = 32;
/// Byte offset of `commit` in a slot.
pub const SLOT_COMMIT_OFFSET: usize = 4;

/// Why a fault could not be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// The region refused the store (read-only, or an offset outside it or in the live
    /// counters).
    Region(RegionError),
    /// A byte offset outside the slot (`offset >= frameSizeBytes`), or a slot image of the
    /// wrong length.
    OutsideSlot(usize),
    /// A header offset outside `[0, 16) ∪ [32, 80)`.
    OutsideHeader(usize),
    /// The real writer refused the frame.
    Write(WriteError),
}

impl core::fmt::Display for FaultError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Region(e) => write!(f, "region refused the fault: {e}"),
            Self::OutsideSlot(o) => write!(f, "offset {o} is outside the slot"),
            Self::OutsideHeader(o) => write!(f, "offset {o} is not an immutable header byte"),
            Self::Write(e) => write!(f, "writer refused the frame: {e}"),
        }
    }
}

impl std::error::Error for FaultError {}

impl From<RegionError> for FaultError {
    fn from(e: RegionError) -> Self {
        Self::Region(e)
    }
}

/// Injects faults into the slots and header of one ring of known geometry.
#[derive(Debug, Clone)]
pub struct FaultInjector<R: Region> {
    region: R,
    geometry: Geometry,
}

impl<R: Region> FaultInjector<R> {
    /// An injector for `region` (a writable view) whose real geometry is `geometry`. The
    /// injector keeps using this geometry after [`FaultInjector::rewrite_geometry`].
    pub fn new(region: R, geometry: Geometry) -> Self {
        Self { region, geometry }
    }

    /// The geometry faults are computed with.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn view(&self) -> RegionRef<'_> {
        self.region.region()
    }

    fn slot_byte(&self, index: u64, offset: usize) -> Result<usize, FaultError> {
        if offset >= self.geometry.frame_size() as usize {
            return Err(FaultError::OutsideSlot(offset));
        }
        Ok(self.geometry.slot_offset(index) + offset)
    }

    /// Flips bit `bit` (0..8) of byte `offset` of the slot that holds ring index `index`.
    ///
    /// # Errors
    /// [`FaultError::OutsideSlot`] or [`FaultError::Region`].
    pub fn flip_slot_bit(&self, index: u64, offset: usize, bit: u8) -> Result<(), FaultError> {
        let at = self.slot_byte(index, offset)?;
        Ok(self.view().flip_bit(at, bit)?)
    }

    /// Reads the 32-bit word at byte `offset` (a multiple of 4) of the slot of `index`.
    pub fn peek_slot_word(&self, index: u64, offset: usize) -> Option<u32> {
        self.view().peek_word(self.slot_byte(index, offset).ok()?)
    }

    /// Overwrites the 32-bit word at byte `offset` (a multiple of 4) of the slot of `index`.
    ///
    /// # Errors
    /// [`FaultError::OutsideSlot`] or [`FaultError::Region`].
    pub fn poke_slot_word(&self, index: u64, offset: usize, value: u32) -> Result<(), FaultError> {
        let at = self.slot_byte(index, offset)?;
        Ok(self.view().poke_word(at, value)?)
    }

    /// The whole slot of `index` as bytes (relaxed loads, word by word).
    pub fn slot_bytes(&self, index: u64) -> Vec<u8> {
        let base = self.geometry.slot_offset(index);
        let view = self.view();
        (0..self.geometry.frame_size() as usize)
            .step_by(4)
            .flat_map(|o| view.peek_word(base + o).unwrap_or(0).to_le_bytes())
            .collect()
    }

    /// Overwrites the whole slot of `index` with `bytes` (exactly `frameSizeBytes` long),
    /// `commit` included: a forged frame, e.g. one with a correct CRC but a wrong sequence
    /// number, an unknown type or an oversized `dataSize`. The `commit` word is stored last.
    ///
    /// # Errors
    /// [`FaultError::OutsideSlot`] for a wrong length, or [`FaultError::Region`].
    pub fn write_slot(&self, index: u64, bytes: &[u8]) -> Result<(), FaultError> {
        let f = self.geometry.frame_size() as usize;
        if bytes.len() != f {
            return Err(FaultError::OutsideSlot(bytes.len()));
        }
        let base = self.geometry.slot_offset(index);
        let view = self.view();
        for (i, w) in bytes.chunks_exact(4).enumerate() {
            if i * 4 != SLOT_COMMIT_OFFSET {
                view.poke_word(base + i * 4, u32::from_le_bytes([w[0], w[1], w[2], w[3]]))?;
            }
        }
        let c = &bytes[SLOT_COMMIT_OFFSET..SLOT_COMMIT_OFFSET + 4];
        view.poke_word(
            base + SLOT_COMMIT_OFFSET,
            u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
        )?;
        Ok(())
    }

    /// XORs every payload word of the slot of `index` from payload byte `from` (rounded down to
    /// a word) to the CRC field with `pattern`: garbage where the payload was.
    ///
    /// # Errors
    /// [`FaultError::Region`].
    pub fn garble_payload(&self, index: u64, from: usize, pattern: u32) -> Result<(), FaultError> {
        let f = self.geometry.frame_size() as usize;
        let start = (SLOT_HEADER_SIZE + from) & !3;
        let view = self.view();
        let base = self.geometry.slot_offset(index);
        for o in (start..f - 8).step_by(4) {
            let old = view.peek_word(base + o).unwrap_or(0);
            view.poke_word(base + o, old ^ pattern)?;
        }
        Ok(())
    }

    /// A writer that stopped half-way through frame `index`: `commit` becomes the *writing*
    /// word for `index`, and everything from the middle of the frame's payload (by its
    /// `dataSize`) to the CRC field is garbled (the writer had not got there yet).
    /// `writeIndex` is not touched:
    ///
    /// - called with the writer's next index (`writer.published()`), it is a crash before the
    ///   commit: `writeIndex` does not cover the slot, so no reader looks at it, and the frame
    ///   the slot held before (`index - frameCount`) is gone;
    /// - called with an index already published, `writeIndex` covers a slot that is not
    ///   committed: a reader must drop it (see [`FaultInjector::torn_publish`]).
    ///
    /// # Errors
    /// [`FaultError::Region`].
    pub fn tear(&self, index: u64) -> Result<(), FaultError> {
        self.poke_slot_word(index, SLOT_COMMIT_OFFSET, writing_word(index))?;
        let base = self.geometry.slot_offset(index);
        let data_size = self.view().peek_word(base + 20).unwrap_or(0) as usize;
        let half = data_size.min(self.geometry.payload_capacity()) / 2;
        self.garble_payload(index, half, 0xA5A5_A5A5)
    }

    /// Publishes a frame with the real `writer` (so `writeIndex` advances past it), then tears
    /// it with [`FaultInjector::tear`]: a reader sees an index it may read whose slot is not
    /// committed. Returns the index.
    ///
    /// # Errors
    /// [`FaultError::Write`] or [`FaultError::Region`].
    pub fn torn_publish<W: Region>(
        &self,
        writer: &mut Writer<W>,
        meta: FrameMeta,
        payload: &[u8],
        now: UnixMs,
    ) -> Result<u64, FaultError> {
        let index = writer
            .publish(meta, payload, now)
            .map_err(FaultError::Write)?;
        self.tear(index)?;
        Ok(index)
    }

    /// Stores `commit = committed(index)` in the slot of `index` (to "repair" a torn slot or
    /// to forge a commit for garbage).
    ///
    /// # Errors
    /// [`FaultError::Region`].
    pub fn force_commit(&self, index: u64) -> Result<(), FaultError> {
        self.poke_slot_word(index, SLOT_COMMIT_OFFSET, committed_word(index))
    }

    /// Overwrites `writeIndex` (a hostile or broken writer).
    pub fn set_write_index(&self, value: u64) {
        // Only a read-only region refuses, and the injector holds a writable one.
        let _ = self.region.region().poke_write_index(value);
    }

    /// Flips bit `bit` of header byte `offset` (in `[0, 16)` or `[32, 80)`; the live counters
    /// in `[16, 32)` are refused).
    ///
    /// # Errors
    /// [`FaultError::OutsideHeader`] or [`FaultError::Region`].
    pub fn flip_header_bit(&self, offset: usize, bit: u8) -> Result<(), FaultError> {
        if offset >= HEADER_SIZE || (16..32).contains(&offset) {
            return Err(FaultError::OutsideHeader(offset));
        }
        Ok(self.view().flip_bit(offset, bit)?)
    }

    /// Overwrites the header word at byte `offset` (a multiple of 4 in `[0, 16)` or
    /// `[32, 80)`; the live counters are refused).
    ///
    /// # Errors
    /// [`FaultError::OutsideHeader`] or [`FaultError::Region`].
    pub fn poke_header_word(&self, offset: usize, value: u32) -> Result<(), FaultError> {
        if offset >= HEADER_SIZE || (16..32).contains(&offset) {
            return Err(FaultError::OutsideHeader(offset));
        }
        Ok(self.view().poke_word(offset, value)?)
    }

    /// Rewrites `frameSizeBytes` and/or `frameCount` in the live header under any attached
    /// reader; with `fix_crc` the header CRC is recomputed so only the geometry (and length)
    /// checks can notice.
    ///
    /// # Errors
    /// [`FaultError::Region`].
    pub fn rewrite_geometry(
        &self,
        frame_size: Option<u32>,
        frame_count: Option<u32>,
        fix_crc: bool,
    ) -> Result<(), FaultError> {
        let view = self.view();
        if let Some(v) = frame_size {
            view.poke_word(HEADER_FRAME_SIZE_OFFSET, v)?;
        }
        if let Some(v) = frame_count {
            view.poke_word(HEADER_FRAME_COUNT_OFFSET, v)?;
        }
        if fix_crc {
            self.fix_header_crc()?;
        }
        Ok(())
    }

    /// Recomputes and stores the header CRC from the header's current fields.
    ///
    /// # Errors
    /// [`FaultError::Region`].
    pub fn fix_header_crc(&self) -> Result<(), FaultError> {
        let view = self.view();
        let crc = header_crc(&view.header_snapshot());
        Ok(view.poke_word(HEADER_CRC_OFFSET, crc)?)
    }
}

/// Laps slow readers: publishes `frames` heartbeat frames with the real writer (call with more
/// than `frameCount` to lap a reader that has not moved). Returns the last index published.
///
/// # Errors
pub fn lap<W: Region>(
    writer: &mut Writer<W>,
    frames: u64,
    timestamp: UnixNs,
    now: UnixMs,
) -> Option<u64> {
    let mut last = None;
    for _ in 0..frames {
        last = Some(writer.publish_heartbeat(timestamp, now));
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MockRegion;
    use vitalring_core::frame::{SlotError, SlotView};
    use vitalring_core::layout::{Encoding, FrameType, HeaderError};
    use vitalring_core::slot::{LapPolicy, Poll};
    use vitalring_core::slot::{Reader, Start, WriterConfig};

    fn setup() -> (Writer<MockRegion>, FaultInjector<MockRegion>, Geometry) {
        let g = Geometry::new(128, 4).unwrap();
        let region = MockRegion::new(g);
        let inj = FaultInjector::new(region.clone(), g);
        let w = Writer::create(
            region,
            WriterConfig {
                geometry: g,
                epoch: 9,
                created: UnixNs(1),
                now: UnixMs(1),
            },
        )
        .unwrap();
        (w, inj, g)
    }

    const META: FrameMeta = FrameMeta {
        frame_type: FrameType::Heartbeat,
        encoding: Encoding::Json,
        timestamp: UnixNs(5),
    };

    #[test]
    fn slot_bytes_round_trip_and_bit_flips_break_the_crc() {
        let (mut w, inj, _) = setup();
        let i = w.publish(META, b"abc", UnixMs(2)).unwrap();
        let bytes = inj.slot_bytes(i);
        assert!(SlotView::new_checked(&bytes, Some(i)).is_ok());
        inj.flip_slot_bit(i, 25, 3).unwrap();
        assert!(matches!(
            SlotView::new_checked(&inj.slot_bytes(i), Some(i)),
            Err(SlotError::Rejected(_))
        ));
        inj.write_slot(i, &bytes).unwrap();
        assert_eq!(inj.slot_bytes(i), bytes);
        assert_eq!(
            inj.flip_slot_bit(i, 128, 0),
            Err(FaultError::OutsideSlot(128))
        );
    }

    #[test]
    fn torn_publish_is_dropped_and_header_faults_are_seen() {
        let (mut w, inj, g) = setup();
        let ro = w.region().read_only();
        let ring = vitalring_core::Ring::new_checked(ro).unwrap();
        let mut r = Reader::attach(ring, vec![0u8; 96], LapPolicy::Latest, Start::Next).unwrap();
        let i = inj.torn_publish(&mut w, META, b"", UnixMs(3)).unwrap();
        assert!(matches!(r.poll(), Poll::Dropped { first, count: 1, .. } if first == i));
        inj.tear(w.published()).unwrap();
        assert_eq!(r.poll(), Poll::Empty);
        assert_eq!(r.check_header(), Ok(()));
        inj.rewrite_geometry(Some(256), None, true).unwrap();
        assert!(matches!(
            r.check_header(),
            Err(HeaderError::RegionLength { .. })
        ));
        inj.rewrite_geometry(Some(g.frame_size()), None, true)
            .unwrap();
        assert_eq!(r.check_header(), Ok(()));
        assert_eq!(
            inj.flip_header_bit(20, 0),
            Err(FaultError::OutsideHeader(20))
        );
        inj.flip_header_bit(40, 0).unwrap();
        assert!(matches!(r.check_header(), Err(HeaderError::Crc { .. })));
        assert_eq!(lap(&mut w, 5, UnixNs(0), UnixMs(4)), Some(5));
    }
}
