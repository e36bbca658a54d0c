//! What a plain scalar means to the YAML 1.1 readers downstream (Go's yaml, kubectl, Helm, Argo CD),
//! and how to write a new string so that every reader, 1.1 or 1.2, reads it back as that string.

use saphyr_parser::ScalarStyle;
use serde_json::{Number, Value as Json};

use super::tree::{Node, Value};

/// Reads a node as JSON with YAML 1.1 typing (`0755` is 493, `yes` is true) — for config files,
/// never for rewriting manifests.
pub fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Scalar { text, style, tag } => resolve(text, *style, tag.as_deref()),
        Value::Seq { items, .. } => Json::Array(items.iter().map(to_json).collect()),
        Value::Map { entries, .. } => Json::Object(
            entries.iter().map(|(k, v)| (k.scalar().unwrap_or_default().to_string(), to_json(v))).collect(),
        ),
        Value::Alias(_) => Json::Null,
    }
}

/// What a scalar means to a YAML 1.1 reader: plain scalars are typed by their text, quoted and
/// block ones are strings, and the core tags say so explicitly (`!!str 0755` is a string).
pub fn resolve(text: &str, style: ScalarStyle, tag: Option<&str>) -> Json {
    match tag.and_then(|t| t.strip_prefix("tag:yaml.org,2002:")) {
        Some("str") => Json::String(text.to_string()),
        Some("int" | "float" | "bool" | "null") => resolve_plain(text),
        Some(_) => Json::String(text.to_string()),
        None if style == ScalarStyle::Plain && tag.is_none() => resolve_plain(text),
        None => Json::String(text.to_string()),
    }
}

/// The plain spellings of null (YAML 1.1 and 1.2 agree on these).
pub fn is_null_spelling(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// The YAML 1.1 type of a plain scalar (sexagesimal numbers and timestamps are left as strings).
pub fn resolve_plain(text: &str) -> Json {
    if is_null_spelling(text) {
        return Json::Null;
    }
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Json::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Json::Bool(false);
        }
        _ => {}
    }
    let (negative, digits) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let clean = digits.replace('_', "");
    let radix_value = if let Some(hex) = clean.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(bin) = clean.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()
    } else if clean.len() > 1 && clean.starts_with('0') && clean.bytes().all(|b| b.is_ascii_digit()) {
        i64::from_str_radix(&clean[1..], 8).ok()
    } else if !clean.is_empty() && clean.bytes().all(|b| b.is_ascii_digit()) {
        clean.parse().ok()
    } else {
        None
    };
    if let Some(v) = radix_value {
        return Json::Number(Number::from(if negative { -v } else { v }));
    }
    let float_like = clean.contains('.')
        && clean.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if let Some(n) = float_like.then(|| clean.parse::<f64>().ok()).flatten().and_then(Number::from_f64) {
        let n = if negative { Number::from_f64(-n.as_f64().unwrap_or_default()).unwrap_or(n) } else { n };
        return Json::Number(n);
    }
    Json::String(text.to_string())
}

/// Writes a new string scalar: plain when every reader takes it for that same string, in block
/// or flow context, else double-quoted. Conservative on purpose: `"true"`, `"on"`, `"0755"`,
/// `"1e3"`, `"null"` and anything with YAML indicators come out quoted.
pub fn quote(s: &str) -> String {
    if is_plain_safe(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Escaped, not written raw: YAML readers take U+0085, U+2028 and U+2029 for line
            // breaks and fold them, and a byte order mark or control character for framing.
            c if c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else { return false };
    if !(first.is_ascii_alphabetic() || first == b'/') || s.ends_with(':') || s.contains(": ") {
        return false;
    }
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-' | b':' | b'@')) {
        return false;
    }
    // Letter-initial words that YAML 1.1 or 1.2 resolve to bool or null, in any case.
    let lower = s.to_ascii_lowercase();
    !matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_types() {
        assert_eq!(resolve_plain("0755"), json!(493));
        assert_eq!(resolve_plain("yes"), json!(true));
        assert_eq!(resolve_plain("Off"), json!(false));
        assert_eq!(resolve_plain("~"), Json::Null);
        assert_eq!(resolve_plain("1.0"), json!(1.0));
        assert_eq!(resolve_plain("-3"), json!(-3));
        assert_eq!(resolve_plain("0x1F"), json!(31));
        assert_eq!(resolve_plain("500m"), json!("500m"));
        assert_eq!(resolve_plain("1G"), json!("1G"));
        assert_eq!(resolve_plain("demo.example.com"), json!("demo.example.com"));
    }

    #[test]
    fn new_scalars_that_a_yaml_1_1_reader_would_mistype_are_quoted() {
        for s in [
            "true",
            "on",
            "On",
            "yes",
            "y",
            "n",
            "no",
            "off",
            "null",
            "0755",
            "1.10",
            "1e3",
            "",
            "~",
            "-",
            "a: b",
            "x,y",
            "#c",
            "*a",
            "&a",
            "!t",
            "%p",
            "@x",
            "`b",
            "{a}",
            "[a]",
            "trailing:",
        ] {
            assert!(quote(s).starts_with('"'), "{s} must be quoted, got {}", quote(s));
        }
    }

    #[test]
    fn ordinary_names_stay_plain() {
        for s in [
            "maia-docker-registry-secret",
            "demo-group.maia.example.com-tls",
            "websecure",
            "http://x.ns.svc.cluster.local/oauth2/auth",
            "/home/maia-user/shared",
        ] {
            assert_eq!(quote(s), s);
        }
    }

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(quote("a\u{2028}b\u{85}"), r#""a\u2028b\u0085""#);
    }
}
