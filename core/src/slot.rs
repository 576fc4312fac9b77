//! The slot protocol: one writer, any number of readers, no back-pressure.
//!
//! # The `commit` word (seqlock, seed 003's `commit_word` rule)
//!
//! Each slot's bytes `[4, 8)` hold `commit`. For the frame with ring index `i`,
//! `seq31 = i & 0x7FFF_FFFF`:
//!
//! | `commit` | meaning | who owns the slot's other bytes |
//! | --- | --- | --- |
//! | `0` (fresh ring) | never written | the writer |
//! | `seq31 << 1` (even) | frame `i` is being written | the writer; readers must not trust a copy |
//! | `(seq31 << 1) \| 1` (odd) | frame `i` is committed | readers may copy; the writer will next take the slot for `i + frameCount` |
//!
//! # Writer, frame `i` ([`Writer::publish`])
//! 1. store `commit = writing(i)` (Relaxed), then `fence(Release)`;
//! 2. store type, encoding, timestamp, sequence number, data size, payload, zero tail, CRC,
//!    padding (all Relaxed word stores);
//! 3. store `commit = committed(i)` (Release);
//! 4. store `writeIndex = i + 1` (Release); store `heartbeatTimestamp` (Relaxed).
//!
//! # Reader, its index `r` ([`Reader::poll`])
//! 1. load `writeIndex` (Acquire). `writeIndex == r`: nothing new. `writeIndex < r` (read twice):
//!    the index went backwards — an [`IndexFault`], the reader does not move. Above the
//!    session's plausibility limit: an [`IndexFault`] too. `writeIndex - r > frameCount`:
//!    lapped — count the skipped indices as dropped and jump per [`LapPolicy`];
//! 2. load `commit` (Acquire); anything but `committed(r)` means the slot was reused: drop `r`;
//! 3. copy the fields and payload (Relaxed loads), `fence(Acquire)`, re-load `commit`
//!    (Relaxed); a change means the copy may be torn: drop `r`;
//! 4. run [`crate::frame::check`] (size, CRC, zero bytes, sequence, type, encoding); a failure
//!    rejects `r` with a reason. The frame that passes goes up to the session, which checks its
//!    timestamp, decodes and range-checks its payload ([`crate::session`]).
//!
//! # `heartbeatTimestamp`
//! The writer stores its wall-clock ms after every commit and at least every 50 ms while idle
//! (Relaxed: a liveness hint). When it stops cleanly it stores
//! [`crate::layout::HEARTBEAT_STOPPED`] with Release ([`Writer::stop`]); a reader that loads
//! that value with Acquire sees the final `writeIndex` and drains every frame before it
//! reports "producer stopped".
//!
//! Every index the reader moves past is counted exactly once as delivered, dropped or rejected
//! ([`Counters::accounted`]).
//!
//! Why step 3 is sound: if any relaxed load in the copy observed a store the writer made after
//! its `fence(Release)` of step 1 (a later frame), the reader's `fence(Acquire)` synchronises
//! with that fence, so the re-load of `commit` observes at least `writing(j)` for the later
//! frame and differs from the first load.

pub use crate::reader::{
    Counters, DropCause, IndexFault, LapPolicy, Poll, Reader, RejectCounts, ScratchTooSmall, Start,
};
pub use crate::writer::{InitError, Writer, WriterConfig};
