//! The requests both parser benches parse, and the span-recording handler
//! eddy's parser runs with (as a server would), shared by `benches/parser.rs`
//! (criterion, time) and `benches/parser_instr.rs` (a loop to count
//! instructions under callgrind).

use std::hint::black_box;

use eddy_http::parser::{Action, Handler, Parser};

const KITTY: &[u8] = b"GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n\
Host: www.kittyhell.com\r\n\
User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; ja-JP-mac; rv:1.9.2.3) Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 115\r\n\
Connection: keep-alive\r\n\
Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; \
__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; \
__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|utmcct=/reader/|utmcmd=referral\r\n\
\r\n";

const JOYENT: &[u8] = b"POST /joyent/http-parser HTTP/1.1\r\n\
Host: github.com\r\n\
DNT: 1\r\n\
Accept-Encoding: gzip, deflate, sdch\r\n\
Accept-Language: ru-RU,ru;q=0.8,en-US;q=0.6,en;q=0.4\r\n\
User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.65 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8\r\n\
Referer: https://github.com/joyent/http-parser\r\n\
Connection: keep-alive\r\n\
Cache-Control: max-age=0\r\n\r\n";

const TECHEMPOWER: &[u8] = b"GET /plaintext HTTP/1.1\r\n\
Host: tfb-server:8080\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
Connection: keep-alive\r\n\r\n";

const SHORT_HEADERS: &[u8] = b"GET /api/v1/items HTTP/1.1\r\n\
Host: example.com\r\n\
Accept: */*\r\n\
X-A: 1\r\n\
X-B: 2\r\n\
X-Id: 4711\r\n\
DNT: 1\r\n\
Pragma: no-cache\r\n\
TE: trailers\r\n\
X-Req: abc123\r\n\
Origin: null\r\n\
Via: 1.1 proxy\r\n\
X-Trace: f00d\r\n\
Sec-GPC: 1\r\n\
Priority: u=1\r\n\
X-Flag: none\r\n\
X-Mode: fast\r\n\
Accept-CH: DPR\r\n\
Save-Data: on\r\n\
X-Ver: 2\r\n\
Connection: keep-alive\r\n\
\r\n";

/// A request with one 4 KiB `Cookie` value (built once, at start-up).
fn big_cookie() -> Vec<u8> {
    let mut r = b"GET /account HTTP/1.1\r\nHost: example.com\r\nCookie: ".to_vec();
    let mut i = 0u32;
    while r.len() < 4096 + 40 {
        r.extend_from_slice(format!("session_{i}=4f2a9c81d3e7b6a05f9e8d7c6b5a4938; ").as_bytes());
        i += 1;
    }
    r.extend_from_slice(b"last=1\r\nAccept: */*\r\n\r\n");
    r
}

/// Records spans the way a server would: (address, length) of the method, the
/// URL and every header name and value, into a fixed array (no allocation).
pub struct Spans {
    method: (usize, usize),
    url: (usize, usize),
    headers: [((usize, usize), (usize, usize)); 64],
    count: usize,
    done: bool,
}

impl Spans {
    pub fn new() -> Self {
        Spans {
            method: (0, 0),
            url: (0, 0),
            headers: [((0, 0), (0, 0)); 64],
            count: 0,
            done: false,
        }
    }
}

fn span(d: &[u8]) -> (usize, usize) {
    (d.as_ptr() as usize, d.len())
}

impl Handler for Spans {
    fn on_method(&mut self, d: &[u8]) {
        self.method = span(d);
    }
    fn on_url(&mut self, d: &[u8]) {
        self.url = span(d);
    }
    fn on_header_field(&mut self, d: &[u8]) {
        if self.count < self.headers.len() {
            self.headers[self.count].0 = span(d);
        }
    }
    fn on_header_value(&mut self, d: &[u8]) {
        if self.count < self.headers.len() {
            self.headers[self.count].1 = span(d);
        }
    }
    fn on_header_value_complete(&mut self, _: &Parser) -> Action {
        self.count += 1;
        Action::Continue
    }
    fn on_message_complete(&mut self, _: &Parser) -> Action {
        self.done = true;
        Action::Continue
    }
}

/// Both parsers reuse their header storage across requests, as a server's
/// per-connection state would.
pub fn parse_eddy(parser: &mut Parser, spans: &mut Spans, req: &[u8]) -> usize {
    spans.count = 0;
    spans.done = false;
    parser.reset();
    let n = parser.execute(spans, req).unwrap();
    assert!(spans.done);
    black_box(&spans);
    n + spans.count
}

pub fn parse_httparse<'a>(headers: &mut [httparse::Header<'a>], req: &'a [u8]) -> usize {
    let mut r = httparse::Request::new(headers);
    match r.parse(req).unwrap() {
        httparse::Status::Complete(n) => {
            black_box(&r);
            n + r.headers.len()
        }
        httparse::Status::Partial => unreachable!(),
    }
}

/// The five requests by name, in the order the benches report them.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("kitty", KITTY.to_vec()),
        ("joyent", JOYENT.to_vec()),
        ("techempower", TECHEMPOWER.to_vec()),
        ("short_headers", SHORT_HEADERS.to_vec()),
        ("cookie_4k", big_cookie()),
    ]
}
