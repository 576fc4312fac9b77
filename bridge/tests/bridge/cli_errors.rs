//! Errors are one line on stderr with the documented exit status, found before anything is
//! created or connected.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(crate::common::bridge())
        .args(args)
        .output()
        .expect("vitalring-bridge");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn one_line(stderr: &str, prefix: &str) {
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    assert!(stderr.starts_with(prefix), "{stderr:?}");
}

#[test]
fn usage_errors_are_exit_2() {
    for (args, needle) in [
        (
            &["export", "--listen", "udp/127.0.0.1:7447"][..],
            "not built into this bridge",
        ),
        (&["export", "--host-name", "a/b"][..], "--host-name"),
        (&["import", "--remote-channel", "*"][..], "--remote-channel"),
        (
            &["import", "--link-timeout-ms", "1"][..],
            "--link-timeout-ms",
        ),
        (&["frobnicate"][..], "frobnicate"),
        (
            &["import", "--socket", "/tmp/vr-bridge-never.sock"][..],
            "nothing to connect to",
        ),
        (
            &[
                "import",
                "--frame-size",
                "100",
                "--connect",
                "tcp/127.0.0.1:9",
            ][..],
            "invalid ring geometry",
        ),
        (
            &["import", "--mode", "client", "--listen", "tcp/127.0.0.1:9"][..],
            "client cannot listen",
        ),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        one_line(&err, "vitalring-bridge");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn no_producer_is_exit_3() {
    let dir = crate::common::tempdir();
    let socket = dir.path().join("nobody.sock");
    let (code, _, err) = run(&[
        "export",
        "--socket",
        socket.to_str().unwrap(),
        "--host-name",
        "h",
        "--listen",
        &format!("tcp/127.0.0.1:{}", crate::common::free_port()),
    ]);
    assert_eq!(code, Some(3), "{err}");
    one_line(
        &err,
        "vitalring-bridge export: error: cannot attach to the producer at ",
    );
}

#[test]
fn help_explains() {
    for sub in ["export", "import"] {
        let (code, out, _) = run(&[sub, "--help"]);
        assert_eq!(code, Some(0));
        assert!(
            out.contains("--connect") && out.contains("--scouting"),
            "{out}"
        );
    }
}
