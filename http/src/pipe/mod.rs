//! Body pipes (Node's `stream.pipeline` for HTTP bodies): [`pipe`]
//! connects a readable body to a writable one, with backpressure, the end
//! and aborts carried both ways.
//!
//! - readable ([`Readable`]): a server [`Request`](crate::server::Request),
//!   a [`ClientResponse`](crate::client::ClientResponse), a net
//!   [`Stream`](eddy_net::Stream);
//! - writable ([`Writable`]): a server [`Response`](crate::server::Response),
//!   a [`ClientRequest`](crate::client::ClientRequest), a net `Stream`.
//!
//! A pipe pauses its source when the destination's buffered output
//! reaches its high-water mark, and resumes it on the drain; the source's
//! end ends the destination. The destination closing before it finished
//! aborts the source (a proxy's upstream request is aborted, its socket
//! closed, when the downstream client goes away); the source failing cuts
//! the destination visibly (a chunked response without its last chunk, a
//! counted one short), never as a clean end.
//!
//! A pipe holds no state of its own: each callback it installs holds the
//! two `Copy` handles. It takes the source's data, end and abort slots
//! (`on_data`, `on_end`, `on_aborted`; a stream's read callback) and the
//! destination's drain slot; close events are watched alongside the
//! user's own `on_close`. A source known to hold nothing (a request whose
//! head says no body follows, as a GET's) installs only its end.
//!
//! Files: `readable.rs` and `writable.rs` (the traits and their impls);
//! this file joins them.

#![deny(missing_docs)]

mod readable;
mod writable;

use eddy_loop::Loop;

pub use readable::Readable;
pub use writable::Writable;

/// Why a pipe could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The source or the destination is already gone.
    #[error("{0} is closed")]
    Closed(&'static str),
}

/// Pipes `from` into `to` (see the [module docs](self)).
///
/// ```no_run
/// use eddy_http::client::{request, RequestOptions};
/// use eddy_http::pipe::pipe;
/// use eddy_http::server::{Server, ServerOptions};
/// use eddy_loop::Loop;
///
/// let mut lp = Loop::new()?;
/// // A reverse proxy's core: the body both ways, by pipes.
/// Server::new(&mut lp, ServerOptions::default(), |lp, req, res| {
///     let opts = RequestOptions::from_url("http://127.0.0.1:9000/").unwrap();
///     let up = request(lp, opts, move |lp, ures| {
///         res.forward_head(lp, ures).unwrap();
///         pipe(lp, ures, res).unwrap();
///     })
///     .unwrap();
///     up.forward_headers(lp, req).unwrap();
///     pipe(lp, req, up).unwrap();
/// });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pipe<R: Readable, W: Writable>(lp: &mut Loop, from: R, to: W) -> Result<(), Error> {
    if from.is_known_empty(lp) {
        // Nothing will flow (a GET, say): only the end is carried, when it
        // comes (after the caller's own calls, as a full pipe's would).
        to.check_open(lp)?;
        return from.on_end_only(lp, move |lp| {
            let _ = to.end(lp);
        });
    }
    to.on_drain(lp, move |lp| from.resume(lp))?;
    to.on_gone(lp, move |lp| from.abort(lp))?;
    from.start(
        lp,
        move |lp, chunk| match to.write(lp, chunk) {
            Ok(true) => {}
            // At the mark: wait for the drain.
            Ok(false) => from.pause(lp),
            // The destination is gone (its close aborts the source).
            Err(_) => from.abort(lp),
        },
        move |lp| {
            let _ = to.end(lp);
        },
        move |lp| to.abort(lp),
    )
}
