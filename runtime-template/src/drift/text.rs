//! The drift report as text (`mxcp drift-check` without `--json-output`): what changed, with
//! the tests whose outcome changed and the new validation message, which the JSON report only
//! summarises by status.

use std::fmt::Write;

use super::compare::{ChangeType, DriftReport, ResourceChange, TableChange};
use super::{Column, Resource, Snapshot, TestResults};

pub fn render(report: &DriftReport, baseline: &Snapshot, current: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Drift check against {} (baseline of {})",
        report.baseline_snapshot_path, report.baseline_snapshot_generated_at
    );
    if !report.has_drift {
        let _ = writeln!(
            out,
            "\nNo drift: {} and {} as in the baseline.",
            plural(current.tables.len(), "table"),
            plural(current.resources.len(), "endpoint file")
        );
        return out;
    }
    if !report.table_changes.is_empty() {
        out.push_str("\nTables:\n");
        for c in &report.table_changes {
            table(&mut out, c);
        }
    }
    if !report.resource_changes.is_empty() {
        out.push_str("\nEndpoints:\n");
        let by_path = |list: &'_ [Resource], path: &str| list.iter().find(|r| r.path() == path).cloned();
        for c in &report.resource_changes {
            resource(&mut out, c, by_path(&baseline.resources, &c.path), by_path(&current.resources, &c.path));
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\nDrift: tables {} added, {} removed, {} modified; endpoints {} added, {} removed, {} modified",
        s.tables_added,
        s.tables_removed,
        s.tables_modified,
        s.resources_added,
        s.resources_removed,
        s.resources_modified
    );
    out
}

fn table(out: &mut String, c: &TableChange) {
    let columns = |cols: &[Column]| cols.iter().map(|c| format!("{} {}", c.name, c.data_type)).collect::<Vec<_>>();
    match c.change_type {
        ChangeType::Added => {
            let _ = writeln!(
                out,
                "  + {}: added ({})",
                c.name,
                columns(c.columns_added.as_deref().unwrap_or_default()).join(", ")
            );
        }
        ChangeType::Removed => {
            let cols = columns(c.columns_removed.as_deref().unwrap_or_default());
            let _ = writeln!(out, "  - {}: removed ({})", c.name, cols.join(", "));
        }
        ChangeType::Modified => {
            let _ = writeln!(out, "  ~ {}: modified", c.name);
            for col in columns(c.columns_added.as_deref().unwrap_or_default()) {
                let _ = writeln!(out, "      + column {col}");
            }
            for col in columns(c.columns_removed.as_deref().unwrap_or_default()) {
                let _ = writeln!(out, "      - column {col}");
            }
            for m in c.columns_modified.iter().flatten() {
                let _ = writeln!(out, "      ~ column {}: {} → {}", m.name, m.old_type, m.new_type);
            }
        }
    }
}

fn resource(out: &mut String, c: &ResourceChange, old: Option<Resource>, new: Option<Resource>) {
    let name = match &c.endpoint {
        Some(id) => format!("{id} ({})", c.path),
        None => c.path.clone(),
    };
    let (old, new) = match (c.change_type, old, new) {
        (ChangeType::Added, _, _) => {
            let _ = writeln!(out, "  + {name}: added");
            return;
        }
        (ChangeType::Removed, _, _) => {
            let _ = writeln!(out, "  - {name}: removed");
            return;
        }
        (ChangeType::Modified, Some(old), Some(new)) => (old, new),
        _ => return,
    };
    let mut what = Vec::new();
    if c.validation_changed == Some(true) {
        what.push(format!("validation {} → {}", old.validation_results.status, new.validation_results.status));
    }
    if c.test_results_changed == Some(true) {
        let status = |t: &Option<TestResults>| t.as_ref().map_or("not run".to_string(), |t| t.status.clone());
        what.push(format!("tests {} → {}", status(&old.test_results), status(&new.test_results)));
    }
    if c.definition_changed == Some(true) {
        what.push("definition changed".into());
    }
    let _ = writeln!(out, "  ~ {name}: {}", what.join(", "));
    if c.validation_changed == Some(true) {
        if let Some(m) = &new.validation_results.message {
            detail(out, &format!("validation: {m}"));
        }
    }
    if c.test_results_changed == Some(true) {
        test_details(out, old.test_results.as_ref(), new.test_results.as_ref());
    }
}

/// The tests whose outcome changed, appeared or disappeared.
fn test_details(out: &mut String, old: Option<&TestResults>, new: Option<&TestResults>) {
    let tests = |t: Option<&TestResults>| t.and_then(|t| t.tests.clone()).unwrap_or_default();
    let (old, new) = (tests(old), tests(new));
    for t in &new {
        let error = t.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default();
        match old.iter().find(|o| o.name == t.name) {
            Some(o) if o.status == t.status => {}
            Some(o) => detail(out, &format!("~ test {}: {} → {}{error}", t.name, o.status, t.status)),
            None => detail(out, &format!("+ test {}: {}{error}", t.name, t.status)),
        }
    }
    for o in old.iter().filter(|o| !new.iter().any(|t| t.name == o.name)) {
        detail(out, &format!("- test {} (was {})", o.name, o.status));
    }
}

/// A detail line under an endpoint; the lines of a multi-line message indented under it.
fn detail(out: &mut String, text: &str) {
    for (i, line) in text.lines().enumerate() {
        let indent = match (i, line.is_empty()) {
            (_, true) => 0,
            (0, _) => 6,
            _ => 8,
        };
        let _ = writeln!(out, "{:indent$}{line}", "");
    }
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
