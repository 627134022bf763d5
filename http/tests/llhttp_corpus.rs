//! Replays llhttp's markdown conformance corpus (272 cases) against eddy's
//! parser: every input whole and split at every point, comparing the event log
//! line by line up to and including the error line (error codes must match,
//! reason texts need not). Every case runs with each byte scanner this CPU
//! has (AVX2, SSE2 and the portable SWAR fallback), so the fallback is
//! exercised wherever the suite runs.

mod corpus;

use corpus::log::{run, Recorder};
use corpus::{conformance_dir, decode_input, parse_markdown, Case};
use eddy_http::parser::{split_target, Kind, Lenient, Parser, Scan, Settings};

/// Cases eddy does not claim to pass, each with its reason. Keep this short.
const OUT_OF_SCOPE: &[(&str, &str, &str)] = &[];

fn lenient_flag(name: &str) -> Option<Lenient> {
    Some(match name {
        "headers" => Lenient::HEADERS,
        "chunked-length" => Lenient::CHUNKED_LENGTH,
        "keep-alive" => Lenient::KEEP_ALIVE,
        "transfer-encoding" => Lenient::TRANSFER_ENCODING,
        "version" => Lenient::VERSION,
        "data-after-close" => Lenient::DATA_AFTER_CLOSE,
        "optional-lf-after-cr" => Lenient::OPTIONAL_LF_AFTER_CR,
        "optional-crlf-after-chunk" => Lenient::OPTIONAL_CRLF_AFTER_CHUNK,
        "optional-cr-before-lf" => Lenient::OPTIONAL_CR_BEFORE_LF,
        "spaces-after-chunk-size" => Lenient::SPACES_AFTER_CHUNK_SIZE,
        "header-value-relaxed" => Lenient::HEADER_VALUE_RELAXED,
        "all" => Lenient::ALL,
        _ => return None,
    })
}

/// `request-lenient-headers` -> (Request, HEADERS, finish?)
fn parse_type(ty: &str) -> Option<(Kind, Lenient, bool)> {
    let (kind, rest) = if let Some(r) = ty.strip_prefix("request") {
        (Kind::Request, r)
    } else {
        (Kind::Response, ty.strip_prefix("response")?)
    };
    match rest {
        "" => Some((kind, Lenient::NONE, false)),
        "-finish" => Some((kind, Lenient::NONE, true)),
        _ => Some((kind, lenient_flag(rest.strip_prefix("-lenient-")?)?, false)),
    }
}

fn expected_lines(log: &str) -> Vec<Vec<u8>> {
    let log = log.replace("\\t", "\t").replace("\\f", "\u{c}");
    log.split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

/// Compare up to and including the first error line; on it, only up to `reason=`.
fn compare(expected: &[Vec<u8>], got: &[Vec<u8>]) -> Result<(), String> {
    let show = |l: &[u8]| String::from_utf8_lossy(l).into_owned();
    for (i, want) in expected.iter().enumerate() {
        let Some(have) = got.get(i) else {
            return Err(format!("line {i}: missing, expected `{}`", show(want)));
        };
        let is_error = show(want).contains(" error code=");
        let (w, h) = if is_error {
            let cut = |l: &[u8]| {
                let s = show(l);
                s.find(" reason=").map_or(s.clone(), |i| s[..i].to_string())
            };
            (cut(want), cut(have))
        } else {
            (show(want), show(have))
        };
        if w != h {
            return Err(format!(
                "line {i}: expected `{}`, got `{}`",
                show(want),
                show(have)
            ));
        }
        if is_error {
            return Ok(());
        }
    }
    if got.len() > expected.len() {
        return Err(format!(
            "extra line {}: `{}`",
            expected.len(),
            show(&got[expected.len()])
        ));
    }
    Ok(())
}

/// The scanners this CPU runs, each once (`Scan::Swar` always).
fn scanners() -> Vec<Scan> {
    let mut all: Vec<Scan> = [Scan::Avx2, Scan::Sse2, Scan::Swar]
        .into_iter()
        .map(|s| {
            Parser::with_settings(
                Kind::Request,
                Settings {
                    scan: s,
                    ..Settings::default()
                },
            )
            .scan()
        })
        .collect();
    all.dedup();
    all
}

fn run_http_case(case: &Case, scan: Scan) -> Result<(), String> {
    let ty = case.meta_str("type").ok_or("no type in meta")?;
    let (kind, lenient, print_finish) =
        parse_type(&ty).ok_or_else(|| format!("unknown type {ty}"))?;
    let input = decode_input(&case.raw_input);
    let expected = expected_lines(&case.log);
    let pause = case.meta_str("pause");
    let skip_body = case.meta_true("skipBody");
    let settings = Settings {
        lenient,
        scan,
        ..Settings::default()
    };
    let mut splits: Vec<Vec<usize>> = vec![vec![]];
    if !case.meta_true("noScan") {
        splits.extend((1..input.len()).map(|i| vec![i]));
        splits.push((1..input.len()).collect());
    }
    for cuts in splits {
        let mut parser = Parser::with_settings(kind, settings);
        let mut rec = Recorder::new(&input, pause.clone(), skip_body);
        let got = run(&mut parser, &mut rec, &input, &cuts, print_finish);
        let label = match cuts.len() {
            0 => "whole".to_string(),
            1 => format!("split at {}", cuts[0]),
            _ => "byte by byte".to_string(),
        };
        if std::env::var("EDDY_CORPUS_DEBUG").is_ok() && cuts.is_empty() {
            for l in &got {
                eprintln!("  {}", String::from_utf8_lossy(l));
            }
        }
        compare(&expected, &got).map_err(|e| format!("{scan:?}, {label}: {e}"))?;
    }
    Ok(())
}

fn run_url_case(case: &Case) -> Result<(), String> {
    let input = decode_input(&case.raw_input);
    let expected = expected_lines(&case.log);
    let base = Recorder::new(&input, None, false);
    let mut rec = base;
    let (parts, error) = match split_target(&input, false) {
        Ok(t) => (t, None),
        Err(e) => ((*e.partial).clone(), Some(e)),
    };
    let spans = [
        ("url.schema", parts.schema),
        ("url.host", parts.host),
        ("url.path", parts.path),
        ("url.query", parts.query),
        ("url.fragment", parts.fragment),
    ];
    let mut lines = Vec::new();
    for (name, range) in spans {
        if let Some(r) = range {
            lines.push(format!("off={} len={} span[{name}]=\"", r.start, r.len()).into_bytes());
            let l = lines.last_mut().unwrap();
            l.extend_from_slice(&input[r]);
            l.push(b'"');
        }
    }
    if let Some(e) = error {
        rec.line(e.offset, &format!("error code=7 reason=\"{}\"", e.reason));
        lines.extend(rec.render());
    }
    compare(&expected, &lines)
}

#[test]
#[cfg_attr(
    eddy_corpus_missing = "llhttp",
    ignore = "SKIPPED: conformance corpus ../shared/conformance/llhttp not found (set EDDY_CONFORMANCE_DIR; CI sets EDDY_REQUIRE_CONFORMANCE=1)"
)]
fn llhttp_corpus() {
    let dir = conformance_dir("llhttp");
    let mut files = Vec::new();
    for sub in ["request", "response"] {
        let mut entries: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        files.extend(entries);
    }
    files.push(dir.join("url.md"));
    let scans = scanners();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&dir).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        for case in parse_markdown(&rel, &text) {
            if OUT_OF_SCOPE
                .iter()
                .any(|(f, n, _)| *f == rel && *n == case.name)
            {
                skipped += 1;
                continue;
            }
            let result = if case.input_kind == "url" {
                run_url_case(&case)
            } else {
                scans.iter().try_for_each(|&s| run_http_case(&case, s))
            };
            match result {
                Ok(()) => passed += 1,
                Err(e) => {
                    failed += 1;
                    failures.push(format!("{}:{} `{}`: {e}", case.file, case.line, case.name));
                }
            }
        }
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    // Straight to stdout: `println!` is captured when the test passes, and
    // this line belongs in every CI log.
    let line = format!(
        "llhttp corpus: {passed} passed, {failed} failed, {skipped} out of scope \
         (each with scanners {scans:?})\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes());
    assert_eq!(failed, 0, "{failed} llhttp corpus cases failed");
}
