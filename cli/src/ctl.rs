//! `vitalring ctl CHANNEL COMMAND [ARGS]`: requests on a producer's control socket (see `vitalring_linux::request` and `docs/handshake.md`).

use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};
use vitalring_linux::client::ConnectOptions;
use vitalring_linux::request::{
    self, parse_describe, parse_stats, Reply, Request, RequestKind, RequestStatus,
};
use vitalring_linux::Token;

use crate::args::{CtlArgs, RequestTarget};
use crate::error::{CliError, CliResult};

/// Sends one request and returns the reply (refusals included).
///
/// # Errors
/// Bad token file, bad words, no producer (exit 3).
pub fn ask(target: &RequestTarget, kind: RequestKind, words: &[&str]) -> CliResult<Reply> {
    let endpoint = target.endpoint();
    let socket = crate::link::socket_path(&endpoint);
    let token = target
        .token_file
        .as_ref()
        .map(|p| {
            Token::from_file(p).map_err(|e| {
                CliError::failure(format!("cannot use token file {}: {e}", p.display()))
            })
        })
        .transpose()?;
    let req = Request::new(
        kind,
        &target.channel,
        token.as_ref().map(Token::as_bytes),
        words,
    )
    .map_err(|e| CliError::usage(format!("cannot send {words:?}: {e}")))?;
    let options = ConnectOptions {
        timeout: Duration::from_secs_f64(target.timeout),
        allowed_server_uids: target.allow_server_uid.clone(),
        ..ConnectOptions::default()
    };
    request::send_request(&socket, &req, &options)
        .map_err(|e| CliError::connect(format!("cannot ask {}: {e}", socket.display())))
}

pub fn refused(channel: &str, what: &str, reply: &Reply) -> CliError {
    CliError::failure(if reply.body.is_empty() {
        format!("{channel} refused {what:?}: {}", reply.status)
    } else {
        format!(
            "{channel} refused {what:?} ({}): {}",
            reply.status.name(),
            reply.body
        )
    })
}

/// `vitalring ctl`.
///
/// # Errors
/// No producer (exit 3), a refusal (exit 1, one line naming the status).
pub fn run(args: &CtlArgs) -> CliResult {
    let words: Vec<&str> = args.command.iter().map(String::as_str).collect();
    let (kind, words) = match words.as_slice() {
        ["describe"] => (RequestKind::Describe, &[][..]),
        ["stats"] => (RequestKind::Stats, &[][..]),
        ["describe" | "stats", ..] => {
            return Err(CliError::usage(format!("{} takes no arguments", words[0])))
        }
        w => (RequestKind::Command, w),
    };
    let what = args.command.join(" ");
    let reply = ask(&args.target, kind, words)?;
    let channel = &args.target.channel;
    // The answer, checked: describe and stats must be of their documented shape.
    let body: Value = match (kind, reply.status) {
        (RequestKind::Describe, RequestStatus::Ok) => serde_json::to_value(
            parse_describe(&reply.body)
                .map_err(|e| CliError::failure(format!("invalid describe from {channel}: {e}")))?,
        )
        .unwrap_or(Value::Null),
        (RequestKind::Stats, RequestStatus::Ok) => serde_json::to_value(
            parse_stats(&reply.body)
                .map_err(|e| CliError::failure(format!("invalid stats from {channel}: {e}")))?,
        )
        .unwrap_or(Value::Null),
        _ => Value::String(reply.body.clone()),
    };
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| CliError::failure(format!("cannot write: {e}"));
    if args.json {
        writeln!(
            out,
            "{}",
            json!({
                "channel": channel,
                "request": what,
                "status": reply.status.name(),
                "reply": body,
            })
        )
        .map_err(io)?;
    } else if reply.status == RequestStatus::Ok {
        match &body {
            Value::String(s) => writeln!(out, "{channel}: {s}"),
            v => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(v).unwrap_or_default()
            ),
        }
        .map_err(io)?;
    }
    if reply.status == RequestStatus::Ok {
        Ok(())
    } else {
        Err(refused(channel, &what, &reply))
    }
}
