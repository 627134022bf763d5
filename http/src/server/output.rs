//! Where a connection's output goes. Only the front exchange writes to
//! the socket: into the open batch while a parse runs (one `send` for a
//! pipelined batch), else straight to the stream. A later exchange
//! composes into its own held-back buffer, written when it reaches the
//! front. Output above the high-water mark holds reading back.
//!
//! Each function returns what happened as a named result; the connection
//! code (`conn.rs`) decides what follows (resume, drain, advance).

use eddy_loop::Loop;
use eddy_net::{SharedBytes, Stream, Written};

use super::compose::{compose, Composed, HeadInput, Parts};
use super::connection::{Conn, Output};
use super::deadlines::At;
use super::exchange::{position, ResponsePhase};
use super::handles::ConnId;
use super::lifecycle;
use super::progress::{SendCheck, SendWatch};
use super::stats::CloseReason;
use super::table::{conn, http, Http};
use super::teardown::destroy;
use crate::h1::BodyEncoder;

/// Whether buffered output is below the connection's high-water mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Room {
    /// Below: write on.
    Below,
    /// At or above: wait for the drain.
    Full,
}

impl Room {
    fn of(below: bool) -> Room {
        if below {
            Room::Below
        } else {
            Room::Full
        }
    }

    /// `write`'s return value.
    pub fn is_below(self) -> bool {
        self == Room::Below
    }
}

/// What `send` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Room left under the high-water mark.
    pub room: Room,
    /// The response ended at the front of the queue: it is to be taken
    /// off it (`conn::advance`).
    pub finished_at_front: bool,
    /// It ended short of its `Content-Length`.
    pub short: Option<crate::h1::Short>,
}

/// Why `send` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendRefused {
    /// The connection or the exchange is gone.
    Closed,
    /// `end` was called already.
    Finished,
    /// The bytes would pass the declared `Content-Length`; none were sent.
    Overrun(crate::h1::Overrun),
}

/// What flushing the batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flushed {
    /// No batch was open, or it was empty and nothing was held back.
    Nothing,
    /// Written, below the mark.
    Below,
    /// Written below the mark, but reading was held for output: no drain
    /// will come from the stream, so the caller drains.
    BelowWhileHeld,
    /// Above the mark (reading now held), or the write failed.
    Full,
}

/// Whether the write of `bytes` to `stream` left room; a failure closes
/// the connection from the next pending phase.
fn write_stream(lp: &mut Loop, c: ConnId, stream: Stream, bytes: &[u8]) -> Room {
    match stream.write_reporting(lp, bytes) {
        // All of it went out: no output to watch (the usual case).
        Ok(Written::All) => Room::Below,
        written => {
            watch_output(lp, c, stream);
            room_after(lp, c, written.map(Written::below_mark))
        }
    }
}

/// What a write's result means for the connection: below the mark, or
/// full (reading held until it drains), or failed (closed from the next
/// pending phase).
pub(crate) fn room_after(lp: &mut Loop, c: ConnId, written: eddy_net::Result<bool>) -> Room {
    match written {
        Ok(true) => Room::Below,
        Ok(false) => {
            hold_for_output(lp, c);
            Room::Full
        }
        Err(_) => {
            write_failed(lp, c);
            Room::Full
        }
    }
}

/// Output is queued: unless it is watched already, the send timeout
/// starts watching it for progress (on the connection's one timer).
pub(crate) fn watch_output(lp: &mut Loop, c: ConnId, stream: Stream) {
    let Some(cn) = conn(lp, c) else { return };
    let timeout = cn.opts.send_timeout_ms;
    if timeout == 0 || cn.deadlines.send.is_some() {
        return;
    }
    let queued = stream.write_queue_size(lp).unwrap_or(0);
    if queued == 0 {
        // All of it went out: nothing to watch (the usual case).
        if let Some(cn) = conn(lp, c) {
            cn.send_watch = SendWatch::Off;
        }
        return;
    }
    let written = stream.bytes_written(lp).unwrap_or(0);
    let now = lp.now();
    let Some(cn) = conn(lp, c) else { return };
    if let SendCheck::Until(at) = cn.send_watch.check(now, written, queued, timeout) {
        cn.deadlines.send = Some(At::new(at));
        let timer = cn.timer;
        if let Some(ms) = cn.deadlines.rearm_delay(now) {
            let _ = timer.rearm(lp, ms);
        }
    }
}

/// A write failed: the peer is gone. The connection closes from the next
/// pending phase (not from inside whatever is writing).
pub(crate) fn write_failed(lp: &mut Loop, c: ConnId) {
    lp.queue_pending(move |lp| destroy(lp, c, CloseReason::Reset));
}

/// Output reached the mark: reading stops until it drains.
pub(crate) fn hold_for_output(lp: &mut Loop, c: ConnId) {
    let now = lp.now();
    let h = http(lp);
    let Some(cn) = h.conns.get_mut(c) else { return };
    if !cn.hold.by_output() {
        cn.held_since = now;
        let server = cn.server;
        if let Some(st) = h.servers.get_mut(server.id) {
            st.stats.backpressure_pauses += 1;
        }
    }
    let Some(cn) = h.conns.get_mut(c) else { return };
    cn.hold = cn.hold.output(true);
    let stream = cn.stream;
    let _ = stream.read_stop(lp);
}

/// Bytes for the front exchange: into the batch, else to the stream.
pub(crate) fn write_front(lp: &mut Loop, c: ConnId, bytes: &[u8]) -> Room {
    let Some(cn) = conn(lp, c) else {
        return Room::Full;
    };
    let (stream, hwm) = (cn.stream, cn.opts.high_water_mark);
    if let Output::Batch { buf, base } = &mut cn.output {
        buf.extend_from_slice(bytes);
        let below = buf.len() + *base < hwm;
        if !below {
            // Parsing pauses after this message; the flush decides when
            // reading resumes.
            cn.hold = cn.hold.output(true);
        }
        return Room::of(below);
    }
    write_stream(lp, c, stream, bytes)
}

/// Bytes for exchange `seq`: now if it is at the front, else into its
/// held-back buffer.
pub(crate) fn emit(lp: &mut Loop, c: ConnId, seq: u64, bytes: &[u8]) -> Room {
    let Some(cn) = conn(lp, c) else {
        return Room::Full;
    };
    if cn.exchanges.front().map(|x| x.seq) == Some(seq) {
        return write_front(lp, c, bytes);
    }
    let hwm = cn.opts.high_water_mark;
    let Some(x) = cn.exchanges.iter_mut().find(|x| x.seq == seq) else {
        return Room::Full;
    };
    x.held.extend_from_slice(bytes);
    let held: usize = cn.exchanges.iter().map(|x| x.held.len()).sum();
    if held >= hwm {
        hold_for_output(lp, c);
        return Room::Full;
    }
    Room::Below
}

/// Opens the batch of a parse, unless one is open: returns whether this
/// call opened it (and so must flush it).
pub(crate) fn open_batch(lp: &mut Loop, c: ConnId) -> bool {
    let Some(cn) = conn(lp, c) else { return false };
    if matches!(cn.output, Output::Batch { .. }) {
        return false;
    }
    // What the stream still has queued counts toward the batch's mark.
    let stream = cn.stream;
    let base = stream.write_queue_size(lp).unwrap_or(0);
    let h = http(lp);
    let buf = std::mem::take(&mut h.batch_spare);
    match h.conn_mut(c) {
        Some(cn) => {
            cn.output = Output::Batch { buf, base };
            true
        }
        None => false,
    }
}

/// Writes what the batch holds and stops batching.
pub(crate) fn flush_batch(lp: &mut Loop, c: ConnId) -> Flushed {
    let Some(cn) = conn(lp, c) else {
        return Flushed::Nothing;
    };
    let Output::Batch { buf: mut batch, .. } = std::mem::replace(&mut cn.output, Output::Direct)
    else {
        return Flushed::Nothing;
    };
    let (stream, held) = (cn.stream, cn.hold.by_output());
    let room = if batch.is_empty() {
        Room::Below
    } else {
        write_stream(lp, c, stream, &batch)
    };
    batch.clear();
    http(lp).batch_spare = batch;
    // Responses that ended inside the batch wait for it to go out.
    lifecycle::watch(lp, c);
    match (room, held) {
        (Room::Full, _) => {
            hold_for_output(lp, c);
            Flushed::Full
        }
        // The batch filled up but the socket took it all.
        (Room::Below, true) => Flushed::BelowWhileHeld,
        (Room::Below, false) => Flushed::Below,
    }
}

/// Body bytes of exchange `seq` shared, not copied: at the front of the
/// queue and writing straight to the stream, the block is queued as a
/// reference ([`Stream::write_shared`]) between its framing bytes; in a
/// batch or held back behind an earlier response, it is copied as by
/// [`send`].
pub(crate) fn send_shared(
    lp: &mut Loop,
    c: ConnId,
    seq: u64,
    data: SharedBytes,
) -> Result<Sent, SendRefused> {
    let direct = conn(lp, c).is_some_and(|cn| {
        matches!(cn.output, Output::Direct) && cn.exchanges.front().map(|x| x.seq) == Some(seq)
    });
    if !direct {
        return send(lp, c, seq, &data, false);
    }
    // The head, if it is still to go: not if the block would overrun.
    let sent = send_then(lp, c, seq, &[], data.len(), false)?;
    if data.is_empty() {
        return Ok(sent);
    }
    let cn = conn(lp, c).ok_or(SendRefused::Closed)?;
    let stream = cn.stream;
    let x = cn.exchanges.front_mut().ok_or(SendRefused::Closed)?;
    let ResponsePhase::Body(enc) = &mut x.res.phase else {
        return Err(SendRefused::Finished);
    };
    // Strict Content-Length, as for copied bytes: none go out past it.
    enc.check(data.len()).map_err(SendRefused::Overrun)?;
    let chunked = match enc {
        BodyEncoder::None => return Ok(sent), // no body (HEAD, 204, 304)
        BodyEncoder::Length { remaining } => {
            *remaining -= data.len() as u64;
            false
        }
        BodyEncoder::CloseDelimited => false,
        BodyEncoder::Chunked => true,
    };
    if chunked {
        write_stream(lp, c, stream, format!("{:x}\r\n", data.len()).as_bytes());
    }
    let below = stream.write_shared(lp, data);
    watch_output(lp, c, stream);
    let mut room = room_after(lp, c, below);
    if chunked {
        room = write_stream(lp, c, stream, b"\r\n");
    }
    Ok(Sent { room, ..sent })
}

/// `100 Continue` for exchange `seq`, if its head is not sent yet.
pub(crate) fn send_continue(lp: &mut Loop, c: ConnId, seq: u64) -> bool {
    let unsent = conn(lp, c)
        .and_then(|cn| cn.exchanges.iter().find(|x| x.seq == seq))
        .is_some_and(|x| !x.res.head_sent());
    if !unsent {
        return false;
    }
    emit(lp, c, seq, b"HTTP/1.1 100 Continue\r\n\r\n");
    if let Some(x) = super::table::exchange(lp, c, seq) {
        x.res.continue_sent = true;
    }
    true
}

/// Composes and sends body bytes (and the head, the first time) of
/// exchange `seq`, in one lookup of the connection.
#[inline]
pub(crate) fn send(
    lp: &mut Loop,
    c: ConnId,
    seq: u64,
    data: &[u8],
    last: bool,
) -> Result<Sent, SendRefused> {
    send_then(lp, c, seq, data, 0, last)
}

/// [`send`], with `then` more bytes to follow uncopied checked against
/// the `Content-Length` too (see `compose`).
fn send_then(
    lp: &mut Loop,
    c: ConnId,
    seq: u64,
    data: &[u8],
    then: usize,
    last: bool,
) -> Result<Sent, SendRefused> {
    let now = lp.now();
    let h = http(lp);
    let server_closing = match h.conns.get(c) {
        Some(cn) => h.server_closing(cn.server),
        None => return Err(SendRefused::Closed),
    };
    let Http {
        conns,
        date,
        scratch,
        ..
    } = h;
    let cn: &mut Conn = conns.get_mut(c).ok_or(SendRefused::Closed)?;
    let pos = position(&cn.exchanges, seq).ok_or(SendRefused::Closed)?;
    let x = &cn.exchanges[pos];
    if x.res.is_finished() {
        return Err(SendRefused::Finished);
    }
    // What the head needs to know, only while it is still to be sent.
    let ctx = (x.res.phase == ResponsePhase::Head).then(|| cn.head_context(seq, server_closing));
    let head = ctx.map(|ctx| HeadInput { ctx, date, now });
    let front = pos == 0;
    let (stream, hwm) = (cn.stream, cn.opts.high_water_mark);
    let Conn {
        exchanges,
        output,
        hold,
        ..
    } = cn;
    let x = &mut *exchanges[pos];
    let parts = Parts {
        req: &x.req,
        body: &x.body,
        res: &mut x.res,
    };
    let composed;
    let room = match (front, output) {
        (true, Output::Batch { buf, base }) => {
            let before = buf.len();
            composed = compose(parts, data, then, last, head, buf);
            if buf.len() == before {
                Room::Below
            } else {
                let below = buf.len() + *base < hwm;
                if !below {
                    // Parsing pauses after this message; the flush decides
                    // when reading resumes.
                    *hold = hold.output(true);
                }
                Room::of(below)
            }
        }
        (true, Output::Direct) => {
            scratch.clear();
            composed = compose(parts, data, then, last, head, scratch);
            if scratch.is_empty() {
                Room::Below
            } else {
                let out = std::mem::take(scratch);
                let room = write_stream(lp, c, stream, &out);
                http(lp).scratch = out;
                room
            }
        }
        (false, _) => {
            let before = x.held.len();
            composed = compose(parts, data, then, last, head, &mut x.held);
            if x.held.len() == before {
                Room::Below
            } else {
                let held: usize = exchanges.iter().map(|x| x.held.len()).sum();
                if held >= hwm {
                    hold_for_output(lp, c);
                    Room::Full
                } else {
                    Room::Below
                }
            }
        }
    };
    let short = match composed {
        Composed::Refused(over) => return Err(SendRefused::Overrun(over)),
        Composed::Done => None,
        Composed::EndedShort(short) => Some(short),
    };
    Ok(Sent {
        room,
        finished_at_front: last && front,
        short,
    })
}
