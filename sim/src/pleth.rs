//! SpO2 plethysmogram: one pulse per synthesized beat.
//!
//! Each beat's pulse starts (its foot) [`PTT_S`] = 200 ms after the R peak
//! (pulse transit time to the finger; the systolic peak follows ≈ 140 ms later,
//! ≈ 340 ms after R) and is the sum of two Gaussians, after Tang Q., Chen Z.,
//! Ward R., Elgendi M., "Synthetic photoplethysmogram generation using two
//! Gaussian functions", Sci. Rep. 10:13883, 2020:
//!
//! ```text
//! p(τ) = exp(−(τ − 0.14 s·k)² / (2 (0.055 s·k)²))          systolic wave
//!      + 0.45 · exp(−(τ − 0.40 s·k)² / (2 (0.09 s·k)²))     diastolic (reflected) wave
//! ```
//!
//! with k = sqrt(RR / 1 s) clamped to 0.55–1.2, so pulses narrow at fast rates;
//! the dip between the two waves is the dicrotic notch. Overlapping pulses add.
//!
//! Output unit: arbitrary "pleth units" of the AC (pulsatile) component, 0 at
//! the diastolic baseline and ≈ 1000 at a systolic peak with normal perfusion
//! (scaled by the scenario's perfusion factor).

use crate::ecg::BeatRec;
use crate::ring::Ring;

/// R peak to pulse foot, seconds.
pub(crate) const PTT_S: f64 = 0.2;
/// Systolic peak height at perfusion 1, pleth units.
pub(crate) const FULL_SCALE: f64 = 1000.0;

fn pulse(tau: f64, rr: f64) -> f64 {
    let k = rr.sqrt().clamp(0.55, 1.2);
    let g = |mu: f64, sd: f64| {
        let d = (tau - mu * k) / (sd * k);
        (-0.5 * d * d).exp()
    };
    g(0.14, 0.055) + 0.45 * g(0.40, 0.09)
}

/// Normalized pleth (sum of pulses) at `t` seconds since start.
pub(crate) fn pleth_at<const N: usize>(t: f64, beats: &Ring<BeatRec, N>) -> f64 {
    let mut v = 0.0;
    for b in beats.iter_newest_first() {
        let tau = t - (b.t + PTT_S);
        if tau > 1.5 {
            break;
        }
        if tau > -0.25 {
            v += pulse(tau, b.rr);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::pulse;

    #[test]
    fn has_systolic_peak_and_dicrotic_notch() {
        let xs: Vec<f64> = (0..250).map(|i| pulse(i as f64 * 0.004, 1.0)).collect();
        let (ipk, pk) =
            xs.iter()
                .cloned()
                .enumerate()
                .fold((0, 0.0), |a, (i, v)| if v > a.1 { (i, v) } else { a });
        assert!((0.13..0.16).contains(&(ipk as f64 * 0.004)));
        assert!((pk - 1.0).abs() < 0.02);
        // A local minimum (notch) followed by a local maximum (diastolic wave).
        let notch = (ipk + 1..200)
            .find(|&i| xs[i] < xs[i - 1] && xs[i] <= xs[i + 1])
            .unwrap();
        let dia = (notch + 1..240)
            .find(|&i| xs[i] > xs[i - 1] && xs[i] >= xs[i + 1])
            .unwrap();
        assert!(xs[dia] > xs[notch] + 0.05);
        assert!(xs[dia] < pk);
    }
}
