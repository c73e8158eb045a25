//! The reference's JSON envelope: `{"status":"ok","result":...}` / `{"status":"error","error":...}`.

use serde_json::{Value as Json, json};

pub fn ok(result: Json) {
    print_json(&json!({"status": "ok", "result": result}));
}

pub fn error(message: &str, extra: Option<Json>) {
    let mut v = json!({"status": "error", "error": message});
    if let Some(Json::Object(m)) = extra {
        v.as_object_mut().expect("object").extend(m);
    }
    print_json(&v);
}

pub fn print_json(v: &Json) {
    println!("{}", serde_json::to_string_pretty(v).expect("serializable"));
}

/// Text output of a result: a table for a list of objects, otherwise the value itself.
pub fn print_value(v: &Json) {
    match v {
        Json::Array(rows) if !rows.is_empty() && rows.iter().all(Json::is_object) => print_table(rows),
        Json::Array(rows) if rows.is_empty() => println!("(no rows)"),
        Json::String(s) => println!("{s}"),
        other => println!("{}", serde_json::to_string_pretty(other).expect("serializable")),
    }
}

fn cell(v: &Json) -> String {
    match v {
        Json::Null => "NULL".into(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_table(rows: &[Json]) {
    let mut columns: Vec<String> = Vec::new();
    for r in rows {
        for k in r.as_object().into_iter().flat_map(|m| m.keys()) {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let cells: Vec<Vec<String>> = rows.iter().map(|r| columns.iter().map(|c| cell(&r[c])).collect()).collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).chain([c.chars().count()]).max().unwrap_or(0).min(60))
        .collect();
    let line = |vals: Vec<&str>| {
        let parts: Vec<String> =
            vals.iter().zip(&widths).map(|(v, w)| format!("{:<w$}", truncate(v, *w), w = *w)).collect();
        println!("{}", parts.join(" | ").trim_end());
    };
    line(columns.iter().map(String::as_str).collect());
    println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"));
    for r in &cells {
        line(r.iter().map(String::as_str).collect());
    }
    println!("({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" });
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(width.saturating_sub(1)).collect::<String>())
    }
}
