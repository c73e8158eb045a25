//! Scalar resolution as PyYAML's SafeLoader does it (YAML 1.1): the implicit types of plain
//! scalars, and the explicit core tags (`!!int "1"`) of any scalar.

use std::sync::LazyLock;

use regex::Regex;

use super::Value;

// PyYAML's resolver patterns (resolver.py). Floats need a dot and a signed exponent, so `1e5`
// and `1.5e5` stay strings; `0o17` and `_1` are strings; `1:30` is a base-60 integer (90).
static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?",
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)",
        r"|\.(?:nan|NaN|NAN))$",
    ))
    .expect("float pattern")
});
static INT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[-+]?0b[0-1_]+",
        r"|[-+]?0[0-7_]+",
        r"|[-+]?(?:0|[1-9][0-9_]*)",
        r"|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    ))
    .expect("int pattern")
});

/// The value of a plain (unquoted, untagged) scalar.
pub(super) fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return Value::Str(text.to_string());
    }
    if FLOAT.is_match(text) {
        if let Some(f) = float(text) {
            return Value::Float(f);
        }
    } else if INT.is_match(text) {
        if let Some(i) = int(text) {
            return Value::Int(i);
        }
    }
    // integers beyond i64 (PyYAML's are unbounded) stay strings
    Value::Str(text.to_string())
}

/// The value of a scalar with an explicit core tag (`!!int`, `!!float`, `!!bool`, `!!null`);
/// `None` for other tags, and for text the tag's constructor rejects (PyYAML fails there; the
/// caller keeps the text as it would without the tag).
pub(super) fn tagged(suffix: &str, text: &str) -> Option<Value> {
    match suffix {
        "null" => Some(Value::Null),
        "bool" => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Some(Value::Bool(true)),
            "no" | "false" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
        "int" => int(text).map(Value::Int),
        "float" => float(text).map(Value::Float),
        _ => None,
    }
}

/// PyYAML's `construct_yaml_int`.
fn int(text: &str) -> Option<i64> {
    let body = text.replace('_', "");
    let (neg, body) = match body.as_bytes().first()? {
        b'-' => (true, &body[1..]),
        b'+' => (false, &body[1..]),
        _ => (false, &body[..]),
    };
    let magnitude = if body == "0" {
        0
    } else if let Some(bin) = body.strip_prefix("0b") {
        u64_radix(bin, 2)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        u64_radix(hex, 16)?
    } else if let Some(oct) = body.strip_prefix('0') {
        u64_radix(oct, 8)?
    } else if body.contains(':') {
        let mut value: u64 = 0;
        for part in body.split(':') {
            value = value.checked_mul(60)?.checked_add(u64_radix(part, 10)?)?;
        }
        value
    } else {
        u64_radix(body, 10)?
    };
    if neg { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

fn u64_radix(digits: &str, radix: u32) -> Option<u64> {
    // from_str_radix takes a sign; PyYAML's patterns have none after the prefix
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// PyYAML's `construct_yaml_float`.
fn float(text: &str) -> Option<f64> {
    let body = text.replace('_', "").to_ascii_lowercase();
    let (sign, body) = match body.as_bytes().first()? {
        b'-' => (-1.0, &body[1..]),
        b'+' => (1.0, &body[1..]),
        _ => (1.0, &body[..]),
    };
    let value = match body {
        ".inf" => f64::INFINITY,
        ".nan" => f64::NAN,
        _ if body.contains(':') => {
            let mut value = 0.0;
            for part in body.split(':') {
                value = value * 60.0 + part.trim().parse::<f64>().ok()?;
            }
            value
        }
        _ => body.trim().parse::<f64>().ok()?,
    };
    Some(sign * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_pyyaml() {
        for (text, want) in [
            ("1.5e5", Value::Str("1.5e5".into())),
            ("1.5e+5", Value::Float(150000.0)),
            ("-.5", Value::Str("-.5".into())),
            (".5", Value::Float(0.5)),
            ("1.", Value::Float(1.0)),
            ("0o17", Value::Str("0o17".into())),
            ("_1", Value::Str("_1".into())),
            ("1:30", Value::Int(90)),
            ("-1:30", Value::Int(-90)),
            ("190:20:30.15", Value::Float(685230.15)),
            ("01:30", Value::Str("01:30".into())),
            ("0x_1F", Value::Int(31)),
            ("0b101", Value::Int(5)),
            ("0777", Value::Int(511)),
            ("08", Value::Str("08".into())),
            ("-9223372036854775808", Value::Int(i64::MIN)),
            ("99999999999999999999", Value::Str("99999999999999999999".into())),
            ("1__.__", Value::Float(1.0)),
            ("+.inf", Value::Float(f64::INFINITY)),
            ("2001-12-14", Value::Str("2001-12-14".into())),
        ] {
            assert_eq!(plain(text), want, "{text}");
        }
        assert!(matches!(plain(".NaN"), Value::Float(f) if f.is_nan()));
        assert_eq!(tagged("int", "12"), Some(Value::Int(12)));
        assert_eq!(tagged("float", "1e5"), Some(Value::Float(100000.0)));
        assert_eq!(tagged("bool", "Yes"), Some(Value::Bool(true)));
        assert_eq!(tagged("int", "twelve"), None);
    }
}
