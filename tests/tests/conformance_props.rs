//! Property test of the slot protocol: arbitrary interleavings of writer steps, faults and
//! reader polls (a single-threaded simulation over a mock region, `vitalring_mock::model`)
//! keep the accounting invariant and never deliver a frame whose content differs from what
//! the writer committed for its index.

use proptest::prelude::*;
use vitalring_mock::model::{ModelConfig, ModelStats, Op, Scenario};

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u32>(), any::<bool>()).prop_map(|(seed, binary)| Op::Vitals { seed, binary }),
        2 => (any::<u32>(), any::<u8>(), any::<bool>())
            .prop_map(|(seed, samples, binary)| Op::Waveform { seed, samples, binary }),
        1 => Just(Op::Heartbeat),
        1 => (any::<u8>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(frame_type, binary, payload)| Op::Raw { frame_type, binary, payload }),
        1 => (any::<u8>(), prop_oneof![
                Just(br#"{"hr":301,"spo2":9,"rr":1}"#.to_vec()),
                Just(br#"{"hr":30,"spo2":9,"rr":1}"#.to_vec()),
                Just(br#"{"hr":30,"spo2":9"#.to_vec()),
            ])
            .prop_map(|(frame_type, payload)| Op::Raw { frame_type: frame_type % 3 * 3, binary: false, payload }),
        2 => (any::<u8>(), any::<u16>(), any::<u8>())
            .prop_map(|(back, offset, bit)| Op::FlipBit { back, offset, bit }),
        1 => (any::<u8>(), any::<u16>(), any::<u32>())
            .prop_map(|(back, word, value)| Op::PokeWord { back, word, value }),
        1 => any::<bool>().prop_map(|advance| Op::TornWrite { advance }),
        1 => any::<u8>().prop_map(|frames| Op::Burst { frames }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(offset, bit)| Op::FlipHeaderBit { offset, bit }),
        1 => (prop_oneof![Just(64u32), Just(128), Just(256), any::<u32>()],
              prop_oneof![Just(1u32), Just(2), Just(4), any::<u32>()], any::<bool>())
            .prop_map(|(frame_size, frame_count, fix_crc)| Op::RewriteGeometry { frame_size, frame_count, fix_crc }),
        5 => any::<u8>().prop_map(|times| Op::Poll { times }),
        1 => Just(Op::Drain),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        (0u8..4, any::<u8>(), any::<bool>()),
        prop::collection::vec(op(), 0..120),
    )
        .prop_map(|((size, count, oldest), ops)| Scenario {
            config: ModelConfig {
                size,
                count,
                oldest,
            },
            ops,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 1000 }))]

    #[test]
    fn interleavings_keep_accounting_and_deliver_only_committed_frames(s in scenario()) {
        if let Err(v) = s.run() {
            return Err(TestCaseError::fail(format!("{v}")));
        }
    }
}

/// The generator reaches every outcome the oracle distinguishes (so the property above is not
/// vacuous).
#[test]
fn generated_scenarios_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut total = ModelStats::default();
    for _ in 0..200 {
        let s = scenario().new_tree(&mut runner).unwrap().current();
        let st = s.run().unwrap();
        total.published += st.published;
        total.delivered += st.delivered;
        total.lapped += st.lapped;
        total.overwritten += st.overwritten;
        total.rejected += st.rejected;
        total.faults += st.faults;
        total.faults_skipped += st.faults_skipped;
    }
    assert!(total.delivered > 100, "{total:?}");
    assert!(
        total.lapped > 0 && total.overwritten > 0 && total.rejected > 0,
        "{total:?}"
    );
    assert!(total.faults > 0, "{total:?}");
}
