//! A request's one timer, carrying out its clock (`clock.rs`): stages
//! move the clock, progress only records the time (no timer operation on
//! the hot path), and the timer is armed for the earliest deadline. When
//! it fires it asks the clock again: a deadline that passed goes to the
//! caller's handler, else the timer is re-armed for the next one. The
//! timer is unref'd: a request's socket, not its deadline, keeps the loop
//! running. Timers of finished requests are kept for later ones.

use eddy_loop::{Handle, Loop, Timer};

use super::clock::{Due, Stage};
use super::error::Deadline;
use super::table::{client, live, req, ReqId};

/// What runs when a deadline passes.
pub(crate) type Expired = fn(&mut Loop, ReqId, Deadline, u64);

/// Moves the request's clock to `stage` and arms the timer for it.
pub(crate) fn set_stage(lp: &mut Loop, r: ReqId, stage: Stage, on_expired: Expired) {
    let now = lp.now();
    let Some(st) = live(lp, r) else { return };
    if st.clock.stage == stage {
        return;
    }
    st.clock.stage = stage;
    if matches!(stage, Stage::Sending) {
        st.clock.last_progress = now;
    }
    arm(lp, r, on_expired);
}

/// Records progress on the socket (pushes the idle deadline back).
#[inline]
pub(crate) fn progress(lp: &mut Loop, r: ReqId) {
    let now = lp.now();
    if let Some(st) = req(lp, r) {
        st.clock.last_progress = now;
    }
}

/// The idle deadline's callback ran: the next idle period starts now.
pub(crate) fn restart_idle(lp: &mut Loop, r: ReqId, on_expired: Expired) {
    progress(lp, r);
    arm(lp, r, on_expired);
}

/// Changes the idle timeout (`set_timeout`).
pub(crate) fn set_idle(lp: &mut Loop, r: ReqId, ms: u64, on_expired: Expired) {
    let now = lp.now();
    if let Some(st) = live(lp, r) {
        st.clock.limits.idle_ms = ms;
        st.clock.last_progress = now;
        arm(lp, r, on_expired);
    }
}

/// Arms the timer for the earliest deadline, unless it already fires
/// sooner (it asks again then).
fn arm(lp: &mut Loop, r: ReqId, on_expired: Expired) {
    let now = lp.now();
    let Some(st) = live(lp, r) else { return };
    let due = match st.clock.due(now) {
        Due::Never => return,
        Due::Expired(..) => now,
        Due::At(t) => t,
    };
    let timer = match st.timer {
        Some(t) => t,
        None => {
            let t = match client(lp).spare_timers.pop() {
                Some(t) => t,
                None => {
                    let t = Timer::new(lp);
                    let _ = t.unref(lp);
                    t
                }
            };
            if let Some(st) = req(lp, r) {
                st.timer = Some(t);
            }
            t
        }
    };
    if let Ok(Some(armed)) = timer.deadline(lp) {
        if armed <= due {
            return;
        }
    }
    let _ = timer.start(lp, due - now, 0, move |lp, _| fired(lp, r, on_expired));
}

fn fired(lp: &mut Loop, r: ReqId, on_expired: Expired) {
    let now = lp.now();
    let Some(st) = live(lp, r) else { return };
    match st.clock.due(now) {
        Due::Never => {}
        Due::Expired(kind, ms) => on_expired(lp, r, kind, ms),
        Due::At(_) => arm(lp, r, on_expired),
    }
}

/// The request's record is going away: its timer is stopped and kept for
/// a later request (closed if enough are kept).
pub(crate) fn retire_timer(lp: &mut Loop, timer: Option<Timer>) {
    let Some(t) = timer else { return };
    if t.stop(lp).is_err() {
        return;
    }
    let spare = &mut client(lp).spare_timers;
    if spare.len() < 256 {
        spare.push(t);
    } else {
        let _ = t.close(lp, |_, _| {});
    }
}
