//! Shared helpers of the C API tests: artifacts built by cargo, temporary paths, producers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use vitalring_core::Geometry;
use vitalring_linux::{ProducerConfig, SharedMemoryProducer};

/// `target/<profile>` of this test binary.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Builds the static library and the `vitalring` binary (once per test binary) and returns
/// `target/<profile>`.
pub fn artifacts() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = profile_dir();
        let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "vitalring-capi",
            "-p",
            "vitalring-cli",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build");
        assert!(
            status.success(),
            "cargo build of the C library and the cli failed"
        );
        dir
    })
}

/// A fresh temporary directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "vitalring-capi-{tag}-{}-{}",
        std::process::id(),
        vitalring_linux::clock::monotonic_ns()
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Compiles `examples/c/monitor.c` against the static library; returns the executable.
pub fn build_monitor(dir: &Path) -> PathBuf {
    build_example(dir, "monitor")
}

/// Compiles `examples/c/<name>.c` against the static library; returns the executable.
pub fn build_example(dir: &Path, name: &str) -> PathBuf {
    let target = artifacts();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let exe = dir.join(name);
    let status = Command::new("cc")
        // POSIX for clock_gettime.
        .args([
            "-std=c99",
            "-D_POSIX_C_SOURCE=200809L",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
        ])
        .arg(root.join("capi/include"))
        .arg(root.join(format!("examples/c/{name}.c")))
        .arg(target.join("libvitalring_capi.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .expect("run cc (the system C compiler)");
    assert!(status.success(), "cc failed to build examples/c/{name}.c");
    exe
}

/// An in-process producer on `socket` with a small ring.
pub fn producer(socket: &Path) -> SharedMemoryProducer {
    let mut config = ProducerConfig::new("default");
    config.socket_path = Some(socket.to_path_buf());
    config.geometry = Geometry::new(4096, 256).expect("geometry");
    SharedMemoryProducer::create(config).expect("producer")
}

/// Polls `f` until it returns `Some`, at most `limit` (a hang guard, not a timing assertion).
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("hang guard: gave up waiting after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
