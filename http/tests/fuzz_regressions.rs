//! Replays the inputs in `tests/fuzz_regressions/` (fuzzer finds and seeds)
//! through the fuzz target's property: no panic, same result whole as split.

#[path = "corpus/split_check.rs"]
mod split_check;

#[test]
fn fuzz_regressions() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_regressions");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let data = std::fs::read(&path).unwrap();
        eprintln!("replaying {}", path.display());
        split_check::check(&data);
    }
}

/// Requests and responses the generator mutates: every framing header, chunked
/// bodies, long values (past the 16- and 32-byte SIMD blocks), pipelining.
const TEMPLATES: &[&[u8]] = &[
    b"GET /plaintext HTTP/1.1\r\nHost: tfb-server:8080\r\nAccept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,*/*;q=0.7\r\nConnection: keep-alive\r\n\r\n",
    b"POST /a?b=c#d HTTP/1.1\r\nContent-Length: 5\r\nX-Long-Header-Name-Over-Sixteen: v\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n",
    b"PUT /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: x\r\n\r\n5;ext=1\r\nhello\r\n0\r\nx: y\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close, upgrade\r\nUpgrade: h2c\r\n\r\nabc",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x00\x01",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Connection: keep-alive\r\n\r\n",
    // The fast paths' edges: `?` and `#` hopped in a target, a name of
    // other tchars (the byte-test fallback), extra OWS and a tab, a value
    // of exactly 16 bytes, and Connection/Content-Length read whole.
    b"HEAD /p??q=1#f?g#h HTTP/1.1\r\nX_Odd!Name~: a\r\nX-Two:  spaces\r\nX-Tab:\tt\r\nX-Sixteen: 0123456789abcdef\r\nConnection: keep-alive, Upgrade\r\nContent-Length: 0\r\n\r\n",
    b"GET http://example.com/path/that/is/certainly/longer/than/thirty-two/bytes HTTP/1.1\r\nCookie: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nContent_Length: 4\r\nTransfer--Encoding: chunked\r\n\r\n",
];

/// Bytes the mutator inserts: the grammar's delimiters, controls, high bytes.
const INTERESTING: &[u8] = b"\r\n\t :;,=\"\\/?#%@\x00\x01\x7f\x80\xff0123456789abcdefHTTP-_chunked";

/// A deterministic randomized check of the fuzz property (SIMD and SWAR give
/// the same events and results, however the input is split) for machines
/// without cargo-fuzz: seeded mutations of `TEMPLATES`, so it runs in CI.
#[test]
fn seeded_mutations_agree_across_scanners() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut checked = 0;
    for _ in 0..4000 {
        let t = TEMPLATES[next() as usize % TEMPLATES.len()];
        let mut input = t.to_vec();
        for _ in 0..(next() % 6) {
            let at = next() as usize % (input.len() + 1);
            let r = next();
            match r % 4 {
                0 if at < input.len() => {
                    input[at] = INTERESTING[(r >> 8) as usize % INTERESTING.len()]
                }
                1 => input.insert(at, INTERESTING[(r >> 8) as usize % INTERESTING.len()]),
                2 if at < input.len() => {
                    input.remove(at);
                }
                _ => {
                    // Duplicate a slice: repeated headers, pipelined messages.
                    let len = (r >> 8) as usize % 40;
                    let end = (at + len).min(input.len());
                    let copy = input[at..end].to_vec();
                    input.splice(at..at, copy);
                }
            }
        }
        let mut data = vec![0u8; 5];
        let control = next().to_le_bytes();
        data.copy_from_slice(&control[..5]);
        // Byte 0 mod 3 is the kind: requests and responses as the templates
        // are; half the inputs strict (no lenient flags).
        data[0] = data[0] % 85 * 3 + u8::from(t.starts_with(b"HTTP/"));
        if next() % 2 == 0 {
            data[1] = 0;
            data[2] = 0;
        }
        data.extend_from_slice(&input);
        split_check::check(&data);
        checked += 1;
    }
    assert_eq!(checked, 4000);
}
