//! Export of a [`Recording`] for other tools.
//!
//! **WFDB** (PhysioNet's format, what `wfdb.rdrecord` and the WFDB tools read): one record per
//! contiguous segment of each waveform channel, named `<channel>_<nnn>` (`nnn` counts the
//! channel's segments from 0) — a gap or a new epoch starts a new record, so no tool can
//! join samples across it. Each record is a header `<name>.hea` and a format-16 signal file
//! `<name>.dat` (16-bit two's complement, little-endian). Samples are stored with gain 1 in
//! the channel's units when they fit 16 bits (the simulator's always do); otherwise they are
//! divided by the smallest integer that makes them fit and the gain says so. -32768 is WFDB's
//! "no sample" value and never written. The header's comment lines (`#`) carry the
//! acquisition time of the first sample, its producer sample index and the epoch. A
//! `RECORDS` file lists the records, as PhysioNet databases do.
//!
//! **CSV**: `vitals.csv` (absent values as empty fields), `events.csv`, and
//! `<channel>.csv` with one line per sample (`segment,sample_index,time_ns,value`; the time is
//! the segment's start plus the sample clock).

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use vitalring_core::vitals::Channel;

use crate::h5::{Recording, WaveTable};
use crate::layout::{self, FILL_U16};

/// Why an export failed.
#[derive(Debug)]
pub struct ExportError {
    /// The file or directory.
    pub path: PathBuf,
    /// What went wrong.
    pub error: std::io::Error,
}

impl core::fmt::Display for ExportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for ExportError {}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let wrap = |error| ExportError {
        path: path.to_path_buf(),
        error,
    };
    let mut f = std::fs::File::create(path).map_err(wrap)?;
    f.write_all(bytes).map_err(wrap)
}

fn make_dir(dir: &Path) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|error| ExportError {
        path: dir.to_path_buf(),
        error,
    })
}

/// One contiguous run of a channel: `[start, end)` in its samples, and its segment row.
fn runs(w: &WaveTable) -> Vec<(usize, usize, usize)> {
    let n = w.samples.len();
    let offs = &w.segments.offset;
    (0..w.segments.rows())
        .map(|s| {
            let start = usize::try_from(offs[s]).unwrap_or(n).min(n);
            let end = offs
                .get(s + 1)
                .map_or(n, |&o| usize::try_from(o).unwrap_or(n).min(n));
            (start, end.max(start), s)
        })
        .filter(|(a, b, _)| b > a)
        .collect()
}

/// The divisor that makes every sample fit in `-32767..=32767`.
fn divisor(samples: &[i32]) -> i64 {
    let max = samples
        .iter()
        .map(|&s| i64::from(s).abs())
        .max()
        .unwrap_or(0);
    ((max + 32766) / 32767).max(1)
}

/// Writes the WFDB records of `rec` into `dir` (created if missing); returns the record names.
///
/// # Errors
/// A file could not be written.
pub fn wfdb(rec: &Recording, dir: &Path) -> Result<Vec<String>, ExportError> {
    make_dir(dir)?;
    let mut names = Vec::new();
    for (channel, w) in Channel::ALL.into_iter().zip(&rec.tables.waves) {
        for (start, end, s) in runs(w) {
            let name = format!("{}_{s:03}", channel.name());
            let samples = &w.samples[start..end];
            let div = divisor(samples);
            let mut dat = Vec::with_capacity(samples.len() * 2);
            let mut checksum: i16 = 0;
            let mut first: i16 = 0;
            for (i, &x) in samples.iter().enumerate() {
                let d = i16::try_from((i64::from(x) / div).clamp(-32767, 32767)).unwrap_or(0);
                if i == 0 {
                    first = d;
                }
                checksum = checksum.wrapping_add(d);
                dat.extend_from_slice(&d.to_le_bytes());
            }
            let seg = &w.segments;
            let fs = seg.sample_rate_hz[s];
            let units = match channel {
                Channel::EcgII => "uV",
                Channel::Pleth => "NU",
                Channel::Resp => "mOhm",
            };
            let gain = if div == 1 {
                "1".to_string()
            } else {
                format!("{}", 1.0 / div as f64)
            };
            let mut hea = String::new();
            let _ = writeln!(hea, "{name} 1 {fs} {}", samples.len());
            let _ = writeln!(
                hea,
                "{name}.dat 16 {gain}(0)/{units} 16 0 {first} {checksum} 0 {}",
                channel.name()
            );
            let _ = writeln!(hea, "# vitalring recording of channel {}", rec.channel);
            let _ = writeln!(hea, "# units: {}", layout::units(channel));
            let _ = writeln!(hea, "# start_time_ns {}", seg.start_time_ns[s]);
            let _ = writeln!(hea, "# first_sample_index {}", seg.first_sample_index[s]);
            let _ = writeln!(hea, "# epoch {:016x}", seg.epoch[s]);
            write_file(&dir.join(format!("{name}.dat")), &dat)?;
            write_file(&dir.join(format!("{name}.hea")), hea.as_bytes())?;
            names.push(name);
        }
    }
    let mut list = names.join("\n");
    list.push('\n');
    write_file(&dir.join("RECORDS"), list.as_bytes())?;
    Ok(names)
}

fn field(v: u16) -> String {
    if v == FILL_U16 {
        String::new()
    } else {
        v.to_string()
    }
}

/// Writes the CSV files of `rec` into `dir` (created if missing); returns the file names.
///
/// # Errors
/// A file could not be written.
pub fn csv(rec: &Recording, dir: &Path) -> Result<Vec<String>, ExportError> {
    make_dir(dir)?;
    let t = &rec.tables;
    let mut out = String::from(
        "time_ns,index,epoch,hr_bpm,spo2_pct,rr_rpm,nibp_systolic_mmhg,nibp_diastolic_mmhg,\
         nibp_mean_mmhg,temp_c,pulse_rate_bpm\n",
    );
    let v = &t.vitals;
    for i in 0..v.rows() {
        let temp = if v.temp_c[i].is_nan() {
            String::new()
        } else {
            v.temp_c[i].to_string()
        };
        let _ = writeln!(
            out,
            "{},{},{:016x},{},{},{},{},{},{},{temp},{}",
            v.time_ns[i],
            v.index[i],
            v.epoch[i],
            v.hr_bpm[i],
            v.spo2_pct[i],
            v.rr_rpm[i],
            field(v.nibp_systolic_mmhg[i]),
            field(v.nibp_diastolic_mmhg[i]),
            field(v.nibp_mean_mmhg[i]),
            field(v.pulse_rate_bpm[i]),
        );
    }
    write_file(&dir.join("vitals.csv"), out.as_bytes())?;
    let mut files = vec!["vitals.csv".to_string()];

    let e = &t.events;
    let mut out = String::from("time_ns,kind,epoch,first,count,detail\n");
    for i in 0..e.rows() {
        let detail = e.detail[i].as_str().replace('"', "'");
        let _ = writeln!(
            out,
            "{},{},{:016x},{},{},\"{detail}\"",
            e.time_ns[i],
            e.kind[i].as_str(),
            e.epoch[i],
            e.first[i],
            e.count[i]
        );
    }
    write_file(&dir.join("events.csv"), out.as_bytes())?;
    files.push("events.csv".into());

    for (channel, w) in Channel::ALL.into_iter().zip(&t.waves) {
        let mut out = String::from("segment,sample_index,time_ns,value\n");
        for (start, end, s) in runs(w) {
            let seg = &w.segments;
            let fs = u64::from(seg.sample_rate_hz[s].max(1));
            for (k, &x) in w.samples[start..end].iter().enumerate() {
                let k = k as u64;
                let _ = writeln!(
                    out,
                    "{s},{},{},{x}",
                    seg.first_sample_index[s].saturating_add(k),
                    seg.start_time_ns[s].saturating_add(k * 1_000_000_000 / fs)
                );
            }
        }
        let name = format!("{}.csv", channel.name());
        write_file(&dir.join(&name), out.as_bytes())?;
        files.push(name);
    }
    Ok(files)
}
