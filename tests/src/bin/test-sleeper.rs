//! A reader process for the wake-up and lease tests: the real `LiveReader` (handshake with a
//! status page, session, wait strategy), or a hostile reader that scribbles on its page.
//!
//! ```text
//! test-sleeper --socket PATH --channel NAME --mode sleep|busy|poll|hostile [--frames N]
//! ```
//!
//! Prints `ATTACHED <pid> lease=<bool> sleeps=<bool>`; then, for an honest mode, reads until
//! `N` frames were delivered or the producer stopped, printing `STALLED` once when the session
//! reports a stall and `STOPPED` when the producer stopped cleanly. Then it publishes its
//! counters on its page and prints
//! `DONE delivered=D dropped=P rejected=R position=X stalls=S`, and keeps its lease until its
//! stdin closes. `hostile` writes pseudo-random words on its page with the sleeping flag set,
//! forever (until killed), and never reads the ring.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use vitalring_core::session::{Next, Sink};
use vitalring_core::slot::Start;
use vitalring_core::source::SensorEvent;
use vitalring_linux::client::{connect_leased, ConnectOptions};
use vitalring_linux::{LiveReader, Polling, SourceConfig};

struct Ignore;
impl Sink for Ignore {
    fn event(&mut self, _: SensorEvent) {}
}

fn main() {
    let mut socket: Option<PathBuf> = None;
    let mut channel = String::from("test");
    let mut mode = String::from("sleep");
    let mut frames = u64::MAX;
    let mut it = std::env::args().skip(1);
    let usage = |m: &str| -> ! {
        eprintln!("test-sleeper: {m}");
        std::process::exit(1);
    };
    while let Some(flag) = it.next() {
        let mut val = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--socket" => socket = Some(PathBuf::from(val())),
            "--channel" => channel = val(),
            "--mode" => mode = val(),
            "--frames" => frames = val().parse().unwrap_or_else(|_| usage("bad number")),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let socket = socket.unwrap_or_else(|| usage("--socket is required"));
    let mut out = std::io::stdout();
    if mode == "hostile" {
        let attached = connect_leased(
            &socket,
            &channel,
            None,
            &ConnectOptions::default(),
            |_, _| {},
        )
        .unwrap_or_else(|e| usage(&e.to_string()));
        let (_ring, lease) = attached.into_parts();
        let lease = lease.unwrap_or_else(|| usage("no lease"));
        let _ = writeln!(
            out,
            "ATTACHED {} lease=true sleeps=false",
            std::process::id()
        );
        let _ = out.flush();
        let mut seed = u64::from(std::process::id());
        loop {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            lease.page().scribble(seed);
            std::thread::yield_now();
        }
    }
    let mut config = SourceConfig::new(&socket, &channel);
    config.start = Start::Oldest;
    config.polling = match mode.as_str() {
        "sleep" => Polling::Backoff,
        "busy" => Polling::BusyPoll,
        "poll" => Polling::BackoffOnly,
        other => usage(&format!("unknown mode {other}")),
    };
    let mut live = LiveReader::connect(config).unwrap_or_else(|e| usage(&e.to_string()));
    let _ = writeln!(
        out,
        "ATTACHED {} lease={} sleeps={}",
        std::process::id(),
        live.has_lease(),
        live.sleeps()
    );
    let _ = out.flush();
    let mut said_stalled = false;
    loop {
        let next = live.step(&mut Ignore);
        let delivered = live.stats().current.counters.delivered;
        match next {
            Next::Stalled if !said_stalled => {
                said_stalled = true;
                let _ = writeln!(out, "STALLED");
                let _ = out.flush();
            }
            Next::Stopped => {
                let _ = writeln!(out, "STOPPED");
                break;
            }
            _ => {}
        }
        if delivered >= frames {
            break;
        }
        live.wait(next);
    }
    live.report();
    let s = live.stats();
    let c = s.current.counters;
    let _ = writeln!(
        out,
        "DONE delivered={} dropped={} rejected={} position={} stalls={}",
        c.delivered,
        c.dropped(),
        c.rejected.total(),
        s.current.position,
        s.stalls
    );
    let _ = out.flush();
    // Keep the lease (the producer lists us) until the test closes our stdin.
    let mut line = String::new();
    while std::io::stdin()
        .lock()
        .read_line(&mut line)
        .is_ok_and(|n| n > 0)
    {
        line.clear();
    }
}
