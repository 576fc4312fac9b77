//! Deterministic physiological signal models and scenarios for vitalring.
//!
//! A [`Simulator`] produces, in simulated time (never the wall clock):
//!
//! * [`Vitals`] frames at exactly [`VITALS_HZ`] = 60 per simulated second, the
//!   k-th at `start_ns + k * 1e9 / 60` (integer arithmetic, no drift);
//! * [`Waveform`] chunks of [`CHUNK_LEN`] = 10 samples at [`WAVEFORM_FS_HZ`] =
//!   250 Hz for each [`Channel`] (ECG lead II, SpO2 pleth, respiration), 25
//!   chunks per second per channel, the chunk whose first sample is sample
//!   `first` at `start_ns + first * 4 ms`.
//!
//! Outputs come out in timestamp order; on equal timestamps the vitals frame
//! comes first, then the chunks in `EcgII`, `Pleth`, `Resp` order. The same
//! [`SimConfig`] (scenario, seed, start time, artifact levels) always yields the
//! same sequence.
//!
//! Models (details and citations in the module docs and `docs/simulator.md`):
//! ECG as ECGSYN's Gaussian waves (McSharry et al., IEEE TBME 2003) placed in
//! time, with rate-independent PR and QRS and a Fridericia-scaled QT, driven by
//! an RR tachogram with normal short-term variability (or atrial
//! fibrillation); pleth as one pulse per ejecting beat with a diastolic
//! run-off, its amplitude set by the preceding interval, 200 ms after the R
//! peak; respiration as an impedance waveform; vitals derived from the
//! synthesized beats and breaths.
//!
//! Units: ECG in µV, pleth in pleth units (0 = diastolic baseline, ≈ 1000 =
//! systolic peak at normal perfusion), respiration in mΩ above the
//! end-expiratory impedance; see [`Channel::unit`].
//!
//! ```
//! use vitalring_sim::{Scenario, SimConfig, SimOutput, Simulator};
//!
//! let mut sim = Simulator::new(SimConfig::new(Scenario::Normal, 42, 1_700_000_000_000_000_000));
//! // One simulated second: 60 vitals frames + 3 × 25 waveform chunks.
//! let n = sim.advance_to(1_700_000_000_999_999_999).count();
//! assert_eq!(n, 60 + 75);
//! if let SimOutput::Vitals(v) = sim.next_output() {
//!     assert!((60..=85).contains(&v.hr_bpm));
//! }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod artifacts;
mod ecg;
mod pleth;
mod resp;
mod ring;
mod rng;
mod scenario;
#[cfg(feature = "source")]
pub mod source;
mod vitals;

use core::fmt;

pub use rng::SplitMix;
pub use scenario::{Fault, ParseScenarioError, Scenario};

use artifacts::{Drift, FWaves, Motion, Noise};
use ecg::{BeatRec, Ecg};
use resp::Resp;
use ring::Ring;
use rng::{stream, Rng};
use scenario::{Rhythm, Script};
use vitals::VitalsState;

/// Waveform sampling rate, Hz (all channels).
pub const WAVEFORM_FS_HZ: u32 = 250;
/// Samples per [`Waveform`] chunk.
pub const CHUNK_LEN: usize = 10;
/// Vitals frames per simulated second.
pub const VITALS_HZ: u32 = 60;
/// Waveform sample period, ns.
pub const SAMPLE_PERIOD_NS: u64 = 1_000_000_000 / WAVEFORM_FS_HZ as u64;
/// R peak to pleth pulse foot (pulse transit time), ns.
pub const PULSE_TRANSIT_NS: u64 = 200_000_000;

const SAMPLE_PERIOD_S: f64 = 1.0 / WAVEFORM_FS_HZ as f64;
const CHUNK_NS: u64 = SAMPLE_PERIOD_NS * CHUNK_LEN as u64;
/// Synthesized beats kept for the pleth, the rate averages and [`Simulator::beats`].
const BEAT_HISTORY: usize = 32;
/// Peak-to-peak fraction by which breathing modulates the ECG amplitude.
const ECG_RESP_MODULATION: f64 = 0.08;
/// Respiratory baseline modulation of the pleth, fraction of full scale.
const PLETH_RESP_MODULATION: f64 = 0.03;
/// Time constant with which the pleth's respiratory modulation follows the
/// scenario's perfusion, s.
const PERFUSION_TAU_S: f64 = 2.0;

/// A waveform channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// ECG lead II, µV.
    EcgII,
    /// SpO2 plethysmogram, pleth units (arbitrary; ≈ 1000 per pulse).
    Pleth,
    /// Impedance respiration, mΩ.
    Resp,
}

impl Channel {
    /// All channels, in output order.
    pub const ALL: [Channel; 3] = [Channel::EcgII, Channel::Pleth, Channel::Resp];

    /// Lower-case name: `ecg_ii`, `pleth` or `resp`.
    pub const fn name(self) -> &'static str {
        match self {
            Channel::EcgII => "ecg_ii",
            Channel::Pleth => "pleth",
            Channel::Resp => "resp",
        }
    }

    /// Unit of the samples: `"uV"`, `"pleth units"` or `"mOhm"`.
    ///
    /// * ECG: microvolts; R peaks ≈ 1000–1500 µV above the isoelectric line.
    /// * Pleth: 0 = diastolic baseline, ≈ 1000 = systolic peak at normal
    ///   perfusion (pulsatile component only).
    /// * Resp: milliohms of thoracic impedance above the end-expiratory level;
    ///   ≈ 1000 mΩ at the end of a normal inspiration, 0 in apnea.
    pub const fn unit(self) -> &'static str {
        match self {
            Channel::EcgII => "uV",
            Channel::Pleth => "pleth units",
            Channel::Resp => "mOhm",
        }
    }

    const fn index(self) -> usize {
        match self {
            Channel::EcgII => 0,
            Channel::Pleth => 1,
            Channel::Resp => 2,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One vitals frame. Every field stays within the transport's valid ranges
/// (HR/pulse 0–300 bpm, SpO2 0–100 %, RR 0–150 /min, NIBP 0–300 mmHg,
/// temperature 25–45 °C). A rate or SpO2 of 0 means "no beat / breath / pulse
/// detected" (asystole, apnea, no pleth signal).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vitals {
    /// Timestamp, ns since the Unix epoch (`start_ns + k * 1e9 / 60`).
    pub t_ns: u64,
    /// Heart rate from the ECG beats, bpm (mean of the last 8 RR intervals).
    pub hr_bpm: u16,
    /// Oxygen saturation, %.
    pub spo2_pct: u8,
    /// Respiration rate, breaths per minute.
    pub rr_rpm: u8,
    /// Non-invasive blood pressure (systolic, diastolic, mean), mmHg; the last
    /// measurement (taken at t = 0 and then every 60 s of simulated time).
    pub nibp: (u16, u16, u16),
    /// Body temperature, °C.
    pub temp_c: f32,
    /// Pulse rate from the pleth pulses, bpm.
    pub pulse_rate_bpm: u16,
}

/// A chunk of [`CHUNK_LEN`] consecutive samples of one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waveform {
    /// Timestamp of the first sample, ns since the Unix epoch
    /// (`start_ns + first * 4_000_000`).
    pub t_ns: u64,
    /// Which channel.
    pub channel: Channel,
    /// Sampling rate, Hz (always [`WAVEFORM_FS_HZ`]).
    pub fs_hz: u32,
    /// Index of the first sample since the start (a multiple of [`CHUNK_LEN`]).
    pub first: u64,
    /// The samples, in the channel's unit ([`Channel::unit`]).
    pub samples: [i32; CHUNK_LEN],
}

/// One output of the simulator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SimOutput {
    /// A vitals frame.
    Vitals(Vitals),
    /// A waveform chunk.
    Waveform(Waveform),
}

impl SimOutput {
    /// The output's timestamp, ns since the Unix epoch.
    pub const fn t_ns(&self) -> u64 {
        match self {
            SimOutput::Vitals(v) => v.t_ns,
            SimOutput::Waveform(w) => w.t_ns,
        }
    }
}

/// Levels of the non-physiological signal components. All are amplitudes;
/// 0 disables a component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Artifacts {
    /// ECG white noise, standard deviation in µV.
    pub ecg_noise_uv: f64,
    /// ECG baseline wander, peak µV (60 % respiration-synchronous, 40 % slow
    /// 0.03–0.12 Hz drift).
    pub baseline_wander_uv: f64,
    /// Mains interference on the ECG, peak µV.
    pub mains_uv: f64,
    /// Mains frequency, Hz (50 or 60).
    pub mains_hz: f64,
    /// Pleth white noise, standard deviation in pleth units.
    pub pleth_noise: f64,
    /// Respiration white noise, standard deviation in mΩ.
    pub resp_noise_mohm: f64,
}

impl Artifacts {
    /// No noise, wander or hum: the bare models (motion bursts and AF f-waves,
    /// being part of the scenarios, remain).
    pub const NONE: Artifacts = Artifacts {
        ecg_noise_uv: 0.0,
        baseline_wander_uv: 0.0,
        mains_uv: 0.0,
        mains_hz: 50.0,
        pleth_noise: 0.0,
        resp_noise_mohm: 0.0,
    };
}

impl Default for Artifacts {
    /// Modest levels: ECG noise 8 µV rms, wander 40 µV, 50 Hz hum 10 µV,
    /// pleth noise 4 units, respiration noise 4 mΩ.
    fn default() -> Self {
        Artifacts {
            ecg_noise_uv: 8.0,
            baseline_wander_uv: 40.0,
            mains_uv: 10.0,
            mains_hz: 50.0,
            pleth_noise: 4.0,
            resp_noise_mohm: 4.0,
        }
    }
}

/// Everything that determines a simulation run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// The scripted condition.
    pub scenario: Scenario,
    /// Seed of every random choice (heart-rate variability, AF intervals, noise, ...).
    pub seed: u64,
    /// Simulated time of the first sample and first vitals frame, ns since the Unix epoch.
    pub start_ns: u64,
    /// Noise and interference levels.
    pub artifacts: Artifacts,
}

impl SimConfig {
    /// A configuration with [`Artifacts::default`].
    pub fn new(scenario: Scenario, seed: u64, start_ns: u64) -> Self {
        SimConfig {
            scenario,
            seed,
            start_ns,
            artifacts: Artifacts::default(),
        }
    }
}

/// A synthesized heartbeat (ground truth for the ECG's R peak).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beat {
    /// Beat number, 0 for the first beat after the start.
    pub index: u64,
    /// Time of the R peak, ns since the Unix epoch (not quantized to samples).
    /// The pleth pulse foot follows [`PULSE_TRANSIT_NS`] later.
    pub t_ns: u64,
}

/// The patient simulator: a deterministic, time-ordered stream of
/// [`SimOutput`]s. Also an endless [`Iterator`].
#[derive(Clone, Debug)]
pub struct Simulator {
    cfg: SimConfig,
    /// The scenario being followed (changes with [`Simulator::set_scenario`]).
    script: Script,
    beats: Ring<BeatRec, BEAT_HISTORY>,
    ecg: Ecg,
    resp: Resp,
    vitals: VitalsState,
    fwaves: FWaves,
    drift: Drift,
    mains_phase: f64,
    /// Perfusion seen by the pleth's respiratory modulation (lagged).
    perfusion: f64,
    motion: Motion,
    noise: Noise,
    /// Index of the next vitals frame.
    next_vitals: u64,
    /// Index of the next chunk (first sample = chunk * CHUNK_LEN).
    next_chunk: u64,
    /// Next channel of the current chunk to emit (0..3).
    next_channel: usize,
    chunk_ready: bool,
    chunk: [[i32; CHUNK_LEN]; 3],
    next_sample: u64,
}

impl Simulator {
    /// A simulator at its start time.
    pub fn new(cfg: SimConfig) -> Self {
        let script = Script::new(cfg.scenario);
        let tg0 = script.targets(0.0);
        let mut beats = Ring::new();
        let ecg = Ecg::new(cfg.seed, script, &mut beats);
        let mut extras = Rng::new(cfg.seed, stream::EXTRAS);
        Simulator {
            cfg,
            script,
            ecg,
            beats,
            resp: Resp::new(cfg.seed, &tg0),
            vitals: VitalsState::new(cfg.seed, &tg0),
            fwaves: FWaves::new(&mut extras),
            drift: Drift::new(&mut extras),
            mains_phase: extras.range(0.0, core::f64::consts::TAU),
            perfusion: tg0.perfusion,
            motion: Motion::new(cfg.seed),
            noise: Noise::new(cfg.seed),
            next_vitals: 0,
            next_chunk: 0,
            next_channel: 0,
            chunk_ready: false,
            chunk: [[0; CHUNK_LEN]; 3],
            next_sample: 0,
        }
    }

    /// The configuration this simulator was built with.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The scenario followed now.
    pub fn scenario(&self) -> Scenario {
        self.script.scenario
    }

    /// Switches to `scenario` live: the signals go on from where they are (the models keep
    /// their state: beat schedule, breathing phase, oximeter lag, NIBP cycle), with the new
    /// scenario's targets from the next sample on. The new scenario is entered at its onset,
    /// so its scripted change begins at once (a tachycardia ramps up from now, an asystole
    /// starts now). Its transport fault, if any, is not this crate's business (the producer
    /// decides whether to inject it).
    pub fn set_scenario(&mut self, scenario: Scenario) {
        let t = self.next_sample as f64 * SAMPLE_PERIOD_S;
        self.script = Script::switched_at(scenario, t);
        self.cfg.scenario = scenario;
    }

    fn vitals_offset_ns(k: u64) -> u64 {
        // Exact: floor(k * 1e9 / 60) from the integer index.
        (u128::from(k) * 1_000_000_000 / u128::from(VITALS_HZ)) as u64
    }

    /// Timestamp (ns since the Unix epoch) of the output the next call to
    /// [`next_output`](Self::next_output) returns.
    pub fn peek_t_ns(&self) -> u64 {
        let tc = self.next_chunk * CHUNK_NS;
        let off = if self.next_channel == 0 {
            Self::vitals_offset_ns(self.next_vitals).min(tc)
        } else {
            tc
        };
        self.cfg.start_ns.saturating_add(off)
    }

    /// The next output, in timestamp order (vitals before waveforms on a tie).
    pub fn next_output(&mut self) -> SimOutput {
        let tc = self.next_chunk * CHUNK_NS;
        let tv = Self::vitals_offset_ns(self.next_vitals);
        // The current chunk is synthesized before a vitals frame at or before
        // its timestamp, so the beats and breaths up to that frame exist.
        self.ensure_chunk();
        if self.next_channel == 0 && tv <= tc {
            let k = self.next_vitals;
            self.next_vitals += 1;
            let t = k as f64 / f64::from(VITALS_HZ);
            let tg = self.script.targets(t);
            let v = self.vitals.update(
                t,
                1.0 / f64::from(VITALS_HZ),
                &tg,
                &self.beats,
                &self.resp.onsets,
            );
            return SimOutput::Vitals(Vitals {
                t_ns: self.cfg.start_ns.saturating_add(tv),
                hr_bpm: v.hr_bpm,
                spo2_pct: v.spo2_pct,
                rr_rpm: v.rr_rpm,
                nibp: v.nibp,
                temp_c: v.temp_c,
                pulse_rate_bpm: v.pulse_rate_bpm,
            });
        }
        let ch = Channel::ALL[self.next_channel];
        let first = self.next_chunk * CHUNK_LEN as u64;
        let out = Waveform {
            t_ns: self.cfg.start_ns.saturating_add(tc),
            channel: ch,
            fs_hz: WAVEFORM_FS_HZ,
            first,
            samples: self.chunk[ch.index()],
        };
        self.next_channel += 1;
        if self.next_channel == Channel::ALL.len() {
            self.next_channel = 0;
            self.next_chunk += 1;
            self.chunk_ready = false;
        }
        SimOutput::Waveform(out)
    }

    /// All outputs with a timestamp at or before `t_ns` (ns since the Unix
    /// epoch) that have not been returned yet, in order.
    pub fn advance_to(&mut self, t_ns: u64) -> AdvanceTo<'_> {
        AdvanceTo {
            sim: self,
            until: t_ns,
        }
    }

    /// The most recent synthesized beats (up to 32, oldest first). Synthesis
    /// runs at most one chunk (40 ms) ahead of the last returned output, so
    /// this may include a beat slightly later than it.
    pub fn beats(&self) -> impl Iterator<Item = Beat> + '_ {
        let start = self.cfg.start_ns;
        self.beats
            .iter_oldest_first()
            .filter(|b| b.index >= 0)
            .map(move |b| Beat {
                index: b.index as u64,
                t_ns: start.saturating_add((b.t * 1e9).round() as u64),
            })
    }

    fn ensure_chunk(&mut self) {
        if self.chunk_ready {
            return;
        }
        for i in 0..CHUNK_LEN {
            let s = self.synthesize_sample();
            for (c, v) in s.into_iter().enumerate() {
                self.chunk[c][i] = v;
            }
        }
        self.chunk_ready = true;
    }

    /// Synthesizes sample `next_sample` of all three channels.
    fn synthesize_sample(&mut self) -> [i32; 3] {
        let n = self.next_sample;
        self.next_sample += 1;
        let t = n as f64 * SAMPLE_PERIOD_S;
        let sc = self.script;
        let tg = sc.targets(t);
        let art = self.cfg.artifacts;

        let lung = self.resp.advance(t, SAMPLE_PERIOD_S, &tg);
        self.ecg
            .advance_to(t, sc, self.resp.phase(), &mut self.beats);

        // Breathing moves the heart's electrical axis: ±4 % amplitude.
        let centered_lung = lung - 0.5;
        let mut ecg = self.ecg.uv_at(t, &self.beats) * (1.0 + ECG_RESP_MODULATION * centered_lung);
        let fw = self.fwaves.next(t, SAMPLE_PERIOD_S);
        if tg.rhythm == Rhythm::Afib {
            ecg += fw;
        }
        ecg += art.baseline_wander_uv * (0.6 * centered_lung + 0.4 * self.drift.at(t));
        ecg += art.mains_uv * (core::f64::consts::TAU * art.mains_hz * t + self.mains_phase).sin();

        // Each pulse carries the perfusion of its own beat, so a change (the
        // end of circulation in asystole) never cuts a pulse short.
        let mut pleth = pleth::FULL_SCALE * pleth::pleth_at(t, self.ecg.pending(), &self.beats);
        self.perfusion += (tg.perfusion - self.perfusion) * (SAMPLE_PERIOD_S / PERFUSION_TAU_S);
        pleth += pleth::FULL_SCALE * PLETH_RESP_MODULATION * self.perfusion * centered_lung;

        // Body movement disturbs every channel, impedance respiration most.
        let motion = if tg.motion { self.motion.at(t) } else { 0.0 };
        ecg += artifacts::MOTION_ECG_UV * motion;
        pleth += artifacts::MOTION_PLETH_AU * motion;
        let respv = resp::TIDAL_MOHM * lung + artifacts::MOTION_RESP_MOHM * motion;
        ecg += self.noise.gauss(art.ecg_noise_uv);
        pleth += self.noise.gauss(art.pleth_noise);
        let respv = respv + self.noise.gauss(art.resp_noise_mohm);
        [
            ecg.round() as i32,
            pleth.round() as i32,
            respv.round() as i32,
        ]
    }
}

impl Iterator for Simulator {
    type Item = SimOutput;

    /// Never `None`: the simulation has no end.
    fn next(&mut self) -> Option<SimOutput> {
        Some(self.next_output())
    }
}

/// Iterator returned by [`Simulator::advance_to`].
#[derive(Debug)]
pub struct AdvanceTo<'a> {
    sim: &'a mut Simulator,
    until: u64,
}

impl Iterator for AdvanceTo<'_> {
    type Item = SimOutput;

    fn next(&mut self) -> Option<SimOutput> {
        (self.sim.peek_t_ns() <= self.until).then(|| self.sim.next_output())
    }
}
