//! Integration-test support.

pub mod conformance;
pub mod conformance_cases;
