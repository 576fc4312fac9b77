//! `vitalring station` (also `vitalring monitor --all`): the central station. It scans the
//! channel directory once a second (`vitalring_linux::discovery`), opens one reader per live
//! channel — the monitor's own data source ([`link::open_source`]) — and keeps one
//! [`MonitorState`] per bed, so the numerics, the staleness rule and the alarms of a tile are
//! exactly the single-bed monitor's. Three faces, as the monitor: a grid of tiles ([`grid`]),
//! one plain line per bed per second, or JSON lines ([`lines`]).
//!
//! Beds are followed as they come and go: a new live socket becomes a tile; a socket whose
//! producer died (nobody listens any more) stays a tile, its values marked stale by the
//! reader's own stall detection; a socket that disappears leaves its tile marked `GONE` for
//! `--forget-after` seconds before it is removed. Nothing disappears without being said.

pub mod args;
pub mod grid;
pub mod lines;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
use vitalring_core::source::SensorEvent;
use vitalring_linux::discovery::{self, ChannelEntry, Liveness};

use crate::args::{Endpoint, TrustArgs};
use crate::clock::{duration_ns, since_ns, wall_ns};
use crate::error::{CliError, CliResult};
use crate::link::{self, Source, POLL_BATCH};
use crate::monitor::state::{Alarm, Limits, MonitorState};
use crate::monitor::{tui, Mode};
use crate::signals::Stop;
use crate::terminal::{Flow, Tty};
use args::StationArgs;

/// Period of the directory scan.
pub const SCAN_PERIOD: Duration = Duration::from_secs(1);
/// TUI frame period.
const FRAME_NS: u64 = 33_000_000;
/// Status period of the line outputs.
const STATUS_NS: u64 = 1_000_000_000;
/// Longest sleep of the main loop (events are taken at least this often).
const MAX_WAIT_NS: u64 = 2_000_000;
/// First and longest pause before a producer that could not be attached is tried again.
const RETRY_FIRST_NS: u64 = 1_000_000_000;
const RETRY_MAX_NS: u64 = 30_000_000_000;

/// What the last scan said about a bed's socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A producer listens on the socket.
    Live,
    /// The socket is there but nobody listens: the producer died without removing it.
    Stale,
    /// The socket could not be probed (e.g. permission denied).
    Unknown,
    /// The socket disappeared at this station time (ns); the tile goes `--forget-after` later.
    Gone {
        /// Station time of the scan that missed it.
        since_ns: u64,
    },
}

impl Presence {
    /// Lower-case name, as in the plain and JSON lines.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Stale => "stale",
            Self::Unknown => "unknown",
            Self::Gone { .. } => "gone",
        }
    }

    fn from_liveness(l: Liveness) -> Self {
        match l {
            Liveness::Live => Self::Live,
            Liveness::Stale => Self::Stale,
            Liveness::Unknown(_) => Self::Unknown,
        }
    }
}

/// One bed: its channel, the monitor's state of it, and its reader.
pub struct Bed {
    /// Channel name.
    pub name: String,
    /// Socket path.
    pub path: PathBuf,
    /// Everything the single-bed monitor knows about it (numerics, traces, alarms).
    pub state: MonitorState,
    /// What the last scan said about its socket.
    pub presence: Presence,
    source: Option<Box<dyn Source>>,
}

impl Bed {
    /// A bed without a reader (its events are fed to [`Bed::state`] by the caller).
    pub fn new(name: &str, path: &Path, limits: Limits, trace_samples: usize) -> Self {
        Self {
            name: name.to_owned(),
            path: path.to_path_buf(),
            state: MonitorState::new(format!("{name}  {}", path.display()), limits, trace_samples),
            presence: Presence::Live,
            source: None,
        }
    }

    /// Whether the numerics are current: the reader is connected and has vitals (the
    /// monitor's own rule), and the producer's socket is not known to be dead.
    pub fn values_live(&self) -> bool {
        self.state.live() && self.presence != Presence::Stale
    }

    /// Active alarms, highest priority first (the monitor's rules).
    pub fn alarms(&self) -> Vec<Alarm> {
        self.state.alarms()
    }

    /// The connection label of the tile: the reader's state, or `GONE` once the socket
    /// disappeared.
    pub fn label(&self) -> &'static str {
        use vitalring_core::source::ConnectionState as C;
        if matches!(self.presence, Presence::Gone { .. }) {
            return "GONE";
        }
        match self.state.state {
            C::Connecting => "CONNECTING",
            C::Connected => "CONNECTED",
            C::Stalled => "STALLED",
            C::Stopped => "STOPPED",
            C::Reconnecting => "RECONNECTING",
            C::Disconnected => "DISCONNECTED",
        }
    }

    /// Age of the newest vitals by the wall clock `wall_ns`, ms (`None` without vitals).
    pub fn vitals_age_ms(&self, wall_ns: u64) -> Option<u64> {
        self.state
            .vitals
            .map(|v| wall_ns.saturating_sub(v.t_ns) / 1_000_000)
    }

    fn poll(&mut self, sink: &mut dyn FnMut(&Bed, &SensorEvent)) {
        let Some(src) = self.source.as_mut() else {
            return;
        };
        let mut taken = Vec::new();
        // Bounded: a burst cannot keep the station on one bed.
        for _ in 0..8 {
            let n = src.poll_events(&mut |ev| taken.push(ev), Duration::ZERO);
            if n < POLL_BATCH {
                break;
            }
        }
        let (stats, lost) = src.stats();
        for ev in &taken {
            self.state.apply(ev, wall_ns());
            sink(self, ev);
        }
        self.state.set_stats(stats, lost);
    }

    fn stop(&mut self) {
        if let Some(mut s) = self.source.take() {
            s.stop();
        }
    }
}

/// Orders channel names as people count beds: `bed2` before `bed10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (na, nb) = (&a[..da], &b[..db]);
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let ord = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| na.len().cmp(&nb.len()));
                if ord != Ordering::Equal {
                    return ord;
                }
                (a, b) = (&a[da..], &b[db..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
            }
        }
    }
}

/// Something the station itself noticed (besides the readers' own events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StationEvent {
    /// A live channel got a reader and a tile.
    Added {
        /// Channel.
        bed: String,
        /// Socket.
        socket: PathBuf,
    },
    /// A bed's socket is there but its producer no longer answers.
    Stale {
        /// Channel.
        bed: String,
    },
    /// A bed's socket answers again.
    Back {
        /// Channel.
        bed: String,
    },
    /// A bed's socket disappeared; its tile stays (marked gone) for `--forget-after`.
    Gone {
        /// Channel.
        bed: String,
    },
    /// A gone bed's tile was removed.
    Removed {
        /// Channel.
        bed: String,
    },
    /// A live channel could not be attached (handshake refused or failed); said once per
    /// distinct reason, tried again with backoff.
    Unreachable {
        /// Channel.
        bed: String,
        /// Why, one line.
        reason: String,
    },
    /// The directory could not be read.
    ScanFailed {
        /// Why, one line.
        reason: String,
    },
}

/// A channel that could not be attached: when to try again.
struct Failure {
    reason: String,
    next_try_ns: u64,
    backoff_ns: u64,
}

/// How each bed's reader is configured.
struct BedConfig {
    token_file: Option<PathBuf>,
    trust: TrustArgs,
    polling: crate::args::PollingArgs,
    limits: Limits,
    trace_samples: usize,
}

/// The station: every bed, and what the scans found.
pub struct Station {
    /// The directory scanned.
    pub dir: PathBuf,
    /// The beds, in natural name order.
    pub beds: Vec<Bed>,
    /// Sockets of dead producers that never had a tile (`vitalring ls --clean` removes them).
    pub stale_sockets: Vec<String>,
    /// Channels that could not be attached, with the reason.
    failures: HashMap<String, Failure>,
    config: BedConfig,
    forget_ns: u64,
}

impl Station {
    fn new(args: &StationArgs) -> Self {
        Self {
            dir: args
                .dir
                .clone()
                .unwrap_or_else(vitalring_linux::paths::default_socket_dir),
            beds: Vec::new(),
            stale_sockets: Vec::new(),
            failures: HashMap::new(),
            config: BedConfig {
                token_file: args.token_file.clone(),
                trust: TrustArgs {
                    allow_server_uid: args.allow_server_uid.clone(),
                    // Never block the station on one busy producer: it is tried again later.
                    busy_wait: 0.0,
                },
                polling: args.polling(),
                limits: Limits::from(args.output.alarms),
                trace_samples: (args.output.trace_seconds.clamp(1.0, 60.0) * 250.0) as usize,
            },
            forget_ns: (args.forget_after.max(0.0) * 1e9) as u64,
        }
    }

    /// Channels that could not be attached, by name, with the reason.
    pub fn unreachable(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .failures
            .iter()
            .map(|(k, f)| (k.clone(), f.reason.clone()))
            .collect();
        v.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        v
    }

    /// Opens and starts a reader on a live channel.
    fn attach(&self, entry: &ChannelEntry) -> Result<Bed, String> {
        let endpoint = Endpoint {
            socket: Some(entry.path.clone()),
            channel: entry.name.clone(),
            token_file: self.config.token_file.clone(),
        };
        let mut source = link::open_source(&endpoint, &self.config.trust, &self.config.polling)
            .map_err(|e| e.message)?;
        source.start()?;
        let mut bed = Bed::new(
            &entry.name,
            &entry.path,
            self.config.limits,
            self.config.trace_samples,
        );
        bed.source = Some(source);
        Ok(bed)
    }

    /// Takes in one scan of the directory.
    fn apply_scan(
        &mut self,
        scan: io::Result<Vec<ChannelEntry>>,
        now_ns: u64,
    ) -> Vec<StationEvent> {
        let mut out = Vec::new();
        let list = match scan {
            Ok(l) => l,
            Err(e) => {
                out.push(StationEvent::ScanFailed {
                    reason: format!("cannot read {}: {e}", self.dir.display()),
                });
                return out;
            }
        };
        self.stale_sockets.clear();
        for entry in &list {
            let presence = Presence::from_liveness(entry.liveness);
            if let Some(bed) = self.beds.iter_mut().find(|b| b.name == entry.name) {
                match (bed.presence, presence) {
                    (Presence::Live, Presence::Stale) => out.push(StationEvent::Stale {
                        bed: bed.name.clone(),
                    }),
                    (Presence::Stale | Presence::Gone { .. }, Presence::Live) => {
                        out.push(StationEvent::Back {
                            bed: bed.name.clone(),
                        });
                    }
                    _ => {}
                }
                bed.presence = presence;
                bed.path.clone_from(&entry.path);
                continue;
            }
            match presence {
                Presence::Live => {}
                Presence::Stale => {
                    self.stale_sockets.push(entry.name.clone());
                    self.failures.remove(&entry.name);
                    continue;
                }
                Presence::Unknown | Presence::Gone { .. } => {
                    let reason = match entry.liveness {
                        Liveness::Unknown(e) => {
                            format!("cannot probe {}: {}", entry.path.display(), e.desc())
                        }
                        _ => "cannot probe".to_string(),
                    };
                    self.note_failure(&entry.name, reason, now_ns, &mut out);
                    continue;
                }
            }
            if self
                .failures
                .get(&entry.name)
                .is_some_and(|f| now_ns < f.next_try_ns)
            {
                continue;
            }
            match self.attach(entry) {
                Ok(bed) => {
                    self.failures.remove(&entry.name);
                    out.push(StationEvent::Added {
                        bed: bed.name.clone(),
                        socket: bed.path.clone(),
                    });
                    let at = self
                        .beds
                        .partition_point(|b| natural_cmp(&b.name, &bed.name) == Ordering::Less);
                    self.beds.insert(at, bed);
                }
                Err(reason) => self.note_failure(&entry.name, reason, now_ns, &mut out),
            }
        }
        // Channels whose socket is no longer there.
        self.failures
            .retain(|name, _| list.iter().any(|e| &e.name == name));
        let forget = self.forget_ns;
        let mut removed = Vec::new();
        for bed in &mut self.beds {
            if list.iter().any(|e| e.name == bed.name) {
                continue;
            }
            match bed.presence {
                Presence::Gone { since_ns } => {
                    if now_ns.saturating_sub(since_ns) >= forget {
                        removed.push(bed.name.clone());
                    }
                }
                _ => {
                    bed.presence = Presence::Gone { since_ns: now_ns };
                    out.push(StationEvent::Gone {
                        bed: bed.name.clone(),
                    });
                    if forget == 0 {
                        removed.push(bed.name.clone());
                    }
                }
            }
        }
        for name in removed {
            if let Some(i) = self.beds.iter().position(|b| b.name == name) {
                let mut bed = self.beds.remove(i);
                bed.stop();
                out.push(StationEvent::Removed { bed: name });
            }
        }
        out
    }

    fn note_failure(
        &mut self,
        name: &str,
        reason: String,
        now_ns: u64,
        out: &mut Vec<StationEvent>,
    ) {
        let f = self.failures.entry(name.to_owned()).or_insert(Failure {
            reason: String::new(),
            next_try_ns: 0,
            backoff_ns: RETRY_FIRST_NS / 2,
        });
        f.backoff_ns = (f.backoff_ns * 2).min(RETRY_MAX_NS);
        f.next_try_ns = now_ns + f.backoff_ns;
        if f.reason != reason {
            f.reason.clone_from(&reason);
            out.push(StationEvent::Unreachable {
                bed: name.to_owned(),
                reason,
            });
        }
    }

    fn tick(&mut self, now_ns: u64) {
        for bed in &mut self.beds {
            bed.state.tick(now_ns);
        }
    }

    fn stop_all(&mut self) {
        for bed in &mut self.beds {
            bed.stop();
        }
    }
}

/// The directory scanner: lists the channels every [`SCAN_PERIOD`] on its own thread (probing
/// a socket can take up to 250 ms), so the display never waits for it. It ends when the
/// receiver is dropped.
fn scanner(dir: PathBuf) -> Receiver<io::Result<Vec<ChannelEntry>>> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || loop {
        let scan = discovery::list_channels_in(&dir);
        if tx.send(scan).is_err() {
            return;
        }
        std::thread::sleep(SCAN_PERIOD);
    });
    rx
}

/// `vitalring station` / `vitalring monitor --all`.
///
/// # Errors
/// The terminal or stdout failed.
pub fn run(args: &StationArgs, stop: &Stop) -> CliResult {
    let mode = Mode::choose(&args.output);
    let mut station = Station::new(args);
    let scans = scanner(station.dir.clone());
    let end = duration_ns(args.duration);
    let result = match mode {
        Mode::Tui => run_tui(
            &mut station,
            &scans,
            &tui::TraceScale::from(&args.output),
            end,
            stop,
        ),
        Mode::Plain | Mode::Json => run_lines(&mut station, &scans, mode, end, stop),
    };
    station.stop_all();
    result
}

fn write_line(out: &mut impl Write, line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

fn run_lines(
    station: &mut Station,
    scans: &Receiver<io::Result<Vec<ChannelEntry>>>,
    mode: Mode,
    end: Option<u64>,
    stop: &Stop,
) -> CliResult {
    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut next_status = STATUS_NS;
    let mut io_err: Option<io::Error> = None;
    let json = mode == Mode::Json;
    let mut pending: Vec<String> = Vec::new();
    loop {
        let now = since_ns(start);
        station.tick(now);
        if stop.requested() || end.is_some_and(|d| now >= d) || io_err.is_some() {
            break;
        }
        while let Ok(scan) = scans.try_recv() {
            for ev in station.apply_scan(scan, now) {
                pending.push(if json {
                    lines::json_station(&ev, wall_ns()).to_string()
                } else {
                    lines::plain_station(&ev)
                });
            }
        }
        for bed in &mut station.beds {
            bed.poll(&mut |bed, ev| {
                let line = if json {
                    lines::json_event(&bed.name, ev, wall_ns()).map(|v| v.to_string())
                } else {
                    lines::plain_event(&bed.name, ev)
                };
                pending.extend(line);
            });
        }
        let now = since_ns(start);
        station.tick(now);
        if now >= next_status {
            next_status += STATUS_NS * ((now - next_status) / STATUS_NS + 1);
            let wall = wall_ns();
            pending.push(if json {
                lines::json_summary(station, wall).to_string()
            } else {
                lines::plain_summary(station)
            });
            for bed in &mut station.beds {
                let lat = bed.state.latency.roll();
                pending.push(if json {
                    lines::json_status(bed, lat, wall).to_string()
                } else {
                    lines::plain_status(bed, lat, wall)
                });
            }
        }
        for line in pending.drain(..) {
            if let Err(e) = write_line(&mut out, &line) {
                io_err = Some(e);
                break;
            }
        }
        let now = since_ns(start);
        let next = next_status
            .min(end.unwrap_or(u64::MAX))
            .min(now + MAX_WAIT_NS);
        std::thread::sleep(Duration::from_nanos(next.saturating_sub(now)));
    }
    match io_err {
        // A closed pipe (`station --json | head`) is a normal way to stop.
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Some(e) => Err(CliError::failure(format!("cannot write to stdout: {e}"))),
        None => Ok(()),
    }
}

/// What the TUI shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    /// The grid; the selected bed's name.
    Grid,
    /// One bed's full monitor view.
    Bed(String),
}

fn run_tui(
    station: &mut Station,
    scans: &Receiver<io::Result<Vec<ChannelEntry>>>,
    scale: &tui::TraceScale,
    end: Option<u64>,
    stop: &Stop,
) -> CliResult {
    // `try_init` enters raw mode and the alternate screen and installs a panic hook that
    // restores the terminal before the previous hook prints the panic.
    let mut terminal = ratatui::try_init()
        .map_err(|e| CliError::failure(format!("cannot set up the terminal: {e}")))?;
    // Keys are waited for in the watched terminal's own poll, never in crossterm's (which
    // spins for ever once the terminal hangs up): see `crate::terminal`.
    let tty = match Tty::watch() {
        Ok(t) => t,
        Err(e) => {
            let _ = ratatui::try_restore();
            return Err(e);
        }
    };
    let start = Instant::now();
    let mut next_frame = 0;
    let mut next_status = STATUS_NS;
    let mut view = View::Grid;
    let mut selected: Option<String> = None;
    let mut notices: Vec<String> = Vec::new();
    let mut scroll_row = 0usize;
    let mut cols = 1usize;
    let result = loop {
        let now = since_ns(start);
        station.tick(now);
        // Before the stop flag: a hung-up terminal also sends SIGHUP, and is an error.
        if let Err(gone) = tty.check() {
            break Err(gone.into());
        }
        if stop.requested() || end.is_some_and(|d| now >= d) {
            break Ok(());
        }
        while let Ok(scan) = scans.try_recv() {
            for ev in station.apply_scan(scan, now) {
                if let Some(n) = lines::notice(&ev) {
                    notices.push(n);
                }
            }
            let keep = notices.len().saturating_sub(3);
            notices.drain(..keep);
        }
        for bed in &mut station.beds {
            bed.poll(&mut |_, _| {});
        }
        let now = since_ns(start);
        station.tick(now);
        if now >= next_status {
            next_status += STATUS_NS * ((now - next_status) / STATUS_NS + 1);
            for bed in &mut station.beds {
                bed.state.latency.roll();
            }
        }
        // The selection follows its bed by name; a removed bed hands it to its neighbour.
        let sel = selected
            .as_deref()
            .and_then(|n| station.beds.iter().position(|b| b.name == n))
            .unwrap_or(0)
            .min(station.beds.len().saturating_sub(1));
        selected = station.beds.get(sel).map(|b| b.name.clone());
        if let View::Bed(name) = &view {
            if !station.beds.iter().any(|b| &b.name == name) {
                view = View::Grid;
            }
        }
        if now >= next_frame {
            next_frame = now + FRAME_NS;
            let wall = wall_ns();
            let drawn = terminal.draw(|f| match &view {
                View::Grid => {
                    let g = grid::Grid {
                        station,
                        selected: sel,
                        notices: &notices,
                        wall_ns: wall,
                        scroll_row,
                    };
                    let placed = grid::draw(f, &g);
                    scroll_row = placed.first_row;
                    cols = placed.cols;
                }
                View::Bed(name) => {
                    if let Some(bed) = station.beds.iter().find(|b| &b.name == name) {
                        tui::draw_scaled(f, &bed.state, scale);
                        grid::draw_bed_footer(f, station, name);
                    }
                }
            });
            if let Err(e) = drawn {
                break Err(tty.draw_error(&e));
            }
        }
        let now = since_ns(start);
        let wait = next_frame
            .min(next_status)
            .min(end.unwrap_or(u64::MAX))
            .min(now + MAX_WAIT_NS)
            .saturating_sub(now);
        match keys(
            &tty,
            station,
            &mut view,
            &mut selected,
            Duration::from_nanos(wait),
            sel,
            cols,
        ) {
            Ok(Flow::Quit) => break Ok(()),
            Ok(Flow::Continue) => {}
            Err(e) => break Err(e),
        }
    };
    tty.restore(terminal);
    result
}

/// Waits up to `wait` for keys and handles every pending one. Grid: arrows move the
/// selection, Enter opens the bed, `q` or Ctrl-C quits. Bed view: Esc (or Backspace) goes
/// back to the grid, Left/Right show the previous/next bed, `q` or Ctrl-C quits.
fn keys(
    tty: &Tty,
    station: &Station,
    view: &mut View,
    selected: &mut Option<String>,
    wait: Duration,
    sel: usize,
    cols: usize,
) -> CliResult<Flow> {
    let mut sel = sel;
    let n = station.beds.len();
    tty.events(wait, |ev| {
        let Event::Key(k) = ev else {
            return Flow::Continue;
        };
        if k.kind != KeyEventKind::Press {
            return Flow::Continue;
        }
        let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c || matches!(k.code, KeyCode::Char('q' | 'Q')) {
            return Flow::Quit;
        }
        if n == 0 {
            return Flow::Continue;
        }
        let cols = cols.max(1);
        match (&*view, k.code) {
            (View::Grid, KeyCode::Left) => sel = sel.saturating_sub(1),
            (View::Grid, KeyCode::Right) => sel = (sel + 1).min(n - 1),
            (View::Grid, KeyCode::Up) => sel = sel.saturating_sub(cols),
            (View::Grid, KeyCode::Down) if sel + cols < n => sel += cols,
            (View::Grid, KeyCode::Home) => sel = 0,
            (View::Grid, KeyCode::End) => sel = n - 1,
            (View::Grid, KeyCode::Enter) => *view = View::Bed(station.beds[sel].name.clone()),
            (View::Bed(_), KeyCode::Esc | KeyCode::Backspace) => *view = View::Grid,
            (View::Bed(_), KeyCode::Left) => {
                sel = sel.saturating_sub(1);
                *view = View::Bed(station.beds[sel].name.clone());
            }
            (View::Bed(_), KeyCode::Right) => {
                sel = (sel + 1).min(n - 1);
                *view = View::Bed(station.beds[sel].name.clone());
            }
            _ => {}
        }
        *selected = station.beds.get(sel).map(|b| b.name.clone());
        Flow::Continue
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beds_sort_as_people_count_them() {
        let mut v = vec!["bed10", "bed2", "bed1", "icu-b", "bed02", "icu-a", "bed"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["bed", "bed1", "bed2", "bed02", "bed10", "icu-a", "icu-b"]
        );
    }
}
