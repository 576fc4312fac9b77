//! Wire format v1: the ring header, the frame slot, and the rules that make a header valid.
//!
//! Every size and offset here is pinned at compile time; `docs/wire-format.md` restates the
//! tables, and the `c_layout` test compiles seed 000's C structs and compares offsets.
//!
//! ```text
//! ring  = header (80 bytes) | slot 0 | slot 1 | ... | slot frameCount-1
//! slot  = type u8 | encoding u8 | reserved u16 | commit u32 | timestampNs u64
//!       | sequenceNumber u32 | dataSize u32 | data [F-32] | crc32 u32 | padding u32
//! ```

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::crc;

/// `magic` of a v1 ring: `'SMRB'` read as a little-endian `u32`.
pub const MAGIC: u32 = 0x534D_5242;
/// The only `version` this crate reads and writes.
pub const VERSION: u16 = 1;
/// Size of the ring header in bytes; slot 0 starts here.
pub const HEADER_SIZE: usize = 80;
/// Bytes of a slot before the payload (`type` .. `dataSize`).
pub const SLOT_HEADER_SIZE: usize = 24;
/// Bytes of a slot after the payload (`crc32` and padding).
pub const SLOT_TRAILER_SIZE: usize = 8;
/// Bytes of a slot that are not payload: `frameSizeBytes - SLOT_OVERHEAD` is the payload capacity.
pub const SLOT_OVERHEAD: usize = SLOT_HEADER_SIZE + SLOT_TRAILER_SIZE;
/// Default `frameSizeBytes` (seed 000's `SensorFrame`).
pub const DEFAULT_FRAME_SIZE: u32 = 4096;
/// Default `frameCount`.
pub const DEFAULT_FRAME_COUNT: u32 = 2048;
/// Smallest allowed `frameSizeBytes`.
pub const MIN_FRAME_SIZE: u32 = 64;
/// Largest `frameSizeBytes` this implementation accepts (1 MiB).
pub const MAX_FRAME_SIZE: u32 = 1 << 20;
/// Largest `frameCount` this implementation accepts (2^24 slots).
pub const MAX_FRAME_COUNT: u32 = 1 << 24;
/// Largest mapping this implementation accepts (1 GiB), whatever the geometry.
pub const MAX_REGION_LEN: usize = 1 << 30;

/// `heartbeatTimestamp` value a producer stores when it stops cleanly ("producer stopped",
/// distinct from a stall). A live writer never stores it: its heartbeats are wall-clock ms.
pub const HEARTBEAT_STOPPED: u64 = u64::MAX;

/// Header flag: the writer has no 64-bit atomics and stores `writeIndex` and
/// `heartbeatTimestamp` as two 32-bit halves, low half first (see [`crate::atomics`]).
pub const FLAG_SPLIT_64: u32 = 1;
/// Header flag: the writer wakes readers that sleep (see [`crate::wake`]). A reader of a ring
/// without it (a firmware writer that makes no system calls) polls.
pub const FLAG_WAKES_SLEEPERS: u32 = 2;
/// Every header flag this version knows; a header with any other bit set is rejected.
pub const KNOWN_FLAGS: u32 = FLAG_SPLIT_64 | FLAG_WAKES_SLEEPERS;

/// The ring header as bytes on the wire (a snapshot; the live header is
/// [`crate::region::SharedHeader`]).
///
/// `reserved2[11]` of seed 000 carries the v1 extensions: `flags` (offset 36), `epoch` (40),
/// `created_unix_ns` (48) and six reserved words that are written as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct RingHeader {
    /// [`MAGIC`].
    pub magic: u32,
    /// [`VERSION`].
    pub version: u16,
    /// Zero.
    pub reserved1: u16,
    /// Size of one slot in bytes (`F`).
    pub frame_size_bytes: u32,
    /// Number of slots; a power of two.
    pub frame_count: u32,
    /// Number of frames committed so far (atomic in the live header).
    pub write_index: u64,
    /// Writer's last sign of life, ms since the Unix epoch (atomic in the live header).
    pub heartbeat_timestamp: u64,
    /// CRC-32 over the immutable fields: bytes `[0, 16)` then `[36, 80)` (see [`header_crc`]).
    pub crc32: u32,
    /// Extension flags ([`FLAG_SPLIT_64`]); unknown bits are rejected.
    pub flags: u32,
    /// Producer instance: a non-zero number chosen anew each time a ring is created. A reader
    /// that reattaches and sees another epoch knows the producer restarted.
    pub epoch: u64,
    /// When the ring was created, ns since the Unix epoch (informational).
    pub created_unix_ns: u64,
    /// Zero.
    pub reserved: [u32; 6],
}

const _: () = {
    assert!(size_of::<RingHeader>() == HEADER_SIZE);
    assert!(offset_of!(RingHeader, magic) == 0);
    assert!(offset_of!(RingHeader, version) == 4);
    assert!(offset_of!(RingHeader, reserved1) == 6);
    assert!(offset_of!(RingHeader, frame_size_bytes) == 8);
    assert!(offset_of!(RingHeader, frame_count) == 12);
    assert!(offset_of!(RingHeader, write_index) == 16);
    assert!(offset_of!(RingHeader, heartbeat_timestamp) == 24);
    assert!(offset_of!(RingHeader, crc32) == 32);
    assert!(offset_of!(RingHeader, flags) == 36);
    assert!(offset_of!(RingHeader, epoch) == 40);
    assert!(offset_of!(RingHeader, created_unix_ns) == 48);
    assert!(offset_of!(RingHeader, reserved) == 56);
};

/// The first 24 bytes of a slot as bytes on the wire (a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct SlotHeader {
    /// Raw frame type (see [`FrameType`]).
    pub frame_type: u8,
    /// Raw payload encoding (see [`Encoding`]).
    pub encoding: u8,
    /// Zero.
    pub reserved: u16,
    /// The seqlock word (see [`crate::slot`]).
    pub commit: u32,
    /// Acquisition time, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// Low 32 bits of the frame's ring index.
    pub sequence_number: u32,
    /// Payload length in bytes.
    pub data_size: u32,
}

const _: () = {
    assert!(size_of::<SlotHeader>() == SLOT_HEADER_SIZE);
    assert!(offset_of!(SlotHeader, frame_type) == 0);
    assert!(offset_of!(SlotHeader, encoding) == 1);
    assert!(offset_of!(SlotHeader, reserved) == 2);
    assert!(offset_of!(SlotHeader, commit) == 4);
    assert!(offset_of!(SlotHeader, timestamp_ns) == 8);
    assert!(offset_of!(SlotHeader, sequence_number) == 16);
    assert!(offset_of!(SlotHeader, data_size) == 20);
};

/// What a frame carries (`type` byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum FrameType {
    /// Vital-sign numerics (seed 000's 0x01).
    Vitals = 1,
    /// A chunk of waveform samples (0x02).
    Waveform = 2,
    /// A sign of life with no payload (0x03).
    Heartbeat = 3,
}

impl TryFrom<u8> for FrameType {
    type Error = u8;
    /// Unknown values come back as the error; they are never cast.
    fn try_from(raw: u8) -> Result<Self, u8> {
        match raw {
            1 => Ok(Self::Vitals),
            2 => Ok(Self::Waveform),
            3 => Ok(Self::Heartbeat),
            other => Err(other),
        }
    }
}

/// How a frame's payload is encoded (`encoding` byte; seed 000 calls it reserved, so 0 = JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Encoding {
    /// UTF-8 JSON (seed 000), the default.
    #[default]
    Json = 0,
    /// Little-endian `repr(C)` structs (seed 001); see [`crate::payload::binary`].
    Binary = 1,
}

impl TryFrom<u8> for Encoding {
    type Error = u8;
    /// Unknown values come back as the error; they are never cast.
    fn try_from(raw: u8) -> Result<Self, u8> {
        match raw {
            0 => Ok(Self::Json),
            1 => Ok(Self::Binary),
            other => Err(other),
        }
    }
}

/// A slot size (`frameSizeBytes`) that follows the v1 rules: a multiple of 8 between
/// [`MIN_FRAME_SIZE`] and [`MAX_FRAME_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SlotSize(u32);

impl SlotSize {
    /// `bytes` if it is a valid slot size.
    pub const fn new(bytes: u32) -> Option<Self> {
        if bytes < MIN_FRAME_SIZE || bytes > MAX_FRAME_SIZE || !bytes.is_multiple_of(8) {
            None
        } else {
            Some(Self(bytes))
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> usize {
        self.0 as usize
    }
}

/// A ring's shape: slot size and slot count, both already checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Geometry {
    frame_size: u32,
    frame_count: u32,
}

/// Why a geometry is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GeometryError {
    /// `frameSizeBytes` is below [`MIN_FRAME_SIZE`], above [`MAX_FRAME_SIZE`] or not a multiple of 8.
    FrameSize(u32),
    /// `frameCount` is zero, above [`MAX_FRAME_COUNT`] or not a power of two.
    FrameCount(u32),
    /// The whole mapping would exceed [`MAX_REGION_LEN`].
    TooLarge,
}

impl core::fmt::Display for GeometryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::FrameSize(v) => write!(
                f,
                "frame size {v} must be a multiple of 8 between {MIN_FRAME_SIZE} and {MAX_FRAME_SIZE}"
            ),
            Self::FrameCount(v) => {
                write!(f, "frame count {v} must be a power of two between 1 and {MAX_FRAME_COUNT}")
            }
            Self::TooLarge => write!(f, "ring would be larger than {MAX_REGION_LEN} bytes"),
        }
    }
}

impl core::error::Error for GeometryError {}

impl Geometry {
    /// Checks `frame_size` and `frame_count` against the v1 rules.
    ///
    /// # Errors
    /// [`GeometryError`] names the rule that failed.
    pub const fn new(frame_size: u32, frame_count: u32) -> Result<Self, GeometryError> {
        if frame_size < MIN_FRAME_SIZE
            || frame_size > MAX_FRAME_SIZE
            || !frame_size.is_multiple_of(8)
        {
            return Err(GeometryError::FrameSize(frame_size));
        }
        if frame_count == 0 || frame_count > MAX_FRAME_COUNT || !frame_count.is_power_of_two() {
            return Err(GeometryError::FrameCount(frame_count));
        }
        let len = HEADER_SIZE as u64 + frame_size as u64 * frame_count as u64;
        if len > MAX_REGION_LEN as u64 {
            return Err(GeometryError::TooLarge);
        }
        Ok(Self {
            frame_size,
            frame_count,
        })
    }

    /// The default geometry: 2048 slots of 4096 bytes.
    pub const DEFAULT: Self = match Self::new(DEFAULT_FRAME_SIZE, DEFAULT_FRAME_COUNT) {
        Ok(g) => g,
        Err(_) => panic!("default geometry is valid"),
    };

    /// `frameSizeBytes`.
    pub const fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// `frameCount`.
    pub const fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// The slot size as a checked value.
    pub const fn slot_size(&self) -> SlotSize {
        SlotSize(self.frame_size)
    }

    /// Largest payload a slot holds: `frameSizeBytes - 32`.
    pub const fn payload_capacity(&self) -> usize {
        self.frame_size as usize - SLOT_OVERHEAD
    }

    /// Exact length of the mapping: `80 + frameCount * frameSizeBytes`.
    pub const fn region_len(&self) -> usize {
        HEADER_SIZE + self.frame_size as usize * self.frame_count as usize
    }

    /// Slot number of ring index `index`.
    pub const fn slot_of(&self, index: u64) -> usize {
        (index & (self.frame_count as u64 - 1)) as usize
    }

    /// Byte offset of the slot of ring index `index` from the start of the mapping.
    pub const fn slot_offset(&self, index: u64) -> usize {
        HEADER_SIZE + self.slot_of(index) * self.frame_size as usize
    }
}

impl Default for Geometry {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// CRC-32 of a header's immutable fields: bytes `[0, 16)` (magic, version, reserved1,
/// frameSizeBytes, frameCount) followed by bytes `[36, 80)` (flags, epoch, created, reserved).
/// `writeIndex`, `heartbeatTimestamp` and `crc32` itself are not covered.
pub fn header_crc(header: &RingHeader) -> u32 {
    let bytes = header.as_bytes();
    let mut digest = crc::digest();
    digest.update(&bytes[..16]);
    digest.update(&bytes[36..HEADER_SIZE]);
    digest.finalize()
}

/// Why a header is not a v1 ring this reader can trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderError {
    /// Fewer bytes than a header.
    Truncated(usize),
    /// `magic` is not [`MAGIC`].
    Magic(u32),
    /// `version` is not [`VERSION`].
    Version(u16),
    /// `reserved1` is not zero.
    Reserved,
    /// Unknown bits in `flags`.
    Flags(u32),
    /// `epoch` is zero.
    Epoch,
    /// Frame size or count breaks the v1 rules.
    Geometry(GeometryError),
    /// The mapping's length is not exactly `80 + frameCount * frameSizeBytes`.
    RegionLength {
        /// What the geometry needs.
        expected: usize,
        /// What the mapping has.
        actual: usize,
    },
    /// The immutable fields differ from those the reader attached to (rewritten under it).
    Changed,
    /// The header CRC does not match its immutable fields.
    Crc {
        /// Stored in the header.
        stored: u32,
        /// Computed from the fields.
        computed: u32,
    },
}

impl core::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated(n) => write!(f, "header truncated: {n} of {HEADER_SIZE} bytes"),
            Self::Magic(m) => write!(f, "bad magic {m:#010x} (expected {MAGIC:#010x})"),
            Self::Version(v) => write!(f, "unsupported version {v} (expected {VERSION})"),
            Self::Reserved => write!(f, "reserved header field is not zero"),
            Self::Flags(v) => write!(f, "unknown header flags {v:#x}"),
            Self::Epoch => write!(f, "producer epoch is zero"),
            Self::Geometry(e) => write!(f, "bad geometry: {e}"),
            Self::RegionLength { expected, actual } => {
                write!(
                    f,
                    "mapping is {actual} bytes but the geometry needs exactly {expected}"
                )
            }
            Self::Changed => write!(f, "header changed under a live reader"),
            Self::Crc { stored, computed } => {
                write!(
                    f,
                    "header crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
                )
            }
        }
    }
}

impl core::error::Error for HeaderError {}

/// A ring header that passed every v1 check against a mapping of a known length: the only way
/// to get one is [`RingHeader::check`] (or [`RingHeader::new_checked`]), so holding one proves
/// the header was validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CheckedHeader {
    header: RingHeader,
    geometry: Geometry,
}

impl CheckedHeader {
    /// The header as validated (its live counters as they were then).
    pub fn header(&self) -> &RingHeader {
        &self.header
    }

    /// The ring's geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The producer epoch (never zero).
    pub fn epoch(&self) -> u64 {
        self.header.epoch
    }

    /// When the ring was created.
    pub fn created(&self) -> crate::time::UnixNs {
        crate::time::UnixNs(self.header.created_unix_ns)
    }

    /// Whether the writer stores the 64-bit counters as two 32-bit halves.
    pub fn split_64(&self) -> bool {
        self.header.flags & FLAG_SPLIT_64 != 0
    }

    /// Whether `other` has the same immutable fields (the live counters are ignored).
    pub fn same_ring(&self, other: &RingHeader) -> bool {
        let mut o = *other;
        o.write_index = self.header.write_index;
        o.heartbeat_timestamp = self.header.heartbeat_timestamp;
        o == self.header
    }
}

impl RingHeader {
    /// A fresh header for `geometry` with `writeIndex` 0 and a correct CRC.
    pub fn new(geometry: Geometry, epoch: u64, created_unix_ns: u64, flags: u32) -> Self {
        let mut header = Self {
            magic: MAGIC,
            version: VERSION,
            reserved1: 0,
            frame_size_bytes: geometry.frame_size(),
            frame_count: geometry.frame_count(),
            write_index: 0,
            heartbeat_timestamp: 0,
            crc32: 0,
            flags,
            epoch,
            created_unix_ns,
            reserved: [0; 6],
        };
        header.crc32 = header_crc(&header);
        header
    }

    /// Parses and validates a header from the first bytes of a mapping of `region_len` bytes.
    ///
    /// # Errors
    /// [`HeaderError`] names the first check that failed.
    pub fn new_checked(bytes: &[u8], region_len: usize) -> Result<CheckedHeader, HeaderError> {
        let header = Self::read_from_prefix(bytes)
            .map_err(|_| HeaderError::Truncated(bytes.len()))?
            .0;
        header.check(region_len)
    }

    /// Checks every v1 rule against a mapping of `region_len` bytes.
    ///
    /// # Errors
    /// [`HeaderError`] names the first check that failed.
    pub fn check(self, region_len: usize) -> Result<CheckedHeader, HeaderError> {
        let geometry = self.validate_fields(region_len)?;
        Ok(CheckedHeader {
            header: self,
            geometry,
        })
    }

    fn validate_fields(&self, region_len: usize) -> Result<Geometry, HeaderError> {
        if self.magic != MAGIC {
            return Err(HeaderError::Magic(self.magic));
        }
        if self.version != VERSION {
            return Err(HeaderError::Version(self.version));
        }
        let computed = header_crc(self);
        if computed != self.crc32 {
            return Err(HeaderError::Crc {
                stored: self.crc32,
                computed,
            });
        }
        if self.reserved1 != 0 {
            return Err(HeaderError::Reserved);
        }
        if self.flags & !KNOWN_FLAGS != 0 {
            return Err(HeaderError::Flags(self.flags));
        }
        if self.epoch == 0 {
            return Err(HeaderError::Epoch);
        }
        let geometry = Geometry::new(self.frame_size_bytes, self.frame_count)
            .map_err(HeaderError::Geometry)?;
        if geometry.region_len() != region_len {
            return Err(HeaderError::RegionLength {
                expected: geometry.region_len(),
                actual: region_len,
            });
        }
        Ok(geometry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_geometry_matches_seed_000() {
        let g = Geometry::DEFAULT;
        assert_eq!(g.frame_size(), 4096);
        assert_eq!(g.frame_count(), 2048);
        assert_eq!(g.payload_capacity(), 4064);
        assert_eq!(g.region_len(), 80 + 2048 * 4096);
        assert_eq!(g.slot_offset(0), 80);
        assert_eq!(g.slot_offset(2049), 80 + 4096);
    }

    #[test]
    fn geometry_rules() {
        assert_eq!(Geometry::new(56, 8), Err(GeometryError::FrameSize(56)));
        assert_eq!(Geometry::new(100, 8), Err(GeometryError::FrameSize(100)));
        assert_eq!(Geometry::new(64, 0), Err(GeometryError::FrameCount(0)));
        assert_eq!(Geometry::new(64, 12), Err(GeometryError::FrameCount(12)));
        assert!(Geometry::new(64, 1).is_ok());
        assert_eq!(
            Geometry::new(MAX_FRAME_SIZE, MAX_FRAME_COUNT),
            Err(GeometryError::TooLarge)
        );
    }

    #[test]
    fn header_round_trip_and_each_check() {
        let g = Geometry::new(256, 16).unwrap();
        let h = RingHeader::new(g, 7, 1, 0);
        let len = g.region_len();
        let checked = RingHeader::new_checked(h.as_bytes(), len).unwrap();
        assert_eq!((checked.header(), checked.geometry()), (&h, g));
        assert_eq!(
            RingHeader::new_checked(&h.as_bytes()[..79], len),
            Err(HeaderError::Truncated(79))
        );
        assert!(matches!(
            h.check(len + 8),
            Err(HeaderError::RegionLength { .. })
        ));

        let mut bad = h;
        bad.magic ^= 1;
        assert_eq!(
            bad.check(len).map(|c| c.geometry()),
            Err(HeaderError::Magic(MAGIC ^ 1))
        );
        let mut bad = h;
        bad.version = 2;
        assert_eq!(
            bad.check(len).map(|c| c.geometry()),
            Err(HeaderError::Version(2))
        );
        // Every immutable field is covered by the CRC.
        for field in [8usize, 12, 36, 40, 48, 56, 76] {
            let mut bytes = [0u8; HEADER_SIZE];
            bytes.copy_from_slice(h.as_bytes());
            bytes[field] ^= 0x10;
            assert!(matches!(
                RingHeader::new_checked(&bytes, len),
                Err(HeaderError::Crc { .. })
            ));
        }
        // The live counters are not.
        let mut live = h;
        live.write_index = 99;
        live.heartbeat_timestamp = 12345;
        assert!(live.check(len).map(|c| c.geometry()).is_ok());
        // Rules behind a correct CRC still hold.
        let mut zero_epoch = RingHeader::new(g, 0, 1, 0);
        assert_eq!(
            zero_epoch.check(len).map(|c| c.geometry()),
            Err(HeaderError::Epoch)
        );
        zero_epoch = RingHeader::new(g, 1, 1, 0x80);
        assert_eq!(
            zero_epoch.check(len).map(|c| c.geometry()),
            Err(HeaderError::Flags(0x80))
        );
        let mut odd = RingHeader::new(g, 1, 1, 0);
        odd.frame_count = 12;
        odd.crc32 = header_crc(&odd);
        assert_eq!(
            odd.check(len).map(|c| c.geometry()),
            Err(HeaderError::Geometry(GeometryError::FrameCount(12)))
        );
    }

    #[test]
    fn enums_reject_unknown_values() {
        assert_eq!(FrameType::try_from(0), Err(0));
        assert_eq!(FrameType::try_from(4), Err(4));
        assert_eq!(FrameType::try_from(2), Ok(FrameType::Waveform));
        assert_eq!(Encoding::try_from(2), Err(2));
        assert_eq!(Encoding::try_from(1), Ok(Encoding::Binary));
    }
}
