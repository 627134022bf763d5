//! `Content-Type` from a file name's extension: a small built-in table of
//! the types a static site serves, `application/octet-stream` otherwise.

/// Extension (lower case) to media type.
const TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("txt", "text/plain; charset=utf-8"),
    ("md", "text/markdown; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("xml", "application/xml"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/x-icon"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("wav", "audio/wav"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
];

/// The media type for a file named `name` (by its extension, any case).
///
/// ```
/// assert_eq!(eddy_http::server::content_type_for("a/INDEX.HTML"), "text/html; charset=utf-8");
/// assert_eq!(eddy_http::server::content_type_for("blob"), "application/octet-stream");
/// ```
pub fn content_type_for(name: &str) -> &'static str {
    let file = name.rsplit('/').next().unwrap_or(name);
    let Some((_, ext)) = file.rsplit_once('.') else {
        return "application/octet-stream";
    };
    TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or("application/octet-stream", |(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension() {
        assert_eq!(content_type_for("x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type_for("x.tar.gz"), "application/gzip");
        assert_eq!(content_type_for("logo.PNG"), "image/png");
        assert_eq!(content_type_for(".hidden"), "application/octet-stream");
        assert_eq!(content_type_for("dir.d/file"), "application/octet-stream");
        assert_eq!(content_type_for("x.unknown"), "application/octet-stream");
    }
}
