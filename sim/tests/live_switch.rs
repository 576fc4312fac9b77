//! A scenario switched in live: the signals go on without a jump or a gap, and the new
//! scenario's change begins at once.

use vitalring_sim::{Channel, Scenario, SimConfig, SimOutput, Simulator};

const START: u64 = 1_700_000_000_000_000_000;
const S: u64 = 1_000_000_000;

/// Runs `sim` to `until` (ns after START); returns (last HR, largest ECG step between two
/// consecutive samples, whether every channel's chunks were contiguous).
fn run(sim: &mut Simulator, until: u64, next_first: &mut [u64; 3]) -> (u16, i32, bool) {
    let mut hr = 0;
    let mut step = 0;
    let mut contiguous = true;
    let mut last_ecg: Option<i32> = None;
    for out in sim.advance_to(START + until) {
        match out {
            SimOutput::Vitals(v) => hr = v.hr_bpm,
            SimOutput::Waveform(w) => {
                let k = Channel::ALL.iter().position(|c| *c == w.channel).unwrap();
                contiguous &= w.first == next_first[k];
                next_first[k] = w.first + w.samples.len() as u64;
                if w.channel == Channel::EcgII {
                    for s in w.samples {
                        if let Some(l) = last_ecg {
                            step = step.max((s - l).abs());
                        }
                        last_ecg = Some(s);
                    }
                }
            }
        }
    }
    (hr, step, contiguous)
}

#[test]
fn a_live_switch_to_tachycardia_raises_the_rate_without_a_jump_or_gap() {
    let mut sim = Simulator::new(SimConfig::new(Scenario::Normal, 7, START));
    let mut next = [0; 3];
    let (hr_before, step_before, ok_before) = run(&mut sim, 30 * S, &mut next);
    assert!(ok_before);
    assert!((60..=85).contains(&hr_before), "{hr_before}");
    sim.set_scenario(Scenario::Tachycardia);
    assert_eq!(sim.scenario(), Scenario::Tachycardia);
    // The switch itself: the next second of signal has no larger sample step than normal
    // physiology had (the ECG's steepest part is the QRS, present in both).
    let (_, step_switch, ok_switch) = run(&mut sim, 31 * S, &mut next);
    assert!(ok_switch, "a waveform chunk is missing at the switch");
    assert!(
        step_switch <= step_before + step_before / 4,
        "the ECG jumps at the switch: {step_switch} vs {step_before} before"
    );
    let (hr_after, _, ok_after) = run(&mut sim, 70 * S, &mut next);
    assert!(ok_after);
    assert!(hr_after >= 140, "tachycardia reached only {hr_after} bpm");
}

#[test]
fn a_switch_without_a_switch_changes_nothing_else() {
    // Two simulators, same seed: one switched to the scenario it already runs still yields the
    // same scenario (the switch does not restart the simulation or the beat sequence).
    let mut a = Simulator::new(SimConfig::new(Scenario::Normal, 3, START));
    let mut b = Simulator::new(SimConfig::new(Scenario::Normal, 3, START));
    let _ = a.advance_to(START + 5 * S).count();
    let _ = b.advance_to(START + 5 * S).count();
    b.set_scenario(Scenario::Normal);
    let xa: Vec<SimOutput> = a.advance_to(START + 10 * S).collect();
    let xb: Vec<SimOutput> = b.advance_to(START + 10 * S).collect();
    assert_eq!(xa, xb);
}
