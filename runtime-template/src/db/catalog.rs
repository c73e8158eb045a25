//! The database's own description of its tables (`information_schema`), for drift snapshots.

use serde_json::{Map, Value as Json};

use super::{Database, DbError};

/// A table or view and its columns, as `information_schema` names them.
#[derive(Debug, Clone, PartialEq)]
pub struct TableColumns {
    pub name: String,
    /// `(column name, data type)` in column order; the type as DuckDB spells it (`DECIMAL(3,2)`).
    pub columns: Vec<(String, String)>,
}

impl Database {
    /// The tables and views of `schema`, in the order `information_schema.tables` lists them
    /// (base tables, then views), with their columns in declaration order.
    pub fn tables_of_schema(&self, schema: &str) -> Result<Vec<TableColumns>, DbError> {
        let mut args = Map::new();
        args.insert("schema".into(), Json::String(schema.into()));
        // unordered on purpose: DuckDB's own catalog order is the one the reference records
        let tables = self.query(
            "SELECT table_catalog, table_name FROM information_schema.tables WHERE table_schema = $schema",
            &args,
            &|_| None,
        )?;
        let columns = self.query(
            "SELECT table_catalog, table_name, column_name, data_type FROM information_schema.columns \
             WHERE table_schema = $schema ORDER BY table_catalog, table_name, ordinal_position",
            &args,
            &|_| None,
        )?;
        let text =
            |row: &Map<String, Json>, key: &str| row.get(key).and_then(Json::as_str).unwrap_or_default().to_string();
        Ok(tables
            .rows
            .iter()
            .map(|t| {
                let (catalog, name) = (text(t, "table_catalog"), text(t, "table_name"));
                let columns = columns
                    .rows
                    .iter()
                    .filter(|c| text(c, "table_catalog") == catalog && text(c, "table_name") == name)
                    .map(|c| (text(c, "column_name"), text(c, "data_type")))
                    .collect();
                TableColumns { name, columns }
            })
            .collect())
    }
}
