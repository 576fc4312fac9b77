#!/usr/bin/env bash
# The Zenoh bridge (bridge/: its own workspace, lock file and target directory target/bridge,
# so the main workspace's clippy and tests never build Zenoh): rustfmt, clippy -D warnings,
# a debug build, and the tests (real processes on loopback: vitalring sim -> export -> import
# -> vitalring monitor/dump/ctl, restarts, forged messages, a Python subscriber using
# eclipse-zenoh from PyPI).
# Needs the main workspace's `vitalring` binary (built here if missing or stale) and the CI
# venv with eclipse-zenoh (.ci/python-venv.sh, from .ci/requirements.txt; $VITALRING_PYTHON
# when .ci/run already made it).
# Cold, this builds Zenoh twice (clippy's check metadata and the debug build): about 230
# crates each; see docs/bridge.md (Build) for the time it takes.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
say() { echo "--- bridge: $* ($(( $(date +%s) - start )) s)"; }

say "vitalring (main workspace) for the tests"
cargo build -p vitalring-cli
VITALRING_PYTHON="${VITALRING_PYTHON:-$(bash .ci/python-venv.sh | tail -n 1)}"
export VITALRING_PYTHON VITALRING_BIN="$PWD/target/debug/vitalring"

export CARGO_TARGET_DIR="$PWD/target/bridge"
say "cargo fmt --check"
cargo fmt --manifest-path bridge/Cargo.toml --check
say "cargo clippy"
cargo clippy --manifest-path bridge/Cargo.toml --locked --all-targets -- -D warnings
say "cargo build (debug, with tests and examples)"
cargo build --manifest-path bridge/Cargo.toml --locked --all-targets
say "cargo test"
cargo test --manifest-path bridge/Cargo.toml --locked
say "done"
