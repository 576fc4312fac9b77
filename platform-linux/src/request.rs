//! Requests on the control socket: `describe`, `stats` and producer-defined commands, beside
//! the handshake and with the same authentication (peer uid, token).
//!
//! A connection's first message decides what it is: a [`crate::wire::Hello`] (`"VRHL"`) asks
//! for the ring, a [`RequestHeader`] (`"VRRQ"`) asks a question. The server reads both in the
//! same event loop, with the same deadline, caps and eviction policy, so a request costs no
//! thread and a flood of requests cannot lock readers out.
//!
//! # Encoding (little-endian, version 1)
//!
//! Request, client → server: a fixed 144-byte [`RequestHeader`] (same channel and token fields
//! as the Hello) followed by `body_len` (0 ..= [`MAX_REQUEST_BODY`]) body bytes. The body of a
//! command is its words — 1 ..= [`MAX_WORDS`] words of 1 ..= [`MAX_WORD_LEN`] visible ASCII
//! characters (`!` ..= `~`), separated by one space; `describe` and `stats` have no body.
//!
//! Reply, server → client: a 16-byte [`ReplyHeader`] followed by `body_len`
//! (0 ..= [`MAX_REPLY_BODY`]) bytes of UTF-8: JSON for `describe` and `stats`, one line of text
//! for a command's answer or an error. After the reply the server closes the connection.
//!
//! A request refused before it was read — a uid that is not allowed, an evicted or timed-out
//! connection, a bad magic — is answered exactly like a handshake: with the 40-byte
//! [`crate::wire::ControlMessage`] failure (`"VRCM"`); [`parse_reply`] reads both.
//!
//! # Permissions
//!
//! *Read* (`describe`, `stats`, the ring itself): our effective uid or
//! [`crate::ServerConfig::allowed_uids`], and the token if one is set. *Command*: our effective
//! uid or [`RequestConfig::command_uids`], and the token if one is set. So another uid on the
//! allow-list may read but is refused commands (`NotPermitted`) unless it is also listed for
//! commands. See `docs/security.md`.
//!
//! Every parser here is a pure function of a byte slice (fuzz target `request`).

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use core::mem::{offset_of, size_of};
use nix::errno::Errno;
use nix::sys::socket::{self, MsgFlags};
use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::client::{ConnectOptions, HandshakeError};
use crate::lease::ReaderInfo;
use crate::token::Token;
use crate::wire::{
    valid_channel, ControlMessage, Status, CONTROL_MAGIC, CONTROL_SIZE, MAX_CHANNEL_LEN,
    MAX_TOKEN_LEN,
};

/// `RequestHeader::magic`: the bytes `"VRRQ"`.
pub const REQUEST_MAGIC: u32 = u32::from_le_bytes(*b"VRRQ");
/// `ReplyHeader::magic`: the bytes `"VRRP"`.
pub const REPLY_MAGIC: u32 = u32::from_le_bytes(*b"VRRP");
/// The request encoding version this crate speaks.
pub const REQUEST_VERSION: u16 = 1;
/// Size of [`RequestHeader`].
pub const REQUEST_HEADER_SIZE: usize = 144;
/// Size of [`ReplyHeader`].
pub const REPLY_HEADER_SIZE: usize = 16;
/// Longest request body (bytes).
pub const MAX_REQUEST_BODY: usize = 512;
/// Longest request (header and body): what the server buffers for a connection's first
/// message.
pub const MAX_REQUEST: usize = REQUEST_HEADER_SIZE + MAX_REQUEST_BODY;
/// Longest reply body (bytes).
pub const MAX_REPLY_BODY: usize = 64 * 1024;
/// Most words in a command.
pub const MAX_WORDS: usize = 16;
/// Longest word of a command (bytes).
pub const MAX_WORD_LEN: usize = 64;

/// Client → server: the fixed part of a request.
#[derive(Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RequestHeader {
    /// [`REQUEST_MAGIC`].
    pub magic: u32,
    /// [`REQUEST_VERSION`].
    pub version: u16,
    /// A [`RequestKind`] code.
    pub kind: u16,
    /// Channel name: 1..=64 bytes of `[A-Za-z0-9._-]`, NUL-padded (as in the Hello).
    pub channel: [u8; MAX_CHANNEL_LEN],
    /// Token bytes; bytes past `token_len` are zero.
    pub token: [u8; MAX_TOKEN_LEN],
    /// Token length, 0 (no token) ..= 64.
    pub token_len: u32,
    /// Body length, 0 ..= [`MAX_REQUEST_BODY`].
    pub body_len: u32,
}

const _: () = {
    assert!(size_of::<RequestHeader>() == REQUEST_HEADER_SIZE);
    assert!(offset_of!(RequestHeader, magic) == 0);
    assert!(offset_of!(RequestHeader, version) == 4);
    assert!(offset_of!(RequestHeader, kind) == 6);
    assert!(offset_of!(RequestHeader, channel) == 8);
    assert!(offset_of!(RequestHeader, token) == 72);
    assert!(offset_of!(RequestHeader, token_len) == 136);
    assert!(offset_of!(RequestHeader, body_len) == 140);
};

/// Server → client: the fixed part of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct ReplyHeader {
    /// [`REPLY_MAGIC`].
    pub magic: u32,
    /// [`REQUEST_VERSION`].
    pub version: u16,
    /// A [`RequestStatus`] code.
    pub status: u16,
    /// Body length, 0 ..= [`MAX_REPLY_BODY`].
    pub body_len: u32,
    /// Zero.
    pub reserved: u32,
}

const _: () = {
    assert!(size_of::<ReplyHeader>() == REPLY_HEADER_SIZE);
    assert!(offset_of!(ReplyHeader, magic) == 0);
    assert!(offset_of!(ReplyHeader, version) == 4);
    assert!(offset_of!(ReplyHeader, status) == 6);
    assert!(offset_of!(ReplyHeader, body_len) == 8);
    assert!(offset_of!(ReplyHeader, reserved) == 12);
};

/// What a request asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum RequestKind {
    /// The channel's metadata ([`Describe`]).
    Describe = 1,
    /// The producer's counters and the per-reader list ([`Stats`]).
    Stats = 2,
    /// A producer-defined command (the body holds its words).
    Command = 3,
}

impl RequestKind {
    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Describe => "describe",
            Self::Stats => "stats",
            Self::Command => "command",
        }
    }
}

impl TryFrom<u16> for RequestKind {
    type Error = RequestError;
    fn try_from(v: u16) -> Result<Self, RequestError> {
        match v {
            1 => Ok(Self::Describe),
            2 => Ok(Self::Stats),
            3 => Ok(Self::Command),
            other => Err(RequestError::UnknownKind(other)),
        }
    }
}

/// The status of a reply. Codes 0–8 mean what they mean in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum RequestStatus {
    /// Answered; the body is the answer.
    Ok = 0,
    /// Not a vitalring message.
    BadMagic = 1,
    /// Unsupported request version.
    BadVersion = 2,
    /// The request broke an encoding rule (padding, token length, body syntax), or did not
    /// arrive whole within the deadline.
    Malformed = 3,
    /// The server does not serve that channel.
    UnknownChannel = 4,
    /// Token missing or wrong.
    BadToken = 5,
    /// The peer's uid may not connect at all.
    UidNotAllowed = 6,
    /// Too many pending connections (retry with backoff).
    Busy = 7,
    /// The server failed.
    Internal = 8,
    /// The request kind is not known to this server.
    UnknownRequest = 9,
    /// `body_len` is larger than [`MAX_REQUEST_BODY`].
    TooLarge = 10,
    /// The peer may read but not command this producer.
    NotPermitted = 11,
    /// The producer has no such command (or accepts none).
    UnknownCommand = 12,
    /// The command's arguments are wrong; the body says why.
    BadArguments = 13,
}

impl RequestStatus {
    /// Every status, by code.
    pub const ALL: [Self; 14] = [
        Self::Ok,
        Self::BadMagic,
        Self::BadVersion,
        Self::Malformed,
        Self::UnknownChannel,
        Self::BadToken,
        Self::UidNotAllowed,
        Self::Busy,
        Self::Internal,
        Self::UnknownRequest,
        Self::TooLarge,
        Self::NotPermitted,
        Self::UnknownCommand,
        Self::BadArguments,
    ];

    /// Lower-case name, as printed by `vitalring ctl --json`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadMagic => "bad_magic",
            Self::BadVersion => "bad_version",
            Self::Malformed => "malformed",
            Self::UnknownChannel => "unknown_channel",
            Self::BadToken => "bad_token",
            Self::UidNotAllowed => "uid_not_allowed",
            Self::Busy => "busy",
            Self::Internal => "internal",
            Self::UnknownRequest => "unknown_request",
            Self::TooLarge => "too_large",
            Self::NotPermitted => "not_permitted",
            Self::UnknownCommand => "unknown_command",
            Self::BadArguments => "bad_arguments",
        }
    }

    /// The handshake status of the same code, for refusals sent as a `ControlMessage`.
    fn from_handshake(s: Status) -> Self {
        Self::try_from(s as u16).unwrap_or(Self::Internal)
    }
}

impl TryFrom<u16> for RequestStatus {
    type Error = u16;
    fn try_from(v: u16) -> Result<Self, u16> {
        Self::ALL.get(usize::from(v)).copied().ok_or(v)
    }
}

impl core::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Ok => "ok",
            Self::BadMagic => "bad magic (not a vitalring request)",
            Self::BadVersion => "unsupported request version",
            Self::Malformed => "malformed request",
            Self::UnknownChannel => "unknown channel",
            Self::BadToken => "missing or wrong token",
            Self::UidNotAllowed => "uid not allowed",
            Self::Busy => "producer busy",
            Self::Internal => "internal error in the producer",
            Self::UnknownRequest => "unknown request",
            Self::TooLarge => "request too large",
            Self::NotPermitted => "not permitted to command this producer",
            Self::UnknownCommand => "unknown command",
            Self::BadArguments => "bad arguments",
        })
    }
}

/// Why request or reply bytes are not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Fewer bytes than the message needs.
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Wrong magic.
    Magic(u32),
    /// Unsupported version.
    Version(u16),
    /// Unknown request kind.
    UnknownKind(u16),
    /// `body_len` beyond the limit.
    TooLarge {
        /// Announced body length.
        len: u32,
        /// The limit.
        max: usize,
    },
    /// Bad channel bytes or name.
    Channel,
    /// Bad `token_len` or token padding.
    Token,
    /// The body breaks the rules of its kind (not UTF-8, bad words, a body where none is
    /// allowed, reserved bits set).
    Body,
    /// An unknown reply status code.
    Status(u16),
}

impl RequestError {
    /// The status a request with this error is answered with.
    pub const fn status(&self) -> RequestStatus {
        match self {
            Self::Magic(_) => RequestStatus::BadMagic,
            Self::Version(_) => RequestStatus::BadVersion,
            Self::UnknownKind(_) => RequestStatus::UnknownRequest,
            Self::TooLarge { .. } => RequestStatus::TooLarge,
            Self::Truncated { .. } | Self::Channel | Self::Token | Self::Body | Self::Status(_) => {
                RequestStatus::Malformed
            }
        }
    }
}

impl core::fmt::Display for RequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated { len, needed } => write!(f, "{len} bytes, {needed} needed"),
            Self::Magic(m) => write!(f, "bad magic {m:#010x}"),
            Self::Version(v) => write!(f, "unsupported version {v}"),
            Self::UnknownKind(k) => write!(f, "unknown request kind {k}"),
            Self::TooLarge { len, max } => write!(f, "body of {len} bytes, at most {max}"),
            Self::Channel => write!(f, "invalid channel field"),
            Self::Token => write!(f, "invalid token field"),
            Self::Body => write!(
                f,
                "invalid body (a command is 1 to {MAX_WORDS} words of 1 to {MAX_WORD_LEN} \
                 visible ascii characters separated by one space)"
            ),
            Self::Status(s) => write!(f, "unknown reply status {s}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// A parsed, valid request.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// What it asks.
    pub kind: RequestKind,
    channel: String,
    token: [u8; MAX_TOKEN_LEN],
    token_len: usize,
    words: Vec<String>,
}

impl core::fmt::Debug for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The token is a secret: never print it.
        f.debug_struct("Request")
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("token_len", &self.token_len)
            .field("words", &self.words)
            .finish_non_exhaustive()
    }
}

/// Whether `w` is a valid command word.
fn valid_word(w: &str) -> bool {
    !w.is_empty() && w.len() <= MAX_WORD_LEN && w.bytes().all(|b| b.is_ascii_graphic())
}

fn parse_words(body: &[u8]) -> Result<Vec<String>, RequestError> {
    let text = core::str::from_utf8(body).map_err(|_| RequestError::Body)?;
    let words: Vec<String> = text.split(' ').map(str::to_owned).collect();
    if words.len() > MAX_WORDS || !words.iter().all(|w| valid_word(w)) {
        return Err(RequestError::Body);
    }
    Ok(words)
}

fn read_prefix<T: FromBytes + KnownLayout + Immutable + Copy>(
    bytes: &[u8],
) -> Result<T, RequestError> {
    T::read_from_prefix(bytes)
        .map(|(v, _)| v)
        .map_err(|_| RequestError::Truncated {
            len: bytes.len(),
            needed: size_of::<T>(),
        })
}

/// How many bytes the first message of a connection needs in all, judged from the bytes that
/// arrived so far: `None` if it is not a request (not `"VRRQ"`, or fewer than 4 bytes yet);
/// else the header size until the header is complete, then header plus body.
///
/// # Errors
/// A bad version (from 6 bytes on) or a `body_len` over [`MAX_REQUEST_BODY`] (from 144 bytes
/// on): answer at once.
pub fn request_len(prefix: &[u8]) -> Option<Result<usize, RequestError>> {
    let magic = prefix.get(0..4)?;
    if u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]) != REQUEST_MAGIC {
        return None;
    }
    if let Some(v) = prefix.get(4..6) {
        let v = u16::from_le_bytes([v[0], v[1]]);
        if v != REQUEST_VERSION {
            return Some(Err(RequestError::Version(v)));
        }
    }
    let Ok(h) = read_prefix::<RequestHeader>(prefix) else {
        return Some(Ok(REQUEST_HEADER_SIZE));
    };
    if h.body_len as usize > MAX_REQUEST_BODY {
        return Some(Err(RequestError::TooLarge {
            len: h.body_len,
            max: MAX_REQUEST_BODY,
        }));
    }
    Some(Ok(REQUEST_HEADER_SIZE + h.body_len as usize))
}

impl Request {
    /// A request for `channel` with an optional token; `words` is the command (empty for
    /// `describe` and `stats`).
    ///
    /// # Errors
    /// An invalid channel, token longer than 64 bytes, words for `describe`/`stats`, or bad
    /// or too many words.
    pub fn new(
        kind: RequestKind,
        channel: &str,
        token: Option<&[u8]>,
        words: &[&str],
    ) -> Result<Self, RequestError> {
        if !valid_channel(channel) {
            return Err(RequestError::Channel);
        }
        let t = token.unwrap_or(&[]);
        if t.len() > MAX_TOKEN_LEN {
            return Err(RequestError::Token);
        }
        let command = kind == RequestKind::Command;
        if command == words.is_empty()
            || words.len() > MAX_WORDS
            || !words.iter().all(|w| valid_word(w))
        {
            return Err(RequestError::Body);
        }
        let mut token_buf = [0u8; MAX_TOKEN_LEN];
        token_buf[..t.len()].copy_from_slice(t);
        Ok(Self {
            kind,
            channel: channel.to_owned(),
            token: token_buf,
            token_len: t.len(),
            words: words.iter().map(|w| (*w).to_owned()).collect(),
        })
    }

    /// Parses a whole request (header and exactly `body_len` body bytes; anything after is
    /// ignored). Pure.
    ///
    /// # Errors
    /// [`RequestError`].
    pub fn parse(bytes: &[u8]) -> Result<Self, RequestError> {
        let h: RequestHeader = read_prefix(bytes)?;
        if h.magic != REQUEST_MAGIC {
            return Err(RequestError::Magic(h.magic));
        }
        if h.version != REQUEST_VERSION {
            return Err(RequestError::Version(h.version));
        }
        let kind = RequestKind::try_from(h.kind)?;
        let body_len = h.body_len as usize;
        if body_len > MAX_REQUEST_BODY {
            return Err(RequestError::TooLarge {
                len: h.body_len,
                max: MAX_REQUEST_BODY,
            });
        }
        let body = bytes
            .get(REQUEST_HEADER_SIZE..REQUEST_HEADER_SIZE + body_len)
            .ok_or(RequestError::Truncated {
                len: bytes.len(),
                needed: REQUEST_HEADER_SIZE + body_len,
            })?;
        let n = h
            .channel
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(MAX_CHANNEL_LEN);
        if h.channel[n..].iter().any(|&b| b != 0) {
            return Err(RequestError::Channel);
        }
        let channel = core::str::from_utf8(&h.channel[..n]).map_err(|_| RequestError::Channel)?;
        if !valid_channel(channel) {
            return Err(RequestError::Channel);
        }
        let token_len = h.token_len as usize;
        if token_len > MAX_TOKEN_LEN || h.token[token_len..].iter().any(|&b| b != 0) {
            return Err(RequestError::Token);
        }
        let words = match kind {
            RequestKind::Command => parse_words(body)?,
            RequestKind::Describe | RequestKind::Stats if body.is_empty() => Vec::new(),
            _ => return Err(RequestError::Body),
        };
        Ok(Self {
            kind,
            channel: channel.to_owned(),
            token: h.token,
            token_len,
            words,
        })
    }

    /// The encoded request.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = self.words.join(" ");
        let mut channel = [0u8; MAX_CHANNEL_LEN];
        channel[..self.channel.len()].copy_from_slice(self.channel.as_bytes());
        let h = RequestHeader {
            magic: REQUEST_MAGIC,
            version: REQUEST_VERSION,
            kind: self.kind as u16,
            channel,
            token: self.token,
            token_len: self.token_len as u32,
            body_len: body.len() as u32,
        };
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(body.as_bytes());
        out
    }

    /// The channel asked for.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The token bytes (empty: none).
    pub fn token_bytes(&self) -> &[u8] {
        &self.token[..self.token_len]
    }

    /// A command's words (command name first); empty for `describe` and `stats`.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// A reply: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: RequestStatus,
    /// JSON for `describe`/`stats`, one line of text otherwise (may be empty).
    pub body: String,
}

impl Reply {
    /// A reply; a body longer than [`MAX_REPLY_BODY`] is cut at a character boundary.
    pub fn new(status: RequestStatus, body: impl Into<String>) -> Self {
        let mut body = body.into();
        if body.len() > MAX_REPLY_BODY {
            let mut n = MAX_REPLY_BODY;
            while !body.is_char_boundary(n) {
                n -= 1;
            }
            body.truncate(n);
        }
        Self { status, body }
    }

    /// The encoded reply.
    pub fn to_bytes(&self) -> Vec<u8> {
        let h = ReplyHeader {
            magic: REPLY_MAGIC,
            version: REQUEST_VERSION,
            status: self.status as u16,
            body_len: self.body.len() as u32,
            reserved: 0,
        };
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

/// What the bytes a server sent back to a request are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The bytes are incomplete: read more (at least this many in all).
    NeedMore(usize),
    /// A whole reply.
    Reply(Reply),
}

/// Parses a server's answer to a request: a [`ReplyHeader`] with its body, or a 40-byte
/// handshake [`ControlMessage`] failure (a refusal before the request was read). Pure.
///
/// # Errors
/// [`RequestError`].
pub fn parse_reply(bytes: &[u8]) -> Result<Answer, RequestError> {
    let Some(m) = bytes.get(0..4) else {
        return Ok(Answer::NeedMore(4));
    };
    let magic = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
    if magic == CONTROL_MAGIC {
        if bytes.len() < CONTROL_SIZE {
            return Ok(Answer::NeedMore(CONTROL_SIZE));
        }
        let msg = ControlMessage::parse(bytes).map_err(|_| RequestError::Body)?;
        let status = Status::try_from(msg.status).map_err(|_| RequestError::Status(msg.status))?;
        if status == Status::Ok {
            // A ring offer is never an answer to a request.
            return Err(RequestError::Body);
        }
        return Ok(Answer::Reply(Reply::new(
            RequestStatus::from_handshake(status),
            String::new(),
        )));
    }
    if magic != REPLY_MAGIC {
        return Err(RequestError::Magic(magic));
    }
    let Ok(h) = read_prefix::<ReplyHeader>(bytes) else {
        return Ok(Answer::NeedMore(REPLY_HEADER_SIZE));
    };
    if h.version != REQUEST_VERSION {
        return Err(RequestError::Version(h.version));
    }
    if h.reserved != 0 {
        return Err(RequestError::Body);
    }
    let status = RequestStatus::try_from(h.status).map_err(RequestError::Status)?;
    let len = h.body_len as usize;
    if len > MAX_REPLY_BODY {
        return Err(RequestError::TooLarge {
            len: h.body_len,
            max: MAX_REPLY_BODY,
        });
    }
    let Some(body) = bytes.get(REPLY_HEADER_SIZE..REPLY_HEADER_SIZE + len) else {
        return Ok(Answer::NeedMore(REPLY_HEADER_SIZE + len));
    };
    let body = core::str::from_utf8(body).map_err(|_| RequestError::Body)?;
    Ok(Answer::Reply(Reply {
        status,
        body: body.to_owned(),
    }))
}

// --- What the producer answers ----------------------------------------------------------------

/// What a producer says about its channel (set by the producer, may change while it runs).
/// The default: kind `producer`, no description, encoding `unspecified`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMeta {
    /// What produces the data: `simulator`, `replay`, `bridge`, … (a channel-name-like word).
    pub kind: String,
    /// One line for people, e.g. "bed 3, scenario afib" (at most 200 bytes, printable).
    pub description: String,
    /// Payload encoding: `json`, `binary` or `unspecified`.
    pub encoding: String,
}

impl Default for ChannelMeta {
    fn default() -> Self {
        Self {
            kind: "producer".into(),
            description: String::new(),
            encoding: "unspecified".into(),
        }
    }
}

/// Longest [`ChannelMeta::description`].
pub const MAX_DESCRIPTION_LEN: usize = 200;
/// Longest [`ChannelMeta::kind`].
pub const MAX_KIND_LEN: usize = 32;

/// Why channel metadata is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaError {
    /// `kind` is not 1..=32 of `[a-z0-9_-]`.
    Kind(String),
    /// `description` is longer than 200 bytes or holds control characters.
    Description,
    /// `encoding` is not `json`, `binary` or `unspecified`.
    Encoding(String),
}

impl core::fmt::Display for MetaError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Kind(k) => write!(f, "invalid channel kind {k:?}: use 1 to 32 of a-z 0-9 _ -"),
            Self::Description => write!(
                f,
                "invalid channel description: at most {MAX_DESCRIPTION_LEN} bytes, no control \
                 characters"
            ),
            Self::Encoding(e) => write!(f, "invalid encoding {e:?}: json, binary or unspecified"),
        }
    }
}

impl std::error::Error for MetaError {}

impl ChannelMeta {
    /// Checks the metadata rules (the same for every producer and every reader of a describe
    /// reply): see [`crate::paths::check_meta`].
    ///
    /// # Errors
    /// [`MetaError`].
    pub fn check(&self) -> Result<(), MetaError> {
        crate::paths::check_meta(&self.kind, &self.description, &self.encoding)
    }
}

/// A producer command: its words (name first), answered with one line of text.
pub type CommandFn = Arc<dyn Fn(&[String]) -> Result<String, CommandError> + Send + Sync>;

/// Why a command was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// No such command.
    Unknown(String),
    /// Wrong arguments: what is wrong.
    BadArguments(String),
}

/// What the control server answers requests with.
#[derive(Clone, Default)]
pub struct RequestConfig {
    /// The channel's metadata; the producer may change it at any time.
    pub meta: Arc<Mutex<ChannelMeta>>,
    /// The producer's command handler (called on the control thread: it must not block).
    /// `None`: the producer accepts no commands.
    pub commands: Option<CommandFn>,
    /// Names of the commands (listed by `describe`).
    pub command_names: Vec<String>,
    /// Peer uids allowed to send commands besides our own effective uid. A uid only in
    /// [`crate::ServerConfig::allowed_uids`] may read (ring, `describe`, `stats`) but is
    /// refused commands with `NotPermitted`.
    pub command_uids: Vec<u32>,
    /// Figures the producer keeps up to date (frames published, last heartbeat).
    pub figures: Arc<ProducerFigures>,
}

impl core::fmt::Debug for RequestConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestConfig")
            .field("command_names", &self.command_names)
            .field("command_uids", &self.command_uids)
            .finish_non_exhaustive()
    }
}

/// Figures the producer keeps up to date for `describe` and `stats`.
#[derive(Debug)]
pub struct ProducerFigures {
    started: Instant,
    started_unix_ms: u64,
    /// Frames committed (the ring's `writeIndex`), stored after each publish.
    pub published: AtomicU64,
    /// The last heartbeat value, ms since the Unix epoch.
    pub heartbeat_unix_ms: AtomicU64,
}

impl Default for ProducerFigures {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            started_unix_ms: crate::clock::wall_ms(),
            published: AtomicU64::new(0),
            heartbeat_unix_ms: AtomicU64::new(crate::clock::wall_ms()),
        }
    }
}

impl ProducerFigures {
    /// Records a publish or heartbeat.
    pub fn note(&self, published: u64, heartbeat_unix_ms: u64) {
        // Relaxed: figures for reports; nothing is read through them.
        self.published.store(published, Ordering::Relaxed);
        self.heartbeat_unix_ms
            .store(heartbeat_unix_ms, Ordering::Relaxed);
    }
}

/// The `describe` answer (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Describe {
    /// Request encoding version of the producer.
    pub version: u16,
    /// Channel name.
    pub name: String,
    /// What produces the data (`simulator`, `replay`, …).
    pub kind: String,
    /// One line for people.
    pub description: String,
    /// Payload encoding.
    pub encoding: String,
    /// Ring slot size, bytes.
    pub frame_size: u32,
    /// Ring slot count.
    pub frame_count: u32,
    /// Producer epoch, 16 hex digits.
    pub epoch: String,
    /// Producer pid.
    pub pid: u32,
    /// When the producer started, ms since the Unix epoch.
    pub started_unix_ms: u64,
    /// Seconds since the producer started.
    pub uptime_s: f64,
    /// Frames committed so far.
    pub published: u64,
    /// Frames committed per second since the start.
    pub frame_rate_hz: f64,
    /// Milliseconds since the last heartbeat (a paused or hung writer shows here).
    pub heartbeat_age_ms: u64,
    /// Readers attached now.
    pub readers: u64,
    /// Commands the producer accepts.
    pub commands: Vec<String>,
}

/// One reader in the `stats` answer (from the server's reader table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderReport {
    /// Server-assigned id.
    pub id: u64,
    /// Peer pid.
    pub pid: i32,
    /// Peer uid.
    pub uid: u32,
    /// When it attached, ms since the Unix epoch.
    pub attached_unix_ms: u64,
    /// Next index it will read.
    pub position: u64,
    /// How far behind the writer it is.
    pub lag: u64,
    /// Frames it delivered.
    pub delivered: u64,
    /// Frames it lost to overwrites.
    pub dropped: u64,
    /// Frames it refused.
    pub rejected: u64,
    /// Whether it sleeps rather than polls.
    pub sleeping: bool,
    /// Its last heartbeat, ms since the Unix epoch.
    pub last_heartbeat_unix_ms: u64,
}

impl From<&ReaderInfo> for ReaderReport {
    fn from(r: &ReaderInfo) -> Self {
        Self {
            id: r.id,
            pid: r.pid,
            uid: r.uid,
            attached_unix_ms: r.attached_unix_ms,
            position: r.position,
            lag: r.lag,
            delivered: r.delivered,
            dropped: r.dropped,
            rejected: r.rejected,
            sleeping: r.sleeping,
            last_heartbeat_unix_ms: r.last_heartbeat_unix_ms,
        }
    }
}

/// The producer's own counters in the `stats` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerCounters {
    /// Frames committed.
    pub published: u64,
    /// Readers handed the ring.
    pub served: u64,
    /// Connections refused (handshakes and requests).
    pub refused: u64,
    /// Of `refused`: evicted pending connections.
    pub evicted: u64,
    /// Requests answered (any status).
    pub requests: u64,
}

/// The `stats` answer (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The channel's description, as in `describe`.
    pub channel: Describe,
    /// The producer's counters.
    pub producer: ProducerCounters,
    /// The readers attached now (the server's reader table).
    pub readers: Vec<ReaderReport>,
}

/// Everything the server knows when it answers (assembled by the server).
#[derive(Debug)]
pub struct ServerView<'a> {
    /// The served channel.
    pub channel: &'a str,
    /// The ring's geometry.
    pub geometry: vitalring_core::layout::Geometry,
    /// The ring's epoch.
    pub epoch: u64,
    /// Producer figures.
    pub figures: &'a ProducerFigures,
    /// Handshake and request counters (`published` is filled from `figures`).
    pub counters: ProducerCounters,
    /// The reader table now.
    pub readers: Vec<ReaderInfo>,
}

/// Builds the `describe` answer.
pub fn describe(config: &RequestConfig, view: &ServerView<'_>) -> Describe {
    let meta = config
        .meta
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let uptime = view.figures.started.elapsed().as_secs_f64();
    let published = view.figures.published.load(Ordering::Relaxed);
    let beat = view.figures.heartbeat_unix_ms.load(Ordering::Relaxed);
    Describe {
        version: REQUEST_VERSION,
        name: view.channel.to_owned(),
        kind: meta.kind,
        description: meta.description,
        encoding: meta.encoding,
        frame_size: view.geometry.frame_size(),
        frame_count: view.geometry.frame_count(),
        epoch: format!("{:016x}", view.epoch),
        pid: std::process::id(),
        started_unix_ms: view.figures.started_unix_ms,
        uptime_s: (uptime * 1000.0).round() / 1000.0,
        published,
        frame_rate_hz: if uptime > 0.0 {
            (published as f64 / uptime * 10.0).round() / 10.0
        } else {
            0.0
        },
        heartbeat_age_ms: crate::clock::wall_ms().saturating_sub(beat),
        readers: view.readers.len() as u64,
        commands: config.command_names.clone(),
    }
}

/// Answers an authenticated-by-uid request (the server checked the peer's uid may connect at
/// all): channel, token, command permission, then the answer itself. Pure apart from the
/// command handler it calls.
pub fn answer(
    config: &RequestConfig,
    token: Option<&Token>,
    command_allowed: bool,
    view: &ServerView<'_>,
    request: &Request,
) -> Reply {
    if request.channel() != view.channel {
        return Reply::new(
            RequestStatus::UnknownChannel,
            format!("this producer serves {:?}", view.channel),
        );
    }
    if let Some(t) = token {
        if !t.matches(request.token_bytes()) {
            return Reply::new(RequestStatus::BadToken, "missing or wrong token");
        }
    }
    let json = |v: serde_json::Result<String>| match v {
        Ok(s) => Reply::new(RequestStatus::Ok, s),
        Err(e) => Reply::new(RequestStatus::Internal, e.to_string()),
    };
    match request.kind {
        RequestKind::Describe => json(serde_json::to_string(&describe(config, view))),
        RequestKind::Stats => json(serde_json::to_string(&Stats {
            channel: describe(config, view),
            producer: ProducerCounters {
                published: view.figures.published.load(Ordering::Relaxed),
                ..view.counters
            },
            readers: view.readers.iter().map(ReaderReport::from).collect(),
        })),
        RequestKind::Command => {
            if !command_allowed {
                return Reply::new(
                    RequestStatus::NotPermitted,
                    "this uid may read the channel but not command its producer",
                );
            }
            let Some(handler) = &config.commands else {
                return Reply::new(
                    RequestStatus::UnknownCommand,
                    "this producer accepts no commands",
                );
            };
            match handler(request.words()) {
                Ok(text) => Reply::new(RequestStatus::Ok, text),
                Err(CommandError::Unknown(name)) => Reply::new(
                    RequestStatus::UnknownCommand,
                    format!(
                        "unknown command {name:?} (this producer accepts: {})",
                        config.command_names.join(", ")
                    ),
                ),
                Err(CommandError::BadArguments(why)) => {
                    Reply::new(RequestStatus::BadArguments, why)
                }
            }
        }
    }
}

// --- Client side ------------------------------------------------------------------------------

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestClientError {
    /// Connecting or authenticating the server failed (as for a handshake).
    Connect(HandshakeError),
    /// The request could not be encoded (bad channel, token or words).
    Encode(RequestError),
    /// The server's answer was not valid.
    BadReply(RequestError),
    /// The server closed the connection before a whole answer.
    Closed {
        /// Bytes received.
        got: usize,
    },
    /// No whole answer within the timeout.
    Timeout,
    /// Another socket error.
    Io(Errno),
}

impl core::fmt::Display for RequestClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "{e}"),
            Self::Encode(e) => write!(f, "cannot encode the request: {e}"),
            Self::BadReply(e) => write!(f, "invalid reply from the producer: {e}"),
            Self::Closed { got } => write!(
                f,
                "the producer closed the connection after {got} bytes of its reply"
            ),
            Self::Timeout => write!(f, "no reply from the producer within the timeout"),
            Self::Io(e) => write!(f, "socket error: {}", e.desc().to_lowercase()),
        }
    }
}

impl std::error::Error for RequestClientError {}

/// Sends `request` to the producer at `path` and returns its reply. The server is
/// authenticated first, exactly as for a handshake (private default directory, server uid),
/// so the token is never sent to an untrusted server. `options.timeout` bounds the connect,
/// the send and the whole reply.
///
/// # Errors
/// [`RequestClientError`].
pub fn send_request(
    path: &Path,
    request: &Request,
    options: &ConnectOptions,
) -> Result<Reply, RequestClientError> {
    let stream =
        crate::client::authenticated_stream(path, options).map_err(RequestClientError::Connect)?;
    let deadline = Instant::now() + options.timeout;
    let bytes = request.to_bytes();
    let mut off = 0;
    while off < bytes.len() {
        match socket::send(stream.as_raw_fd(), &bytes[off..], MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => off += n,
            Err(Errno::EINTR) => {}
            // Refused before reading (uid, busy): the status is in our receive queue.
            Err(Errno::EPIPE | Errno::ECONNRESET) => break,
            Err(Errno::EAGAIN) => return Err(RequestClientError::Timeout),
            Err(e) => return Err(RequestClientError::Io(e)),
        }
    }
    read_answer(&stream, deadline)
}

fn read_answer(
    stream: &std::os::unix::net::UnixStream,
    deadline: Instant,
) -> Result<Reply, RequestClientError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        match parse_reply(&buf).map_err(RequestClientError::BadReply)? {
            Answer::Reply(r) => return Ok(r),
            Answer::NeedMore(_) => {}
        }
        if Instant::now() >= deadline {
            return Err(RequestClientError::Timeout);
        }
        match socket::recv(stream.as_raw_fd(), &mut chunk, MsgFlags::empty()) {
            Ok(0) => return Err(RequestClientError::Closed { got: buf.len() }),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return Err(RequestClientError::Timeout),
            Err(Errno::ECONNRESET) => return Err(RequestClientError::Closed { got: buf.len() }),
            Err(e) => return Err(RequestClientError::Io(e)),
        }
    }
}

/// `describe` of the producer at `path`, checked: JSON of the documented shape whose metadata
/// passes the same rules producers must follow.
///
/// # Errors
/// [`RequestClientError`]; a refusal is `Ok(Err(reply))`.
pub fn describe_at(
    path: &Path,
    channel: &str,
    token: Option<&Token>,
    options: &ConnectOptions,
) -> Result<Result<Describe, Reply>, RequestClientError> {
    let req = Request::new(
        RequestKind::Describe,
        channel,
        token.map(Token::as_bytes),
        &[],
    )
    .map_err(RequestClientError::Encode)?;
    let reply = send_request(path, &req, options)?;
    if reply.status != RequestStatus::Ok {
        return Ok(Err(reply));
    }
    parse_describe(&reply.body)
        .map(Ok)
        .map_err(RequestClientError::BadReply)
}

/// Parses and checks a `describe` body. Pure.
///
/// # Errors
/// [`RequestError::Body`] for JSON of another shape or metadata that breaks the rules.
pub fn parse_describe(body: &str) -> Result<Describe, RequestError> {
    if body.len() > MAX_REPLY_BODY {
        return Err(RequestError::Body);
    }
    let d: Describe = serde_json::from_str(body).map_err(|_| RequestError::Body)?;
    crate::paths::check_meta(&d.kind, &d.description, &d.encoding)
        .map_err(|_| RequestError::Body)?;
    if !valid_channel(&d.name) {
        return Err(RequestError::Channel);
    }
    Ok(d)
}

/// Parses a `stats` body. Pure.
///
/// # Errors
/// [`RequestError::Body`] for JSON of another shape.
pub fn parse_stats(body: &str) -> Result<Stats, RequestError> {
    if body.len() > MAX_REPLY_BODY {
        return Err(RequestError::Body);
    }
    let s: Stats = serde_json::from_str(body).map_err(|_| RequestError::Body)?;
    crate::paths::check_meta(&s.channel.kind, &s.channel.description, &s.channel.encoding)
        .map_err(|_| RequestError::Body)?;
    Ok(s)
}

/// A default timeout for requests.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_its_length_is_known_from_its_prefix() {
        let r = Request::new(
            RequestKind::Command,
            "bed2",
            Some(b"secret"),
            &["scenario", "afib"],
        )
        .unwrap();
        let b = r.to_bytes();
        assert_eq!(b.len(), REQUEST_HEADER_SIZE + "scenario afib".len());
        assert_eq!(Request::parse(&b).unwrap(), r);
        assert_eq!(request_len(&b[..3]), None);
        assert_eq!(request_len(&b[..10]), Some(Ok(REQUEST_HEADER_SIZE)));
        assert_eq!(request_len(&b), Some(Ok(b.len())));
        assert!(!format!("{r:?}").contains("secret"));
        assert_eq!(request_len(b"VRHL0000"), None);
    }

    #[test]
    fn bad_requests_are_named() {
        let ok = Request::new(RequestKind::Describe, "x", None, &[])
            .unwrap()
            .to_bytes();
        let mut b = ok.clone();
        b[6] = 9;
        assert_eq!(Request::parse(&b), Err(RequestError::UnknownKind(9)));
        let mut b = ok.clone();
        b[140..144].copy_from_slice(&100_000u32.to_le_bytes());
        assert!(matches!(
            request_len(&b),
            Some(Err(RequestError::TooLarge { .. }))
        ));
        assert_eq!(
            Request::parse(&b).unwrap_err().status(),
            RequestStatus::TooLarge
        );
        let mut b = ok.clone();
        b[4] = 2;
        assert_eq!(request_len(&b[..6]), Some(Err(RequestError::Version(2))));
        // A body on a describe, a double space in a command.
        let mut b = ok.clone();
        b[140] = 1;
        b.push(b'x');
        assert_eq!(Request::parse(&b), Err(RequestError::Body));
        let mut c = Request::new(RequestKind::Command, "x", None, &["a"])
            .unwrap()
            .to_bytes();
        c[140] = 4;
        c.extend_from_slice(b"  b");
        assert_eq!(Request::parse(&c), Err(RequestError::Body));
        assert!(Request::new(RequestKind::Command, "x", None, &[]).is_err());
        assert!(Request::new(RequestKind::Command, "x", None, &["a b"]).is_err());
        assert!(Request::new(RequestKind::Stats, "x", None, &["a"]).is_err());
    }

    #[test]
    fn the_default_metadata_is_valid() {
        assert_eq!(ChannelMeta::default().check(), Ok(()));
    }

    #[test]
    fn replies_and_handshake_refusals_parse() {
        let r = Reply::new(RequestStatus::NotPermitted, "no");
        let b = r.to_bytes();
        assert_eq!(
            parse_reply(&b[..10]),
            Ok(Answer::NeedMore(REPLY_HEADER_SIZE))
        );
        assert_eq!(parse_reply(&b[..17]), Ok(Answer::NeedMore(18)));
        assert_eq!(parse_reply(&b), Ok(Answer::Reply(r)));
        let refused = ControlMessage::failure(Status::UidNotAllowed).to_bytes();
        assert_eq!(
            parse_reply(&refused),
            Ok(Answer::Reply(Reply::new(RequestStatus::UidNotAllowed, "")))
        );
        let mut b = Reply::new(RequestStatus::Ok, "").to_bytes();
        b[6] = 99;
        assert_eq!(parse_reply(&b), Err(RequestError::Status(99)));
        for s in RequestStatus::ALL {
            assert_eq!(RequestStatus::try_from(s as u16), Ok(s));
        }
    }
}
