//! What a stream does when its watcher fires: finish a connect, flush the
//! write queue, read.
//!
//! Reads go into the one buffer the net layer owns (an idle stream holds
//! none). At most `MAX_READS` reads per wake-up, so one hot stream cannot
//! starve the others: level triggering brings it back next iteration.

use std::io;
use std::os::fd::AsFd;

use eddy_loop::{Loop, Ready};

use crate::error::Error;
use crate::stream::{read_slot, state, sync_interest, InputSeen, ReadEvent, Stream};
use crate::sys;
use crate::table::{net, READ_BUF_SIZE};

const MAX_READS: usize = 16;

pub(crate) fn on_ready(lp: &mut Loop, s: Stream, ready: Ready) {
    if let Ok(st) = state(lp, s) {
        if ready.is_read_closed() {
            st.input = InputSeen::PeerClosed;
        } else if st.input != InputSeen::PeerClosed {
            // An event (an error too): what an earlier read found no
            // longer holds; a read that drains the socket says so again.
            st.input = InputSeen::Unknown;
        }
    }
    crate::hangup::check(lp, s, ready);
    if let Some(err) = ready.error() {
        return on_error(lp, s, err);
    }
    let Ok(st) = state(lp, s) else { return };
    if st.connecting.is_some() {
        crate::connect::on_connect_ready(lp, s);
        return;
    }
    let has_queue = !st.w.reqs.is_empty();
    if has_queue && (ready.is_writable() || ready.is_error() || ready.is_hangup()) {
        crate::write::flush(lp, s);
    }
    // `read_some` reads only while the stream is reading and not at EOF.
    if ready.is_readable() || ready.is_read_closed() || ready.is_error() {
        read_some(lp, s);
    }
}

/// The socket reported an error (the loop read `SO_ERROR`, which clears
/// it, and stopped the watcher): it goes where the syscall that would have
/// met it would have taken it: the connect, else the write queue, else the
/// reader.
fn on_error(lp: &mut Loop, s: Stream, err: io::Error) {
    let Ok(st) = state(lp, s) else { return };
    // The loop stopped the watcher; `sync_interest` registers it again.
    st.applied = eddy_loop::Interest::NONE;
    if st.connecting.is_some() {
        return crate::connect::attempt_failed(lp, s, err);
    }
    let errno = err.raw_os_error().unwrap_or(libc::EIO);
    if !st.w.reqs.is_empty() {
        crate::write::fail_queue(lp, s, errno);
        // As after a failed send: a read now sees EOF or the next error.
        read_some(lp, s);
    } else if st.reading && !st.eof {
        st.reading = false;
        deliver(lp, s, ReadEvent::Error(Error::io("read", "socket", err)));
    } else {
        st.w.failed = Some(errno);
    }
    sync_interest(lp, s);
}

enum Outcome {
    Data(usize),
    Eof,
    Again,
    Failed(io::Error),
}

fn read_some(lp: &mut Loop, s: Stream) {
    let polls = lp.poll_count();
    for _ in 0..MAX_READS {
        let now = lp.now();
        // One lookup for the read and for taking the buffer and callback.
        let table = net(lp);
        let st = match table.streams.get_mut(s.0) {
            Some(st) if !st.closing => st,
            _ => break,
        };
        if !st.reading || st.eof {
            break;
        }
        let Some(sock) = st.sock.as_ref() else { break };
        let buf = &mut table.read_buf;
        if buf.len() < READ_BUF_SIZE {
            buf.resize(READ_BUF_SIZE, 0);
        }
        let outcome = match sys::retry(|| sys::recv(sock.fd.as_fd(), buf)) {
            Ok(0) => Outcome::Eof,
            Ok(n) => Outcome::Data(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Outcome::Again,
            Err(e) => Outcome::Failed(e),
        };
        match outcome {
            Outcome::Again => break,
            Outcome::Data(n) => {
                st.bytes_read += n as u64;
                if n < buf.len() && st.input != InputSeen::PeerClosed {
                    st.input = InputSeen::DrainedAt(polls);
                }
                let rearm = crate::timeout::touch(st, now);
                // Taken out while the callback runs: it gets `&mut Loop`.
                let buf = std::mem::take(&mut table.read_buf);
                if let Some(rearm) = rearm {
                    rearm.apply(lp);
                }
                let full = n == buf.len();
                lp.with_cb(s, read_slot, |lp, cb| cb(lp, s, ReadEvent::Data(&buf[..n])));
                net(lp).read_buf = buf;
                if !full {
                    // A short read drained the socket: skip the EAGAIN call.
                    break;
                }
            }
            Outcome::Eof => {
                st.eof = true;
                sync_interest(lp, s);
                deliver(lp, s, ReadEvent::Eof);
                on_eof(lp, s);
                break;
            }
            Outcome::Failed(e) => {
                st.reading = false;
                sync_interest(lp, s);
                deliver(lp, s, ReadEvent::Error(Error::io("read", "socket", e)));
                break;
            }
        }
    }
}

/// Hands an event to the read callback (taken out of its slot while it
/// runs). Without a callback (draining before a close) data is discarded.
fn deliver(lp: &mut Loop, s: Stream, event: ReadEvent<'_>) {
    lp.with_cb(s, read_slot, |lp, cb| cb(lp, s, event));
}

/// The peer ended its side. Unless half-open streams are allowed, end ours
/// too once pending writes are flushed (Node's `allowHalfOpen: false`).
fn on_eof(lp: &mut Loop, s: Stream) {
    let Ok(st) = state(lp, s) else { return };
    if !st.allow_half_open {
        st.end_requested = true;
    }
    crate::write::maybe_finish(lp, s);
}
