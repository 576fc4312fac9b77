//! `vitalring monitor`: a `SensorDataSource` consumer with three faces — a full-screen TUI, one
//! plain status line a second, or JSON lines.

pub mod alarms;
pub mod bigfont;
pub mod history;
pub mod json;
pub mod plain;
pub mod state;
pub mod tui;

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::Event;
use vitalring_core::source::{ConnectionState, SensorErrorKind, SensorEvent};

use crate::args::{MonitorArgs, MonitorOutput};
use crate::clock::{duration_ns, since_ns, wall_ns};
use crate::error::{CliError, CliResult};
use crate::link::{self, Source};
use crate::signals::Stop;
use crate::terminal::{Flow, Tty};
use state::{Limits, MonitorState};

/// How the monitor shows what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Full-screen terminal UI.
    Tui,
    /// One status line a second.
    Plain,
    /// JSON lines.
    Json,
}

impl Mode {
    /// The mode the flags ask for; without flags, the TUI on a terminal and plain otherwise.
    pub fn choose(out: &MonitorOutput) -> Self {
        if out.json {
            Self::Json
        } else if out.plain || !io::stdout().is_terminal() {
            Self::Plain
        } else {
            Self::Tui
        }
    }
}

/// TUI frame period.
const FRAME_NS: u64 = 33_000_000;
/// Status period.
const STATUS_NS: u64 = 1_000_000_000;

/// `vitalring monitor`.
///
/// # Errors
/// Could not connect (exit 3), or stdout failed.
pub fn run(args: &MonitorArgs, stop: &Stop) -> CliResult {
    let (label, mut source) = match args.simulate {
        Some(scenario) => (
            std::path::PathBuf::from(format!("in-process simulator ({})", scenario.name())),
            link::simulated_source(scenario)?,
        ),
        None => (
            link::socket_path(&args.endpoint),
            link::open_source(&args.endpoint, &args.trust, &args.polling)?,
        ),
    };
    watch(
        source.as_mut(),
        &label,
        &args.output,
        duration_ns(args.duration),
        stop,
    )
}

/// Starts `source` and shows its events until `stop`, the end of `duration_ns`, or `q`.
///
/// # Errors
/// The handshake failed (exit 3), or the terminal or stdout failed.
pub fn watch(
    source: &mut dyn Source,
    socket: &Path,
    out: &MonitorOutput,
    duration_ns: Option<u64>,
    stop: &Stop,
) -> CliResult {
    let mode = Mode::choose(out);
    source
        .start()
        .map_err(|e| CliError::connect(format!("cannot connect to {}: {e}", socket.display())))?;
    let trace_samples = (out.trace_seconds.clamp(1.0, 60.0) * 250.0) as usize;
    let state = MonitorState::new(
        socket.display().to_string(),
        Limits::from(out.alarms),
        trace_samples,
    );
    let result = match mode {
        Mode::Tui => run_tui(
            source,
            state,
            &tui::TraceScale::from(out),
            duration_ns,
            stop,
        ),
        Mode::Plain | Mode::Json => run_lines(source, state, mode, duration_ns, stop),
    };
    source.stop();
    result
}

/// Longest wait for events, so stop requests are noticed promptly.
const MAX_WAIT_NS: u64 = 20_000_000;

/// How long to wait for events: until the next deadline, at most [`MAX_WAIT_NS`].
fn wait_until(now: u64, deadlines: &[u64]) -> Duration {
    let next = deadlines
        .iter()
        .fold(now + MAX_WAIT_NS, |a, &d| a.min(d.max(now)));
    Duration::from_nanos(next - now)
}

fn write_line(out: &mut impl Write, line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Takes in one event and prints its line (JSON: every event; plain: connection changes and
/// problems other than drops, which the status line counts).
fn on_line_event(
    ev: &SensorEvent,
    state: &mut MonitorState,
    mode: Mode,
    out: &mut impl Write,
    io_err: &mut Option<io::Error>,
) {
    let wall = wall_ns();
    state.apply(ev, wall);
    if io_err.is_some() {
        return;
    }
    let line = match (mode, ev) {
        (Mode::Json, _) => Some(json::event(ev, wall).to_string()),
        (_, SensorEvent::Connection { state: st, epoch }) => Some(format!(
            "connection: {}{}",
            st.name(),
            epoch.map_or(String::new(), |e| format!(" (epoch {e:016x})"))
        )),
        (_, SensorEvent::Error(e)) if e.kind() != SensorErrorKind::Dropped => {
            Some(format!("error: {}: {e}", e.kind().name()))
        }
        _ => None,
    };
    if let Some(line) = line {
        if let Err(e) = write_line(out, &line) {
            *io_err = Some(e);
        }
    }
}

fn run_lines(
    source: &mut dyn Source,
    mut state: MonitorState,
    mode: Mode,
    duration_ns: Option<u64>,
    stop: &Stop,
) -> CliResult {
    let start = Instant::now();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut next_status = STATUS_NS;
    let end = duration_ns.unwrap_or(u64::MAX);
    let mut io_err: Option<io::Error> = None;
    loop {
        let now = since_ns(start);
        state.tick(now);
        if stop.requested() || duration_ns.is_some_and(|d| now >= d) || io_err.is_some() {
            break;
        }
        let wait = wait_until(now, &[next_status, end]);
        source.poll_events(
            &mut |ev: SensorEvent| on_line_event(&ev, &mut state, mode, &mut out, &mut io_err),
            wait,
        );
        let (stats, lost) = source.stats();
        state.set_stats(stats, lost);
        let now = since_ns(start);
        state.tick(now);
        if now >= next_status {
            next_status += STATUS_NS * ((now - next_status) / STATUS_NS + 1);
            let lat = state.latency.roll();
            let line = match mode {
                Mode::Json => json::status(&state, lat, wall_ns()).to_string(),
                _ => plain::status_line(&state, lat),
            };
            if let Err(e) = write_line(&mut out, &line) {
                io_err = Some(e);
            }
        }
    }
    if io_err.is_none() {
        // A last status line with the final counters, so a run's accounting can be checked
        // from outside (`published - start_index = delivered + dropped + rejected`): stop the
        // reader, take every event it still held, then its final counters. The reader's own
        // "disconnected" is not the producer's state and is left out of that line.
        source.stop();
        while source.poll_events(
            &mut |ev: SensorEvent| {
                if !matches!(
                    ev,
                    SensorEvent::Connection {
                        state: ConnectionState::Disconnected,
                        ..
                    }
                ) {
                    on_line_event(&ev, &mut state, mode, &mut out, &mut io_err);
                }
            },
            Duration::ZERO,
        ) > 0
        {}
        let (stats, lost) = source.stats();
        state.set_stats(stats, lost);
        let lat = state.latency.roll();
        let line = match mode {
            Mode::Json => json::status(&state, lat, wall_ns()).to_string(),
            _ => plain::status_line(&state, lat),
        };
        if let Err(e) = write_line(&mut out, &line) {
            io_err = Some(e);
        }
    }
    match io_err {
        // A closed pipe (`monitor --json | head`) is a normal way to stop.
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Some(e) => Err(CliError::failure(format!("cannot write to stdout: {e}"))),
        None => Ok(()),
    }
}

fn run_tui(
    source: &mut dyn Source,
    mut state: MonitorState,
    scale: &tui::TraceScale,
    duration_ns: Option<u64>,
    stop: &Stop,
) -> CliResult {
    // `try_init` enters raw mode and the alternate screen and installs a panic hook that
    // restores the terminal before the previous hook prints the panic.
    let mut terminal = ratatui::try_init()
        .map_err(|e| CliError::failure(format!("cannot set up the terminal: {e}")))?;
    // Keys are read only after the watched terminal's own poll saw it alive, never in
    // crossterm's wait (which spins for ever once the terminal hangs up): see
    // `crate::terminal`.
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
    let end = duration_ns.unwrap_or(u64::MAX);
    let result = loop {
        let now = since_ns(start);
        state.tick(now);
        // Before the stop flag: a hung-up terminal also sends SIGHUP, and is an error.
        if let Err(gone) = tty.check() {
            break Err(gone.into());
        }
        if stop.requested() || duration_ns.is_some_and(|d| now >= d) {
            break Ok(());
        }
        let wait = wait_until(now, &[next_frame, next_status, end]);
        source.poll_events(&mut |ev| state.apply(&ev, wall_ns()), wait);
        let (stats, lost) = source.stats();
        state.set_stats(stats, lost);
        let now = since_ns(start);
        state.tick(now);
        if now >= next_status {
            next_status += STATUS_NS * ((now - next_status) / STATUS_NS + 1);
            state.latency.roll();
        }
        if now >= next_frame {
            next_frame = now + FRAME_NS;
            if let Err(e) = terminal.draw(|f| tui::draw_scaled(f, &state, scale)) {
                break Err(tty.draw_error(&e));
            }
            // Pending keys into `tui::on_key`.
            let keys = tty.events(Duration::ZERO, |ev| match ev {
                Event::Key(k) if tui::on_key(&mut state, k) == tui::KeyAction::Quit => Flow::Quit,
                _ => Flow::Continue,
            });
            match keys {
                Ok(Flow::Quit) => break Ok(()),
                Ok(Flow::Continue) => {}
                Err(e) => break Err(e),
            }
        }
    };
    tty.restore(terminal);
    result
}
