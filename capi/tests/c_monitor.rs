//! `examples/c/monitor.c`, compiled with the system C compiler and linked against the static
//! library, reading real producers in other processes' memory: it must print exactly the vitals
//! that were published, never a rejected frame, and end cleanly when the producer stops.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vitalring_core::frame::FrameMeta;
use vitalring_core::time::UnixNs;
use vitalring_core::vitals::{Channel, Nibp, VitalsRecord, WaveformChunk};
use vitalring_core::{Encoding, FrameType, Record};

const HANG_GUARD: Duration = Duration::from_secs(30);

/// Waits for `child` to exit, killing it after the hang guard.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("the C monitor did not exit");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Forwards `stream`'s lines to a channel from a thread.
fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn vitals(k: u16) -> VitalsRecord {
    VitalsRecord {
        hr_bpm: 50 + k,
        spo2_pct: 90 + (k % 10) as u8,
        rr_rpm: 10 + k as u8,
        nibp: k.is_multiple_of(2).then_some(Nibp {
            systolic_mmhg: 110 + k,
            diastolic_mmhg: 70 + k,
            mean_mmhg: 83 + k,
        }),
        temp_c: k.is_multiple_of(3).then_some(36.0 + f32::from(k) * 0.1),
        pulse_rate_bpm: (k % 2 == 1).then_some(55 + k),
    }
}

/// The line monitor.c prints for `v` at ring `index` stamped `t_ns`.
fn expected_line(index: u64, t_ns: u64, v: &VitalsRecord) -> String {
    let nibp = v.nibp.map_or("-".to_owned(), |n| {
        format!("{}/{}/{}", n.systolic_mmhg, n.diastolic_mmhg, n.mean_mmhg)
    });
    let temp = v.temp_c.map_or("-".to_owned(), |t| format!("{t:.1}"));
    let pr = v.pulse_rate_bpm.map_or("-".to_owned(), |p| p.to_string());
    format!(
        "vitals index={index} t_ns={t_ns} hr={} spo2={} rr={} nibp={nibp} temp={temp} pr={pr}",
        v.hr_bpm, v.spo2_pct, v.rr_rpm
    )
}

#[test]
fn c_monitor_prints_exactly_the_published_vitals_and_never_a_rejected_one() {
    let dir = common::temp_dir("exact");
    let monitor = common::build_monitor(&dir);
    let socket = dir.join("p.sock");
    let mut producer = common::producer(&socket);

    let mut child = Command::new(&monitor)
        .arg(&socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the C monitor");
    let stdout = lines_of(child.stdout.take().expect("stdout"));
    let stderr = lines_of(child.stderr.take().expect("stderr"));
    let mut err_lines = Vec::new();
    // Publish only once the reader is attached (it starts with the next frame).
    common::wait_for(HANG_GUARD, || {
        producer.heartbeat_if_due();
        let line = stderr.try_recv().ok()?;
        err_lines.push(line.clone());
        (line == "state connected").then_some(())
    });

    let mut expected = Vec::new();
    for k in 0..30u16 {
        let t_ns = vitalring_linux::clock::wall_ns();
        let v = vitals(k);
        let index = producer
            .publish_record(&Record::Vitals(v), Encoding::Json, t_ns)
            .expect("publish vitals");
        expected.push(expected_line(index, t_ns, &v));
        // Waveform chunks in between are read but not printed.
        let mut samples = heapless::Vec::new();
        samples
            .extend_from_slice(&[1, 2, 3])
            .expect("3 samples fit");
        let chunk = WaveformChunk {
            channel: Channel::EcgII,
            fs_hz: 250,
            first: u64::from(k) * 3,
            samples,
        };
        producer
            .publish_record(&Record::Waveform(chunk), Encoding::Binary, t_ns)
            .expect("publish waveform");
        if k == 10 {
            // A vitals frame with an impossible heart rate: rejected, never printed.
            let meta = FrameMeta {
                frame_type: FrameType::Vitals,
                encoding: Encoding::Json,
                timestamp: UnixNs(t_ns),
            };
            producer
                .publish_raw(meta, br#"{"hr":999,"spo2":98,"rr":14}"#)
                .expect("publish raw");
        }
    }
    drop(producer); // marks the ring "producer stopped": the monitor ends by itself

    let status = wait_exit(&mut child);
    // The child exited: its pipes are closed, so these end once every line was forwarded.
    err_lines.extend(stderr.iter());
    assert!(
        status.success(),
        "monitor failed: {status}; stderr: {err_lines:?}"
    );
    let printed: Vec<String> = stdout.iter().collect();
    assert_eq!(printed, expected, "stderr: {err_lines:?}");
    assert!(
        err_lines
            .iter()
            .any(|l| l.starts_with("problem 1 frame(s) rejected")
                && l.contains("heart rate out of range")),
        "the rejected frame is reported: {err_lines:?}"
    );
    assert!(
        err_lines.iter().any(|l| l == "state producer_stopped"),
        "{err_lines:?}"
    );
    assert!(
        err_lines
            .iter()
            .any(|l| l.starts_with("stats delivered=60 dropped=0 rejected=1 ")),
        "{err_lines:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One line of monitor.c's output, parsed.
#[derive(Debug)]
struct Line {
    index: u64,
    t_ns: u64,
    hr: u32,
    spo2: u32,
    rr: u32,
    nibp: (u32, u32, u32),
    temp: f64,
    pr: u32,
}

fn parse(line: &str) -> Option<Line> {
    let mut f = line.strip_prefix("vitals ")?.split(' ');
    let mut field = |name: &str| {
        f.next()?
            .strip_prefix(name)?
            .strip_prefix('=')
            .map(str::to_owned)
    };
    let index = field("index")?.parse().ok()?;
    let t_ns = field("t_ns")?.parse().ok()?;
    let hr = field("hr")?.parse().ok()?;
    let spo2 = field("spo2")?.parse().ok()?;
    let rr = field("rr")?.parse().ok()?;
    let nibp = field("nibp")?;
    let mut n = nibp.split('/').map(|x| x.parse::<u32>().ok());
    let nibp = (n.next()??, n.next()??, n.next()??);
    let temp = field("temp")?.parse().ok()?;
    let pr = field("pr")?.parse().ok()?;
    Some(Line {
        index,
        t_ns,
        hr,
        spo2,
        rr,
        nibp,
        temp,
        pr,
    })
}

#[test]
fn c_monitor_reads_a_vitalring_sim_process_until_it_stops() {
    let target = common::artifacts();
    let dir = common::temp_dir("sim");
    let monitor = common::build_monitor(&dir);
    let socket = dir.join("sim.sock");
    let mut sim = Command::new(target.join("vitalring"))
        .args(["sim", "--duration", "3", "--socket"])
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vitalring sim");
    common::wait_for(HANG_GUARD, || socket.exists().then_some(()));

    let out = Command::new(&monitor)
        .arg(&socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the C monitor");
    let mut out = out;
    let stdout = lines_of(out.stdout.take().expect("stdout"));
    let stderr = lines_of(out.stderr.take().expect("stderr"));
    let status = wait_exit(&mut out);
    let _ = wait_exit(&mut sim);
    // Both exited: the pipes are closed, so these end once every line was forwarded.
    let err: Vec<String> = stderr.iter().collect();
    assert!(
        status.success(),
        "monitor failed: {status}; stderr: {err:?}"
    );
    let lines: Vec<String> = stdout.iter().collect();
    // 60 vitals a second for up to 3 s. How many the monitor sees depends on when it attaches
    // and on how much CPU the simulator got (a loaded machine publishes late, not wrongly):
    // the exact count is the in-process test's business; here, a substantial stream.
    assert!(lines.len() >= 20, "{} lines; stderr: {err:?}", lines.len());
    let parsed: Vec<Line> = lines
        .iter()
        .map(|l| parse(l).unwrap_or_else(|| panic!("malformed line {l:?}")))
        .collect();
    for w in parsed.windows(2) {
        assert!(w[1].index > w[0].index && w[1].t_ns > w[0].t_ns, "{w:?}");
    }
    for l in &parsed {
        assert!((30..=250).contains(&l.hr), "{l:?}");
        assert!((50..=100).contains(&l.spo2), "{l:?}");
        assert!((4..=60).contains(&l.rr), "{l:?}");
        assert!(l.nibp.0 > l.nibp.2 && l.nibp.2 > l.nibp.1, "{l:?}");
        assert!((30.0..=42.0).contains(&l.temp), "{l:?}");
        assert!((30..=250).contains(&l.pr), "{l:?}");
    }
    assert!(err.iter().any(|l| l == "state producer_stopped"), "{err:?}");
    assert!(
        err.iter()
            .any(|l| l.starts_with("stats ") && l.contains(" dropped=0 rejected=0 ")),
        "{err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
