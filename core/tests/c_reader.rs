//! Wire-format conformance with seed 000's C structs: the system C compiler builds a reader
//! written only from those structs and the seed's CRC rule; it must agree with our offsets and
//! read a ring our writer produced.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::AtomicU32;

use vitalring_core::layout::{self, Encoding, Geometry, RingHeader, SlotHeader, HEADER_SIZE};
use vitalring_core::payload::Record;
use vitalring_core::region::{Access, RegionRef, SharedHeader};
use vitalring_core::slot::{Writer, WriterConfig};
use vitalring_core::time::{UnixMs, UnixNs};
use vitalring_core::vitals::VitalsRecord;
use zerocopy::IntoBytes;

fn compile_reader() -> PathBuf {
    let out = std::env::temp_dir().join(format!("vitalring-seed000-reader-{}", std::process::id()));
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c/seed000_reader.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c11", "-O1", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
    assert!(status.success(), "C compilation failed");
    out
}

#[test]
#[cfg_attr(
    miri,
    ignore = "spawns a C compiler and a C program; Miri cannot run processes"
)]
fn c_structs_of_seed_000_have_our_offsets_and_read_our_ring() {
    let exe = compile_reader();
    let layout_out = Command::new(&exe).arg("layout").output().unwrap();
    assert!(layout_out.status.success());
    let text = String::from_utf8(layout_out.stdout).unwrap();
    let c: std::collections::HashMap<&str, usize> = text
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    use core::mem::{offset_of, size_of};
    let expect = [
        ("header_size", size_of::<RingHeader>()),
        ("magic", offset_of!(RingHeader, magic)),
        ("version", offset_of!(RingHeader, version)),
        ("reserved1", offset_of!(RingHeader, reserved1)),
        ("frameSizeBytes", offset_of!(RingHeader, frame_size_bytes)),
        ("frameCount", offset_of!(RingHeader, frame_count)),
        ("writeIndex", offset_of!(RingHeader, write_index)),
        (
            "heartbeatTimestamp",
            offset_of!(RingHeader, heartbeat_timestamp),
        ),
        ("crc32", offset_of!(RingHeader, crc32)),
        ("reserved2", offset_of!(RingHeader, flags)),
        ("frame_size", layout::DEFAULT_FRAME_SIZE as usize),
        ("type", offset_of!(SlotHeader, frame_type)),
        ("timestampNs", offset_of!(SlotHeader, timestamp_ns)),
        ("sequenceNumber", offset_of!(SlotHeader, sequence_number)),
        ("dataSize", offset_of!(SlotHeader, data_size)),
        ("data", layout::SLOT_HEADER_SIZE),
        (
            "frame_crc32",
            layout::DEFAULT_FRAME_SIZE as usize - layout::SLOT_TRAILER_SIZE,
        ),
    ];
    for (name, ours) in expect {
        assert_eq!(c[name], ours, "{name}");
    }

    // A ring of 8 default-size slots; 11 frames, so the oldest three were overwritten.
    let g = Geometry::new(4096, 8).unwrap();
    let header = SharedHeader::zeroed();
    let words: Vec<AtomicU32> = (0..(g.region_len() - HEADER_SIZE) / 4)
        .map(|_| AtomicU32::new(0))
        .collect();
    let region = RegionRef::from_parts(&header, &words, Access::ReadWrite);
    let config = WriterConfig {
        geometry: g,
        epoch: 42,
        created: UnixNs(0),
        now: UnixMs(0),
    };
    let mut w = Writer::create(region, config).unwrap();
    for i in 0..11u16 {
        let v = VitalsRecord {
            hr_bpm: 60 + i,
            spo2_pct: 90 + (i % 10) as u8,
            rr_rpm: 12,
            ..Default::default()
        };
        w.publish_record(
            &Record::Vitals(v),
            Encoding::Json,
            UnixNs(u64::from(i) * 1000),
            UnixMs(0),
        )
        .unwrap();
    }
    let mut bytes = region.header_snapshot().as_bytes().to_vec();
    for i in 0..words.len() {
        bytes.extend_from_slice(&region.peek_word(HEADER_SIZE + 4 * i).unwrap().to_le_bytes());
    }
    let ring = std::env::temp_dir().join(format!("vitalring-ring-{}.bin", std::process::id()));
    std::fs::write(&ring, &bytes).unwrap();
    let out = Command::new(&exe).arg("read").arg(&ring).output().unwrap();
    let _ = std::fs::remove_file(&ring);
    let _ = std::fs::remove_file(&exe);
    assert!(
        out.status.success(),
        "C reader failed: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    let want: String = (3..11u16)
        .map(|i| format!("{i} {} {} 12\n", 60 + i, 90 + i % 10))
        .collect();
    assert_eq!(got, want);
}
