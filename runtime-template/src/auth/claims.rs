//! Verified claims → the caller's [`Identity`]: the user fields, the scopes, and the
//! capabilities `claim_mappings` derive.

use serde_json::{Map, Value as Json};

use crate::exec::identity::Identity;
use crate::load::auth_config::ClaimMappings;

/// The identity of a token's claims (JWT payload or introspection reply).
pub(crate) fn identity(claims: Map<String, Json>, provider: &str, mappings: &ClaimMappings) -> Identity {
    let text = |k: &str| match claims.get(k) {
        Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Json::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let username = ["preferred_username", "username", "login", "nickname", "email", "sub"].iter().find_map(|k| text(k));
    Identity {
        user_id: text("sub"),
        username,
        email: text("email"),
        name: text("name"),
        provider: Some(provider.to_string()),
        scopes: scopes(&claims),
        capabilities: capabilities(&claims, mappings),
        claims,
        ..Identity::default()
    }
}

/// `scope` (space-separated, RFC 9068 / RFC 7662) or `scp` (a list or a string).
pub(crate) fn scopes(claims: &Map<String, Json>) -> Vec<String> {
    let from = |v: &Json| -> Vec<String> {
        match v {
            Json::String(s) => s.split_whitespace().map(str::to_string).collect(),
            Json::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    claims.get("scope").or_else(|| claims.get("scp")).map(from).unwrap_or_default()
}

/// For each mapped claim, the capabilities of the values the claim has, in mapping order.
pub(crate) fn capabilities(claims: &Map<String, Json>, mappings: &ClaimMappings) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (path, values) in mappings {
        let Some(found) = lookup(claims, path) else {
            continue;
        };
        for value in claim_values(found) {
            for cap in values.get(&value).into_iter().flatten() {
                if !out.contains(cap) {
                    out.push(cap.clone());
                }
            }
        }
    }
    out
}

/// The claim at `path`: an exact key first (URI claims contain dots), then a dot path.
fn lookup<'a>(claims: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = claims.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

/// A claim's values as text: a list's items, a space-separated string's words, a scalar.
fn claim_values(v: &Json) -> Vec<String> {
    match v {
        Json::Array(items) => items.iter().flat_map(claim_values).collect(),
        Json::String(s) => s.split_whitespace().map(str::to_string).collect(),
        Json::Bool(_) | Json::Number(_) => vec![v.to_string()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde_json::json;

    fn mappings(spec: &[(&str, &[(&str, &[&str])])]) -> ClaimMappings {
        spec.iter()
            .map(|(claim, values)| {
                let v: IndexMap<String, Vec<String>> = values
                    .iter()
                    .map(|(val, caps)| (val.to_string(), caps.iter().map(|c| c.to_string()).collect()))
                    .collect();
                (claim.to_string(), v)
            })
            .collect()
    }

    #[test]
    fn maps_lists_strings_scalars_nested_and_uri_claims() {
        let claims = json!({
            "sub": "u1", "groups": ["analysts", "ops"], "roles": "reader writer", "admin": true,
            "realm_access": {"roles": ["auditor"]},
            "https://example.com/roles": ["owner"],
            "https://example.com": {"roles": ["nested-uri"]},
        });
        let m = mappings(&[
            ("groups", &[("analysts", &["read"]), ("nobody", &["never"])]),
            ("roles", &[("writer", &["write", "read"])]),
            ("admin", &[("true", &["admin"])]),
            ("realm_access.roles", &[("auditor", &["audit"])]),
            ("https://example.com/roles", &[("owner", &["own"])]),
        ]);
        let caps = capabilities(claims.as_object().unwrap(), &m);
        assert_eq!(caps, ["read", "write", "admin", "audit", "own"]);
    }

    #[test]
    fn exact_key_wins_over_dot_path() {
        let claims = json!({"a.b": "exact", "a": {"b": "nested"}});
        let m = mappings(&[("a.b", &[("exact", &["e"]), ("nested", &["n"])])]);
        assert_eq!(capabilities(claims.as_object().unwrap(), &m), ["e"]);
    }

    #[test]
    fn user_fields_and_scopes() {
        let claims = json!({"sub": "42", "email": "a@x", "scope": "mcp:tools openid", "name": "A"});
        let id = identity(claims.as_object().unwrap().clone(), "oidc", &ClaimMappings::new());
        assert_eq!(id.user_id.as_deref(), Some("42"));
        assert_eq!(id.username.as_deref(), Some("a@x"));
        assert_eq!(id.scopes, ["mcp:tools", "openid"]);
        let scp = json!({"scp": ["x", "y"]});
        assert_eq!(scopes(scp.as_object().unwrap()), ["x", "y"]);
    }
}
