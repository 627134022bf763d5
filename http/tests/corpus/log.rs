//! A `Handler` that records events in llhttp's test-log format, and the
//! runner that feeds a parser whole or split, the way llhttp's fixture does.

use eddy_http::parser::{Action, Handler, HeadersAction, Kind, Parser, PauseReason};

/// One recorded item: a span piece (merged later) or a finished log line.
#[derive(Debug, Clone)]
pub enum Item {
    Span {
        name: &'static str,
        off: usize,
        data: Vec<u8>,
    },
    Line(Vec<u8>),
}

/// Records every callback; offsets are absolute within the whole input.
pub struct Recorder {
    pub items: Vec<Item>,
    /// Address of byte 0 of the whole input.
    pub base: usize,
    /// Offset of the slice currently being executed.
    pub chunk: usize,
    pub pause_on: Option<String>,
    pub skip_body: bool,
}

impl Recorder {
    pub fn new(base: &[u8], pause_on: Option<String>, skip_body: bool) -> Self {
        Recorder {
            items: Vec::new(),
            base: base.as_ptr() as usize,
            chunk: 0,
            pause_on,
            skip_body,
        }
    }

    fn span(&mut self, name: &'static str, data: &[u8]) {
        let off = data.as_ptr() as usize - self.base;
        self.items.push(Item::Span {
            name,
            off,
            data: data.to_vec(),
        });
    }

    pub fn line(&mut self, off: usize, text: &str) {
        self.items
            .push(Item::Line(format!("off={off} {text}").into_bytes()));
    }

    fn event(&mut self, p: &Parser, name: &str, text: &str) -> Action {
        self.line(self.chunk + p.position(), text);
        if self.pause_on.as_deref() == Some(name) {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    /// Merge span pieces that continue each other, then print like llparse.
    pub fn render(&self) -> Vec<Vec<u8>> {
        let mut merged: Vec<Item> = Vec::new();
        for item in &self.items {
            if let (
                Item::Span { name, off, data },
                Some(Item::Span {
                    name: pn,
                    off: po,
                    data: pd,
                }),
            ) = (item, merged.last_mut())
            {
                if name == pn && *po + pd.len() == *off {
                    pd.extend_from_slice(data);
                    continue;
                }
            }
            merged.push(item.clone());
        }
        let mut out = Vec::new();
        for item in merged {
            match item {
                Item::Line(l) => out.push(l),
                Item::Span { name, off, data } => print_span(&mut out, name, off, &data),
            }
        }
        out
    }
}

/// llparse's `print_span`: CR and LF bytes get lines of their own.
fn print_span(out: &mut Vec<Vec<u8>>, name: &str, mut off: usize, mut data: &[u8]) {
    loop {
        let nl = data.iter().position(|&c| c == b'\r' || c == b'\n');
        let len = nl.unwrap_or(data.len());
        if len != 0 || nl.is_none() {
            let mut l = format!("off={off} len={len} span[{name}]=\"").into_bytes();
            l.extend_from_slice(&data[..len]);
            l.push(b'"');
            out.push(l);
            off += len;
            data = &data[len..];
        }
        if let Some(&c) = data.first() {
            let which = if c == b'\r' { "cr" } else { "lf" };
            out.push(format!("off={off} len=1 span[{name}]={which}").into_bytes());
            off += 1;
            data = &data[1..];
        }
        if data.is_empty() {
            break;
        }
    }
}

impl Handler for Recorder {
    fn on_message_begin(&mut self, p: &Parser) -> Action {
        self.event(p, "on_message_begin", "message begin")
    }
    fn on_reset(&mut self, p: &Parser) -> Action {
        self.event(p, "on_reset", "reset")
    }
    fn on_method(&mut self, d: &[u8]) {
        self.span("method", d)
    }
    fn on_method_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_method_complete", "method complete")
    }
    fn on_url(&mut self, d: &[u8]) {
        self.span("url", d)
    }
    fn on_url_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_url_complete", "url complete")
    }
    fn on_protocol(&mut self, d: &[u8]) {
        self.span("protocol", d)
    }
    fn on_protocol_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_protocol_complete", "protocol complete")
    }
    fn on_version(&mut self, d: &[u8]) {
        self.span("version", d)
    }
    fn on_version_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_version_complete", "version complete")
    }
    fn on_status(&mut self, d: &[u8]) {
        self.span("status", d)
    }
    fn on_status_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_status_complete", "status complete")
    }
    fn on_header_field(&mut self, d: &[u8]) {
        self.span("header_field", d)
    }
    fn on_header_field_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_header_field_complete", "header_field complete")
    }
    fn on_header_value(&mut self, d: &[u8]) {
        self.span("header_value", d)
    }
    fn on_header_value_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_header_value_complete", "header_value complete")
    }
    fn on_headers_complete(&mut self, p: &Parser) -> HeadersAction {
        let (major, minor) = p.version();
        let head = if p.kind() == Kind::Request {
            format!("method={}", p.method().map_or(0, |m| m as u8))
        } else {
            format!("status={}", p.status())
        };
        let text = format!(
            "headers complete {head} v={major}/{minor} flags={:x} content_length={}",
            p.flags(),
            p.content_length()
        );
        let off = self.chunk + p.position();
        self.line(off, &text);
        if self.pause_on.as_deref() == Some("on_headers_complete") {
            HeadersAction::Pause
        } else if self.skip_body {
            self.line(off, "skip body");
            HeadersAction::SkipBody
        } else {
            HeadersAction::Proceed
        }
    }
    fn on_body(&mut self, d: &[u8]) {
        self.span("body", d)
    }
    fn on_chunk_header(&mut self, p: &Parser) -> Action {
        let text = format!("chunk header len={}", p.content_length());
        self.event(p, "on_chunk_header", &text)
    }
    fn on_chunk_extension_name(&mut self, d: &[u8]) {
        self.span("chunk_extension_name", d)
    }
    fn on_chunk_extension_name_complete(&mut self, p: &Parser) -> Action {
        self.event(
            p,
            "on_chunk_extension_name",
            "chunk_extension_name complete",
        )
    }
    fn on_chunk_extension_value(&mut self, d: &[u8]) {
        self.span("chunk_extension_value", d)
    }
    fn on_chunk_extension_value_complete(&mut self, p: &Parser) -> Action {
        self.event(
            p,
            "on_chunk_extension_value",
            "chunk_extension_value complete",
        )
    }
    fn on_chunk_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_chunk_complete", "chunk complete")
    }
    fn on_message_complete(&mut self, p: &Parser) -> Action {
        self.event(p, "on_message_complete", "message complete")
    }
}

/// Feed `input` in the given pieces, resuming after pauses like llparse's
/// fixture; stop at the first error or upgrade. Returns the rendered log.
pub fn run(
    parser: &mut Parser,
    rec: &mut Recorder,
    input: &[u8],
    cuts: &[usize],
    print_finish: bool,
) -> Vec<Vec<u8>> {
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.to_vec();
    bounds.push(input.len());
    'chunks: for end in bounds {
        let mut off = start;
        loop {
            rec.chunk = off;
            match parser.execute(rec, &input[off..end]) {
                Ok(n) => match parser.pause_reason() {
                    Some(PauseReason::User) => {
                        rec.line(off + n, "pause");
                        parser.resume();
                        off += n;
                    }
                    Some(PauseReason::Upgrade) => {
                        rec.line(off + n, "error code=22 reason=\"Pause on CONNECT/Upgrade\"");
                        break 'chunks;
                    }
                    Some(PauseReason::H2Upgrade) => {
                        rec.line(off + n, "error code=23 reason=\"Pause on PRI/Upgrade\"");
                        break 'chunks;
                    }
                    None => break,
                },
                Err(e) => {
                    let code = e.kind.llhttp_code().map_or(-1, |c| c as i64);
                    rec.line(
                        off + e.offset,
                        &format!("error code={code} reason=\"{}\"", e.reason),
                    );
                    return rec.render();
                }
            }
        }
        start = end;
    }
    let mut out = rec.render();
    if print_finish && parser.error().is_none() && parser.pause_reason().is_none() {
        out.push(format!("off=NULL finish={}", parser.finish_state() as u8).into_bytes());
    }
    out
}
