//! Where a header list's framing- and connection-relevant lines are, noted
//! as each line is added: the list's length switch runs once per line, when
//! the line is at hand, so [`HeaderFacts`](super::HeaderFacts) is read off
//! these marks instead of a second pass over every line.

use super::names::{CONNECTION, CONTENT_LENGTH, DATE, EXPECT, HOST, TRANSFER_ENCODING};

/// The relevant lines of one header list, by index (first of each name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    /// The first `Content-Length` line.
    pub content_length: Option<u32>,
    /// The first `Transfer-Encoding` line.
    pub transfer_encoding: Option<u32>,
    /// The first `Host` line.
    pub host: Option<u32>,
    /// The first `Expect` line.
    pub expect: Option<u32>,
    /// How many `Host` lines there are.
    pub hosts: u32,
    /// Some `Transfer-Encoding` line names `chunked`.
    pub chunked: bool,
    /// A `Connection` line is present.
    pub has_connection: bool,
    /// Some `Connection` line is exactly `close`.
    pub connection_close: bool,
    /// A `Date` line is present.
    pub has_date: bool,
}

impl Marks {
    /// Notes line `index`, named `name` with value `value`.
    #[inline(always)]
    pub fn note(&mut self, index: usize, name: &[u8], value: &[u8]) {
        let index = index as u32;
        // The length first: one compare settles most lines.
        match name.len() {
            4 if HOST.matches(name) => {
                self.hosts += 1;
                self.host.get_or_insert(index);
            }
            4 if DATE.matches(name) => self.has_date = true,
            6 if EXPECT.matches(name) => {
                self.expect.get_or_insert(index);
            }
            10 if CONNECTION.matches(name) => {
                self.has_connection = true;
                self.connection_close |= value.eq_ignore_ascii_case(b"close");
            }
            14 if CONTENT_LENGTH.matches(name) => {
                self.content_length.get_or_insert(index);
            }
            17 if TRANSFER_ENCODING.matches(name) => {
                self.transfer_encoding.get_or_insert(index);
                self.chunked |= value.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked"));
            }
            _ => {}
        }
    }
}
