#!/usr/bin/env bash
# The firmware example (firmware/): build it for Cortex-M, run it under QEMU, measure its
# footprint. Called from .ci/run; runnable by hand from any checkout: `bash .ci/firmware.sh`.
#
# Exit status: 0 only if every QEMU run passed (each run's status is the example's verdict,
# returned through semihosting). Footprint lines, one per measured build:
#   size <name> flash=<bytes> ram=<bytes>
# flash = .vector_table + .text + .rodata + .data (what is programmed), ram = .data + .bss +
# .uninit (statics; the stack comes on top). Budgets are checked and reported, not enforced:
# see docs/firmware.md for what costs and why.
#
# Environment:
#   FIRMWARE_TARGET_DIR   build tree (default <repo>/firmware/target)
#   QEMU_TIMEOUT          seconds per QEMU run before it counts as hung (default 60)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/firmware"
export CARGO_TARGET_DIR="${FIRMWARE_TARGET_DIR:-$repo/firmware/target}"
QEMU_TIMEOUT="${QEMU_TIMEOUT:-60}"
M4=thumbv7em-none-eabihf
M0=thumbv6m-none-eabi
start=$(date +%s)
step() { printf '\n=== %s (%d s)\n' "$*" "$(($(date +%s) - start))"; }

step "firmware toolchain: targets, llvm-tools, qemu-system-arm"
rustup target add "$M4" "$M0"
rustup component add llvm-tools
if ! command -v qemu-system-arm >/dev/null; then
    apt-get update && apt-get install -y qemu-system-arm
fi
# defmt-print decodes the logs. It takes minutes to build, and the verdict is the exit status,
# so it is installed only when a run fails (or FIRMWARE_DECODE=1) and used whenever present.
decode_installed() {
    command -v defmt-print >/dev/null || cargo install defmt-print --locked
}
if [[ "${FIRMWARE_DECODE:-0}" == 1 ]]; then decode_installed; fi
llvm_bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
llvm_size="$llvm_bin/llvm-size"

# qemu_args <target>: the machine that runs the target's binaries.
qemu_args() {
    case "$1" in
        "$M4") echo "-cpu cortex-m4 -machine mps2-an386" ;;
        "$M0") echo "-cpu cortex-m0 -machine microbit" ;;
    esac
}

# run <name> <target> <cargo feature args...>: build, run under QEMU, decode the defmt log.
failed=()
run() {
    local name="$1" target="$2"
    shift 2
    cargo build --release --locked --target "$target" "$@"
    local elf="$CARGO_TARGET_DIR/$target/release/vitalring-firmware"
    cp "$elf" "$CARGO_TARGET_DIR/$target/release/vitalring-firmware-$name"
    local log rc=0
    log="$(mktemp)"
    # shellcheck disable=SC2046 # qemu_args is a list of words
    timeout "$QEMU_TIMEOUT" qemu-system-arm $(qemu_args "$target") -nographic -monitor none \
        -serial none -semihosting-config enable=on,target=native -kernel "$elf" >"$log" || rc=$?
    if ((rc != 0)); then decode_installed || true; fi
    if command -v defmt-print >/dev/null; then
        defmt-print -e "$elf" <"$log" || true
    else
        echo "($(wc -c <"$log") bytes of defmt log; install defmt-print to read them)"
    fi
    rm -f "$log"
    case "$rc" in
        0) echo "run $name on $target: pass" ;;
        124) echo "run $name on $target: FAIL (no verdict within ${QEMU_TIMEOUT} s)"; failed+=("$name/$target") ;;
        *) echo "run $name on $target: FAIL (exit status $rc)"; failed+=("$name/$target") ;;
    esac
}

# size <label> <name> <target>: the footprint line of the last build of <name> for <target>.
sizes=()
size() {
    local label="$1" name="$2" target="$3"
    local line
    line="$("$llvm_size" -A "$CARGO_TARGET_DIR/$target/release/vitalring-firmware-$name" | awk -v n="$label" '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { printf "size %s flash=%d ram=%d\n", n, flash, ram }')"
    sizes+=("$line")
}

step "firmware crate: rustfmt, clippy (outside the root workspace, so checked here)"
rustup component add rustfmt clippy
cargo fmt --check
cargo clippy --release --locked --target "$M4" -- -D warnings
cargo clippy --release --locked --target "$M4" --no-default-features --features writer,reader -- -D warnings

step "build and run on Cortex-M4F (QEMU mps2-an386), every part"
run baseline "$M4" --no-default-features
run writer-bin "$M4" --no-default-features --features writer
run writer-json "$M4" --no-default-features --features writer,json
run reader-bin "$M4" --no-default-features --features reader
run reader-json "$M4" --no-default-features --features reader,json
run writer-reader-bin "$M4" --no-default-features --features writer,reader
run writer-reader-json "$M4"
run wr-bin-crc-no-table "$M4" --no-default-features --features writer,reader,crc-no-table
run wr-bin-crc-slice-by-16 "$M4" --no-default-features --features writer,reader,crc-slice-by-16
run wr-bin-crc-zero-tables "$M4" --no-default-features --features writer,reader,crc-zero-tables
for n in baseline writer-bin writer-json reader-bin reader-json writer-reader-bin writer-reader-json \
    wr-bin-crc-no-table wr-bin-crc-slice-by-16 wr-bin-crc-zero-tables; do
    size "$n" "$n" "$M4"
done

step "build and run on Cortex-M0 (QEMU microbit): no atomic read-modify-write, split 64-bit words"
run writer-reader-bin "$M0" --no-default-features --features writer,reader
run writer-reader-json "$M0"
size m0-writer-reader-bin writer-reader-bin "$M0"
size m0-writer-reader-json writer-reader-json "$M0"

step "footprint (opt-level s, LTO, Cortex-M4F unless named m0-)"
printf '%s\n' "${sizes[@]}"
budget() {
    local name="$1" limit="$2" line flash
    line="$(printf '%s\n' "${sizes[@]}" | grep "^size $name ")"
    flash="$(sed -n 's/.* flash=\([0-9]*\) .*/\1/p' <<<"$line")"
    if ((flash <= limit)); then
        echo "budget $name flash=$flash limit=$limit: met"
    else
        echo "budget $name flash=$flash limit=$limit: over by $((flash - limit)) (see docs/firmware.md)"
    fi
}
budget writer-reader-bin $((12 * 1024))
budget writer-reader-json $((24 * 1024))

# breakdown <name>: flash bytes by origin (symbol sizes from llvm-nm; inlined code counts where
# it was inlined, so the example's adapter and checks hold some of the core's code).
breakdown() {
    echo "flash of $1 by origin (llvm-nm --size-sort):"
    "$llvm_bin/llvm-nm" --size-sort -S --demangle \
        "$CARGO_TARGET_DIR/$M4/release/vitalring-firmware-$1" | awk '
        NF >= 4 && $3 !~ /^[bB]$/ {
            size = 0; hex = toupper($2)
            for (i = 1; i <= length(hex); i++) size = size * 16 + index("0123456789ABCDEF", substr(hex, i, 1)) - 1
            name = $4; for (i = 5; i <= NF; i++) name = name " " $i
            if (name ~ /vitalring_core/ && name !~ /serde/) g = "vitalring-core"
            else if (name ~ /ring_api/) g = "example: core API adapter (ring_api)"
            else if (name ~ /scenario/) g = "example: checks (scenario)"
            else if (name ~ /serde|ryu|json/) g = "JSON: serde, serde-json-core, ryu"
            else if (name ~ /dec2flt|f32 as core::str/) g = "Rust core: float parsing"
            else if (name ~ /core::fmt|core::str|core::unicode|core::panicking|fmt::Display|fmt::Debug/) g = "Rust core: fmt, str, panics"
            else if (name ~ /compiler_builtins|__aeabi|^mem/) g = "compiler-builtins (mem*, division)"
            else if (name ~ /defmt|semihosting|cortex_m|__INTERRUPTS|__RESET|Reset|HardFault|DefaultHandler|__EXCEPTIONS/) g = "harness: cortex-m-rt, defmt, semihosting"
            else if (name ~ /^\.L/) g = "anonymous constants"
            else g = "other"
            sum[g] += size
        }
        END { for (g in sum) printf "  %6d  %s\n", sum[g], g }' | sort -rn
}
breakdown writer-reader-bin
breakdown writer-reader-json

step "done"
if ((${#failed[@]})); then
    echo "firmware runs failed: ${failed[*]}"
    exit 1
fi
echo "firmware: every QEMU run passed"
