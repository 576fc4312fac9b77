//! SpO2 plethysmogram: one pulse per ejecting beat, with a diastolic run-off.
//!
//! Each beat's pulse starts at its foot, [`PTT_S`] = 200 ms after the R peak
//! (pulse arrival time to the finger). With τ the time since the foot and LVET
//! the left-ventricular ejection time at the beat's rate (Weissler A.M.,
//! Harris W.S., Schoenfeld C.D., "Systolic time intervals in heart failure in
//! man", Circulation 37:149–159, 1968: LVET = 413 ms − 1.7 ms/bpm · HR,
//! clamped to 160–400 ms), the pulse is
//!
//! ```text
//! p(τ) = S(τ)                                   systolic wave: bi-Gaussian peaking at
//!                                               2.8·σ_up after the foot, σ_up = 0.16·LVET,
//!                                               σ_down = 0.20·LVET
//!      + 0.8 · L((τ − t_s)/σ_up) · D(τ)          run-off: logistic rise with the upstroke,
//!                                               then the diastolic decay D
//!      + c_d(HR) · exp(−(τ − LVET − 0.1 s)² / 2(0.06 s)²)   reflected (diastolic) wave
//! D(τ) = (e^(−τ/τd) − e^(−T/τd)) / (1 − e^(−T/τd)),  0 after T,   τd = 2 s
//! ```
//!
//! where T is the time to the next ejecting beat's foot (the run-off of a beat
//! decays through a following beat that gives no pulse; with no next beat,
//! T = ∞ and D is the plain exponential: the fall-off after the last beat of
//! an asystole). The trace therefore decays all through diastole and touches
//! the floor only at the next foot. c_d = 0.4 at ≤ 60 bpm, falling linearly to
//! 0 at 140 bpm, as the augmentation index falls with heart rate (Wilkinson
//! I.B. et al., "The influence of heart rate on augmentation index and central
//! arterial pressure in humans", J. Physiol. 525:263–270, 2000): the dip
//! before the diastolic wave (the dicrotic notch) is clear at rest and merges
//! into the decay above ≈ 100 bpm. Overlapping pulses add.
//!
//! Each pulse is scaled so that its peak is the beat's amplitude: the
//! scenario's perfusion times [`relative_amplitude`] of the preceding RR
//! interval against the mean of the eight before it (Frank–Starling: a longer
//! filling time gives a larger stroke volume). After an interval shorter than
//! 0.78 of the recent mean the ventricle does not eject at all; a pulse below
//! [`PALPABLE_MIN`] of normal is not counted as a pulse by the oximeter (the
//! pulse deficit of atrial fibrillation).
//!
//! Output unit: arbitrary "pleth units" of the AC (pulsatile) component, 0 at
//! the diastolic floor and ≈ 1000 at a systolic peak with normal perfusion.

use crate::ecg::BeatRec;
use crate::ring::Ring;

/// R peak to pulse foot, seconds.
pub(crate) const PTT_S: f64 = 0.2;
/// Systolic peak height at perfusion 1, pleth units.
pub(crate) const FULL_SCALE: f64 = 1000.0;
/// Relative pulse amplitude below which a beat is not counted as a pulse.
pub(crate) const PALPABLE_MIN: f64 = 0.2;
/// RR / recent mean RR below which the ventricle does not eject.
const NO_EJECTION_RATIO: f64 = 0.78;
/// Scale of the filling curve, in units of the RR ratio.
const FILLING_SCALE: f64 = 0.1;
/// Weissler's LVET regression (men): intercept s, slope s per bpm, clamp.
const LVET_INTERCEPT_S: f64 = 0.413;
const LVET_SLOPE_S_PER_BPM: f64 = 0.0017;
const LVET_MIN_S: f64 = 0.16;
const LVET_MAX_S: f64 = 0.40;
/// Systolic wave widths as fractions of LVET, and its peak in rising sds after the foot.
const SYS_SD_UP: f64 = 0.16;
const SYS_SD_DOWN: f64 = 0.20;
const SYS_PEAK_SDS: f64 = 2.8;
/// Run-off height (relative to the systolic wave) and decay time constant, s.
const RUNOFF: f64 = 0.8;
const RUNOFF_TAU_S: f64 = 2.0;
/// Reflected wave: amplitude at ≤ 60 bpm, delay after LVET s, sd s, and the
/// rate at which it has faded completely.
const DIA_AMP: f64 = 0.4;
const DIA_LAG_S: f64 = 0.10;
const DIA_SD_S: f64 = 0.06;
const DIA_FADE_FROM_BPM: f64 = 60.0;
const DIA_GONE_BPM: f64 = 140.0;
/// A pulse contributes nothing this long before its foot, s.
const LEAD_S: f64 = 0.25;

/// Pulse amplitude after an interval `ratio` times the recent mean RR (1 at
/// ratio 1, 0 below [`NO_EJECTION_RATIO`], saturating at ≈ 1.12 for long
/// intervals).
pub(crate) fn relative_amplitude(ratio: f64) -> f64 {
    if ratio <= NO_EJECTION_RATIO {
        return 0.0;
    }
    let f = |x: f64| 1.0 - (-(x - NO_EJECTION_RATIO) / FILLING_SCALE).exp();
    f(ratio) / f(1.0)
}

/// Left-ventricular ejection time at `hr` bpm, s.
fn lvet(hr: f64) -> f64 {
    (LVET_INTERCEPT_S - LVET_SLOPE_S_PER_BPM * hr).clamp(LVET_MIN_S, LVET_MAX_S)
}

/// The pulse's timing for a beat after an interval `rr_prev`.
#[derive(Clone, Copy, Debug)]
struct Shape {
    sd_up: f64,
    sd_down: f64,
    t_sys: f64,
    t_dia: f64,
    dia: f64,
}

impl Shape {
    fn new(rr_prev: f64) -> Self {
        let hr = 60.0 / rr_prev.max(0.2);
        let l = lvet(hr);
        let sd_up = SYS_SD_UP * l;
        let fade = ((hr - DIA_FADE_FROM_BPM) / (DIA_GONE_BPM - DIA_FADE_FROM_BPM)).clamp(0.0, 1.0);
        Self {
            sd_up,
            sd_down: SYS_SD_DOWN * l,
            t_sys: SYS_PEAK_SDS * sd_up,
            t_dia: l + DIA_LAG_S,
            dia: DIA_AMP * (1.0 - fade),
        }
    }

    /// Unscaled pulse at `tau` s after the foot, the next ejecting foot `end` s after it.
    fn at(&self, tau: f64, end: f64) -> f64 {
        let g = |d: f64, sd: f64| {
            let z = d / sd;
            if z.abs() > 6.0 {
                0.0
            } else {
                (-0.5 * z * z).exp()
            }
        };
        let d = tau - self.t_sys;
        let sys = g(d, if d < 0.0 { self.sd_up } else { self.sd_down });
        let decay = if tau <= 0.0 {
            1.0
        } else if end.is_infinite() {
            (-tau / RUNOFF_TAU_S).exp()
        } else if tau >= end {
            0.0
        } else {
            let e = (-end / RUNOFF_TAU_S).exp();
            ((-tau / RUNOFF_TAU_S).exp() - e) / (1.0 - e)
        };
        // Logistic approximation of the normal CDF (|error| < 0.01).
        let rise = 1.0 / (1.0 + (-1.702 * d / self.sd_up).exp());
        sys + RUNOFF * rise * decay + self.dia * g(tau - self.t_dia, DIA_SD_S)
    }
}

/// Factor that makes the peak of a pulse after `rr_prev` equal to 1 (computed
/// once per beat, with the next foot one `rr_prev` later).
pub(crate) fn peak_norm(rr_prev: f64) -> f64 {
    let sh = Shape::new(rr_prev);
    let peak = (0..200)
        .map(|i| sh.at(f64::from(i) * 0.002, rr_prev))
        .fold(0.0, f64::max);
    1.0 / peak
}

/// Normalized pleth (sum of pulses, 1 = a normal systolic peak) at `t`
/// seconds since start. `pending` are the scheduled beats (soonest first),
/// `beats` the past ones.
pub(crate) fn pleth_at<const N: usize>(
    t: f64,
    pending: impl DoubleEndedIterator<Item = BeatRec>,
    beats: &Ring<BeatRec, N>,
) -> f64 {
    let mut v = 0.0;
    // Newest first, with the next beat and the one after it at hand.
    let mut next: Option<BeatRec> = None;
    for b in pending.rev().chain(beats.iter_newest_first()) {
        let tau = t - (b.t + PTT_S);
        if tau > 4.0 && b.rr.is_finite() {
            break;
        }
        if tau > -LEAD_S && b.pulse_scale > 0.0 {
            let end = match next {
                Some(n) if !n.palpable() => b.rr + n.rr,
                _ => b.rr,
            };
            v += b.pulse_scale * Shape::new(b.rr_prev).at(tau, end);
        }
        next = Some(b);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(rr: f64) -> Vec<f64> {
        let mut beats: Ring<BeatRec, 32> = Ring::new();
        for k in 0..20 {
            beats.push(BeatRec {
                t: f64::from(k) * rr,
                rr,
                rr_prev: rr,
                index: i64::from(k),
                p_wave: true,
                pulse_amp: 1.0,
                pulse_scale: peak_norm(rr),
            });
        }
        // One full cycle from a foot, well inside the run.
        let foot = 15.0 * rr + PTT_S;
        let n = (rr / 0.002).round() as usize;
        (0..n)
            .map(|i| pleth_at(foot + i as f64 * 0.002, core::iter::empty(), &beats))
            .collect()
    }

    /// Local minima after the systolic peak that are followed by a rise
    /// (a dicrotic notch).
    fn notches(xs: &[f64]) -> usize {
        let ipk = xs
            .iter()
            .enumerate()
            .fold((0, 0.0), |a, (i, &v)| if v > a.1 { (i, v) } else { a })
            .0;
        (ipk + 1..xs.len() - 1)
            .filter(|&i| {
                xs[i] < xs[i - 1]
                    && xs[i] <= xs[i + 1]
                    && xs[i + 1..].iter().any(|&v| v > xs[i] + 0.02)
            })
            .count()
    }

    #[test]
    fn diastole_decays_and_the_notch_merges_at_high_rates() {
        for (bpm, notch) in [(40.0, true), (72.0, true), (150.0, false)] {
            let xs = trace(60.0 / bpm);
            let (lo, hi) = xs
                .iter()
                .fold((f64::MAX, f64::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
            assert!((hi - 1.0).abs() < 0.05, "{bpm}: peak {hi}");
            let near = xs.iter().filter(|&&v| v - lo < 0.03 * (hi - lo)).count();
            let frac = near as f64 / xs.len() as f64;
            assert!(frac <= 0.15, "{bpm}: {frac} of the cycle on the floor");
            assert_eq!(notches(&xs) > 0, notch, "{bpm}: notch");
        }
    }

    #[test]
    fn amplitude_follows_the_filling_time() {
        assert!((relative_amplitude(1.0) - 1.0).abs() < 1e-12);
        assert_eq!(relative_amplitude(0.75), 0.0);
        assert!(relative_amplitude(0.79) < PALPABLE_MIN);
        assert!(relative_amplitude(0.83) > PALPABLE_MIN);
        assert!(relative_amplitude(1.5) > 1.1 && relative_amplitude(3.0) < 1.2);
    }
}
