//! ECG lead II: beat scheduling (the RR tachogram) and the wave shapes.
//!
//! Morphology: ECGSYN (McSharry P.E., Clifford G.D., Tarassenko L., Smith L.A.,
//! "A dynamical model for generating synthetic electrocardiogram signals",
//! IEEE Trans. Biomed. Eng. 50(3):289–294, 2003) describes each beat as five
//! Gaussian waves P, Q, R, S, T. Its z equation, without the baseline term
//! −(z − z0), integrates in closed form to a sum of Gaussians in time; that sum
//! is what we compute, beat by beat, with the baseline wander added at the
//! output stage instead. Unlike ECGSYN, whose waves sit at fixed *angles* of the
//! cardiac cycle (so every interval stretches with the RR interval), the waves
//! here sit at fixed *times* around the R peak, the way real conduction works:
//!
//! * Q, R, S keep their times and widths at every rate, so QRS is
//!   rate-independent; so is PR up to 72 bpm, above which the P wave moves
//!   towards the QRS, by 18 ms at 150 bpm (PR shortens at high sinus rates);
//! * the ST–T segment, measured from the QRS onset, scales with the cube root
//!   of the preceding RR interval (Fridericia L.S., "Die Systolendauer im
//!   Elektrokardiogramm bei normalen Menschen und bei Herzkranken", Acta Med.
//!   Scand. 53:469–486, 1920), so QTc (Fridericia) is the same at every rate;
//! * the T wave is a bi-Gaussian (slower rise than fall, as in a real T wave).
//!
//! Every amplitude is independent of the rate. The constants and their
//! sources are tabulated in `docs/simulator.md`. A beat's waves are complete
//! before the next beat's R peak except that, at fast rates, the next P wave
//! rides on the T wave (as it does in sinus tachycardia).
//!
//! Tachogram (sinus): RR_k = 60/HR(t_k) · (1 + m_k) where m has a standard
//! deviation of [`SINUS_RR_CV`] split like short-term heart-rate variability:
//! 36 % in one HF sinusoid locked to the respiration model's phase
//! (respiratory sinus arrhythmia), 54 % in three LF sinusoids at 0.05–0.15 Hz
//! (Mayer waves), LF/HF = 1.5, and 10 % white. Frequencies and phases come
//! from the seed.
//!
//! Atrial fibrillation: RR intervals are independent log-normal draws with
//! mean 60/HR and σ_ln = [`AF_SIGMA`], clamped to 0.30–2.0 s; no P wave. The
//! f-waves are added in the output stage. The virtual beats before t = 0 are
//! AF intervals too, scaled so that the rate over the eight intervals before
//! t = 0 is exactly the scenario's mean: no start-up transient.
//!
//! Asystole: a beat is scheduled only if its R peak falls outside asystole;
//! after the last beat the trace returns to the isoelectric line when its T
//! wave ends.
//!
//! Beats are scheduled two ahead (their R time, the interval before them and
//! their pulse amplitude are fixed when scheduled), so the P wave of the next
//! beat and the pleth's diastolic run-off (`pleth.rs`) know what is coming.

use core::f64::consts::TAU;

use crate::pleth;
use crate::ring::Ring;
use crate::rng::{stream, Rng};
#[cfg(test)]
use crate::scenario::Scenario;
use crate::scenario::{Rhythm, Script, Targets};

/// P wave: amplitude µV, width (sd) s, centre before the R peak s at rates
/// up to [`P_AT_FROM_RR_S`]; at faster rates the centre moves linearly to
/// [`P_AT_FAST_S`] at RR = 0.4 s (PR shortens at high sinus rates).
pub(crate) const P_UV: f64 = 150.0;
const P_SD_S: f64 = 0.020;
const P_AT_S: f64 = 0.150;
const P_AT_FROM_RR_S: f64 = 60.0 / 72.0;
const P_AT_FAST_S: f64 = 0.132;
/// Q, R, S: (centre relative to R s, sd s, amplitude µV).
const Q_WAVE: (f64, f64, f64) = (-0.019, 0.006, -120.0);
const R_WAVE: (f64, f64, f64) = (0.0, 0.0065, 1250.0);
const S_WAVE: (f64, f64, f64) = (0.019, 0.0068, -350.0);
/// QRS onset relative to R (Q centre − 2.5 sd): the origin of the QT scaling.
const QRS_ONSET_S: f64 = -0.034;
/// T wave at RR = 1 s: peak after R, rising sd, falling sd (s), amplitude µV.
const T_AT_S: f64 = 0.26;
const T_SD_UP_S: f64 = 0.050;
const T_SD_DOWN_S: f64 = 0.044;
pub(crate) const T_UV: f64 = 300.0;
/// Waves further than this many sds from the sample are skipped (< 4e-6).
const CUTOFF_SDS: f64 = 5.0;

/// Sinus RR coefficient of variation (SDNN / mean NN).
pub(crate) const SINUS_RR_CV: f64 = 0.05;
/// Shares of the RR variance: HF (RSA), LF (three components), white.
const HF_SHARE: f64 = 0.36;
const LF_SHARE: f64 = 0.54;
const WHITE_SHARE: f64 = 0.10;
const N_LF: usize = 3;
/// LF component j sits at LF_BASE_HZ + j·LF_STEP_HZ ± LF_JITTER_HZ.
const LF_BASE_HZ: f64 = 0.06;
const LF_STEP_HZ: f64 = 0.03;
const LF_JITTER_HZ: f64 = 0.008;
/// Log-normal σ of AF RR intervals.
pub(crate) const AF_SIGMA: f64 = 0.16;
const AF_RR_MIN_S: f64 = 0.30;
const AF_RR_MAX_S: f64 = 2.0;
/// Virtual beats placed before t = 0 so rate averages are valid from the start.
pub(crate) const PREHISTORY_BEATS: usize = 10;
/// Intervals averaged for the pulse-amplitude reference.
const AMP_REF_INTERVALS: usize = 8;

/// One synthesized beat.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BeatRec {
    /// R peak time, seconds since start (negative for the virtual prehistory).
    pub t: f64,
    /// Interval to the next R peak, s; infinite when no next beat follows (asystole).
    pub rr: f64,
    /// Interval from the previous R peak, s (sets PR, QT and the pulse amplitude).
    pub rr_prev: f64,
    /// Beat number: 0 for the first beat at t ≥ 0, negative for prehistory.
    pub index: i64,
    /// Sinus beat (has a P wave).
    pub p_wave: bool,
    /// Pleth pulse amplitude relative to a normal pulse (perfusion not included).
    pub pulse_amp: f64,
    /// Factor applied to the beat's unscaled pleth pulse: amplitude × perfusion
    /// × the shape's peak normalization (0 when the ventricle does not eject).
    pub pulse_scale: f64,
}

impl Default for BeatRec {
    fn default() -> Self {
        Self {
            t: 0.0,
            rr: f64::INFINITY,
            rr_prev: 1.0,
            index: 0,
            p_wave: true,
            pulse_amp: 1.0,
            pulse_scale: 1.0,
        }
    }
}

impl BeatRec {
    /// Whether the beat gives a pulse the oximeter counts.
    pub(crate) fn palpable(&self) -> bool {
        self.pulse_amp >= pleth::PALPABLE_MIN
    }
}

/// P wave centre before the R peak, s.
fn p_at(rr_prev: f64) -> f64 {
    let x = ((P_AT_FROM_RR_S - rr_prev) / (P_AT_FROM_RR_S - 0.4)).clamp(0.0, 1.0);
    P_AT_S + (P_AT_FAST_S - P_AT_S) * x
}

/// Fridericia factor (RR / 1 s)^(1/3), with RR clamped to 0.25–2.0 s.
fn qt_factor(rr_prev: f64) -> f64 {
    rr_prev.clamp(0.25, 2.0).cbrt()
}

fn gauss(d: f64, sd: f64) -> f64 {
    if d.abs() > CUTOFF_SDS * sd {
        0.0
    } else {
        let z = d / sd;
        (-0.5 * z * z).exp()
    }
}

/// The ECG (µV, isoelectric line at 0) of one beat at `dt` seconds from its R peak.
pub(crate) fn beat_uv(b: &BeatRec, dt: f64) -> f64 {
    let mut v = 0.0;
    if b.p_wave {
        v += P_UV * gauss(dt + p_at(b.rr_prev), P_SD_S);
    }
    for (at, sd, uv) in [Q_WAVE, R_WAVE, S_WAVE] {
        v += uv * gauss(dt - at, sd);
    }
    let k = qt_factor(b.rr_prev);
    let t_at = QRS_ONSET_S + (T_AT_S - QRS_ONSET_S) * k;
    let d = dt - t_at;
    let sd = if d < 0.0 { T_SD_UP_S } else { T_SD_DOWN_S } * k;
    v + T_UV * gauss(d, sd)
}

/// Time window around the R peak outside which a beat contributes nothing, s.
pub(crate) const BEAT_BEFORE_S: f64 = 0.35;
pub(crate) const BEAT_AFTER_S: f64 = 0.75;

/// RR interval generator.
#[derive(Clone, Debug)]
struct Tachogram {
    /// (frequency Hz, phase rad)
    lf: [(f64, f64); N_LF],
    hf_phase: f64,
    rng: Rng,
}

impl Tachogram {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed, stream::TACHOGRAM);
        let mut lf = [(0.0, 0.0); N_LF];
        for (j, c) in lf.iter_mut().enumerate() {
            let f = LF_BASE_HZ + LF_STEP_HZ * j as f64 + rng.range(-LF_JITTER_HZ, LF_JITTER_HZ);
            *c = (f, rng.range(0.0, TAU));
        }
        let hf_phase = rng.range(0.0, TAU);
        Self { lf, hf_phase, rng }
    }

    fn af_interval(&mut self, mean: f64) -> f64 {
        let z = self.rng.normal();
        (mean * (AF_SIGMA * z - 0.5 * AF_SIGMA * AF_SIGMA).exp()).clamp(AF_RR_MIN_S, AF_RR_MAX_S)
    }

    /// Next RR interval (s) for a beat at `t` with targets `tg`, given the
    /// respiration model's accumulated phase (rad).
    fn next_rr(&mut self, t: f64, tg: &Targets, resp_phase: f64) -> f64 {
        let hr = tg.hr_bpm.clamp(20.0, 250.0);
        let mean = 60.0 / hr;
        match tg.rhythm {
            Rhythm::Sinus | Rhythm::Asystole => {
                let v = SINUS_RR_CV * SINUS_RR_CV;
                let hf = (2.0 * HF_SHARE * v).sqrt() * (resp_phase + self.hf_phase).sin();
                let a_lf = (2.0 * LF_SHARE * v / N_LF as f64).sqrt();
                let lf: f64 = self
                    .lf
                    .iter()
                    .map(|&(f, ph)| a_lf * (TAU * f * t + ph).sin())
                    .sum();
                let w = (WHITE_SHARE * v).sqrt() * self.rng.normal();
                (mean * (1.0 + hf + lf + w)).clamp(0.25, 3.0)
            }
            Rhythm::Afib => self.af_interval(mean),
        }
    }
}

/// Beat scheduler and ECG synthesis.
#[derive(Clone, Debug)]
pub(crate) struct Ecg {
    /// Scheduled beats not yet reached, soonest first (at most two).
    pending: [Option<BeatRec>; 2],
    /// The last pending beat has been found to have no successor (asystole).
    last_final: bool,
    /// Last intervals, for the pulse-amplitude reference.
    intervals: Ring<f64, AMP_REF_INTERVALS>,
    next_index: i64,
    tacho: Tachogram,
}

impl Ecg {
    /// Schedules the first beats and pushes the virtual prehistory into `beats`.
    pub(crate) fn new<const N: usize>(
        seed: u64,
        scenario: Script,
        beats: &mut Ring<BeatRec, N>,
    ) -> Self {
        let tg = scenario.targets(0.0);
        let mut ecg = Ecg {
            pending: [None, None],
            last_final: false,
            intervals: Ring::new(),
            next_index: 0,
            tacho: Tachogram::new(seed),
        };
        if tg.rhythm == Rhythm::Asystole {
            return ecg;
        }
        let mean = 60.0 / tg.hr_bpm.clamp(20.0, 250.0);
        // Intervals between the prehistory beats and up to beat 0, oldest first.
        let mut iv = [mean; PREHISTORY_BEATS];
        if tg.rhythm == Rhythm::Afib {
            for v in &mut iv {
                *v = ecg.tacho.af_interval(mean);
            }
            // The rate over the eight intervals before t = 0 (between the
            // prehistory beats 1..=9) is exactly the mean.
            let avg = iv[1..9].iter().sum::<f64>() / 8.0;
            for v in &mut iv {
                *v *= mean / avg;
            }
        }
        // Beat 0 half an interval after the start, so beat −1 is before it.
        let t0 = 0.5 * iv[PREHISTORY_BEATS - 1];
        let mut t = t0 - iv.iter().sum::<f64>();
        let mut rr_prev = iv[0];
        for (j, &rr) in iv.iter().enumerate() {
            let mut b = ecg.make_beat(t, rr_prev, &tg);
            b.rr = rr;
            b.index = j as i64 - PREHISTORY_BEATS as i64;
            beats.push(b);
            t += rr;
            rr_prev = rr;
        }
        ecg.next_index = 0;
        let first = ecg.make_beat(t0, rr_prev, &tg);
        ecg.pending[0] = Some(first);
        ecg.schedule_next(scenario, 0.0);
        ecg
    }

    /// A beat at `t` after an interval `rr_prev` (its own interval not yet
    /// known), numbered next; records the interval.
    fn make_beat(&mut self, t: f64, rr_prev: f64, tg: &Targets) -> BeatRec {
        let n = self.intervals.len();
        let reference = if n == 0 {
            rr_prev
        } else {
            self.intervals.iter_newest_first().sum::<f64>() / n as f64
        };
        let amp = pleth::relative_amplitude(rr_prev / reference);
        self.intervals.push(rr_prev);
        let index = self.next_index;
        self.next_index += 1;
        BeatRec {
            t,
            rr: f64::INFINITY,
            rr_prev,
            index,
            p_wave: tg.rhythm == Rhythm::Sinus,
            pulse_amp: amp,
            pulse_scale: if amp > 0.0 {
                amp * tg.perfusion * pleth::peak_norm(rr_prev)
            } else {
                0.0
            },
        }
    }

    /// Schedules the beat after the single pending one, unless it would fall
    /// in asystole.
    fn schedule_next(&mut self, scenario: Script, resp_phase: f64) {
        let (Some(last), None) = (self.pending[0], self.pending[1]) else {
            return;
        };
        if self.last_final {
            return;
        }
        let tg = scenario.targets(last.t);
        let rr = self.tacho.next_rr(last.t, &tg, resp_phase);
        let at = last.t + rr;
        let next_tg = scenario.targets(at);
        if next_tg.rhythm == Rhythm::Asystole {
            self.last_final = true;
            return;
        }
        if let Some(p) = &mut self.pending[0] {
            p.rr = rr;
        }
        self.pending[1] = Some(self.make_beat(at, rr, &next_tg));
    }

    /// The scheduled beats, soonest first.
    pub(crate) fn pending(&self) -> impl DoubleEndedIterator<Item = BeatRec> + '_ {
        self.pending.iter().flatten().copied()
    }

    /// Moves every scheduled beat at or before `t` into `beats` and keeps two
    /// beats scheduled ahead.
    pub(crate) fn advance_to<const N: usize>(
        &mut self,
        t: f64,
        scenario: Script,
        resp_phase: f64,
        beats: &mut Ring<BeatRec, N>,
    ) {
        if self.pending[0].is_none() {
            // In asystole (or started in it): resume when the rhythm returns.
            let tg = scenario.targets(t);
            if tg.rhythm == Rhythm::Asystole {
                return;
            }
            let rr = self.tacho.next_rr(t, &tg, resp_phase);
            // Far enough ahead that the P wave starts after `t`.
            let at = t + (0.5 * rr).max(BEAT_BEFORE_S);
            let tg = scenario.targets(at);
            if tg.rhythm == Rhythm::Asystole {
                return;
            }
            let rr_prev = beats
                .iter_newest_first()
                .next()
                .map_or(rr, |b| (at - b.t).min(3.0));
            self.pending[0] = Some(self.make_beat(at, rr_prev, &tg));
            self.last_final = false;
        }
        self.schedule_next(scenario, resp_phase);
        while let Some(b) = self.pending[0].filter(|b| b.t <= t) {
            beats.push(b);
            self.pending = [self.pending[1], None];
            if self.pending[0].is_none() {
                self.last_final = false;
            }
            self.schedule_next(scenario, resp_phase);
        }
    }

    /// ECG lead II at `t` (µV, before the output stage) from the beats around it.
    pub(crate) fn uv_at<const N: usize>(&self, t: f64, beats: &Ring<BeatRec, N>) -> f64 {
        let mut v = 0.0;
        for b in self.pending() {
            if b.t - t > BEAT_BEFORE_S {
                break;
            }
            v += beat_uv(&b, t - b.t);
        }
        for b in beats.iter_newest_first() {
            if t - b.t > BEAT_AFTER_S {
                break;
            }
            v += beat_uv(&b, t - b.t);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scenario: Scenario, secs: f64) -> (Vec<f64>, Vec<BeatRec>) {
        let mut beats: Ring<BeatRec, 32> = Ring::new();
        let scenario = Script::new(scenario);
        let mut ecg = Ecg::new(1, scenario, &mut beats);
        let mut all: Vec<BeatRec> = beats.iter_oldest_first().collect();
        let n = (secs * 250.0) as usize;
        let mut z = Vec::with_capacity(n);
        for i in 0..n {
            let t = i as f64 * 0.004;
            let before = beats.iter_newest_first().next().map(|b| b.index);
            ecg.advance_to(t, scenario, 0.0, &mut beats);
            let new: Vec<BeatRec> = beats
                .iter_oldest_first()
                .filter(|b| before.is_none_or(|i| b.index > i))
                .collect();
            all.extend(new);
            z.push(ecg.uv_at(t, &beats));
        }
        (z, all)
    }

    #[test]
    fn r_peaks_are_where_the_beats_are_at_every_rate() {
        for sc in [
            Scenario::Normal,
            Scenario::Tachycardia,
            Scenario::Bradycardia,
            Scenario::Afib,
        ] {
            let (z, beats) = run(sc, 45.0);
            let real: Vec<&BeatRec> = beats.iter().filter(|b| b.index >= 0).collect();
            assert!(real.len() > 30);
            for w in real.windows(2) {
                assert_eq!(w[1].index, w[0].index + 1);
                assert!((w[1].t - w[0].t - w[0].rr).abs() < 1e-9);
                assert!((w[1].rr_prev - w[0].rr).abs() < 1e-12);
            }
            for b in real.iter().filter(|b| b.t > 0.1 && b.t < 44.9) {
                let i = (b.t / 0.004).round() as usize;
                let (imax, vmax) = (i - 12..=i + 12)
                    .map(|k| (k, z[k]))
                    .fold((0, f64::MIN), |a, (k, v)| if v > a.1 { (k, v) } else { a });
                assert!(
                    (imax as f64 * 0.004 - b.t).abs() <= 0.0041,
                    "{sc}: beat {b:?} peak at {imax}"
                );
                assert!(
                    (1150.0..=1350.0).contains(&vmax),
                    "{sc}: R amplitude {vmax}"
                );
            }
        }
    }

    #[test]
    fn asystole_returns_to_the_isoelectric_line() {
        let (z, beats) = run(Scenario::Asystole, 20.0);
        let last = beats.last().unwrap();
        assert!(last.t < 10.0 && last.rr.is_infinite(), "{last:?}");
        let from = ((last.t + BEAT_AFTER_S) / 0.004) as usize;
        assert!(z[from..].iter().all(|v| *v == 0.0));
    }

    #[test]
    fn af_prehistory_has_the_mean_rate() {
        let mut beats: Ring<BeatRec, 32> = Ring::new();
        let _ = Ecg::new(3, Script::new(Scenario::Afib), &mut beats);
        let t: Vec<f64> = beats.iter_oldest_first().map(|b| b.t).collect();
        let iv: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
        let last8 = &iv[iv.len() - 8..];
        let hr = 60.0 * 8.0 / last8.iter().sum::<f64>();
        assert!((hr - 110.0).abs() < 1e-6, "{hr}");
        let cv = {
            let m = iv.iter().sum::<f64>() / iv.len() as f64;
            (iv.iter().map(|v| (v - m).powi(2)).sum::<f64>() / iv.len() as f64).sqrt() / m
        };
        assert!(cv > 0.05, "prehistory is irregular too: {cv}");
    }
}
