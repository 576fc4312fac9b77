//! Thin adapter over `vitalring-linux`: everything the CLI needs from the platform crate goes
//! through here, so the sub-commands do not depend on its exact API.

use std::path::{Path, PathBuf};

use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::fcntl::SealFlag;
use vitalring_core::frame::FrameMeta;
use vitalring_core::layout::RingHeader;
use vitalring_core::region::{Region, RegionRef};
use vitalring_core::session::SessionStats;
use vitalring_core::source::{SensorDataSource, SensorEvent};
use vitalring_core::{Encoding, FrameType, Geometry, Record};
use vitalring_linux::client::ConnectOptions;
use vitalring_linux::{
    HandshakeError, ListenError, Polling, ProducerConfig, ProducerError, SharedMemoryProducer,
    SharedMemorySensorDataSource, SourceConfig, Token,
};

use crate::args::{Endpoint, PollingArgs, TrustArgs};
use crate::error::{CliError, CliResult};

/// `$XDG_RUNTIME_DIR/vitalring/<channel>.sock`, else `/tmp/vitalring-<uid>/<channel>.sock`
/// (the Linux crate's rule; an invalid channel name still gets a path, and the handshake then
/// reports the bad name).
pub fn default_socket_path(channel: &str) -> PathBuf {
    vitalring_linux::paths::default_socket_path(channel).unwrap_or_else(|_| {
        vitalring_linux::paths::default_socket_dir().join(format!("{channel}.sock"))
    })
}

/// The socket an endpoint names.
pub fn socket_path(e: &Endpoint) -> PathBuf {
    e.socket
        .clone()
        .unwrap_or_else(|| default_socket_path(&e.channel))
}

/// A data source the monitor drives.
pub trait Source {
    /// Connects.
    ///
    /// # Errors
    /// The handshake failed, as one line.
    fn start(&mut self) -> Result<(), String>;
    /// Disconnects.
    fn stop(&mut self);
    /// Waits up to `wait` for the first event, then hands it and the events ready after it (at
    /// most [`POLL_BATCH`]) to `sink`; returns how many.
    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent), wait: Duration) -> usize;
    /// The reader session's counters (the truth) and the events a slow consumer lost.
    fn stats(&self) -> (Option<SessionStats>, u64);
}

fn token(endpoint: &Endpoint) -> CliResult<Option<Token>> {
    endpoint
        .token_file
        .as_ref()
        .map(|p| {
            Token::from_file(p).map_err(|e| {
                CliError::failure(format!("cannot use token file {}: {e}", p.display()))
            })
        })
        .transpose()
}

/// A shared-memory data source for `endpoint` (not started yet).
///
/// # Errors
/// Bad token file.
pub fn open_source(
    endpoint: &Endpoint,
    trust: &TrustArgs,
    polling: &PollingArgs,
) -> CliResult<Box<dyn Source>> {
    let mut config = SourceConfig::new(socket_path(endpoint), &endpoint.channel);
    config.token = token(endpoint)?;
    config.allowed_server_uids = trust.allow_server_uid.clone();
    config.busy_wait = Duration::from_secs_f64(trust.busy_wait);
    config.polling = if polling.busy_poll {
        Polling::BusyPoll
    } else if polling.poll {
        Polling::BackoffOnly
    } else {
        Polling::Backoff
    };
    config.max_sleep_us = polling.max_sleep_us;
    Ok(Box::new(LinuxSource(SharedMemorySensorDataSource::new(
        config,
    ))))
}

/// The in-process simulator as a data source (`monitor --simulate`): the simulator writes a
/// ring in this process and the core's reader session reads it.
///
/// # Errors
/// Cannot happen for the default geometry; reported as a failure if it did.
pub fn simulated_source(scenario: crate::args::ScenarioArg) -> CliResult<Box<dyn Source>> {
    let src = vitalring_sim::source::SimulatorDataSource::new(
        scenario.to_sim(),
        1,
        Encoding::Json,
        Geometry::DEFAULT,
    )
    .map_err(|e| CliError::failure(format!("cannot start the simulator: {e}")))?;
    Ok(Box::new(SimSource(src)))
}

/// [`simulated_source`]'s adapter: waits in short steps (the simulator publishes every 4 ms).
struct SimSource(vitalring_sim::source::SimulatorDataSource);

impl Source for SimSource {
    fn start(&mut self) -> Result<(), String> {
        SensorDataSource::start(&mut self.0).map_err(|e| e.to_string())
    }
    fn stop(&mut self) {
        SensorDataSource::stop(&mut self.0);
    }
    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent), wait: Duration) -> usize {
        let n = SensorDataSource::poll_events(&mut self.0, sink);
        if n == 0 {
            std::thread::sleep(wait.min(Duration::from_millis(4)));
        }
        n
    }
    fn stats(&self) -> (Option<SessionStats>, u64) {
        (SensorDataSource::stats(&self.0), 0)
    }
}

/// Most events taken per `poll_events` call, so a consumer always gets back control (to draw,
/// write its status line, or stop) even while the source produces events without pause.
pub const POLL_BATCH: usize = 512;

/// The Linux source, drained from its event channel: blocking on the channel wakes the
/// monitor as soon as the polling thread sends an event (no second polling stage), and
/// bounded batches hand control back even while a burst keeps producing events as fast as
/// they are consumed (the source's own `poll_events` drains until the channel is empty).
struct LinuxSource(SharedMemorySensorDataSource);

impl Source for LinuxSource {
    fn start(&mut self) -> Result<(), String> {
        let socket = self.0.config().socket_path.clone();
        self.0
            .start_reporting(|e, pause| {
                eprintln!(
                    "vitalring: waiting for the producer at {} ({e}); retrying in {} ms",
                    socket.display(),
                    pause.as_millis()
                );
            })
            .map_err(|e| e.to_string())
    }
    fn stop(&mut self) {
        SensorDataSource::stop(&mut self.0);
    }
    fn stats(&self) -> (Option<SessionStats>, u64) {
        (SensorDataSource::stats(&self.0), self.0.events_lost())
    }
    fn poll_events(&mut self, sink: &mut dyn FnMut(SensorEvent), wait: Duration) -> usize {
        let rx = self.0.receiver();
        let Ok(first) = rx.recv_timeout(wait) else {
            return 0;
        };
        sink(first);
        let mut n = 1;
        while n < POLL_BATCH {
            match rx.try_recv() {
                Ok(ev) => {
                    sink(ev);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        n
    }
}

/// The producer side of a ring, serving readers on its socket.
pub struct Producer {
    inner: SharedMemoryProducer,
    socket: PathBuf,
}

impl Producer {
    /// Creates the ring and starts serving the socket.
    ///
    /// # Errors
    /// Bad channel, socket in use, no memfd.
    pub fn create(endpoint: &Endpoint, geometry: Geometry) -> CliResult<Self> {
        Self::create_with(endpoint, geometry, |_| {})
    }

    /// [`Producer::create`] with the producer configuration adjusted by `adjust` (request
    /// handling, allowed uids) before the producer starts.
    ///
    /// # Errors
    /// As [`Producer::create`].
    pub fn create_with(
        endpoint: &Endpoint,
        geometry: Geometry,
        adjust: impl FnOnce(&mut ProducerConfig),
    ) -> CliResult<Self> {
        let mut config = ProducerConfig::new(&endpoint.channel);
        config.socket_path = endpoint.socket.clone();
        config.geometry = geometry;
        config.token = token(endpoint)?;
        adjust(&mut config);
        let path = socket_path(endpoint);
        let inner = SharedMemoryProducer::create(config).map_err(|e| match e {
            ProducerError::Listen(ListenError::Other(errno)) => CliError::failure(format!(
                "cannot serve {}: {}",
                path.display(),
                errno.desc().to_lowercase()
            )),
            e => CliError::failure(e.to_string()),
        })?;
        let socket = inner
            .socket_path()
            .map_or_else(|| socket_path(endpoint), Path::to_path_buf);
        Ok(Self { inner, socket })
    }

    /// Producer epoch.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch()
    }

    /// Frames committed so far, heartbeat frames included.
    pub fn published(&self) -> u64 {
        self.inner.published()
    }

    /// The socket served.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Publishes a record; returns its ring index.
    ///
    /// # Errors
    /// The record does not encode or fit.
    pub fn publish(&mut self, record: &Record, encoding: Encoding, t_ns: u64) -> CliResult<u64> {
        let r = match record {
            // Not `publish_heartbeat`: it makes every call's heartbeat value strictly greater
            // than the last (+1 ms), so a burst of thousands pushes the heartbeat seconds into
            // the future, where it then stands still and readers see a stall.
            Record::Heartbeat => self.inner.publish_raw(
                FrameMeta {
                    frame_type: FrameType::Heartbeat,
                    encoding: Encoding::Json,
                    timestamp: vitalring_core::time::UnixNs(t_ns),
                },
                &[],
            ),
            _ => self.inner.publish_record(record, encoding, t_ns),
        };
        r.map_err(|e| CliError::failure(format!("cannot publish: {e}")))
    }

    /// Refreshes the heartbeat without publishing (when due).
    pub fn heartbeat(&mut self) {
        self.inner.heartbeat_if_due();
    }

    /// Flips bit `bit` of byte `offset` of the slot holding `index` (fault injection).
    pub fn corrupt(&mut self, index: u64, offset: usize, bit: u8) {
        let _ = self
            .inner
            .corrupt_frame(index, offset * 8 + usize::from(bit & 7));
    }

    /// Stops serving and removes the socket.
    pub fn shutdown(self) {
        drop(self.inner);
    }
}

/// What `dump` reads from a ring in one visit.
pub struct Snapshot {
    /// The socket connected to.
    pub socket: PathBuf,
    /// The header (counters as read).
    pub header: RingHeader,
    /// Seals on the memfd.
    pub seals: Option<Vec<&'static str>>,
    /// Copies of the newest slots, oldest first, with the index each should hold.
    pub slots: Vec<(u64, Vec<u8>)>,
}

fn seal_names(fd: std::os::fd::BorrowedFd<'_>) -> Option<Vec<&'static str>> {
    let s = vitalring_linux::ring::seals(fd).ok()?;
    let names = [
        (SealFlag::F_SEAL_SEAL, "seal"),
        (SealFlag::F_SEAL_SHRINK, "shrink"),
        (SealFlag::F_SEAL_GROW, "grow"),
        (SealFlag::F_SEAL_WRITE, "write"),
        (SealFlag::F_SEAL_FUTURE_WRITE, "future_write"),
    ];
    Some(
        names
            .into_iter()
            .filter(|(f, _)| s.contains(*f))
            .map(|(_, n)| n)
            .collect(),
    )
}

/// Copies the slot holding `index` word by word; retries while the writer is rewriting it
/// (the `commit` word changed during the copy). The copy is then checked like any frame.
fn copy_slot(region: &RegionRef<'_>, g: Geometry, index: u64) -> Vec<u8> {
    let base = g.slot_offset(index);
    let f = g.frame_size() as usize;
    let mut out = vec![0u8; f];
    for _ in 0..8 {
        let before = region.peek_word(base + 4);
        for (k, chunk) in out.chunks_exact_mut(4).enumerate() {
            let w = region.peek_word(base + 4 * k).unwrap_or(0);
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        if region.peek_word(base + 4) == before {
            break;
        }
    }
    out
}

/// Connects once and copies the header and the newest `last` slots.
///
/// # Errors
/// The handshake or the mapping failed (exit 3).
pub fn snapshot(endpoint: &Endpoint, trust: &TrustArgs, last: u64) -> CliResult<Snapshot> {
    let socket = socket_path(endpoint);
    let fail = |e: HandshakeError| {
        CliError::connect(format!("cannot connect to {}: {e}", socket.display()))
    };
    let token = token(endpoint)?;
    let received = vitalring_linux::client::receive(
        &socket,
        &endpoint.channel,
        token.as_ref(),
        ConnectOptions {
            allowed_server_uids: trust.allow_server_uid.clone(),
            ..ConnectOptions::default()
        },
    )
    .map_err(fail)?;
    let seals = seal_names(received.fd());
    let attached = received.map().map_err(fail)?;
    let g = attached.geometry();
    let region = attached.mapping().region();
    let header = region.header_snapshot();
    let wi = region.write_index(Ordering::Acquire);
    let n = last.min(u64::from(g.frame_count())).min(wi);
    let slots = (wi - n..wi)
        .map(|i| (i, copy_slot(&region, g, i)))
        .collect();
    Ok(Snapshot {
        socket,
        header: RingHeader {
            write_index: wi,
            ..header
        },
        seals,
        slots,
    })
}
