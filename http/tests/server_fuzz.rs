//! The whole-server fuzz property (`corpus/server_check.rs`) on seeded
//! mutations of request templates, so CI checks it without cargo-fuzz: a
//! real connection driven in memory, input split at chosen points,
//! handlers answering at once, later, never or after the body.

#[path = "corpus/server_check.rs"]
mod server_check;

const TEMPLATES: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /n HTTP/1.1\r\nHost: a\r\n\r\n",
    b"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\nHEAD /h HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://x/abs?q HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /smug HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcdGET /after HTTP/1.1\r\nHost: x\r\n\r\n",
];

const INTERESTING: &[u8] = b"\r\n\t :;,0123456789abcdefHTTP/-\x00\x7f\xff";

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, t: &[u8]) -> Vec<u8> {
    let mut v = t.to_vec();
    for _ in 0..rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(4) {
            0 if at < v.len() => v[at] ^= 1 << rng.below(8),
            1 => v.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if at < v.len() => {
                v.remove(at);
            }
            _ => {
                let other = TEMPLATES[rng.below(TEMPLATES.len())];
                v.splice(at..at, other.iter().copied());
            }
        }
    }
    v
}

#[test]
fn the_templates_split_everywhere_are_answered_alike() {
    for t in TEMPLATES {
        for split in 1..t.len().min(255) {
            for modes in [0u8, 0b01_01_01_01, 0b11_11_11_11, 0b00_10_01_11] {
                let mut data = vec![modes, 15];
                data.extend(std::iter::repeat_n(split as u8 - 1, 15));
                data.extend_from_slice(t);
                server_check::check(&data);
            }
        }
    }
}

#[test]
fn seeded_mutations_keep_the_property() {
    let mut rng = Rng(0x5eed_0013);
    for _ in 0..1500 {
        let t = TEMPLATES[rng.below(TEMPLATES.len())];
        let input = mutate(&mut rng, t);
        let n = rng.below(16);
        let mut data = vec![rng.next() as u8, n as u8];
        data.extend((0..n).map(|_| rng.below(24) as u8));
        data.extend_from_slice(&input);
        server_check::check(&data);
    }
}

/// Not vacuous: the driver sees requests and well-formed answers.
#[test]
fn the_driver_sees_what_a_socket_would() {
    let (seen, out) = server_check::drive(TEMPLATES[1], &[3, 7], 0);
    assert_eq!(seen.len(), 2, "{seen:?}");
    let answers = server_check::responses(&out, &seen);
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1].body, b"r1");
    // "Never" holds every later answer back.
    let (seen, out) = server_check::drive(TEMPLATES[0], &[], 0b10);
    assert_eq!(seen.len(), 2);
    assert!(out.is_empty(), "{out:?}");
}
