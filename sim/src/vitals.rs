//! Vital signs at 60 Hz, computed the way a bedside monitor does.
//!
//! * HR: 60 / mean of the last 8 RR intervals between synthesized R peaks at or
//!   before the frame's time; 0 when the last R peak is more than
//!   [`ASYSTOLE_TIMEOUT_S`] old. Intervals longer than the timeout (pauses) are
//!   not averaged, so rates restart from the second event after a pause.
//! * Pulse rate: the same over the feet (R peak + 200 ms) of the pulses the
//!   oximeter counts (beats with a palpable pulse, see `pleth.rs`): lower than
//!   HR when beats give no pulse (pulse deficit).
//! * RR: 60 / mean of the last 4 breath-to-breath intervals; 0 when no breath
//!   started for [`APNEA_TIMEOUT_S`].
//! * SpO2: the scenario's target through a first-order lag (τ = 8 s, the
//!   oximeter's averaging plus circulation delay) with a slow ±0.4 % wander;
//!   0 ("no reading") when no counted pulse arrived for [`NO_PULSE_SPO2_S`].
//! * NIBP: measured at t = 0 and every [`NIBP_INTERVAL_S`]; each measurement is
//!   the scenario target plus N(0, 2.5²)/N(0, 2²) mmHg, mean = dia + (sys − dia)/3.
//! * Temperature: target through a first-order lag (τ = 300 s) plus a slow
//!   ±0.05 °C wander, rounded to 0.01 °C.
//!
//! Every value is clamped into the transport's valid range.

use core::f64::consts::TAU;

use crate::ecg::BeatRec;
use crate::pleth::PTT_S;
use crate::ring::Ring;
use crate::rng::{stream, Rng};
use crate::scenario::Targets;

const HR_INTERVALS: usize = 8;
const RR_INTERVALS: usize = 4;
/// No R peak for this long → HR 0 (asystole).
pub(crate) const ASYSTOLE_TIMEOUT_S: f64 = 4.0;
/// No breath onset for this long → RR 0 (apnea).
pub(crate) const APNEA_TIMEOUT_S: f64 = 15.0;
/// No pulse for this long → SpO2 0 (no reading).
pub(crate) const NO_PULSE_SPO2_S: f64 = 10.0;
/// NIBP measurement cycle, seconds.
pub(crate) const NIBP_INTERVAL_S: f64 = 60.0;
const SPO2_TAU_S: f64 = 8.0;
const TEMP_TAU_S: f64 = 300.0;

/// Values of one vitals frame (before packaging with a timestamp).
#[derive(Clone, Copy, Debug)]
pub(crate) struct VitalValues {
    pub hr_bpm: u16,
    pub spo2_pct: u8,
    pub rr_rpm: u8,
    pub nibp: (u16, u16, u16),
    pub temp_c: f32,
    pub pulse_rate_bpm: u16,
}

#[derive(Clone, Debug)]
pub(crate) struct VitalsState {
    spo2: f64,
    temp: f64,
    spo2_wander_phase: f64,
    temp_wander_phase: f64,
    nibp: (u16, u16, u16),
    next_nibp: f64,
    rng: Rng,
}

/// Rate (per minute) from event times: 60 / mean of the last `max_intervals`
/// intervals among events at or before `limit`; 0 if the newest such event is
/// older than `timeout` or there are fewer than two. An interval longer than
/// `timeout` (a pause: asystole, apnea) ends the series, so a rate restarts
/// cleanly from the second event after a pause.
fn rate_per_min(
    times_newest_first: impl Iterator<Item = f64>,
    limit: f64,
    max_intervals: usize,
    timeout: f64,
) -> f64 {
    let mut newest = None;
    let mut oldest = 0.0;
    let mut n = 0;
    for t in times_newest_first {
        if t > limit {
            continue;
        }
        match newest {
            None => {
                if limit - t > timeout {
                    return 0.0;
                }
                newest = Some(t);
                oldest = t;
            }
            Some(_) => {
                if oldest - t > timeout {
                    break;
                }
                oldest = t;
                n += 1;
                if n == max_intervals {
                    break;
                }
            }
        }
    }
    match newest {
        Some(t) if n > 0 && t > oldest => 60.0 * n as f64 / (t - oldest),
        _ => 0.0,
    }
}

fn to_u16(v: f64, max: u16) -> u16 {
    v.round().clamp(0.0, f64::from(max)) as u16
}

impl VitalsState {
    pub(crate) fn new(seed: u64, tg0: &Targets) -> Self {
        let mut rng = Rng::new(seed, stream::VITALS);
        Self {
            spo2: tg0.spo2_pct,
            temp: tg0.temp_c,
            spo2_wander_phase: rng.range(0.0, TAU),
            temp_wander_phase: rng.range(0.0, TAU),
            nibp: (0, 0, 0),
            next_nibp: 0.0,
            rng,
        }
    }

    /// Computes the frame at `t` seconds; call once per frame in order, `dt`
    /// seconds apart.
    pub(crate) fn update<const NB: usize, const NR: usize>(
        &mut self,
        t: f64,
        dt: f64,
        tg: &Targets,
        beats: &Ring<BeatRec, NB>,
        breaths: &Ring<f64, NR>,
    ) -> VitalValues {
        let beat_times = || beats.iter_newest_first().map(|b| b.t);
        let pulse_times = || {
            beats
                .iter_newest_first()
                .filter(|b| b.palpable())
                .map(|b| b.t)
        };
        let hr = rate_per_min(beat_times(), t, HR_INTERVALS, ASYSTOLE_TIMEOUT_S);
        // Pulse feet are the pulsing beats shifted by the transit time.
        let pr = rate_per_min(pulse_times(), t - PTT_S, HR_INTERVALS, ASYSTOLE_TIMEOUT_S);
        let rr = rate_per_min(
            breaths.iter_newest_first(),
            t,
            RR_INTERVALS,
            APNEA_TIMEOUT_S,
        );

        self.spo2 += (tg.spo2_pct - self.spo2) * (dt / SPO2_TAU_S);
        let last_pulse = pulse_times().find(|&b| b <= t - PTT_S);
        let pulse_ok = last_pulse.is_some_and(|b| t - PTT_S - b <= NO_PULSE_SPO2_S);
        let spo2 = if pulse_ok {
            let wander = 0.4 * (TAU * t / 50.0 + self.spo2_wander_phase).sin();
            (self.spo2 + wander).round().clamp(0.0, 100.0) as u8
        } else {
            0
        };

        self.temp += (tg.temp_c - self.temp) * (dt / TEMP_TAU_S);
        let temp_wander = 0.05 * (TAU * t / 1200.0 + self.temp_wander_phase).sin();
        let temp = ((self.temp + temp_wander) * 100.0).round() / 100.0;
        let temp_c = temp.clamp(25.0, 45.0) as f32;

        if t >= self.next_nibp {
            self.next_nibp += NIBP_INTERVAL_S;
            let (sys, dia) = if tg.sys_mmhg > 0.0 {
                let sys = tg.sys_mmhg + 2.5 * self.rng.normal();
                let dia = (tg.dia_mmhg + 2.0 * self.rng.normal()).min(sys - 10.0);
                (sys, dia)
            } else {
                (0.0, 0.0)
            };
            let sys_u = to_u16(sys, 300);
            let dia_u = to_u16(dia, 300).min(sys_u);
            let map = to_u16(
                f64::from(dia_u) + (f64::from(sys_u) - f64::from(dia_u)) / 3.0,
                300,
            );
            self.nibp = (sys_u, dia_u, map);
        }

        VitalValues {
            hr_bpm: to_u16(hr, 300),
            spo2_pct: spo2,
            rr_rpm: to_u16(rr, 150) as u8,
            nibp: self.nibp,
            temp_c,
            pulse_rate_bpm: to_u16(pr, 300),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rate_per_min;

    #[test]
    fn rate_from_times() {
        let times = [5.0, 4.0, 3.0, 2.0, 1.0, 0.0];
        assert_eq!(rate_per_min(times.into_iter(), 5.5, 8, 4.0), 60.0);
        // Only events at or before the limit count.
        assert_eq!(rate_per_min(times.into_iter(), 4.5, 2, 4.0), 60.0);
        // Timeout.
        assert_eq!(rate_per_min(times.into_iter(), 9.5, 8, 4.0), 0.0);
        // Fewer than two events.
        assert_eq!(rate_per_min([1.0].into_iter(), 1.5, 8, 4.0), 0.0);
        // A pause longer than the timeout ends the series.
        let pause = [20.0, 18.0, 16.0, 2.0, 0.0];
        assert_eq!(rate_per_min(pause.into_iter(), 20.0, 8, 10.0), 30.0);
        assert_eq!(rate_per_min(pause.into_iter(), 16.5, 8, 10.0), 0.0);
    }
}
