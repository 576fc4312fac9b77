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
//!
//! [`VitalringBlock`] is the product's default reader: it asks for a status page (a lease) in
//! the handshake and, with nothing to read, sleeps in `FUTEX_WAIT` on its page until the
//! writer wakes it after a commit ([`vitalring_core::wake::StatusPage::sleep`], the same call
//! `LiveReader` makes). [`VitalringNoWake`] is the same set-up with the writer's wake path off.

use std::path::PathBuf;

use vitalring_core::backoff::{Action, Backoff as CoreBackoff};
use vitalring_core::frame::FrameMeta;
use vitalring_core::layout::{Encoding, FrameType, Geometry};
use vitalring_core::region::Region;
use vitalring_core::slot::{LapPolicy, Poll, Reader, Start};
use vitalring_core::time::Nanos;
use vitalring_linux::status::LinuxFutex;
use vitalring_linux::{ConnectOptions, Lease, ProducerConfig, RoMapping, SharedMemoryProducer};

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
    /// The lease and status page of a leased reader (held for the whole run: closing it frees
    /// the page in the producer); `None`: no lease.
    lease: Option<Lease>,
    /// Sleeps on the page when idle (else polls with the backoff).
    sleeps: bool,
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
    // Only what went wrong: the attach/detach lines of every run would bury the report.
    config.log = Some(std::sync::Arc::new(|e: &vitalring_linux::ServeEvent| {
        use vitalring_linux::ServeEvent as E;
        if !matches!(
            e,
            E::Served { .. } | E::Answered { .. } | E::Attached { .. } | E::Detached { .. }
        ) {
            eprintln!("vitalring-bench: producer: {e}");
        }
    }));
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
        lease: None,
        sleeps: false,
    })
}

/// Longest futex sleep of [`VitalringBlock`]: the harness wants a backoff receive back within
/// about 20 ms (the product's readers sleep up to their session's next deadline, ≤ 100 ms).
pub const BLOCK_MAX_SLEEP: Nanos = Nanos(20_000_000);

/// Handshakes asking for a status page; the reader sleeps on it when `sleep` is set.
fn open_leased_reader(ctx: &PeerContext, sleep: bool) -> Result<VitalringSource, BenchError> {
    let attached = vitalring_linux::connect_leased(
        &socket_path(ctx),
        CHANNEL,
        None,
        &ConnectOptions::default(),
        |_, _| {},
    )
    .map_err(|e| BenchError::Unsupported(format!("vitalring handshake: {e}")))?;
    let capacity = attached.geometry().payload_capacity();
    let (ring, lease) = attached.into_parts();
    let Some(lease) = lease else {
        return Err(BenchError::Unsupported(
            "vitalring producer offered no status page".into(),
        ));
    };
    if sleep && !vitalring_core::wake::writer_wakes(ring.region().region()) {
        return Err(BenchError::Unsupported(
            "vitalring ring does not announce that its writer wakes sleepers".into(),
        ));
    }
    lease.page().set_mode(sleep);
    let reader = Reader::attach(ring, vec![0u8; capacity], LapPolicy::Latest, Start::Next)
        .map_err(|e| BenchError::Unsupported(format!("vitalring attach: {e}")))?;
    Ok(VitalringSource {
        reader,
        payload_len: ctx.payload.payload_len(ctx.size - SLOT_OVERHEAD),
        backoff: CoreBackoff::new(),
        lease: Some(lease),
        sleeps: sleep,
    })
}

/// The vitalring transport with a sleeping (futex) reader: the product's default.
#[derive(Debug)]
pub struct VitalringBlock;

impl BenchTransport for VitalringBlock {
    type Sink = VitalringSink;
    type Source = VitalringSource;

    fn open_writer(ctx: &PeerContext) -> Result<VitalringSink, BenchError> {
        open_writer(ctx)
    }

    fn open_reader(ctx: &PeerContext) -> Result<VitalringSource, BenchError> {
        open_leased_reader(ctx, true)
    }
}

/// A leased reader that polls, on a ring whose writer's wake path is off.
#[derive(Debug)]
pub struct VitalringNoWake;

impl BenchTransport for VitalringNoWake {
    type Sink = VitalringSink;
    type Source = VitalringSource;

    fn open_writer(ctx: &PeerContext) -> Result<VitalringSink, BenchError> {
        let mut sink = open_writer(ctx)?;
        sink.producer.set_wake_enabled(false);
        Ok(sink)
    }

    fn open_reader(ctx: &PeerContext) -> Result<VitalringSource, BenchError> {
        open_leased_reader(ctx, false)
    }
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
        if let Some(lease) = self.lease.as_ref().filter(|_| self.sleeps) {
            let region = self.reader.region().region();
            let position = self.reader.position();
            lease.page().sleep(&LinuxFutex, BLOCK_MAX_SLEEP, || {
                // SYNC: Acquire pairs with the writer's Release store of `writeIndex`; the
                // fence in `StatusPage::sleep` orders this load after our sleeping flag.
                region.write_index(std::sync::atomic::Ordering::Acquire) == position
                    && region.heartbeat_ms() != vitalring_core::layout::HEARTBEAT_STOPPED
            });
            return Ok(Recv::Empty);
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
