//! A short fixed-seed run of the differential harness against Node's http
//! server (`benches/differential/`, where the README describes the full
//! 20 000-input run): the built `eddy-server` and an in-process Node server
//! get the same mutated requests over 127.0.0.1. Fails on any divergence the
//! harness cannot put in a known class, on any input where eddy sees more
//! requests than Node outside the classes pending a server change, on a
//! regression input diverging again, and on a timeout; the harness bounds
//! each exchange (5 s) and the whole run (`--deadline-s`).

use std::process::Command;

#[test]
fn differential_against_node_fixed_seed() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/differential/differential.js"
    );
    let out = Command::new("node")
        .args([
            script,
            "--eddy",
            env!("CARGO_BIN_EXE_eddy-server"),
            "--seed",
            "7",
            "--inputs",
            "400",
            "--lanes",
            "16",
            // Generous: a loaded machine must not turn a close into "open".
            "--quiet-ms",
            "250",
            "--strict",
            "--show",
            "1",
            "--deadline-s",
            "120",
        ])
        .output()
        .expect("run node (the harness's peer; .ci/run installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Straight to stdout, past the test harness's capture: the class counts.
    let summary: String = stdout.lines().take(3).map(|l| format!("{l}\n")).collect();
    let _ = std::io::Write::write_all(&mut std::io::stdout(), summary.as_bytes());
    assert!(
        out.status.success(),
        "differential run failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("\n  unexplained: 0\n"), "{stdout}");
    // Not vacuous: the run reaches the classes it knows.
    assert!(stdout.contains("divergent in "), "{stdout}");
    assert!(stdout.contains("data after close"), "{stdout}");
}
