//! Prints a simulation run as text, for eyeballing and plotting.
//!
//! ```text
//! cargo run -p vitalring-sim --example simdump -- [SCENARIO] [SEED] [SECONDS] [--csv | --vitals-csv]
//! ```
//!
//! Without a flag: one vitals line per simulated second. With `--csv`: one
//! line per 250 Hz sample, `t_s,ecg_uv,pleth,resp_mohm`. With `--vitals-csv`:
//! one line per 60 Hz vitals frame, `t_s,hr,pulse_rate,spo2,rr`.

use vitalring_sim::{Channel, Scenario, SimConfig, SimOutput, Simulator};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let csv = args.iter().any(|a| a == "--csv");
    let vitals_csv = args.iter().any(|a| a == "--vitals-csv");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let scenario: Scenario = match pos.first().map(|s| s.parse()) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("simdump: {e}");
            std::process::exit(2);
        }
        None => Scenario::Normal,
    };
    let seed: u64 = pos.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let secs: u64 = pos.get(2).and_then(|s| s.parse().ok()).unwrap_or(30);

    let mut sim = Simulator::new(SimConfig::new(scenario, seed, 0));
    let mut chunk = [[0i32; vitalring_sim::CHUNK_LEN]; 3];
    if csv {
        println!("t_s,ecg_uv,pleth,resp_mohm");
    } else if vitals_csv {
        println!("t_s,hr,pulse_rate,spo2,rr");
    }
    for out in sim.advance_to(secs * 1_000_000_000 - 1) {
        match out {
            SimOutput::Vitals(v) if vitals_csv => println!(
                "{:.6},{},{},{},{}",
                v.t_ns as f64 * 1e-9,
                v.hr_bpm,
                v.pulse_rate_bpm,
                v.spo2_pct,
                v.rr_rpm
            ),
            SimOutput::Vitals(v) if !csv && !vitals_csv && v.t_ns % 1_000_000_000 == 0 => println!(
                "t={:>4}s HR {:>3} PR {:>3} SpO2 {:>3} RR {:>3} NIBP {}/{} ({}) T {:.2}",
                v.t_ns / 1_000_000_000,
                v.hr_bpm,
                v.pulse_rate_bpm,
                v.spo2_pct,
                v.rr_rpm,
                v.nibp.0,
                v.nibp.1,
                v.nibp.2,
                v.temp_c
            ),
            SimOutput::Waveform(w) if csv => {
                // Chunks of one sample range arrive together: ECG, pleth, resp.
                let c = Channel::ALL
                    .iter()
                    .position(|&c| c == w.channel)
                    .unwrap_or(0);
                chunk[c] = w.samples;
                if w.channel == Channel::Resp {
                    for (i, ((e, p), r)) in
                        chunk[0].iter().zip(&chunk[1]).zip(&chunk[2]).enumerate()
                    {
                        let t = (w.first + i as u64) as f64 / 250.0;
                        println!("{t:.3},{e},{p},{r}");
                    }
                }
            }
            _ => {}
        }
    }
}
