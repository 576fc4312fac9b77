//! Vital-sign records and waveform chunks, with the physiological ranges a reader enforces.
//!
//! A value outside its range is rejected, never clamped: a monitor must not show a number the
//! sensor did not measure.

use core::ops::RangeInclusive;

/// Most samples one waveform chunk may carry (the simulator sends 10).
pub const MAX_SAMPLES: usize = 128;

/// Heart rate, bpm.
pub const HR_RANGE: RangeInclusive<u16> = 0..=300;
/// Oxygen saturation, %.
pub const SPO2_RANGE: RangeInclusive<u8> = 0..=100;
/// Respiration rate, breaths/min.
pub const RR_RANGE: RangeInclusive<u8> = 0..=150;
/// Non-invasive blood pressure, mmHg (systolic, diastolic and mean alike).
pub const NIBP_RANGE: RangeInclusive<u16> = 0..=300;
/// Body temperature, °C.
pub const TEMP_RANGE: RangeInclusive<f32> = 25.0..=45.0;
/// Pulse rate (from the pleth), bpm.
pub const PULSE_RATE_RANGE: RangeInclusive<u16> = 0..=300;
/// Sample rates a waveform chunk may declare, Hz.
pub const FS_RANGE: RangeInclusive<u16> = 1..=2000;

/// A non-invasive blood-pressure reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nibp {
    /// Systolic, mmHg.
    pub systolic_mmhg: u16,
    /// Diastolic, mmHg.
    pub diastolic_mmhg: u16,
    /// Mean arterial pressure, mmHg.
    pub mean_mmhg: u16,
}

/// One set of vital-sign numerics.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VitalsRecord {
    /// Heart rate, bpm (from the ECG).
    pub hr_bpm: u16,
    /// SpO2, %.
    pub spo2_pct: u8,
    /// Respiration rate, breaths/min.
    pub rr_rpm: u8,
    /// Last NIBP reading, if any.
    pub nibp: Option<Nibp>,
    /// Body temperature, °C, if measured.
    pub temp_c: Option<f32>,
    /// Pulse rate from the pleth, bpm, if measured.
    pub pulse_rate_bpm: Option<u16>,
}

/// A waveform channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Channel {
    /// ECG lead II; samples in µV.
    #[serde(rename = "ecg_ii")]
    EcgII,
    /// SpO2 plethysmogram; samples in arbitrary perfusion units.
    #[serde(rename = "pleth")]
    Pleth,
    /// Respiration (thoracic impedance); samples in mΩ deviation from baseline.
    #[serde(rename = "resp")]
    Resp,
}

impl Channel {
    /// Every channel, in wire-code order.
    pub const ALL: [Self; 3] = [Self::EcgII, Self::Pleth, Self::Resp];

    /// The JSON name (`"ecg_ii"`, `"pleth"`, `"resp"`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::EcgII => "ecg_ii",
            Self::Pleth => "pleth",
            Self::Resp => "resp",
        }
    }

    /// The binary code (1, 2, 3).
    pub const fn code(self) -> u8 {
        match self {
            Self::EcgII => 1,
            Self::Pleth => 2,
            Self::Resp => 3,
        }
    }
}

impl TryFrom<u8> for Channel {
    type Error = u8;
    fn try_from(raw: u8) -> Result<Self, u8> {
        match raw {
            1 => Ok(Self::EcgII),
            2 => Ok(Self::Pleth),
            3 => Ok(Self::Resp),
            other => Err(other),
        }
    }
}

impl core::str::FromStr for Channel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|c| c.name() == s).ok_or(())
    }
}

impl core::fmt::Display for Channel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Consecutive samples of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveformChunk {
    /// Which channel.
    pub channel: Channel,
    /// Sample rate, Hz.
    pub fs_hz: u16,
    /// Index of the first sample since the producer started this channel.
    pub first: u64,
    /// The samples (units per [`Channel`]); at least one, at most [`MAX_SAMPLES`].
    pub samples: heapless::Vec<i32, MAX_SAMPLES>,
}

#[cfg(feature = "defmt")]
impl defmt::Format for WaveformChunk {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "WaveformChunk {{ channel: {}, fs_hz: {}, first: {}, samples: {} }}",
            self.channel,
            self.fs_hz,
            self.first,
            self.samples.as_slice()
        )
    }
}

/// Which value is out of its physiological range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Field {
    /// Heart rate.
    HeartRate,
    /// SpO2.
    Spo2,
    /// Respiration rate.
    RespirationRate,
    /// NIBP systolic.
    NibpSystolic,
    /// NIBP diastolic.
    NibpDiastolic,
    /// NIBP mean.
    NibpMean,
    /// Temperature.
    Temperature,
    /// Pulse rate.
    PulseRate,
    /// Waveform sample rate.
    SampleRate,
    /// Waveform sample count (zero or more than [`MAX_SAMPLES`]).
    SampleCount,
}

impl core::fmt::Display for Field {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::HeartRate => "heart rate",
            Self::Spo2 => "spo2",
            Self::RespirationRate => "respiration rate",
            Self::NibpSystolic => "nibp systolic",
            Self::NibpDiastolic => "nibp diastolic",
            Self::NibpMean => "nibp mean",
            Self::Temperature => "temperature",
            Self::PulseRate => "pulse rate",
            Self::SampleRate => "sample rate",
            Self::SampleCount => "sample count",
        })
    }
}

impl VitalsRecord {
    /// Checks every present value against its range.
    ///
    /// # Errors
    /// The first [`Field`] out of range.
    pub fn validate(&self) -> Result<(), Field> {
        check(HR_RANGE.contains(&self.hr_bpm), Field::HeartRate)?;
        check(SPO2_RANGE.contains(&self.spo2_pct), Field::Spo2)?;
        check(RR_RANGE.contains(&self.rr_rpm), Field::RespirationRate)?;
        if let Some(n) = self.nibp {
            check(NIBP_RANGE.contains(&n.systolic_mmhg), Field::NibpSystolic)?;
            check(NIBP_RANGE.contains(&n.diastolic_mmhg), Field::NibpDiastolic)?;
            check(NIBP_RANGE.contains(&n.mean_mmhg), Field::NibpMean)?;
        }
        if let Some(t) = self.temp_c {
            // `contains` is false for NaN, so NaN is rejected too.
            check(TEMP_RANGE.contains(&t), Field::Temperature)?;
        }
        if let Some(p) = self.pulse_rate_bpm {
            check(PULSE_RATE_RANGE.contains(&p), Field::PulseRate)?;
        }
        Ok(())
    }
}

impl WaveformChunk {
    /// Checks the sample rate and count.
    ///
    /// # Errors
    /// [`Field::SampleRate`] or [`Field::SampleCount`].
    pub fn validate(&self) -> Result<(), Field> {
        check(FS_RANGE.contains(&self.fs_hz), Field::SampleRate)?;
        check(!self.samples.is_empty(), Field::SampleCount)
    }
}

fn check(ok: bool, field: Field) -> Result<(), Field> {
    if ok {
        Ok(())
    } else {
        Err(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal() -> VitalsRecord {
        VitalsRecord {
            hr_bpm: 72,
            spo2_pct: 98,
            rr_rpm: 14,
            nibp: Some(Nibp {
                systolic_mmhg: 120,
                diastolic_mmhg: 80,
                mean_mmhg: 93,
            }),
            temp_c: Some(37.0),
            pulse_rate_bpm: Some(72),
        }
    }

    #[test]
    fn ranges_are_inclusive_and_rejected_not_clamped() {
        assert_eq!(normal().validate(), Ok(()));
        let edges = VitalsRecord {
            hr_bpm: 300,
            spo2_pct: 100,
            rr_rpm: 150,
            ..normal()
        };
        assert_eq!(edges.validate(), Ok(()));
        assert_eq!(
            VitalsRecord {
                hr_bpm: 301,
                ..normal()
            }
            .validate(),
            Err(Field::HeartRate)
        );
        assert_eq!(
            VitalsRecord {
                spo2_pct: 101,
                ..normal()
            }
            .validate(),
            Err(Field::Spo2)
        );
        assert_eq!(
            VitalsRecord {
                rr_rpm: 151,
                ..normal()
            }
            .validate(),
            Err(Field::RespirationRate)
        );
        let nibp = Some(Nibp {
            systolic_mmhg: 301,
            diastolic_mmhg: 80,
            mean_mmhg: 90,
        });
        assert_eq!(
            VitalsRecord { nibp, ..normal() }.validate(),
            Err(Field::NibpSystolic)
        );
        for t in [24.9, 45.1, f32::NAN, f32::INFINITY] {
            assert_eq!(
                VitalsRecord {
                    temp_c: Some(t),
                    ..normal()
                }
                .validate(),
                Err(Field::Temperature)
            );
        }
        assert_eq!(
            VitalsRecord {
                pulse_rate_bpm: Some(400),
                ..normal()
            }
            .validate(),
            Err(Field::PulseRate)
        );
    }

    #[test]
    fn channel_names_and_codes() {
        for c in Channel::ALL {
            assert_eq!(c.name().parse::<Channel>(), Ok(c));
            assert_eq!(Channel::try_from(c.code()), Ok(c));
        }
        assert_eq!(Channel::try_from(0), Err(0));
        assert!("ecg".parse::<Channel>().is_err());
    }
}
