//! One request and its response on a connection, as data: the request as
//! parsed, its body callbacks, and the response's phase and held-back
//! output. A connection keeps its exchanges in a queue ([`Queue`]), in
//! request order; only the front one writes to the socket (see
//! `output.rs` and `conn.rs` for the behaviour).

use eddy_loop::Loop;

use super::file_body::FileBody;
use super::handles::{Request, Response};
use super::head_memo::HeadMemo;
use super::target_form::{locate, Located};
use crate::h1::{BodyEncoder, HeaderList};
use crate::parser::Method;

/// `Request::on_data`'s callback.
pub(crate) type DataCb = Box<dyn FnMut(&mut Loop, Request, &[u8])>;
/// `Request::on_end` and `Request::on_aborted`'s callbacks.
pub(crate) type EndCb = Box<dyn FnOnce(&mut Loop, Request)>;
/// `Response::on_drain`'s callback.
pub(crate) type DrainCb = Box<dyn FnMut(&mut Loop, Response)>;
/// `Response::on_close` and `Request::on_close`'s callbacks: whether the
/// response was finished (all of it handed to the kernel).
pub(crate) type CloseFn = dyn FnOnce(&mut Loop, bool);
pub(crate) type CloseCb = Box<CloseFn>;

/// Who hears of an exchange's end (each told exactly once: see
/// `lifecycle.rs`).
#[derive(Default)]
pub(crate) struct Closers {
    pub res: Option<CloseCb>,
    pub req: Option<CloseCb>,
    /// The crate's own listeners (a pipe), besides the user's.
    pub watchers: crate::listeners::Listeners<CloseFn>,
}

impl Closers {
    /// Nobody listens.
    pub fn is_empty(&self) -> bool {
        self.res.is_none() && self.req.is_none() && self.watchers.is_empty()
    }
}

/// A request's start line and headers, as parsed.
#[derive(Debug)]
pub(crate) struct RequestData {
    pub method: Method,
    pub target: Vec<u8>,
    /// Where the target's origin part and authority are.
    pub located: Located,
    pub version: (u8, u8),
    pub headers: HeaderList,
    pub keep_alive: bool,
    pub expects_continue: bool,
    /// A body follows the head (a `Content-Length` above 0, or chunked).
    pub body_follows: bool,
    /// The body length the head declared: its `Content-Length`, unless a
    /// `Transfer-Encoding` came too (then it is not known). Read once,
    /// when the head is complete, rather than looked up for each response.
    pub declared_length: Option<u64>,
    /// Boxed: few requests have trailers.
    pub trailers: Option<Box<HeaderList>>,
}

impl Default for RequestData {
    fn default() -> RequestData {
        RequestData {
            method: Method::Get,
            target: Vec::new(),
            located: Located::default(),
            version: (1, 1),
            headers: HeaderList::default(),
            keep_alive: true,
            expects_continue: false,
            body_follows: false,
            declared_length: None,
            trailers: None,
        }
    }
}

impl RequestData {
    /// Locates the target's parts (once its bytes are all in).
    pub fn locate_target(&mut self) {
        self.located = locate(&self.target);
    }

    /// An absolute-form target's authority.
    pub fn authority(&self) -> Option<&[u8]> {
        self.located.authority.clone().map(|a| &self.target[a])
    }

    /// How much of the body is still to come after `received` bytes, when
    /// a Content-Length says (a chunked body's is unknown).
    pub fn unread_body(&self, received: u64) -> Option<u64> {
        self.declared_length.map(|n| n.saturating_sub(received))
    }

    /// The origin part of the target (path and query).
    pub fn origin(&self) -> &[u8] {
        &self.target[self.located.origin.min(self.target.len())..]
    }

    /// Empty again, buffers kept.
    pub fn clear(&mut self) {
        self.target.clear();
        self.located = Located::default();
        self.headers.clear();
        self.keep_alive = true;
        self.expects_continue = false;
        self.body_follows = false;
        self.declared_length = None;
        self.trailers = None;
    }
}

/// Where a request's body is, and who hears of it.
#[derive(Default)]
pub(crate) struct BodyState {
    pub on_data: Option<DataCb>,
    pub on_end: Option<EndCb>,
    pub on_abort: Option<EndCb>,
    pub complete: bool,
    pub received: u64,
}

/// Where a response is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponsePhase {
    /// Status and headers may still change; nothing sent.
    Head,
    /// The head is out; body bytes go through the encoder.
    Body(BodyEncoder),
    /// `end` was called: all of it is composed.
    Finished,
    /// `end` was called short of the declared `Content-Length`: what was
    /// sent is all there is, and the connection closes after it.
    Short,
}

/// Where a response's header lines came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinesFrom {
    /// Set line by line, or changed since they were taken back.
    Set,
    /// Taken back whole from the record's last response (`write_head`
    /// with the same lines): the record's [`HeadMemo`] may hold their head.
    TakenBack,
}

/// Header buffers larger than this are not kept for the next response.
const KEEP_HEADER_BYTES: usize = 4096;

/// A response being built and sent.
pub(crate) struct ResponseState {
    pub status: u16,
    /// A reason phrase set by the user (`set_status_message`); the
    /// standard one for the status otherwise.
    pub reason: Option<Box<[u8]>>,
    pub headers: HeaderList,
    /// The headers of the response this record carried last: a
    /// `write_head` that sets the same lines takes them back whole,
    /// checked as they were then, instead of checking and copying each.
    pub previous: HeaderList,
    pub lines_from: LinesFrom,
    /// The head this record composed last, from the lines now in
    /// `previous` (between responses) or, while they are taken back, in
    /// `headers`.
    pub memo: HeadMemo,
    pub phase: ResponsePhase,
    /// What the head decided (or a failure imposed): the connection stays
    /// open after this response.
    pub keep_alive: bool,
    pub continue_sent: bool,
    pub trailers: HeaderList,
    pub drain_cb: Option<DrainCb>,
}

impl Default for ResponseState {
    fn default() -> ResponseState {
        ResponseState {
            status: 200,
            reason: None,
            headers: HeaderList::default(),
            previous: HeaderList::default(),
            lines_from: LinesFrom::Set,
            memo: HeadMemo::default(),
            phase: ResponsePhase::Head,
            keep_alive: true,
            continue_sent: false,
            trailers: HeaderList::default(),
            drain_cb: None,
        }
    }
}

impl ResponseState {
    /// The header lines are about to change (set, appended, removed,
    /// forwarded): lines taken back are no longer those the memo's head
    /// was composed from, so it is forgotten with them.
    pub fn lines_changed(&mut self) {
        if self.lines_from == LinesFrom::TakenBack {
            self.memo.forget();
        }
        self.lines_from = LinesFrom::Set;
    }

    /// Takes back whole the lines of the record's last response (the
    /// caller found them to be exactly what it sets; they were checked
    /// when they were set): the memo's head, if any, is theirs.
    pub fn take_back_lines(&mut self) {
        std::mem::swap(&mut self.headers, &mut self.previous);
        self.lines_from = LinesFrom::TakenBack;
    }

    /// The head has been composed.
    pub fn head_sent(&self) -> bool {
        self.phase != ResponsePhase::Head
    }

    /// `end` was called.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, ResponsePhase::Finished | ResponsePhase::Short)
    }
}

/// One request and its response.
pub(crate) struct Exchange {
    pub seq: u64,
    /// Boxed, so that taking over the request being parsed is a swap of
    /// two pointers, not of two records.
    pub req: Box<RequestData>,
    pub body: BodyState,
    pub res: ResponseState,
    /// Output held back until this exchange is at the front.
    pub held: Vec<u8>,
    pub closers: Closers,
    /// A file body (`Response::send_file`) to send after `held`, once
    /// this exchange is at the front.
    pub file: Option<FileBody>,
}

/// Held-back output buffers larger than this are not kept for reuse.
const KEEP_HELD: usize = 4096;

impl Exchange {
    /// An exchange for request `seq`, all else fresh.
    pub fn new(seq: u64) -> Exchange {
        Exchange {
            seq,
            req: Box::default(),
            body: BodyState::default(),
            res: ResponseState::default(),
            held: Vec::new(),
            closers: Closers::default(),
            file: None,
        }
    }

    /// Back to `new`'s state (callbacks dropped), keeping the buffers.
    pub fn reset(&mut self) {
        // Field by field (no struct rebuilt and moved in); the patterns
        // are exhaustive, so a new field cannot be forgotten here.
        {
            let BodyState {
                on_data,
                on_end,
                on_abort,
                complete,
                received,
            } = &mut self.body;
            (*on_data, *on_end, *on_abort) = (None, None, None);
            (*complete, *received) = (false, 0);
        }
        self.req.clear();
        let ResponseState {
            status,
            reason,
            headers,
            previous,
            lines_from,
            memo,
            phase,
            keep_alive,
            continue_sent,
            trailers,
            drain_cb,
        } = &mut self.res;
        *status = 200;
        *reason = None;
        if *phase == ResponsePhase::Head {
            // No head was composed from these lines: the memo is of others.
            memo.forget();
        }
        std::mem::swap(headers, previous);
        if headers.retained_bytes() > KEEP_HEADER_BYTES {
            *headers = HeaderList::default();
        } else {
            headers.clear();
        }
        if previous.retained_bytes() > KEEP_HEADER_BYTES {
            *previous = HeaderList::default();
            memo.forget();
        }
        *lines_from = LinesFrom::Set;
        *phase = ResponsePhase::Head;
        (*keep_alive, *continue_sent) = (true, false);
        trailers.clear();
        *drain_cb = None;
        if !self.closers.is_empty() {
            self.closers = Closers::default();
        }
        self.file = None;
        if self.held.capacity() > KEEP_HELD {
            self.held = Vec::new();
        } else {
            self.held.clear();
        }
    }
}

/// A connection's exchanges, in request order. Boxed: pushing and popping
/// move a pointer, and a finished exchange (with its buffers) is reused.
pub(crate) type Queue = std::collections::VecDeque<Box<Exchange>>;

/// Where exchange `seq` is in `queue`. Exchanges are queued in the order of
/// their `seq`, one apart, so it is looked for first where that puts it
/// (the front, most often); a queue that lost one from its middle (a
/// refused request) is searched.
#[inline]
pub(crate) fn position(queue: &Queue, seq: u64) -> Option<usize> {
    let front = queue.front()?.seq;
    if front == seq {
        return Some(0);
    }
    let guess = seq.wrapping_sub(front) as usize;
    if queue.get(guess).is_some_and(|x| x.seq == seq) {
        return Some(guess);
    }
    queue.iter().position(|x| x.seq == seq)
}

/// Exchange `seq` of `queue` (see [`position`]).
#[inline]
pub(crate) fn find(queue: &Queue, seq: u64) -> Option<&Exchange> {
    match queue.front() {
        Some(x) if x.seq == seq => Some(x),
        _ => queue.get(position(queue, seq)?).map(|x| &**x),
    }
}

/// Exchange `seq` of `queue`, mutably (see [`position`]).
#[inline]
pub(crate) fn find_mut(queue: &mut Queue, seq: u64) -> Option<&mut Exchange> {
    let pos = match queue.front() {
        Some(x) if x.seq == seq => 0,
        _ => position(queue, seq)?,
    };
    queue.get_mut(pos).map(|x| &mut **x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record does not hold on to a large header buffer, whether its
    /// lines are still there or were removed (a removal keeps the buffer).
    #[test]
    fn large_header_buffers_are_not_kept_between_responses() {
        let mut x = Exchange::new(0);
        for _ in 0..2 {
            x.res.headers.push("X-Big", vec![b'a'; 64 * 1024]);
            x.res.headers.remove("x-big");
            x.reset();
        }
        let kept = x.res.headers.retained_bytes() + x.res.previous.retained_bytes();
        assert!(kept <= 2 * KEEP_HEADER_BYTES, "a record keeps {kept} bytes");
    }
}
