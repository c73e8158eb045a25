//! The active profile's `auth` block and the `transport` section of the user configuration,
//! decoded with positions like every other file. The keys, the required ones and the
//! refusals follow the reference; the few keys mxcp adds are named in [`MXCP_KEYS`].

use indexmap::IndexMap;

use crate::load::decode::{Decoder, Fields, child, describe, index};
use crate::load::user_config::resolve_string;
use crate::load::yaml::{Node, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// mxcp is the authorization server, in front of an upstream identity provider.
    #[default]
    Issuer,
    /// mxcp checks tokens an external authorization server issued.
    Verifier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    #[default]
    None,
    Github,
    Atlassian,
    Salesforce,
    Keycloak,
    Google,
    Oidc,
}

impl Provider {
    pub const NAMES: &[&str] = &["none", "github", "atlassian", "salesforce", "keycloak", "google", "oidc"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn parse(s: &str) -> Provider {
        match s {
            "github" => Provider::Github,
            "atlassian" => Provider::Atlassian,
            "salesforce" => Provider::Salesforce,
            "keycloak" => Provider::Keycloak,
            "google" => Provider::Google,
            "oidc" => Provider::Oidc,
            _ => Provider::None,
        }
    }
}

/// `claim_mappings`: claim path → claim value → capabilities, in file order.
pub type ClaimMappings = IndexMap<String, IndexMap<String, Vec<String>>>;

/// A provider block (`github:`, `keycloak:`, `oidc:` ...); which keys are allowed depends on
/// the provider and the mode.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderBlock {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub callback_path: Option<String>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub realm: Option<String>,
    pub server_url: Option<String>,
    pub config_url: Option<String>,
    pub audience: Option<String>,
    pub provider_name: Option<String>,
    pub extra_authorize_params: IndexMap<String, String>,
    pub claim_mappings: ClaimMappings,
    /// mxcp: where the provider's API answers (GitHub's token check, Google's tokeninfo,
    /// Salesforce's introspection); the public service when unset.
    pub api_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OAuthClient {
    pub client_id: String,
    pub name: String,
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthConfig {
    /// Whether the profile has an `auth` block at all.
    pub present: bool,
    pub mode: AuthMode,
    pub provider: Provider,
    /// The block of the chosen provider, if the file has one.
    pub block: Option<ProviderBlock>,
    pub clients: Vec<OAuthClient>,
    pub required_scopes: Vec<String>,
    pub persistence_path: Option<String>,
}

/// `transport.http`: where the server listens and how clients reach it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpTransport {
    pub port: Option<u16>,
    pub host: Option<String>,
    pub scheme: Option<String>,
    /// The public URL clients use (the MCP endpoint is `<base_url>/mcp`).
    pub base_url: Option<String>,
    pub trust_proxy: bool,
    pub stateless: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransportConfig {
    pub provider: Option<String>,
    pub http: HttpTransport,
}

const AUTH_KEYS: &[&str] = &[
    "mode",
    "provider",
    "clients",
    "github",
    "atlassian",
    "salesforce",
    "keycloak",
    "google",
    "oidc",
    "authorization",
    "persistence",
];
const OAUTH_APP_KEYS: &[&str] =
    &["client_id", "client_secret", "scope", "callback_path", "auth_url", "token_url", "claim_mappings", "api_url"];
const KEYCLOAK_KEYS: &[&str] =
    &["client_id", "client_secret", "realm", "server_url", "scope", "callback_path", "claim_mappings", "audience"];
const OIDC_ISSUER_KEYS: &[&str] = &[
    "config_url",
    "client_id",
    "client_secret",
    "scope",
    "callback_path",
    "audience",
    "extra_authorize_params",
    "provider_name",
    "claim_mappings",
];
const OIDC_VERIFIER_KEYS: &[&str] =
    &["config_url", "client_id", "client_secret", "scope", "audience", "provider_name", "claim_mappings"];
/// Keys mxcp reads that the reference does not have (documented in docs/auth.md).
pub const MXCP_KEYS: &[&str] = &["api_url", "keycloak.audience"];

/// Decodes the `auth` block at `path`; strings may be `${VAR}` or `file://` references.
pub fn decode_auth(node: &Node, path: &str, d: &mut Decoder) -> AuthConfig {
    let mut cfg = AuthConfig { present: true, ..AuthConfig::default() };
    if node.is_null() {
        return cfg;
    }
    let Some(f) = d.map(node, path, AUTH_KEYS) else {
        return cfg;
    };
    if d.choice(&f, "mode", &["issuer", "verifier"]).as_deref() == Some("verifier") {
        cfg.mode = AuthMode::Verifier;
    }
    cfg.provider = d.choice(&f, "provider", Provider::NAMES).map(|s| Provider::parse(&s)).unwrap_or_default();
    for name in &Provider::NAMES[1..] {
        let Some(block) = f.get(name).filter(|n| !n.is_null()) else {
            continue;
        };
        let decoded = decode_block(Provider::parse(name), cfg.mode, block, &f.path_of(name), d);
        if Provider::parse(name) == cfg.provider {
            cfg.block = decoded;
        }
    }
    if let Some(list) = f.get("clients") {
        let lpath = f.path_of("clients");
        for (i, item) in d.seq(list, &lpath).unwrap_or_default().iter().enumerate() {
            if let Some(client) = decode_client(item, &index(&lpath, i), d) {
                cfg.clients.push(client);
            }
        }
    }
    if let Some(a) = f.get("authorization").filter(|n| !n.is_null()) {
        if let Some(af) = d.map(a, &f.path_of("authorization"), &["required_scopes"]) {
            cfg.required_scopes = d.string_list(&af, "required_scopes", false).unwrap_or_default();
        }
    }
    if let Some(p) = f.get("persistence").filter(|n| !n.is_null()) {
        if let Some(pf) = d.map(p, &f.path_of("persistence"), &["type", "path", "auth_encryption_key"]) {
            d.choice(&pf, "type", &["sqlite"]);
            cfg.persistence_path = text(d, &pf, "path", false);
            text(d, &pf, "auth_encryption_key", false);
        }
    }
    cfg
}

fn decode_block(provider: Provider, mode: AuthMode, node: &Node, path: &str, d: &mut Decoder) -> Option<ProviderBlock> {
    let (allowed, required): (&[&str], &[&str]) = match (provider, mode) {
        (Provider::Keycloak, _) => {
            (KEYCLOAK_KEYS, &["client_id", "client_secret", "realm", "server_url", "callback_path"])
        }
        (Provider::Oidc, AuthMode::Issuer) => {
            (OIDC_ISSUER_KEYS, &["config_url", "client_id", "client_secret", "scope", "callback_path"])
        }
        (Provider::Oidc, AuthMode::Verifier) => {
            (OIDC_VERIFIER_KEYS, &["config_url", "client_id", "client_secret", "scope"])
        }
        (Provider::Atlassian | Provider::Google, _) => {
            (OAUTH_APP_KEYS, &["client_id", "client_secret", "scope", "callback_path", "auth_url", "token_url"])
        }
        _ => (OAUTH_APP_KEYS, &["client_id", "client_secret", "callback_path", "auth_url", "token_url"]),
    };
    let f = d.map(node, path, allowed)?;
    for key in required {
        if !f.has(key) {
            d.missing(&f, key);
        }
    }
    let mut b = ProviderBlock {
        client_id: text(d, &f, "client_id", false),
        client_secret: text(d, &f, "client_secret", false),
        scope: text(d, &f, "scope", false),
        callback_path: text(d, &f, "callback_path", false),
        auth_url: text(d, &f, "auth_url", false),
        token_url: text(d, &f, "token_url", false),
        realm: text(d, &f, "realm", false),
        server_url: text(d, &f, "server_url", false),
        config_url: text(d, &f, "config_url", false),
        audience: text(d, &f, "audience", false),
        provider_name: text(d, &f, "provider_name", false),
        api_url: text(d, &f, "api_url", false),
        ..ProviderBlock::default()
    };
    if provider == Provider::Oidc {
        if let Some(scope) = &b.scope {
            if !scope.split_whitespace().any(|s| s == "openid") {
                let pos = f.get("scope").map(|n| n.pos).unwrap_or(node.pos);
                d.error(pos, &f.path_of("scope"), "OIDC scope must include 'openid'");
            }
        }
    }
    if let Some(p) = f.get("extra_authorize_params").filter(|n| !n.is_null()) {
        let ppath = f.path_of("extra_authorize_params");
        for (k, v) in d.any_map(p, &ppath).unwrap_or_default() {
            let key = k.key_text().unwrap_or_default();
            if let Some(s) = resolved(d, v, &child(&ppath, &key)) {
                b.extra_authorize_params.insert(key, s);
            }
        }
    }
    if let Some(m) = f.get("claim_mappings").filter(|n| !n.is_null()) {
        b.claim_mappings = decode_claim_mappings(m, &f.path_of("claim_mappings"), d);
    }
    Some(b)
}

fn decode_claim_mappings(node: &Node, path: &str, d: &mut Decoder) -> ClaimMappings {
    let mut out = ClaimMappings::new();
    for (k, v) in d.any_map(node, path).unwrap_or_default() {
        let claim = k.key_text().unwrap_or_default();
        let cpath = child(path, &claim);
        let mut values = IndexMap::new();
        for (vk, caps) in d.any_map(v, &cpath).unwrap_or_default() {
            // as in the reference, a claim value is a string: `"true"`, not `true`
            let Value::Str(value) = &vk.value else {
                d.error(vk.pos, &cpath, format!("a claim value must be a string, found {}", describe(vk)));
                continue;
            };
            let value = value.clone();
            let vpath = child(&cpath, &value);
            let list: Vec<String> = d
                .seq(caps, &vpath)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, n)| d.as_string(n, &index(&vpath, i)))
                .collect();
            values.insert(value, list);
        }
        out.insert(claim, values);
    }
    out
}

fn decode_client(node: &Node, path: &str, d: &mut Decoder) -> Option<OAuthClient> {
    let f = d.map(node, path, &["client_id", "name", "client_secret", "redirect_uris", "grant_types", "scopes"])?;
    let client_id = text(d, &f, "client_id", true);
    let name = text(d, &f, "name", true);
    let client = OAuthClient {
        client_id: client_id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        client_secret: text(d, &f, "client_secret", false),
        redirect_uris: d.string_list(&f, "redirect_uris", false).unwrap_or_default(),
        grant_types: d.string_list(&f, "grant_types", false).unwrap_or_default(),
        scopes: d.string_list(&f, "scopes", false).unwrap_or_default(),
    };
    for (i, g) in client.grant_types.iter().enumerate() {
        if !matches!(g.as_str(), "authorization_code" | "refresh_token") {
            let pos = f.get("grant_types").map(|n| n.pos).unwrap_or(node.pos);
            d.error(
                pos,
                &index(&f.path_of("grant_types"), i),
                format!("invalid grant type '{g}' (expected authorization_code or refresh_token)"),
            );
        }
    }
    Some(client)
}

/// Decodes the top-level `transport` section.
pub fn decode_transport(node: &Node, path: &str, d: &mut Decoder) -> TransportConfig {
    let mut cfg = TransportConfig::default();
    if node.is_null() {
        return cfg;
    }
    let Some(f) = d.map(node, path, &["provider", "http"]) else {
        return cfg;
    };
    cfg.provider = d.choice(&f, "provider", &["stdio", "streamable-http", "sse"]);
    let Some(h) = f.get("http").filter(|n| !n.is_null()) else {
        return cfg;
    };
    let Some(hf) = d.map(h, &f.path_of("http"), &["port", "host", "scheme", "base_url", "trust_proxy", "stateless"])
    else {
        return cfg;
    };
    if let Some(node) = hf.get("port") {
        // the reference's model also takes a quoted number ("8000")
        let port = match &node.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match port.map(u16::try_from) {
            Some(Ok(p)) => cfg.http.port = Some(p),
            Some(Err(_)) => {
                d.error(node.pos, &hf.path_of("port"), format!("port {} is out of range (0-65535)", describe(node)))
            }
            None if node.is_null() => {}
            None => d.error(node.pos, &hf.path_of("port"), format!("expected a port number, found {}", describe(node))),
        }
    }
    cfg.http.host = text(d, &hf, "host", false);
    cfg.http.scheme = d.choice(&hf, "scheme", &["http", "https"]);
    cfg.http.base_url = text(d, &hf, "base_url", false);
    if let (Some(url), Some(n)) = (&cfg.http.base_url, hf.get("base_url")) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            d.error(n.pos, &hf.path_of("base_url"), format!("base_url '{url}' must start with http:// or https://"));
        }
    }
    cfg.http.trust_proxy = lenient_bool(d, &hf, "trust_proxy").unwrap_or(false);
    cfg.http.stateless = lenient_bool(d, &hf, "stateless").unwrap_or(false);
    cfg
}

/// A boolean, or a string the reference's model reads as one (`"yes"`, `"false"`, `"1"` ...).
pub(crate) fn lenient_bool(d: &mut Decoder, f: &Fields, key: &str) -> Option<bool> {
    let node = f.get(key)?;
    if let Value::Str(s) = &node.value {
        return match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "t" | "y" => Some(true),
            "false" | "no" | "off" | "0" | "f" | "n" => Some(false),
            _ => {
                d.error(node.pos, &f.path_of(key), format!("expected true or false, found {}", describe(node)));
                None
            }
        };
    }
    d.bool(f, key)
}

/// A string value with its references resolved; problems reported at its position.
fn text(d: &mut Decoder, f: &Fields, key: &str, required: bool) -> Option<String> {
    match f.get(key) {
        Some(node) => resolved(d, node, &f.path_of(key)),
        None => {
            if required {
                d.missing(f, key);
            }
            None
        }
    }
}

/// (An unresolvable reference was already reported where the whole file is resolved.)
fn resolved(d: &mut Decoder, node: &Node, path: &str) -> Option<String> {
    resolve_string(&d.as_string(node, path)?).ok()
}
