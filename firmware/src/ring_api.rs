//! Every call this example makes into the core's writer and reader API, in one module.
//!
//! When the core's API changes, this is the one file to adapt: the scenario (`scenario.rs`)
//! sees only the small types below ([`Producer`], [`Consumer`], [`Event`], [`Tally`]) and the
//! core's plain data types (records, encodings, geometry).
//!
//! The reader is the core's slot layer ([`Reader::poll`] yields transport-checked frames); the
//! payload is decoded here. With the `json` feature the writer and the decoder use the core's
//! record-level calls (`publish_record`, `payload::decode`), which handle both encodings.
//! Without it they go through the binary codec directly: the record-level calls choose the
//! codec at run time, so they link the JSON codec whether or not a frame ever carries JSON. A
//! frame the decoder refuses is counted as rejected in the reader's own counters
//! ([`Reader::refuse_last`]), so one set of counters stays the truth.

use vitalring_core::layout::Geometry;
use vitalring_core::static_ring::{slot_words, StaticRing};

#[cfg(feature = "reader")]
use vitalring_core::layout::Encoding;
#[cfg(any(feature = "writer", feature = "reader"))]
use vitalring_core::payload::Record;
#[cfg(feature = "reader")]
use vitalring_core::slot::{Counters, LapPolicy, Reader, Start};
#[cfg(any(feature = "writer", feature = "reader"))]
use vitalring_core::time::{UnixMs, UnixNs};
#[cfg(feature = "writer")]
use vitalring_core::{
    frame::WriteError,
    layout::SLOT_HEADER_SIZE,
    region::Region,
    slot::{InitError, Writer, WriterConfig},
    Encoding as WireEncoding,
};

/// The ring's shape: 8 slots of 256 bytes (224-byte payloads: the longest JSON vitals record
/// and a 10-sample JSON waveform chunk fit).
pub const GEOMETRY: Geometry = match Geometry::new(256, 8) {
    Ok(g) => g,
    Err(_) => panic!("invalid ring geometry"),
};

/// Payload capacity of a slot: the reader's scratch buffer size.
pub const CAPACITY: usize = GEOMETRY.payload_capacity();

/// The ring type: header and slot words in one `static`.
pub type Ring = StaticRing<{ slot_words(GEOMETRY) }>;

/// The writer side.
#[cfg(feature = "writer")]
pub struct Producer {
    writer: Writer<&'static Ring>,
}

#[cfg(feature = "writer")]
impl Producer {
    /// Initialises `ring` (zeroes it, writes the header) and becomes its writer.
    pub fn create(ring: &'static Ring, epoch: u64, now_ms: u64) -> Result<Self, InitError> {
        let config = WriterConfig {
            geometry: GEOMETRY,
            epoch,
            created: UnixMs(now_ms).as_ns(),
            now: UnixMs(now_ms),
        };
        Ok(Self {
            writer: Writer::create(ring, config)?,
        })
    }

    /// Publishes `record` in `encoding`; returns its ring index.
    pub fn publish(
        &mut self,
        record: &Record,
        encoding: WireEncoding,
        timestamp_ns: u64,
        now_ms: u64,
    ) -> Result<u64, WriteError> {
        #[cfg(feature = "json")]
        {
            self.writer
                .publish_record(record, encoding, UnixNs(timestamp_ns), UnixMs(now_ms))
        }
        #[cfg(not(feature = "json"))]
        {
            use vitalring_core::frame::FrameMeta;
            use vitalring_core::payload::{binary, EncodeError};
            if encoding != WireEncoding::Binary {
                return Err(WriteError::Encode(EncodeError::BufferFull));
            }
            let mut buf = [0u8; CAPACITY];
            let len = match record {
                Record::Heartbeat => 0,
                Record::Vitals(v) => {
                    v.validate()
                        .map_err(|f| WriteError::Encode(EncodeError::Invalid(f)))?;
                    binary::encode_vitals(v, &mut buf).map_err(WriteError::Encode)?
                }
                Record::Waveform(w) => {
                    w.validate()
                        .map_err(|f| WriteError::Encode(EncodeError::Invalid(f)))?;
                    binary::encode_waveform(w, &mut buf).map_err(WriteError::Encode)?
                }
            };
            let meta = FrameMeta {
                frame_type: record.frame_type(),
                encoding,
                timestamp: UnixNs(timestamp_ns),
            };
            self.writer.publish(meta, &buf[..len], UnixMs(now_ms))
        }
    }

    /// Publishes an empty heartbeat frame.
    pub fn heartbeat(&mut self, timestamp_ns: u64, now_ms: u64) -> Result<u64, WriteError> {
        Ok(self
            .writer
            .publish_heartbeat(UnixNs(timestamp_ns), UnixMs(now_ms)))
    }

    /// Frames published so far (the next frame's index).
    pub fn published(&self) -> u64 {
        self.writer.published()
    }

    /// Fault injection: flips one bit of the first payload byte of the committed frame
    /// `index` (as a memory fault or a stray DMA write would). False if the region refused.
    pub fn corrupt_payload(&self, index: u64) -> bool {
        let offset = GEOMETRY.slot_offset(index) + SLOT_HEADER_SIZE;
        self.writer.region().region().flip_bit(offset, 3).is_ok()
    }
}

/// What one reader step produced, in the example's own terms.
#[cfg(feature = "reader")]
#[derive(Debug, Clone, PartialEq, defmt::Format)]
#[allow(
    clippy::large_enum_variant,
    reason = "records are fixed-capacity values; no heap on this target"
)]
pub enum Event {
    /// Nothing new.
    Empty,
    /// A delivered, decoded, range-checked record.
    Record {
        /// Ring index.
        index: u64,
        /// Acquisition time.
        timestamp_ns: u64,
        /// The encoding it arrived in.
        encoding: Encoding,
        /// The record.
        record: Record,
    },
    /// Indices lost: lapped by the writer (`lapped`) or overwritten while read.
    Dropped {
        /// First lost index.
        first: u64,
        /// How many.
        count: u64,
        /// Lapped (true) or overwritten (false).
        lapped: bool,
    },
    /// A committed frame that failed a check; `crc` when it was the CRC.
    Rejected {
        /// Its index.
        index: u64,
        /// Whether the CRC was what failed.
        crc: bool,
    },
}

/// The reader's accounting.
#[cfg(feature = "reader")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub struct Tally {
    /// Frames delivered.
    pub delivered: u64,
    /// Indices dropped (lapped or overwritten).
    pub dropped: u64,
    /// Indices lapped.
    pub lapped: u64,
    /// Frames rejected.
    pub rejected: u64,
    /// Rejected for their CRC.
    pub rejected_crc: u64,
    /// Indices the reader moved past since it attached.
    pub moved_past: u64,
}

/// Why the reader could not attach.
#[cfg(feature = "reader")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum AttachError {
    /// The header did not validate.
    Header(vitalring_core::layout::HeaderError),
    /// The scratch buffer is too small.
    Scratch,
}

/// The reader side; its scratch buffer is a field (on the stack of whoever owns it).
#[cfg(feature = "reader")]
pub struct Consumer {
    reader: Reader<&'static Ring, [u8; CAPACITY]>,
}

#[cfg(feature = "reader")]
impl Consumer {
    /// Validates the ring's header and starts at the next frame the writer publishes.
    pub fn attach(ring: &'static Ring) -> Result<Self, AttachError> {
        let checked = vitalring_core::Ring::new_checked(ring).map_err(AttachError::Header)?;
        Ok(Self {
            reader: Reader::attach(checked, [0u8; CAPACITY], LapPolicy::Latest, Start::Next)
                .map_err(|_| AttachError::Scratch)?,
        })
    }

    /// One reader step: the slot layer's result, decoded.
    pub fn poll(&mut self) -> Event {
        use vitalring_core::frame::RejectReason;
        use vitalring_core::slot::{DropCause, Poll};
        let (index, meta, decoded) = match self.reader.poll() {
            Poll::Empty => return Event::Empty,
            Poll::Dropped {
                first,
                count,
                cause,
            } => {
                return Event::Dropped {
                    first,
                    count,
                    lapped: cause == DropCause::Lapped,
                }
            }
            Poll::Rejected { index, reason } => {
                return Event::Rejected {
                    index,
                    crc: matches!(reason, RejectReason::Crc { .. }),
                }
            }
            // A writer in this firmware never moves `writeIndex` backwards or ahead of itself.
            Poll::Fault(_) => return Event::Empty,
            Poll::Frame(frame) => (frame.index, frame.meta, decode(&frame)),
        };
        match decoded {
            Ok(record) => Event::Record {
                index,
                timestamp_ns: meta.timestamp.0,
                encoding: meta.encoding,
                record,
            },
            Err(e) => {
                self.reader.refuse_last(&RejectReason::Payload(e));
                Event::Rejected { index, crc: false }
            }
        }
    }

    /// The reader's counters.
    pub fn tally(&self) -> Tally {
        let c: &Counters = self.reader.counters();
        Tally {
            delivered: c.delivered,
            dropped: c.dropped(),
            lapped: c.dropped_lapped,
            rejected: c.rejected.total(),
            rejected_crc: c.rejected.crc,
            moved_past: self.reader.moved_past(),
        }
    }

    /// Whether the header says the writer stores 64-bit words as two 32-bit halves.
    pub fn split_64(&self) -> bool {
        self.reader.header().flags & vitalring_core::layout::FLAG_SPLIT_64 != 0
    }

    /// The header's heartbeat, ms.
    pub fn heartbeat_ms(&self) -> u64 {
        self.reader.heartbeat().0
    }
}

/// Decodes a frame's payload: every codec with `json`, the binary codec alone without.
#[cfg(feature = "reader")]
fn decode(
    frame: &vitalring_core::frame::FrameView<'_>,
) -> Result<Record, vitalring_core::payload::PayloadError> {
    #[cfg(feature = "json")]
    {
        vitalring_core::payload::decode(frame.meta.frame_type, frame.meta.encoding, frame.payload)
    }
    #[cfg(not(feature = "json"))]
    {
        use vitalring_core::layout::FrameType;
        use vitalring_core::payload::{binary, PayloadError};
        match (frame.meta.frame_type, frame.meta.encoding) {
            (FrameType::Heartbeat, _) => Ok(Record::Heartbeat),
            (FrameType::Vitals, Encoding::Binary) => {
                let v = binary::decode_vitals(frame.payload)?;
                v.validate().map_err(PayloadError::Range)?;
                Ok(Record::Vitals(v))
            }
            (FrameType::Waveform, Encoding::Binary) => {
                let w = binary::decode_waveform(frame.payload)?;
                w.validate().map_err(PayloadError::Range)?;
                Ok(Record::Waveform(w))
            }
            // This build has no JSON codec: a JSON frame is not something it can show.
            (_, Encoding::Json) => Err(PayloadError::Reserved),
        }
    }
}
