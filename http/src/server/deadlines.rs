//! A connection's deadlines (headers, request, keep-alive idle, linger,
//! and the looks at output and body progress),
//! all served by its one loop timer, armed for the earliest. Moving a
//! deadline later costs nothing until the timer fires.

use std::num::NonZeroU64;

use super::stats::CloseReason;

/// A loop time (ms) at which a wait ends. Kept as `ms + 1` in a
/// `NonZeroU64`, so that `Option<At>` takes 8 bytes instead of 16: seven of
/// them sit in every connection, idle ones included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct At(NonZeroU64);

impl At {
    /// The loop time `ms` (saturating: `u64::MAX` is kept as one less,
    /// a time never reached in practice).
    #[inline]
    pub fn new(ms: u64) -> At {
        At(NonZeroU64::MIN.saturating_add(ms))
    }

    /// The loop time (ms).
    #[inline]
    pub fn ms(self) -> u64 {
        self.0.get() - 1
    }
}

/// Loop times (ms) at which a connection's waits end.
#[derive(Default)]
pub(crate) struct Deadlines {
    /// The request's head must be complete by then (408).
    pub headers: Option<At>,
    /// The request's body must be complete by then (408).
    pub request: Option<At>,
    /// The connection is idle between requests until then (closed).
    pub idle: Option<At>,
    /// A closing connection waits for the client's FIN until then.
    pub linger: Option<At>,
    /// Queued output is looked at for progress then (`progress::SendWatch`).
    pub send: Option<At>,
    /// A request body's rate is looked at then (`progress::RateWatch`).
    pub body_rate: Option<At>,
    /// What the timer is armed for (None: not armed).
    pub armed_at: Option<At>,
}

/// What the timer found due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Nothing yet: arm again.
    Nothing,
    /// Idle or linger time is over: close now (for this reason).
    Close(CloseReason),
    /// A request took too long: answer 408 (the reason says which
    /// deadline).
    RequestTimeout(CloseReason),
}

impl Deadlines {
    fn earliest(&self) -> Option<At> {
        let min = |a: Option<At>, b: Option<At>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        let waits = min(min(self.headers, self.request), min(self.idle, self.linger));
        min(waits, min(self.send, self.body_rate))
    }

    /// If the earliest deadline is sooner than what the timer is armed
    /// for: records it as armed and returns the timer's new delay.
    #[inline]
    pub fn rearm_delay(&mut self, now: u64) -> Option<u64> {
        let due = self.earliest()?;
        if self.armed_at.is_some_and(|at| at <= due) {
            return None;
        }
        self.armed_at = Some(due);
        Some(due.ms().saturating_sub(now))
    }

    /// The timer fired at `now`: what is due (the request deadlines are
    /// cleared when they are).
    pub fn fired(&mut self, now: u64) -> Due {
        self.armed_at = None;
        let due = |t: Option<At>| t.is_some_and(|t| t.ms() <= now);
        if due(self.linger) {
            return Due::Close(CloseReason::LingerTimeout);
        }
        if due(self.idle) {
            return Due::Close(CloseReason::KeepAliveTimeout);
        }
        if due(self.headers) || due(self.request) {
            let which = if due(self.headers) {
                CloseReason::HeadersTimeout
            } else {
                CloseReason::RequestTimeout
            };
            self.headers = None;
            self.request = None;
            return Due::RequestTimeout(which);
        }
        Due::Nothing
    }
}
