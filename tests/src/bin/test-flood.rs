//! A silent-connection flood for the Linux integration tests: the attack of a local process
//! that tries to lock readers out of a producer by holding handshakes open.
//!
//! `test-flood SOCKET N` keeps `N` connections to `SOCKET` open without ever sending a byte,
//! and reopens each one as soon as the server answers or closes it. Prints `FLOODING` once all
//! `N` are open, then runs until killed.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

fn open(path: &PathBuf) -> UnixStream {
    loop {
        match UnixStream::connect(path) {
            Ok(s) => return s,
            Err(e) => {
                eprintln!("test-flood: connect: {e}");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(n)) = (
        args.next(),
        args.next().and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: test-flood SOCKET N");
        std::process::exit(1);
    };
    let path = PathBuf::from(path);
    let mut conns: Vec<UnixStream> = (0..n).map(|_| open(&path)).collect();
    println!("FLOODING");
    let _ = std::io::stdout().flush();
    let mut buf = [0u8; 64];
    loop {
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = conns
                .iter()
                .map(|c| PollFd::new(c.as_fd(), PollFlags::POLLIN))
                .collect();
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            fds.iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect()
        };
        for (i, r) in ready.into_iter().enumerate() {
            if !r {
                continue;
            }
            // A reply (Busy, Malformed) or EOF: either way this one is done; reopen it.
            match conns[i].read(&mut buf) {
                Ok(n) if n > 0 => {}
                _ => conns[i] = open(&path),
            }
        }
    }
}
