//! DuckDB results (Arrow record batches) to JSON, column by column.
//!
//! Choices: integers of every width and DECIMALs are exact JSON numbers; DOUBLE NaN/Inf become
//! null; DATE is `YYYY-MM-DD`, TIME `HH:MM:SS[.ffffff]`, TIMESTAMP ISO 8601 and TIMESTAMPTZ with
//! `+00:00`; INTERVAL an ISO 8601 duration keeping months apart from days (`P1M3DT4H`); UUID the
//! usual text; BLOB the text when the bytes are valid UTF-8, else base64; ENUM its label; JSON
//! columns are parsed; MAP becomes an object with its keys as text; NULL is null everywhere.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};
use duckdb::arrow::array::{Array, ArrayRef, AsArray};
use duckdb::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit, IntervalYearMonthType,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use serde_json::{Map, Number, Value as Json};

use super::SqlType;

/// Converts one column (all rows of `array`), appending to `out`.
#[allow(unused_braces)] // rustfmt wraps long `each!` bodies in braces
pub fn column(array: &dyn Array, ty: &SqlType, out: &mut Vec<Json>) {
    let n = array.len();
    out.reserve(n);
    macro_rules! each {
        ($arr:expr, |$v:ident| $e:expr) => {{
            let a = $arr;
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Json::Null
                } else {
                    let $v = a.value(i);
                    $e
                });
            }
        }};
    }
    match array.data_type() {
        DataType::Null => out.extend(std::iter::repeat_n(Json::Null, n)),
        DataType::Boolean => each!(array.as_boolean(), |v| Json::Bool(v)),
        DataType::Int8 => each!(array.as_primitive::<Int8Type>(), |v| Json::from(v)),
        DataType::Int16 => each!(array.as_primitive::<Int16Type>(), |v| Json::from(v)),
        DataType::Int32 => each!(array.as_primitive::<Int32Type>(), |v| Json::from(v)),
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), |v| Json::from(v)),
        DataType::UInt8 => each!(array.as_primitive::<UInt8Type>(), |v| Json::from(v)),
        DataType::UInt16 => each!(array.as_primitive::<UInt16Type>(), |v| Json::from(v)),
        DataType::UInt32 => each!(array.as_primitive::<UInt32Type>(), |v| Json::from(v)),
        DataType::UInt64 => each!(array.as_primitive::<UInt64Type>(), |v| Json::from(v)),
        DataType::Float16 => each!(array.as_primitive::<Float16Type>(), |v| float_text(f32::from(v))),
        DataType::Float32 => each!(array.as_primitive::<Float32Type>(), |v| float_text(v)),
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), |v| float(v)),
        // DuckDB hands UHUGEINT over as the bits of a signed 128-bit integer
        DataType::Decimal128(_, _) if *ty == SqlType::UHugeInt => {
            each!(array.as_primitive::<Decimal128Type>(), |v| decimal(&(v as u128).to_string(), 0))
        }
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            each!(array.as_primitive::<Decimal128Type>(), |v| decimal(&v.to_string(), scale))
        }
        DataType::Decimal256(_, scale) => {
            let scale = *scale;
            each!(array.as_primitive::<Decimal256Type>(), |v| decimal(&v.to_string(), scale))
        }
        DataType::Utf8 => strings(array.as_string::<i32>().iter(), ty, out),
        DataType::LargeUtf8 => strings(array.as_string::<i64>().iter(), ty, out),
        DataType::Utf8View => strings(array.as_string_view().iter(), ty, out),
        DataType::Binary => each!(array.as_binary::<i32>(), |v| blob(v)),
        DataType::LargeBinary => each!(array.as_binary::<i64>(), |v| blob(v)),
        DataType::BinaryView => each!(array.as_binary_view(), |v| blob(v)),
        DataType::FixedSizeBinary(16) if *ty == SqlType::Uuid => {
            each!(array.as_fixed_size_binary(), |v| uuid(v))
        }
        DataType::FixedSizeBinary(_) => each!(array.as_fixed_size_binary(), |v| blob(v)),
        DataType::Date32 => each!(array.as_primitive::<Date32Type>(), |v| date_from_days(v as i64)),
        DataType::Date64 => each!(array.as_primitive::<Date64Type>(), |v| date_from_days(v.div_euclid(86_400_000))),
        DataType::Time32(TimeUnit::Second) => {
            each!(array.as_primitive::<Time32SecondType>(), |v| time(v as i64 * 1_000_000_000))
        }
        DataType::Time32(_) => each!(array.as_primitive::<Time32MillisecondType>(), |v| time(v as i64 * 1_000_000)),
        DataType::Time64(TimeUnit::Microsecond) => {
            each!(array.as_primitive::<Time64MicrosecondType>(), |v| time(v * 1_000))
        }
        DataType::Time64(_) => each!(array.as_primitive::<Time64NanosecondType>(), |v| time(v)),
        DataType::Timestamp(unit, tz) => {
            let utc = tz.is_some() || *ty == SqlType::TimestampTz;
            match unit {
                TimeUnit::Second => {
                    each!(array.as_primitive::<TimestampSecondType>(), |v| timestamp(v as i128 * 1_000_000_000, utc))
                }
                TimeUnit::Millisecond => {
                    each!(array.as_primitive::<TimestampMillisecondType>(), |v| {
                        timestamp(v as i128 * 1_000_000, utc)
                    })
                }
                TimeUnit::Microsecond => {
                    each!(array.as_primitive::<TimestampMicrosecondType>(), |v| timestamp(v as i128 * 1_000, utc))
                }
                TimeUnit::Nanosecond => {
                    each!(array.as_primitive::<TimestampNanosecondType>(), |v| timestamp(v as i128, utc))
                }
            }
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            each!(array.as_primitive::<IntervalMonthDayNanoType>(), |v| {
                interval(v.months as i64, v.days as i64, v.nanoseconds)
            })
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            each!(array.as_primitive::<IntervalDayTimeType>(), |v| interval(
                0,
                v.days as i64,
                v.milliseconds as i64 * 1_000_000
            ))
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            each!(array.as_primitive::<IntervalYearMonthType>(), |v| interval(v as i64, 0, 0))
        }
        DataType::Duration(TimeUnit::Second) => {
            each!(array.as_primitive::<DurationSecondType>(), |v| interval(0, 0, v * 1_000_000_000))
        }
        DataType::Duration(TimeUnit::Millisecond) => {
            each!(array.as_primitive::<DurationMillisecondType>(), |v| { interval(0, 0, v * 1_000_000) })
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            each!(array.as_primitive::<DurationMicrosecondType>(), |v| { interval(0, 0, v * 1_000) })
        }
        DataType::Duration(TimeUnit::Nanosecond) => {
            each!(array.as_primitive::<DurationNanosecondType>(), |v| interval(0, 0, v))
        }
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            lists(
                array,
                a.values(),
                a.value_offsets().windows(2).map(|w| (w[0] as usize, w[1] as usize)),
                child_type(ty),
                out,
            )
        }
        DataType::LargeList(_) => {
            let a = array.as_list::<i64>();
            lists(
                array,
                a.values(),
                a.value_offsets().windows(2).map(|w| (w[0] as usize, w[1] as usize)),
                child_type(ty),
                out,
            )
        }
        DataType::FixedSizeList(_, size) => {
            let a = array.as_fixed_size_list();
            let size = *size as usize;
            let offset = a.offset();
            lists(
                array,
                a.values(),
                (0..n).map(|i| ((offset + i) * size, (offset + i + 1) * size)),
                child_type(ty),
                out,
            )
        }
        DataType::Struct(fields) => {
            let a = array.as_struct();
            let mut columns: Vec<std::vec::IntoIter<Json>> = Vec::with_capacity(fields.len());
            for (i, f) in fields.iter().enumerate() {
                let mut values = Vec::with_capacity(n);
                column(a.column(i).as_ref(), &field_type(ty, f.name()), &mut values);
                columns.push(values.into_iter());
            }
            for i in 0..n {
                let mut m = Map::with_capacity(fields.len());
                for (f, col) in fields.iter().zip(columns.iter_mut()) {
                    m.insert(f.name().clone(), col.next().unwrap_or(Json::Null));
                }
                out.push(if array.is_null(i) { Json::Null } else { Json::Object(m) });
            }
        }
        DataType::Map(_, _) => {
            let a = array.as_map();
            let (key_ty, value_ty) = match ty {
                SqlType::Map(k, v) => ((**k).clone(), (**v).clone()),
                _ => (SqlType::Unknown, SqlType::Unknown),
            };
            let mut keys = Vec::new();
            column(a.keys().as_ref(), &key_ty, &mut keys);
            let mut values = Vec::new();
            column(a.values().as_ref(), &value_ty, &mut values);
            let offsets = a.value_offsets();
            for i in 0..n {
                if array.is_null(i) {
                    out.push(Json::Null);
                    continue;
                }
                let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let mut m = Map::with_capacity(end - start);
                for j in start..end {
                    let key = match &keys[j] {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    m.insert(key, std::mem::take(&mut values[j]));
                }
                out.push(Json::Object(m));
            }
        }
        DataType::Dictionary(_, _) => {
            let a = array.as_any_dictionary();
            let mut values = Vec::new();
            column(a.values().as_ref(), &SqlType::Varchar, &mut values);
            for (i, k) in a.normalized_keys().into_iter().enumerate() {
                out.push(if array.is_null(i) { Json::Null } else { values.get(k).cloned().unwrap_or(Json::Null) });
            }
        }
        DataType::Union(_, _) => {
            let a = array.as_union();
            for i in 0..n {
                let mut one = Vec::with_capacity(1);
                column(a.value(i).as_ref(), &SqlType::Unknown, &mut one);
                out.push(one.pop().unwrap_or(Json::Null));
            }
        }
        _ => {
            // Any type this build does not know: its Arrow text form.
            let options = duckdb::arrow::util::display::FormatOptions::default();
            match duckdb::arrow::util::display::ArrayFormatter::try_new(array, &options) {
                Ok(f) => {
                    for i in 0..n {
                        out.push(if array.is_null(i) { Json::Null } else { Json::String(f.value(i).to_string()) });
                    }
                }
                Err(_) => out.extend(std::iter::repeat_n(Json::Null, n)),
            }
        }
    }
}

fn child_type(ty: &SqlType) -> SqlType {
    match ty {
        SqlType::List(c) | SqlType::Array(c, _) => (**c).clone(),
        _ => SqlType::Unknown,
    }
}

fn field_type(ty: &SqlType, name: &str) -> SqlType {
    match ty {
        SqlType::Struct(fields) => {
            fields.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap_or(SqlType::Unknown)
        }
        _ => SqlType::Unknown,
    }
}

fn lists(
    array: &dyn Array,
    values: &ArrayRef,
    ranges: impl Iterator<Item = (usize, usize)>,
    child: SqlType,
    out: &mut Vec<Json>,
) {
    let mut converted = Vec::with_capacity(values.len());
    column(values.as_ref(), &child, &mut converted);
    for (i, (start, end)) in ranges.enumerate() {
        if array.is_null(i) {
            out.push(Json::Null);
        } else {
            let end = end.min(converted.len());
            let start = start.min(end);
            out.push(Json::Array(converted[start..end].iter_mut().map(std::mem::take).collect()));
        }
    }
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>, ty: &SqlType, out: &mut Vec<Json>) {
    let parse = *ty == SqlType::Json;
    for v in values {
        out.push(match v {
            None => Json::Null,
            Some(s) if parse => serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.to_string())),
            Some(s) => Json::String(s.to_string()),
        });
    }
}

pub fn float(v: f64) -> Json {
    Number::from_f64(v).map(Json::Number).unwrap_or(Json::Null)
}

/// FLOAT (f32) printed with its own shortest form, so 0.1 stays 0.1 rather than 0.10000000149.
fn float_text(v: f32) -> Json {
    if !v.is_finite() {
        return Json::Null;
    }
    v.to_string().parse::<Number>().map(Json::Number).unwrap_or_else(|_| float(v as f64))
}

/// An unscaled integer's digits with `scale` implied decimals, as an exact JSON number.
fn decimal(digits: &str, scale: i8) -> Json {
    let text = if scale <= 0 {
        let mut s = digits.to_string();
        if scale < 0 && s != "0" {
            s.push_str(&"0".repeat((-scale) as usize));
        }
        s
    } else {
        let scale = scale as usize;
        let (neg, abs) = match digits.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, digits),
        };
        let padded =
            if abs.len() <= scale { format!("{}{abs}", "0".repeat(scale + 1 - abs.len())) } else { abs.to_string() };
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{}{int}.{frac}", if neg { "-" } else { "" })
    };
    text.parse::<Number>().map(Json::Number).unwrap_or(Json::String(text))
}

fn blob(bytes: &[u8]) -> Json {
    match std::str::from_utf8(bytes) {
        Ok(s) => Json::String(s.to_string()),
        Err(_) => Json::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    }
}

fn uuid(b: &[u8]) -> Json {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Json::String(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

fn date_from_days(days: i64) -> Json {
    match NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|e| e.checked_add_signed(chrono::Duration::days(days))) {
        Some(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        // DuckDB's infinity dates
        None => Json::String(if days > 0 { "infinity" } else { "-infinity" }.into()),
    }
}

fn time(nanos: i64) -> Json {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000) as u32;
    match NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, frac) {
        Some(t) => Json::String(iso_time(t)),
        None => Json::String("24:00:00".into()),
    }
}

fn iso_time(t: NaiveTime) -> String {
    let micros = t.nanosecond() / 1_000;
    if micros == 0 { t.format("%H:%M:%S").to_string() } else { format!("{}.{micros:06}", t.format("%H:%M:%S")) }
}

fn timestamp(nanos: i128, utc: bool) -> Json {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let frac = nanos.rem_euclid(1_000_000_000) as u32;
    match DateTime::from_timestamp(secs, frac) {
        Some(dt) => {
            let naive = dt.naive_utc();
            let text = format!("{}T{}", naive.format("%Y-%m-%d"), iso_time(naive.time()));
            Json::String(if utc { text + "+00:00" } else { text })
        }
        None => Json::String(if nanos > 0 { "infinity" } else { "-infinity" }.into()),
    }
}

/// ISO 8601 duration; months and days stay apart from the clock part (`P1M3DT4H`).
fn interval(months: i64, days: i64, nanos: i64) -> Json {
    let mut s = String::from("P");
    let (years, months) = (months / 12, months % 12);
    if years != 0 {
        s += &format!("{years}Y");
    }
    if months != 0 {
        s += &format!("{months}M");
    }
    if days != 0 {
        s += &format!("{days}D");
    }
    if nanos != 0 {
        s.push('T');
        let neg = nanos < 0;
        let abs = nanos.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        let hours = abs / 3_600_000_000_000;
        let minutes = abs / 60_000_000_000 % 60;
        let secs = abs / 1_000_000_000 % 60;
        let micros = abs % 1_000_000_000 / 1_000;
        if hours != 0 {
            s += &format!("{sign}{hours}H");
        }
        if minutes != 0 {
            s += &format!("{sign}{minutes}M");
        }
        if secs != 0 || micros != 0 {
            if micros != 0 {
                let frac = format!("{micros:06}");
                s += &format!("{sign}{secs}.{}S", frac.trim_end_matches('0'));
            } else {
                s += &format!("{sign}{secs}S");
            }
        }
    }
    if s == "P" {
        s = "PT0S".into();
    }
    Json::String(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal("50", 2).to_string(), "0.50");
        assert_eq!(decimal("-5", 3).to_string(), "-0.005");
        assert_eq!(decimal("123456789012345678901234567890", 10).to_string(), "12345678901234567890.1234567890");
        assert_eq!(decimal("42", 0).to_string(), "42");
    }

    #[test]
    fn intervals_keep_months_apart() {
        assert_eq!(interval(14, 3, 4 * 3_600_000_000_000 + 500_000_000), Json::String("P1Y2M3DT4H0.5S".into()));
        assert_eq!(interval(0, 0, 0), Json::String("PT0S".into()));
        assert_eq!(interval(1, 0, 0), Json::String("P1M".into()));
    }
}
