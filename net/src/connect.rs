//! Connecting: a non-blocking `connect`, then EPOLLOUT and SO_ERROR; name
//! resolution (getaddrinfo) on the loop's work pool; the resolved addresses
//! tried in turn; an optional connect timeout.
//!
//! The outcome reaches the connect callback from the pending phase, as a
//! value: a refused or timed-out connect never panics. A stream whose
//! connect failed stays open (with nothing to read or write) until closed.

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};

use eddy_loop::{Handle, Interest, Loop, Timer};

use crate::addr::Address;
use crate::error::{Error, Result};
use crate::stream::{
    apply_ref, complete, state, sync_interest, Completion, DoneCb, Socket, Stream, StreamState,
};
use crate::sys;
use crate::table::net;

/// How to connect.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Bind to this local address (and port, if non-zero) first.
    pub local_addr: Option<SocketAddr>,
    /// Give up after this many milliseconds (0: no limit).
    pub timeout_ms: u64,
    /// Keep our side open after the peer's EOF (see `set_allow_half_open`).
    pub allow_half_open: bool,
    /// For `connect_host`: only IPv4 (4) or only IPv6 (6) addresses;
    /// `None` (or any other value) takes both, in the resolver's order.
    pub family: Option<u8>,
}

pub(crate) struct Connecting {
    pub cb: DoneCb,
    /// The address being tried, once known.
    addr: Option<Address>,
    /// Addresses left to try after it.
    rest: std::vec::IntoIter<Address>,
    pub timer: Option<Timer>,
    timeout_ms: u64,
    local: Option<SocketAddr>,
    family: Option<u8>,
}

fn new_stream(
    lp: &mut Loop,
    opts: &ConnectOptions,
    addr: Option<Address>,
    cb: DoneCb,
) -> Result<Stream> {
    let timer = if opts.timeout_ms > 0 {
        Some(Timer::new(lp))
    } else {
        None
    };
    let mut st = StreamState::new(None);
    st.allow_half_open = opts.allow_half_open;
    st.connecting = Some(Box::new(Connecting {
        cb,
        addr,
        rest: Vec::new().into_iter(),
        timer,
        timeout_ms: opts.timeout_ms,
        local: opts.local_addr,
        family: opts.family,
    }));
    crate::shrink::register(lp);
    let s = Stream(net(lp).streams.insert(st));
    if let Some(t) = timer {
        t.start(lp, opts.timeout_ms, 0, move |lp, _| on_timeout(lp, s))?;
    }
    Ok(s)
}

impl Stream {
    /// Connects to `addr` (IP or Unix path). `cb` runs from the pending
    /// phase with the outcome; writes made meanwhile wait in the queue.
    pub fn connect(
        lp: &mut Loop,
        addr: impl Into<Address>,
        opts: &ConnectOptions,
        cb: impl FnOnce(&mut Loop, Stream, Result<()>) + 'static,
    ) -> Result<Stream> {
        let s = new_stream(lp, opts, Some(addr.into()), Box::new(cb))?;
        start_attempt(lp, s);
        Ok(s)
    }

    /// Resolves `host` on the work pool, then connects to its addresses in
    /// the resolver's order until one answers.
    pub fn connect_host(
        lp: &mut Loop,
        host: &str,
        port: u16,
        opts: &ConnectOptions,
        cb: impl FnOnce(&mut Loop, Stream, Result<()>) + 'static,
    ) -> Result<Stream> {
        let s = new_stream(lp, opts, None, Box::new(cb))?;
        let name = host.to_string();
        let work = lp.queue_work(
            move || {
                (name.as_str(), port)
                    .to_socket_addrs()
                    .map(|it| it.collect::<Vec<_>>())
            },
            {
                let host = host.to_string();
                move |lp, _, result| resolved(lp, s, host, result)
            },
        )?;
        state(lp, s)?.resolving = Some(work);
        Ok(s)
    }
}

fn resolved(
    lp: &mut Loop,
    s: Stream,
    host: String,
    result: std::result::Result<std::io::Result<Vec<SocketAddr>>, eddy_loop::WorkError>,
) {
    let Ok(st) = state(lp, s) else { return };
    st.resolving = None;
    let family = st.connecting.as_ref().and_then(|c| c.family);
    let wanted = |a: &SocketAddr| match family {
        Some(4) => a.is_ipv4(),
        Some(6) => a.is_ipv6(),
        _ => true,
    };
    let result =
        result.map(|r| r.map(|addrs| addrs.into_iter().filter(wanted).collect::<Vec<_>>()));
    let addrs = match result {
        Ok(Ok(addrs)) if !addrs.is_empty() => addrs,
        Ok(Ok(_)) => {
            let e = std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses found");
            return fail(lp, s, Error::Resolve { host, source: e });
        }
        Ok(Err(e)) => return fail(lp, s, Error::Resolve { host, source: e }),
        Err(e) => {
            let e = std::io::Error::other(e.to_string());
            return fail(lp, s, Error::Resolve { host, source: e });
        }
    };
    let mut addrs = addrs
        .into_iter()
        .map(Address::Ip)
        .collect::<Vec<_>>()
        .into_iter();
    if let Some(c) = st.connecting.as_mut() {
        c.addr = addrs.next();
        c.rest = addrs;
    }
    start_attempt(lp, s);
}

/// Starts connecting to the current address.
fn start_attempt(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    let Some(c) = st.connecting.as_ref() else {
        return;
    };
    let Some(addr) = c.addr.clone() else { return };
    let local = c.local;
    let attempt = || -> std::io::Result<(OwnedFd, bool)> {
        let fd = sys::socket(addr.domain())?;
        if let Some(local) = local {
            sys::bind(fd.as_fd(), &sys::SockAddr::from_ip(&local))?;
        }
        match sys::connect(fd.as_fd(), &addr.to_sys()?) {
            Ok(()) => Ok((fd, true)),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok((fd, false)),
            Err(e) => Err(e),
        }
    };
    match attempt() {
        Ok((fd, done)) => {
            install_socket(lp, s, fd);
            if done {
                connected(lp, s);
            } else {
                sync_interest(lp, s);
            }
        }
        Err(e) => attempt_failed(lp, s, e),
    }
}

fn install_socket(lp: &mut Loop, s: Stream, fd: OwnedFd) {
    let io = sys::watcher(lp, &fd);
    crate::stream::watch(lp, s, io);
    let Ok(st) = state(lp, s) else {
        let _ = io.close(lp, |_, _| {});
        return;
    };
    let referenced = st.referenced;
    st.sock = Some(Socket { fd, io });
    st.applied = Interest::NONE;
    apply_ref(lp, io, referenced);
}

/// The socket became writable (or failed) while connecting.
pub(crate) fn on_connect_ready(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    let Some(sock) = st.sock.as_ref() else { return };
    match sys::getsockopt(sock.fd.as_fd(), libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(0) => connected(lp, s),
        Ok(errno) => attempt_failed(lp, s, std::io::Error::from_raw_os_error(errno)),
        Err(e) => attempt_failed(lp, s, e),
    }
}

fn connected(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    let Some(c) = st.connecting.take() else {
        return;
    };
    if let Some(t) = c.timer {
        let _ = t.close(lp, |_, _| {});
    }
    complete(lp, s, Completion::Done(c.cb, Ok(())));
    sync_interest(lp, s);
    crate::write::flush(lp, s);
}

/// Drops the failed socket; tries the next address, or reports the error.
pub(crate) fn attempt_failed(lp: &mut Loop, s: Stream, e: std::io::Error) {
    let Ok(st) = state(lp, s) else { return };
    let addr = st.connecting.as_ref().and_then(|c| c.addr.clone());
    drop_socket(lp, s);
    let Ok(st) = state(lp, s) else { return };
    let next = st.connecting.as_mut().and_then(|c| c.rest.next());
    if let (Some(next), Some(c)) = (next, st.connecting.as_mut()) {
        c.addr = Some(next);
        return start_attempt(lp, s);
    }
    let shown = addr.map_or_else(String::new, |a| a.to_string());
    fail(lp, s, Error::io("connect", shown, e));
}

fn drop_socket(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    st.applied = Interest::NONE;
    if let Some(Socket { fd, io }) = st.sock.take() {
        let _ = io.close(lp, |_, _| {});
        drop(fd);
    }
}

/// Ends the connect with `err`.
fn fail(lp: &mut Loop, s: Stream, err: Error) {
    let Ok(st) = state(lp, s) else { return };
    let Some(c) = st.connecting.take() else {
        return;
    };
    st.w.failed = Some(libc::ENOTCONN);
    if let Some(t) = c.timer {
        let _ = t.close(lp, |_, _| {});
    }
    complete(lp, s, Completion::Done(c.cb, Err(err)));
}

fn on_timeout(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    let Some(c) = st.connecting.as_ref() else {
        return;
    };
    let addr = c.addr.as_ref().map_or_else(String::new, |a| a.to_string());
    let ms = c.timeout_ms;
    let resolving = st.resolving.take();
    if let Some(work) = resolving {
        let _ = lp.cancel_work(work);
    }
    drop_socket(lp, s);
    fail(lp, s, Error::ConnectTimeout { addr, ms });
}
