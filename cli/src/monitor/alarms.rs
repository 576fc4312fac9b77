//! Alarm conditions of the monitor: physiological alarms from the numerics against the alarm
//! limits, technical alarms from the transport and the sensors, their priorities and the rules
//! by which one alarm replaces another.
//!
//! Priorities follow IEC 60601-1-8 (general requirements for alarm systems in medical
//! electrical equipment): **high** needs an immediate response (a life-threatening condition,
//! or monitoring lost), **medium** a prompt one, **low** awareness. The standard leaves the
//! priority of each condition to the manufacturer's risk analysis; ours is in `docs/cli.md`.
//! Its visual signals: high flashes at 1.4–2.8 Hz, medium at 0.4–0.8 Hz, low is steady
//! ([`Priority::flash_period_ns`]).
//!
//! Replacement rules (one condition, one alarm): `ASYSTOLE` (HR = 0) replaces `HR LOW`,
//! `APNEA` (RR = 0) replaces `RR LOW`, and an SpO2 of 0 ("no reading") raises the technical
//! `SPO2 NO SIGNAL` instead of `SPO2 LOW`. While the source is not connected the numerics are
//! stale: no physiological alarm is raised, the technical alarm says why.

use std::fmt;

use vitalring_core::source::ConnectionState;
use vitalring_core::vitals::VitalsRecord;

use crate::args::AlarmArgs;

/// How long a "DATA DROPPED" / "FRAMES REJECTED" alarm stays up after the last occurrence.
pub const TECH_ALARM_HOLD_NS: u64 = 5_000_000_000;

/// Physiological alarm limits (inclusive bounds of the normal range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// HR below this alarms, bpm.
    pub hr_low: u16,
    /// HR above this alarms, bpm.
    pub hr_high: u16,
    /// SpO2 below this alarms, %.
    pub spo2_low: u8,
    /// RR below this alarms, /min.
    pub rr_low: u8,
    /// RR above this alarms, /min.
    pub rr_high: u8,
}

/// Settable range of the heart-rate limits, bpm.
pub const HR_LIMIT_RANGE: (u16, u16) = (15, 300);
/// Settable range of the SpO2 low limit, %.
pub const SPO2_LIMIT_RANGE: (u8, u8) = (50, 99);
/// Settable range of the respiration-rate limits, /min.
pub const RR_LIMIT_RANGE: (u8, u8) = (1, 150);

/// Why a set of alarm limits was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitsError {
    /// A limit outside its settable range: (flag, value, lowest, highest).
    OutOfRange(&'static str, u16, u16, u16),
    /// A low limit not below its high limit: (low flag, low, high flag, high).
    NotBelow(&'static str, u16, &'static str, u16),
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfRange(flag, v, lo, hi) => {
                write!(
                    f,
                    "invalid alarm limit: --{flag} {v} is outside {lo}..={hi}"
                )
            }
            Self::NotBelow(lf, lo, hf, hi) => write!(
                f,
                "invalid alarm limits: --{lf} {lo} must be below --{hf} {hi}"
            ),
        }
    }
}

impl std::error::Error for LimitsError {}

impl Limits {
    /// Checks every limit against its settable range and each low limit against its high one.
    ///
    /// # Errors
    /// The first limit that is out of range or not below its partner.
    pub fn validated(self) -> Result<Self, LimitsError> {
        let range = |flag, v: u16, (lo, hi): (u16, u16)| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(LimitsError::OutOfRange(flag, v, lo, hi))
            }
        };
        let u8r = |(lo, hi): (u8, u8)| (u16::from(lo), u16::from(hi));
        range("hr-low", self.hr_low, HR_LIMIT_RANGE)?;
        range("hr-high", self.hr_high, HR_LIMIT_RANGE)?;
        range("spo2-low", self.spo2_low.into(), u8r(SPO2_LIMIT_RANGE))?;
        range("rr-low", self.rr_low.into(), u8r(RR_LIMIT_RANGE))?;
        range("rr-high", self.rr_high.into(), u8r(RR_LIMIT_RANGE))?;
        if self.hr_low >= self.hr_high {
            return Err(LimitsError::NotBelow(
                "hr-low",
                self.hr_low,
                "hr-high",
                self.hr_high,
            ));
        }
        if self.rr_low >= self.rr_high {
            return Err(LimitsError::NotBelow(
                "rr-low",
                self.rr_low.into(),
                "rr-high",
                self.rr_high.into(),
            ));
        }
        Ok(self)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            hr_low: 50,
            hr_high: 120,
            spo2_low: 90,
            rr_low: 8,
            rr_high: 30,
        }
    }
}

impl From<AlarmArgs> for Limits {
    fn from(a: AlarmArgs) -> Self {
        Self {
            hr_low: a.hr_low,
            hr_high: a.hr_high,
            spo2_low: a.spo2_low,
            rr_low: a.rr_low,
            rr_high: a.rr_high,
        }
    }
}

/// Alarm priority, as IEC 60601-1-8 names them (most urgent first, so sorting puts it first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Immediate response: life-threatening, or monitoring lost. Red, flashing fast.
    High,
    /// Prompt response: a limit crossed, monitoring degraded. Yellow, flashing slowly.
    Medium,
    /// Awareness. Cyan, steady.
    Low,
}

impl Priority {
    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }

    /// Full on/off period of the visual signal (50 % duty cycle), ns; `None` for steady.
    /// High: 2 Hz (IEC 60601-1-8: 1.4–2.8 Hz); medium: 0.5 Hz (0.4–0.8 Hz); low: steady.
    pub const fn flash_period_ns(self) -> Option<u64> {
        match self {
            Self::High => Some(500_000_000),
            Self::Medium => Some(2_000_000_000),
            Self::Low => None,
        }
    }

    /// Whether the visual signal is in its "on" half at monitor time `now_ns`.
    pub const fn lit(self, now_ns: u64) -> bool {
        match self.flash_period_ns() {
            Some(p) => now_ns % p < p / 2,
            None => true,
        }
    }

    /// The marker shown before the alarm text: `!!!`, `!!` or `!`.
    pub const fn marker(self) -> &'static str {
        match self {
            Self::High => "!!!",
            Self::Medium => "!!",
            Self::Low => "!",
        }
    }
}

/// An active alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm {
    /// What the display shows, upper case.
    pub text: &'static str,
    /// How urgent.
    pub priority: Priority,
    /// Technical (transport, sensor) rather than physiological.
    pub technical: bool,
}

/// Everything the alarm rules look at.
#[derive(Debug, Clone, Copy)]
pub struct AlarmInput {
    /// Connection state of the source.
    pub state: ConnectionState,
    /// The newest numerics, if they are live (connected); `None` while stale or absent.
    pub live_vitals: Option<VitalsRecord>,
    /// The alarm limits.
    pub limits: Limits,
    /// Frames were dropped within [`TECH_ALARM_HOLD_NS`].
    pub recent_drop: bool,
    /// Frames were rejected within [`TECH_ALARM_HOLD_NS`].
    pub recent_reject: bool,
}

/// The active alarms, highest priority first, physiological before technical within a priority.
pub fn evaluate(input: &AlarmInput) -> Vec<Alarm> {
    let mut out = Vec::new();
    let tech = |text, priority| Alarm {
        text,
        priority,
        technical: true,
    };
    let phys = |text, priority| Alarm {
        text,
        priority,
        technical: false,
    };
    match input.state {
        ConnectionState::Stalled => out.push(tech("SENSOR STALLED", Priority::High)),
        ConnectionState::Reconnecting => out.push(tech("SENSOR RECONNECTING", Priority::High)),
        ConnectionState::Disconnected => out.push(tech("SENSOR DISCONNECTED", Priority::High)),
        ConnectionState::Stopped => out.push(tech("PRODUCER STOPPED", Priority::High)),
        ConnectionState::Connecting | ConnectionState::Connected => {}
    }
    if input.recent_drop {
        out.push(tech("DATA DROPPED", Priority::Medium));
    }
    if input.recent_reject {
        out.push(tech("FRAMES REJECTED", Priority::Low));
    }
    if let Some(r) = input.live_vitals {
        let l = input.limits;
        if r.hr_bpm == 0 {
            out.push(phys("ASYSTOLE", Priority::High));
        } else if r.hr_bpm < l.hr_low {
            out.push(phys("HR LOW", Priority::Medium));
        } else if r.hr_bpm > l.hr_high {
            out.push(phys("HR HIGH", Priority::Medium));
        }
        if r.spo2_pct == 0 {
            out.push(tech("SPO2 NO SIGNAL", Priority::Medium));
        } else if r.spo2_pct < l.spo2_low {
            out.push(phys("SPO2 LOW", Priority::Medium));
        }
        if r.rr_rpm == 0 {
            out.push(phys("APNEA", Priority::High));
        } else if r.rr_rpm < l.rr_low {
            out.push(phys("RR LOW", Priority::Medium));
        } else if r.rr_rpm > l.rr_high {
            out.push(phys("RR HIGH", Priority::Medium));
        }
    }
    out.sort_by_key(|a| (a.priority, a.technical));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hr: u16, spo2: u8, rr: u8) -> VitalsRecord {
        VitalsRecord {
            hr_bpm: hr,
            spo2_pct: spo2,
            rr_rpm: rr,
            nibp: None,
            temp_c: None,
            pulse_rate_bpm: None,
        }
    }

    fn live(hr: u16, spo2: u8, rr: u8) -> Vec<Alarm> {
        evaluate(&AlarmInput {
            state: ConnectionState::Connected,
            live_vitals: Some(record(hr, spo2, rr)),
            limits: Limits::default(),
            recent_drop: false,
            recent_reject: false,
        })
    }

    #[test]
    fn no_spo2_reading_is_a_technical_alarm_not_a_desaturation() {
        let a = live(72, 0, 16);
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!(a[0].text, "SPO2 NO SIGNAL");
        assert!(a[0].technical);
        assert_eq!(a[0].priority, Priority::Medium);
        let low = live(72, 85, 16);
        assert_eq!(low[0].text, "SPO2 LOW");
        assert!(!low[0].technical);
    }

    #[test]
    fn replacement_rules() {
        let texts = |a: Vec<Alarm>| a.into_iter().map(|a| a.text).collect::<Vec<_>>();
        // Asystole replaces HR LOW, apnea replaces RR LOW; both are high priority.
        assert_eq!(
            texts(live(0, 0, 0)),
            ["ASYSTOLE", "APNEA", "SPO2 NO SIGNAL"]
        );
        assert_eq!(texts(live(40, 97, 5)), ["HR LOW", "RR LOW"]);
    }

    #[test]
    fn stale_numerics_raise_no_physiological_alarm() {
        let a = evaluate(&AlarmInput {
            state: ConnectionState::Stalled,
            live_vitals: None,
            limits: Limits::default(),
            recent_drop: true,
            recent_reject: true,
        });
        let v: Vec<_> = a.iter().map(|a| (a.text, a.priority)).collect();
        assert_eq!(
            v,
            [
                ("SENSOR STALLED", Priority::High),
                ("DATA DROPPED", Priority::Medium),
                ("FRAMES REJECTED", Priority::Low)
            ]
        );
        assert!(a.iter().all(|a| a.technical));
    }

    #[test]
    fn limits_are_validated() {
        assert_eq!(Limits::default().validated(), Ok(Limits::default()));
        let l = Limits {
            hr_low: 130,
            ..Limits::default()
        };
        let e = l.validated().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid alarm limits: --hr-low 130 must be below --hr-high 120"
        );
        let l = Limits {
            spo2_low: 20,
            ..Limits::default()
        };
        assert_eq!(
            l.validated().unwrap_err().to_string(),
            "invalid alarm limit: --spo2-low 20 is outside 50..=99"
        );
        let l = Limits {
            rr_low: 0,
            ..Limits::default()
        };
        assert!(matches!(
            l.validated(),
            Err(LimitsError::OutOfRange("rr-low", 0, 1, 150))
        ));
        let l = Limits {
            rr_low: 30,
            rr_high: 30,
            ..Limits::default()
        };
        assert!(matches!(l.validated(), Err(LimitsError::NotBelow(..))));
    }

    #[test]
    fn flashing_follows_iec_60601_1_8() {
        // High flashes at 2 Hz, medium at 0.5 Hz, both with a 50 % duty cycle; low is steady.
        let hz = |p: Priority| 1e9 / p.flash_period_ns().unwrap() as f64;
        assert!((1.4..=2.8).contains(&hz(Priority::High)));
        assert!((0.4..=0.8).contains(&hz(Priority::Medium)));
        assert!(Priority::Low.flash_period_ns().is_none());
        assert!(Priority::High.lit(0) && !Priority::High.lit(250_000_000));
        assert!(Priority::Low.lit(123));
    }
}
