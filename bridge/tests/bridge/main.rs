//! The bridge's integration tests, one binary (each test binary links Zenoh): real processes
//! on loopback — `vitalring sim`/`monitor`/`dump` from the main workspace's build and
//! `vitalring-bridge` from this one — with explicit endpoints and scouting off.

mod cli_errors;
mod common;
mod end_to_end;
mod forged;
mod python_client;
mod restart;
