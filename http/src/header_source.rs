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
