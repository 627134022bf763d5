//! The server's callbacks (Node's server events) and the data they get:
//! the request callback, the CONNECT/Upgrade hand-off, the expectation
//! checks, bad requests and new connections.

use eddy_loop::Loop;
use eddy_net::Stream;

use super::handles::{Request, Response};
use crate::h1::HeaderList;
use crate::parser::Method;

/// The request callback, and the expectation hooks.
pub(crate) type RequestCb = Box<dyn FnMut(&mut Loop, Request, Response)>;
/// CONNECT and Upgrade hand-offs.
pub(crate) type HandOffCb = Box<dyn FnMut(&mut Loop, RequestHead, Stream, Vec<u8>)>;
/// Bad requests: the bytes to answer with instead of the default.
pub(crate) type ClientErrorCb = Box<dyn FnMut(&mut Loop, &ClientError) -> Option<Vec<u8>>>;
/// Each accepted connection's stream.
pub(crate) type ConnectionCb = Box<dyn FnMut(&mut Loop, Stream)>;
/// `Server::close`'s callback.
pub(crate) type CloseCb = Box<dyn FnOnce(&mut Loop)>;

/// The head of a request handed off with its stream (CONNECT, Upgrade).
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The request's method.
    pub method: Method,
    /// The request-target as sent (lossy UTF-8 if it was not UTF-8).
    pub target: String,
    /// (major, minor), e.g. (1, 1).
    pub version: (u8, u8),
    /// The header lines, as received.
    pub headers: HeaderList,
}

/// A request the server refuses (bad input, a limit, a timeout).
#[derive(Debug, Clone)]
pub struct ClientError {
    /// The status eddy answers with (400, 408, 413, 414, 417, 431, 501, 505).
    pub status: u16,
}

/// Optional callbacks, Node's server events.
#[derive(Default)]
pub(crate) struct Hooks {
    pub connect: Option<HandOffCb>,
    pub upgrade: Option<HandOffCb>,
    pub check_continue: Option<RequestCb>,
    pub check_expectation: Option<RequestCb>,
    pub client_error: Option<ClientErrorCb>,
    pub connection: Option<ConnectionCb>,
}

/// Which hook an event goes to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Hook {
    Connect,
    Upgrade,
    CheckContinue,
    CheckExpectation,
}

impl Hooks {
    /// Whether `hook` is set.
    pub fn has(&self, hook: Hook) -> bool {
        match hook {
            Hook::Connect => self.connect.is_some(),
            Hook::Upgrade => self.upgrade.is_some(),
            Hook::CheckContinue => self.check_continue.is_some(),
            Hook::CheckExpectation => self.check_expectation.is_some(),
        }
    }
}
