//! Leases: the producer's view of the readers attached to its ring.
//!
//! A reader that asks for a status page in its Hello (`HELLO_STATUS_PAGE`) gets one, and keeps
//! its handshake connection open: that connection is its **lease**. The control server keeps
//! one entry per lease in a [`ReaderTable`]; when the connection closes (the reader exits,
//! crashes or is killed: the kernel closes its descriptors), the server drops the entry and the
//! page within one turn of its event loop. [`crate::ControlServer::readers`] and
//! [`crate::SharedMemoryProducer::readers`] return a snapshot, with each reader's position and
//! counters read from its page — untrusted bytes, parsed by
//! [`vitalring_core::wake::parse_status`] — and its lag computed against `writeIndex`.
//!
//! A version-1 reader that does not ask for a page (flags 0) is served the ring as before, its
//! connection is closed, and it does not appear here (the producer cannot see it).
//!
//! The writer side is [`WakeSet`]: the list of pages the writer checks after each commit. It is
//! refreshed only when the table changed (one atomic load per commit otherwise).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use vitalring_core::region::Region;
use vitalring_core::wake::{parse_status, wake_sleepers};

use crate::map::RoMapping;
use crate::status::{LinuxFutex, StatusMapping};

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
    /// Why the reader's status page could not be read (`None`: it parsed). A page that does
    /// not parse leaves the counters at 0; it is the reader's own page, so only its own row
    /// is affected.
    pub page_error: Option<String>,
}

struct Entry {
    info: ReaderInfo,
    page: Option<Arc<StatusMapping>>,
}

#[derive(Default)]
struct Inner {
    entries: Mutex<Vec<Entry>>,
    /// Bumped (Release) after every change of `pages`.
    generation: AtomicU64,
    pages: Mutex<Arc<[Arc<StatusMapping>]>>,
    next_id: AtomicU64,
    ring: Option<RoMapping>,
}

impl Inner {
    fn republish(&self, entries: &[Entry]) {
        let pages: Arc<[Arc<StatusMapping>]> =
            entries.iter().filter_map(|e| e.page.clone()).collect();
        *self.pages.lock().unwrap_or_else(PoisonError::into_inner) = pages;
        // SYNC: Release pairs with the Acquire load in `WakeSet::wake`: a writer that sees the
        // new generation finds the new list under the mutex anyway; the atomic only spares it
        // the lock on every commit.
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// The shared list of attached readers.
#[derive(Clone, Default)]
pub struct ReaderTable(Arc<Inner>);

impl core::fmt::Debug for ReaderTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReaderTable")
            .field("readers", &self.snapshot())
            .finish()
    }
}

impl ReaderTable {
    /// A table that computes lags against the ring mapped by `ring` (a read-only mapping of
    /// the producer's own memfd).
    pub(crate) fn with_ring(ring: Option<RoMapping>) -> Self {
        Self(Arc::new(Inner {
            ring,
            ..Inner::default()
        }))
    }

    /// A copy of the current list, in attach order, with positions and counters read from each
    /// reader's status page now.
    pub fn snapshot(&self) -> Vec<ReaderInfo> {
        let write_index = self
            .0
            .ring
            .as_ref()
            .map(|r| r.region().write_index(Ordering::Relaxed));
        let entries = self
            .0
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .map(|e| {
                let mut info = e.info.clone();
                if let Some(page) = &e.page {
                    match parse_status(&page.page().snapshot()) {
                        Ok(s) => {
                            info.position = s.position;
                            info.delivered = s.delivered;
                            info.dropped = s.dropped;
                            info.rejected = s.rejected;
                            info.sleeping = s.sleeps;
                            info.last_heartbeat_unix_ms = s.heartbeat.0;
                            info.lag = write_index.map_or(0, |w| w.saturating_sub(s.position));
                        }
                        Err(err) => info.page_error = Some(err.to_string()),
                    }
                }
                info
            })
            .collect()
    }

    /// Adds a reader; returns its id.
    pub(crate) fn attach(
        &self,
        pid: i32,
        uid: u32,
        attached_unix_ms: u64,
        page: Option<Arc<StatusMapping>>,
    ) -> u64 {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut entries = self
            .0
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        entries.push(Entry {
            info: ReaderInfo {
                id,
                pid,
                uid,
                attached_unix_ms,
                ..ReaderInfo::default()
            },
            page,
        });
        self.0.republish(&entries);
        id
    }

    /// Removes reader `id` (its lease ended) and frees its page (the writer drops its own
    /// reference at its next commit). Returns its last view.
    pub(crate) fn detach(&self, id: u64) -> Option<ReaderInfo> {
        let last = self.snapshot().into_iter().find(|r| r.id == id);
        let mut entries = self
            .0
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let i = entries.iter().position(|e| e.info.id == id)?;
        entries.remove(i);
        self.0.republish(&entries);
        last
    }

    /// Readers holding a lease now.
    pub fn len(&self) -> usize {
        self.0
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no reader holds a lease.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wakes every reader whose page says it sleeps, now (slow path: takes the lock; for the
    /// producer's stop mark).
    pub fn wake_now(&self) -> u32 {
        let pages = self
            .0
            .pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        wake_sleepers(pages.iter().map(|p| p.page()), &LinuxFutex)
    }

    /// The writer's handle on the readers' pages.
    pub fn wake_set(&self) -> WakeSet {
        WakeSet {
            table: self.clone(),
            seen: u64::MAX,
            pages: Arc::from([]),
        }
    }
}

/// The writer's side of the table: wakes readers that sleep, after a commit.
pub struct WakeSet {
    table: ReaderTable,
    seen: u64,
    pages: Arc<[Arc<StatusMapping>]>,
}

impl core::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WakeSet")
            .field("pages", &self.pages.len())
            .finish_non_exhaustive()
    }
}

impl WakeSet {
    /// After a commit or the stop mark: wakes every reader whose page says it sleeps. No system
    /// call when none does; no lock unless the table changed since the last call. Returns how
    /// many `FUTEX_WAKE`s were issued.
    #[inline]
    pub fn wake(&mut self) -> u32 {
        // SYNC: Acquire pairs with the Release increment in `Inner::republish`.
        let generation = self.table.0.generation.load(Ordering::Acquire);
        if generation != self.seen {
            self.pages = self
                .table
                .0
                .pages
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            self.seen = generation;
        }
        if self.pages.is_empty() {
            return 0;
        }
        wake_sleepers(self.pages.iter().map(|p| p.page()), &LinuxFutex)
    }
}
