//! The write queue: write at once when the queue is empty, queue the rest,
//! flush it with one `sendmsg` of many buffers when the socket is writable.
//!
//! EPOLLOUT is armed only while the queue is non-empty (and not corked).
//! Like Node, `write` reports whether the queued bytes are still below the
//! high-water mark; once they were not, a drain callback runs when the
//! queue empties. While corked, writes only accumulate; `uncork` sends them
//! together (the HTTP layer sends a response head and body in one call).
//!
//! An entry holds owned bytes, a view of shared bytes, or a file range
//! ([`Payload`]). Consecutive in-memory entries go out in one `sendmsg`; a
//! file range goes out with `sendfile(2)` when it reaches the front (the
//! bytes before it are sent with `MSG_MORE`, so a head and the first file
//! bytes can share a segment). File bytes count in the queue size like any
//! other, so the high-water mark and the drain callback work the same.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::AsFd;

use eddy_loop::Loop;

use crate::error::{Error, Result};
use crate::payload::Payload;
use crate::stream::{complete, state, sync_interest, Completion, DoneCb, DrainCb, Stream};
use crate::sys;

/// Node's default `writableHighWaterMark`.
pub const DEFAULT_HIGH_WATER_MARK: usize = 16 * 1024;

/// Buffers gathered into one `sendmsg`.
const MAX_IOV: usize = 64;

/// File bytes one flush sends at most: a fast reader of a large file must
/// not keep the loop from its other streams (level-triggered EPOLLOUT
/// brings the stream back in the next iteration).
const FILE_BYTES_PER_FLUSH: usize = 4 << 20;

/// The most one `sendfile` call moves (Linux's own limit per call).
const SENDFILE_MAX: usize = 0x7fff_f000;

pub(crate) struct WriteReq {
    pub data: Payload,
    pub cb: Option<DoneCb>,
}

pub(crate) struct WriteQueue {
    pub reqs: VecDeque<WriteReq>,
    /// Bytes queued and not yet written.
    pub queued: usize,
    pub corked: bool,
    pub high_water: usize,
    pub needs_drain: bool,
    pub drain_cb: Option<DrainCb>,
    pub shutdown_requested: bool,
    pub shutdown_cb: Option<DoneCb>,
    pub shut: bool,
    /// The errno of a failed write: later writes fail at once.
    pub failed: Option<i32>,
}

impl Default for WriteQueue {
    fn default() -> WriteQueue {
        WriteQueue {
            reqs: VecDeque::new(),
            queued: 0,
            corked: false,
            high_water: DEFAULT_HIGH_WATER_MARK,
            needs_drain: false,
            drain_cb: None,
            shutdown_requested: false,
            shutdown_cb: None,
            shut: false,
            failed: None,
        }
    }
}

/// What a write hands to the queue: bytes to copy if they must wait, or
/// a payload the queue can keep as it is.
pub(crate) enum Data<'a> {
    Borrowed(&'a [u8]),
    Queued(Payload),
}

impl Data<'_> {
    fn len(&self) -> usize {
        match self {
            Data::Borrowed(b) => b.len(),
            Data::Queued(p) => p.remaining(),
        }
    }
}

fn write_error(errno: i32) -> Error {
    Error::io("write", "socket", io::Error::from_raw_os_error(errno))
}

/// What a write did with its bytes ([`Stream::write_reporting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The kernel took them all at once: nothing is queued.
    All,
    /// Some wait in the stream's queue (what the kernel did not take, or
    /// all of them behind earlier bytes); `below_mark` says whether the
    /// queue is still under the high-water mark (`write`'s return value).
    Queued {
        /// The queue holds less than the high-water mark.
        below_mark: bool,
    },
}

impl Written {
    /// `write`'s return value: whether to go on writing.
    pub fn below_mark(self) -> bool {
        match self {
            Written::All => true,
            Written::Queued { below_mark } => below_mark,
        }
    }
}

impl Stream {
    /// Writes `data` (copying only what cannot be sent at once). Returns
    /// false once the queue holds the high-water mark or more: wait for the
    /// drain callback before writing more.
    pub fn write(self, lp: &mut Loop, data: &[u8]) -> Result<bool> {
        write_data(lp, self, Data::Borrowed(data), None).map(Written::below_mark)
    }

    /// Like `write`, saying whether anything was left queued: a caller that
    /// watches queued output for progress (a send timeout) has nothing to
    /// watch after [`Written::All`].
    pub fn write_reporting(self, lp: &mut Loop, data: &[u8]) -> Result<Written> {
        write_data(lp, self, Data::Borrowed(data), None)
    }

    /// Like `write`, taking ownership so nothing is copied.
    pub fn write_vec(self, lp: &mut Loop, data: Vec<u8>) -> Result<bool> {
        write_data(lp, self, Data::Queued(owned(data)), None).map(Written::below_mark)
    }

    /// Like `write_vec`, with `cb` run from the pending phase once every
    /// byte is handed to the kernel, or with the error. An empty `data`
    /// behind queued bytes completes once they are all out (a marker).
    pub fn write_with(
        self,
        lp: &mut Loop,
        data: Vec<u8>,
        cb: impl FnOnce(&mut Loop, Stream, Result<()>) + 'static,
    ) -> Result<bool> {
        write_data(lp, self, Data::Queued(owned(data)), Some(Box::new(cb))).map(Written::below_mark)
    }

    /// Writes what the kernel takes right now and never queues: returns the
    /// number of bytes written (0 if the queue is not empty or the socket
    /// buffer is full).
    pub fn try_write(self, lp: &mut Loop, data: &[u8]) -> Result<usize> {
        let now = lp.now();
        let st = state(lp, self)?;
        if st.w.shutdown_requested || st.end_requested {
            return Err(Error::WriteAfterEnd);
        }
        if let Some(errno) = st.w.failed {
            return Err(write_error(errno));
        }
        if !st.w.reqs.is_empty() || st.connecting.is_some() {
            return Ok(0);
        }
        let sock = st.sock.as_ref().ok_or(Error::NotConnected)?;
        match sys::retry(|| sys::send(sock.fd.as_fd(), data)) {
            Ok(n) => {
                st.bytes_written += n as u64;
                if let Some(rearm) = crate::timeout::touch(st, now) {
                    rearm.apply(lp);
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => {
                st.w.failed = e.raw_os_error();
                Err(Error::io("write", "socket", e))
            }
        }
    }

    /// Bytes queued and not yet written.
    pub fn write_queue_size(self, lp: &Loop) -> Result<usize> {
        Ok(crate::stream::state_ref(lp, self)?.w.queued)
    }

    /// Sets the queue size at which `write` starts returning false.
    pub fn set_high_water_mark(self, lp: &mut Loop, bytes: usize) -> Result<()> {
        state(lp, self)?.w.high_water = bytes;
        Ok(())
    }

    /// Runs `cb` each time the queue empties after `write` returned false.
    pub fn on_drain(
        self,
        lp: &mut Loop,
        cb: impl FnMut(&mut Loop, Stream) + 'static,
    ) -> Result<()> {
        state(lp, self)?.w.drain_cb = Some(Box::new(cb));
        Ok(())
    }

    /// Removes the drain callback.
    pub fn clear_on_drain(self, lp: &mut Loop) -> Result<()> {
        state(lp, self)?.w.drain_cb = None;
        Ok(())
    }

    /// Holds writes back until `uncork`.
    pub fn cork(self, lp: &mut Loop) -> Result<()> {
        state(lp, self)?.w.corked = true;
        Ok(())
    }

    /// Sends everything written while corked, in one `sendmsg` if it fits.
    pub fn uncork(self, lp: &mut Loop) -> Result<()> {
        state(lp, self)?.w.corked = false;
        flush(lp, self);
        Ok(())
    }

    /// Half-closes: once the queue is flushed, shuts down our writing side;
    /// `cb` runs from the pending phase. Reading goes on.
    pub fn shutdown(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, Stream, Result<()>) + 'static,
    ) -> Result<()> {
        let st = state(lp, self)?;
        if st.w.shutdown_requested {
            return Err(Error::WriteAfterEnd);
        }
        st.w.shutdown_requested = true;
        st.w.shutdown_cb = Some(Box::new(cb));
        maybe_finish(lp, self);
        Ok(())
    }
}

fn owned(bytes: Vec<u8>) -> Payload {
    Payload::Owned { bytes, offset: 0 }
}

/// One attempt at the kernel with what `data` holds: `sendfile` for a
/// file range, `send` for bytes.
fn send_once(fd: std::os::fd::BorrowedFd<'_>, data: &Data<'_>, max: usize) -> io::Result<usize> {
    match data {
        Data::Borrowed(b) => sys::retry(|| sys::send(fd, b)),
        Data::Queued(Payload::File(f)) => {
            let want = data.len().min(max);
            let n = sys::retry(|| sys::sendfile(fd, f.file.as_fd(), f.offset, want))?;
            if n == 0 && want > 0 {
                return Err(file_ended());
            }
            Ok(n)
        }
        Data::Queued(p) => sys::retry(|| sys::send(fd, p.bytes().unwrap_or_default())),
    }
}

/// `sendfile` found the end of the file before the end of the range (the
/// file shrank after it was measured): what was promised cannot be sent.
fn file_ended() -> io::Error {
    io::Error::from_raw_os_error(libc::ENODATA)
}

/// Writes `data` at once if the queue is empty, queues what is left (a
/// borrowed slice is copied then; a payload is kept as it is). Shared by
/// every kind of write.
pub(crate) fn write_data(
    lp: &mut Loop,
    s: Stream,
    mut data: Data<'_>,
    cb: Option<DoneCb>,
) -> Result<Written> {
    let now = lp.now();
    let st = state(lp, s)?;
    if st.w.shutdown_requested || st.end_requested {
        return Err(Error::WriteAfterEnd);
    }
    if let Some(errno) = st.w.failed {
        return Err(write_error(errno));
    }
    let len = data.len();
    let mut sent = 0;
    let mut rearm = None;
    let direct = st.w.reqs.is_empty() && !st.w.corked && st.connecting.is_none();
    if let (true, Some(sock)) = (direct && len > 0, st.sock.as_ref()) {
        match send_once(sock.fd.as_fd(), &data, FILE_BYTES_PER_FLUSH) {
            Ok(n) => {
                sent = n;
                st.bytes_written += n as u64;
                rearm = crate::timeout::touch(st, now);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                st.w.failed = Some(errno);
                if let Some(cb) = cb {
                    let op = match data {
                        Data::Queued(Payload::File(_)) => "sendfile",
                        _ => "write",
                    };
                    let err = Error::io(op, "socket", e);
                    complete(lp, s, Completion::Done(cb, Err(err)));
                }
                // Even from inside the read callback (its slot is empty
                // then): whether a reader is told is decided at delivery.
                complete(lp, s, Completion::WriteFailed(errno));
                return Ok(Written::Queued { below_mark: false });
            }
        }
    }
    if sent == len && cb.is_none() && rearm.is_none() {
        // All taken at once, nothing to report: the common case. (An
        // empty write behind queued bytes, with no callback, queues
        // nothing either.)
        return Ok(if len > 0 || direct {
            Written::All
        } else {
            Written::Queued { below_mark: true }
        });
    }
    if let Some(rearm) = rearm {
        rearm.apply(lp);
    }
    let Ok(st) = state(lp, s) else {
        return Err(Error::Closed("stream"));
    };
    // An empty write behind queued bytes waits its turn: its callback
    // says when everything before it was handed to the kernel.
    if sent == len && (len > 0 || direct) {
        if let Some(cb) = cb {
            complete(lp, s, Completion::Done(cb, Ok(())));
        }
        return Ok(Written::All);
    }
    let data = match data {
        Data::Borrowed(b) => owned(b[sent..].to_vec()),
        Data::Queued(ref mut p) => {
            p.advance(sent);
            std::mem::replace(p, owned(Vec::new()))
        }
    };
    st.w.reqs.push_back(WriteReq { data, cb });
    st.w.queued += len - sent;
    let below = st.w.queued < st.w.high_water;
    if !below {
        st.w.needs_drain = true;
    }
    sync_interest(lp, s);
    Ok(Written::Queued { below_mark: below })
}

/// What one step of a flush did.
enum Step {
    /// `n` bytes out; `all` if the kernel took everything offered.
    Sent {
        n: usize,
        all: bool,
    },
    /// The socket buffer is full.
    Blocked,
    /// This flush's share of file bytes is used up.
    Budget,
    Failed(io::Error),
}

/// Writes as much of the queue as the socket takes (on EPOLLOUT, uncork).
pub(crate) fn flush(lp: &mut Loop, s: Stream) {
    let now = lp.now();
    let Ok(st) = state(lp, s) else { return };
    if st.w.corked || st.connecting.is_some() || st.w.reqs.is_empty() {
        maybe_finish(lp, s);
        return;
    }
    let Some(sock) = st.sock.as_ref() else { return };
    let fd = sock.fd.as_fd();
    let mut finished: Vec<DoneCb> = Vec::new();
    let mut failure = None;
    let mut file_budget = FILE_BYTES_PER_FLUSH;
    while let Some(front) = st.w.reqs.front() {
        let step = match &front.data {
            Payload::File(_) if file_budget == 0 => Step::Budget,
            Payload::File(f) => {
                let want = front.data.remaining().min(file_budget).min(SENDFILE_MAX);
                match sys::retry(|| sys::sendfile(fd, f.file.as_fd(), f.offset, want)) {
                    Ok(0) => Step::Failed(file_ended()),
                    Ok(n) => {
                        file_budget -= n;
                        Step::Sent { n, all: n == want }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Blocked,
                    Err(e) => Step::Failed(e),
                }
            }
            _ => {
                let empty = IoSlice::new(&[]);
                let mut iov = [empty; MAX_IOV];
                let mut count = 0;
                let mut total = 0;
                let mut file_next = false;
                for req in st.w.reqs.iter().take(MAX_IOV) {
                    let Some(bytes) = req.data.bytes() else {
                        file_next = true;
                        break;
                    };
                    iov[count] = IoSlice::new(bytes);
                    total += bytes.len();
                    count += 1;
                }
                let more = file_next && file_budget > 0;
                match sys::retry(|| sys::send_vectored(fd, &iov[..count], more)) {
                    Ok(n) => Step::Sent { n, all: n == total },
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Blocked,
                    Err(e) => Step::Failed(e),
                }
            }
        };
        match step {
            Step::Sent { n, all } => {
                st.bytes_written += n as u64;
                st.w.queued -= n;
                consume(&mut st.w.reqs, n, &mut finished);
                if !all {
                    break;
                }
            }
            Step::Blocked | Step::Budget => break,
            Step::Failed(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let rearm = crate::timeout::touch(st, now);
    if let Some(e) = failure {
        fail_queue(lp, s, e.raw_os_error().unwrap_or(libc::EIO));
    }
    if let Some(rearm) = rearm {
        rearm.apply(lp);
    }
    for cb in finished {
        complete(lp, s, Completion::Done(cb, Ok(())));
    }
    if let Ok(st) = state(lp, s) {
        if st.w.reqs.is_empty() && st.w.needs_drain {
            st.w.needs_drain = false;
            complete(lp, s, Completion::Drain);
        }
    }
    maybe_finish(lp, s);
    sync_interest(lp, s);
}

/// The socket failed with `errno`: every queued write and a pending
/// shutdown complete with the error, later writes fail at once, and the
/// reader is told (see `Completion::WriteFailed`).
pub(crate) fn fail_queue(lp: &mut Loop, s: Stream, errno: i32) {
    let Ok(st) = state(lp, s) else { return };
    st.w.failed = Some(errno);
    st.w.queued = 0;
    let failed: Vec<DoneCb> = st.w.reqs.drain(..).filter_map(|r| r.cb).collect();
    let shutdown_cb = st.w.shutdown_cb.take();
    for cb in failed.into_iter().chain(shutdown_cb) {
        complete(lp, s, Completion::Done(cb, Err(write_error(errno))));
    }
    complete(lp, s, Completion::WriteFailed(errno));
}

/// Drops `n` written bytes from the front of the queue, collecting the
/// callbacks of requests written in full.
fn consume(reqs: &mut VecDeque<WriteReq>, mut n: usize, finished: &mut Vec<DoneCb>) {
    // Empty writes (a marker behind queued bytes) complete as soon as
    // everything before them is out.
    while let Some(front) = reqs.front_mut() {
        let left = front.data.remaining();
        if n < left {
            front.data.advance(n);
            return;
        }
        n -= left;
        if let Some(req) = reqs.pop_front() {
            finished.extend(req.cb);
        }
    }
}

/// Once the queue is empty: a requested shutdown happens, and an `end`
/// closes the stream when the peer has ended too.
pub(crate) fn maybe_finish(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    let wants_shutdown = st.w.shutdown_requested || st.end_requested;
    if !wants_shutdown || !st.w.reqs.is_empty() || st.connecting.is_some() {
        return;
    }
    let Some(sock) = st.sock.as_ref() else { return };
    if !st.w.shut {
        st.w.shut = true;
        let result =
            sys::shutdown_write(sock.fd.as_fd()).map_err(|e| Error::io("shutdown", "socket", e));
        if let Some(cb) = st.w.shutdown_cb.take() {
            complete(lp, s, Completion::Done(cb, result));
        }
    }
    let Ok(st) = state(lp, s) else { return };
    if st.end_requested {
        if st.eof || st.w.failed.is_some() {
            let _ = crate::stream::close_stream(lp, s, None);
        } else if !st.reading {
            // Wait for the peer's FIN (closing with unread input would
            // send a reset that can destroy what we just sent); discard
            // what still arrives.
            st.reading = true;
            sync_interest(lp, s);
        }
    }
}
