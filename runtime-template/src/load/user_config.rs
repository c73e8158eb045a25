//! The user configuration (`$MXCP_CONFIG` or `~/.mxcp/config.yml`):
//! secrets, plugin settings, transport defaults. References (`${VAR}`, `file://`) are resolved
//! only in the top-level keys and the active project/profile, so a variable that only an
//! inactive profile uses never has to be set.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use crate::diagnostics::{Diagnostic, Reporter, Severity};
use crate::load::auth_config::{self, AuthConfig, TransportConfig};
use crate::load::decode::{Decoder, child, index};
use crate::load::telemetry_config::{self, TelemetryConfig};
use crate::load::yaml::{Node, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub name: String,
    pub kind: String,
    pub parameters: Map<String, Json>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserConfig {
    /// The file read, if any (a default is synthesized when there is none).
    pub path: Option<PathBuf>,
    /// The whole configuration, references resolved where they are active.
    pub raw: Json,
    /// The active profile's `auth` block.
    pub auth: AuthConfig,
    pub transport: TransportConfig,
    /// The active profile's `telemetry` block (the environment applies over it at `serve`).
    pub telemetry: TelemetryConfig,
    project: String,
    profile: String,
}

const TOP_KEYS: &[&str] = &["mxcp", "projects", "vault", "onepassword", "transport", "models", "logging"];
// `audit` (signing_key, verify_key) is mxcp's own
const PROFILE_KEYS: &[&str] = &["secrets", "plugin", "auth", "telemetry", "audit"];

impl UserConfig {
    /// The default configuration used when no file exists.
    pub fn synthesized(project: &str, profile: &str) -> Self {
        let mut cfg = UserConfig {
            path: None,
            raw: json!({"mxcp": 1, "projects": {}}),
            auth: AuthConfig::default(),
            transport: TransportConfig::default(),
            telemetry: TelemetryConfig::default(),
            project: project.into(),
            profile: profile.into(),
        };
        cfg.ensure_active();
        cfg
    }

    /// Locates and loads the configuration for `project`/`profile`.
    pub fn load(project: &str, profile: &str, explicit: Option<&Path>) -> Result<Self, Vec<Diagnostic>> {
        // a missing ~/.mxcp/config.yml is no configuration; a missing named one is an error
        let named = explicit.is_some() || env_config().is_some();
        let path = Self::location(explicit).filter(|p| named || p.is_file());
        let Some(path) = path else {
            return Ok(Self::synthesized(project, profile));
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| vec![Diagnostic::whole_file_error(&path, format!("cannot read user config: {e}"))])?;
        Self::parse(&text, &path, project, profile)
    }

    /// Where the user configuration is read from (`--config`, `$MXCP_CONFIG`, else
    /// `~/.mxcp/config.yml`), whether it exists or not.
    pub fn location(explicit: Option<&Path>) -> Option<PathBuf> {
        match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => env_config().or_else(home_config),
        }
    }

    pub fn parse(text: &str, path: &Path, project: &str, profile: &str) -> Result<Self, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut rep = Reporter { display: path, out: &mut diags };
        let Some(root) = crate::load::project::parse_document(text, &mut rep) else {
            if diags.is_empty() {
                // an empty file is the default configuration
                return Ok(UserConfig { path: Some(path.into()), ..Self::synthesized(project, profile) });
            }
            return Err(diags);
        };
        let mut d = Decoder { rep: &mut rep };
        let mut raw = Map::new();
        if d.map(&root, "", TOP_KEYS).is_some() {
            for (k, v) in root.as_map().unwrap_or_default() {
                let key = k.key_text().unwrap_or_default();
                let value = if key == "projects" {
                    resolve_projects(v, project, profile, &mut d)
                } else {
                    resolve(v, &key, &mut d)
                };
                raw.insert(key, value);
            }
        }
        let raw = Json::Object(raw);
        let transport = match root.get("transport") {
            Some(t) => auth_config::decode_transport(t, "transport", &mut d),
            None => TransportConfig::default(),
        };
        let auth_node = ["projects", project, "profiles", profile, "auth"].iter().try_fold(&root, |n, k| n.get(k));
        let auth = match auth_node {
            Some(a) => auth_config::decode_auth(a, &format!("projects.{project}.profiles.{profile}.auth"), &mut d),
            None => AuthConfig::default(),
        };
        let telemetry_node =
            ["projects", project, "profiles", profile, "telemetry"].iter().try_fold(&root, |n, k| n.get(k));
        let telemetry = match telemetry_node {
            Some(t) => telemetry_config::decode(t, &format!("projects.{project}.profiles.{profile}.telemetry"), &mut d),
            None => TelemetryConfig::default(),
        };
        if diags.iter().any(|x| x.severity == Severity::Error) {
            return Err(diags);
        }
        let mut cfg = UserConfig {
            path: Some(path.into()),
            raw,
            auth,
            transport,
            telemetry,
            project: project.into(),
            profile: profile.into(),
        };
        cfg.ensure_active();
        Ok(cfg)
    }

    fn ensure_active(&mut self) {
        let projects = obj_entry(&mut self.raw, "projects");
        let p = obj_entry(projects, &self.project);
        let profiles = obj_entry(p, "profiles");
        let prof = obj_entry(profiles, &self.profile);
        if prof.get("secrets").is_none_or(Json::is_null) {
            prof["secrets"] = json!([]);
        }
        let plugin = obj_entry(prof, "plugin");
        if plugin.get("config").is_none_or(Json::is_null) {
            plugin["config"] = json!({});
        }
    }

    /// The active profile's section.
    pub fn active_profile(&self) -> &Json {
        &self.raw["projects"][&self.project]["profiles"][&self.profile]
    }

    pub fn secrets(&self) -> Vec<Secret> {
        let mut out = Vec::new();
        for s in self.active_profile()["secrets"].as_array().into_iter().flatten() {
            let Some(name) = s["name"].as_str() else {
                continue;
            };
            out.push(Secret {
                name: name.to_string(),
                kind: s["type"].as_str().unwrap_or_default().to_string(),
                parameters: s["parameters"].as_object().cloned().unwrap_or_default(),
            });
        }
        out
    }

    pub fn plugin_config(&self, key: &str) -> Option<&Map<String, Json>> {
        self.active_profile()["plugin"]["config"][key].as_object()
    }

    pub fn transport(&self) -> &Json {
        &self.raw["transport"]
    }
}

fn obj_entry<'a>(v: &'a mut Json, key: &str) -> &'a mut Json {
    if !v.is_object() {
        *v = Json::Object(Map::new());
    }
    let m = v.as_object_mut().expect("object");
    let e = m.entry(key.to_string()).or_insert(Json::Null);
    if !e.is_object() {
        *e = Json::Object(Map::new());
    }
    e
}

fn home_config() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".mxcp").join("config.yml"))
}

/// Projects other than the active one (and its inactive profiles) are kept verbatim.
fn resolve_projects(node: &Node, project: &str, profile: &str, d: &mut Decoder) -> Json {
    let Some(entries) = d.any_map(node, "projects") else {
        return Json::Null;
    };
    let mut out = Map::new();
    for (k, v) in entries {
        let name = k.key_text().unwrap_or_default();
        if name != project {
            out.insert(name, v.to_json());
            continue;
        }
        let ppath = format!("projects.{name}");
        let mut pout = Map::new();
        if let Some(pf) = d.map(v, &ppath, &["profiles"]) {
            if let Some(profiles) = pf.get("profiles") {
                let prpath = child(&ppath, "profiles");
                let mut prout = Map::new();
                for (pk, pv) in d.any_map(profiles, &prpath).unwrap_or_default() {
                    let pname = pk.key_text().unwrap_or_default();
                    if pname == profile {
                        let path = child(&prpath, &pname);
                        if !pv.is_null() {
                            d.map(pv, &path, PROFILE_KEYS);
                        }
                        prout.insert(pname, resolve(pv, &path, d));
                    } else {
                        prout.insert(pname, pv.to_json());
                    }
                }
                pout.insert("profiles".into(), Json::Object(prout));
            }
        }
        out.insert(name, Json::Object(pout));
    }
    Json::Object(out)
}

fn resolve(node: &Node, path: &str, d: &mut Decoder) -> Json {
    match &node.value {
        Value::Str(s) => match resolve_string(s) {
            Ok(v) => Json::String(v),
            Err(message) => {
                d.error(node.pos, path, message);
                Json::Null
            }
        },
        Value::Seq(items) => {
            Json::Array(items.iter().enumerate().map(|(i, n)| resolve(n, &index(path, i), d)).collect())
        }
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = k.key_text().unwrap_or_default();
                    let value = resolve(v, &child(path, &key), d);
                    (key, value)
                })
                .collect(),
        ),
        _ => node.to_json(),
    }
}

/// Resolves one configuration string: `file://`, `${VAR}`; `vault://` and `op://` are refused.
/// The error is the message the reference gives, which the caller places in a diagnostic.
pub fn resolve_string(s: &str) -> Result<String, String> {
    if s.starts_with("vault://") {
        return Err(format!("'{s}': vault:// references are not supported in this build; use ${{VAR}} or file://"));
    }
    if s.starts_with("op://") {
        return Err(format!(
            "'{s}': op:// (1Password) references are not supported in this build; use ${{VAR}} or file://"
        ));
    }
    if let Some(rest) = s.strip_prefix("file://") {
        let path = PathBuf::from(rest);
        return std::fs::read_to_string(&path)
            .map(|t| t.trim().to_string())
            .map_err(|e| format!("cannot read '{}' referenced by '{s}': {e}", path.display()));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        match std::env::var(var) {
            Ok(v) => out.push_str(&v),
            Err(_) => return Err(format!("Environment variable {var} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_only_active_profile() {
        let text = "mxcp: 1\nprojects:\n  p:\n    profiles:\n      dev:\n        secrets:\n          - name: s\n            type: http\n            parameters: {TOKEN: '${MXCP_TEST_SET_VAR}'}\n      prod:\n        secrets:\n          - name: s\n            type: http\n            parameters: {TOKEN: '${MXCP_TEST_UNSET_VAR}'}\n";
        // SAFETY: test-local variable name, no other thread reads it
        unsafe { std::env::set_var("MXCP_TEST_SET_VAR", "abc") };
        let cfg = UserConfig::parse(text, Path::new("c.yml"), "p", "dev").unwrap();
        assert_eq!(cfg.secrets()[0].parameters["TOKEN"], "abc");
        let err = UserConfig::parse(text, Path::new("c.yml"), "p", "prod").unwrap_err();
        assert_eq!(err[0].message, "Environment variable MXCP_TEST_UNSET_VAR is not set");
        assert_eq!((err[0].line, err[0].column), (14, 33));
    }

    #[test]
    fn telemetry_mistakes_carry_their_position() {
        let text = "mxcp: 1\nprojects:\n  p:\n    profiles:\n      dev:\n        telemetry:\n          enabled: yes\n          endpoint: http://127.0.0.1:4318\n          metrics: {export_interval: soon}\n          tracing:\n            sampler: x\n";
        let err = UserConfig::parse(text, Path::new("c.yml"), "p", "dev").unwrap_err();
        let found: Vec<_> = err.iter().map(|d| (d.line, d.column, d.message.as_str())).collect();
        assert_eq!(
            found,
            [(11, 13, "unknown key 'sampler'"), (9, 38, "expected a whole number of seconds, found the string 'soon'")]
        );
        let ok =
            text.replace("{export_interval: soon}", "{export_interval: 5}").replace("sampler: x", "enabled: false");
        let cfg = UserConfig::parse(&ok, Path::new("c.yml"), "p", "dev").unwrap();
        assert!(cfg.telemetry.enabled && !cfg.telemetry.tracing);
        assert_eq!(cfg.telemetry.endpoint.as_deref(), Some("http://127.0.0.1:4318"));
        assert_eq!(cfg.telemetry.export_interval.as_secs(), 5);
    }

    #[test]
    fn refuses_vault_and_op() {
        assert!(resolve_string("vault://a/b#c").unwrap_err().contains("not supported in this build"));
        assert!(resolve_string("op://v/i/f").unwrap_err().contains("not supported in this build"));
        assert_eq!(resolve_string("plain $x {y}").unwrap(), "plain $x {y}");
    }
}

fn env_config() -> Option<PathBuf> {
    std::env::var_os("MXCP_CONFIG").filter(|p| !p.is_empty()).map(PathBuf::from)
}
