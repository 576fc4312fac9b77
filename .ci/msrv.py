#!/usr/bin/env python3
"""MSRV check: the workspace's declared `rust-version` must be at least the `rust-version` of
every package the workspace builds on Linux (normal, build and dev dependencies, every feature
the lock resolves). The machine has one Rust toolchain and cannot fetch another, so compiling
with the declared version is not possible here; this check keeps the declaration honest about
dependencies, and the toolchain in use is at least the declared version."""
import json
import subprocess
import sys
import tomllib

meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--filter-platform", "x86_64-unknown-linux-gnu"]
    )
)
with open("Cargo.toml", "rb") as f:
    declared = tomllib.load(f)["workspace"]["package"]["rust-version"]


def ver(s):
    parts = [int(x) for x in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


used = {n["id"] for n in meta["resolve"]["nodes"]}
worst = max(
    ((ver(p["rust_version"]), p["name"], p["version"]) for p in meta["packages"]
     if p.get("rust_version") and p["id"] in used),
    default=((0,), "-", "-"),
)
rustc = subprocess.check_output(["rustc", "--version"], text=True).split()[1]
print(f"msrv: declared {declared}; highest dependency requirement {'.'.join(map(str, worst[0]))} "
      f"({worst[1]} {worst[2]}); rustc {rustc}")
if ver(declared) < worst[0]:
    sys.exit(f"msrv: rust-version {declared} is below {worst[1]} {worst[2]}'s {'.'.join(map(str, worst[0]))}")
if ver(rustc.split("-")[0]) < ver(declared):
    sys.exit(f"msrv: rustc {rustc} is older than the declared rust-version {declared}")
