//! ECG lead II: the ECGSYN dynamical model and its RR tachogram.
//!
//! Model: McSharry P.E., Clifford G.D., Tarassenko L., Smith L.A., "A dynamical
//! model for generating synthetic electrocardiogram signals", IEEE Trans.
//! Biomed. Eng. 50(3):289–294, 2003 (ECGSYN). The state (x, y, z) follows
//!
//! ```text
//! dx/dt = α x − ω y        α = 1 − sqrt(x² + y²),  ω = 2π / RR
//! dy/dt = α y + ω x        θ = atan2(y, x)
//! dz/dt = −Σ_{i∈{P,Q,R,S,T}} a_i Δθ_i exp(−Δθ_i² / (2 b_i²)) − (z − z0)
//! ```
//!
//! with θ_i = −70, −15, 0, 15, 100 degrees, a_i = 1.2, −5, 30, −7.5, 0.75 and
//! b_i = 0.25, 0.1, 0.1, 0.1, 0.4 rad, Δθ_i = (θ − θ_i) wrapped to (−π, π].
//! As in ECGSYN the widths and angles are adapted to the heart rate:
//! b_i ← b_i·h, θ_i ← θ_i·(√h, h, 1, h, √h) with h = sqrt(HR/60); we apply it
//! per beat (HR = 60/RR of the current interval), which keeps every wave's
//! amplitude independent of the rate. z0 = 0: baseline wander is added in the
//! output stage (see `lib.rs`).
//!
//! Integration: classical RK4 with a 1 ms step (1 kHz internal rate), point
//! sampled every 4 ms (250 Hz). ω is constant between consecutive R peaks
//! (θ = 0): step boundaries are split exactly at each scheduled R peak and the
//! phase is snapped to θ = 0 there, so the synthesized R peak times are known
//! exactly (they are the `BeatRec::t` values) and do not drift.
//!
//! Tachogram (sinus): RR_k = 60/HR(t) + σ_RR·m(t_k), σ_RR = 60·σ_HR/HR² with
//! σ_HR = 1 bpm (ECGSYN's default), and m a unit-variance process with
//! ECGSYN's bimodal spectrum: an LF Gaussian at 0.1 Hz (Mayer waves, sd
//! 0.01 Hz) and an HF Gaussian at the respiration frequency (respiratory sinus
//! arrhythmia, sd 4 % of it), LF/HF power ratio 0.5. m is a sum of 8 + 8
//! sinusoids whose frequencies and phases are drawn from the seed; the HF
//! sinusoids run on the respiration model's phase, so RSA follows breathing.
//!
//! Atrial fibrillation: RR intervals are independent log-normal draws around
//! 60/HR (σ_ln = 0.25, i.e. CV ≈ 0.25), clamped to 0.28–2.0 s; the P wave is
//! removed (a_P = 0). The f-waves are added in the output stage.
//!
//! Asystole: when the next scheduled R peak would fall in asystole, the
//! trajectory completes the current beat up to θ = π (after the T wave) and
//! stops there (ω = 0, wave terms off); z then relaxes to 0 with the model's
//! 1 s time constant (the −(z − z0) term acts like an AC-coupled amplifier;
//! the isoelectric level during sinus rhythm sits ≈ 130 µV below 0 for the
//! same reason): a flat line within a few seconds.

use core::f64::consts::{PI, TAU};

use crate::ring::Ring;
use crate::rng::{stream, Rng};
use crate::scenario::{Rhythm, Scenario, Targets};

const THETA_DEG: [f64; 5] = [-70.0, -15.0, 0.0, 15.0, 100.0];
const A: [f64; 5] = [1.2, -5.0, 30.0, -7.5, 0.75];
const B: [f64; 5] = [0.25, 0.1, 0.1, 0.1, 0.4];
/// Gaussian terms further than this many widths from θ are skipped (< 4e-6).
const CUTOFF_WIDTHS: f64 = 5.0;

/// Internal integration step, seconds (1 kHz).
pub(crate) const STEP_S: f64 = 0.001;
/// µV per unit of z: puts the R peak at ≈ 1.2 mV above the isoelectric line.
pub(crate) const GAIN_UV: f64 = 26_000.0;
/// Beat-to-beat heart-rate standard deviation in sinus rhythm, bpm (ECGSYN default).
const HR_STD_BPM: f64 = 1.0;
/// LF/HF power ratio of the RR spectrum (ECGSYN default).
const LF_HF_RATIO: f64 = 0.5;
const LF_HZ: f64 = 0.1;
const LF_SD_HZ: f64 = 0.01;
/// HF spread relative to the respiration frequency (0.01 Hz at 0.25 Hz).
const HF_REL_SD: f64 = 0.04;
const N_COMP: usize = 8;
/// Log-normal σ of AF RR intervals.
const AF_SIGMA: f64 = 0.25;
const AF_RR_MIN_S: f64 = 0.28;
const AF_RR_MAX_S: f64 = 2.0;
/// Virtual beats placed before t = 0 so rate averages are valid from the start.
pub(crate) const PREHISTORY_BEATS: usize = 10;

/// One synthesized beat.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BeatRec {
    /// R peak time, seconds since start (negative for the virtual prehistory).
    pub t: f64,
    /// Interval to the next R peak, seconds (the cycle length used for this beat).
    pub rr: f64,
    /// Beat number: 0 for the first beat at t ≥ 0, negative for prehistory.
    pub index: i64,
}

/// Per-interval Gaussian parameters.
#[derive(Clone, Copy, Debug)]
struct Shape {
    theta: [f64; 5],
    a: [f64; 5],
    b: [f64; 5],
    two_b2: [f64; 5],
    cutoff: [f64; 5],
}

impl Shape {
    fn for_rr(rr: f64, p_wave: bool) -> Self {
        let h = (60.0 / rr / 60.0).sqrt();
        let h2 = h.sqrt();
        let scale = [h2, h, 1.0, h, h2];
        let mut s = Shape {
            theta: [0.0; 5],
            a: A,
            b: [0.0; 5],
            two_b2: [0.0; 5],
            cutoff: [0.0; 5],
        };
        for i in 0..5 {
            s.theta[i] = (THETA_DEG[i] * scale[i]).to_radians();
            s.b[i] = B[i] * h;
            s.two_b2[i] = 2.0 * s.b[i] * s.b[i];
            s.cutoff[i] = CUTOFF_WIDTHS * s.b[i];
        }
        if !p_wave {
            s.a[0] = 0.0;
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// θ reaches 0: an R peak.
    RPeak,
    /// θ reaches π: stop (asystole).
    Freeze,
}

/// RR interval generator.
#[derive(Clone, Debug)]
struct Tachogram {
    /// (frequency Hz, phase rad)
    lf: [(f64, f64); N_COMP],
    /// (multiple of the respiration phase, phase rad)
    hf: [(f64, f64); N_COMP],
    rng: Rng,
}

impl Tachogram {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed, stream::TACHOGRAM);
        let mut lf = [(0.0, 0.0); N_COMP];
        for c in &mut lf {
            let f = (LF_HZ + LF_SD_HZ * rng.normal()).clamp(0.04, 0.15);
            *c = (f, rng.range(0.0, TAU));
        }
        let mut hf = [(0.0, 0.0); N_COMP];
        for c in &mut hf {
            let k = (1.0 + HF_REL_SD * rng.normal()).clamp(0.85, 1.15);
            *c = (k, rng.range(0.0, TAU));
        }
        Self { lf, hf, rng }
    }

    /// Next RR interval (s) for a beat at `t` with targets `tg`, given the
    /// respiration model's accumulated phase (rad).
    fn next_rr(&mut self, t: f64, tg: &Targets, resp_phase: f64) -> f64 {
        let hr = tg.hr_bpm.clamp(20.0, 250.0);
        let mean = 60.0 / hr;
        match tg.rhythm {
            Rhythm::Sinus | Rhythm::Asystole => {
                let amp = (2.0 / N_COMP as f64).sqrt();
                let lf: f64 = self
                    .lf
                    .iter()
                    .map(|&(f, ph)| amp * (TAU * f * t + ph).sin())
                    .sum();
                let hf: f64 = self
                    .hf
                    .iter()
                    .map(|&(k, ph)| amp * (k * resp_phase + ph).sin())
                    .sum();
                let w_lf = LF_HF_RATIO / (1.0 + LF_HF_RATIO);
                let m = w_lf.sqrt() * lf + (1.0 - w_lf).sqrt() * hf;
                let sd = 60.0 * HR_STD_BPM / (hr * hr);
                (mean + sd * m).clamp(0.2, 3.0)
            }
            Rhythm::Afib => {
                let z = self.rng.normal();
                (mean * (AF_SIGMA * z - 0.5 * AF_SIGMA * AF_SIGMA).exp())
                    .clamp(AF_RR_MIN_S, AF_RR_MAX_S)
            }
        }
    }
}

/// The ECGSYN integrator plus beat scheduling.
#[derive(Clone, Debug)]
pub(crate) struct Ecg {
    s: [f64; 3],
    t: f64,
    omega: f64,
    shape: Shape,
    next_event: f64,
    event: Event,
    frozen: bool,
    next_index: i64,
    tacho: Tachogram,
}

fn wrap_pi(d: f64) -> f64 {
    (d + PI).rem_euclid(TAU) - PI
}

impl Ecg {
    /// Starts at θ = π (diastole) with the first R peak half a cycle later;
    /// pushes the virtual prehistory beats into `beats`.
    pub(crate) fn new<const N: usize>(
        seed: u64,
        scenario: Scenario,
        beats: &mut Ring<BeatRec, N>,
    ) -> Self {
        let mut tacho = Tachogram::new(seed);
        let tg = scenario.targets(0.0);
        let rr0 = (tg.rhythm != Rhythm::Asystole).then(|| tacho.next_rr(0.0, &tg, 0.0));
        let mut ecg = Ecg {
            s: [-1.0, 0.0, 0.0],
            t: 0.0,
            omega: 0.0,
            shape: Shape::for_rr(1.0, true),
            next_event: f64::INFINITY,
            event: Event::Freeze,
            frozen: true,
            next_index: 0,
            tacho,
        };
        if let Some(rr0) = rr0 {
            for j in (1..=PREHISTORY_BEATS).rev() {
                beats.push(BeatRec {
                    t: 0.5 * rr0 - j as f64 * rr0,
                    rr: rr0,
                    index: -(j as i64),
                });
            }
            ecg.start_cycle(0.5 * rr0, rr0, tg.rhythm == Rhythm::Sinus);
            // Start z on its limit cycle (the isoelectric level sits below 0,
            // see above) instead of at 0: integrate five whole cycles of a
            // throw-away copy, which ends at θ = π again.
            let mut warm = ecg.clone();
            let cycles = 5.0 * rr0;
            let steps = (cycles / STEP_S).ceil();
            for _ in 0..steps as usize {
                warm.rk4(cycles / steps);
            }
            ecg.s[2] = warm.s[2];
        }
        ecg
    }

    /// Current z (model units; multiply by [`GAIN_UV`]).
    pub(crate) fn z(&self) -> f64 {
        self.s[2]
    }

    fn start_cycle(&mut self, r_peak_at: f64, rr: f64, p_wave: bool) {
        self.omega = TAU / rr;
        self.shape = Shape::for_rr(rr, p_wave);
        self.next_event = r_peak_at;
        self.event = Event::RPeak;
        self.frozen = false;
    }

    fn deriv(&self, s: [f64; 3]) -> [f64; 3] {
        let [x, y, z] = s;
        let alpha = 1.0 - (x * x + y * y).sqrt();
        let dx = alpha * x - self.omega * y;
        let dy = alpha * y + self.omega * x;
        let theta = y.atan2(x);
        let sh = &self.shape;
        let mut f = 0.0;
        for i in 0..5 {
            let d = wrap_pi(theta - sh.theta[i]);
            if d.abs() < sh.cutoff[i] && sh.a[i] != 0.0 {
                f += sh.a[i] * d * (-d * d / sh.two_b2[i]).exp();
            }
        }
        [dx, dy, -f - z]
    }

    fn rk4(&mut self, h: f64) {
        let s = self.s;
        let add =
            |a: [f64; 3], k: [f64; 3], c: f64| [a[0] + c * k[0], a[1] + c * k[1], a[2] + c * k[2]];
        let k1 = self.deriv(s);
        let k2 = self.deriv(add(s, k1, 0.5 * h));
        let k3 = self.deriv(add(s, k2, 0.5 * h));
        let k4 = self.deriv(add(s, k3, h));
        for i in 0..3 {
            self.s[i] = s[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }

    /// Integrates up to `t_end` (seconds since start), recording R peaks in `beats`.
    pub(crate) fn advance_to<const N: usize>(
        &mut self,
        t_end: f64,
        scenario: Scenario,
        resp_phase: f64,
        beats: &mut Ring<BeatRec, N>,
    ) {
        if self.frozen {
            let tg = scenario.targets(t_end);
            if tg.rhythm != Rhythm::Asystole {
                // Resume from θ = π: the next R peak is half a cycle away
                // (if that is not in asystole either).
                let rr = self.tacho.next_rr(self.t, &tg, resp_phase);
                let at = self.t + 0.5 * rr;
                let rhythm = scenario.targets(at).rhythm;
                if rhythm != Rhythm::Asystole {
                    self.start_cycle(at, rr, rhythm == Rhythm::Sinus);
                }
            }
        }
        while self.t < t_end {
            let mut stop = (self.t + STEP_S).min(t_end);
            if t_end - stop < 1e-9 {
                stop = t_end;
            }
            let hit = self.next_event <= stop;
            if hit {
                stop = self.next_event;
            }
            if stop > self.t {
                self.rk4(stop - self.t);
            }
            self.t = stop;
            if hit {
                self.on_event(scenario, resp_phase, beats);
            }
        }
        self.t = t_end;
    }

    fn on_event<const N: usize>(
        &mut self,
        scenario: Scenario,
        resp_phase: f64,
        beats: &mut Ring<BeatRec, N>,
    ) {
        let te = self.next_event;
        let r = (self.s[0] * self.s[0] + self.s[1] * self.s[1]).sqrt();
        match self.event {
            Event::RPeak => {
                // Snap the phase to exactly θ = 0.
                self.s[0] = r;
                self.s[1] = 0.0;
                let tg = scenario.targets(te);
                let rr = self.tacho.next_rr(te, &tg, resp_phase);
                beats.push(BeatRec {
                    t: te,
                    rr,
                    index: self.next_index,
                });
                self.next_index += 1;
                let next = scenario.targets(te + rr).rhythm;
                self.start_cycle(te + rr, rr, next == Rhythm::Sinus);
                if next == Rhythm::Asystole {
                    self.next_event = te + 0.5 * rr;
                    self.event = Event::Freeze;
                }
            }
            Event::Freeze => {
                self.s[0] = -r;
                self.s[1] = 0.0;
                self.omega = 0.0;
                // Electrically silent: no wave terms, z relaxes to baseline.
                self.shape.a = [0.0; 5];
                self.frozen = true;
                self.next_event = f64::INFINITY;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scenario: Scenario, secs: f64) -> (Vec<f64>, Ring<BeatRec, 4096>) {
        let mut beats: Ring<BeatRec, 4096> = Ring::new();
        let mut ecg = Ecg::new(1, scenario, &mut beats);
        let n = (secs * 250.0) as usize;
        let mut z = Vec::with_capacity(n);
        for i in 0..n {
            ecg.advance_to(i as f64 * 0.004, scenario, 0.0, &mut beats);
            z.push(ecg.z() * GAIN_UV);
        }
        (z, beats)
    }

    #[test]
    fn r_peaks_are_where_the_beats_are() {
        let (z, beats) = run(Scenario::Normal, 20.0);
        let real: Vec<BeatRec> = beats.iter_oldest_first().filter(|b| b.index >= 0).collect();
        assert!(real.len() > 20);
        for b in real.iter().filter(|b| b.t > 0.1 && b.t < 19.9) {
            let i = (b.t / 0.004).round() as usize;
            let (lo, hi) = (i - 12, i + 12);
            let (imax, vmax) = z[lo..=hi]
                .iter()
                .enumerate()
                .fold(
                    (0, f64::MIN),
                    |acc, (k, &v)| if v > acc.1 { (k + lo, v) } else { acc },
                );
            assert!(
                (imax as f64 * 0.004 - b.t).abs() <= 0.0081,
                "beat {b:?} peak at {imax}"
            );
            assert!((1000.0..=1500.0).contains(&vmax), "R amplitude {vmax}");
        }
    }

    #[test]
    fn r_amplitude_is_rate_independent() {
        for sc in [Scenario::Tachycardia, Scenario::Bradycardia, Scenario::Afib] {
            let (z, beats) = run(sc, 45.0);
            for b in beats
                .iter_oldest_first()
                .filter(|b| b.t > 0.1 && b.t < 44.9)
            {
                let i = (b.t / 0.004).round() as usize;
                let vmax = z[i - 3..=i + 3].iter().cloned().fold(f64::MIN, f64::max);
                assert!(
                    (900.0..=1600.0).contains(&vmax),
                    "{sc}: R amplitude {vmax} at {}",
                    b.t
                );
            }
        }
    }

    #[test]
    fn asystole_is_flat_after_onset() {
        let (z, beats) = run(Scenario::Asystole, 20.0);
        let last = beats.iter_newest_first().next().unwrap();
        assert!(last.t <= 10.0);
        // z relaxes to the baseline with ECGSYN's 1 s time constant (as an
        // AC-coupled amplifier would): flat within 5 s of the last beat.
        let from = ((last.t + 5.0) / 0.004) as usize;
        let worst = z[from..].iter().fold(0.0f64, |a, v| a.max(v.abs()));
        assert!(worst < 5.0, "not flat: {worst} uV; last beat {}", last.t);
    }
}
