//! Tokens that are not JWTs, checked by asking the issuer: RFC 7662 introspection, GitHub's
//! "check a token" API (which also proves the token was issued to this OAuth app), Google's
//! tokeninfo. Each gives the token's claims and when it stops being valid.

use serde_json::{Map, Value as Json, json};

use super::Failure;
use crate::fetch::{Body, Fetcher};

/// What a check learnt: the claims, in JWT vocabulary, and the expiry (seconds since epoch).
pub(crate) struct Checked {
    pub claims: Map<String, Json>,
    pub exp: Option<i64>,
}

/// How a token proves it was issued for this server.
#[derive(Debug, Clone)]
pub(crate) enum Binding {
    /// `aud` contains this value.
    Audience(String),
    /// `client_id` (or `aud`, `azp`) is this OAuth client (providers whose tokens name the app).
    Client(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Introspection {
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    /// `iss` must be this when the reply has one.
    pub issuer: Option<String>,
    pub binding: Binding,
}

pub(crate) async fn introspect(fetcher: &Fetcher, i: &Introspection, token: &str) -> Result<Checked, Failure> {
    let form = [("token", token), ("token_type_hint", "access_token")];
    let reply = fetcher
        .post(&i.url, Some((&i.client_id, &i.client_secret)), Body::Form(&form))
        .await
        .map_err(|e| Failure::Unavailable(format!("token introspection failed: {e}")))?;
    if reply.status != 200 {
        return Err(Failure::Unavailable(format!("token introspection failed: {}: HTTP {}", i.url, reply.status)));
    }
    let Json::Object(claims) = reply.body else {
        return Err(Failure::Unavailable(format!("token introspection failed: {}: not a JSON object", i.url)));
    };
    if claims.get("active") != Some(&Json::Bool(true)) {
        return Err(Failure::Invalid("the token is not active".into()));
    }
    if let (Some(want), Some(got)) = (&i.issuer, claims.get("iss").and_then(Json::as_str)) {
        if want != got {
            return Err(Failure::Invalid("the token was issued by another issuer".into()));
        }
    }
    let exp = claims.get("exp").and_then(Json::as_i64);
    if exp.is_some_and(|e| e <= now()) {
        return Err(Failure::Invalid("the token has expired".into()));
    }
    if !bound(&claims, &i.binding) {
        return Err(Failure::Invalid("the token is not meant for this server (audience)".into()));
    }
    Ok(Checked { claims, exp })
}

fn bound(claims: &Map<String, Json>, binding: &Binding) -> bool {
    let has = |key: &str, want: &str| match claims.get(key) {
        Some(Json::String(s)) => s == want,
        Some(Json::Array(items)) => items.iter().any(|v| v.as_str() == Some(want)),
        _ => false,
    };
    match binding {
        Binding::Audience(a) => has("aud", a),
        Binding::Client(c) => has("client_id", c) || has("aud", c) || has("azp", c),
    }
}

/// GitHub: `POST /applications/{client_id}/token` with the app's credentials answers 200 only
/// for a live token issued to this app.
pub(crate) async fn github(
    fetcher: &Fetcher,
    api: &str,
    client_id: &str,
    client_secret: &str,
    token: &str,
) -> Result<Checked, Failure> {
    let url = format!("{}/applications/{client_id}/token", api.trim_end_matches('/'));
    let body = json!({ "access_token": token });
    let reply = fetcher
        .post(&url, Some((client_id, client_secret)), Body::Json(&body))
        .await
        .map_err(|e| Failure::Unavailable(format!("the GitHub token check failed: {e}")))?;
    match reply.status {
        200 => {}
        404 | 422 => return Err(Failure::Invalid("GitHub does not know this token for this app".into())),
        s => return Err(Failure::Unavailable(format!("the GitHub token check failed: {url}: HTTP {s}"))),
    }
    let user = &reply.body["user"];
    let mut claims = Map::new();
    let put = |claims: &mut Map<String, Json>, k: &str, v: &Json| {
        if !v.is_null() {
            claims.insert(k.to_string(), v.clone());
        }
    };
    put(&mut claims, "sub", &user["id"].as_i64().map(|i| json!(i.to_string())).unwrap_or(user["id"].clone()));
    put(&mut claims, "login", &user["login"]);
    put(&mut claims, "email", &user["email"]);
    put(&mut claims, "name", &user["name"]);
    let scopes: Vec<&str> = reply.body["scopes"].as_array().into_iter().flatten().filter_map(Json::as_str).collect();
    claims.insert("scope".into(), json!(scopes.join(" ")));
    let exp = reply.body["expires_at"].as_str().and_then(parse_rfc3339);
    Ok(Checked { claims, exp })
}

/// Google: tokeninfo answers 200 with the token's audience, scopes and expiry.
pub(crate) async fn google(fetcher: &Fetcher, url: &str, client_id: &str, token: &str) -> Result<Checked, Failure> {
    // the token goes in the body, never in a URL that proxies log
    let form = [("access_token", token)];
    let reply = fetcher
        .post(url, None, Body::Form(&form))
        .await
        .map_err(|e| Failure::Unavailable(format!("the Google token check failed: {e}")))?;
    match reply.status {
        200 => {}
        400 | 401 => return Err(Failure::Invalid("Google does not know this token".into())),
        s => return Err(Failure::Unavailable(format!("the Google token check failed: {url}: HTTP {s}"))),
    }
    let Json::Object(mut claims) = reply.body else {
        return Err(Failure::Unavailable("the Google token check failed: not a JSON object".into()));
    };
    if !bound(&claims, &Binding::Client(client_id.to_string())) {
        return Err(Failure::Invalid("the token is not meant for this server (audience)".into()));
    }
    // tokeninfo writes numbers as strings
    let exp = match claims.get("exp") {
        Some(Json::String(s)) => s.parse().ok(),
        Some(v) => v.as_i64(),
        None => None,
    };
    if exp.is_some_and(|e| e <= now()) {
        return Err(Failure::Invalid("the token has expired".into()));
    }
    if let Some(e) = exp {
        claims.insert("exp".into(), json!(e));
    }
    Ok(Checked { claims, exp })
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}
