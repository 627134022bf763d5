//! `eddy-server --root DIR` as a black box over loopback: files, index
//! (and the 301 to a directory's slash),
//! Range (206, 416), HEAD, conditional GET (304 by ETag and by date),
//! traversal refused (`..`, `%2e%2e`, a symlink leading out), a pipelined
//! request after a file on a keep-alive connection, and a slow reader of a
//! 4 MB file that costs the server no memory for the body (sendfile).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

struct Site {
    _srv: common::Running,
    port: u16,
    pid: u32,
    dir: PathBuf,
}

/// A fresh directory tree under the target's tmp dir: `root/` (served)
/// with an index, a 4 MB file, a sub directory and a symlink to
/// `secret.txt`, which lies next to `root/`, outside it.
fn site(name: &str) -> Site {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("files-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("index.html"), "<h1>home</h1>\n").unwrap();
    std::fs::write(root.join("sub/index.html"), "sub index\n").unwrap();
    std::fs::write(root.join("hello.txt"), "0123456789abcdefghij").unwrap();
    std::fs::write(root.join("big.bin"), big()).unwrap();
    std::fs::write(dir.join("secret.txt"), "TOP SECRET\n").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), root.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(&dir, root.join("up")).unwrap();
    let root_arg = root.to_str().unwrap().to_string();
    let srv = common::start(
        Path::new(env!("CARGO_BIN_EXE_eddy-server")),
        &["--port", "0", "--root", &root_arg],
        "eddy-server listening on http://",
    );
    let port = srv.addr.rsplit_once(':').unwrap().1.parse().unwrap();
    let pid = srv.child.id();
    Site {
        _srv: srv,
        port,
        pid,
        dir,
    }
}

/// 4 MiB that are not all alike (a misplaced byte range shows).
fn big() -> Vec<u8> {
    (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// One response read off `s`: (status, head, body), the body by its
/// `Content-Length` (none for 304, HEAD answers are asked with `head`).
fn response(s: &mut TcpStream, buf: &mut Vec<u8>, head_only: bool) -> (u16, String, Vec<u8>) {
    let mut chunk = [0u8; 65536];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed mid-head: {:?}", String::from_utf8_lossy(buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head[9..12].parse().unwrap();
    let len: usize = match head_only || status == 304 {
        true => 0,
        false => header(&head, "content-length").map_or(0, |v| v.parse().unwrap()),
    };
    while buf.len() < end + len {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[end..end + len].to_vec();
    buf.drain(..end + len);
    (status, head, body)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// One request on a fresh connection.
fn get(port: u16, target: &str, extra: &str) -> (u16, String, Vec<u8>) {
    let mut s = connect(port);
    let req = format!("GET {target} HTTP/1.1\r\nHost: a\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).unwrap();
    response(&mut s, &mut Vec::new(), false)
}

#[test]
fn files_index_and_built_in_routes() {
    let site = site("index");
    let (status, head, body) = get(site.port, "/", "");
    assert_eq!(
        (status, &body[..]),
        (200, &b"<h1>home</h1>\n"[..]),
        "{head}"
    );
    assert_eq!(
        header(&head, "content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&head, "accept-ranges").unwrap(), "bytes");
    assert!(header(&head, "last-modified").unwrap().ends_with(" GMT"));
    let etag = header(&head, "etag").unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let (status, _, body) = get(site.port, "/sub/", "");
    assert_eq!((status, &body[..]), (200, &b"sub index\n"[..]));
    // A directory without its slash is redirected to it (nginx's 301), the
    // query kept; a file with a slash after it is not a directory.
    let (status, head, _) = get(site.port, "/sub", "");
    assert_eq!(status, 301, "{head}");
    assert_eq!(header(&head, "location").unwrap(), "/sub/");
    let (status, head, _) = get(site.port, "/sub?a=1", "");
    assert_eq!(
        (status, header(&head, "location").unwrap()),
        (301, "/sub/?a=1".into())
    );
    assert_eq!(get(site.port, "/hello.txt/", "").0, 404);
    let (status, head, body) = get(site.port, "/hello.txt?x=1", "");
    assert_eq!((status, &body[..]), (200, &b"0123456789abcdefghij"[..]));
    assert_eq!(
        header(&head, "content-type").unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(get(site.port, "/missing.txt", "").0, 404);
    // The built-in routes stay.
    let (status, _, body) = get(site.port, "/headers", "X-A: 1\r\n");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("X-A: 1"));
    let (status, _, body) = get(site.port, "/delay?ms=0", "");
    assert_eq!((status, &body[..]), (200, &b"waited 0 ms"[..]));
}

#[test]
fn ranges_head_and_unsatisfiable() {
    let site = site("range");
    let (status, head, body) = get(site.port, "/hello.txt", "Range: bytes=2-5\r\n");
    assert_eq!((status, &body[..]), (206, &b"2345"[..]), "{head}");
    assert_eq!(header(&head, "content-range").unwrap(), "bytes 2-5/20");
    let (status, head, body) = get(site.port, "/hello.txt", "Range: bytes=-3\r\n");
    assert_eq!((status, &body[..]), (206, &b"hij"[..]), "{head}");
    let (status, _, body) = get(site.port, "/big.bin", "Range: bytes=4000000-\r\n");
    assert_eq!((status, &body[..]), (206, &big()[4_000_000..]));
    let (status, head, body) = get(site.port, "/hello.txt", "Range: bytes=20-\r\n");
    assert_eq!((status, body.len()), (416, 0), "{head}");
    assert_eq!(header(&head, "content-range").unwrap(), "bytes */20");
    // Several ranges: the whole file (see range.rs).
    let (status, _, body) = get(site.port, "/hello.txt", "Range: bytes=0-1,4-5\r\n");
    assert_eq!((status, body.len()), (200, 20));

    let mut s = connect(site.port);
    s.write_all(
        b"HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .unwrap();
    let mut buf = Vec::new();
    let (status, head, _) = response(&mut s, &mut buf, true);
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-length").unwrap(), "4194304");
    // No body followed the HEAD answer: the next bytes are the next response.
    let (status, _, body) = response(&mut s, &mut buf, false);
    assert_eq!((status, &body[..]), (200, &b"0123456789abcdefghij"[..]));
}

#[test]
fn not_modified_by_etag_and_by_date() {
    let site = site("cond");
    let (_, head, _) = get(site.port, "/hello.txt", "");
    let etag = header(&head, "etag").unwrap();
    let date = header(&head, "last-modified").unwrap();
    let (status, head304, body) = get(
        site.port,
        "/hello.txt",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!((status, body.len()), (304, 0), "{head304}");
    assert_eq!(header(&head304, "etag").unwrap(), etag);
    let list = format!("If-None-Match: \"other\", W/{etag}\r\n");
    assert_eq!(get(site.port, "/hello.txt", &list).0, 304);
    assert_eq!(
        get(site.port, "/hello.txt", "If-None-Match: \"other\"\r\n").0,
        200
    );
    let since = format!("If-Modified-Since: {date}\r\n");
    assert_eq!(get(site.port, "/hello.txt", &since).0, 304);
    let old = "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    assert_eq!(get(site.port, "/hello.txt", old).0, 200);
    // A changed file has a new validator.
    std::fs::write(site.dir.join("root/hello.txt"), "changed, longer content").unwrap();
    let (status, head, body) = get(
        site.port,
        "/hello.txt",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!((status, &body[..]), (200, &b"changed, longer content"[..]));
    assert_ne!(header(&head, "etag").unwrap(), etag);
}

#[test]
fn nothing_outside_the_root() {
    let site = site("escape");
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/sub/../../secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/leak.txt",
        "/up/secret.txt",
        "/..%2fsecret.txt",
        "/%00",
    ] {
        let (status, head, body) = get(site.port, target, "");
        assert!(
            [400, 403, 404].contains(&status),
            "{target}: {status}\n{head}"
        );
        assert!(
            !String::from_utf8_lossy(&body).contains("SECRET"),
            "{target} leaked"
        );
    }
    // Dot segments that stay inside are fine.
    let (status, _, body) = get(site.port, "/sub/../hello.txt", "");
    assert_eq!((status, &body[..]), (200, &b"0123456789abcdefghij"[..]));
}

#[test]
fn pipelined_requests_around_files_keep_their_order() {
    let site = site("pipeline");
    let mut s = connect(site.port);
    // A slow route first: the file after it is ready first and waits its
    // turn; then a range, a built-in route and a last file.
    s.write_all(
        b"GET /delay?ms=30 HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=10-\r\n\r\n\
          GET /headers HTTP/1.1\r\nHost: a\r\n\r\n\
          GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .unwrap();
    let mut buf = Vec::new();
    let (status, _, body) = response(&mut s, &mut buf, false);
    assert_eq!((status, &body[..]), (200, &b"waited 30 ms"[..]));
    let (status, _, body) = response(&mut s, &mut buf, false);
    assert_eq!(status, 200);
    assert!(body == big(), "the 4 MB body differs");
    let (status, _, body) = response(&mut s, &mut buf, false);
    assert_eq!((status, &body[..]), (206, &b"abcdefghij"[..]));
    let (status, _, body) = response(&mut s, &mut buf, false);
    assert_eq!(status, 200);
    assert!(body.starts_with(b"Host: a\n"));
    let (status, head, body) = response(&mut s, &mut buf, false);
    assert_eq!((status, &body[..]), (200, &b"<h1>home</h1>\n"[..]));
    assert_eq!(header(&head, "connection").unwrap(), "keep-alive");
    // The connection is still good for another request.
    s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-0\r\n\r\n")
        .unwrap();
    let (status, _, body) = response(&mut s, &mut buf, false);
    assert_eq!((status, &body[..]), (206, &b"0"[..]));
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_slow_reader_of_a_large_file_costs_no_memory() {
    let site = site("slow");
    // Warm up: the server's buffers and pools exist before the baseline.
    assert_eq!(get(site.port, "/hello.txt", "").0, 200);
    let before = status_kb(site.pid, "VmHWM:");
    let mut s = connect(site.port);
    // Read 4 KB at a time: the server queues the file range and sends
    // what the socket takes as it drains.
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut total = 0usize;
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") || total < 1 << 20 {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
        total += n;
    }
    let during = status_kb(site.pid, "VmRSS:");
    let (status, _, body) = response(&mut s, &mut buf, false);
    assert_eq!(status, 200);
    assert!(body == big(), "the 4 MB body differs");
    let after = status_kb(site.pid, "VmHWM:");
    // 4 MB read into memory would show; sendfile keeps it in the page
    // cache. Allow 1.5 MB of noise (allocator, thread stacks).
    assert!(
        after.saturating_sub(before) < 1536,
        "peak RSS grew {} kB ({before} -> {after}, {during} kB mid-transfer)",
        after - before
    );
}
