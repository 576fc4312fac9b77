//! Can another process of the same uid open a vitalring producer's memory for writing?
//!
//! ```text
//! test-dumpable victim [--harden]   # --harden: create a SharedMemoryProducer (which makes
//!                                   # the process non-dumpable); prints `READY <pid>
//!                                   # <dumpable 0|1>`, then waits for EOF on stdin
//! test-dumpable attack [--harden]   # spawns `victim` (same uid) and tries to open its
//!                                   # /proc/<pid>/mem read-write; prints
//!                                   # `VICTIM-DUMPABLE <0|1>` and `OPEN-OK` or `OPEN-DENIED <error>`
//! ```
//!
//! The attacker spawns the victim itself so that it is the victim's parent: that is what a
//! same-uid attacker needs anyway under Yama `ptrace_scope = 1`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use vitalring_core::layout::Geometry;
use vitalring_linux::SharedMemoryProducer;

fn victim(harden: bool) {
    let _producer = harden.then(|| {
        SharedMemoryProducer::without_server("victim", Geometry::new(128, 8).unwrap(), 1)
            .expect("producer")
    });
    let dumpable = nix::sys::prctl::get_dumpable().expect("PR_GET_DUMPABLE");
    println!("READY {} {}", std::process::id(), u8::from(dumpable));
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn attack(harden: bool) {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.arg("victim");
    if harden {
        cmd.arg("--harden");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn victim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("READY");
    let mut parts = line.split_whitespace();
    assert_eq!(parts.next(), Some("READY"), "victim said {line:?}");
    let pid: u32 = parts.next().and_then(|p| p.parse().ok()).expect("pid");
    println!("VICTIM-DUMPABLE {}", parts.next().unwrap_or("?"));
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
    {
        Ok(_) => println!("OPEN-OK"),
        Err(e) => println!("OPEN-DENIED {e}"),
    }
    drop(child.stdin.take());
    let _ = child.wait();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let harden = args.iter().any(|a| a == "--harden");
    match args.first().map(String::as_str) {
        Some("victim") => victim(harden),
        Some("attack") => attack(harden),
        _ => {
            eprintln!("usage: test-dumpable victim|attack [--harden]");
            std::process::exit(1);
        }
    }
}
