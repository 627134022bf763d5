//! `Request::collect`, `ClientResponse::collect` and `Response::send_file`
//! through the library (the file server as a whole is tested in
//! `tests/eddy_server_files.rs`): the limit answered with 413 and a
//! close, a file sent from an open descriptor, a directory handed back to
//! the caller, a missing file as 404.

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

use common::{exchange_until_close, read_response, TestServer};
use eddy_http::client::{get, CollectError, RequestOptions};
use eddy_http::server::{FileSent, Request, Response, SendFileOptions, ServerOptions};
use eddy_loop::{Loop, RunMode};

fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("server-files");
    std::fs::create_dir_all(d.join("a-dir")).unwrap();
    std::fs::write(d.join("file.txt"), "from a descriptor\n").unwrap();
    d
}

fn handler(lp: &mut Loop, req: Request, res: Response) {
    match req.path(lp).unwrap_or("") {
        "/collect" => req
            .collect(lp, 16, move |lp, _, body| match body {
                Ok(body) => {
                    let text = format!("got {}: {}", body.len(), String::from_utf8_lossy(&body));
                    res.end(lp, text.as_bytes()).unwrap();
                }
                Err(e) => assert_eq!(e, CollectError::TooLarge { limit: 16 }),
            })
            .unwrap(),
        "/fd" => {
            let file = std::fs::File::open(dir().join("file.txt")).unwrap();
            res.send_file(lp, file, SendFileOptions::default()).unwrap();
        }
        "/dir" => res
            .send_file_then(
                lp,
                dir().join("a-dir"),
                SendFileOptions::default(),
                |lp, res, sent| {
                    assert!(matches!(sent, FileSent::Directory { .. }), "{sent:?}");
                    res.end(lp, b"a directory").unwrap();
                },
            )
            .unwrap(),
        "/missing" => res
            .send_file(lp, dir().join("nope"), SendFileOptions::default())
            .unwrap(),
        _ => res.end(lp, b"0123456789abcdefghijklmnop").unwrap(),
    }
}

#[test]
fn collect_gathers_a_body_within_the_limit() {
    let server = TestServer::start(ServerOptions::default(), handler);
    let mut s = server.connect();
    s.write_all(b"POST /collect HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    s.write_all(b"POST /collect HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nd\r\ndefghijklmnop\r\n0\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let first = read_response(&mut s, &mut buf);
    assert!(first.ends_with("\r\n\r\ngot 5: hello"), "{first}");
    let second = read_response(&mut s, &mut buf);
    assert!(
        second.ends_with("\r\n\r\ngot 16: abcdefghijklmnop"),
        "{second}"
    );
}

#[test]
fn collect_answers_413_past_the_limit_and_closes() {
    let server = TestServer::start(ServerOptions::default(), handler);
    // Declared too large: refused before the body arrives.
    let out = exchange_until_close(
        &server,
        b"POST /collect HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{out}"
    );
    assert!(out.contains("Connection: close\r\n"), "{out}");
    // Found too large as it arrives; the pipelined request after it is
    // never answered.
    let out = exchange_until_close(
        &server,
        b"POST /collect HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
          a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{out}"
    );
    assert_eq!(out.matches("HTTP/1.1").count(), 1, "{out}");
}

#[test]
fn send_file_from_a_descriptor_a_directory_and_a_missing_file() {
    let server = TestServer::start(ServerOptions::default(), handler);
    let out = exchange_until_close(
        &server,
        b"GET /fd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(
        out.contains("\r\nContent-Length: 18\r\n") && out.contains("\r\nETag: \""),
        "{out}"
    );
    assert!(out.ends_with("\r\n\r\nfrom a descriptor\n"), "{out}");
    let out = exchange_until_close(
        &server,
        b"GET /dir HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("a directory"),
        "{out}"
    );
    let out = exchange_until_close(
        &server,
        b"GET /missing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n"), "{out}");
}

type Collected = Result<Vec<u8>, CollectError>;

#[test]
fn client_collect_stops_at_its_limit() {
    let server = TestServer::start(ServerOptions::default(), handler);
    let got: Rc<RefCell<Vec<Collected>>> = Rc::default();
    let mut lp = Loop::new().unwrap();
    for limit in [100, 10] {
        let opts = RequestOptions {
            host: "127.0.0.1".into(),
            port: server.port,
            path: "/".into(),
            ..RequestOptions::default()
        };
        let got = got.clone();
        get(&mut lp, opts, move |lp, res| {
            res.collect(lp, limit, move |_, _, body| got.borrow_mut().push(body))
                .unwrap();
        })
        .unwrap();
    }
    lp.run(RunMode::Default);
    let got = got.borrow();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.contains(&Ok(b"0123456789abcdefghijklmnop".to_vec())),
        "{got:?}"
    );
    assert!(
        got.contains(&Err(CollectError::TooLarge { limit: 10 })),
        "{got:?}"
    );
}
