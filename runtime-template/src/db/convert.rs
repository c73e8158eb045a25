//! DuckDB results (Arrow record batches) written straight to JSON text, cell by cell, with no
//! intermediate values: the one converter every result goes through.
//!
//! Choices: integers of every width and DECIMALs are exact JSON numbers; DOUBLE NaN/Inf become
//! null; DATE is `YYYY-MM-DD`, TIME `HH:MM:SS[.ffffff]`, TIMESTAMP ISO 8601 and TIMESTAMPTZ with
//! `+00:00`; INTERVAL the duration text the reference gives (pandas' `Timedelta.isoformat()`, a
//! month counted as 30 days: `P33DT4H0M0S`); UUID the usual text; BLOB the text when the bytes
//! are valid UTF-8, else base64; ENUM its label; JSON columns their JSON text, as in the
//! reference (the executor embeds them where the return type declares an object or array);
//! MAP becomes an object with its keys as text; NULL is null.

use std::io::Write as _;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};
use duckdb::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use duckdb::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit, IntervalYearMonthType,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};

use super::SqlType;

/// Writes the JSON of cell `i` of one column.
type Cell<'a> = Box<dyn Fn(usize, &mut Vec<u8>) + 'a>;

/// Appends each row of `batch` as a JSON object (`{"col": value, ...}`), comma-separated,
/// continuing after `*rows` rows already written.
pub(super) fn write_rows(batch: &StructArray, columns: &[(String, SqlType)], out: &mut Vec<u8>, rows: &mut usize) {
    let keys: Vec<Vec<u8>> = columns.iter().map(|(name, _)| key(name)).collect();
    let cells: Vec<Cell> = columns.iter().enumerate().map(|(i, (_, ty))| cell(batch.column(i).as_ref(), ty)).collect();
    out.reserve(batch.len() * columns.len() * 16);
    for row in 0..batch.len() {
        if *rows > 0 {
            out.push(b',');
        }
        *rows += 1;
        out.push(b'{');
        for (c, (k, write)) in keys.iter().zip(&cells).enumerate() {
            if c > 0 {
                out.push(b',');
            }
            out.extend_from_slice(k);
            write(row, out);
        }
        out.push(b'}');
    }
}

/// `"name":`, escaped once per batch.
fn key(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 3);
    string(name, &mut k);
    k.push(b':');
    k
}

fn string(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

macro_rules! cells {
    ($arr:expr, |$v:ident, $out:ident| $body:expr) => {{
        let a = $arr;
        Box::new(move |i: usize, $out: &mut Vec<u8>| {
            if a.is_null(i) {
                $out.extend_from_slice(b"null");
            } else {
                let $v = a.value(i);
                $body
            }
        })
    }};
}

fn integer(v: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn float(v: f64, out: &mut Vec<u8>) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// FLOAT printed with its own shortest form, so 0.1 stays 0.1 rather than 0.10000000149.
fn float32(v: f32, out: &mut Vec<u8>) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

fn text(s: String, out: &mut Vec<u8>) {
    string(&s, out);
}

#[allow(unused_braces)] // rustfmt wraps long closure bodies in braces
fn cell<'a>(array: &'a dyn Array, ty: &SqlType) -> Cell<'a> {
    match array.data_type() {
        DataType::Null => Box::new(|_, out: &mut Vec<u8>| out.extend_from_slice(b"null")),
        DataType::Boolean => {
            cells!(array.as_boolean(), |v, out| out.extend_from_slice(if v { b"true" } else { b"false" }))
        }
        DataType::Int8 => cells!(array.as_primitive::<Int8Type>(), |v, out| integer(v, out)),
        DataType::Int16 => cells!(array.as_primitive::<Int16Type>(), |v, out| integer(v, out)),
        DataType::Int32 => cells!(array.as_primitive::<Int32Type>(), |v, out| integer(v, out)),
        DataType::Int64 => cells!(array.as_primitive::<Int64Type>(), |v, out| integer(v, out)),
        DataType::UInt8 => cells!(array.as_primitive::<UInt8Type>(), |v, out| integer(v, out)),
        DataType::UInt16 => cells!(array.as_primitive::<UInt16Type>(), |v, out| integer(v, out)),
        DataType::UInt32 => cells!(array.as_primitive::<UInt32Type>(), |v, out| integer(v, out)),
        DataType::UInt64 => cells!(array.as_primitive::<UInt64Type>(), |v, out| integer(v, out)),
        DataType::Float16 => cells!(array.as_primitive::<Float16Type>(), |v, out| float32(f32::from(v), out)),
        DataType::Float32 => cells!(array.as_primitive::<Float32Type>(), |v, out| float32(v, out)),
        DataType::Float64 => cells!(array.as_primitive::<Float64Type>(), |v, out| float(v, out)),
        // DuckDB hands UHUGEINT over as the bits of a signed 128-bit integer
        DataType::Decimal128(_, _) if *ty == SqlType::UHugeInt => {
            cells!(array.as_primitive::<Decimal128Type>(), |v, out| integer(v as u128, out))
        }
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            cells!(array.as_primitive::<Decimal128Type>(), |v, out| decimal(itoa::Buffer::new().format(v), scale, out))
        }
        DataType::Decimal256(_, scale) => {
            let scale = *scale;
            cells!(array.as_primitive::<Decimal256Type>(), |v, out| decimal(&v.to_string(), scale, out))
        }
        DataType::Utf8 => strings(array.as_string::<i32>()),
        DataType::LargeUtf8 => strings(array.as_string::<i64>()),
        DataType::Utf8View => cells!(array.as_string_view(), |v, out| string(v, out)),
        DataType::Binary => cells!(array.as_binary::<i32>(), |v, out| blob(v, out)),
        DataType::LargeBinary => cells!(array.as_binary::<i64>(), |v, out| blob(v, out)),
        DataType::BinaryView => cells!(array.as_binary_view(), |v, out| blob(v, out)),
        DataType::FixedSizeBinary(16) if *ty == SqlType::Uuid => {
            cells!(array.as_fixed_size_binary(), |v, out| uuid(v, out))
        }
        DataType::FixedSizeBinary(_) => cells!(array.as_fixed_size_binary(), |v, out| blob(v, out)),
        DataType::Date32 => cells!(array.as_primitive::<Date32Type>(), |v, out| date(v as i64, out)),
        DataType::Date64 => cells!(array.as_primitive::<Date64Type>(), |v, out| date(v.div_euclid(86_400_000), out)),
        DataType::Time32(TimeUnit::Second) => {
            cells!(array.as_primitive::<Time32SecondType>(), |v, out| time(v as i64 * 1_000_000_000, out))
        }
        DataType::Time32(_) => {
            cells!(array.as_primitive::<Time32MillisecondType>(), |v, out| time(v as i64 * 1_000_000, out))
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            cells!(array.as_primitive::<Time64MicrosecondType>(), |v, out| time(v * 1_000, out))
        }
        DataType::Time64(_) => cells!(array.as_primitive::<Time64NanosecondType>(), |v, out| time(v, out)),
        DataType::Timestamp(unit, tz) => {
            let utc = tz.is_some() || *ty == SqlType::TimestampTz;
            match unit {
                TimeUnit::Second => {
                    cells!(array.as_primitive::<TimestampSecondType>(), |v, out| timestamp(
                        v as i128 * 1_000_000_000,
                        utc,
                        out
                    ))
                }
                TimeUnit::Millisecond => {
                    cells!(array.as_primitive::<TimestampMillisecondType>(), |v, out| timestamp(
                        v as i128 * 1_000_000,
                        utc,
                        out
                    ))
                }
                TimeUnit::Microsecond => {
                    cells!(array.as_primitive::<TimestampMicrosecondType>(), |v, out| timestamp(
                        v as i128 * 1_000,
                        utc,
                        out
                    ))
                }
                TimeUnit::Nanosecond => {
                    cells!(array.as_primitive::<TimestampNanosecondType>(), |v, out| timestamp(v as i128, utc, out))
                }
            }
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            cells!(array.as_primitive::<IntervalMonthDayNanoType>(), |v, out| {
                text(interval(v.months as i64, v.days as i64, v.nanoseconds), out)
            })
        }
        DataType::Interval(IntervalUnit::DayTime) => cells!(array.as_primitive::<IntervalDayTimeType>(), |v, out| {
            text(interval(0, v.days as i64, v.milliseconds as i64 * 1_000_000), out)
        }),
        DataType::Interval(IntervalUnit::YearMonth) => {
            cells!(array.as_primitive::<IntervalYearMonthType>(), |v, out| text(interval(v as i64, 0, 0), out))
        }
        DataType::Duration(unit) => {
            let scale: i64 = match unit {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            match unit {
                TimeUnit::Second => {
                    cells!(array.as_primitive::<DurationSecondType>(), |v, out| text(interval(0, 0, v * scale), out))
                }
                TimeUnit::Millisecond => {
                    cells!(array.as_primitive::<DurationMillisecondType>(), |v, out| text(
                        interval(0, 0, v * scale),
                        out
                    ))
                }
                TimeUnit::Microsecond => {
                    cells!(array.as_primitive::<DurationMicrosecondType>(), |v, out| text(
                        interval(0, 0, v * scale),
                        out
                    ))
                }
                TimeUnit::Nanosecond => {
                    cells!(array.as_primitive::<DurationNanosecondType>(), |v, out| text(interval(0, 0, v), out))
                }
            }
        }
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            let offsets = a.value_offsets();
            list(array, a.values(), child_type(ty), move |i| (offsets[i] as usize, offsets[i + 1] as usize))
        }
        DataType::LargeList(_) => {
            let a = array.as_list::<i64>();
            let offsets = a.value_offsets();
            list(array, a.values(), child_type(ty), move |i| (offsets[i] as usize, offsets[i + 1] as usize))
        }
        DataType::FixedSizeList(_, size) => {
            let a = array.as_fixed_size_list();
            let (size, offset) = (*size as usize, a.offset());
            list(array, a.values(), child_type(ty), move |i| ((offset + i) * size, (offset + i + 1) * size))
        }
        DataType::Struct(fields) => {
            let a = array.as_struct();
            let parts: Vec<(Vec<u8>, Cell)> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| (key(f.name()), cell(a.column(i).as_ref(), &field_type(ty, f.name()))))
                .collect();
            Box::new(move |i, out: &mut Vec<u8>| {
                if array.is_null(i) {
                    out.extend_from_slice(b"null");
                    return;
                }
                out.push(b'{');
                for (n, (k, write)) in parts.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(k);
                    write(i, out);
                }
                out.push(b'}');
            })
        }
        DataType::Map(_, _) => {
            let a = array.as_map();
            let (key_ty, value_ty) = match ty {
                SqlType::Map(k, v) => ((**k).clone(), (**v).clone()),
                _ => (SqlType::Unknown, SqlType::Unknown),
            };
            let keys = cell(a.keys().as_ref(), &key_ty);
            let values = cell(a.values().as_ref(), &value_ty);
            let offsets = a.value_offsets();
            Box::new(move |i, out: &mut Vec<u8>| {
                if array.is_null(i) {
                    out.extend_from_slice(b"null");
                    return;
                }
                out.push(b'{');
                let mut k = Vec::new();
                for (n, j) in (offsets[i] as usize..offsets[i + 1] as usize).enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    // keys of any type become object keys: their JSON text, quoted when it is not a string
                    k.clear();
                    keys(j, &mut k);
                    if k.first() == Some(&b'"') {
                        out.extend_from_slice(&k);
                    } else {
                        string(&String::from_utf8_lossy(&k), out);
                    }
                    out.push(b':');
                    values(j, out);
                }
                out.push(b'}');
            })
        }
        DataType::Dictionary(_, _) => {
            let a = array.as_any_dictionary();
            let keys = a.normalized_keys();
            let values = cell(a.values().as_ref(), &SqlType::Varchar);
            Box::new(move |i, out: &mut Vec<u8>| {
                if array.is_null(i) {
                    out.extend_from_slice(b"null");
                } else {
                    values(keys[i], out);
                }
            })
        }
        DataType::Union(_, _) => {
            let a = array.as_union();
            Box::new(move |i, out: &mut Vec<u8>| {
                let member: ArrayRef = a.value(i);
                cell(member.as_ref(), &SqlType::Unknown)(0, out);
            })
        }
        _ => {
            // any type this build does not know: its Arrow text form
            let options = duckdb::arrow::util::display::FormatOptions::default();
            match duckdb::arrow::util::display::ArrayFormatter::try_new(array, &options) {
                Ok(f) => Box::new(move |i, out: &mut Vec<u8>| {
                    if array.is_null(i) {
                        out.extend_from_slice(b"null");
                    } else {
                        text(f.value(i).to_string(), out);
                    }
                }),
                Err(_) => Box::new(|_, out: &mut Vec<u8>| out.extend_from_slice(b"null")),
            }
        }
    }
}

fn strings<'a, O: duckdb::arrow::array::OffsetSizeTrait>(
    a: &'a duckdb::arrow::array::GenericStringArray<O>,
) -> Cell<'a> {
    cells!(a, |v, out| string(v, out))
}

fn list<'a>(
    array: &'a dyn Array,
    values: &'a ArrayRef,
    child: SqlType,
    range: impl Fn(usize) -> (usize, usize) + 'a,
) -> Cell<'a> {
    let item = cell(values.as_ref(), &child);
    Box::new(move |i, out: &mut Vec<u8>| {
        if array.is_null(i) {
            out.extend_from_slice(b"null");
            return;
        }
        let (start, end) = range(i);
        out.push(b'[');
        for j in start..end.min(values.len()) {
            if j > start {
                out.push(b',');
            }
            item(j, out);
        }
        out.push(b']');
    })
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

/// An unscaled integer's digits with `scale` implied decimals, as an exact JSON number.
fn decimal(digits: &str, scale: i8, out: &mut Vec<u8>) {
    let (neg, abs) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest.as_bytes()),
        None => (false, digits.as_bytes()),
    };
    let scale = scale as usize;
    if scale == 0 || scale > 76 || abs.len() > scale {
        if scale == 0 || scale > 76 {
            out.extend_from_slice(decimal_text(digits, scale as i8).as_bytes());
            return;
        }
        if neg {
            out.push(b'-');
        }
        let (int, frac) = abs.split_at(abs.len() - scale);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        if neg {
            out.push(b'-');
        }
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - abs.len()));
        out.extend_from_slice(abs);
    }
}

fn decimal_text(digits: &str, scale: i8) -> String {
    if scale <= 0 {
        let mut s = digits.to_string();
        if scale < 0 && s != "0" {
            s.push_str(&"0".repeat((-scale) as usize));
        }
        return s;
    }
    let scale = scale as usize;
    let (neg, abs) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, digits),
    };
    let padded =
        if abs.len() <= scale { format!("{}{abs}", "0".repeat(scale + 1 - abs.len())) } else { abs.to_string() };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

fn blob(bytes: &[u8], out: &mut Vec<u8>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => string(s, out),
        Err(_) => text(base64::engine::general_purpose::STANDARD.encode(bytes), out),
    }
}

fn uuid(b: &[u8], out: &mut Vec<u8>) {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let _ = write!(out, "\"{}-{}-{}-{}-{}\"", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
}

/// `YYYY-MM-DD` without going through chrono's format strings (hot in large results).
fn ymd(d: NaiveDate, out: &mut Vec<u8>) {
    use chrono::Datelike;
    let (y, m, day) = (d.year(), d.month(), d.day());
    if (0..=9999).contains(&y) {
        let y = y as u32;
        out.extend_from_slice(&[
            b'0' + (y / 1000) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
            b'-',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
            b'-',
            b'0' + (day / 10) as u8,
            b'0' + (day % 10) as u8,
        ]);
    } else {
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
    }
}

fn date(days: i64, out: &mut Vec<u8>) {
    match NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|e| e.checked_add_signed(chrono::Duration::days(days))) {
        Some(d) => {
            out.push(b'"');
            ymd(d, out);
            out.push(b'"');
        }
        // DuckDB's infinity dates
        None => out.extend_from_slice(if days > 0 { b"\"infinity\"" } else { b"\"-infinity\"" }),
    }
}

fn time(nanos: i64, out: &mut Vec<u8>) {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000) as u32;
    match NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, frac) {
        Some(t) => text(iso_time(t), out),
        None => text("24:00:00".into(), out),
    }
}

fn iso_time(t: NaiveTime) -> String {
    let micros = t.nanosecond() / 1_000;
    if micros == 0 { t.format("%H:%M:%S").to_string() } else { format!("{}.{micros:06}", t.format("%H:%M:%S")) }
}

fn timestamp(nanos: i128, utc: bool, out: &mut Vec<u8>) {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let frac = nanos.rem_euclid(1_000_000_000) as u32;
    match DateTime::from_timestamp(secs, frac) {
        Some(dt) => {
            let naive = dt.naive_utc();
            out.push(b'"');
            ymd(naive.date(), out);
            let _ = write!(out, "T{}{}\"", iso_time(naive.time()), if utc { "+00:00" } else { "" });
        }
        None => out.extend_from_slice(if nanos > 0 { b"\"infinity\"" } else { b"\"-infinity\"" }),
    }
}

/// The reference's duration text (pandas' `Timedelta.isoformat()`): months as 30 days, whole
/// days floored (so they carry the sign), then hours, minutes and seconds, always all present.
fn interval(months: i64, days: i64, nanos: i64) -> String {
    const DAY: i128 = 86_400_000_000_000;
    let total = (months as i128 * 30 + days as i128) * DAY + nanos as i128;
    let (days, rest) = (total.div_euclid(DAY), total.rem_euclid(DAY));
    let (hours, minutes) = (rest / 3_600_000_000_000, rest / 60_000_000_000 % 60);
    let (secs, frac) = (rest / 1_000_000_000 % 60, rest % 1_000_000_000);
    let frac = if frac == 0 { String::new() } else { format!(".{frac:09}").trim_end_matches('0').to_string() };
    format!("P{days}DT{hours}H{minutes}M{secs}{frac}S")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal_text("50", 2), "0.50");
        assert_eq!(decimal_text("-5", 3), "-0.005");
        assert_eq!(decimal_text("123456789012345678901234567890", 10), "12345678901234567890.1234567890");
        assert_eq!(decimal_text("42", 0), "42");
    }

    #[test]
    fn intervals_like_the_reference() {
        const H: i64 = 3_600_000_000_000;
        assert_eq!(interval(0, 0, H + 30 * 60_000_000_000), "P0DT1H30M0S");
        assert_eq!(interval(1, 3, 4 * H), "P33DT4H0M0S");
        assert_eq!(interval(24, 0, 0), "P720DT0H0M0S");
        assert_eq!(interval(0, -1, 2 * H), "P-1DT2H0M0S");
        assert_eq!(interval(0, 0, 1_500_000_000), "P0DT0H0M1.5S");
        assert_eq!(interval(0, 0, -1_000), "P-1DT23H59M59.999999S");
        assert_eq!(interval(0, 0, 0), "P0DT0H0M0S");
    }
}
