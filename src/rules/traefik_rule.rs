//! Traefik's rule language (`Host(`a`) && PathPrefix(`/x`)`), read as Traefik reads it: its
//! parser (pkg/rules/parser.go over vulcand/predicate) takes Go expression syntax — `&&`, `||`,
//! `!`, parentheses, raw and interpreted strings, blanks anywhere — and matcher names in any case.
//! Enough to tell which hosts and paths a rule *requires* and to rewrite hosts in place; anything
//! else is refused, so a rule is never rewritten on a guess.

use std::ops::Range;

/// A parsed rule.
#[derive(Debug, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// A matcher; `name` lower-cased.
    Call {
        name: String,
        args: Vec<Arg>,
    },
}

/// A string argument: its value, and the byte range of its text between the quotes.
#[derive(Debug, PartialEq)]
pub struct Arg {
    pub value: String,
    pub inner: Range<usize>,
    /// An interpreted string with escapes: its text is not its value, so it is never rewritten.
    pub escaped: bool,
}

#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(Arg),
    Open,
    Close,
    Comma,
    And,
    Or,
    Not,
}

fn tokens(rule: &str) -> Result<Vec<Token>, &'static str> {
    let bytes = rule.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' | b')' | b',' => {
                out.push(match b {
                    b'(' => Token::Open,
                    b')' => Token::Close,
                    _ => Token::Comma,
                });
                i += 1;
            }
            b'&' | b'|' if bytes.get(i + 1) == Some(&b) => {
                out.push(if b == b'&' { Token::And } else { Token::Or });
                i += 2;
            }
            b'!' => {
                out.push(Token::Not);
                i += 1;
            }
            b'`' => {
                let end = rule[i + 1..].find('`').ok_or("an unclosed string")? + i + 1;
                let inner = i + 1..end;
                out.push(Token::Str(Arg { value: rule[inner.clone()].to_string(), inner, escaped: false }));
                i = end + 1;
            }
            b'"' => {
                let mut j = i + 1;
                let mut escaped = false;
                while j < bytes.len() && bytes[j] != b'"' {
                    if bytes[j] == b'\\' {
                        escaped = true;
                        j += 1;
                    }
                    j += 1;
                }
                if j >= bytes.len() {
                    return Err("an unclosed string");
                }
                let inner = i + 1..j;
                out.push(Token::Str(Arg { value: rule[inner.clone()].to_string(), inner, escaped }));
                i = j + 1;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let end =
                    rule[i..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(rule.len(), |n| i + n);
                out.push(Token::Ident(rule[i..end].to_ascii_lowercase()));
                i = end;
            }
            _ => return Err("a character outside Traefik's rule syntax"),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Parentheses and `!` open so far: real rules nest a few levels, and a rule nesting
    /// thousands must not exhaust the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, t: &Token) -> bool {
        let hit = self.peek() == Some(t);
        self.at += usize::from(hit);
        hit
    }

    fn or(&mut self) -> Result<Expr, &'static str> {
        let mut terms = vec![self.and()?];
        while self.eat(&Token::Or) {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Expr::Or(terms) })
    }

    fn and(&mut self) -> Result<Expr, &'static str> {
        let mut factors = vec![self.unary()?];
        while self.eat(&Token::And) {
            factors.push(self.unary()?);
        }
        Ok(if factors.len() == 1 { factors.remove(0) } else { Expr::And(factors) })
    }

    fn unary(&mut self) -> Result<Expr, &'static str> {
        if self.depth > MAX_DEPTH {
            return Err("nesting deeper than 64 levels");
        }
        if self.eat(&Token::Not) {
            self.depth += 1;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.eat(&Token::Open) {
            self.depth += 1;
            let inner = self.or()?;
            self.depth -= 1;
            return if self.eat(&Token::Close) { Ok(inner) } else { Err("a `(` without its `)`") };
        }
        let Some(Token::Ident(name)) = self.peek() else { return Err("a matcher was expected") };
        let name = name.clone();
        self.at += 1;
        if !self.eat(&Token::Open) {
            return Err("a matcher without `(`");
        }
        let mut args = Vec::new();
        if !self.eat(&Token::Close) {
            loop {
                match self.tokens.get(self.at) {
                    Some(Token::Str(_)) => {
                        let Token::Str(arg) = std::mem::replace(&mut self.tokens[self.at], Token::Comma) else {
                            unreachable!("matched a string")
                        };
                        args.push(arg);
                        self.at += 1;
                    }
                    _ => return Err("a matcher argument that is not a string"),
                }
                if self.eat(&Token::Close) {
                    break;
                }
                if !self.eat(&Token::Comma) {
                    return Err("matcher arguments not separated by `,`");
                }
            }
        }
        Ok(Expr::Call { name, args })
    }
}

pub fn parse(rule: &str) -> Result<Expr, &'static str> {
    let mut p = Parser { tokens: tokens(rule)?, at: 0, depth: 0 };
    let expr = p.or()?;
    if p.at == p.tokens.len() { Ok(expr) } else { Err("text after the end of the rule") }
}

impl Expr {
    /// Whether every request the rule matches satisfies some matcher for which `holds` is true.
    pub fn requires(&self, holds: &dyn Fn(&str, &[Arg]) -> bool) -> bool {
        match self {
            Expr::Or(terms) => terms.iter().all(|t| t.requires(holds)),
            Expr::And(factors) => factors.iter().any(|f| f.requires(holds)),
            Expr::Not(_) => false,
            Expr::Call { name, args } => holds(name, args),
        }
    }

    /// Every matcher, with whether it sits under a `!`.
    pub fn calls(&self) -> Vec<(&str, &[Arg], bool)> {
        fn walk<'e>(e: &'e Expr, negated: bool, out: &mut Vec<(&'e str, &'e [Arg], bool)>) {
            match e {
                Expr::Or(items) | Expr::And(items) => items.iter().for_each(|i| walk(i, negated, out)),
                Expr::Not(inner) => walk(inner, !negated, out),
                Expr::Call { name, args } => out.push((name, args, negated)),
            }
        }
        let mut out = Vec::new();
        walk(self, false, &mut out);
        out
    }
}

/// Traefik v3's `Host` and v2's `HostHeader`.
pub fn is_host(name: &str) -> bool {
    matches!(name, "host" | "hostheader")
}

/// The hosts a rule answers (its Hosts that are not negated), lower-cased, or why they can't be known.
pub fn hosts(rule: &str) -> Result<Vec<String>, String> {
    let expr = parse(rule).map_err(|why| format!("rule not readable ({why})"))?;
    let mut hosts = Vec::new();
    for (name, args, negated) in expr.calls() {
        if name == "hostregexp" {
            return Err("hosts given by HostRegexp".into());
        }
        if is_host(name) && !negated {
            hosts.extend(args.iter().map(|a| a.value.to_ascii_lowercase()));
        }
    }
    Ok(hosts)
}

/// The hosts a TCP rule answers by SNI (`HostSNI`, lower-cased; `*` for any), or none when it
/// can't be read or matches by regular expression.
pub fn sni_hosts(rule: &str) -> Option<Vec<String>> {
    let expr = parse(rule).ok()?;
    let mut hosts = Vec::new();
    for (name, args, negated) in expr.calls() {
        match name {
            "hostsniregexp" => return None,
            "hostsni" if !negated => hosts.extend(args.iter().map(|a| a.value.to_ascii_lowercase())),
            _ => {}
        }
    }
    Some(hosts)
}

/// Whether the rule routes only oauth2-proxy's own paths (every match needs a `Path` or
/// `PathPrefix` under `/oauth2`). A rule that can't be read is not: a login loop is the safer failure.
pub fn serves_only_oauth2(rule: &str, prefix: &str) -> bool {
    parse(rule).is_ok_and(|e| {
        e.requires(&|name, args| {
            matches!(name, "path" | "pathprefix")
                && !args.is_empty()
                && args.iter().all(|a| !a.escaped && super::login::is_oauth2_path(&a.value, prefix))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_as_traefik_reads_them() {
        for rule in [
            "Host(`a`) && PathPrefix(`/x`)",
            "host(`a`) || HOST ( \"b\" )",
            "!Host(`a`) && (Path(`/x`) || Path(`/y`))",
            "Host(`a`, `b`)\n&& Header(`X`, \"Host(`c`)\")",
            "PathPrefix(`/Host(x)`)",
        ] {
            assert!(parse(rule).is_ok(), "{rule}");
        }
        for rule in
            ["Host(`a`", "Host(a)", "Host(`a`) &&", "Host(`a`) Path(`/`)", "Host(`a`) & Path(`/`)", "(Host(`a`)"]
        {
            assert!(parse(rule).is_err(), "{rule}");
        }
    }

    #[test]
    fn only_a_rule_that_needs_an_oauth2_path_is_oauth2_proxys() {
        assert!(serves_only_oauth2("Host(`a`) && PathPrefix(`/oauth2`)", "/oauth2"));
        assert!(serves_only_oauth2("Host(`a`) && pathprefix(\"/oauth2/\")", "/oauth2"));
        assert!(serves_only_oauth2("Host(`a`) && (Path(`/oauth2/start`) || Path(`/oauth2/callback`))", "/oauth2"));
        for not_only in [
            "PathPrefix(`/oauth2`) || PathPrefix(`/`)",
            "!PathPrefix(`/oauth2`)",
            "Host(`a`) && PathPrefix(`/oauth2x`)",
            "Host(`a`) && PathPrefix(`/oauth2`, `/app`)",
            "PathRegexp(`^/oauth2`)",
            "Host(`a`)",
            "broken(",
        ] {
            assert!(!serves_only_oauth2(not_only, "/oauth2"), "{not_only}");
        }
    }
}
