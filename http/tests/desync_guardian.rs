//! AWS http-desync-guardian's request-smuggling tiers against eddy's strict
//! parser: Severe must be rejected; Ambiguous rejected or marked to close the
//! connection; Compliant and Acceptable accepted. Everything runs in strict
//! mode, except that Compliant/Acceptable cases strict mode rejects where
//! llhttp's strict mode does (bad header-name or header-value bytes, a space
//! after the version, HTTP/1.2, `chunked;param`) must then be accepted with
//! the one lenient flag that covers them (`LENIENT_FOR_TOLERATED`). Every case
//! is parsed with each byte scanner (AVX2, SSE2, SWAR), which must agree.

mod corpus;

use corpus::conformance_dir;
use eddy_http::parser::{Handler, HeadersAction, Kind, Lenient, Parser, Scan, Settings};

/// Compliant/Acceptable cases that eddy rejects on purpose, each with why.
/// (No Ambiguous case needs one: GET/HEAD with a body is accepted but closes.)
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "International in URI",
        "raw UTF-8 in the request-target: llhttp's corpus (`Disallow UTF-8 in URI path in strict mode`) requires rejecting it",
    ),
    (
        "Empty URI",
        "`GET  HTTP/1.1` has no request-target (RFC 9112 section 3 requires one); the version would be read as the target",
    ),
    (
        "[space] in URI",
        "a space inside the request-target: llhttp's corpus (`Space in URI`) requires rejecting it",
    ),
];

/// The flags a Compliant/Acceptable case that strict mode rejects may need,
/// each tried alone: what llhttp's strict mode rejects, eddy's does too.
const LENIENT_FOR_TOLERATED: &[(&str, Lenient)] = &[
    ("HEADERS", Lenient::HEADERS),
    ("VERSION", Lenient::VERSION),
    ("SPACES_AFTER_VERSION", Lenient::SPACES_AFTER_VERSION),
    ("TRANSFER_ENCODING", Lenient::TRANSFER_ENCODING),
];

#[derive(Debug, Default)]
struct Case {
    name: String,
    method: String,
    uri: String,
    version: String,
    headers: Vec<(String, String)>,
    tier: String,
}

/// Decode a YAML scalar: plain, 'single-quoted' or "double-quoted" with escapes.
fn scalar(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return raw.to_string();
    };
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 == chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let hex = |from: usize, n: usize| {
            let s: String = chars[from..(from + n).min(chars.len())].iter().collect();
            char::from_u32(u32::from_str_radix(&s, 16).unwrap()).unwrap()
        };
        i += 2;
        match chars[i - 1] {
            'r' => out.push('\r'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            'x' => {
                out.push(hex(i, 2));
                i += 2;
            }
            'u' => {
                out.push(hex(i, 4));
                i += 4;
            }
            c => out.push(c),
        }
    }
    out
}

/// Read the handful of keys the guardian's YAML files use.
fn parse_yaml(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut in_expected = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let item = trimmed.strip_prefix("- ");
        let body = item.unwrap_or(trimmed);
        let Some((key, value)) = body.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if indent == 0 && item.is_some() {
            cases.push(Case {
                name: scalar(value),
                ..Case::default()
            });
            in_expected = false;
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue;
        };
        match (indent, key.trim()) {
            (2, "uri") => case.uri = scalar(value),
            (2, "method") => case.method = scalar(value),
            (2, "version") => case.version = scalar(value),
            (2, "expected") => in_expected = true,
            (2, _) => in_expected = false,
            (4, "name") if item.is_some() => case.headers.push((scalar(value), String::new())),
            (6, "value") => case.headers.last_mut().unwrap().1 = scalar(value),
            (4, "tier") if in_expected => case.tier = scalar(value),
            _ => {}
        }
    }
    cases
}

fn build_request(c: &Case) -> Vec<u8> {
    let mut r = format!("{} {}", c.method, c.uri);
    if !c.version.is_empty() {
        r.push(' ');
        r.push_str(&c.version);
    }
    r.push_str("\r\n");
    for (name, value) in &c.headers {
        r.push_str(&format!("{name}: {value}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

#[derive(Default)]
struct Head {
    complete: bool,
    keep_alive: bool,
}

impl Handler for Head {
    fn on_headers_complete(&mut self, p: &Parser) -> HeadersAction {
        self.complete = true;
        self.keep_alive = p.should_keep_alive();
        HeadersAction::Proceed
    }
}

/// `Ok(keep_alive)` when the head parsed, `Err(reason)` when rejected; the
/// same with every scanner, or a panic naming the one that differs.
fn parse(req: &[u8], lenient: Lenient) -> Result<bool, String> {
    let result = parse_with(req, lenient, Scan::Swar);
    for scan in [Scan::Sse2, Scan::Avx2, Scan::Auto] {
        assert_eq!(
            parse_with(req, lenient, scan),
            result,
            "{scan:?} and Swar differ on {:?}",
            String::from_utf8_lossy(req)
        );
    }
    result
}

fn parse_with(req: &[u8], lenient: Lenient, scan: Scan) -> Result<bool, String> {
    let settings = Settings {
        lenient,
        scan,
        ..Settings::default()
    };
    let mut parser = Parser::with_settings(Kind::Request, settings);
    let mut head = Head::default();
    match parser.execute(&mut head, req) {
        Err(e) => Err(e.to_string()),
        Ok(_) if head.complete => Ok(head.keep_alive),
        Ok(_) => Err("incomplete".to_string()),
    }
}

#[test]
#[cfg_attr(
    eddy_corpus_missing = "desync-guardian",
    ignore = "SKIPPED: conformance corpus ../shared/conformance/desync-guardian not found (set EDDY_CONFORMANCE_DIR; CI sets EDDY_REQUIRE_CONFORMANCE=1)"
)]
fn desync_guardian_tiers() {
    let dir = conformance_dir("desync-guardian");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    // tier -> (as required, not, of which only with a lenient flag, of which exceptions)
    let mut counts = std::collections::BTreeMap::<String, (usize, usize, usize, usize)>::new();
    let mut by_flag = std::collections::BTreeMap::<&str, usize>::new();
    let mut failures = Vec::new();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for case in parse_yaml(&std::fs::read_to_string(path).unwrap()) {
            let req = build_request(&case);
            let result = parse(&req, Lenient::NONE);
            let excepted = EXCEPTIONS.iter().any(|(n, _)| *n == case.name);
            let tolerated_by = LENIENT_FOR_TOLERATED
                .iter()
                .find(|(_, flag)| parse(&req, *flag).is_ok())
                .map(|(name, _)| *name);
            let entry = counts.entry(case.tier.clone()).or_default();
            let ok = match case.tier.as_str() {
                "Severe" => result.is_err(),
                "Ambiguous" => !matches!(result, Ok(true)),
                "Compliant" | "Acceptable" if result.is_ok() => true,
                "Compliant" | "Acceptable" if tolerated_by.is_some() => {
                    entry.2 += 1;
                    *by_flag.entry(tolerated_by.unwrap_or_default()).or_default() += 1;
                    true
                }
                "Compliant" | "Acceptable" if excepted => {
                    entry.3 += 1;
                    true
                }
                "Compliant" | "Acceptable" => false,
                other => panic!("{file}: `{}`: unknown tier {other:?}", case.name),
            };
            if ok {
                entry.0 += 1;
            } else {
                entry.1 += 1;
                failures.push(format!(
                    "{file} [{}] `{}`: {:?} -> {result:?}",
                    case.tier,
                    case.name,
                    String::from_utf8_lossy(&req)
                ));
            }
        }
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    for (tier, (ok, bad, lenient, excepted)) in &counts {
        let line = format!(
            "desync-guardian {tier}: {ok} as required ({lenient} only with a lenient flag, \
             {excepted} listed exceptions), {bad} not"
        );
        // Straight to stdout, past the test harness's capture.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes());
    }
    for (flag, n) in &by_flag {
        let line = format!("desync-guardian: {n} accepted only with Lenient::{flag}\n");
        let _ = std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes());
    }
    for (name, why) in EXCEPTIONS {
        eprintln!("exception `{name}`: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} desync-guardian cases failed",
        failures.len()
    );
}
