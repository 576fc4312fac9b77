//! The terminal under the full-screen views (`monitor`, `station`): its keys, and knowing
//! when it is gone.
//!
//! A terminal goes away under a running program when its tmux session or server is killed,
//! its ssh connection drops or its window is closed: the kernel hangs the tty up. From then on
//! the tty is readable for ever while read(2) returns 0 or fails with EIO. crossterm's event
//! reader (0.29) retries both at once, in a loop that also ignores its timeout: a view waiting
//! for keys in `crossterm::event::poll` would never return, never see its stop flag (SIGHUP
//! sets it, but nobody looks), and burn a core for as long as nobody kills it.
//!
//! So the views never let crossterm wait on the terminal. [`Tty::events`] waits in its
//! own poll(2) on the same tty (stdin when it is a terminal, else `/dev/tty`, crossterm's own
//! choice), takes POLLHUP / POLLERR / POLLNVAL as the terminal gone ([`Gone`]), and calls
//! crossterm only when its poll saw the terminal alive, with a zero timeout. The few
//! microseconds between that check and crossterm's read are covered by a watchdog thread that
//! sleeps in poll(2) on the tty: if the terminal hangs up and the view has not left its loop
//! [`GRACE`] later (it is caught inside crossterm), the watchdog prints the view's one-line
//! error and ends the process with exit status 1.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::{self, Event};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{CliError, EXIT_FAILURE};

/// How long the watchdog lets a view notice a hung-up terminal by itself before it ends the
/// process.
pub const GRACE: Duration = Duration::from_secs(2);

/// Why the terminal is no longer usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The tty hung up (POLLHUP): its tmux session, ssh connection or window went away.
    HungUp,
    /// The tty reports an error (POLLERR) or the descriptor is no longer open (POLLNVAL).
    Failed,
    /// poll(2) itself failed.
    Poll(Errno),
}

impl fmt::Display for Gone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HungUp => write!(f, "the terminal is gone (it hung up); stopped"),
            Self::Failed => write!(f, "the terminal is gone (it reports an error); stopped"),
            Self::Poll(e) => write!(
                f,
                "the terminal is gone (cannot poll it: {}); stopped",
                e.desc().to_lowercase()
            ),
        }
    }
}

impl From<Gone> for CliError {
    fn from(g: Gone) -> Self {
        CliError::failure(g.to_string())
    }
}

/// What an event handler asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Leave the view (a quit key).
    Quit,
}

/// The revents that mean the terminal is gone.
fn gone_in(revents: PollFlags) -> Option<Gone> {
    if revents.contains(PollFlags::POLLHUP) {
        Some(Gone::HungUp)
    } else if revents.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
        Some(Gone::Failed)
    } else {
        None
    }
}

/// poll(2) timeout for `d`, rounded up to whole ms (a wait is never cut short to a busy 0).
fn timeout_of(d: Duration) -> PollTimeout {
    let ms = d.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

/// Waits up to `wait` for input on `fd`. `Ok(true)`: input is ready; `Ok(false)`: nothing
/// came, or a signal interrupted the wait (the caller checks its stop flag).
///
/// # Errors
/// The terminal is gone.
fn wait_input(fd: &OwnedFd, wait: Duration) -> Result<bool, Gone> {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout_of(wait)) {
        Ok(0) | Err(Errno::EINTR) => Ok(false),
        Ok(_) => {
            let revents = fds[0].revents().unwrap_or(PollFlags::empty());
            match gone_in(revents) {
                Some(g) => Err(g),
                None => Ok(revents.contains(PollFlags::POLLIN)),
            }
        }
        Err(e) => Err(Gone::Poll(e)),
    }
}

/// The terminal of a full-screen view, watched. Create it after the terminal is set up (raw
/// mode); dropping it stops the watchdog.
pub struct Tty {
    input: OwnedFd,
    /// Closed on drop: tells the watchdog the view has left its loop.
    quit: Option<OwnedFd>,
    watchdog: Option<JoinHandle<()>>,
}

impl Tty {
    /// Watches the terminal crossterm reads keys from (stdin when it is a terminal, else
    /// `/dev/tty`).
    ///
    /// # Errors
    /// There is no terminal, or the watchdog cannot be started.
    pub fn watch() -> Result<Self, CliError> {
        // The sub-command, for the watchdog's message (`demo` runs the monitor in its own process).
        let name = std::env::args().nth(1).unwrap_or_default();
        let input = if io::stdin().is_terminal() {
            nix::unistd::dup(io::stdin().as_fd()).map_err(|e| {
                CliError::failure(format!(
                    "cannot watch the terminal: {}",
                    e.desc().to_lowercase()
                ))
            })?
        } else {
            OwnedFd::from(
                std::fs::File::open("/dev/tty")
                    .map_err(|e| CliError::failure(format!("cannot open /dev/tty: {e}")))?,
            )
        };
        let fail = |e: Errno| {
            CliError::failure(format!(
                "cannot watch the terminal: {}",
                e.desc().to_lowercase()
            ))
        };
        let (quit_rx, quit_tx) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(fail)?;
        let watched = input
            .try_clone()
            .map_err(|e| CliError::failure(format!("cannot watch the terminal: {e}")))?;
        let watchdog = std::thread::Builder::new()
            .name("terminal-watchdog".into())
            .spawn(move || watchdog(&watched, &quit_rx, &name))
            .map_err(|e| CliError::failure(format!("cannot watch the terminal: {e}")))?;
        Ok(Self {
            input,
            quit: Some(quit_tx),
            watchdog: Some(watchdog),
        })
    }

    /// Whether the terminal is gone (no waiting).
    ///
    /// # Errors
    /// The terminal is gone.
    pub fn check(&self) -> Result<(), Gone> {
        wait_input(&self.input, Duration::ZERO).map(|_| ())
    }

    /// Waits up to `wait` for terminal events and hands each pending one to `on_event` until
    /// it asks to quit. crossterm reads only after this module's own poll(2) saw the terminal
    /// alive, and never waits itself.
    ///
    /// # Errors
    /// The terminal is gone, or crossterm failed to read it.
    pub fn events(
        &self,
        wait: Duration,
        mut on_event: impl FnMut(&Event) -> Flow,
    ) -> Result<Flow, CliError> {
        let mut timeout = wait;
        loop {
            // Also when nothing new came: crossterm may hold events parsed from an earlier
            // read.
            wait_input(&self.input, timeout)?;
            timeout = Duration::ZERO;
            let pending = event::poll(Duration::ZERO)
                .map_err(|e| CliError::failure(format!("cannot read keys: {e}")))?;
            if !pending {
                return Ok(Flow::Continue);
            }
            let ev =
                event::read().map_err(|e| CliError::failure(format!("cannot read keys: {e}")))?;
            if on_event(&ev) == Flow::Quit {
                return Ok(Flow::Quit);
            }
        }
    }

    /// The error a failure to draw stands for: the terminal gone, if it is, else `err`.
    pub fn draw_error(&self, err: &io::Error) -> CliError {
        match self.check() {
            Err(g) => g.into(),
            Ok(()) => CliError::failure(format!("cannot draw: {err}")),
        }
    }

    /// Leaves raw mode and the alternate screen and shows the cursor again, if the terminal is
    /// still there. A gone terminal cannot be restored, and trying would print to the gone
    /// stderr with `eprintln!` (ratatui's `restore` and its `Terminal`'s drop both do), which
    /// panics: so then `terminal` is forgotten, not dropped. Never panics.
    pub fn restore<B: ratatui::backend::Backend>(&self, terminal: ratatui::Terminal<B>) {
        if self.check().is_err() {
            std::mem::forget(terminal);
            return;
        }
        if let Err(e) = ratatui::try_restore() {
            // Not `eprintln!`: it panics when stderr is gone.
            let _ = writeln!(io::stderr(), "vitalring: cannot restore the terminal: {e}");
        }
        drop(terminal);
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        drop(self.quit.take());
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
    }
}

/// Sleeps in poll(2) until the terminal is gone or the view leaves (`quit` hangs up). When the
/// terminal goes first, the view has [`GRACE`] to leave by itself; otherwise it is stuck (in
/// crossterm's read loop) and the process ends here with the view's error.
fn watchdog(input: &OwnedFd, quit: &OwnedFd, name: &str) {
    let gone = loop {
        // No events asked of the tty: only POLLHUP, POLLERR and POLLNVAL wake this poll.
        let mut fds = [
            PollFd::new(input.as_fd(), PollFlags::empty()),
            PollFd::new(quit.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            // Cannot watch: the view's own checks remain.
            Err(_) => return,
        }
        if fds[1].any().unwrap_or(true) {
            return;
        }
        if let Some(g) = gone_in(fds[0].revents().unwrap_or(PollFlags::empty())) {
            break g;
        }
    };
    let mut fds = [PollFd::new(quit.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, timeout_of(GRACE)) {
            Err(Errno::EINTR) => continue,
            Ok(0) => break,
            _ => return,
        }
    }
    let _ = writeln!(io::stderr(), "vitalring {name}: error: {gone}");
    std::process::exit(i32::from(EXIT_FAILURE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_of(Duration::ZERO), PollTimeout::ZERO);
        assert_eq!(
            timeout_of(Duration::from_micros(1)),
            PollTimeout::from(1u16)
        );
        assert_eq!(
            timeout_of(Duration::from_millis(2)),
            PollTimeout::from(2u16)
        );
        assert_eq!(timeout_of(Duration::MAX), PollTimeout::MAX);
    }

    #[test]
    fn a_closed_pipe_is_a_gone_terminal_and_an_idle_one_is_not() {
        // The same revents a hung-up tty gives (POLLHUP), without a tty.
        let (rx, tx) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        assert_eq!(wait_input(&rx, Duration::from_millis(1)), Ok(false));
        drop(tx);
        assert_eq!(wait_input(&rx, Duration::from_secs(5)), Err(Gone::HungUp));
    }
}
