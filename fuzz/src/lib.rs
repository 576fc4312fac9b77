//! The checks behind every fuzz target, as plain functions: each `fuzz_targets/<name>.rs`
//! calls the function of the same name, and `tests/corpus.rs` replays the committed seed
//! corpus and every regression input through them on stable Rust (no libFuzzer needed).
//!
//! Every function panics if, and only if, it finds a bug.

use arbitrary::{Arbitrary, Unstructured};
use vitalring_core::frame::{self, FrameMeta, SlotView};
use vitalring_core::layout::{
    header_crc, Encoding, FrameType, RingHeader, HEADER_SIZE, MAGIC, VERSION,
};
use vitalring_core::payload::{self, binary, json, Record, MAX_ENCODED_LEN};
use vitalring_core::vitals::{VitalsRecord, WaveformChunk};
use vitalring_mock::model::Scenario;
use zerocopy::IntoBytes;

pub mod nesting;

/// Most operations one `slot_ops` input may run (keeps executions fast).
pub const MAX_OPS: usize = 256;

fn encode(record: &Record, enc: Encoding) -> Vec<u8> {
    let mut buf = [0u8; MAX_ENCODED_LEN];
    let len = payload::encode(record, enc, &mut buf)
        .unwrap_or_else(|e| panic!("a decoded record must re-encode: {e} ({record:?})"));
    buf[..len].to_vec()
}

/// Checks that `record` (decoded from `bytes` in `enc`) is valid and survives a re-encode;
/// binary payloads must re-encode to exactly the same bytes.
fn check_record(record: &Record, enc: Encoding, bytes: &[u8]) {
    match record {
        Record::Vitals(v) => assert_eq!(v.validate(), Ok(()), "delivered invalid vitals"),
        Record::Waveform(w) => assert_eq!(w.validate(), Ok(()), "delivered invalid waveform"),
        Record::Heartbeat => return,
    }
    let again = encode(record, enc);
    let back = payload::decode(record.frame_type(), enc, &again)
        .unwrap_or_else(|e| panic!("re-encoded record does not decode: {e}"));
    assert_eq!(&back, record, "decode(encode(r)) != r");
    if enc == Encoding::Binary {
        assert_eq!(
            again, bytes,
            "binary payload does not re-encode byte for byte"
        );
    }
}

/// `slot_bytes`: the whole input is one slot. Checked with and without an expected index; a
/// slot that passes and decodes re-encodes to a slot that passes and decodes the same. The
/// input is checked twice: as it is, and with `commit` and the CRC fixed up (with an
/// independent CRC-32) so the fuzzer reaches the checks behind the CRC.
pub fn slot_bytes(data: &[u8]) {
    check_slot(data);
    let f = data.len();
    if f >= 64 && f.is_multiple_of(8) {
        let mut fixed = data.to_vec();
        let seq = u64::from(u32::from_le_bytes([data[16], data[17], data[18], data[19]]));
        fixed[4..8].copy_from_slice(&frame::committed_word(seq).to_le_bytes());
        fixed[f - 8..f - 4].fill(0);
        let crc = crc32fast::hash(&fixed[..f - 4]);
        fixed[f - 8..f - 4].copy_from_slice(&crc.to_le_bytes());
        check_slot(&fixed);
    }
}

fn check_slot(data: &[u8]) {
    let index = data
        .get(16..20)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])));
    for expected in [None, index, index.map(|i| i | 1 << 32)] {
        let Ok(view) = SlotView::new_checked(data, expected) else {
            continue;
        };
        assert!(view.payload.len() <= data.len() - 32);
        let Ok(record) = payload::decode(view.meta.frame_type, view.meta.encoding, view.payload)
        else {
            continue;
        };
        check_record(&record, view.meta.encoding, view.payload);
        // Re-encode the whole slot: it passes the same checks and carries the same record.
        let again = if record == Record::Heartbeat {
            view.payload.to_vec()
        } else {
            encode(&record, view.meta.encoding)
        };
        let mut slot = vec![0u8; data.len()];
        frame::encode_slot(view.index, view.meta, &again, &mut slot)
            .expect("a re-encoded payload fits the slot it came from");
        let v2 = SlotView::new_checked(&slot, Some(view.index)).expect("re-encoded slot is valid");
        assert_eq!(v2.meta, view.meta);
        assert_eq!(
            payload::decode(v2.meta.frame_type, v2.meta.encoding, v2.payload).as_ref(),
            Ok(&record)
        );
        if view.meta.encoding == Encoding::Binary || record == Record::Heartbeat {
            // Readers never read the tail (past the payload, before the CRC): a non-zero one
            // that still passed the CRC carries nothing, so compare with it zeroed.
            let mut clean = data.to_vec();
            let f = clean.len();
            clean[24 + view.payload.len()..f - 8].fill(0);
            assert_eq!(slot, clean, "binary slot does not re-encode byte for byte");
        }
    }
}

/// `header_bytes`: the input is a header (and the region length is the one its geometry
/// implies, or the input length). A header that passes is internally consistent. Checked as
/// it is and with its CRC fixed up, so the checks behind the CRC are reached too.
pub fn header_bytes(data: &[u8]) {
    check_header(data);
    if data.len() >= HEADER_SIZE {
        let mut fixed = data.to_vec();
        let mut covered = fixed[..16].to_vec();
        covered.extend_from_slice(&fixed[36..HEADER_SIZE]);
        fixed[32..36].copy_from_slice(&crc32fast::hash(&covered).to_le_bytes());
        check_header(&fixed);
    }
}

fn check_header(data: &[u8]) {
    let implied = data.get(8..16).map(|s| {
        let fs = u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        let fc = u64::from(u32::from_le_bytes([s[4], s[5], s[6], s[7]]));
        usize::try_from((HEADER_SIZE as u64).saturating_add(fs.saturating_mul(fc)))
            .unwrap_or(usize::MAX)
    });
    for len in [Some(data.len()), implied].into_iter().flatten() {
        if let Ok(checked) = RingHeader::new_checked(data, len) {
            let (h, g) = (*checked.header(), checked.geometry());
            assert_eq!(h.magic, MAGIC);
            assert_eq!(h.version, VERSION);
            assert_eq!(header_crc(&h), h.crc32);
            assert_ne!(h.epoch, 0);
            assert_eq!(g.region_len(), len);
            assert_eq!(
                (g.frame_size(), g.frame_count()),
                (h.frame_size_bytes, h.frame_count)
            );
            assert!(g.frame_count().is_power_of_two() && g.frame_size() % 8 == 0);
            assert_eq!(h.as_bytes(), &data[..HEADER_SIZE]);
        }
    }
}

/// `json_vitals`: arbitrary bytes as a JSON vitals payload. Whatever is delivered is what
/// serde_json reads from the same bytes, and the canonical fast path agrees with the general
/// decoder wherever it accepts.
pub fn json_vitals(data: &[u8]) {
    nesting::agrees_with_serde_json(FrameType::Vitals, data);
    // The canonical fast path never reads a record the general decoder would not.
    if let Some(fast) = json::canonical::decode_vitals(data) {
        assert_eq!(json::decode_vitals_general(data), Ok(fast));
    }
    if let Ok(v) = json::decode_vitals(data) {
        // The raw parse may hold out-of-range values; `payload::decode` must refuse those.
        let full = payload::decode(FrameType::Vitals, Encoding::Json, data);
        match v.validate() {
            Ok(()) => {
                assert_eq!(full, Ok(Record::Vitals(v)));
                check_record(&Record::Vitals(v), Encoding::Json, data);
            }
            Err(field) => assert_eq!(full, Err(payload::PayloadError::Range(field))),
        }
    } else {
        assert!(payload::decode(FrameType::Vitals, Encoding::Json, data).is_err());
    }
}

/// `json_waveform`: arbitrary bytes as a JSON waveform payload. Whatever is delivered is what
/// serde_json reads from the same bytes.
pub fn json_waveform(data: &[u8]) {
    nesting::agrees_with_serde_json(FrameType::Waveform, data);
    if let Ok(w) = json::decode_waveform(data) {
        let full = payload::decode(FrameType::Waveform, Encoding::Json, data);
        match w.validate() {
            Ok(()) => {
                assert_eq!(full.as_ref(), Ok(&Record::Waveform(w.clone())));
                check_record(&Record::Waveform(w), Encoding::Json, data);
            }
            Err(field) => assert_eq!(full, Err(payload::PayloadError::Range(field))),
        }
    } else {
        assert!(payload::decode(FrameType::Waveform, Encoding::Json, data).is_err());
    }
}

/// `json_nesting`: the input drives [`nesting::render`], a generator of well-formed JSON
/// documents of any depth (up to a whole maximum slot) and shape, with the record's keys,
/// unknown keys, duplicates and escapes; [`nesting::check_document`] holds both decoders to
/// the depth and key rules and to serde_json's reading.
pub fn json_nesting(data: &[u8]) {
    let Ok(input) = nesting::NestInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    if let Some((doc, shape)) = nesting::render(&input) {
        nesting::check_document(&doc, &shape);
    }
}

/// `binary_payloads`: the first byte picks vitals or waveform, the rest is the payload.
pub fn binary_payloads(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let (ft, raw): (FrameType, Result<Record, _>) = if which & 1 == 0 {
        (
            FrameType::Vitals,
            binary::decode_vitals(bytes).map(Record::Vitals),
        )
    } else {
        (
            FrameType::Waveform,
            binary::decode_waveform(bytes).map(Record::Waveform),
        )
    };
    let full = payload::decode(ft, Encoding::Binary, bytes);
    match (raw, &full) {
        (Ok(r), Ok(f)) => {
            assert_eq!(&r, f);
            check_record(f, Encoding::Binary, bytes);
        }
        (Ok(r), Err(e)) => assert!(e.is_range(), "parsed {r:?} but decode said {e:?}"),
        (Err(e), Err(f)) => assert_eq!(e, *f),
        (Err(e), Ok(f)) => panic!("raw parse failed ({e:?}) but decode gave {f:?}"),
    }
}

/// `slot_ops`: an arbitrary [`Scenario`] (ring shape, lap policy, up to [`MAX_OPS`] writer
/// steps, faults and reader polls) run against the model's oracle.
pub fn slot_ops(data: &[u8]) {
    let Ok(mut scenario) = Scenario::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    scenario.ops.truncate(MAX_OPS);
    if let Err(v) = scenario.run() {
        panic!("slot protocol violation: {v}\n{scenario:?}");
    }
}

/// `handshake`: the input is a client `Hello` and, independently, a server `ControlMessage`
/// (both parsers are pure). Whatever parses is internally consistent and re-serialises to the
/// bytes it came from.
pub fn handshake(data: &[u8]) {
    use vitalring_linux::wire::{self, ControlMessage, Hello, Status, CONTROL_SIZE, HELLO_SIZE};
    let prefix_ok = Hello::check_prefix(data).is_ok();
    if let Ok(h) = Hello::parse(data) {
        assert!(prefix_ok, "parse accepted what check_prefix refused");
        assert_eq!(&h.to_bytes()[..], &data[..HELLO_SIZE]);
        assert!(wire::valid_channel(h.channel_str()), "{h:?}");
        assert_eq!(h.token_bytes().len(), h.token_len as usize);
        let again = Hello::new(
            h.channel_str(),
            Some(h.token_bytes()).filter(|t| !t.is_empty()),
        )
        .expect("a parsed hello can be rebuilt");
        let again = if h.wants_status_page() {
            again.with_status_page()
        } else {
            again
        };
        assert_eq!(again.to_bytes(), h.to_bytes());
    }
    if let Ok(m) = ControlMessage::parse(data) {
        assert_eq!(&m.to_bytes()[..], &data[..CONTROL_SIZE]);
        if m.status() == Status::Ok {
            let g = m.geometry().expect("an ok reply has a valid geometry");
            assert_eq!(m.ring_buffer_size, g.region_len() as u64);
            assert_ne!(m.epoch, 0);
            let ok = ControlMessage::ok(g, m.epoch);
            let ok = if m.has_status_page() {
                ok.with_status_page()
            } else {
                ok
            };
            assert_eq!(ok, m);
        } else {
            assert!(!m.has_status_page(), "a status page only comes with a ring");
        }
    }
}

/// `request`: the input is, independently, a request (what a client sends a producer), a reply
/// (what a producer sends back) and a `describe`/`stats` JSON body. Every parser is pure; what
/// parses is internally consistent and re-serialises to the bytes it came from.
pub fn request(data: &[u8]) {
    use vitalring_linux::request::{
        parse_describe, parse_reply, parse_stats, request_len, Answer, Request, RequestKind,
        REPLY_HEADER_SIZE,
    };
    let len = request_len(data);
    if let Ok(r) = Request::parse(data) {
        let bytes = r.to_bytes();
        assert_eq!(
            len,
            Some(Ok(bytes.len())),
            "request_len disagrees with parse"
        );
        assert_eq!(&bytes[..], &data[..bytes.len()]);
        assert!(vitalring_linux::wire::valid_channel(r.channel()));
        let words: Vec<&str> = r.words().iter().map(String::as_str).collect();
        assert_eq!(words.is_empty(), r.kind != RequestKind::Command);
        let token = Some(r.token_bytes()).filter(|t| !t.is_empty());
        let again = Request::new(r.kind, r.channel(), token, &words)
            .expect("a parsed request can be rebuilt");
        assert_eq!(again, r);
    }
    if let Some(Ok(n)) = len {
        assert!(n <= vitalring_linux::request::MAX_REQUEST);
    }
    match parse_reply(data) {
        Ok(Answer::Reply(r)) => {
            if data.get(0..4) == Some(b"VRRP") {
                let b = r.to_bytes();
                assert_eq!(b.len(), REPLY_HEADER_SIZE + r.body.len());
                assert_eq!(&b[..], &data[..b.len()]);
            }
        }
        Ok(Answer::NeedMore(n)) => assert!(n > data.len(), "asked for bytes it already had"),
        Err(_) => {}
    }
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(d) = parse_describe(text) {
            let again = serde_json::to_string(&d).unwrap();
            assert_eq!(parse_describe(&again).ok(), Some(d));
        }
        let _ = parse_stats(text);
    }
}

/// `status_page`: the input is a reader's status page as the producer reads it (a hostile
/// reader writes any bytes). The parser never panics, accepts exactly the pages with the right
/// magic, version and a known mode, and reports their fields as written.
pub fn status_page(data: &[u8]) {
    use vitalring_core::wake::{parse_status, StatusError, STATUS_LEN, STATUS_MAGIC};
    let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let quad = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[i..i + 8]);
        u64::from_le_bytes(b)
    };
    match parse_status(data) {
        Ok(s) => {
            assert!(data.len() >= STATUS_LEN);
            assert_eq!(word(0), STATUS_MAGIC);
            assert_eq!(word(4), 1);
            assert_eq!(s.asleep, word(8) != 0);
            assert_eq!(s.sleeps, word(16) == 1);
            assert_eq!(
                (
                    s.position,
                    s.delivered,
                    s.dropped,
                    s.rejected,
                    s.heartbeat.0
                ),
                (quad(64), quad(72), quad(80), quad(88), quad(96))
            );
        }
        Err(StatusError::Length(n)) => assert!(n < STATUS_LEN && n == data.len()),
        Err(StatusError::Magic(m)) => assert_ne!(m, STATUS_MAGIC),
        Err(StatusError::Version(v)) => assert_ne!(v, 1),
        Err(StatusError::Mode(m)) => assert!(m > 1),
    }
}

/// The hostile payloads a rogue producer sent, as regression inputs and for tests.
pub mod attack {
    use super::*;

    /// Levels of the nesting attack: enough to overflow a 2 MiB reader thread's stack in a
    /// recursive parser; needs a slot of about 80 KiB.
    pub const LEVELS: usize = 40_000;

    /// A second `hr` any standard JSON parser sees (`"h\u0072"`, 400).
    pub const ESCAPED_DUPLICATE_VITALS: &[u8] = br#"{"hr":72,"spo2":98,"rr":16,"h\u0072":400}"#;

    /// The same trick on a waveform's sample rate.
    pub const ESCAPED_DUPLICATE_WAVEFORM: &[u8] =
        br#"{"ch":"pleth","fs":250,"first":0,"samples":[1,2],"f\u0073":2000}"#;

    /// Valid vitals with `levels` nested arrays under the unknown key `x`.
    pub fn nested_vitals(levels: usize) -> Vec<u8> {
        nested(r#"{"hr":72,"spo2":98,"rr":16,"x":"#, levels)
    }

    /// A valid waveform chunk with `levels` nested arrays under the unknown key `x`.
    pub fn nested_waveform(levels: usize) -> Vec<u8> {
        nested(
            r#"{"ch":"pleth","fs":250,"first":0,"samples":[1,2],"x":"#,
            levels,
        )
    }

    fn nested(prefix: &str, levels: usize) -> Vec<u8> {
        let mut p = prefix.as_bytes().to_vec();
        p.extend(std::iter::repeat_n(b'[', levels));
        p.extend(std::iter::repeat_n(b']', levels));
        p.push(b'}');
        p
    }

    /// A committed JSON slot carrying `payload`, `frame_size` bytes or the smallest that fits.
    pub fn slot(frame_type: FrameType, payload: &[u8], frame_size: Option<usize>) -> Vec<u8> {
        let f = frame_size
            .unwrap_or((payload.len() + vitalring_core::layout::SLOT_OVERHEAD).next_multiple_of(8));
        let meta = FrameMeta {
            frame_type,
            encoding: Encoding::Json,
            timestamp: vitalring_core::time::UnixNs(1_700_000_000_000_000_000),
        };
        let mut slot = vec![0u8; f];
        frame::encode_slot(41, meta, payload, &mut slot).expect("payload fits its slot");
        slot
    }
}

/// Valid inputs of each target, for the seed corpus (see `examples/seed_corpus.rs`).
pub mod seeds {
    use super::*;
    use vitalring_core::layout::DEFAULT_FRAME_SIZE;
    use vitalring_core::vitals::{Channel, Nibp};
    use vitalring_core::Geometry;

    /// A vitals record with every field.
    pub fn vitals() -> VitalsRecord {
        VitalsRecord {
            hr_bpm: 72,
            spo2_pct: 98,
            rr_rpm: 14,
            nibp: Some(Nibp {
                systolic_mmhg: 120,
                diastolic_mmhg: 80,
                mean_mmhg: 93,
            }),
            temp_c: Some(36.75),
            pulse_rate_bpm: Some(71),
        }
    }

    /// A 10-sample ECG chunk.
    pub fn waveform() -> WaveformChunk {
        WaveformChunk {
            channel: Channel::EcgII,
            fs_hz: 250,
            first: 1200,
            samples: heapless_vec(&[12, -40, 880, 1204, 300, -75, -20, 0, 5, 9]),
        }
    }

    fn heapless_vec(s: &[i32]) -> heapless::Vec<i32, { vitalring_core::vitals::MAX_SAMPLES }> {
        heapless::Vec::from_slice(s).expect("at most 128 samples")
    }

    /// Named seed inputs per target: `(target, name, bytes)`.
    pub fn all() -> Vec<(&'static str, String, Vec<u8>)> {
        let mut out = Vec::new();
        let records = [
            ("vitals", Record::Vitals(vitals())),
            ("waveform", Record::Waveform(waveform())),
            ("heartbeat", Record::Heartbeat),
        ];
        for (enc_name, enc) in [("json", Encoding::Json), ("binary", Encoding::Binary)] {
            for (name, rec) in &records {
                let payload = encode(rec, enc);
                for f in [256usize, DEFAULT_FRAME_SIZE as usize] {
                    let meta = FrameMeta {
                        frame_type: rec.frame_type(),
                        encoding: enc,
                        timestamp: vitalring_core::time::UnixNs(1_700_000_000_000_000_000),
                    };
                    let mut slot = vec![0u8; f];
                    frame::encode_slot(41, meta, &payload, &mut slot).expect("seed fits");
                    out.push(("slot_bytes", format!("seed-{name}-{enc_name}-{f}"), slot));
                }
                match (rec, enc) {
                    (Record::Vitals(_), Encoding::Json) => {
                        out.push(("json_vitals", "seed-full".into(), payload.clone()))
                    }
                    (Record::Waveform(_), Encoding::Json) => {
                        out.push(("json_waveform", "seed-ecg".into(), payload.clone()))
                    }
                    (Record::Vitals(_), Encoding::Binary) => {
                        let mut b = vec![0u8];
                        b.extend_from_slice(&payload);
                        out.push(("binary_payloads", "seed-vitals".into(), b));
                    }
                    (Record::Waveform(_), Encoding::Binary) => {
                        let mut b = vec![1u8];
                        b.extend_from_slice(&payload);
                        out.push(("binary_payloads", "seed-waveform".into(), b));
                    }
                    _ => {}
                }
            }
        }
        out.push((
            "json_vitals",
            "seed-minimal".into(),
            br#"{"hr":0,"spo2":100,"rr":150}"#.to_vec(),
        ));
        out.push((
            "json_vitals",
            "seed-seed000".into(),
            br#" {"hr":72, "spo2":98, "rr":14, "nibp_sys":120, "nibp_dia":80, "nibp_map":93, "temp":37.2, "pr":72, "extra":"ignored"} "#
                .to_vec(),
        ));
        out.push((
            "json_waveform",
            "seed-resp".into(),
            br#"{"ch":"resp","fs":25,"first":0,"samples":[-2147483648,2147483647,0]}"#.to_vec(),
        ));
        for (name, g) in [
            ("default", Geometry::DEFAULT),
            ("small", Geometry::new(64, 2).expect("valid")),
        ] {
            let h = RingHeader::new(g, 0x1234_5678_9abc, 1_700_000_000_000_000_000, 0);
            out.push((
                "header_bytes",
                format!("seed-{name}"),
                h.as_bytes().to_vec(),
            ));
        }
        {
            use vitalring_linux::wire::{ControlMessage, Hello, Status};
            let with_token = Hello::new("monitor.ward-3_bed-12", Some(b"0123456789abcdef"))
                .expect("valid hello");
            let plain = Hello::new("vitals", None).expect("valid hello");
            out.push((
                "handshake",
                "seed-hello-token".into(),
                with_token.to_bytes().to_vec(),
            ));
            out.push(("handshake", "seed-hello".into(), plain.to_bytes().to_vec()));
            let ok = ControlMessage::ok(Geometry::DEFAULT, 0xfeed);
            out.push((
                "handshake",
                "seed-control-ok".into(),
                ok.to_bytes().to_vec(),
            ));
            let no = ControlMessage::failure(Status::BadToken);
            out.push((
                "handshake",
                "seed-control-refused".into(),
                no.to_bytes().to_vec(),
            ));
        }
        {
            use vitalring_linux::request::{Reply, Request, RequestKind, RequestStatus};
            let cmd = Request::new(
                RequestKind::Command,
                "bed2",
                Some(b"s3cret"),
                &["scenario", "tachycardia"],
            )
            .expect("valid request");
            out.push(("request", "seed-command".into(), cmd.to_bytes()));
            let d = Request::new(RequestKind::Describe, "bed2", None, &[]).expect("valid request");
            out.push(("request", "seed-describe".into(), d.to_bytes()));
            let describe = r#"{"version":1,"name":"bed3","kind":"simulator","description":"bed 3, scenario afib","encoding":"json","frame_size":4096,"frame_count":2048,"epoch":"00000000deadbeef","pid":42,"started_unix_ms":1,"uptime_s":1.5,"published":200,"frame_rate_hz":135.0,"heartbeat_age_ms":3,"readers":0,"commands":["pause"]}"#;
            out.push((
                "request",
                "seed-describe-body".into(),
                describe.as_bytes().to_vec(),
            ));
            out.push((
                "request",
                "seed-reply-describe".into(),
                Reply::new(RequestStatus::Ok, describe).to_bytes(),
            ));
            out.push((
                "request",
                "seed-reply-refused".into(),
                Reply::new(RequestStatus::NotPermitted, "no").to_bytes(),
            ));
        }
        // The attacks of a rogue producer (correct CRC, hostile JSON): nesting that overflowed
        // a reader thread's stack, and an escaped key that hid a duplicate `hr`.
        let deep_vitals = attack::nested_vitals(attack::LEVELS);
        out.push((
            "json_vitals",
            "seed-attack-nesting-40000".into(),
            deep_vitals.clone(),
        ));
        out.push((
            "json_vitals",
            "seed-attack-escaped-duplicate".into(),
            attack::ESCAPED_DUPLICATE_VITALS.to_vec(),
        ));
        out.push((
            "json_waveform",
            "seed-attack-escaped-duplicate".into(),
            attack::ESCAPED_DUPLICATE_WAVEFORM.to_vec(),
        ));
        out.push((
            "json_waveform",
            "seed-attack-nesting-4000".into(),
            attack::nested_waveform(4_000),
        ));
        out.push((
            "slot_bytes",
            "seed-attack-nesting-40000".into(),
            attack::slot(FrameType::Vitals, &deep_vitals, None),
        ));
        out.push((
            "slot_bytes",
            "seed-attack-escaped-duplicate".into(),
            attack::slot(
                FrameType::Vitals,
                attack::ESCAPED_DUPLICATE_VITALS,
                Some(256),
            ),
        ));
        // slot_ops and json_nesting: any bytes are an input; a few deterministic pseudo-random ones.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for k in 0..4 {
            let bytes = (0..512 << k)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            out.push(("slot_ops", format!("seed-random-{k}"), bytes));
        }
        for k in 0..4 {
            let bytes = (0..64 << (2 * k))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            out.push(("json_nesting", format!("seed-random-{k}"), bytes));
        }
        out
    }
}
