//! Frame slots as bytes: the checks every frame must pass, and a byte-exact slot encoder.
//!
//! The live reader ([`crate::slot::Reader`]) gathers a slot's fields through atomics and then
//! runs the same [`check`] as [`SlotView::new_checked`], which reads a slot from plain bytes
//! (a file, a fuzzer, `vitalring dump`). So one function decides what is a valid frame.

use zerocopy::{FromBytes, IntoBytes};

use crate::crc;
use crate::layout::{Encoding, FrameType, SlotHeader, SlotSize, SLOT_HEADER_SIZE, SLOT_OVERHEAD};
use crate::payload::PayloadError;
use crate::time::UnixNs;

/// The committed seqlock word for ring index `index`: `(seq31 << 1) | 1`.
pub const fn committed_word(index: u64) -> u32 {
    (((index & 0x7FFF_FFFF) as u32) << 1) | 1
}

/// The in-progress seqlock word for ring index `index`: `seq31 << 1`.
pub const fn writing_word(index: u64) -> u32 {
    ((index & 0x7FFF_FFFF) as u32) << 1
}

/// What a writer says about a frame besides its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameMeta {
    /// Frame type.
    pub frame_type: FrameType,
    /// Payload encoding.
    pub encoding: Encoding,
    /// Acquisition time.
    pub timestamp: UnixNs,
}

/// Why a committed frame is not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RejectReason {
    /// The CRC does not match.
    Crc {
        /// Stored in the slot.
        stored: u32,
        /// Computed over the slot.
        computed: u32,
    },
    /// `sequenceNumber` is not the low 32 bits of the frame's index.
    Sequence {
        /// Expected.
        expected: u32,
        /// Found.
        found: u32,
    },
    /// `dataSize` exceeds the slot's capacity.
    DataSize(u32),
    /// Bytes that must be zero are not (the reserved bytes or the padding). The tail past
    /// `dataSize` is not read: a non-zero byte there fails the CRC or changes nothing.
    NonZeroPadding,
    /// Unknown `type`.
    FrameType(u8),
    /// Unknown `encoding`.
    Encoding(u8),
    /// The payload is malformed or out of range.
    Payload(PayloadError),
    /// `timestampNs` is zero, far in the future of the writer's heartbeat, or far before the
    /// ring was created (see [`crate::session`]).
    Timestamp(u64),
}

impl core::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Crc { stored, computed } => {
                write!(
                    f,
                    "crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
            Self::Sequence { expected, found } => {
                write!(f, "sequence number {found} where {expected} was expected")
            }
            Self::DataSize(n) => write!(f, "data size {n} exceeds the slot"),
            Self::NonZeroPadding => write!(f, "reserved or padding bytes are not zero"),
            Self::FrameType(t) => write!(f, "unknown frame type {t}"),
            Self::Encoding(e) => write!(f, "unknown payload encoding {e}"),
            Self::Payload(e) => write!(f, "{e}"),
            Self::Timestamp(t) => write!(f, "implausible frame timestamp {t} ns"),
        }
    }
}

impl core::error::Error for RejectReason {}

/// A slot's fields as gathered by a reader, before any check.
#[derive(Debug, Clone, Copy)]
pub struct RawSlot<'p> {
    /// The first 24 bytes (with `commit` as read).
    pub header: SlotHeader,
    /// The payload: `dataSize` bytes when `dataSize` fits the slot, otherwise empty.
    pub payload: &'p [u8],
    /// The stored CRC.
    pub crc32: u32,
    /// The last 4 bytes of the slot.
    pub padding: u32,
}

/// A frame that passed every transport check (its payload is not decoded yet). Only
/// [`check`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::manual_non_exhaustive,
    reason = "the private field is the proof of the check, not room for future fields"
)]
pub struct FrameView<'p> {
    /// The frame's ring index as the reader knows it (or as the sequence number says, for
    /// frames checked without a reader).
    pub index: u64,
    /// Type, encoding and timestamp.
    pub meta: FrameMeta,
    /// The payload bytes.
    pub payload: &'p [u8],
    /// Private: only [`check`] builds a view.
    #[allow(
        clippy::manual_non_exhaustive,
        reason = "the private field is the proof of the check, not a way to add fields later"
    )]
    _checked: (),
}

/// CRC of a slot of `frame_size` bytes whose first 24 bytes are `header` (with `commit` already
/// the committed word), whose payload is `payload` and whose remaining bytes up to the CRC field
/// are zero. The CRC field itself counts as zero.
pub fn slot_crc(header: &SlotHeader, payload: &[u8], frame_size: usize) -> u32 {
    let mut digest = crc::digest();
    digest.update(header.as_bytes());
    digest.update(payload);
    let covered = SLOT_HEADER_SIZE + payload.len();
    crc::extend_zeros(digest.finalize(), (frame_size - 4).saturating_sub(covered))
}

/// The one decision on whether committed slot bytes form a valid frame.
///
/// `index` is the ring index the reader expects in this slot; `slot` the ring's slot size.
/// The caller has already checked that `commit` is the committed word for `index`.
///
/// # Errors
/// The first [`RejectReason`] that applies, checked in this order: data size, CRC, zero bytes,
/// sequence number, type, encoding.
pub fn check<'p>(
    raw: &RawSlot<'p>,
    index: u64,
    slot: SlotSize,
) -> Result<FrameView<'p>, RejectReason> {
    let frame_size = slot.bytes();
    let h = &raw.header;
    let capacity = frame_size - SLOT_OVERHEAD;
    if h.data_size as usize > capacity || raw.payload.len() != h.data_size as usize {
        return Err(RejectReason::DataSize(h.data_size));
    }
    let mut as_committed = *h;
    as_committed.commit = committed_word(index);
    let computed = slot_crc(&as_committed, raw.payload, frame_size);
    if computed != raw.crc32 {
        return Err(RejectReason::Crc {
            stored: raw.crc32,
            computed,
        });
    }
    if raw.padding != 0 || h.reserved != 0 {
        return Err(RejectReason::NonZeroPadding);
    }
    let expected = index as u32;
    if h.sequence_number != expected {
        return Err(RejectReason::Sequence {
            expected,
            found: h.sequence_number,
        });
    }
    let frame_type = FrameType::try_from(h.frame_type).map_err(RejectReason::FrameType)?;
    let encoding = Encoding::try_from(h.encoding).map_err(RejectReason::Encoding)?;
    Ok(FrameView {
        index,
        meta: FrameMeta {
            frame_type,
            encoding,
            timestamp: UnixNs(h.timestamp_ns),
        },
        payload: raw.payload,
        _checked: (),
    })
}

/// Why slot bytes could not be checked at all (as opposed to checked and rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotError {
    /// The byte slice is not a valid slot size (at least 64, a multiple of 8).
    Size(usize),
    /// The slot is not committed (`commit` is zero, in progress, or inconsistent with
    /// `sequenceNumber`).
    NotCommitted(u32),
    /// The slot is committed but invalid.
    Rejected(RejectReason),
}

impl core::fmt::Display for SlotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Size(n) => write!(f, "{n} bytes is not a valid slot size"),
            Self::NotCommitted(c) => write!(f, "slot not committed (commit word {c:#010x})"),
            Self::Rejected(r) => write!(f, "{r}"),
        }
    }
}

impl core::error::Error for SlotError {}

/// Checked access to one slot held in plain bytes (a file, a fuzzer, `vitalring dump`).
pub struct SlotView;

impl SlotView {
    /// Checks a whole slot (`bytes.len()` is the frame size). With `index` the slot must hold
    /// that ring index; without, the index is taken from `commit` and `sequenceNumber`, which
    /// must agree. The result is a [`FrameView`]: the proof that the bytes passed.
    ///
    /// # Errors
    /// [`SlotError`].
    pub fn new_checked(bytes: &[u8], index: Option<u64>) -> Result<FrameView<'_>, SlotError> {
        let f = bytes.len();
        let slot = u32::try_from(f)
            .ok()
            .and_then(SlotSize::new)
            .ok_or(SlotError::Size(f))?;
        let (header, _) = SlotHeader::read_from_prefix(bytes).map_err(|_| SlotError::Size(f))?;
        let index = match index {
            Some(i) => i,
            None => u64::from(header.sequence_number),
        };
        if header.commit != committed_word(index) {
            return Err(SlotError::NotCommitted(header.commit));
        }
        let word = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&bytes[at..at + 4]);
            u32::from_le_bytes(w)
        };
        let ds = header.data_size as usize;
        let body = &bytes[SLOT_HEADER_SIZE..f - 8];
        let payload = body.get(..ds).unwrap_or(&[]);
        let raw = RawSlot {
            header,
            payload,
            crc32: word(f - 8),
            padding: word(f - 4),
        };
        check(&raw, index, slot).map_err(SlotError::Rejected)
    }
}

/// Why a slot could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WriteError {
    /// The payload is larger than the slot's capacity.
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// Slot capacity (`frameSizeBytes - 32`).
        capacity: usize,
    },
    /// The record could not be encoded.
    Encode(crate::payload::EncodeError),
    /// The output is not a valid slot size.
    SlotSize(usize),
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::PayloadTooLarge { len, capacity } => {
                write!(
                    f,
                    "payload of {len} bytes exceeds the slot capacity of {capacity}"
                )
            }
            Self::Encode(e) => write!(f, "{e}"),
            Self::SlotSize(n) => write!(f, "{n} bytes is not a valid slot size"),
        }
    }
}

impl core::error::Error for WriteError {}

/// Writes a complete committed slot for ring index `index` into `out` (whose length is the
/// frame size): the bytes a C reader of seed 000 `memcpy`s.
///
/// # Errors
/// [`WriteError::SlotSize`] or [`WriteError::PayloadTooLarge`].
pub fn encode_slot(
    index: u64,
    meta: FrameMeta,
    payload: &[u8],
    out: &mut [u8],
) -> Result<(), WriteError> {
    let f = out.len();
    if f < crate::layout::MIN_FRAME_SIZE as usize || !f.is_multiple_of(8) {
        return Err(WriteError::SlotSize(f));
    }
    let capacity = f - SLOT_OVERHEAD;
    if payload.len() > capacity {
        return Err(WriteError::PayloadTooLarge {
            len: payload.len(),
            capacity,
        });
    }
    let header = slot_header(index, meta, payload.len());
    out.fill(0);
    out[..SLOT_HEADER_SIZE].copy_from_slice(header.as_bytes());
    out[SLOT_HEADER_SIZE..SLOT_HEADER_SIZE + payload.len()].copy_from_slice(payload);
    let crc = slot_crc(&header, payload, f);
    out[f - 8..f - 4].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The committed slot header for `index`.
pub(crate) fn slot_header(index: u64, meta: FrameMeta, data_size: usize) -> SlotHeader {
    SlotHeader {
        frame_type: meta.frame_type as u8,
        encoding: meta.encoding as u8,
        reserved: 0,
        commit: committed_word(index),
        timestamp_ns: meta.timestamp.0,
        sequence_number: index as u32,
        data_size: data_size as u32,
    }
}
