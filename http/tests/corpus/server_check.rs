//! The whole-server fuzz property, shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/server.rs`) and its seeded replay in the test suite
//! (`tests/server_fuzz.rs`).
//!
//! A real server connection on a real loop is driven in memory: one end of
//! a socketpair is served (`Server::serve_stream`), the driver writes the
//! input into the other end in reads of fuzzer-chosen sizes, running the
//! loop until it settles after each, then half-closes. Handlers answer at
//! once, later (from the pending phase), never, or after reading the body,
//! by the request's index and the fuzzer's mode byte. Checked: no panic;
//! the output is a sequence of well-formed responses (status line, token
//! names and field values, framing that accounts for every byte); the
//! requests the handlers saw are the same whole as split, and so are the
//! responses unless a handler answered later (which races the input).
//!
//! Input layout: `[modes, n, size_1 .. size_n, http bytes ..]`.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use eddy_http::server::{Request, Response, Server, ServerOptions};
use eddy_loop::{Loop, RunMode};
use eddy_net::Stream;

/// What a handler saw of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub target: Vec<u8>,
    /// The body, for handlers that read it (mode 3).
    pub body: Vec<u8>,
    pub complete: bool,
}

/// One response, as the checker parsed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// How the handler of request `k` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    AtOnce,
    Later,
    Never,
    AfterBody,
}

fn mode(modes: u8, k: usize) -> Mode {
    match (modes >> (2 * (k % 4))) & 3 {
        0 => Mode::AtOnce,
        1 => Mode::Later,
        2 => Mode::Never,
        _ => Mode::AfterBody,
    }
}

/// Drives one connection with `input` written in `chunks` (sizes; the
/// rest in one piece); returns what the handlers saw and the raw output.
pub fn drive(input: &[u8], chunks: &[usize], modes: u8) -> (Vec<Seen>, Vec<u8>) {
    let mut lp = Loop::new().expect("loop");
    let seen: Rc<RefCell<Vec<Seen>>> = Rc::default();
    let log = seen.clone();
    let opts = ServerOptions {
        max_header_size: 4096,
        ..ServerOptions::default()
    };
    let server = Server::new(&mut lp, opts, move |lp, req, res| {
        handle(lp, req, res, &log, modes);
    });
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    ours.set_nonblocking(true).unwrap();
    let stream = Stream::from_fd(&mut lp, OwnedFd::from(theirs)).expect("stream");
    server.serve_stream(&mut lp, stream).expect("serve");
    let mut out = Vec::new();
    let mut at = 0;
    let mut sizes = chunks.iter().copied().chain(std::iter::once(usize::MAX));
    while at < input.len() {
        let n = sizes
            .next()
            .unwrap_or(usize::MAX)
            .max(1)
            .min(input.len() - at);
        let mut written = 0;
        let mut stuck = 0;
        while written < n && stuck < 8 {
            match (&ours).write(&input[at + written..at + n]) {
                Ok(w) => written += w,
                Err(e) if e.kind() == ErrorKind::WouldBlock => stuck += 1,
                Err(_) => break,
            }
            settle(&mut lp, &ours, &mut out, &seen);
        }
        at += n;
    }
    let _ = ours.shutdown(std::net::Shutdown::Write);
    settle(&mut lp, &ours, &mut out, &seen);
    let seen = seen.borrow().clone();
    (seen, out)
}

/// Runs the loop until nothing more happens (bounded).
fn settle(lp: &mut Loop, ours: &UnixStream, out: &mut Vec<u8>, seen: &Rc<RefCell<Vec<Seen>>>) {
    let mut quiet = 0;
    for _ in 0..200 {
        let before = (out.len(), seen.borrow().len());
        lp.run(RunMode::NoWait);
        let mut buf = [0u8; 65536];
        loop {
            match (&*ours).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        if (out.len(), seen.borrow().len()) == before {
            quiet += 1;
            if quiet >= 3 {
                return;
            }
        } else {
            quiet = 0;
        }
    }
}

fn handle(lp: &mut Loop, req: Request, res: Response, log: &Rc<RefCell<Vec<Seen>>>, modes: u8) {
    let k = log.borrow().len();
    log.borrow_mut().push(Seen {
        method: req
            .method(lp)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        target: req.target_bytes(lp).unwrap_or_default().to_vec(),
        body: Vec::new(),
        complete: false,
    });
    let body = format!("r{k}");
    match mode(modes, k) {
        Mode::AtOnce => {
            let _ = res.end(lp, body.as_bytes());
        }
        Mode::Later => lp.queue_pending(move |lp| {
            let _ = res.end(lp, body.as_bytes());
        }),
        Mode::Never => {}
        Mode::AfterBody => {
            let l = log.clone();
            let _ = req.on_data(lp, move |_, _, b| {
                l.borrow_mut()[k].body.extend_from_slice(b)
            });
            let l = log.clone();
            let _ = req.on_end(lp, move |lp, _| {
                l.borrow_mut()[k].complete = true;
                let _ = res.end(lp, body.as_bytes());
            });
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `out` as a sequence of responses to `seen` (in order; an error
/// response may answer a request no handler saw): panics on any malformed
/// byte.
pub fn responses(out: &[u8], seen: &[Seen]) -> Vec<Answer> {
    let mut answers = Vec::new();
    let mut p = 0;
    let mut finals = 0;
    while p < out.len() {
        let rest = &out[p..];
        let end =
            find(rest, b"\r\n\r\n").unwrap_or_else(|| panic!("head without its end: {rest:?}"));
        let head = &rest[..end];
        let mut lines = head.split(|&b| b == b'\n').enumerate().map(|(i, l)| {
            // Every line but the last ends in CR (the last's CRLF ends the head).
            let last = head[..].iter().filter(|&&b| b == b'\n').count() == i;
            if last {
                assert!(!l.contains(&b'\r'), "bare CR {l:?}");
                l
            } else {
                l.strip_suffix(b"\r").expect("CRLF")
            }
        });
        let status_line = lines.next().unwrap();
        assert!(
            status_line.starts_with(b"HTTP/1.1 "),
            "status line {status_line:?}"
        );
        let code = &status_line[9..12.min(status_line.len())];
        assert!(
            code.len() == 3 && code.iter().all(u8::is_ascii_digit),
            "{status_line:?}"
        );
        assert!(
            status_line.len() == 12 || status_line[12] == b' ',
            "{status_line:?}"
        );
        let status: u16 = std::str::from_utf8(code).unwrap().parse().unwrap();
        let (mut length, mut chunked, mut close) = (None, false, false);
        for line in lines {
            let colon = line.iter().position(|&b| b == b':').expect("header colon");
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            assert!(
                !name.is_empty() && name.iter().all(|&b| is_tchar(b)),
                "name {name:?}"
            );
            assert!(
                value
                    .iter()
                    .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
                "value {value:?}"
            );
            let value = String::from_utf8_lossy(value).trim().to_ascii_lowercase();
            match name.to_ascii_lowercase().as_slice() {
                b"content-length" => {
                    assert!(length.is_none(), "two lengths");
                    length = Some(value.parse::<usize>().expect("length"));
                }
                b"transfer-encoding" => chunked = value == "chunked",
                b"connection" => close = value.contains("close"),
                _ => {}
            }
        }
        p += end + 4;
        if status < 200 {
            continue; // interim: no body
        }
        let head_request = seen.get(finals).is_some_and(|s| s.method == "HEAD");
        finals += 1;
        let body = if head_request || status == 204 || status == 304 {
            Vec::new()
        } else if chunked {
            let mut body = Vec::new();
            loop {
                let line_end = find(&out[p..], b"\r\n").expect("chunk size line");
                let size =
                    usize::from_str_radix(std::str::from_utf8(&out[p..p + line_end]).unwrap(), 16)
                        .expect("chunk size");
                p += line_end + 2;
                if size == 0 {
                    assert_eq!(&out[p..p + 2], b"\r\n", "no trailers are sent");
                    p += 2;
                    break;
                }
                body.extend_from_slice(&out[p..p + size]);
                assert_eq!(&out[p + size..p + size + 2], b"\r\n", "chunk end");
                p += size + 2;
            }
            body
        } else if let Some(n) = length {
            assert!(p + n <= out.len(), "body cut short");
            p += n;
            out[p - n..p].to_vec()
        } else {
            // Close-delimited: the rest, and nothing may follow.
            let body = out[p..].to_vec();
            p = out.len();
            body
        };
        answers.push(Answer { status, body });
        if close {
            assert_eq!(p, out.len(), "bytes after a response that closed");
        }
    }
    answers
}

/// The property, for one fuzz input.
pub fn check(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let modes = data[0];
    let n = (data[1] % 16) as usize;
    if data.len() < 2 + n {
        return;
    }
    let chunks: Vec<usize> = data[2..2 + n].iter().map(|&b| b as usize + 1).collect();
    let input = &data[2 + n..];
    if input.len() > 16 * 1024 {
        return;
    }
    let (seen_whole, out_whole) = drive(input, &[], modes);
    let answers_whole = responses(&out_whole, &seen_whole);
    let (seen_split, out_split) = drive(input, &chunks, modes);
    let answers_split = responses(&out_split, &seen_split);
    let shown = String::from_utf8_lossy(input);
    assert_eq!(
        seen_whole, seen_split,
        "requests seen differ whole and split ({chunks:?}, modes {modes:#b}): {shown:?}"
    );
    // A handler answering later (from the pending phase) races the input
    // still to come: whether a bad byte after its request is answered with
    // 400 or cut off after its response depends on when it arrived, as on
    // any socket. Answers given at once, after the body or never do not.
    let racy = (0..seen_whole.len()).any(|k| mode(modes, k) == Mode::Later);
    if racy {
        return;
    }
    assert_eq!(
        answers_whole, answers_split,
        "responses differ whole and split ({chunks:?}, modes {modes:#b}): {shown:?}"
    );
}
