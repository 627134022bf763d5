//! The write queue: write at once when the queue is empty, queue the rest,
//! flush it with one `sendmsg` of many buffers when the socket is writable.
//!
//! EPOLLOUT is armed only while the queue is non-empty (and not corked).
//! Like Node, `write` reports whether the queued bytes are still below the
//! high-water mark; once they were not, a drain callback runs when the
//! queue empties. While corked, writes only accumulate; `uncork` sends them
//! together (the HTTP layer sends a response head and body in one call).

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::AsFd;

use eddy_loop::Loop;

use crate::error::{Error, Result};
use crate::stream::{complete, state, sync_interest, Completion, DoneCb, DrainCb, Stream};
use crate::sys;

/// Node's default `writableHighWaterMark`.
pub const DEFAULT_HIGH_WATER_MARK: usize = 16 * 1024;

/// Buffers gathered into one `sendmsg`.
const MAX_IOV: usize = 64;

pub(crate) struct WriteReq {
    pub data: Vec<u8>,
    pub offset: usize,
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

enum Data<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl Data<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Borrowed(b) => b,
            Data::Owned(v) => v,
        }
    }
}

fn write_error(errno: i32) -> Error {
    Error::io("write", "socket", io::Error::from_raw_os_error(errno))
}

impl Stream {
    /// Writes `data` (copying only what cannot be sent at once). Returns
    /// false once the queue holds the high-water mark or more: wait for the
    /// drain callback before writing more.
    pub fn write(self, lp: &mut Loop, data: &[u8]) -> Result<bool> {
        write_data(lp, self, Data::Borrowed(data), None)
    }

    /// Like `write`, taking ownership so nothing is copied.
    pub fn write_vec(self, lp: &mut Loop, data: Vec<u8>) -> Result<bool> {
        write_data(lp, self, Data::Owned(data), None)
    }

    /// Like `write_vec`, with `cb` run from the pending phase once every
    /// byte is handed to the kernel, or with the error.
    pub fn write_with(
        self,
        lp: &mut Loop,
        data: Vec<u8>,
        cb: impl FnOnce(&mut Loop, Stream, Result<()>) + 'static,
    ) -> Result<bool> {
        write_data(lp, self, Data::Owned(data), Some(Box::new(cb)))
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

fn write_data(lp: &mut Loop, s: Stream, data: Data<'_>, cb: Option<DoneCb>) -> Result<bool> {
    let now = lp.now();
    let st = state(lp, s)?;
    if st.w.shutdown_requested || st.end_requested {
        return Err(Error::WriteAfterEnd);
    }
    if let Some(errno) = st.w.failed {
        return Err(write_error(errno));
    }
    let len = data.bytes().len();
    let mut sent = 0;
    let mut rearm = None;
    let direct = st.w.reqs.is_empty() && !st.w.corked && st.connecting.is_none();
    if let (true, Some(sock)) = (direct && len > 0, st.sock.as_ref()) {
        match sys::retry(|| sys::send(sock.fd.as_fd(), data.bytes())) {
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
                    let err = Error::io("write", "socket", e);
                    complete(lp, s, Completion::Done(cb, Err(err)));
                }
                // Even from inside the read callback (its slot is empty
                // then): whether a reader is told is decided at delivery.
                complete(lp, s, Completion::WriteFailed(errno));
                return Ok(false);
            }
        }
    }
    if sent == len && cb.is_none() && rearm.is_none() {
        // All taken at once, nothing to report: the common case.
        return Ok(true);
    }
    if let Some(rearm) = rearm {
        rearm.apply(lp);
    }
    let Ok(st) = state(lp, s) else {
        return Err(Error::Closed("stream"));
    };
    if sent == len {
        if let Some(cb) = cb {
            complete(lp, s, Completion::Done(cb, Ok(())));
        }
        return Ok(true);
    }
    let (data, offset) = match data {
        Data::Borrowed(b) => (b[sent..].to_vec(), 0),
        Data::Owned(v) => (v, sent),
    };
    st.w.reqs.push_back(WriteReq { data, offset, cb });
    st.w.queued += len - sent;
    let below = st.w.queued < st.w.high_water;
    if !below {
        st.w.needs_drain = true;
    }
    sync_interest(lp, s);
    Ok(below)
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
    while !st.w.reqs.is_empty() {
        let result = {
            let empty = IoSlice::new(&[]);
            let mut iov = [empty; MAX_IOV];
            let mut count = 0;
            let mut total = 0;
            for (slot, req) in iov.iter_mut().zip(st.w.reqs.iter()) {
                *slot = IoSlice::new(&req.data[req.offset..]);
                total += req.data.len() - req.offset;
                count += 1;
            }
            sys::retry(|| sys::send_vectored(fd, &iov[..count])).map(|n| (n, total))
        };
        match result {
            Ok((n, total)) => {
                st.bytes_written += n as u64;
                st.w.queued -= n;
                consume(&mut st.w.reqs, n, &mut finished);
                if n < total {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => {
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
    while n > 0 {
        let Some(front) = reqs.front_mut() else {
            return;
        };
        let left = front.data.len() - front.offset;
        if n < left {
            front.offset += n;
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
