//! The part of a loop other threads may touch: its wake-up eventfd, the
//! queue of finished work, and counts of signals caught for it.
//!
//! It lives in an `Arc`, so a sender on another thread can never write to a
//! closed (and perhaps reused) fd: the eventfd closes with the last `Arc`.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use crate::sys;
use crate::work::WorkDone;

/// Signal numbers 1..=64 on Linux.
pub(crate) const NSIG: usize = 65;

pub(crate) struct LoopShared {
    wake_fd: OwnedFd,
    pub work_done: Mutex<Vec<WorkDone>>,
    pub signal_counts: [AtomicU32; NSIG],
    pub signals_caught: AtomicBool,
}

impl LoopShared {
    pub fn new() -> std::io::Result<LoopShared> {
        Ok(LoopShared {
            wake_fd: sys::eventfd()?,
            work_done: Mutex::new(Vec::new()),
            signal_counts: std::array::from_fn(|_| AtomicU32::new(0)),
            signals_caught: AtomicBool::new(false),
        })
    }

    pub fn wake_fd(&self) -> RawFd {
        self.wake_fd.as_raw_fd()
    }

    /// Makes the loop's next (or current) poll return. Safe from any thread.
    pub fn wake(&self) {
        // EAGAIN would mean the counter is near u64::MAX: the loop is
        // already certain to wake, so the error can be ignored.
        let _ = sys::write(self.wake_fd.as_fd(), &1u64.to_ne_bytes());
    }

    /// Resets the eventfd after a wake-up.
    pub fn drain(&self) {
        let mut buf = [0u8; 8];
        let _ = sys::read(self.wake_fd.as_fd(), &mut buf);
    }

    /// Records a caught signal for this loop (called by whichever loop read
    /// the process's signal pipe).
    pub fn note_signal(&self, signum: usize) {
        self.signal_counts[signum].fetch_add(1, Ordering::AcqRel);
        self.signals_caught.store(true, Ordering::Release);
    }
}
