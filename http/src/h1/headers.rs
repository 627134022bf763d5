//! A message's header lines as received: raw names and values in one
//! buffer (reused from message to message), looked up case-insensitively.
//!
//! Duplicates follow Node's rules when joined: `set-cookie` stays a list,
//! `cookie` values are joined with "; ", singleton headers (content-type,
//! host, authorization, ...) keep the first value, and the others are
//! joined with ", ".

use super::marks::Marks;
use crate::wire::same_bytes;

#[derive(Clone, Copy, Debug)]
struct Line {
    name: (u32, u32),
    value: (u32, u32),
}

/// Header lines in arrival (or insertion) order, as bytes: names keep their
/// case, values are kept as they came (obs-text included), minus the
/// surrounding blanks. Lookups ignore the case of names.
///
/// ```
/// use eddy_http::h1::HeaderList;
/// let mut h = HeaderList::default();
/// h.push("Set-Cookie", b"a=1");
/// h.push("set-cookie", b"b=2");
/// h.push("X-Latin", b"caf\xE9");
/// assert_eq!(h.get("x-latin"), Some(&b"caf\xE9"[..]));
/// assert_eq!(h.get_all("SET-COOKIE").count(), 2);
/// assert_eq!(h.iter().next(), Some((&b"Set-Cookie"[..], &b"a=1"[..])));
/// ```
#[derive(Default, Debug, Clone)]
pub struct HeaderList {
    /// Lines added whole (`push`) are kept as they go on the wire,
    /// `Name: value\r\n`, so a response head copies them in one go.
    buf: Vec<u8>,
    lines: Vec<Line>,
    /// Where the line being received starts its name and value.
    open_name: u32,
    open_value: u32,
    /// Bit `n % 64` is set when some line's name is `n` bytes long: most
    /// lookups of a name that is not there stop here.
    name_lens: u64,
    /// Some line was built from pieces (the parser's): `buf` is not the
    /// wire form.
    pieces: bool,
    /// The framing- and connection-relevant lines, noted as lines come.
    marks: Marks,
}

/// Headers of which Node keeps only the first value.
const SINGLETONS: &[&str] = &[
    "age",
    "authorization",
    "content-length",
    "content-type",
    "etag",
    "expires",
    "from",
    "host",
    "if-modified-since",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "proxy-authorization",
    "referer",
    "retry-after",
    "server",
    "user-agent",
];

/// A name length's bit in `HeaderList::name_lens`.
fn len_bit(len: usize) -> u64 {
    1 << (len % 64)
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    // Most values have no blank at either end: one look at each.
    if !matches!(v.first(), Some(b' ' | b'\t')) && !matches!(v.last(), Some(b' ' | b'\t')) {
        return v;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    v
}

impl HeaderList {
    /// Removes every line, keeping the buffers.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.lines.clear();
        self.open_name = 0;
        self.open_value = 0;
        self.name_lens = 0;
        self.pieces = false;
        self.marks = Marks::default();
    }

    /// Makes room for `lines` more lines of `bytes` bytes in all (as
    /// `Name: value\r\n`), so adding them allocates at most once.
    pub fn reserve(&mut self, lines: usize, bytes: usize) {
        self.lines.reserve(lines);
        self.buf.reserve(bytes);
    }

    /// The bytes the lines take (about their wire form's length).
    pub(crate) fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The bytes the list holds on to, used or not (its buffers'
    /// capacity).
    pub(crate) fn retained_bytes(&self) -> usize {
        self.buf.capacity() + self.lines.capacity() * std::mem::size_of::<Line>()
    }

    /// How many lines there are.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    // Building, piece by piece as the parser reports spans.
    pub(crate) fn name_piece(&mut self, data: &[u8]) {
        self.pieces = true;
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn name_done(&mut self) {
        self.open_value = self.buf.len() as u32;
    }

    pub(crate) fn value_piece(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn value_done(&mut self) {
        let (ns, vs, end) = (self.open_name, self.open_value, self.buf.len() as u32);
        self.name_lens |= len_bit((vs - ns) as usize);
        let raw = &self.buf[vs as usize..end as usize];
        let lead = raw.iter().take_while(|b| matches!(b, b' ' | b'\t')).count() as u32;
        let kept = trim_ows(raw).len() as u32;
        let line = Line {
            name: (ns, vs - ns),
            value: (vs + lead, kept),
        };
        let (name, value) = (
            &self.buf[ns as usize..vs as usize],
            &raw[lead as usize..][..kept as usize],
        );
        self.marks.note(self.lines.len(), name, value);
        self.lines.push(line);
        self.open_name = end;
    }

    /// Adds a whole line, bytes as given (the value without surrounding
    /// blanks). Unchecked: validate with [`is_token`](super::is_token) and
    /// [`is_field_value`](super::is_field_value) what comes from outside.
    pub fn push(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.push_bytes(name.as_ref(), value.as_ref());
    }

    fn slice(&self, (start, len): (u32, u32)) -> &[u8] {
        &self.buf[start as usize..(start + len) as usize]
    }

    /// Removes every line named `name` (case-insensitive).
    #[inline]
    pub fn remove(&mut self, name: impl AsRef<[u8]>) {
        let name = name.as_ref();
        // Most often no line has a name of that length: nothing to do.
        if self.name_lens & len_bit(name.len()) != 0 {
            self.remove_lines(name);
        }
    }

    #[inline(never)]
    fn remove_lines(&mut self, name: &[u8]) {
        if self.get(name).is_none() {
            return;
        }
        let kept: Vec<(Vec<u8>, Vec<u8>)> = self
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        self.clear();
        for (n, v) in kept {
            self.push_bytes(&n, &v);
        }
    }

    /// Adds a whole line from raw bytes (the value without surrounding
    /// blanks), in its wire form.
    #[inline(always)]
    pub(crate) fn push_bytes(&mut self, name: &[u8], value: &[u8]) {
        let value = trim_ows(value);
        let buf = &mut self.buf;
        let ns = buf.len() as u32;
        buf.reserve(name.len() + value.len() + 4);
        buf.extend_from_slice(name);
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value);
        buf.extend_from_slice(b"\r\n");
        let vs = ns + name.len() as u32 + 2;
        self.name_lens |= len_bit(name.len());
        self.marks.note(self.lines.len(), name, value);
        self.lines.push(Line {
            name: (ns, name.len() as u32),
            value: (vs, value.len() as u32),
        });
        self.open_name = buf.len() as u32;
        self.open_value = self.open_name;
    }

    /// Whether setting each of `lines` in turn (replacing any earlier line
    /// of its name) into an empty list would build exactly this list: the
    /// same lines in the same order, byte for byte, values with no blank to
    /// trim, and no two names of one length (so none replaced another).
    pub(crate) fn is_set_from(&self, lines: &[(&str, &str)]) -> bool {
        // Names of distinct lengths are distinct names: none replaced
        // another as they were set in turn.
        let mut lens = 0u64;
        let distinct = lines.iter().all(|(name, _)| {
            let bit = len_bit(name.len());
            let fresh = lens & bit == 0;
            lens |= bit;
            fresh
        });
        self.lines.len() == lines.len()
            && distinct
            && self.is_copy_of(lines.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
    }

    /// Whether this list holds exactly `lines`, in order, byte for byte:
    /// what copying them into an empty list builds (values are kept
    /// trimmed, so a copy changes none).
    pub(crate) fn is_copy_of<'a>(&self, lines: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> bool {
        if self.pieces {
            return false;
        }
        let mut mine = self.lines.iter();
        for (name, value) in lines {
            let Some(line) = mine.next() else {
                return false;
            };
            let same =
                same_bytes(self.slice(line.name), name) & same_bytes(self.slice(line.value), value);
            if !same {
                return false;
            }
        }
        mine.next().is_none()
    }

    /// Every line as it goes on the wire (`Name: value\r\n` each), when
    /// all were added whole.
    pub(crate) fn wire(&self) -> Option<&[u8]> {
        (!self.pieces).then_some(&self.buf[..])
    }

    /// Where the relevant lines are (see [`Marks`]).
    pub(crate) fn marks(&self) -> &Marks {
        &self.marks
    }

    /// The value of line `index`.
    pub(crate) fn value_at(&self, index: u32) -> &[u8] {
        self.slice(self.lines[index as usize].value)
    }

    /// Every line in arrival order, names with their case as received.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.lines
            .iter()
            .map(|l| (self.slice(l.name), self.slice(l.value)))
    }

    /// Every value of `name` (case-insensitive), in order.
    pub fn get_all<'a, N: AsRef<[u8]> + ?Sized>(
        &'a self,
        name: &'a N,
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        let name = name.as_ref();
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The first value of `name`.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        if self.name_lens & len_bit(name.len()) == 0 {
            return None;
        }
        self.lines
            .iter()
            .find(|l| self.slice(l.name).eq_ignore_ascii_case(name))
            .map(|l| self.slice(l.value))
    }

    /// The value as Node's `req.headers[name]` has it (see the module doc);
    /// `set-cookie` values are joined with ", " here, use `get_all` for the
    /// list.
    pub fn get_joined(&self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let mut values = self.get_all(name);
        let first = values.next()?;
        let mut out = String::from_utf8_lossy(first).into_owned();
        if SINGLETONS.contains(&lower.as_str()) {
            return Some(out);
        }
        let sep = if lower == "cookie" { "; " } else { ", " };
        for v in values {
            out.push_str(sep);
            out.push_str(&String::from_utf8_lossy(v));
        }
        Some(out)
    }

    /// How many lines are named `name` (case-insensitive).
    pub fn count(&self, name: impl AsRef<[u8]>) -> usize {
        let name = name.as_ref();
        self.get_all(name).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_build_lines_and_values_are_trimmed() {
        let mut h = HeaderList::default();
        h.name_piece(b"Con");
        h.name_piece(b"tent-Type");
        h.name_done();
        h.value_piece(b" text/");
        h.value_piece(b"plain \t");
        h.value_done();
        h.push("X-A", b"1");
        assert_eq!(h.get("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(h.iter().next().unwrap().0, b"Content-Type");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn a_cleared_list_is_reused_from_the_start() {
        let mut h = HeaderList::default();
        h.push("A-Long-Header-Name", b"with a long value");
        h.clear();
        h.name_piece(b"B");
        h.name_done();
        h.value_piece(b"2");
        h.value_done();
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(&b"B"[..], &b"2"[..])]);
    }

    #[test]
    fn a_list_knows_the_lines_it_was_set_from() {
        let mut h = HeaderList::default();
        h.push("Content-Type", b"text/plain");
        h.push("X-N", b"1");
        assert!(h.is_set_from(&[("Content-Type", "text/plain"), ("X-N", "1")]));
        assert!(!h.is_set_from(&[("Content-Type", "text/plain"), ("X-N", "2")]));
        assert!(!h.is_set_from(&[("content-type", "text/plain"), ("X-N", "1")]));
        assert!(!h.is_set_from(&[("Content-Type", "text/plain")]));
        assert!(!h.is_set_from(&[("Content-Type", " text/plain"), ("X-N", "1")]));
        // Lines of one length could replace each other when set in turn.
        let mut h = HeaderList::default();
        h.push("X-A", b"1");
        h.push("X-B", b"2");
        assert!(!h.is_set_from(&[("X-A", "1"), ("X-B", "2")]));
        // Nor is a list built by the parser (not in wire form).
        let mut h = HeaderList::default();
        h.name_piece(b"X-N");
        h.name_done();
        h.value_piece(b"1");
        h.value_done();
        assert!(!h.is_set_from(&[("X-N", "1")]));
    }

    #[test]
    fn remove_drops_every_line_of_a_name() {
        let mut h = HeaderList::default();
        h.push("A", b"1");
        h.push("B", b"2");
        h.push("a", b"3");
        h.remove("A");
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(&b"B"[..], &b"2"[..])]);
    }

    #[test]
    fn duplicates_follow_nodes_rules() {
        let mut h = HeaderList::default();
        h.push("Host", b"a");
        h.push("host", b"b");
        h.push("Cookie", b"x=1");
        h.push("Cookie", b"y=2");
        h.push("Accept", b"text/html");
        h.push("accept", b"*/*");
        h.push("Set-Cookie", b"s=1");
        h.push("Set-Cookie", b"t=2");
        assert_eq!(h.get_joined("HOST").unwrap(), "a");
        assert_eq!(h.get_joined("cookie").unwrap(), "x=1; y=2");
        assert_eq!(h.get_joined("accept").unwrap(), "text/html, */*");
        let cookies: Vec<&[u8]> = h.get_all("set-cookie").collect();
        assert_eq!(cookies, vec![&b"s=1"[..], &b"t=2"[..]]);
        assert_eq!(h.count("host"), 2);
        assert_eq!(h.get_joined("missing"), None);
    }
}
