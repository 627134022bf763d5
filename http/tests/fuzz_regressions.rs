//! Replays the inputs in `tests/fuzz_regressions/` (fuzzer finds and seeds)
//! through the fuzz target's property: no panic, same result whole as split.

#[path = "corpus/split_check.rs"]
mod split_check;

#[test]
fn fuzz_regressions() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_regressions");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in paths {
        let data = std::fs::read(&path).unwrap();
        eprintln!("replaying {}", path.display());
        split_check::check(&data);
    }
}
