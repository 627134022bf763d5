//! A request's outgoing bytes, as a state machine with no I/O. The head is
//! composed once by the shared HTTP/1 core: `h1::decide` picks the framing
//! (Node's rules) and the `Connection`, `h1::Head` encodes the request
//! line, the user's lines, `Host` and `Expect`; then body bytes go through
//! the decided `h1::BodyEncoder` and are kept until the request's socket
//! takes them. With `Expect: 100-continue` the body is held until `100
//! Continue`, and dropped if a final answer comes first.

use eddy_net::DEFAULT_HIGH_WATER_MARK;

use super::error::{Error, Result};
use super::target::Target;
use crate::h1::{
    decide, BodyEncoder, BodyKnown, Head, HeaderFacts, HeaderList, Outgoing, Role, StartLine,
};

/// How far the user has got with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing composed: headers may still change.
    HeadPending,
    /// The head is composed; body bytes follow through this encoder.
    Body(BodyEncoder),
    /// `end` was called: the request is complete on our side.
    Ended,
}

/// Whether body bytes may go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// They go out as soon as there is a socket.
    Open,
    /// `Expect: 100-continue` was sent: they wait for `100 Continue`.
    AwaitingContinue,
    /// A final answer came before `100 Continue`: they are never sent.
    Dropped,
}

/// Whether a drain callback is owed (`write` returned false since the
/// last one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Drain {
    NotOwed,
    Owed,
}

/// What may go to the socket now.
pub(crate) struct Ready {
    /// Head and body bytes, in order (may be empty).
    pub bytes: Vec<u8>,
    /// Body bytes still held for `100 Continue`.
    pub held: usize,
}

/// A request's output.
#[derive(Debug)]
pub(crate) struct Output {
    pub progress: Progress,
    pub gate: Gate,
    pub drain: Drain,
    /// Head bytes not yet handed to a socket.
    head: Vec<u8>,
    /// Body bytes (framed) not yet handed to a socket.
    body: Vec<u8>,
}

impl Default for Output {
    fn default() -> Output {
        Output {
            progress: Progress::HeadPending,
            gate: Gate::Open,
            drain: Drain::NotOwed,
            head: Vec::new(),
            body: Vec::new(),
        }
    }
}

impl Output {
    /// Whether the head was composed (its headers can no longer change).
    pub fn is_head_composed(&self) -> bool {
        self.progress != Progress::HeadPending
    }

    /// Whether the whole request went (or will go) out as written: ended,
    /// its body not dropped. Only then may its socket carry another.
    pub fn is_complete(&self) -> bool {
        self.progress == Progress::Ended && self.gate != Gate::Dropped
    }

    /// Composes the head, unless it already is. `keep_alive` is whether
    /// the request's Agent keeps sockets (what `Connection` says when the
    /// user set none); `extra` is scratch space for the lines the client
    /// adds (`Host`, `Expect`).
    pub fn compose_head(
        &mut self,
        t: &Target,
        body: BodyKnown,
        keep_alive: bool,
        extra: &mut Vec<u8>,
    ) {
        if self.is_head_composed() {
            return;
        }
        let facts = HeaderFacts::of(&t.headers);
        let decision = decide(&Outgoing {
            role: Role::Client,
            method: t.method.as_bytes(),
            status: 0,
            version: (1, 1),
            headers: &facts,
            body,
            keep_alive,
        });
        extra.clear();
        if t.set_host && facts.host.is_none() {
            t.dest.write_host_line(extra);
        }
        if t.asks.expect_continue && facts.expect.is_none() {
            extra.extend_from_slice(b"Expect: 100-continue\r\n");
        }
        // Room for the whole head (the lines were added whole: `byte_len`
        // is their wire form): it grows no more.
        let room = t.method.len() + t.path.len() + t.headers.byte_len() + extra.len() + 96;
        let mut head = Vec::with_capacity(room);
        Head {
            start: StartLine::Request {
                method: t.method.as_bytes(),
                target: t.path.as_bytes(),
            },
            headers: &t.headers,
            facts: &facts,
            decision: &decision,
            extra,
            date: None,
            keep_alive_secs: None,
        }
        .encode(&mut head);
        self.head = head;
        self.progress = Progress::Body(BodyEncoder::new(decision.framing));
        if t.asks.expect_continue {
            self.gate = Gate::AwaitingContinue;
        }
    }

    /// A piece of the body (the head must be composed).
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let Progress::Body(enc) = &mut self.progress else {
            return Err(Error::WriteAfterEnd);
        };
        enc.check(data.len())?;
        if self.gate != Gate::Dropped {
            enc.encode(data, &mut self.body);
        }
        Ok(())
    }

    /// The last piece of the body (the head must be composed).
    pub fn end(&mut self, data: &[u8]) -> Result<()> {
        let Progress::Body(enc) = &mut self.progress else {
            return Err(Error::WriteAfterEnd);
        };
        enc.check(data.len())?;
        let mut short = Ok(());
        if self.gate != Gate::Dropped {
            enc.encode(data, &mut self.body);
            short = enc.finish(&HeaderList::default(), &mut self.body);
        }
        self.progress = Progress::Ended;
        // Ended either way; a shortfall is the caller's to act on (the
        // socket cannot carry another request).
        Ok(short?)
    }

    /// `100 Continue` arrived: the body may go.
    pub fn continue_received(&mut self) {
        if self.gate == Gate::AwaitingContinue {
            self.gate = Gate::Open;
        }
    }

    /// A final answer arrived. Returns whether it came before `100
    /// Continue`: then the body is dropped, and the server may still
    /// expect it, so the socket must not carry another request.
    pub fn final_answer_received(&mut self) -> bool {
        if self.gate != Gate::AwaitingContinue {
            return false;
        }
        self.gate = Gate::Dropped;
        self.body = Vec::new();
        true
    }

    /// Takes what may go to the socket now: the head, and the body unless
    /// it is held.
    pub fn take_ready(&mut self) -> Ready {
        let mut bytes = std::mem::take(&mut self.head);
        if self.gate == Gate::AwaitingContinue {
            return Ready {
                bytes,
                held: self.body.len(),
            };
        }
        if bytes.is_empty() {
            bytes = std::mem::take(&mut self.body);
        } else {
            bytes.append(&mut self.body);
        }
        Ready { bytes, held: 0 }
    }

    /// Whether what waits here, with no socket yet, is below the
    /// high-water mark.
    pub fn is_below_mark(&self) -> bool {
        self.head.len() + self.body.len() < DEFAULT_HIGH_WATER_MARK
    }

    /// Puts bytes already sent once (on a socket that failed) before what
    /// waits, to be sent again on a fresh one.
    pub fn resend_first(&mut self, mut sent: Vec<u8>) {
        sent.append(&mut self.head);
        self.head = sent;
    }
}

#[cfg(test)]
mod tests {
    use super::super::target::{Destination, Target};
    use super::*;

    fn target(method: &str, headers: &[(&str, &str)], expect: bool) -> Target {
        let dest = Destination {
            host: "h".into(),
            port: 80,
            socket_path: None,
            local_address: None,
            family: None,
        };
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Target::new(method.into(), "/".into(), dest, headers, true, expect).unwrap()
    }

    fn all(o: &mut Output) -> String {
        String::from_utf8(o.take_ready().bytes).unwrap()
    }

    #[test]
    fn framing_follows_node() {
        let mut o = Output::default();
        o.compose_head(
            &target("GET", &[], false),
            BodyKnown::Whole(0),
            true,
            &mut Vec::new(),
        );
        o.end(b"").unwrap();
        assert_eq!(
            all(&mut o),
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"
        );
        assert!(o.is_complete());
        assert!(matches!(o.write(b"x"), Err(Error::WriteAfterEnd)));

        let mut o = Output::default();
        o.compose_head(
            &target("POST", &[], false),
            BodyKnown::Whole(2),
            false,
            &mut Vec::new(),
        );
        o.end(b"hi").unwrap();
        assert!(all(&mut o).ends_with("Connection: close\r\nContent-Length: 2\r\n\r\nhi"));

        let mut o = Output::default();
        o.compose_head(
            &target("POST", &[], false),
            BodyKnown::Streaming,
            true,
            &mut Vec::new(),
        );
        o.write(b"abc").unwrap();
        o.end(b"").unwrap();
        assert!(all(&mut o).ends_with("chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
    }

    #[test]
    fn the_body_waits_for_100_continue_or_is_dropped() {
        let t = target("PUT", &[], true);
        let mut o = Output::default();
        o.compose_head(&t, BodyKnown::Streaming, true, &mut Vec::new());
        o.end(b"body").unwrap();
        let r = o.take_ready();
        assert!(String::from_utf8(r.bytes)
            .unwrap()
            .contains("Expect: 100-continue\r\n"));
        assert!(r.held > 0);
        o.continue_received();
        assert!(all(&mut o).contains("body"));
        assert!(o.is_complete());

        let mut o = Output::default();
        o.compose_head(&t, BodyKnown::Streaming, true, &mut Vec::new());
        o.write(b"body").unwrap();
        assert!(o.final_answer_received());
        o.end(b"more").unwrap();
        let r = o.take_ready();
        let sent = String::from_utf8(r.bytes).unwrap();
        assert!(sent.ends_with("\r\n\r\n") && !sent.contains("body") && r.held == 0);
        assert!(!o.is_complete(), "a dropped body leaves the socket unfit");
    }
}
