//! Where llhttp's strict mode rejects, eddy's strict parser rejects too, with
//! llhttp's error kind, whole and split at every byte; and the lenient flag
//! named for each case accepts it. Each case is a looseness that eddy once
//! had (found by reading llhttp's `http.ts` or by `benches/differential/`).

use eddy_http::parser::{
    Action, ErrorKind, Handler, HeadersAction, Kind, Lenient, Parser, Settings,
};

/// One looseness: the input, the error strict mode must give, and the flag
/// under which the input parses (with the message count it then yields and
/// whether the last message was read as chunked).
struct Case {
    name: &'static str,
    kind: Kind,
    input: &'static [u8],
    strict: ErrorKind,
    lenient: Lenient,
    messages: usize,
    chunked: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "space after the request line's version",
        kind: Kind::Request,
        input: b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
        strict: ErrorKind::InvalidVersion,
        lenient: Lenient::SPACES_AFTER_VERSION,
        messages: 1,
        chunked: false,
    },
    Case {
        name: "tab after the request line's version",
        kind: Kind::Request,
        input: b"GET / HTTP/1.1\t\r\nHost: x\r\n\r\n",
        strict: ErrorKind::InvalidVersion,
        lenient: Lenient::SPACES_AFTER_VERSION,
        messages: 1,
        chunked: false,
    },
    Case {
        // The smuggling example: strict sees no request at all.
        name: "space after the version, then a body that holds a request",
        kind: Kind::Request,
        input: b"POST /echo HTTP/1.1 \r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /smug HTTP/1.1\r\nHost: x\r\n\r\n",
        strict: ErrorKind::InvalidVersion,
        lenient: Lenient::SPACES_AFTER_VERSION,
        messages: 2,
        chunked: false,
    },
    Case {
        name: "two spaces between a status line's version and code",
        kind: Kind::Response,
        input: b"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
        strict: ErrorKind::InvalidStatus,
        lenient: Lenient::SPACES_AFTER_VERSION,
        messages: 1,
        chunked: false,
    },
    Case {
        name: "tab between a status line's version and code",
        kind: Kind::Response,
        input: b"HTTP/1.1\t200 OK\r\nContent-Length: 0\r\n\r\n",
        strict: ErrorKind::InvalidVersion,
        lenient: Lenient::SPACES_AFTER_VERSION,
        messages: 1,
        chunked: false,
    },
    Case {
        name: "HTTP/1.2 request",
        kind: Kind::Request,
        input: b"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
        strict: ErrorKind::InvalidVersion,
        lenient: Lenient::VERSION,
        messages: 1,
        chunked: false,
    },
    Case {
        name: "HTTP/1.9 response",
        kind: Kind::Response,
        input: b"HTTP/1.9 200 OK\r\nContent-Length: 0\r\n\r\n",
        strict: ErrorKind::InvalidVersion,
        lenient: Lenient::VERSION,
        messages: 1,
        chunked: false,
    },
    Case {
        name: "chunked with a parameter is not chunked",
        kind: Kind::Request,
        input: b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;p=1\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        strict: ErrorKind::InvalidTransferEncoding,
        lenient: Lenient::TRANSFER_ENCODING,
        messages: 1,
        chunked: true,
    },
    Case {
        name: "chunked followed by a tab is not chunked",
        kind: Kind::Request,
        input: b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        strict: ErrorKind::InvalidTransferEncoding,
        lenient: Lenient::TRANSFER_ENCODING,
        messages: 1,
        chunked: true,
    },
];

#[derive(Default)]
struct Count {
    messages: usize,
    chunked: bool,
}

impl Handler for Count {
    fn on_headers_complete(&mut self, p: &Parser) -> HeadersAction {
        self.chunked = p.flags() & eddy_http::parser::flags::CHUNKED != 0;
        HeadersAction::Proceed
    }
    fn on_message_complete(&mut self, _: &Parser) -> Action {
        self.messages += 1;
        Action::Continue
    }
}

/// Feeds `input` split at `at` (or whole); the first error, or the count.
fn parse(kind: Kind, lenient: Lenient, input: &[u8], at: usize) -> Result<Count, ErrorKind> {
    let mut p = Parser::with_settings(
        kind,
        Settings {
            lenient,
            ..Settings::default()
        },
    );
    let mut h = Count::default();
    for part in [&input[..at], &input[at..]] {
        p.execute(&mut h, part).map_err(|e| e.kind)?;
    }
    Ok(h)
}

#[test]
fn strict_rejects_what_llhttp_strict_rejects() {
    for c in CASES {
        for at in 0..=c.input.len() {
            match parse(c.kind, Lenient::NONE, c.input, at) {
                Err(kind) => assert_eq!(kind, c.strict, "{} (split at {at})", c.name),
                Ok(h) => panic!(
                    "{} (split at {at}): accepted, {} messages",
                    c.name, h.messages
                ),
            }
        }
    }
}

#[test]
fn each_looseness_is_behind_its_lenient_flag() {
    for c in CASES {
        for at in 0..=c.input.len() {
            let h = parse(c.kind, c.lenient, c.input, at)
                .unwrap_or_else(|e| panic!("{} (split at {at}): lenient gives {e:?}", c.name));
            assert_eq!(
                (h.messages, h.chunked),
                (c.messages, c.chunked),
                "{} (split at {at})",
                c.name
            );
        }
        // Every other flag leaves it rejected: the flag is the one that covers it.
        let others = Lenient(Lenient::ALL.0 & !c.lenient.0 & !Lenient::KEEP_ALIVE.0);
        let without = parse(c.kind, others, c.input, c.input.len());
        if c.lenient != Lenient::TRANSFER_ENCODING {
            assert!(without.is_err(), "{}: accepted without its flag", c.name);
        }
    }
}
