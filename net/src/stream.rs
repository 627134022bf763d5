//! Streams: a connected TCP or Unix-domain socket as a handle on the loop,
//! like libuv's `uv_stream_t` / Node's `net.Socket`.
//!
//! The state lives in the net table; a [`Stream`] is a `Copy` id with a
//! generation. A stream's socket has one `Io` watcher whose interest always
//! follows the state: readable while reading (and no EOF yet), writable
//! while connecting or while the write queue is non-empty and not corked.
//!
//! Completions (write, shutdown, connect, drain) are queued on the stream
//! and delivered from the loop's pending phase, never from inside the call
//! that caused them. `close` is immediate: whatever is still owed is
//! delivered (cancelled writes with [`Error::Cancelled`]) right before the
//! close callback, in the closing phase; nothing of the stream runs after.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};

use eddy_loop::{Handle, Id, Interest, Io, Loop, Timer, WorkHandle};

use crate::addr::Address;
use crate::connect::Connecting;
use crate::error::{Error, Result};
use crate::listener::Listener;
use crate::sys;
use crate::table::{net, net_ref};
use crate::timeout::IdleTimeout;
use crate::write::WriteQueue;

/// A TCP or Unix-domain stream (Node's `net.Socket`, libuv's `uv_tcp_t`
/// and `uv_pipe_t`): a `Copy` id into the net table.
///
/// ```
/// use eddy_loop::{Loop, RunMode};
/// use eddy_net::{ConnectOptions, ListenOptions, Listener, ReadEvent, Stream};
///
/// let mut lp = Loop::new()?;
/// let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
/// // An echo server that closes after one connection.
/// let server = Listener::bind(&mut lp, any, &ListenOptions::default(), |lp, l, conn| {
///     let Ok(conn) = conn else { return };
///     conn.read_start(lp, |lp, s, ev| match ev {
///         ReadEvent::Data(bytes) => { let _ = s.write(lp, bytes); }
///         _ => { let _ = s.end(lp); }
///     }).unwrap();
///     let _ = l.close(lp, |_, _| {});
/// })?;
/// let addr = server.local_addr(&lp)?;
/// let client = Stream::connect(&mut lp, addr, &ConnectOptions::default(), |lp, s, res| {
///     res.unwrap();
///     s.write(lp, b"ping").unwrap();
///     s.end(lp).unwrap();
/// })?;
/// let echoed = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let got = echoed.clone();
/// client.read_start(&mut lp, move |_, _, ev| {
///     if let ReadEvent::Data(bytes) = ev {
///         got.borrow_mut().extend_from_slice(bytes);
///     }
/// })?;
/// lp.run(RunMode::Default);
/// assert_eq!(&*echoed.borrow(), b"ping");
/// assert!(!client.is_active(&lp), "closed after both sides ended");
/// # Ok::<(), eddy_net::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Stream(pub(crate) Id<StreamState>);

/// What a read callback is told.
#[derive(Debug)]
pub enum ReadEvent<'a> {
    /// Bytes read, in a buffer the loop owns: copy what you keep.
    Data(&'a [u8]),
    /// The peer shut down its writing side.
    Eof,
    /// Reading failed (e.g. ECONNRESET); reading has stopped.
    Error(Error),
}

pub(crate) type ReadCb = Box<dyn FnMut(&mut Loop, Stream, ReadEvent<'_>)>;
pub(crate) type DoneCb = Box<dyn FnOnce(&mut Loop, Stream, Result<()>)>;
pub(crate) type DrainCb = Box<dyn FnMut(&mut Loop, Stream)>;
pub(crate) type CloseCb = Box<dyn FnOnce(&mut Loop, Stream)>;
pub(crate) type HangupCb = Box<dyn FnOnce(&mut Loop, Stream, crate::hangup::Hangup)>;

/// Something owed to the user, delivered from the pending phase.
pub(crate) enum Completion {
    Done(DoneCb, Result<()>),
    Drain,
    /// A write failed: unless the stream is reading (and will see the
    /// error itself), its read callback is told, or it might never learn
    /// that the connection is gone.
    WriteFailed(i32),
}

pub(crate) struct Socket {
    pub fd: OwnedFd,
    pub io: Io,
}

pub(crate) struct StreamState {
    pub sock: Option<Socket>,
    pub closing: bool,
    pub referenced: bool,
    pub reading: bool,
    pub eof: bool,
    pub allow_half_open: bool,
    /// Shut down and close once the write queue is flushed (Node's `end`).
    pub end_requested: bool,
    pub reader: Reader,
    /// Boxed: only client streams connect, and only for a moment.
    pub connecting: Option<Box<Connecting>>,
    pub resolving: Option<WorkHandle>,
    pub w: WriteQueue,
    pub completions: VecDeque<Completion>,
    pub delivery_queued: bool,
    pub idle: Option<IdleTimeout>,
    pub listener: Option<Listener>,
    pub applied: Interest,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// What the reads tell about pending input (`probe`).
    pub input: InputSeen,
    /// Told once if the peer goes away while the stream is not reading
    /// (`Stream::on_hangup`).
    pub hangup_cb: Option<HangupCb>,
    /// The user's value (`Stream::set_data`).
    pub data: u64,
    /// The peer's address once asked for (a connected socket's peer
    /// never changes): one getpeername per stream, not per call.
    pub peer: std::cell::OnceCell<Box<Address>>,
}

/// Who reads a stream.
pub(crate) enum Reader {
    /// No `read_start` yet.
    None,
    /// `read_start` installed a callback: here, except while it runs
    /// (`Loop::with_cb` takes it out), so `read_resume` works from inside
    /// it too.
    Installed(Option<ReadCb>),
}

/// What [`Stream::probe`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Nothing pending: the socket looks fit.
    Quiet,
    /// The peer closed its side (EOF pending or read).
    Closed,
    /// Bytes are waiting that nobody asked for.
    Pending,
    /// The socket has an error (this errno).
    Failed(i32),
}

/// What the reads of a stream saw of its input, for `Stream::probe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InputSeen {
    /// Nothing known now.
    Unknown,
    /// A short read drained the socket in the loop iteration of this
    /// poll count, and that poll reported no half-close; the socket has
    /// been watched for reading since, with no event (an event, or the
    /// end of the watch, makes it `Unknown`).
    DrainedAt(u64),
    /// The poll reported the peer's half-close (EPOLLRDHUP).
    PeerClosed,
}

impl StreamState {
    pub fn new(sock: Option<Socket>) -> StreamState {
        StreamState {
            sock,
            closing: false,
            referenced: true,
            reading: false,
            eof: false,
            allow_half_open: false,
            end_requested: false,
            reader: Reader::None,
            connecting: None,
            resolving: None,
            w: WriteQueue::default(),
            completions: VecDeque::new(),
            delivery_queued: false,
            idle: None,
            listener: None,
            applied: Interest::NONE,
            bytes_read: 0,
            bytes_written: 0,
            input: InputSeen::Unknown,
            hangup_cb: None,
            data: 0,
            peer: std::cell::OnceCell::new(),
        }
    }

    /// The interest the watcher should have now.
    fn wanted(&self) -> Interest {
        if self.connecting.is_some() {
            return Interest::WRITABLE;
        }
        let mut want = Interest::NONE;
        if self.reading && !self.eof {
            want = want | Interest::READABLE;
        } else if self.hangup_cb.is_some() && !self.eof {
            // Not reading, yet the owner wants to hear of the peer's FIN
            // or reset (EPOLLRDHUP; errors and hang-ups always come).
            want = want | Interest::DISCONNECT;
        }
        if !self.w.reqs.is_empty() && !self.w.corked {
            want = want | Interest::WRITABLE;
        }
        want
    }
}

/// The live (not closing) state of `s`.
#[inline]
pub(crate) fn state(lp: &mut Loop, s: Stream) -> Result<&mut StreamState> {
    match net(lp).streams.get_mut(s.0) {
        Some(st) if !st.closing => Ok(st),
        _ => Err(Error::Closed("stream")),
    }
}

/// The live (not closing) state of `s`, for queries.
#[inline]
pub(crate) fn state_ref(lp: &Loop, s: Stream) -> Result<&StreamState> {
    match net_ref(lp).and_then(|n| n.streams.get(s.0)) {
        Some(st) if !st.closing => Ok(st),
        _ => Err(Error::Closed("stream")),
    }
}

/// The read callback's slot, for `Loop::with_cb`.
pub(crate) fn read_slot(lp: &mut Loop, s: Stream) -> Option<&mut Option<ReadCb>> {
    match &mut state(lp, s).ok()?.reader {
        Reader::Installed(cb) => Some(cb),
        Reader::None => None,
    }
}

fn drain_slot(lp: &mut Loop, s: Stream) -> Option<&mut Option<DrainCb>> {
    state(lp, s).ok().map(|st| &mut st.w.drain_cb)
}

/// Brings the watcher's interest in line with the state.
pub(crate) fn sync_interest(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    let want = st.wanted();
    if want == st.applied {
        return;
    }
    let Some(io) = st.sock.as_ref().map(|k| k.io) else {
        return;
    };
    if st.applied.is_readable() && !want.is_readable() && st.input != InputSeen::PeerClosed {
        // Not watched from now on: what a read found no longer holds
        // (`probe`).
        st.input = InputSeen::Unknown;
    }
    st.applied = want;
    // Only fails for a closed watcher, which a live stream never has.
    let _ = io.set_interest(lp, want);
}

/// Queues a completion and makes sure a delivery is scheduled.
pub(crate) fn complete(lp: &mut Loop, s: Stream, c: Completion) {
    let Ok(st) = state(lp, s) else { return };
    st.completions.push_back(c);
    if !st.delivery_queued {
        st.delivery_queued = true;
        lp.queue_pending(move |lp| deliver(lp, s));
    }
}

/// Pending phase: runs the stream's completions one at a time, stopping if
/// one of them closes the stream (the close delivers the rest).
fn deliver(lp: &mut Loop, s: Stream) {
    if let Ok(st) = state(lp, s) {
        st.delivery_queued = false;
    }
    loop {
        let Some(c) = state(lp, s).ok().and_then(|st| st.completions.pop_front()) else {
            return;
        };
        run_completion(lp, s, c);
    }
}

fn run_completion(lp: &mut Loop, s: Stream, c: Completion) {
    match c {
        Completion::Done(cb, result) => cb(lp, s, result),
        Completion::Drain => {
            lp.with_cb(s, drain_slot, |lp, cb| cb(lp, s));
        }
        Completion::WriteFailed(errno) => {
            // Decided now, not when the write failed: a reader that stopped
            // reading since then would never see the reset itself.
            let reading = state(lp, s).is_ok_and(|st| st.reading && !st.eof);
            if reading {
                return;
            }
            let err = Error::io("write", "socket", std::io::Error::from_raw_os_error(errno));
            lp.with_cb(s, read_slot, |lp, cb| cb(lp, s, ReadEvent::Error(err)));
        }
    }
}

impl Stream {
    /// Creates a stream for a connected socket fd (used by accept and by
    /// `from_fd`).
    pub(crate) fn from_socket(lp: &mut Loop, fd: OwnedFd) -> Stream {
        let io = sys::watcher(lp, &fd);
        let s = Stream(
            net(lp)
                .streams
                .insert(StreamState::new(Some(Socket { fd, io }))),
        );
        watch(lp, s, io);
        s
    }

    /// Wraps an already-connected, inherited socket (e.g. from a parent).
    pub fn from_fd(lp: &mut Loop, fd: OwnedFd) -> Result<Stream> {
        sys::prepare_inherited(fd.as_fd()).map_err(|e| Error::io("adopt", "fd", e))?;
        Ok(Stream::from_socket(lp, fd))
    }

    /// Starts delivering reads to `cb`: data, then `Eof`, or an error.
    pub fn read_start(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, Stream, ReadEvent<'_>) + 'static,
    ) -> Result<()> {
        let st = state(lp, self)?;
        st.reader = Reader::Installed(Some(Box::new(cb)));
        st.reading = true;
        sync_interest(lp, self);
        Ok(())
    }

    /// Stops reading (backpressure): the kernel buffers, then the peer waits.
    pub fn read_stop(self, lp: &mut Loop) -> Result<()> {
        state(lp, self)?.reading = false;
        sync_interest(lp, self);
        Ok(())
    }

    /// Reads again after `read_stop`, into the callback `read_start`
    /// installed (a pipe pauses and resumes a stream this way).
    pub fn read_resume(self, lp: &mut Loop) -> Result<()> {
        let st = state(lp, self)?;
        if matches!(st.reader, Reader::None) {
            return Err(Error::Closed("stream reader"));
        }
        st.reading = true;
        sync_interest(lp, self);
        Ok(())
    }

    /// Whether reads are being delivered (`read_start` and no EOF yet).
    pub fn is_reading(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_ok_and(|st| st.reading && !st.eof)
    }

    /// When false (the default), an EOF from the peer ends our side too,
    /// once pending writes are flushed, and then closes the stream.
    pub fn set_allow_half_open(self, lp: &mut Loop, allow: bool) -> Result<()> {
        state(lp, self)?.allow_half_open = allow;
        Ok(())
    }

    /// Whether the socket can carry a new request now, checked without
    /// blocking: at most one `recv(MSG_PEEK | MSG_DONTWAIT)`. None when a
    /// read drained it and it has been watched since with no event: in
    /// this loop iteration, or in an earlier one when a poll ran since
    /// and holds no event for it (level triggering: it was quiet when
    /// that poll returned). A FIN or bytes that arrive after that are not
    /// seen: that race is inherent to reusing a connection.
    pub fn probe(self, lp: &Loop) -> Result<Probe> {
        let st = state_ref(lp, self)?;
        if st.eof || st.input == InputSeen::PeerClosed {
            return Ok(Probe::Closed);
        }
        let Some(sock) = st.sock.as_ref() else {
            return Ok(Probe::Closed);
        };
        if let InputSeen::DrainedAt(poll) = st.input {
            if poll == lp.poll_count() || sock.io.is_quiet_since(lp, poll) {
                return Ok(Probe::Quiet);
            }
        }
        Ok(match sys::retry(|| sys::peek(sock.fd.as_fd())) {
            Ok(0) => Probe::Closed,
            Ok(_) => Probe::Pending,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Probe::Quiet,
            Err(e) => Probe::Failed(e.raw_os_error().unwrap_or(libc::EIO)),
        })
    }

    /// Bytes received so far (Node's `bytesRead`).
    pub fn bytes_read(self, lp: &Loop) -> Result<u64> {
        Ok(state_ref(lp, self)?.bytes_read)
    }

    /// Bytes handed to the kernel so far (Node's `bytesWritten`, without
    /// what is still queued).
    pub fn bytes_written(self, lp: &Loop) -> Result<u64> {
        Ok(state_ref(lp, self)?.bytes_written)
    }

    /// Keeps `data` with the stream (libuv's `uv_handle_set_data`): a
    /// value its callbacks can find their owner by, so that they need
    /// capture nothing (a boxed closure that captures nothing takes no
    /// allocation). An id of any table fits, by [`Id::to_bits`](eddy_loop::Id::to_bits).
    pub fn set_data(self, lp: &mut Loop, data: u64) -> Result<()> {
        state(lp, self)?.data = data;
        Ok(())
    }

    /// What [`Stream::set_data`] kept (0 until then), while the stream is
    /// open or closing.
    pub fn data(self, lp: &Loop) -> Result<u64> {
        match net_ref(lp).and_then(|n| n.streams.get(self.0)) {
            Some(st) => Ok(st.data),
            None => Err(Error::Closed("stream")),
        }
    }

    /// Whether the stream is open: neither closed nor closing.
    pub fn is_active(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_ok()
    }

    /// Whether `close` was called (by the user, or by the stream itself
    /// after `end`) and the close callbacks have not all run yet.
    pub fn is_closing(self, lp: &Loop) -> bool {
        net_ref(lp)
            .and_then(|n| n.streams.get(self.0))
            .is_some_and(|st| st.closing)
    }

    fn with_fd<T>(
        self,
        lp: &Loop,
        f: impl FnOnce(std::os::fd::BorrowedFd<'_>) -> std::io::Result<T>,
        op: &'static str,
    ) -> Result<T> {
        let st = state_ref(lp, self)?;
        let sock = st.sock.as_ref().ok_or(Error::NotConnected)?;
        f(sock.fd.as_fd()).map_err(|e| Error::io(op, "socket", e))
    }

    /// The local address (getsockname).
    pub fn local_addr(self, lp: &Loop) -> Result<Address> {
        let a = self.with_fd(lp, sys::local_addr, "getsockname")?;
        Address::from_sys(&a).ok_or(Error::NotConnected)
    }

    /// The peer's address (getpeername, once: it is kept).
    pub fn peer_addr(self, lp: &Loop) -> Result<Address> {
        if let Some(a) = state_ref(lp, self)?.peer.get() {
            return Ok((**a).clone());
        }
        let a = self.with_fd(lp, sys::peer_addr, "getpeername")?;
        let a = Address::from_sys(&a).ok_or(Error::NotConnected)?;
        let st = state_ref(lp, self)?;
        // Kept once the connect is over (an attempt still running may yet
        // fail over to another address).
        if st.connecting.is_none() {
            let _ = st.peer.set(Box::new(a.clone()));
        }
        Ok(a)
    }

    /// TCP_NODELAY: send small writes at once instead of coalescing them.
    pub fn set_nodelay(self, lp: &mut Loop, on: bool) -> Result<()> {
        self.with_fd(
            lp,
            |fd| sys::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, i32::from(on)),
            "setsockopt TCP_NODELAY",
        )
    }

    /// SO_KEEPALIVE, and TCP_KEEPIDLE (seconds of idleness before the first
    /// probe) when `initial_delay_secs` is non-zero.
    pub fn set_keepalive(self, lp: &mut Loop, on: bool, initial_delay_secs: u32) -> Result<()> {
        self.with_fd(
            lp,
            |fd| {
                sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, i32::from(on))?;
                if on && initial_delay_secs > 0 {
                    let secs = initial_delay_secs.min(i32::MAX as u32) as i32;
                    sys::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs)?;
                }
                Ok(())
            },
            "setsockopt SO_KEEPALIVE",
        )
    }

    /// Lets the stream keep the loop alive (the default).
    pub fn ref_(self, lp: &mut Loop) -> Result<()> {
        self.set_referenced(lp, true)
    }

    /// An unref'd stream still works but does not keep `run` going.
    pub fn unref(self, lp: &mut Loop) -> Result<()> {
        self.set_referenced(lp, false)
    }

    /// Whether the stream is referenced (false for a stale stream).
    pub fn has_ref(self, lp: &Loop) -> bool {
        state_ref(lp, self).is_ok_and(|st| st.referenced)
    }

    fn set_referenced(self, lp: &mut Loop, on: bool) -> Result<()> {
        let st = state(lp, self)?;
        st.referenced = on;
        let io = st.sock.as_ref().map(|k| k.io);
        // At most two timers: an array, not a Vec (this runs as pooled
        // connections are taken and given back, once a request).
        let timers: [Option<Timer>; 2] = [
            st.idle.as_ref().map(|i| i.timer),
            st.connecting.as_ref().and_then(|c| c.timer),
        ];
        if let Some(io) = io {
            apply_ref(lp, io, on);
        }
        for t in timers.into_iter().flatten() {
            apply_ref(lp, t, on);
        }
        Ok(())
    }

    /// Closes the stream at once (Node's `destroy`): the fd is deregistered
    /// and closed now; writes still queued complete with
    /// [`Error::Cancelled`], then `cb` gets the stream in the closing
    /// phase. Nothing of this stream runs after `cb` (but its `on_close`
    /// observer).
    pub fn close(self, lp: &mut Loop, cb: impl FnOnce(&mut Loop, Stream) + 'static) -> Result<()> {
        close_stream(lp, self, Some(Box::new(cb)))
    }

    /// Runs `cb` once the stream is closed, whoever closed it (after the
    /// closer's own callback): how an owner learns that a stream it lent
    /// out was closed. One observer per stream; a new one replaces it.
    pub fn on_close(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, Stream) + 'static,
    ) -> Result<()> {
        state(lp, self)?;
        net(lp).close_observers.insert(self, Box::new(cb));
        Ok(())
    }

    /// Removes the `on_close` observer.
    pub fn clear_on_close(self, lp: &mut Loop) -> Result<()> {
        state(lp, self)?;
        net(lp).close_observers.remove(&self);
        Ok(())
    }

    /// Graceful close (Node's `end`): flush the write queue, shut down our
    /// side, then close.
    pub fn end(self, lp: &mut Loop) -> Result<()> {
        state(lp, self)?.end_requested = true;
        crate::write::maybe_finish(lp, self);
        Ok(())
    }
}

/// Gives the watcher of a stream's socket its callback; it registers
/// later, as the stream's state asks (see `sync_interest`).
pub(crate) fn watch(lp: &mut Loop, s: Stream, io: Io) {
    let _ = io.start(lp, Interest::NONE, move |lp, _, ready| {
        crate::read::on_ready(lp, s, ready)
    });
}

pub(crate) fn apply_ref<H: Handle>(lp: &mut Loop, h: H, on: bool) {
    let _ = if on { h.ref_(lp) } else { h.unref(lp) };
}

pub(crate) fn close_stream(lp: &mut Loop, s: Stream, cb: Option<CloseCb>) -> Result<()> {
    let st = state(lp, s)?;
    st.closing = true;
    let sock = st.sock.take();
    let timers: Vec<Timer> = st
        .idle
        .as_ref()
        .map(|i| i.timer)
        .into_iter()
        .chain(st.connecting.as_ref().and_then(|c| c.timer))
        .collect();
    let resolving = st.resolving.take();
    let listener = st.listener;
    for t in timers {
        let _ = t.close(lp, |_, _| {});
    }
    if let Some(work) = resolving {
        // Busy means it is running; its completion finds the stream gone.
        let _ = lp.cancel_work(work);
    }
    if let Some(l) = listener {
        crate::listener::connection_closed(lp, l);
    }
    let finish = move |lp: &mut Loop| finish_close(lp, s, cb);
    match sock {
        Some(Socket { fd, io }) => {
            // Deregister first, then close the fd.
            let _ = io.close(lp, move |lp, _| finish(lp));
            drop(fd);
        }
        // No socket yet (still resolving): the closing phase all the same.
        None => lp.defer_to_closing(finish),
    }
    Ok(())
}

/// Closing phase: delivers what was still owed, then the close callback and
/// the observer (the stream `is_closing` meanwhile), then frees the slot.
fn finish_close(lp: &mut Loop, s: Stream, cb: Option<CloseCb>) {
    let Some(st) = net(lp).streams.get_mut(s.0) else {
        return;
    };
    let completions = std::mem::take(&mut st.completions);
    let reqs = std::mem::take(&mut st.w.reqs);
    let shutdown_cb = st.w.shutdown_cb.take();
    let connecting = st.connecting.take();
    for c in completions {
        if let Completion::Done(done, result) = c {
            done(lp, s, result);
        }
    }
    for req in reqs {
        if let Some(done) = req.cb {
            done(lp, s, Err(Error::Cancelled));
        }
    }
    if let Some(done) = shutdown_cb {
        done(lp, s, Err(Error::Cancelled));
    }
    if let Some(c) = connecting {
        (c.cb)(lp, s, Err(Error::Cancelled));
    }
    if let Some(cb) = cb {
        cb(lp, s);
    }
    let observers = &mut net(lp).close_observers;
    if !observers.is_empty() {
        if let Some(observer) = observers.remove(&s) {
            observer(lp, s);
        }
    }
    net(lp).streams.remove(s.0);
}
