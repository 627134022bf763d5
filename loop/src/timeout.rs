//! Self-freeing timers, as Node's `setTimeout` / `setInterval`.
//!
//! A [`Timer`] handle is the libuv way: made once, started and stopped many
//! times, and freed only by `close`. A program that makes one per request
//! and forgets to close it leaks it for ever. [`Loop::set_timeout`] makes a
//! timer that closes itself right before its callback runs, so its slot is
//! freed in the closing phase of the same iteration; [`Loop::set_interval`]
//! repeats until [`Loop::clear_timer`]. Both return a [`TimeoutId`].
//!
//! **Stale ids are harmless.** A `TimeoutId` names one timer for its whole
//! life and never another: once the timeout has fired (or was cleared),
//! every call with its id is a no-op that answers `false`, even after the
//! slot was reused by a newer timer. So `clear_timer` may be called at any
//! time, twice, or from inside the callback itself.

use crate::handle::Handle;
use crate::timer::Timer;
use crate::Loop;

/// The id of a timeout or interval made by [`Loop::set_timeout`] or
/// [`Loop::set_interval`]: small, `Copy`, generational (see the module
/// docs: a stale id is a harmless no-op).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimeoutId(Timer);

impl Loop {
    /// Runs `cb` once, `ms` milliseconds after [`Loop::now`] (Node's
    /// `setTimeout`). The timer frees itself: it is closed just before `cb`
    /// runs, so nothing is left of it after this iteration; `cb` gets the
    /// id, already stale (as every callback gets its handle).
    /// `ms == 0` fires in the next timer phase. Cancel with
    /// [`Loop::clear_timer`].
    ///
    /// ```
    /// use eddy_loop::{Loop, RunMode};
    ///
    /// let mut lp = Loop::new()?;
    /// let id = lp.set_timeout(5, |lp, _| println!("5 ms later: {}", lp.now()));
    /// lp.run(RunMode::Default);
    /// assert!(!id.is_pending(&lp));
    /// assert!(!lp.clear_timer(id), "a fired timeout is a stale id");
    /// # Ok::<(), eddy_loop::Error>(())
    /// ```
    pub fn set_timeout(
        &mut self,
        ms: u64,
        cb: impl FnOnce(&mut Loop, TimeoutId) + 'static,
    ) -> TimeoutId {
        let mut cb = Some(cb);
        let timer = Timer::new(self);
        let started = timer.start(self, ms, 0, move |lp, t| {
            // Closed first: the callback may set new timeouts, and a
            // `clear_timer` of its own id is then a stale no-op.
            let _ = lp.close_handle(t.0, Timer::KIND, None);
            if let Some(cb) = cb.take() {
                cb(lp, TimeoutId(t));
            }
        });
        debug_assert!(started.is_ok(), "a new timer starts");
        TimeoutId(timer)
    }

    /// Runs `cb` every `ms` milliseconds (at least 1, as Node clamps it)
    /// until [`Loop::clear_timer`] is called with the id, which `cb` gets
    /// too, so an interval can stop itself. The schedule does not drift:
    /// the next deadline follows the previous one, not the callback's
    /// running time.
    ///
    /// ```
    /// use eddy_loop::{Loop, RunMode};
    ///
    /// let mut lp = Loop::new()?;
    /// let mut ticks = 0;
    /// lp.set_interval(1, move |lp, id| {
    ///     ticks += 1;
    ///     if ticks == 3 {
    ///         lp.clear_timer(id);
    ///     }
    /// });
    /// lp.run(RunMode::Default); // returns once the interval is cleared
    /// # Ok::<(), eddy_loop::Error>(())
    /// ```
    pub fn set_interval(
        &mut self,
        ms: u64,
        mut cb: impl FnMut(&mut Loop, TimeoutId) + 'static,
    ) -> TimeoutId {
        let ms = ms.max(1);
        let timer = Timer::new(self);
        let started = timer.start(self, ms, ms, move |lp, t| cb(lp, TimeoutId(t)));
        debug_assert!(started.is_ok(), "a new timer starts");
        TimeoutId(timer)
    }

    /// Cancels a timeout or interval and frees it (Node's `clearTimeout` /
    /// `clearInterval`). Returns whether it was still pending; a fired
    /// timeout, a cleared one or any other stale id gives `false` and
    /// touches nothing.
    pub fn clear_timer(&mut self, id: TimeoutId) -> bool {
        self.close_handle(id.0 .0, Timer::KIND, None).is_ok()
    }
}

impl TimeoutId {
    /// Whether the timeout has neither fired nor been cleared (for an
    /// interval: not cleared yet).
    pub fn is_pending(self, lp: &Loop) -> bool {
        self.0.is_active(lp)
    }

    /// Lets the timeout keep the loop alive (the default). False if stale.
    pub fn ref_(self, lp: &mut Loop) -> bool {
        self.0.ref_(lp).is_ok()
    }

    /// An unref'd timeout still fires, but does not keep `run` going by
    /// itself (Node's `timeout.unref()`). False if stale.
    pub fn unref(self, lp: &mut Loop) -> bool {
        self.0.unref(lp).is_ok()
    }

    /// Whether the timeout keeps the loop alive (Node's `hasRef`).
    pub fn has_ref(self, lp: &Loop) -> bool {
        self.0.has_ref(lp) && self.is_pending(lp)
    }
}
