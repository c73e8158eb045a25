//! What a refused request gets back (RFC 6750 §3 challenges, MCP authorization), and the
//! Protected Resource Metadata document (RFC 9728) that tells clients where to get a token.

use serde_json::{Value as Json, json};

/// A refused request: status, `WWW-Authenticate` (if any) and a JSON body. Built only from
/// fixed texts and configuration, never from the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub body: Json,
    /// Seconds a client should wait (503 when the authorization server cannot be reached).
    pub retry_after: Option<u64>,
}

/// The parts of a challenge that depend on the server, not the request.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeBase {
    pub metadata_url: String,
    /// The scopes a client should ask for (`scope=` on every 401).
    pub scope: Vec<String>,
}

impl ChallengeBase {
    /// 401 without an error code: the request carried no usable credentials (RFC 6750 §3.1).
    pub(crate) fn missing(&self) -> Rejection {
        self.reject(401, None, "authentication required")
    }

    /// 401 `invalid_token`: expired, revoked, malformed, foreign.
    pub(crate) fn invalid_token(&self, description: &str) -> Rejection {
        self.reject(401, Some("invalid_token"), description)
    }

    /// 400 `invalid_request`: a token sent twice, or sent where tokens are not accepted.
    pub(crate) fn invalid_request(&self, description: &str) -> Rejection {
        self.reject(400, Some("invalid_request"), description)
    }

    /// 403 `insufficient_scope` naming every scope the operation needs, in one challenge.
    pub(crate) fn insufficient_scope(&self, needed: &[String]) -> Rejection {
        let description = format!("this server requires the scopes: {}", needed.join(" "));
        let header = format!(
            "Bearer error=\"insufficient_scope\", error_description=\"{}\", scope=\"{}\", resource_metadata=\"{}\"",
            quote(&description),
            quote(&needed.join(" ")),
            quote(&self.metadata_url)
        );
        Rejection {
            status: 403,
            www_authenticate: Some(header),
            body: json!({"error": "insufficient_scope", "error_description": description}),
            retry_after: None,
        }
    }

    fn reject(&self, status: u16, error: Option<&str>, description: &str) -> Rejection {
        let mut params = Vec::new();
        if let Some(e) = error {
            params.push(format!("error=\"{e}\""));
            params.push(format!("error_description=\"{}\"", quote(description)));
        }
        params.push(format!("resource_metadata=\"{}\"", quote(&self.metadata_url)));
        if !self.scope.is_empty() {
            params.push(format!("scope=\"{}\"", quote(&self.scope.join(" "))));
        }
        Rejection {
            status,
            www_authenticate: Some(format!("Bearer {}", params.join(", "))),
            body: json!({"error": error.unwrap_or("unauthorized"), "error_description": description}),
            retry_after: None,
        }
    }
}

/// 503: the token could not be checked now (the authorization server is unreachable).
pub(crate) fn unavailable(description: &str) -> Rejection {
    Rejection {
        status: 503,
        www_authenticate: None,
        body: json!({"error": "temporarily_unavailable", "error_description": description}),
        retry_after: Some(5),
    }
}

/// A quoted-string value (RFC 9110 §5.6.4): `"` and `\` escaped, control characters dropped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The Protected Resource Metadata document.
pub(crate) fn resource_metadata(resource: &str, authorization_server: &str, scopes: &[String]) -> Json {
    json!({
        "resource": resource,
        "authorization_servers": [authorization_server],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "mxcp",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_quote_and_name_the_metadata() {
        let base = ChallengeBase {
            metadata_url: "https://h/.well-known/oauth-protected-resource/mcp".into(),
            scope: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            base.missing().www_authenticate.unwrap(),
            "Bearer resource_metadata=\"https://h/.well-known/oauth-protected-resource/mcp\", scope=\"a b\""
        );
        let r = base.invalid_token("bad \"x\"\n");
        assert_eq!(r.status, 401);
        assert!(
            r.www_authenticate
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\", error_description=\"bad \\\"x\\\"\"")
        );
        let r = base.insufficient_scope(&["a".into(), "c".into()]);
        assert_eq!(r.status, 403);
        assert!(r.www_authenticate.unwrap().contains("scope=\"a c\""));
    }
}
