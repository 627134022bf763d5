//! Shared helpers for the conformance tests: finding the corpus, reading
//! llhttp's markdown cases, and decoding their inputs like llhttp's runner.

#![allow(dead_code)]

pub mod log;

use std::path::PathBuf;

/// The conformance directory: `EDDY_CONFORMANCE_DIR`, else `../shared/conformance`
/// next to the workspace. A missing corpus fails the test: `build.rs` has
/// already compiled the test as ignored (with the reason) unless the corpus
/// is required (`EDDY_REQUIRE_CONFORMANCE=1`) or the ignored tests were asked for.
pub fn conformance_dir(sub: &str) -> PathBuf {
    let dir = match std::env::var_os("EDDY_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/conformance"
        )),
    };
    let dir = dir.join(sub);
    assert!(
        dir.is_dir(),
        "conformance corpus not found at {} (set EDDY_CONFORMANCE_DIR)",
        dir.display()
    );
    dir
}

/// One test case of an llhttp markdown file.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub name: String,
    pub line: usize,
    pub meta: String,
    /// `http` or `url`.
    pub input_kind: String,
    pub raw_input: String,
    pub log: String,
}

impl Case {
    pub fn meta_str(&self, key: &str) -> Option<String> {
        let pat = format!("\"{key}\"");
        let i = self.meta.find(&pat)? + pat.len();
        let rest = self.meta[i..].trim_start().strip_prefix(':')?.trim_start();
        let rest = rest.strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_string())
    }

    pub fn meta_true(&self, key: &str) -> bool {
        let pat = format!("\"{key}\"");
        match self.meta.find(&pat) {
            Some(i) => self.meta[i + pat.len()..]
                .trim_start()
                .trim_start_matches(':')
                .trim_start()
                .starts_with("true"),
            None => false,
        }
    }
}

/// Split a markdown file into cases: the latest heading names the case, a
/// `<!-- meta=... -->` line precedes an `http`/`url` block, then a `log` block.
pub fn parse_markdown(file: &str, text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut cases = Vec::new();
    let mut name = String::new();
    let mut meta = String::new();
    let mut pending: Option<(String, String, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with('#') {
            name = line.trim_start_matches('#').trim().to_string();
        } else if let Some(m) = line.strip_prefix("<!-- meta=") {
            meta = m.trim_end().trim_end_matches("-->").trim().to_string();
        } else if let Some(lang) = line.strip_prefix("```") {
            let lang = lang.trim().to_string();
            let start = i;
            let mut body = String::new();
            i += 1;
            while i < lines.len() && !lines[i].starts_with("```") {
                body.push_str(lines[i]);
                body.push('\n');
                i += 1;
            }
            match lang.as_str() {
                "http" | "url" => pending = Some((lang, body, start + 1)),
                "log" => {
                    if let Some((kind, input, line_no)) = pending.take() {
                        cases.push(Case {
                            file: file.to_string(),
                            name: name.clone(),
                            line: line_no,
                            meta: std::mem::take(&mut meta),
                            input_kind: kind,
                            raw_input: input,
                            log: body,
                        });
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    cases
}

/// Decode a case's input the way llhttp's `md-test.ts` does.
pub fn decode_input(raw: &str) -> Vec<u8> {
    let mut s = raw.strip_suffix('\n').unwrap_or(raw).to_string();
    // Backslash-newline joins lines.
    s = s
        .replace("\\\r\n", "")
        .replace("\\\n", "")
        .replace("\\\r", "");
    // Normalise all newlines to CRLF.
    let s = s
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 == chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        match chars[i + 1] {
            'r' => {
                out.push('\r');
                i += 2;
            }
            'n' => {
                out.push('\n');
                i += 2;
            }
            't' => {
                out.push('\t');
                i += 2;
            }
            'f' => {
                out.push('\u{c}');
                i += 2;
            }
            'x' if i + 2 < chars.len() && chars[i + 2].is_ascii_hexdigit() => {
                let mut j = i + 2;
                let mut v = 0u32;
                while j < chars.len() && chars[j].is_ascii_hexdigit() {
                    v = v * 16 + chars[j].to_digit(16).unwrap();
                    j += 1;
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                i = j;
            }
            d if ('0'..='7').contains(&d) => {
                let mut j = i + 1;
                let mut v = 0u32;
                while j < chars.len() && j < i + 4 && ('0'..='7').contains(&chars[j]) {
                    v = v * 8 + chars[j].to_digit(8).unwrap();
                    j += 1;
                }
                out.push(char::from_u32(v).unwrap());
                i = j;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out.into_bytes()
}
