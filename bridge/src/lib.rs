//! `vitalring-bridge` (library half of the binary): carries a vitalring channel to other hosts and back over Zenoh.
//!
//! | module | what |
//! | --- | --- |
//! | [`envelope`] | the versioned envelope every sample carries (pure parser, property-tested) |
//! | [`keys`] | the key layout `vitalring/<host>/<channel>/<stream>` |
//! | [`status`] | the status and describe JSON bodies |
//! | [`track`] | the importer's accounting: gaps, duplicates, foreign exporters (pure) |
//! | [`export`] | `export`: a `LiveReader` whose sink publishes |
//! | [`import`] | `import`: a subscriber that republishes into a `SharedMemoryProducer` |
//! | [`zconf`] | the Zenoh configuration from a file and flags |
//!
//! See `docs/bridge.md`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod args;
pub mod envelope;
pub mod export;
pub mod import;
pub mod keys;
pub mod report;
pub mod signals;
pub mod status;
pub mod track;
pub mod zconf;
