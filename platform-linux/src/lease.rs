//! Leases: the producer's view of the readers attached to its ring.
//!
//! The control server keeps one [`ReaderInfo`] per attached reader in a [`ReaderTable`];
//! [`crate::ControlServer::readers`] and [`crate::SharedMemoryProducer::readers`] return a
//! snapshot of it.

use std::sync::{Arc, Mutex, PoisonError};

/// One attached reader, as the producer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReaderInfo {
    /// Server-assigned id, unique for the life of the producer.
    pub id: u64,
    /// Peer pid (`SO_PEERCRED`).
    pub pid: i32,
    /// Peer uid (`SO_PEERCRED`).
    pub uid: u32,
    /// When the reader was handed the ring, ms since the Unix epoch.
    pub attached_unix_ms: u64,
    /// The next ring index the reader will read, as it last reported it.
    pub position: u64,
    /// `writeIndex − position` when the snapshot was taken (0 if the reader reports a position
    /// ahead of the writer).
    pub lag: u64,
    /// Frames the reader delivered, as it last reported them.
    pub delivered: u64,
    /// Frames the reader lost to overwrites, as it last reported them.
    pub dropped: u64,
    /// Frames the reader refused, as it last reported them.
    pub rejected: u64,
    /// Whether the reader sleeps (waits to be woken) rather than polls.
    pub sleeping: bool,
    /// The reader's last heartbeat, ms since the Unix epoch (0: none yet).
    pub last_heartbeat_unix_ms: u64,
}

/// The shared list of attached readers.
#[derive(Debug, Clone, Default)]
pub struct ReaderTable(Arc<Mutex<Vec<ReaderInfo>>>);

impl ReaderTable {
    /// A copy of the current list, in attach order.
    pub fn snapshot(&self) -> Vec<ReaderInfo> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
