//! Hearing that the peer went away while a stream is not reading.
//!
//! A stream that stopped reading (backpressure, a paused request) has no
//! read to meet the peer's FIN or reset, so it would learn of it only at
//! its next write, or never. With [`Stream::on_hangup`] its watcher keeps
//! asking for EPOLLRDHUP while reading is stopped (errors and hang-ups are
//! always reported), and the callback is told once. Bytes the kernel still
//! holds are left unread.

use eddy_loop::{Loop, Ready};

use crate::error::Result;
use crate::stream::{state, sync_interest, Stream};

/// How the peer went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hangup {
    /// It shut down its writing side (a FIN): it may still read.
    Ended,
    /// The connection is reset or broken both ways.
    Reset,
}

impl Stream {
    /// Runs `cb` once if, while the stream is not reading, the peer ends
    /// its side or resets the connection. While reading, the read
    /// callback hears of it as usual (`Eof`, `Error`) and `cb` stays set.
    pub fn on_hangup(
        self,
        lp: &mut Loop,
        cb: impl FnOnce(&mut Loop, Stream, Hangup) + 'static,
    ) -> Result<()> {
        state(lp, self)?.hangup_cb = Some(Box::new(cb));
        sync_interest(lp, self);
        Ok(())
    }

    /// Removes the `on_hangup` callback.
    pub fn clear_on_hangup(self, lp: &mut Loop) -> Result<()> {
        state(lp, self)?.hangup_cb = None;
        sync_interest(lp, self);
        Ok(())
    }
}

/// If `ready` is a hang-up for a stream that is not reading, tells its
/// callback (which is then gone). The event then goes its usual way (a
/// queued write meets the error).
pub(crate) fn check(lp: &mut Loop, s: Stream, ready: Ready) {
    let Ok(st) = state(lp, s) else { return };
    if (st.reading && !st.eof) || st.connecting.is_some() || st.hangup_cb.is_none() {
        return;
    }
    let how = if ready.is_error() || ready.is_hangup() {
        Hangup::Reset
    } else if ready.is_read_closed() {
        Hangup::Ended
    } else {
        return;
    };
    let cb = st.hangup_cb.take();
    if !ready.is_error() {
        // Without the callback the watcher no longer asks for EPOLLRDHUP
        // (level-triggered, it would come back every iteration). After an
        // error the loop stopped the watcher and `on_error` syncs it.
        sync_interest(lp, s);
    }
    if let Some(cb) = cb {
        cb(lp, s, how);
    }
}
