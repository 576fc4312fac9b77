//! The vitalring core on a Cortex-M: a ring in a `static`, a writer and a reader over it, every
//! value and count checked, the verdict returned through semihosting (exit status 0 = pass).
//!
//! Build and run under QEMU (see `docs/firmware.md`):
//!
//! ```sh
//! cd firmware && cargo run --release                          # Cortex-M4F, mps2-an386
//! cd firmware && cargo run --release --target thumbv6m-none-eabi   # Cortex-M0, microbit
//! ```
//!
//! Features `writer`, `reader` and `json` (all on by default) select what is linked, so the
//! footprint of each part can be measured (`.ci/firmware.sh`).
#![no_std]
#![no_main]
#![deny(unsafe_code)]
// The single-role builds (footprint probes) use only part of the adapter and the checks.
#![cfg_attr(
    not(all(feature = "writer", feature = "reader")),
    allow(dead_code, unused_imports)
)]

mod ring_api;
mod scenario;

// Linked for its single-core critical-section implementation (the defmt logger takes one).
use cortex_m as _;
use cortex_m_rt::entry;
// The defmt global logger: frames go to the host's stdout through semihosting.
use defmt_semihosting as _;

/// The ring: zeros until the writer creates it, so it lives in `.bss`. On an AMP SoC this
/// static would carry a `#[link_section]` naming the RAM the Linux side maps.
#[cfg(any(feature = "writer", feature = "reader"))]
static RING: ring_api::Ring = ring_api::Ring::new();

#[entry]
fn main() -> ! {
    #[cfg(any(feature = "writer", feature = "reader"))]
    let passed = scenario::run(&RING);
    #[cfg(not(any(feature = "writer", feature = "reader")))]
    let passed = scenario::run();
    semihosting::process::exit(if passed { 0 } else { 1 })
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // The location only: formatting the message would link `core::fmt` into every build.
    match info.location() {
        Some(at) => defmt::error!("panic at {=str}:{=u32}", at.file(), at.line()),
        None => defmt::error!("panic"),
    }
    semihosting::process::exit(101)
}

// A fault must end the QEMU run with a failure rather than spin in the default handler.
#[allow(
    unsafe_code,
    reason = "cortex-m-rt declares exception handlers `unsafe fn`"
)]
#[cortex_m_rt::exception]
unsafe fn HardFault(_frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!("hard fault");
    semihosting::process::exit(102)
}
