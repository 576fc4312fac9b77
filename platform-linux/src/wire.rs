//! Handshake messages on the control socket: [`Hello`] (client → server) and
//! [`ControlMessage`] (server → client). Fixed-size, little-endian, `#[repr(C)]`; every size and
//! offset is pinned below and restated in `docs/handshake.md`.
//!
//! The parsers ([`Hello::parse`], [`ControlMessage::parse`]) are pure functions of a byte
//! slice — the fuzz targets call them — and are the one place where bytes from another process
//! become a handshake value. After a successful parse no accessor can panic.
//!
//! ```text
//! Hello (144 bytes)                       ControlMessage (40 bytes)
//!   0 magic      u32  'VRHL'                0 magic            u32  'VRCM'
//!   4 version    u16  1                     4 version          u16  1
//!   6 flags      u16  bit 0: status page   6 status           u16  (Status)
//!   8 channel    [u8; 64] NUL-padded        8 ringBufferSize   u64
//!  72 token      [u8; 64] zero-padded      16 frameSizeBytes   u32
//! 136 token_len  u32  0..=64               20 frameCount       u32
//! 140 reserved   u32  0                    24 epoch            u64
//!                                          32 flags            u32  bit 0: status page sent
//!                                          36 reserved         u32  0
//! ```

use core::mem::{offset_of, size_of};

use vitalring_core::layout::{Geometry, GeometryError};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `Hello::magic`: the bytes `"VRHL"` read as a little-endian `u32`.
pub const HELLO_MAGIC: u32 = u32::from_le_bytes(*b"VRHL");
/// `ControlMessage::magic`: the bytes `"VRCM"` read as a little-endian `u32`.
pub const CONTROL_MAGIC: u32 = u32::from_le_bytes(*b"VRCM");
/// `Hello::flags` bit 0: "I can use a status page" (and keep this connection open as my lease).
/// A client that sends 0 (every version-1 client written before it) is served as before.
pub const HELLO_STATUS_PAGE: u16 = 1;
/// Every `Hello::flags` bit this version knows.
pub const HELLO_KNOWN_FLAGS: u16 = HELLO_STATUS_PAGE;
/// `ControlMessage::flags` bit 0: a status page memfd follows the ring memfd in the same
/// `SCM_RIGHTS` message, and the connection stays open as the reader's lease. Only sent in an
/// `Ok` reply to a Hello that set [`HELLO_STATUS_PAGE`].
pub const REPLY_STATUS_PAGE: u32 = 1;
/// The handshake version this crate speaks (independent of the ring's wire-format version).
pub const HANDSHAKE_VERSION: u16 = 1;
/// Size of [`Hello`] on the wire.
pub const HELLO_SIZE: usize = 144;
/// Size of [`ControlMessage`] on the wire.
pub const CONTROL_SIZE: usize = 40;
/// Longest channel name (bytes).
pub const MAX_CHANNEL_LEN: usize = 64;
/// Longest token (bytes).
pub const MAX_TOKEN_LEN: usize = 64;

/// Client → server: "I want the ring of `channel`, here is my token".
#[derive(Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct Hello {
    /// [`HELLO_MAGIC`].
    pub magic: u32,
    /// [`HANDSHAKE_VERSION`].
    pub version: u16,
    /// [`HELLO_STATUS_PAGE`] or 0; other bits are refused.
    pub flags: u16,
    /// Channel name: 1..=64 bytes of `[A-Za-z0-9._-]`, NUL-padded.
    pub channel: [u8; MAX_CHANNEL_LEN],
    /// Token bytes; bytes past `token_len` are zero.
    pub token: [u8; MAX_TOKEN_LEN],
    /// Token length, 0 (no token) ..= 64.
    pub token_len: u32,
    /// Zero.
    pub reserved: u32,
}

const _: () = {
    assert!(size_of::<Hello>() == HELLO_SIZE);
    assert!(offset_of!(Hello, magic) == 0);
    assert!(offset_of!(Hello, version) == 4);
    assert!(offset_of!(Hello, flags) == 6);
    assert!(offset_of!(Hello, channel) == 8);
    assert!(offset_of!(Hello, token) == 72);
    assert!(offset_of!(Hello, token_len) == 136);
    assert!(offset_of!(Hello, reserved) == 140);
};

impl core::fmt::Debug for Hello {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The token is a secret: never print it.
        f.debug_struct("Hello")
            .field("magic", &format_args!("{:#010x}", self.magic))
            .field("version", &self.version)
            .field("flags", &self.flags)
            .field("channel", &self.channel_str())
            .field("token_len", &self.token_len)
            .finish_non_exhaustive()
    }
}

/// Server → client: the outcome of a handshake and, on success, the ring's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct ControlMessage {
    /// [`CONTROL_MAGIC`].
    pub magic: u32,
    /// [`HANDSHAKE_VERSION`] of the server.
    pub version: u16,
    /// A [`Status`] code.
    pub status: u16,
    /// Length of the memfd and of the mapping: `80 + frameCount * frameSizeBytes` (0 on failure).
    pub ring_buffer_size: u64,
    /// The ring's `frameSizeBytes` (0 on failure).
    pub frame_size_bytes: u32,
    /// The ring's `frameCount` (0 on failure).
    pub frame_count: u32,
    /// The ring's producer epoch (0 on failure).
    pub epoch: u64,
    /// Zero.
    pub flags: u32,
    /// Zero.
    pub reserved: u32,
}

const _: () = {
    assert!(size_of::<ControlMessage>() == CONTROL_SIZE);
    assert!(offset_of!(ControlMessage, magic) == 0);
    assert!(offset_of!(ControlMessage, version) == 4);
    assert!(offset_of!(ControlMessage, status) == 6);
    assert!(offset_of!(ControlMessage, ring_buffer_size) == 8);
    assert!(offset_of!(ControlMessage, frame_size_bytes) == 16);
    assert!(offset_of!(ControlMessage, frame_count) == 20);
    assert!(offset_of!(ControlMessage, epoch) == 24);
    assert!(offset_of!(ControlMessage, flags) == 32);
    assert!(offset_of!(ControlMessage, reserved) == 36);
};

/// The `status` of a [`ControlMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Status {
    /// The memfd follows in `SCM_RIGHTS`.
    Ok = 0,
    /// The Hello's magic was wrong (not a vitalring client).
    BadMagic = 1,
    /// The Hello's version is not one the server speaks.
    BadVersion = 2,
    /// The Hello was short, late, or had non-zero reserved bits, a bad channel or token length.
    Malformed = 3,
    /// The server does not serve that channel.
    UnknownChannel = 4,
    /// A token is required and the one given is missing or wrong.
    BadToken = 5,
    /// The peer's uid is not allowed.
    UidNotAllowed = 6,
    /// Too many handshakes in progress; try again.
    Busy = 7,
    /// The server failed internally.
    Internal = 8,
}

impl Status {
    /// Lower-case description.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadMagic => "bad magic (not a vitalring client)",
            Self::BadVersion => "unsupported handshake version",
            Self::Malformed => "malformed or incomplete hello",
            Self::UnknownChannel => "unknown channel",
            Self::BadToken => "missing or wrong token",
            Self::UidNotAllowed => "uid not allowed",
            Self::Busy => "server busy",
            Self::Internal => "internal server error",
        }
    }
}

impl TryFrom<u16> for Status {
    type Error = u16;
    /// Unknown codes come back as the error; they are never cast.
    fn try_from(raw: u16) -> Result<Self, u16> {
        Ok(match raw {
            0 => Self::Ok,
            1 => Self::BadMagic,
            2 => Self::BadVersion,
            3 => Self::Malformed,
            4 => Self::UnknownChannel,
            5 => Self::BadToken,
            6 => Self::UidNotAllowed,
            7 => Self::Busy,
            8 => Self::Internal,
            other => return Err(other),
        })
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why bytes are not a valid handshake message (the error of the pure parsers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the message.
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
    /// Non-zero flags or reserved fields.
    Reserved,
    /// Channel name empty, not NUL-padded, or with bytes outside `[A-Za-z0-9._-]`.
    Channel,
    /// `token_len` above 64, or token bytes past it not zero.
    Token,
    /// Unknown status code.
    Status(u16),
    /// A success reply with a geometry that breaks the v1 rules.
    Geometry(GeometryError),
    /// A success reply whose `ringBufferSize` is not `80 + frameCount * frameSizeBytes`.
    RingSize {
        /// What the reply says.
        stated: u64,
        /// What its geometry needs.
        expected: u64,
    },
    /// A success reply with epoch 0.
    Epoch,
}

impl WireError {
    /// The status a server answers a Hello with this error.
    pub const fn status(&self) -> Status {
        match self {
            Self::Magic(_) => Status::BadMagic,
            Self::Version(_) => Status::BadVersion,
            _ => Status::Malformed,
        }
    }
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated { len, needed } => {
                write!(f, "message truncated: {len} of {needed} bytes")
            }
            Self::Magic(m) => write!(f, "bad magic {m:#010x}"),
            Self::Version(v) => write!(
                f,
                "unsupported handshake version {v} (expected {HANDSHAKE_VERSION})"
            ),
            Self::Reserved => write!(f, "non-zero flags or reserved field"),
            Self::Channel => write!(f, "invalid channel name"),
            Self::Token => write!(f, "invalid token length or padding"),
            Self::Status(s) => write!(f, "unknown status code {s}"),
            Self::Geometry(e) => write!(f, "bad geometry in reply: {e}"),
            Self::RingSize { stated, expected } => write!(
                f,
                "reply states ring size {stated}, its geometry needs {expected}"
            ),
            Self::Epoch => write!(f, "reply has epoch 0"),
        }
    }
}

impl std::error::Error for WireError {}

/// Whether `name` is a valid channel name: 1..=64 bytes of `[A-Za-z0-9._-]`, not starting with
/// a dot or a dash ([`crate::paths::check_channel`] holds the rule).
pub fn valid_channel(name: &str) -> bool {
    crate::paths::check_channel(name).is_ok()
}

/// Reads the fixed-size prefix of `bytes` as a `T`.
fn prefix<T: FromBytes + KnownLayout + Immutable + Copy>(bytes: &[u8]) -> Result<T, WireError> {
    T::read_from_prefix(bytes)
        .map(|(v, _)| v)
        .map_err(|_| WireError::Truncated {
            len: bytes.len(),
            needed: size_of::<T>(),
        })
}

impl Hello {
    /// A Hello for `channel` with an optional token.
    ///
    /// # Errors
    /// [`WireError::Channel`] for an invalid channel name, [`WireError::Token`] for a token
    /// longer than 64 bytes.
    pub fn new(channel: &str, token: Option<&[u8]>) -> Result<Self, WireError> {
        if !valid_channel(channel) {
            return Err(WireError::Channel);
        }
        let mut hello = Self {
            magic: HELLO_MAGIC,
            version: HANDSHAKE_VERSION,
            flags: 0,
            channel: [0; MAX_CHANNEL_LEN],
            token: [0; MAX_TOKEN_LEN],
            token_len: 0,
            reserved: 0,
        };
        hello.channel[..channel.len()].copy_from_slice(channel.as_bytes());
        if let Some(t) = token {
            if t.len() > MAX_TOKEN_LEN {
                return Err(WireError::Token);
            }
            hello.token[..t.len()].copy_from_slice(t);
            hello.token_len = t.len() as u32;
        }
        Ok(hello)
    }

    /// Parses and validates a Hello from the first [`HELLO_SIZE`] bytes of `bytes` (extra
    /// bytes are ignored). Magic is checked first, then version, so a server can answer early
    /// and precisely.
    ///
    /// # Errors
    /// [`WireError`] names the first check that failed.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        Self::check_prefix(bytes)?;
        let hello: Self = prefix(bytes)?;
        if hello.flags & !HELLO_KNOWN_FLAGS != 0 || hello.reserved != 0 {
            return Err(WireError::Reserved);
        }
        let name_len = hello
            .channel
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(MAX_CHANNEL_LEN);
        let (name, pad) = hello.channel.split_at(name_len);
        if pad.iter().any(|b| *b != 0) {
            return Err(WireError::Channel);
        }
        match core::str::from_utf8(name) {
            Ok(s) if valid_channel(s) => {}
            _ => return Err(WireError::Channel),
        }
        let tlen = hello.token_len as usize;
        if tlen > MAX_TOKEN_LEN || hello.token[tlen..].iter().any(|b| *b != 0) {
            return Err(WireError::Token);
        }
        Ok(hello)
    }

    /// Checks magic and version in as many leading bytes as are present (a server calls this
    /// on a partial read to refuse a foreign client without waiting for all 144 bytes).
    ///
    /// # Errors
    /// [`WireError::Magic`] or [`WireError::Version`].
    pub fn check_prefix(bytes: &[u8]) -> Result<(), WireError> {
        if let Some(m) = bytes.get(0..4) {
            let magic = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
            if magic != HELLO_MAGIC {
                return Err(WireError::Magic(magic));
            }
        }
        if let Some(v) = bytes.get(4..6) {
            let version = u16::from_le_bytes([v[0], v[1]]);
            if version != HANDSHAKE_VERSION {
                return Err(WireError::Version(version));
            }
        }
        Ok(())
    }

    /// The channel name (valid after [`Hello::parse`]; `""` if not).
    pub fn channel_str(&self) -> &str {
        let n = self
            .channel
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(MAX_CHANNEL_LEN);
        core::str::from_utf8(&self.channel[..n]).unwrap_or("")
    }

    /// The token bytes (empty when none).
    pub fn token_bytes(&self) -> &[u8] {
        let n = (self.token_len as usize).min(MAX_TOKEN_LEN);
        &self.token[..n]
    }

    /// The same Hello asking for a status page ([`HELLO_STATUS_PAGE`]).
    #[must_use]
    pub fn with_status_page(mut self) -> Self {
        self.flags |= HELLO_STATUS_PAGE;
        self
    }

    /// Whether the client asked for a status page.
    pub fn wants_status_page(&self) -> bool {
        self.flags & HELLO_STATUS_PAGE != 0
    }

    /// The message's bytes.
    pub fn to_bytes(&self) -> [u8; HELLO_SIZE] {
        let mut out = [0u8; HELLO_SIZE];
        out.copy_from_slice(self.as_bytes());
        out
    }
}

impl ControlMessage {
    /// A success reply for a ring of `geometry` and `epoch`.
    pub fn ok(geometry: Geometry, epoch: u64) -> Self {
        Self {
            magic: CONTROL_MAGIC,
            version: HANDSHAKE_VERSION,
            status: Status::Ok as u16,
            ring_buffer_size: geometry.region_len() as u64,
            frame_size_bytes: geometry.frame_size(),
            frame_count: geometry.frame_count(),
            epoch,
            flags: 0,
            reserved: 0,
        }
    }

    /// A failure reply (all ring fields zero).
    pub fn failure(status: Status) -> Self {
        Self {
            magic: CONTROL_MAGIC,
            version: HANDSHAKE_VERSION,
            status: status as u16,
            ring_buffer_size: 0,
            frame_size_bytes: 0,
            frame_count: 0,
            epoch: 0,
            flags: 0,
            reserved: 0,
        }
    }

    /// Parses and validates a reply from the first [`CONTROL_SIZE`] bytes of `bytes`. For a
    /// success reply the geometry, ring size and epoch are checked too (use
    /// [`ControlMessage::geometry`] afterwards).
    ///
    /// # Errors
    /// [`WireError`] names the first check that failed.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let msg: Self = prefix(bytes)?;
        if msg.magic != CONTROL_MAGIC {
            return Err(WireError::Magic(msg.magic));
        }
        if msg.version != HANDSHAKE_VERSION {
            return Err(WireError::Version(msg.version));
        }
        let status = Status::try_from(msg.status).map_err(WireError::Status)?;
        let known = if status == Status::Ok {
            REPLY_STATUS_PAGE
        } else {
            0
        };
        if msg.flags & !known != 0 || msg.reserved != 0 {
            return Err(WireError::Reserved);
        }
        if status == Status::Ok {
            let g = Geometry::new(msg.frame_size_bytes, msg.frame_count)
                .map_err(WireError::Geometry)?;
            let expected = g.region_len() as u64;
            if msg.ring_buffer_size != expected {
                return Err(WireError::RingSize {
                    stated: msg.ring_buffer_size,
                    expected,
                });
            }
            if msg.epoch == 0 {
                return Err(WireError::Epoch);
            }
        }
        Ok(msg)
    }

    /// The same reply announcing a status page ([`REPLY_STATUS_PAGE`]).
    #[must_use]
    pub fn with_status_page(mut self) -> Self {
        self.flags |= REPLY_STATUS_PAGE;
        self
    }

    /// Whether a status page memfd follows the ring's.
    pub fn has_status_page(&self) -> bool {
        self.flags & REPLY_STATUS_PAGE != 0
    }

    /// The status (a parsed message always has a known one; unknown codes read as `Internal`).
    pub fn status(&self) -> Status {
        Status::try_from(self.status).unwrap_or(Status::Internal)
    }

    /// The ring's geometry, for a valid success reply.
    pub fn geometry(&self) -> Option<Geometry> {
        Geometry::new(self.frame_size_bytes, self.frame_count).ok()
    }

    /// The message's bytes.
    pub fn to_bytes(&self) -> [u8; CONTROL_SIZE] {
        let mut out = [0u8; CONTROL_SIZE];
        out.copy_from_slice(self.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn geometry() -> Geometry {
        Geometry::new(256, 16).unwrap()
    }

    #[test]
    fn magics_spell_their_names() {
        assert_eq!(&HELLO_MAGIC.to_le_bytes(), b"VRHL");
        assert_eq!(&CONTROL_MAGIC.to_le_bytes(), b"VRCM");
    }

    #[test]
    fn hello_round_trip() {
        let h = Hello::new("vitals-1", Some(b"s3cret")).unwrap();
        let bytes = h.to_bytes();
        assert_eq!(bytes.len(), HELLO_SIZE);
        assert_eq!(&bytes[0..4], b"VRHL");
        assert_eq!(&bytes[8..16], b"vitals-1");
        assert_eq!(bytes[136], 6);
        let p = Hello::parse(&bytes).unwrap();
        assert_eq!(p, h);
        assert_eq!(p.channel_str(), "vitals-1");
        assert_eq!(p.token_bytes(), b"s3cret");
        assert!(
            !format!("{p:?}").contains("s3cret"),
            "debug hides the token"
        );
        // A maximal channel name with no NUL at all is valid.
        let long = "a".repeat(64);
        let h = Hello::new(&long, None).unwrap();
        assert_eq!(Hello::parse(&h.to_bytes()).unwrap().channel_str(), long);
    }

    #[test]
    fn hello_rejects_each_defect() {
        let good = Hello::new("ch", None).unwrap().to_bytes();
        for n in [0usize, 1, 3, 4, 6, 100, 143] {
            assert_eq!(
                Hello::parse(&good[..n]),
                Err(WireError::Truncated {
                    len: n,
                    needed: HELLO_SIZE
                })
            );
        }
        assert_eq!(
            Hello::parse(b"test\n"),
            Err(WireError::Magic(u32::from_le_bytes(*b"test")))
        );
        let mut b = good;
        b[4] = 2;
        assert_eq!(Hello::parse(&b), Err(WireError::Version(2)));
        assert_eq!(Hello::check_prefix(&b[..6]), Err(WireError::Version(2)));
        assert_eq!(Hello::check_prefix(&good[..3]), Ok(()));
        let mut b = good;
        b[6] = 2;
        assert_eq!(Hello::parse(&b), Err(WireError::Reserved));
        let mut b = good;
        b[6] = 1;
        assert!(Hello::parse(&b).unwrap().wants_status_page());
        assert!(!Hello::parse(&good).unwrap().wants_status_page());
        let mut b = good;
        b[141] = 1;
        assert_eq!(Hello::parse(&b), Err(WireError::Reserved));
        let mut b = good;
        b[8] = 0;
        assert_eq!(Hello::parse(&b), Err(WireError::Channel), "empty name");
        let mut b = good;
        b[20] = b'x';
        assert_eq!(Hello::parse(&b), Err(WireError::Channel), "junk after NUL");
        let mut b = good;
        b[9] = b'/';
        assert_eq!(Hello::parse(&b), Err(WireError::Channel), "slash");
        let mut b = good;
        b[136] = 65;
        assert_eq!(Hello::parse(&b), Err(WireError::Token));
        let mut b = good;
        b[72] = 1;
        assert_eq!(Hello::parse(&b), Err(WireError::Token), "token past len");
        assert_eq!(Hello::new("../x", None), Err(WireError::Channel));
        assert_eq!(Hello::new("ok", Some(&[1; 65])), Err(WireError::Token));
        // Extra bytes after the message are ignored.
        let mut long = good.to_vec();
        long.extend_from_slice(b"trailing");
        assert!(Hello::parse(&long).is_ok());
    }

    #[test]
    fn control_round_trip_and_each_defect() {
        let ok = ControlMessage::ok(geometry(), 42);
        let bytes = ok.to_bytes();
        assert_eq!(&bytes[0..4], b"VRCM");
        assert_eq!(ControlMessage::parse(&bytes), Ok(ok));
        assert_eq!(ok.geometry(), Some(geometry()));
        assert_eq!(ok.ring_buffer_size, 80 + 256 * 16);
        let fail = ControlMessage::failure(Status::BadToken);
        assert_eq!(
            ControlMessage::parse(&fail.to_bytes()).unwrap().status(),
            Status::BadToken
        );
        for n in [0usize, 7, 39] {
            assert!(matches!(
                ControlMessage::parse(&bytes[..n]),
                Err(WireError::Truncated { .. })
            ));
        }
        let mut b = ok;
        b.magic = 0;
        assert_eq!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::Magic(0))
        );
        let mut b = ok;
        b.version = 9;
        assert_eq!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::Version(9))
        );
        let mut b = ok;
        b.status = 99;
        assert_eq!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::Status(99))
        );
        let mut b = ok;
        b.reserved = 1;
        assert_eq!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::Reserved)
        );
        let mut b = ok;
        b.flags = 2;
        assert_eq!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::Reserved)
        );
        assert!(ControlMessage::parse(ok.with_status_page().as_bytes())
            .unwrap()
            .has_status_page());
        let mut b = ControlMessage::failure(Status::Busy);
        b.flags = REPLY_STATUS_PAGE;
        assert_eq!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::Reserved),
            "a status page only comes with a ring"
        );
        let mut b = ok;
        b.frame_count = 12;
        assert!(matches!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::Geometry(_))
        ));
        let mut b = ok;
        b.ring_buffer_size += 8;
        assert!(matches!(
            ControlMessage::parse(b.as_bytes()),
            Err(WireError::RingSize { .. })
        ));
        let mut b = ok;
        b.epoch = 0;
        assert_eq!(ControlMessage::parse(b.as_bytes()), Err(WireError::Epoch));
        for code in 0..=8u16 {
            assert_eq!(Status::try_from(code).map(|s| s as u16), Ok(code));
        }
        assert_eq!(Status::try_from(9), Err(9));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Hello::parse(&bytes);
            let _ = Hello::check_prefix(&bytes);
            let _ = ControlMessage::parse(&bytes);
        }

        #[test]
        fn parsed_hellos_round_trip(bytes in proptest::collection::vec(any::<u8>(), HELLO_SIZE..=HELLO_SIZE)) {
            if let Ok(h) = Hello::parse(&bytes) {
                prop_assert_eq!(&h.to_bytes()[..], &bytes[..]);
                prop_assert!(valid_channel(h.channel_str()));
            }
        }

        #[test]
        fn mutated_valid_hello_never_panics(idx in 0usize..HELLO_SIZE, val in any::<u8>()) {
            let mut b = Hello::new("vitals", Some(b"tok")).unwrap().to_bytes();
            b[idx] = val;
            if let Ok(h) = Hello::parse(&b) {
                prop_assert!(valid_channel(h.channel_str()));
                prop_assert!(h.token_bytes().len() <= MAX_TOKEN_LEN);
            }
        }
    }
}
