//! The single writer of a ring (see [`crate::slot`] for the protocol).

use crate::atomics::{fence, AtomicU32, Ordering, Word};
use crate::frame::{self, committed_word, writing_word, FrameMeta, WriteError};
use crate::layout::{
    Encoding, FrameType, Geometry, RingHeader, HEARTBEAT_STOPPED, SLOT_HEADER_SIZE, SLOT_OVERHEAD,
};
use crate::payload::{self, Record, MAX_ENCODED_LEN};
use crate::region::{Region, RegionError, RegionRef};
use crate::time::{UnixMs, UnixNs};

/// How a writer sets up a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Slot size and count.
    pub geometry: Geometry,
    /// Producer instance id; must not be zero.
    pub epoch: u64,
    /// Creation time (wall clock).
    pub created: UnixNs,
    /// Initial heartbeat (wall clock).
    pub now: UnixMs,
}

/// Why a writer could not take a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InitError {
    /// The region is read-only.
    ReadOnly,
    /// The region's length is not the geometry's.
    Length {
        /// What the geometry needs.
        expected: usize,
        /// What the region has.
        actual: usize,
    },
    /// The epoch is zero.
    Epoch,
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ReadOnly => write!(f, "region is read-only"),
            Self::Length { expected, actual } => {
                write!(f, "region is {actual} bytes, geometry needs {expected}")
            }
            Self::Epoch => write!(f, "epoch must not be zero"),
        }
    }
}

impl core::error::Error for InitError {}

/// The one writer of a ring.
#[derive(Debug)]
pub struct Writer<R: Region> {
    region: R,
    geometry: Geometry,
    next: u64,
    epoch: u64,
}

impl<R: Region> Writer<R> {
    /// Takes `region`, zeroes it and writes a fresh header. Must happen before any reader maps
    /// the region.
    ///
    /// # Errors
    /// [`InitError`].
    pub fn create(region: R, config: WriterConfig) -> Result<Self, InitError> {
        let view = region.region();
        if view.check_writable().is_err() {
            return Err(InitError::ReadOnly);
        }
        let expected = config.geometry.region_len();
        if view.len() != expected {
            return Err(InitError::Length {
                expected,
                actual: view.len(),
            });
        }
        if config.epoch == 0 {
            return Err(InitError::Epoch);
        }
        for word in view.words() {
            // Relaxed: no reader exists yet; the handshake that shares the region orders it.
            word.store(0, Ordering::Relaxed);
        }
        let mut header = RingHeader::new(config.geometry, config.epoch, config.created.0, {
            #[cfg(target_has_atomic = "64")]
            {
                0
            }
            #[cfg(not(target_has_atomic = "64"))]
            {
                crate::layout::FLAG_SPLIT_64
            }
        });
        header.heartbeat_timestamp = heartbeat_value(config.now);
        view.store_header(&header)
            .map_err(|_: RegionError| InitError::ReadOnly)?;
        Ok(Self {
            region,
            geometry: config.geometry,
            next: 0,
            epoch: config.epoch,
        })
    }

    /// The ring's geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The producer epoch written in the header.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Number of frames committed so far (the next frame's index).
    pub fn published(&self) -> u64 {
        self.next
    }

    /// The region this writer owns.
    pub fn region(&self) -> &R {
        &self.region
    }

    /// Gives the region back (the ring stays as written; a new writer must `create` it again).
    pub fn into_region(self) -> R {
        self.region
    }

    /// Writes and commits one frame with a raw payload; returns its index. Nothing is visible
    /// to readers until the frame is complete (see [`crate::slot`] for the protocol).
    ///
    /// # Errors
    /// [`WriteError::PayloadTooLarge`]; nothing is written then.
    pub fn publish(
        &mut self,
        meta: FrameMeta,
        payload: &[u8],
        now: UnixMs,
    ) -> Result<u64, WriteError> {
        let geometry = self.geometry;
        let capacity = geometry.payload_capacity();
        if payload.len() > capacity {
            return Err(WriteError::PayloadTooLarge {
                len: payload.len(),
                capacity,
            });
        }
        Ok(self.commit(meta, payload, now))
    }

    /// Writes and commits a frame whose payload fits the slot.
    fn commit(&mut self, meta: FrameMeta, payload: &[u8], now: UnixMs) -> u64 {
        let index = self.next;
        let view = self.region.region();
        let per_slot = self.geometry.frame_size() as usize / 4;
        let slot_start = self.geometry.slot_of(index) * per_slot;
        let slot = self.slot_words(&view, index);
        let frame_count = u64::from(self.geometry.frame_count());
        let old_len = previous_len(slot, index, frame_count, self.geometry.payload_capacity());
        write_slot(
            &view,
            slot_start,
            slot,
            index,
            meta,
            payload,
            self.geometry.slot_size().bytes(),
            old_len,
        );
        view.store_write_index(index + 1);
        view.store_heartbeat(heartbeat_value(now));
        self.next = index + 1;
        index
    }

    /// Encodes `record` and publishes it; returns its index.
    ///
    /// # Errors
    /// [`WriteError::Encode`] for a record that fails validation, [`WriteError::PayloadTooLarge`].
    pub fn publish_record(
        &mut self,
        record: &Record,
        encoding: Encoding,
        timestamp: UnixNs,
        now: UnixMs,
    ) -> Result<u64, WriteError> {
        let mut buf = [0u8; MAX_ENCODED_LEN];
        let len = payload::encode(record, encoding, &mut buf).map_err(WriteError::Encode)?;
        let meta = FrameMeta {
            frame_type: record.frame_type(),
            encoding,
            timestamp,
        };
        self.publish(meta, &buf[..len], now)
    }

    /// Publishes an empty heartbeat frame (type 3); returns its index. An empty payload fits
    /// every slot, so this cannot fail.
    pub fn publish_heartbeat(&mut self, timestamp: UnixNs, now: UnixMs) -> u64 {
        let meta = FrameMeta {
            frame_type: FrameType::Heartbeat,
            encoding: Encoding::Json,
            timestamp,
        };
        self.commit(meta, &[], now)
    }

    /// Refreshes `heartbeatTimestamp` without publishing a frame. Call at least every 50 ms
    /// while idle.
    pub fn heartbeat(&self, now: UnixMs) {
        self.region.region().store_heartbeat(heartbeat_value(now));
    }

    /// Marks the ring "producer stopped" ([`HEARTBEAT_STOPPED`] in `heartbeatTimestamp`) and
    /// gives the region back. Readers deliver every frame committed before this, then report
    /// the producer stopped (not stalled).
    pub fn stop(self) -> R {
        self.mark_stopped();
        self.region
    }

    /// Marks the ring "producer stopped" without giving the region back (for a producer's
    /// `Drop`). Publishing after this clears the mark again.
    pub fn mark_stopped(&self) {
        // SYNC: Release pairs with the Acquire load of the heartbeat in `Session::poll`
        // (`heartbeat_acquire`): a reader that sees "stopped" also sees the last `writeIndex`
        // store, so it can drain every frame before reporting.
        self.region
            .region()
            .store_heartbeat_release(HEARTBEAT_STOPPED);
    }

    fn slot_words<'a>(&self, view: &RegionRef<'a>, index: u64) -> &'a [AtomicU32] {
        let per_slot = self.geometry.frame_size() as usize / 4;
        let start = self.geometry.slot_of(index) * per_slot;
        // The region length was checked against the geometry in `create`, so this is in bounds;
        // `get` keeps even a broken invariant from panicking.
        view.words().get(start..start + per_slot).unwrap_or(&[])
    }
}

/// Every this many laps of the ring, the writer scans a slot's whole tail instead of trusting
/// the previous frame's `dataSize` (see [`previous_len`]): a tail dirtied by something other
/// than the writer (a memory fault) is cleared within this many laps.
pub const SCRUB_LAPS: u64 = 64;

/// How many payload bytes the previous frame in `index`'s slot left, when the writer can trust
/// that figure: the slot holds the cleanly committed frame `index - frame_count` (so every
/// byte past its `dataSize` is zero — this writer wrote it) and this is not a scrub lap.
/// `None` means "scan the whole tail": the first lap, every [`SCRUB_LAPS`]-th lap, and any
/// slot whose `commit` word is not the previous lap's committed word (a torn or foreign slot).
fn previous_len(
    slot: &[AtomicU32],
    index: u64,
    frame_count: u64,
    capacity: usize,
) -> Option<usize> {
    let lap = index / frame_count.max(1);
    if lap.is_multiple_of(SCRUB_LAPS) {
        return None;
    }
    // Relaxed: the single writer re-reads its own earlier stores (no other process writes the
    // ring), so program order is enough.
    let commit = slot.get(1)?.load(Ordering::Relaxed);
    if commit != committed_word(index - frame_count) {
        return None;
    }
    let len = slot.get(5)?.load(Ordering::Relaxed) as usize;
    (len <= capacity).then_some(len)
}

/// A wall-clock heartbeat value that can never be mistaken for [`HEARTBEAT_STOPPED`].
fn heartbeat_value(now: UnixMs) -> u64 {
    now.0.min(HEARTBEAT_STOPPED - 1)
}

/// Writes frame `index` into `slot` (the slot's words, `frame_size / 4` of them) and commits it.
///
/// The payload area (`[24, frame_size - 8)`) is written 64 bits wide where the region allows
/// it ([`RegionRef::wide_words`]), 32 bits otherwise. Only the words that change are stored:
/// the payload, then the words the previous frame in this slot used past it (`old_len`, see
/// [`previous_len`]) or, on a scrub, only the words that are not zero already (each is loaded first;
/// a load of a line the reader also holds costs no transfer between the cores, a store does).
/// Every byte past `dataSize` is therefore zero in every committed frame, as the wire format
/// requires, whatever the slot held before (a shorter or longer frame, a torn write); a byte
/// dirtied by a fault is cleared on the slot's next scrub lap.
#[allow(
    clippy::too_many_arguments,
    reason = "one private call site; a struct would only rename the arguments"
)]
fn write_slot(
    view: &RegionRef<'_>,
    slot_start: usize,
    slot: &[AtomicU32],
    index: u64,
    meta: FrameMeta,
    payload: &[u8],
    frame_size: usize,
    old_len: Option<usize>,
) {
    if slot.len() < SLOT_HEADER_SIZE / 4 + 2 {
        // Unreachable: the region length was checked against the geometry in `create`.
        return;
    }
    let header = frame::slot_header(index, meta, payload.len());
    let crc = frame::slot_crc(&header, payload, frame_size);
    let capacity = frame_size - SLOT_OVERHEAD;

    // Relaxed: ordered by the fence below.
    slot[1].store(writing_word(index), Ordering::Relaxed);
    // SYNC: pairs with the `fence(Acquire)` in `Reader::poll`: a reader whose copy observed
    // any store below also observes `writing(index)` when it re-loads `commit`.
    #[cfg(not(vitalring_loom_mutant = "writer_fence"))]
    fence(Ordering::Release);

    // Relaxed stores: published by the Release store of `commit` below.
    slot[0].store(
        u32::from(header.frame_type) | (u32::from(header.encoding) << 8),
        Ordering::Relaxed,
    );
    slot[2].store(header.timestamp_ns as u32, Ordering::Relaxed);
    slot[3].store((header.timestamp_ns >> 32) as u32, Ordering::Relaxed);
    slot[4].store(header.sequence_number, Ordering::Relaxed);
    slot[5].store(header.data_size, Ordering::Relaxed);

    #[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
    let wide = view.wide_words().and_then(|w| {
        let first = slot_start / 2 + SLOT_HEADER_SIZE / 8;
        w.get(first..first + capacity / 8)
    });
    #[cfg(not(all(not(loom), target_has_atomic = "64", target_endian = "little")))]
    let wide: Option<&[AtomicU32]> = {
        let _ = (view, slot_start, capacity);
        None
    };
    match wide {
        Some(area) => write_area(area, payload, old_len),
        None => {
            let area = slot
                .get(SLOT_HEADER_SIZE / 4..slot.len() - 2)
                .unwrap_or(&[]);
            write_area(area, payload, old_len);
        }
    }

    let crc_word = slot.len() - 2;
    slot[crc_word].store(crc, Ordering::Relaxed);
    slot[crc_word + 1].store(0, Ordering::Relaxed);

    // SYNC: Release pairs with the Acquire load of `commit` in `Reader::poll`: a reader that
    // sees `committed(index)` sees every store above.
    #[cfg(not(vitalring_loom_mutant = "commit_relaxed"))]
    slot[1].store(committed_word(index), Ordering::Release);
    // The loom mutant: the publication weakened to Relaxed (the model must catch it).
    #[cfg(vitalring_loom_mutant = "commit_relaxed")]
    slot[1].store(committed_word(index), Ordering::Relaxed);
}

/// Stores `payload` into the payload area `area` (zero-padded to a whole word), then zeros what
/// the previous frame left past it: with `old_len` known, the words up to the end of those
/// `old_len` bytes (stored without a look: they held the old payload); with `None`, every
/// later word that is not zero already (each is loaded first; a load of a line the reader also
/// holds costs no transfer between the cores, a store does). No bounds check per word: the
/// payload fits (checked by `publish`), and the zips stop at the shorter side.
#[inline(always)]
fn write_area<W: Word>(area: &[W], payload: &[u8], old_len: Option<usize>) {
    let mut chunks = payload.chunks_exact(W::BYTES);
    let mut words = area.iter();
    // Chunks first: `zip` takes from its left side first, so no word is skipped when the
    // payload runs out.
    for (c, word) in (&mut chunks).zip(&mut words) {
        let mut b = [0u8; 8];
        b[..W::BYTES].copy_from_slice(c);
        word.store_le(u64::from_le_bytes(b));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        if let Some(word) = words.next() {
            word.store_le(u64::from_le_bytes(b));
        }
    }
    match old_len {
        Some(old) => {
            let written = payload.len().div_ceil(W::BYTES);
            let stale = old.div_ceil(W::BYTES).saturating_sub(written);
            for word in words.take(stale) {
                word.store_le(0);
            }
        }
        None => {
            for word in words {
                if word.load_le() != 0 {
                    word.store_le(0);
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;

    use std::boxed::Box;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::layout::HEADER_SIZE;
    use crate::region::{Access, SharedHeader};
    use crate::ring::Ring;
    use crate::slot::{LapPolicy, Poll, Reader, Start};

    /// An in-process region whose slot area is 8-aligned (`wide`: the 64-bit path, as in every
    /// mapping) or deliberately only 4-aligned (the 32-bit path).
    #[allow(unsafe_code)]
    fn region(geometry: Geometry, wide: bool) -> RegionRef<'static> {
        let header: &'static SharedHeader = Box::leak(Box::new(SharedHeader::zeroed()));
        let words = (geometry.region_len() - HEADER_SIZE) / 4;
        let backing: &'static [crate::atomics::Atomic64] = Box::leak(
            (0..words / 2 + 1)
                .map(|_| crate::atomics::Atomic64::new(0))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let skip = usize::from(!wide);
        // SAFETY: `backing` holds `words + 2` 32-bit words of leaked ('static) memory that only
        // this view accesses, always as atomics; `Atomic64` is 8 bytes with align >= 4 and
        // every bit pattern is valid for `AtomicU32`.
        let slots: &'static [AtomicU32] = unsafe {
            core::slice::from_raw_parts(backing.as_ptr().cast::<AtomicU32>().add(skip), words)
        };
        RegionRef::from_parts(header, slots, Access::ReadWrite)
    }

    fn writer(g: Geometry, wide: bool) -> Writer<RegionRef<'static>> {
        let config = WriterConfig {
            geometry: g,
            epoch: 7,
            created: UnixNs(1),
            now: UnixMs(1),
        };
        Writer::create(region(g, wide), config).unwrap()
    }

    fn reader(w: &Writer<RegionRef<'static>>) -> Reader<RegionRef<'static>, Vec<u8>> {
        let cap = w.geometry().payload_capacity();
        let ring = Ring::new_checked(*w.region()).unwrap();
        Reader::attach(ring, vec![0u8; cap], LapPolicy::Oldest, Start::Next).unwrap()
    }

    fn reader_at(w: &Writer<RegionRef<'static>>, at: u64) -> Reader<RegionRef<'static>, Vec<u8>> {
        let cap = w.geometry().payload_capacity();
        let ring = Ring::new_checked(*w.region()).unwrap();
        Reader::attach(ring, vec![0u8; cap], LapPolicy::Oldest, Start::At(at)).unwrap()
    }

    fn meta() -> FrameMeta {
        FrameMeta {
            frame_type: FrameType::Waveform,
            encoding: Encoding::Binary,
            timestamp: UnixNs(5),
        }
    }

    fn slot_bytes(w: &Writer<RegionRef<'static>>, index: u64) -> Vec<u8> {
        let g = w.geometry();
        let base = g.slot_offset(index);
        (0..g.frame_size() as usize / 4)
            .flat_map(|i| w.region().peek_word(base + 4 * i).unwrap().to_le_bytes())
            .collect()
    }

    #[test]
    fn the_test_regions_take_the_path_they_are_named_for() {
        let g = Geometry::new(128, 2).unwrap();
        // Under Miri every region takes the 32-bit path (see `RegionRef::wide_words`).
        #[cfg(all(target_has_atomic = "64", target_endian = "little"))]
        assert_eq!(region(g, true).wide_words().is_some(), !cfg!(miri));
        #[cfg(all(target_has_atomic = "64", target_endian = "little"))]
        assert!(region(g, false).wide_words().is_none());
        let _ = g;
    }

    /// Every payload length from long to short and back through the same slot: each committed
    /// slot is byte-for-byte the reference encoding (zeros past `dataSize`), on both paths.
    #[test]
    fn a_shorter_frame_in_a_reused_slot_leaves_only_zeros_past_its_data() {
        let g = Geometry::new(128, 1).unwrap();
        let cap = g.payload_capacity();
        let lens: Vec<usize> = (0..=cap)
            .rev()
            .chain(0..=cap)
            .chain([cap, 0, 17, 3])
            .collect();
        for wide in [true, false] {
            let mut w = writer(g, wide);
            let mut r = reader(&w);
            for (n, len) in lens.iter().enumerate() {
                let payload: Vec<u8> = (0..*len).map(|i| (i as u8) | 0x80).collect();
                let index = w.publish(meta(), &payload, UnixMs(2)).unwrap();
                let mut expected = vec![0u8; g.frame_size() as usize];
                frame::encode_slot(index, meta(), &payload, &mut expected).unwrap();
                assert_eq!(
                    slot_bytes(&w, index),
                    expected,
                    "frame {n}, {len} bytes, wide {wide}"
                );
                match r.poll() {
                    Poll::Frame(v) => assert_eq!(v.payload, &payload[..]),
                    other => panic!("frame {n} ({len} bytes, wide {wide}): {other:?}"),
                }
            }
        }
    }

    /// A byte dirtied past the end of every frame the writer wrote (something other than the
    /// writer: a memory fault) changes no delivered value (readers never read the tail), and
    /// the writer's next scrub of that slot ([`SCRUB_LAPS`]) clears it, so the slot is again
    /// byte-for-byte the reference encoding for readers that check the whole slot.
    #[test]
    fn a_dirty_tail_changes_no_value_and_the_next_scrub_lap_clears_it() {
        let g = Geometry::new(128, 2).unwrap();
        for wide in [true, false] {
            let mut w = writer(g, wide);
            let mut r = reader(&w);
            let payload = [0x11u8; 10];
            for _ in 0..4 {
                w.publish(meta(), &payload, UnixMs(2)).unwrap();
                assert!(matches!(r.poll(), Poll::Frame(_)));
            }
            // Byte 100 of slot 0 (index 2's slot): past any frame's end (24 + 10 bytes).
            w.region().flip_bit(g.slot_offset(0) + 100, 2).unwrap();
            let mut reread = reader_at(&w, 2);
            match reread.poll() {
                Poll::Frame(v) => assert_eq!(v.payload, &payload[..]),
                other => panic!("wide {wide}: {other:?}"),
            }
            // The first index of slot 0 on a scrub lap.
            let scrub = SCRUB_LAPS * u64::from(g.frame_count());
            let mut cleared_at = None;
            while w.published() <= scrub {
                let index = w.publish(meta(), &payload, UnixMs(2)).unwrap();
                match r.poll() {
                    Poll::Frame(v) => assert_eq!(v.payload, &payload[..]),
                    other => panic!("wide {wide}, index {index}: {other:?}"),
                }
                let mut expected = vec![0u8; g.frame_size() as usize];
                frame::encode_slot(index, meta(), &payload, &mut expected).unwrap();
                if g.slot_of(index) == 0
                    && cleared_at.is_none()
                    && slot_bytes(&w, index) == expected
                {
                    cleared_at = Some(index);
                }
            }
            assert_eq!(cleared_at, Some(scrub), "wide {wide}");
        }
    }

    /// A torn slot (its `commit` word left as *writing*, garbage past the payload, as a writer
    /// that crashed mid-frame leaves it) is cleared completely by the next frame written there.
    #[test]
    fn a_torn_slot_is_cleared_completely_by_the_next_frame_there() {
        let g = Geometry::new(128, 2).unwrap();
        for wide in [true, false] {
            let mut w = writer(g, wide);
            let mut r = reader(&w);
            let payload = [0x22u8; 9];
            for _ in 0..4 {
                w.publish(meta(), &payload, UnixMs(2)).unwrap();
                assert!(matches!(r.poll(), Poll::Frame(_)));
            }
            let next = w.published();
            let base = g.slot_offset(next);
            w.region()
                .poke_word(base + 4, frame::writing_word(next))
                .unwrap();
            w.region().poke_word(base + 96, 0xA5A5_A5A5).unwrap();
            let index = w.publish(meta(), &payload, UnixMs(2)).unwrap();
            let mut expected = vec![0u8; g.frame_size() as usize];
            frame::encode_slot(index, meta(), &payload, &mut expected).unwrap();
            assert_eq!(slot_bytes(&w, index), expected, "wide {wide}");
            assert!(matches!(r.poll(), Poll::Frame(_)));
        }
    }
}
