//! A reader of this version attaches to a producer of the first version.
//!
//! A first-version producer knows no Hello flags: the bytes that now carry "I can use a status
//! page" were reserved and had to be zero, so it refuses such a Hello as malformed. The reader
//! must then ask again as a version-1 reader (no lease, it polls) instead of failing with
//! "malformed or incomplete hello".
//!
//! The old producer is played by a proxy in front of a real producer: it refuses a Hello with
//! any flag set, exactly as the first version did, and forwards every other Hello and the
//! reply (with its descriptors) unchanged.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::sys::socket::{sendmsg, ControlMessage as Cmsg, MsgFlags};
use vitalring_core::frame::FrameMeta;
use vitalring_core::layout::{Encoding, FrameType};
use vitalring_core::slot::{LapPolicy, Poll, Reader, Start};
use vitalring_core::time::UnixNs;
use vitalring_linux::client::{connect_leased, ConnectOptions};
use vitalring_linux::fdpass::recv_with_fds;
use vitalring_linux::wire::{ControlMessage, Status, CONTROL_SIZE, HELLO_SIZE};
use vitalring_linux::{ProducerConfig, SharedMemoryProducer};

/// Serves `clients` connections on `path` as a first-version producer would; returns the
/// `flags` field of every Hello it saw.
fn first_version_proxy(
    path: &Path,
    upstream: PathBuf,
    clients: usize,
) -> (JoinHandle<()>, Arc<Mutex<Vec<u16>>>) {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let handle = std::thread::spawn(move || {
        for _ in 0..clients {
            let (mut client, _) = listener.accept().unwrap();
            let mut hello = [0u8; HELLO_SIZE];
            client.read_exact(&mut hello).unwrap();
            let flags = u16::from_le_bytes([hello[6], hello[7]]);
            log.lock().unwrap().push(flags);
            if flags != 0 {
                // The first version: bytes 6..8 are reserved and must be zero.
                client
                    .write_all(&ControlMessage::failure(Status::Malformed).to_bytes())
                    .unwrap();
                continue;
            }
            let mut up = UnixStream::connect(&upstream).unwrap();
            up.write_all(&hello).unwrap();
            let mut reply = [0u8; CONTROL_SIZE];
            let got = recv_with_fds(up.as_fd(), &mut reply).unwrap();
            assert_eq!(got.bytes, CONTROL_SIZE, "upstream reply");
            let raw: Vec<i32> = got.fds.iter().map(|f| f.as_raw_fd()).collect();
            let iov = [std::io::IoSlice::new(&reply)];
            sendmsg::<()>(
                client.as_raw_fd(),
                &iov,
                &[Cmsg::ScmRights(&raw)],
                MsgFlags::empty(),
                None,
            )
            .unwrap();
        }
    });
    (handle, seen)
}

#[test]
fn a_reader_attaches_to_a_first_version_producer_without_a_lease_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ProducerConfig::new("old");
    config.socket_path = Some(dir.path().join("real.sock"));
    let mut producer = SharedMemoryProducer::create(config).unwrap();
    let upstream = producer.socket_path().unwrap().to_path_buf();
    let old = dir.path().join("old.sock");
    let (proxy, seen) = first_version_proxy(&old, upstream, 2);

    let attached = connect_leased(&old, "old", None, &ConnectOptions::default(), |_, _| {})
        .expect("a first-version producer must still be readable");
    proxy.join().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![1, 0],
        "first a Hello asking for a status page, then a version-1 Hello"
    );
    assert!(
        !attached.has_lease(),
        "a first-version producer gives no lease"
    );

    let capacity = attached.geometry().payload_capacity();
    let mut reader = Reader::attach(
        attached.into_ring(),
        vec![0u8; capacity],
        LapPolicy::Latest,
        Start::Next,
    )
    .unwrap();
    let meta = FrameMeta {
        frame_type: FrameType::Waveform,
        encoding: Encoding::Binary,
        timestamp: UnixNs(1),
    };
    let index = producer.publish_raw(meta, b"first version").unwrap();
    match reader.poll() {
        Poll::Frame(f) => {
            assert_eq!(f.index, index);
            assert_eq!(f.payload, b"first version");
        }
        other => panic!("expected the frame, got {other:?}"),
    }
}
