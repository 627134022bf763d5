//! The client layer's state, kept inside the loop as one extension: the
//! records of requests (with their responses), connections and Agents,
//! each in an `eddy_loop::Table` and named by an `Id`. Every concern of a
//! record is one enum: a request's link to its socket, a connection's use,
//! a response's flow and body. Callbacks are stored against ids; the
//! public handles wrap them (`handles.rs`).

use super::agent_stats::AgentStats;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use eddy_loop::{ExtensionKey, Id, Loop, Table, Timer};
use eddy_net::Stream;

use super::agent_options::AgentOptions;
use super::clock::Clock;
use super::error::Error;
use super::feed::{HeadParts, Information};
use super::output::Output;
use super::target::Target;
use crate::h1::HeaderList;
use crate::parser::{Kind, Parser};

/// A request's id.
pub(crate) type ReqId = Id<Request>;
/// A connection's id.
pub(crate) type ConnId = Id<Connection>;
/// An Agent's id.
pub(crate) type AgentId = Id<AgentRecord>;

pub(crate) type ResponseCb = Box<dyn FnOnce(&mut Loop, ReqId)>;
pub(crate) type HandOffCb = Box<dyn FnOnce(&mut Loop, ReqId, Stream, Vec<u8>)>;
pub(crate) type ReqCb = Box<dyn FnMut(&mut Loop, ReqId)>;
pub(crate) type SocketCb = Box<dyn FnOnce(&mut Loop, ReqId, Stream)>;
pub(crate) type InfoCb = Box<dyn FnMut(&mut Loop, ReqId, Information)>;
pub(crate) type ErrorCb = Box<dyn FnOnce(&mut Loop, ReqId, Error)>;
/// `on_close`'s callback: whether the exchange finished (the response
/// ended, or the socket was handed off) rather than died.
pub(crate) type CloseFn = dyn FnOnce(&mut Loop, ReqId, bool);
pub(crate) type CloseCb = Box<CloseFn>;
pub(crate) type DataCb = Box<dyn FnMut(&mut Loop, ReqId, &[u8])>;
pub(crate) type EndCb = Box<dyn FnOnce(&mut Loop, ReqId)>;

/// A request's callbacks; each is taken out while it runs.
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
    /// The crate's own listeners of `close` (a pipe's), after the user's.
    pub close_watchers: crate::listeners::Listeners<CloseFn>,
    pub drain: Option<ReqCb>,
}

/// A request's link to a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// No socket yet: waiting in its Agent's queue, or about to get one.
    Waiting,
    /// Running on this connection.
    On(ConnId),
    /// Finished, failed or handed off: only its `close` follows.
    Done,
}

/// A copy of what a request wrote to a reused socket, so that an
/// idempotent request can be sent again on a fresh one if the old one
/// turns out dead before answering.
pub(crate) enum Replay {
    /// No retry possible: a fresh socket, a method that is not idempotent,
    /// a retry already made, too much sent, or a response byte arrived.
    Off,
    /// What was written so far.
    Keeping(Vec<u8>),
}

/// The caps on a request's interim (1xx) responses, and what came so far.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Interim {
    pub max_count: usize,
    pub max_bytes: usize,
    pub count: usize,
    pub bytes: usize,
}

/// How strictly the status line is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusLine {
    /// `HTTP/1.x` only.
    Strict,
    /// Any protocol and version the parser accepts.
    LenientVersion,
}

/// A request.
pub(crate) struct Request {
    pub target: Box<Target>,
    /// Its deadlines, on one timer (made when first armed).
    pub clock: Clock,
    pub timer: Option<Timer>,
    pub interim: Interim,
    pub status_line: StatusLine,
    /// How long the body waits for `100 Continue`.
    pub continue_timeout_ms: u64,
    /// The timeout of that wait, while it runs.
    pub continue_timer: Option<eddy_loop::TimeoutId>,
    /// `None`: a fresh connection, closed after the response.
    pub agent: Option<AgentId>,
    pub key: PoolKey,
    pub out: Output,
    pub link: Link,
    /// The socket carried an earlier request (Node's `reusedSocket`).
    pub reused: bool,
    pub replay: Replay,
    /// The final response, once its head arrived.
    pub res: Option<Box<Response>>,
    pub cbs: Callbacks,
}

impl Request {
    /// How errors name the request.
    pub fn what(&self) -> String {
        self.target.describe()
    }
}

/// Whether body bytes are handed to `on_data` as they arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Flowing,
    /// `pause()`: bytes parsed meanwhile are held.
    Paused,
}

/// How far the body got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// More may come.
    Incoming,
    /// The parser saw the end; `on_end` waits for held bytes (or `resume`).
    Parsed,
    /// `on_end` ran.
    Delivered,
}

/// A final response.
pub(crate) struct Response {
    pub status: u16,
    pub reason: Vec<u8>,
    pub version: (u8, u8),
    pub headers: HeaderList,
    pub trailers: HeaderList,
    pub on_data: Option<DataCb>,
    pub on_end: Option<EndCb>,
    pub flow: Flow,
    pub body: Body,
    /// Body bytes parsed while paused, delivered by `resume`.
    pub held: Vec<u8>,
}

impl Default for Response {
    fn default() -> Response {
        Response {
            status: 0,
            reason: Vec::new(),
            version: (0, 0),
            headers: HeaderList::default(),
            trailers: HeaderList::default(),
            on_data: None,
            on_end: None,
            flow: Flow::Flowing,
            body: Body::Incoming,
            held: Vec::new(),
        }
    }
}

impl Response {
    /// Back to empty, keeping the buffers' capacity.
    pub fn clear(&mut self) {
        self.status = 0;
        self.reason.clear();
        self.version = (0, 0);
        self.headers.clear();
        self.trailers.clear();
        self.on_data = None;
        self.on_end = None;
        self.flow = Flow::Flowing;
        self.body = Body::Incoming;
        self.held.clear();
    }

    /// Whether body bytes must wait (paused, or older ones wait).
    pub fn must_hold(&self) -> bool {
        self.flow == Flow::Paused || !self.held.is_empty()
    }
}

/// What a connection is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Connecting for this request (which may already write: the bytes
    /// queue in the stream).
    Connecting(ReqId),
    /// Carrying this request.
    Busy(ReqId),
    /// Idle in its Agent's pool (or being handed to the next request).
    Free,
}

/// Whether the socket may carry another request after this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fitness {
    Reusable,
    /// Something made it unfit: EOF, stray bytes, a body the server may
    /// not have read, a non-keep-alive answer.
    Spent,
}

/// What the socket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Unix,
    /// TCP; SO_KEEPALIVE is set at its first return to the pool, not at
    /// every one (two setsockopt calls per request otherwise).
    Tcp {
        keepalive_on: bool,
    },
}

/// The response parser with the head it is assembling.
pub(crate) struct ResponseParser {
    pub parser: Parser,
    pub head: HeadParts,
}

/// Where a connection's parser is.
pub(crate) enum ParserSlot {
    Parked(Box<ResponseParser>),
    /// Taken out while it runs over input (its callbacks need the loop).
    InUse,
}

/// A connection.
pub(crate) struct Connection {
    pub stream: Stream,
    /// The Agent and pool key this socket counts against.
    pub agent: Option<(AgentId, PoolKey)>,
    pub parser: ParserSlot,
    pub state: Use,
    pub fitness: Fitness,
    pub transport: Transport,
    /// The server's `Keep-Alive: timeout` hint, in ms.
    pub keep_alive_hint_ms: Option<u64>,
    /// Bytes of the current request's response fed to the parser before
    /// this read: a parse error's offset counts from the response's first
    /// byte, not from the read's.
    pub fed: usize,
    /// Whether a user was handed the stream (`on_socket`, or
    /// `ClientRequest::socket`, a query: hence a `Cell`).
    pub lent: std::cell::Cell<Lent>,
}

/// Whether the stream of a connection was handed to a user, who may have
/// put their own read or timeout callback on it: then the client installs
/// its own again each time, instead of keeping them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lent {
    /// Only the client has had it: its callbacks are the ones installed.
    Never,
    /// `on_socket` or `ClientRequest::socket` handed it out at least once.
    Seen,
}

impl Connection {
    pub fn new(stream: Stream, agent: Option<(AgentId, PoolKey)>, tcp: bool, r: ReqId) -> Self {
        Connection {
            stream,
            agent,
            parser: ParserSlot::Parked(Box::new(ResponseParser {
                parser: Parser::new(Kind::Response),
                head: HeadParts::default(),
            })),
            state: Use::Connecting(r),
            fitness: Fitness::Reusable,
            transport: if tcp {
                Transport::Tcp {
                    keepalive_on: false,
                }
            } else {
                Transport::Unix
            },
            keep_alive_hint_ms: None,
            fed: 0,
            lent: std::cell::Cell::new(Lent::Never),
        }
    }

    /// The request using the socket.
    pub fn request(&self) -> Option<ReqId> {
        match self.state {
            Use::Connecting(r) | Use::Busy(r) => Some(r),
            Use::Free => None,
        }
    }
}

/// A destination's sockets and queue within an Agent.
#[derive(Default)]
pub(crate) struct Pool {
    /// Sockets of this key, busy or free (connecting ones included).
    pub sockets: usize,
    pub free: VecDeque<ConnId>,
    pub waiting: VecDeque<ReqId>,
}

/// An Agent.
pub(crate) struct AgentRecord {
    pub opts: AgentOptions,
    pub pools: Pools,
    /// Sockets open or connecting, across keys.
    pub total: usize,
    /// What it did with its sockets.
    pub stats: AgentStats,
    /// Whether its busy sockets keep the loop running (free ones never do).
    pub referenced: bool,
}

/// The client layer's tables.
pub(crate) struct Client {
    pub reqs: Table<Request>,
    pub conns: Table<Connection>,
    pub agents: Table<AgentRecord>,
    /// The loop's default Agent, made on first use.
    pub global: Option<AgentId>,
    /// Scratch for the head lines the client adds (`Host`, `Expect`).
    pub head_extra: Vec<u8>,
    /// Scratch for a request's pool key, before it is found in its
    /// Agent's pools (or made once for a new pool).
    pub key_scratch: Vec<u8>,
    /// Response records (with their header buffers) reused from request
    /// to request; boxed as requests hold them, so reuse moves a pointer.
    #[allow(clippy::vec_box)]
    res_pool: Vec<Box<Response>>,
    /// Request records (with their header buffers) reused from request
    /// to request, as `res_pool`.
    #[allow(clippy::vec_box)]
    target_pool: Vec<Box<Target>>,
    /// Stopped deadline timers of finished requests, for later ones (a
    /// timer handle made and closed per request costs more).
    pub spare_timers: Vec<Timer>,
}

impl Client {
    /// An empty response record, reused if one is spare.
    pub fn take_res(&mut self) -> Box<Response> {
        self.res_pool.pop().unwrap_or_default()
    }

    /// A request record to fill ([`Target::renew`]), reused if one is
    /// spare.
    pub fn take_target(&mut self) -> Box<Target> {
        self.target_pool.pop().unwrap_or_default()
    }

    /// Keeps a finished request's record for a later request.
    pub fn recycle_target(&mut self, mut t: Box<Target>) {
        if self.target_pool.len() < 256 {
            // No header of a finished request stays readable here.
            t.headers.clear();
            self.target_pool.push(t);
        }
    }

    /// Keeps a finished response record for a later request.
    pub fn recycle_res(&mut self, mut res: Box<Response>) {
        if self.res_pool.len() < 256 {
            res.clear();
            self.res_pool.push(res);
        }
    }
}

static CLIENT: ExtensionKey<Client> = ExtensionKey::new();

/// The loop's client tables, made on first use.
#[inline]
pub(crate) fn client(lp: &mut Loop) -> &mut Client {
    lp.keyed_extension(&CLIENT, || Client {
        reqs: Table::new(),
        conns: Table::new(),
        agents: Table::new(),
        global: None,
        head_extra: Vec::new(),
        key_scratch: Vec::new(),
        res_pool: Vec::new(),
        target_pool: Vec::new(),
        spare_timers: Vec::new(),
    })
}

/// The loop's client tables, for queries (none before the first request).
#[inline]
pub(crate) fn client_ref(lp: &Loop) -> Option<&Client> {
    lp.keyed_extension_ref(&CLIENT)
}

/// A request, until its `close` ran.
#[inline]
pub(crate) fn req(lp: &mut Loop, r: ReqId) -> Option<&mut Request> {
    client(lp).reqs.get_mut(r)
}

/// A request still running (not done).
#[inline]
pub(crate) fn live(lp: &mut Loop, r: ReqId) -> Option<&mut Request> {
    req(lp, r).filter(|st| st.link != Link::Done)
}

/// A request, for queries.
#[inline]
pub(crate) fn req_ref(lp: &Loop, r: ReqId) -> Option<&Request> {
    client_ref(lp)?.reqs.get(r)
}

/// A request's response, once its head arrived.
#[inline]
pub(crate) fn res(lp: &mut Loop, r: ReqId) -> Option<&mut Response> {
    req(lp, r)?.res.as_deref_mut()
}

/// A connection.
#[inline]
pub(crate) fn conn(lp: &mut Loop, c: ConnId) -> Option<&mut Connection> {
    client(lp).conns.get_mut(c)
}

/// A connection, for queries.
#[inline]
pub(crate) fn conn_ref(lp: &Loop, c: ConnId) -> Option<&Connection> {
    client_ref(lp)?.conns.get(c)
}

/// An Agent, until it is destroyed.
#[inline]
pub(crate) fn agent(lp: &mut Loop, a: AgentId) -> Option<&mut AgentRecord> {
    client(lp).agents.get_mut(a)
}

/// An Agent, for queries.
#[inline]
pub(crate) fn agent_ref(lp: &Loop, a: AgentId) -> Option<&AgentRecord> {
    client_ref(lp)?.agents.get(a)
}

/// An Agent's pools by key. Keys are few and short and come from the
/// program, not the network: FNV-1a instead of SipHash (looked up twice per
/// request).
pub(crate) type Pools = HashMap<PoolKey, Pool, BuildHasherDefault<Fnv>>;

/// A destination's pool key, shared by its pool, its requests and its
/// connections (a clone is a count, not a copy).
pub(crate) type PoolKey = std::rc::Rc<str>;

/// The FNV-1a hasher of pool keys.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
