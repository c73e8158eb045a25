//! A YAML document tree that keeps the position of every node.
//!
//! Built from `saphyr-parser` events rather than through serde so that the checks can report
//! every problem of a file (serde stops at the first) with its line and column. Scalars are
//! resolved like PyYAML's `safe_load` (YAML 1.1: `yes`/`no`/`on`/`off` are booleans, `<<` merges),
//! which is what MXCP projects are written against. Whatever PyYAML's safe loader reads loads:
//! where saphyr is stricter, [`repair`] rewrites the text and parses again.

mod repair;
mod resolve;

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::Value as Json;

use crate::diagnostics::Pos;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// A single- or double-quoted scalar (its text starts one column after `pos`).
    pub quoted: bool,
}

/// A syntax error with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Looks a key up in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.key_text().as_deref() == Some(key)).map(|(_, v)| v)
    }

    /// The text of a mapping key (scalars of any kind are accepted as keys, like PyYAML).
    pub fn key_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Value::Null => Some("None".to_string()),
            _ => None,
        }
    }

    /// The node as plain JSON (mapping keys become strings).
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    m.insert(k.key_text().unwrap_or_default(), v.to_json());
                }
                Json::Object(m)
            }
        }
    }
}

/// Parses the first document of `text`. An empty document gives `Ok(None)`.
/// Duplicate keys are reported through `on_duplicate` (position of the second key, its path,
/// line of the first) and the later value wins, as in PyYAML.
pub fn parse(text: &str, on_duplicate: &mut dyn FnMut(Pos, &str, u32)) -> Result<Option<Node>, SyntaxError> {
    let (mut result, mut dups) = parse_strict(text);
    if let Err(err) = &result {
        if let Some((retried, retried_dups)) = repair::retry(text, err, parse_strict) {
            (result, dups) = (retried, retried_dups);
        }
    }
    for (pos, path, first) in &dups {
        on_duplicate(*pos, path, *first);
    }
    result.map(|root| root.filter(|n| !n.is_null()))
}

/// A duplicate key: its position, path, and the line of the first one.
type Duplicate = (Pos, String, u32);

/// One pass of saphyr-parser over `text`, with the duplicates found up to where it stopped.
fn parse_strict(text: &str) -> (Result<Option<Node>, SyntaxError>, Vec<Duplicate>) {
    let mut dups = Vec::new();
    let mut record = |pos, path: &str, first| dups.push((pos, path.to_string(), first));
    let result = build(text, &mut record);
    (result, dups)
}

fn build(text: &str, on_duplicate: &mut dyn FnMut(Pos, &str, u32)) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder { anchors: HashMap::new(), on_duplicate, path: Vec::new() };
    let mut parser = Parser::new_from_str(text);
    let mut events = std::iter::from_fn(|| parser.next_event()).peekable();
    let mut root = None;
    let mut documents = 0;
    while let Some(item) = events.next() {
        let (event, span) = item.map_err(|e| scan_error(&e))?;
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        pos: pos_of(&span),
                        message: "expected a single document, found a second one".into(),
                    });
                }
                let node = builder.node(&mut events)?;
                root = Some(node);
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    Ok(root)
}

fn scan_error(e: &saphyr_parser::ScanError) -> SyntaxError {
    SyntaxError {
        pos: Pos { line: e.marker().line() as u32, col: e.marker().col() as u32 + 1 },
        message: e.info().to_string(),
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos { line: span.start.line() as u32, col: span.start.col() as u32 + 1 }
}

type Events<'a, I> = std::iter::Peekable<I>;

struct Builder<'d> {
    anchors: HashMap<usize, Node>,
    on_duplicate: &'d mut dyn FnMut(Pos, &str, u32),
    /// Keys and indexes leading to the node being built, for duplicate-key paths.
    path: Vec<String>,
}

impl Builder<'_> {
    fn node<'i, I>(&mut self, events: &mut Events<'i, I>) -> Result<Node, SyntaxError>
    where
        I: Iterator<Item = Result<(Event<'i>, Span), saphyr_parser::ScanError>>,
    {
        let (event, span) = match events.next() {
            Some(Ok(x)) => x,
            Some(Err(e)) => return Err(scan_error(&e)),
            None => {
                return Err(SyntaxError { pos: Pos::default(), message: "unexpected end of input".into() });
            }
        };
        let pos = pos_of(&span);
        let node = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let core_tag = tag.as_ref().filter(|t| t.is_yaml_core_schema());
                let value = match core_tag.and_then(|t| resolve::tagged(&t.suffix, &text)) {
                    Some(v) if !forced_str => v,
                    _ if style == ScalarStyle::Plain && !forced_str => resolve::plain(&text),
                    _ => Value::Str(text.into_owned()),
                };
                let quoted = matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
                let node = Node { value, pos, quoted };
                self.remember(anchor, &node);
                node
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    if matches!(events.peek(), Some(Ok((Event::SequenceEnd, _)))) {
                        events.next();
                        break;
                    }
                    self.path.push(format!("[{}]", items.len()));
                    let item = self.node(events);
                    self.path.pop();
                    items.push(item?);
                }
                let node = Node { value: Value::Seq(items), pos, quoted: false };
                self.remember(anchor, &node);
                node
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                loop {
                    if matches!(events.peek(), Some(Ok((Event::MappingEnd, _)))) {
                        events.next();
                        break;
                    }
                    let key = self.node(events)?;
                    self.path.push(key.key_text().unwrap_or_default());
                    let value = self.node(events);
                    self.path.pop();
                    let value = value?;
                    if key.as_str() == Some("<<") && !key.quoted {
                        // merge key: the mapping's own keys win over merged ones
                        let sources: Vec<Node> = match value.value {
                            Value::Seq(items) => items,
                            _ => vec![value],
                        };
                        for source in sources {
                            if let Value::Map(m) = source.value {
                                merged.extend(m);
                            }
                        }
                        continue;
                    }
                    let text = key.key_text();
                    if let Some(existing) = entries.iter_mut().find(|(k, _)| text.is_some() && k.key_text() == text) {
                        let mut path = self.path_text();
                        path.push_str(&if path.is_empty() { String::new() } else { ".".into() });
                        path.push_str(text.as_deref().unwrap_or(""));
                        (self.on_duplicate)(key.pos, &path, existing.0.pos.line);
                        existing.1 = value;
                    } else {
                        entries.push((key, value));
                    }
                }
                let entries = if merged.is_empty() { entries } else { merge(merged, entries) };
                let node = Node { value: Value::Map(entries), pos, quoted: false };
                self.remember(anchor, &node);
                node
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(n) => Node { pos, ..n.clone() },
                None => {
                    return Err(SyntaxError { pos, message: "unknown alias".into() });
                }
            },
            other => {
                return Err(SyntaxError { pos, message: format!("unexpected YAML event {other:?}") });
            }
        };
        Ok(node)
    }

    fn path_text(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            if !out.is_empty() && !seg.starts_with('[') {
                out.push('.');
            }
            out.push_str(seg);
        }
        out
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }
}

/// A mapping with merge keys, ordered as PyYAML orders it: the merged keys first (the first
/// source that has a key gives it), then the mapping's own keys, whose values win.
fn merge(merged: Vec<(Node, Node)>, own: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let mut out: Vec<(Node, Node)> = Vec::with_capacity(merged.len() + own.len());
    let same = |a: &Node, b: &Node| a.key_text().is_some() && a.key_text() == b.key_text();
    for (k, v) in merged {
        if !out.iter().any(|(e, _)| same(e, &k)) {
            out.push((k, v));
        }
    }
    for (k, v) in own {
        match out.iter_mut().find(|(e, _)| same(e, &k)) {
            // the own key keeps its position, for findings about it
            Some(slot) => *slot = (k, v),
            None => out.push((k, v)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Node {
        parse(text, &mut |_, _, _| {}).unwrap().unwrap()
    }

    #[test]
    fn resolves_scalars_like_pyyaml() {
        let n = p("a: yes\nb: 'yes'\nc: 1e5\nd: 1.5\ne: 0x1F\nf: ~\ng: 012\n");
        assert_eq!(n.get("a").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("b").unwrap().value, Value::Str("yes".into()));
        assert_eq!(n.get("c").unwrap().value, Value::Str("1e5".into()));
        assert_eq!(n.get("d").unwrap().value, Value::Float(1.5));
        assert_eq!(n.get("e").unwrap().value, Value::Int(31));
        assert_eq!(n.get("f").unwrap().value, Value::Null);
        assert_eq!(n.get("g").unwrap().value, Value::Int(10));
    }

    #[test]
    fn keeps_positions_and_merges() {
        let n = p("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n");
        let other = n.get("other").unwrap();
        assert_eq!(other.pos, Pos { line: 3, col: 3 });
        assert_eq!(other.get("x").unwrap().value, Value::Int(1));
        assert_eq!(other.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn reads_what_pyyaml_reads() {
        // a flow collection closed under its key is "invalid indentation" to saphyr alone
        let n = p("a:\n  b: [1,\n    2\n  ]\n  c: {x: 1,\n y: 2}\n  d: \"q\"# c\n");
        let a = n.get("a").unwrap();
        assert_eq!(a.get("b").unwrap().as_seq().unwrap()[1].pos, Pos { line: 3, col: 5 });
        assert_eq!(a.get("c").unwrap().get("y").unwrap().pos, Pos { line: 6, col: 5 });
        assert_eq!(a.get("d").unwrap().as_str(), Some("q"));
        // merged keys come first, the mapping's own values win; a quoted `<<` is a key
        let n = p("b: &b {x: 1, y: 1}\nm: {z: 0, <<: *b, y: 2}\nq: {\"<<\": 1}\n");
        let keys: Vec<_> =
            n.get("m").unwrap().as_map().unwrap().iter().map(|(k, v)| (k.key_text(), v.to_json())).collect();
        assert_eq!(keys, [("x", 1), ("y", 2), ("z", 0)].map(|(k, v)| (Some(k.to_string()), Json::from(v))));
        assert!(n.get("q").unwrap().get("<<").is_some());
        let n = p("a: !!int \"12\"\nb: !!str 12\n");
        assert_eq!(
            (n.get("a").unwrap().value.clone(), n.get("b").unwrap().value.clone()),
            (Value::Int(12), Value::Str("12".into()))
        );
    }

    #[test]
    fn block_scalars_start_at_their_content() {
        let n = p("a:\n  code: |\n    SELECT 1\n    FROM x\n");
        assert_eq!(n.get("a").unwrap().get("code").unwrap().pos, Pos { line: 3, col: 5 });
    }

    #[test]
    fn reports_duplicates_and_syntax_errors() {
        let mut dups = vec![];
        parse("a: 1\nb: 2\na: 3\n", &mut |pos, k, first| dups.push((pos, k.to_string(), first))).unwrap();
        assert_eq!(dups, vec![(Pos { line: 3, col: 1 }, "a".to_string(), 1)]);
        let mut nested = vec![];
        parse("t:\n  ps:\n    - {x: 1, x: 2}\n", &mut |_, path, _| nested.push(path.to_string())).unwrap();
        assert_eq!(nested, vec!["t.ps[0].x".to_string()]);
        let err = parse("a: [1, 2\nb: 3\n", &mut |_, _, _| {}).unwrap_err();
        assert!(err.pos.line >= 1, "{err:?}");
        assert_eq!(parse("", &mut |_, _, _| {}).unwrap(), None);
    }
}
