//! The vitalring ring, measured through the product's real path: the writer peer runs a
//! [`SharedMemoryProducer`] (sealed memfd, control server on a socket in the run's scratch
//! directory); the reader peer does the real handshake ([`vitalring_linux::connect`]: peer
//! credentials, seals and size checked, read-only `mmap`, header validated) and then polls the
//! core [`Reader`] — the same code `SharedMemorySensorDataSource` runs per frame.
//!
//! The reader uses the slot layer's [`Reader::poll`]: every transport check (seqlock, CRC, zero bytes,
//! sequence, size, type, encoding) runs, but the bench's opaque payload is not decoded as
//! JSON. Payload decoding is measured separately by the core's criterion benches.
//!
//! In backoff mode the reader waits with the core's [`vitalring_core::backoff::Backoff`]
//! schedule (spin → yield → sleeps of at most 50 µs), the product's own policy.

use std::path::PathBuf;

use vitalring_core::backoff::{Action, Backoff as CoreBackoff};
use vitalring_core::frame::FrameMeta;
use vitalring_core::layout::{Encoding, FrameType, Geometry};
use vitalring_core::slot::{LapPolicy, Poll, Reader, Start};
use vitalring_linux::{ProducerConfig, RoMapping, SharedMemoryProducer};

use super::{Backoff, BenchTransport, FrameSink, FrameSource, PeerContext, Recv};
use crate::BenchError;

/// The vitalring transport.
#[derive(Debug)]
pub struct Vitalring;

/// Writer half: the producer (ring, writer, control server).
pub struct VitalringSink {
    producer: SharedMemoryProducer,
    payload_len: usize,
    sent: u64,
}

impl std::fmt::Debug for VitalringSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VitalringSink")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

/// Reader half: the read-only mapping under a core reader.
#[derive(Debug)]
pub struct VitalringSource {
    reader: Reader<RoMapping, Vec<u8>>,
    payload_len: usize,
    backoff: CoreBackoff,
}

/// Bytes of a slot that are not payload (24-byte frame header + CRC + padding).
pub const SLOT_OVERHEAD: usize = vitalring_core::layout::SLOT_OVERHEAD;

const CHANNEL: &str = "bench";

fn socket_path(ctx: &PeerContext) -> PathBuf {
    ctx.scratch_dir.join("vitalring-bench.sock")
}

fn geometry(ctx: &PeerContext) -> Result<Geometry, BenchError> {
    let size = u32::try_from(ctx.size).map_err(|_| BenchError::Unsupported("frame size".into()))?;
    let count =
        u32::try_from(ctx.capacity).map_err(|_| BenchError::Unsupported("capacity".into()))?;
    Geometry::new(size, count)
        .map_err(|e| BenchError::Unsupported(format!("vitalring geometry: {e}")))
}

/// Creates the ring and serves it on a socket in the run's scratch directory.
pub fn open_writer(ctx: &PeerContext) -> Result<VitalringSink, BenchError> {
    let mut config = ProducerConfig::new(CHANNEL);
    config.socket_path = Some(socket_path(ctx));
    config.geometry = geometry(ctx)?;
    let producer = SharedMemoryProducer::create(config)
        .map_err(|e| BenchError::Unsupported(format!("vitalring producer: {e}")))?;
    Ok(VitalringSink {
        producer,
        payload_len: ctx.payload.payload_len(ctx.size - SLOT_OVERHEAD),
        sent: 0,
    })
}

/// Longest backoff sleep of [`VitalringLowPower`], µs.
pub const LOW_POWER_MAX_SLEEP_US: u32 = 1000;

/// The vitalring transport with a low-power reader: backoff sleeps of up to 1 ms.
#[derive(Debug)]
pub struct VitalringLowPower;

impl BenchTransport for VitalringLowPower {
    type Sink = VitalringSink;
    type Source = VitalringSource;

    fn open_writer(ctx: &PeerContext) -> Result<VitalringSink, BenchError> {
        open_writer(ctx)
    }

    fn open_reader(ctx: &PeerContext) -> Result<VitalringSource, BenchError> {
        let mut source = open_reader(ctx)?;
        source.backoff = CoreBackoff::with_max_sleep_us(LOW_POWER_MAX_SLEEP_US);
        Ok(source)
    }
}

/// Handshakes with the writer's producer and attaches a core reader at the next frame.
pub fn open_reader(ctx: &PeerContext) -> Result<VitalringSource, BenchError> {
    let attached = vitalring_linux::connect(&socket_path(ctx), CHANNEL, None)
        .map_err(|e| BenchError::Unsupported(format!("vitalring handshake: {e}")))?;
    let capacity = attached.geometry().payload_capacity();
    let reader = Reader::attach(
        attached.into_ring(),
        vec![0u8; capacity],
        LapPolicy::Latest,
        Start::Next,
    )
    .map_err(|e| BenchError::Unsupported(format!("vitalring attach: {e}")))?;
    Ok(VitalringSource {
        reader,
        payload_len: ctx.payload.payload_len(ctx.size - SLOT_OVERHEAD),
        backoff: CoreBackoff::new(),
    })
}

impl BenchTransport for Vitalring {
    type Sink = VitalringSink;
    type Source = VitalringSource;

    fn open_writer(ctx: &PeerContext) -> Result<VitalringSink, BenchError> {
        open_writer(ctx)
    }

    fn open_reader(ctx: &PeerContext) -> Result<VitalringSource, BenchError> {
        open_reader(ctx)
    }
}

impl FrameSink for VitalringSink {
    fn payload_len(&self) -> usize {
        self.payload_len
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), BenchError> {
        let meta = FrameMeta {
            frame_type: FrameType::Waveform,
            encoding: Encoding::Binary,
            timestamp: vitalring_core::time::UnixNs(self.sent),
        };
        self.producer
            .publish_raw(meta, payload)
            .map_err(|e| BenchError::Unsupported(format!("vitalring publish: {e}")))?;
        self.sent += 1;
        Ok(())
    }
}

impl FrameSource for VitalringSource {
    fn payload_len(&self) -> usize {
        self.payload_len
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> Result<Recv, BenchError> {
        match self.reader.poll() {
            Poll::Empty => Ok(Recv::Empty),
            Poll::Frame(frame) => {
                let n = frame.payload.len().min(buf.len());
                buf[..n].copy_from_slice(&frame.payload[..n]);
                Ok(Recv::Frame(n))
            }
            Poll::Dropped { count, .. } => Ok(Recv::Dropped(count)),
            Poll::Rejected { .. } => Ok(Recv::Dropped(1)),
            Poll::Fault(f) => Err(BenchError::Unsupported(format!(
                "vitalring ring fault: {f}"
            ))),
        }
    }

    fn recv_backoff(&mut self, buf: &mut [u8], _backoff: &mut Backoff) -> Result<Recv, BenchError> {
        let r = self.try_recv(buf)?;
        if r != Recv::Empty {
            self.backoff.reset();
            return Ok(r);
        }
        match self.backoff.next_action() {
            Action::Spin => std::hint::spin_loop(),
            Action::Yield => std::thread::yield_now(),
            Action::Sleep(us) => {
                std::thread::sleep(std::time::Duration::from_micros(u64::from(us)))
            }
        }
        Ok(Recv::Empty)
    }
}
