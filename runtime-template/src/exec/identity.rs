//! Who is calling: one value for every call, whatever the transport, read by policies (the
//! `user` object), SQL (`get_username()` and friends) and Python (`mxcp.sdk.auth`).
//! It comes from `--user-context`, tests' `user_context`, or a verified access token.

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};

use crate::db::SqlSession;

#[derive(Clone, Default, PartialEq)]
pub struct Identity {
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    /// "cli", "test", or the authorization provider.
    pub provider: Option<String>,
    /// A user context as given (`--user-context`, tests); policies see every key of it.
    pub raw: Map<String, Json>,
    /// The verified access token's claims (policies see the mapped fields, not these).
    pub claims: Map<String, Json>,
    /// The token's scopes.
    pub scopes: Vec<String>,
    /// What `claim_mappings` derived from the claims.
    pub capabilities: Vec<String>,
    /// The upstream provider's token, when one was issued (never logged).
    pub external_token: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("provider", &self.provider)
            .field("external_token", &self.external_token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// The HTTP request a call came with (headers only, as the reference exposes them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// Headers from a JSON object (`--request-headers`); non-string values as JSON text.
    pub fn from_json(headers: &Map<String, Json>) -> Request {
        let text = |v: &Json| match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        Request { headers: headers.iter().map(|(k, v)| (k.clone(), text(v))).collect() }
    }
}

impl Identity {
    /// A user context given on the command line (`provider` "cli") or by a test ("test").
    pub fn from_user_context(given: &Map<String, Json>, provider: &str) -> Identity {
        let text = |k: &str| given.get(k).and_then(Json::as_str).map(str::to_string);
        Identity {
            user_id: text("user_id").or_else(|| Some(format!("{provider}_user"))),
            username: text("username"),
            email: text("email"),
            name: text("name"),
            provider: text("provider").or_else(|| Some(provider.to_string())),
            raw: given.clone(),
            external_token: text("external_token"),
            ..Identity::default()
        }
    }

    /// The `user` object CEL policies see: the reference's defaults under the given keys.
    pub fn policy_user(&self) -> Json {
        let claim = |k: &str| self.claims.get(k).cloned();
        let mut user = json!({
            "user_id": self.user_id, "username": self.username, "email": self.email,
            "provider": self.provider, "name": self.name,
            "role": claim("role").unwrap_or_else(|| json!("user")),
            "permissions": claim("permissions").unwrap_or_else(|| json!([])),
            "capabilities": self.capabilities, "scopes": self.scopes,
        });
        if let Some(u) = user.as_object_mut() {
            for (k, v) in &self.raw {
                if k != "external_token" {
                    u.insert(k.clone(), v.clone());
                }
            }
        }
        user
    }

    /// What Python's `get_user_context()` sees: the policy fields, the profile or claims as
    /// `raw_profile`, and the upstream token (set only when a provider issued one).
    pub fn python_user(&self) -> Json {
        let mut user = self.policy_user();
        let profile = if self.claims.is_empty() { &self.raw } else { &self.claims };
        user["raw_profile"] = Json::Object(profile.clone());
        user["external_token"] = json!(self.external_token);
        user
    }

    /// The `user` object of an anonymous call.
    pub fn anonymous_policy_user() -> Json {
        json!({"role": "anonymous", "permissions": [], "capabilities": [], "user_id": null, "username": null, "email": null, "provider": null})
    }

    /// What the SQL functions return for a call by this identity over `request`.
    pub fn sql_session(identity: Option<&Identity>, request: Option<&Request>) -> Option<Arc<SqlSession>> {
        if identity.is_none() && request.is_none() {
            return None;
        }
        Some(Arc::new(SqlSession {
            username: identity.and_then(|i| i.username.clone()),
            email: identity.and_then(|i| i.email.clone()),
            provider: identity.and_then(|i| i.provider.clone()),
            external_token: identity.and_then(|i| i.external_token.clone()),
            headers: request.map(|r| r.headers.clone()),
        }))
    }
}
