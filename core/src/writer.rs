//! The single writer of a ring (see [`crate::slot`] for the protocol).

use crate::atomics::{fence, AtomicU32, Ordering};
use crate::frame::{self, committed_word, writing_word, FrameMeta, WriteError};
use crate::layout::{
    Encoding, FrameType, Geometry, RingHeader, HEARTBEAT_STOPPED, SLOT_HEADER_SIZE,
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
        let slot = self.slot_words(&view, index);
        write_slot(
            slot,
            index,
            meta,
            payload,
            self.geometry.slot_size().bytes(),
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

/// A wall-clock heartbeat value that can never be mistaken for [`HEARTBEAT_STOPPED`].
fn heartbeat_value(now: UnixMs) -> u64 {
    now.0.min(HEARTBEAT_STOPPED - 1)
}

/// Writes frame `index` into `slot` (the slot's words, `frame_size / 4` of them) and commits it.
fn write_slot(slot: &[AtomicU32], index: u64, meta: FrameMeta, payload: &[u8], frame_size: usize) {
    if slot.len() < SLOT_HEADER_SIZE / 4 + 2 {
        // Unreachable: the region length was checked against the geometry in `create`.
        return;
    }
    let header = frame::slot_header(index, meta, payload.len());
    let crc = frame::slot_crc(&header, payload, frame_size);

    // Relaxed: ordered by the fence below.
    slot[1].store(writing_word(index), Ordering::Relaxed);
    // SYNC: pairs with the `fence(Acquire)` in `Reader::poll`: a reader whose copy observed
    // any store below also observes `writing(index)` when it re-loads `commit`.
    fence(Ordering::Release);

    // Relaxed stores: published by the Release store of `commit` below.
    let st = |i: usize, v: u32| {
        if let Some(word) = slot.get(i) {
            word.store(v, Ordering::Relaxed);
        }
    };
    st(
        0,
        u32::from(header.frame_type) | (u32::from(header.encoding) << 8),
    );
    st(2, header.timestamp_ns as u32);
    st(3, (header.timestamp_ns >> 32) as u32);
    st(4, header.sequence_number);
    st(5, header.data_size);
    let mut word = SLOT_HEADER_SIZE / 4;
    let mut chunks = payload.chunks_exact(4);
    for c in &mut chunks {
        st(word, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        word += 1;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 4];
        last[..rest.len()].copy_from_slice(rest);
        st(word, u32::from_le_bytes(last));
        word += 1;
    }
    let crc_word = slot.len() - 2;
    while word < crc_word {
        st(word, 0);
        word += 1;
    }
    st(crc_word, crc);
    st(crc_word + 1, 0);

    // SYNC: Release pairs with the Acquire load of `commit` in `Reader::poll`: a reader that
    // sees `committed(index)` sees every store above.
    slot[1].store(committed_word(index), Ordering::Release);
}
