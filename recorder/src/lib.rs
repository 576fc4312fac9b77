//! # vitalring-recorder
//!
//! Recordings of a vitalring channel in HDF5: the recorder (one more reader, built on the
//! core's reader session through [`vitalring_linux::LiveReader`]), and reading a recording
//! back for replay and export. The HDF5 dependency is contained in this crate (module
//! [`h5`]); everything else in the workspace builds without it.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`layout`] | every dataset and attribute name, the fill values, the event kinds |
//! | [`capture`] | the session [`Sink`](vitalring_core::session::Sink) that turns frames and events into rows, in memory |
//! | [`h5`] | HDF5: create in SWMR mode, append + flush, clean close, read back |
//! | [`record`] | the recording loop: poll, flush at least every second, rotate, close cleanly |
//! | [`replay`] | the frames of a recording in publication order, rebuilt as records |
//! | [`source`] | [`ReplayDataSource`]: a recording as an in-process `SensorDataSource` |
//! | [`export`] | PhysioNet WFDB (header + format-16 signal file) and CSV |
//!
//! The file layout and its guarantees are in `docs/recording.md`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod capture;
pub mod export;
#[allow(unsafe_code)]
pub mod h5;
pub mod layout;
pub mod record;
pub mod replay;
pub mod source;

pub use capture::{Capture, Captured};
pub use h5::{read, H5Error, H5Recording, Recording, Tables};
pub use record::{record, RecordConfig, RecordError, RecordSummary};
pub use source::{ReplayDataSource, ReplaySourceError};
