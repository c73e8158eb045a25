//! Resource URI templates (`inventory://items/{id}`): one parser for the checks (which
//! variables a template has) and the server (matching a requested URI).

/// A piece of a template: literal text or a `{variable}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Part<'a> {
    Literal(&'a str),
    Var(&'a str),
}

/// The template's parts. `{name}` (non-empty, no `{` inside) is a variable; any other brace
/// is literal text.
pub fn parts(template: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut literal_start = 0;
    let mut offset = 0;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if end > 0 && !after[..end].contains('{') => {
                let var_at = offset + start;
                if var_at > literal_start {
                    out.push(Part::Literal(&template[literal_start..var_at]));
                }
                out.push(Part::Var(&after[..end]));
                offset = var_at + 1 + end + 1;
                literal_start = offset;
                rest = &template[offset..];
            }
            _ => {
                offset += start + 1;
                rest = &template[offset..];
            }
        }
    }
    if literal_start < template.len() {
        out.push(Part::Literal(&template[literal_start..]));
    }
    out
}

/// The variable names, in order.
pub fn variables(template: &str) -> Vec<String> {
    parts(template)
        .into_iter()
        .filter_map(|p| match p {
            Part::Var(v) => Some(v.to_string()),
            Part::Literal(_) => None,
        })
        .collect()
}

/// A regex matching URIs of the template; variable `i` is captured as group `v{i}` (one path
/// segment: no `/`).
pub fn matcher(template: &str) -> regex::Regex {
    let mut pattern = String::from("^");
    let mut i = 0;
    for p in parts(template) {
        match p {
            Part::Literal(l) => pattern.push_str(&regex::escape(l)),
            Part::Var(_) => {
                pattern.push_str(&format!("(?P<v{i}>[^/]+)"));
                i += 1;
            }
        }
    }
    pattern.push('$');
    regex::Regex::new(&pattern).expect("escaped literals and fixed groups form a valid regex")
}

/// `a%20b` → `a b` (URI template variables and OTEL_* list values arrive percent-encoded).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_variables() {
        assert_eq!(
            parts("items://{id}/x/{sub}"),
            vec![Part::Literal("items://"), Part::Var("id"), Part::Literal("/x/"), Part::Var("sub")]
        );
        assert_eq!(variables("a://{}/{x{y}/{z}"), vec!["y", "z"]);
        assert_eq!(parts("plain://uri"), vec![Part::Literal("plain://uri")]);
    }

    #[test]
    fn matches_one_segment_per_variable() {
        let re = matcher("items://{id}/detail");
        assert_eq!(&re.captures("items://42/detail").unwrap()["v0"], "42");
        assert!(re.captures("items://4/2/detail").is_none());
        assert!(matcher("a.b://{x}").captures("aXb://1").is_none(), "literals are escaped");
    }

    #[test]
    fn decodes_template_variables() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
