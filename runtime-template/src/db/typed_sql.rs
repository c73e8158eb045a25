//! SQL text with typed parameters. DuckDB re-plans a prepared statement on every execution
//! when it could not infer a parameter's type at prepare time (`'Hi ' || $name`), which
//! doubles the cost of a small query; casting such parameters to the type they are bound as
//! anyway gives the same results with one plan.

use crate::endpoint::{DataType, Endpoint, TypeDef};

/// The DuckDB type a declared parameter binds as (`None`: leave the placeholder alone).
/// An object with declared properties is a STRUCT of all of them, so a property that is
/// absent or null in the call still has its declared type (DuckDB casts STRUCTs by field
/// name, filling absent fields with NULL).
pub fn declared_sql_type(def: &TypeDef) -> Option<String> {
    use crate::endpoint::Format;
    Some(match (def.ty, def.format) {
        (DataType::String, Some(Format::Date)) => "DATE".into(),
        (DataType::String, Some(Format::DateTime | Format::Timestamp)) => "TIMESTAMP".into(),
        (DataType::String, Some(Format::Time)) => "TIME".into(),
        (DataType::String, _) => "VARCHAR".into(),
        (DataType::Integer, _) => "BIGINT".into(),
        (DataType::Number, _) => "DOUBLE".into(),
        (DataType::Boolean, _) => "BOOLEAN".into(),
        (DataType::Array, _) => format!("{}[]", declared_sql_type(def.items.as_deref()?)?),
        (DataType::Object, _) => {
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
/// being what the declared parameter binds as, for the parameters `which` selects.
pub fn typed_sql(sql: &str, e: &Endpoint, which: impl Fn(&str) -> bool) -> String {
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
                if let Some(ty) = e.param(name).filter(|_| which(name)).and_then(|p| declared_sql_type(&p.def)) {
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
    use crate::endpoint::{EndpointKind, Param};

    #[test]
    fn casts_placeholders_outside_literals_and_comments() {
        let p = |name: &str, ty| Param {
            name: name.into(),
            def: TypeDef::new(ty),
            pos: Default::default(),
            path: String::new(),
        };
        let mut e = Endpoint::new(EndpointKind::Tool, "t");
        e.parameters = vec![p("name", DataType::String), p("n", DataType::Integer)];
        let sql = "SELECT '$name' || $name, $n -- $n\n/* $name */ FROM t WHERE x = $$ $name $$";
        assert_eq!(
            typed_sql(sql, &e, |_| true),
            "SELECT '$name' || ($name::VARCHAR), ($n::BIGINT) -- $n\n/* $name */ FROM t WHERE x = $$ $name $$"
        );
        assert_eq!(typed_sql("SELECT $name, $n", &e, |p| p == "n"), "SELECT $name, ($n::BIGINT)");
    }
}
