//! From the `auth` block to a running [`Authenticator`], or a reason not to start. Every
//! configuration that asks for protection ends in a checker or an error: never an open server.

use super::opaque::{Binding, Introspection};
use super::{Authenticator, Check, cache, challenge, keys};
use crate::fetch::Fetcher;
use crate::load::auth_config::{AuthConfig, AuthMode, HttpTransport, Provider, ProviderBlock};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "auth.mode is 'issuer' (the default) with provider '{0}': issuer mode, where mxcp is the OAuth authorization \
         server, is not available in this build yet. Refusing to serve HTTP without the protection the configuration \
         asks for. Use `mode: verifier` with an authorization server that issues tokens for this server, or serve over stdio."
    )]
    IssuerModeUnavailable(&'static str),
    #[error("auth.provider is '{provider}' but the configuration has no '{provider}:' block")]
    MissingBlock { provider: &'static str },
    #[error("auth.{provider}.{key} is required to verify tokens")]
    MissingKey { provider: &'static str, key: &'static str },
    #[error(
        "no audience to check tokens against: the server listens on {host}, which is not an address clients use. \
         Set transport.http.base_url to the URL clients reach (the MCP endpoint is <base_url>/mcp) or auth.{provider}.audience"
    )]
    NoAudience { host: String, provider: &'static str },
    #[error(
        "verifier mode is not offered for atlassian: Atlassian's tokens cannot be checked as issued for this server. \
         Use an OIDC provider in front of it, or serve over stdio"
    )]
    AtlassianVerifier,
    #[error("cannot reach the authorization server: {0}")]
    Discovery(String),
}

/// Where the server listens (the default public URL when `base_url` is not set).
pub struct Listen<'a> {
    pub host: &'a str,
    pub port: u16,
}

impl Authenticator {
    /// The checker for `auth` (None: `provider: none`, an open server as configured). Fetches the
    /// issuer's discovery document and keys now, so a wrong URL stops the start, not a call.
    pub async fn start(
        auth: &AuthConfig,
        http: &HttpTransport,
        listen: Listen<'_>,
    ) -> Result<Option<Authenticator>, AuthError> {
        let provider = auth.provider;
        if provider == Provider::None {
            return Ok(None);
        }
        if auth.mode == AuthMode::Issuer {
            return Err(AuthError::IssuerModeUnavailable(provider.as_str()));
        }
        let name = provider.as_str();
        let block = auth.block.as_ref().ok_or(AuthError::MissingBlock { provider: name })?;
        let need = |v: &Option<String>, key: &'static str| -> Result<String, AuthError> {
            v.clone().filter(|s| !s.is_empty()).ok_or(AuthError::MissingKey { provider: name, key })
        };
        let resource = match resource_url(http, &listen) {
            Some(r) => r,
            None if block.audience.is_some() => format!("{}/mcp", base_of(http, &listen)),
            None => return Err(AuthError::NoAudience { host: listen.host.to_string(), provider: name }),
        };
        let fetcher = Fetcher::new().map_err(AuthError::Discovery)?;
        super::jwt_crypto::install();
        let (check, authorization_server) = match provider {
            Provider::Oidc | Provider::Keycloak => {
                let config_url = match provider {
                    Provider::Keycloak => format!(
                        "{}/realms/{}/.well-known/openid-configuration",
                        need(&block.server_url, "server_url")?.trim_end_matches('/'),
                        need(&block.realm, "realm")?
                    ),
                    _ => need(&block.config_url, "config_url")?,
                };
                let audience = block.audience.clone().unwrap_or_else(|| resource.clone());
                issuer_check(&fetcher, &config_url, audience, block).await?
            }
            Provider::Salesforce => {
                let url = match &block.api_url {
                    Some(u) => u.clone(),
                    None => need(&block.auth_url, "auth_url")?.replace("/authorize", "/introspect"),
                };
                let server = origin(&need(&block.auth_url, "auth_url")?);
                let check = Check::Introspection(Introspection {
                    url,
                    client_id: need(&block.client_id, "client_id")?,
                    client_secret: need(&block.client_secret, "client_secret")?,
                    issuer: None,
                    binding: Binding::Client(need(&block.client_id, "client_id")?),
                });
                (check, server)
            }
            Provider::Github => {
                let check = Check::GitHub {
                    api: block.api_url.clone().unwrap_or_else(|| "https://api.github.com".into()),
                    client_id: need(&block.client_id, "client_id")?,
                    client_secret: need(&block.client_secret, "client_secret")?,
                };
                (check, "https://github.com/login/oauth".to_string())
            }
            Provider::Google => {
                let check = Check::Google {
                    tokeninfo: block
                        .api_url
                        .clone()
                        .unwrap_or_else(|| "https://oauth2.googleapis.com/tokeninfo".into()),
                    client_id: need(&block.client_id, "client_id")?,
                };
                (check, "https://accounts.google.com".to_string())
            }
            Provider::Atlassian => return Err(AuthError::AtlassianVerifier),
            Provider::None => unreachable!("handled above"),
        };
        // the scopes clients should ask for: the provider block's (what the reference requests
        // upstream, e.g. `openid`), then the required ones
        let mut scope: Vec<String> =
            block.scope.as_deref().unwrap_or_default().split_whitespace().map(str::to_string).collect();
        for s in &auth.required_scopes {
            if !scope.contains(s) {
                scope.push(s.clone());
            }
        }
        // refresh tokens are the client's business (MCP 2026-07-28: do not advertise offline_access)
        scope.retain(|s| s != "offline_access");
        let metadata_paths = metadata_paths(&resource);
        let metadata_url = format!("{}{}", origin(&resource), metadata_paths[0]);
        Ok(Some(Authenticator {
            resource,
            metadata_paths,
            authorization_server,
            scopes_supported: scope.clone(),
            required_scopes: auth.required_scopes.clone(),
            provider: block.provider_name.clone().unwrap_or_else(|| name.to_string()),
            mappings: block.claim_mappings.clone(),
            challenge: challenge::ChallengeBase { metadata_url, scope },
            check,
            fetcher,
            cache: cache::TokenCache::default(),
            sessions: cache::SessionOwners::default(),
        }))
    }
}

/// OIDC discovery: the issuer, its keys, its introspection endpoint.
async fn issuer_check(
    fetcher: &Fetcher,
    config_url: &str,
    audience: String,
    block: &ProviderBlock,
) -> Result<(Check, String), AuthError> {
    let reply = fetcher.get(config_url).await.map_err(|e| AuthError::Discovery(e.to_string()))?;
    if reply.status != 200 || !reply.body.is_object() {
        return Err(AuthError::Discovery(format!("{config_url}: HTTP {}, not a discovery document", reply.status)));
    }
    let doc = reply.body;
    let issuer = doc["issuer"]
        .as_str()
        .ok_or_else(|| AuthError::Discovery(format!("{config_url}: the discovery document has no 'issuer'")))?
        .to_string();
    let keys = match doc["jwks_uri"].as_str() {
        Some(uri) => Some(keys::KeyCache::load(uri, fetcher.clone()).await.map_err(AuthError::Discovery)?),
        None => None,
    };
    let introspection = match (doc["introspection_endpoint"].as_str(), &block.client_id, &block.client_secret) {
        (Some(url), Some(id), Some(secret)) => Some(Introspection {
            url: url.to_string(),
            client_id: id.clone(),
            client_secret: secret.clone(),
            issuer: Some(issuer.clone()),
            binding: Binding::Audience(audience.clone()),
        }),
        _ => None,
    };
    if keys.is_none() && introspection.is_none() {
        return Err(AuthError::Discovery(format!(
            "{config_url}: the issuer publishes neither a jwks_uri nor an introspection_endpoint"
        )));
    }
    Ok((Check::Issuer { issuer: issuer.clone(), audience, keys, introspection }, issuer))
}

/// `<base_url>/mcp`, or built from the listening address when that is one clients can use.
fn resource_url(http: &HttpTransport, listen: &Listen) -> Option<String> {
    if http.base_url.is_none() && matches!(listen.host, "0.0.0.0" | "::" | "[::]" | "") {
        return None;
    }
    Some(format!("{}/mcp", base_of(http, listen)))
}

fn base_of(http: &HttpTransport, listen: &Listen) -> String {
    match &http.base_url {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => {
            let scheme = http.scheme.as_deref().unwrap_or("http");
            let host = if listen.host.contains(':') && !listen.host.starts_with('[') {
                format!("[{}]", listen.host)
            } else {
                listen.host.to_string()
            };
            format!("{scheme}://{host}:{}", listen.port)
        }
    }
}

/// `https://h:1/a/b` → `https://h:1`.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i].to_string(),
        None => url.to_string(),
    }
}

/// RFC 9728 §3.1: the well-known prefix inserted before the resource's path, then the root form.
fn metadata_paths(resource: &str) -> Vec<String> {
    let path = &resource[origin(resource).len()..];
    let mut out = vec![format!("/.well-known/oauth-protected-resource{path}")];
    if path != "/mcp" {
        // behind a proxy that strips a prefix, the request arrives as /mcp
        out.push("/.well-known/oauth-protected-resource/mcp".into());
    }
    out.push("/.well-known/oauth-protected-resource".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls() {
        let http = HttpTransport::default();
        assert_eq!(
            resource_url(&http, &Listen { host: "127.0.0.1", port: 8000 }).unwrap(),
            "http://127.0.0.1:8000/mcp"
        );
        assert_eq!(resource_url(&http, &Listen { host: "::1", port: 1 }).unwrap(), "http://[::1]:1/mcp");
        assert!(resource_url(&http, &Listen { host: "0.0.0.0", port: 1 }).is_none());
        let http =
            HttpTransport { base_url: Some("https://api.example.com/tools/".into()), ..HttpTransport::default() };
        let r = resource_url(&http, &Listen { host: "0.0.0.0", port: 1 }).unwrap();
        assert_eq!(r, "https://api.example.com/tools/mcp");
        assert_eq!(
            metadata_paths(&r),
            [
                "/.well-known/oauth-protected-resource/tools/mcp",
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(origin(&r), "https://api.example.com");
    }
}
