//! The built-in SQL tools (`sql_tools` in the site configuration, `serve --sql-tools`):
//! run a query, list tables, describe a table.

use serde_json::json;

use crate::diagnostics::Pos;
use crate::load::endpoint::{DataType, Endpoint, EndpointKind, Param, SourceBody, TypeDef};
use crate::load::project::Project;

/// The built-in SQL tools (the reference's `sql_tools`: query, list tables, table schema), as
/// endpoints.
pub(super) fn builtin_sql_tools(project: &Project) -> Vec<Endpoint> {
    let desc = |name: &str, default: &str| {
        Some(project.site.sql_tools.descriptions.get(name).cloned().unwrap_or_else(|| default.to_string()))
    };
    let annotations = |title: &str, read_only: bool| {
        let v = json!({"title": title, "readOnlyHint": read_only, "destructiveHint": !read_only, "idempotentHint": read_only, "openWorldHint": false});
        v.as_object().cloned()
    };
    let string_param = |name: &str, description: &str| Param {
        name: name.into(),
        def: TypeDef { description: Some(description.into()), ..TypeDef::new(DataType::String) },
        pos: Default::default(),
        path: String::new(),
    };
    let tool = |name: &str, description: Option<String>, params: Vec<Param>, sql: &str, annotations| Endpoint {
        description,
        annotations,
        parameters: params,
        return_type: Some(TypeDef {
            items: Some(Box::new(TypeDef::new(DataType::Object))),
            ..TypeDef::new(DataType::Array)
        }),
        source: Some(crate::load::endpoint::Source {
            body: SourceBody::Code { text: sql.into(), start: Pos::default() },
            pos: Pos::default(),
            body_pos: Pos::default(),
            path: String::new(),
        }),
        ..Endpoint::new(EndpointKind::Tool, name)
    };
    vec![
        tool(
            "execute_sql_query",
            desc(
                "execute_sql_query",
                "Execute a SQL query against the DuckDB database and return the results as a list of records",
            ),
            vec![string_param("sql", "The SQL query to execute")],
            "",
            annotations("SQL Query Executor", false),
        ),
        tool(
            "list_tables",
            desc("list_tables", "List all tables in the DuckDB database"),
            vec![],
            "SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name",
            annotations("Database Table Lister", true),
        ),
        tool(
            "get_table_schema",
            desc("get_table_schema", "Get the schema for a specific table in the DuckDB database"),
            vec![string_param("table_name", "Name of the table")],
            "SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $table_name ORDER BY ordinal_position",
            annotations("Table Schema Inspector", true),
        ),
    ]
}
