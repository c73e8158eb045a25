//! What checking an access token adds to a call (a measurement, not a test): the
//! authenticator against the test OpenID provider (tests/oidc, started here when `./dev bench`
//! has set it up), keys fetched once. A fresh token each time (RS256 signature, claims) and
//! the same token again (the verified-token cache, a client's steady state).

// a benchmark reports its figures on stdout
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use mxcp_runtime::auth::{Authenticator, Listen};
use mxcp_runtime::load::auth_config::{AuthConfig, AuthMode, HttpTransport, Provider, ProviderBlock};

fn main() {
    let (Ok(node), Ok(script)) = (std::env::var("MXCP_TEST_NODE"), std::env::var("MXCP_TEST_OIDC_SCRIPT")) else {
        println!("auth: skipped (the test OpenID provider is not set up; run ./dev bench)");
        return;
    };
    let mut op = Command::new(node).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("OP");
    let mut line = String::new();
    BufReader::new(op.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let issuer = serde_json::from_str::<serde_json::Value>(&line).unwrap()["issuer"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let cfg = AuthConfig {
            present: true,
            mode: AuthMode::Verifier,
            provider: Provider::Oidc,
            block: Some(ProviderBlock {
                config_url: Some(format!("{issuer}/.well-known/openid-configuration")),
                scope: Some("openid mcp:tools".into()),
                ..ProviderBlock::default()
            }),
            ..AuthConfig::default()
        };
        let auth = Authenticator::start(&cfg, &HttpTransport::default(), Listen { host: "127.0.0.1", port: 8000 })
            .await
            .expect("authenticator")
            .expect("protected");
        let http = reqwest::Client::new();
        let n = 1000;
        let mut tokens = Vec::with_capacity(n);
        for i in 0..n {
            let body = serde_json::json!({"claims": {"sub": format!("user{i}"), "aud": auth.resource(), "scope": "mcp:tools"}});
            let req = http.post(format!("{issuer}/test/mint")).header("content-type", "application/json");
            let bytes = req.body(body.to_string()).send().await.unwrap().bytes().await.unwrap();
            let reply: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            tokens.push(format!("Bearer {}", reply["token"].as_str().unwrap()));
        }
        let headers = |t: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::AUTHORIZATION, t.parse().unwrap());
            h
        };
        let mut fresh = Vec::with_capacity(n);
        for t in &tokens {
            let h = headers(t);
            let start = Instant::now();
            auth.authenticate(&h, None).await.expect("valid");
            fresh.push(start.elapsed().as_secs_f64() * 1e6);
        }
        let h = headers(&tokens[0]);
        let mut cached = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            auth.authenticate(&h, None).await.expect("valid");
            cached.push(start.elapsed().as_secs_f64() * 1e6);
        }
        println!(
            "auth: token check per request, median of {n}: fresh RS256 token {:.1} µs, same token again (cache) {:.2} µs (bar: < 50 µs)",
            median(&mut fresh),
            median(&mut cached)
        );
    });
    let _ = op.kill();
    let _ = op.wait();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
