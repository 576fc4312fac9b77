//! Output-stage additions: AF f-waves, baseline wander, mains hum, white
//! noise and motion-artifact bursts.

use core::f64::consts::TAU;

use crate::rng::{stream, Rng};

/// Amplitude of the atrial fibrillatory waves, µV (fine AF: 20–100 µV).
pub(crate) const F_WAVE_UV: f64 = 40.0;
/// Peak motion artifact on the ECG, µV.
pub(crate) const MOTION_ECG_UV: f64 = 1500.0;
/// Peak motion artifact on the pleth, pleth units.
pub(crate) const MOTION_PLETH_AU: f64 = 700.0;
/// Peak motion artifact on the impedance respiration, mΩ (larger than a tidal
/// breath: body movement changes the thoracic impedance more than breathing).
pub(crate) const MOTION_RESP_MOHM: f64 = 1500.0;

/// Fibrillatory waves after Stridh M., Sörnmo L., "Spatiotemporal QRST
/// cancellation techniques for analysis of atrial fibrillation", IEEE TBME
/// 48(1):105–111, 2001: a sawtooth-like wave (fundamental + 2nd harmonic at
/// 1/3 amplitude) whose frequency wanders 5–7 Hz (inside the 4–9 Hz AF band).
#[derive(Clone, Debug)]
pub(crate) struct FWaves {
    phase: f64,
    fm_phase: f64,
    f0: f64,
}

impl FWaves {
    pub(crate) fn new(rng: &mut Rng) -> Self {
        Self {
            phase: rng.range(0.0, TAU),
            fm_phase: rng.range(0.0, TAU),
            f0: rng.range(5.5, 6.5),
        }
    }

    /// Advances by `dt` and returns the value in µV.
    pub(crate) fn next(&mut self, t: f64, dt: f64) -> f64 {
        let f = self.f0 + 0.5 * (TAU * 0.08 * t + self.fm_phase).sin();
        self.phase = (self.phase + TAU * f * dt).rem_euclid(TAU);
        F_WAVE_UV * 0.75 * (self.phase.sin() + (2.0 * self.phase).sin() / 3.0)
    }
}

/// Slow, non-respiratory baseline drift: two sinusoids at 0.03–0.12 Hz.
#[derive(Clone, Debug)]
pub(crate) struct Drift {
    comps: [(f64, f64); 2],
}

impl Drift {
    pub(crate) fn new(rng: &mut Rng) -> Self {
        let mut comps = [(0.0, 0.0); 2];
        for c in &mut comps {
            *c = (rng.range(0.03, 0.12), rng.range(0.0, TAU));
        }
        Self { comps }
    }

    /// In [-1, 1].
    pub(crate) fn at(&self, t: f64) -> f64 {
        0.5 * self
            .comps
            .iter()
            .map(|&(f, p)| (TAU * f * t + p).sin())
            .sum::<f64>()
    }
}

/// Motion artifact: Hann-windowed bursts of three 0.3–3 Hz sinusoids, 1.5–4 s
/// long, separated by 4–10 s gaps.
#[derive(Clone, Debug)]
pub(crate) struct Motion {
    rng: Rng,
    start: f64,
    end: f64,
    comps: [(f64, f64, f64); 3],
}

impl Motion {
    pub(crate) fn new(seed: u64) -> Self {
        let mut m = Self {
            rng: Rng::new(seed, stream::MOTION),
            start: 0.0,
            end: 0.0,
            comps: [(0.0, 0.0, 0.0); 3],
        };
        m.schedule(0.0);
        m
    }

    fn schedule(&mut self, after: f64) {
        self.start = after + self.rng.range(4.0, 10.0);
        self.end = self.start + self.rng.range(1.5, 4.0);
        let mut total = 0.0;
        for c in &mut self.comps {
            let w = self.rng.range(0.3, 1.0);
            *c = (self.rng.range(0.3, 3.0), self.rng.range(0.0, TAU), w);
            total += w;
        }
        for c in &mut self.comps {
            c.2 /= total;
        }
    }

    /// Artifact in [-1, 1] at `t` (call with non-decreasing `t`).
    pub(crate) fn at(&mut self, t: f64) -> f64 {
        while t >= self.end {
            let end = self.end;
            self.schedule(end);
        }
        if t < self.start {
            return 0.0;
        }
        let u = (t - self.start) / (self.end - self.start);
        let env = 0.5 * (1.0 - (TAU * u).cos());
        let dt = t - self.start;
        env * self
            .comps
            .iter()
            .map(|&(f, p, w)| w * (TAU * f * dt + p).sin())
            .sum::<f64>()
    }
}

/// White Gaussian noise source shared by the three channels.
#[derive(Clone, Debug)]
pub(crate) struct Noise {
    rng: Rng,
}

impl Noise {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed, stream::NOISE),
        }
    }

    pub(crate) fn gauss(&mut self, sd: f64) -> f64 {
        let z = self.rng.normal();
        sd * z
    }
}
