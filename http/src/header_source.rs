//! Where a forwarded header list comes from: a list in hand, or a
//! received message read in place (a server `Request`, a
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
