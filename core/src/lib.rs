//! # vitalring-core
//!
//! The portable heart of vitalring: the bytes a producer and its readers share, and the rules
//! for writing and reading them. `no_std`, no allocation, no clock reads, no platform code.
//!
//! Layers, bottom up:
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`layout`] | wire format v1: ring header, slot header, geometry, header validation |
//! | [`crc`] | CRC-32/ISO-HDLC and the zero-run extension the slot checksum uses |
//! | [`region`] | the shared region as atomics, and the [`region::Region`] trait platforms implement |
//! | [`frame`] | the checks that make a committed slot a valid frame; a byte-exact slot encoder |
//! | [`ring`] | a region whose header passed validation — the only thing a reader attaches to |
//! | [`slot`] | the seqlock protocol: [`slot::Writer`] and [`slot::Reader`] (yields transport-checked frames) |
//! | [`vitals`], [`payload`] | records, ranges, JSON and binary codecs |
//! | [`watchdog`], [`backoff`] | stall detection with time passed in; the polling schedule |
//! | [`session`] | the reader service: decode, watchdog, header and `writeIndex` checks, coalesced reports, counters across producer epochs |
//! | [`source`] | the `SensorDataSource` contract and its events |
//! | [`time`] | monotonic and wall-clock time as distinct types |
//!
//! Invariants a reader guarantees: a frame is delivered only if its slot was committed for the
//! expected index before and after the copy, its CRC, sequence number, size, zero bytes, type
//! and encoding check out, and its payload decodes with every value in range. Every index the
//! reader moves past is counted as delivered, dropped or rejected.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod atomics;
pub mod backoff;
pub mod crc;
pub mod frame;
pub mod layout;
pub mod payload;
mod reader;
pub mod region;
pub mod ring;
pub mod session;
pub mod slot;
pub mod source;
pub mod static_ring;
pub mod time;
pub mod vitals;
pub mod wake;
pub mod watchdog;
mod writer;

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;

pub use layout::{Encoding, FrameType, Geometry};
pub use payload::Record;
pub use ring::Ring;
