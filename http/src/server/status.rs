//! Reason phrases for status codes: every code of the IANA HTTP Status
//! Code Registry, with Node's phrase where Node has one (`413 Payload Too
//! Large`, `422 Unprocessable Entity`, `418 I'm a Teapot`), the
//! registry's otherwise; and the check of a phrase set by the user.

/// The standard reason phrase of `status`, or "Unknown" for a code the
/// registry does not have.
///
/// ```
/// use eddy_http::server::reason_phrase;
/// assert_eq!(reason_phrase(416), "Range Not Satisfiable");
/// assert_eq!(reason_phrase(451), "Unavailable For Legal Reasons");
/// assert_eq!(reason_phrase(599), "Unknown");
/// ```
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        306 => "Unused",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a Teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "Unknown",
    }
}

/// Whether `phrase` may go on a status line (RFC 9112 `reason-phrase`:
/// tabs, spaces, visible ASCII and obs-text; no CR, LF or other control
/// bytes).
pub fn is_reason_phrase(phrase: &[u8]) -> bool {
    phrase
        .iter()
        .all(|&b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_code_has_its_phrase() {
        for code in [
            412, 416, 418, 421, 422, 451, 207, 208, 226, 506, 507, 508, 511,
        ] {
            assert_ne!(reason_phrase(code), "Unknown", "{code}");
        }
        assert!(is_reason_phrase(b"Caf\xE9 Ready"));
        assert!(!is_reason_phrase(b"OK\r\nX-Evil: 1"));
        assert!(!is_reason_phrase(b"a\0b"));
    }
}
