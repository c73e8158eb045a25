//! `mxcp lint`: metadata that helps an AI client use the endpoints well. Each finding is
//! reported once.

use std::path::Path;

use crate::diagnostics::Pos;
use crate::diagnostics::{Diagnostic, Severity};
use crate::load::endpoint::{Endpoint, EndpointKind, TypeDef};
use crate::load::project::Project;

pub fn lint(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (file, e) in project.endpoints() {
        lint_endpoint(&file.rel, e, &mut out);
    }
    out
}

fn lint_endpoint(file: &Path, e: &Endpoint, out: &mut Vec<Diagnostic>) {
    let t = e.kind.as_str();
    let title = e.kind.title();
    let mut push = |severity, pos: Pos, path: String, message: String, suggestion: &str| {
        out.push(Diagnostic {
            severity,
            file: file.to_path_buf(),
            line: pos.line,
            column: pos.col,
            yaml_path: path,
            message,
            help: Some(suggestion.to_string()),
            at_run_time: false,
        });
    };
    if e.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
        push(
            Severity::Warning,
            e.pos,
            format!("{t}.description"),
            format!("{title} is missing a description"),
            "Add a description that says what it does and when to use it",
        );
    }
    if e.tags.as_ref().is_none_or(|t| t.is_empty()) {
        push(
            Severity::Info,
            e.pos,
            format!("{t}.tags"),
            format!("{title} has no tags"),
            "Add tags to group related endpoints",
        );
    }
    if e.kind != EndpointKind::Prompt && e.tests.as_ref().is_none_or(|t| t.is_empty()) {
        push(
            Severity::Warning,
            e.pos,
            format!("{t}.tests"),
            format!("{title} has no tests defined"),
            "Add tests to catch regressions",
        );
    }
    for (i, test) in e.tests.iter().flatten().enumerate() {
        if test.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            push(
                Severity::Info,
                test.pos,
                format!("{t}.tests[{i}].description"),
                format!("Test '{}' is missing a description", test.name),
                "Describe what the test checks",
            );
        }
    }
    for (i, p) in e.parameters.iter().enumerate() {
        if p.def.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            push(
                Severity::Error,
                p.pos,
                format!("{t}.parameters[{i}].description"),
                format!("Parameter '{}' is missing a description", p.name),
                "Describe the parameter: the AI client sees only this text",
            );
        }
        if p.def.examples.as_ref().is_none_or(|x| x.is_empty()) {
            push(
                Severity::Info,
                p.pos,
                format!("{t}.parameters[{i}].examples"),
                format!("Parameter '{}' has no examples", p.name),
                "Add examples of valid values",
            );
        }
        if p.def.default.is_none() {
            push(
                Severity::Info,
                p.pos,
                format!("{t}.parameters[{i}].default"),
                format!("Parameter '{}' has no default value", p.name),
                "Add a default if the parameter can be optional",
            );
        }
        // the items and properties of a parameter need descriptions too, as the reference lints
        nested(&p.def, &format!("{t}.parameters[{i}]"), &mut push);
    }
    if e.kind != EndpointKind::Prompt {
        if let Some(r) = &e.return_type {
            if r.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
                push(
                    Severity::Warning,
                    r.pos,
                    format!("{t}.return.description"),
                    "Return type is missing a description".into(),
                    "Describe what the result contains",
                );
            }
            nested(r, &format!("{t}.return"), &mut push);
        }
    }
    if e.kind == EndpointKind::Tool && e.annotations.as_ref().is_none_or(|a| a.is_empty()) {
        push(
            Severity::Info,
            e.pos,
            "tool.annotations".into(),
            "Tool has no behavioral annotations".into(),
            "Add annotations such as readOnlyHint or idempotentHint",
        );
    }
}

fn nested(def: &TypeDef, path: &str, push: &mut dyn FnMut(Severity, Pos, String, String, &str)) {
    if let Some(items) = &def.items {
        let p = format!("{path}.items");
        if items.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            push(
                Severity::Warning,
                items.pos,
                p.clone(),
                format!("Type '{}' is missing a description", items.ty.as_str()),
                "Describe the items",
            );
        }
        nested(items, &p, push);
    }
    for (name, prop) in def.properties.iter().flatten() {
        let p = format!("{path}.properties.{name}");
        if prop.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
            push(
                Severity::Warning,
                prop.pos,
                p.clone(),
                format!("Property '{name}' is missing a description"),
                "Describe the property",
            );
        }
        nested(prop, &p, push);
    }
}
