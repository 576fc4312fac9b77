//! Replays the committed seed corpus and every regression input through the fuzz checks on
//! stable Rust: `cargo test` from `fuzz/`.

use std::path::Path;

fn replay(dir: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for sub in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub).join(dir)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            println!("{}", path.display());
            check(&bytes);
            n += 1;
        }
    }
    n
}

macro_rules! replay_tests {
    ($($t:ident),+) => {$(
        #[test]
        fn $t() {
            assert!(replay(stringify!($t), vitalring_fuzz::$t) > 0, "no inputs for {}", stringify!($t));
        }
    )+};
}

replay_tests!(
    slot_bytes,
    header_bytes,
    json_vitals,
    json_waveform,
    binary_payloads,
    slot_ops,
    handshake
);

#[test]
fn seeds_are_valid_inputs_of_their_targets() {
    use vitalring_core::frame::SlotView;
    for (target, name, bytes) in vitalring_fuzz::seeds::all() {
        if target == "slot_bytes" {
            assert!(SlotView::new_checked(&bytes, None).is_ok(), "{name}");
        }
    }
}
