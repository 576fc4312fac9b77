//! Puts `memory.x` where cortex-m-rt's `link.x` looks for it, with the RAM size of the QEMU
//! machine the target runs on: 16 KiB on the Cortex-M0 (`microbit`, all it has), 64 KiB on the
//! Cortex-M4F (`mps2-an386` has 4 MiB). The hard-float JSON build needs more than the 14 KiB of
//! stack that 16 KiB leaves beside the ring (it locks up with a stack overflow there; see
//! docs/firmware.md), so the M4F gets room to show it passes; the stack the decoder needs is
//! an open cost.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    let ram = if target.starts_with("thumbv6m") {
        "16K"
    } else {
        "64K"
    };
    let template = include_str!("memory.x.in");
    fs::write(out.join("memory.x"), template.replace("@RAM@", ram)).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x.in");
    println!("cargo:rerun-if-changed=build.rs");
}
