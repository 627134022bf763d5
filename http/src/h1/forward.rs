//! Forwarding a received header list to an outgoing message, as a proxy
//! does (RFC 9110 §7.6.1): every field goes on byte for byte, in order and
//! with its case, except the hop-by-hop ones, which belong to one
//! connection: `Connection` and the fields it names, `Keep-Alive`, `TE`,
//! `Trailer`, `Transfer-Encoding`, `Upgrade` and `Proxy-*`.

use super::headers::HeaderList;
use super::names::{CONNECTION, KEEP_ALIVE, PROXY_PREFIX, TRAILER, TRANSFER_ENCODING, UPGRADE};
use super::validate::{is_field_value, is_token};

/// Whether `name` is hop-by-hop in a message whose `Connection` fields
/// name `connection_tokens`.
pub fn is_hop_by_hop(name: &[u8], connection_tokens: &[&[u8]]) -> bool {
    is_always_hop_by_hop(name)
        || connection_tokens
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t))
}

/// The fields hop-by-hop whatever `Connection` says, by length first.
fn is_always_hop_by_hop(name: &[u8]) -> bool {
    let listed = match name.len() {
        2 => name.eq_ignore_ascii_case(b"te"),
        7 => TRAILER.matches(name) || UPGRADE.matches(name),
        10 => CONNECTION.matches(name) || KEEP_ALIVE.matches(name),
        17 => TRANSFER_ENCODING.matches(name),
        _ => false,
    };
    listed || name.get(..6).is_some_and(|p| PROXY_PREFIX.matches(p))
}

/// The names a `Connection` value lists, but for those dropped anyway
/// (`keep-alive`, say).
fn named_fields(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty() && !is_always_hop_by_hop(t))
}

impl HeaderList {
    /// The field names every `Connection` line of this list names, but
    /// for those dropped anyway: so the usual keep-alive lists name none,
    /// and nothing is allocated for them.
    fn connection_tokens(&self) -> Vec<&[u8]> {
        self.get_all("connection").flat_map(named_fields).collect()
    }

    /// Appends to `dst` every line of this list that is not hop-by-hop,
    /// bytes as received (obs-text included), in order, names in their
    /// case.
    ///
    /// ```
    /// use eddy_http::h1::HeaderList;
    /// let mut got = HeaderList::default();
    /// got.push("Connection", b"keep-alive, X-Hop");
    /// got.push("X-Hop", b"1");
    /// got.push("Keep-Alive", b"timeout=5");
    /// got.push("Proxy-Authorization", b"secret");
    /// got.push("Transfer-Encoding", b"chunked");
    /// got.push("X-Latin", b"caf\xE9");
    /// got.push("Set-Cookie", b"a=1");
    /// let mut out = HeaderList::default();
    /// got.forward_into(&mut out);
    /// let lines: Vec<_> = out.iter().collect();
    /// assert_eq!(lines, [(&b"X-Latin"[..], &b"caf\xE9"[..]), (b"Set-Cookie", b"a=1")]);
    /// ```
    pub fn forward_into(&self, dst: &mut HeaderList) {
        self.forwardable().copy_into(dst);
    }

    /// The lines [`forward_into`](Self::forward_into) would copy.
    pub fn forwardable(&self) -> Forwardable<'_> {
        // One pass: each line judged by its name, and whether some
        // `Connection` line names more fields (rare: then they are
        // collected, and the lines they name dropped).
        let mut kept = 0u64;
        let mut names_more = false;
        for (i, (name, value)) in self.iter().enumerate() {
            if is_always_hop_by_hop(name) {
                names_more = names_more
                    || (CONNECTION.matches(name) && named_fields(value).next().is_some());
            } else if i < 64 {
                kept |= 1 << i;
            }
        }
        let tokens = if names_more {
            self.connection_tokens()
        } else {
            Vec::new()
        };
        if !tokens.is_empty() {
            for (i, (name, _)) in self.iter().take(64).enumerate() {
                if tokens.iter().any(|t| name.eq_ignore_ascii_case(t)) {
                    kept &= !(1 << i);
                }
            }
        }
        Forwardable {
            list: self,
            tokens,
            kept,
        }
    }
}

/// A header list's lines that are not hop-by-hop
/// ([`HeaderList::forwardable`]): walk them as often as needed (to check
/// them, then to copy them) without collecting them.
pub struct Forwardable<'a> {
    list: &'a HeaderList,
    tokens: Vec<&'a [u8]>,
    /// Bit `i` set: line `i` (of the first 64) is forwarded. Later lines
    /// are judged as they are walked.
    kept: u64,
}

impl<'a> Forwardable<'a> {
    /// The lines in order, names in their case, values as received.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.list
            .iter()
            .enumerate()
            .filter(|&(i, (name, _))| {
                if i < 64 {
                    self.kept >> i & 1 == 1
                } else {
                    !is_hop_by_hop(name, &self.tokens)
                }
            })
            .map(|(_, line)| line)
    }

    /// How many lines, and their bytes on the wire (`Name: value\r\n`
    /// each): what to reserve before copying them.
    pub fn size(&self) -> (usize, usize) {
        self.iter()
            .fold((0, 0), |(n, b), (k, v)| (n + 1, b + k.len() + v.len() + 4))
    }

    /// The name of the first line that may not go on the wire as it is
    /// (not a token, or a value that is not a field-value): a list
    /// received leniently may hold one, and then none is forwarded.
    pub fn first_invalid(&self) -> Option<&'a [u8]> {
        self.iter()
            .find(|(n, v)| !(is_token(n) && is_field_value(v)))
            .map(|(n, _)| n)
    }

    /// Whether `list` holds exactly these lines, in order, byte for byte
    /// (what [`copy_into`](Self::copy_into) an empty list builds).
    pub(crate) fn are_all_of(&self, list: &HeaderList) -> bool {
        list.is_copy_of(self.iter())
    }

    /// Appends the lines to `dst`, reserved to size first (one
    /// allocation at most).
    pub fn copy_into(&self, dst: &mut HeaderList) {
        let (count, bytes) = self.size();
        dst.reserve(count, bytes);
        for (name, value) in self.iter() {
            dst.push(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition: the fixed list, the `Proxy-` prefix, the
    /// tokens, each compared whatever the case.
    fn reference(name: &[u8], tokens: &[&[u8]]) -> bool {
        let fixed: [&[u8]; 6] = [
            b"connection",
            b"keep-alive",
            b"te",
            b"trailer",
            b"transfer-encoding",
            b"upgrade",
        ];
        fixed.iter().any(|h| name.eq_ignore_ascii_case(h))
            || (name.len() >= 6 && name[..6].eq_ignore_ascii_case(b"proxy-"))
            || tokens.iter().any(|t| name.eq_ignore_ascii_case(t))
    }

    #[test]
    fn hop_by_hop_is_the_list_the_prefix_and_the_tokens() {
        let names: [&[u8]; 18] = [
            b"Connection",
            b"KEEP-ALIVE",
            b"keep_alive",
            b"TE",
            b"tE",
            b"Trailer",
            b"Trailers",
            b"Transfer-Encoding",
            b"Transfer-Encodinh",
            b"Upgrade",
            b"Proxy-Authorization",
            b"proxy-",
            b"Proxy",
            b"Proxy_Foo",
            b"X-Hop",
            b"Host",
            b"",
            b"Connectio\xce",
        ];
        for tokens in [&[][..], &[&b"x-hop"[..]][..]] {
            for name in names {
                assert_eq!(
                    is_hop_by_hop(name, tokens),
                    reference(name, tokens),
                    "{:?} with {tokens:?}",
                    String::from_utf8_lossy(name)
                );
            }
        }
    }

    #[test]
    fn forwardable_lines_past_the_64th_are_judged_alike() {
        let mut h = HeaderList::default();
        h.push("Connection", b"X-Hop");
        for i in 0..150 {
            match i % 3 {
                0 => h.push("X-Hop", b"h"),
                1 => h.push("TE", b"trailers"),
                _ => h.push(format!("X-{i}"), b"v"),
            }
        }
        let lines = h.forwardable();
        let got: Vec<_> = lines.iter().collect();
        let want: Vec<_> = h
            .iter()
            .filter(|(n, _)| !reference(n, &[b"x-hop"]))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 50);
        let bytes: usize = want.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        assert_eq!(lines.size(), (50, bytes));
        let mut out = HeaderList::default();
        h.forward_into(&mut out);
        assert!(out.iter().eq(want.iter().copied()));
        assert_eq!(lines.first_invalid(), None);
        // An invalid line that is forwarded is found; a dropped one is not.
        h.push("TE", b"bad\x01");
        h.push("X-Bad", b"bad\x01");
        assert_eq!(h.forwardable().first_invalid(), Some(&b"X-Bad"[..]));
    }
}
