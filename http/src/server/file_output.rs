//! A file range onto the connection's stream, zero-copy: queued with
//! `Stream::send_file` behind whatever the stream already holds. If an
//! output batch is open, its bytes are written first, so the order on the
//! wire stays the order of the responses. The range counts toward the
//! high-water mark like any write: above it, reading stops until the
//! stream drains (`output::hold_for_output`), so a slow reader of a large
//! file holds no more than the socket buffers.

use eddy_loop::Loop;

use super::connection::Output;
use super::file_body::FileBody;
use super::handles::ConnId;
use super::output::{room_after, write_failed, Room};
use super::table::conn;

/// Sends `body` for the front exchange of connection `c`.
pub(crate) fn write_file_front(lp: &mut Loop, c: ConnId, body: FileBody) -> Room {
    let Some(cn) = conn(lp, c) else {
        return Room::Full;
    };
    let stream = cn.stream;
    if let Output::Batch { buf, .. } = &mut cn.output {
        if !buf.is_empty() {
            let bytes = std::mem::take(buf);
            let wrote = stream.write(lp, &bytes);
            let queued = stream.write_queue_size(lp).unwrap_or(0);
            if let Some(Output::Batch { buf, base }) = conn(lp, c).map(|cn| &mut cn.output) {
                // Keep the allocation; what the stream holds now is the base.
                *buf = bytes;
                buf.clear();
                *base = queued;
            }
            if wrote.is_err() {
                write_failed(lp, c);
                return Room::Full;
            }
        }
    }
    let FileBody { file, offset, len } = body;
    let sent = stream.send_file(lp, file, offset, len, move |lp, _, done| {
        if done.is_err() {
            write_failed(lp, c);
        }
    });
    room_after(lp, c, sent)
}
