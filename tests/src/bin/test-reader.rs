//! A one-shot reader for the Linux integration tests (run e.g. under another uid, or with
//! `XDG_RUNTIME_DIR` pointing at a test directory).
//!
//! ```text
//! test-reader (--socket PATH | --default) --channel NAME [--allow-server-uid UID]...
//!             [--busy-retry-ms MS] [--token-file PATH]
//! ```
//!
//! `--default` uses the default socket path of the channel (`$XDG_RUNTIME_DIR/vitalring/` or
//! `/tmp/vitalring-<uid>/`). Connects, maps the ring, and prints `OK <epoch>`, or `ERR <error>`
//! and `DEBUG <error:?>`; exit status 0 on success, 2 on a handshake error, 1 on bad usage.

use std::path::PathBuf;
use std::time::Duration;

use vitalring_linux::client::{connect_retrying, ConnectOptions};
use vitalring_linux::{paths, Token};

fn main() {
    let mut socket: Option<PathBuf> = None;
    let mut default = false;
    let mut channel = String::from("test");
    let mut options = ConnectOptions::default();
    let mut token_file: Option<PathBuf> = None;
    let mut it = std::env::args().skip(1);
    let usage = |m: &str| -> ! {
        eprintln!("test-reader: {m}");
        std::process::exit(1);
    };
    while let Some(flag) = it.next() {
        let mut val = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--socket" => socket = Some(PathBuf::from(val())),
            "--default" => default = true,
            "--channel" => channel = val(),
            "--allow-server-uid" => options
                .allowed_server_uids
                .push(val().parse().unwrap_or_else(|_| usage("bad uid"))),
            "--busy-retry-ms" => {
                options.busy_retry =
                    Duration::from_millis(val().parse().unwrap_or_else(|_| usage("bad number")))
            }
            "--token-file" => token_file = Some(PathBuf::from(val())),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let path = match (socket, default) {
        (Some(p), false) => p,
        (None, true) => {
            paths::default_socket_path(&channel).unwrap_or_else(|e| usage(&e.to_string()))
        }
        _ => usage("give exactly one of --socket PATH and --default"),
    };
    let token = token_file.map(|p| Token::from_file(&p).unwrap_or_else(|e| usage(&e.to_string())));
    match connect_retrying(&path, &channel, token.as_ref(), &options, |e, _| {
        eprintln!("test-reader: waiting for producer: {e}")
    }) {
        Ok(a) => println!("OK {}", a.epoch()),
        Err(e) => {
            println!("ERR {e}");
            println!("DEBUG {e:?}");
            std::process::exit(2);
        }
    }
}
