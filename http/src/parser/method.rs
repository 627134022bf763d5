//! HTTP methods (llhttp's numbering) and an incremental matcher over their names.

/// A request method. The discriminant is llhttp's `llhttp_method_t` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Method {
    Delete = 0,
    Get = 1,
    Head = 2,
    Post = 3,
    Put = 4,
    Connect = 5,
    Options = 6,
    Trace = 7,
    Copy = 8,
    Lock = 9,
    Mkcol = 10,
    Move = 11,
    Propfind = 12,
    Proppatch = 13,
    Search = 14,
    Unlock = 15,
    Bind = 16,
    Rebind = 17,
    Unbind = 18,
    Acl = 19,
    Report = 20,
    Mkactivity = 21,
    Checkout = 22,
    Merge = 23,
    MSearch = 24,
    Notify = 25,
    Subscribe = 26,
    Unsubscribe = 27,
    Patch = 28,
    Purge = 29,
    Mkcalendar = 30,
    Link = 31,
    Unlink = 32,
    Source = 33,
    Pri = 34,
    Describe = 35,
    Announce = 36,
    Setup = 37,
    Play = 38,
    Pause = 39,
    Teardown = 40,
    GetParameter = 41,
    SetParameter = 42,
    Redirect = 43,
    Record = 44,
    Flush = 45,
    Query = 46,
}

use Method::*;

/// Every method with its wire name, in discriminant order.
pub(crate) const METHODS: [(&[u8], Method); 47] = [
    (b"DELETE", Delete),
    (b"GET", Get),
    (b"HEAD", Head),
    (b"POST", Post),
    (b"PUT", Put),
    (b"CONNECT", Connect),
    (b"OPTIONS", Options),
    (b"TRACE", Trace),
    (b"COPY", Copy),
    (b"LOCK", Lock),
    (b"MKCOL", Mkcol),
    (b"MOVE", Move),
    (b"PROPFIND", Propfind),
    (b"PROPPATCH", Proppatch),
    (b"SEARCH", Search),
    (b"UNLOCK", Unlock),
    (b"BIND", Bind),
    (b"REBIND", Rebind),
    (b"UNBIND", Unbind),
    (b"ACL", Acl),
    (b"REPORT", Report),
    (b"MKACTIVITY", Mkactivity),
    (b"CHECKOUT", Checkout),
    (b"MERGE", Merge),
    (b"M-SEARCH", MSearch),
    (b"NOTIFY", Notify),
    (b"SUBSCRIBE", Subscribe),
    (b"UNSUBSCRIBE", Unsubscribe),
    (b"PATCH", Patch),
    (b"PURGE", Purge),
    (b"MKCALENDAR", Mkcalendar),
    (b"LINK", Link),
    (b"UNLINK", Unlink),
    (b"SOURCE", Source),
    (b"PRI", Pri),
    (b"DESCRIBE", Describe),
    (b"ANNOUNCE", Announce),
    (b"SETUP", Setup),
    (b"PLAY", Play),
    (b"PAUSE", Pause),
    (b"TEARDOWN", Teardown),
    (b"GET_PARAMETER", GetParameter),
    (b"SET_PARAMETER", SetParameter),
    (b"REDIRECT", Redirect),
    (b"RECORD", Record),
    (b"FLUSH", Flush),
    (b"QUERY", Query),
];

impl Method {
    /// The method's name as sent on the wire.
    pub fn as_bytes(self) -> &'static [u8] {
        METHODS[self as usize].0
    }

    /// The method's name as a string.
    pub fn as_str(self) -> &'static str {
        // The table only holds ASCII.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// Methods allowed with `HTTP/x.y`.
    pub(crate) fn is_http(self) -> bool {
        (self as u8) <= Pri as u8 || self == Query
    }

    /// Methods allowed with `RTSP/x.y`.
    pub(crate) fn is_rtsp(self) -> bool {
        matches!(
            self,
            Options
                | Describe
                | Announce
                | Setup
                | Play
                | Pause
                | Teardown
                | GetParameter
                | SetParameter
                | Redirect
                | Record
                | Flush
                | Get
                | Post
        )
    }

    pub(crate) fn from_index(i: usize) -> Method {
        METHODS[i].1
    }
}

/// What one step of a [`NameMatch`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The byte extends a known name prefix.
    More,
    /// The byte does not extend the prefix, which is itself a complete name (its index).
    Done(usize),
    /// The byte extends no name and the prefix is not a name.
    Fail,
}

/// Incremental, case-sensitive or case-insensitive longest-prefix matching of bytes
/// against a small table of names, the way llhttp's tries work (no backtracking).
/// The state is a bitmask of names still possible plus the matched length.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NameMatch {
    pub alive: u64,
    pub len: u8,
}

impl NameMatch {
    pub(crate) fn new(count: usize) -> Self {
        NameMatch {
            alive: if count >= 64 {
                u64::MAX
            } else {
                (1u64 << count) - 1
            },
            len: 0,
        }
    }

    /// Feed one byte (already lowercased if matching case-insensitively).
    pub(crate) fn step(&mut self, names: &[&[u8]], c: u8) -> Step {
        let len = self.len as usize;
        let mut next = 0u64;
        let mut complete = None;
        let mut bits = self.alive;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let name = names[i];
            if name.len() == len {
                complete = Some(i);
            } else if name[len] == c {
                next |= 1 << i;
            }
        }
        if next != 0 {
            self.alive = next;
            self.len += 1;
            Step::More
        } else if let Some(i) = complete {
            Step::Done(i)
        } else {
            self.alive = 0;
            Step::Fail
        }
    }

    /// The name fully matched so far, if any.
    pub(crate) fn complete(&self, names: &[&[u8]]) -> Option<usize> {
        let mut bits = self.alive;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if names[i].len() == self.len as usize {
                return Some(i);
            }
        }
        None
    }
}

pub(crate) const METHOD_NAMES: [&[u8]; 47] = {
    let mut out: [&[u8]; 47] = [b""; 47];
    let mut i = 0;
    while i < 47 {
        out[i] = METHODS[i].0;
        i += 1;
    }
    out
};
