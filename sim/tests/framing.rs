//! Determinism, output rates and timestamps, value ranges.

mod common;

use common::{digest, Fnv, START_NS};
use vitalring_sim::{Artifacts, Channel, Scenario, SimConfig, SimOutput, Simulator, CHUNK_LEN};

#[test]
fn same_seed_same_output_different_seed_different() {
    for sc in [Scenario::Normal, Scenario::Afib, Scenario::Motion] {
        let cfg = SimConfig::new(sc, 1234, START_NS);
        let a = digest(cfg, 5);
        let b = digest(cfg, 5);
        assert_eq!(a, b, "{sc}: two runs differ");
        let c = digest(SimConfig { seed: 1235, ..cfg }, 5);
        assert_ne!(a, c, "{sc}: seed has no effect");
    }
    // Scenario and start time matter too.
    let cfg = SimConfig::new(Scenario::Normal, 1, START_NS);
    assert_ne!(
        digest(cfg, 3),
        digest(
            SimConfig {
                scenario: Scenario::Afib,
                ..cfg
            },
            3
        )
    );
    assert_ne!(
        digest(cfg, 3),
        digest(
            SimConfig {
                start_ns: START_NS + 1,
                ..cfg
            },
            3
        )
    );
}

#[test]
fn clone_continues_identically() {
    let mut a = Simulator::new(SimConfig::new(Scenario::Afib, 9, START_NS));
    a.advance_to(START_NS + 3_000_000_000).for_each(drop);
    let mut b = a.clone();
    let mut ha = Fnv::new();
    let mut hb = Fnv::new();
    for _ in 0..1000 {
        ha.output(&a.next_output());
        hb.output(&b.next_output());
    }
    assert_eq!(ha.0, hb.0);
}

#[test]
fn exact_rates_and_timestamps_over_60_s() {
    let secs = 60u64;
    let mut sim = Simulator::new(SimConfig::new(Scenario::Normal, 5, START_NS));
    let end = START_NS + secs * 1_000_000_000 - 1;
    let mut n_vitals = 0u64;
    let mut n_chunks = [0u64; 3];
    let mut last_t = 0u64;
    let mut last_vitals_t = None;
    let mut last_chunk_t = [None::<u64>; 3];
    for o in sim.advance_to(end) {
        let t = o.t_ns();
        assert!(t >= last_t, "outputs out of order");
        assert!(t <= end);
        last_t = t;
        match o {
            SimOutput::Vitals(v) => {
                // t = start + k * 1e9 / 60 exactly (integer arithmetic).
                assert_eq!(v.t_ns, START_NS + n_vitals * 1_000_000_000 / 60);
                assert!(last_vitals_t.is_none_or(|p| v.t_ns > p));
                last_vitals_t = Some(v.t_ns);
                n_vitals += 1;
            }
            SimOutput::Waveform(w) => {
                let c = w.channel as usize;
                assert_eq!(w.fs_hz, 250);
                assert_eq!(w.first, n_chunks[c] * CHUNK_LEN as u64);
                assert_eq!(w.t_ns, START_NS + w.first * 4_000_000);
                assert!(last_chunk_t[c].is_none_or(|p| w.t_ns > p));
                last_chunk_t[c] = Some(w.t_ns);
                n_chunks[c] += 1;
            }
        }
    }
    assert_eq!(n_vitals, 60 * secs);
    for (c, n) in n_chunks.iter().enumerate() {
        assert_eq!(*n * CHUNK_LEN as u64, 250 * secs, "channel {c}");
    }
    // The next output is the first of second 61, a vitals frame (tie → vitals first).
    assert_eq!(sim.peek_t_ns(), START_NS + secs * 1_000_000_000);
    assert!(matches!(sim.next_output(), SimOutput::Vitals(_)));
    for ch in Channel::ALL {
        match sim.next_output() {
            SimOutput::Waveform(w) => assert_eq!(w.channel, ch),
            other => panic!("expected {ch} chunk, got {other:?}"),
        }
    }
}

#[test]
fn advance_to_is_incremental() {
    // Many small advances give the same stream as one big one.
    let cfg = SimConfig::new(Scenario::Tachycardia, 3, START_NS);
    let whole = digest(cfg, 4);
    let mut sim = Simulator::new(cfg);
    let mut h = Fnv::new();
    let mut t = START_NS;
    while t < START_NS + 4_000_000_000 {
        t = (t + 7_777_777).min(START_NS + 4_000_000_000 - 1);
        for o in sim.advance_to(t) {
            h.output(&o);
        }
        if t == START_NS + 4_000_000_000 - 1 {
            break;
        }
    }
    assert_eq!(h.0, whole);
}

#[test]
fn vitals_always_within_transport_ranges() {
    // A property test over seeds × scenarios × artifact settings (60 s each
    // for the physiological scenarios, which covers every scripted event's
    // onset; faults share normal physiology).
    for (i, sc) in Scenario::ALL.into_iter().enumerate() {
        let secs = if sc.fault().is_some() { 15 } else { 75 };
        for seed in [0u64, 1, 0xDEAD_BEEF, u64::MAX - i as u64] {
            let mut cfg = SimConfig::new(sc, seed, START_NS);
            if seed == 1 {
                cfg.artifacts = Artifacts::NONE;
            }
            let mut sim = Simulator::new(cfg);
            for o in sim.advance_to(START_NS + secs * 1_000_000_000) {
                if let SimOutput::Vitals(v) = o {
                    let ctx = format!("{sc} seed {seed}: {v:?}");
                    assert!(v.hr_bpm <= 300, "{ctx}");
                    assert!(v.pulse_rate_bpm <= 300, "{ctx}");
                    assert!(v.spo2_pct <= 100, "{ctx}");
                    assert!(v.rr_rpm <= 150, "{ctx}");
                    let (s, d, m) = v.nibp;
                    assert!(s <= 300 && d <= 300 && m <= 300, "{ctx}");
                    assert!(d <= m && m <= s, "{ctx}");
                    assert!((25.0..=45.0).contains(&v.temp_c), "{ctx}");
                }
            }
        }
    }
}

#[test]
fn start_at_zero_and_far_future() {
    for start in [0u64, u64::MAX / 2] {
        let mut sim = Simulator::new(SimConfig::new(Scenario::Normal, 1, start));
        let first = sim.next_output();
        assert_eq!(first.t_ns(), start);
        assert!(sim.beats().all(|b| b.t_ns >= start));
    }
}
