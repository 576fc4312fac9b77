//! Scenarios: what the simulated patient does over (simulated) time, and the
//! transport faults the producer should inject.
//!
//! Every timeline is a pure function of the time since the simulation start,
//! so a scenario never depends on wall-clock time. Times below are seconds of
//! simulated time since the start; "onset" is [`ONSET_S`] = 10 s.

use core::fmt;
use core::str::FromStr;

/// Time (seconds since start) at which the scripted events of most scenarios begin.
pub(crate) const ONSET_S: f64 = 10.0;

/// A scripted patient condition (and, for `stall`/`crash`/`corrupt`/`burst`,
/// a transport fault on top of normal physiology).
///
/// `Display` and `FromStr` use the lower-case names listed on each variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// `normal`: sinus rhythm 72 bpm, SpO2 98 %, RR 16 /min, NIBP 120/80, 36.9 °C.
    Normal,
    /// `tachycardia`: sinus rate ramps 72 → 150 bpm over t = 10–40 s, then holds;
    /// RR 16 → 22 /min, NIBP 120/80 → 135/88, temperature target 38.4 °C.
    Tachycardia,
    /// `bradycardia`: sinus rate ramps 72 → 40 bpm over t = 10–30 s, then holds;
    /// RR 14 /min, NIBP 120/80 → 100/60, pleth amplitude falls to 70 %.
    Bradycardia,
    /// `afib`: atrial fibrillation from t = 0: no P waves, 4–9 Hz f-waves,
    /// irregularly irregular RR intervals around 110 bpm.
    Afib,
    /// `asystole`: normal sinus rhythm until t = 10 s, then no more beats.
    Asystole,
    /// `desaturation`: SpO2 target falls 97 → 82 % linearly over t = 10–70 s,
    /// then holds; HR 72 → 88 bpm and RR 16 → 24 /min over the same window.
    Desaturation,
    /// `apnea`: breathing stops for 30 s in every 60 s (t mod 60 in 10–40 s);
    /// SpO2 drifts down during each pause and recovers after.
    Apnea,
    /// `motion`: normal physiology plus motion-artifact bursts (1.5–4 s long,
    /// 0.3–3 Hz, every 5.5–14 s) on the ECG and pleth.
    Motion,
    /// `stall`: normal physiology; the producer stops publishing (but keeps the
    /// process alive) after [`Fault::Stall`]'s `after_s`.
    Stall,
    /// `crash`: normal physiology; the producer exits abruptly after
    /// [`Fault::Crash`]'s `after_s`.
    Crash,
    /// `corrupt`: normal physiology; the producer corrupts a fraction of frames.
    Corrupt,
    /// `burst`: normal physiology; the producer publishes in bursts.
    Burst,
}

/// A transport fault requested by a scenario. The simulator only describes it;
/// the producer loop implements it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Stop publishing frames and heartbeats `after_s` seconds (simulated time)
    /// after the start, keeping the ring mapped (a hung writer).
    Stall {
        /// Seconds after the start.
        after_s: f64,
    },
    /// Terminate the producer process abruptly `after_s` seconds after the start.
    Crash {
        /// Seconds after the start.
        after_s: f64,
    },
    /// Damage each published frame with probability `rate` (e.g. flip a payload
    /// bit after the CRC was computed) so readers must reject it.
    Corrupt {
        /// Probability per frame, in `[0, 1]`.
        rate: f64,
    },
    /// Publish frames in bursts (hold frames back, then write many at once) so
    /// slow readers are lapped; burst size and spacing are the producer's choice.
    Burst,
}

/// Error returned by `Scenario::from_str` for an unknown name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseScenarioError {
    name: String,
}

impl fmt::Display for ParseScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown scenario `{}` (expected one of:", self.name)?;
        for s in Scenario::ALL {
            write!(f, " {s}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for ParseScenarioError {}

/// Cardiac rhythm driving the ECG model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rhythm {
    Sinus,
    Afib,
    Asystole,
}

/// Physiological targets at one instant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Targets {
    pub rhythm: Rhythm,
    /// Mean (ventricular) heart rate, bpm.
    pub hr_bpm: f64,
    /// SpO2 the oximeter converges to, %.
    pub spo2_pct: f64,
    /// Breathing rate, breaths/min; 0 means apnea (no new breath starts).
    pub rr_rpm: f64,
    /// NIBP systolic / diastolic, mmHg (0 = no measurable pressure).
    pub sys_mmhg: f64,
    pub dia_mmhg: f64,
    /// Core temperature target, °C.
    pub temp_c: f64,
    /// Pleth amplitude factor (1 = normal perfusion).
    pub perfusion: f64,
    /// Motion artifact bursts enabled.
    pub motion: bool,
}

impl Targets {
    const NORMAL: Targets = Targets {
        rhythm: Rhythm::Sinus,
        hr_bpm: 72.0,
        spo2_pct: 98.0,
        rr_rpm: 16.0,
        sys_mmhg: 120.0,
        dia_mmhg: 80.0,
        temp_c: 36.9,
        perfusion: 1.0,
        motion: false,
    };
}

/// Linear ramp from `a` (t ≤ t0) to `b` (t ≥ t1).
fn ramp(t: f64, t0: f64, t1: f64, a: f64, b: f64) -> f64 {
    if t <= t0 {
        a
    } else if t >= t1 {
        b
    } else {
        a + (b - a) * (t - t0) / (t1 - t0)
    }
}

impl Scenario {
    /// Every scenario, in declaration order.
    pub const ALL: [Scenario; 12] = [
        Scenario::Normal,
        Scenario::Tachycardia,
        Scenario::Bradycardia,
        Scenario::Afib,
        Scenario::Asystole,
        Scenario::Desaturation,
        Scenario::Apnea,
        Scenario::Motion,
        Scenario::Stall,
        Scenario::Crash,
        Scenario::Corrupt,
        Scenario::Burst,
    ];

    /// The scenario's name, as accepted by `FromStr` (e.g. `"afib"`).
    pub const fn name(self) -> &'static str {
        match self {
            Scenario::Normal => "normal",
            Scenario::Tachycardia => "tachycardia",
            Scenario::Bradycardia => "bradycardia",
            Scenario::Afib => "afib",
            Scenario::Asystole => "asystole",
            Scenario::Desaturation => "desaturation",
            Scenario::Apnea => "apnea",
            Scenario::Motion => "motion",
            Scenario::Stall => "stall",
            Scenario::Crash => "crash",
            Scenario::Corrupt => "corrupt",
            Scenario::Burst => "burst",
        }
    }

    /// A one-line human description (for `--help` texts).
    pub const fn description(self) -> &'static str {
        match self {
            Scenario::Normal => "sinus rhythm 72 bpm, SpO2 98 %, RR 16/min",
            Scenario::Tachycardia => "sinus tachycardia: HR 72 -> 150 bpm over t=10-40 s",
            Scenario::Bradycardia => "sinus bradycardia: HR 72 -> 40 bpm over t=10-30 s",
            Scenario::Afib => "atrial fibrillation (~110 bpm, irregular, no P waves)",
            Scenario::Asystole => "asystole from t=10 s (flat ECG, no pulse)",
            Scenario::Desaturation => "SpO2 97 -> 82 % over t=10-70 s",
            Scenario::Apnea => "30 s apnea in every 60 s, starting at t=10 s",
            Scenario::Motion => "normal physiology with motion-artifact bursts",
            Scenario::Stall => "normal physiology; writer stalls after 10 s",
            Scenario::Crash => "normal physiology; writer crashes after 10 s",
            Scenario::Corrupt => "normal physiology; 1 % of frames corrupted",
            Scenario::Burst => "normal physiology; frames published in bursts",
        }
    }

    /// The transport fault this scenario asks the producer to inject, if any.
    pub const fn fault(self) -> Option<Fault> {
        match self {
            Scenario::Stall => Some(Fault::Stall { after_s: ONSET_S }),
            Scenario::Crash => Some(Fault::Crash { after_s: ONSET_S }),
            Scenario::Corrupt => Some(Fault::Corrupt { rate: 0.01 }),
            Scenario::Burst => Some(Fault::Burst),
            _ => None,
        }
    }

    /// Physiological targets at `t` seconds after the start.
    pub(crate) fn targets(self, t: f64) -> Targets {
        let n = Targets::NORMAL;
        match self {
            Scenario::Normal
            | Scenario::Stall
            | Scenario::Crash
            | Scenario::Corrupt
            | Scenario::Burst => n,
            Scenario::Tachycardia => Targets {
                hr_bpm: ramp(t, ONSET_S, 40.0, 72.0, 150.0),
                spo2_pct: 97.0,
                rr_rpm: ramp(t, ONSET_S, 40.0, 16.0, 22.0),
                sys_mmhg: ramp(t, ONSET_S, 40.0, 120.0, 135.0),
                dia_mmhg: ramp(t, ONSET_S, 40.0, 80.0, 88.0),
                temp_c: if t < ONSET_S { n.temp_c } else { 38.4 },
                ..n
            },
            Scenario::Bradycardia => Targets {
                hr_bpm: ramp(t, ONSET_S, 30.0, 72.0, 40.0),
                rr_rpm: 14.0,
                sys_mmhg: ramp(t, ONSET_S, 30.0, 120.0, 100.0),
                dia_mmhg: ramp(t, ONSET_S, 30.0, 80.0, 60.0),
                perfusion: ramp(t, ONSET_S, 30.0, 1.0, 0.7),
                ..n
            },
            Scenario::Afib => Targets {
                rhythm: Rhythm::Afib,
                hr_bpm: 110.0,
                spo2_pct: 96.0,
                rr_rpm: 18.0,
                sys_mmhg: 118.0,
                dia_mmhg: 76.0,
                perfusion: 0.85,
                ..n
            },
            Scenario::Asystole => {
                if t < ONSET_S {
                    n
                } else {
                    Targets {
                        rhythm: Rhythm::Asystole,
                        sys_mmhg: 0.0,
                        dia_mmhg: 0.0,
                        perfusion: 0.0,
                        ..n
                    }
                }
            }
            Scenario::Desaturation => Targets {
                spo2_pct: ramp(t, ONSET_S, 70.0, 97.0, 82.0),
                hr_bpm: ramp(t, ONSET_S, 70.0, 72.0, 88.0),
                rr_rpm: ramp(t, ONSET_S, 70.0, 16.0, 24.0),
                ..n
            },
            Scenario::Apnea => {
                let phase = t.rem_euclid(60.0);
                let in_apnea = (ONSET_S..40.0).contains(&phase);
                // SpO2 target falls 0.35 %/s from 8 s into the pause; the
                // oximeter's lag (vitals.rs) smooths fall and recovery.
                let drop = if in_apnea {
                    0.35 * (phase - ONSET_S - 8.0).max(0.0)
                } else {
                    0.0
                };
                Targets {
                    spo2_pct: 97.0 - drop,
                    rr_rpm: if in_apnea { 0.0 } else { 16.0 },
                    ..n
                }
            }
            Scenario::Motion => Targets { motion: true, ..n },
        }
    }
}

/// A scenario's timeline as the simulator follows it: the scenario, entered at some point of
/// its own time. From the start, its time is the simulation time; a scenario switched in live
/// ([`crate::Simulator::set_scenario`]) is entered at its onset at the moment of the switch,
/// so its scripted events begin at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Script {
    pub scenario: Scenario,
    /// Added to the simulation time to get the scenario's own time, s.
    shift_s: f64,
}

impl Script {
    /// `scenario` from the start of the simulation.
    pub(crate) const fn new(scenario: Scenario) -> Self {
        Script {
            scenario,
            shift_s: 0.0,
        }
    }

    /// `scenario` entered at its onset at simulation time `t`.
    pub(crate) fn switched_at(scenario: Scenario, t: f64) -> Self {
        Script {
            scenario,
            shift_s: ONSET_S - t,
        }
    }

    /// Physiological targets at simulation time `t`.
    pub(crate) fn targets(self, t: f64) -> Targets {
        self.scenario.targets(t + self.shift_s)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = ParseScenarioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| ParseScenarioError { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(s.to_string().parse::<Scenario>(), Ok(s));
        }
        let e = "bogus".parse::<Scenario>().unwrap_err();
        assert!(e.to_string().contains("bogus"));
        assert!(e.to_string().contains("desaturation"));
    }

    #[test]
    fn faults() {
        assert_eq!(Scenario::Normal.fault(), None);
        assert_eq!(Scenario::Burst.fault(), Some(Fault::Burst));
        assert!(matches!(Scenario::Stall.fault(), Some(Fault::Stall { .. })));
        assert!(matches!(Scenario::Crash.fault(), Some(Fault::Crash { .. })));
        assert!(
            matches!(Scenario::Corrupt.fault(), Some(Fault::Corrupt { rate }) if rate > 0.0 && rate <= 1.0)
        );
    }

    #[test]
    fn apnea_timeline() {
        assert!(Scenario::Apnea.targets(5.0).rr_rpm > 0.0);
        assert_eq!(Scenario::Apnea.targets(10.0).rr_rpm, 0.0);
        assert_eq!(Scenario::Apnea.targets(39.9).rr_rpm, 0.0);
        assert!(Scenario::Apnea.targets(40.0).rr_rpm > 0.0);
        assert_eq!(Scenario::Apnea.targets(75.0).rr_rpm, 0.0);
    }
}
