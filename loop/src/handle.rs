//! Handles: small `Copy` ids into the loop's handle slab, and what every kind
//! of handle shares (active, referenced, closing, the close callback).
//!
//! An id carries the generation of the slot it was issued for; a slot that
//! is freed and reused gets a new generation, so an old id fails with
//! [`Error::Closed`] instead of reaching the new handle.

use crate::async_handle::AsyncState;
use crate::error::{Error, Result};
use crate::io::IoState;
use crate::phase::PhaseState;
use crate::signal::SignalState;
use crate::timer::TimerState;
use crate::Loop;

/// The raw identity of a handle: a slab index plus the slot's generation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct HandleId {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

pub(crate) type CloseCb = Box<dyn FnOnce(&mut Loop)>;

pub(crate) struct HandleEntry {
    pub gen: u32,
    pub active: bool,
    pub referenced: bool,
    pub closing: bool,
    pub close_cb: Option<CloseCb>,
    pub kind: HandleKind,
}

impl HandleEntry {
    /// Whether this handle keeps the loop alive by itself.
    fn keeps_alive(&self) -> bool {
        self.active && self.referenced && !self.closing
    }
}

pub(crate) enum HandleKind {
    Timer(TimerState),
    Phase(PhaseState),
    Io(IoState),
    Async(AsyncState),
    Signal(SignalState),
}

/// What every handle can do. Implemented by [`Timer`](crate::Timer),
/// [`Idle`](crate::Idle), [`Prepare`](crate::Prepare), [`Check`](crate::Check),
/// [`Io`](crate::Io), [`Async`](crate::Async) and [`Signal`](crate::Signal).
pub trait Handle: Copy {
    /// The kind's name, used in errors ("timer handle is closed").
    const KIND: &'static str;

    /// The raw id.
    fn id(self) -> HandleId;

    /// Stops the handle and closes it. It never calls back again except for
    /// `cb`, which runs in the closing phase of this or the next iteration;
    /// after that the id is stale.
    fn close(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop) + 'static) -> Result<()> {
        lp.close_handle(self.id(), Self::KIND, Some(Box::new(cb)))
    }

    /// Whether the handle is started (and not closing).
    fn is_active(self, lp: &Loop) -> bool {
        lp.entry(self.id()).is_some_and(|e| e.active && !e.closing)
    }

    /// Whether `close` was called and the close callback has not run yet.
    fn is_closing(self, lp: &Loop) -> bool {
        lp.entry(self.id()).is_some_and(|e| e.closing)
    }

    /// Lets the handle keep the loop alive while it is active (the default).
    fn ref_(self, lp: &mut Loop) -> Result<()> {
        lp.set_ref(self.id(), Self::KIND, true)
    }

    /// An unref'd handle still runs, but does not keep `run` from returning.
    fn unref(self, lp: &mut Loop) -> Result<()> {
        lp.set_ref(self.id(), Self::KIND, false)
    }

    fn has_ref(self, lp: &Loop) -> bool {
        lp.entry(self.id()).is_some_and(|e| e.referenced)
    }
}

/// Declares a typed handle newtype over `HandleId` implementing [`Handle`].
macro_rules! handle_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub struct $name(pub(crate) $crate::handle::HandleId);

        impl $crate::handle::Handle for $name {
            const KIND: &'static str = $kind;
            fn id(self) -> $crate::handle::HandleId {
                self.0
            }
        }
    };
}
pub(crate) use handle_type;

impl Loop {
    pub(crate) fn insert_handle(&mut self, kind: HandleKind) -> HandleId {
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let index = self.handles.insert(HandleEntry {
            gen,
            active: false,
            referenced: true,
            closing: false,
            close_cb: None,
            kind,
        });
        HandleId {
            index: index as u32,
            gen,
        }
    }

    /// The entry for `id`, closing or not; None when stale.
    pub(crate) fn entry(&self, id: HandleId) -> Option<&HandleEntry> {
        self.handles
            .get(id.index as usize)
            .filter(|e| e.gen == id.gen)
    }

    /// The entry for a handle that is neither stale nor closing.
    pub(crate) fn live_mut(
        &mut self,
        id: HandleId,
        kind: &'static str,
    ) -> Result<&mut HandleEntry> {
        match self.handles.get_mut(id.index as usize) {
            Some(e) if e.gen == id.gen && !e.closing => Ok(e),
            _ => Err(Error::Closed(kind)),
        }
    }

    /// Changes a flag of a live entry, keeping the count of handles that keep
    /// the loop alive in step.
    fn update_flags(&mut self, index: u32, change: impl FnOnce(&mut HandleEntry)) {
        let Some(e) = self.handles.get_mut(index as usize) else {
            return;
        };
        let before = e.keeps_alive();
        change(e);
        let after = e.keeps_alive();
        match (before, after) {
            (false, true) => self.active_handles += 1,
            (true, false) => self.active_handles -= 1,
            _ => {}
        }
    }

    pub(crate) fn set_active(&mut self, id: HandleId, active: bool) {
        self.update_flags(id.index, |e| e.active = active);
    }

    pub(crate) fn set_ref(
        &mut self,
        id: HandleId,
        kind: &'static str,
        referenced: bool,
    ) -> Result<()> {
        self.live_mut(id, kind)?;
        self.update_flags(id.index, |e| e.referenced = referenced);
        Ok(())
    }

    pub(crate) fn close_handle(
        &mut self,
        id: HandleId,
        kind: &'static str,
        cb: Option<CloseCb>,
    ) -> Result<()> {
        self.live_mut(id, kind)?;
        self.stop_handle(id);
        self.update_flags(id.index, |e| {
            e.closing = true;
            e.close_cb = cb;
        });
        self.closing.push(id);
        Ok(())
    }

    /// Kind-specific teardown shared by `stop` and `close`.
    fn stop_handle(&mut self, id: HandleId) {
        let Some(e) = self.handles.get(id.index as usize) else {
            return;
        };
        match e.kind {
            HandleKind::Timer(_) => self.timer_stop(id),
            HandleKind::Phase(_) => self.phase_stop(id),
            HandleKind::Io(_) => self.io_stop(id),
            HandleKind::Async(_) => self.async_close(id),
            HandleKind::Signal(_) => self.signal_stop(id),
        }
    }

    /// Closing phase: frees every handle closed before this phase began, then
    /// runs its close callback. Handles closed by those callbacks wait for
    /// the next iteration, as in libuv.
    pub(crate) fn run_closing(&mut self) {
        let mut list = std::mem::take(&mut self.closing_spare);
        std::mem::swap(&mut list, &mut self.closing);
        for id in list.drain(..) {
            let entry = self.handles.remove(id.index as usize);
            if let Some(cb) = entry.close_cb {
                cb(self);
            }
        }
        self.closing_spare = list;
    }

    /// Takes a handle's callback out of its slot so it can run with `&mut Loop`.
    pub(crate) fn take_cb<C>(
        &mut self,
        id: HandleId,
        slot: fn(&mut HandleKind) -> Option<&mut Option<C>>,
    ) -> Option<C> {
        let e = self.handles.get_mut(id.index as usize)?;
        if e.gen != id.gen || e.closing {
            return None;
        }
        slot(&mut e.kind)?.take()
    }

    /// Puts a callback back after it ran, unless the handle died meanwhile or
    /// the callback installed a new one (e.g. restarted itself).
    pub(crate) fn restore_cb<C>(
        &mut self,
        id: HandleId,
        slot: fn(&mut HandleKind) -> Option<&mut Option<C>>,
        cb: C,
    ) {
        if let Some(e) = self.handles.get_mut(id.index as usize) {
            if e.gen == id.gen && !e.closing {
                if let Some(s) = slot(&mut e.kind) {
                    if s.is_none() {
                        *s = Some(cb);
                    }
                }
            }
        }
    }
}
