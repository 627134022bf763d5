//! Timer handles and the timer phase.
//!
//! Deadlines are in loop time (`Loop::now`, milliseconds). Timers fire in
//! (deadline, start sequence) order. The phase first collects every timer
//! that is due, then fires them: a 0 ms timer re-armed from its own callback
//! is due again at once, but was not collected, so it fires in the next
//! iteration instead of spinning this one. A timer stopped (or restarted)
//! by an earlier callback of the phase does not fire.
//!
//! A repeating timer is re-armed *before* its callback, `repeat` after the
//! loop time of the phase (libuv's `uv_timer_again`): after a stall the
//! next interval is never shorter than `repeat`, and `due_in` inside the
//! callback reads `repeat`. Late iterations are not caught up.

use crate::error::{Error, Result};
use crate::handle::{handle_type, Handle, HandleId, HandleKind};
use crate::Loop;

handle_type!(
    /// A one-shot or repeating timer, like libuv's `uv_timer_t`.
    ///
    /// ```
    /// use eddy_loop::{Handle, Loop, RunMode, Timer};
    ///
    /// let mut lp = Loop::new()?;
    /// let ticker = Timer::new(&mut lp);
    /// let mut ticks = 0;
    /// // First after 1 ms, then every 2 ms; stops itself after three.
    /// ticker.start(&mut lp, 1, 2, move |lp, me| {
    ///     ticks += 1;
    ///     if ticks == 3 {
    ///         me.stop(lp).unwrap();
    ///     }
    /// })?;
    /// lp.run(RunMode::Default);
    /// assert!(!ticker.is_active(&lp));
    /// # Ok::<(), eddy_loop::Error>(())
    /// ```
    Timer,
    "timer"
);

pub(crate) type TimerCb = Box<dyn FnMut(&mut Loop, Timer)>;

pub(crate) struct TimerState {
    cb: Option<TimerCb>,
    deadline: u64,
    repeat: u64,
    /// Start sequence of the current arming; orders equal deadlines and
    /// identifies the arming a collected entry belongs to.
    seq: u64,
    /// Collected as due by the running timer phase, not yet fired.
    due: bool,
    started_once: bool,
}

fn cb_slot(lp: &mut Loop, id: HandleId) -> Option<&mut Option<TimerCb>> {
    match lp.open_kind(id)? {
        HandleKind::Timer(t) => Some(&mut t.cb),
        _ => None,
    }
}

fn state_ref(lp: &Loop, id: HandleId) -> Result<&TimerState> {
    match &lp.live(id, Timer::KIND)?.kind {
        HandleKind::Timer(t) => Ok(t),
        _ => Err(Error::Closed(Timer::KIND)),
    }
}

fn state(lp: &mut Loop, id: HandleId) -> Result<&mut TimerState> {
    match &mut lp.live_mut(id, Timer::KIND)?.kind {
        HandleKind::Timer(t) => Ok(t),
        _ => Err(Error::Closed(Timer::KIND)),
    }
}

impl Timer {
    /// A new timer, not yet started.
    pub fn new(lp: &mut Loop) -> Timer {
        Timer(lp.insert_handle(HandleKind::Timer(TimerState {
            cb: None,
            deadline: 0,
            repeat: 0,
            seq: 0,
            due: false,
            started_once: false,
        })))
    }

    /// Arms the timer to fire `timeout_ms` after the loop's `now()`, then,
    /// if `repeat_ms` is non-zero, again `repeat_ms` after each firing
    /// (measured from the loop time it fired at, as libuv: a late firing
    /// pushes the later ones back). Restarts an armed timer.
    pub fn start(
        self,
        lp: &mut Loop,
        timeout_ms: u64,
        repeat_ms: u64,
        cb: impl FnMut(&mut Loop, Timer) + 'static,
    ) -> Result<()> {
        let t = state(lp, self.0)?;
        t.cb = Some(Box::new(cb));
        t.repeat = repeat_ms;
        t.started_once = true;
        lp.timer_arm(self.0, timeout_ms);
        Ok(())
    }

    /// Stops the timer; its callback is kept for `again`.
    pub fn stop(self, lp: &mut Loop) -> Result<()> {
        state(lp, self.0)?;
        lp.timer_stop(self.0);
        Ok(())
    }

    /// libuv's `uv_timer_again`: if the timer repeats, re-arms it `repeat`
    /// from now (the idiom for an idle timeout pushed back on every read);
    /// if it does not repeat, does nothing.
    pub fn again(self, lp: &mut Loop) -> Result<()> {
        let t = state(lp, self.0)?;
        if !t.started_once {
            return Err(Error::TimerNotStarted);
        }
        let repeat = t.repeat;
        if repeat > 0 {
            lp.timer_arm(self.0, repeat);
        }
        Ok(())
    }

    /// Re-arms the timer to fire `timeout_ms` from now with the callback it
    /// was started with (say, from inside that callback, or to push back an
    /// idle timeout). Keeps the repeat interval.
    pub fn rearm(self, lp: &mut Loop, timeout_ms: u64) -> Result<()> {
        if !state(lp, self.0)?.started_once {
            return Err(Error::TimerNotStarted);
        }
        lp.timer_arm(self.0, timeout_ms);
        Ok(())
    }

    /// Sets the repeat interval used from the next firing (or `again`) on.
    pub fn set_repeat(self, lp: &mut Loop, repeat_ms: u64) -> Result<()> {
        state(lp, self.0)?.repeat = repeat_ms;
        Ok(())
    }

    /// The repeat interval in milliseconds (0: one-shot).
    pub fn repeat(self, lp: &Loop) -> Result<u64> {
        Ok(state_ref(lp, self.0)?.repeat)
    }

    /// Milliseconds until the timer fires (0 if due or not armed), as
    /// `uv_timer_get_due_in`.
    pub fn due_in(self, lp: &Loop) -> Result<u64> {
        let t = state_ref(lp, self.0)?;
        Ok(if self.is_active(lp) {
            t.deadline.saturating_sub(lp.now())
        } else {
            0
        })
    }

    /// The loop time at which the timer fires next, if it is armed.
    pub fn deadline(self, lp: &Loop) -> Result<Option<u64>> {
        let t = state_ref(lp, self.0)?;
        Ok(self.is_active(lp).then_some(t.deadline))
    }
}

impl Loop {
    fn timer_state(&mut self, id: HandleId) -> Option<&mut TimerState> {
        match &mut self.handles.get_mut(id.0)?.kind {
            HandleKind::Timer(t) => Some(t),
            _ => None,
        }
    }

    /// Arms a live timer at `now + timeout` with a fresh start sequence.
    fn timer_arm(&mut self, id: HandleId, timeout_ms: u64) {
        self.timer_arm_at(id, self.now_ms.saturating_add(timeout_ms));
    }

    fn timer_arm_at(&mut self, id: HandleId, deadline: u64) {
        self.next_timer_seq += 1;
        let seq = self.next_timer_seq;
        if let Some(t) = self.timer_state(id) {
            t.deadline = deadline;
            t.seq = seq;
            t.due = false;
        }
        self.timers.insert(id.index(), deadline, seq);
        self.set_active(id, true);
    }

    pub(crate) fn timer_stop(&mut self, id: HandleId) {
        if let Some(t) = self.timer_state(id) {
            t.due = false;
        }
        self.timers.remove(id.index());
        self.set_active(id, false);
    }

    /// The earliest armed deadline, for the poll timeout.
    pub(crate) fn next_timer_deadline(&self) -> Option<u64> {
        self.timers.peek().map(|e| e.deadline)
    }

    /// Timer phase: fires every timer due at the start of the phase, in
    /// (deadline, sequence) order.
    pub(crate) fn run_timers(&mut self) {
        let now = self.now_ms;
        let mut due = std::mem::take(&mut self.due_timers);
        while let Some(top) = self.timers.peek() {
            if top.deadline > now {
                break;
            }
            let entry = *top;
            self.timers.pop();
            self.metrics_timer_due(entry.deadline);
            if let Some(t) = self
                .handles
                .id_at(entry.slot)
                .and_then(|id| self.timer_state(HandleId(id)))
            {
                t.due = true;
            }
            due.push((entry.slot, entry.seq));
        }
        for &(slot, seq) in &due {
            self.fire_timer(slot, seq);
        }
        due.clear();
        self.due_timers = due;
    }

    fn fire_timer(&mut self, slot: u32, seq: u64) {
        let Some(id) = self.handles.id_at(slot).map(HandleId) else {
            return;
        };
        let Some(entry) = self.handles.get_mut(id.0) else {
            return;
        };
        let open = entry.is_open();
        let HandleKind::Timer(t) = &mut entry.kind else {
            return;
        };
        // Stopped, restarted or closed by an earlier callback of this phase.
        if t.seq != seq || !t.due || !open {
            return;
        }
        t.due = false;
        let repeat = t.repeat;
        if repeat > 0 {
            // From the firing time, not the old deadline (libuv).
            self.timer_arm_at(id, self.now_ms.saturating_add(repeat));
        } else {
            self.set_active(id, false);
        }
        self.with_cb(id, cb_slot, |lp, cb| cb(lp, Timer(id)));
    }
}
