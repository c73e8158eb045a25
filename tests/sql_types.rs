//! Every DuckDB type converts to the documented JSON, value and NULL, on a real database.

mod common;

use mxcp_runtime::db::{Database, DbOptions, SqlType};
use serde_json::{Map, Value as Json, json};

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db =
        Database::open(&DbOptions { path: dir.path().join("t.duckdb"), pool_size: 2, ..Default::default() }).unwrap();
    (dir, db)
}

fn one(db: &Database, expr: &str) -> (Json, SqlType) {
    let r = db.query(&format!("SELECT {expr} AS v"), &Map::new(), &|_| None).unwrap_or_else(|e| panic!("{expr}: {e}"));
    assert_eq!(r.rows.len(), 1);
    (r.rows[0]["v"].clone(), r.columns[0].1.clone())
}

#[test]
fn every_type_value_and_null() {
    let (_d, db) = db();
    let cases: &[(&str, Json)] = &[
        ("1::TINYINT", json!(1)),
        ("-300::SMALLINT", json!(-300)),
        ("2147483647::INTEGER", json!(2147483647)),
        ("9007199254740993::BIGINT", json!(9007199254740993i64)),
        (
            "170141183460469231731687303715884105727::HUGEINT",
            serde_json::from_str("170141183460469231731687303715884105727").unwrap(),
        ),
        ("255::UTINYINT", json!(255)),
        ("65535::USMALLINT", json!(65535)),
        ("4294967295::UINTEGER", json!(4294967295u64)),
        ("18446744073709551615::UBIGINT", json!(18446744073709551615u64)),
        (
            "340282366920938463463374607431768211455::UHUGEINT",
            serde_json::from_str("340282366920938463463374607431768211455").unwrap(),
        ),
        ("0.1::FLOAT", serde_json::from_str("0.1").unwrap()),
        ("3.0::DOUBLE", json!(3.0)),
        ("'nan'::DOUBLE", Json::Null),
        ("'inf'::DOUBLE", Json::Null),
        ("1.5::DECIMAL(18,3)", serde_json::from_str("1.500").unwrap()),
        (
            "12345678901234567890.1234567890::DECIMAL(38,10)",
            serde_json::from_str("12345678901234567890.1234567890").unwrap(),
        ),
        ("'héllo'::VARCHAR", json!("héllo")),
        ("true", json!(true)),
        ("DATE '2024-01-02'", json!("2024-01-02")),
        ("TIME '03:04:05'", json!("03:04:05")),
        ("TIME '03:04:05.25'", json!("03:04:05.250000")),
        ("TIMESTAMP '2024-01-02 03:04:05'", json!("2024-01-02T03:04:05")),
        ("TIMESTAMP '2024-01-02 03:04:05.123456'", json!("2024-01-02T03:04:05.123456")),
        ("TIMESTAMPTZ '2024-01-02 03:04:05+00'", json!("2024-01-02T03:04:05+00:00")),
        // the reference's text: pandas' Timedelta.isoformat(), a month as 30 days
        ("INTERVAL '1 year 2 months 3 days 04:05:06'", json!("P423DT4H5M6S")),
        ("INTERVAL '1 month'", json!("P30DT0H0M0S")),
        ("INTERVAL '30 days'", json!("P30DT0H0M0S")),
        ("'123e4567-e89b-12d3-a456-426614174000'::UUID", json!("123e4567-e89b-12d3-a456-426614174000")),
        ("'abc'::BLOB", json!("abc")),
        ("'\\xFF\\x00'::BLOB", json!("/wA=")),
        ("[1, 2, NULL]", json!([1, 2, null])),
        ("[1, 2, 3]::INTEGER[3]", json!([1, 2, 3])),
        ("{'a': 1, 'b': [DATE '2024-01-02']}", json!({"a": 1, "b": ["2024-01-02"]})),
        ("MAP {'k': 1, 'j': 2}", json!({"k": 1, "j": 2})),
        ("MAP {1: 'x'}", json!({"1": "x"})),
        // JSON columns are their text, as in the reference
        ("'{\"a\": [1, 2]}'::JSON", json!("{\"a\": [1, 2]}")),
        ("[1.25::DECIMAL(5,2)]", json!([serde_json::from_str::<Json>("1.25").unwrap()])),
        ("NULL", Json::Null),
    ];
    for (expr, expected) in cases {
        let (got, _) = one(&db, expr);
        assert_eq!(&got, expected, "{expr}");
        // the same type as a NULL is null
        if !expr.starts_with("NULL") && !expr.contains("'nan'") && !expr.contains("'inf'") {
            let (null, _) = one(&db, &format!("CASE WHEN false THEN {expr} END"));
            assert_eq!(null, Json::Null, "NULL of {expr}");
        }
    }
}

#[test]
fn enums_and_decimal_nulls() {
    let (_d, db) = db();
    db.execute_batch("CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t(m mood, p DECIMAL(10,2)); INSERT INTO t VALUES ('happy', 1.50), (NULL, NULL);")
        .unwrap();
    let r = db.query("SELECT m, p FROM t ORDER BY m NULLS LAST", &Map::new(), &|_| None).unwrap();
    assert_eq!(
        Json::Array(r.rows.into_iter().map(Json::Object).collect()),
        json!([{"m": "happy", "p": serde_json::from_str::<Json>("1.50").unwrap()}, {"m": null, "p": null}])
    );
}

#[test]
fn named_parameters_bind_by_the_statement_own_names() {
    let (_d, db) = db();
    let args: Map<String, Json> =
        serde_json::from_value(json!({"a": 2, "b": "x", "unused": true, "list": [1, 2], "obj": {"k": "v"}})).unwrap();
    let r = db
        .query("SELECT $a * 10 + $a AS n, $b || '!' AS s, $missing AS m, len($list) AS l, $obj.k AS k", &args, &|_| {
            None
        })
        .unwrap();
    assert_eq!(Json::Object(r.rows[0].clone()), json!({"n": 22, "s": "x!", "m": null, "l": 2, "k": "v"}));
}

#[test]
fn describe_reports_columns_and_parameters_without_running() {
    let (_d, db) = db();
    db.execute_batch("CREATE TABLE items(id INTEGER, name VARCHAR, price DECIMAL(10,2))").unwrap();
    let d = db.describe("SELECT id, name, price FROM items WHERE id = $id AND name = $name");
    let d = d.as_ref().as_ref().unwrap();
    assert_eq!(
        d.columns,
        vec![
            ("id".to_string(), SqlType::Integer),
            ("name".into(), SqlType::Varchar),
            ("price".into(), SqlType::Decimal(10, 2))
        ]
    );
    let names: Vec<&str> = d.params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["id", "name"]);
    assert_eq!(d.params[0].1, SqlType::Integer);
    let err = db.describe("SELEC 1");
    assert!(err.as_ref().as_ref().unwrap_err().contains("syntax error"), "{err:?}");
}

#[test]
fn a_failing_query_does_not_lose_the_connection() {
    let (_d, db) = db();
    for _ in 0..5 {
        assert!(db.query("SELECT * FROM no_such_table", &Map::new(), &|_| None).is_err());
    }
    let (v, _) = one(&db, "42");
    assert_eq!(v, json!(42));
}
