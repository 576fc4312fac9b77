//! Respiration: impedance-pneumography waveform and breath timing.
//!
//! Each breath is scheduled when it starts: period = 60 / rate · (1 + 0.05·N)
//! and depth = 1 + 0.08·N (both clamped), where the rate follows the
//! scenario's target through a first-order lag (τ = 10 s). The breath shape
//! over its phase φ ∈ [0, 1) is a raised-cosine rise during inspiration
//! (first 40 %) and a raised-cosine fall during expiration (last 60 %), the
//! usual 1:1.5 I:E ratio. A new breath starts exactly when the previous one
//! ends unless the scenario is in apnea; then the signal stays at the
//! end-expiratory level (0) until breathing resumes.
//!
//! Output unit: milliohms of thoracic impedance change relative to the
//! end-expiratory baseline; tidal breaths are [`TIDAL_MOHM`] ≈ 1 Ω deep
//! (typical impedance-pneumography swings are 0.1–1 Ω).

use core::f64::consts::TAU;

use crate::ring::Ring;
use crate::rng::{stream, Rng};
use crate::scenario::Targets;

/// Peak impedance change of a nominal (depth 1) breath, mΩ.
pub(crate) const TIDAL_MOHM: f64 = 1000.0;
/// Time constant of the breathing-rate lag, seconds.
const RATE_TAU_S: f64 = 10.0;
/// Fraction of the cycle spent in inspiration.
const INSP_FRACTION: f64 = 0.4;
/// Rate used when the simulation starts in apnea.
const DEFAULT_RATE: f64 = 16.0;
/// Virtual breaths placed before t = 0.
const PREHISTORY_BREATHS: usize = 6;

#[derive(Clone, Debug)]
pub(crate) struct Resp {
    rate: f64,
    onset: f64,
    period: f64,
    depth: f64,
    breathing: bool,
    cycles: u64,
    /// Phase within the current breath, [0, 1).
    phi: f64,
    rng: Rng,
    /// Breath onset times (s since start), oldest first.
    pub(crate) onsets: Ring<f64, 16>,
}

/// Normalized breath shape, 0 at end-expiration, 1 at end-inspiration.
fn shape(phi: f64) -> f64 {
    if phi < INSP_FRACTION {
        0.5 * (1.0 - (core::f64::consts::PI * phi / INSP_FRACTION).cos())
    } else {
        0.5 * (1.0 + (core::f64::consts::PI * (phi - INSP_FRACTION) / (1.0 - INSP_FRACTION)).cos())
    }
}

impl Resp {
    pub(crate) fn new(seed: u64, tg0: &Targets) -> Self {
        let mut rng = Rng::new(seed, stream::RESP);
        let rate = if tg0.rr_rpm > 0.0 {
            tg0.rr_rpm
        } else {
            DEFAULT_RATE
        };
        let period = 60.0 / rate;
        let phi0 = rng.uniform();
        let onset = -phi0 * period;
        let mut onsets = Ring::new();
        for j in (1..=PREHISTORY_BREATHS).rev() {
            onsets.push(onset - j as f64 * period);
        }
        onsets.push(onset);
        Self {
            rate,
            onset,
            period,
            depth: 1.0,
            breathing: true,
            cycles: 0,
            phi: phi0,
            rng,
            onsets,
        }
    }

    fn start_breath(&mut self, t0: f64) {
        self.onset = t0;
        let jitter = (1.0 + 0.05 * self.rng.normal()).clamp(0.85, 1.15);
        self.period = 60.0 / self.rate * jitter;
        self.depth = (1.0 + 0.08 * self.rng.normal()).clamp(0.75, 1.25);
        self.breathing = true;
        self.onsets.push(t0);
    }

    /// Advances to `t` (one 250 Hz step of `dt` seconds after the previous
    /// call) and returns the normalized lung volume in [0, ~1.25].
    pub(crate) fn advance(&mut self, t: f64, dt: f64, tg: &Targets) -> f64 {
        let apnea = tg.rr_rpm <= 0.0;
        if !apnea {
            self.rate += (tg.rr_rpm - self.rate) * (dt / RATE_TAU_S);
        }
        loop {
            if self.breathing {
                let end = self.onset + self.period;
                if t < end {
                    break;
                }
                self.cycles += 1;
                self.phi = 0.0;
                if apnea {
                    self.breathing = false;
                    break;
                }
                self.start_breath(end);
            } else {
                if apnea {
                    break;
                }
                self.start_breath(t);
            }
        }
        if self.breathing {
            self.phi = ((t - self.onset) / self.period).clamp(0.0, 1.0);
            self.depth * shape(self.phi)
        } else {
            0.0
        }
    }

    /// Accumulated breathing phase, radians (2π per breath; frozen in apnea).
    pub(crate) fn phase(&self) -> f64 {
        TAU * (self.cycles as f64 + self.phi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_continuous() {
        assert!(shape(0.0).abs() < 1e-12);
        assert!((shape(INSP_FRACTION) - 1.0).abs() < 1e-12);
        assert!(shape(0.999_999).abs() < 1e-9);
    }
}
