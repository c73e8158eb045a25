//! Findings about a project: severity, file, line, column, YAML path and message, rendered
//! rustc-style (the offending line with a caret) or as JSON.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// 1-based line and column of a node's first character (in a YAML file; also
/// used for positions in SQL and Python sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Path relative to the project root (absolute when outside it).
    pub file: PathBuf,
    /// 1-based; 0 when the finding concerns the file as a whole.
    pub line: u32,
    pub column: u32,
    /// Where in the document, e.g. `tool.parameters[1].type`; empty for the whole file.
    pub yaml_path: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// An error of a check the reference does not make, which predicts that calls of the
    /// endpoint fail (a result that cannot pass output validation): `validate` reports it,
    /// `serve` still serves the endpoint, as the reference does, and says so.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_run_time: bool,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// An error about a file as a whole (it cannot be read, a check could not run on it).
    pub fn whole_file_error(file: impl Into<PathBuf>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            line: 0,
            column: 0,
            yaml_path: String::new(),
            message: message.into(),
            help: None,
            at_run_time: false,
        }
    }
}

/// A source file the findings point into; shared so every finding can show its line.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub display: PathBuf,
    pub text: Arc<str>,
}

/// Collects the findings of one file.
pub struct Reporter<'a> {
    pub display: &'a Path,
    pub out: &'a mut Vec<Diagnostic>,
}

impl Reporter<'_> {
    pub fn push(
        &mut self,
        severity: Severity,
        pos: Pos,
        yaml_path: &str,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.out.push(Diagnostic {
            severity,
            file: self.display.to_path_buf(),
            line: pos.line,
            column: pos.col,
            yaml_path: yaml_path.to_string(),
            message: message.into(),
            help,
            at_run_time: false,
        });
    }

    pub fn error(&mut self, pos: Pos, yaml_path: &str, message: impl Into<String>) {
        self.push(Severity::Error, pos, yaml_path, message, None);
    }

    pub fn error_help(&mut self, pos: Pos, yaml_path: &str, message: impl Into<String>, help: impl Into<String>) {
        self.push(Severity::Error, pos, yaml_path, message, Some(help.into()));
    }

    pub fn warning(&mut self, pos: Pos, yaml_path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, pos, yaml_path, message, None);
    }
}

/// Findings plus the texts they point into, for rendering.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: HashMap<PathBuf, Arc<str>>,
}

impl Findings {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Errors found in a given file.
    pub fn file_errors(&self, rel: &Path) -> Vec<&Diagnostic> {
        self.diagnostics.iter().filter(|d| d.file == rel && d.is_error()).collect()
    }

    /// All findings, sorted, each with its source line.
    pub fn render(&self) -> String {
        let mut diags = self.diagnostics.clone();
        sort(&mut diags);
        self.render_some(&diags)
    }

    /// `diags` (a selection of these findings, or others about the same files), as given.
    pub fn render_some(&self, diags: &[Diagnostic]) -> String {
        diags.iter().map(|d| render(d, self.sources.get(&d.file).map(|s| &**s))).collect::<Vec<_>>().join("\n")
    }
}

/// Renders one finding like rustc: header, location, the source line and a caret.
pub fn render(d: &Diagnostic, source: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", d.severity.as_str(), d.message);
    let path = d.file.display();
    if d.line == 0 {
        let _ = writeln!(out, "  --> {path}");
    } else {
        let _ = writeln!(out, "  --> {path}:{}:{}", d.line, d.column);
    }
    if let Some(line_text) =
        source.and_then(|s| s.lines().nth(d.line.saturating_sub(1) as usize)).filter(|_| d.line > 0)
    {
        let gutter = d.line.to_string();
        let pad = " ".repeat(gutter.len());
        let caret_at: usize =
            line_text.chars().take(d.column.saturating_sub(1) as usize).map(|c| if c == '\t' { 4 } else { 1 }).sum();
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{gutter} | {}", line_text.replace('\t', "    "));
        let _ = write!(out, "{pad} | {}^", " ".repeat(caret_at));
        if !d.yaml_path.is_empty() {
            let _ = write!(out, " {}", d.yaml_path);
        }
        out.push('\n');
    } else if !d.yaml_path.is_empty() {
        let _ = writeln!(out, "   = at {}", d.yaml_path);
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "   = help: {help}");
    }
    out
}

/// Sorts findings by file, position and message so output is stable.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| (&a.file, a.line, a.column, &a.message).cmp(&(&b.file, b.line, b.column, &b.message)));
}

/// Closest candidate to `word` when it looks like a misspelling.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word_lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic {
            severity: Severity::Error,
            file: "tools/a.yml".into(),
            line: 2,
            column: 3,
            yaml_path: "tool.nme".into(),
            message: "unknown key 'nme'".into(),
            help: Some("did you mean 'name'?".into()),
            at_run_time: false,
        };
        let text = render(&d, Some("tool:\n  nme: x\n"));
        assert_eq!(
            text,
            "error: unknown key 'nme'\n  --> tools/a.yml:2:3\n  |\n2 |   nme: x\n  |   ^ tool.nme\n   = help: did you mean 'name'?\n"
        );
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(suggest("descripton", ["description", "name"]), Some("description"));
        assert_eq!(suggest("zzz", ["description", "name"]), None);
    }
}
