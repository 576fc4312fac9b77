//! # vitalring-linux
//!
//! The Linux platform of vitalring: a sealed `memfd` ring, the control-socket handshake that
//! passes it to readers with `SCM_RIGHTS`, the producer, and
//! [`SharedMemorySensorDataSource`].
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`wire`] | the handshake messages `Hello` / `ControlMessage`, pure parsers |
//! | [`ring`] | memfd creation, seals, `fstat` facts |
//! | [`map`] | read-write (producer) and read-only (reader) mappings as core regions (`unsafe`) |
//! | [`fdpass`] | `recvmsg` with `SCM_RIGHTS` that never leaks a descriptor (`unsafe`) |
//! | [`paths`], [`token`] | default socket paths, the private directory, channel-name and metadata rules, token files |
//! | [`request`] | requests beside the handshake: `describe`, `stats`, producer commands; pure parsers |
//! | [`discovery`] | the channels of this user: sockets in the default directory, probed with `describe` |
//! | [`server`] | the control server: one event loop, peer credentials, token, deadlines, pending-connection caps |
//! | [`client`] | the reader side of the handshake: server authentication and every check before `mmap` |
//! | [`process`] | `PR_SET_DUMPABLE` 0 for producers and readers |
//! | [`producer`] | [`SharedMemoryProducer`]: ring + writer + server |
//! | [`source`] | [`SharedMemorySensorDataSource`]: handshake, polling thread, watchdog, reattach |
//! | [`status`] | per-reader status pages (memfd, mapping) and the shared futex (`unsafe`) |
//! | [`clock`] | wall clock (heartbeat values) and monotonic clock (reader timing) |
//!
//! Invariants:
//! - a reader maps a ring only `PROT_READ`, and only after checking that the memfd carries
//!   `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL` and is exactly the
//!   announced size — so it can neither write the ring nor be made to fault by truncation;
//! - mapped bytes are only touched through the core's atomics (no `&[u8]` of shared memory);
//! - every descriptor received is owned at once and closed on every failure path;
//! - nothing on a reader's per-frame path allocates.
//!
//! See `docs/handshake.md` and `docs/security.md`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod clock;
pub mod discovery;
pub mod fdpass;
pub mod lease;
pub mod map;
pub mod paths;
pub mod process;
pub mod producer;
pub mod request;
pub mod ring;
pub mod server;
pub mod source;
pub mod status;
pub mod token;
pub mod wire;

pub use client::{
    connect, connect_leased, connect_retrying, connect_with, Attached, ConnectOptions,
    HandshakeError, Lease, ReceivedRing,
};
pub use discovery::{list_channels, ChannelEntry, Liveness};
pub use lease::{ReaderInfo, ReaderTable, WakeSet};
pub use map::{RoMapping, RwMapping};
pub use producer::{Producer, ProducerConfig, ProducerError, SharedMemoryProducer};
pub use request::{
    ChannelMeta, CommandError, Describe, Reply, Request, RequestKind, RequestStatus, Stats,
};
pub use server::{ControlServer, ListenError, ServeError, ServeEvent, ServerConfig};
pub use source::{LiveReader, Polling, SharedMemorySensorDataSource, SourceConfig, SourceError};
pub use token::{Token, TokenError};
pub use wire::{ControlMessage, Hello, Status, WireError};
