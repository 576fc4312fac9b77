//! Conformance cases about the ring header: tampering under a live reader, and attach
//! refusing bad headers (re-exported by [`crate::conformance_cases`]).

use vitalring_core::layout::{header_crc, HeaderError, RingHeader};
use vitalring_core::payload::Record;
use vitalring_core::region::Region;
use vitalring_core::slot::{LapPolicy, Reader, Start, Writer, WriterConfig};
use vitalring_core::time::{UnixMs, UnixNs};
use vitalring_core::Encoding;
use vitalring_mock::fault;

use crate::conformance::{geometry, vitals_full, Platform, Poll, Ring};

/// A header rewritten under a live reader is noticed by `Reader::check_header`, with the
/// reason, and a restored header is accepted again.
pub fn header_tampering_detected<P: Platform>(p: &mut P) {
    let r = Ring::new(p, geometry(128, 4), LapPolicy::Latest, Start::Next);
    let inj = &r.injector;
    assert_eq!(r.reader.check_header(), Ok(()));
    // Magic, version, geometry without CRC fix-up.
    inj.flip_header_bit(0, 0).unwrap();
    assert!(matches!(
        r.reader.check_header(),
        Err(HeaderError::Magic(_))
    ));
    inj.flip_header_bit(0, 0).unwrap();
    inj.flip_header_bit(4, 1).unwrap();
    assert!(matches!(
        r.reader.check_header(),
        Err(HeaderError::Version(3))
    ));
    inj.flip_header_bit(4, 1).unwrap();
    assert_eq!(r.reader.check_header(), Ok(()));
    inj.rewrite_geometry(Some(256), None, false).unwrap();
    assert!(matches!(
        r.reader.check_header(),
        Err(HeaderError::Crc { .. })
    ));
    // With the CRC fixed, the length check catches a geometry that does not fit the mapping...
    inj.rewrite_geometry(Some(256), None, true).unwrap();
    assert!(matches!(
        r.reader.check_header(),
        Err(HeaderError::RegionLength { .. })
    ));
    inj.rewrite_geometry(Some(100), None, true).unwrap();
    assert!(matches!(
        r.reader.check_header(),
        Err(HeaderError::Geometry(_))
    ));
    // ... and the comparison with the attach-time header catches one of the same length.
    inj.rewrite_geometry(Some(256), Some(2), true).unwrap();
    assert_eq!(r.reader.check_header(), Err(HeaderError::Changed));
    inj.rewrite_geometry(Some(128), Some(4), true).unwrap();
    assert_eq!(r.reader.check_header(), Ok(()));
    // Epoch rewritten (producer swapped the ring contents): noticed.
    inj.flip_header_bit(40, 3).unwrap();
    inj.fix_header_crc().unwrap();
    assert_eq!(r.reader.check_header(), Err(HeaderError::Changed));
    // The reader keeps its attach-time geometry: it still reads frames correctly.
    let mut r = r;
    r.publish(&Record::Vitals(vitals_full(66)), Encoding::Json);
    assert!(matches!(
        r.poll(),
        Poll::Delivered(d) if d.record == Record::Vitals(vitals_full(66))
    ));
}

/// `Ring::new_checked` (the only way to a `Reader`) refuses a header that is not a valid v1
/// ring for the mapping. Each reader view is opened while the ring is still valid (a
/// platform's handshake may check the header itself), then the header is rewritten under it
/// and `Ring::new_checked` must refuse it.
pub fn attach_refuses_bad_header<P: Platform>(p: &mut P) {
    let g = geometry(128, 4);
    type Tamper<R> = fn(&fault::FaultInjector<R>);
    type Expect = fn(&HeaderError) -> bool;
    let cases: [(Tamper<P::WriterRegion>, Expect); 6] = [
        (
            |i| {
                // Blank: every immutable word zero.
                for o in (0..16).chain(32..80).step_by(4) {
                    i.poke_header_word(o, 0).unwrap();
                }
            },
            |e| matches!(e, HeaderError::Magic(0)),
        ),
        (
            |i| i.flip_header_bit(1, 0).unwrap(),
            |e| matches!(e, HeaderError::Magic(_)),
        ),
        (
            |i| i.flip_header_bit(60, 0).unwrap(),
            |e| matches!(e, HeaderError::Crc { .. }),
        ),
        (
            |i| i.rewrite_geometry(Some(256), None, true).unwrap(),
            |e| matches!(e, HeaderError::RegionLength { .. }),
        ),
        (
            |i| i.rewrite_geometry(None, Some(3), true).unwrap(),
            |e| matches!(e, HeaderError::Geometry(_)),
        ),
        (
            |i| {
                i.flip_header_bit(36, 7).unwrap(); // unknown flag
                i.fix_header_crc().unwrap();
            },
            |e| matches!(e, HeaderError::Flags(0x80)),
        ),
    ];
    for (k, (tamper, check)) in cases.iter().enumerate() {
        let w = Writer::create(
            p.create(g),
            WriterConfig {
                geometry: g,
                epoch: 3,
                created: UnixNs(0),
                now: UnixMs(0),
            },
        )
        .unwrap();
        let valid = p.open_reader(w.region());
        let view = p.open_reader(w.region());
        assert!(
            vitalring_core::Ring::new_checked(valid)
                .ok()
                .and_then(|ring| {
                    Reader::attach(ring, vec![0u8; 96], LapPolicy::Latest, Start::Next).ok()
                })
                .is_some(),
            "case {k}: valid before tampering"
        );
        let inj = fault::FaultInjector::new(w.region().clone(), g);
        tamper(&inj);
        match vitalring_core::Ring::new_checked(view).err() {
            Some(e) => assert!(check(&e), "case {k}: {e:?}"),
            None => panic!("case {k}: tampered header accepted"),
        }
    }
    // A header whose CRC was computed independently is accepted (the CRC rule is zlib's).
    let w = Writer::create(
        p.create(g),
        WriterConfig {
            geometry: g,
            epoch: 3,
            created: UnixNs(0),
            now: UnixMs(0),
        },
    )
    .unwrap();
    let h = w.region().region().header_snapshot();
    let bytes = zerocopy_header_bytes(&h);
    let mut covered = bytes[..16].to_vec();
    covered.extend_from_slice(&bytes[36..80]);
    assert_eq!(h.crc32, crc32fast::hash(&covered));
    assert_eq!(h.crc32, header_crc(&h));
}

fn zerocopy_header_bytes(h: &RingHeader) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    out.extend_from_slice(&h.magic.to_le_bytes());
    out.extend_from_slice(&h.version.to_le_bytes());
    out.extend_from_slice(&h.reserved1.to_le_bytes());
    out.extend_from_slice(&h.frame_size_bytes.to_le_bytes());
    out.extend_from_slice(&h.frame_count.to_le_bytes());
    out.extend_from_slice(&h.write_index.to_le_bytes());
    out.extend_from_slice(&h.heartbeat_timestamp.to_le_bytes());
    out.extend_from_slice(&h.crc32.to_le_bytes());
    out.extend_from_slice(&h.flags.to_le_bytes());
    out.extend_from_slice(&h.epoch.to_le_bytes());
    out.extend_from_slice(&h.created_unix_ns.to_le_bytes());
    for w in h.reserved {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out
}
