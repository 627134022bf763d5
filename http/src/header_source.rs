//! Where a forwarded header list (and status line) comes from: a list in
//! hand, or a received message read in place (a server `Request`, a
//! `ClientResponse`), so a proxy forwards one without copying it first.

use eddy_loop::Loop;

use crate::h1::HeaderList;

/// A received header list to forward (`forward_headers` on a server
/// [`Response`](crate::server::Response) or a
/// [`ClientRequest`](crate::client::ClientRequest)): a `&HeaderList`, a
/// server [`Request`](crate::server::Request) or a
/// [`ClientResponse`](crate::client::ClientResponse).
pub trait HeaderSource {
    /// Runs `f` with the list; `None` if the message is gone.
    fn with_headers<R>(
        self,
        lp: &mut Loop,
        f: impl FnOnce(&mut Loop, &HeaderList) -> R,
    ) -> Option<R>;
}

impl HeaderSource for &HeaderList {
    fn with_headers<R>(
        self,
        lp: &mut Loop,
        f: impl FnOnce(&mut Loop, &HeaderList) -> R,
    ) -> Option<R> {
        Some(f(lp, self))
    }
}

/// A received response's status line to forward
/// ([`Response::forward_head`](crate::server::Response::forward_head)): a
/// [`ClientResponse`](crate::client::ClientResponse).
pub trait StatusSource {
    /// Runs `f` with the status code and the reason phrase as received;
    /// `None` if the response is gone.
    fn with_status<R>(self, lp: &mut Loop, f: impl FnOnce(&mut Loop, u16, &[u8]) -> R)
        -> Option<R>;
}

/// Lends the value `slot` finds for `key` out of the loop's tables while
/// `f` runs (`f` gets the loop, so the value cannot stay borrowed from
/// it), then puts it back if its record still lives, as `Loop::with_cb`
/// does with callbacks: a received list or phrase is read in place, never
/// copied. `None` if there is no record.
pub(crate) fn lend<K: Copy, T: Default, R>(
    lp: &mut Loop,
    key: K,
    slot: impl for<'a> Fn(&'a mut Loop, K) -> Option<&'a mut T>,
    f: impl FnOnce(&mut Loop, &T) -> R,
) -> Option<R> {
    let value = std::mem::take(slot(lp, key)?);
    let out = f(lp, &value);
    if let Some(s) = slot(lp, key) {
        *s = value;
    }
    Some(out)
}
