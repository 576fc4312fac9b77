//! Test helpers: run collection, an FNV-1a digest and a Pan–Tompkins QRS detector.
#![allow(dead_code)]

use vitalring_sim::{Beat, Channel, Scenario, SimConfig, SimOutput, Simulator, Vitals};

/// Start time used by the tests (an arbitrary Unix time in ns).
pub const START_NS: u64 = 1_700_000_000_123_456_789;
pub const FS: f64 = 250.0;

/// Everything a run produced.
pub struct Run {
    pub ecg: Vec<i32>,
    pub pleth: Vec<i32>,
    pub resp: Vec<i32>,
    pub vitals: Vec<Vitals>,
    /// True beats (R peaks), seconds since the start.
    pub beats: Vec<f64>,
}

impl Run {
    /// Seconds since the start of a vitals frame.
    pub fn vt(v: &Vitals) -> f64 {
        (v.t_ns - START_NS) as f64 * 1e-9
    }
}

/// Runs `cfg` for `secs` seconds of simulated time.
pub fn run_cfg(cfg: SimConfig, secs: f64) -> Run {
    let mut sim = Simulator::new(cfg);
    let end = cfg.start_ns + (secs * 1e9) as u64 - 1;
    let mut r = Run {
        ecg: Vec::new(),
        pleth: Vec::new(),
        resp: Vec::new(),
        vitals: Vec::new(),
        beats: Vec::new(),
    };
    let mut last_beat: Option<u64> = None;
    while sim.peek_t_ns() <= end {
        match sim.next_output() {
            SimOutput::Vitals(v) => r.vitals.push(v),
            SimOutput::Waveform(w) => {
                let dst = match w.channel {
                    Channel::EcgII => &mut r.ecg,
                    Channel::Pleth => &mut r.pleth,
                    Channel::Resp => &mut r.resp,
                };
                assert_eq!(dst.len() as u64, w.first);
                dst.extend_from_slice(&w.samples);
            }
        }
        let news: Vec<Beat> = sim
            .beats()
            .filter(|b| last_beat.is_none_or(|l| b.index > l))
            .collect();
        for b in news {
            if let Some(l) = last_beat {
                assert_eq!(b.index, l + 1, "missed a beat");
            }
            last_beat = Some(b.index);
            r.beats.push((b.t_ns - cfg.start_ns) as f64 * 1e-9);
        }
    }
    r
}

pub fn run(scenario: Scenario, seed: u64, secs: f64) -> Run {
    run_cfg(SimConfig::new(scenario, seed, START_NS), secs)
}

/// FNV-1a 64-bit, fed field by field.
pub struct Fnv(pub u64);

impl Fnv {
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub fn output(&mut self, o: &SimOutput) {
        match o {
            SimOutput::Vitals(v) => {
                self.bytes(&[1]);
                self.bytes(&v.t_ns.to_le_bytes());
                self.bytes(&v.hr_bpm.to_le_bytes());
                self.bytes(&[v.spo2_pct, v.rr_rpm]);
                self.bytes(&v.nibp.0.to_le_bytes());
                self.bytes(&v.nibp.1.to_le_bytes());
                self.bytes(&v.nibp.2.to_le_bytes());
                self.bytes(&v.temp_c.to_bits().to_le_bytes());
                self.bytes(&v.pulse_rate_bpm.to_le_bytes());
            }
            SimOutput::Waveform(w) => {
                self.bytes(&[2, w.channel as u8]);
                self.bytes(&w.t_ns.to_le_bytes());
                self.bytes(&w.first.to_le_bytes());
                self.bytes(&w.fs_hz.to_le_bytes());
                for s in w.samples {
                    self.bytes(&s.to_le_bytes());
                }
            }
        }
    }
}

/// Digest of the first `secs` seconds of a run.
pub fn digest(cfg: SimConfig, secs: u64) -> u64 {
    let mut sim = Simulator::new(cfg);
    let mut h = Fnv::new();
    for o in sim.advance_to(cfg.start_ns + secs * 1_000_000_000 - 1) {
        h.output(&o);
    }
    h.0
}

// ---------------------------------------------------------------------------
// Pan–Tompkins QRS detector
// ---------------------------------------------------------------------------

/// Second-order section (RBJ audio-EQ cookbook), direct form I.
#[derive(Clone, Copy)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    fn lowpass(f0: f64, fs: f64) -> Self {
        let w0 = std::f64::consts::TAU * f0 / fs;
        let alpha = w0.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
        let c = w0.cos();
        let a0 = 1.0 + alpha;
        Biquad {
            b: [(1.0 - c) / 2.0 / a0, (1.0 - c) / a0, (1.0 - c) / 2.0 / a0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
        }
    }
    fn highpass(f0: f64, fs: f64) -> Self {
        let w0 = std::f64::consts::TAU * f0 / fs;
        let alpha = w0.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
        let c = w0.cos();
        let a0 = 1.0 + alpha;
        Biquad {
            b: [(1.0 + c) / 2.0 / a0, -(1.0 + c) / a0, (1.0 + c) / 2.0 / a0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
        }
    }
    fn run(&self, x: &[f64]) -> Vec<f64> {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        x.iter()
            .map(|&x0| {
                let y0 = self.b[0] * x0 + self.b[1] * x1 + self.b[2] * x2
                    - self.a[0] * y1
                    - self.a[1] * y2;
                x2 = x1;
                x1 = x0;
                y2 = y1;
                y1 = y0;
                y0
            })
            .collect()
    }
}

/// Zero-phase (forward–backward) application of `f`.
fn filtfilt(f: &[Biquad], x: &[f64]) -> Vec<f64> {
    let mut y = x.to_vec();
    for s in f {
        y = s.run(&y);
    }
    y.reverse();
    for s in f {
        y = s.run(&y);
    }
    y.reverse();
    y
}

/// Pan J., Tompkins W.J., "A real-time QRS detection algorithm", IEEE TBME
/// 32(3):230–236, 1985, applied offline: 5–15 Hz band-pass (zero-phase),
/// five-point derivative, squaring, 150 ms moving-window integration, then
/// adaptive thresholds (SPKI/NPKI, THRESHOLD I1/I2) with a 200 ms refractory
/// period, T-wave discrimination below 360 ms and search-back at 166 % of the
/// average RR. Returns R-peak sample indices.
pub fn pan_tompkins(ecg: &[i32], fs: f64) -> Vec<usize> {
    let x: Vec<f64> = ecg.iter().map(|&v| f64::from(v)).collect();
    let n = x.len();
    let bp = filtfilt(&[Biquad::highpass(5.0, fs), Biquad::lowpass(15.0, fs)], &x);
    let mut d = vec![0.0; n];
    for i in 2..n.saturating_sub(2) {
        d[i] = (2.0 * bp[i + 1] + bp[i + 2] - bp[i - 2] - 2.0 * bp[i - 1]) * fs / 8.0;
    }
    let sq: Vec<f64> = d.iter().map(|v| v * v).collect();
    let w = (0.150 * fs).round() as usize;
    let half = w / 2;
    let mut prefix = vec![0.0; n + 1];
    for i in 0..n {
        prefix[i + 1] = prefix[i] + sq[i];
    }
    let mwi: Vec<f64> = (0..n)
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half).min(n);
            (prefix[hi] - prefix[lo]) / w as f64
        })
        .collect();

    let refractory = (0.200 * fs) as usize;
    let t_wave_window = (0.360 * fs) as usize;
    let slope_win = (0.075 * fs) as usize;
    let slope_at = |p: usize| {
        d[p.saturating_sub(slope_win)..=p]
            .iter()
            .fold(0.0f64, |a, v| a.max(v.abs()))
    };

    let learn = (2.0 * fs) as usize;
    let learn = learn.min(n);
    let mut spki = mwi[..learn].iter().cloned().fold(0.0, f64::max) / 3.0;
    let mut npki = mwi[..learn].iter().sum::<f64>() / learn.max(1) as f64 / 2.0;

    let mut qrs: Vec<usize> = Vec::new();
    let mut qrs_slope = 0.0;
    let mut rrs: Vec<usize> = Vec::new();
    let mut noise_peaks: Vec<usize> = Vec::new();

    let rr_avg = |rrs: &[usize]| -> Option<f64> {
        if rrs.is_empty() {
            None
        } else {
            let k = rrs.len().min(8);
            Some(rrs[rrs.len() - k..].iter().sum::<usize>() as f64 / k as f64)
        }
    };

    for p in 1..n.saturating_sub(1) {
        if !(mwi[p] > mwi[p - 1] && mwi[p] >= mwi[p + 1]) {
            continue;
        }
        let th1 = npki + 0.25 * (spki - npki);
        let th2 = 0.5 * th1;
        // Search back for a missed beat.
        if let (Some(&last), Some(avg)) = (qrs.last(), rr_avg(&rrs)) {
            if (p - last) as f64 > 1.66 * avg {
                let cand = noise_peaks
                    .iter()
                    .copied()
                    .filter(|&c| c > last + refractory && mwi[c] > th2)
                    .max_by(|&a, &b| mwi[a].total_cmp(&mwi[b]));
                if let Some(c) = cand {
                    spki = 0.25 * mwi[c] + 0.75 * spki;
                    rrs.push(c - last);
                    qrs.push(c);
                    qrs_slope = slope_at(c);
                    noise_peaks.retain(|&q| q > c);
                }
            }
        }
        let pk = mwi[p];
        if pk > th1 {
            match qrs.last().copied() {
                Some(last) if p - last < refractory => {
                    // Same complex: keep the larger hump.
                    if pk > mwi[last] {
                        *qrs.last_mut().unwrap() = p;
                        if let Some(r) = rrs.last_mut() {
                            *r += p - last;
                        }
                        qrs_slope = slope_at(p);
                    }
                    continue;
                }
                Some(last) if p - last < t_wave_window && slope_at(p) < 0.5 * qrs_slope => {
                    npki = 0.125 * pk + 0.875 * npki;
                    noise_peaks.push(p);
                    continue;
                }
                Some(last) => rrs.push(p - last),
                None => {}
            }
            spki = 0.125 * pk + 0.875 * spki;
            qrs.push(p);
            qrs_slope = slope_at(p);
            noise_peaks.clear();
        } else {
            npki = 0.125 * pk + 0.875 * npki;
            noise_peaks.push(p);
        }
    }

    // Locate the R peak: the band-passed maximum within ±100 ms of the hump.
    let win = (0.100 * fs) as usize;
    qrs.iter()
        .map(|&p| {
            let lo = p.saturating_sub(win);
            let hi = (p + win).min(n - 1);
            (lo..=hi).max_by(|&a, &b| bp[a].total_cmp(&bp[b])).unwrap()
        })
        .collect()
}

/// Greedy one-to-one matching of detections to truth within `tol` seconds;
/// returns (true positives, truths, detections) counted inside `[from, to)`.
pub fn match_beats(
    truth: &[f64],
    det: &[f64],
    tol: f64,
    from: f64,
    to: f64,
) -> (usize, usize, usize) {
    let truth: Vec<f64> = truth
        .iter()
        .copied()
        .filter(|t| (from..to).contains(t))
        .collect();
    let det: Vec<f64> = det
        .iter()
        .copied()
        .filter(|t| (from..to).contains(t))
        .collect();
    let mut used = vec![false; det.len()];
    let mut tp = 0;
    for &t in &truth {
        if let Some((i, _)) = det
            .iter()
            .enumerate()
            .filter(|(i, d)| !used[*i] && (*d - t).abs() <= tol)
            .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
        {
            used[i] = true;
            tp += 1;
        }
    }
    (tp, truth.len(), det.len())
}

/// 60 / mean of the last 8 RR intervals among `beats` at or before `t` (s).
pub fn rate_at(beats: &[f64], t: f64) -> Option<f64> {
    let k = beats.partition_point(|&b| b <= t);
    if k < 2 {
        return None;
    }
    let m = (k - 1).min(8);
    Some(60.0 * m as f64 / (beats[k - 1] - beats[k - 1 - m]))
}

/// Coefficient of variation of successive differences of `beats` in `[from, to)`.
pub fn rr_cv(beats: &[f64], from: f64, to: f64) -> f64 {
    let b: Vec<f64> = beats
        .iter()
        .copied()
        .filter(|t| (from..to).contains(t))
        .collect();
    let rr: Vec<f64> = b.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = rr.iter().sum::<f64>() / rr.len() as f64;
    let var = rr.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rr.len() as f64;
    var.sqrt() / mean
}

// ---------------------------------------------------------------------------
// Delineation on averaged templates
// ---------------------------------------------------------------------------

/// Template window: this many seconds before and after each R peak.
pub const TEMPLATE_BEFORE_S: f64 = 0.30;
pub const TEMPLATE_AFTER_S: f64 = 0.60;

/// Coherent average of the beats at `r_peaks` (sample indices) of `ecg`:
/// noise, wander and hum average out, the morphology stays. Index
/// `(TEMPLATE_BEFORE_S * fs)` of the result is the R peak.
pub fn template(ecg: &[i32], r_peaks: &[usize], fs: f64) -> Vec<f64> {
    let before = (TEMPLATE_BEFORE_S * fs).round() as usize;
    let after = (TEMPLATE_AFTER_S * fs).round() as usize;
    let mut acc = vec![0.0; before + after];
    let mut n = 0;
    for &r in r_peaks {
        if r < before || r + after > ecg.len() {
            continue;
        }
        for (a, &v) in acc.iter_mut().zip(&ecg[r - before..r + after]) {
            *a += f64::from(v);
        }
        n += 1;
    }
    assert!(n >= 10, "only {n} beats for a template");
    acc.iter().map(|a| a / f64::from(n)).collect()
}

/// Fiducial points of one template (times relative to the R peak, seconds).
#[derive(Debug, Clone, Copy)]
pub struct Delineation {
    /// Isoelectric level (PR segment), µV.
    pub baseline_uv: f64,
    /// R amplitude above the baseline, µV.
    pub r_uv: f64,
    /// P peak above the baseline, µV.
    pub p_uv: f64,
    pub p_onset_s: f64,
    pub qrs_onset_s: f64,
    pub qrs_offset_s: f64,
    /// T end by the tangent method (steepest descent after the T peak,
    /// extended to the baseline).
    pub t_end_s: f64,
}

impl Delineation {
    pub fn pr_ms(&self) -> f64 {
        (self.qrs_onset_s - self.p_onset_s) * 1e3
    }
    pub fn qrs_ms(&self) -> f64 {
        (self.qrs_offset_s - self.qrs_onset_s) * 1e3
    }
    pub fn qt_ms(&self) -> f64 {
        (self.t_end_s - self.qrs_onset_s) * 1e3
    }
    /// QT corrected with Fridericia's formula for a mean RR of `rr_s`.
    pub fn qtc_fridericia_ms(&self, rr_s: f64) -> f64 {
        self.qt_ms() / rr_s.cbrt()
    }
}

/// Delineates a template made by [`template`] of beats `rr_s` apart. The
/// rules are the textbook ones (thresholds relative to the R and P
/// amplitudes, the tangent method for the T end), written from the signal
/// alone, without the model's constants.
pub fn delineate(t: &[f64], fs: f64, rr_s: f64) -> Delineation {
    let r = (TEMPLATE_BEFORE_S * fs).round() as usize;
    let at = |s: f64| (r as f64 + s * fs).round() as usize;
    let secs = |i: usize| (i as f64 - r as f64) / fs;
    // Isoelectric level: the PR segment, 80–45 ms before R.
    let mut seg: Vec<f64> = t[at(-0.080)..=at(-0.045)].to_vec();
    seg.sort_by(f64::total_cmp);
    let base = seg[seg.len() / 2];
    let r_uv = t[r] - base;
    // QRS bounds: walking out from R, the first sample back within 1 % of
    // the R amplitude of the baseline with a flat slope.
    let quiet =
        |i: usize| (t[i] - base).abs() < 0.01 * r_uv && (t[i] - t[i - 1]).abs() < 0.01 * r_uv;
    let mut on = r;
    while on > at(-0.12) && !quiet(on) {
        on -= 1;
    }
    let mut off = r;
    while off < at(0.15) && !quiet(off) {
        off += 1;
    }
    // P: the first hump (local maximum at least 20 µV above the baseline)
    // scanning back from 60 ms before R, at most 250 ms before it; its onset
    // is where it falls below 5 % of its height, or the trough before it when
    // it rides on the preceding T wave.
    let ip = (at(-0.25)..=at(-0.06))
        .rev()
        .find(|&i| t[i] >= t[i - 1] && t[i] > t[i + 1] && t[i] - base > 20.0)
        .expect("no P wave");
    let p_uv = t[ip] - base;
    let mut p_on = ip;
    while p_on > 1 && t[p_on] - base > 0.05 * p_uv && t[p_on - 1] < t[p_on] {
        p_on -= 1;
    }
    // T: the maximum from 100 ms after R to 55 % of the cycle (before the
    // next P), then the steepest descent after it and its tangent's crossing
    // of the baseline.
    let t_hi = at(0.50_f64.min(0.55 * rr_s)).min(t.len() - 2);
    let (it, t_top) = (at(0.10)..=t_hi)
        .map(|i| (i, t[i]))
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    let (is, slope) = (it..t_hi)
        .map(|i| (i, t[i + 1] - t[i]))
        .take_while(|&(i, _)| i < it + (0.15 * fs) as usize)
        .fold((it, 0.0), |a, b| if b.1 < a.1 { b } else { a });
    assert!(slope < 0.0 && t_top > base, "no T wave");
    let t_end = is as f64 + (t[is] - base) / -slope;
    Delineation {
        baseline_uv: base,
        r_uv,
        p_uv,
        p_onset_s: secs(p_on),
        qrs_onset_s: secs(on),
        qrs_offset_s: secs(off),
        t_end_s: (t_end - r as f64) / fs,
    }
}

/// Local maxima of `x` standing at least `min_prominence` above the higher of
/// the two minima between them and the nearest higher samples on either side
/// (the usual topographic prominence), at least `min_gap` samples apart.
pub fn prominent_peaks(x: &[i32], min_prominence: i32, min_gap: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for i in 1..x.len().saturating_sub(1) {
        if !(x[i] > x[i - 1] && x[i] >= x[i + 1]) {
            continue;
        }
        let left = x[..i]
            .iter()
            .rev()
            .take_while(|&&v| v <= x[i])
            .min()
            .copied()
            .unwrap_or(x[i]);
        let right = x[i + 1..]
            .iter()
            .take_while(|&&v| v <= x[i])
            .min()
            .copied()
            .unwrap_or(x[i]);
        if x[i] - left.max(right) < min_prominence {
            continue;
        }
        match out.last() {
            Some(&l) if i - l < min_gap => {
                if x[i] > x[l] {
                    *out.last_mut().unwrap() = i;
                }
            }
            _ => out.push(i),
        }
    }
    out
}

/// Standard deviation and RMS of successive differences of `v`.
pub fn sd_rmssd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let d: Vec<f64> = v.windows(2).map(|w| w[1] - w[0]).collect();
    let rmssd = (d.iter().map(|x| x * x).sum::<f64>() / d.len() as f64).sqrt();
    (sd, rmssd)
}
