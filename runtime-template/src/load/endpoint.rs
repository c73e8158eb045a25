//! The endpoint model (tool, resource, prompt), as [`crate::load::endpoint_decode`] builds it
//! from YAML.
//!
//! Every node that a later check may point at keeps its position and YAML path.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::diagnostics::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointKind {
    Tool,
    Resource,
    Prompt,
}

impl EndpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Tool => "tool",
            EndpointKind::Resource => "resource",
            EndpointKind::Prompt => "prompt",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            EndpointKind::Tool => "Tool",
            EndpointKind::Resource => "Resource",
            EndpointKind::Prompt => "Prompt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tool" => Some(Self::Tool),
            "resource" => Some(Self::Resource),
            "prompt" => Some(Self::Prompt),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
}

impl DataType {
    pub const NAMES: [&'static str; 6] = ["string", "number", "integer", "boolean", "array", "object"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "number" => Self::Number,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "array" => Self::Array,
            "object" => Self::Object,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Email,
    Uri,
    Date,
    Time,
    DateTime,
    Duration,
    Timestamp,
}

impl Format {
    pub const NAMES: [&'static str; 7] = ["email", "uri", "date", "time", "date-time", "duration", "timestamp"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "email" => Self::Email,
            "uri" => Self::Uri,
            "date" => Self::Date,
            "time" => Self::Time,
            "date-time" => Self::DateTime,
            "duration" => Self::Duration,
            "timestamp" => Self::Timestamp,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A (recursive) type definition: parameters, return types, items and properties.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    pub ty: DataType,
    pub format: Option<Format>,
    pub description: Option<String>,
    /// `Some` when the key is present, even as `null` (presence makes a parameter optional).
    pub default: Option<Json>,
    pub examples: Option<Vec<Json>>,
    pub enum_values: Option<Vec<Json>>,
    pub sensitive: bool,
    /// An output policy may replace this value by `"****"` (affects the output schema only).
    pub masked: bool,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
    pub multiple_of: Option<f64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: Option<bool>,
    pub items: Option<Box<TypeDef>>,
    pub properties: Option<IndexMap<String, TypeDef>>,
    pub required: Option<Vec<String>>,
    pub additional_properties: Option<bool>,
    pub pos: Pos,
    pub path: String,
    /// Positions of the values of the keys written (`default`, `enum[0]`, `minLength`, ...).
    pub positions: std::collections::HashMap<String, Pos>,
}

impl TypeDef {
    pub fn new(ty: DataType) -> Self {
        TypeDef {
            ty,
            format: None,
            description: None,
            default: None,
            examples: None,
            enum_values: None,
            sensitive: false,
            masked: false,
            min_length: None,
            max_length: None,
            pattern: None,
            minimum: None,
            maximum: None,
            exclusive_minimum: None,
            exclusive_maximum: None,
            multiple_of: None,
            min_items: None,
            max_items: None,
            unique_items: None,
            items: None,
            properties: None,
            required: None,
            additional_properties: None,
            pos: Pos::default(),
            path: String::new(),
            positions: Default::default(),
        }
    }

    /// Where a key (or list item, `enum[1]`) of this definition was written; the definition
    /// itself when it was not.
    pub fn pos_of(&self, key: &str) -> Pos {
        self.positions.get(key).copied().unwrap_or(self.pos)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub def: TypeDef,
    pub pos: Pos,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Sql,
    Python,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Sql => "sql",
            Language::Python => "python",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceBody {
    /// Inline code and where (in the YAML file) its first character is.
    Code { text: String, start: Pos },
    /// A file, resolved against the YAML file's directory (`/x` = project root).
    File { declared: String, resolved: PathBuf },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub body: SourceBody,
    pub pos: Pos,
    /// Where `file:` or `code:` was written.
    pub body_pos: Pos,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestArgument {
    pub key: String,
    pub value: Json,
    pub key_pos: Pos,
    pub value_pos: Pos,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assertions {
    pub result: Option<Json>,
    pub result_contains: Option<Json>,
    pub result_not_contains: Option<Vec<String>>,
    pub result_contains_item: Option<Json>,
    pub result_contains_all: Option<Vec<Json>>,
    pub result_length: Option<u64>,
    pub result_contains_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestDef {
    pub name: String,
    pub description: Option<String>,
    pub arguments: Vec<TestArgument>,
    pub user_context: Option<Json>,
    pub assertions: Assertions,
    pub pos: Pos,
    pub name_pos: Pos,
    /// Where `arguments` was written (`None`: missing, already reported).
    pub arguments_pos: Option<Pos>,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyAction {
    Deny,
    FilterFields,
    MaskFields,
    FilterSensitiveFields,
}

impl PolicyAction {
    pub const NAMES: [&'static str; 4] = ["deny", "filter_fields", "mask_fields", "filter_sensitive_fields"];
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    pub condition: String,
    pub action: PolicyAction,
    pub reason: Option<String>,
    pub fields: Option<Vec<String>>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policies {
    pub input: Vec<PolicyRule>,
    pub output: Vec<PolicyRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    pub prompt: String,
    pub role: Option<String>,
    pub kind: Option<String>,
    pub pos: Pos,
    pub path: String,
}

/// One endpoint definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub kind: EndpointKind,
    /// Tool or prompt name; resource URI (template).
    pub name: String,
    /// A resource's optional display name.
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Only the keys that were set, as JSON (MCP `annotations`).
    pub annotations: Option<serde_json::Map<String, Json>>,
    pub parameters: Vec<Param>,
    pub return_type: Option<TypeDef>,
    pub language: Language,
    pub source: Option<Source>,
    pub mime_type: Option<String>,
    pub messages: Vec<PromptMessage>,
    pub enabled: bool,
    pub tests: Option<Vec<TestDef>>,
    pub policies: Policies,
    /// Position of the `tool:`/`resource:`/`prompt:` mapping.
    pub pos: Pos,
    pub name_pos: Pos,
}

impl Endpoint {
    /// Whether calling it runs code in `language` (prompts run none: they are templates).
    pub fn runs(&self, language: Language) -> bool {
        self.kind != EndpointKind::Prompt && self.language == language
    }

    /// An empty definition (no parameters, no source), for endpoints built in code.
    pub fn new(kind: EndpointKind, name: impl Into<String>) -> Endpoint {
        Endpoint {
            kind,
            name: name.into(),
            title: None,
            description: None,
            tags: None,
            annotations: None,
            parameters: Vec::new(),
            return_type: None,
            language: Language::Sql,
            source: None,
            mime_type: None,
            messages: Vec::new(),
            enabled: true,
            tests: None,
            policies: Policies::default(),
            pos: Pos::default(),
            name_pos: Pos::default(),
        }
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.parameters.iter().find(|p| p.name == name)
    }
    /// `tool/name`, as test reports and drift name endpoints.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.name)
    }
}
