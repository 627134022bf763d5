//! The fuzz property, shared by the `cargo fuzz` target and the regression
//! test: parsing an input whole or split at arbitrary points (with pauses)
//! must not panic and must give the same events, spans and result, with the
//! SIMD scanners (`Scan::Auto`, and SSE2 where AVX2 is what `Auto` picks) and
//! with the portable SWAR fallback (`Scan::Swar`) alike.
//!
//! Input layout: byte 0 picks the kind and pausing, bytes 1-2 the lenient
//! flags, bytes 3-4 seed the split points; the rest is the HTTP stream.

use eddy_http::parser::{
    Action, Handler, HeadersAction, Kind, Lenient, ParseError, Parser, PauseReason, Scan, Settings,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Span(u8, usize, usize),
    Event(u8, usize, u64),
}

struct Log {
    base: usize,
    chunk: usize,
    items: Vec<Item>,
    pause_every: usize,
    events: usize,
    headers_action: u8,
}

impl Log {
    fn span(&mut self, kind: u8, d: &[u8]) {
        // `Kind::Either` reports an `H` that ended the previous input as a
        // one-byte static slice; it sat just before the current input.
        let addr = d.as_ptr() as usize;
        let off = if addr >= self.base {
            addr - self.base
        } else {
            self.chunk - d.len()
        };
        if let Some(Item::Span(k, o, l)) = self.items.last_mut() {
            if *k == kind && *o + *l == off {
                *l += d.len();
                return;
            }
        }
        self.items.push(Item::Span(kind, off, d.len()));
    }

    #[allow(clippy::manual_is_multiple_of)] // MSRV 1.80 predates is_multiple_of
    fn event(&mut self, kind: u8, p: &Parser) -> Action {
        let value = p.content_length() ^ (p.flags() as u64) << 48;
        self.items
            .push(Item::Event(kind, self.chunk + p.position(), value));
        self.events += 1;
        if self.pause_every != 0 && self.events % self.pause_every == 0 {
            Action::Pause
        } else {
            Action::Continue
        }
    }
}

impl Handler for Log {
    fn on_message_begin(&mut self, p: &Parser) -> Action {
        self.event(0, p)
    }
    fn on_reset(&mut self, p: &Parser) -> Action {
        self.event(1, p)
    }
    fn on_method(&mut self, d: &[u8]) {
        self.span(0, d)
    }
    fn on_method_complete(&mut self, p: &Parser) -> Action {
        self.event(2, p)
    }
    fn on_url(&mut self, d: &[u8]) {
        self.span(1, d)
    }
    fn on_url_complete(&mut self, p: &Parser) -> Action {
        self.event(3, p)
    }
    fn on_protocol(&mut self, d: &[u8]) {
        self.span(2, d)
    }
    fn on_protocol_complete(&mut self, p: &Parser) -> Action {
        self.event(4, p)
    }
    fn on_version(&mut self, d: &[u8]) {
        self.span(3, d)
    }
    fn on_version_complete(&mut self, p: &Parser) -> Action {
        self.event(5, p)
    }
    fn on_status(&mut self, d: &[u8]) {
        self.span(4, d)
    }
    fn on_status_complete(&mut self, p: &Parser) -> Action {
        self.event(6, p)
    }
    fn on_header_field(&mut self, d: &[u8]) {
        self.span(5, d)
    }
    fn on_header_field_complete(&mut self, p: &Parser) -> Action {
        self.event(7, p)
    }
    fn on_header_value(&mut self, d: &[u8]) {
        self.span(6, d)
    }
    fn on_header_value_complete(&mut self, p: &Parser) -> Action {
        self.event(8, p)
    }
    fn on_headers_complete(&mut self, p: &Parser) -> HeadersAction {
        self.event(9, p);
        match self.headers_action {
            1 => HeadersAction::SkipBody,
            2 => HeadersAction::Upgrade,
            _ => HeadersAction::Proceed,
        }
    }
    fn on_body(&mut self, d: &[u8]) {
        self.span(7, d)
    }
    fn on_chunk_header(&mut self, p: &Parser) -> Action {
        self.event(10, p)
    }
    fn on_chunk_extension_name(&mut self, d: &[u8]) {
        self.span(8, d)
    }
    fn on_chunk_extension_name_complete(&mut self, p: &Parser) -> Action {
        self.event(11, p)
    }
    fn on_chunk_extension_value(&mut self, d: &[u8]) {
        self.span(9, d)
    }
    fn on_chunk_extension_value_complete(&mut self, p: &Parser) -> Action {
        self.event(12, p)
    }
    fn on_chunk_complete(&mut self, p: &Parser) -> Action {
        self.event(13, p)
    }
    fn on_message_complete(&mut self, p: &Parser) -> Action {
        self.event(14, p)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done(Result<(), ParseError>),
    Error(ParseError),
    Upgrade(usize, PauseReason),
}

fn run(
    kind: Kind,
    settings: Settings,
    input: &[u8],
    cuts: &[usize],
    pause_every: usize,
    ha: u8,
) -> (Vec<Item>, Outcome) {
    let mut parser = Parser::with_settings(kind, settings);
    let mut log = Log {
        base: input.as_ptr() as usize,
        chunk: 0,
        items: Vec::new(),
        pause_every,
        events: 0,
        headers_action: ha,
    };
    let mut start = 0;
    for end in cuts.iter().copied().chain(std::iter::once(input.len())) {
        let mut off = start;
        loop {
            log.chunk = off;
            match parser.execute(&mut log, &input[off..end]) {
                Err(mut e) => {
                    e.offset += off;
                    return (log.items, Outcome::Error(e));
                }
                Ok(n) => {
                    assert!(n <= end - off, "consumed more than given");
                    match parser.pause_reason() {
                        Some(PauseReason::User) => {
                            parser.resume();
                            off += n;
                        }
                        Some(reason) => return (log.items, Outcome::Upgrade(off + n, reason)),
                        None => {
                            assert_eq!(n, end - off, "unpaused parser stopped early");
                            break;
                        }
                    }
                }
            }
        }
        start = end;
    }
    log.chunk = input.len();
    let r = parser.finish(&mut log);
    (
        log.items,
        Outcome::Done(r.map_err(|e| ParseError { offset: 0, ..e })),
    )
}

/// A partial span before an error may or may not have been reported,
/// depending on where the input was split: drop spans after the last event.
fn canonical(mut items: Vec<Item>, outcome: &Outcome) -> Vec<Item> {
    if matches!(outcome, Outcome::Error(_)) {
        while matches!(items.last(), Some(Item::Span(..))) {
            items.pop();
        }
    }
    items
}

/// Check one fuzz input; panics on any difference.
pub fn check(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let kind = match data[0] % 3 {
        0 => Kind::Request,
        1 => Kind::Response,
        _ => Kind::Either,
    };
    let pause_every = (data[0] as usize >> 2) % 8;
    let headers_action = (data[0] >> 5) % 3;
    let lenient = Lenient(u16::from_le_bytes([data[1], data[2]]) & Lenient::ALL.0);
    let mut seed = u16::from_le_bytes([data[3], data[4]]) as u64 | 1;
    let input = &data[5..];
    let settings = Settings {
        lenient,
        max_header_bytes: 512,
        max_headers: 16,
        max_url_len: 128,
        max_chunk_extension_bytes: 64,
        scan: Scan::Auto,
    };
    let (whole_items, whole) = run(kind, settings, input, &[], 0, headers_action);
    let whole_items = canonical(whole_items, &whole);
    // The same whole parse with each other scanner.
    for scan in [Scan::Swar, Scan::Sse2] {
        let settings = Settings { scan, ..settings };
        let (items, outcome) = run(kind, settings, input, &[], 0, headers_action);
        assert_eq!(whole, outcome, "outcome differs with {scan:?}");
        assert_eq!(
            whole_items,
            canonical(items, &outcome),
            "events differ with {scan:?}"
        );
    }
    // A few different splittings: random cut points, and byte by byte.
    for round in 0..3 {
        let cuts: Vec<usize> = if round == 2 {
            (1..input.len()).collect()
        } else {
            let mut cuts = Vec::new();
            let mut at = 0;
            loop {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                at += 1 + (seed % 16) as usize;
                if at >= input.len() {
                    break;
                }
                cuts.push(at);
            }
            cuts
        };
        // Splits with the SIMD scanners, and with SWAR on the middle round.
        let scan = if round == 1 { Scan::Swar } else { Scan::Auto };
        let settings = Settings { scan, ..settings };
        let (items, outcome) = run(kind, settings, input, &cuts, pause_every, headers_action);
        assert_eq!(whole, outcome, "outcome differs with cuts {cuts:?}");
        assert_eq!(
            whole_items,
            canonical(items, &outcome),
            "events differ with cuts {cuts:?}"
        );
    }
}
