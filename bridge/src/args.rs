//! The command line (clap). Every value is checked while parsing: a bad one is exit status 2
//! and one line on stderr, before anything is created or connected.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use vitalring_core::layout::Geometry;
use vitalring_linux::token::Token;

use crate::zconf::ZenohArgs;

const ABOUT: &str = "Carries a vitalring channel to other hosts and back over Zenoh.

`export` reads a local ring (one more reader, like the monitor) and publishes every frame it \
delivers on vitalring/<host>/<channel>/{vitals,ecg_ii,pleth,resp,heartbeat}, with a status \
every 100 ms on .../status and the channel's describe metadata on the .../describe queryable. \
`import` subscribes to one exporter and republishes its frames into a ring of its own on this \
host, so `vitalring monitor`, `record`, `dump` and the Python package work on a remote patient \
unchanged.

Zenoh talks only to the endpoints given (scouting is off by default) and the exporter listens \
on loopback unless told otherwise. See docs/bridge.md.";

/// `vitalring-bridge`.
#[derive(Debug, Parser)]
#[command(name = "vitalring-bridge", version, about = ABOUT, long_about = ABOUT)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a local ring and publish it on Zenoh.
    #[command(after_help = "Examples:
  vitalring-bridge export --channel bed12 --listen tcp/127.0.0.1:7447
  vitalring-bridge export --socket /tmp/vr.sock --listen tcp/0.0.0.0:7447 --config tls.json5")]
    Export(ExportArgs),
    /// Subscribe to an exporter and republish its frames into a local ring.
    #[command(after_help = "Examples:
  vitalring-bridge import --connect tcp/127.0.0.1:7447 --channel bed12-remote --remote-channel bed12
  vitalring-bridge import --connect tcp/192.0.2.10:7447 --remote-host icu-3 --remote-channel bed12 --channel bed12")]
    Import(ImportArgs),
}

impl Command {
    /// The sub-command's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Export(_) => "export",
            Self::Import(_) => "import",
        }
    }
}

/// The local ring: `--socket` and/or `--channel` (as in `vitalring`).
#[derive(Debug, Clone, Args)]
pub struct Local {
    /// Control socket of the local ring [default: $XDG_RUNTIME_DIR/vitalring/<channel>.sock,
    /// else /tmp/vitalring-<uid>/<channel>.sock].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Channel name of the local ring (1-64 of A-Z a-z 0-9 . _ -, not starting with a dot);
    /// it names the default socket and is sent in the handshake.
    #[arg(long, value_name = "NAME", default_value = "default", value_parser = parse_chunk)]
    pub channel: String,
    /// Token file (a private 0600 regular file, 1-64 bytes): export presents it to the
    /// producer; import requires it from local readers.
    #[arg(long, value_name = "PATH", value_parser = parse_token)]
    pub token_file: Option<Token>,
}

/// Output flags.
#[derive(Debug, Clone, Args)]
pub struct Output {
    /// JSON lines on stdout: a status object once a second and at every change, and a last
    /// one at exit (see docs/bridge.md).
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds (exit 0) [default: until SIGINT/SIGTERM/SIGHUP].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Seconds between count lines on stderr; 0 for none.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs_or_zero)]
    pub log_every: Duration,
}

/// `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The ring to read.
    #[command(flatten)]
    pub local: Local,
    /// Host chunk of the keys [default: this machine's host name].
    #[arg(long, value_name = "NAME", value_parser = parse_chunk)]
    pub host_name: Option<String>,
    /// Channel chunk of the keys [default: --channel].
    #[arg(long, value_name = "NAME", value_parser = parse_chunk)]
    pub key_channel: Option<String>,
    /// Also trust a producer running as this uid (repeatable).
    #[arg(long, value_name = "UID")]
    pub allow_server_uid: Vec<u32>,
    /// Zenoh.
    #[command(flatten)]
    pub zenoh: ZenohArgs,
    /// Output.
    #[command(flatten)]
    pub output: Output,
}

/// `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The ring to create on this host.
    #[command(flatten)]
    pub local: Local,
    /// Host chunk of the exporter's keys [default: this machine's host name — set it when the
    /// exporter runs elsewhere].
    #[arg(long, value_name = "NAME", value_parser = parse_chunk)]
    pub remote_host: Option<String>,
    /// Channel chunk of the exporter's keys [default: --channel].
    #[arg(long, value_name = "NAME", value_parser = parse_chunk)]
    pub remote_channel: Option<String>,
    /// Slot size of the local ring: at least the exporter's (its describe says); larger
    /// payloads are rejected and counted.
    #[arg(long, value_name = "BYTES", default_value = "4096")]
    pub frame_size: u32,
    /// Slot count of the local ring (a power of two).
    #[arg(long, value_name = "N", default_value = "2048")]
    pub frames: u32,
    /// The link counts as lost (local readers then see the ring stalled) after this many
    /// milliseconds without a message from the exporter (it sends a status every 100 ms).
    #[arg(long, value_name = "MS", default_value = "300", value_parser = clap::value_parser!(u64).range(150..=60_000))]
    pub link_timeout_ms: u64,
    /// Uids allowed to attach as local readers besides our own (repeatable).
    #[arg(long, value_name = "UID")]
    pub allow_uid: Vec<u32>,
    /// Zenoh.
    #[command(flatten)]
    pub zenoh: ZenohArgs,
    /// Output.
    #[command(flatten)]
    pub output: Output,
}

impl ImportArgs {
    /// The local ring's geometry.
    ///
    /// # Errors
    /// The geometry rules, as one line.
    pub fn geometry(&self) -> Result<Geometry, String> {
        Geometry::new(self.frame_size, self.frames).map_err(|e| {
            format!(
                "invalid ring geometry --frame-size {} --frames {}: {e:?}",
                self.frame_size, self.frames
            )
        })
    }
}

fn parse_chunk(s: &str) -> Result<String, String> {
    if crate::keys::valid_chunk(s) {
        Ok(s.to_owned())
    } else {
        Err("must be 1 to 64 characters of A-Z a-z 0-9 . _ -, not starting with a dot".into())
    }
}

fn parse_token(s: &str) -> Result<Token, String> {
    Token::from_file(std::path::Path::new(s)).map_err(|e| e.to_string())
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    if !v.is_finite() || v <= 0.0 {
        return Err("must be a finite number of seconds greater than 0".into());
    }
    Duration::try_from_secs_f64(v).map_err(|_| "too long".to_owned())
}

fn parse_secs_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    parse_secs(s)
}

impl Cli {
    /// clap's message for a usage error as one line (the `error:` line plus clap's tips).
    pub fn one_line(e: &clap::Error) -> String {
        let text = e.render().to_string();
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let mut out = lines
            .next()
            .unwrap_or("error: bad command line")
            .trim_start_matches("error: ")
            .to_string();
        for tip in lines.filter(|l| l.starts_with("tip:") || l.starts_with("[possible values")) {
            out.push_str("; ");
            out.push_str(tip);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn values_are_checked() {
        let bad = [
            vec!["x", "export", "--channel", "a/b"],
            vec!["x", "export", "--host-name", "*"],
            vec!["x", "export", "--listen", "nonsense"],
            vec!["x", "export", "--duration", "0"],
            vec!["x", "import", "--link-timeout-ms", "5"],
            vec!["x", "import", "--remote-channel", ".x"],
        ];
        for argv in bad {
            assert!(Cli::try_parse_from(&argv).is_err(), "{argv:?}");
        }
        assert!(Cli::try_parse_from(["x", "import", "--connect", "tcp/127.0.0.1:1"]).is_ok());
    }
}
