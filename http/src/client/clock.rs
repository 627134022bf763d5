//! A request's deadlines as data, and the pure decision of which is due
//! next: the connect, the response head, the whole exchange, and the
//! idle time. One timer per request serves them all (`deadlines.rs`
//! arms it for whichever comes first and asks again when it fires).
//!
//! Interim (1xx) responses are not progress: they neither stop the head
//! clock nor reset the idle one, so a server that sends `100 Continue`
//! forever still meets the head deadline.

use super::error::Deadline;

/// The deadlines a request runs under, in ms (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub connect_ms: u64,
    pub head_ms: u64,
    pub total_ms: u64,
    pub idle_ms: u64,
}

/// How far the exchange got, with the time each clock started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Waiting for a socket in the Agent's queue.
    Queued,
    /// Connecting since this time.
    Connecting(u64),
    /// On a socket, the request not yet all sent.
    Sending,
    /// Sent (or the socket ready and the request ended) at this time: the
    /// final head is due.
    AwaitingHead(u64),
    /// The final head arrived.
    Body,
}

/// A request's clocks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub limits: Limits,
    pub stage: Stage,
    /// When the request was made.
    pub started: u64,
    /// The last progress on the socket (bytes written, final head or body
    /// bytes read).
    pub last_progress: u64,
}

/// What the clock says at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// This deadline passed; its limit in ms.
    Expired(Deadline, u64),
    /// The next deadline is at this time.
    At(u64),
    /// No deadline applies.
    Never,
}

fn at(since: u64, ms: u64) -> Option<u64> {
    (ms > 0).then(|| since.saturating_add(ms))
}

impl Clock {
    pub fn new(limits: Limits, now: u64) -> Clock {
        Clock {
            limits,
            stage: Stage::Queued,
            started: now,
            last_progress: now,
        }
    }

    /// Each deadline that applies now, with its time.
    fn candidates(&self) -> [(Deadline, u64, Option<u64>); 4] {
        let l = self.limits;
        let connect = match self.stage {
            Stage::Connecting(t) => at(t, l.connect_ms),
            _ => None,
        };
        let head = match self.stage {
            Stage::AwaitingHead(t) => at(t, l.head_ms),
            _ => None,
        };
        let on_socket = matches!(
            self.stage,
            Stage::Sending | Stage::AwaitingHead(_) | Stage::Body
        );
        let idle = if on_socket {
            at(self.last_progress, l.idle_ms)
        } else {
            None
        };
        [
            (Deadline::Connect, l.connect_ms, connect),
            (Deadline::ResponseHead, l.head_ms, head),
            (Deadline::Total, l.total_ms, at(self.started, l.total_ms)),
            (Deadline::Idle, l.idle_ms, idle),
        ]
    }

    /// The deadline that passed at `now` (the earliest, if several), or
    /// when the next one is.
    pub fn due(&self, now: u64) -> Due {
        let mut next: Option<(Deadline, u64, u64)> = None;
        for (kind, ms, t) in self.candidates() {
            if let Some(t) = t {
                if next.is_none_or(|(_, _, n)| t < n) {
                    next = Some((kind, ms, t));
                }
            }
        }
        match next {
            Some((kind, ms, t)) if t <= now => Due::Expired(kind, ms),
            Some((_, _, t)) => Due::At(t),
            None => Due::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        connect_ms: 100,
        head_ms: 200,
        total_ms: 1000,
        idle_ms: 50,
    };

    #[test]
    fn stages_pick_their_deadlines() {
        let mut c = Clock::new(L, 0);
        assert_eq!(c.due(0), Due::At(1000));
        c.stage = Stage::Connecting(10);
        assert_eq!(c.due(10), Due::At(110));
        assert_eq!(c.due(110), Due::Expired(Deadline::Connect, 100));
        c.stage = Stage::AwaitingHead(20);
        c.last_progress = 20;
        assert_eq!(c.due(20), Due::At(70));
        assert_eq!(c.due(70), Due::Expired(Deadline::Idle, 50));
        // Progress pushes the idle deadline, not the head one.
        c.last_progress = 200;
        assert_eq!(c.due(220), Due::Expired(Deadline::ResponseHead, 200));
        c.stage = Stage::Body;
        c.last_progress = 990;
        assert_eq!(c.due(1000), Due::Expired(Deadline::Total, 1000));
        let none = Limits {
            connect_ms: 0,
            head_ms: 0,
            total_ms: 0,
            idle_ms: 0,
        };
        assert_eq!(Clock::new(none, 0).due(5), Due::Never);
    }
}
