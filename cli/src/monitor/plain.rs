//! `monitor --plain`: one human-readable status line per second.

use std::fmt::Write;

use super::state::{LatencySummary, MonitorState};

/// Formats an optional value or `--`.
fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "--".to_string(), |v| v.to_string())
}

/// The status line, e.g.
/// `[  12s] connected epoch=1f.. HR 72 SpO2 98 RR 16 NIBP 120/80 (93) T 36.9 PR 72 |
/// frames 1620 dropped 0 rejected 0 | lat p50 80us p99 210us max 400us | alarms: -`; each
/// alarm as `TEXT (priority)` or `TEXT (priority, technical)`.
pub fn status_line(s: &MonitorState, latency: Option<LatencySummary>) -> String {
    let mut out = String::with_capacity(200);
    let secs = s.now_ns / 1_000_000_000;
    let _ = write!(out, "[{secs:>5}s] {:<12}", s.state.name());
    if let Some(e) = s.epoch {
        let _ = write!(out, " epoch={e:016x}");
    }
    match s.vitals {
        Some(v) => {
            let r = v.record;
            let stale = if s.live() { "" } else { " (stale)" };
            let nibp = r.nibp.map_or_else(
                || "--/--".to_string(),
                |n| format!("{}/{} ({})", n.systolic_mmhg, n.diastolic_mmhg, n.mean_mmhg),
            );
            let _ = write!(
                out,
                " | HR {} SpO2 {} RR {} NIBP {nibp} T {} PR {}{stale}",
                r.hr_bpm,
                r.spo2_pct,
                r.rr_rpm,
                opt(r.temp_c.map(|t| format!("{t:.1}"))),
                opt(r.pulse_rate_bpm),
            );
        }
        None => out.push_str(" | no vitals yet"),
    }
    let c = &s.counts;
    let _ = write!(
        out,
        " | frames {} dropped {} rejected {}",
        c.frames(),
        c.dropped,
        c.rejected()
    );
    match latency {
        Some(l) => {
            let _ = write!(
                out,
                " | lat p50 {:.0}us p99 {:.0}us max {:.0}us",
                l.p50_us, l.p99_us, l.max_us
            );
        }
        None => out.push_str(" | lat --"),
    }
    if let Some(age) = s.heartbeat_age_ms() {
        let _ = write!(out, " | heartbeat age {age} ms");
    }
    let alarms = s.alarms();
    if alarms.is_empty() {
        out.push_str(" | alarms: -");
    } else {
        out.push_str(" | alarms: ");
        let texts: Vec<_> = alarms
            .iter()
            .map(|a| {
                let kind = if a.technical { ", technical" } else { "" };
                format!("{} ({}{kind})", a.text, a.priority.name())
            })
            .collect();
        out.push_str(&texts.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::state::tests::connected;
    use super::*;

    #[test]
    fn line_shows_numerics_counters_and_alarms() {
        let mut s = connected(130, 98, 16);
        let l = s.latency.roll();
        let line = status_line(&s, l);
        assert!(line.contains("connected"), "{line}");
        assert!(
            line.contains("HR 130 SpO2 98 RR 16 NIBP 120/80 (93) T 36.9 PR 130"),
            "{line}"
        );
        assert!(line.contains("frames 301 dropped 0 rejected 0"), "{line}");
        assert!(line.contains("max 50us"), "{line}");
        assert!(line.ends_with("alarms: HR HIGH (medium)"), "{line}");
    }

    #[test]
    fn no_spo2_reading_is_a_technical_alarm() {
        let s = connected(72, 0, 16);
        let line = status_line(&s, None);
        assert!(
            line.ends_with("alarms: SPO2 NO SIGNAL (medium, technical)"),
            "{line}"
        );
        assert!(!line.contains("SPO2 LOW"), "{line}");
    }
}
