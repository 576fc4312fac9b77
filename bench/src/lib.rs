//! `vitalring bench`: cross-process benchmark of the vitalring ring against iceoryx2
//! publish-subscribe and a Unix-domain `SOCK_SEQPACKET` baseline.
//!
//! For each transport and frame size (64, 256, 4096 bytes by default) it measures, with the
//! writer and the reader in two separate processes pinned to two different CPUs:
//!
//! * **one-way latency** (writer stamp → reader delivery, `CLOCK_MONOTONIC` in both
//!   processes) as an HDR histogram, with a busy-polling reader and with a backoff reader.
//!   The writer paces frames with random gaps (10–30 µs busy, 100–300 µs backoff, so the
//!   backoff reader really reaches its sleeping stage between frames); gaps never shrink to
//!   catch up, so the writer creates no queue of its own;
//! * **maximum sustained throughput**: the writer sends flat out for a fixed time, the reader
//!   busy-polls; frames/s, bytes/s and the frames lost (sent − delivered);
//! * **reader CPU** at the clinical rate (60 vitals + 3 × 25 waveform = 135 frames/s, evenly
//!   spaced), backoff reader, from `getrusage(RUSAGE_SELF)` over the measured window.
//!
//! Warm-up frames are sent first and discarded by the reader. The processes are the current
//! executable re-run with [`PEER_ARG`] (see [`peer_main`]); results come back as JSON lines on
//! the peers' stdout. Add a transport by implementing [`transport::BenchTransport`]; the
//! vitalring hook is [`transport::vitalring`].
//!
//! ```no_run
//! // in main():
//! let args: Vec<String> = std::env::args().collect();
//! if args.get(1).map(String::as_str) == Some(vitalring_bench::PEER_ARG) {
//!     std::process::exit(vitalring_bench::peer_main(&args));
//! }
//! let opts = vitalring_bench::BenchOptions { quick: true, ..Default::default() };
//! let report = vitalring_bench::run(&opts).unwrap();
//! print!("{report}");
//! ```

mod error;
mod harness;
mod options;
pub mod peer;
mod report;
pub mod transport;

pub use error::BenchError;
pub use harness::run;
pub use options::{
    BenchOptions, CpuParams, LatencyParams, Params, PayloadMode, PollMode, Scenario, TestKind,
    ThroughputParams, Transport, DEFAULT_SIZES, USAGE, VITALS_PAYLOAD_LEN,
};
pub use peer::{monotonic_ns, peer_main, BENCH_HEADER_LEN, PEER_ARG};
pub use report::{
    CpuFigures, HostInfo, LatencySummary, Report, RunRecord, Status, ThroughputFigures,
    REPORT_SCHEMA,
};
pub use transport::Backoff;
