//! `/healthz` (alive) and `/readyz` (the database opens, not draining) on the HTTP port:
//! unauthenticated, so load balancers and orchestrators can probe a protected server too.

mod common;

use common::{HttpServer, http_get};

#[test]
fn health_and_readiness() {
    let dir = common::project(&[("tools/t.yml", "mxcp: 1\ntool:\n  name: t\n  source: {code: \"SELECT 1 AS x\"}\n")]);
    let server = HttpServer::start(dir.path(), &[]);
    let origin = server.url.trim_end_matches("/mcp");
    assert_eq!(http_get(&format!("{origin}/healthz"), &[]).2, r#"{"status":"ok"}"#);
    let (status, _, body) = http_get(&format!("{origin}/readyz"), &[]);
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
}

#[test]
fn readiness_fails_when_the_database_cannot_open() {
    let dir = common::project(&[("tools/t.yml", "mxcp: 1\ntool:\n  name: t\n  source: {code: \"SELECT 1 AS x\"}\n")]);
    // a directory where the database file should be: DuckDB cannot open it
    common::write(
        dir.path(),
        "mxcp-site.yml",
        "mxcp: 1\nproject: test\nprofile: default\nprofiles:\n  default:\n    duckdb:\n      path: db_is_a_dir\n",
    );
    std::fs::create_dir(dir.path().join("db_is_a_dir")).unwrap();
    let server = HttpServer::start(dir.path(), &[]);
    let origin = server.url.trim_end_matches("/mcp");
    assert_eq!(http_get(&format!("{origin}/healthz"), &[]).0, 200, "alive all the same");
    let (status, _, body) = http_get(&format!("{origin}/readyz"), &[]);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
}
