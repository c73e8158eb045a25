//! Comparing a snapshot with its baseline: the reference's drift report. Tables are matched by
//! name, columns by name within a table, endpoint files by path. An endpoint file differs when
//! its validation (status, message), its test results (status, count, each test's name and
//! status; not timings or messages) or its definition (by value) differ.

use serde::Serialize;
use serde_json::{Value as Json, json};

use super::{Column, Resource, Snapshot, Table, TestResults};
use crate::load::types::json_eq;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub version: u32,
    pub generated_at: String,
    pub baseline_snapshot_path: String,
    pub current_snapshot_generated_at: String,
    pub baseline_snapshot_generated_at: String,
    pub has_drift: bool,
    pub summary: Summary,
    pub table_changes: Vec<TableChange>,
    pub resource_changes: Vec<ResourceChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub tables_added: usize,
    pub tables_removed: usize,
    pub tables_modified: usize,
    pub resources_added: usize,
    pub resources_removed: usize,
    pub resources_modified: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    Added,
    Removed,
    Modified,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableChange {
    pub name: String,
    pub change_type: ChangeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns_added: Option<Vec<Column>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns_removed: Option<Vec<Column>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns_modified: Option<Vec<ColumnChange>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnChange {
    pub name: String,
    pub old_type: String,
    pub new_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceChange {
    pub path: String,
    /// `tool/name`; absent when the file has no definition (it did not load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub change_type: ChangeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_changed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_results_changed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition_changed: Option<bool>,
    /// `added_resource`/`removed_resource`, or the old and new status of what changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Json>,
}

/// Compares `current` with `baseline` (read from `baseline_path`, as the report names it).
/// Changes are listed added, removed, then modified; each in its snapshot's order.
pub fn compare(baseline: &Snapshot, current: &Snapshot, baseline_path: &str) -> DriftReport {
    let table_changes = table_changes(&baseline.tables, &current.tables);
    let resource_changes = resource_changes(&baseline.resources, &current.resources);
    let count = |list: &[ChangeType], t: ChangeType| list.iter().filter(|c| **c == t).count();
    let tables: Vec<ChangeType> = table_changes.iter().map(|c| c.change_type).collect();
    let resources: Vec<ChangeType> = resource_changes.iter().map(|c| c.change_type).collect();
    DriftReport {
        version: super::SNAPSHOT_VERSION,
        generated_at: super::now(),
        baseline_snapshot_path: baseline_path.to_string(),
        current_snapshot_generated_at: current.generated_at.clone(),
        baseline_snapshot_generated_at: baseline.generated_at.clone(),
        has_drift: !table_changes.is_empty() || !resource_changes.is_empty(),
        summary: Summary {
            tables_added: count(&tables, ChangeType::Added),
            tables_removed: count(&tables, ChangeType::Removed),
            tables_modified: count(&tables, ChangeType::Modified),
            resources_added: count(&resources, ChangeType::Added),
            resources_removed: count(&resources, ChangeType::Removed),
            resources_modified: count(&resources, ChangeType::Modified),
        },
        table_changes,
        resource_changes,
    }
}

fn table_changes(baseline: &[Table], current: &[Table]) -> Vec<TableChange> {
    let find = |list: &[Table], name: &str| list.iter().find(|t| t.name == name).cloned();
    let mut out = Vec::new();
    for t in current.iter().filter(|t| find(baseline, &t.name).is_none()) {
        out.push(TableChange {
            name: t.name.clone(),
            change_type: ChangeType::Added,
            columns_added: Some(t.columns.clone()),
            columns_removed: None,
            columns_modified: None,
        });
    }
    for t in baseline.iter().filter(|t| find(current, &t.name).is_none()) {
        out.push(TableChange {
            name: t.name.clone(),
            change_type: ChangeType::Removed,
            columns_added: None,
            columns_removed: Some(t.columns.clone()),
            columns_modified: None,
        });
    }
    for new in current {
        let Some(old) = find(baseline, &new.name) else { continue };
        let column = |list: &[Column], name: &str| list.iter().find(|c| c.name == name).cloned();
        let added: Vec<Column> =
            new.columns.iter().filter(|c| column(&old.columns, &c.name).is_none()).cloned().collect();
        let removed: Vec<Column> =
            old.columns.iter().filter(|c| column(&new.columns, &c.name).is_none()).cloned().collect();
        let modified: Vec<ColumnChange> = new
            .columns
            .iter()
            .filter_map(|c| {
                let was = column(&old.columns, &c.name)?;
                (was.data_type != c.data_type).then(|| ColumnChange {
                    name: c.name.clone(),
                    old_type: was.data_type,
                    new_type: c.data_type.clone(),
                })
            })
            .collect();
        if added.is_empty() && removed.is_empty() && modified.is_empty() {
            continue;
        }
        let some = |v: Vec<Column>| (!v.is_empty()).then_some(v);
        out.push(TableChange {
            name: new.name.clone(),
            change_type: ChangeType::Modified,
            columns_added: some(added),
            columns_removed: some(removed),
            columns_modified: (!modified.is_empty()).then_some(modified),
        });
    }
    out
}

fn resource_changes(baseline: &[Resource], current: &[Resource]) -> Vec<ResourceChange> {
    let find = |list: &'_ [Resource], path: &str| list.iter().position(|r| r.path() == path);
    let whole = |r: &Resource, change_type, details| ResourceChange {
        path: r.path().to_string(),
        endpoint: r.endpoint_id(),
        change_type,
        validation_changed: None,
        test_results_changed: None,
        definition_changed: None,
        details: Some(details),
    };
    let mut out = Vec::new();
    for r in current.iter().filter(|r| find(baseline, r.path()).is_none()) {
        out.push(whole(r, ChangeType::Added, json!({"added_resource": true})));
    }
    for r in baseline.iter().filter(|r| find(current, r.path()).is_none()) {
        out.push(whole(r, ChangeType::Removed, json!({"removed_resource": true})));
    }
    for new in current {
        let Some(old) = find(baseline, new.path()).map(|i| &baseline[i]) else { continue };
        let (ov, nv) = (&old.validation_results, &new.validation_results);
        let validation_changed = (&ov.status, &ov.message) != (&nv.status, &nv.message);
        let tests_changed = test_key(old.test_results.as_ref()) != test_key(new.test_results.as_ref());
        let definition_changed = match (&old.definition, &new.definition) {
            (Some(a), Some(b)) => !json_eq(a, b),
            (a, b) => a.is_some() != b.is_some(),
        };
        if !(validation_changed || tests_changed || definition_changed) {
            continue;
        }
        let mut details = serde_json::Map::new();
        if validation_changed {
            details.insert("validation_changes".into(), json!({"old_status": ov.status, "new_status": nv.status}));
        }
        if tests_changed {
            let status = |t: Option<&TestResults>| t.map(|t| t.status.clone());
            details.insert(
                "test_changes".into(),
                json!({"old_status": status(old.test_results.as_ref()), "new_status": status(new.test_results.as_ref())}),
            );
        }
        out.push(ResourceChange {
            path: new.path().to_string(),
            endpoint: new.endpoint_id(),
            change_type: ChangeType::Modified,
            validation_changed: Some(validation_changed),
            test_results_changed: Some(tests_changed),
            definition_changed: Some(definition_changed),
            details: (!details.is_empty()).then_some(Json::Object(details)),
        });
    }
    out
}

/// What test results are compared by: status, count, and each test's name and status.
type TestKey<'a> = (&'a str, usize, Vec<(&'a str, &'a str)>);

fn test_key(t: Option<&TestResults>) -> Option<TestKey<'_>> {
    let t = t?;
    let tests = t.tests.iter().flatten().map(|x| (x.name.as_str(), x.status.as_str())).collect();
    Some((t.status.as_str(), t.tests_run, tests))
}
