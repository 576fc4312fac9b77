//! Clinical plausibility, measured from the outputs alone the way an ECG
//! reader or a bedside monitor would: intervals on averaged beats at 40, 72
//! and 150 bpm, heart-rate variability, atrial fibrillation's rate, pulse
//! deficit and pulse-amplitude variability, the pleth's shape and steps, and
//! motion on respiration. Ranges are the published normal ones (see
//! `docs/simulator.md`).

mod common;

use common::{delineate, pan_tompkins, prominent_peaks, rate_at, run, sd_rmssd, template, Run, FS};
use vitalring_sim::Scenario;

/// Detected R peaks (sample indices) within `[from, to)` seconds.
fn peaks_in(r: &Run, from: f64, to: f64) -> Vec<usize> {
    pan_tompkins(&r.ecg, FS)
        .into_iter()
        .filter(|&i| (from..to).contains(&(i as f64 / FS)))
        .collect()
}

fn mean_rr_s(peaks: &[usize]) -> f64 {
    (peaks[peaks.len() - 1] - peaks[0]) as f64 / FS / (peaks.len() - 1) as f64
}

#[test]
fn ecg_intervals_are_normal_at_40_72_and_150_bpm() {
    let mut qtc = Vec::new();
    for (sc, bpm, from, to) in [
        (Scenario::Bradycardia, 40.0, 35.0, 90.0),
        (Scenario::Normal, 72.0, 5.0, 60.0),
        (Scenario::Tachycardia, 150.0, 45.0, 75.0),
    ] {
        for seed in [21, 22, 23] {
            let r = run(sc, seed, to);
            let peaks = peaks_in(&r, from, to);
            let rr = mean_rr_s(&peaks);
            assert!((60.0 / rr - bpm).abs() < 4.0, "{sc}: {} bpm", 60.0 / rr);
            let d = delineate(&template(&r.ecg, &peaks, FS), FS, rr);
            let qtc_f = d.qtc_fridericia_ms(rr);
            eprintln!(
                "{sc} seed {seed} ({:.0} bpm): PR {:.0} ms, QRS {:.0} ms, QT {:.0} ms, QTcF {qtc_f:.0} ms, P {:.0} uV, R {:.0} uV",
                60.0 / rr,
                d.pr_ms(),
                d.qrs_ms(),
                d.qt_ms(),
                d.p_uv,
                d.r_uv
            );
            // Normal adult ranges: PR 120–200 ms, QRS 60–110 ms, P ≤ 0.25 mV in II.
            assert!((120.0..=200.0).contains(&d.pr_ms()), "{sc}: PR {d:?}");
            assert!((60.0..=110.0).contains(&d.qrs_ms()), "{sc}: QRS {d:?}");
            assert!((50.0..=250.0).contains(&d.p_uv), "{sc}: P {d:?}");
            if bpm < 100.0 {
                assert!((350.0..=450.0).contains(&qtc_f), "{sc}: QTcF {qtc_f}");
                qtc.push(qtc_f);
            }
        }
    }
    // QT follows the rate the way Fridericia's correction says it does.
    let (lo, hi) = qtc
        .iter()
        .fold((f64::MAX, f64::MIN), |a, &q| (a.0.min(q), a.1.max(q)));
    assert!(hi - lo <= 30.0, "QTcF spread {lo:.0}–{hi:.0} ms");
}

#[test]
fn sinus_rhythm_has_normal_short_term_hrv() {
    for seed in [31, 32, 33] {
        let r = run(Scenario::Normal, seed, 66.0);
        let peaks = peaks_in(&r, 5.0, 66.0);
        let nn: Vec<f64> = peaks
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / FS * 1e3)
            .collect();
        let (sdnn, rmssd) = sd_rmssd(&nn);
        let cv = sdnn / (nn.iter().sum::<f64>() / nn.len() as f64);
        eprintln!("seed {seed}: SDNN {sdnn:.1} ms, RMSSD {rmssd:.1} ms, CV {cv:.3}");
        assert!((20.0..=100.0).contains(&sdnn), "SDNN {sdnn}");
        assert!((15.0..=60.0).contains(&rmssd), "RMSSD {rmssd}");
        assert!(cv < 0.08, "sinus RR CV {cv}");
    }
}

#[test]
fn atrial_fibrillation_reads_its_mean_rate_from_the_start() {
    const MEAN: f64 = 110.0;
    for seed in 1..=8 {
        let r = run(Scenario::Afib, seed, 60.0);
        let first = r.vitals[0].hr_bpm;
        assert_eq!(f64::from(first), MEAN, "seed {seed}: first frame");
        let early: Vec<f64> = r
            .vitals
            .iter()
            .filter(|v| Run::vt(v) < 5.0)
            .map(|v| f64::from(v.hr_bpm))
            .collect();
        let early_mean = early.iter().sum::<f64>() / early.len() as f64;
        assert!(
            (early_mean - MEAN).abs() <= 10.0,
            "seed {seed}: mean HR over the first 5 s {early_mean:.1}"
        );
        for v in &r.vitals {
            let hr = f64::from(v.hr_bpm);
            assert!(
                (hr - MEAN).abs() <= 25.0,
                "seed {seed}: HR {hr} at {:.2} s",
                Run::vt(v)
            );
        }
        // Every frame equals the documented 8-interval average of the beats
        // an independent detector finds (frames within 10 ms of a detected
        // beat are skipped: the detector's 4 ms grid may put it either side).
        let det: Vec<f64> = pan_tompkins(&r.ecg, FS)
            .into_iter()
            .map(|i| i as f64 / FS)
            .collect();
        for v in r.vitals.iter().filter(|v| Run::vt(v) > 6.0) {
            let t = Run::vt(v);
            if det.iter().any(|&b| (b - t).abs() < 0.010) {
                continue;
            }
            let d = rate_at(&det, t).unwrap();
            assert!(
                (f64::from(v.hr_bpm) - d).abs() <= 1.0,
                "seed {seed}: vitals HR {} vs detected {d:.1} at {t:.3} s",
                v.hr_bpm
            );
        }
    }
}

/// Pleth pulses: (peak index, amplitude above the preceding trough).
fn pleth_pulses(r: &Run, from: f64) -> Vec<(usize, i32)> {
    prominent_peaks(&r.pleth, 150, (0.25 * FS) as usize)
        .into_iter()
        .filter(|&i| i as f64 / FS >= from)
        .map(|i| {
            let lo = r.pleth[i.saturating_sub((0.35 * FS) as usize)..i]
                .iter()
                .min()
                .copied()
                .unwrap_or(0);
            (i, r.pleth[i] - lo)
        })
        .collect()
}

fn cv(v: &[f64]) -> f64 {
    let (sd, _) = sd_rmssd(v);
    sd / (v.iter().sum::<f64>() / v.len() as f64)
}

#[test]
fn atrial_fibrillation_has_a_pulse_deficit_and_varying_pulses() {
    for seed in [41, 42, 43] {
        let r = run(Scenario::Afib, seed, 60.0);
        let beats = r
            .beats
            .iter()
            .filter(|&&b| (2.0..59.0).contains(&b))
            .count();
        let pulses = pleth_pulses(&r, 2.2);
        let amps: Vec<f64> = pulses.iter().map(|p| f64::from(p.1)).collect();
        let deficit = 1.0 - pulses.len() as f64 / beats as f64;
        let amp_cv = cv(&amps);
        let mean = |f: fn(&vitalring_sim::Vitals) -> u16| {
            r.vitals.iter().map(|v| f64::from(f(v))).sum::<f64>() / r.vitals.len() as f64
        };
        let (hr, pr) = (mean(|v| v.hr_bpm), mean(|v| v.pulse_rate_bpm));
        eprintln!(
            "seed {seed}: {beats} beats, {} pulses (deficit {:.1} %), amplitude CV {amp_cv:.3}, HR {hr:.1}, pulse rate {pr:.1}",
            pulses.len(),
            deficit * 100.0
        );
        assert!(deficit >= 0.05, "pulse deficit {deficit}");
        assert!(pr <= hr - 3.0, "pulse rate {pr} vs HR {hr}");
        assert!(amp_cv >= 0.10, "AF pulse amplitude CV {amp_cv}");
    }
    // In sinus rhythm every beat has a pulse and the amplitude is steadier.
    let r = run(Scenario::Normal, 41, 60.0);
    let beats = r
        .beats
        .iter()
        .filter(|&&b| (2.0..59.0).contains(&b))
        .count();
    let pulses = pleth_pulses(&r, 2.2);
    assert!(
        pulses.len() + 1 >= beats,
        "{} pulses, {beats} beats",
        pulses.len()
    );
    let amps: Vec<f64> = pulses.iter().map(|p| f64::from(p.1)).collect();
    assert!(cv(&amps) < 0.10, "sinus pulse amplitude CV {}", cv(&amps));
}

/// Largest sample-to-sample pleth change.
fn max_step(x: &[i32]) -> i32 {
    x.windows(2).map(|w| (w[1] - w[0]).abs()).max().unwrap()
}

#[test]
fn pleth_has_no_unphysiological_steps() {
    let normal = max_step(&run(Scenario::Normal, 51, 40.0).pleth);
    for sc in [
        Scenario::Asystole,
        Scenario::Afib,
        Scenario::Tachycardia,
        Scenario::Bradycardia,
    ] {
        let r = run(sc, 51, 60.0);
        let step = max_step(&r.pleth);
        eprintln!("{sc}: largest pleth step {step} (normal {normal})");
        assert!(step <= 2 * normal, "{sc}: step {step} vs normal {normal}");
    }
    // Asystole: the last pulse decays, no cut.
    let r = run(Scenario::Asystole, 51, 30.0);
    let last = *r.beats.last().unwrap();
    let from = ((last + 0.2) * FS) as usize;
    let tail = &r.pleth[from..from + (3.0 * FS) as usize];
    assert!(
        max_step(tail) <= normal,
        "asystole onset step {}",
        max_step(tail)
    );
}

#[test]
fn pleth_decays_through_diastole() {
    // Fraction of each cycle (foot to foot) within 3 % of the pulse height of
    // the cycle's floor: a flat baseline would be ≥ 20 %.
    for (sc, from, to) in [
        (Scenario::Normal, 2.0, 30.0),
        (Scenario::Bradycardia, 35.0, 60.0),
        (Scenario::Tachycardia, 45.0, 60.0),
    ] {
        let r = run(sc, 52, to);
        let feet: Vec<f64> = r
            .beats
            .iter()
            .map(|b| b + 0.2)
            .filter(|&f| f >= from && f < to - 2.0)
            .collect();
        let mut worst: f64 = 0.0;
        for w in feet.windows(2) {
            let c = &r.pleth[(w[0] * FS) as usize..(w[1] * FS) as usize];
            let lo = *c.iter().min().unwrap();
            let hi = *c.iter().max().unwrap();
            let near = c
                .iter()
                .filter(|&&v| f64::from(v - lo) < 0.03 * f64::from(hi - lo))
                .count();
            worst = worst.max(near as f64 / c.len() as f64);
        }
        eprintln!(
            "{sc}: at most {:.1} % of a cycle on the floor",
            worst * 100.0
        );
        assert!(worst <= 0.15, "{sc}: {worst}");
    }
}

#[test]
fn motion_disturbs_respiration_too() {
    let clean = run(Scenario::Normal, 61, 30.0);
    let moving = run(Scenario::Motion, 61, 30.0);
    let peak = clean
        .resp
        .iter()
        .zip(&moving.resp)
        .map(|(a, b)| (b - a).abs())
        .max()
        .unwrap();
    assert!(peak > 500, "motion artifact on respiration {peak} mOhm");
    // The true breaths (and so the RR vital) are unchanged.
    assert_eq!(clean.vitals, moving.vitals);
}
