//! Every call this example makes into the core's writer and reader API, in one module.
//!
//! When the core's API changes, this is the one file to adapt: the scenario (`scenario.rs`)
//! sees only the small types below ([`Producer`], [`Consumer`], [`Event`], [`Tally`]) and the
//! core's plain data types (records, encodings, geometry).
//!
//! With the `json` feature the writer and the reader use the core's record-level calls
//! (`publish_record`, `poll`), which handle both encodings. Without it they go through the
//! binary codec directly (`publish` of a binary payload, `poll_raw` then the binary decoder):
//! the record-level calls choose the codec at run time, so they link the JSON codec whether or
//! not a frame ever carries JSON.

use vitalring_core::layout::Geometry;
use vitalring_core::static_ring::{slot_words, StaticRing};

#[cfg(feature = "reader")]
use vitalring_core::layout::Encoding;
#[cfg(any(feature = "writer", feature = "reader"))]
use vitalring_core::payload::Record;
#[cfg(feature = "reader")]
use vitalring_core::slot::{Counters, LapPolicy, Reader, Start};
#[cfg(feature = "reader")]
use vitalring_core::AttachError;
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
            created_unix_ns: now_ms * 1_000_000,
            now_ms,
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
                .publish_record(record, encoding, timestamp_ns, now_ms)
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
                timestamp_ns,
            };
            self.writer.publish(meta, &buf[..len], now_ms)
        }
    }

    /// Publishes an empty heartbeat frame.
    pub fn heartbeat(&mut self, timestamp_ns: u64, now_ms: u64) -> Result<u64, WriteError> {
        self.writer.publish_heartbeat(timestamp_ns, now_ms)
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

/// The reader side; its scratch buffer is a field (on the stack of whoever owns it).
#[cfg(feature = "reader")]
pub struct Consumer {
    reader: Reader<&'static Ring, [u8; CAPACITY]>,
    /// Frames that passed the transport checks but not the binary decoder (binary-only build).
    #[cfg(not(feature = "json"))]
    undecodable: u64,
}

#[cfg(feature = "reader")]
impl Consumer {
    /// Validates the ring's header and starts at the next frame the writer publishes.
    pub fn attach(ring: &'static Ring) -> Result<Self, AttachError> {
        Ok(Self {
            reader: Reader::attach(ring, [0u8; CAPACITY], LapPolicy::Latest, Start::Next)?,
            #[cfg(not(feature = "json"))]
            undecodable: 0,
        })
    }

    /// One reader step.
    pub fn poll(&mut self) -> Event {
        use vitalring_core::frame::RejectReason;
        use vitalring_core::slot::{DropCause, Poll};
        let from_poll = |p: Poll| match p {
            Poll::Empty => Event::Empty,
            Poll::Delivered(d) => Event::Record {
                index: d.index,
                timestamp_ns: d.timestamp_ns,
                encoding: d.encoding,
                record: d.record,
            },
            Poll::Dropped {
                first,
                count,
                cause,
            } => Event::Dropped {
                first,
                count,
                lapped: cause == DropCause::Lapped,
            },
            Poll::Rejected { index, reason } => Event::Rejected {
                index,
                crc: matches!(reason, RejectReason::Crc { .. }),
            },
        };
        #[cfg(feature = "json")]
        {
            from_poll(self.reader.poll())
        }
        #[cfg(not(feature = "json"))]
        {
            use vitalring_core::layout::FrameType;
            use vitalring_core::payload::binary;
            let frame = match self.reader.poll_raw() {
                Ok(None) => return Event::Empty,
                Ok(Some(frame)) => frame,
                Err(p) => return from_poll(p),
            };
            let decoded = match (frame.meta.frame_type, frame.meta.encoding) {
                (FrameType::Heartbeat, _) => Some(Record::Heartbeat),
                (FrameType::Vitals, Encoding::Binary) => binary::decode_vitals(frame.payload)
                    .ok()
                    .filter(|v| v.validate().is_ok())
                    .map(Record::Vitals),
                (FrameType::Waveform, Encoding::Binary) => binary::decode_waveform(frame.payload)
                    .ok()
                    .filter(|w| w.validate().is_ok())
                    .map(Record::Waveform),
                (_, Encoding::Json) => None,
            };
            match decoded {
                Some(record) => Event::Record {
                    index: frame.index,
                    timestamp_ns: frame.meta.timestamp_ns,
                    encoding: frame.meta.encoding,
                    record,
                },
                None => {
                    // The core counted it as delivered; this build cannot use it.
                    self.undecodable += 1;
                    Event::Rejected {
                        index: frame.index,
                        crc: false,
                    }
                }
            }
        }
    }

    /// The reader's counters.
    pub fn tally(&self) -> Tally {
        let c: &Counters = self.reader.counters();
        #[cfg(feature = "json")]
        let undecodable = 0;
        #[cfg(not(feature = "json"))]
        let undecodable = self.undecodable;
        Tally {
            delivered: c.delivered - undecodable,
            dropped: c.dropped(),
            lapped: c.dropped_lapped,
            rejected: c.rejected.total() + undecodable,
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
        self.reader.heartbeat_ms()
    }
}
