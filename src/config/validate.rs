//! Syntax checks for every config value that flows into a name, an annotation or a URL.
//!
//! Values end up in nginx annotations (`auth-url`, `auth-signin`), Traefik references and
//! object names, where a stray `$`, `;`, quote, brace or newline has historically been an
//! injection path (ingress-nginx annotation CVEs). Only plain DNS names and simple paths pass.

/// RFC 1123 label as Kubernetes checks it (namespace names, Service names).
pub fn dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err(format!("{s:?} must be 1 to 63 characters"));
    }
    let b = s.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    if !b.iter().all(ok_char) || b[0] == b'-' || b[b.len() - 1] == b'-' {
        return Err(format!(
            "{s:?} is not a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)"
        ));
    }
    Ok(())
}

/// A Kubernetes kind: `ClusterRole`, `Profile`.
pub fn kind(s: &str) -> Result<(), String> {
    match s.starts_with(|c: char| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric()) {
        true => Ok(()),
        false => Err(format!("{s:?} is not a Kubernetes kind (such as ClusterRole)")),
    }
}

/// RFC 1123 subdomain as Kubernetes checks it (Secret, Issuer and most object names; host names).
pub fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err(format!("{s:?} must be 1 to 253 characters"));
    }
    s.split('.').try_for_each(dns_label).map_err(|_| {
        format!("{s:?} is not a DNS-1123 subdomain (dot-separated lower-case labels of letters, digits and '-')")
    })
}

/// A bare host name: no scheme, port, path, spaces, quotes or shell/nginx metacharacters.
pub fn host(s: &str) -> Result<(), String> {
    if s.contains("://") {
        return Err(format!("{s:?} must be a host name without a scheme (drop the \"https://\")"));
    }
    if s.contains(['/', ':']) {
        return Err(format!("{s:?} must be a host name without a port or path"));
    }
    dns_subdomain(s)
        .map_err(|_| format!("{s:?} is not a valid host name (lower-case DNS name such as maia.example.com)"))
}

/// An absolute container path made of ordinary characters.
pub fn mount_path(s: &str) -> Result<(), String> {
    let ok = s.starts_with('/')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && !s.split('/').any(|part| part == "..");
    if ok { Ok(()) } else { Err(format!("{s:?} must be an absolute path of letters, digits, '/', '-', '_' and '.'")) }
}

/// A container image tag.
pub fn image_tag(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok && !s.starts_with(['.', '-']) {
        Ok(())
    } else {
        Err(format!("{s:?} is not an image tag (letters, digits, '_', '.', '-')"))
    }
}

/// An e-mail address as Keycloak user names are: `local@host`.
pub fn email(s: &str) -> Result<(), String> {
    let valid = s.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && local.len() <= 64
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-'))
            && domain.contains('.')
            && dns_subdomain(&domain.to_ascii_lowercase()).is_ok()
    });
    if valid { Ok(()) } else { Err(format!("{s:?} is not an e-mail address")) }
}

/// oauth2-proxy's cookie secret: 16, 24 or 32 bytes, raw or base64 (as it decodes it).
pub fn cookie_secret(s: &str) -> Result<(), String> {
    use base64::Engine;
    let engines = [base64::engine::general_purpose::URL_SAFE, base64::engine::general_purpose::STANDARD];
    let decoded = engines.iter().find_map(|e| e.decode(s).ok()).map_or(0, |b| b.len());
    if [16, 24, 32].contains(&decoded) || [16, 24, 32].contains(&s.len()) {
        Ok(())
    } else {
        Err("must be 16, 24 or 32 bytes, raw or base64 (oauth2-proxy's AES key sizes)".into())
    }
}

/// A Kubernetes memory quantity such as `"1G"`, `"16Gi"` or `512000000`.
pub fn memory_quantity(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f > 0.0),
        serde_json::Value::String(s) => {
            let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let suffix = &s[digits.len()..];
            digits.parse::<f64>().is_ok_and(|f| f > 0.0)
                && ["", "k", "K", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].contains(&suffix)
        }
        _ => false,
    }
}

/// A CPU amount such as `1.0`, `2` or `"500m"`.
pub fn cpu_quantity(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f > 0.0),
        serde_json::Value::String(s) => s.strip_suffix('m').unwrap_or(s).parse::<f64>().is_ok_and(|f| f > 0.0),
        _ => false,
    }
}

/// A registry host with an optional port and path: `ghcr.io/minnelab`, `registry.example.com:5000`.
pub fn registry(s: &str) -> Result<(), String> {
    let (host_port, path) = s.split_once('/').unwrap_or((s, ""));
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "0"));
    let ok = dns_subdomain(host).is_ok()
        && port.parse::<u16>().is_ok()
        && path.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'/' | b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(format!("{s:?} is not a registry (host[:port][/path])")) }
}

/// A registry user name: printable, no whitespace, no `:` (it is joined with the password by one).
pub fn registry_user(s: &str) -> Result<(), String> {
    if !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        Ok(())
    } else {
        Err("must be printable, without whitespace or ':'".into())
    }
}

/// An `https://` URL made of ordinary characters (an OIDC issuer).
pub fn https_url(s: &str) -> Result<(), String> {
    let Some(rest) = s.strip_prefix("https://") else { return Err(format!("{s:?} must start with https://")) };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.split_once(':').map_or(host, |(h, port)| if port.parse::<u16>().is_ok() { h } else { "" });
    let ok = dns_subdomain(host).is_ok()
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(format!("{s:?} is not a plain https URL")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INJECTIONS: &[&str] = &[
        "a.example.com; rm -rf /",
        "a.example.com\nmore: x",
        "$host",
        "a.example.com\"",
        "a.example.com'",
        "a.example.com{",
        "a b",
        "",
        "https://a.example.com",
        "a.example.com/path",
        "a.example.com:443",
        "A.EXAMPLE.COM",
        "-a.example.com",
        "a..example.com",
        "a.example.com`id`",
    ];

    #[test]
    fn hosts_reject_injection_strings() {
        for s in INJECTIONS {
            assert!(host(s).is_err(), "{s:?} must be rejected");
            assert!(dns_subdomain(s).is_err(), "{s:?} must be rejected as a subdomain");
        }
        assert!(host("demo-group.maia.example.com").is_ok());
    }

    #[test]
    fn labels() {
        assert!(dns_label("demo-group").is_ok());
        for s in ["Demo_Group", "demo.group", "-a", "a-", &"a".repeat(64)] {
            assert!(dns_label(s).is_err(), "{s}");
        }
    }

    #[test]
    fn paths() {
        assert!(mount_path("/home/maia-user/shared").is_ok());
        for s in ["relative", "/a/../b", "/a b", "/a;b", "/a$b"] {
            assert!(mount_path(s).is_err(), "{s}");
        }
    }
}
