//! Integration-test support.

pub mod conformance;
pub mod conformance_cases;
pub mod conformance_header;
pub mod source_conformance;
