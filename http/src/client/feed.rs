//! The response parser's handler: it assembles heads (status, reason,
//! header lines, the server's `Keep-Alive: timeout` hint), tells interim
//! (1xx) answers from the final one, and reports what it sees to an
//! [`Events`] implementation, which decides (skip the body of a HEAD
//! answer, hand the socket off after a 101 or a CONNECT's 2xx) and runs
//! user code. This file knows the parser and nothing of the loop.

use super::error::Error;
use crate::h1::HeaderList;
use crate::parser::{Action, Handler, HeadersAction, Parser};

/// An informational (1xx) response other than `100 Continue`, as
/// [`ClientRequest::on_information`](super::ClientRequest::on_information)
/// receives it.
#[derive(Clone, Debug)]
pub struct Information {
    /// 102, 103, ...
    pub status: u16,
    /// The reason phrase, bytes as sent ("Early Hints").
    pub reason: Vec<u8>,
    /// The header lines in order, names and values as sent.
    pub headers: HeaderList,
}

/// Which hook a hand-off goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandOff {
    /// A 101 to a request that asked for an Upgrade.
    Upgrade,
    /// A 2xx to CONNECT.
    Connect,
}

/// The head being received, kept with the connection between reads (its
/// buffers are reused from message to message).
#[derive(Default)]
pub(crate) struct HeadParts {
    pub headers: HeaderList,
    pub reason: Vec<u8>,
}

/// A final response head.
pub(crate) struct FinalHead<'a> {
    pub status: u16,
    pub version: (u8, u8),
    pub reason: &'a [u8],
    /// Swap it out to keep it; the feed builds the trailers in what is
    /// left.
    pub headers: &'a mut HeaderList,
    /// `Keep-Alive: timeout=N`, in ms.
    pub keep_alive_hint_ms: Option<u64>,
}

/// What to do with a final head.
pub(crate) enum Verdict {
    /// Read its body.
    Proceed,
    /// It has none (an answer to HEAD).
    SkipBody,
    /// The rest of the connection belongs to the user.
    HandOff(HandOff),
    /// A callback ended the request or closed the connection.
    Gone,
    /// The server broke the protocol.
    Fail(Error),
}

/// Whether the request still owns the connection after a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Go,
    Gone,
}

/// What the feed reports to.
pub(crate) trait Events {
    /// Whether the request still runs on this connection.
    fn owned(&mut self) -> bool;
    /// A message (interim or final) starts: a response byte arrived.
    fn message_begin(&mut self);
    /// An interim answer's head.
    fn interim(&mut self, status: u16, reason: &[u8], headers: &HeaderList) -> Next;
    /// The final head.
    fn final_head(&mut self, head: FinalHead<'_>) -> Verdict;
    /// A piece of the final response's body.
    fn body(&mut self, data: &[u8]) -> Next;
    /// The final response ended; swap the trailers out to keep them.
    fn complete(&mut self, trailers: &mut HeaderList);
}

/// How a run of the parser ended.
pub(crate) enum Outcome {
    /// More input is needed.
    Running,
    /// The final response was parsed to its end (the parser paused there,
    /// so bytes after it are left unparsed).
    Complete {
        /// The parser's verdict (version, `Connection`).
        keep_alive: bool,
    },
    /// The rest of the connection belongs to the user.
    HandOff(HandOff),
    /// A callback ended the request or closed the connection.
    Gone,
    /// The server broke the protocol in a way the parser cannot see.
    Failed(Error),
}

/// The parser's handler over one connection's head parts.
pub(crate) struct Feed<'h, E> {
    pub events: E,
    head: &'h mut HeadParts,
    pub outcome: Outcome,
}

impl<'h, E: Events> Feed<'h, E> {
    pub fn new(events: E, head: &'h mut HeadParts) -> Feed<'h, E> {
        Feed {
            events,
            head,
            outcome: Outcome::Running,
        }
    }

    fn gone(&mut self) -> HeadersAction {
        self.outcome = Outcome::Gone;
        HeadersAction::Error
    }
}

/// `Keep-Alive: timeout=N` → N seconds in ms.
fn keep_alive_hint(headers: &HeaderList) -> Option<u64> {
    let v = headers.get("keep-alive")?;
    let v = std::str::from_utf8(v).ok()?;
    v.split(',').find_map(|part| {
        let (k, n) = part.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("timeout") {
            n.trim().parse::<u64>().ok().map(|s| s.saturating_mul(1000))
        } else {
            None
        }
    })
}

impl<E: Events> Handler for Feed<'_, E> {
    fn on_message_begin(&mut self, _: &Parser) -> Action {
        self.events.message_begin();
        self.head.headers.clear();
        self.head.reason.clear();
        Action::Continue
    }

    fn on_status(&mut self, data: &[u8]) {
        self.head.reason.extend_from_slice(data);
    }

    fn on_header_field(&mut self, data: &[u8]) {
        self.head.headers.name_piece(data);
    }

    fn on_header_field_complete(&mut self, _: &Parser) -> Action {
        self.head.headers.name_done();
        Action::Continue
    }

    fn on_header_value(&mut self, data: &[u8]) {
        self.head.headers.value_piece(data);
    }

    fn on_header_value_complete(&mut self, _: &Parser) -> Action {
        self.head.headers.value_done();
        Action::Continue
    }

    fn on_headers_complete(&mut self, parser: &Parser) -> HeadersAction {
        if !self.events.owned() {
            return self.gone();
        }
        let status = parser.status();
        if (100..200).contains(&status) && status != 101 {
            let next = self
                .events
                .interim(status, &self.head.reason, &self.head.headers);
            self.head.headers.clear();
            return match next {
                Next::Go => HeadersAction::SkipBody,
                Next::Gone => self.gone(),
            };
        }
        let keep_alive_hint_ms = keep_alive_hint(&self.head.headers);
        let verdict = self.events.final_head(FinalHead {
            status,
            version: parser.version(),
            reason: &self.head.reason,
            headers: &mut self.head.headers,
            keep_alive_hint_ms,
        });
        match verdict {
            Verdict::Proceed => HeadersAction::Proceed,
            Verdict::SkipBody => HeadersAction::SkipBody,
            Verdict::HandOff(kind) => {
                self.outcome = Outcome::HandOff(kind);
                HeadersAction::Upgrade
            }
            Verdict::Gone => self.gone(),
            Verdict::Fail(e) => {
                self.outcome = Outcome::Failed(e);
                HeadersAction::Error
            }
        }
    }

    fn on_body(&mut self, data: &[u8]) {
        if matches!(self.outcome, Outcome::Running) && self.events.body(data) == Next::Gone {
            self.outcome = Outcome::Gone;
        }
    }

    fn on_message_complete(&mut self, parser: &Parser) -> Action {
        match self.outcome {
            Outcome::Running => {}
            Outcome::Gone | Outcome::Failed(_) => return Action::Error,
            Outcome::Complete { .. } | Outcome::HandOff(_) => return Action::Continue,
        }
        if !self.events.owned() {
            self.outcome = Outcome::Gone;
            return Action::Error;
        }
        if (100..200).contains(&parser.status()) {
            return Action::Continue;
        }
        self.events.complete(&mut self.head.headers);
        self.outcome = Outcome::Complete {
            keep_alive: parser.should_keep_alive(),
        };
        Action::Pause
    }
}
