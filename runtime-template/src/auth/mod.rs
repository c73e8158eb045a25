//! Authorization for HTTP serving: mxcp as an OAuth 2.1 resource server (MCP authorization,
//! RFC 9728, RFC 6750, RFC 7662). [`Authenticator::start`] turns the `auth` block into a
//! checker or refuses to start; [`Authenticator::authenticate`] turns a request's headers
//! into the caller's [`Identity`] or a [`Rejection`]. The server calls nothing else.
//!
//! Strict by default: the audience is always checked (the canonical MCP URL unless
//! configured), the issuer exactly, `exp`/`nbf` with [`LEEWAY`] seconds, the algorithm
//! against the key; tokens are accepted only in the `Authorization` header, never logged,
//! never handed to SQL or Python.

mod cache;
mod challenge;
mod claims;
mod jwt;
mod jwt_crypto;
mod keys;
mod opaque;
mod setup;

use std::sync::Arc;

use http::HeaderMap;

use crate::exec::identity::Identity;
use crate::load::auth_config::ClaimMappings;

pub use challenge::Rejection;
pub use setup::{AuthError, Listen};

/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY: u64 = 30;
/// Longer tokens are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why one token failed a check.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 401 `invalid_token`.
    Invalid(String),
    /// 503: the authorization server could not be asked.
    Unavailable(String),
}

/// How tokens are checked, by provider.
enum Check {
    /// JWTs against the issuer's keys; opaque tokens by introspection, if the issuer offers it.
    Issuer {
        issuer: String,
        audience: String,
        keys: Option<keys::KeyCache>,
        introspection: Option<opaque::Introspection>,
    },
    Introspection(opaque::Introspection),
    GitHub {
        api: String,
        client_id: String,
        client_secret: String,
    },
    Google {
        tokeninfo: String,
        client_id: String,
    },
}

pub struct Authenticator {
    /// The MCP endpoint's canonical URL (the PRM `resource`).
    resource: String,
    /// Paths (on this server) where the metadata document is served.
    metadata_paths: Vec<String>,
    authorization_server: String,
    scopes_supported: Vec<String>,
    required_scopes: Vec<String>,
    provider: String,
    mappings: ClaimMappings,
    challenge: challenge::ChallengeBase,
    check: Check,
    fetcher: crate::fetch::Fetcher,
    cache: cache::TokenCache,
    sessions: cache::SessionOwners,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("resource", &self.resource).field("provider", &self.provider).finish()
    }
}

impl Authenticator {
    /// The canonical URL of the protected MCP endpoint.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the metadata document is served, path-aware form first.
    pub fn metadata_paths(&self) -> &[String] {
        &self.metadata_paths
    }

    /// The Protected Resource Metadata document.
    pub fn resource_metadata(&self) -> serde_json::Value {
        challenge::resource_metadata(&self.resource, &self.authorization_server, &self.scopes_supported)
    }

    /// A one-line description for the start-up log.
    pub fn describe(&self) -> String {
        let how = match &self.check {
            Check::Issuer { keys: Some(k), introspection, .. } => format!(
                "JWTs against {}{}",
                k.uri(),
                if introspection.is_some() { ", opaque tokens by introspection" } else { "" }
            ),
            Check::Issuer { keys: None, .. } | Check::Introspection(_) => "tokens by introspection".into(),
            Check::GitHub { .. } => "GitHub tokens of this OAuth app".into(),
            Check::Google { .. } => "Google tokens of this OAuth client".into(),
        };
        format!("{} ({how}), audience {}", self.provider, self.resource)
    }

    /// The caller of a request, from its headers and query string.
    pub async fn authenticate(&self, headers: &HeaderMap, query: Option<&str>) -> Result<Arc<Identity>, Rejection> {
        let token = self.bearer_token(headers, query)?;
        let identity = match self.cache.get(token) {
            Some(id) => id,
            None => {
                let (identity, exp) = self.verify(token).await.map_err(|f| match f {
                    Failure::Invalid(why) => self.challenge.invalid_token(&why),
                    Failure::Unavailable(why) => {
                        tracing::warn!("mxcp: {why}");
                        challenge::unavailable("the authorization server cannot be reached; try again")
                    }
                })?;
                let identity = Arc::new(identity);
                self.cache.put(token, identity.clone(), exp);
                identity
            }
        };
        let missing: Vec<&String> = self.required_scopes.iter().filter(|s| !identity.scopes.contains(s)).collect();
        if !missing.is_empty() {
            return Err(self.challenge.insufficient_scope(&self.required_scopes));
        }
        Ok(identity)
    }

    /// Whether `identity` may use the MCP session `session_id` (a session belongs to whoever
    /// opened it); records the owner of a session it has not seen.
    pub fn session_allowed(&self, session_id: &str, identity: &Identity) -> bool {
        self.sessions.allowed(session_id, identity)
    }

    pub fn session_opened(&self, session_id: &str, identity: &Identity) {
        self.sessions.opened(session_id, identity)
    }

    /// The token of a request: exactly one `Authorization: Bearer` header, nothing in the query.
    fn bearer_token<'h>(&self, headers: &'h HeaderMap, query: Option<&str>) -> Result<&'h str, Rejection> {
        let in_query = query.is_some_and(|q| q.split('&').any(|kv| kv.split('=').next() == Some("access_token")));
        if in_query {
            return Err(self.challenge.invalid_request("access tokens are accepted only in the Authorization header"));
        }
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Err(self.challenge.missing());
        };
        if values.next().is_some() {
            return Err(self.challenge.invalid_request("more than one Authorization header"));
        }
        let value = value.to_str().map_err(|_| self.challenge.invalid_token("the token is not well-formed"))?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(self.challenge.missing());
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(self.challenge.invalid_token("the token is empty"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(self.challenge.invalid_token("the token is too large"));
        }
        // RFC 6750 b64token
        let b64token = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
        if !token.chars().all(b64token) {
            return Err(self.challenge.invalid_token("the token is not well-formed"));
        }
        Ok(token)
    }

    async fn verify(&self, token: &str) -> Result<(Identity, Option<i64>), Failure> {
        let checked = match &self.check {
            Check::Issuer { issuer, audience, keys, introspection } => {
                match (keys, jwt::looks_like_jwt(token), introspection) {
                    (Some(keys), true, _) => {
                        let expected = jwt::Expected { issuer, audience, leeway: LEEWAY };
                        self.verify_jwt(keys, token, &expected).await?
                    }
                    (_, _, Some(i)) => opaque::introspect(&self.fetcher, i, token).await?,
                    (Some(_), false, None) => return Err(Failure::Invalid("the token is not a JWT".into())),
                    (None, _, None) => unreachable!("setup requires keys or introspection"),
                }
            }
            Check::Introspection(i) => opaque::introspect(&self.fetcher, i, token).await?,
            Check::GitHub { api, client_id, client_secret } => {
                opaque::github(&self.fetcher, api, client_id, client_secret, token).await?
            }
            Check::Google { tokeninfo, client_id } => {
                opaque::google(&self.fetcher, tokeninfo, client_id, token).await?
            }
        };
        Ok((claims::identity(checked.claims, &self.provider, &self.mappings), checked.exp))
    }

    async fn verify_jwt(
        &self,
        keys: &keys::KeyCache,
        token: &str,
        expected: &jwt::Expected<'_>,
    ) -> Result<opaque::Checked, Failure> {
        let first = keys.keys().await.verify(token, expected);
        let claims = match first {
            Err(jwt::Refusal::UnknownKey) => match keys.refetch_for_unknown_key().await {
                Some(set) => set.verify(token, expected),
                None => Err(jwt::Refusal::UnknownKey),
            },
            other => other,
        }
        .map_err(|r| {
            Failure::Invalid(match r {
                jwt::Refusal::UnknownKey => "the token is signed by an unknown key".into(),
                jwt::Refusal::Malformed(m) | jwt::Refusal::Invalid(m) => m,
            })
        })?;
        let exp = claims.get("exp").and_then(serde_json::Value::as_i64);
        Ok(opaque::Checked { claims, exp })
    }
}
