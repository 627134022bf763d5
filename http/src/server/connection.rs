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

use super::deadlines::Deadlines;
use super::exchange::{Closers, Queue, RequestData};
use super::options::ServerOptions;
use super::server_state::Server;
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
    /// In the table, between parses. An idle connection holds no request
    /// record (`building` is given back to the pool, and taken again when
    /// input comes).
    Ready {
        parser: Box<Parser>,
        building: Option<Box<RequestData>>,
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
    Close,
    Rearm(Timer, u64),
    /// Idle between requests: give buffers back, arm, read on.
    Idle,
}

/// What the head of a response needs to know about its connection.
#[derive(Clone, Copy)]
pub(crate) struct HeadContext {
    /// The connection closes after this response.
    pub closing: bool,
    /// `Keep-Alive: timeout=N`; None when keep-alive is off.
    pub keep_alive_secs: Option<u64>,
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
    /// Finished responses whose close callbacks wait for their last byte
    /// to reach the kernel, in order.
    pub sent: std::collections::VecDeque<Waiter>,
    pub marker: Marker,
}

impl Conn {
    /// A connection for a stream just accepted.
    pub fn new(
        server: Server,
        opts: Rc<ServerOptions>,
        stream: Stream,
        parser: Parser,
        timer: Timer,
    ) -> Conn {
        Conn {
            server,
            opts,
            stream,
            parsing: Parsing::Ready {
                parser: Box::new(parser),
                building: None,
            },
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
            sent: std::collections::VecDeque::new(),
            marker: Marker::Idle,
        }
    }

    /// A request is being received (head or body).
    pub fn in_message(&self) -> bool {
        matches!(self.reading, Reading::Head | Reading::Body { .. })
    }

    /// The request whose body is being received, if any.
    pub fn body_seq(&self) -> Option<u64> {
        match self.reading {
            Reading::Body { seq } => Some(seq),
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
        }
        if self.reading == Reading::Done {
            // Even mid-body (a final status sent without `100 Continue`):
            // nothing more will be answered here; the linger drains the
            // rest.
            return Next::Close;
        }
        if self.in_message() {
            return resume;
        }
        if self.input == Input::Ended && self.leftover.is_empty() {
            return Next::Close;
        }
        if server_closing || self.opts.keep_alive_timeout_ms == 0 {
            return Next::Close;
        }
        self.deadlines.idle = Some(now + self.opts.keep_alive_timeout_ms);
        if parsing {
            return match self.deadlines.rearm_delay(now) {
                Some(ms) => Next::Rearm(self.timer, ms),
                None => Next::Nothing,
            };
        }
        Next::Idle
    }
}
