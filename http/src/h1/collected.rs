//! Gathering a message body into one buffer under a size limit: the
//! state and the outcome shared by the server's `Request::collect` and
//! the client's `ClientResponse::collect`.

/// Why a body was not collected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    /// The body is larger than the limit (declared by `Content-Length`, or
    /// seen as it arrived).
    #[error("body larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit that was passed.
        limit: usize,
    },
    /// The peer went away before the body was complete.
    #[error("body aborted before its end")]
    Aborted,
}

/// What one more chunk did to a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gathered {
    /// Kept: still within the limit.
    Kept,
    /// The limit is passed: the body was dropped.
    OverLimit,
}

/// A body being gathered, up to `limit` bytes.
#[derive(Debug)]
pub struct Collector {
    limit: usize,
    body: Vec<u8>,
}

impl Collector {
    /// An empty collection that keeps at most `limit` bytes.
    pub fn new(limit: usize) -> Collector {
        Collector {
            limit,
            body: Vec::new(),
        }
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether a declared `Content-Length` is already over the limit.
    pub fn refuses_length(&self, declared: Option<&[u8]>) -> bool {
        let n = declared
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        n.is_some_and(|n| n > self.limit as u64)
    }

    /// Adds `chunk`, unless that passes the limit (the body is then freed).
    pub fn add(&mut self, chunk: &[u8]) -> Gathered {
        if self.body.len() + chunk.len() > self.limit {
            self.body = Vec::new();
            return Gathered::OverLimit;
        }
        self.body.extend_from_slice(chunk);
        Gathered::Kept
    }

    /// The body gathered.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_limit() {
        let mut c = Collector::new(5);
        assert_eq!(c.add(b"abc"), Gathered::Kept);
        assert_eq!(c.add(b"de"), Gathered::Kept);
        assert_eq!(c.add(b"f"), Gathered::OverLimit);
        assert!(c.into_body().is_empty());
        let mut c = Collector::new(5);
        c.add(b"hello");
        assert_eq!(c.into_body(), b"hello");
    }

    #[test]
    fn declared_lengths() {
        let c = Collector::new(10);
        assert!(!c.refuses_length(None));
        assert!(!c.refuses_length(Some(b"10")));
        assert!(c.refuses_length(Some(b"11")));
        assert!(!c.refuses_length(Some(b"junk")));
    }
}
