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
    dns_subdomain(s).map_err(|_| format!("{s:?} is not a valid host name (lower-case DNS name such as maia.example.com)"))
}

/// An absolute container path made of ordinary characters.
pub fn mount_path(s: &str) -> Result<(), String> {
    let ok = s.starts_with('/')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && !s.split('/').any(|part| part == "..");
    if ok { Ok(()) } else { Err(format!("{s:?} must be an absolute path of letters, digits, '/', '-', '_' and '.'")) }
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
