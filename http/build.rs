//! Looks for the conformance corpora that `tests/llhttp_corpus.rs` and
//! `tests/desync_guardian.rs` replay. A corpus that is missing compiles its
//! test as `#[ignore]`d with the reason (cfg `eddy_corpus_missing = "NAME"`),
//! so a plain `cargo test` reports it as ignored rather than as a pass.
//! With `EDDY_REQUIRE_CONFORMANCE=1` (CI) nothing is ignored: the test runs
//! and fails on the missing corpus.

use std::path::PathBuf;

const CORPORA: [&str; 2] = ["llhttp", "desync-guardian"];

fn main() {
    println!(
        "cargo::rustc-check-cfg=cfg(eddy_corpus_missing, values(\"llhttp\", \"desync-guardian\"))"
    );
    println!("cargo::rerun-if-env-changed=EDDY_CONFORMANCE_DIR");
    println!("cargo::rerun-if-env-changed=EDDY_REQUIRE_CONFORMANCE");
    let dir = match std::env::var_os("EDDY_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    };
    // A path that does not exist makes cargo rerun this script every build,
    // so a corpus that appears later is found.
    println!("cargo::rerun-if-changed={}", dir.display());
    let required = std::env::var("EDDY_REQUIRE_CONFORMANCE").as_deref() == Ok("1");
    for name in CORPORA {
        if !required && !dir.join(name).is_dir() {
            println!("cargo::rustc-cfg=eddy_corpus_missing=\"{name}\"");
        }
    }
}
