//! SQL text with typed parameters. DuckDB re-plans a prepared statement on every execution
//! when it could not infer a parameter's type at prepare time (`'Hi ' || $name`), which
//! doubles the cost of a small query; casting such parameters to the type they are bound as
//! anyway gives the same results with one plan.

use indexmap::IndexMap;

/// What a parameter's value binds as: the part of its declared type the database needs, as
/// plain data (the caller builds it from the endpoint model, which this module does not see).
#[derive(Debug, Clone, PartialEq)]
pub struct BindType {
    pub kind: BindKind,
    /// Only the formats that change the binding (a date binds as DATE, ...).
    pub format: Option<TemporalFormat>,
    pub items: Option<Box<BindType>>,
    pub properties: Option<IndexMap<String, BindType>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindKind {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalFormat {
    Date,
    DateTime,
    Timestamp,
    Time,
}

impl BindType {
    pub fn new(kind: BindKind) -> BindType {
        BindType { kind, format: None, items: None, properties: None }
    }
}

/// The DuckDB type a declared parameter binds as (`None`: leave the placeholder alone).
/// An object with declared properties is a STRUCT of all of them, so a property that is
/// absent or null in the call still has its declared type (DuckDB casts STRUCTs by field
/// name, filling absent fields with NULL).
pub fn declared_sql_type(def: &BindType) -> Option<String> {
    use TemporalFormat as F;
    Some(match (def.kind, def.format) {
        (BindKind::String, Some(F::Date)) => "DATE".into(),
        (BindKind::String, Some(F::DateTime | F::Timestamp)) => "TIMESTAMP".into(),
        (BindKind::String, Some(F::Time)) => "TIME".into(),
        (BindKind::String, _) => "VARCHAR".into(),
        (BindKind::Integer, _) => "BIGINT".into(),
        (BindKind::Number, _) => "DOUBLE".into(),
        (BindKind::Boolean, _) => "BOOLEAN".into(),
        (BindKind::Array, _) => format!("{}[]", declared_sql_type(def.items.as_deref()?)?),
        (BindKind::Object, _) => {
            let props = def.properties.as_ref().filter(|p| !p.is_empty())?;
            let fields: Option<Vec<String>> = props
                .iter()
                .map(|(name, prop)| Some(format!("\"{}\" {}", name.replace('"', "\"\""), declared_sql_type(prop)?)))
                .collect();
            format!("STRUCT({})", fields?.join(", "))
        }
    })
}

/// Rewrites each `$name` placeholder outside literals and comments as `($name::TYPE)`, TYPE
/// being what the declared parameter binds as (`types`), for the parameters `which` selects.
pub fn typed_sql<'b>(sql: &str, types: &dyn Fn(&str) -> Option<&'b BindType>, which: impl Fn(&str) -> bool) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 32);
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let start = i;
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if b.get(j) == Some(&b'$') {
                    // dollar-quoted string: $tag$ ... $tag$
                    let tag = &sql[start..=j];
                    i = sql[j + 1..].find(tag).map(|k| j + 1 + k + tag.len()).unwrap_or(b.len());
                    continue;
                }
                let name = &sql[start + 1..j];
                if let Some(ty) = types(name).filter(|_| which(name)).and_then(declared_sql_type) {
                    out.push_str(&sql[copied..start]);
                    out.push_str(&format!("(${name}::{ty})"));
                    copied = j;
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_placeholders_outside_literals_and_comments() {
        let (string, integer) = (BindType::new(BindKind::String), BindType::new(BindKind::Integer));
        let e = |name: &str| match name {
            "name" => Some(&string),
            "n" => Some(&integer),
            _ => None,
        };
        let sql = "SELECT '$name' || $name, $n -- $n\n/* $name */ FROM t WHERE x = $$ $name $$";
        assert_eq!(
            typed_sql(sql, &e, |_| true),
            "SELECT '$name' || ($name::VARCHAR), ($n::BIGINT) -- $n\n/* $name */ FROM t WHERE x = $$ $name $$"
        );
        assert_eq!(typed_sql("SELECT $name, $n", &e, |p| p == "n"), "SELECT $name, ($n::BIGINT)");
    }
}
