//! `vitalring station` with real processes: several `vitalring sim --channel bedN` producers
//! in a private runtime directory, the station reading all of them (`--json`, `--plain`), a
//! producer killed with SIGKILL shown as not live, beds that appear and disappear followed, and
//! the TUI in a real terminal (tmux): the grid, Enter into one bed's full view, Esc back.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{run_cmd, Proc, TempDir, BIN, LIMIT};
use serde_json::Value;

/// A private runtime directory (mode 0700) standing in for `$XDG_RUNTIME_DIR`; the channel
/// sockets go to `<it>/vitalring/`.
fn runtime_dir(tag: &str) -> TempDir {
    let d = TempDir::new(tag);
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

fn sockets(rt: &Path) -> PathBuf {
    rt.join("vitalring")
}

/// `vitalring sim --channel NAME` with `XDG_RUNTIME_DIR=rt`; returns once its socket exists.
fn sim(rt: &Path, channel: &str, extra: &[&str]) -> Proc {
    let child = Command::new(BIN)
        .args(["sim", "--channel", channel, "--log-every", "0"])
        .args(extra)
        .env("XDG_RUNTIME_DIR", rt)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vitalring sim");
    let sock = sockets(rt).join(format!("{channel}.sock"));
    let start = Instant::now();
    while !sock.exists() {
        if start.elapsed() > LIMIT {
            panic!("hang guard: {channel}'s socket never appeared");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Proc(child)
}

/// A running `vitalring station --json`, its lines arriving on a channel.
struct Station {
    _proc: Proc,
    lines: mpsc::Receiver<String>,
}

impl Station {
    fn start(rt: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["station", "--json"])
            .args(extra)
            .env("XDG_RUNTIME_DIR", rt)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn vitalring station");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            _proc: Proc(child),
            lines: rx,
        }
    }

    /// Reads JSON lines until `want` holds for one; panics (hang guard) after [`LIMIT`].
    fn until(&self, what: &str, mut want: impl FnMut(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if start.elapsed() > LIMIT {
                panic!("hang guard: never saw {what}");
            }
            let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if want(&v) {
                return v;
            }
        }
    }

    /// The next status object of `bed` for which `want` holds.
    fn status_of(&self, bed: &str, what: &str, mut want: impl FnMut(&Value) -> bool) -> Value {
        self.until(&format!("{bed}: {what}"), |v| {
            v["event"] == "status" && v["bed"] == bed && want(v)
        })
    }
}

fn hr(v: &Value) -> u64 {
    v["latest_vitals"]["hr"].as_u64().unwrap_or(0)
}

#[test]
fn station_json_follows_every_bed_and_shows_a_killed_producer_as_not_live() {
    let rt = runtime_dir("station-json");
    let _bed1 = sim(rt.path(), "bed1", &["--seed", "1"]);
    let mut bed2 = sim(rt.path(), "bed2", &["--seed", "2"]);
    let _bed3 = sim(rt.path(), "bed3", &["--scenario", "asystole"]);
    let st = Station::start(rt.path(), &["--forget-after", "1"]);

    // Every bed is listed, live, with its vitals.
    for bed in ["bed1", "bed2"] {
        let v = st.status_of(bed, "live with a heart rate", |v| {
            v["live"] == true && hr(v) > 20
        });
        assert_eq!(v["state"], "connected", "{v}");
        assert_eq!(v["presence"], "live", "{v}");
        assert!(v["latest_vitals"]["spo2"].as_u64().unwrap() > 80, "{v}");
        assert!(v["latest_vitals"]["nibp_sys"].as_u64().is_some(), "{v}");
        assert!(v["alarms"].as_array().unwrap().is_empty(), "{v}");
    }
    let v = st.status_of("bed3", "asystole alarm", |v| {
        v["live"] == true && v["top_alarm"]["text"] == "ASYSTOLE"
    });
    assert_eq!(v["top_alarm"]["priority"], "high", "{v}");
    assert_eq!(hr(&v), 0, "{v}");
    let summary = st.until("the station summary", |v| v["event"] == "station");
    assert_eq!(
        summary["beds"],
        serde_json::json!(["bed1", "bed2", "bed3"]),
        "{summary}"
    );

    // SIGKILL: the producer cannot remove its socket. The bed stays on the list, its last
    // values kept but marked not live, and its socket is found stale.
    bed2.0.kill().unwrap();
    bed2.0.wait().unwrap();
    let v = st.status_of("bed2", "not live after SIGKILL", |v| v["live"] == false);
    assert_ne!(v["state"], "connected", "{v}");
    assert!(
        v["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "SENSOR STALLED"),
        "{v}"
    );
    let v = st.status_of("bed2", "socket stale", |v| v["presence"] == "stale");
    assert_eq!(v["live"], false, "{v}");
    assert!(
        hr(&v) > 20,
        "the last values are still shown, as stale: {v}"
    );
    // The other beds carry on.
    st.status_of("bed1", "still live", |v| v["live"] == true);

    // A new producer on bed2's channel replaces the stale socket: the same tile comes back,
    // live, with the new producer's epoch.
    let old_epoch = v["epoch"].as_str().unwrap().to_owned();
    let _bed2_again = sim(rt.path(), "bed2", &["--seed", "22"]);
    st.until("bed2 back", |v| {
        v["event"] == "bed_back" && v["bed"] == "bed2"
    });
    let v = st.status_of("bed2", "live again", |v| {
        v["live"] == true && v["presence"] == "live"
    });
    assert_ne!(v["epoch"].as_str().unwrap(), old_epoch, "{v}");

    // A bed that appears is picked up; one whose socket goes is said gone, then removed.
    let _bed4 = sim(rt.path(), "bed4", &["--seed", "4"]);
    st.until("bed4 added", |v| {
        v["event"] == "bed_added" && v["bed"] == "bed4"
    });
    st.status_of("bed4", "live", |v| v["live"] == true && hr(v) > 20);
    std::fs::remove_file(sockets(rt.path()).join("bed2.sock")).unwrap();
    st.until("bed2 gone", |v| {
        v["event"] == "bed_gone" && v["bed"] == "bed2"
    });
    st.until("bed2 removed", |v| {
        v["event"] == "bed_removed" && v["bed"] == "bed2"
    });
    let summary = st.until("the summary without bed2", |v| {
        v["event"] == "station" && v["beds"] == serde_json::json!(["bed1", "bed3", "bed4"])
    });
    assert_eq!(summary["live"].as_array().unwrap().len(), 3, "{summary}");
}

#[test]
fn station_plain_lists_every_bed_with_its_vitals_in_another_directory() {
    let rt = runtime_dir("station-plain");
    let _a = sim(rt.path(), "bed1", &["--seed", "1"]);
    let _b = sim(rt.path(), "bed2", &["--seed", "2"]);
    let mut dead = sim(rt.path(), "bed9", &[]);
    dead.0.kill().unwrap();
    dead.0.wait().unwrap();
    // `--dir` instead of the environment: the station's own XDG_RUNTIME_DIR points elsewhere.
    let elsewhere = runtime_dir("station-plain-env");
    let mut cmd = Command::new(BIN);
    cmd.args(["station", "--plain", "--duration", "3.5", "--dir"])
        .arg(sockets(rt.path()))
        .env("XDG_RUNTIME_DIR", elsewhere.path());
    let out = run_cmd(cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for bed in ["bed1", "bed2"] {
        let line = text
            .lines()
            .rfind(|l| l.starts_with(&format!("{bed} [")))
            .unwrap_or_else(|| panic!("no status line for {bed}\n{text}"));
        assert!(line.contains(" connected "), "{line}");
        assert!(line.contains("| HR "), "{line}");
        assert!(line.contains(" SpO2 "), "{line}");
        assert!(line.contains(" NIBP "), "{line}");
        assert!(line.ends_with("| socket live"), "{line}");
        assert!(!line.contains("(stale)"), "{line}");
    }
    // The dead producer's socket never becomes a bed; it is listed as stale.
    assert!(!text.lines().any(|l| l.starts_with("bed9 [")), "{text}");
    assert!(text.contains("stale sockets: bed9"), "{text}");
    // Every second's block has one line per bed.
    let count = |p: &str| text.lines().filter(|l| l.starts_with(p)).count();
    let blocks = count("station |");
    assert!(blocks >= 1, "{text}");
    assert_eq!(
        (count("bed1 ["), count("bed2 [")),
        (blocks, blocks),
        "{text}"
    );
}

/// tmux on a private server socket, ended on drop.
struct Tmux {
    server: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.server])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "st"]).stdout).into_owned()
    }

    /// Polls the screen until `want` holds; panics with the screen (hang guard) otherwise.
    fn until(&self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if want(&s) {
                return s;
            }
            if start.elapsed() > LIMIT {
                panic!("hang guard: the terminal never showed {what}:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "st"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn station_tui_in_a_real_terminal_opens_a_bed_and_goes_back() {
    // Never skipped: without tmux this test cannot check the real terminal, so it fails and
    // says what is missing (CI installs tmux).
    let have_tmux = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        have_tmux,
        "tmux is required for the station's real-terminal test: install it (apt-get install -y tmux)"
    );
    let rt = runtime_dir("station-tmux");
    let _a = sim(rt.path(), "bed1", &["--seed", "1"]);
    let _b = sim(rt.path(), "bed2", &["--scenario", "asystole"]);
    let _c = sim(rt.path(), "bed3", &["--seed", "3"]);
    let t = Tmux {
        server: format!("vr-station-{}", std::process::id()),
    };
    let command = format!(
        "env XDG_RUNTIME_DIR='{}' TERM=xterm-256color '{}' station --duration 60",
        rt.path().display(),
        BIN
    );
    let out = t.cmd(&[
        "new-session",
        "-d",
        "-s",
        "st",
        "-x",
        "160",
        "-y",
        "50",
        &command,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The grid: every bed, with numerics, and bed2's asystole alarm.
    let s = t.until("the grid with three live beds", |s| {
        s.contains("vitalring station")
            && ["bed1", "bed2", "bed3"].iter().all(|b| s.contains(b))
            && s.matches("CONNECTED").count() == 3
            && s.contains("ASYSTOLE")
            && s.contains("NIBP")
    });
    assert!(s.contains("HR "), "{s}");
    assert!(!s.contains("vitalring monitor"), "{s}");
    // Right selects bed2, Enter opens its full monitor view.
    t.keys(&["Right"]);
    t.keys(&["Enter"]);
    let s = t.until("bed2's single view", |s| {
        s.contains("vitalring monitor") && s.contains("Esc: all beds")
    });
    assert!(s.contains("bed2.sock"), "the view is bed2's:\n{s}");
    assert!(s.contains("ECG II"), "{s}");
    assert!(s.contains("ASYSTOLE"), "{s}");
    // Esc goes back to the grid.
    t.keys(&["Escape"]);
    t.until("the grid again", |s| {
        s.contains("vitalring station") && !s.contains("vitalring monitor") && s.contains("bed3")
    });
    // q quits: the session (whose only window runs the station) ends.
    t.keys(&["q"]);
    let start = Instant::now();
    while t.cmd(&["has-session", "-t", "st"]).status.success() {
        if start.elapsed() > LIMIT {
            panic!("hang guard: the station did not quit on q:\n{}", t.screen());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn monitor_all_is_the_station_and_refuses_a_single_bed_flag() {
    let rt = runtime_dir("station-all");
    let _a = sim(rt.path(), "icu-1", &[]);
    let mut cmd = Command::new(BIN);
    cmd.args(["monitor", "--all", "--json", "--duration", "2.5", "--dir"])
        .arg(sockets(rt.path()));
    let out = run_cmd(cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let statuses: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event"] == "status")
        .collect();
    assert!(!statuses.is_empty(), "{text}");
    assert!(statuses.iter().all(|v| v["bed"] == "icu-1"), "{text}");
    assert!(statuses.iter().any(|v| v["live"] == true), "{text}");

    for bad in [
        &["monitor", "--all", "--socket", "/tmp/x.sock"][..],
        &["monitor", "--all", "--channel", "bed1"],
        &["monitor", "--dir", "/tmp"],
        &["station", "--dir", "/etc/passwd"],
        &["station", "--forget-after", "-1"],
    ] {
        let out = common::run(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
    }
}
