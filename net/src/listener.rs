//! Listeners: a bound, listening TCP or Unix-domain socket that hands each
//! accepted connection to a callback as a [`Stream`].
//!
//! At EMFILE/ENFILE the listener keeps working (libuv's trick): it closes
//! its spare fd, accepts and drops the pending connections, and reopens the
//! spare, so the listening socket stops being readable and the loop does
//! not spin. If the spare is gone too, accepting pauses for a moment on a
//! timer instead.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use eddy_loop::{Handle, Id, Interest, Io, Loop, Timer};

use crate::addr::Address;
use crate::error::{Error, Result};
use crate::offered;
use crate::stream::Stream;
use crate::sys;
use crate::table::{net, net_ref};

/// Connections accepted per wake-up, so a flood cannot starve the loop.
const MAX_ACCEPTS: usize = 128;
/// How long accepting pauses when out of fds and without a spare.
const EMFILE_BACKOFF_MS: u64 = 100;

/// A listening socket (Node's `net.Server`, libuv's listening stream): a
/// `Copy` id into the net table.
///
/// ```
/// use eddy_loop::{Loop, RunMode};
/// use eddy_net::{ConnectOptions, ListenOptions, Listener, Stream};
///
/// let mut lp = Loop::new()?;
/// let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
/// let listener = Listener::bind(&mut lp, any, &ListenOptions::default(), |lp, l, conn| {
///     // One connection, then stop listening.
///     conn.unwrap().close(lp, |_, _| {}).unwrap();
///     l.close(lp, |_, l| println!("{l} closed")).unwrap();
/// })?;
/// let port = listener.local_addr(&lp)?.ip().unwrap().port();
/// assert_ne!(port, 0, "the real port of a port-0 bind");
/// let addr = listener.local_addr(&lp)?;
/// Stream::connect(&mut lp, addr, &ConnectOptions::default(), |lp, s, _| {
///     let _ = s.close(lp, |_, _| {});
/// })?;
/// lp.run(RunMode::Default);
/// assert!(!listener.is_active(&lp));
/// # Ok::<(), eddy_net::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Listener(Id<ListenerState>);

/// How to listen (Node's defaults).
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// The kernel's queue of connections not yet accepted (511, Node's).
    pub backlog: i32,
    /// SO_REUSEADDR (on by default): rebind at once after a restart.
    pub reuse_addr: bool,
    /// SO_REUSEPORT: several sockets, e.g. one per loop thread, share a port.
    pub reuse_port: bool,
    /// For `::`, accept only IPv6 (off by default: dual-stack).
    pub ipv6_only: bool,
    /// Above this many live connections, new ones are accepted and closed.
    pub max_connections: Option<usize>,
    /// Given to every accepted stream (see `Stream::set_allow_half_open`).
    pub allow_half_open: bool,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions {
            backlog: 511,
            reuse_addr: true,
            reuse_port: false,
            ipv6_only: false,
            max_connections: None,
            allow_half_open: false,
        }
    }
}

pub(crate) type ConnectionCb = Box<dyn FnMut(&mut Loop, Listener, Result<Stream>)>;

pub(crate) struct ListenerState {
    fd: Option<OwnedFd>,
    io: Io,
    cb: Option<ConnectionCb>,
    addr: Address,
    /// Removed on close: we created it.
    unix_path: Option<PathBuf>,
    paused: bool,
    closing: bool,
    connections: usize,
    max_connections: Option<usize>,
    allow_half_open: bool,
    backoff: Option<Timer>,
}

fn state(lp: &mut Loop, l: Listener) -> Result<&mut ListenerState> {
    match net(lp).listeners.get_mut(l.0) {
        Some(st) if !st.closing => Ok(st),
        _ => Err(Error::Closed("listener")),
    }
}

/// A bound, listening socket that is on no loop yet: to be handed to a
/// child process, or given to a loop with [`Listener::offer`].
pub fn listen_socket(addr: impl Into<Address>, opts: &ListenOptions) -> Result<OwnedFd> {
    let addr = addr.into();
    bind_socket(&addr, opts).map_err(|e| Error::io("listen", &addr, e))
}

fn state_ref(lp: &Loop, l: Listener) -> Result<&ListenerState> {
    match net_ref(lp).and_then(|n| n.listeners.get(l.0)) {
        Some(st) if !st.closing => Ok(st),
        _ => Err(Error::Closed("listener")),
    }
}

fn cb_slot(lp: &mut Loop, l: Listener) -> Option<&mut Option<ConnectionCb>> {
    state(lp, l).ok().map(|st| &mut st.cb)
}

fn bind_socket(addr: &Address, opts: &ListenOptions) -> io::Result<OwnedFd> {
    let fd = sys::socket(addr.domain())?;
    let sock = fd.as_fd();
    if let Address::Ip(ip) = addr {
        if opts.reuse_addr {
            sys::setsockopt(sock, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        }
        if opts.reuse_port {
            sys::setsockopt(sock, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
        }
        if ip.is_ipv6() {
            let only = i32::from(opts.ipv6_only);
            sys::setsockopt(sock, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, only)?;
        }
    }
    sys::bind(sock, &addr.to_sys()?)?;
    sys::listen(sock, opts.backlog)?;
    Ok(fd)
}

impl Listener {
    /// Binds and listens on `addr`; `on_connection` gets each accepted
    /// stream (not yet reading), or an accept error such as EMFILE.
    pub fn bind(
        lp: &mut Loop,
        addr: impl Into<Address>,
        opts: &ListenOptions,
        on_connection: impl FnMut(&mut Loop, Listener, Result<Stream>) + 'static,
    ) -> Result<Listener> {
        let addr = addr.into();
        if let Some(fd) = offered::take(lp, &addr) {
            return Listener::from_fd(lp, fd, opts, on_connection);
        }
        let fd = bind_socket(&addr, opts).map_err(|e| Error::io("listen", &addr, e))?;
        let unix_path = match &addr {
            Address::Unix(p) => Some(p.clone()),
            Address::Ip(_) => None,
        };
        Listener::start(lp, fd, addr, unix_path, opts, Box::new(on_connection))
    }

    /// `bind` for a Unix-domain path; fails if the path exists.
    pub fn bind_unix(
        lp: &mut Loop,
        path: impl AsRef<Path>,
        opts: &ListenOptions,
        on_connection: impl FnMut(&mut Loop, Listener, Result<Stream>) + 'static,
    ) -> Result<Listener> {
        Listener::bind(
            lp,
            Address::Unix(path.as_ref().to_path_buf()),
            opts,
            on_connection,
        )
    }

    /// Listens on an inherited socket (socket activation, Node's
    /// `listen({fd})`); it is made non-blocking, and `listen` is called
    /// again, which is harmless on a socket already listening.
    pub fn from_fd(
        lp: &mut Loop,
        fd: OwnedFd,
        opts: &ListenOptions,
        on_connection: impl FnMut(&mut Loop, Listener, Result<Stream>) + 'static,
    ) -> Result<Listener> {
        let shown = format!("fd {}", fd.as_raw_fd());
        sys::prepare_inherited(fd.as_fd()).map_err(|e| Error::io("listen", &shown, e))?;
        sys::listen(fd.as_fd(), opts.backlog).map_err(|e| Error::io("listen", &shown, e))?;
        let addr = sys::local_addr(fd.as_fd())
            .ok()
            .and_then(|a| Address::from_sys(&a))
            .ok_or_else(|| Error::InvalidAddress(shown.clone()))?;
        Listener::start(lp, fd, addr, None, opts, Box::new(on_connection))
    }

    /// Offers a listening socket (inherited, or made with
    /// [`listen_socket`]) to this loop: the next [`Listener::bind`] here to
    /// its address takes it instead of binding, so that code which only
    /// calls `bind` serves on it (and never removes a Unix socket's file,
    /// which it did not create). Returns that address.
    pub fn offer(lp: &mut Loop, fd: OwnedFd) -> Result<Address> {
        let shown = format!("fd {}", fd.as_raw_fd());
        let addr = sys::local_addr(fd.as_fd())
            .ok()
            .and_then(|a| Address::from_sys(&a))
            .ok_or_else(|| Error::InvalidAddress(shown.clone()))?;
        if sys::getsockopt(fd.as_fd(), libc::SOL_SOCKET, libc::SO_ACCEPTCONN)
            .map_err(|e| Error::io("offer", &shown, e))?
            == 0
        {
            return Err(Error::io(
                "offer",
                format!("{shown} ({addr})"),
                io::Error::from_raw_os_error(libc::EINVAL),
            ));
        }
        offered::offer(lp, addr.clone(), fd);
        Ok(addr)
    }

    /// Every listener open on this loop (libuv's `uv_walk`, for
    /// listeners): e.g. to pause them all before a handover.
    pub fn all(lp: &mut Loop) -> Vec<Listener> {
        net(lp)
            .listeners
            .iter()
            .filter(|(_, st)| !st.closing)
            .map(|(id, _)| Listener(id))
            .collect()
    }

    fn start(
        lp: &mut Loop,
        fd: OwnedFd,
        addr: Address,
        unix_path: Option<PathBuf>,
        opts: &ListenOptions,
        cb: ConnectionCb,
    ) -> Result<Listener> {
        // Report the real address (port 0 becomes the port the kernel chose).
        let addr = sys::local_addr(fd.as_fd())
            .ok()
            .and_then(|a| Address::from_sys(&a))
            .filter(|a| matches!(a, Address::Ip(_)))
            .unwrap_or(addr);
        let io = sys::watcher(lp, &fd);
        crate::shrink::register(lp);
        let l = Listener(net(lp).listeners.insert(ListenerState {
            fd: Some(fd),
            io,
            cb: Some(cb),
            addr,
            unix_path,
            paused: false,
            closing: false,
            connections: 0,
            max_connections: opts.max_connections,
            allow_half_open: opts.allow_half_open,
            backoff: None,
        }));
        if let Err(e) = io.start(lp, Interest::READABLE, move |lp, _, ready| {
            match ready.error() {
                Some(err) => accept_failed(lp, l, err),
                None => accept_some(lp, l),
            }
        }) {
            let _ = io.close(lp, |_, _| {});
            net(lp).listeners.remove(l.0);
            return Err(e.into());
        }
        Ok(l)
    }

    /// The bound address, with the real port when bound to port 0.
    pub fn local_addr(self, lp: &Loop) -> Result<Address> {
        Ok(state_ref(lp, self)?.addr.clone())
    }

    /// Connections accepted and not yet closed (Node's `getConnections`).
    pub fn connections(self, lp: &Loop) -> Result<usize> {
        Ok(state_ref(lp, self)?.connections)
    }

    /// Whether the listener is open: neither closed nor closing (it may be
    /// paused).
    pub fn is_active(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_ok()
    }

    /// Whether `close` was called and its callback has not returned yet.
    pub fn is_closing(self, lp: &Loop) -> bool {
        net_ref(lp)
            .and_then(|n| n.listeners.get(self.0))
            .is_some_and(|st| st.closing)
    }

    /// Sets (or, with `None`, lifts) the limit on live connections (Node's
    /// `maxConnections`).
    pub fn set_max_connections(self, lp: &mut Loop, max: Option<usize>) -> Result<()> {
        state(lp, self)?.max_connections = max;
        Ok(())
    }

    /// Stops accepting; connections wait in the kernel's backlog.
    pub fn pause(self, lp: &mut Loop) -> Result<()> {
        let st = state(lp, self)?;
        st.paused = true;
        let io = st.io;
        io.set_interest(lp, Interest::NONE)?;
        Ok(())
    }

    /// Starts accepting again after `pause`.
    pub fn resume(self, lp: &mut Loop) -> Result<()> {
        let st = state(lp, self)?;
        st.paused = false;
        let (io, backing_off) = (st.io, st.backoff.is_some_and(|t| t.is_active(lp)));
        if !backing_off {
            io.set_interest(lp, Interest::READABLE)?;
        }
        Ok(())
    }

    /// Lets the listener keep the loop alive (the default).
    pub fn ref_(self, lp: &mut Loop) -> Result<()> {
        let io = state(lp, self)?.io;
        Ok(io.ref_(lp)?)
    }

    /// An unref'd listener still accepts but does not keep `run` going.
    pub fn unref(self, lp: &mut Loop) -> Result<()> {
        let io = state(lp, self)?.io;
        Ok(io.unref(lp)?)
    }

    /// Whether the listener is referenced (false for a stale listener).
    pub fn has_ref(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_ok_and(|st| st.io.has_ref(lp))
    }

    /// Stops listening now (a Unix socket file is removed); `cb` runs in
    /// the closing phase with the listener. Accepted streams are not
    /// affected.
    pub fn close(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, Listener) + 'static,
    ) -> Result<()> {
        let st = state(lp, self)?;
        st.closing = true;
        let (io, fd, path, backoff) = (st.io, st.fd.take(), st.unix_path.take(), st.backoff);
        if let Some(t) = backoff {
            let _ = t.close(lp, |_, _| {});
        }
        io.close(lp, move |lp, _| {
            cb(lp, self);
            net(lp).listeners.remove(self.0);
        })?;
        drop(fd);
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }
}

/// A stream accepted by `l` was closed.
pub(crate) fn connection_closed(lp: &mut Loop, l: Listener) {
    if let Some(st) = net(lp).listeners.get_mut(l.0) {
        st.connections = st.connections.saturating_sub(1);
    }
}

fn accept_some(lp: &mut Loop, l: Listener) {
    for _ in 0..MAX_ACCEPTS {
        let Ok(st) = state(lp, l) else { return };
        if st.paused {
            return;
        }
        let Some(fd) = st.fd.as_ref() else { return };
        let accepted = sys::retry(|| sys::accept(fd.as_fd()));
        let (full, half_open) = (
            st.max_connections.is_some_and(|max| st.connections >= max),
            st.allow_half_open,
        );
        match accepted {
            Ok(conn) if full => drop(conn),
            Ok(conn) => {
                let s = Stream::from_socket(lp, conn);
                if let Ok(st) = crate::stream::state(lp, s) {
                    st.listener = Some(l);
                    st.allow_half_open = half_open;
                }
                if let Ok(st) = state(lp, l) {
                    st.connections += 1;
                }
                deliver(lp, l, Ok(s));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // The peer gave up before we accepted: nothing to report.
            Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                out_of_fds(lp, l);
                let addr = listener_addr(lp, l);
                deliver(lp, l, Err(Error::io("accept", addr, e)));
                return;
            }
            Err(e) => {
                let addr = listener_addr(lp, l);
                deliver(lp, l, Err(Error::io("accept", addr, e)));
                return;
            }
        }
    }
}

/// The listening socket reported an error (the loop stopped its watcher):
/// the connection callback is told, and accepting goes on.
fn accept_failed(lp: &mut Loop, l: Listener, err: io::Error) {
    let addr = listener_addr(lp, l);
    deliver(lp, l, Err(Error::io("accept", addr, err)));
    let Ok(st) = state(lp, l) else { return };
    let (io, paused, backoff) = (st.io, st.paused, st.backoff);
    if !paused && !backoff.is_some_and(|t| t.is_active(lp)) {
        let _ = io.set_interest(lp, Interest::READABLE);
    }
}

fn listener_addr(lp: &mut Loop, l: Listener) -> String {
    state(lp, l).map_or_else(|_| String::new(), |st| st.addr.to_string())
}

fn deliver(lp: &mut Loop, l: Listener, conn: Result<Stream>) {
    lp.with_cb(l, cb_slot, |lp, cb| cb(lp, l, conn));
}

/// EMFILE/ENFILE: free the spare fd, accept and drop what is pending, take
/// the spare back. Without a spare, stop watching for a moment instead.
fn out_of_fds(lp: &mut Loop, l: Listener) {
    let spare = net(lp).reserve_fd.take();
    let had_spare = spare.is_some();
    drop(spare);
    if had_spare {
        if let Ok(st) = state(lp, l) {
            if let Some(fd) = st.fd.as_ref() {
                while let Ok(conn) = sys::retry(|| sys::accept(fd.as_fd())) {
                    drop(conn);
                }
            }
        }
        net(lp).reserve_fd = sys::open_reserve().ok();
        if net(lp).reserve_fd.is_some() {
            return;
        }
    }
    back_off(lp, l);
}

fn back_off(lp: &mut Loop, l: Listener) {
    let Ok(st) = state(lp, l) else { return };
    let (io, existing) = (st.io, st.backoff);
    let timer = existing.unwrap_or_else(|| Timer::new(lp));
    if let Ok(st) = state(lp, l) {
        st.backoff = Some(timer);
    }
    let _ = io.set_interest(lp, Interest::NONE);
    let _ = timer.start(lp, EMFILE_BACKOFF_MS, 0, move |lp, _| {
        let Ok(st) = state(lp, l) else { return };
        if !st.paused {
            let io = st.io;
            let _ = io.set_interest(lp, Interest::READABLE);
        }
        if net(lp).reserve_fd.is_none() {
            net(lp).reserve_fd = sys::open_reserve().ok();
        }
    });
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "listener {}", self.0.index())
    }
}

/// Parses `host:port` (a literal IP, `[v6]:port`, or a name resolved with
/// the system resolver, blocking) into a socket address for `bind`.
pub fn resolve_blocking(spec: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    spec.to_socket_addrs()
        .map_err(|e| Error::Resolve {
            host: spec.to_string(),
            source: e,
        })?
        .next()
        .ok_or_else(|| Error::InvalidAddress(spec.to_string()))
}
