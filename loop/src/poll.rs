//! The poll phase: one `epoll_wait` (level-triggered, at most 1024 events),
//! then each event handed to its watcher.
//!
//! An epoll token packs the watcher's slab index (low 32 bits) with the
//! epoch of its registration (high 32 bits). Two indices are reserved for
//! the loop's own fds: its wake-up eventfd and the process's signal pipe.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use crate::sys;
use crate::Loop;

/// Events taken from the kernel per wake-up: a cap, so one wake-up's work
/// stays bounded, and level triggering brings the rest next time.
pub(crate) const MAX_EVENTS: usize = 1024;

/// At most this many undispatched events are scanned by `is_pending`.
const MAX_SCANNED: usize = 128;

pub(crate) const WAKE_INDEX: u32 = u32::MAX;
pub(crate) const SIGNAL_INDEX: u32 = u32::MAX - 1;

pub(crate) fn token(index: u32, epoch: u32) -> u64 {
    (u64::from(epoch) << 32) | u64::from(index)
}

pub(crate) struct Poller {
    epfd: OwnedFd,
    /// The last wake-up's events, dispatched in order.
    events: Vec<libc::epoll_event>,
    /// The index in `events` of the next event to dispatch (`events.len()`
    /// outside the poll phase).
    next: usize,
    /// The last loop iteration (`Loop::poll_count`) whose poll returned
    /// a batch that was not full: every fd ready then is in it.
    polled_in: u64,
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        Ok(Poller {
            epfd: sys::epoll_create()?,
            events: Vec::with_capacity(MAX_EVENTS),
            next: 0,
            polled_in: 0,
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.epfd.as_raw_fd()
    }

    pub fn ctl(&self, op: i32, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        sys::epoll_ctl(self.epfd.as_fd(), op, fd, events, token)
    }

    /// The last loop iteration whose poll returned a batch that was not
    /// full.
    pub fn polled_in(&self) -> u64 {
        self.polled_in
    }

    /// Whether the events of this wake-up not dispatched yet hold one for
    /// `token`.
    pub fn is_pending(&self, token: u64) -> bool {
        let rest = &self.events[self.next..];
        // A long rest is not scanned (bounded cost per ask): it counts as
        // holding one, which only costs the asker a syscall.
        if rest.len() > MAX_SCANNED {
            return true;
        }
        rest.iter().any(|e| {
            // Copied out: the kernel's struct is packed on x86_64.
            let t = e.u64;
            t == token
        })
    }
}

impl Loop {
    /// libuv's `uv_backend_timeout`: how long the poll phase may block.
    /// 0 when there is something to do right away, -1 (forever) when only
    /// I/O can bring work, else the time to the next timer.
    pub fn backend_timeout(&self) -> i32 {
        if self.stop_flag
            || (self.active_handles == 0 && self.active_reqs == 0)
            || self.has_active_idle()
            || !self.pending.is_empty()
            || !self.closing.is_empty()
        {
            return 0;
        }
        match self.next_timer_deadline() {
            None => -1,
            Some(deadline) => deadline.saturating_sub(self.now_ms).min(i32::MAX as u64) as i32,
        }
    }

    /// Poll phase: waits up to `timeout_ms` (-1: no limit) and dispatches.
    pub(crate) fn poll_io(&mut self, timeout_ms: i32) {
        // The iteration's time (read at its top) stands for the start: the
        // clock is read again only if a signal interrupts the wait.
        let started_ms = self.now();
        let mut timeout = timeout_ms;
        loop {
            match sys::epoll_wait(self.poller.epfd.as_fd(), &mut self.poller.events, timeout) {
                Ok(_) => {
                    // A full batch may have left ready fds in the kernel
                    // for the next wake-up: it says nothing of the fds it
                    // does not hold (`Io::is_quiet_since`).
                    if self.poller.events.len() < MAX_EVENTS {
                        self.poller.polled_in = self.poll_count();
                    }
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    // A signal interrupted the wait: retry with what is left.
                    if timeout > 0 {
                        let now_ms = sys::monotonic_ns() / 1_000_000;
                        let spent = now_ms.saturating_sub(started_ms).min(i32::MAX as u64) as i32;
                        timeout = (timeout_ms - spent).max(0);
                    }
                }
                // Only EBADF, EFAULT or EINVAL remain, impossible with an fd
                // and buffer the loop owns: treat as an empty wake-up.
                Err(_) => {
                    self.poller.events.clear();
                    break;
                }
            }
        }
        let woke = self.tick();
        self.metrics_woke(woke, self.poller.events.len());
        // Events stay in place while they are dispatched, so a callback
        // can ask whether one for a watcher is still to come
        // (`Io::is_quiet_since`).
        self.poller.next = 0;
        while let Some(event) = self.poller.events.get(self.poller.next) {
            // Copy out: the kernel's struct is packed on x86_64.
            let (token, bits) = (event.u64, event.events);
            self.poller.next += 1;
            let index = token as u32;
            match index {
                WAKE_INDEX => self.on_wake(),
                SIGNAL_INDEX => self.on_signal_pipe(),
                _ => self.io_dispatch(index, (token >> 32) as u32, bits),
            }
        }
        self.poller.events.clear();
        self.poller.next = 0;
    }
}
