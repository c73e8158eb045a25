//! JSON text as Python's `json.dumps` writes it (ASCII only, Python's float spelling), so that
//! snapshot files and their hash are the reference's byte for byte.

use std::fmt::Write;

use serde_json::Value as Json;

/// `json.dumps(v, indent=indent, sort_keys=sort_keys)`: with an indent, items end in `,` and
/// nest by that many spaces; without one, everything is on one line separated by `, `.
pub(crate) fn dumps(v: &Json, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, v, indent, sort_keys, 0);
    out
}

fn write_value(out: &mut String, v: &Json, indent: Option<usize>, sort_keys: bool, level: usize) {
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * level));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&py_number(n)),
        Json::String(s) => write_string(out, s),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, level + 1);
                write_value(out, item, indent, sort_keys, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Json::Object(m) if m.is_empty() => out.push_str("{}"),
        Json::Object(m) => {
            let mut entries: Vec<(&String, &Json)> = m.iter().collect();
            if sort_keys {
                // byte order of UTF-8 is code point order, as Python sorts str
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, level + 1);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, item, indent, sort_keys, level + 1);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

/// `ensure_ascii`: everything outside printable ASCII as `\uXXXX` (surrogate pairs above the BMP).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Integers as written; floats as Python's `repr` spells them (`1.0`, `1e-05`, `1e+16`).
fn py_number(n: &serde_json::Number) -> String {
    let text = n.to_string();
    if !text.contains(['.', 'e', 'E']) {
        return text;
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => py_float_repr(x),
        _ => text,
    }
}

/// Python's `repr(float)`: the shortest digits that read back as `x`, in positional notation
/// when the decimal point falls within 16 digits of them, else in exponent notation.
pub(crate) fn py_float_repr(x: f64) -> String {
    // Rust's shortest digits round a tie up, Python's to even (a time of 0.0092639923095703125 s
    // is 0.009263992309570312 there): the same number of digits, rounded exactly, settles it
    let shortest = format!("{:e}", x.abs());
    let len = shortest.split_once('e').map_or(1, |(m, _)| m.chars().filter(char::is_ascii_digit).count());
    let sci = format!("{:.*e}", len - 1, x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // the value is 0.DIGITS * 10^point
    let point = exp + 1;
    let body = if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        format!("{first}{frac}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_are_spelled_like_python() {
        let cases = [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e17, "1.2345e+17"),
            (123.456, "123.456"),
            (0.007124423980712891, "0.007124423980712891"),
            (0.009263992309570312, "0.009263992309570312"),
            (0.0, "0.0"),
        ];
        for (x, want) in cases {
            assert_eq!(py_float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn layout_is_pythons() {
        let v = json!({"b": [1, 2.5, {}], "a": "café ☕ 😀\n", "c": [], "d": null, "e": true});
        assert_eq!(
            dumps(&v, None, true),
            r#"{"a": "caf\u00e9 \u2615 \ud83d\ude00\n", "b": [1, 2.5, {}], "c": [], "d": null, "e": true}"#
        );
        assert_eq!(
            dumps(&json!({"x": [1, {"y": []}]}), Some(2), false),
            "{\n  \"x\": [\n    1,\n    {\n      \"y\": []\n    }\n  ]\n}"
        );
    }
}
