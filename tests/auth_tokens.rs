//! `mxcp serve` over HTTP as an OAuth resource server checking the tokens of a real OpenID
//! provider (npm `oidc-provider`, tests/oidc): a corpus of bad tokens, each with the exact
//! status and challenge it must get; the metadata document; key rotation; introspection of
//! opaque tokens; sessions bound to their caller.

mod common;

use common::oidc::{self, Op};
use common::{HttpServer, http_get, http_post};
use serde_json::{Value as Json, json};

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn project() -> tempfile::TempDir {
    common::project(&[
        ("mxcp-site.yml", "mxcp: 1\nproject: authp\nprofile: default\n"),
        (
            "tools/whoami.yml",
            "mxcp: 1\ntool:\n  name: whoami\n  description: who\n  return:\n    type: object\n  source:\n    code: \"SELECT get_username() AS username, get_user_email() AS email\"\n",
        ),
    ])
}

struct Setup {
    op: Op,
    server: HttpServer,
    _dir: tempfile::TempDir,
}

fn start(auth_extra: &str) -> Setup {
    let op = Op::start();
    let dir = project();
    let config = oidc::verifier_config(dir.path(), &op, auth_extra);
    let server = oidc::serve(dir.path(), &config);
    Setup { op, server, _dir: dir }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Status and `WWW-Authenticate` of an `initialize` POST with these headers.
fn attempt(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let (status, head, _) = http_post(url, INIT, headers);
    let challenge = common::header(&head, "www-authenticate").unwrap_or_default();
    (status, challenge)
}

const REQUIRED: &str = "          authorization:\n            required_scopes: [mcp:tools]\n";

#[test]
fn bad_token_corpus() {
    if oidc::skip_without_op() {
        return;
    }
    let s = start(REQUIRED);
    let url = s.server.url.clone();
    let origin = url.trim_end_matches("/mcp").to_string();
    let metadata = format!("{origin}/.well-known/oauth-protected-resource/mcp");
    let good = |extra: Json| {
        let mut c = json!({"sub": "alice", "aud": url, "scope": "mcp:tools", "email": "alice@example.com"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let bare = format!(r#"Bearer resource_metadata="{metadata}", scope="openid mcp:tools""#);
    let invalid = |why: &str| {
        format!(
            r#"Bearer error="invalid_token", error_description="{why}", resource_metadata="{metadata}", scope="openid mcp:tools""#
        )
    };
    let bad_request = |why: &str| {
        format!(
            r#"Bearer error="invalid_request", error_description="{why}", resource_metadata="{metadata}", scope="openid mcp:tools""#
        )
    };
    let op = &s.op;
    let bearer = |t: &str| format!("Bearer {t}");
    let huge = "a".repeat(20_000);

    struct Case {
        name: &'static str,
        headers: Vec<(String, String)>,
        query: &'static str,
        status: u16,
        challenge: String,
    }
    let auth = |v: String| vec![("Authorization".to_string(), v)];
    let cases = vec![
        Case { name: "no token", headers: vec![], query: "", status: 401, challenge: bare.clone() },
        Case {
            name: "basic scheme",
            headers: auth("Basic YWxpY2U6cHc=".into()),
            query: "",
            status: 401,
            challenge: bare.clone(),
        },
        Case {
            name: "empty bearer",
            headers: auth("Bearer ".into()),
            query: "",
            status: 401,
            challenge: invalid("the token is empty"),
        },
        Case {
            name: "bad characters",
            headers: auth("Bearer a,b\"c".into()),
            query: "",
            status: 401,
            challenge: invalid("the token is not well-formed"),
        },
        Case {
            name: "opaque unknown",
            headers: auth(bearer("not-a-token-the-op-issued")),
            query: "",
            status: 401,
            challenge: invalid("the token is not active"),
        },
        Case {
            name: "JWT header without alg",
            headers: auth(bearer("eyJ0eXAiOiJKV1QifQ.e30.c2ln")),
            query: "",
            status: 401,
            challenge: invalid("the token is not a well-formed JWT"),
        },
        Case {
            name: "bad signature",
            headers: auth(bearer(&op.mint(good(json!({})), "foreign"))),
            query: "",
            status: 401,
            challenge: invalid("the token's signature is not valid"),
        },
        Case {
            name: "unknown kid",
            headers: auth(bearer(&op.mint(good(json!({})), "foreign-kid"))),
            query: "",
            status: 401,
            challenge: invalid("the token is signed by an unknown key"),
        },
        Case {
            name: "alg none",
            headers: auth(bearer(&op.mint(good(json!({})), "none"))),
            query: "",
            status: 401,
            challenge: invalid("the token's algorithm is not accepted"),
        },
        Case {
            name: "HS256 keyed with the public key",
            headers: auth(bearer(&op.mint(good(json!({})), "hs256-with-public-key"))),
            query: "",
            status: 401,
            challenge: invalid("the token's algorithm HS256 is not accepted for its key"),
        },
        Case {
            name: "expired",
            headers: auth(bearer(&op.mint(good(json!({"exp": now() - 120})), "op"))),
            query: "",
            status: 401,
            challenge: invalid("the token has expired"),
        },
        Case {
            name: "not yet valid",
            headers: auth(bearer(&op.mint(good(json!({"nbf": now() + 300})), "op"))),
            query: "",
            status: 401,
            challenge: invalid("the token is not valid yet"),
        },
        Case {
            name: "wrong issuer",
            headers: auth(bearer(&op.mint(good(json!({"iss": "http://127.0.0.1:1"})), "op"))),
            query: "",
            status: 401,
            challenge: invalid("the token was issued by another issuer"),
        },
        Case {
            name: "wrong audience",
            headers: auth(bearer(&op.mint(good(json!({"aud": "http://other.example/mcp"})), "op"))),
            query: "",
            status: 401,
            challenge: invalid("the token is not meant for this server (audience)"),
        },
        Case {
            name: "audience = base URL, not the MCP URL",
            headers: auth(bearer(&op.mint(good(json!({"aud": origin})), "op"))),
            query: "",
            status: 401,
            challenge: invalid("the token is not meant for this server (audience)"),
        },
        Case {
            name: "no exp",
            headers: auth(bearer(&op.mint(good(json!({"exp": null})), "op"))),
            query: "",
            status: 401,
            challenge: invalid("the token has no 'exp' claim"),
        },
        Case {
            name: "no aud",
            headers: auth(bearer(&op.mint(good(json!({"aud": null})), "op"))),
            query: "",
            status: 401,
            challenge: invalid("the token has no 'aud' claim"),
        },
        Case {
            name: "missing scope",
            headers: auth(bearer(&op.mint(good(json!({"scope": "openid"})), "op"))),
            query: "",
            status: 403,
            challenge: format!(
                r#"Bearer error="insufficient_scope", error_description="this server requires the scopes: mcp:tools", scope="mcp:tools", resource_metadata="{metadata}""#
            ),
        },
        Case {
            name: "token in the query string",
            headers: vec![],
            query: "?access_token=abc",
            status: 400,
            challenge: bad_request("access tokens are accepted only in the Authorization header"),
        },
        Case {
            name: "token in the query and the header",
            headers: auth(bearer(&op.mint(good(json!({})), "op"))),
            query: "?x=1&access_token=abc",
            status: 400,
            challenge: bad_request("access tokens are accepted only in the Authorization header"),
        },
        Case {
            name: "two Authorization headers",
            headers: vec![
                ("Authorization".into(), bearer(&op.mint(good(json!({})), "op"))),
                ("Authorization".into(), "Bearer x".into()),
            ],
            query: "",
            status: 400,
            challenge: bad_request("more than one Authorization header"),
        },
        Case {
            name: "huge token",
            headers: auth(bearer(&huge)),
            query: "",
            status: 401,
            challenge: invalid("the token is too large"),
        },
        // accepted ones, so the refusals above are not a server refusing everything
        Case {
            name: "valid RS256",
            headers: auth(bearer(&op.mint(good(json!({})), "op"))),
            query: "",
            status: 200,
            challenge: String::new(),
        },
        Case {
            name: "valid ES256",
            headers: auth(bearer(&op.mint(good(json!({})), "op-ec"))),
            query: "",
            status: 200,
            challenge: String::new(),
        },
        Case {
            name: "expired within the leeway",
            headers: auth(bearer(&op.mint(good(json!({"exp": now() - 5})), "op"))),
            query: "",
            status: 200,
            challenge: String::new(),
        },
        Case {
            name: "audience list containing the MCP URL",
            headers: auth(bearer(&op.mint(good(json!({"aud": ["x", url]})), "op"))),
            query: "",
            status: 200,
            challenge: String::new(),
        },
        Case {
            name: "lower-case scheme",
            headers: auth(format!("bearer {}", op.mint(good(json!({})), "op"))),
            query: "",
            status: 200,
            challenge: String::new(),
        },
        Case {
            name: "token from the token endpoint",
            headers: auth(bearer(&op.client_credentials(&url, "mcp:tools"))),
            query: "",
            status: 200,
            challenge: String::new(),
        },
    ];
    assert!(cases.iter().filter(|c| c.status != 200).count() >= 20);
    let mut failures = Vec::new();
    for c in &cases {
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, challenge) = attempt(&format!("{url}{}", c.query), &headers);
        if (status, challenge.as_str()) != (c.status, c.challenge.as_str()) {
            failures.push(format!("{}: got {status} {challenge:?}\n   want {} {:?}", c.name, c.status, c.challenge));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn metadata_names_the_mcp_endpoint_and_the_real_authorization_server() {
    if oidc::skip_without_op() {
        return;
    }
    let s = start(REQUIRED);
    let origin = s.server.url.trim_end_matches("/mcp").to_string();
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let (status, _, body) = http_get(&format!("{origin}{path}"), &[]);
        assert_eq!(status, 200, "{path}");
        let doc: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], s.server.url, "{path}");
        assert_eq!(doc["authorization_servers"], json!([s.op.issuer]));
        assert_eq!(doc["scopes_supported"], json!(["openid", "mcp:tools"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    // probes need none
    for probe in ["/healthz", "/readyz"] {
        assert_eq!(http_get(&format!("{origin}{probe}"), &[]).0, 200, "{probe}");
    }
    // the stream and session ends need a token too
    for method in ["GET", "DELETE"] {
        let (status, _, _) = common::http_request(method, &s.server.url, "", &[]);
        assert_eq!(status, 401, "{method} /mcp");
    }
}

#[test]
fn rotated_keys_are_fetched_once_and_unknown_kids_do_not_hammer_the_issuer() {
    if oidc::skip_without_op() {
        return;
    }
    let s = start("");
    let url = &s.server.url;
    let claims = json!({"sub": "alice", "aud": url});
    let fetched = || s.op.stats()["jwks"].as_i64().unwrap();
    assert_eq!(fetched(), 1, "keys fetched once at start");
    s.op.rotate();
    let token = s.op.mint(claims.clone(), "op-new");
    assert_eq!(attempt(url, &[("Authorization", &format!("Bearer {token}"))]).0, 200, "a rotated key is picked up");
    assert_eq!(fetched(), 2);
    for _ in 0..5 {
        let forged = s.op.mint(claims.clone(), "foreign-kid");
        assert_eq!(attempt(url, &[("Authorization", &format!("Bearer {forged}"))]).0, 401);
    }
    assert_eq!(fetched(), 2, "no refetch within the refetch interval");
}

#[test]
fn opaque_tokens_are_introspected_and_cached() {
    if oidc::skip_without_op() {
        return;
    }
    // the OP issues opaque tokens for resources ending in /opaque: make that the audience
    let audience = "http://127.0.0.1:9/opaque";
    let s = start(&format!("            audience: {audience}\n"));
    let url = &s.server.url;
    let token = s.op.client_credentials(audience, "mcp:tools");
    assert!(!token.contains('.'), "an opaque token: {token}");
    let introspected = || s.op.stats()["introspection"].as_i64().unwrap();
    for _ in 0..3 {
        assert_eq!(attempt(url, &[("Authorization", &format!("Bearer {token}"))]).0, 200);
    }
    assert_eq!(introspected(), 1, "introspected once, then cached");
    // a token for another resource is active but not ours
    let other = s.op.client_credentials("http://127.0.0.1:10/opaque", "mcp:tools");
    let (status, challenge) = attempt(url, &[("Authorization", &format!("Bearer {other}"))]);
    assert_eq!(status, 401);
    assert!(challenge.contains("not meant for this server"), "{challenge}");
    // the issuer gone: tokens cannot be checked, and nothing is let through
    let fresh = s.op.client_credentials(audience, "mcp:tools");
    drop(s.op);
    let (status, head, _) = http_post(url, INIT, &[("Authorization", &format!("Bearer {fresh}"))]);
    assert_eq!(status, 503, "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after: 5"), "{head}");
    drop(s.server);
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn a_session_belongs_to_whoever_opened_it() {
    if oidc::skip_without_op() {
        return;
    }
    let s = start("");
    let url = &s.server.url;
    let alice = format!("Bearer {}", s.op.mint(json!({"sub": "alice", "aud": url}), "op"));
    let bob = format!("Bearer {}", s.op.mint(json!({"sub": "bob", "aud": url}), "op"));
    let (status, head, _) = http_post(url, INIT, &[("Authorization", &alice)]);
    assert_eq!(status, 200, "{head}");
    let session = common::header(&head, "mcp-session-id").expect("a session id");
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let with = |who: &str| {
        vec![
            ("Authorization", who.to_string()),
            ("mcp-session-id", session.clone()),
            ("mcp-protocol-version", "2025-06-18".into()),
        ]
    };
    assert_eq!(http_post(url, initialized, &as_refs(&with(&alice))).0, 202);
    let (status, _, body) = http_post(url, list, &as_refs(&with(&bob)));
    assert_eq!(status, 404, "bob cannot use alice's session: {body}");
    let (status, _, body) = http_post(url, list, &as_refs(&with(&alice)));
    assert_eq!(status, 200);
    assert!(body.contains("whoami"), "{body}");
}
