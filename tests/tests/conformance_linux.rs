//! The conformance suite against the Linux platform, through the product's real path: each
//! ring is a sealed memfd made by `ring::create_sealed_ring` and mapped read-write by the
//! producer side; each reader gets it from a real `ControlServer` over a Unix socket
//! (`SCM_RIGHTS`, peer credentials, seals and size checked) and maps it `PROT_READ`.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use vitalring_core::region::Region;
use vitalring_core::Geometry;
use vitalring_linux::server::RingOffer;
use vitalring_linux::{ring, ControlServer, RoMapping, RwMapping, ServerConfig};
use vitalring_tests::conformance::Platform;

/// Rings made so far (writer mapping + memfd), and a private directory for sockets.
struct LinuxPlatform {
    rings: Vec<(Arc<RwMapping>, Arc<OwnedFd>, Geometry)>,
    dir: tempfile::TempDir,
    served: usize,
}

impl LinuxPlatform {
    fn new() -> Self {
        Self {
            rings: Vec::new(),
            dir: tempfile::tempdir().expect("temp dir"),
            served: 0,
        }
    }

    fn socket(&mut self) -> PathBuf {
        self.served += 1;
        self.dir
            .path()
            .join(format!("conformance-{}.sock", self.served))
    }
}

impl Platform for LinuxPlatform {
    type WriterRegion = Arc<RwMapping>;
    type ReaderRegion = RoMapping;

    fn name(&self) -> &'static str {
        "linux"
    }

    fn create(&mut self, geometry: Geometry) -> Arc<RwMapping> {
        let (fd, writer) = ring::create_sealed_ring(c"vitalring-conformance", geometry, 1)
            .unwrap_or_else(|e| panic!("linux: cannot create a ring: {e}"));
        let mapping = Arc::new(writer.into_region());
        self.rings
            .push((Arc::clone(&mapping), Arc::new(fd), geometry));
        mapping
    }

    fn open_reader(&mut self, writer_side: &Arc<RwMapping>) -> RoMapping {
        let (fd, geometry) = self
            .rings
            .iter()
            .find(|(m, _, _)| Arc::ptr_eq(m, writer_side))
            .map(|(_, fd, g)| (Arc::clone(fd), *g))
            .expect("linux: region was made by this platform");
        // The suite's writer re-initialised the ring (its own epoch); offer what is there now.
        let epoch = writer_side.region().header_snapshot().epoch;
        let path = self.socket();
        let server = ControlServer::start(
            ServerConfig::new(path.clone(), "conformance"),
            RingOffer {
                fd,
                geometry,
                epoch,
            },
        )
        .unwrap_or_else(|e| panic!("linux: cannot serve the ring: {e}"));
        let attached = vitalring_linux::connect(&path, "conformance", None)
            .unwrap_or_else(|e| panic!("linux: handshake failed: {e}"));
        drop(server);
        attached.into_ring().into_region()
    }
}

vitalring_tests::conformance_tests!(LinuxPlatform::new());
