//! Async handles: wake the loop from any thread and run a callback on it.
//!
//! `AsyncSender::send` sets the handle's pending flag and, only if it was
//! clear, writes the loop's eventfd. The loop clears the flag *before*
//! running the callback, so a send that races with the callback leaves the
//! flag set and wakes the loop again: sends coalesce, but none is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::handle::{handle_type, Handle, HandleId, HandleKind};
use crate::wake::LoopShared;
use crate::Loop;

handle_type!(
    /// A cross-thread wake-up, like libuv's `uv_async_t`.
    Async,
    "async"
);

pub(crate) type AsyncCb = Box<dyn FnMut(&mut Loop, Async)>;

struct AsyncFlag {
    pending: AtomicBool,
    closed: AtomicBool,
}

pub(crate) struct AsyncState {
    cb: Option<AsyncCb>,
    flag: Arc<AsyncFlag>,
}

/// The `Send + Sync` half of an [`Async`]: clone it into other threads.
#[derive(Clone)]
pub struct AsyncSender {
    flag: Arc<AsyncFlag>,
    shared: Arc<LoopShared>,
}

impl AsyncSender {
    /// Asks the loop to run the handle's callback. Several sends before the
    /// callback runs coalesce into one call. Fails once the handle is closed.
    pub fn send(&self) -> Result<()> {
        if self.flag.closed.load(Ordering::Acquire) {
            return Err(Error::Closed(Async::KIND));
        }
        if !self.flag.pending.swap(true, Ordering::AcqRel) {
            self.shared.wake();
        }
        Ok(())
    }
}

fn cb_slot(lp: &mut Loop, id: HandleId) -> Option<&mut Option<AsyncCb>> {
    match lp.open_kind(id)? {
        HandleKind::Async(a) => Some(&mut a.cb),
        _ => None,
    }
}

fn flag(lp: &mut Loop, id: HandleId) -> Result<Arc<AsyncFlag>> {
    match &lp.live_mut(id, Async::KIND)?.kind {
        HandleKind::Async(a) => Ok(a.flag.clone()),
        _ => Err(Error::Closed(Async::KIND)),
    }
}

impl Async {
    /// Creates the handle, already started (as `uv_async_init` does).
    pub fn new(lp: &mut Loop, cb: impl FnMut(&mut Loop, Async) + 'static) -> Async {
        let id = lp.insert_handle(HandleKind::Async(AsyncState {
            cb: Some(Box::new(cb)),
            flag: Arc::new(AsyncFlag {
                pending: AtomicBool::new(false),
                closed: AtomicBool::new(false),
            }),
        }));
        lp.asyncs.push(id);
        lp.set_active(id, true);
        Async(id)
    }

    /// The `Send` half, for other threads to wake this handle with.
    pub fn sender(self, lp: &mut Loop) -> Result<AsyncSender> {
        Ok(AsyncSender {
            flag: flag(lp, self.0)?,
            shared: lp.shared.clone(),
        })
    }

    /// Resumes delivery after `stop`; a send made while stopped is
    /// delivered now.
    pub fn start(self, lp: &mut Loop) -> Result<()> {
        let flag = flag(lp, self.0)?;
        if !self.is_active(lp) {
            lp.asyncs.push(self.0);
            lp.set_active(self.0, true);
            if flag.pending.load(Ordering::Acquire) {
                lp.shared.wake();
            }
        }
        Ok(())
    }

    /// Stops delivery; sends are remembered until `start`.
    pub fn stop(self, lp: &mut Loop) -> Result<()> {
        flag(lp, self.0)?;
        lp.asyncs.retain(|h| *h != self.0);
        lp.set_active(self.0, false);
        Ok(())
    }
}

impl Loop {
    pub(crate) fn async_close(&mut self, id: HandleId) {
        if let Ok(flag) = flag(self, id) {
            flag.closed.store(true, Ordering::Release);
        }
        self.asyncs.retain(|h| *h != id);
        self.set_active(id, false);
    }

    /// Runs the callback of every started async handle that was sent to.
    pub(crate) fn run_asyncs(&mut self) {
        let mut list = std::mem::take(&mut self.async_scratch);
        list.extend_from_slice(&self.asyncs);
        for &id in &list {
            let pending = match self.entry(id) {
                Some(e) if e.active && e.is_open() => match &e.kind {
                    HandleKind::Async(a) => a.flag.pending.swap(false, Ordering::AcqRel),
                    _ => false,
                },
                _ => false,
            };
            if pending {
                self.with_cb(id, cb_slot, |lp, cb| cb(lp, Async(id)));
            }
        }
        list.clear();
        self.async_scratch = list;
    }
}
