//! The command-line attacks of the hostile-peers campaign, with real processes: every bad
//! value ends with exit status 2 and one line on stderr before anything is served or
//! connected — never a panic (101), never a hang, never a "serving" followed by a crash — and
//! the JSON output keeps 64-bit identifiers exact in jq, Python and JavaScript.

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{run, run_cmd, Proc, TempDir, BIN};
use serde_json::Value;

/// Asserts a usage error: status 2, exactly one line on stderr naming `what`, nothing served.
fn assert_usage_error(out: &Output, what: &str, ctx: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{ctx}: {:?}: {err}", out.status);
    assert_eq!(err.lines().count(), 1, "{ctx}: not one line: {err}");
    assert!(err.contains("error:"), "{ctx}: {err}");
    assert!(err.contains(what), "{ctx}: {err} lacks {what:?}");
    assert!(!err.contains("serving"), "{ctx}: {err}");
}

/// A running `vitalring sim` and the epoch it announced.
struct Sim {
    _proc: Proc,
    epoch: u64,
}

/// Starts `vitalring sim --socket <socket> <args>`, waits for its "serving" line and reads the
/// epoch from it.
fn sim(socket: &OsStr, args: &[&str]) -> Sim {
    let mut child = Command::new(BIN)
        .arg("sim")
        .arg("--socket")
        .arg(socket)
        .args(["--log-every", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sim");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let proc = Proc(child);
    let line = lines.next().expect("sim said nothing").expect("sim stderr");
    assert!(line.contains("serving"), "{line}");
    // Keep draining so the sim never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let epoch = line
        .split(" | ")
        .find_map(|f| f.strip_prefix("epoch "))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no epoch in {line}"));
    Sim { _proc: proc, epoch }
}

fn vitalring_os(args: &[&OsStr]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    run_cmd(cmd)
}

/// A socket path that is not UTF-8 was a panic in argument handling (exit 101); now it is an
/// ordinary path: the simulator serves it, the monitor and dump connect to it.
#[test]
fn a_non_utf8_socket_path_works_end_to_end() {
    let dir = TempDir::new("nonutf8");
    let mut bytes = dir.path().as_os_str().as_bytes().to_vec();
    bytes.extend_from_slice(b"/\xff\xfe-bed.sock");
    let socket = PathBuf::from(OsStr::from_bytes(&bytes));
    let _sim = sim(socket.as_os_str(), &[]);
    let out = vitalring_os(&[
        OsStr::new("monitor"),
        OsStr::new("--json"),
        OsStr::new("--duration"),
        OsStr::new("1"),
        OsStr::new("--socket"),
        socket.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""event":"vitals""#));
    let out = vitalring_os(&[
        OsStr::new("dump"),
        OsStr::new("--socket"),
        socket.as_os_str(),
    ]);
    assert!(out.status.success(), "{:?}", out.status);
    // Without a producer: the ordinary "cannot connect", not a panic.
    let missing = PathBuf::from(OsStr::from_bytes(b"/nonexistent/\xff.sock"));
    for sub in ["monitor", "dump"] {
        let out = vitalring_os(&[OsStr::new(sub), OsStr::new("--socket"), missing.as_os_str()]);
        assert_eq!(out.status.code(), Some(3), "{sub}: {:?}", out.status);
    }
}

/// A FIFO as token file hung `sim` and `monitor` forever in open(2); a 10 MB file was
/// refused with a misleading "token is 66 bytes"; a symlink or a directory is no token file.
#[test]
fn token_files_that_are_not_small_regular_files_are_refused_at_once() {
    let dir = TempDir::new("token");
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let big = dir.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .write_all(&vec![b'x'; 10_000_000])
        .unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, "s3cret\n").unwrap();
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    let socket = dir.path().join("t.sock");
    let s = socket.to_str().unwrap();
    for (file, what) in [
        (&fifo, "FIFO"),
        (&big, "10000000 bytes"),
        (&link, "symbolic link"),
        (&dir.path().to_path_buf(), "directory"),
    ] {
        for sub in ["sim", "monitor", "dump"] {
            let out = run(&[sub, "--socket", s, "--token-file", file.to_str().unwrap()]);
            assert_usage_error(&out, what, &format!("{sub} {}", file.display()));
        }
    }
    assert!(!socket.exists());
}

/// `--duration nan` ran 0 s and exited 0, `inf` ran forever: every length of time is a finite
/// number of seconds greater than 0.
#[test]
fn durations_that_are_not_finite_positive_numbers_are_usage_errors() {
    for sub in ["sim", "monitor", "demo"] {
        for bad in ["nan", "inf", "-1", "0", "-inf", "soon"] {
            let flag = format!("--duration={bad}");
            let out = if sub == "demo" {
                run(&[sub, &flag])
            } else {
                run(&[sub, "--socket", "/nonexistent/d.sock", &flag])
            };
            assert_usage_error(&out, "--duration", &format!("{sub} {flag}"));
        }
    }
    for (flag, bad) in [
        ("--fault-after", "nan"),
        ("--burst-every", "0"),
        ("--log-every", "inf"),
        ("--corrupt-rate", "nan"),
    ] {
        let out = run(&["sim", "--socket", "/nonexistent/d.sock", flag, bad]);
        assert_usage_error(&out, flag, flag);
    }
}

/// An invalid channel exited 1 (or 3); `docs/cli.md` promises 2 for every bad value.
#[test]
fn an_invalid_channel_is_a_usage_error() {
    for sub in ["sim", "monitor", "dump"] {
        for bad in ["../etc", ".hidden", "bed 7", ""] {
            let out = run(&[sub, "--channel", bad]);
            assert_usage_error(&out, "--channel", &format!("{sub} {bad:?}"));
        }
    }
}

/// `--frame-size 64..=128` passed, the simulator announced "serving" and then died on its
/// first payload. Now a frame size too small for the encoding is refused before anything is
/// created, and the minimum the error names really carries the simulator's traffic.
#[test]
fn frame_sizes_too_small_for_the_encoding_are_refused_and_the_minimum_works() {
    let dir = TempDir::new("fsize");
    for encoding in ["json", "binary"] {
        let socket = dir.path().join(format!("{encoding}.sock"));
        let s = socket.to_str().unwrap();
        let out = run(&[
            "sim",
            "--socket",
            s,
            "--encoding",
            encoding,
            "--frame-size",
            "64",
        ]);
        assert_usage_error(&out, "--frame-size", encoding);
        assert!(!socket.exists());
        let err = String::from_utf8_lossy(&out.stderr);
        let min: u32 = err
            .rsplit("at least ")
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no minimum in {err}"));
        if encoding == "json" {
            assert!(min > 128, "json minimum {min}");
            let out = run(&["sim", "--socket", s, "--frame-size", "128"]);
            assert_usage_error(&out, "--frame-size", "128");
        }
        let below = (min - 8).to_string();
        let out = run(&[
            "sim",
            "--socket",
            s,
            "--encoding",
            encoding,
            "--frame-size",
            &below,
        ]);
        assert_usage_error(&out, "--frame-size", &below);

        // At the minimum, every scenario's traffic flows without a rejection or a crash.
        let min = min.to_string();
        let _sim = sim(
            socket.as_os_str(),
            &[
                "--encoding",
                encoding,
                "--frame-size",
                &min,
                "--frames",
                "256",
            ],
        );
        let out = run(&["monitor", "--socket", s, "--json", "--duration", "1.5"]);
        assert!(
            out.status.success(),
            "{encoding} at {min}: {:?}",
            out.status
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(r#""event":"vitals""#), "{text}");
        assert!(text.contains(r#""event":"waveform""#), "{text}");
        assert!(!text.contains(r#""event":"error""#), "{text}");
    }
}

fn parse_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not json: {l}: {e}")))
        .collect()
}

/// A decimal string that parses to a `u64` and prints back identically (no "1.7e19", no
/// leading zeros, no rounding).
fn exact(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let n: u64 = s.parse().unwrap_or_else(|_| panic!("not a u64: {s}"));
    assert_eq!(n.to_string(), s);
    n
}

/// Pipes `input` through `program args` and returns its stdout.
fn pipe(program: &str, args: &[&str], input: &[u8]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{program}: {:?}", out.status);
    Some(String::from_utf8(out.stdout).unwrap())
}

/// jq printed epoch 17430500756243077655 as 17430500756243077000. Now the epoch, timestamps
/// and indices are decimal strings: serde_json, Python, jq and JavaScript all read back the
/// producer's exact epoch (the one it printed when it started).
#[test]
fn json_identifiers_survive_jq_python_and_javascript() {
    let dir = TempDir::new("exact");
    let socket = dir.path().join("e.sock");
    let s = socket.to_str().unwrap();
    let sim = sim(socket.as_os_str(), &[]);
    let out = run(&["monitor", "--socket", s, "--json", "--duration", "1.5"]);
    assert!(out.status.success(), "{:?}", out.status);
    let lines = parse_lines(&out.stdout);
    assert!(lines.len() > 50);
    let mut statuses = 0;
    for v in &lines {
        assert_eq!(v["schema"], 2, "{v}");
        exact(&v["t_ns"]);
        match v["event"].as_str().unwrap() {
            "vitals" => {
                exact(&v["index"]);
            }
            "waveform" => {
                exact(&v["index"]);
                exact(&v["first"]);
            }
            "status" | "connection" if !v["epoch"].is_null() => {
                assert_eq!(exact(&v["epoch"]), sim.epoch, "{v}");
                statuses += 1;
            }
            _ => {}
        }
    }
    assert!(statuses > 0);

    // Python: every identifier is a str holding the exact integer.
    let script = "import json,sys\n\
        for line in sys.stdin:\n\
        \x20   o = json.loads(line)\n\
        \x20   for k in ('t_ns', 'index', 'first', 'epoch'):\n\
        \x20       if o.get(k) is not None:\n\
        \x20           assert isinstance(o[k], str) and str(int(o[k])) == o[k], (k, o)\n\
        \x20   if o['event'] == 'status' and o['epoch'] is not None:\n\
        \x20       print(int(o['epoch']))\n";
    let py = pipe("python3", &["-c", script], &out.stdout).expect("python3 is needed");
    for l in py.lines() {
        assert_eq!(l.parse::<u64>().unwrap(), sim.epoch, "python read {l}");
    }
    // jq and JavaScript (Number is an IEEE double, like jq 1.6's numbers).
    if let Some(jq) = pipe(
        "jq",
        &[
            "-r",
            "select(.event==\"status\" and .epoch != null) | .epoch",
        ],
        &out.stdout,
    ) {
        for l in jq.lines() {
            assert_eq!(l.parse::<u64>().unwrap(), sim.epoch, "jq read {l}");
        }
    } else {
        eprintln!("jq not installed: its check skipped (serde_json and python3 ran)");
    }
    let js = "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{for(const l of \
              d.split('\\n')){if(!l)continue;const o=JSON.parse(l);\
              if(o.event==='status'&&o.epoch!==null)console.log(BigInt(o.epoch).toString())}})";
    if let Some(node) = pipe("node", &["-e", js], &out.stdout) {
        for l in node.lines() {
            assert_eq!(l.parse::<u64>().unwrap(), sim.epoch, "node read {l}");
        }
    } else {
        eprintln!("node not installed: its check skipped");
    }

    // dump --json: the header's identifiers and every frame's index and time.
    let out = run(&["dump", "--socket", s, "--json", "--last", "3"]);
    assert!(out.status.success(), "{:?}", out.status);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], 2);
    assert_eq!(exact(&doc["header"]["epoch"]), sim.epoch);
    let created = exact(&doc["header"]["created_unix_ns"]);
    assert!(created > 1 << 53, "created {created} ns");
    exact(&doc["header"]["write_index"]);
    exact(&doc["header"]["heartbeat_ms"]);
    for f in doc["frames"].as_array().unwrap() {
        exact(&f["index"]);
        assert!(exact(&f["t_ns"]) > 1 << 53);
    }
    let jq = pipe("jq", &["-r", ".header.epoch"], &out.stdout);
    if let Some(jq) = jq {
        assert_eq!(jq.trim().parse::<u64>().unwrap(), sim.epoch);
    }
}
