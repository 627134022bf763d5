//! Signal handles: run callbacks on the loop thread when the process gets a
//! signal. Several handles, on one loop or on several, may watch the same
//! signal.
//!
//! Deliveries are counted, as libuv does: a signal caught twice before the
//! loop looks runs each handle's callback twice (handles in start order,
//! one round per delivery). What the kernel itself merges (a standard
//! signal raised again while still pending) arrives once, as anywhere. A
//! handle started with [`Signal::start_oneshot`] is stopped after its
//! first callback.
//!
//! The process has one signal pipe, made once and never closed, so the
//! handler can write to it without racing a close. Every loop with a
//! started signal handle watches its read end. Whichever loop reads a
//! signal number records it for every loop that watches that signal and
//! wakes them; each loop then runs its own callbacks.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::handle::{handle_type, Handle, HandleId, HandleKind};
use crate::poll::{token, SIGNAL_INDEX};
use crate::sys::{self, SavedAction};
use crate::wake::{LoopShared, NSIG};
use crate::Loop;

handle_type!(
    /// A watcher of a process signal, like libuv's `uv_signal_t`.
    ///
    /// Deliveries are counted, not coalesced: a signal caught twice before
    /// the loop looks runs the callback twice (libuv's behaviour); only
    /// what the kernel merges itself (a standard signal raised again while
    /// still pending) arrives once. [`start_oneshot`](Signal::start_oneshot)
    /// gives one callback and stops.
    Signal,
    "signal"
);

pub(crate) type SignalCb = Box<dyn FnMut(&mut Loop, Signal, i32)>;

pub(crate) struct SignalState {
    signum: i32,
    cb: Option<SignalCb>,
    /// Stop after the next callback (`start_oneshot`).
    oneshot: bool,
    /// Counts starts, so a oneshot callback that restarts its handle is
    /// not undone by the stop that follows it.
    starts: u32,
}

/// The process-wide side: the pipe and who watches what.
struct Hub {
    read_end: OwnedFd,
    _write_end: OwnedFd,
    state: Mutex<HubState>,
}

struct HubState {
    /// One entry per started signal handle, on any loop.
    watchers: Vec<(i32, Arc<LoopShared>)>,
    saved: [Option<SavedAction>; NSIG],
}

static HUB: OnceLock<std::result::Result<Hub, i32>> = OnceLock::new();

fn hub() -> Result<&'static Hub> {
    let made = HUB.get_or_init(|| {
        let (read_end, write_end) = sys::pipe().map_err(|e| e.raw_os_error().unwrap_or(0))?;
        sys::set_signal_pipe(write_end.as_raw_fd());
        Ok(Hub {
            read_end,
            _write_end: write_end,
            state: Mutex::new(HubState {
                watchers: Vec::new(),
                saved: [None; NSIG],
            }),
        })
    });
    made.as_ref().map_err(|&errno| {
        Error::os(
            "create signal pipe",
            std::io::Error::from_raw_os_error(errno),
        )
    })
}

fn lock(hub: &Hub) -> std::sync::MutexGuard<'_, HubState> {
    // The state stays consistent even if a holder panicked mid-update: each
    // update is a single push, remove or assignment.
    hub.state.lock().unwrap_or_else(|p| p.into_inner())
}

fn cb_slot(lp: &mut Loop, id: HandleId) -> Option<&mut Option<SignalCb>> {
    match lp.open_kind(id)? {
        HandleKind::Signal(s) => Some(&mut s.cb),
        _ => None,
    }
}

/// For a oneshot handle, its start count.
fn oneshot_starts(lp: &Loop, id: HandleId) -> Option<u32> {
    match &lp.entry(id)?.kind {
        HandleKind::Signal(s) if s.oneshot => Some(s.starts),
        _ => None,
    }
}

fn signum_of(lp: &Loop, id: HandleId) -> Option<i32> {
    match &lp.entry(id)?.kind {
        HandleKind::Signal(s) => Some(s.signum),
        _ => None,
    }
}

impl Signal {
    /// A new signal handle, not yet watching a signal.
    pub fn new(lp: &mut Loop) -> Signal {
        Signal(lp.insert_handle(HandleKind::Signal(SignalState {
            signum: 0,
            cb: None,
            oneshot: false,
            starts: 0,
        })))
    }

    /// Like `start`, but the handle stops after its first callback
    /// (`uv_signal_start_oneshot`): several deliveries before the loop
    /// looks still give one callback. Unlike libuv, which resets the
    /// disposition as the signal arrives, the signal stays caught until
    /// the callback has run (then the previous disposition is restored
    /// once no handle watches it), so a second delivery cannot kill the
    /// process meanwhile.
    pub fn start_oneshot(
        self,
        lp: &mut Loop,
        signum: i32,
        cb: impl FnMut(&mut Loop, Signal, i32) + 'static,
    ) -> Result<()> {
        self.start_with(lp, signum, Box::new(cb), true)
    }

    /// Starts watching `signum` (SIGKILL and SIGSTOP cannot be watched);
    /// `cb` runs once per delivery. Restarting with another signal stops
    /// watching the first.
    pub fn start(
        self,
        lp: &mut Loop,
        signum: i32,
        cb: impl FnMut(&mut Loop, Signal, i32) + 'static,
    ) -> Result<()> {
        self.start_with(lp, signum, Box::new(cb), false)
    }

    fn start_with(self, lp: &mut Loop, signum: i32, cb: SignalCb, oneshot: bool) -> Result<()> {
        lp.live_mut(self.0, Self::KIND)?;
        if signum <= 0
            || signum as usize >= NSIG
            || signum == libc::SIGKILL
            || signum == libc::SIGSTOP
        {
            return Err(Error::InvalidSignal(signum));
        }
        if self.is_active(lp) && signum_of(lp, self.0) != Some(signum) {
            lp.signal_stop(self.0);
        }
        if !self.is_active(lp) {
            lp.signal_subscribe(signum)?;
            lp.signal_handles.push(self.0);
            lp.set_active(self.0, true);
        }
        if let HandleKind::Signal(s) = &mut lp.live_mut(self.0, Self::KIND)?.kind {
            s.signum = signum;
            s.cb = Some(cb);
            s.oneshot = oneshot;
            s.starts = s.starts.wrapping_add(1);
        }
        Ok(())
    }

    /// Stops watching; the signal's previous disposition is restored once
    /// no handle in the process watches it.
    pub fn stop(self, lp: &mut Loop) -> Result<()> {
        lp.live_mut(self.0, Self::KIND)?;
        lp.signal_stop(self.0);
        Ok(())
    }

    /// The signal being watched (0 before the first start).
    pub fn signum(self, lp: &Loop) -> Result<i32> {
        match lp.entry(self.0) {
            Some(e) if e.is_open() => Ok(signum_of(lp, self.0).unwrap_or(0)),
            _ => Err(Error::Closed(Self::KIND)),
        }
    }
}

impl Loop {
    fn signal_subscribe(&mut self, signum: i32) -> Result<()> {
        let hub = hub()?;
        {
            let mut state = lock(hub);
            if !state.watchers.iter().any(|(s, _)| *s == signum) {
                let saved = sys::install_signal_handler(signum)
                    .map_err(|e| Error::os(format!("sigaction {signum}"), e))?;
                state.saved[signum as usize] = Some(saved);
            }
            state.watchers.push((signum, self.shared.clone()));
        }
        if self.signal_handles.is_empty() {
            let fd = hub.read_end.as_raw_fd();
            let events = libc::EPOLLIN as u32;
            if let Err(e) = self
                .poller
                .ctl(libc::EPOLL_CTL_ADD, fd, events, token(SIGNAL_INDEX, 0))
            {
                self.signal_unsubscribe(signum);
                return Err(Error::os("epoll_ctl add signal pipe", e));
            }
        }
        Ok(())
    }

    fn signal_unsubscribe(&mut self, signum: i32) {
        let Ok(hub) = hub() else { return };
        let mut state = lock(hub);
        let me = &self.shared;
        if let Some(pos) = state
            .watchers
            .iter()
            .position(|(s, l)| *s == signum && Arc::ptr_eq(l, me))
        {
            state.watchers.swap_remove(pos);
        }
        if !state.watchers.iter().any(|(s, _)| *s == signum) {
            if let Some(saved) = state.saved[signum as usize].take() {
                let _ = sys::restore_signal_handler(signum, saved);
            }
        }
    }

    pub(crate) fn signal_stop(&mut self, id: HandleId) {
        let active = self.entry(id).is_some_and(|e| e.active);
        let Some(signum) = signum_of(self, id) else {
            return;
        };
        if !active {
            return;
        }
        self.signal_handles.retain(|h| *h != id);
        self.set_active(id, false);
        self.signal_unsubscribe(signum);
        if self.signal_handles.is_empty() {
            if let Ok(hub) = hub() {
                let _ = self
                    .poller
                    .ctl(libc::EPOLL_CTL_DEL, hub.read_end.as_raw_fd(), 0, 0);
            }
        }
    }

    /// The signal pipe is readable: hand each signal to every loop that
    /// watches it, then run this loop's callbacks.
    pub(crate) fn on_signal_pipe(&mut self) {
        let Ok(hub) = hub() else { return };
        let mut buf = [0u8; 64];
        while let Ok(n) = sys::retry_eintr(|| sys::read(hub.read_end.as_fd(), &mut buf)) {
            if n == 0 {
                break;
            }
            let state = lock(hub);
            let mut noted: Vec<&Arc<LoopShared>> = Vec::new();
            for &signum in &buf[..n] {
                // Once per loop and delivery, however many of its handles
                // watch the signal (each of them is run per delivery).
                noted.clear();
                for (s, shared) in &state.watchers {
                    if *s == i32::from(signum) && !noted.iter().any(|l| Arc::ptr_eq(l, shared)) {
                        noted.push(shared);
                        shared.note_signal(signum as usize);
                        if !Arc::ptr_eq(shared, &self.shared) {
                            shared.wake();
                        }
                    }
                }
            }
        }
        self.run_signals();
    }

    /// Runs the callbacks of handles whose signal arrived since last time:
    /// one round over the handles per delivery.
    pub(crate) fn run_signals(&mut self) {
        if !self.shared.signals_caught.swap(false, Ordering::AcqRel) {
            return;
        }
        for signum in 1..NSIG {
            let count = self.shared.signal_counts[signum].swap(0, Ordering::AcqRel);
            for _ in 0..count {
                let handles: Vec<HandleId> = self.signal_handles.clone();
                for id in handles {
                    let live = self.entry(id).is_some_and(|e| e.active && e.is_open());
                    if !live || signum_of(self, id) != Some(signum as i32) {
                        continue;
                    }
                    let starts = oneshot_starts(self, id);
                    self.with_cb(id, cb_slot, |lp, cb| cb(lp, Signal(id), signum as i32));
                    if starts.is_some() && oneshot_starts(self, id) == starts {
                        self.signal_stop(id);
                    }
                }
            }
        }
    }

    /// Stops every signal handle, so a dropped loop leaves no subscription.
    pub(crate) fn drop_signals(&mut self) {
        for id in self.signal_handles.clone() {
            self.signal_stop(id);
        }
    }
}
