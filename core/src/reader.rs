//! A reader of a ring (see [`crate::slot`] for the protocol). Each consumer has its own.

use crate::atomics::{fence, AtomicU32, Ordering};
use crate::frame::{self, committed_word, FrameView, RawSlot, RejectReason};
use crate::layout::{Encoding, Geometry, HeaderError, RingHeader, SlotHeader, SLOT_HEADER_SIZE};
use crate::payload::{self, Record};
use crate::region::Region;

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
    /// Non-zero reserved, padding or tail bytes.
    pub padding: u64,
    /// Unknown frame type.
    pub frame_type: u64,
    /// Unknown encoding.
    pub encoding: u64,
    /// Malformed payload.
    pub malformed: u64,
    /// Value out of physiological range.
    pub out_of_range: u64,
}

impl RejectCounts {
    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        self.crc
            + self.sequence
            + self.data_size
            + self.padding
            + self.frame_type
            + self.encoding
            + self.malformed
            + self.out_of_range
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
        };
        *c += 1;
    }
}

/// What a reader has done with every index it moved past.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Counters {
    /// Frames delivered as data (heartbeat frames included).
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
        self.dropped_lapped + self.dropped_overwritten
    }

    /// `delivered + dropped + rejected`: equals the number of indices the reader moved past.
    pub fn accounted(&self) -> u64 {
        self.delivered + self.dropped() + self.rejected.total()
    }
}

/// A delivered frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Ring index.
    pub index: u64,
    /// Acquisition time, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// Payload encoding it arrived in.
    pub encoding: Encoding,
    /// The decoded, range-checked record.
    pub record: Record,
}

/// The outcome of one [`Reader::poll`].
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no_std and no alloc: records are fixed-capacity values moved by copy, never boxed"
)]
pub enum Poll {
    /// Nothing new.
    Empty,
    /// One frame delivered.
    Delivered(Delivery),
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
}

/// Why a reader could not attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AttachError {
    /// The header is invalid.
    Header(HeaderError),
    /// The scratch buffer is smaller than the slot's payload capacity.
    ScratchTooSmall {
        /// Needed.
        needed: usize,
        /// Given.
        given: usize,
    },
}

impl core::fmt::Display for AttachError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Header(e) => write!(f, "invalid ring header: {e}"),
            Self::ScratchTooSmall { needed, given } => {
                write!(
                    f,
                    "scratch buffer of {given} bytes, the ring needs {needed}"
                )
            }
        }
    }
}

impl core::error::Error for AttachError {}

/// One consumer's position in a ring, its counters and its copy buffer.
#[derive(Debug)]
pub struct Reader<R: Region, S: AsMut<[u8]>> {
    region: R,
    scratch: S,
    header: RingHeader,
    geometry: Geometry,
    policy: LapPolicy,
    next: u64,
    start: u64,
    counters: Counters,
}

impl<R: Region, S: AsMut<[u8]>> Reader<R, S> {
    /// Validates the region's header and positions a reader at `start`. `scratch` must hold at
    /// least `frameSizeBytes - 32` bytes (the payload is copied there before it is checked).
    ///
    /// # Errors
    /// [`AttachError`].
    pub fn attach(
        region: R,
        mut scratch: S,
        policy: LapPolicy,
        start: Start,
    ) -> Result<Self, AttachError> {
        let view = region.region();
        let header = view.header_snapshot();
        let geometry = header.validate(view.len()).map_err(AttachError::Header)?;
        let needed = geometry.payload_capacity();
        let given = scratch.as_mut().len();
        if given < needed {
            return Err(AttachError::ScratchTooSmall { needed, given });
        }
        // SYNC: Acquire pairs with the Release store of `writeIndex` in `Grant::commit`.
        let w = view.write_index(Ordering::Acquire);
        let n = u64::from(geometry.frame_count());
        let next = match start {
            Start::Next => w,
            Start::Latest => w.saturating_sub(1),
            Start::Oldest => w.saturating_sub(n),
        };
        Ok(Self {
            region,
            scratch,
            header,
            geometry,
            policy,
            next,
            start: next,
            counters: Counters::default(),
        })
    }

    /// The header as validated at attach time.
    pub fn header(&self) -> &RingHeader {
        &self.header
    }

    /// The ring's geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The producer epoch.
    pub fn epoch(&self) -> u64 {
        self.header.epoch
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The next index this reader will look at.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Indices moved past since attach; always equals `counters().accounted()`.
    pub fn moved_past(&self) -> u64 {
        self.next - self.start
    }

    /// The region.
    pub fn region(&self) -> &R {
        &self.region
    }

    /// `heartbeatTimestamp`, ms since the Unix epoch.
    pub fn heartbeat_ms(&self) -> u64 {
        self.region.region().heartbeat_ms()
    }

    /// `writeIndex` (Relaxed: a statistic, not a publication).
    pub fn write_index(&self) -> u64 {
        self.region.region().write_index(Ordering::Relaxed)
    }

    /// Frames published but not yet read (0 if the writer index went backwards).
    pub fn backlog(&self) -> u64 {
        self.write_index().saturating_sub(self.next)
    }

    /// Re-reads the header and compares its immutable fields with the attach-time copy, so a
    /// header rewritten under a live reader is noticed. The reader keeps using its attach-time
    /// geometry either way, so it never reads out of bounds.
    ///
    /// # Errors
    /// [`HeaderError`] if the header changed or became invalid.
    pub fn check_header(&self) -> Result<(), HeaderError> {
        let view = self.region.region();
        let mut now = view.header_snapshot();
        now.validate(view.len())?;
        now.write_index = self.header.write_index;
        now.heartbeat_timestamp = self.header.heartbeat_timestamp;
        if now == self.header {
            Ok(())
        } else {
            Err(HeaderError::Changed)
        }
    }

    /// Takes one step: delivers, drops or rejects at most one frame (or one lapped run).
    #[inline]
    pub fn poll(&mut self) -> Poll {
        match self.step() {
            Step::Empty => Poll::Empty,
            Step::Dropped {
                first,
                count,
                cause,
            } => Poll::Dropped {
                first,
                count,
                cause,
            },
            Step::Rejected { index, reason } => self.reject(index, reason),
            Step::Valid { index, meta } => {
                let len = meta.len;
                let payload = self.scratch.as_mut().get(..len).unwrap_or(&[]);
                match payload::decode(meta.frame.frame_type, meta.frame.encoding, payload) {
                    Ok(record) => {
                        self.counters.delivered += 1;
                        Poll::Delivered(Delivery {
                            index,
                            timestamp_ns: meta.frame.timestamp_ns,
                            encoding: meta.frame.encoding,
                            record,
                        })
                    }
                    Err(e) => self.reject(index, RejectReason::Payload(e)),
                }
            }
        }
    }

    /// Like [`Reader::poll`] but without decoding: a valid frame is delivered as raw payload
    /// bytes (for bridges and recorders that forward payloads).
    #[allow(
        clippy::result_large_err,
        reason = "the error is the same fixed-size Poll that poll returns"
    )]
    pub fn poll_raw(&mut self) -> Result<Option<FrameView<'_>>, Poll> {
        match self.step() {
            Step::Empty => Ok(None),
            Step::Dropped {
                first,
                count,
                cause,
            } => Err(Poll::Dropped {
                first,
                count,
                cause,
            }),
            Step::Rejected { index, reason } => Err(self.reject(index, reason)),
            Step::Valid { index, meta } => {
                self.counters.delivered += 1;
                let payload = self.scratch.as_mut().get(..meta.len).unwrap_or(&[]);
                Ok(Some(FrameView {
                    index,
                    meta: meta.frame,
                    payload,
                }))
            }
        }
    }

    fn reject(&mut self, index: u64, reason: RejectReason) -> Poll {
        self.counters.rejected.count(&reason);
        Poll::Rejected { index, reason }
    }

    #[inline]
    fn step(&mut self) -> Step {
        let view = self.region.region();
        let geometry = self.geometry;
        let n = u64::from(geometry.frame_count());
        // SYNC: Acquire pairs with the Release store of `writeIndex` in `Grant::commit`; together
        // with the Acquire load of `commit` below it makes frame `next`'s stores visible.
        let w = view.write_index(Ordering::Acquire);
        if w <= self.next {
            return Step::Empty;
        }
        if w - self.next > n {
            let target = match self.policy {
                LapPolicy::Latest => w - 1,
                LapPolicy::Oldest => w - n,
            };
            let first = self.next;
            let count = target - first;
            self.next = target;
            self.counters.dropped_lapped += count;
            return Step::Dropped {
                first,
                count,
                cause: DropCause::Lapped,
            };
        }
        let index = self.next;
        let per_slot = geometry.frame_size() as usize / 4;
        let start = geometry.slot_of(index) * per_slot;
        let Some(slot) = view.words().get(start..start + per_slot) else {
            // Unreachable: attach checked the region length against the geometry.
            return self.drop_one(index);
        };
        let expected = committed_word(index);
        // SYNC: Acquire pairs with the Release store of `commit` in `Grant::commit`.
        let c1 = slot[1].load(Ordering::Acquire);
        if c1 != expected {
            return self.drop_one(index);
        }
        let copied = copy_slot(slot, self.scratch.as_mut(), geometry.payload_capacity());
        // SYNC: pairs with the `fence(Release)` in `Grant::commit` (see the module docs of
        // `slot`): if the copy saw a later frame's store, the re-load below sees its `writing`.
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
            tail_is_zero: copied.tail_is_zero,
            crc32: copied.crc32,
            padding: copied.padding,
        };
        match frame::check(&raw, index, geometry.frame_size() as usize) {
            Ok(view) => Step::Valid {
                index,
                meta: ValidMeta {
                    frame: view.meta,
                    len: view.payload.len(),
                },
            },
            Err(reason) => Step::Rejected { index, reason },
        }
    }

    fn drop_one(&mut self, index: u64) -> Step {
        self.next = index + 1;
        self.counters.dropped_overwritten += 1;
        Step::Dropped {
            first: index,
            count: 1,
            cause: DropCause::Overwritten,
        }
    }
}

#[derive(Clone, Copy)]
struct ValidMeta {
    frame: crate::frame::FrameMeta,
    len: usize,
}

enum Step {
    Empty,
    Dropped {
        first: u64,
        count: u64,
        cause: DropCause,
    },
    Rejected {
        index: u64,
        reason: RejectReason,
    },
    Valid {
        index: u64,
        meta: ValidMeta,
    },
}

struct Copied {
    header: SlotHeader,
    payload_len: usize,
    tail_is_zero: bool,
    crc32: u32,
    padding: u32,
}

/// Copies a slot's fields and payload with relaxed loads. The payload goes to `scratch`; the
/// bytes between the payload and the CRC are only checked for zero.
fn copy_slot(slot: &[AtomicU32], scratch: &mut [u8], capacity: usize) -> Copied {
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
    let first = SLOT_HEADER_SIZE / 4;
    let crc_word = slot.len().saturating_sub(2);
    let ds = header.data_size as usize;
    // An oversized dataSize is rejected by `frame::check`; copy nothing for it.
    let payload_len = if ds <= capacity { ds } else { 0 };
    let full_words = payload_len / 4;
    let mut word = first;
    for chunk in scratch.chunks_exact_mut(4).take(full_words) {
        chunk.copy_from_slice(&ld(word).to_le_bytes());
        word += 1;
    }
    let mut tail_is_zero = true;
    let rem = payload_len % 4;
    if rem != 0 {
        let bytes = ld(word).to_le_bytes();
        if let Some(dst) = scratch.get_mut(full_words * 4..full_words * 4 + rem) {
            dst.copy_from_slice(&bytes[..rem]);
        }
        tail_is_zero = bytes[rem..].iter().all(|b| *b == 0);
        word += 1;
    }
    let mut acc = 0u32;
    while word < crc_word {
        acc |= ld(word);
        word += 1;
    }
    tail_is_zero &= acc == 0;
    Copied {
        header,
        payload_len,
        tail_is_zero,
        crc32: ld(crc_word),
        padding: ld(crc_word + 1),
    }
}
