//! The idle timeout of a stream (Node's `socket.setTimeout`).
//!
//! Reads and writes only record the time (`touch`): no timer operation on
//! the hot path. When the timer fires it checks how long the stream has
//! really been idle and either runs the callback or re-arms itself for the
//! time that is left. After the callback, the timer rests until the next
//! activity, which re-arms it: the callback runs once per idle period.
//! `set_timeout_ms` changes the period (0 turns it off) and keeps the
//! timer and the callback, so a pooled socket's timeout costs no
//! allocation each time it goes idle and busy again.

use eddy_loop::{Handle, Loop, Timer};

use crate::error::{Error, Result};
use crate::stream::{apply_ref, state, Stream, StreamState};

pub(crate) type TimeoutCb = Box<dyn FnMut(&mut Loop, Stream)>;

/// Where an idle timeout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watch {
    /// Turned off (`set_timeout_ms(0)`): activity does not arm it.
    Off,
    /// The timer runs.
    Armed,
    /// It fired; the next activity re-arms it.
    Resting,
}

pub(crate) struct IdleTimeout {
    pub timer: Timer,
    ms: u64,
    last_active: u64,
    watch: Watch,
    cb: Option<TimeoutCb>,
}

/// A timer that must be re-armed, returned by `touch`.
pub(crate) struct Rearm(Timer, u64);

impl Rearm {
    pub fn apply(self, lp: &mut Loop) {
        let _ = self.0.rearm(lp, self.1);
    }
}

/// Records activity on the stream; returns the timer to re-arm if it had
/// fired and was resting.
#[must_use]
pub(crate) fn touch(st: &mut StreamState, now: u64) -> Option<Rearm> {
    let idle = st.idle.as_mut()?;
    idle.last_active = now;
    if idle.watch != Watch::Resting {
        return None;
    }
    idle.watch = Watch::Armed;
    Some(Rearm(idle.timer, idle.ms))
}

impl Stream {
    /// Runs `cb` after `ms` milliseconds without reads or writes, then again
    /// after each further idle period. The stream is not closed: `cb`
    /// decides. `ms == 0` disables the timeout.
    pub fn set_timeout(
        self,
        lp: &mut Loop,
        ms: u64,
        cb: impl FnMut(&mut Loop, Stream) + 'static,
    ) -> Result<()> {
        let now = lp.now();
        let st = state(lp, self)?;
        let referenced = st.referenced;
        if ms == 0 {
            return self.clear_timeout(lp);
        }
        let (timer, started) = match st.idle.as_ref() {
            Some(idle) => (idle.timer, true),
            None => {
                let t = Timer::new(lp);
                apply_ref(lp, t, referenced);
                (t, false)
            }
        };
        state(lp, self)?.idle = Some(IdleTimeout {
            timer,
            ms,
            last_active: now,
            watch: Watch::Armed,
            cb: Some(Box::new(cb)),
        });
        if started {
            // Its callback only looks the stream up: it stays.
            timer.rearm(lp, ms)?;
        } else {
            timer.start(lp, ms, 0, move |lp, _| on_timer(lp, self))?;
        }
        Ok(())
    }

    /// Changes the idle period of the timeout [`set_timeout`](Self::set_timeout)
    /// installed and keeps its callback (Node's `setTimeout(ms)` with no
    /// callback): it counts from now. `ms == 0` turns it off and keeps
    /// the timer and the callback for a later call. Fails with
    /// [`Error::Closed`] when no timeout was set.
    pub fn set_timeout_ms(self, lp: &mut Loop, ms: u64) -> Result<()> {
        let now = lp.now();
        let idle = state(lp, self)?
            .idle
            .as_mut()
            .ok_or_else(|| Error::Closed("stream timeout"))?;
        let timer = idle.timer;
        idle.ms = ms;
        idle.last_active = now;
        if ms == 0 {
            idle.watch = Watch::Off;
            timer.stop(lp)?;
        } else {
            idle.watch = Watch::Armed;
            timer.rearm(lp, ms)?;
        }
        Ok(())
    }

    /// Removes the idle timeout and its callback (Node's `setTimeout(0)`).
    pub fn clear_timeout(self, lp: &mut Loop) -> Result<()> {
        if let Some(idle) = state(lp, self)?.idle.take() {
            let _ = idle.timer.close(lp, |_, _| {});
        }
        Ok(())
    }
}

fn cb_slot(lp: &mut Loop, s: Stream) -> Option<&mut Option<TimeoutCb>> {
    Some(&mut state(lp, s).ok()?.idle.as_mut()?.cb)
}

fn on_timer(lp: &mut Loop, s: Stream) {
    let now = lp.now();
    let Ok(st) = state(lp, s) else { return };
    let Some(idle) = st.idle.as_mut() else { return };
    if idle.watch != Watch::Armed {
        return;
    }
    let idle_for = now.saturating_sub(idle.last_active);
    if idle_for < idle.ms {
        let left = idle.ms - idle_for;
        let timer = idle.timer;
        let _ = timer.rearm(lp, left);
        return;
    }
    idle.watch = Watch::Resting;
    lp.with_cb(s, cb_slot, |lp, cb| cb(lp, s));
}
