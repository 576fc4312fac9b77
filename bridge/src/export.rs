//! `export`: one more reader of a local ring ([`LiveReader`]: the handshake, the core session
//! with every check, re-attachment to a restarted producer) whose sink publishes every
//! delivered frame on Zenoh, in an [envelope](crate::envelope) numbered in one sequence over
//! all keys.
//!
//! The reader loop is `LiveReader::step` + `LiveReader::wait`, as in every other consumer; the
//! exporter only adds the sink and, between rounds, the status message (every
//! [`STATUS_PERIOD`] and whenever the source's state changes).
//!
//! Publication uses Zenoh's `Block` congestion control: a frame waits for room in Zenoh's send
//! queue instead of being thrown away. With `Drop`, Zenoh discards a message when its queue has
//! had no free batch for 1 ms (`wait_before_drop`), which a busy host reaches on loopback:
//! about one frame in 350 was lost that way, with no error anywhere but the importer's gap
//! count. The wait is bounded ([`zconf::BLOCK_LIMIT_US`], 5 s, Zenoh's `wait_before_close`): a
//! link that takes no data for that long is closed by Zenoh, the exporter reads on (its ring
//! held the frames meanwhile), and the importer counts the frames it missed as dropped when it
//! reconnects. Status messages use the same publisher settings. The lap policy is
//! `Oldest` (as the recorder's): an exporter that falls behind in the ring keeps as much as the
//! ring still holds.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use vitalring_core::frame::FrameView;
use vitalring_core::payload::Record;
use vitalring_core::session::Sink;
use vitalring_core::slot::LapPolicy;
use vitalring_core::source::{ConnectionState, SensorError, SensorEvent};
use vitalring_linux::{LiveReader, SourceConfig};
use zenoh::pubsub::Publisher;
use zenoh::qos::{CongestionControl, Priority};
use zenoh::{Session, Wait};

use crate::args::ExportArgs;
use crate::envelope::{Envelope, Kind};
use crate::keys::{self, Keys, DATA_STREAMS};
use crate::report::{self, Failure, Reporter};
use crate::signals::Stop;
use crate::status::{Describe, ProducerMeta, SourceCounts, StatusBody, EXPORTER_STOPPED};
use crate::zconf;

/// How often the exporter says how it is, when nothing changes.
pub const STATUS_PERIOD: Duration = Duration::from_millis(100);

/// The exporter's own counters.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ExportCounts {
    /// Frames given a number (= the next frame's number).
    pub published: u64,
    /// Of them, refused by Zenoh at once (a gap on the far side).
    pub publish_errors: u64,
    /// Status messages sent.
    pub status: u64,
}

/// The Zenoh side: one publisher per data stream, the status publisher.
struct Outlet {
    stream_id: u64,
    data: Vec<(&'static str, Publisher<'static>)>,
    status: Publisher<'static>,
    buf: Vec<u8>,
    counts: ExportCounts,
    epoch: u64,
}

impl Outlet {
    fn publish_frame(&mut self, frame: &FrameView<'_>, record: &Record) {
        let stream = keys::stream_of(record);
        let seq = self.counts.published;
        self.counts.published = seq.saturating_add(1);
        Envelope {
            kind: Kind::Frame {
                frame_type: frame.meta.frame_type,
                encoding: frame.meta.encoding,
            },
            stream: self.stream_id,
            seq,
            epoch: self.epoch,
            index: frame.index,
            timestamp_ns: frame.meta.timestamp.0,
            body: frame.payload,
        }
        .encode_into(&mut self.buf);
        let Some((_, publisher)) = self.data.iter().find(|(s, _)| *s == stream) else {
            self.counts.publish_errors = self.counts.publish_errors.saturating_add(1);
            return;
        };
        if publisher.put(self.buf.clone()).wait().is_err() {
            self.counts.publish_errors = self.counts.publish_errors.saturating_add(1);
        }
    }

    fn publish_status(&mut self, body: &StatusBody, position: u64) -> bool {
        let json = serde_json::to_vec(body).unwrap_or_default();
        Envelope {
            kind: Kind::Status,
            stream: self.stream_id,
            seq: self.counts.published,
            epoch: self.epoch,
            index: position,
            timestamp_ns: report::wall_ns(),
            body: &json,
        }
        .encode_into(&mut self.buf);
        self.counts.status = self.counts.status.saturating_add(1);
        self.status.put(self.buf.clone()).wait().is_ok()
    }
}

/// The reader's sink: frames to the outlet, connection changes and problems to the log.
struct ExportSink<'a> {
    outlet: &'a mut Outlet,
    reporter: &'a mut Reporter,
    state_changed: bool,
}

impl Sink for ExportSink<'_> {
    fn event(&mut self, event: SensorEvent) {
        match event {
            SensorEvent::Connection { state, epoch } => {
                if let (ConnectionState::Connected, Some(e)) = (state, epoch) {
                    if e != self.outlet.epoch {
                        self.reporter.line(&format!(
                            "source producer restarted: epoch {:016x} -> {e:016x}",
                            self.outlet.epoch
                        ));
                        self.outlet.epoch = e;
                    }
                }
                self.reporter.line(&format!("source {}", state.name()));
                self.state_changed = true;
            }
            SensorEvent::Error(SensorError::Stalled { heartbeat_age }) => {
                self.reporter
                    .line(&format!("source stalled (heartbeat age {heartbeat_age})"));
                self.state_changed = true;
            }
            SensorEvent::Error(e) => self.reporter.line(&format!("source: {e}")),
            SensorEvent::Vitals { .. } | SensorEvent::Waveform { .. } => {}
        }
    }

    fn frame(&mut self, frame: &FrameView<'_>, record: &Record) {
        self.outlet.publish_frame(frame, record);
    }
}

/// Runs the exporter until `stop`.
///
/// # Errors
/// [`Failure`]: usage (2), cannot reach the producer (3), Zenoh cannot start (1).
pub fn run(args: &ExportArgs, stop: &Stop) -> Result<(), Failure> {
    let host = match &args.host_name {
        Some(h) => h.clone(),
        None => keys::local_host_name().ok_or_else(|| {
            Failure::usage(
                "this host's name is not a valid key chunk (A-Z a-z 0-9 . _ -): give --host-name",
            )
        })?,
    };
    let key_channel = args
        .key_channel
        .clone()
        .unwrap_or_else(|| args.local.channel.clone());
    let keys = Keys::new(&host, &key_channel);
    let socket = report::socket_path(&args.local)?;
    let zconfig = zconf::build(&args.zenoh, Some(zconf::DEFAULT_LISTEN)).map_err(Failure::usage)?;
    let listen = zconf::listen_endpoints(&zconfig);
    let connect = zconf::connect_endpoints(&zconfig);
    let mut reporter = Reporter::new("export", &args.output);

    let mut source = SourceConfig::new(&socket, &args.local.channel);
    source.token = args.local.token_file.clone();
    source.lap_policy = LapPolicy::Oldest;
    source.allowed_server_uids = args.allow_server_uid.clone();
    source.busy_wait = Duration::from_secs(5);
    let mut live = LiveReader::connect(source).map_err(|e| {
        Failure::connect(format!(
            "cannot attach to the producer at {}: {e}",
            socket.display()
        ))
    })?;

    for endpoint in listen.iter().filter(|e| !zconf::is_local(e)) {
        if !endpoint.starts_with("tls/") {
            reporter.line(&format!(
                "warning: listening on {endpoint} without TLS: anyone who can reach it can read this channel (see docs/bridge.md)"
            ));
        }
    }
    let session = zenoh::open(zconfig)
        .wait()
        .map_err(|e| Failure::runtime(format!("cannot start zenoh: {e}")))?;
    // A new stream id per run, never 0: the same generator as a producer's epoch.
    let stream_id = vitalring_linux::ring::random_epoch();
    let mut outlet = Outlet {
        stream_id,
        data: Vec::new(),
        status: declare(&session, &keys.key("status"))?,
        buf: Vec::with_capacity(4096),
        counts: ExportCounts::default(),
        epoch: live.session().epoch(),
    };
    for stream in DATA_STREAMS {
        outlet
            .data
            .push((stream, declare(&session, &keys.key(stream))?));
    }
    let geometry = live.stats().geometry;
    let producer_meta = || producer_meta(&socket, args);
    let describe = Arc::new(Mutex::new(Describe {
        schema: 1,
        bridge: format!("vitalring-bridge {}", env!("CARGO_PKG_VERSION")),
        envelope_version: crate::envelope::VERSION,
        host: host.clone(),
        channel: key_channel.clone(),
        key_base: keys.base.clone(),
        streams: DATA_STREAMS.iter().map(|s| (*s).to_owned()).collect(),
        stream: stream_id.to_string(),
        source_socket: socket.display().to_string(),
        epoch: outlet.epoch.to_string(),
        frame_size: geometry.frame_size(),
        frame_count: geometry.frame_count(),
        producer: producer_meta(),
        ..Describe::default()
    }));
    let reply = Arc::clone(&describe);
    let describe_key = keys.key("describe");
    let _queryable = session
        .declare_queryable(describe_key.clone())
        .callback(move |query| {
            let body = {
                let d = reply.lock().unwrap_or_else(PoisonError::into_inner);
                serde_json::to_vec(&*d).unwrap_or_default()
            };
            let _ = query.reply(query.key_expr().clone(), body).wait();
        })
        .wait()
        .map_err(|e| Failure::runtime(format!("cannot declare {describe_key}: {e}")))?;

    reporter.line(&format!(
        "exporting {} (channel {}, epoch {:016x}, {} x {} B) on {}/{{{}}} stream {stream_id:016x}, listening on [{}], connecting to [{}]",
        socket.display(),
        args.local.channel,
        outlet.epoch,
        geometry.frame_count(),
        geometry.frame_size(),
        keys.base,
        DATA_STREAMS.join(","),
        listen.join(", "),
        connect.join(", "),
    ));

    let started = Instant::now();
    let mut next_status = Instant::now();
    let mut last_state = live.stats().state;
    let mut described_epoch = outlet.epoch;
    loop {
        if stop.requested() || args.output.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let mut sink = ExportSink {
            outlet: &mut outlet,
            reporter: &mut reporter,
            state_changed: false,
        };
        let next = live.step(&mut sink);
        let changed = sink.state_changed;
        let stats = live.stats();
        if outlet.epoch != described_epoch {
            // A restarted source producer may describe its channel differently.
            described_epoch = outlet.epoch;
            let meta = producer_meta();
            describe
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .producer = meta;
        }
        if changed || stats.state != last_state || Instant::now() >= next_status {
            last_state = stats.state;
            let body = status_body(&host, &key_channel, stats.state.name(), &outlet, &stats);
            outlet.publish_status(&body, stats.current.position);
            {
                let mut d = describe.lock().unwrap_or_else(PoisonError::into_inner);
                d.state = body.state.clone();
                d.epoch = outlet.epoch.to_string();
                d.published = outlet.counts.published;
                d.source = body.source;
                d.frame_size = stats.geometry.frame_size();
                d.frame_count = stats.geometry.frame_count();
            }
            next_status = Instant::now() + STATUS_PERIOD;
            let (json, log) = reporter.due(changed);
            if json {
                reporter.print_json(&export_json(&body, &outlet.counts));
            }
            if log {
                reporter.line(&format!(
                    "published {} (errors {}), source {}: delivered {} dropped {} rejected {}",
                    outlet.counts.published,
                    outlet.counts.publish_errors,
                    body.state,
                    body.source.delivered,
                    body.source.dropped,
                    body.source.rejected
                ));
            }
        }
        live.wait(next);
    }
    let stats = live.stats();
    let body = status_body(&host, &key_channel, EXPORTER_STOPPED, &outlet, &stats);
    // Said twice: the last word matters to the importer (it stops waiting at once).
    outlet.publish_status(&body, stats.current.position);
    outlet.publish_status(&body, stats.current.position);
    reporter.last(&export_json(&body, &outlet.counts));
    let _ = session.close().wait();
    reporter.line(&format!(
        "published {} (errors {}); source delivered {} dropped {} rejected {}",
        outlet.counts.published,
        outlet.counts.publish_errors,
        body.source.delivered,
        body.source.dropped,
        body.source.rejected
    ));
    Ok(())
}

fn status_body(
    host: &str,
    channel: &str,
    state: &str,
    outlet: &Outlet,
    stats: &vitalring_core::session::SessionStats,
) -> StatusBody {
    StatusBody {
        state: state.to_owned(),
        host: host.to_owned(),
        channel: channel.to_owned(),
        published: outlet.counts.published,
        publish_errors: outlet.counts.publish_errors,
        source: SourceCounts::of(stats),
    }
}

fn export_json(body: &StatusBody, counts: &ExportCounts) -> serde_json::Value {
    serde_json::json!({
        "event": "status",
        "schema": 1,
        "t_ns": report::wall_ns().to_string(),
        "state": body.state,
        "published": counts.published,
        "publish_errors": counts.publish_errors,
        "status_sent": counts.status,
        "source": body.source,
    })
}

/// The source producer's metadata from its `describe` answer (`None` if it gives none, e.g. a
/// producer without requests; the exporter works the same without it).
fn producer_meta(socket: &std::path::Path, args: &ExportArgs) -> Option<ProducerMeta> {
    let options = vitalring_linux::ConnectOptions {
        allowed_server_uids: args.allow_server_uid.clone(),
        ..vitalring_linux::ConnectOptions::default()
    };
    match vitalring_linux::request::describe_at(
        socket,
        &args.local.channel,
        args.local.token_file.as_ref(),
        &options,
    ) {
        Ok(Ok(d)) => Some(ProducerMeta {
            kind: d.kind,
            description: d.description,
            encoding: d.encoding,
        }),
        _ => None,
    }
}

fn declare(session: &Session, key: &str) -> Result<Publisher<'static>, Failure> {
    session
        .declare_publisher(key.to_owned())
        .congestion_control(CongestionControl::Block)
        .priority(Priority::DataHigh)
        .express(true)
        .wait()
        .map_err(|e| Failure::runtime(format!("cannot declare publisher {key}: {e}")))
}
