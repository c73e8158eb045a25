//! Prompt templates: the one module that talks to minijinja. The reference renders prompts
//! with Jinja2 on Python values, so templates written for it call Python methods
//! (`s.split(",")`, `d.items()`, `l.index(x)`), use Jinja2's globals (`range`, `namespace`,
//! `cycler`, `joiner`, `lipsum`, `dict`) and print values the way Python's `str()` does
//! (`True`, `None`, `['a', 'b']`). This environment does the same.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;

/// A template that did not parse: its message and the line (1-based, within the template).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    pub line: Option<usize>,
}

impl From<Error> for TemplateError {
    fn from(e: Error) -> Self {
        TemplateError { message: e.detail().map(str::to_string).unwrap_or_else(|| e.to_string()), line: e.line() }
    }
}

/// Names a template may use without a parameter of that name: the environment's globals and
/// the variables Jinja2 itself defines inside blocks.
const JINJA_NAMES: &[&str] = &["loop", "self", "caller", "varargs", "kwargs", "super"];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_unknown_method_callback(python_methods);
        env.set_formatter(|out, _state, value| {
            out.write_str(&python_str(value))?;
            Ok(())
        });
        env.add_function("cycler", minijinja_contrib::globals::cycler);
        env.add_function("joiner", minijinja_contrib::globals::joiner);
        env.add_function("lipsum", minijinja_contrib::globals::lipsum);
        env
    })
}

/// The variables a template reads that neither `declared` nor Jinja itself provides, sorted.
pub fn undeclared_variables(source: &str, declared: &dyn Fn(&str) -> bool) -> Result<Vec<String>, TemplateError> {
    let env = environment();
    let template = env.template_from_str(source)?;
    let globals: BTreeSet<String> = env.globals().map(|(name, _)| name.to_string()).collect();
    let mut names: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !declared(v) && !globals.contains(v) && !JINJA_NAMES.contains(&v.as_str()))
        .collect();
    names.sort();
    Ok(names)
}

/// Renders `source` with `args` as its variables (undefined ones render empty, as in Jinja2).
/// The error is Jinja's message, which the caller quotes in the reference's wording.
pub fn render(source: &str, args: &serde_json::Map<String, Json>) -> Result<String, String> {
    let ctx = Value::from_pairs(args.iter().map(|(k, v)| (k.as_str(), to_value(v))));
    environment().render_str(source, ctx).map_err(|e| {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        msg
    })
}

/// JSON to a template value by hand (serde_json's exact numbers do not survive serde).
fn to_value(v: &Json) -> Value {
    match v {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(to_value).collect::<Vec<_>>()),
        Json::Object(m) => Value::from_pairs(m.iter().map(|(k, v)| (k.as_str(), to_value(v)))),
    }
}

/// What Python's `str()` prints for a value ({{ x }}): strings as they are, containers as
/// their `repr`.
fn python_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        _ => python_repr(v),
    }
}

fn python_repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number if v.is_integer() => v.to_string(),
        ValueKind::Number => f64::try_from(v.clone()).map(python_float).unwrap_or_else(|_| v.to_string()),
        ValueKind::String => string_repr(v.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => match v.try_iter() {
            Ok(items) => format!("[{}]", items.map(|x| python_repr(&x)).collect::<Vec<_>>().join(", ")),
            Err(_) => v.to_string(),
        },
        ValueKind::Map => match v.try_iter() {
            Ok(keys) => {
                let pairs: Vec<String> = keys
                    .map(|k| {
                        let item = v.get_item(&k).unwrap_or_default();
                        format!("{}: {}", python_repr(&k), python_repr(&item))
                    })
                    .collect();
                format!("{{{}}}", pairs.join(", "))
            }
            Err(_) => v.to_string(),
        },
        _ => v.to_string(),
    }
}

/// Python's `repr` of a str: single quotes unless the text has a single quote and no double.
fn string_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr` of a float: the shortest digits that round-trip, positional between 1e-4
/// and 1e16, else scientific with a signed two-digit exponent.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}"); // shortest round-trip digits: "-1.2345e-7"
    let (mantissa, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    let (sign, mantissa) = mantissa.strip_prefix('-').map(|m| ("-", m)).unwrap_or(("", mantissa));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Python methods on template values: minijinja-contrib's `pycompat` set, plus the ones it
/// lacks that templates written for Jinja2 use.
fn python_methods(state: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match (value.kind(), method) {
        (ValueKind::Seq, "index") => {
            let wanted =
                args.first().ok_or_else(|| Error::new(ErrorKind::MissingArgument, "index() takes one argument"))?;
            let items = value.try_iter()?;
            for (i, item) in items.enumerate() {
                if &item == wanted {
                    return Ok(Value::from(i));
                }
            }
            Err(Error::new(ErrorKind::InvalidOperation, format!("{} is not in list", python_repr(wanted))))
        }
        (ValueKind::String, "zfill" | "ljust" | "rjust" | "center") => {
            let s = value.as_str().unwrap_or_default();
            let width = args.first().and_then(Value::as_usize).unwrap_or(0);
            let fill = args.get(1).and_then(|v| v.as_str()).and_then(|f| f.chars().next()).unwrap_or(' ');
            let len = s.chars().count();
            if width <= len {
                return Ok(Value::from(s));
            }
            let pad = width - len;
            let rep = |n: usize, c: char| c.to_string().repeat(n);
            Ok(Value::from(match method {
                "zfill" => match s.strip_prefix(['-', '+']) {
                    Some(rest) => format!("{}{}{rest}", &s[..1], rep(pad, '0')),
                    None => format!("{}{s}", rep(pad, '0')),
                },
                "ljust" => format!("{s}{}", rep(pad, fill)),
                "rjust" => format!("{}{s}", rep(pad, fill)),
                _ => {
                    // Python puts the extra character on the right when `pad` is odd and `len` even
                    let left = pad / 2 + (pad & len & 1);
                    format!("{}{s}{}", rep(left, fill), rep(pad - left, fill))
                }
            }))
        }
        (ValueKind::String, "removeprefix" | "removesuffix") => {
            let s = value.as_str().unwrap_or_default();
            let affix = args.first().and_then(|v| v.as_str()).unwrap_or_default();
            Ok(Value::from(if method == "removeprefix" {
                s.strip_prefix(affix).unwrap_or(s)
            } else {
                s.strip_suffix(affix).unwrap_or(s)
            }))
        }
        (ValueKind::String, "swapcase" | "casefold") => {
            let s = value.as_str().unwrap_or_default();
            Ok(Value::from(if method == "casefold" {
                s.to_lowercase()
            } else {
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() { c.to_lowercase().collect::<Vec<_>>() } else { c.to_uppercase().collect() }
                    })
                    .collect()
            }))
        }
        _ => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render_with(source: &str, args: Json) -> String {
        render(source, args.as_object().expect("object")).expect("renders")
    }

    #[test]
    fn prints_values_like_python() {
        let out = render_with(
            "{{ b }} {{ n }} {{ l }} {{ d }} {{ f }} {{ i }} {{ missing }}|",
            json!({"b": true, "n": null, "l": ["a", 1, 2.5], "d": {"k": "v"}, "f": 3.0, "i": 7}),
        );
        assert_eq!(out, "True None ['a', 1, 2.5] {'k': 'v'} 3.0 7 |");
    }

    #[test]
    fn python_methods_and_jinja_globals() {
        let out = render_with(
            "{{ s.split(',') }} {{ s.upper() }} {{ t.title() }} {{ ' x '.strip() }} {{ s.replace(',', ';') }} \
             {{ s.startswith('a') }} {{ d.get('k') }} {% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %} \
             {{ l.index('b') }} {% for i in range(3) %}{{ loop.index }}{% endfor %} \
             {% set ns = namespace(x=1) %}{{ ns.x }} {{ dict(a=1) }} {{ '5'.zfill(3) }}",
            json!({"s": "a,b", "t": "hello world", "d": {"k": 1}, "l": ["a", "b"]}),
        );
        assert_eq!(out, "['a', 'b'] A,B Hello World x a;b True 1 k=1 1 123 1 {'a': 1} 005");
    }

    #[test]
    fn globals_are_not_undeclared() {
        let declared = |n: &str| n == "n";
        let found = undeclared_variables(
            "{% for i in range(n) %}{{ loop.index }}{{ cycler('a','b').next() }}{% endfor %}{{ joiner() }}{{ lipsum }}{{ other }}",
            &declared,
        )
        .unwrap();
        assert_eq!(found, vec!["other".to_string()]);
    }

    #[test]
    fn floats_like_python_repr() {
        for (f, s) in [
            (3.0, "3.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (123.456, "123.456"),
            (-2.5e-7, "-2.5e-07"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
        ] {
            assert_eq!(python_float(f), s);
        }
    }
}
