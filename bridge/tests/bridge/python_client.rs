//! A foreign client: a Python subscriber using the `eclipse-zenoh` package from PyPI
//! (`examples/python/subscribe.py`) receives the exporter's frames on the documented keys,
//! checks each envelope's CRC and decodes a vitals payload.
//!
//! The interpreter is `$VITALRING_PYTHON`, else `<repo>/target/venv/bin/python` (made by
//! `.ci/python-venv.sh` from `.ci/requirements.txt`, which lists `eclipse-zenoh`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use serde_json::Value;

fn python() -> PathBuf {
    let p = std::env::var_os("VITALRING_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/python"),
        PathBuf::from,
    );
    let ok = std::process::Command::new(&p)
        .args(["-c", "import zenoh"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import zenoh: run `bash .ci/python-venv.sh` (installs eclipse-zenoh) or set VITALRING_PYTHON",
        p.display()
    );
    p
}

#[test]
fn python_subscriber_decodes_the_frames() {
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python/subscribe.py");
    for encoding in ["json", "binary"] {
        let dir = tempdir();
        let src = dir.path().join("src.sock");
        let port = free_port();
        let _sim = sim(&src, &["--encoding", encoding]);
        let _exp = export(&src, port, &[]);
        let endpoint = format!("tcp/127.0.0.1:{port}");
        let key = format!("vitalring/{HOST}/src/*");
        let mut py = Proc::spawn(
            "python",
            &python,
            &[script.to_str().unwrap(), &endpoint, &key, "200", "60"],
        );
        assert_eq!(
            py.wait(Duration::from_secs(120)),
            Some(0),
            "{:?}",
            py.drain_stderr()
        );
        let out = py.drain_stdout();
        let v: Value = serde_json::from_str(out.last().expect("a summary line")).expect("json");
        assert_eq!(v["frames"], 200, "{v}");
        assert_eq!(v["refused"], 0, "{v}");
        assert_eq!(v["gaps"], 0, "{v}");
        for k in ["vitals", "ecg_ii", "pleth", "resp", "status"] {
            assert!(
                v["per_key"][k].as_u64().unwrap_or(0) > 0,
                "no {k} sample: {v}"
            );
        }
        let vitals = &v["vitals"];
        let hr = vitals["hr"].as_u64().expect("hr");
        let spo2 = vitals["spo2"].as_u64().expect("spo2");
        assert!((20..=250).contains(&hr), "{vitals}");
        assert!((50..=100).contains(&spo2), "{vitals}");
        assert!(
            vitals["t_ns"].as_str().is_some_and(|t| t.len() >= 18),
            "{vitals}"
        );
    }
}
