//! The bridge envelope: what one Zenoh sample carries.
//!
//! A sample's payload is a fixed 56-byte little-endian header followed by a body. For a frame
//! the body is the frame's own payload bytes, exactly as the producer wrote them into its slot
//! (JSON or binary, see `docs/wire-format.md`), so the far side decodes and range-checks them
//! with the same code as every local reader. For a status message the body is a small JSON
//! object (see [`crate::status`]).
//!
//! | offset | size | field | rule |
//! | --- | --- | --- | --- |
//! | 0 | 4 | `magic` | the bytes `"VRZE"` |
//! | 4 | 1 | `version` | 1 |
//! | 5 | 1 | `kind` | 1 frame, 2 status |
//! | 6 | 1 | `frame_type` | frame: 1 vitals, 2 waveform, 3 heartbeat; status: 0 |
//! | 7 | 1 | `encoding` | frame: 0 JSON, 1 binary; status: 0 |
//! | 8 | 8 | `stream` | the exporter run that sent it: random, non-zero, new at every start |
//! | 16 | 8 | `seq` | frame: its number in the stream (0, 1, 2, … over every key); status: frames published so far |
//! | 24 | 8 | `epoch` | the source ring's producer epoch (0 in a status message sent before any ring) |
//! | 32 | 8 | `index` | frame: its ring index in the source ring; status: the exporter's ring position |
//! | 40 | 8 | `timestamp_ns` | frame: its `timestampNs`; status: the exporter's wall clock |
//! | 48 | 4 | `body_len` | body bytes after the header: the sample's length − 56, at most [`MAX_BODY`] |
//! | 52 | 4 | `crc32` | CRC-32/ISO-HDLC over bytes `[0, 52)` followed by the body |
//!
//! [`Envelope::parse`] is the one decision on whether bytes from the network are an envelope;
//! it is a pure function of a byte slice, total on every input (tested below: every prefix, pseudo-random buffers, every single bit flip).

use vitalring_core::layout::{Encoding, FrameType};
use zerocopy::byteorder::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `"VRZE"`.
pub const MAGIC: [u8; 4] = *b"VRZE";
/// The envelope version this build writes and reads.
pub const VERSION: u8 = 1;
/// Header size, bytes.
pub const HEADER_SIZE: usize = 56;
/// Largest body: a frame payload of the largest slot (1 MiB − 32 bytes).
pub const MAX_BODY: usize = (1 << 20) - 32;

/// The header as laid out on the wire.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Header {
    magic: [u8; 4],
    version: u8,
    kind: u8,
    frame_type: u8,
    encoding: u8,
    stream: U64,
    seq: U64,
    epoch: U64,
    index: U64,
    timestamp_ns: U64,
    body_len: U32,
    crc32: U32,
}

const _: () = assert!(core::mem::size_of::<Header>() == HEADER_SIZE);
const _: () = assert!(core::mem::offset_of!(Header, version) == 4);
const _: () = assert!(core::mem::offset_of!(Header, kind) == 5);
const _: () = assert!(core::mem::offset_of!(Header, frame_type) == 6);
const _: () = assert!(core::mem::offset_of!(Header, encoding) == 7);
const _: () = assert!(core::mem::offset_of!(Header, stream) == 8);
const _: () = assert!(core::mem::offset_of!(Header, seq) == 16);
const _: () = assert!(core::mem::offset_of!(Header, epoch) == 24);
const _: () = assert!(core::mem::offset_of!(Header, index) == 32);
const _: () = assert!(core::mem::offset_of!(Header, timestamp_ns) == 40);
const _: () = assert!(core::mem::offset_of!(Header, body_len) == 48);
const _: () = assert!(core::mem::offset_of!(Header, crc32) == 52);

/// Offset of the CRC field (the CRC covers the bytes before it, then the body).
const CRC_OFFSET: usize = 52;

/// What an envelope carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One frame of the source ring.
    Frame {
        /// Its type.
        frame_type: FrameType,
        /// Its payload encoding.
        encoding: Encoding,
    },
    /// The exporter's status.
    Status,
}

/// A checked envelope: every field passed [`Envelope::parse`] (or was built by this program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'b> {
    /// Frame or status.
    pub kind: Kind,
    /// The exporter run.
    pub stream: u64,
    /// Frame number in the stream (frame), frames published so far (status).
    pub seq: u64,
    /// Source producer epoch.
    pub epoch: u64,
    /// Source ring index (frame), exporter position (status).
    pub index: u64,
    /// Frame timestamp (frame), exporter wall clock (status), ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// The frame's payload bytes, or the status JSON.
    pub body: &'b [u8],
}

/// Why bytes are not an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Fewer than [`HEADER_SIZE`] bytes.
    Short(usize),
    /// The first four bytes are not `"VRZE"`.
    Magic,
    /// A version this build does not read.
    Version(u8),
    /// `kind` is neither 1 nor 2.
    Kind(u8),
    /// `body_len` disagrees with the sample's length, or exceeds [`MAX_BODY`].
    BodyLen {
        /// The header's `body_len`.
        declared: u32,
        /// Bytes actually after the header.
        actual: usize,
    },
    /// The CRC does not match.
    Crc {
        /// Stored.
        stored: u32,
        /// Computed.
        computed: u32,
    },
    /// A frame's type is not 1, 2 or 3.
    FrameType(u8),
    /// A frame's encoding is not 0 or 1.
    Encoding(u8),
    /// A status message with a non-zero `frame_type` or `encoding`.
    StatusFields,
    /// `stream` is 0, or a frame's `epoch` or `timestamp_ns` is 0.
    Zero(&'static str),
}

impl EnvelopeError {
    /// A short name for counters and JSON (`crc`, `version`, …).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Short(_) | Self::BodyLen { .. } => "size",
            Self::Magic => "magic",
            Self::Version(_) => "version",
            Self::Kind(_) | Self::FrameType(_) | Self::Encoding(_) | Self::StatusFields => "field",
            Self::Crc { .. } => "crc",
            Self::Zero(_) => "zero",
        }
    }
}

impl core::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Short(n) => write!(f, "envelope too short: {n} bytes (header is {HEADER_SIZE})"),
            Self::Magic => f.write_str("not a vitalring bridge envelope (bad magic)"),
            Self::Version(v) => write!(
                f,
                "envelope version {v} is not supported (this build reads {VERSION})"
            ),
            Self::Kind(k) => write!(f, "unknown envelope kind {k}"),
            Self::BodyLen { declared, actual } => write!(
                f,
                "envelope body length {declared} does not match the {actual} bytes received (at most {MAX_BODY})"
            ),
            Self::Crc { stored, computed } => write!(
                f,
                "envelope crc mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            Self::FrameType(t) => write!(f, "unknown frame type {t}"),
            Self::Encoding(e) => write!(f, "unknown payload encoding {e}"),
            Self::StatusFields => f.write_str("status envelope with frame type or encoding set"),
            Self::Zero(field) => write!(f, "envelope field {field} is 0"),
        }
    }
}

impl std::error::Error for EnvelopeError {}

fn crc_of(head: &[u8], body: &[u8]) -> u32 {
    let mut digest = vitalring_core::crc::digest();
    digest.update(head);
    digest.update(body);
    digest.finalize()
}

impl<'b> Envelope<'b> {
    /// Checks `bytes` (one sample's payload) and returns the envelope over them.
    ///
    /// # Errors
    /// The first [`EnvelopeError`] that applies, in this order: size, magic, version, kind,
    /// body length, CRC, then the fields of the kind.
    pub fn parse(bytes: &'b [u8]) -> Result<Self, EnvelopeError> {
        let (header, body) =
            Header::read_from_prefix(bytes).map_err(|_| EnvelopeError::Short(bytes.len()))?;
        if header.magic != MAGIC {
            return Err(EnvelopeError::Magic);
        }
        if header.version != VERSION {
            return Err(EnvelopeError::Version(header.version));
        }
        if header.kind != 1 && header.kind != 2 {
            return Err(EnvelopeError::Kind(header.kind));
        }
        let declared = header.body_len.get();
        if declared as usize != body.len() || body.len() > MAX_BODY {
            return Err(EnvelopeError::BodyLen {
                declared,
                actual: body.len(),
            });
        }
        let stored = header.crc32.get();
        let computed = crc_of(&bytes[..CRC_OFFSET], body);
        if stored != computed {
            return Err(EnvelopeError::Crc { stored, computed });
        }
        let kind = if header.kind == 1 {
            Kind::Frame {
                frame_type: FrameType::try_from(header.frame_type)
                    .map_err(EnvelopeError::FrameType)?,
                encoding: Encoding::try_from(header.encoding).map_err(EnvelopeError::Encoding)?,
            }
        } else {
            if header.frame_type != 0 || header.encoding != 0 {
                return Err(EnvelopeError::StatusFields);
            }
            Kind::Status
        };
        if header.stream.get() == 0 {
            return Err(EnvelopeError::Zero("stream"));
        }
        if matches!(kind, Kind::Frame { .. }) {
            if header.epoch.get() == 0 {
                return Err(EnvelopeError::Zero("epoch"));
            }
            if header.timestamp_ns.get() == 0 {
                return Err(EnvelopeError::Zero("timestamp_ns"));
            }
        }
        Ok(Self {
            kind,
            stream: header.stream.get(),
            seq: header.seq.get(),
            epoch: header.epoch.get(),
            index: header.index.get(),
            timestamp_ns: header.timestamp_ns.get(),
            body,
        })
    }

    /// Appends the encoded envelope to `out` (cleared first), reusing its allocation.
    ///
    /// # Panics
    /// Never for bodies up to [`MAX_BODY`]; a longer body is a bug of the caller (frame
    /// payloads are at most a slot's capacity) and is truncated to [`MAX_BODY`] rather than
    /// panicking — the far side then rejects it for its CRC.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (frame_type, encoding, kind) = match self.kind {
            Kind::Frame {
                frame_type,
                encoding,
            } => (frame_type as u8, encoding as u8, 1),
            Kind::Status => (0, 0, 2),
        };
        let body = &self.body[..self.body.len().min(MAX_BODY)];
        let header = Header {
            magic: MAGIC,
            version: VERSION,
            kind,
            frame_type,
            encoding,
            stream: U64::new(self.stream),
            seq: U64::new(self.seq),
            epoch: U64::new(self.epoch),
            index: U64::new(self.index),
            timestamp_ns: U64::new(self.timestamp_ns),
            body_len: U32::new(u32::try_from(body.len()).unwrap_or(u32::MAX)),
            crc32: U32::new(0),
        };
        out.clear();
        out.extend_from_slice(header.as_bytes());
        let crc = crc_of(&out[..CRC_OFFSET], self.body);
        out[CRC_OFFSET..HEADER_SIZE].copy_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(self.body);
    }

    /// The encoded envelope in a new buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_SIZE + self.body.len());
        self.encode_into(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Envelope<'_> {
        Envelope {
            kind: Kind::Frame {
                frame_type: FrameType::Vitals,
                encoding: Encoding::Json,
            },
            stream: 0x1122_3344_5566_7788,
            seq: 41,
            epoch: 0xdead_beef,
            index: 1234,
            timestamp_ns: 1_795_398_940_179_723_104,
            body,
        }
    }

    #[test]
    fn round_trip_and_layout() {
        let body = br#"{"hr":72,"spo2":98,"rr":14}"#;
        let bytes = frame(body).to_vec();
        assert_eq!(bytes.len(), HEADER_SIZE + body.len());
        assert_eq!(&bytes[0..4], b"VRZE");
        assert_eq!(bytes[4], 1);
        assert_eq!(bytes[5], 1);
        assert_eq!(bytes[6], 1);
        assert_eq!(bytes[7], 0);
        assert_eq!(u64::from_le_bytes(bytes[16..24].try_into().unwrap()), 41);
        assert_eq!(u64::from_le_bytes(bytes[32..40].try_into().unwrap()), 1234);
        assert_eq!(
            u32::from_le_bytes(bytes[48..52].try_into().unwrap()) as usize,
            body.len()
        );
        // The CRC is zlib's CRC-32 over the first 52 bytes and the body.
        let mut covered = bytes[..52].to_vec();
        covered.extend_from_slice(body);
        assert_eq!(
            u32::from_le_bytes(bytes[52..56].try_into().unwrap()),
            vitalring_core::crc::checksum(&covered)
        );
        assert_eq!(Envelope::parse(&bytes), Ok(frame(body)));
    }

    #[test]
    fn status_round_trip() {
        let e = Envelope {
            kind: Kind::Status,
            epoch: 0,
            ..frame(b"{}")
        };
        assert_eq!(Envelope::parse(&e.to_vec()), Ok(e));
    }

    #[test]
    fn every_rule_is_enforced() {
        let good = frame(b"{}").to_vec();
        let reseal = |mut b: Vec<u8>| {
            let mut covered = b[..52].to_vec();
            covered.extend_from_slice(&b[56..]);
            let crc = vitalring_core::crc::checksum(&covered);
            b[52..56].copy_from_slice(&crc.to_le_bytes());
            b
        };
        assert_eq!(Envelope::parse(&good[..55]), Err(EnvelopeError::Short(55)));
        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(Envelope::parse(&b), Err(EnvelopeError::Magic));
        let mut b = good.clone();
        b[4] = 2;
        assert_eq!(Envelope::parse(&b), Err(EnvelopeError::Version(2)));
        let mut b = good.clone();
        b[5] = 3;
        assert_eq!(Envelope::parse(&b), Err(EnvelopeError::Kind(3)));
        let mut b = good.clone();
        b.push(0);
        assert!(matches!(
            Envelope::parse(&b),
            Err(EnvelopeError::BodyLen { .. })
        ));
        let mut b = good.clone();
        b[20] ^= 1;
        assert!(matches!(
            Envelope::parse(&b),
            Err(EnvelopeError::Crc { .. })
        ));
        let mut b = good.clone();
        b[6] = 9;
        assert_eq!(
            Envelope::parse(&reseal(b)),
            Err(EnvelopeError::FrameType(9))
        );
        let mut b = good.clone();
        b[7] = 2;
        assert_eq!(Envelope::parse(&reseal(b)), Err(EnvelopeError::Encoding(2)));
        let mut b = good.clone();
        b[5] = 2;
        assert_eq!(
            Envelope::parse(&reseal(b)),
            Err(EnvelopeError::StatusFields)
        );
        let mut b = good.clone();
        b[8..16].fill(0);
        assert_eq!(
            Envelope::parse(&reseal(b)),
            Err(EnvelopeError::Zero("stream"))
        );
        let mut b = good.clone();
        b[24..32].fill(0);
        assert_eq!(
            Envelope::parse(&reseal(b)),
            Err(EnvelopeError::Zero("epoch"))
        );
        let mut b = good;
        b[40..48].fill(0);
        assert_eq!(
            Envelope::parse(&reseal(b)),
            Err(EnvelopeError::Zero("timestamp_ns"))
        );
    }

    /// A small deterministic generator (xorshift) for the exhaustive-ish checks below.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Total: any bytes give a verdict, never a panic; an accepted envelope re-encodes to
    /// exactly the bytes it came from. Every prefix of a valid envelope, and 20 000
    /// pseudo-random buffers (some starting with a valid header), are tried.
    #[test]
    fn parse_is_total() {
        let good = frame(br#"{"hr":72}"#).to_vec();
        for n in 0..=good.len() {
            if let Ok(e) = Envelope::parse(&good[..n]) {
                assert_eq!(e.to_vec(), &good[..n]);
            }
        }
        let mut st = 0x9E37_79B9_7F4A_7C15;
        for i in 0..20_000 {
            let len = (xorshift(&mut st) % 200) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| xorshift(&mut st) as u8).collect();
            if i % 2 == 0 && b.len() >= 8 {
                b[..4].copy_from_slice(b"VRZE");
                b[4] = 1;
            }
            if let Ok(e) = Envelope::parse(&b) {
                assert_eq!(e.to_vec(), b);
            }
        }
    }

    /// Any single changed bit of a valid envelope is refused (nothing corrupted is taken as
    /// data): every bit of envelopes with bodies of 0 to 40 bytes.
    #[test]
    fn any_bit_flip_is_refused() {
        for body_len in 0..40 {
            let body: Vec<u8> = (0..body_len).map(|i| i as u8 ^ 0x5a).collect();
            let good = frame(&body).to_vec();
            for bit in 0..good.len() * 8 {
                let mut b = good.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                assert!(Envelope::parse(&b).is_err(), "bit {bit} of {body_len}");
            }
        }
    }

    /// Encode then parse gives back every field, for every type and encoding.
    #[test]
    fn round_trip_every_kind() {
        let mut st = 7;
        for ft in 1..=3u8 {
            for enc in 0..=1u8 {
                for _ in 0..200 {
                    let body: Vec<u8> = (0..xorshift(&mut st) % 300)
                        .map(|_| xorshift(&mut st) as u8)
                        .collect();
                    let e = Envelope {
                        kind: Kind::Frame {
                            frame_type: FrameType::try_from(ft).unwrap(),
                            encoding: Encoding::try_from(enc).unwrap(),
                        },
                        stream: xorshift(&mut st) | 1,
                        seq: xorshift(&mut st),
                        epoch: xorshift(&mut st) | 1,
                        index: xorshift(&mut st),
                        timestamp_ns: xorshift(&mut st) | 1,
                        body: &body,
                    };
                    assert_eq!(Envelope::parse(&e.to_vec()), Ok(e));
                }
            }
        }
    }
}
