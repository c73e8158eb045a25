//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, server
//! scenarios) against `mxcp serve` over streamable HTTP on `examples/conformance`, through
//! `scripts/conformance.sh`. Failures must match `tests/conformance/baseline.yml` exactly: an
//! unexpected failure and a baseline entry that now passes both fail this test.
//! The first run installs Node 22 and the suite from the npm registry into
//! `~/.cache/mxcp-tools` (or `$MXCP_TOOLS_DIR`); later runs need no network.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn mcp_conformance_suite_matches_the_baseline() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let started = std::time::Instant::now();
    let output = Command::new("bash")
        .arg(root.join("scripts/conformance.sh"))
        .arg(env!("CARGO_BIN_EXE_mxcp"))
        .current_dir(&root)
        .output()
        .expect("bash runs scripts/conformance.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // shown with --nocapture, and by the harness when the test fails
    println!("{stdout}");
    eprintln!("{stderr}");
    println!("conformance run took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        output.status.success(),
        "scripts/conformance.sh failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}
