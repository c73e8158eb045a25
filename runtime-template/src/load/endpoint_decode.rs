//! Decoding an endpoint file's YAML tree into the [`crate::load::endpoint`] model: unknown
//! keys, wrong shapes and invalid values are reported with their positions; what decodes is
//! kept so one file's findings are all reported at once.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::diagnostics::Pos;
use crate::load::decode::{Decoder, Fields, child, index};
use crate::load::endpoint::{
    Assertions, DataType, Endpoint, EndpointKind, Format, Language, Param, Policies, PolicyAction, PolicyRule,
    PromptMessage, Source, SourceBody, TestArgument, TestDef, TypeDef,
};
use crate::load::yaml::{Node, Value};

// The key lists are in the reference model's field order: drift snapshots dump definitions in it.
const ROOT_KEYS: &[&str] = &["mxcp", "tool", "resource", "prompt", "metadata"];
pub(crate) const TOOL_KEYS: &[&str] = &[
    "name",
    "description",
    "tags",
    "annotations",
    "parameters",
    "return",
    "language",
    "source",
    "enabled",
    "tests",
    "policies",
];
pub(crate) const RESOURCE_KEYS: &[&str] = &[
    "uri",
    "name",
    "description",
    "tags",
    "mime_type",
    "parameters",
    "return",
    "language",
    "source",
    "enabled",
    "tests",
    "policies",
];
pub(crate) const PROMPT_KEYS: &[&str] =
    &["name", "description", "tags", "parameters", "return", "messages", "enabled", "tests", "policies"];
pub(crate) const ANNOTATION_KEYS: &[&str] =
    &["title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];
pub const TYPE_KEYS: &[&str] = &[
    "type",
    "format",
    "description",
    "default",
    "examples",
    "enum",
    "sensitive",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "items",
    "properties",
    "required",
    "additionalProperties",
];
pub(crate) const SOURCE_KEYS: &[&str] = &["code", "file", "language"];
pub(crate) const TEST_KEYS: &[&str] = &[
    "name",
    "description",
    "arguments",
    "result",
    "user_context",
    "result_contains",
    "result_not_contains",
    "result_contains_item",
    "result_contains_all",
    "result_length",
    "result_contains_text",
];
pub(crate) const RULE_KEYS: &[&str] = &["condition", "action", "reason", "fields"];
pub(crate) const MESSAGE_KEYS: &[&str] = &["prompt", "role", "type"];

/// Where an endpoint file sits, for resolving `source.file`.
pub struct FileContext<'a> {
    pub project_root: &'a Path,
    pub yaml_dir: &'a Path,
}

/// What a file declared at its root.
pub enum Decoded {
    Endpoint(Box<Endpoint>),
    /// The file is not an endpoint definition of any kind (reported).
    Invalid,
}

/// Decodes an endpoint document. All problems go to the decoder's reporter; an endpoint is
/// returned whenever its kind and name could be read, so later checks still run on it.
pub fn decode(root: &Node, d: &mut Decoder, ctx: &FileContext) -> Decoded {
    let Some(f) = d.map(root, "", ROOT_KEYS) else {
        return Decoded::Invalid;
    };
    // The reference reads any integer (and numeric strings, "1.0") and does not require the
    // key: only a value it cannot read as a number is an error.
    match f.get("mxcp") {
        None => d.warning(f.node.pos, "", "missing key 'mxcp' (the format version, 1)"),
        Some(n) => match &n.value {
            Value::Int(1) => {}
            Value::Float(x) if *x == 1.0 => {}
            Value::Str(s) if s.trim().parse::<f64>() == Ok(1.0) => {}
            Value::Int(_) | Value::Float(_) => d.warning(n.pos, "mxcp", unknown_version(n)),
            Value::Str(s) if s.trim().parse::<f64>().is_ok() => d.warning(n.pos, "mxcp", unknown_version(n)),
            _ => d.error(
                n.pos,
                "mxcp",
                format!("unsupported format version {}: expected 1", crate::load::decode::describe(n)),
            ),
        },
    }
    let kinds: Vec<EndpointKind> =
        ["tool", "resource", "prompt"].into_iter().filter(|k| f.has(k)).filter_map(EndpointKind::parse).collect();
    let kind = match kinds.as_slice() {
        [k] => *k,
        [] => {
            // a misspelled kind (`tools:`) was already reported as an unknown key
            let misspelled = root
                .as_map()
                .unwrap_or_default()
                .iter()
                .any(|(k, _)| k.key_text().is_some_and(|t| !ROOT_KEYS.contains(&t.as_str())));
            if !misspelled {
                d.error(root.pos, "", "expected one of 'tool', 'resource' or 'prompt' at the top level");
            }
            return Decoded::Invalid;
        }
        several => {
            let names: Vec<_> = several.iter().map(|k| k.as_str()).collect();
            d.error(root.pos, "", format!("a file defines exactly one endpoint, found {}", names.join(" and ")));
            return Decoded::Invalid;
        }
    };
    let node = f.get(kind.as_str()).expect("present");
    let keys = match kind {
        EndpointKind::Tool => TOOL_KEYS,
        EndpointKind::Resource => RESOURCE_KEYS,
        EndpointKind::Prompt => PROMPT_KEYS,
    };
    let Some(e) = d.map(node, kind.as_str(), keys) else {
        return Decoded::Invalid;
    };
    let name_key = if kind == EndpointKind::Resource { "uri" } else { "name" };
    let name = d.name(&e, name_key);
    let name_pos = e.get(name_key).map(|n| n.pos).unwrap_or(e.node.pos);
    let title = if kind == EndpointKind::Resource { d.string(&e, "name", false) } else { None };
    let description = d.string(&e, "description", false);
    let tags = d.string_list(&e, "tags", false);
    let annotations = e.get("annotations").and_then(|n| decode_annotations(n, &e.path_of("annotations"), d));
    let parameters = e.get("parameters").map(|n| decode_params(n, &e.path_of("parameters"), d)).unwrap_or_default();
    let return_type = e.get("return").and_then(|n| decode_type(n, &e.path_of("return"), d));
    let explicit_language = d.choice(&e, "language", &["sql", "python"]);
    let source = e.get("source").and_then(|n| decode_source(n, &e.path_of("source"), d, ctx));
    let mime_type = d.string(&e, "mime_type", false);
    let messages = if kind == EndpointKind::Prompt { decode_messages(&e, d) } else { Vec::new() };
    let enabled = d.bool(&e, "enabled").unwrap_or(true);
    let tests = e.get("tests").and_then(|n| decode_tests(n, &e.path_of("tests"), d));
    let policies = e.get("policies").map(|n| decode_policies(n, &e.path_of("policies"), d)).unwrap_or_default();

    if kind != EndpointKind::Prompt && source.is_none() && !e.has("source") {
        d.missing(&e, "source");
    }
    let source_language = source.as_ref().and_then(|s| s.language_hint.clone());
    let language = match explicit_language.as_deref().or(source_language.as_deref()) {
        Some("python") => Language::Python,
        Some(_) => Language::Sql,
        // inferred from the file's extension when not declared
        None => match source.as_ref().map(|s| &s.source.body) {
            Some(SourceBody::File { resolved, .. }) if resolved.extension().is_some_and(|x| x == "py") => {
                Language::Python
            }
            _ => Language::Sql,
        },
    };
    let Some(name) = name else {
        return Decoded::Invalid;
    };
    Decoded::Endpoint(Box::new(Endpoint {
        kind,
        name,
        title,
        description,
        tags,
        annotations,
        parameters,
        return_type,
        language,
        source: source.map(|s| s.source),
        mime_type,
        messages,
        enabled,
        tests,
        policies,
        pos: node.pos,
        name_pos,
    }))
}

fn decode_annotations(node: &Node, path: &str, d: &mut Decoder) -> Option<serde_json::Map<String, Json>> {
    let f = d.map(node, path, ANNOTATION_KEYS)?;
    let mut out = serde_json::Map::new();
    if let Some(t) = d.string(&f, "title", false) {
        out.insert("title".into(), Json::String(t));
    }
    for key in &ANNOTATION_KEYS[1..] {
        if let Some(b) = d.bool(&f, key) {
            out.insert((*key).into(), Json::Bool(b));
        }
    }
    Some(out)
}

fn decode_params(node: &Node, path: &str, d: &mut Decoder) -> Vec<Param> {
    let Some(items) = d.seq(node, path) else {
        return Vec::new();
    };
    let mut keys: Vec<&str> = vec!["name"];
    keys.extend_from_slice(TYPE_KEYS);
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        let Some(f) = d.map(item, &p, &keys) else {
            continue;
        };
        let name = d.name(&f, "name");
        if let Some(n) = &name {
            if !is_identifier(n) {
                let pos = f.get("name").map(|n| n.pos).unwrap_or(item.pos);
                d.rep.error_help(
                    pos,
                    &f.path_of("name"),
                    format!("invalid parameter name '{n}'"),
                    "a parameter name starts with a letter or '_' and contains only letters, digits and '_'",
                );
            }
        }
        let def = decode_type_fields(&f, d);
        if let (Some(name), Some(def)) = (name, def) {
            out.push(Param { name, def, pos: item.pos, path: p });
        }
    }
    out
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn decode_type(node: &Node, path: &str, d: &mut Decoder) -> Option<TypeDef> {
    let f = d.map(node, path, TYPE_KEYS)?;
    decode_type_fields(&f, d)
}

fn decode_type_fields(f: &Fields, d: &mut Decoder) -> Option<TypeDef> {
    let ty_node = d.required(f, "type");
    let ty = ty_node.and_then(|n| {
        let s = d.as_string(n, &f.path_of("type"))?;
        match DataType::parse(&s) {
            Some(t) => Some(t),
            None => {
                let help = match crate::diagnostics::suggest(&s, DataType::NAMES) {
                    Some(c) => format!("did you mean '{c}'?"),
                    None => format!("expected one of: {}", DataType::NAMES.join(", ")),
                };
                d.rep.error_help(n.pos, &f.path_of("type"), format!("unknown type '{s}'"), help);
                None
            }
        }
    });
    let format = d.choice(f, "format", &Format::NAMES).and_then(|s| Format::parse(&s));
    let json_list = |d: &mut Decoder, key: &str| -> Option<Vec<Json>> {
        let n = f.get(key)?;
        d.seq(n, &f.path_of(key)).map(|items| items.iter().map(Node::to_json).collect())
    };
    let examples = json_list(d, "examples");
    let enum_values = json_list(d, "enum");
    let items = f.get("items").and_then(|n| decode_type(n, &f.path_of("items"), d)).map(Box::new);
    let properties = f.get("properties").and_then(|n| {
        let path = f.path_of("properties");
        let entries = d.any_map(n, &path)?;
        let mut props = IndexMap::new();
        for (k, v) in entries {
            let key = k.key_text().unwrap_or_default();
            if let Some(t) = decode_type(v, &child(&path, &key), d) {
                props.insert(key, t);
            }
        }
        Some(props)
    });
    let mut def = TypeDef {
        ty: ty.unwrap_or(DataType::String),
        format,
        description: d.string(f, "description", false),
        default: f.get("default").map(Node::to_json),
        examples,
        enum_values,
        sensitive: d.bool(f, "sensitive").unwrap_or(false),
        masked: false,
        min_length: d.count(f, "minLength"),
        max_length: d.count(f, "maxLength"),
        pattern: d.string(f, "pattern", false),
        minimum: d.number(f, "minimum"),
        maximum: d.number(f, "maximum"),
        exclusive_minimum: d.number(f, "exclusiveMinimum"),
        exclusive_maximum: d.number(f, "exclusiveMaximum"),
        multiple_of: d.number(f, "multipleOf"),
        min_items: d.count(f, "minItems"),
        max_items: d.count(f, "maxItems"),
        unique_items: d.bool(f, "uniqueItems"),
        items,
        properties,
        required: d.string_list(f, "required", false),
        additional_properties: d.bool(f, "additionalProperties"),
        pos: f.node.pos,
        path: f.path.clone(),
        positions: value_positions(f.node, &["enum", "examples", "required"]),
    };
    if def.multiple_of.is_some_and(|m| m <= 0.0) {
        let n = f.get("multipleOf").expect("present");
        d.warning(n.pos, &f.path_of("multipleOf"), "multipleOf must be greater than 0; it is ignored");
        def.multiple_of = None;
    }
    if let Some(p) = &def.pattern {
        if let Err(e) = regex::Regex::new(p) {
            let n = f.get("pattern").expect("present");
            d.warning(
                n.pos,
                &f.path_of("pattern"),
                format!("invalid regular expression, the pattern is ignored: {}", first_line(&e.to_string())),
            );
            def.pattern = None;
        }
    }
    ty.map(|_| def)
}

/// Positions of each key's value in a mapping, and of the items of the listed keys.
fn value_positions(map: &Node, lists: &[&str]) -> std::collections::HashMap<String, Pos> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in map.as_map().unwrap_or_default() {
        let key = k.key_text().unwrap_or_default();
        if lists.contains(&key.as_str()) {
            for (i, item) in v.as_seq().unwrap_or_default().iter().enumerate() {
                out.insert(format!("{key}[{i}]"), item.pos);
            }
        }
        out.insert(key, v.pos);
    }
    out
}

fn first_line(s: &str) -> String {
    let last = s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

struct DecodedSource {
    source: Source,
    language_hint: Option<String>,
}

fn decode_source(node: &Node, path: &str, d: &mut Decoder, ctx: &FileContext) -> Option<DecodedSource> {
    let f = d.map(node, path, SOURCE_KEYS)?;
    let code = d.string(&f, "code", false).filter(|s| !s.trim().is_empty());
    let file = d.string(&f, "file", false).filter(|s| !s.trim().is_empty());
    let language_hint = d.choice(&f, "language", &["sql", "python"]);
    let body = match (code, file) {
        (Some(text), None) => {
            let code = f.get("code").expect("present");
            let start = Pos { line: code.pos.line, col: code.pos.col + u32::from(code.quoted) };
            SourceBody::Code { text, start }
        }
        (None, Some(declared)) => {
            let resolved = normalize(&match declared.strip_prefix('/') {
                Some(rest) => ctx.project_root.join(rest),
                None => ctx.yaml_dir.join(&declared),
            });
            SourceBody::File { declared, resolved }
        }
        (Some(_), Some(_)) => {
            d.error(node.pos, path, "source must have exactly one of 'code' or 'file', found both");
            return None;
        }
        (None, None) => {
            d.error(node.pos, path, "source must have exactly one of 'code' or 'file' (non-empty), found neither");
            return None;
        }
    };
    let body_pos = f.get("file").or(f.get("code")).map_or(node.pos, |n| n.pos);
    Some(DecodedSource { source: Source { body, pos: node.pos, body_pos, path: path.to_string() }, language_hint })
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn decode_messages(e: &Fields, d: &mut Decoder) -> Vec<PromptMessage> {
    let Some(node) = d.required(e, "messages") else {
        return Vec::new();
    };
    let path = e.path_of("messages");
    if node.is_null() {
        d.error(node.pos, &path, "a prompt needs at least one message");
        return Vec::new();
    }
    let Some(items) = d.seq(node, &path) else {
        return Vec::new();
    };
    if items.is_empty() {
        d.error(node.pos, &path, "a prompt needs at least one message");
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(&path, i);
        let Some(f) = d.map(item, &p, MESSAGE_KEYS) else {
            continue;
        };
        let prompt = d.string(&f, "prompt", true);
        let role = d.string(&f, "role", false);
        let kind = d.string(&f, "type", false);
        if let Some(prompt) = prompt {
            let pos = f.get("prompt").map(|n| n.pos).unwrap_or(item.pos);
            out.push(PromptMessage { prompt, role, kind, pos, path: f.path_of("prompt") });
        }
    }
    out
}

fn decode_tests(node: &Node, path: &str, d: &mut Decoder) -> Option<Vec<TestDef>> {
    let items = d.seq(node, path)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        let Some(f) = d.map(item, &p, TEST_KEYS) else {
            continue;
        };
        let name = d.name(&f, "name");
        let description = d.string(&f, "description", false);
        let mut arguments = Vec::new();
        if let Some(args) = d.required(&f, "arguments") {
            let apath = f.path_of("arguments");
            for (j, a) in d.seq(args, &apath).unwrap_or_default().iter().enumerate() {
                let ap = index(&apath, j);
                let Some(af) = d.map(a, &ap, &["key", "value"]) else {
                    continue;
                };
                let key = d.name(&af, "key");
                let key_pos = af.get("key").map_or(a.pos, |n| n.pos);
                let value_node = d.required(&af, "value");
                let value_pos = value_node.map_or(a.pos, |n| n.pos);
                if let (Some(key), Some(value)) = (key, value_node.map(Node::to_json)) {
                    arguments.push(TestArgument { key, value, key_pos, value_pos, path: ap });
                }
            }
        }
        let user_context =
            f.get("user_context").and_then(|n| d.any_map(n, &f.path_of("user_context")).map(|_| n.to_json()));
        let assertions = Assertions {
            result: f.get("result").map(Node::to_json),
            result_contains: f.get("result_contains").map(Node::to_json),
            result_not_contains: d.string_list(&f, "result_not_contains", false),
            result_contains_item: f.get("result_contains_item").map(Node::to_json),
            result_contains_all: f.get("result_contains_all").and_then(|n| {
                d.seq(n, &f.path_of("result_contains_all")).map(|items| items.iter().map(Node::to_json).collect())
            }),
            result_length: d.count(&f, "result_length"),
            result_contains_text: d.string(&f, "result_contains_text", false),
        };
        let name_pos = f.get("name").map_or(item.pos, |n| n.pos);
        let arguments_pos = f.get("arguments").map(|n| n.pos);
        if let Some(name) = name {
            out.push(TestDef {
                name,
                description,
                arguments,
                user_context,
                assertions,
                pos: item.pos,
                name_pos,
                arguments_pos,
                path: p,
            });
        }
    }
    Some(out)
}

fn decode_policies(node: &Node, path: &str, d: &mut Decoder) -> Policies {
    let Some(f) = d.map(node, path, &["input", "output"]) else {
        return Policies::default();
    };
    let mut rules = |key: &str| -> Vec<PolicyRule> {
        let Some(n) = f.get(key) else {
            return Vec::new();
        };
        let rpath = f.path_of(key);
        let mut out = Vec::new();
        for (i, item) in d.seq(n, &rpath).unwrap_or_default().iter().enumerate() {
            let p = index(&rpath, i);
            let Some(rf) = d.map(item, &p, RULE_KEYS) else {
                continue;
            };
            let condition = d.string(&rf, "condition", true);
            let action = match rf.get("action") {
                None => {
                    d.missing(&rf, "action");
                    None
                }
                Some(_) => d.choice(&rf, "action", &PolicyAction::NAMES).map(|a| match a.as_str() {
                    "deny" => PolicyAction::Deny,
                    "filter_fields" => PolicyAction::FilterFields,
                    "mask_fields" => PolicyAction::MaskFields,
                    _ => PolicyAction::FilterSensitiveFields,
                }),
            };
            let reason = d.string(&rf, "reason", false);
            let fields = d.string_list(&rf, "fields", false);
            if matches!(action, Some(PolicyAction::FilterFields | PolicyAction::MaskFields)) && fields.is_none() {
                d.warning(
                    item.pos,
                    &p,
                    "actions 'filter_fields' and 'mask_fields' need a 'fields' list; this rule changes nothing",
                );
            }
            if let (Some(condition), Some(action)) = (condition, action) {
                out.push(PolicyRule { condition, action, reason, fields, pos: item.pos });
            }
        }
        out
    };
    let input = rules("input");
    let output = rules("output");
    Policies { input, output }
}

fn unknown_version(n: &Node) -> String {
    format!("unknown format version {}: read as version 1", crate::load::decode::describe(n))
}
