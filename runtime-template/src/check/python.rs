//! Python endpoints: the function exists and its signature matches the declaration. The
//! sources are parsed by the embedded interpreter's `ast`, never executed.

use crate::diagnostics::Pos;
use crate::diagnostics::{Findings, Reporter, Severity};
use crate::load::endpoint::{Language, SourceBody};
use crate::load::project::Project;
use crate::python::{SourceFinding, check_function, endpoint_function};

pub fn check_python(project: &Project, findings: &mut Findings) {
    for (file, e) in project.endpoints() {
        let Some(src) = e.source.as_ref().filter(|_| e.runs(Language::Python)) else { continue };
        let mut yaml = Reporter { display: &file.rel, out: &mut findings.diagnostics };
        let SourceBody::File { resolved, .. } = &src.body else {
            let msg = "Python endpoints must specify source.file (inline code is not supported)";
            yaml.error(src.body_pos, &src.path, msg);
            continue;
        };
        if !resolved.is_file() {
            continue; // reported by the static checks
        }
        let shown = project.source_rel(file).expect("a file source");
        let before = findings.diagnostics.len();
        let mut yaml = Reporter { display: &file.rel, out: &mut findings.diagnostics };
        match check_function(resolved, endpoint_function(e), &shown.to_string_lossy(), &e.parameters) {
            Ok(found) => {
                let severity = |f: &SourceFinding| if f.warning { Severity::Warning } else { Severity::Error };
                for f in &found {
                    match &f.yaml_param {
                        None => continue,
                        Some(name) => match e.parameters.iter().find(|p| &p.name == name) {
                            Some(p) => yaml.push(severity(f), p.pos, &p.path, &f.message, None),
                            None => yaml.push(severity(f), src.body_pos, &src.path, &f.message, None),
                        },
                    }
                }
                let mut py = Reporter { display: &shown, out: &mut findings.diagnostics };
                for f in found.iter().filter(|f| f.yaml_param.is_none()) {
                    py.push(severity(f), Pos { line: f.line as u32, col: f.column as u32 }, "", &f.message, None);
                }
                if found.iter().any(|f| f.yaml_param.is_none()) && !findings.sources.contains_key(&shown) {
                    // the renderer quotes the Python line like a YAML one
                    if let Ok(text) = std::fs::read_to_string(resolved) {
                        findings.sources.insert(shown, text.into());
                    }
                }
            }
            Err(err) => yaml.error(src.pos, &src.path, format!("Python endpoints were not checked: {err}")),
        }
        // the reference checks only that the file exists: it serves the endpoint, whose calls fail
        for d in findings.diagnostics[before..].iter_mut().filter(|d| d.is_error()) {
            d.at_run_time = true;
        }
    }
}
