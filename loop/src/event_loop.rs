//! The loop: owns every handle's state, and runs the phases of an iteration
//! in libuv's order (that of libuv 1.45 and later; checked against 1.52).

use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::handle::{Closing, HandleEntry, HandleId};
use crate::metrics::{LoopPhase, Recorder};
use crate::poll::{token, Poller, WAKE_INDEX};
use crate::sys::{self, KeyedSlots};
use crate::table::Table;
use crate::timer_heap::TimerHeap;
use crate::wake::LoopShared;
use crate::work::WorkEntry;

/// How long `run` goes on, as libuv's `uv_run_mode`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RunMode {
    /// Until no active, referenced handle or request is left, or `stop`.
    Default,
    /// One iteration, blocking for I/O if there is nothing else to do.
    Once,
    /// One iteration that never blocks.
    NoWait,
}

pub(crate) type PendingCb = Box<dyn FnOnce(&mut Loop)>;

/// A single-threaded event loop over epoll, like libuv's `uv_loop_t`.
///
/// It owns the state of every handle; callbacks get `&mut Loop` and may
/// start, stop or close any handle, their own included.
///
/// ```
/// use eddy_loop::{Check, Handle, Idle, Loop, RunMode};
///
/// let mut lp = Loop::new()?;
/// let idle = Idle::new(&mut lp);
/// let mut spins = 0;
/// idle.start(&mut lp, move |lp, me| {
///     spins += 1;
///     if spins == 3 {
///         me.close(lp, |_, _| {}).unwrap();
///     }
/// })?;
/// // Nothing keeps a loop with only an unreferenced check handle alive.
/// let check = Check::new(&mut lp);
/// check.start(&mut lp, |_, _| {})?;
/// check.unref(&mut lp)?;
/// assert!(lp.run(RunMode::Once), "the idle handle is still active");
/// assert!(!lp.run(RunMode::Default), "done once the idle handle closed");
/// # Ok::<(), eddy_loop::Error>(())
/// ```
pub struct Loop {
    pub(crate) handles: Table<HandleEntry>,
    /// Handles that are active, referenced and not closing.
    pub(crate) active_handles: usize,
    /// Requests in flight (queued work), each keeping the loop alive.
    pub(crate) active_reqs: usize,
    pub(crate) now_ms: u64,
    /// Polls for I/O run so far (`poll_count`).
    polls: u64,
    /// The clock read behind `now_ms`, in nanoseconds (opens an iteration
    /// in the metrics).
    pub(crate) now_ns: u64,
    pub(crate) stop_flag: bool,
    running: bool,

    pub(crate) timers: TimerHeap,
    pub(crate) next_timer_seq: u64,
    pub(crate) due_timers: Vec<(u32, u64)>,

    pub(crate) pending: VecDeque<PendingCb>,
    pending_spare: VecDeque<PendingCb>,
    /// Started idle, prepare and check handles, by `Phase`.
    pub(crate) phases: [Vec<HandleId>; 3],
    pub(crate) phase_scratch: Vec<HandleId>,
    pub(crate) closing: Vec<Closing>,
    pub(crate) closing_spare: Vec<Closing>,

    pub(crate) poller: Poller,
    pub(crate) next_io_epoch: u32,
    pub(crate) shared: Arc<LoopShared>,
    pub(crate) asyncs: Vec<HandleId>,
    pub(crate) async_scratch: Vec<HandleId>,
    pub(crate) signal_handles: Vec<HandleId>,
    pub(crate) works: Table<WorkEntry>,
    extensions: Vec<(TypeId, Box<dyn Any>)>,
    /// Extensions reached through an `ExtensionKey`: an index, not a search.
    keyed: KeyedSlots,
    pub(crate) metrics: Box<Recorder>,
}

/// A process-wide slot number for one extension type `T`, for the layers
/// that reach their table on every event (`eddy-net`, `eddy-http`): declare
/// it as a `static` next to the type and use [`Loop::keyed_extension`].
///
/// The key is typed, so a lookup needs no type check: the slot of a key
/// only ever holds that key's `T`.
pub struct ExtensionKey<T> {
    slot: AtomicUsize,
    _of: PhantomData<fn() -> T>,
}

/// Slots are numbered from 1: slot 0, the number of a key not yet used,
/// is never filled, so looking a fresh key up finds nothing there and
/// takes the slow path, which assigns it (one test on the hot path).
static NEXT_EXTENSION_SLOT: AtomicUsize = AtomicUsize::new(1);

impl<T> ExtensionKey<T> {
    /// A key whose slot is assigned at its first use.
    pub const fn new() -> ExtensionKey<T> {
        ExtensionKey {
            slot: AtomicUsize::new(0),
            _of: PhantomData,
        }
    }

    /// The key's slot, or 0 (a slot never filled) before its first use.
    #[inline]
    pub(crate) fn slot_if_assigned(&self) -> usize {
        self.slot.load(Ordering::Acquire)
    }

    /// The key's slot, assigned now if it has none.
    #[inline]
    pub(crate) fn slot(&self) -> usize {
        match self.slot.load(Ordering::Acquire) {
            0 => self.assign(),
            slot => slot,
        }
    }

    #[cold]
    #[inline(never)]
    fn assign(&self) -> usize {
        let fresh = NEXT_EXTENSION_SLOT.fetch_add(1, Ordering::AcqRel);
        match self
            .slot
            .compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => fresh,
            Err(taken) => taken,
        }
    }
}

impl<T> Default for ExtensionKey<T> {
    fn default() -> ExtensionKey<T> {
        ExtensionKey::new()
    }
}

impl Loop {
    /// A new loop with its epoll fd and wake-up eventfd.
    pub fn new() -> Result<Loop> {
        let poller = Poller::new().map_err(|e| Error::os("epoll_create1", e))?;
        let shared = Arc::new(LoopShared::new().map_err(|e| Error::os("eventfd", e))?);
        poller
            .ctl(
                libc::EPOLL_CTL_ADD,
                shared.wake_fd(),
                libc::EPOLLIN as u32,
                token(WAKE_INDEX, 0),
            )
            .map_err(|e| Error::os("epoll_ctl add wake-up eventfd", e))?;
        let mut lp = Loop {
            handles: Table::new(),
            active_handles: 0,
            active_reqs: 0,
            now_ms: 0,
            polls: 0,
            stop_flag: false,
            running: false,
            timers: TimerHeap::default(),
            next_timer_seq: 0,
            due_timers: Vec::new(),
            pending: VecDeque::new(),
            pending_spare: VecDeque::new(),
            phases: Default::default(),
            phase_scratch: Vec::new(),
            closing: Vec::new(),
            closing_spare: Vec::new(),
            poller,
            next_io_epoch: 0,
            shared,
            asyncs: Vec::new(),
            async_scratch: Vec::new(),
            signal_handles: Vec::new(),
            works: Table::new(),
            extensions: Vec::new(),
            keyed: KeyedSlots::default(),
            metrics: Box::new(Recorder::new()),
            now_ns: 0,
        };
        lp.update_time();
        Ok(lp)
    }

    /// Runs the loop (`uv_run`). Returns whether it is still alive
    /// (something would keep a `Default` run going). A `run` from inside a
    /// callback returns at once: the loop is not re-entrant.
    ///
    /// The order is libuv's since 1.45 (checked against 1.52): `Default`
    /// first runs the timers that are due; then each iteration runs pending
    /// callbacks, idle, prepare, the poll, check, close callbacks, and last
    /// the timers that are due. (Unlike libuv 1.45+, pending callbacks
    /// queued during the poll wait for the next iteration.) So a timer started from a close callback with 0 ms
    /// fires in the same iteration, and a `stop` from a timer of `Default`'s
    /// first round returns before idle, prepare or check run.
    pub fn run(&mut self, mode: RunMode) -> bool {
        if self.running {
            return self.alive();
        }
        self.running = true;
        let mut alive = self.alive();
        if !alive {
            self.update_time();
        }
        if mode == RunMode::Default && alive && !self.stop_flag {
            self.update_time();
            self.run_timers();
        }
        while alive && !self.stop_flag {
            self.polls += 1;
            // One iteration, in libuv's order (each `metrics_*` hook is one
            // branch when recording is off, see metrics.rs). The iteration
            // opens at the clock read that ran the last timers, unless a
            // phase with work has to be closed.
            self.metrics_top();
            let can_sleep = self.pending.is_empty() && !self.has_active_idle();
            // 1. pending callbacks (write and connect completions, cancels)
            self.metrics_phase(LoopPhase::Pending);
            self.run_pending();
            // 2. idle, 3. prepare
            self.metrics_phase(LoopPhase::Idle);
            self.run_phase(crate::phase::Phase::Idle);
            self.metrics_phase(LoopPhase::Prepare);
            self.run_phase(crate::phase::Phase::Prepare);
            // 4. poll for I/O; blocks only as long as backend_timeout allows
            let timeout = if mode == RunMode::Default || (mode == RunMode::Once && can_sleep) {
                self.backend_timeout()
            } else {
                0
            };
            self.metrics_poll_start();
            self.poll_io(timeout);
            // (libuv 1.45+ runs its pending queue again here, up to 8
            // rounds; eddy's is the completion queue of the layers above,
            // which rely on completions queued while polling reaching them
            // in the next iteration: see ARCHITECTURE.md.)
            // 5. check
            self.metrics_phase(LoopPhase::Check);
            self.run_phase(crate::phase::Phase::Check);
            // 6. close callbacks
            self.metrics_phase(LoopPhase::Closing);
            self.run_closing();
            // 7. timers that are due
            let now = self.tick();
            self.metrics_read(now);
            self.metrics_phase(LoopPhase::Timers);
            self.run_timers();
            alive = self.alive();
            if mode != RunMode::Default {
                break;
            }
        }
        self.metrics_run_end();
        self.stop_flag = false;
        self.running = false;
        alive
    }

    /// Makes `run` return after the current iteration.
    pub fn stop(&mut self) {
        self.stop_flag = true;
    }

    /// libuv's rule: alive while there are active referenced handles,
    /// active requests, pending callbacks or closing handles.
    pub fn alive(&self) -> bool {
        self.active_handles > 0
            || self.active_reqs > 0
            || !self.pending.is_empty()
            || !self.closing.is_empty()
    }

    /// Loop time in milliseconds, cached at the start of each iteration
    /// and after polling. Timer deadlines are in this clock.
    pub fn now(&self) -> u64 {
        self.now_ms
    }

    /// How many iterations the loop has begun: equal values mean the same
    /// iteration (what a layer reads to tell "read in this pass" from
    /// "read earlier").
    pub fn poll_count(&self) -> u64 {
        self.polls
    }

    /// Refreshes `now()` from the monotonic clock.
    pub fn update_time(&mut self) {
        self.tick();
    }

    /// `update_time`, returning the clock read in nanoseconds.
    #[inline]
    pub(crate) fn tick(&mut self) -> u64 {
        let ns = sys::monotonic_ns();
        self.now_ms = ns / 1_000_000;
        self.now_ns = ns;
        ns
    }

    /// The monotonic clock in nanoseconds (same clock as `now()`).
    pub fn hrtime() -> u64 {
        sys::monotonic_ns()
    }

    /// The epoll fd, for embedding this loop in another one.
    pub fn backend_fd(&self) -> RawFd {
        self.poller.raw_fd()
    }

    /// Queues `cb` for the next pending phase. Layers above use this to
    /// deliver completions (a write, a connect) outside the call that
    /// started them. Callbacks queued from the pending phase run in the next
    /// iteration.
    pub fn queue_pending(&mut self, cb: impl FnOnce(&mut Loop) + 'static) {
        self.pending.push_back(Box::new(cb));
    }

    /// Runs `cb` in the closing phase of this iteration (of the next one
    /// when called from the closing phase), in the closing queue with the
    /// close callbacks of handles (last queued first). Until it has run, it keeps
    /// the loop alive and the poll from blocking, as a closing handle does:
    /// for a layer above that must reach the closing phase without a
    /// handle of its own to close (a stream that has no socket yet).
    pub fn defer_to_closing(&mut self, cb: impl FnOnce(&mut Loop) + 'static) {
        self.closing.push(Closing::Deferred(Box::new(cb)));
    }

    /// Closing phase: runs the close callbacks of every handle closed
    /// before this phase began (and the deferred callbacks), last closed
    /// first, as libuv does (its closing list is pushed at the front);
    /// handles closed by those callbacks wait for the next iteration.
    pub(crate) fn run_closing(&mut self) {
        let mut list = std::mem::take(&mut self.closing_spare);
        std::mem::swap(&mut list, &mut self.closing);
        for c in list.drain(..).rev() {
            match c {
                Closing::Handle(id) => self.finish_close(id),
                Closing::Deferred(cb) => cb(self),
            }
        }
        self.closing_spare = list;
    }

    /// Pending phase; true if anything ran.
    fn run_pending(&mut self) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        let mut queue = std::mem::take(&mut self.pending_spare);
        std::mem::swap(&mut queue, &mut self.pending);
        while let Some(cb) = queue.pop_front() {
            cb(self);
        }
        self.pending_spare = queue;
        true
    }

    /// The wake-up eventfd fired: finished work, caught signals, asyncs.
    pub(crate) fn on_wake(&mut self) {
        self.shared.drain();
        self.run_work_done();
        self.run_signals();
        self.run_asyncs();
    }

    /// Shared state a layer above keeps in the loop (e.g. `eddy-net`'s
    /// stream table), one value per type.
    pub fn extension<T: 'static>(&self) -> Option<&T> {
        self.extensions
            .iter()
            .find(|(t, _)| *t == TypeId::of::<T>())
            .and_then(|(_, v)| v.downcast_ref())
    }

    /// The extension of type `T`, mutably, if one was inserted.
    pub fn extension_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.extensions
            .iter_mut()
            .find(|(t, _)| *t == TypeId::of::<T>())
            .and_then(|(_, v)| v.downcast_mut())
    }

    /// The extension in `key`'s slot, made with `init` the first time.
    #[inline]
    pub fn keyed_extension<T: 'static>(
        &mut self,
        key: &'static ExtensionKey<T>,
        init: impl FnOnce() -> T,
    ) -> &mut T {
        self.keyed.get_or_insert_with(key, init)
    }

    /// The extension in `key`'s slot, if it was made.
    #[inline]
    pub fn keyed_extension_ref<T: 'static>(&self, key: &'static ExtensionKey<T>) -> Option<&T> {
        self.keyed.get(key)
    }

    /// Runs the callback in the slot `slot(lp, id)` finds, taken out of it
    /// meanwhile so that it can use `&mut Loop` (and close or restart its
    /// own handle); then puts it back, unless the slot is gone (the handle
    /// died) or holds a new callback (the old one installed a successor).
    /// `slot` is asked twice, before and after, and answers `None` for a
    /// dead handle.
    /// Returns what `run` returned, or `None` when there was no callback.
    ///
    /// ```
    /// use eddy_loop::{ExtensionKey, Id, Loop, Table};
    ///
    /// struct Thing {
    ///     on_poke: Option<Box<dyn FnMut(&mut Loop, Id<Thing>)>>,
    /// }
    /// static THINGS: ExtensionKey<Table<Thing>> = ExtensionKey::new();
    ///
    /// let mut lp = Loop::new()?;
    /// let id = lp.keyed_extension(&THINGS, Table::new).insert(Thing {
    ///     // The callback may remove its own entry: it is not put back then.
    ///     on_poke: Some(Box::new(|lp, me| {
    ///         lp.keyed_extension(&THINGS, Table::new).remove(me);
    ///     })),
    /// });
    /// fn slot(lp: &mut Loop, id: Id<Thing>) -> Option<&mut Option<Box<dyn FnMut(&mut Loop, Id<Thing>)>>> {
    ///     Some(&mut lp.keyed_extension(&THINGS, Table::new).get_mut(id)?.on_poke)
    /// }
    /// assert_eq!(lp.with_cb(id, slot, |lp, cb| cb(lp, id)), Some(()));
    /// // A closure that captures nothing serves as well.
    /// let again = lp.with_cb(
    ///     id,
    ///     |lp, id| Some(&mut lp.keyed_extension(&THINGS, Table::new).get_mut(id)?.on_poke),
    ///     |lp, cb| cb(lp, id),
    /// );
    /// assert_eq!(again, None, "the entry is gone");
    /// # Ok::<(), eddy_loop::Error>(())
    /// ```
    #[inline]
    pub fn with_cb<K: Copy, C, R>(
        &mut self,
        id: K,
        slot: fn(&mut Loop, K) -> Option<&mut Option<C>>,
        run: impl FnOnce(&mut Loop, &mut C) -> R,
    ) -> Option<R> {
        let mut cb = slot(self, id)?.take()?;
        let out = run(self, &mut cb);
        if let Some(s) = slot(self, id) {
            if s.is_none() {
                *s = Some(cb);
            }
        }
        Some(out)
    }

    /// The extension of type `T`, made with `init` the first time.
    pub fn extension_or_insert_with<T: 'static>(&mut self, init: impl FnOnce() -> T) -> &mut T {
        let pos = match self
            .extensions
            .iter()
            .position(|(t, _)| *t == TypeId::of::<T>())
        {
            Some(pos) => pos,
            None => {
                self.extensions.push((TypeId::of::<T>(), Box::new(init())));
                self.extensions.len() - 1
            }
        };
        self.extensions[pos]
            .1
            .downcast_mut()
            .expect("extension stored under its own TypeId")
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        self.drop_signals();
    }
}

impl std::fmt::Debug for Loop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loop")
            .field("handles", &self.handles.len())
            .field("active_handles", &self.active_handles)
            .field("active_reqs", &self.active_reqs)
            .field("timers", &self.timers.len())
            .field("now", &self.now_ms)
            .finish()
    }
}
