//! HTTP methods (llhttp's numbering) and an incremental matcher over their names.

/// A request method. The discriminant is llhttp's `llhttp_method_t` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Method {
    /// `DELETE`.
    Delete = 0,
    /// `GET`.
    Get = 1,
    /// `HEAD`.
    Head = 2,
    /// `POST`.
    Post = 3,
    /// `PUT`.
    Put = 4,
    /// `CONNECT`.
    Connect = 5,
    /// `OPTIONS`.
    Options = 6,
    /// `TRACE`.
    Trace = 7,
    /// `COPY`.
    Copy = 8,
    /// `LOCK`.
    Lock = 9,
    /// `MKCOL`.
    Mkcol = 10,
    /// `MOVE`.
    Move = 11,
    /// `PROPFIND`.
    Propfind = 12,
    /// `PROPPATCH`.
    Proppatch = 13,
    /// `SEARCH`.
    Search = 14,
    /// `UNLOCK`.
    Unlock = 15,
    /// `BIND`.
    Bind = 16,
    /// `REBIND`.
    Rebind = 17,
    /// `UNBIND`.
    Unbind = 18,
    /// `ACL`.
    Acl = 19,
    /// `REPORT`.
    Report = 20,
    /// `MKACTIVITY`.
    Mkactivity = 21,
    /// `CHECKOUT`.
    Checkout = 22,
    /// `MERGE`.
    Merge = 23,
    /// `M-SEARCH`.
    MSearch = 24,
    /// `NOTIFY`.
    Notify = 25,
    /// `SUBSCRIBE`.
    Subscribe = 26,
    /// `UNSUBSCRIBE`.
    Unsubscribe = 27,
    /// `PATCH`.
    Patch = 28,
    /// `PURGE`.
    Purge = 29,
    /// `MKCALENDAR`.
    Mkcalendar = 30,
    /// `LINK`.
    Link = 31,
    /// `UNLINK`.
    Unlink = 32,
    /// `SOURCE`.
    Source = 33,
    /// `PRI`.
    Pri = 34,
    /// `DESCRIBE`.
    Describe = 35,
    /// `ANNOUNCE`.
    Announce = 36,
    /// `SETUP`.
    Setup = 37,
    /// `PLAY`.
    Play = 38,
    /// `PAUSE`.
    Pause = 39,
    /// `TEARDOWN`.
    Teardown = 40,
    /// `GET_PARAMETER`.
    GetParameter = 41,
    /// `SET_PARAMETER`.
    SetParameter = 42,
    /// `REDIRECT`.
    Redirect = 43,
    /// `RECORD`.
    Record = 44,
    /// `FLUSH`.
    Flush = 45,
    /// `QUERY`.
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
        METHOD_STRS[self as usize]
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

/// The names as strings, checked once when compiling (not per call).
const METHOD_STRS: [&str; 47] = {
    let mut out = [""; 47];
    let mut i = 0;
    while i < 47 {
        out[i] = match std::str::from_utf8(METHODS[i].0) {
            Ok(s) => s,
            Err(_) => panic!("a method name that is not ASCII"),
        };
        i += 1;
    }
    out
};

pub(crate) const METHOD_NAMES: [&[u8]; 47] = {
    let mut out: [&[u8]; 47] = [b""; 47];
    let mut i = 0;
    while i < 47 {
        out[i] = METHODS[i].0;
        i += 1;
    }
    out
};
