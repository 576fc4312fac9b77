//! The conformance suite against the in-process mock platform.

vitalring_tests::conformance_tests!(vitalring_tests::conformance::MockPlatform);
