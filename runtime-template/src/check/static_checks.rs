//! Checks that need no database: cross-file duplicates, source files, declared values against
//! their types, URI templates, prompt templates and test arguments.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diagnostics::Pos;
use crate::diagnostics::{Diagnostic, Reporter, Severity};
use crate::load::endpoint::{DataType, Endpoint, EndpointKind, SourceBody, TypeDef};
use crate::load::project::Project;
use crate::load::types;

pub fn check_static(project: &Project, out: &mut Vec<Diagnostic>) {
    check_duplicates(project, out);
    for file in &project.files {
        if let Some(e) = &file.endpoint {
            check_endpoint(&file.rel, e, out);
        }
    }
}

/// The checks of one endpoint that need neither the database nor other files.
pub fn check_endpoint(file: &Path, e: &Endpoint, out: &mut Vec<Diagnostic>) {
    Checker { rep: Reporter { display: file, out } }.endpoint(e);
}

struct Checker<'a> {
    rep: Reporter<'a>,
}

impl Checker<'_> {
    fn endpoint(&mut self, e: &Endpoint) {
        let mut seen = HashSet::new();
        for p in &e.parameters {
            if !seen.insert(p.name.as_str()) {
                self.rep.warning(p.pos, &p.path, format!("duplicate parameter name '{}'", p.name));
            }
            self.type_def(&p.def);
        }
        if let Some(r) = &e.return_type {
            self.type_def(r);
        }
        if let Some(src) = &e.source {
            if let SourceBody::File { declared, resolved } = &src.body {
                if !resolved.is_file() {
                    self.rep.push(
                        Severity::Error,
                        src.body_pos,
                        &format!("{}.file", src.path),
                        format!("source file not found: '{declared}'"),
                        Some(format!(
                            "paths are relative to the YAML file's directory; a leading '/' means the project root (looked for {})",
                            resolved.display()
                        )),
                    );
                }
            }
        }
        if e.kind == EndpointKind::Resource {
            self.uri_template(e);
        }
        if e.kind == EndpointKind::Prompt {
            self.prompt_templates(e);
        }
        self.tests(e);
    }

    /// Defaults, enums and examples should satisfy their own declaration; constraints should
    /// fit the type and each other. Warnings: the reference does not check these, and a call
    /// fails only when such a value is actually used.
    fn type_def(&mut self, def: &TypeDef) {
        let stripped = TypeDef { enum_values: None, ..def.clone() };
        if let Some(values) = &def.enum_values {
            for (i, v) in values.iter().enumerate() {
                if let Err(m) = types::coerce(&stripped, v) {
                    self.rep.warning(
                        def.pos_of(&format!("enum[{i}]")),
                        &format!("{}.enum[{i}]", def.path),
                        format!("enum value {} does not fit the declared type: {m}", types::py_repr(v)),
                    );
                }
            }
        }
        if let Some(d) = &def.default {
            if let Err(m) = types::coerce(def, d) {
                self.rep.warning(
                    def.pos_of("default"),
                    &format!("{}.default", def.path),
                    format!("default {} does not fit the declared type: {m}", types::py_repr(d)),
                );
            }
        }
        if let Some(examples) = &def.examples {
            for (i, v) in examples.iter().enumerate() {
                if let Err(m) = types::coerce(def, v) {
                    self.rep.warning(
                        def.pos_of(&format!("examples[{i}]")),
                        &format!("{}.examples[{i}]", def.path),
                        format!("example {} does not fit the declared type: {m}", types::py_repr(v)),
                    );
                }
            }
        }
        let misplaced = |present: bool, key: &str, wanted: &str, this: &mut Self| {
            if present {
                this.rep.push(
                    Severity::Warning,
                    def.pos_of(key),
                    &format!("{}.{key}", def.path),
                    format!("'{key}' applies to {wanted}, not to type '{}'; it is ignored", def.ty.as_str()),
                    None,
                );
            }
        };
        let is = |t: &[DataType]| t.contains(&def.ty);
        let string = is(&[DataType::String]);
        let numeric = is(&[DataType::Number, DataType::Integer]);
        let array = is(&[DataType::Array]);
        let object = is(&[DataType::Object]);
        misplaced(!string && def.format.is_some(), "format", "strings", self);
        misplaced(!string && def.min_length.is_some(), "minLength", "strings", self);
        misplaced(!string && def.max_length.is_some(), "maxLength", "strings", self);
        misplaced(!string && def.pattern.is_some(), "pattern", "strings", self);
        misplaced(!numeric && def.minimum.is_some(), "minimum", "numbers", self);
        misplaced(!numeric && def.maximum.is_some(), "maximum", "numbers", self);
        misplaced(!numeric && def.exclusive_minimum.is_some(), "exclusiveMinimum", "numbers", self);
        misplaced(!numeric && def.exclusive_maximum.is_some(), "exclusiveMaximum", "numbers", self);
        misplaced(!numeric && def.multiple_of.is_some(), "multipleOf", "numbers", self);
        misplaced(!array && def.items.is_some(), "items", "arrays", self);
        misplaced(!array && def.min_items.is_some(), "minItems", "arrays", self);
        misplaced(!array && def.max_items.is_some(), "maxItems", "arrays", self);
        misplaced(!array && def.unique_items.is_some(), "uniqueItems", "arrays", self);
        misplaced(!object && def.properties.is_some(), "properties", "objects", self);
        misplaced(!object && def.required.is_some(), "required", "objects", self);
        misplaced(!object && def.additional_properties.is_some(), "additionalProperties", "objects", self);
        let ranges = [
            ("minLength", def.min_length.map(|x| x as f64), "maxLength", def.max_length.map(|x| x as f64)),
            ("minimum", def.minimum, "maximum", def.maximum),
            ("minItems", def.min_items.map(|x| x as f64), "maxItems", def.max_items.map(|x| x as f64)),
        ];
        for (lo_key, lo, hi_key, hi) in ranges {
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo > hi {
                    self.rep.warning(
                        def.pos_of(lo_key),
                        &format!("{}.{lo_key}", def.path),
                        format!("'{lo_key}' ({lo}) is greater than '{hi_key}' ({hi}): no value can satisfy both"),
                    );
                }
            }
        }
        if let Some(required) = &def.required {
            let props = def.properties.as_ref();
            for (i, r) in required.iter().enumerate() {
                if !props.is_some_and(|p| p.contains_key(r)) {
                    self.rep.warning(
                        def.pos_of(&format!("required[{i}]")),
                        &format!("{}.required[{i}]", def.path),
                        format!("required property '{r}' is not declared in 'properties'"),
                    );
                }
            }
        }
        if let Some(items) = &def.items {
            self.type_def(items);
        }
        for prop in def.properties.iter().flat_map(|p| p.values()) {
            self.type_def(prop);
        }
    }

    fn uri_template(&mut self, e: &Endpoint) {
        let vars = crate::load::uri_template::variables(&e.name);
        let unused: Vec<&str> =
            e.parameters.iter().map(|p| p.name.as_str()).filter(|p| !vars.iter().any(|v| v == p)).collect();
        if !unused.is_empty() {
            let list = unused.iter().map(|u| format!("'{u}'")).collect::<Vec<_>>().join(", ");
            self.rep.push(
                Severity::Error,
                e.name_pos,
                "resource.uri",
                format!("resource parameter(s) [{list}] are not used in uri '{}'", e.name),
                Some("put them in the uri as {name}, or make the endpoint a tool".into()),
            );
        }
        if !e.name.contains("://") {
            self.rep.push(
                Severity::Warning,
                e.name_pos,
                "resource.uri",
                format!("invalid resource uri '{}': expected scheme://path", e.name),
                None,
            );
        }
    }

    fn prompt_templates(&mut self, e: &Endpoint) {
        let declared: HashSet<&str> = e.parameters.iter().map(|p| p.name.as_str()).collect();
        for (i, m) in e.messages.iter().enumerate() {
            match crate::load::template::undeclared_variables(&m.prompt, &|v| declared.contains(v)) {
                // the reference refuses these too ("uses undefined template variables")
                Ok(undeclared) if !undeclared.is_empty() => self.rep.push(
                    Severity::Error,
                    m.pos,
                    &m.path,
                    format!("message {i} uses undeclared template variable(s): {}", undeclared.join(", ")),
                    Some("declare them under 'parameters'".into()),
                ),
                Ok(_) => {}
                Err(err) => {
                    let pos = Pos { line: m.pos.line + err.line.unwrap_or(1).saturating_sub(1) as u32, col: m.pos.col };
                    self.rep.error(pos, &m.path, format!("invalid template in message {i}: {}", err.message));
                }
            }
        }
    }

    /// Warnings only: a broken test fails when `mxcp test` runs it, and must not keep the
    /// endpoint from being served.
    fn tests(&mut self, e: &Endpoint) {
        let Some(tests) = &e.tests else { return };
        let mut names = HashSet::new();
        for t in tests {
            if !names.insert(t.name.as_str()) {
                self.rep.warning(t.name_pos, &format!("{}.name", t.path), format!("duplicate test name '{}'", t.name));
            }
            let mut given = HashSet::new();
            for a in &t.arguments {
                given.insert(a.key.as_str());
                match e.param(&a.key) {
                    None => {
                        let help = crate::diagnostics::suggest(&a.key, e.parameters.iter().map(|p| p.name.as_str()))
                            .map(|s| format!("did you mean '{s}'?"));
                        self.rep.push(
                            Severity::Warning,
                            a.key_pos,
                            &format!("{}.key", a.path),
                            format!(
                                "test '{}' passes '{}', which is not a parameter of this {}",
                                t.name,
                                a.key,
                                e.kind.as_str()
                            ),
                            help,
                        );
                    }
                    Some(p) => {
                        if let Err(m) = types::coerce(&p.def, &a.value) {
                            self.rep.warning(
                                a.value_pos,
                                &format!("{}.value", a.path),
                                format!(
                                    "test '{}': value {} for '{}' does not fit its type: {m}",
                                    t.name,
                                    types::py_repr(&a.value),
                                    a.key
                                ),
                            );
                        }
                    }
                }
            }
            // without `arguments` (reported already) nothing more is said about them
            let Some(arguments_pos) = t.arguments_pos else { continue };
            for p in &e.parameters {
                if p.def.default.is_none() && !given.contains(p.name.as_str()) {
                    self.rep.warning(
                        arguments_pos,
                        &format!("{}.arguments", t.path),
                        format!("test '{}' does not give required parameter '{}'", t.name, p.name),
                    );
                }
            }
        }
    }
}

fn check_duplicates(project: &Project, out: &mut Vec<Diagnostic>) {
    let mut by_name: BTreeMap<(EndpointKind, &str), Vec<(&PathBuf, Pos)>> = BTreeMap::new();
    for f in &project.files {
        if let Some(e) = f.endpoint.as_ref().filter(|e| e.enabled) {
            by_name.entry((e.kind, e.name.as_str())).or_default().push((&f.rel, e.name_pos));
        }
    }
    for ((kind, name), files) in by_name {
        if files.len() < 2 {
            continue;
        }
        let list = files.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>().join(", ");
        let what = if kind == EndpointKind::Resource { "URI" } else { "name" };
        let key = if kind == EndpointKind::Resource { "uri" } else { "name" };
        for (file, pos) in &files {
            out.push(Diagnostic {
                severity: Severity::Error,
                file: (*file).clone(),
                line: pos.line,
                column: pos.col,
                yaml_path: format!("{}.{key}", kind.as_str()),
                message: format!("Duplicate endpoint {what} '{name}' found in: {list}"),
                help: None,
                at_run_time: false,
            });
        }
    }
}
