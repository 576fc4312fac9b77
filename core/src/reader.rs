//! A reader of a ring (see [`crate::slot`] for the protocol). Each consumer has its own.

use crate::atomics::{fence, AtomicU32, Ordering, Word};
use crate::frame::{self, committed_word, FrameView, RawSlot, RejectReason};
use crate::layout::{Geometry, HeaderError, RingHeader, SlotHeader, SLOT_HEADER_SIZE};
use crate::region::{Region, RegionRef};
use crate::ring::Ring;
use crate::time::UnixMs;

/// What a reader does when the writer has lapped it (more than `frameCount` frames ahead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LapPolicy {
    /// Jump to the newest frame (a live display; seed 001's "jump to latest").
    #[default]
    Latest,
    /// Jump to the oldest frame the ring still holds (a recorder: lose as little as possible).
    Oldest,
}

/// Where a new reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Start {
    /// With the next frame the writer publishes.
    #[default]
    Next,
    /// With the newest frame already published.
    Latest,
    /// With the oldest frame the ring still holds.
    Oldest,
    /// At this ring index (a reader resuming where it left off).
    At(u64),
}

/// Why indices were dropped (never seen as data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DropCause {
    /// The writer lapped the reader; the frames were overwritten before being read.
    Lapped,
    /// The slot was reused, or rewritten while being copied (a torn read).
    Overwritten,
}

/// Rejected frames by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RejectCounts {
    /// CRC mismatch.
    pub crc: u64,
    /// Wrong sequence number.
    pub sequence: u64,
    /// `dataSize` too large.
    pub data_size: u64,
    /// Non-zero reserved or padding bytes.
    pub padding: u64,
    /// Unknown frame type.
    pub frame_type: u64,
    /// Unknown encoding.
    pub encoding: u64,
    /// Malformed payload.
    pub malformed: u64,
    /// Value out of physiological range.
    pub out_of_range: u64,
    /// Implausible frame timestamp.
    pub timestamp: u64,
}

impl RejectCounts {
    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        self.as_array()
            .iter()
            .fold(0u64, |acc, (_, n)| acc.saturating_add(*n))
    }

    /// Every reason with its count, in a fixed order, named as in JSON output.
    pub fn as_array(&self) -> [(&'static str, u64); 9] {
        [
            ("crc", self.crc),
            ("sequence", self.sequence),
            ("data_size", self.data_size),
            ("padding", self.padding),
            ("frame_type", self.frame_type),
            ("encoding", self.encoding),
            ("malformed", self.malformed),
            ("out_of_range", self.out_of_range),
            ("timestamp", self.timestamp),
        ]
    }

    /// Adds `other` (saturating).
    pub fn add(&mut self, other: &RejectCounts) {
        let pairs = [
            (&mut self.crc, other.crc),
            (&mut self.sequence, other.sequence),
            (&mut self.data_size, other.data_size),
            (&mut self.padding, other.padding),
            (&mut self.frame_type, other.frame_type),
            (&mut self.encoding, other.encoding),
            (&mut self.malformed, other.malformed),
            (&mut self.out_of_range, other.out_of_range),
            (&mut self.timestamp, other.timestamp),
        ];
        for (c, n) in pairs {
            *c = c.saturating_add(n);
        }
    }

    fn count(&mut self, reason: &RejectReason) {
        let c = match reason {
            RejectReason::Crc { .. } => &mut self.crc,
            RejectReason::Sequence { .. } => &mut self.sequence,
            RejectReason::DataSize(_) => &mut self.data_size,
            RejectReason::NonZeroPadding => &mut self.padding,
            RejectReason::FrameType(_) => &mut self.frame_type,
            RejectReason::Encoding(_) => &mut self.encoding,
            RejectReason::Payload(p) if p.is_range() => &mut self.out_of_range,
            RejectReason::Payload(_) => &mut self.malformed,
            RejectReason::Timestamp(_) => &mut self.timestamp,
        };
        *c = c.saturating_add(1);
    }
}

/// What a reader has done with every index it moved past. Every counter saturates: none
/// wraps or goes backwards, whatever a hostile writer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Counters {
    /// Frames delivered (heartbeat frames included).
    pub delivered: u64,
    /// Indices skipped because the writer lapped the reader.
    pub dropped_lapped: u64,
    /// Indices whose slot was reused or torn while reading.
    pub dropped_overwritten: u64,
    /// Frames rejected, by reason.
    pub rejected: RejectCounts,
}

impl Counters {
    /// All dropped indices.
    pub fn dropped(&self) -> u64 {
        self.dropped_lapped.saturating_add(self.dropped_overwritten)
    }

    /// `delivered + dropped + rejected`: equals the number of indices the reader moved past.
    pub fn accounted(&self) -> u64 {
        self.delivered
            .saturating_add(self.dropped())
            .saturating_add(self.rejected.total())
    }

    /// Adds `other` to these counters (saturating).
    pub fn add(&mut self, other: &Counters) {
        self.delivered = self.delivered.saturating_add(other.delivered);
        self.dropped_lapped = self.dropped_lapped.saturating_add(other.dropped_lapped);
        self.dropped_overwritten = self
            .dropped_overwritten
            .saturating_add(other.dropped_overwritten);
        self.rejected.add(&other.rejected);
    }

    /// Counts one rejected frame.
    pub fn count_rejected(&mut self, reason: &RejectReason) {
        self.rejected.count(reason);
    }

    /// Counts `count` dropped indices.
    pub fn count_dropped(&mut self, count: u64, cause: DropCause) {
        let c = match cause {
            DropCause::Lapped => &mut self.dropped_lapped,
            DropCause::Overwritten => &mut self.dropped_overwritten,
        };
        *c = c.saturating_add(count);
    }
}

/// What `writeIndex` did that no honest writer does. The reader does not move past it; the
/// session reports it as a header fault and re-attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IndexFault {
    /// `writeIndex` went below the reader's position (it only ever grows).
    Behind {
        /// `writeIndex` as read (twice, so a split 64-bit store in progress is not mistaken).
        write_index: u64,
        /// The reader's position.
        position: u64,
    },
    /// `writeIndex` is further ahead than the writer could have published in the time since
    /// the reader attached.
    Ahead {
        /// `writeIndex` as read.
        write_index: u64,
        /// The highest value the session found plausible.
        limit: u64,
    },
}

impl core::fmt::Display for IndexFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Behind {
                write_index,
                position,
            } => write!(
                f,
                "writeIndex went backwards to {write_index} (reader at {position})"
            ),
            Self::Ahead { write_index, limit } => write!(
                f,
                "writeIndex jumped to {write_index}, beyond the plausible {limit}"
            ),
        }
    }
}

/// The outcome of one [`Reader::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll<'a> {
    /// Nothing new.
    Empty,
    /// One frame passed every transport check (its payload is not decoded yet).
    Frame(FrameView<'a>),
    /// `count` indices starting at `first` were dropped.
    Dropped {
        /// First dropped index.
        first: u64,
        /// How many.
        count: u64,
        /// Why.
        cause: DropCause,
    },
    /// The frame at `index` was rejected.
    Rejected {
        /// Its index.
        index: u64,
        /// Why.
        reason: RejectReason,
    },
    /// `writeIndex` is implausible; the reader did not move.
    Fault(IndexFault),
}

/// Why a reader could not attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScratchTooSmall {
    /// Bytes needed (the ring's payload capacity).
    pub needed: usize,
    /// Bytes given.
    pub given: usize,
}

impl core::fmt::Display for ScratchTooSmall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "scratch buffer of {} bytes, the ring needs {}",
            self.given, self.needed
        )
    }
}

impl core::error::Error for ScratchTooSmall {}

/// One consumer's position in a ring, its counters and its copy buffer: the slot layer. It
/// yields frames that passed the transport checks; decoding is the next layer up
/// ([`crate::session::Session`], or [`crate::payload::decode`] by hand).
#[derive(Debug)]
pub struct Reader<R: Region, S: AsMut<[u8]>> {
    ring: Ring<R>,
    scratch: S,
    policy: LapPolicy,
    next: u64,
    start: u64,
    limit: u64,
    counters: Counters,
}

impl<R: Region, S: AsMut<[u8]>> Reader<R, S> {
    /// Positions a reader at `start` in a validated ring. `scratch` must hold at least
    /// `frameSizeBytes - 32` bytes (the payload is copied there before it is checked).
    ///
    /// # Errors
    /// [`ScratchTooSmall`].
    pub fn attach(
        ring: Ring<R>,
        mut scratch: S,
        policy: LapPolicy,
        start: Start,
    ) -> Result<Self, ScratchTooSmall> {
        let geometry = ring.header().geometry();
        let needed = geometry.payload_capacity();
        let given = scratch.as_mut().len();
        if given < needed {
            return Err(ScratchTooSmall { needed, given });
        }
        // SYNC: Acquire pairs with the Release store of `writeIndex` in `Writer::publish`.
        let w = ring.region().region().write_index(Ordering::Acquire);
        let n = u64::from(geometry.frame_count());
        let next = match start {
            Start::Next => w,
            Start::Latest => w.saturating_sub(1),
            Start::Oldest => w.saturating_sub(n),
            Start::At(i) => i,
        };
        Ok(Self {
            ring,
            scratch,
            policy,
            next,
            start: next,
            limit: u64::MAX,
            counters: Counters::default(),
        })
    }

    /// The validated ring.
    pub fn ring(&self) -> &Ring<R> {
        &self.ring
    }

    /// The header as validated at attach time.
    pub fn header(&self) -> &RingHeader {
        self.ring.header().header()
    }

    /// The ring's geometry.
    pub fn geometry(&self) -> Geometry {
        self.ring.header().geometry()
    }

    /// The producer epoch.
    pub fn epoch(&self) -> u64 {
        self.ring.header().epoch()
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The next index this reader will look at.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// The index the reader attached at.
    pub fn start_index(&self) -> u64 {
        self.start
    }

    /// Indices moved past since attach; always equals `counters().accounted()`.
    pub fn moved_past(&self) -> u64 {
        self.next - self.start
    }

    /// The region.
    pub fn region(&self) -> &R {
        self.ring.region()
    }

    /// `heartbeatTimestamp`.
    pub fn heartbeat(&self) -> UnixMs {
        UnixMs(self.ring.region().region().heartbeat_ms())
    }

    /// `writeIndex` (Relaxed: a statistic, not a publication).
    pub fn write_index(&self) -> u64 {
        self.ring.region().region().write_index(Ordering::Relaxed)
    }

    /// Frames published but not yet read (0 if the writer index went backwards).
    pub fn backlog(&self) -> u64 {
        self.write_index().saturating_sub(self.next)
    }

    /// The highest `writeIndex` the reader accepts; above it [`Reader::poll`] reports
    /// [`IndexFault::Ahead`] instead of jumping (default: no limit). The session moves it with
    /// time.
    pub fn set_index_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// Re-reads the header (see [`Ring::recheck`]).
    ///
    /// # Errors
    /// [`HeaderError`] if the header changed or became invalid.
    pub fn check_header(&self) -> Result<(), HeaderError> {
        self.ring.recheck()
    }

    /// Counts the frame just returned by [`Reader::poll`] as rejected instead of delivered,
    /// for a layer above that refuses its payload (so one set of counters stays the truth).
    pub fn refuse_last(&mut self, reason: &RejectReason) {
        self.counters.delivered = self.counters.delivered.saturating_sub(1);
        self.counters.rejected.count(reason);
    }

    /// Takes one step: delivers, drops or rejects at most one frame (or one lapped run).
    #[inline]
    pub fn poll(&mut self) -> Poll<'_> {
        let view = self.ring.region().region();
        let geometry = self.ring.header().geometry();
        let n = u64::from(geometry.frame_count());
        // SYNC: Acquire pairs with the Release store of `writeIndex` in `Writer::publish`;
        // together with the Acquire load of `commit` below it makes frame `next`'s stores
        // visible.
        let w = view.write_index(Ordering::Acquire);
        if w <= self.next {
            if w < self.next {
                // A split 64-bit store in progress can look smaller for an instant; a second
                // look tells a real step backwards from that.
                // SYNC: as above.
                let again = view.write_index(Ordering::Acquire);
                if again < self.next {
                    return Poll::Fault(IndexFault::Behind {
                        write_index: again,
                        position: self.next,
                    });
                }
            }
            return Poll::Empty;
        }
        if w > self.limit {
            return Poll::Fault(IndexFault::Ahead {
                write_index: w,
                limit: self.limit,
            });
        }
        if w - self.next > n {
            let target = match self.policy {
                LapPolicy::Latest => w - 1,
                LapPolicy::Oldest => w - n,
            };
            let first = self.next;
            let count = target - first;
            self.next = target;
            self.counters.count_dropped(count, DropCause::Lapped);
            return Poll::Dropped {
                first,
                count,
                cause: DropCause::Lapped,
            };
        }
        let index = self.next;
        let per_slot = geometry.frame_size() as usize / 4;
        let start = geometry.slot_of(index) * per_slot;
        let Some(slot) = view.words().get(start..start + per_slot) else {
            // Unreachable: the ring's length was checked against the geometry.
            return self.drop_one(index);
        };
        let expected = committed_word(index);
        // SYNC: Acquire pairs with the Release store of `commit` in `Writer::publish`.
        let c1 = slot[1].load(Ordering::Acquire);
        if c1 != expected {
            return self.drop_one(index);
        }
        let copied = copy_slot(
            &view,
            start,
            slot,
            self.scratch.as_mut(),
            geometry.payload_capacity(),
        );
        // SYNC: pairs with the `fence(Release)` in `Writer::publish` (see the module docs of
        // `slot`): if the copy saw a later frame's store, the re-load below sees its `writing`.
        #[cfg(not(vitalring_loom_mutant = "reader_fence"))]
        fence(Ordering::Acquire);
        // Relaxed: ordered by the fence above.
        let c2 = slot[1].load(Ordering::Relaxed);
        if c2 != c1 {
            return self.drop_one(index);
        }
        self.next = index + 1;
        let payload = self
            .scratch
            .as_mut()
            .get(..copied.payload_len)
            .unwrap_or(&[]);
        let raw = RawSlot {
            header: copied.header,
            payload,
            crc32: copied.crc32,
            padding: copied.padding,
        };
        match frame::check(&raw, index, geometry.slot_size()) {
            Ok(view) => {
                self.counters.delivered = self.counters.delivered.saturating_add(1);
                Poll::Frame(view)
            }
            Err(reason) => {
                self.counters.rejected.count(&reason);
                Poll::Rejected { index, reason }
            }
        }
    }

    fn drop_one(&mut self, index: u64) -> Poll<'static> {
        self.next = index + 1;
        self.counters.count_dropped(1, DropCause::Overwritten);
        Poll::Dropped {
            first: index,
            count: 1,
            cause: DropCause::Overwritten,
        }
    }
}

struct Copied {
    header: SlotHeader,
    payload_len: usize,
    crc32: u32,
    padding: u32,
}

/// Copies a slot's fields and payload with relaxed loads. The payload goes to `scratch`; the
/// bytes between the payload and the CRC are only checked for zero. The payload area is read
/// 64 bits wide where the region allows it ([`RegionRef::wide_words`], the same choice the
/// writer makes), 32 bits otherwise.
#[inline(always)]
fn copy_slot(
    view: &RegionRef<'_>,
    slot_start: usize,
    slot: &[AtomicU32],
    scratch: &mut [u8],
    capacity: usize,
) -> Copied {
    // Relaxed loads throughout: the caller's fence and `commit` re-load decide whether the copy
    // is consistent.
    let ld = |i: usize| slot.get(i).map_or(0, |w| w.load(Ordering::Relaxed));
    let w0 = ld(0);
    let header = SlotHeader {
        frame_type: w0 as u8,
        encoding: (w0 >> 8) as u8,
        reserved: (w0 >> 16) as u16,
        commit: ld(1),
        timestamp_ns: u64::from(ld(2)) | (u64::from(ld(3)) << 32),
        sequence_number: ld(4),
        data_size: ld(5),
    };
    let crc_word = slot.len().saturating_sub(2);
    let ds = header.data_size as usize;
    // An oversized dataSize is rejected by `frame::check`; copy nothing for it.
    let payload_len = if ds <= capacity { ds } else { 0 };
    #[cfg(all(not(loom), target_has_atomic = "64", target_endian = "little"))]
    let wide = view.wide_words().and_then(|w| {
        let first = slot_start / 2 + SLOT_HEADER_SIZE / 8;
        w.get(first..first + capacity / 8)
    });
    #[cfg(not(all(not(loom), target_has_atomic = "64", target_endian = "little")))]
    let wide: Option<&[AtomicU32]> = {
        let _ = (view, slot_start);
        None
    };
    match wide {
        Some(area) => copy_area(area, scratch, payload_len),
        None => copy_area(
            slot.get(SLOT_HEADER_SIZE / 4..crc_word).unwrap_or(&[]),
            scratch,
            payload_len,
        ),
    }
    Copied {
        header,
        payload_len,
        crc32: ld(crc_word),
        padding: ld(crc_word + 1),
    }
}

/// Copies the first `len` bytes of the payload area `area` into `scratch`: no bounds check per
/// word (zips over the two slices). The bytes past `len` are not read: nothing of them is
/// delivered, and the CRC the caller checks counts them as zero, so a non-zero byte there can
/// only make a frame fail its CRC, never change a delivered value (see `docs/wire-format.md`,
/// "The tail").
#[inline(always)]
fn copy_area<W: Word>(area: &[W], scratch: &mut [u8], len: usize) {
    let full = len / W::BYTES;
    let rem = len % W::BYTES;
    let (body, rest) = area.split_at(full.min(area.len()));
    let dst = scratch.get_mut(..full * W::BYTES).unwrap_or(&mut []);
    for (d, w) in dst.chunks_exact_mut(W::BYTES).zip(body) {
        d.copy_from_slice(&w.load_le().to_le_bytes()[..W::BYTES]);
    }
    if rem != 0 {
        if let (Some(w), Some(d)) = (
            rest.first(),
            scratch.get_mut(full * W::BYTES..full * W::BYTES + rem),
        ) {
            d.copy_from_slice(&w.load_le().to_le_bytes()[..rem]);
        }
    }
}
