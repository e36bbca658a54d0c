//! A fast first reading of the documents no patch and no rule reads — most of a stream's bytes
//! (CRDs, ConfigMaps, RBAC, Services): it proves the document well-formed and reads what it is
//! (`apiVersion`, `kind`, `metadata.name`/`namespace`) in one pass over its lines, without the
//! parser's tokens, events or allocations.
//!
//! Why this keeps the parity promise (refuse exactly what yaml.v3 refuses, naming the line): the
//! skim accepts only a small subset of YAML, the one Helm's templates render — block mappings and
//! sequences indented with spaces, keys of plain name characters (`app.kubernetes.io/name`),
//! plain scalars without `: ` or a leading indicator (continuing on more indented lines), quoted
//! scalars closed on their line without escapes, `|`/`>` block scalars without an indentation
//! indicator, and the empty `[]`/`{}` — every text of which yaml.v3 and maia-krm's parser both
//! read, and read alike. On anything else (a tab outside block text, non-ASCII or control bytes,
//! `\r`, anchors, aliases, tags, flow collections with content, escapes, directives, a key the
//! mapping already has, a line it can't place, a `config.kubernetes.io/path` annotation) it answers
//! `None` and the document takes the full parse, which gives the exact verdict and line. So it
//! never accepts what the parser would refuse; it only declines early. And since a skimmed
//! document is written out byte for byte, Helm's own reader still reads every byte of it after us.
//!
//! Tested against the full parse on every document of both corpora, on thousands of mutations of
//! them (`tests/skim.rs`), and by the yaml.v3 differential (`tests/py/test_differential.py`),
//! whose untouched documents go through here.

use std::borrow::Cow;

use super::scalar::is_null_spelling;

/// What a skimmed document is, as `resource::Resource` reads it from a full parse: a field that
/// is missing, null or not a scalar is `""` (`namespace`: `None`).
#[derive(Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    pub api_version: Cow<'a, str>,
    pub kind: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub namespace: Option<Cow<'a, str>>,
}

/// The identity of a document written in the subset the skim reads (see the module's doc), or
/// `None`: not sure, parse it. `max_depth` is the parser's nesting limit ([`super::Limits`]).
pub fn identity(text: &str, max_depth: usize) -> Option<Identity<'_>> {
    if !plain_bytes(text.as_bytes()) || memchr::memmem::find(text.as_bytes(), b"config.kubernetes.io/path").is_some() {
        return None;
    }
    let mut skim = Skim {
        frames: Vec::new(),
        keys: Vec::new(),
        after: After::Nothing,
        max_depth,
        fields: [None, None, None, None],
    };
    let mut started = false;
    for line in text.split('\n') {
        if let After::Quoted { double } = skim.after {
            // A document marker can't stand inside a quoted scalar; anything else can, tabs included.
            if line.starts_with("---") || line.starts_with("...") {
                return None;
            }
            if let Some(tail) = quoted_rest(line, double)? {
                if !ends_token(tail) {
                    return None;
                }
                skim.after = After::Nothing;
            }
            continue;
        }
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[spaces..];
        if skim.in_block_text(spaces, rest)? {
            continue;
        }
        if rest.is_empty() {
            continue;
        }
        if rest.starts_with('#') {
            // A comment ends a plain scalar; a line continuing it after the comment is refused.
            if let After::Plain { .. } = skim.after {
                skim.after = After::Nothing;
            }
            continue;
        }
        if spaces == 0 && (rest.starts_with("---") || rest.starts_with("...") || rest.starts_with('%')) {
            // The document's own start marker, alone (or with a comment) on its line, before any content.
            if started || !skim.frames.is_empty() || !rest.starts_with("---") || !ends_token(&rest[3..]) {
                return None;
            }
            started = true;
            continue;
        }
        if memchr::memchr(b'\t', rest.as_bytes()).is_some() {
            return None;
        }
        skim.line(spaces, rest)?;
    }
    if skim.frames.is_empty() || matches!(skim.after, After::Quoted { .. }) {
        return None; // no mapping at the root, or a quote never closed: the parser says what it is
    }
    let [api_version, kind, name, namespace] = skim.fields;
    Some(Identity {
        api_version: api_version.flatten().unwrap_or_default(),
        kind: kind.flatten().unwrap_or_default(),
        name: name.flatten().unwrap_or_default(),
        namespace: namespace.flatten(),
    })
}

/// Bytes the skim reads: printable characters, `\n` and tab. Control characters, `\r` and the
/// characters yaml.v3 takes for line breaks (U+0085, U+2028, U+2029) are the parser's to judge,
/// and so, to be safe, is a byte order mark.
fn plain_bytes(bytes: &[u8]) -> bool {
    // Whole 64-byte chunks without an early exit, so the compiler can vectorise the test.
    let odd = |b: u8| (b < 0x20 && b != b'\n' && b != b'\t') || b >= 0x7f;
    if bytes.chunks(64).all(|chunk| !chunk.iter().fold(false, |any, &b| any | odd(b))) {
        return true;
    }
    let Ok(text) = std::str::from_utf8(bytes) else { return false };
    text.chars().all(|c| {
        let c = c as u32;
        c >= 0x20 && !(0x7f..=0x9f).contains(&c) && !matches!(c, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
            || c == 0x0a
            || c == 0x09
    })
}

/// Whether what follows a token on its line is nothing, blanks, or a comment after a blank.
fn ends_token(tail: &str) -> bool {
    let rest = tail.trim_start_matches(' ');
    rest.is_empty() || (rest.starts_with('#') && rest.len() < tail.len())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Map,
    Seq,
}

/// Where a mapping stands, for the identity fields it may hold.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Root,
    Metadata,
    Other,
}

/// An identity field: its index in `Skim::fields`.
const API_VERSION: usize = 0;
const KIND: usize = 1;
const NAME: usize = 2;
const NAMESPACE: usize = 3;

/// A mapping larger than this is left to the parser: the duplicate-key test here is linear.
const MAX_KEYS: usize = 128;

/// An open block collection.
struct Frame {
    indent: usize,
    kind: Kind,
    place: Place,
    /// Where this mapping's keys start in `Skim::keys`.
    keys: usize,
}

/// What the previous line leaves open.
#[derive(Clone, Copy)]
enum After {
    Nothing,
    /// A plain scalar, continued by lines indented more than `owner` (a field of the identity may not be).
    Plain {
        owner: usize,
        field: bool,
    },
    /// `key:` or `-` with no value: a collection may follow, more indented than `owner` (a
    /// sequence also at `owner`, as a mapping's value).
    Nested {
        owner: usize,
        kind: Kind,
        place: Place,
    },
    /// A quoted scalar not closed on its line.
    Quoted {
        double: bool,
    },
    /// A block scalar's header: its text follows, indented more than `parent`; `indent` once
    /// its first line is seen, `leading` the most spaces on a blank line before it.
    Block {
        parent: usize,
        indent: Option<usize>,
        leading: usize,
    },
}

struct Skim<'a> {
    frames: Vec<Frame>,
    keys: Vec<&'a str>,
    after: After,
    max_depth: usize,
    /// apiVersion, kind, metadata.name, metadata.namespace: `Some(None)` when null or not a scalar.
    fields: [Option<Option<Cow<'a, str>>>; 4],
}

impl<'a> Skim<'a> {
    /// Takes a line of a block scalar's text (`Some(true)`), or ends the scalar (`Some(false)`,
    /// the line is read as structure). `None`: a tab or blank line the parser must judge.
    fn in_block_text(&mut self, spaces: usize, rest: &str) -> Option<bool> {
        let After::Block { parent, indent, leading } = &mut self.after else { return Some(false) };
        match *indent {
            None if rest.is_empty() => {
                *leading = (*leading).max(spaces);
                return Some(true);
            }
            // The first text line sets the indentation; a blank line before it with more spaces
            // would set it instead (libyaml's `max_indent`).
            None if spaces > *parent && !rest.starts_with('\t') && *leading <= spaces => {
                *indent = Some(spaces);
                return Some(true);
            }
            None if *leading > *parent => return None,
            Some(i) if rest.is_empty() || spaces >= i => return Some(true),
            _ => {}
        }
        if rest.starts_with('\t') {
            return None; // a tab left of the text's indentation
        }
        self.after = After::Nothing;
        Some(false)
    }

    /// A line of structure: `indent` spaces, then `rest` (not blank, not a comment, no tab).
    fn line(&mut self, indent: usize, rest: &'a str) -> Option<()> {
        let entry = rest == "-" || rest.starts_with("- ");
        match std::mem::replace(&mut self.after, After::Nothing) {
            After::Plain { owner, field } if indent > owner => {
                // A plain scalar's next line: text only (no `: `, no comment), whatever its first
                // character (both readers take `- a`, `"a"`, `&&` there as text).
                if field || plain_end(rest)? != rest.len() {
                    return None;
                }
                self.after = After::Plain { owner, field };
                return Some(());
            }
            After::Nested { owner, kind, place } => {
                if entry && (indent > owner || (indent == owner && kind == Kind::Map)) {
                    self.open(indent, Kind::Seq, Place::Other)?;
                    return self.entry(indent, rest);
                }
                if !entry && indent > owner {
                    self.open(indent, Kind::Map, place)?;
                    return self.key(indent, rest);
                }
            }
            _ => {}
        }
        if self.frames.is_empty() {
            // The root: a block mapping at the left margin.
            if indent != 0 || entry {
                return None;
            }
            self.open(0, Kind::Map, Place::Root)?;
            return self.key(0, rest);
        }
        while let Some(top) = self.frames.last() {
            let indentless_seq_ends = top.indent == indent
                && top.kind == Kind::Seq
                && !entry
                && self.frames.len() >= 2
                && self.frames[self.frames.len() - 2].indent == indent;
            if top.indent <= indent && !indentless_seq_ends {
                break;
            }
            let top = self.frames.pop()?;
            self.keys.truncate(top.keys);
        }
        let top = self.frames.last()?;
        match (top.indent == indent, top.kind, entry) {
            (true, Kind::Map, false) => self.key(indent, rest),
            (true, Kind::Seq, true) => self.entry(indent, rest),
            _ => None,
        }
    }

    fn open(&mut self, indent: usize, kind: Kind, place: Place) -> Option<()> {
        if self.frames.len() + 2 >= self.max_depth {
            return None;
        }
        self.frames.push(Frame { indent, kind, place, keys: self.keys.len() });
        Some(())
    }

    /// `key: value` or `key:` in the mapping at `indent`.
    fn key(&mut self, indent: usize, rest: &'a str) -> Option<()> {
        let (key, value) = split_key(rest)?;
        let frame = self.frames.last()?;
        let own = &self.keys[frame.keys..];
        if own.len() >= MAX_KEYS || own.contains(&key) {
            return None; // a repeated key is reported by the full path
        }
        let field = match (frame.place, key) {
            (Place::Root, "apiVersion") => Some(API_VERSION),
            (Place::Root, "kind") => Some(KIND),
            (Place::Metadata, "name") => Some(NAME),
            (Place::Metadata, "namespace") => Some(NAMESPACE),
            // A list of objects: `resource::resources_of` reads its items.
            (Place::Root, "items") => return None,
            _ => None,
        };
        let place = if (frame.place, key) == (Place::Root, "metadata") { Place::Metadata } else { Place::Other };
        self.keys.push(key);
        self.value(indent, Kind::Map, value, field, place)
    }

    /// `- …` in the sequence at `indent`: nothing, a scalar, or the first key of a mapping.
    fn entry(&mut self, indent: usize, rest: &'a str) -> Option<()> {
        let content = rest[1..].trim_start_matches(' ');
        let column = indent + rest.len() - content.len();
        if content == "-" || content.starts_with("- ") {
            return None; // a sequence in a sequence's entry
        }
        if split_key(content).is_some() {
            self.open(column, Kind::Map, Place::Other)?;
            return self.key(column, content);
        }
        self.value(indent, Kind::Seq, content, None, Place::Other)
    }

    /// The value after a key's `: ` or an entry's `- `, blanks skipped.
    fn value(&mut self, owner: usize, kind: Kind, value: &'a str, field: Option<usize>, place: Place) -> Option<()> {
        let mut read: Option<Cow<'a, str>> = None;
        match value.as_bytes().first() {
            None | Some(b'#') => self.after = After::Nested { owner, kind, place },
            Some(b'|' | b'>') => {
                let flags = value[1..].trim_start_matches(['-', '+']);
                if field.is_some() || value.len() - flags.len() > 2 || !ends_token(flags) {
                    return None;
                }
                self.after = After::Block { parent: owner, indent: None, leading: 0 };
            }
            Some(&quote @ (b'"' | b'\'')) => {
                let inner = &value[1..];
                let double = quote == b'"';
                match quoted_rest(inner, double)? {
                    // Across lines: not for a field, whose value the skim would have to fold.
                    None if field.is_none() => self.after = After::Quoted { double },
                    None => return None,
                    Some(tail) if !ends_token(tail) => return None,
                    Some(tail) => {
                        let text = &inner[..inner.len() - tail.len() - 1];
                        read = Some(match double {
                            // Escapes are read by the parser, for a field.
                            true if text.contains('\\') => {
                                if field.is_some() {
                                    return None;
                                }
                                Cow::Borrowed(text)
                            }
                            true => Cow::Borrowed(text),
                            false => single_quoted_text(text),
                        });
                    }
                }
            }
            Some(b'[' | b'{') => {
                let empty = value.strip_prefix("[]").or_else(|| value.strip_prefix("{}"))?;
                if !ends_token(empty) || self.frames.len() + 2 >= self.max_depth {
                    return None;
                }
            }
            Some(_) => {
                if !plain_start(value.as_bytes()) {
                    return None;
                }
                let end = plain_end(value)?;
                let text = value[..end].trim_end_matches(' ');
                if end == value.len() {
                    self.after = After::Plain { owner, field: field.is_some() };
                }
                // A null's spelling is read as no value, by `Node::str` too.
                read = (!is_null_spelling(text)).then_some(Cow::Borrowed(text));
            }
        }
        if let Some(i) = field {
            self.fields[i] = Some(read);
        }
        Some(())
    }
}

/// `key: value` or `key:` with a key of plain name characters: the key and the value, blanks
/// skipped. `None` when the line is not that.
fn split_key(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let len = bytes.iter().position(|&b| !is_key_byte(b)).unwrap_or(bytes.len());
    if len == 0 || !bytes[0].is_ascii_alphanumeric() && !matches!(bytes[0], b'_' | b'$' | b'.' | b'/') {
        return None;
    }
    let value = line[len..].strip_prefix(':')?;
    match value.as_bytes().first() {
        None => Some((&line[..len], "")),
        Some(b' ') => Some((&line[..len], value.trim_start_matches(' '))),
        _ => None,
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'$' | b'+' | b'~')
}

/// Whether a plain scalar may start with these bytes in block context, for both readers: not
/// with an indicator (`-` only before a letter, digit or `-`: `-1`, `--port`).
fn plain_start(bytes: &[u8]) -> bool {
    match bytes {
        [b'-', next, ..] => next.is_ascii_alphanumeric() || *next == b'-',
        [b'-' | b'?' | b':', ..] | [] => false,
        [first, ..] => !matches!(
            first,
            b',' | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        ),
    }
}

/// Where a one-line plain scalar ends: at a comment (` #`) or the line's end. `None` at a `: `
/// or a final `:` (a mapping where a scalar must be: the parser's to judge).
fn plain_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(i) = memchr::memchr2(b':', b'#', &bytes[at..]) {
        let i = at + i;
        match bytes[i] {
            b':' if matches!(bytes.get(i + 1), None | Some(b' ')) => return None,
            b'#' if i > 0 && bytes[i - 1] == b' ' => return Some(i),
            _ => {}
        }
        at = i + 1;
    }
    Some(bytes.len())
}

/// Where a quoted scalar's text (from `text` on) closes on this line: what follows the closing
/// quote, `Some(None)` when it goes on to the next line, `None` at an escape yaml.v3 may refuse.
/// In single quotes `''` is a quote; in double quotes only escapes both readers take alike are
/// let through (no `\x`, `\u`, `\U`: their code points are the parser's to judge).
fn quoted_rest(text: &str, double: bool) -> Option<Option<&str>> {
    let bytes = text.as_bytes();
    let mut at = 0;
    loop {
        let found =
            if double { memchr::memchr2(b'"', b'\\', &bytes[at..]) } else { memchr::memchr(b'\'', &bytes[at..]) };
        let Some(i) = found.map(|i| at + i) else { return Some(None) };
        match (bytes[i], bytes.get(i + 1)) {
            (b'\'', Some(b'\'')) => at = i + 2,
            (b'\\', None) => return Some(None), // an escaped line break
            (b'\\', Some(e)) if b"0abtnvfre \"/\\N_LP\t".contains(e) => at = i + 2,
            (b'\\', _) => return None,
            _ => return Some(Some(&text[i + 1..])),
        }
    }
}

/// A single-quoted scalar's text, `''` read as a quote.
fn single_quoted_text(text: &str) -> Cow<'_, str> {
    if text.contains("''") { Cow::Owned(text.replace("''", "'")) } else { Cow::Borrowed(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Option<(String, String, String, Option<String>)> {
        identity(text, 256)
            .map(|i| (i.api_version.into(), i.kind.into(), i.name.into(), i.namespace.map(Cow::into_owned)))
    }

    fn is(api: &str, kind: &str, name: &str, ns: Option<&str>) -> Option<(String, String, String, Option<String>)> {
        Some((api.into(), kind.into(), name.into(), ns.map(str::to_string)))
    }

    #[test]
    fn reads_what_helm_renders() {
        let doc = "---\n# Source: x/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"x\"\n  \
                   namespace: 'demo-group'\n  labels:\n    app.kubernetes.io/name: x\ndata:\n  a.conf: |-\n    \
                   server {\n    \tlisten 80; # not a comment\n\n    }\n  b: \"1\"\n  list:\n  - a\n  - k: v\n    \
                   j: [] # c\n  long: one\n    two\n";
        assert_eq!(id(doc), is("v1", "ConfigMap", "x", Some("demo-group")));
    }

    #[test]
    fn reads_quotes_across_lines_and_text_beyond_ascii() {
        let doc = "kind: A\nspec:\n  d: 'it''s\n\tlong'\n  e: \"a\\n\\\"b\\\n  c\" # x\n  f: caf\u{e9} \u{2019}\n  g: one\n    - two\n";
        assert_eq!(id(doc), is("", "A", "", None));
    }

    #[test]
    fn a_missing_or_null_field_reads_as_empty() {
        assert_eq!(id("kind: A\nmetadata:\n  name: ~\n  namespace:\n"), is("", "A", "", None));
        assert_eq!(id("kind: A\nmetadata: {}\n"), is("", "A", "", None));
        assert_eq!(id("kind: A\nmetadata:\n  namespace: \"\"\n"), is("", "A", "", Some("")));
        assert_eq!(id("kind: 'it''s'\n"), is("", "it's", "", None));
    }

    #[test]
    fn declines_what_it_does_not_read() {
        for doc in [
            "kind: A\nkind: B\n",                         // repeated key
            "kind: A\nmetadata:\n  name: a\n  name: b\n", // repeated key below
            "kind: &a A\n",                               // anchor
            "kind: !!str A\n",                            // tag
            "kind: \"A\\u0041\"\n",                       // escape
            "kind: \"A\n  B\"\n",                         // quoted across lines
            "kind: A\nmetadata:\n  name: a\n   b\n",      // identity across lines
            "kind: A\nspec: {a: 1}\n",                    // flow content
            "kind: A\nspec:\n\tx: 1\n",                   // tab
            "kind: A\r\n",                                // CR
            "kind: A\nx: a\u{2028}b\n",                   // a line break to yaml.v3
            "kind: A\nx: a\u{85}b\n",                     // NEL
            "kind: A\nx: a\u{9f}b\n",                     // a C1 control
            "kind: A\nx: \"a\\x41\"\n",                   // an escape left to the parser
            "kind: A\nx: 'a\n--- b'\n",                   // a marker inside quotes
            "kind: A\nx: 'a\n  b' c\n",                   // text after the closing quote
            "kind: A\nx: a: b\n",                         // mapping in a scalar
            "kind: A\nx: a\n  b: c\n",                    // mapping under a scalar
            "kind: A\nx: a # c\n  b\n",                   // text after a comment
            "kind: A\nx:\n  - a\n - b\n",                 // misplaced entry
            "kind: A\nx: |2\n   a\n",                     // indentation indicator
            "kind: A\nx: |\n   \n  a\n",                  // blank line deeper than the text
            "kind: A\nx: |\n  a\n\t\n",                   // tab left of the text
            "kind: List\nitems:\n- kind: Ingress\n",      // a list
            "- a\n",                                      // a sequence at the root
            "a\n",                                        // a scalar at the root
            "# only a comment\n",                         // nothing
            "kind: A\n---\nkind: B\n",                    // a second document
            "%YAML 1.1\n---\nkind: A\n",                  // a directive
            "kind: A\n...\n",                             // an end marker
            "\"kind\": A\n",                              // a quoted key
            "kind: A\nx: - a\n",                          // an entry where a value must be
            "kind: A\nmetadata:\n  annotations:\n    config.kubernetes.io/path: a.yaml\n",
        ] {
            assert_eq!(id(doc), None, "{doc:?}");
        }
    }

    #[test]
    fn nesting_within_the_limit() {
        let deep = "a:\n b:\n  c:\n   d: 1\n";
        assert!(identity(deep, 256).is_some());
        assert!(identity(deep, 4).is_none());
    }
}
