//! The request's public API (Node's `http.request` and `ClientRequest`):
//! `request` checks the options, stores the request and asks for a
//! socket; `write`/`end` send the body; events arrive through the
//! callbacks set with the `on_*` methods, each of which receives the
//! request's own handle.

use eddy_loop::Loop;
use eddy_net::Stream;

use super::agent_options::AgentOptions;
use super::clock::{Clock, Limits};
use super::error::{Error, Result};
use super::exchange;
use super::feed::Information;
use super::handles::{Agent, ClientRequest, ClientResponse};
use super::notify;
use super::options::{AgentChoice, RequestOptions};
use super::output::Output;
use super::send;
use super::table::{
    agent_ref, client, conn_ref, live, req, req_ref, AgentId, Callbacks, Interim, Lent, Link,
    PoolKey, Replay, ReqId, Request, StatusLine,
};
use super::target::{check_header, Destination};
use crate::h1::{BodyKnown, HeaderList};

/// Starts a request (Node's `http.request`). Write a body with
/// [`ClientRequest::write`], then call [`ClientRequest::end`]; nothing is
/// sent before `end` or the first write (or at once with
/// `expect_continue`). `on_response` gets the final response; register
/// its `on_data`/`on_end` there.
///
/// Fails at once for an invalid method, path, host or header, or a
/// destroyed Agent; every later failure reaches
/// [`on_error`](ClientRequest::on_error), then
/// [`on_close`](ClientRequest::on_close).
pub fn request(
    lp: &mut Loop,
    opts: RequestOptions,
    on_response: impl FnOnce(&mut Loop, ClientResponse) + 'static,
) -> Result<ClientRequest> {
    let RequestOptions {
        host,
        port,
        socket_path,
        method,
        path,
        headers,
        local_address,
        family,
        timeout_ms,
        agent,
        set_host,
        expect_continue,
        connect_timeout_ms,
        head_timeout_ms,
        total_timeout_ms,
        max_interim,
        max_interim_bytes,
        lenient_version,
        continue_timeout_ms,
    } = opts;
    let dest = Destination {
        host,
        port,
        socket_path,
        local_address,
        family,
    };
    let mut target = client(lp).take_target();
    target.renew(method, path, dest, headers, set_host, expect_continue)?;
    let agent = match agent {
        AgentChoice::Default => Some(Agent::global(lp).id),
        AgentChoice::Use(a) => {
            agent_ref(lp, a.id).ok_or_else(|| Error::Closed("agent"))?;
            Some(a.id)
        }
        AgentChoice::Fresh => None,
    };
    let key = pool_key(lp, agent, &target.dest);
    let expect_continue = target.asks.expect_continue;
    let defaults = agent.and_then(|a| agent_ref(lp, a)).map(|ag| &ag.opts);
    let fallback = AgentOptions::default();
    let d = defaults.unwrap_or(&fallback);
    let limits = Limits {
        connect_ms: connect_timeout_ms.unwrap_or(d.connect_timeout_ms),
        head_ms: head_timeout_ms.unwrap_or(d.head_timeout_ms),
        total_ms: total_timeout_ms.unwrap_or(d.total_timeout_ms),
        idle_ms: if timeout_ms > 0 {
            timeout_ms
        } else {
            d.idle_timeout_ms
        },
    };
    let now = lp.now();
    let r = client(lp).reqs.insert(Request {
        target,
        clock: Clock::new(limits, now),
        timer: None,
        interim: Interim {
            max_count: max_interim,
            max_bytes: max_interim_bytes,
            ..Interim::default()
        },
        status_line: if lenient_version {
            StatusLine::LenientVersion
        } else {
            StatusLine::Strict
        },
        continue_timeout_ms,
        continue_timer: None,
        agent,
        key,
        out: Output::default(),
        link: Link::Waiting,
        reused: false,
        replay: Replay::Off,
        res: None,
        cbs: Callbacks {
            response: Some(Box::new(move |lp, id| {
                on_response(lp, ClientResponse { id })
            })),
            ..Callbacks::default()
        },
    });
    if expect_continue {
        send::ensure_head(lp, r, BodyKnown::Streaming)?;
    }
    exchange::start(lp, r);
    Ok(ClientRequest { id: r })
}

/// The pool key of `dest`: the Agent's own (shared) when it pools that
/// key already, else a new one.
fn pool_key(lp: &mut Loop, agent: Option<AgentId>, dest: &Destination) -> PoolKey {
    let mut k = std::mem::take(&mut client(lp).key_scratch);
    dest.write_pool_key(&mut k);
    // Hosts, local addresses and UTF-8 paths are text; other paths went
    // in as hex.
    let text = std::str::from_utf8(&k).unwrap_or_default();
    let known = agent
        .and_then(|a| agent_ref(lp, a))
        .and_then(|ag| ag.pools.get_key_value(text))
        .map(|(key, _)| key.clone());
    let key = known.unwrap_or_else(|| PoolKey::from(text));
    client(lp).key_scratch = k;
    key
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

/// The record of a request still running, or why not.
fn running(lp: &mut Loop, r: ReqId) -> Result<&mut Request> {
    live(lp, r).ok_or_else(|| Error::Closed("request"))
}

/// The record of a running request whose head is not composed yet.
fn unsent(lp: &mut Loop, r: ReqId) -> Result<&mut Request> {
    let st = running(lp, r)?;
    if st.out.is_head_composed() {
        return Err(Error::HeadersSent);
    }
    Ok(st)
}

/// The record of a request that exists (running or about to close).
fn existing(lp: &mut Loop, r: ReqId) -> Result<&mut Request> {
    req(lp, r).ok_or_else(|| Error::Closed("request"))
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident, $slot:ident, ($($arg:ident: $ty:ty),*), $wrap:expr) => {
        $(#[$doc])*
        pub fn $name(
            self,
            lp: &mut Loop,
            mut cb: impl FnMut(&mut Loop, ClientRequest $(, $ty)*) + 'static,
        ) -> Result<()> {
            existing(lp, self.id)?.cbs.$slot =
                Some(Box::new(move |lp, id: ReqId $(, $arg: $ty)*| cb(lp, $wrap(id) $(, $arg)*)));
            Ok(())
        }
    };
}

macro_rules! once_setter {
    ($(#[$doc:meta])* $name:ident, $slot:ident, $handle:ident, ($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub fn $name(
            self,
            lp: &mut Loop,
            cb: impl FnOnce(&mut Loop, $handle $(, $ty)*) + 'static,
        ) -> Result<()> {
            existing(lp, self.id)?.cbs.$slot =
                Some(Box::new(move |lp, id: ReqId $(, $arg: $ty)*| cb(lp, $handle { id } $(, $arg)*)));
            Ok(())
        }
    };
}

fn handle(id: ReqId) -> ClientRequest {
    ClientRequest { id }
}

impl ClientRequest {
    /// Whether the request still exists: true until its `close` callback
    /// runs (the id is stale from then on).
    pub fn is_active(self, lp: &Loop) -> bool {
        req_ref(lp, self.id).is_some()
    }

    /// The socket carried an earlier request (Node's `reusedSocket`).
    pub fn reused_socket(self, lp: &Loop) -> bool {
        req_ref(lp, self.id).is_some_and(|st| st.reused)
    }

    /// Whether the head is composed, so headers can no longer change
    /// (Node's `headersSent`).
    pub fn headers_sent(self, lp: &Loop) -> bool {
        req_ref(lp, self.id).is_some_and(|st| st.out.is_head_composed())
    }

    /// The socket the request runs on, once it has one (until it ends).
    pub fn socket(self, lp: &Loop) -> Option<Stream> {
        match req_ref(lp, self.id)?.link {
            Link::On(c) => {
                let cn = conn_ref(lp, c)?;
                // Its holder may put their own callbacks on it.
                cn.lent.set(Lent::Seen);
                Some(cn.stream)
            }
            Link::Waiting | Link::Done => None,
        }
    }

    /// Sets a header, replacing any of the same name (case-insensitive),
    /// as Node's `setHeader` and [`Response::set_header`]; before the head
    /// is sent. The value goes out byte for byte: names must be tokens,
    /// values RFC 9110 field-values (no CR, LF or NUL; obs-text passed
    /// through).
    ///
    /// [`Response::set_header`]: crate::server::Response::set_header
    pub fn set_header(self, lp: &mut Loop, name: &str, value: impl AsRef<[u8]>) -> Result<()> {
        let value = value.as_ref();
        check_header(name.as_bytes(), value)?;
        unsent(lp, self.id)?
            .target
            .set_header(name.as_bytes(), value);
        Ok(())
    }

    /// Adds a header line, keeping existing ones of the same name (Node's
    /// `appendHeader`); checked as `set_header`.
    pub fn append_header(self, lp: &mut Loop, name: &str, value: impl AsRef<[u8]>) -> Result<()> {
        let value = value.as_ref();
        check_header(name.as_bytes(), value)?;
        unsent(lp, self.id)?
            .target
            .push_header(name.as_bytes(), value);
        Ok(())
    }

    /// The first value of a header set on this request, bytes as set.
    pub fn get_header<'a>(self, lp: &'a Loop, name: &str) -> Option<&'a [u8]> {
        req_ref(lp, self.id)?.target.headers.get(name)
    }

    /// The headers set on this request, in order.
    pub fn get_headers(self, lp: &Loop) -> Option<&HeaderList> {
        req_ref(lp, self.id).map(|st| &st.target.headers)
    }

    /// Removes every header of this name set on this request.
    pub fn remove_header(self, lp: &mut Loop, name: &str) -> Result<()> {
        unsent(lp, self.id)?.target.remove_header(name.as_bytes());
        Ok(())
    }

    /// Adds the lines of a received header list that are not hop-by-hop,
    /// byte for byte ([`HeaderList::forward_into`]). `Host` is forwarded
    /// like any line (remove it to get the destination's). Invalid lines
    /// are refused, and then none is added. The list is a `&HeaderList`
    /// or a received message, read in place (the downstream
    /// [`Request`](crate::server::Request), say):
    /// `up.forward_headers(lp, req)`.
    pub fn forward_headers(self, lp: &mut Loop, received: impl crate::HeaderSource) -> Result<()> {
        received
            .with_headers(lp, |lp, list| {
                let lines = list.forwardable();
                if let Some(n) = lines.first_invalid() {
                    let shown = String::from_utf8_lossy(n).into_owned();
                    return Err(Error::InvalidHeader(shown));
                }
                // Through the record, which notes what each line asks.
                let (count, bytes) = lines.size();
                let st = unsent(lp, self.id)?;
                st.target.headers.reserve(count, bytes);
                for (n, v) in lines.iter() {
                    st.target.push_header(n, v);
                }
                Ok(())
            })
            .unwrap_or(Err(Error::Closed("received message")))
    }

    /// Sends the head now (chunked, unless a Content-Length was set).
    pub fn flush_headers(self, lp: &mut Loop) -> Result<()> {
        send::ensure_head(lp, self.id, BodyKnown::Streaming)?;
        send::flush(lp, self.id);
        Ok(())
    }

    /// Sends a piece of the body. Returns false once the bytes waiting
    /// reach the high-water mark: wait for the drain callback.
    pub fn write(self, lp: &mut Loop, chunk: &[u8]) -> Result<bool> {
        running(lp, self.id)?;
        send::write(lp, self.id, chunk)
    }

    /// Sends `data` (may be empty) and ends the request.
    ///
    /// `Content-Length` is strict: bytes past it are refused
    /// ([`Error::ContentLengthExceeded`], nothing sent, not ended); ending
    /// short of it returns [`Error::ContentLengthShort`]: what was written
    /// goes out, then the socket closes (never reused), and the request
    /// ends with that error (`on_error`, then `on_close(false)`).
    pub fn end(self, lp: &mut Loop, data: &[u8]) -> Result<()> {
        running(lp, self.id)?;
        match send::end(lp, self.id, data) {
            Err(Error::ContentLengthShort(short)) => {
                exchange::cut(lp, self.id, Error::ContentLengthShort(short));
                Err(Error::ContentLengthShort(short))
            }
            Err(e) => Err(e),
            Ok(()) => {
                exchange::sent(lp, self.id);
                Ok(())
            }
        }
    }

    /// Changes the socket idle timeout for this request (0: none).
    pub fn set_timeout(self, lp: &mut Loop, ms: u64) -> Result<()> {
        running(lp, self.id)?;
        exchange::set_request_idle(lp, self.id, ms);
        Ok(())
    }

    /// Adds a listener of this request's close, besides the user's
    /// `on_close` (a pipe's).
    pub(crate) fn watch_close(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, bool) + 'static,
    ) -> Result<()> {
        existing(lp, self.id)?
            .cbs
            .close_watchers
            .push(Box::new(move |lp, _, finished| cb(lp, finished)));
        Ok(())
    }

    /// Abandons the request at any point: its socket is closed (never
    /// returned to the pool) and only the close callback follows. A
    /// request that already finished is left alone.
    pub fn abort(self, lp: &mut Loop) -> Result<()> {
        self.destroy(lp, None)
    }

    /// Like [`abort`](Self::abort), delivering `err` to the error callback
    /// first.
    pub fn destroy(self, lp: &mut Loop, err: Option<Error>) -> Result<()> {
        existing(lp, self.id)?;
        exchange::terminate(lp, self.id, err);
        Ok(())
    }

    /// The request got a socket (fresh or from the pool); from the pending
    /// phase, at once if it already has one.
    pub fn on_socket(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, ClientRequest, Stream) + 'static,
    ) -> Result<()> {
        let r = self.id;
        let st = existing(lp, r)?;
        st.cbs.socket = Some(Box::new(move |lp, id, s| cb(lp, ClientRequest { id }, s)));
        if let Link::On(c) = st.link {
            lp.queue_pending(move |lp| notify::socket_assigned(lp, r, c));
        }
        Ok(())
    }

    setter!(
        /// `100 Continue` arrived (the held body is sent right before).
        on_continue, continue_, (), handle);
    setter!(
        /// Another 1xx response arrived.
        on_information, information, (info: Information), handle);
    setter!(
        /// The socket was idle for the request's timeout. The request goes
        /// on: abort it here if you want it to end. Without this callback
        /// the request fails with [`Error::Timeout`].
        on_timeout, timeout, (), handle);
    setter!(
        /// The bytes waiting fell below the high-water mark after `write`
        /// returned false.
        on_drain, drain, (), handle);
    once_setter!(
        /// `101 Switching Protocols`: the stream and the bytes after the head
        /// are yours (the socket leaves the Agent). Without this callback the
        /// socket is closed.
        on_upgrade, upgrade, ClientResponse, (stream: Stream, head: Vec<u8>));
    once_setter!(
        /// A 2xx answer to CONNECT: the tunnel's stream and first bytes.
        on_connect, connect, ClientResponse, (stream: Stream, head: Vec<u8>));
    once_setter!(
        /// The request failed (connect, protocol, hang-up, aborted body,
        /// timeout). `close` follows.
        on_error, error, ClientRequest, (err: Error));
    once_setter!(
        /// The last callback of a request, exactly once: `finished` is true
        /// after its response ended (or its socket was handed off to
        /// `on_upgrade`/`on_connect`), false when it failed or was aborted
        /// first, its socket closed, reset or timed out (also while the
        /// response is paused). The request's id is stale when it runs.
        on_close, close, ClientRequest, (finished: bool));
}
