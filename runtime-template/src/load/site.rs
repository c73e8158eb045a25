//! `mxcp-site.yml`: the project's own configuration (profiles, paths, extensions, plugins,
//! SQL tools).

use indexmap::IndexMap;

use crate::diagnostics::Pos;
use crate::load::decode::{Decoder, Fields, index};
use crate::load::yaml::{Node, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct PluginDef {
    pub name: String,
    pub module: String,
    pub config: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionDef {
    pub name: String,
    pub repo: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlTools {
    pub enabled: bool,
    /// Description overrides by built-in tool name.
    pub descriptions: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Paths {
    pub tools: String,
    pub resources: String,
    pub prompts: String,
    pub evals: String,
    pub python: String,
    pub plugins: String,
    pub sql: String,
    pub drift: String,
    pub audit: String,
    pub data: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            tools: "tools".into(),
            resources: "resources".into(),
            prompts: "prompts".into(),
            evals: "evals".into(),
            python: "python".into(),
            plugins: "plugins".into(),
            sql: "sql".into(),
            drift: "drift".into(),
            audit: "audit".into(),
            data: "data".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfileConfig {
    pub duckdb_path: Option<String>,
    pub duckdb_readonly: bool,
    pub drift_path: Option<String>,
    pub audit_enabled: bool,
    pub audit_path: Option<String>,
    pub audit_max_file_size: Option<u64>,
    /// `limits` (an mxcp extension).
    pub limits: crate::load::limits_config::LimitsConfig,
    /// mxcp's own: refuse calls while the audit log cannot be written.
    pub audit_fail_closed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteConfig {
    pub project: String,
    pub profile: String,
    pub secrets: Vec<String>,
    pub plugins: Vec<PluginDef>,
    pub extensions: Vec<ExtensionDef>,
    /// Kept as written with defaults filled in; only `dbt-config` reads it.
    pub dbt: serde_json::Value,
    pub sql_tools: SqlTools,
    pub paths: Paths,
    pub profiles: IndexMap<String, ProfileConfig>,
    /// The whole file as JSON, for `config.site_config` / `get_setting`.
    pub raw: serde_json::Value,
}

const SITE_KEYS: &[&str] =
    &["mxcp", "project", "profile", "secrets", "plugin", "extensions", "dbt", "sql_tools", "paths", "profiles"];
const DBT_KEYS: &[&str] = &[
    "enabled",
    "model_paths",
    "analysis_paths",
    "test_paths",
    "seed_paths",
    "macro_paths",
    "snapshot_paths",
    "target_path",
    "clean_targets",
];
const PATH_KEYS: &[&str] =
    &["tools", "resources", "prompts", "evals", "python", "plugins", "sql", "drift", "audit", "data"];
pub const BUILTIN_SQL_TOOLS: &[&str] = &["execute_sql_query", "list_tables", "get_table_schema"];

pub fn decode(root: &Node, d: &mut Decoder) -> Option<SiteConfig> {
    let f = d.map(root, "", SITE_KEYS)?;
    match f.get("mxcp") {
        None => d.missing(&f, "mxcp"),
        Some(n) => match &n.value {
            Value::Int(1) => {}
            Value::Float(x) if *x == 1.0 => {}
            Value::Str(s) => d.rep.error_help(
                n.pos,
                "mxcp",
                format!("unsupported site format version '{s}'"),
                "write `mxcp: 1` (the format version, an integer; it is not the mxcp release)",
            ),
            _ => d.error(n.pos, "mxcp", "unsupported site format version: expected 1"),
        },
    }
    let project = d.name(&f, "project");
    let profile = d.name(&f, "profile");
    let secrets = d.string_list(&f, "secrets", true).unwrap_or_default();
    let plugins = decode_plugins(&f, d);
    let extensions = decode_extensions(&f, d);
    let dbt = decode_dbt(&f, d);
    let sql_tools = decode_sql_tools(&f, d);
    let paths = decode_paths(&f, d);
    let profiles = decode_profiles(&f, d);
    Some(SiteConfig {
        project: project?,
        profile: profile?,
        secrets,
        plugins,
        extensions,
        dbt,
        sql_tools,
        paths,
        profiles,
        raw: root.to_json(),
    })
}

fn decode_plugins(f: &Fields, d: &mut Decoder) -> Vec<PluginDef> {
    let Some(n) = f.get("plugin") else {
        return Vec::new();
    };
    let path = f.path_of("plugin");
    let mut out = Vec::new();
    for (i, item) in d.seq(n, &path).unwrap_or_default().iter().enumerate() {
        let Some(pf) = d.map(item, &index(&path, i), &["name", "module", "config"]) else {
            continue;
        };
        let name = d.name(&pf, "name");
        let module = d.name(&pf, "module");
        let config = d.string(&pf, "config", false);
        if let (Some(name), Some(module)) = (name, module) {
            out.push(PluginDef { name, module, config });
        }
    }
    out
}

fn decode_extensions(f: &Fields, d: &mut Decoder) -> Vec<ExtensionDef> {
    let Some(n) = f.get("extensions") else {
        return Vec::new();
    };
    let path = f.path_of("extensions");
    let mut out = Vec::new();
    for (i, item) in d.seq(n, &path).unwrap_or_default().iter().enumerate() {
        if let Some(name) = item.as_str() {
            out.push(ExtensionDef { name: name.to_string(), repo: None, pos: item.pos });
            continue;
        }
        let Some(ef) = d.map(item, &index(&path, i), &["name", "repo"]) else {
            continue;
        };
        let name = d.name(&ef, "name");
        let repo = d.choice(&ef, "repo", &["community", "core_nightly"]);
        if let Some(name) = name {
            out.push(ExtensionDef { name, repo, pos: item.pos });
        }
    }
    out
}

fn decode_dbt(f: &Fields, d: &mut Decoder) -> serde_json::Value {
    let mut out = serde_json::json!({
        "enabled": true, "model_paths": ["models"], "analysis_paths": ["analyses"], "test_paths": ["tests"],
        "seed_paths": ["seeds"], "macro_paths": ["macros"], "snapshot_paths": ["snapshots"],
        "target_path": "target", "clean_targets": ["target", "dbt_packages"],
    });
    let Some(n) = f.get("dbt") else { return out };
    let Some(df) = d.map(n, "dbt", DBT_KEYS) else {
        return out;
    };
    if let Some(b) = d.bool(&df, "enabled") {
        out["enabled"] = b.into();
    }
    if let Some(s) = d.string(&df, "target_path", false) {
        out["target_path"] = s.into();
    }
    for key in
        ["model_paths", "analysis_paths", "test_paths", "seed_paths", "macro_paths", "snapshot_paths", "clean_targets"]
    {
        if let Some(list) = d.string_list(&df, key, true) {
            out[key] = list.into();
        }
    }
    out
}

fn decode_sql_tools(f: &Fields, d: &mut Decoder) -> SqlTools {
    let Some(n) = f.get("sql_tools") else {
        return SqlTools::default();
    };
    let mut keys = vec!["enabled"];
    keys.extend_from_slice(BUILTIN_SQL_TOOLS);
    let Some(sf) = d.map(n, "sql_tools", &keys) else {
        return SqlTools::default();
    };
    let mut tools = SqlTools { enabled: d.bool(&sf, "enabled").unwrap_or(false), ..Default::default() };
    for name in BUILTIN_SQL_TOOLS {
        if let Some(tn) = sf.get(name) {
            if let Some(tf) = d.map(tn, &sf.path_of(name), &["description"]) {
                if let Some(desc) = d.string(&tf, "description", false) {
                    tools.descriptions.insert((*name).to_string(), desc);
                }
            }
        }
    }
    tools
}

fn decode_paths(f: &Fields, d: &mut Decoder) -> Paths {
    let mut paths = Paths::default();
    let Some(n) = f.get("paths") else {
        return paths;
    };
    let Some(pf) = d.map(n, "paths", PATH_KEYS) else {
        return paths;
    };
    let slots: [(&str, &mut String); 10] = [
        ("tools", &mut paths.tools),
        ("resources", &mut paths.resources),
        ("prompts", &mut paths.prompts),
        ("evals", &mut paths.evals),
        ("python", &mut paths.python),
        ("plugins", &mut paths.plugins),
        ("sql", &mut paths.sql),
        ("drift", &mut paths.drift),
        ("audit", &mut paths.audit),
        ("data", &mut paths.data),
    ];
    for (key, slot) in slots {
        if let Some(s) = d.string(&pf, key, false) {
            *slot = s;
        }
    }
    paths
}

fn decode_profiles(f: &Fields, d: &mut Decoder) -> IndexMap<String, ProfileConfig> {
    let mut out = IndexMap::new();
    let Some(n) = f.get("profiles") else {
        return out;
    };
    let Some(entries) = d.any_map(n, "profiles") else {
        return out;
    };
    for (k, v) in entries {
        let name = k.key_text().unwrap_or_default();
        let path = format!("profiles.{name}");
        let mut profile = ProfileConfig::default();
        if v.is_null() {
            out.insert(name, profile);
            continue;
        }
        let Some(pf) = d.map(v, &path, &["duckdb", "drift", "audit", "limits"]) else {
            continue;
        };
        if let Some(dn) = pf.get("duckdb") {
            if let Some(df) = d.map(dn, &pf.path_of("duckdb"), &["path", "readonly"]) {
                profile.duckdb_path = d.string(&df, "path", false);
                profile.duckdb_readonly = d.bool(&df, "readonly").unwrap_or(false);
                if profile.duckdb_path.as_deref() == Some(":memory:") {
                    let pos = df.get("path").map(|n| n.pos).unwrap_or(dn.pos);
                    d.error(pos, &df.path_of("path"), "':memory:' is not supported: give a database file path");
                }
            }
        }
        if let Some(ln) = pf.get("limits").filter(|n| !n.is_null()) {
            profile.limits = crate::load::limits_config::decode(ln, &pf.path_of("limits"), d);
        }
        if let Some(dn) = pf.get("drift") {
            if let Some(df) = d.map(dn, &pf.path_of("drift"), &["path"]) {
                profile.drift_path = d.string(&df, "path", false);
            }
        }
        if let Some(an) = pf.get("audit") {
            if let Some(af) = d.map(an, &pf.path_of("audit"), &["enabled", "path", "max_file_size", "fail_closed"]) {
                profile.audit_enabled = d.bool(&af, "enabled").unwrap_or(false);
                profile.audit_path = d.string(&af, "path", false);
                profile.audit_max_file_size = d.count(&af, "max_file_size");
                profile.audit_fail_closed = d.bool(&af, "fail_closed").unwrap_or(false);
            }
        }
        out.insert(name, profile);
    }
    out
}
