//! Typed reads from a positioned YAML tree that record a finding for every problem and go on,
//! so one pass over a file reports all its mistakes.

use crate::diagnostics::Pos;
use crate::diagnostics::{Reporter, suggest};
use crate::load::yaml::{Node, Value};

pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A mapping whose keys were checked against the allowed set.
pub struct Fields<'n> {
    pub node: &'n Node,
    pub path: String,
}

impl<'n> Fields<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.node.get(key)
    }

    pub fn path_of(&self, key: &str) -> String {
        child(&self.path, key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

pub struct Decoder<'r, 'a> {
    pub rep: &'r mut Reporter<'a>,
}

impl<'a> Decoder<'_, 'a> {
    /// Something the reference accepts and the engine can run anyway (a check of ours only).
    pub fn warning(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.rep.warning(pos, path, message);
    }

    pub fn error(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        self.rep.error(pos, path, message);
    }

    /// Expects a mapping with only `allowed` keys (unknown ones are reported with a suggestion).
    pub fn map<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let Some(entries) = node.as_map() else {
            self.error(node.pos, path, format!("expected a mapping, found {}", node.kind_name()));
            return None;
        };
        for (key, _) in entries {
            let text = key.key_text().unwrap_or_default();
            if !allowed.contains(&text.as_str()) {
                let key_path = child(path, &text);
                match suggest(&text, allowed.iter().copied()) {
                    Some(s) => self.rep.error_help(
                        key.pos,
                        &key_path,
                        format!("unknown key '{text}'"),
                        format!("did you mean '{s}'?"),
                    ),
                    None => self.rep.error_help(
                        key.pos,
                        &key_path,
                        format!("unknown key '{text}'"),
                        format!("expected one of: {}", allowed.join(", ")),
                    ),
                }
            }
        }
        Some(Fields { node, path: path.to_string() })
    }

    /// Like [`Decoder::map`] but a free-form mapping (any keys).
    pub fn any_map<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [(Node, Node)]> {
        match node.as_map() {
            Some(m) => Some(m),
            None => {
                self.error(node.pos, path, format!("expected a mapping, found {}", node.kind_name()));
                None
            }
        }
    }

    pub fn missing(&mut self, f: &Fields, key: &str) {
        self.error(f.node.pos, &f.path, format!("missing required key '{key}'"));
    }

    pub fn required<'n>(&mut self, f: &Fields<'n>, key: &str) -> Option<&'n Node> {
        let n = f.get(key);
        if n.is_none() {
            self.missing(f, key);
        }
        n
    }

    pub fn string(&mut self, f: &Fields, key: &str, required: bool) -> Option<String> {
        if required {
            return self.name(f, key);
        }
        self.as_string(f.get(key)?, &f.path_of(key))
    }

    pub fn as_string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Null => None,
            _ => {
                self.error(node.pos, path, format!("expected a string, found {}", node.kind_name()));
                None
            }
        }
    }

    /// A non-empty string (identifiers, URIs, names).
    pub fn name(&mut self, f: &Fields, key: &str) -> Option<String> {
        let node = self.required(f, key)?;
        let s = self.as_string(node, &f.path_of(key));
        if s.as_deref() == Some("") || node.is_null() {
            self.error(node.pos, &f.path_of(key), format!("'{key}' must not be empty"));
            return None;
        }
        s
    }

    pub fn bool(&mut self, f: &Fields, key: &str) -> Option<bool> {
        let node = f.get(key)?;
        match node.value {
            Value::Bool(b) => Some(b),
            Value::Null => None,
            _ => {
                self.error(node.pos, &f.path_of(key), format!("expected true or false, found {}", describe(node)));
                None
            }
        }
    }

    pub fn count(&mut self, f: &Fields, key: &str) -> Option<u64> {
        let node = f.get(key)?;
        match node.value {
            Value::Int(i) if i >= 0 => Some(i as u64),
            Value::Null => None,
            _ => {
                self.error(
                    node.pos,
                    &f.path_of(key),
                    format!("expected a non-negative integer, found {}", describe(node)),
                );
                None
            }
        }
    }

    pub fn number(&mut self, f: &Fields, key: &str) -> Option<f64> {
        let node = f.get(key)?;
        match node.value {
            Value::Int(i) => Some(i as f64),
            Value::Float(x) if x.is_finite() => Some(x),
            Value::Null => None,
            _ => {
                self.error(node.pos, &f.path_of(key), format!("expected a number, found {}", describe(node)));
                None
            }
        }
    }

    pub fn seq<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => None,
            _ => {
                self.error(node.pos, path, format!("expected a list, found {}", node.kind_name()));
                None
            }
        }
    }

    /// A list of strings; `scalar_ok` accepts a single string as a one-element list.
    pub fn string_list(&mut self, f: &Fields, key: &str, scalar_ok: bool) -> Option<Vec<String>> {
        let node = f.get(key)?;
        let path = f.path_of(key);
        if scalar_ok {
            if let Value::Str(s) = &node.value {
                return Some(vec![s.clone()]);
            }
        }
        let items = self.seq(node, &path)?;
        Some(items.iter().enumerate().filter_map(|(i, n)| self.as_string(n, &index(&path, i))).collect())
    }

    /// One of a fixed set of strings.
    pub fn choice(&mut self, f: &Fields, key: &str, choices: &[&str]) -> Option<String> {
        let node = f.get(key)?;
        let s = self.as_string(node, &f.path_of(key))?;
        if choices.contains(&s.as_str()) {
            Some(s)
        } else {
            let help = match suggest(&s, choices.iter().copied()) {
                Some(c) => format!("did you mean '{c}'?"),
                None => format!("expected one of: {}", choices.join(", ")),
            };
            self.rep.error_help(node.pos, &f.path_of(key), format!("invalid value '{s}' for '{key}'"), help);
            None
        }
    }
}

/// A node's kind plus its value when it is a short scalar, for messages.
pub fn describe(node: &Node) -> String {
    match &node.value {
        Value::Str(s) if s.len() <= 40 => format!("the string '{s}'"),
        Value::Int(i) => format!("{i}"),
        Value::Float(x) => format!("{x}"),
        _ => node.kind_name().to_string(),
    }
}
