//! One request and its response on a connection, as data: the request as
//! parsed, its body callbacks, and the response's phase and held-back
//! output. A connection keeps its exchanges in a queue ([`Queue`]), in
//! request order; only the front one writes to the socket (see
//! `output.rs` and `conn.rs` for the behaviour).

use eddy_loop::Loop;

use super::file_body::FileBody;
use super::handles::{Request, Response};
use crate::h1::{BodyEncoder, HeaderList};
use crate::parser::Method;

/// `Request::on_data`'s callback.
pub(crate) type DataCb = Box<dyn FnMut(&mut Loop, Request, &[u8])>;
/// `Request::on_end` and `Request::on_aborted`'s callbacks.
pub(crate) type EndCb = Box<dyn FnOnce(&mut Loop, Request)>;
/// `Response::on_drain`'s callback.
pub(crate) type DrainCb = Box<dyn FnMut(&mut Loop, Response)>;

/// A request's start line and headers, as parsed.
#[derive(Debug)]
pub(crate) struct RequestData {
    pub method: Method,
    pub target: Vec<u8>,
    pub version: (u8, u8),
    pub headers: HeaderList,
    pub keep_alive: bool,
    pub expects_continue: bool,
    /// Boxed: few requests have trailers.
    pub trailers: Option<Box<HeaderList>>,
}

impl Default for RequestData {
    fn default() -> RequestData {
        RequestData {
            method: Method::Get,
            target: Vec::new(),
            version: (1, 1),
            headers: HeaderList::default(),
            keep_alive: true,
            expects_continue: false,
            trailers: None,
        }
    }
}

impl RequestData {
    /// Empty again, buffers kept.
    pub fn clear(&mut self) {
        self.target.clear();
        self.headers.clear();
        self.keep_alive = true;
        self.expects_continue = false;
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
}

/// A response being built and sent.
pub(crate) struct ResponseState {
    pub status: u16,
    pub headers: HeaderList,
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
            headers: HeaderList::default(),
            phase: ResponsePhase::Head,
            keep_alive: true,
            continue_sent: false,
            trailers: HeaderList::default(),
            drain_cb: None,
        }
    }
}

impl ResponseState {
    /// The head has been composed.
    pub fn head_sent(&self) -> bool {
        self.phase != ResponsePhase::Head
    }

    /// `end` was called.
    pub fn is_finished(&self) -> bool {
        self.phase == ResponsePhase::Finished
    }
}

/// One request and its response.
pub(crate) struct Exchange {
    pub seq: u64,
    pub req: RequestData,
    pub body: BodyState,
    pub res: ResponseState,
    /// Output held back until this exchange is at the front.
    pub held: Vec<u8>,
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
            req: RequestData::default(),
            body: BodyState::default(),
            res: ResponseState::default(),
            held: Vec::new(),
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
            headers,
            phase,
            keep_alive,
            continue_sent,
            trailers,
            drain_cb,
        } = &mut self.res;
        *status = 200;
        headers.clear();
        *phase = ResponsePhase::Head;
        (*keep_alive, *continue_sent) = (true, false);
        trailers.clear();
        *drain_cb = None;
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
