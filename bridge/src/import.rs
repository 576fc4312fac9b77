//! `import`: a Zenoh subscriber to one exporter's keys that republishes the frames into a ring
//! of its own on this host ([`SharedMemoryProducer`], its own epoch), so every local reader
//! works on a remote patient unchanged.
//!
//! Per message: [`Envelope::parse`] (size, magic, version, CRC, fields); the key must be the
//! one the envelope's content belongs to; the [`Tracker`] decides (numbering, gaps, duplicates,
//! foreign exporters); the payload is decoded and range-checked with the core's
//! `payload::decode` — the same function every local reader runs — and must fit a local slot;
//! only then is it written, with its own type, encoding, timestamp and bytes. Anything else is
//! counted and never written.
//!
//! The local ring's heartbeat moves only while the link is **live**: a message from the
//! exporter within `--link-timeout-ms`, and the exporter's source connected. Otherwise (link
//! lost, exporter stopped, source stalled or stopped upstream) the heartbeat stops and every
//! local reader reports the ring **stalled** after its 250 ms, and recovers by itself when
//! data flows again: the importer never restarts its ring, so readers stay attached.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use vitalring_core::frame::FrameMeta;
use vitalring_core::layout::Geometry;
use vitalring_core::payload::{self, Record};
use vitalring_core::time::UnixNs;
use vitalring_linux::{ProducerConfig, SharedMemoryProducer};
use zenoh::handlers::FifoChannel;
use zenoh::sample::Sample;
use zenoh::Wait;

use crate::args::ImportArgs;
use crate::envelope::{Envelope, Kind};
use crate::keys::{self, Keys};
use crate::report::{self, Failure, Reporter};
use crate::signals::Stop;
use crate::status::{self, Describe, StatusBody, CONNECTED, EXPORTER_STOPPED};
use crate::track::{FrameVerdict, Tracker};
use crate::zconf;

/// Samples held between the Zenoh threads and the importer (about 30 s of one channel).
const QUEUE: usize = 4096;
/// Samples handled per round before the link bookkeeping runs again.
const BATCH: usize = 256;
/// Longest wait for a sample before the link bookkeeping runs again.
const POLL: Duration = Duration::from_millis(10);

/// Where the link stands, as the importer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Link {
    /// No message yet.
    Waiting,
    /// Messages arrive and the source is connected: the local heartbeat moves.
    Live,
    /// No message for the link timeout.
    Lost,
    /// The exporter said it stopped.
    ExporterStopped,
    /// The exporter is there but its source is not connected (`stalled`, …).
    SourceDown(String),
}

impl Link {
    fn name(&self) -> &str {
        match self {
            Self::Waiting => "waiting",
            Self::Live => "live",
            Self::Lost => "link_lost",
            Self::ExporterStopped => "exporter_stopped",
            Self::SourceDown(_) => "source_down",
        }
    }
}

struct Importer {
    producer: SharedMemoryProducer,
    geometry: Geometry,
    tracker: Tracker,
    keys: Keys,
    upstream: Option<StatusBody>,
    /// The exporter's source is connected (its last status said so, or a frame arrived since).
    source_live: bool,
    link: Link,
    start: Instant,
    reporter: Reporter,
    /// Problems already reported (one line per kind, then counted only).
    said: std::collections::HashSet<&'static str>,
    /// `--link-timeout-ms`.
    timeout_ms: u64,
}

impl Importer {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn once(&mut self, kind: &'static str, text: impl FnOnce() -> String) {
        if self.said.insert(kind) {
            let t = text();
            self.reporter
                .line(&format!("{t} (further ones are counted, not shown)"));
        }
    }

    fn handle(&mut self, sample: &Sample) -> bool {
        let bytes = sample.payload().to_bytes();
        let key = sample.key_expr().as_str();
        let stream_chunk = key.rsplit('/').next().unwrap_or("");
        let env = match Envelope::parse(&bytes) {
            Ok(e) => e,
            Err(e) => {
                self.tracker.invalid();
                self.once(e.name(), || format!("refused a message on {key}: {e}"));
                return false;
            }
        };
        let now = self.now_ms();
        match env.kind {
            Kind::Status => self.status(&env, stream_chunk, key, now),
            Kind::Frame {
                frame_type,
                encoding,
            } => {
                // Decoded before the tracker sees it, so a message on the wrong key is refused
                // without using up a frame number.
                let decoded = payload::decode(frame_type, encoding, env.body);
                if let Ok(record) = &decoded {
                    if keys::stream_of(record) != stream_chunk {
                        self.tracker.invalid();
                        self.once("key", || {
                            format!(
                                "refused a {} frame published on {key}",
                                keys::stream_of(record)
                            )
                        });
                        return false;
                    }
                }
                match self.tracker.on_frame(&env, now) {
                    FrameVerdict::Accept {
                        lost,
                        new_stream,
                        new_epoch,
                    } => {
                        if new_stream {
                            self.upstream = None;
                            self.reporter.line(&format!(
                                "following exporter stream {:016x} on {} (source epoch {:016x}, from frame {})",
                                env.stream, self.keys.base, env.epoch, env.seq
                            ));
                        }
                        if let Some((old, new)) = new_epoch {
                            self.reporter.line(&format!(
                                "source producer restarted at the exporter: epoch {old:016x} -> {new:016x}"
                            ));
                        }
                        if lost > 0 {
                            self.reporter.line(&format!(
                                "{lost} frame(s) lost on the way (numbers {}..{}): counted as dropped",
                                env.seq - lost,
                                env.seq - 1
                            ));
                        }
                        self.source_live = true;
                        self.write(env, decoded);
                        true
                    }
                    FrameVerdict::Refuse(r) => {
                        self.once(r.name(), || {
                            format!(
                                "refused frame {} of stream {:016x}: {}",
                                env.seq,
                                env.stream,
                                r.name().replace('_', " ")
                            )
                        });
                        false
                    }
                }
            }
        }
    }

    fn write(
        &mut self,
        env: Envelope<'_>,
        decoded: Result<Record, vitalring_core::payload::PayloadError>,
    ) {
        let Kind::Frame {
            frame_type,
            encoding,
        } = env.kind
        else {
            return;
        };
        if let Err(e) = decoded {
            self.tracker.rejected_payload();
            self.once("payload", || {
                format!(
                    "refused frame {} (source index {}): {e}",
                    env.seq, env.index
                )
            });
            return;
        }
        if env.body.len() > self.geometry.payload_capacity() {
            self.tracker.rejected_too_large();
            let cap = self.geometry.payload_capacity();
            self.once("too_large", || {
                format!(
                    "refused frame {}: {} payload bytes do not fit a local slot ({cap}); raise --frame-size",
                    env.seq,
                    env.body.len()
                )
            });
            return;
        }
        let meta = FrameMeta {
            frame_type,
            encoding,
            timestamp: UnixNs(env.timestamp_ns),
        };
        match self.producer.publish_raw(meta, env.body) {
            Ok(_) => self.tracker.delivered(),
            Err(e) => {
                self.tracker.rejected_too_large();
                self.once("write", || format!("cannot write frame {}: {e:?}", env.seq));
            }
        }
    }

    fn status(&mut self, env: &Envelope<'_>, chunk: &str, key: &str, now: u64) -> bool {
        if chunk != "status" {
            self.tracker.invalid();
            self.once("key", || {
                format!("refused a status message published on {key}")
            });
            return false;
        }
        let body = match status::parse_status(env.body) {
            Ok(b) => b,
            Err(e) => {
                self.tracker.invalid();
                self.once("status", || format!("refused a status message: {e}"));
                return false;
            }
        };
        let stopped = body.state == EXPORTER_STOPPED;
        match self.tracker.on_status(env.stream, env.seq, stopped, now) {
            Ok(lost) => {
                if lost > 0 {
                    self.reporter.line(&format!(
                        "{lost} frame(s) lost on the way before frame {} (the exporter's status says so): counted as dropped",
                        env.seq
                    ));
                }
                self.source_live = body.state == CONNECTED;
                self.upstream = Some(body);
                true
            }
            Err(r) => {
                let text = format!(
                    "ignored stream {:016x}: another exporter publishes on {} while stream {:016x} is live",
                    env.stream,
                    self.keys.base,
                    self.tracker.stream().unwrap_or(0)
                );
                self.once(r.name(), || text);
                false
            }
        }
    }

    /// The link's state now.
    fn link_now(&self) -> Link {
        let now = self.now_ms();
        match (&self.upstream, self.tracker.stream()) {
            (None, None) => Link::Waiting,
            (Some(u), _) if u.state == EXPORTER_STOPPED => Link::ExporterStopped,
            _ if self.tracker.silent(now) => Link::Lost,
            (Some(u), _) if !self.source_live => Link::SourceDown(u.state.clone()),
            _ => Link::Live,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "event": "status",
            "schema": 1,
            "t_ns": report::wall_ns().to_string(),
            "state": self.link.name(),
            "source_state": self.upstream.as_ref().map(|u| u.state.clone()),
            "stream": self.tracker.stream().map(|s| s.to_string()),
            "source_epoch": self.tracker.stream().map(|_| self.tracker.epoch().to_string()),
            "local_epoch": self.producer.epoch().to_string(),
            "local_write_index": self.producer.published().to_string(),
            "counts": self.tracker.counts,
            "upstream": self.upstream.as_ref().map(|u| serde_json::json!({
                "published": u.published,
                "publish_errors": u.publish_errors,
                "source": u.source,
            })),
        })
    }

    fn text(&self) -> String {
        let c = &self.tracker.counts;
        format!(
            "{}: delivered {} dropped {} rejected {} (duplicate {} foreign {} invalid {})",
            self.link.name(),
            c.delivered,
            c.dropped,
            c.rejected,
            c.duplicate,
            c.foreign,
            c.invalid
        )
    }

    fn say_link(&mut self, link: &Link) {
        let text = match link {
            Link::Waiting => return,
            Link::Live => "link live: the local ring is fed".to_owned(),
            Link::Lost => format!(
                "link lost: no message from the exporter for more than {} ms; local readers see the ring stalled",
                self.timeout_ms
            ),
            Link::ExporterStopped => {
                "the exporter stopped; local readers see the ring stalled until it is back".to_owned()
            }
            Link::SourceDown(s) => format!(
                "the exporter's source is {s}; local readers see the ring stalled"
            ),
        };
        self.reporter.line(&text);
    }
}

/// Runs the importer until `stop`.
///
/// # Errors
/// [`Failure`]: usage (2), the local ring or Zenoh cannot start (1).
pub fn run(args: &ImportArgs, stop: &Stop) -> Result<(), Failure> {
    let geometry = args.geometry().map_err(Failure::usage)?;
    let remote_host = match &args.remote_host {
        Some(h) => h.clone(),
        None => keys::local_host_name().ok_or_else(|| {
            Failure::usage(
                "this host's name is not a valid key chunk (A-Z a-z 0-9 . _ -): give --remote-host",
            )
        })?,
    };
    let remote_channel = args
        .remote_channel
        .clone()
        .unwrap_or_else(|| args.local.channel.clone());
    let keys = Keys::new(&remote_host, &remote_channel);
    let zconfig = zconf::build(&args.zenoh, None).map_err(Failure::usage)?;
    if zconf::listen_endpoints(&zconfig).is_empty()
        && zconf::connect_endpoints(&zconfig).is_empty()
        && !args.zenoh.scouting
    {
        return Err(Failure::usage(
            "nothing to connect to: give --connect ENDPOINT (the exporter's --listen), --listen, or a --config file",
        ));
    }
    let listen = zconf::listen_endpoints(&zconfig);
    let connect = zconf::connect_endpoints(&zconfig);
    let mut reporter = Reporter::new("import", &args.output);
    // `describe` on the local ring says kind `bridge` and where the data comes from.
    let meta = Arc::new(Mutex::new(status::imported_meta(&keys.base, None)));
    let producer = SharedMemoryProducer::create(ProducerConfig {
        socket_path: args.local.socket.clone(),
        geometry,
        token: args.local.token_file.clone(),
        allowed_uids: args.allow_uid.clone(),
        requests: vitalring_linux::request::RequestConfig {
            meta: Arc::clone(&meta),
            ..vitalring_linux::request::RequestConfig::default()
        },
        ..ProducerConfig::new(&args.local.channel)
    })
    .map_err(|e| Failure::runtime(format!("cannot create the local ring: {e}")))?;
    let session = zenoh::open(zconfig)
        .wait()
        .map_err(|e| Failure::runtime(format!("cannot start zenoh: {e}")))?;
    let subscriber = session
        .declare_subscriber(keys.all())
        .with(FifoChannel::new(QUEUE))
        .wait()
        .map_err(|e| Failure::runtime(format!("cannot subscribe to {}: {e}", keys.all())))?;
    reporter.line(&format!(
        "importing {} into {} (channel {}, epoch {:016x}, {} x {} B), connecting to [{}], listening on [{}]",
        keys.all(),
        producer
            .socket_path()
            .map_or_else(String::new, |p| p.display().to_string()),
        args.local.channel,
        producer.epoch(),
        geometry.frame_count(),
        geometry.frame_size(),
        connect.join(", "),
        listen.join(", "),
    ));

    let describe: Arc<Mutex<Option<Describe>>> = Arc::new(Mutex::new(None));
    let mut imp = Importer {
        producer,
        geometry,
        tracker: Tracker::new(args.link_timeout_ms),
        keys: keys.clone(),
        upstream: None,
        source_live: false,
        link: Link::Waiting,
        start: Instant::now(),
        reporter,
        said: std::collections::HashSet::new(),
        timeout_ms: args.link_timeout_ms,
    };
    let started = Instant::now();
    let mut followed = None;
    let mut checked_describe = false;
    loop {
        if stop.requested() || args.output.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let mut changed = false;
        match subscriber.recv_timeout(POLL) {
            Ok(Some(sample)) => {
                imp.handle(&sample);
                // Take what else is queued (a bounded batch) before the bookkeeping.
                for _ in 0..BATCH {
                    match subscriber.try_recv() {
                        Ok(Some(sample)) => {
                            imp.handle(&sample);
                        }
                        _ => break,
                    }
                }
            }
            Ok(None) => {}
            Err(e) => return Err(Failure::runtime(format!("zenoh subscriber failed: {e}"))),
        }
        if imp.tracker.stream() != followed {
            followed = imp.tracker.stream();
            changed = true;
            checked_describe = false;
            ask_describe(&session, &keys, &describe);
        }
        if !checked_describe {
            if let Some(d) = describe
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                checked_describe = true;
                *meta.lock().unwrap_or_else(PoisonError::into_inner) =
                    status::imported_meta(&keys.base, d.producer.as_ref());
                if d.frame_size > imp.geometry.frame_size() {
                    imp.reporter.line(&format!(
                        "warning: the exporter's ring has {} B slots, this one {} B: larger payloads will be refused (raise --frame-size)",
                        d.frame_size,
                        imp.geometry.frame_size()
                    ));
                }
            }
        }
        let link = imp.link_now();
        if link == Link::Live {
            imp.producer.heartbeat_if_due();
        }
        if link != imp.link {
            imp.say_link(&link);
            imp.link = link;
            changed = true;
        }
        let (json, log) = imp.reporter.due(changed);
        if json {
            let v = imp.json();
            imp.reporter.print_json(&v);
        }
        if log {
            let t = imp.text();
            imp.reporter.line(&t);
        }
    }
    imp.link = Link::Waiting;
    let last = imp.json();
    imp.reporter.last(&last);
    let c = imp.tracker.counts;
    imp.reporter.line(&format!(
        "delivered {} dropped {} rejected {} (duplicate {} foreign {} invalid {}) joined at {} over {} stream(s)",
        c.delivered, c.dropped, c.rejected, c.duplicate, c.foreign, c.invalid, c.joined_at, c.streams
    ));
    drop(subscriber);
    let _ = session.close().wait();
    Ok(())
}

/// Asks the exporter's describe queryable, without waiting: the answer lands in `slot`.
fn ask_describe(session: &zenoh::Session, keys: &Keys, slot: &Arc<Mutex<Option<Describe>>>) {
    let slot = Arc::clone(slot);
    let _ = session
        .get(keys.key("describe"))
        .timeout(Duration::from_secs(2))
        .callback(move |reply| {
            if let Ok(sample) = reply.result() {
                if let Ok(d) = serde_json::from_slice::<Describe>(&sample.payload().to_bytes()) {
                    *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(d);
                }
            }
        })
        .wait();
}
