//! Integration-test support.

pub mod conformance;
pub mod conformance_cases;
pub mod conformance_header;
