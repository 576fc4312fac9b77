//! # vitalring-mock
//!
//! A deterministic, in-process platform for vitalring: everything the Linux platform provides,
//! minus processes, sockets and real time, plus a way to break things on purpose.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`region`] | [`MockRegion`]: a ring in owned atomics, a cheap-clone handle implementing core's `Region` |
//! | [`clock`] | [`ManualClock`]: monotonic ns and wall ms that only move when a test says so |
//! | [`fault`] | [`FaultInjector`]: bit flips, word pokes, torn writes, laps, header rewrites |
//! | [`source`] | [`MockSensorDataSource`]: a scripted producer + reader + watchdog behind core's `SensorDataSource` |
//! | [`model`] | a single-threaded simulation of writer steps, faults and reader polls with an oracle (proptest and fuzz drive it) |
//!
//! Nothing here reads a real clock, sleeps or spawns: the same script gives the same events on
//! every run (seed 001: "deterministic testing with predefined data").
//!
//! The fault injector is generic over any [`vitalring_core::region::Region`] with write access,
//! so the conformance suite uses it against the Linux producer mapping too.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod clock;
pub mod fault;
pub mod model;
pub mod region;
pub mod source;

pub use clock::ManualClock;
pub use fault::{FaultError, FaultInjector};
pub use region::MockRegion;
pub use source::{Fault, MockConfig, MockError, MockSensorDataSource, ScriptStep};
