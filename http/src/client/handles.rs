//! The client's public handles: small `Copy` ids of records in the
//! client's tables. Their methods are in `request.rs`, `response.rs` and
//! `agent.rs`. An id whose record is gone is stale: actions on it return
//! [`Error::Closed`](super::Error::Closed), queries answer `false`, `None`
//! or 0.

use super::table::{AgentId, ReqId};

/// An outgoing request (Node's `ClientRequest`), made with
/// `client::request` or `client::get`. Its id goes stale
/// when its `close` callback runs.
///
/// ```
/// use eddy_http::client::{request, AgentChoice, RequestOptions};
/// use eddy_http::server::{Server, ServerOptions};
/// use eddy_loop::{Loop, RunMode};
///
/// let mut lp = Loop::new()?;
/// let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
///     res.end(lp, b"hello").unwrap();
/// });
/// let addr: std::net::SocketAddr = "127.0.0.1:0".parse()?;
/// let port = server.listen(&mut lp, addr)?.ip().unwrap().port();
/// let opts = RequestOptions {
///     host: "127.0.0.1".into(),
///     port,
///     method: "POST".into(),
///     agent: AgentChoice::Fresh,
///     ..RequestOptions::default()
/// };
/// let req = request(&mut lp, opts, |lp, res| {
///     assert_eq!(res.status(lp), Some(200));
///     res.on_data(lp, |_, _, chunk| assert_eq!(chunk, b"hello")).unwrap();
/// })?;
/// req.on_close(&mut lp, move |lp, req, finished| {
///     assert!(finished, "the response ended");
///     assert!(!req.is_active(lp), "stale once its close runs");
///     server.close(lp, |_| {}).unwrap();
/// })?;
/// req.write(&mut lp, b"some ")?;
/// req.end(&mut lp, b"data")?;
/// lp.run(RunMode::Default);
/// assert!(!req.is_active(&lp));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClientRequest {
    pub(crate) id: ReqId,
}

/// The final response to a [`ClientRequest`] (Node's `IncomingMessage`
/// on the client side). It is the request's id seen from the response
/// side, so it goes stale with its request, after the `close` callback.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use eddy_http::client::{get, AgentChoice, RequestOptions};
/// use eddy_http::server::{Server, ServerOptions};
/// use eddy_loop::{Loop, RunMode};
///
/// let mut lp = Loop::new()?;
/// let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
///     res.set_header(lp, "X-Served-By", "eddy").unwrap();
///     res.end(lp, b"0123456789").unwrap();
/// });
/// let addr: std::net::SocketAddr = "127.0.0.1:0".parse()?;
/// let port = server.listen(&mut lp, addr)?.ip().unwrap().port();
/// let mut opts = RequestOptions::from_url(&format!("http://127.0.0.1:{port}/"))?;
/// opts.agent = AgentChoice::Fresh;
/// let body = Rc::new(RefCell::new(Vec::new()));
/// let b = body.clone();
/// get(&mut lp, opts, move |lp, res| {
///     assert_eq!(res.header(lp, "x-served-by"), Some(&b"eddy"[..]));
///     res.on_data(lp, move |_, _, chunk| b.borrow_mut().extend_from_slice(chunk)).unwrap();
///     res.on_end(lp, move |lp, res| {
///         assert!(res.is_complete(lp));
///         server.close(lp, |_| {}).unwrap();
///     })
///     .unwrap();
/// })?;
/// lp.run(RunMode::Default);
/// assert_eq!(&body.borrow()[..], b"0123456789");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClientResponse {
    pub(crate) id: ReqId,
}

/// A pool of keep-alive connections per destination (Node's
/// `http.Agent`), on one loop. A destroyed Agent's id is stale.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use eddy_http::client::{get, Agent, AgentOptions, RequestOptions};
/// use eddy_http::server::{Server, ServerOptions};
/// use eddy_loop::{Loop, RunMode};
///
/// let mut lp = Loop::new()?;
/// let server = Server::new(&mut lp, ServerOptions::default(), |lp, _req, res| {
///     res.end(lp, b"ok").unwrap();
/// });
/// let addr: std::net::SocketAddr = "127.0.0.1:0".parse()?;
/// let port = server.listen(&mut lp, addr)?.ip().unwrap().port();
/// let agent = Agent::new(&mut lp, AgentOptions { keep_alive: true, ..AgentOptions::default() });
/// let done = Rc::new(Cell::new(0));
/// for _ in 0..3 {
///     let mut opts = RequestOptions::from_url(&format!("http://127.0.0.1:{port}/"))?;
///     opts.agent = agent.into();
///     let d = done.clone();
///     let req = get(&mut lp, opts, |_, _| {})?;
///     req.on_close(&mut lp, move |lp, _, _| {
///         d.set(d.get() + 1);
///         if d.get() == 3 {
///             // Free sockets do not keep the loop running; the server's
///             // connections would.
///             server.close_all_connections(lp);
///             server.close(lp, |_| {}).unwrap();
///         }
///     })?;
/// }
/// lp.run(RunMode::Default);
/// assert_eq!(done.get(), 3);
/// assert!(agent.sockets_created(&lp) <= 3);
/// agent.destroy(&mut lp)?;
/// assert!(!agent.is_active(&lp));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Agent {
    pub(crate) id: AgentId,
}
