//! One statement run to JSON rows: bound from the call's arguments, materialized or, within a
//! [`ResultCap`], streamed chunk by chunk.

use serde_json::{Map, Value as Json};

use super::{BindType, DbError, JsonRows, ResultCap, SqlType, convert, logical_type, to_duck_value};

/// Runs a statement and writes its rows as a JSON array. Without a cap DuckDB materializes
/// the result (the fastest path for the small results tools return); with one the result is
/// streamed, so a query over the cap stops after the chunk that crosses it instead of being
/// computed and held whole.
pub(super) fn run_json<'t>(
    conn: &duckdb::Connection,
    sql: &str,
    args: &Map<String, Json>,
    types: &dyn Fn(&str) -> Option<&'t BindType>,
    cap: ResultCap,
) -> Result<JsonRows, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut values = Vec::with_capacity(stmt.parameter_count());
    for i in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(i)?;
        values.push(to_duck_value(args.get(&name).unwrap_or(&Json::Null), types(&name)));
    }
    let outcome = if cap == ResultCap::default() {
        materialized(&mut stmt, values, RowWriter::new(cap))
    } else {
        streamed(&mut stmt, values, RowWriter::new(cap))
    };
    if outcome.is_err() {
        // a result left open (stopped at the cap, or failed midway) would refuse the
        // connection's next query: the statement is dropped, not cached
        stmt.discard();
    }
    outcome
}

fn materialized(
    stmt: &mut duckdb::Statement<'_>,
    values: Vec<duckdb::types::Value>,
    mut out: RowWriter,
) -> Result<JsonRows, DbError> {
    for (i, value) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, value)?;
    }
    // raw_query() alone would not execute the statement (and silently yield no rows)
    stmt.raw_execute()?;
    let schema = stmt.schema();
    let columns: Vec<(String, SqlType)> = (0..stmt.column_count())
        .map(|i| (schema.field(i).name().clone(), logical_type(&stmt.column_logical_type(i))))
        .collect();
    while let Some(batch) = stmt.step()? {
        out.write(&batch, &columns)?;
    }
    Ok(out.finish(columns))
}

fn streamed(
    stmt: &mut duckdb::Statement<'_>,
    values: Vec<duckdb::types::Value>,
    mut out: RowWriter,
) -> Result<JsonRows, DbError> {
    // the column types as prepared; a statement DuckDB cannot type before it runs (an
    // untyped parameter in the select list) takes the materialized path
    let prepared: Vec<_> = (0..stmt.column_count()).map(|i| stmt.column_logical_type(i)).collect();
    if prepared.iter().any(|t| t.id() == duckdb::core::LogicalTypeId::Invalid) {
        return materialized(stmt, values, out);
    }
    let prepared: Vec<SqlType> = prepared.iter().map(logical_type).collect();
    let params: Vec<&dyn duckdb::ToSql> = values.iter().map(|v| v as &dyn duckdb::ToSql).collect();
    let stream = stmt.stream_arrow(&params[..])?;
    let schema = stream.get_schema();
    let columns: Vec<(String, SqlType)> =
        prepared.into_iter().enumerate().map(|(i, t)| (schema.field(i).name().clone(), t)).collect();
    for batch in stream {
        out.write(&duckdb::arrow::array::StructArray::from(batch?), &columns)?;
    }
    Ok(out.finish(columns))
}

/// A result's rows as a JSON array, chunk by chunk, within a [`ResultCap`].
struct RowWriter {
    json: Vec<u8>,
    rows: usize,
    cap: ResultCap,
}

impl RowWriter {
    fn new(cap: ResultCap) -> RowWriter {
        let mut json = Vec::with_capacity(256);
        json.push(b'[');
        RowWriter { json, rows: 0, cap }
    }

    fn write(
        &mut self,
        batch: &duckdb::arrow::array::StructArray,
        columns: &[(String, SqlType)],
    ) -> Result<(), DbError> {
        use duckdb::arrow::array::Array as _;
        if let Some(max) = self.cap.rows.filter(|max| (self.rows + batch.len()) as u64 > *max) {
            return Err(DbError::ResultTooLarge(format!(
                "the query returned more than {max} rows, this server's limit (limits.max_result_rows)"
            )));
        }
        convert::write_rows(batch, columns, &mut self.json, &mut self.rows);
        if let Some(max) = self.cap.bytes.filter(|max| self.json.len() as u64 > *max) {
            return Err(DbError::ResultTooLarge(format!(
                "the result is over this server's limit of {max} bytes (limits.max_result_bytes): stopped after \
                 {} rows, {} bytes",
                self.rows,
                self.json.len()
            )));
        }
        Ok(())
    }

    fn finish(mut self, columns: Vec<(String, SqlType)>) -> JsonRows {
        self.json.push(b']');
        JsonRows { columns, json: self.json, rows: self.rows }
    }
}
