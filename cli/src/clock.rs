//! Clocks: wall time for frame timestamps and latency, monotonic time for schedules.

use std::time::Instant;

/// `CLOCK_REALTIME`, ns since the Unix epoch (the platform crate's clock).
pub use vitalring_linux::clock::wall_ns;

/// Nanoseconds since `start` (monotonic).
pub fn since_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A `--duration SECS` as ns; `None` runs until stopped.
pub fn duration_ns(secs: Option<f64>) -> Option<u64> {
    secs.map(|s| (s.max(0.0) * 1e9) as u64)
}

/// `ns` since the Unix epoch as UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian).
pub fn utc(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let ms = (ns / 1_000_000) % 1000;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(951_782_400_123_000_000), "2000-02-29T00:00:00.123Z");
        assert_eq!(utc(1_700_000_000_000_000_000), "2023-11-14T22:13:20.000Z");
    }
}
