//! A one-shot handshake client for the Linux integration tests (run e.g. under another uid).
//!
//! `test-client SOCKET CHANNEL` connects, maps the ring, and prints `OK <epoch>` or
//! `ERR <error>`; the exit status is 0 on success, 2 on a handshake error.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(socket), Some(channel)) = (args.next(), args.next()) else {
        eprintln!("usage: test-client SOCKET CHANNEL");
        std::process::exit(1);
    };
    match vitalring_linux::connect(&PathBuf::from(socket), &channel, None) {
        Ok(a) => println!("OK {}", a.epoch()),
        Err(e) => {
            println!("ERR {e}");
            println!("DEBUG {e:?}");
            std::process::exit(2);
        }
    }
}
