//! The framing decision, as a pure function: given who sends a message,
//! what it answers or asks, its header lines and what is known of its body,
//! [`decide`] says how the body is delimited, which framing line eddy adds,
//! and whether the connection stays open after it. Server and client call
//! the same function; neither decides framing anywhere else.
//!
//! The rules are Node's: a `Content-Length` the user set wins, then a
//! user's `Transfer-Encoding: chunked`; else a body whose whole length is
//! known when the head goes out (`end(data)` first) is counted, a streamed
//! one is chunked on HTTP/1.1 and close-delimited on HTTP/1.0 (server
//! side). HEAD answers, 1xx, 204 and 304 have no body; a client's empty
//! GET, HEAD, DELETE, OPTIONS, TRACE or CONNECT carries no framing line.

use super::facts::HeaderFacts;

/// Who sends the message being framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A response, sent by a server.
    Server,
    /// A request, sent by a client.
    Client,
}

/// What is known of the body when the head is composed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKnown {
    /// All of it: `end(data)` came first, with this many bytes.
    Whole(u64),
    /// It will be written in pieces.
    Streaming,
}

/// How a message's body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`, ended by a last chunk and trailers.
    Chunked,
    /// The body ends when the connection does (an HTTP/1.0 response with
    /// no length).
    CloseDelimited,
    /// No body at all (HEAD, 1xx, 204, 304; a client's bodiless request).
    None,
}

/// The framing line eddy adds to the head because the user set none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingLine {
    /// Nothing to add.
    None,
    /// `Content-Length: n`.
    ContentLength(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What [`decide`] needs to know about an outgoing message.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// Server (a response) or client (a request).
    pub role: Role,
    /// The request's method: the one answered (server) or sent (client).
    pub method: &'a [u8],
    /// The response status (server); ignored for a client.
    pub status: u16,
    /// The request's HTTP version (server: the version the client spoke).
    pub version: (u8, u8),
    /// The message's own header lines, scanned.
    pub headers: &'a HeaderFacts<'a>,
    /// What is known of the body.
    pub body: BodyKnown,
    /// Whether everything but this message's own headers and framing
    /// allows keep-alive (the peer asked for it, the server is not
    /// closing, keep-alive is enabled, ...).
    pub keep_alive: bool,
}

/// The result of [`decide`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// How the body is delimited.
    pub framing: Framing,
    /// The framing line to add to the head.
    pub line: FramingLine,
    /// Whether the connection stays open after this message.
    pub keep_alive: bool,
}

/// Methods whose empty request body needs no `Content-Length: 0` (Node's
/// `useChunkedEncodingByDefault == false`).
fn bodiless_by_default(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"DELETE" | b"OPTIONS" | b"TRACE" | b"CONNECT"
    )
}

/// Decides the framing and keep-alive of an outgoing message.
///
/// ```
/// use eddy_http::h1::{decide, BodyKnown, Framing, FramingLine, HeaderFacts, Outgoing, Role};
/// let facts = HeaderFacts::default();
/// let d = decide(&Outgoing {
///     role: Role::Server,
///     method: b"GET",
///     status: 200,
///     version: (1, 1),
///     headers: &facts,
///     body: BodyKnown::Whole(5),
///     keep_alive: true,
/// });
/// assert_eq!(d.framing, Framing::Length(5));
/// assert_eq!(d.line, FramingLine::ContentLength(5));
/// assert!(d.keep_alive);
/// ```
pub fn decide(m: &Outgoing<'_>) -> Decision {
    let f = m.headers;
    let user_length = f.content_length_value();
    let (framing, line) = match m.role {
        Role::Server => {
            let no_body =
                m.method == b"HEAD" || m.status < 200 || m.status == 204 || m.status == 304;
            if no_body {
                (Framing::None, FramingLine::None)
            } else if let Some(len) = user_length {
                (Framing::Length(len), FramingLine::None)
            } else if f.chunked {
                (Framing::Chunked, FramingLine::None)
            } else if let BodyKnown::Whole(len) = m.body {
                (Framing::Length(len), FramingLine::ContentLength(len))
            } else if m.version < (1, 1) {
                (Framing::CloseDelimited, FramingLine::None)
            } else {
                (Framing::Chunked, FramingLine::Chunked)
            }
        }
        Role::Client => {
            if let Some(len) = user_length {
                (Framing::Length(len), FramingLine::None)
            } else if f.transfer_encoding.is_some() {
                let framing = if f.chunked {
                    Framing::Chunked
                } else {
                    Framing::None
                };
                (framing, FramingLine::None)
            } else {
                match m.body {
                    BodyKnown::Whole(0) if bodiless_by_default(m.method) => {
                        (Framing::None, FramingLine::None)
                    }
                    BodyKnown::Whole(len) => {
                        (Framing::Length(len), FramingLine::ContentLength(len))
                    }
                    BodyKnown::Streaming => (Framing::Chunked, FramingLine::Chunked),
                }
            }
        }
    };
    let keep_alive = m.keep_alive && !f.connection_close && framing != Framing::CloseDelimited;
    Decision {
        framing,
        line,
        keep_alive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h1::HeaderList;

    fn server(
        method: &[u8],
        status: u16,
        version: (u8, u8),
        h: &HeaderList,
        body: BodyKnown,
    ) -> Decision {
        decide(&Outgoing {
            role: Role::Server,
            method,
            status,
            version,
            headers: &HeaderFacts::of(h),
            body,
            keep_alive: true,
        })
    }

    fn client(method: &[u8], h: &HeaderList, body: BodyKnown) -> Decision {
        decide(&Outgoing {
            role: Role::Client,
            method,
            status: 0,
            version: (1, 1),
            headers: &HeaderFacts::of(h),
            body,
            keep_alive: true,
        })
    }

    #[test]
    fn server_framing_follows_node() {
        let none = HeaderList::default();
        let d = server(b"GET", 200, (1, 1), &none, BodyKnown::Streaming);
        assert_eq!(
            (d.framing, d.line),
            (Framing::Chunked, FramingLine::Chunked)
        );
        let d = server(b"GET", 200, (1, 0), &none, BodyKnown::Streaming);
        assert_eq!((d.framing, d.keep_alive), (Framing::CloseDelimited, false));
        for (m, st) in [
            (&b"HEAD"[..], 200),
            (b"GET", 204),
            (b"GET", 304),
            (b"GET", 101),
        ] {
            let d = server(m, st, (1, 1), &none, BodyKnown::Whole(3));
            assert_eq!((d.framing, d.line), (Framing::None, FramingLine::None));
        }
        let mut h = HeaderList::default();
        h.push("Content-Length", b"10");
        let d = server(b"GET", 200, (1, 1), &h, BodyKnown::Whole(3));
        assert_eq!(
            (d.framing, d.line),
            (Framing::Length(10), FramingLine::None)
        );
        let mut h = HeaderList::default();
        h.push("Transfer-Encoding", b"chunked");
        h.push("Connection", b"close");
        let d = server(b"GET", 200, (1, 1), &h, BodyKnown::Whole(3));
        assert_eq!(
            (d.framing, d.line, d.keep_alive),
            (Framing::Chunked, FramingLine::None, false)
        );
    }

    #[test]
    fn client_framing_follows_node() {
        let none = HeaderList::default();
        assert_eq!(
            client(b"GET", &none, BodyKnown::Whole(0)).framing,
            Framing::None
        );
        let d = client(b"POST", &none, BodyKnown::Whole(0));
        assert_eq!(
            (d.framing, d.line),
            (Framing::Length(0), FramingLine::ContentLength(0))
        );
        let d = client(b"PUT", &none, BodyKnown::Streaming);
        assert_eq!(
            (d.framing, d.line),
            (Framing::Chunked, FramingLine::Chunked)
        );
        let mut h = HeaderList::default();
        h.push("Transfer-Encoding", b"gzip");
        assert_eq!(
            client(b"POST", &h, BodyKnown::Streaming).framing,
            Framing::None
        );
    }
}
