//! Outbound HTTP: for authorization (discovery documents, key sets, token introspection, the
//! providers' token-check APIs) and for telemetry (OTLP exports). The only module that talks
//! to reqwest. Every request is bounded in time and size, and no token, secret or header value
//! ever appears in an error.

use std::time::Duration;

use serde_json::Value as Json;

/// A document larger than this is refused (a key set is a few KB).
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("{url}: {message}")]
pub(crate) struct FetchError {
    pub url: String,
    pub message: String,
}

/// A reply: its status and its body parsed as JSON (`Null` when it is not JSON).
pub(crate) struct Reply {
    pub status: u16,
    pub body: Json,
}

#[derive(Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
}

pub(crate) enum Body<'a> {
    Form(&'a [(&'a str, &'a str)]),
    Json(&'a Json),
}

impl Fetcher {
    pub(crate) fn new() -> Result<Fetcher, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("mxcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
        Ok(Fetcher { client })
    }

    pub(crate) async fn get(&self, url: &str) -> Result<Reply, FetchError> {
        self.send(self.client.get(url), url).await
    }

    /// A POST with HTTP basic authentication (client id and secret), if given.
    pub(crate) async fn post(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        body: Body<'_>,
    ) -> Result<Reply, FetchError> {
        let mut req = self.client.post(url).header("accept", "application/json");
        if let Some((user, password)) = basic {
            req = req.basic_auth(user, Some(password));
        }
        req = match body {
            Body::Form(fields) => req.form(fields),
            Body::Json(v) => req.header("content-type", "application/json").body(v.to_string()),
        };
        self.send(req, url).await
    }

    /// A POST of `body` as `content_type` with extra `headers` (an OTLP export).
    pub(crate) async fn post_bytes(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Reply, FetchError> {
        let mut req = self.client.post(url).header("content-type", content_type).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        self.send(req, url).await
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Reply, FetchError> {
        let fail = |message: String| FetchError { url: url.to_string(), message };
        // the error's own text may quote the request; only its kind is reported
        let resp = req.send().await.map_err(|e| fail(describe(&e)))?;
        let status = resp.status().as_u16();
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(fail("the reply is too large".into()));
        }
        let mut resp = resp;
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(describe(&e)))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_BODY {
                return Err(fail("the reply is too large".into()));
            }
        }
        Ok(Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Json::Null) })
    }
}

/// The kind of failure and its root cause (never the request itself: tokens are only ever
/// sent in bodies and headers, which errors do not quote).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    if std::ptr::addr_eq(root, e as &dyn std::error::Error) { kind.to_string() } else { format!("{kind} ({root})") }
}
