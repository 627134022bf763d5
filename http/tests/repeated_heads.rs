//! A `write_head` that sets the same lines as the response before it on
//! the same exchange record takes that response's checked lines back whole
//! instead of checking and copying each. These tests drive one connection
//! with sequential requests (so the record is reused) and check that what
//! goes out is what setting each line in turn gives: repeated heads, heads
//! that differ in one value, and a head whose own lines replace each other
//! after a response that appended lines of one name. A head composed from
//! lines taken back is copied from the record's last one only when the
//! status and keep-alive are the same too.

mod common;

use std::io::Write;

use common::{read_response, TestServer};
use eddy_http::server::{Request, Response, ServerOptions};
use eddy_loop::Loop;

const DATE: &str = "Mon, 01 Jan 2024 00:00:00 GMT";
const DATED: [(&str, &str); 3] = [("Content-Length", "2"), ("Date", DATE), ("X-A", "a")];

fn routes(lp: &mut Loop, req: Request, res: Response) {
    let path = req.path(lp).unwrap_or("").to_string();
    match path.as_str() {
        // Two lines of one name, appended: both go out.
        "/appended" => {
            res.write_head(lp, 200, &[]).unwrap();
            res.append_header(lp, "Set-Cookie", "a=1").unwrap();
            res.append_header(lp, "Set-Cookie", "b=2").unwrap();
        }
        // The same two lines through `write_head`: the second replaces the
        // first, as `set_header` would.
        "/replaced" => {
            res.write_head(lp, 200, &[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
                .unwrap();
        }
        // Received lines forwarded (a proxy's), hop-by-hop ones dropped,
        // repeated names kept.
        p if p.starts_with("/fwd/") => {
            let mut got = eddy_http::h1::HeaderList::default();
            got.push("Content-Type", b"text/plain");
            got.push("Connection", b"keep-alive");
            got.push("Set-Cookie", b"a=1");
            got.push("Set-Cookie", b"b=2");
            got.push("X-N", &p.as_bytes()[5..]);
            res.forward_headers(lp, &got).unwrap();
        }
        // Lines taken back, then removed, then an empty head set again:
        // nothing of the taken lines (nor of their head) may go out.
        "/removed" => {
            res.write_head(lp, 200, &[("Content-Type", "text/plain"), ("X-N", "1")])
                .unwrap();
            res.remove_header(lp, "X-N").unwrap();
            res.remove_header(lp, "Content-Type").unwrap();
            res.write_head(lp, 200, &[]).unwrap();
        }
        // A head refused for a body past its length, its lines removed,
        // then the lines of the record's last response set again. (A Date
        // of their own: the kept head's key does not hang on the clock.)
        "/dated" => {
            res.write_head(lp, 200, &DATED).unwrap();
        }
        "/refused" => {
            let other = [("Content-Length", "2"), ("Date", DATE), ("X-B", "b")];
            res.write_head(lp, 200, &other).unwrap();
            assert!(res.end(lp, b"far too long").is_err());
            for (n, _) in other {
                res.remove_header(lp, n).unwrap();
            }
            res.write_head(lp, 200, &DATED).unwrap();
        }
        // The same lines with the status from the path.
        p if p.starts_with("/s/") => {
            let status = p[3..].parse().unwrap();
            res.write_head(lp, status, &[("Content-Type", "text/plain"), ("X-N", "s")])
                .unwrap();
        }
        // The same head every time but for one value.
        p => {
            let n = p.trim_start_matches('/');
            res.write_head(lp, 200, &[("Content-Type", "text/plain"), ("X-N", n)])
                .unwrap();
            if n == "changed" {
                // Lines taken back are the response's own to change.
                res.set_header(lp, "X-N", "after").unwrap();
                res.append_header(lp, "X-More", "1").unwrap();
            }
        }
    }
    res.end(lp, b"ok").unwrap();
}

/// The responses to `paths`, asked one after the other on one connection.
fn responses(paths: &[&str]) -> Vec<String> {
    let requests: Vec<String> = paths
        .iter()
        .map(|p| format!("GET {p} HTTP/1.1\r\nHost: a\r\n\r\n"))
        .collect();
    answers(&requests)
}

/// The answers to `requests`, sent one after the other on one connection.
fn answers(requests: &[String]) -> Vec<String> {
    let server = TestServer::start(ServerOptions::default(), routes);
    let mut s = server.connect();
    let mut buf = Vec::new();
    requests
        .iter()
        .map(|r| {
            s.write_all(r.as_bytes()).unwrap();
            read_response(&mut s, &mut buf)
        })
        .collect()
}

fn lines<'a>(response: &'a str, name: &str) -> Vec<&'a str> {
    let head = response.split("\r\n\r\n").next().unwrap();
    head.split("\r\n")
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        })
        .collect()
}

#[test]
fn repeated_heads_go_out_whole_and_a_changed_value_goes_out_changed() {
    let got = responses(&["/1", "/1", "/2", "/2", "/changed", "/1"]);
    for (r, n) in got.iter().zip(["1", "1", "2", "2", "after", "1"]) {
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert_eq!(
            lines(r, "Content-Type"),
            ["Content-Type: text/plain"],
            "{r}"
        );
        assert_eq!(lines(r, "X-N"), [format!("X-N: {n}")], "{r}");
        assert!(r.ends_with("\r\n\r\nok"), "{r}");
    }
    assert_eq!(lines(&got[4], "X-More"), ["X-More: 1"]);
    // Nothing of the changed response is left on the record.
    assert!(lines(&got[5], "X-More").is_empty(), "{}", got[5]);
}

#[test]
fn a_head_whose_lines_replace_each_other_is_not_taken_from_appended_lines() {
    let got = responses(&["/appended", "/replaced", "/replaced", "/appended"]);
    let both = ["Set-Cookie: a=1", "Set-Cookie: b=2"];
    assert_eq!(lines(&got[0], "Set-Cookie"), both, "{}", got[0]);
    assert_eq!(
        lines(&got[1], "Set-Cookie"),
        ["Set-Cookie: b=2"],
        "{}",
        got[1]
    );
    assert_eq!(
        lines(&got[2], "Set-Cookie"),
        ["Set-Cookie: b=2"],
        "{}",
        got[2]
    );
    assert_eq!(lines(&got[3], "Set-Cookie"), both, "{}", got[3]);
}

#[test]
fn the_same_lines_under_another_status_or_keep_alive_get_their_own_head() {
    let get = |p: &str, extra: &str| format!("GET {p} HTTP/1.1\r\nHost: a\r\n{extra}\r\n");
    let got = answers(&[
        get("/s/200", ""),
        get("/s/200", ""),
        get("/s/404", ""),
        get("/s/200", ""),
        get("/s/200", "Connection: close\r\n"),
    ]);
    let status: Vec<&str> = got.iter().map(|r| &r[..12]).collect();
    assert_eq!(
        status,
        [
            "HTTP/1.1 200",
            "HTTP/1.1 200",
            "HTTP/1.1 404",
            "HTTP/1.1 200",
            "HTTP/1.1 200"
        ]
    );
    assert!(
        got[2].starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{}",
        got[2]
    );
    for r in &got[..4] {
        assert_eq!(lines(r, "Connection"), ["Connection: keep-alive"], "{r}");
        assert_eq!(lines(r, "X-N"), ["X-N: s"], "{r}");
    }
    assert_eq!(
        lines(&got[4], "Connection"),
        ["Connection: close"],
        "{}",
        got[4]
    );
    assert!(lines(&got[4], "Keep-Alive").is_empty(), "{}", got[4]);
}

#[test]
fn forwarded_lines_taken_back_go_out_as_received() {
    let got = responses(&["/fwd/1", "/fwd/1", "/fwd/2", "/1", "/fwd/2"]);
    for (i, n) in [(0, "1"), (1, "1"), (2, "2"), (4, "2")] {
        let r = &got[i];
        assert_eq!(
            lines(r, "Set-Cookie"),
            ["Set-Cookie: a=1", "Set-Cookie: b=2"],
            "{r}"
        );
        assert_eq!(lines(r, "X-N"), [format!("X-N: {n}")], "{r}");
        assert_eq!(
            lines(r, "Content-Type"),
            ["Content-Type: text/plain"],
            "{r}"
        );
        assert_eq!(lines(r, "Connection"), ["Connection: keep-alive"], "{r}");
    }
    assert!(lines(&got[3], "Set-Cookie").is_empty(), "{}", got[3]);
}

#[test]
fn lines_taken_back_then_removed_leave_nothing_behind() {
    let got = responses(&["/1", "/1", "/removed", "/1", "/removed"]);
    for r in [&got[2], &got[4]] {
        assert!(lines(r, "X-N").is_empty(), "{r}");
        assert!(lines(r, "Content-Type").is_empty(), "{r}");
        assert!(r.ends_with("\r\n\r\nok"), "{r}");
    }
    assert_eq!(lines(&got[3], "X-N"), ["X-N: 1"], "{}", got[3]);
}

/// A head composed for a body that was refused (past its
/// `Content-Length`) is not kept as the record's: lines taken back later
/// go out with their own head, on that response and those after it.
#[test]
fn a_refused_head_is_not_copied_for_lines_taken_back() {
    let got = responses(&["/dated", "/refused", "/dated"]);
    assert_eq!(got[0], got[1]);
    assert_eq!(got[0], got[2]);
    assert_eq!(lines(&got[0], "X-A"), ["X-A: a"], "{}", got[0]);
}
