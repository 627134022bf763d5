//! Unit tests of the parser's API: pause/resume, upgrade offsets, limits,
//! sticky errors, EOF handling, keep-alive, pipelining and the target splitter.

use eddy_http::parser::{
    split_target, Action, ErrorKind, FinishState, Handler, HeadersAction, Kind, Method, Parser,
    PauseReason, Settings, TargetForm,
};

/// Collects what a server would keep.
#[derive(Default)]
struct Collect {
    url: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    messages: usize,
    pause_on_headers: bool,
    keep_alive: Vec<bool>,
    in_field: bool,
}

impl Handler for Collect {
    fn on_url(&mut self, d: &[u8]) {
        self.url.extend_from_slice(d);
    }
    // Spans may arrive in pieces: a name continues until its value starts.
    fn on_header_field(&mut self, d: &[u8]) {
        if !self.in_field {
            self.headers.push((Vec::new(), Vec::new()));
            self.in_field = true;
        }
        self.headers.last_mut().unwrap().0.extend_from_slice(d);
    }
    fn on_header_value(&mut self, d: &[u8]) {
        self.in_field = false;
        self.headers.last_mut().unwrap().1.extend_from_slice(d);
    }
    fn on_headers_complete(&mut self, p: &Parser) -> HeadersAction {
        self.keep_alive.push(p.should_keep_alive());
        if self.pause_on_headers {
            HeadersAction::Pause
        } else {
            HeadersAction::Proceed
        }
    }
    fn on_body(&mut self, d: &[u8]) {
        self.body.extend_from_slice(d);
    }
    fn on_message_complete(&mut self, _: &Parser) -> Action {
        self.messages += 1;
        Action::Continue
    }
}

#[test]
fn pause_and_resume() {
    let req = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    let mut p = Parser::new(Kind::Request);
    let mut h = Collect {
        pause_on_headers: true,
        ..Collect::default()
    };
    let n = p.execute(&mut h, req).unwrap();
    assert_eq!(n, req.len() - 5, "stops right after the headers");
    assert_eq!(p.pause_reason(), Some(PauseReason::User));
    assert_eq!(
        p.execute(&mut h, &req[n..]).unwrap(),
        0,
        "paused parsers consume nothing"
    );
    p.resume();
    h.pause_on_headers = false;
    assert_eq!(p.execute(&mut h, &req[n..]).unwrap(), 5);
    assert_eq!(h.body, b"hello");
    assert_eq!(h.messages, 1);
    assert_eq!(p.method(), Some(Method::Post));
}

#[test]
fn upgrade_stops_where_the_new_protocol_begins() {
    let req = b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
    let mut p = Parser::new(Kind::Request);
    let mut h = Collect::default();
    let n = p.execute(&mut h, req).unwrap();
    assert_eq!(&req[n..], b"\x81\x05hello");
    assert_eq!(p.pause_reason(), Some(PauseReason::Upgrade));
    assert!(p.upgrade());
    assert_eq!(h.messages, 1);

    let req = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01";
    let mut p = Parser::new(Kind::Request);
    let n = p.execute(&mut Collect::default(), req).unwrap();
    assert_eq!(&req[n..], b"\x16\x03\x01");
    assert_eq!(p.pause_reason(), Some(PauseReason::Upgrade));
}

#[test]
fn limits_have_their_own_error_kinds() {
    let tight = Settings {
        max_header_bytes: 64,
        max_headers: 2,
        max_url_len: 16,
        max_chunk_extension_bytes: 8,
        ..Settings::default()
    };
    let parse = |kind, input: &[u8]| {
        let mut p = Parser::with_settings(kind, tight);
        p.execute(&mut Collect::default(), input).unwrap_err()
    };
    let e = parse(Kind::Request, b"GET /this/url/is/too/long HTTP/1.1\r\n\r\n");
    assert_eq!(
        (e.kind, e.offset, e.kind.status_code()),
        (ErrorKind::UrlTooLong, 4 + 16, 414)
    );
    let e = parse(
        Kind::Request,
        b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n",
    );
    assert_eq!(
        (e.kind, e.kind.status_code()),
        (ErrorKind::TooManyHeaders, 431)
    );
    let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "v".repeat(100));
    let e = parse(Kind::Request, big.as_bytes());
    assert_eq!(
        (e.kind, e.kind.status_code()),
        (ErrorKind::HeaderOverflow, 431)
    );
    let e = parse(
        Kind::Response,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;name=longvalue\r\n",
    );
    assert_eq!(
        (e.kind, e.kind.status_code()),
        (ErrorKind::ChunkExtensionsTooLarge, 413)
    );
}

#[test]
fn limits_do_not_depend_on_how_input_is_split() {
    let tight = Settings {
        max_url_len: 16,
        ..Settings::default()
    };
    let req = b"GET /this/url/is/too/long HTTP/1.1\r\n\r\n";
    for cut in 1..req.len() {
        let mut p = Parser::with_settings(Kind::Request, tight);
        let mut h = Collect::default();
        let e = match p.execute(&mut h, &req[..cut]) {
            Ok(_) => p.execute(&mut h, &req[cut..]).map_err(|mut e| {
                e.offset += cut;
                e
            }),
            Err(e) => Err(e),
        }
        .unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::UrlTooLong, 20),
            "cut at {cut}"
        );
    }
}

#[test]
fn errors_are_sticky_until_reset() {
    let mut p = Parser::new(Kind::Request);
    let mut h = Collect::default();
    let e = p
        .execute(
            &mut h,
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnexpectedContentLength);
    assert_eq!(e.kind.llhttp_name(), "HPE_UNEXPECTED_CONTENT_LENGTH");
    assert_eq!(
        p.execute(&mut h, b"GET / HTTP/1.1\r\n\r\n")
            .unwrap_err()
            .kind,
        e.kind
    );
    p.reset();
    assert_eq!(p.execute(&mut h, b"GET / HTTP/1.1\r\n\r\n").unwrap(), 18);
}

#[test]
fn finish_ends_eof_bodies_and_rejects_truncation() {
    let mut p = Parser::new(Kind::Response);
    let mut h = Collect::default();
    p.execute(&mut h, b"HTTP/1.1 200 OK\r\n\r\nstreamed until close")
        .unwrap();
    assert_eq!(p.finish_state(), FinishState::SafeWithCallback);
    assert!(!p.should_keep_alive());
    p.finish(&mut h).unwrap();
    assert_eq!((h.messages, &h.body[..]), (1, &b"streamed until close"[..]));

    let mut p = Parser::new(Kind::Response);
    p.execute(
        &mut h,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    )
    .unwrap();
    assert_eq!(
        p.finish(&mut h).unwrap_err().kind,
        ErrorKind::InvalidEofState
    );
}

#[test]
fn keep_alive_follows_version_and_connection() {
    let cases: [(&[u8], bool); 5] = [
        (b"GET / HTTP/1.1\r\n\r\n", true),
        (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        (b"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", false), // body on GET: close after
    ];
    for (req, keep) in cases {
        let mut h = Collect::default();
        Parser::new(Kind::Request).execute(&mut h, req).unwrap();
        assert_eq!(h.keep_alive, [keep], "{}", String::from_utf8_lossy(req));
    }
}

#[test]
fn pipelined_requests_split_byte_by_byte() {
    let stream = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
GET /b HTTP/1.1\r\nHost: x\r\n\r\nPUT /c HTTP/1.1\r\nContent-Length: 2\r\n\r\nde";
    let mut p = Parser::new(Kind::Request);
    let mut h = Collect::default();
    for b in stream.chunks(1) {
        assert_eq!(p.execute(&mut h, b).unwrap(), 1);
    }
    assert_eq!(h.messages, 3);
    assert_eq!(h.url, b"/a/b/c");
    assert_eq!(h.body, b"abcde");
    assert_eq!(h.headers[1], (b"Host".to_vec(), b"x".to_vec()));
}

#[test]
fn either_kind_detects_the_first_message() {
    let mut h = Collect::default();
    let mut p = Parser::new(Kind::Either);
    p.execute(&mut h, b"HTTP/1.1 204 No Content\r\n\r\n")
        .unwrap();
    assert_eq!((p.kind(), p.status()), (Kind::Response, 204));
    let mut p = Parser::new(Kind::Either);
    p.execute(&mut h, b"H").unwrap();
    p.execute(&mut h, b"EAD / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!((p.kind(), p.method()), (Kind::Request, Some(Method::Head)));
}

#[test]
fn target_splitter() {
    let url = b"http://user:pw@example.com:8080/p/a?q=1#frag";
    let t = split_target(url, false).unwrap();
    assert_eq!(t.form, TargetForm::Absolute);
    let part = |r: Option<std::ops::Range<usize>>| &url[r.unwrap()];
    assert_eq!(part(t.schema.clone()), b"http");
    assert_eq!(part(t.host.clone()), b"user:pw@example.com:8080");
    assert_eq!(part(t.hostname.clone()), b"example.com");
    assert_eq!(t.port, Some(8080));
    assert_eq!(part(t.path.clone()), b"/p/a");
    assert_eq!(part(t.query.clone()), b"q=1");
    assert_eq!(part(t.fragment.clone()), b"frag");

    let t = split_target(b"[::1]:443", true).unwrap();
    assert_eq!((t.form, t.port), (TargetForm::Authority, Some(443)));
    assert_eq!(t.hostname, Some(0..5));
    assert_eq!(
        split_target(b"*", false).unwrap().form,
        TargetForm::Asterisk
    );
    assert_eq!(split_target(b"/a b", false).unwrap_err().offset, 2);
}

#[test]
fn parser_state_is_small() {
    let size = std::mem::size_of::<Parser>();
    eprintln!("Parser is {size} bytes");
    assert!(size <= 128, "Parser is {size} bytes");
}
