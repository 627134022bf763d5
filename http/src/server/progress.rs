//! Watching a connection for progress, as data and pure decisions: its
//! output (the send timeout: queued bytes the peer does not take for
//! `send_timeout_ms` close the connection) and a request body's arrival
//! (the opt-in minimum rate: after a grace period, each window must bring
//! a floor of bytes). Both are checked from the connection's one timer;
//! `conn.rs` reads the counters and acts on the verdicts.

/// The opt-in minimum request-body rate (nginx's `client_body_timeout`
/// and hyper's minimum data rate, as a floor over a window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinBodyRate {
    /// Bytes per second a body must average over each window.
    pub bytes_per_sec: u64,
    /// Time from the end of the head before the first window starts.
    pub grace_ms: u64,
    /// The window the rate is measured over.
    pub window_ms: u64,
}

impl MinBodyRate {
    /// `bytes_per_sec` with a 5 s grace period and 5 s windows.
    pub fn new(bytes_per_sec: u64) -> MinBodyRate {
        MinBodyRate {
            bytes_per_sec,
            grace_ms: 5_000,
            window_ms: 5_000,
        }
    }

    /// The bytes a whole window must bring.
    fn floor(&self) -> u64 {
        self.bytes_per_sec.saturating_mul(self.window_ms) / 1000
    }
}

/// Whether queued output is watched, and since when it made no progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SendWatch {
    /// Nothing queued (as last seen).
    #[default]
    Off,
    /// Output is queued; the stream had written `written` bytes in all when
    /// progress was last seen, at `since`.
    On { since: u64, written: u64 },
}

/// What a look at the output found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendCheck {
    /// Nothing is queued: stop watching.
    Off,
    /// Look again at this time.
    Until(u64),
    /// No progress for the whole timeout: close.
    Stalled,
}

impl SendWatch {
    /// Looks at the output at `now`: `written` bytes so far, `queued`
    /// waiting. Progress is seen at looks, so a look comes at least every
    /// quarter of the timeout and a stall is caught within 1.25 timeouts.
    pub fn check(&mut self, now: u64, written: u64, queued: usize, timeout: u64) -> SendCheck {
        if queued == 0 {
            *self = SendWatch::Off;
            return SendCheck::Off;
        }
        let since = match *self {
            SendWatch::On { since, written: w } if w == written => since,
            _ => now,
        };
        *self = SendWatch::On { since, written };
        if now.saturating_sub(since) >= timeout {
            return SendCheck::Stalled;
        }
        let step = (timeout / 4).max(1);
        SendCheck::Until((since + timeout).min(now + step))
    }
}

/// Where a request body's rate watch is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum RateWatch {
    /// No body is watched.
    #[default]
    Off,
    /// In the grace period, until then.
    Grace { until: u64 },
    /// In a window ending then, which began when the connection had
    /// received `from` body bytes.
    Window { until: u64, from: u64 },
}

/// What a look at a body's rate found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RateCheck {
    /// Look again at this time.
    Until(u64),
    /// The last window brought less than the floor: refuse (408).
    TooSlow,
}

impl RateWatch {
    /// A body starts arriving at `now`.
    pub fn start(now: u64, rate: &MinBodyRate) -> RateWatch {
        RateWatch::Grace {
            until: now + rate.grace_ms,
        }
    }

    /// When to look next, if watching.
    pub fn next(&self) -> Option<u64> {
        match *self {
            RateWatch::Off => None,
            RateWatch::Grace { until } | RateWatch::Window { until, .. } => Some(until),
        }
    }

    /// Looks at the body at `now`, with `received` body bytes in all;
    /// `reading` says whether the server was reading (a window in which
    /// it held reading back does not count: a new one starts).
    pub fn check(
        &mut self,
        now: u64,
        received: u64,
        reading: bool,
        rate: &MinBodyRate,
    ) -> RateCheck {
        let window = rate.window_ms.max(1);
        let fresh = RateWatch::Window {
            until: now + window,
            from: received,
        };
        match *self {
            RateWatch::Off => return RateCheck::Until(now + window),
            RateWatch::Grace { until } | RateWatch::Window { until, .. } if now < until => {
                return RateCheck::Until(until);
            }
            RateWatch::Window { from, .. }
                if reading && received.saturating_sub(from) < rate.floor() =>
            {
                return RateCheck::TooSlow;
            }
            _ => {}
        }
        *self = fresh;
        RateCheck::Until(now + window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_without_progress_for_the_timeout_stalls() {
        let mut w = SendWatch::Off;
        assert_eq!(w.check(0, 100, 0, 1000), SendCheck::Off);
        assert_eq!(w.check(0, 100, 5, 1000), SendCheck::Until(250));
        assert_eq!(w.check(250, 100, 5, 1000), SendCheck::Until(500));
        // Progress restarts the clock.
        assert_eq!(w.check(900, 150, 5, 1000), SendCheck::Until(1150));
        assert_eq!(w.check(1800, 150, 5, 1000), SendCheck::Until(1900));
        assert_eq!(w.check(1900, 150, 5, 1000), SendCheck::Stalled);
        // All out: off.
        assert_eq!(w.check(1900, 155, 0, 1000), SendCheck::Off);
        assert_eq!(w, SendWatch::Off);
    }

    #[test]
    fn a_body_below_the_floor_after_the_grace_is_too_slow() {
        let rate = MinBodyRate {
            bytes_per_sec: 100,
            grace_ms: 1000,
            window_ms: 2000,
        };
        let mut w = RateWatch::start(0, &rate);
        assert_eq!(w.check(500, 0, true, &rate), RateCheck::Until(1000));
        // Grace over: the first window starts, whatever came before.
        assert_eq!(w.check(1000, 3, true, &rate), RateCheck::Until(3000));
        // 200 bytes per 2 s window is the floor.
        assert_eq!(w.check(3000, 203, true, &rate), RateCheck::Until(5000));
        // Held back by the server: the window does not count.
        assert_eq!(w.check(5000, 210, false, &rate), RateCheck::Until(7000));
        assert_eq!(w.check(7000, 400, true, &rate), RateCheck::TooSlow);
    }
}
