//! Model-checks the sleep/wake protocol of `vitalring_core::wake` with loom: no lost wake-up.
//!
//! A writer thread commits one frame (`writeIndex = 1`, Release) and calls `wake_sleepers`;
//! the reader (main thread) loops: `writeIndex` new? done; else `StatusPage::sleep` with a
//! re-check of `writeIndex`. The futex is modelled as the kernel implements it: `wait` checks
//! the word and queues the waiter under one lock (a loom `Mutex` + `Condvar`), `wake` takes that
//! lock and wakes every waiter. The model has **no timeout**: a lost wake-up leaves the reader
//! waiting forever, which loom reports as a deadlock — so the test fails.
//!
//! The same test must FAIL when either SeqCst fence is removed; CI checks that with
//! `--cfg vitalring_mutant="reader_fence"` and `="writer_fence"` (see `.ci/fuzz-miri-loom.sh`).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p vitalring-core --test loom_wake --release`
#![cfg(loom)]

use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use vitalring_core::time::Nanos;
use vitalring_core::wake::{wake_sleepers, Futex, StatusPage};

/// The kernel's futex hash bucket for one word: a lock and a wait queue.
struct ModelFutex {
    bucket: Mutex<()>,
    queue: Condvar,
}

impl Futex for ModelFutex {
    fn wait(&self, word: &AtomicU32, expected: u32, _timeout: Nanos) {
        let guard = self.bucket.lock().unwrap();
        // Checked under the bucket lock, as FUTEX_WAIT does.
        if word.load(Ordering::Relaxed) != expected {
            return;
        }
        drop(self.queue.wait(guard).unwrap());
    }

    fn wake(&self, _word: &AtomicU32) {
        let _guard = self.bucket.lock().unwrap();
        self.queue.notify_all();
    }
}

struct World {
    /// `writeIndex`, stored and loaded with the orderings of the real writer and reader
    /// (`Writer::publish`: Release; `Reader::step`: Acquire).
    write_index: AtomicU64,
    page: StatusPage,
    futex: ModelFutex,
}

#[test]
fn no_lost_wake_up() {
    loom::model(|| {
        let world = Arc::new(World {
            write_index: AtomicU64::new(0),
            page: StatusPage::zeroed(),
            futex: ModelFutex {
                bucket: Mutex::new(()),
                queue: Condvar::new(),
            },
        });
        world.page.init();
        let w = Arc::clone(&world);
        let writer = loom::thread::spawn(move || {
            w.write_index.store(1, Ordering::Release);
            wake_sleepers([&w.page], &w.futex);
        });
        loop {
            if world.write_index.load(Ordering::Acquire) != 0 {
                break;
            }
            world.page.sleep(&world.futex, Nanos(u64::MAX), || {
                world.write_index.load(Ordering::Acquire) == 0
            });
        }
        writer.join().unwrap();
    });
}
