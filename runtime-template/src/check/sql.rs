//! Validation that needs the database: each SQL endpoint is prepared (not run) and checked:
//! syntax and catalog errors mapped to the SQL's own line, the `$name` parameters against the
//! declared ones, parameter types DuckDB inferred, and result columns against `return`.
//!
//! Severity follows one rule: an error only where the reference fails too (it prepares the
//! statement and compares parameter sets) or where every call would fail at run time (a
//! result that cannot pass output validation); everything else is a warning.

use std::path::PathBuf;
use std::sync::Arc;

use crate::db::{BindKind, BindType, Database, SqlType, TemporalFormat, typed_sql};
use crate::diagnostics::Findings;
use crate::diagnostics::Pos;
use crate::diagnostics::{Diagnostic, Severity};
use crate::load::endpoint::{DataType, Endpoint, Format, Language, Param, SourceBody, TypeDef};
use crate::load::project::Project;

/// Findings for every SQL endpoint; `.sql` files that findings point into are added to
/// `findings.sources` for rendering.
pub fn check_sql(project: &Project, db: &Database, findings: &mut Findings) {
    for (file, e) in project.endpoints() {
        if !e.runs(Language::Sql) {
            continue;
        }
        let Some(src) = &e.source else { continue };
        let mut c = Check { yaml: file.rel.clone(), out: Vec::new() };
        let (sql, location) = match &src.body {
            SourceBody::Code { text, start } => (text.clone(), SqlLocation::Inline { start: *start }),
            SourceBody::File { resolved, .. } => match std::fs::read_to_string(resolved) {
                Ok(text) => {
                    let rel = project.source_rel(file).unwrap_or_else(|| resolved.clone());
                    findings.sources.insert(rel.clone(), Arc::from(text.as_str()));
                    (text, SqlLocation::File(rel))
                }
                // a missing file was reported by the static checks
                Err(_) => continue,
            },
        };
        // A file with static errors has an incomplete model (a parameter whose type did not
        // decode is missing): only its SQL syntax is checked, to avoid follow-on findings.
        let complete = !findings.diagnostics.iter().any(|d| d.file == file.rel && d.is_error());
        let description = db.describe(&sql);
        match description.as_ref() {
            Err(message) => c.prepare_error(message, &location, src.pos, &format!("{}.source", e.kind.as_str())),
            Ok(_) if !complete => {}
            Ok(d) => {
                c.parameters(e, &d.params, src.pos);
                let before = c.out.len();
                if let Some(r) = &e.return_type {
                    if is_unresolved(&d.columns) {
                        // DuckDB cannot type the result until it knows the parameters' types:
                        // describe it again with each `$name` cast to its declared type.
                        let binds = bind_types(&e.parameters);
                        let typed = typed_sql(&sql, &|n| find_bind(&binds, n), |_| true);
                        if let Ok(d2) = db.describe(&typed).as_ref() {
                            if !is_unresolved(&d2.columns) {
                                c.returns(r, &d2.columns);
                            }
                        }
                    } else {
                        c.returns(r, &d.columns);
                    }
                }
                // the reference serves such endpoints; their calls fail in output validation
                for d in c.out[before..].iter_mut().filter(|d| d.is_error()) {
                    d.at_run_time = true;
                }
            }
        }
        findings.diagnostics.extend(c.out);
    }
}

/// What each declared parameter binds as in the database, in declaration order.
pub fn bind_types(params: &[Param]) -> Vec<(String, BindType)> {
    params.iter().map(|p| (p.name.clone(), bind_type(&p.def))).collect()
}

/// The first declared parameter of that name (as `Endpoint::param` finds it).
pub fn find_bind<'b>(binds: &'b [(String, BindType)], name: &str) -> Option<&'b BindType> {
    binds.iter().find(|(n, _)| n == name).map(|(_, b)| b)
}

/// The part of a declared type the database binds by.
pub fn bind_type(def: &TypeDef) -> BindType {
    BindType {
        kind: match def.ty {
            DataType::String => BindKind::String,
            DataType::Number => BindKind::Number,
            DataType::Integer => BindKind::Integer,
            DataType::Boolean => BindKind::Boolean,
            DataType::Array => BindKind::Array,
            DataType::Object => BindKind::Object,
        },
        format: match def.format {
            Some(Format::Date) => Some(TemporalFormat::Date),
            Some(Format::DateTime) => Some(TemporalFormat::DateTime),
            Some(Format::Timestamp) => Some(TemporalFormat::Timestamp),
            Some(Format::Time) => Some(TemporalFormat::Time),
            _ => None,
        },
        items: def.items.as_deref().map(|i| Box::new(bind_type(i))),
        properties: def.properties.as_ref().map(|p| p.iter().map(|(k, v)| (k.clone(), bind_type(v))).collect()),
    }
}

enum SqlLocation {
    /// Inline `code:`, starting at this position of the YAML file.
    Inline { start: Pos },
    /// A `.sql` file, relative to the project root.
    File(PathBuf),
}

struct Check {
    yaml: PathBuf,
    out: Vec<Diagnostic>,
}

impl Check {
    fn push(&mut self, severity: Severity, file: PathBuf, pos: Pos, path: &str, message: String, help: Option<String>) {
        self.out.push(Diagnostic {
            severity,
            file,
            line: pos.line,
            column: pos.col,
            yaml_path: path.into(),
            message,
            help,
            at_run_time: false,
        });
    }

    fn prepare_error(&mut self, message: &str, location: &SqlLocation, source_pos: Pos, path: &str) {
        let (headline, sql_line, sql_col) = parse_duckdb_error(message);
        let (file, pos) = match (location, sql_line) {
            (SqlLocation::File(rel), Some(line)) => (rel.clone(), Pos { line, col: sql_col.unwrap_or(1) }),
            (SqlLocation::File(rel), None) => (rel.clone(), Pos { line: 1, col: 1 }),
            // a block scalar keeps the SQL's lines, each indented like the first
            (SqlLocation::Inline { start }, Some(line)) if start.line > 0 => {
                (self.yaml.clone(), Pos { line: start.line + line - 1, col: start.col + sql_col.unwrap_or(1) - 1 })
            }
            (SqlLocation::Inline { .. }, _) => (self.yaml.clone(), source_pos),
        };
        self.push(Severity::Error, file, pos, path, headline, None);
    }

    fn parameters(&mut self, e: &Endpoint, sql_params: &[(String, SqlType)], source_pos: Pos) {
        let kind = e.kind.as_str();
        for (name, _) in sql_params {
            if e.param(name).is_none() {
                let help = crate::diagnostics::suggest(name, e.parameters.iter().map(|p| p.name.as_str()))
                    .map(|s| format!("did you mean '{s}'?"));
                self.push(
                    Severity::Error,
                    self.yaml.clone(),
                    source_pos,
                    &format!("{kind}.source"),
                    format!("the SQL uses ${name}, but no parameter '{name}' is declared"),
                    help,
                );
            }
        }
        for p in &e.parameters {
            match sql_params.iter().find(|(n, _)| *n == p.name) {
                None => self.push(
                    Severity::Error,
                    self.yaml.clone(),
                    p.pos,
                    &p.path,
                    format!("parameter '{}' is declared but the SQL does not use ${}", p.name, p.name),
                    None,
                ),
                Some((_, ty)) => {
                    // DuckDB casts a bound value where the statement needs another type (a
                    // string compared with an INTEGER column works for "2"): only a warning
                    if let Some(problem) = binding_problem(&p.def, ty) {
                        self.push(
                            Severity::Warning,
                            self.yaml.clone(),
                            p.pos,
                            &format!("{}.type", p.path),
                            format!(
                                "parameter '{}' is declared {}, but the SQL uses it as {ty}{problem}",
                                p.name,
                                p.def.ty.as_str()
                            ),
                            None,
                        );
                    }
                }
            }
        }
    }

    fn returns(&mut self, def: &TypeDef, columns: &[(String, SqlType)]) {
        let names = || columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
        match def.ty {
            DataType::Array => match &def.items {
                None => {}
                Some(items) if items.ty == DataType::Object => self.object_columns(items, columns),
                Some(items) => self.push(
                    Severity::Error,
                    self.yaml.clone(),
                    items.pos,
                    &items.path,
                    format!(
                        "a SQL endpoint returns rows (objects), but the array items are declared {}",
                        items.ty.as_str()
                    ),
                    Some("declare `items: {type: object, properties: ...}`".into()),
                ),
            },
            DataType::Object => self.object_columns(def, columns),
            scalar => {
                if columns.len() != 1 {
                    self.push(
                        Severity::Error,
                        self.yaml.clone(),
                        def.pos,
                        &def.path,
                        format!(
                            "return type '{}' needs exactly one result column, the query returns {} ({})",
                            scalar.as_str(),
                            columns.len(),
                            names()
                        ),
                        None,
                    );
                } else if let Some(problem) = value_problem(def, &columns[0].1) {
                    self.push(
                        Severity::Error,
                        self.yaml.clone(),
                        def.pos,
                        &format!("{}.type", def.path),
                        format!("column '{}' {problem}", columns[0].0),
                        None,
                    );
                }
            }
        }
    }

    fn object_columns(&mut self, def: &TypeDef, columns: &[(String, SqlType)]) {
        let Some(props) = &def.properties else { return };
        let names = columns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
        for (name, prop) in props {
            match columns.iter().find(|(n, _)| n == name) {
                // output validation requires only the `required` properties
                None => self.push(
                    if def.required.as_ref().is_some_and(|r| r.contains(name)) {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    self.yaml.clone(),
                    prop.pos,
                    &prop.path,
                    format!("declared property '{name}' is not a column of the query (columns: {names})"),
                    None,
                ),
                Some((_, ty)) => {
                    if let Some(problem) = value_problem(prop, ty) {
                        self.push(
                            Severity::Error,
                            self.yaml.clone(),
                            prop.pos,
                            &format!("{}.type", prop.path),
                            format!("column '{name}' {problem}"),
                            None,
                        );
                    }
                }
            }
        }
        for (name, _) in columns {
            if !props.contains_key(name) {
                let severity =
                    if def.additional_properties == Some(false) { Severity::Error } else { Severity::Warning };
                self.push(
                    severity,
                    self.yaml.clone(),
                    def.pos,
                    &format!("{}.properties", def.path),
                    format!("column '{name}' is not declared in the return type"),
                    None,
                );
            }
        }
    }
}

/// A statement whose parameter types are still open reports one column named "unknown".
fn is_unresolved(columns: &[(String, SqlType)]) -> bool {
    matches!(columns, [(name, SqlType::Unknown | SqlType::Other(_))] if name == "unknown")
}

/// Why values of SQL type `ty` do not fit the declared type, if they do not.
fn value_problem(def: &TypeDef, ty: &SqlType) -> Option<String> {
    use SqlType::*;
    if matches!(ty, Null | Unknown | Json | Other(_)) {
        return None;
    }
    let fits = match def.ty {
        DataType::String => ty.is_textual(),
        DataType::Number => ty.is_numeric(),
        DataType::Integer => ty.is_integer(),
        DataType::Boolean => *ty == Boolean,
        DataType::Array => match ty {
            List(child) | Array(child, _) => {
                return def
                    .items
                    .as_ref()
                    .and_then(|items| value_problem(items, child))
                    .map(|p| format!("has items that do not fit: {p}"));
            }
            _ => false,
        },
        DataType::Object => match ty {
            Struct(fields) => {
                for (name, prop) in def.properties.iter().flatten() {
                    match fields.iter().find(|(n, _)| n == name) {
                        // output validation requires only the `required` properties
                        None if def.required.as_ref().is_some_and(|r| r.contains(name)) => {
                            return Some(format!("is {ty}, which has no field '{name}'"));
                        }
                        None => {}
                        Some((_, fty)) => {
                            if let Some(p) = value_problem(prop, fty) {
                                return Some(format!("has field '{name}' that {p}"));
                            }
                        }
                    }
                }
                true
            }
            Map(..) => true,
            _ => false,
        },
    };
    if fits { None } else { Some(format!("is {ty}, but the return type declares it {}", def.ty.as_str())) }
}

/// Why a value of the declared type cannot bind where the SQL expects `ty`, if it cannot.
fn binding_problem(def: &TypeDef, ty: &SqlType) -> Option<&'static str> {
    use SqlType::*;
    if matches!(ty, Null | Unknown | Json | Other(_) | Varchar) {
        return None;
    }
    let ok = match def.ty {
        DataType::String => ty.is_textual(),
        DataType::Number | DataType::Integer => ty.is_numeric(),
        DataType::Boolean => *ty == Boolean,
        DataType::Array => matches!(ty, List(_) | Array(..)),
        DataType::Object => matches!(ty, Struct(_) | Map(..)),
    };
    if ok { None } else { Some(" (a value of the declared type cannot be compared or cast there)") }
}

/// DuckDB's message headline and, when it quotes the statement (`LINE n:` with a caret), the
/// line and column it points at.
fn parse_duckdb_error(message: &str) -> (String, Option<u32>, Option<u32>) {
    let headline = message.lines().find(|l| !l.trim().is_empty()).unwrap_or(message).trim().to_string();
    let lines: Vec<&str> = message.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if let Some(rest) = l.strip_prefix("LINE ") {
            let Some((num, _)) = rest.split_once(':') else {
                continue;
            };
            let Ok(line) = num.trim().parse::<u32>() else {
                continue;
            };
            let prefix_len = format!("LINE {num}: ").chars().count();
            let col =
                lines.get(i + 1).and_then(|c| c.find('^')).map(|caret| (caret.saturating_sub(prefix_len) + 1) as u32);
            return (headline, Some(line), col);
        }
    }
    (headline, None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_line_and_caret() {
        let m = "Parser Error: syntax error at or near \"FORM\"\n\nLINE 2: SELECT 1 FORM x\n                 ^";
        let (h, line, col) = parse_duckdb_error(m);
        assert_eq!(h, "Parser Error: syntax error at or near \"FORM\"");
        assert_eq!((line, col), (Some(2), Some(10)));
    }
}
