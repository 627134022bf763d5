//! Handles: small `Copy` ids into the loop's handle table, and what every
//! kind of handle shares (active, referenced, closing, the close callback).
//!
//! The table is the one generational [`Table`](crate::Table) every layer
//! uses: an id whose handle was closed (and whose slot may hold a new
//! handle now) finds nothing, so actions fail with [`Error::Closed`] and
//! predicates answer false.

use crate::async_handle::AsyncState;
use crate::error::{Error, Result};
use crate::io::IoState;
use crate::phase::PhaseState;
use crate::signal::SignalState;
use crate::table::Id;
use crate::timer::TimerState;
use crate::Loop;

/// The raw identity of a handle of any kind: its slot in the loop's handle
/// table plus the slot's generation. The typed handles ([`Timer`](crate::Timer),
/// [`Io`](crate::Io), ...) wrap one; [`Loop::walk`] hands them out.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct HandleId(pub(crate) Id<HandleEntry>);

impl HandleId {
    /// The slot index (unique among live handles; reused after a close).
    pub fn index(self) -> u32 {
        self.0.index()
    }

    /// The slot's generation when this handle was made.
    pub fn generation(self) -> u32 {
        self.0.generation()
    }

    /// Closes the handle, whatever its type (`uv_close` from a `uv_walk`):
    /// as [`Handle::close`], `cb` gets the id in the closing phase.
    pub fn close(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, HandleId) + 'static,
    ) -> Result<()> {
        let kind = lp.handle_type(self).map_or("handle", HandleType::name);
        lp.close_handle(self, kind, Some(Box::new(move |lp| cb(lp, self))))
    }
}

/// What kind of handle a [`HandleId`] names, as libuv's `uv_handle_type`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum HandleType {
    /// A [`Timer`](crate::Timer).
    Timer,
    /// An [`Idle`](crate::Idle) handle.
    Idle,
    /// A [`Prepare`](crate::Prepare) handle.
    Prepare,
    /// A [`Check`](crate::Check) handle.
    Check,
    /// An [`Io`](crate::Io) watcher (libuv's `uv_poll_t`).
    Io,
    /// An [`Async`](crate::Async) handle.
    Async,
    /// A [`Signal`](crate::Signal) handle.
    Signal,
}

impl HandleType {
    /// The kind's name, as in errors ("timer handle is closed").
    pub fn name(self) -> &'static str {
        match self {
            HandleType::Timer => "timer",
            HandleType::Idle => "idle",
            HandleType::Prepare => "prepare",
            HandleType::Check => "check",
            HandleType::Io => "io",
            HandleType::Async => "async",
            HandleType::Signal => "signal",
        }
    }
}

pub(crate) type CloseCb = Box<dyn FnOnce(&mut Loop)>;

/// An entry of the loop's closing queue.
pub(crate) enum Closing {
    /// A closed handle: its close callback runs, then its slot is freed.
    Handle(HandleId),
    /// A callback given to `Loop::defer_to_closing`.
    Deferred(CloseCb),
}

/// Where a handle is in its life. `Closing` lasts from `close` until its
/// close callback has returned, as libuv's `uv_is_closing`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Life {
    Open,
    Closing,
}

pub(crate) struct HandleEntry {
    pub active: bool,
    pub referenced: bool,
    pub life: Life,
    pub close_cb: Option<CloseCb>,
    pub kind: HandleKind,
}

impl HandleEntry {
    /// Whether this handle keeps the loop alive by itself.
    fn keeps_alive(&self) -> bool {
        self.active && self.referenced && self.life == Life::Open
    }

    pub fn is_open(&self) -> bool {
        self.life == Life::Open
    }
}

pub(crate) enum HandleKind {
    Timer(TimerState),
    Phase(PhaseState),
    Io(IoState),
    Async(AsyncState),
    Signal(SignalState),
}

/// What every loop handle can do. Implemented by [`Timer`](crate::Timer),
/// [`Idle`](crate::Idle), [`Prepare`](crate::Prepare), [`Check`](crate::Check),
/// [`Io`](crate::Io), [`Async`](crate::Async) and [`Signal`](crate::Signal).
///
/// On a stale handle (closed, its close callback run) actions fail with
/// [`Error::Closed`] and predicates answer false.
pub trait Handle: Copy + 'static {
    /// The kind's name, used in errors ("timer handle is closed").
    const KIND: &'static str;

    /// The raw id.
    fn id(self) -> HandleId;

    /// The typed handle for a raw id (not checked: a wrong kind is a stale
    /// handle whose calls fail with [`Error::Closed`]).
    #[doc(hidden)]
    fn from_id(id: HandleId) -> Self;

    /// Stops the handle and closes it (libuv's `uv_close`). It never calls
    /// back again except for `cb`, which gets the handle and runs in the
    /// closing phase of this iteration (or the next, when closed from the
    /// closing phase); after that the id is stale.
    fn close(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop, Self) + 'static) -> Result<()> {
        lp.close_handle(
            self.id(),
            Self::KIND,
            Some(Box::new(move |lp| cb(lp, self))),
        )
    }

    /// Whether the handle is started (and not closing), as `uv_is_active`.
    fn is_active(self, lp: &Loop) -> bool {
        lp.entry(self.id()).is_some_and(|e| e.active && e.is_open())
    }

    /// Whether `close` was called and the close callback has not returned
    /// yet (true inside the close callback too), as `uv_is_closing`.
    fn is_closing(self, lp: &Loop) -> bool {
        lp.entry(self.id()).is_some_and(|e| !e.is_open())
    }

    /// Lets the handle keep the loop alive while it is active (the default).
    fn ref_(self, lp: &mut Loop) -> Result<()> {
        lp.set_ref(self.id(), Self::KIND, true)
    }

    /// An unref'd handle still runs, but does not keep `run` from returning.
    fn unref(self, lp: &mut Loop) -> Result<()> {
        lp.set_ref(self.id(), Self::KIND, false)
    }

    /// Whether the handle is referenced (false for a stale handle).
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
            fn from_id(id: $crate::handle::HandleId) -> $name {
                $name(id)
            }
        }
    };
}
pub(crate) use handle_type;

impl Loop {
    pub(crate) fn insert_handle(&mut self, kind: HandleKind) -> HandleId {
        HandleId(self.handles.insert(HandleEntry {
            active: false,
            referenced: true,
            life: Life::Open,
            close_cb: None,
            kind,
        }))
    }

    /// The entry for `id`, closing or not; None when stale.
    #[inline]
    pub(crate) fn entry(&self, id: HandleId) -> Option<&HandleEntry> {
        self.handles.get(id.0)
    }

    /// The entry for a handle that is neither stale nor closing.
    #[inline]
    pub(crate) fn live(&self, id: HandleId, kind: &'static str) -> Result<&HandleEntry> {
        match self.handles.get(id.0) {
            Some(e) if e.is_open() => Ok(e),
            _ => Err(Error::Closed(kind)),
        }
    }

    /// The entry for a handle that is neither stale nor closing, mutably.
    #[inline]
    pub(crate) fn live_mut(
        &mut self,
        id: HandleId,
        kind: &'static str,
    ) -> Result<&mut HandleEntry> {
        match self.handles.get_mut(id.0) {
            Some(e) if e.is_open() => Ok(e),
            _ => Err(Error::Closed(kind)),
        }
    }

    /// The kind of an open handle's state, for `with_cb` slot functions:
    /// None when stale or closing, so a callback is neither taken from nor
    /// put back into a closing handle.
    #[inline]
    pub(crate) fn open_kind(&mut self, id: HandleId) -> Option<&mut HandleKind> {
        match self.handles.get_mut(id.0) {
            Some(e) if e.is_open() => Some(&mut e.kind),
            _ => None,
        }
    }

    /// Changes a flag of an entry, keeping the count of handles that keep
    /// the loop alive in step.
    fn update_flags(&mut self, id: HandleId, change: impl FnOnce(&mut HandleEntry)) {
        let Some(e) = self.handles.get_mut(id.0) else {
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
        self.update_flags(id, |e| e.active = active);
    }

    pub(crate) fn set_ref(
        &mut self,
        id: HandleId,
        kind: &'static str,
        referenced: bool,
    ) -> Result<()> {
        self.live_mut(id, kind)?;
        self.update_flags(id, |e| e.referenced = referenced);
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
        self.update_flags(id, |e| {
            e.life = Life::Closing;
            e.close_cb = cb;
        });
        self.closing.push(Closing::Handle(id));
        Ok(())
    }

    /// Kind-specific teardown shared by `stop` and `close`.
    fn stop_handle(&mut self, id: HandleId) {
        let Some(e) = self.handles.get(id.0) else {
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

    /// The closing phase, for one handle: runs its close callback (during
    /// which the handle `is_closing`), then frees its slot.
    pub(crate) fn finish_close(&mut self, id: HandleId) {
        let cb = self.handles.get_mut(id.0).and_then(|e| e.close_cb.take());
        if let Some(cb) = cb {
            cb(self);
        }
        self.handles.remove(id.0);
    }

    /// The type of the handle `id` names, unless it is stale.
    pub fn handle_type(&self, id: HandleId) -> Option<HandleType> {
        let e = self.entry(id)?;
        Some(match &e.kind {
            HandleKind::Timer(_) => HandleType::Timer,
            HandleKind::Phase(p) => p.handle_type(),
            HandleKind::Io(_) => HandleType::Io,
            HandleKind::Async(_) => HandleType::Async,
            HandleKind::Signal(_) => HandleType::Signal,
        })
    }

    /// The handle `id` names as a typed handle, if it is of that type
    /// (`lp.handle_as::<Timer>(id)`).
    pub fn handle_as<H: Handle>(&self, id: HandleId) -> Option<H> {
        let t = self.handle_type(id)?;
        (t.name() == H::KIND).then(|| H::from_id(id))
    }

    /// Calls `visit` with every handle that is not yet freed (closing ones
    /// included, as `uv_walk`), in slot order; for debugging, and for
    /// closing everything a program opened before the last `run`. The
    /// visitor may close handles, its own argument included.
    pub fn walk(&mut self, mut visit: impl FnMut(&mut Loop, HandleId, HandleType)) {
        for id in self.handles.ids() {
            let id = HandleId(id);
            if let Some(t) = self.handle_type(id) {
                visit(self, id, t);
            }
        }
    }
}
