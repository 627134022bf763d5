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
    /// `HTTP`, `RTSP`, `ICE`: what the status line began with.
    pub protocol: Vec<u8>,
}

/// Whether a `Transfer-Encoding` line follows one that ended in
/// `chunked`: the server refuses such a request (400, as llhttp), so the
/// client refuses such a response.
pub(crate) fn te_after_chunked(headers: &HeaderList) -> bool {
    let mut chunked_seen = false;
    for v in headers.get_all("transfer-encoding") {
        if chunked_seen {
            return true;
        }
        let last = v.rsplit(|&c| c == b',').next().unwrap_or(v);
        chunked_seen = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
    }
    false
}

/// Why a status line is refused, if it is.
pub(crate) fn check_status_line(
    protocol: &[u8],
    version: (u8, u8),
    status: u16,
    lenient_version: bool,
) -> Option<&'static str> {
    if !(100..=599).contains(&status) {
        // RFC 9110 §15: a status code is 100-599.
        return Some("status code outside 100-599");
    }
    if !lenient_version && (protocol != b"HTTP" || version.0 != 1) {
        return Some("status line is not HTTP/1.x");
    }
    None
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
    /// The head breaks the protocol: the error naming the request (`None`
    /// if the request is gone).
    fn refuse(&mut self, reason: &'static str) -> Option<Error>;
    /// The status line ended: `Some` refuses it.
    fn status_line(&mut self, protocol: &[u8], version: (u8, u8), status: u16) -> Option<Error>;
    /// An interim answer's head, of `bytes` bytes (about).
    fn interim(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: &HeaderList,
        bytes: usize,
    ) -> Verdict;
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
        self.head.protocol.clear();
        Action::Continue
    }

    fn on_protocol(&mut self, data: &[u8]) {
        self.head.protocol.extend_from_slice(data);
    }

    fn on_status(&mut self, data: &[u8]) {
        self.head.reason.extend_from_slice(data);
    }

    fn on_status_complete(&mut self, parser: &Parser) -> Action {
        let refused =
            self.events
                .status_line(&self.head.protocol, parser.version(), parser.status());
        match refused {
            None => Action::Continue,
            Some(e) => {
                self.outcome = Outcome::Failed(e);
                Action::Error
            }
        }
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
            // The head's size as sent, near enough: the status line and
            // each header line with its CRLF.
            let bytes = self.head.headers.iter().fold(
                self.head.protocol.len() + 11 + self.head.reason.len(),
                |n, (k, v)| n + k.len() + v.len() + 4,
            ) + 2;
            let verdict = self
                .events
                .interim(status, &self.head.reason, &self.head.headers, bytes);
            self.head.headers.clear();
            return match verdict {
                Verdict::Fail(e) => {
                    self.outcome = Outcome::Failed(e);
                    HeadersAction::Error
                }
                Verdict::Gone => self.gone(),
                _ => HeadersAction::SkipBody,
            };
        }
        if te_after_chunked(&self.head.headers) {
            if let Some(e) = self.events.refuse("Transfer-Encoding after chunked") {
                self.outcome = Outcome::Failed(e);
                return HeadersAction::Error;
            }
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

#[cfg(test)]
mod tests {
    use super::{check_status_line, te_after_chunked};
    use crate::h1::HeaderList;

    #[test]
    fn status_lines() {
        assert_eq!(check_status_line(b"HTTP", (1, 1), 200, false), None);
        assert_eq!(check_status_line(b"HTTP", (1, 0), 599, false), None);
        assert_eq!(check_status_line(b"HTTP", (1, 1), 100, false), None);
        for bad in [0, 99, 600, 999] {
            assert!(check_status_line(b"HTTP", (1, 1), bad, true).is_some());
        }
        assert!(check_status_line(b"RTSP", (1, 0), 200, false).is_some());
        assert!(check_status_line(b"ICE", (1, 0), 200, false).is_some());
        assert!(check_status_line(b"HTTP", (2, 0), 200, false).is_some());
        assert_eq!(check_status_line(b"RTSP", (1, 0), 200, true), None);
    }

    #[test]
    fn transfer_encoding_after_chunked() {
        let mut h = HeaderList::default();
        h.push("Transfer-Encoding", "chunked");
        assert!(!te_after_chunked(&h));
        h.push("transfer-encoding", "chunked");
        assert!(te_after_chunked(&h));
        let mut h = HeaderList::default();
        h.push("Transfer-Encoding", "gzip");
        h.push("Transfer-Encoding", "chunked");
        assert!(!te_after_chunked(&h));
    }
}
