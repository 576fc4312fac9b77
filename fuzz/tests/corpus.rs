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
    json_nesting,
    binary_payloads,
    slot_ops,
    handshake,
    request,
    status_page
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

/// The committed seed corpus is what `seeds::all()` makes (rerun `examples/seed_corpus.rs`).
#[test]
fn committed_seeds_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, name, bytes) in vitalring_fuzz::seeds::all() {
        let path = root.join(target).join(&name);
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(committed == bytes, "{} is stale", path.display());
    }
}

/// The nesting attack at the largest slot size (1 MiB, too big to commit as a seed): every
/// slot and JSON check of the fuzz targets, on a thread with a small stack.
#[test]
fn attacks_in_a_max_size_slot_on_a_small_stack() {
    use vitalring_core::layout::{Encoding, FrameType, MAX_FRAME_SIZE, SLOT_OVERHEAD};
    use vitalring_core::payload::{json::JsonError, PayloadError};
    use vitalring_fuzz::attack;
    let levels = (MAX_FRAME_SIZE as usize - SLOT_OVERHEAD - 64) / 2;
    let vitals = attack::nested_vitals(levels);
    let wave = attack::nested_waveform(levels);
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for (ft, payload) in [(FrameType::Vitals, &vitals), (FrameType::Waveform, &wave)] {
                let slot = attack::slot(ft, payload, Some(MAX_FRAME_SIZE as usize));
                vitalring_fuzz::slot_bytes(&slot);
                let got = vitalring_core::payload::decode(ft, Encoding::Json, payload);
                assert!(
                    matches!(got, Err(PayloadError::Json(JsonError::TooDeep { .. }))),
                    "{got:?}"
                );
            }
            vitalring_fuzz::json_vitals(&vitals);
            vitalring_fuzz::json_waveform(&wave);
        })
        .unwrap()
        .join()
        .expect("no check fails and nothing overflows");
}
