//! One server connection's state, as data and pure decisions: what it is
//! reading, whether its output holds reading back, whether it is closing,
//! and what it does once its queue of exchanges changes ([`Conn::settle`]).
//! The behaviour that needs the loop is in `conn.rs`.
//!
//! Each concern is one enum: [`Reading`] (where the parser is in the
//! request stream), [`Input`] (the client's side), [`Writing`] (ours),
//! [`Hold`] (what keeps reading paused), [`Parsing`] (where the parser
//! is) and [`Output`] (where the front response's bytes go).

use std::rc::Rc;

use eddy_loop::Timer;
use eddy_net::Stream;

use super::deadlines::{At, Deadlines};
use super::exchange::{Closers, Queue, RequestData, ResponsePhase};
use super::options::ServerOptions;
use super::progress::{RateWatch, SendWatch};
use super::server_state::Server;
use super::stats::{CloseReason, ConnectionState};
use crate::parser::Parser;

/// Exchanges parsed ahead of their responses before parsing pauses.
pub(crate) const MAX_PIPELINED: usize = 128;

/// Where the connection is in the stream of requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Between requests.
    Idle,
    /// Receiving a request's head.
    Head,
    /// Receiving the body of request `seq`.
    Body { seq: u64 },
    /// Discarding the rest of request `seq`'s body, which its finished
    /// response left unread: at most `left` more bytes, then the
    /// connection closes (`ServerOptions::max_drain_bytes`).
    Drain { seq: u64, left: u64 },
    /// No more requests will be read: keep-alive is off (the client or a
    /// response said close, a limit, a failure). Input is discarded.
    Done,
}

/// The client's side of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// It may send more.
    Open,
    /// It sent its FIN (responses to what it sent still go out).
    Ended,
}

/// Our side of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writing {
    /// Responses go out.
    Open,
    /// Shut down (or about to be, once queued output is out): waiting for
    /// the client's FIN before closing.
    Lingering,
}

/// What holds reading back (besides the states above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Nothing.
    Flowing,
    /// Output reached the high-water mark: until it drains.
    Output,
    /// The user paused the request.
    User,
    /// Both.
    OutputAndUser,
}

impl Hold {
    /// With output holding (`on`) or not.
    pub fn output(self, on: bool) -> Hold {
        match (self.by_user(), on) {
            (false, false) => Hold::Flowing,
            (false, true) => Hold::Output,
            (true, false) => Hold::User,
            (true, true) => Hold::OutputAndUser,
        }
    }

    /// With the user holding (`on`) or not.
    pub fn user(self, on: bool) -> Hold {
        match (self.by_output(), on) {
            (false, false) => Hold::Flowing,
            (true, false) => Hold::Output,
            (false, true) => Hold::User,
            (true, true) => Hold::OutputAndUser,
        }
    }

    /// Output holds reading back.
    pub fn by_output(self) -> bool {
        matches!(self, Hold::Output | Hold::OutputAndUser)
    }

    /// The user holds reading back.
    pub fn by_user(self) -> bool {
        matches!(self, Hold::User | Hold::OutputAndUser)
    }
}

/// Where the parser is. Boxed, as the request being built is: taken out
/// for every parse, they move as pointers.
pub(crate) enum Parsing {
    /// New, or idle between requests: the parser and the request record
    /// are in the pools, so an idle keep-alive connection holds neither;
    /// both are taken (the parser set up afresh for this connection's
    /// server) when input comes.
    Idle,
    /// In the table, between parses of a request.
    Ready {
        parser: Box<Parser>,
        building: Box<RequestData>,
    },
    /// Out of the table, running (`conn::ParseGuard` puts it back).
    Running,
}

/// Where the front exchange's output goes.
pub(crate) enum Output {
    /// Straight to the stream.
    Direct,
    /// Into one buffer, written when the parse that is running ends: a
    /// pipelined batch of requests is answered with one syscall. `base` is
    /// what the stream had queued when the batch began (nothing else
    /// writes to the stream while a batch is open).
    Batch { buf: Vec<u8>, base: usize },
}

/// Closers of a response that left the queue, waiting until the stream
/// has handed `mark` bytes (in all) to the kernel.
pub(crate) struct Waiter {
    pub mark: u64,
    pub closers: Closers,
}

/// Whether an empty marker write is queued on the stream, whose completion
/// says that every byte before it was handed to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    Idle,
    Armed,
}

/// What a connection does once the front of its queue changed, decided
/// on the table alone by [`Conn::settle`]; `conn::apply` then does what
/// needs the loop.
pub(crate) enum Next {
    Nothing,
    Resume,
    Close(CloseReason),
    Rearm(Timer, u64),
    /// Idle between requests: give buffers back, arm, read on.
    Idle,
}

/// What draining bytes of an unread body found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// No body is being drained.
    NotDraining,
    /// Discarded, within the bound.
    Within,
    /// Past the bound: the connection closes.
    OverBound,
}

/// What the head of a response needs to know about its connection.
#[derive(Clone, Copy)]
pub(crate) struct HeadContext {
    /// The connection closes after this response.
    pub closing: bool,
    /// `Keep-Alive: timeout=N`; None when keep-alive is off.
    pub keep_alive_secs: Option<u64>,
    /// How much of an unread request body is drained to keep the
    /// connection (`ServerOptions::max_drain_bytes`).
    pub max_drain: u64,
}

/// One connection.
pub(crate) struct Conn {
    pub server: Server,
    pub opts: Rc<ServerOptions>,
    pub stream: Stream,
    pub parsing: Parsing,
    pub exchanges: Queue,
    pub next_seq: u64,
    /// Input received while parsing was paused, parsed when it resumes.
    pub leftover: Vec<u8>,
    pub output: Output,
    pub reading: Reading,
    pub input: Input,
    pub writing: Writing,
    pub hold: Hold,
    /// Responses finished on this connection.
    pub served: u32,
    pub timer: Timer,
    pub deadlines: Deadlines,
    /// Why it closes, once that is decided (the first reason wins).
    pub close_reason: Option<CloseReason>,
    /// Loop time (ms) it last received bytes or finished a response.
    pub active_at: u64,
    /// Loop time (ms) output began holding reading back (meaningful
    /// while `hold.by_output()`).
    pub held_since: u64,
    /// Queued output, watched for progress (the send timeout).
    pub send_watch: SendWatch,
    /// The body being received, watched for its rate (opt-in).
    pub rate_watch: RateWatch,
    /// Request body bytes received on this connection, in all.
    pub body_received: u64,
    /// Finished responses whose close callbacks wait for their last byte
    /// to reach the kernel, in order.
    pub sent: std::collections::VecDeque<Waiter>,
    pub marker: Marker,
}

impl Conn {
    /// A connection for a stream just accepted.
    pub fn new(server: Server, opts: Rc<ServerOptions>, stream: Stream, timer: Timer) -> Conn {
        Conn {
            server,
            opts,
            stream,
            parsing: Parsing::Idle,
            exchanges: Queue::new(),
            next_seq: 0,
            leftover: Vec::new(),
            output: Output::Direct,
            reading: Reading::Idle,
            input: Input::Open,
            writing: Writing::Open,
            hold: Hold::Flowing,
            served: 0,
            timer,
            deadlines: Deadlines::default(),
            close_reason: None,
            active_at: 0,
            held_since: 0,
            send_watch: SendWatch::Off,
            rate_watch: RateWatch::Off,
            body_received: 0,
            sent: std::collections::VecDeque::new(),
            marker: Marker::Idle,
        }
    }

    /// A request is being received (head or body).
    pub fn in_message(&self) -> bool {
        matches!(
            self.reading,
            Reading::Head | Reading::Body { .. } | Reading::Drain { .. }
        )
    }

    /// The request whose body is being received, if any.
    pub fn body_seq(&self) -> Option<u64> {
        match self.reading {
            Reading::Body { seq } | Reading::Drain { seq, .. } => Some(seq),
            _ => None,
        }
    }

    /// No request in flight and not closing: server close ends such
    /// connections at once (gracefully).
    pub fn is_idle(&self) -> bool {
        self.exchanges.is_empty()
            && !self.in_message()
            && self.leftover.is_empty()
            && self.writing == Writing::Open
    }

    /// Whether reading may go on: nothing holds it back and requests are
    /// still read.
    pub fn may_read(&self) -> bool {
        self.hold == Hold::Flowing && self.writing == Writing::Open && self.reading != Reading::Done
    }

    /// Records why the connection closes, unless a reason was decided
    /// before (the first one wins: a 408 that then lingers is a timeout).
    pub fn decide_close(&mut self, reason: CloseReason) {
        if self.close_reason.is_none() {
            self.close_reason = Some(reason);
        }
    }

    /// What it is doing, for `Server::connections`; `queued` is the
    /// response bytes waiting to go out.
    pub fn state(&self, queued: usize) -> ConnectionState {
        if self.writing == Writing::Lingering {
            return ConnectionState::Lingering;
        }
        // While the parser runs, the only code that can ask is a callback
        // it called: a handler, with its request (body or not) in hand.
        let parsing = matches!(self.parsing, Parsing::Running);
        if matches!(self.reading, Reading::Body { .. }) && !parsing {
            return ConnectionState::ReadingBody;
        }
        if let Some(front) = self.exchanges.front() {
            let begun = !matches!(front.res.phase, ResponsePhase::Head);
            return if begun || queued > 0 {
                ConnectionState::Writing
            } else {
                ConnectionState::InHandler
            };
        }
        match self.reading {
            Reading::Head => ConnectionState::ReadingHead,
            _ if queued > 0 => ConnectionState::Writing,
            _ => ConnectionState::Idle,
        }
    }

    /// The head context of response `seq`.
    pub fn head_context(&self, seq: u64, server_closing: bool) -> HeadContext {
        let max = self.opts.max_requests_per_socket;
        let last_allowed = max > 0 && seq + 1 >= u64::from(max);
        // No more requests will be read: the last queued response closes
        // the connection; the ones before it still go out as usual.
        let last_queued = self.exchanges.back().map(|x| x.seq) == Some(seq) && !self.in_message();
        let ka = self.opts.keep_alive_timeout_ms;
        HeadContext {
            closing: server_closing
                || (self.reading == Reading::Done && last_queued)
                || last_allowed,
            keep_alive_secs: (ka > 0).then(|| ka.div_ceil(1000)),
            max_drain: self.opts.max_drain_bytes,
        }
    }

    /// Response `seq` finished (and left the queue) while its request's
    /// body, `unread` more bytes of it if known, is still coming: drain it
    /// within the bound, or read no more (the connection closes).
    pub fn finished_before_body(&mut self, seq: u64, unread: Option<u64>) {
        if self.reading != (Reading::Body { seq }) {
            return;
        }
        let max = self.opts.max_drain_bytes;
        self.reading = match unread {
            Some(n) if n > max => Reading::Done,
            _ => Reading::Drain { seq, left: max },
        };
    }

    /// `n` more bytes of a body being drained arrived: whether they are
    /// within the bound (else reading is done).
    pub fn drained(&mut self, n: u64) -> Drained {
        let Reading::Drain { seq, left } = self.reading else {
            return Drained::NotDraining;
        };
        match left.checked_sub(n) {
            Some(left) => {
                self.reading = Reading::Drain { seq, left };
                Drained::Within
            }
            None => {
                self.reading = Reading::Done;
                Drained::OverBound
            }
        }
    }

    /// What to do now that the front of the queue changed.
    pub fn settle(&mut self, server_closing: bool, now: u64) -> Next {
        // While the parser runs (it is out of the table), neither resuming
        // nor giving buffers back has anything to do: it goes on by itself.
        let parsing = matches!(self.parsing, Parsing::Running);
        let resume = if parsing { Next::Nothing } else { Next::Resume };
        if !self.exchanges.is_empty() {
            return resume;
        }
        let max = self.opts.max_requests_per_socket;
        if max > 0 && self.served >= max {
            self.reading = Reading::Done;
            self.decide_close(CloseReason::Limit);
        }
        if self.reading == Reading::Done {
            // Even mid-body (a final status sent without `100 Continue`):
            // nothing more will be answered here; the linger drains the
            // rest.
            return Next::Close(CloseReason::Graceful);
        }
        if self.in_message() {
            return resume;
        }
        if self.input == Input::Ended && self.leftover.is_empty() {
            return Next::Close(CloseReason::Eof);
        }
        if server_closing {
            return Next::Close(CloseReason::ServerClose);
        }
        if self.opts.keep_alive_timeout_ms == 0 {
            return Next::Close(CloseReason::Graceful);
        }
        self.deadlines.idle = Some(At::new(now + self.opts.keep_alive_timeout_ms));
        if parsing {
            return match self.deadlines.rearm_delay(now) {
                Some(ms) => Next::Rearm(self.timer, ms),
                None => Next::Nothing,
            };
        }
        Next::Idle
    }
}

#[cfg(test)]
mod tests {
    /// Every connection carries this, idle ones included (the goal is at
    /// most 1 KB of RSS per idle keep-alive connection, all layers
    /// together: `benches/idle_memory.sh`).
    #[test]
    fn conn_state_is_small() {
        let size = std::mem::size_of::<super::Conn>();
        assert!(size <= 352, "Conn is {size} bytes");
        assert_eq!(std::mem::size_of::<Option<super::At>>(), 8);
    }
}
