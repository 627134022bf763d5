//! The outgoing request (Node's `ClientRequest`): a `Copy` handle whose
//! state lives in the client table. `request` starts it (taking a socket
//! from its Agent, or opening one); `write`/`end` send the body; events
//! arrive through the callbacks set with the `on_*` methods.

use eddy_loop::Loop;
use eddy_net::Stream;

use super::agent::Agent;
use super::conn::ConnId;
use super::error::{Error, Result};
use super::options::{AgentChoice, RequestOptions};
use super::output::{self, BodyHint, Output};
use super::response::{ClientResponse, ResState};
use super::table::{client, client_ref, PoolKey};
use crate::server::{valid_name, valid_value};

/// A request made with [`request`] or [`get`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClientRequest {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

/// An informational (1xx) response other than `100 Continue`.
#[derive(Clone, Debug)]
pub struct Information {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

pub(crate) type ResponseCb = Box<dyn FnOnce(&mut Loop, ClientResponse)>;
pub(crate) type HandOffCb = Box<dyn FnOnce(&mut Loop, ClientResponse, Stream, Vec<u8>)>;
pub(crate) type ReqCb = Box<dyn FnMut(&mut Loop, ClientRequest)>;
pub(crate) type SocketCb = Box<dyn FnOnce(&mut Loop, ClientRequest, Stream)>;
pub(crate) type InfoCb = Box<dyn FnMut(&mut Loop, ClientRequest, Information)>;
pub(crate) type ErrorCb = Box<dyn FnOnce(&mut Loop, ClientRequest, Error)>;
pub(crate) type CloseCb = Box<dyn FnOnce(&mut Loop, ClientRequest)>;

#[derive(Default)]
pub(crate) struct Callbacks {
    pub response: Option<ResponseCb>,
    pub socket: Option<SocketCb>,
    pub continue_: Option<ReqCb>,
    pub information: Option<InfoCb>,
    pub upgrade: Option<HandOffCb>,
    pub connect: Option<HandOffCb>,
    pub timeout: Option<ReqCb>,
    pub error: Option<ErrorCb>,
    pub close: Option<CloseCb>,
    pub drain: Option<ReqCb>,
}

pub(crate) struct ReqState {
    pub gen: u32,
    pub opts: Box<RequestOptions>,
    pub agent: Option<Agent>,
    pub key: PoolKey,
    pub expect_continue: bool,
    pub upgrade_requested: bool,
    /// The request's own `Connection: close`: its socket is not pooled.
    pub close_requested: bool,
    pub out: Output,
    pub conn: Option<ConnId>,
    /// The socket carried an earlier request (Node's `reusedSocket`).
    pub reused: bool,
    pub retried: bool,
    /// What was written to a reused socket, kept until the first response
    /// byte so an idempotent request can be sent again on a fresh one.
    pub replay: Option<Vec<u8>>,
    pub response_started: bool,
    pub res: Option<Box<ResState>>,
    /// Finished or failed: no event but `close` follows.
    pub done: bool,
    pub cbs: Callbacks,
}

impl ReqState {
    pub fn what(&self) -> String {
        self.opts.describe()
    }

    /// Notes what header line `i` asks of the connection.
    fn note_header(&mut self, i: usize) {
        let (n, v) = &self.opts.headers[i];
        if n.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue") {
            self.expect_continue = true;
        } else if n.eq_ignore_ascii_case("upgrade") {
            self.upgrade_requested = true;
        } else if n.eq_ignore_ascii_case("connection") && v.to_ascii_lowercase().contains("close") {
            self.close_requested = true;
        }
    }

    pub fn idempotent(&self) -> bool {
        matches!(
            self.opts.method.as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
        )
    }
}

pub(crate) fn state(lp: &mut Loop, r: ClientRequest) -> Result<&mut ReqState> {
    client(lp).req(r).ok_or(Error::Closed("request"))
}

/// The state of a request still running (not finished or failed).
pub(crate) fn live(lp: &mut Loop, r: ClientRequest) -> Result<&mut ReqState> {
    state(lp, r)
        .ok()
        .filter(|st| !st.done)
        .ok_or(Error::Closed("request"))
}

fn state_ref(lp: &Loop, r: ClientRequest) -> Option<&ReqState> {
    client_ref(lp)?
        .reqs
        .get(r.index as usize)
        .filter(|st| st.gen == r.gen)
}

/// Takes a callback out of its slot (to run it with `&mut Loop`).
pub(crate) fn take_cb<T>(
    lp: &mut Loop,
    r: ClientRequest,
    slot: impl FnOnce(&mut Callbacks) -> &mut Option<T>,
) -> Option<T> {
    client(lp).req(r).and_then(|st| slot(&mut st.cbs).take())
}

/// Puts a callback back, unless the request is gone or a new one was set.
pub(crate) fn restore_cb<T>(
    lp: &mut Loop,
    r: ClientRequest,
    cb: T,
    slot: impl FnOnce(&mut Callbacks) -> &mut Option<T>,
) {
    if let Some(st) = client(lp).req(r) {
        slot(&mut st.cbs).get_or_insert(cb);
    }
}

fn validate(opts: &RequestOptions) -> Result<()> {
    if !valid_name(&opts.method) {
        return Err(Error::InvalidMethod(opts.method.clone()));
    }
    let bad_path = opts.path.is_empty() || opts.path.bytes().any(|b| b <= b' ' || b == 0x7f);
    if bad_path {
        return Err(Error::InvalidUrl(opts.path.clone()));
    }
    // The host goes into the Host header: nothing that could end the line
    // or change what the authority means.
    let bad_host = opts.host.is_empty()
        || opts
            .host
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b"/?#@[]\\".contains(&b));
    if bad_host {
        return Err(Error::InvalidUrl(opts.host.clone()));
    }
    for (n, v) in &opts.headers {
        if !valid_name(n) || !valid_value(v) {
            return Err(Error::InvalidHeader(n.clone()));
        }
    }
    Ok(())
}

/// Starts a request (Node's `http.request`). Write a body with
/// [`ClientRequest::write`], then call [`ClientRequest::end`]; nothing is
/// sent before `end` or the first write (or at once with
/// `expect_continue`). `on_response` gets the final response; register
/// its `on_data`/`on_end` there.
pub fn request(
    lp: &mut Loop,
    opts: RequestOptions,
    on_response: impl FnOnce(&mut Loop, ClientResponse) + 'static,
) -> Result<ClientRequest> {
    validate(&opts)?;
    let agent = match opts.agent {
        AgentChoice::Default => Some(Agent::global(lp)),
        AgentChoice::Use(a) => {
            super::agent::agent_state(lp, a).ok_or(Error::Closed("agent"))?;
            Some(a)
        }
        AgentChoice::Fresh => None,
    };
    let key = PoolKey::from(opts.pool_key());
    let expect_continue = opts.expect_continue;
    let t = client(lp);
    let gen = t.next_gen();
    let index = t.reqs.insert(ReqState {
        gen,
        opts: Box::new(opts),
        agent,
        key: key.clone(),
        expect_continue,
        upgrade_requested: false,
        close_requested: false,
        out: Output::default(),
        conn: None,
        reused: false,
        retried: false,
        replay: None,
        response_started: false,
        res: None,
        done: false,
        cbs: Callbacks {
            response: Some(Box::new(on_response)),
            ..Callbacks::default()
        },
    }) as u32;
    let r = ClientRequest { index, gen };
    let st = state(lp, r)?;
    for i in 0..st.opts.headers.len() {
        st.note_header(i);
    }
    if st.expect_continue {
        output::ensure_head(lp, r, BodyHint::Streaming)?;
    }
    match agent {
        Some(a) => super::pool::add_request(lp, a, r, &key),
        None => super::conn::open(lp, r, None),
    }
    Ok(r)
}

/// [`request`] with no body, ended at once (Node's `http.get`).
pub fn get(
    lp: &mut Loop,
    opts: RequestOptions,
    on_response: impl FnOnce(&mut Loop, ClientResponse) + 'static,
) -> Result<ClientRequest> {
    let r = request(lp, opts, on_response)?;
    r.end(lp, &[])?;
    Ok(r)
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident, $slot:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $name(self, lp: &mut Loop, cb: $ty) -> Result<()> {
            state(lp, self)?.cbs.$slot = Some(Box::new(cb));
            Ok(())
        }
    };
}

impl ClientRequest {
    /// Whether the request still exists (until its `close` callback).
    pub fn is_live(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_some()
    }

    /// The socket carried an earlier request (Node's `reusedSocket`).
    pub fn reused_socket(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_some_and(|st| st.reused)
    }

    /// The socket the request uses, once it has one.
    pub fn socket(self, lp: &mut Loop) -> Option<Stream> {
        let c = state(lp, self).ok()?.conn?;
        super::conn::stream_of(lp, c)
    }

    /// Adds a header line (before the head is sent).
    pub fn set_header(self, lp: &mut Loop, name: &str, value: &str) -> Result<()> {
        if !valid_name(name) || !valid_value(value) {
            return Err(Error::InvalidHeader(name.to_string()));
        }
        let st = live(lp, self)?;
        if st.out.head_done {
            return Err(Error::HeadersSent);
        }
        st.opts.headers.push((name.to_string(), value.to_string()));
        st.note_header(st.opts.headers.len() - 1);
        Ok(())
    }

    /// Sends the head now (chunked, unless a Content-Length was set).
    pub fn flush_headers(self, lp: &mut Loop) -> Result<()> {
        live(lp, self)?;
        output::ensure_head(lp, self, BodyHint::Streaming)?;
        output::flush(lp, self);
        Ok(())
    }

    /// Sends a piece of the body. Returns false once the bytes waiting reach
    /// the high-water mark: wait for the drain callback.
    pub fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool> {
        live(lp, self)?;
        output::write(lp, self, chunk)
    }

    /// Sends `data` (may be empty) and ends the request.
    pub fn end(self, lp: &mut Loop, data: &[u8]) -> Result<()> {
        live(lp, self)?;
        output::end(lp, self, data)
    }

    /// Changes the socket idle timeout for this request (0: none).
    pub fn set_timeout(self, lp: &mut Loop, ms: u64) -> Result<()> {
        let st = live(lp, self)?;
        st.opts.timeout_ms = ms;
        if let Some(c) = st.conn {
            super::conn::apply_request_timeout(lp, c, ms);
        }
        Ok(())
    }

    /// Abandons the request at any point: its socket is closed (never
    /// returned to the pool) and only the close callback follows.
    pub fn abort(self, lp: &mut Loop) {
        super::finish::abort(lp, self, None);
    }

    /// Like [`abort`](Self::abort), delivering `err` to the error callback first.
    pub fn destroy(self, lp: &mut Loop, err: Option<Error>) {
        super::finish::abort(lp, self, err);
    }

    /// The request got a socket (fresh or from the pool); from the pending
    /// phase, at once if it already has one.
    pub fn on_socket(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, ClientRequest, Stream) + 'static,
    ) -> Result<()> {
        let st = state(lp, self)?;
        st.cbs.socket = Some(Box::new(cb));
        if let Some(c) = st.conn {
            lp.queue_pending(move |lp| super::finish::socket_assigned(lp, self, c));
        }
        Ok(())
    }
    setter!(
        /// `100 Continue` arrived (the held body is sent right after).
        on_continue, continue_, impl FnMut(&mut Loop, ClientRequest) + 'static);
    setter!(
        /// Another 1xx response arrived.
        on_information, information, impl FnMut(&mut Loop, ClientRequest, Information) + 'static);
    setter!(
        /// `101 Switching Protocols`: the stream and the bytes after the head
        /// are yours (the socket leaves the Agent). Without this callback the
        /// socket is closed.
        on_upgrade, upgrade, impl FnOnce(&mut Loop, ClientResponse, Stream, Vec<u8>) + 'static);
    setter!(
        /// A 2xx answer to CONNECT: the tunnel's stream and first bytes.
        on_connect, connect, impl FnOnce(&mut Loop, ClientResponse, Stream, Vec<u8>) + 'static);
    setter!(
        /// The socket was idle for the request's timeout. The request goes
        /// on: abort it here if you want it to end.
        on_timeout, timeout, impl FnMut(&mut Loop, ClientRequest) + 'static);
    setter!(
        /// The request failed (connect, protocol, hang-up, aborted body).
        /// `close` follows.
        on_error, error, impl FnOnce(&mut Loop, ClientRequest, Error) + 'static);
    setter!(
        /// The last callback of a request, after its response ended or it failed.
        on_close, close, impl FnOnce(&mut Loop, ClientRequest) + 'static);
    setter!(
        /// The bytes waiting fell below the high-water mark after `write`
        /// returned false.
        on_drain, drain, impl FnMut(&mut Loop, ClientRequest) + 'static);
}
