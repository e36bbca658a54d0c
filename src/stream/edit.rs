//! Text splices computed against a parsed document: insert a mapping entry, append a sequence
//! item, replace a scalar. Everything outside the splices is copied unchanged, so comments,
//! quoting, key order and line endings of the rest of the document survive.
//!
//! New values are `serde_json::Value`s (built by the patches) written in the surrounding style:
//! block collections get block lines at the collection's own indentation, flow collections get
//! flow text before their closing bracket.

use serde_json::Value as Json;

use saphyr_parser::ScalarStyle;

use super::scalar::quote;
use super::tree::{ALIASED, Node, Value, start_of_line};

/// The pending changes to one document's text, and what each is meant to do (see [`Intent`]),
/// so the result can be checked before it is written (`stream::check`).
pub struct Edits<'t> {
    text: &'t str,
    /// The document is JSON (its root a flow collection): what is written into it is JSON too,
    /// so `kubectl get -o json | maia-krm | kubectl apply -f -` stays a JSON pipeline.
    json: bool,
    splices: Vec<Splice>,
    /// What the splices claim, so edits computed separately against the same tree can be merged
    /// when (and only when) they cannot step on each other.
    claims: Vec<Claim>,
    intents: Vec<Intent>,
}

#[derive(PartialEq)]
enum Claim {
    /// A key set in the mapping starting at this offset: two of these would duplicate the key.
    Key(usize, String),
    /// A replaced range of text.
    Range(usize, usize),
}

/// Why an edit could not be written: a reason for the report, e.g. "it already holds a value".
pub type Refused = &'static str;

const OPEN_BLOCK_SCALAR: Refused =
    "the document ends in a block scalar without a line break, which a line after it would change";

/// The depth of a splice that chomps a block scalar ([`Edits::chomp_last_block_scalar`]).
const CHOMP: usize = usize::MAX;

/// What an edit means, addressed to the node it changes by that node's (start, depth) in the
/// text the edits were computed against.
#[derive(Debug, Clone)]
pub struct Intent {
    pub target: (usize, usize),
    pub op: Op,
}

#[derive(Debug, Clone)]
pub enum Op {
    /// Mapping: `key` gets `value` (an absent key is added last; a null one is filled in place).
    Put { key: String, value: Json },
    /// Sequence: `item` is added last.
    Append(Json),
    /// Sequence: `item` is added first (before any items added first earlier).
    Prepend(Json),
    /// Scalar: becomes this string.
    Replace(String),
}

struct Splice {
    start: usize,
    end: usize,
    /// The first entry written into an empty flow collection: needs a `, ` after all when
    /// another edit put an entry at the same place first (two annotations into `{}`).
    flow_first: bool,
    /// Whole new lines (after a line break) rather than text within a line. At one offset, text
    /// within the line must come first: `volumes:` filled with `[...]` before the lines of a key
    /// added after it.
    lines: bool,
    /// Nesting level of what is inserted. Where several collections end at one offset, inner
    /// ones must get their new lines before outer ones, or an item would land in its parent.
    depth: usize,
    with: String,
}

impl<'t> Edits<'t> {
    pub fn new(text: &'t str) -> Self {
        Edits { text, json: is_json(text), splices: Vec::new(), claims: Vec::new(), intents: Vec::new() }
    }

    /// Empty edits on the same text: to try an edit before committing to the ones that need it
    /// (then [`Edits::absorb`] it).
    pub fn fork(&self) -> Edits<'t> {
        Edits { text: self.text, json: self.json, splices: Vec::new(), claims: Vec::new(), intents: Vec::new() }
    }

    /// A value as flow text: JSON in a JSON document, else YAML flow with plain scalars where safe.
    fn flow(&self, value: &Json) -> String {
        if self.json { json_text(value) } else { flow(value) }
    }

    fn string(&self, s: &str) -> String {
        if self.json { json_text(&Json::String(s.to_string())) } else { quote(s) }
    }

    /// True when `other` (computed against the same text) touches what these edits touch.
    pub fn collides_with(&self, other: &Edits) -> bool {
        other.claims.iter().any(|c| {
            self.claims.iter().any(|mine| match (mine, c) {
                (Claim::Range(a, b), Claim::Range(c, d)) => a < d && c < b,
                (Claim::Range(a, b), Claim::Key(at, _)) | (Claim::Key(at, _), Claim::Range(a, b)) => a <= at && at < b,
                (Claim::Key(..), Claim::Key(..)) => mine == c,
            })
        })
    }

    /// Takes over `other`'s splices (check [`Edits::collides_with`] first). A block scalar
    /// both chomped is chomped once.
    pub fn absorb(&mut self, other: Edits) {
        for splice in other.splices {
            let chomped = |s: &Splice| s.depth == CHOMP && s.start == splice.start;
            if !(chomped(&splice) && self.splices.iter().any(chomped)) {
                self.splices.push(splice);
            }
        }
        self.claims.extend(other.claims);
        self.intents.extend(other.intents);
    }

    pub fn is_empty(&self) -> bool {
        self.splices.is_empty()
    }

    /// What the edits are meant to do, for the check of their result.
    pub fn intents(&self) -> &[Intent] {
        &self.intents
    }

    /// Sets `key` in `map`: fills an existing null value, or adds the entry after the last one.
    /// Refuses, changing nothing, when `key` already holds a value or its text can't be written
    /// safely (a `? key` with no `:`, a block scalar ending the document without a line break).
    pub fn put(&mut self, map: &Node, key: &str, value: &Json) -> Result<(), Refused> {
        if !map.is_map() {
            return Err(if matches!(map.value, Value::Alias(_)) { ALIASED } else { "not a mapping" });
        }
        match map.entries().iter().rev().find(|(k, _)| k.scalar() == Some(key)) {
            Some((k, v)) if v.is_null() => self.fill_null(k, v, value)?,
            Some(_) => return Err("it already holds a value"),
            None if map.is_flow() => self.insert_flow(map, format!("{}: {}", self.string(key), self.flow(value))),
            None => {
                self.chomp_last_block_scalar(map)?;
                let mut lines = Vec::new();
                entry_lines(key, value, 0, &mut lines);
                let indent = map.entries().first().map_or(map.col, |(k, _)| column(self.text, k.start));
                self.insert_lines_after(map.content_end(), indent, map.depth + 1, &lines);
            }
        }
        self.claims.push(Claim::Key(map.start, key.to_string()));
        self.intend(map, Op::Put { key: key.to_string(), value: value.clone() });
        Ok(())
    }

    /// Adds `item` at the end of a sequence. Refuses, changing nothing, when the place of the
    /// sequence's dashes can't be found or a block scalar ends the document without a line break.
    /// Appends claim nothing: several at one sequence keep their call order (see `apply`).
    pub fn append(&mut self, seq: &Node, item: &Json) -> Result<(), Refused> {
        if !seq.is_seq() {
            return Err(if matches!(seq.value, Value::Alias(_)) { ALIASED } else { "not a list" });
        }
        if seq.is_flow() {
            self.insert_flow(seq, self.flow(item));
        } else {
            let dash_col = seq
                .items()
                .first()
                .and_then(|i| self.dash_column(i))
                .ok_or("the column of its items' dashes can't be found")?;
            self.chomp_last_block_scalar(seq)?;
            let mut lines = Vec::new();
            item_lines(item, 0, &mut lines);
            self.insert_lines_after(seq.content_end(), dash_col, seq.depth + 1, &lines);
        }
        self.intend(seq, Op::Append(item.clone()));
        Ok(())
    }

    /// Adds `item` at the start of a non-empty sequence (an empty one: [`Edits::append`]), so it
    /// comes before what the chart listed: a login before the chart's middlewares. Refuses,
    /// changing nothing, when the first item's `-` is not the first thing on its line (a `- - x`,
    /// or a `-` alone above its item). Prepends claim nothing: several at one sequence keep their
    /// call order, all before the first old item.
    pub fn prepend(&mut self, seq: &Node, item: &Json) -> Result<(), Refused> {
        if !seq.is_seq() {
            return Err(if matches!(seq.value, Value::Alias(_)) { ALIASED } else { "not a list" });
        }
        let Some(first) = seq.items().first() else {
            return self.append(seq, item);
        };
        if seq.is_flow() {
            let with = format!("{}, ", self.flow(item));
            self.splices.push(Splice {
                start: first.start,
                end: first.start,
                flow_first: false,
                lines: false,
                depth: seq.depth + 1,
                with,
            });
        } else {
            let bytes = self.text.as_bytes();
            let line_start = start_of_line(bytes, first.start);
            let before = self.text[line_start..first.start].trim_end_matches([' ', '\t']);
            let dash_col = before
                .strip_suffix('-')
                .filter(|prefix| prefix.bytes().all(|b| b == b' '))
                .map(str::len)
                .ok_or("the first item's `-` is not the first thing on its line")?;
            let (_, eol) = line_end(bytes, line_start);
            let mut lines = Vec::new();
            item_lines(item, 0, &mut lines);
            let text: String = lines.iter().map(|(d, l)| format!("{}{l}{eol}", " ".repeat(dash_col + d))).collect();
            self.insert(line_start, true, seq.depth + 1, text);
        }
        self.intend(seq, Op::Prepend(item.clone()));
        Ok(())
    }

    /// Replaces a scalar (its properties and block header included) with a new string, quoted as needed.
    pub fn replace_scalar(&mut self, node: &Node, new: &str) {
        debug_assert!(node.scalar().is_some(), "replace_scalar() on a collection");
        self.claims.push(Claim::Range(node.start, node.end));
        self.splices.push(Splice {
            start: node.start,
            end: node.end,
            flow_first: false,
            lines: false,
            depth: node.depth,
            with: self.string(new),
        });
        self.intend(node, Op::Replace(new.to_string()));
    }

    /// Applies the splices and returns the new text.
    pub fn apply(&mut self) -> String {
        // Stable: same-offset inserts at one depth (keys of one map, items of one list) keep call order.
        self.splices.sort_by_key(|s| (s.start, s.lines, std::cmp::Reverse(s.depth)));
        let mut out = String::with_capacity(self.text.len() + self.splices.iter().map(|s| s.with.len()).sum::<usize>());
        let mut at = 0;
        let mut flow_entry_at = None; // where the last entry went into a flow collection
        for s in &self.splices {
            debug_assert!(s.start >= at, "overlapping splices");
            out.push_str(&self.text[at..s.start.max(at)]);
            if s.flow_first && flow_entry_at == Some(s.start) {
                out.push_str(", ");
            }
            out.push_str(&s.with);
            flow_entry_at = (!s.lines && s.start == s.end).then_some(s.start);
            at = at.max(s.end);
        }
        out.push_str(&self.text[at..]);
        out
    }

    /// Makes room for lines after `node` when the document ends in its block scalar without a
    /// line break (see [`open_block_scalar`]); once per document, however many edits need it.
    fn chomp_last_block_scalar(&mut self, node: &Node) -> Result<(), Refused> {
        if let Some((start, end)) = open_block_scalar(self.text, node)? {
            let claim = Claim::Range(start, end.max(start + 1));
            if !self.claims.contains(&claim) {
                self.claims.push(claim);
                let with = "-".to_string();
                self.splices.push(Splice { start, end, flow_first: false, lines: false, depth: CHOMP, with });
            }
        }
        Ok(())
    }

    fn intend(&mut self, node: &Node, op: Op) {
        self.intents.push(Intent { target: (node.start, node.depth), op });
    }

    fn insert(&mut self, at: usize, lines: bool, depth: usize, with: String) {
        self.splices.push(Splice { start: at, end: at, flow_first: false, lines, depth, with });
    }

    /// Inserts an entry into a flow collection: right after its last entry (before any trailing
    /// comma, comment or line break), or just inside the opening bracket when it is empty.
    fn insert_flow(&mut self, collection: &Node, entry: String) {
        let last = match &collection.value {
            Value::Seq { items, .. } => items.last(),
            Value::Map { entries, .. } => entries.last().map(|(_, v)| v),
            _ => None,
        };
        let (start, with, flow_first) = match last {
            Some(node) => (node.content_end(), format!(", {entry}"), false),
            None => (collection.open() + 1, entry, true),
        };
        let depth = collection.depth + 1;
        self.splices.push(Splice { start, end: start, flow_first, lines: false, depth, with });
    }

    /// `key:` with an empty or `null` value becomes `key: <flow value>` (flow text fits on the
    /// key's own line whatever follows it, comments included).
    fn fill_null(&mut self, key: &Node, value: &Node, new: &Json) -> Result<(), Refused> {
        if value.start < value.end {
            self.splices.push(Splice {
                start: value.start,
                end: value.end,
                flow_first: false,
                lines: false,
                depth: value.depth,
                with: self.flow(new),
            });
            return Ok(());
        }
        match colon_after(self.text, key.end) {
            Some(colon) => {
                let text = format!(" {}", self.flow(new));
                self.insert(colon + 1, false, value.depth, text);
                Ok(())
            }
            None => Err("its key has no `:` to write after"),
        }
    }

    /// Inserts whole lines after the line holding offset `after`, each indented by `indent`,
    /// using that line's line ending.
    fn insert_lines_after(&mut self, after: usize, indent: usize, depth: usize, lines: &[(usize, String)]) {
        let bytes = self.text.as_bytes();
        let pad = |depth: usize, s: &str| format!("{}{s}", " ".repeat(indent + depth));
        // Insert before the line's break, in its style.
        let (end, eol) = line_end(bytes, after);
        let text: String = lines.iter().map(|(d, s)| eol.to_string() + &pad(*d, s)).collect();
        self.insert(end, true, depth, text);
    }

    /// Column of the `-` that introduces a block sequence item: on the item's own line, or alone
    /// on a line above it (yaml.v3 writes an item with a head comment as `-` then the item).
    fn dash_column(&self, item: &Node) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut line_start = start_of_line(bytes, item.start);
        let before = self.text[line_start..item.start].trim_end_matches([' ', '\t']);
        if let Some(prefix) = before.strip_suffix('-') {
            // Only blanks, or the dashes of enclosing items (`- - x`), may stand before it.
            return prefix.bytes().all(|b| b == b' ' || b == b'-').then_some(prefix.len());
        }
        if !before.trim_start_matches(' ').is_empty() {
            return None;
        }
        // A dash alone on its line (maybe with a comment), with blank or comment lines between.
        while line_start > 0 {
            let prev = line_start_before(bytes, line_start);
            let line = self.text[prev..line_start].trim_end_matches(['\n', '\r']);
            let content = line.trim_start_matches(' ');
            line_start = prev;
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let rest = content.strip_prefix('-')?;
            let rest = rest.trim_start_matches([' ', '\t']);
            return (rest.is_empty() || rest.starts_with('#')).then_some(line.len() - content.len());
        }
        None
    }
}

/// When `node`'s text ends with a `|` or `>` scalar that ends the document without a line
/// break (and is not `-`-chomped), a line added after it would give that text a final line break
/// it does not have. The fix: chomp it (`|` becomes `|-`, `|+` becomes `|-`), which reads the
/// same without the break and with one. Returns the splice `(start, end, text)` that does it, or
/// `Err` when the scalar can't be chomped without changing it (a `+` scalar ending in a blank line).
fn open_block_scalar(text: &str, node: &Node) -> Result<Option<(usize, usize)>, Refused> {
    let mut last = node;
    loop {
        last = match &last.value {
            Value::Seq { items, flow: false, .. } => match items.last() {
                Some(item) => item,
                None => return Ok(None),
            },
            Value::Map { entries, flow: false, .. } => match entries.last() {
                Some((_, v)) => v,
                None => return Ok(None),
            },
            Value::Scalar { style: ScalarStyle::Literal | ScalarStyle::Folded, .. } if last.end == text.len() => {
                let indicator = super::tree::skip_properties(text, last.start);
                let header = &text[indicator..];
                let header = &header[..header.find(['\n', '\r']).unwrap_or(header.len())];
                let flags = header[1..].split([' ', '\t', '#']).next().unwrap_or_default();
                if flags.contains('-') {
                    return Ok(None);
                }
                let last_line = &text[start_of_line(text.as_bytes(), text.len())..];
                if last_line.trim().is_empty() {
                    return Err(OPEN_BLOCK_SCALAR);
                }
                // Replace a `+`, or put `-` right after the `|`/`>`.
                return Ok(Some(match flags.find('+') {
                    Some(plus) => (indicator + 1 + plus, indicator + 2 + plus),
                    None => (indicator + 1, indicator + 1),
                }));
            }
            _ => return Ok(None),
        };
    }
}

/// Offset of the `:` that follows a mapping key ending at `key_end` (after blanks only).
fn colon_after(text: &str, key_end: usize) -> Option<usize> {
    let rest = &text[key_end..];
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    (rest.as_bytes().get(skipped) == Some(&b':')).then_some(key_end + skipped)
}

/// Start of the line before the one starting at `start` (> 0).
fn line_start_before(bytes: &[u8], start: usize) -> usize {
    let mut end = start - 1; // the line break ending the previous line
    if bytes[end] == b'\n' && end > 0 && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    start_of_line(bytes, end)
}

/// 0-based column of an offset, in characters (a byte order mark is not one).
fn column(text: &str, at: usize) -> usize {
    text[start_of_line(text.as_bytes(), at)..at].trim_start_matches('\u{feff}').chars().count()
}

/// A value as flow YAML: `{name: x}`, `[a, b]`, `"on"`.
pub fn flow(v: &Json) -> String {
    match v {
        Json::String(s) => quote(s),
        Json::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Json::Object(map) => {
            format!(
                "{{{}}}",
                map.iter().map(|(k, v)| format!("{}: {}", quote(k), flow(v))).collect::<Vec<_>>().join(", ")
            )
        }
        Json::Null | Json::Bool(_) | Json::Number(_) => v.to_string(),
    }
}

/// Whether a document is written as JSON: its first node (after comments, directives and
/// `---`) opens a flow collection.
fn is_json(text: &str) -> bool {
    for line in text.trim_start_matches('\u{feff}').lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') || line == "---" {
            continue;
        }
        return line.trim_start_matches("--- ").trim_start().starts_with(['{', '[']);
    }
    false
}

/// A value as JSON text, with the characters YAML readers take for line breaks or framing
/// escaped (JSON allows them raw).
fn json_text(value: &Json) -> String {
    let text = value.to_string();
    if !text.contains(['\u{85}', '\u{2028}', '\u{2029}', '\u{feff}']) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 12);
    for c in text.chars() {
        match c {
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A whole new document (a mapping) as block YAML, ending with a newline.
pub fn block_document(doc: &Json) -> String {
    let mut lines = Vec::new();
    for (k, v) in doc.as_object().into_iter().flatten() {
        entry_lines(k, v, 0, &mut lines);
    }
    lines.iter().map(|(depth, text)| format!("{}{text}\n", " ".repeat(*depth))).collect()
}

/// Block lines for `key: value` at relative depth `depth`: (depth, text) pairs.
pub fn entry_lines(key: &str, value: &Json, depth: usize, out: &mut Vec<(usize, String)>) {
    match value {
        Json::Object(m) if !m.is_empty() => {
            out.push((depth, format!("{}:", quote(key))));
            for (k, v) in m {
                entry_lines(k, v, depth + 2, out);
            }
        }
        Json::Array(a) if !a.is_empty() => {
            out.push((depth, format!("{}:", quote(key))));
            for item in a {
                item_lines(item, depth + 2, out);
            }
        }
        _ => out.push((depth, format!("{}: {}", quote(key), flow(value)))),
    }
}

/// Block lines for a sequence item `- value` at relative depth `depth`.
pub fn item_lines(item: &Json, depth: usize, out: &mut Vec<(usize, String)>) {
    match item {
        Json::Object(m) if !m.is_empty() => {
            let first = out.len();
            for (k, v) in m {
                entry_lines(k, v, depth + 2, out);
            }
            // The first entry shares the dash's line.
            let (_, text) = &out[first];
            out[first] = (depth, format!("- {text}"));
        }
        _ => out.push((depth, format!("- {}", flow(item)))),
    }
}

/// Where the line holding offset `at` ends, and its line break: YAML ends lines at `\n`, `\r\n`
/// or a lone `\r`, and a line maia-krm adds takes the break of the line it joins (`\n` at the end).
fn line_end(bytes: &[u8], at: usize) -> (usize, &'static str) {
    let end = memchr::memchr2(b'\n', b'\r', &bytes[at..]).map_or(bytes.len(), |i| at + i);
    let eol = match (bytes.get(end), bytes.get(end + 1)) {
        (Some(b'\r'), Some(b'\n')) => "\r\n",
        (Some(b'\r'), _) => "\r",
        _ => "\n",
    };
    (end, eol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{Limits, tree::parse};
    use serde_json::json;

    fn edit<R>(text: &str, f: impl FnOnce(&mut Edits, &Node) -> R) -> String {
        let root = parse(text, &Limits::default()).unwrap().unwrap();
        let mut e = Edits::new(text);
        f(&mut e, &root);
        e.apply()
    }

    #[test]
    fn put_appends_after_last_entry_keeping_comments() {
        let out = edit("a:\n  b: 1 # keep\n# tail\nc: 2\n", |e, r| e.put(r.get("a").unwrap(), "k", &json!("v")));
        assert_eq!(out, "a:\n  b: 1 # keep\n  k: v\n# tail\nc: 2\n");
    }

    #[test]
    fn put_nested_block_value() {
        let out = edit("spec:\n  x: 1\n", |e, r| {
            e.put(r.get("spec").unwrap(), "tls", &json!([{"hosts": ["h"], "secretName": "s"}]))
        });
        assert_eq!(out, "spec:\n  x: 1\n  tls:\n    - hosts:\n        - h\n      secretName: s\n");
        parse(&out, &Limits::default()).unwrap();
    }

    #[test]
    fn put_into_flow_and_empty_flow() {
        assert_eq!(edit("a: {x: 1}\n", |e, r| e.put(r.get("a").unwrap(), "k", &json!("on"))), "a: {x: 1, k: \"on\"}\n");
        assert_eq!(edit("a: {}\n", |e, r| e.put(r.get("a").unwrap(), "k", &json!("v"))), "a: {k: v}\n");
    }

    #[test]
    fn put_fills_null_values() {
        assert_eq!(
            edit("a: {k: null}\n", |e, r| e.put(r.get("a").unwrap(), "k", &json!([{"name": "x"}]))),
            "a: {k: [{name: x}]}\n"
        );
        assert_eq!(
            edit("a:\n  k:\n  z: 1\n", |e, r| e.put(r.get("a").unwrap(), "k", &json!(["x"]))),
            "a:\n  k: [x]\n  z: 1\n"
        );
        assert_eq!(
            edit("a:\n  k: ~ # c\n", |e, r| e.put(r.get("a").unwrap(), "k", &json!({"name": "x"}))),
            "a:\n  k: {name: x} # c\n"
        );
    }

    #[test]
    fn prepend_goes_before_the_first_item_in_block_and_flow() {
        let item = json!({"name": "login", "namespace": "ns"});
        let out = edit("m:\r\n# c\r\n  - name: a\r\nx: 1\r\n", |e, r| e.prepend(r.get("m").unwrap(), &item));
        assert_eq!(out, "m:\r\n# c\r\n  - name: login\r\n    namespace: ns\r\n  - name: a\r\nx: 1\r\n");
        assert_eq!(
            edit("m: [ a, b ]\n", |e, r| e.prepend(r.get("m").unwrap(), &item)),
            "m: [ {name: login, namespace: ns}, a, b ]\n"
        );
        assert_eq!(edit("m: []\n", |e, r| e.prepend(r.get("m").unwrap(), &json!("z"))), "m: [z]\n");
        let refused = edit("m:\n- - a\n", |e, r| {
            let inner = &r.get("m").unwrap().items()[0];
            assert!(e.prepend(inner, &json!("z")).is_err());
        });
        assert_eq!(refused, "m:\n- - a\n");
    }

    #[test]
    fn append_to_block_sequences_of_either_indentation() {
        let text = "a:\n  - name: x\nb:\n- 1\n";
        let out = edit(text, |e, r| {
            e.append(r.get("a").unwrap(), &json!({"name": "z", "m": {"k": "v"}})).unwrap();
            e.append(r.get("b").unwrap(), &json!("2")).unwrap();
        });
        assert_eq!(out, "a:\n  - name: x\n  - name: z\n    m:\n      k: v\nb:\n- 1\n- \"2\"\n");
    }

    #[test]
    fn append_after_literal_block_scalar() {
        let out = edit("a:\n- |\n  text\n\nb: 1\n", |e, r| e.append(r.get("a").unwrap(), &json!("x")));
        assert_eq!(out, "a:\n- |\n  text\n- x\n\nb: 1\n");
        parse(&out, &Limits::default()).unwrap();
    }

    #[test]
    fn append_after_a_literal_followed_by_an_indented_key() {
        // Found by the fuzzer: the literal's end marker is the next token, after its indentation.
        let text = "spec:\n  containers:\n  - name: a\n    args:\n    - |\n      echo\n  other: 1\n";
        let out = edit(text, |e, r| e.put(&r.at(&["spec", "containers"]).unwrap().items()[0], "k", &json!("v")));
        assert_eq!(out, "spec:\n  containers:\n  - name: a\n    args:\n    - |\n      echo\n    k: v\n  other: 1\n");
    }

    #[test]
    fn a_block_scalar_ending_the_document_without_a_line_break_is_chomped_first() {
        // A line after `|` text that ends the stream without a line break would give the text a
        // final line break; chomped (`|-`), it reads the same with the break and without.
        let cases = [
            ("a:\n  b: |\n    text", "a:\n  b: |-\n    text\n  k: v"),
            ("a:\n  b: |+\n    text", "a:\n  b: |-\n    text\n  k: v"),
            ("a:\n  b: >2 # c\n      text", "a:\n  b: >-2 # c\n      text\n  k: v"),
            ("a:\n  b: !!str &x |\n    text", "a:\n  b: !!str &x |-\n    text\n  k: v"),
            ("a:\n  b: |-\n    text", "a:\n  b: |-\n    text\n  k: v"),
        ];
        for (text, want) in cases {
            let root = parse(text, &Limits::default()).unwrap().unwrap();
            let mut e = Edits::new(text);
            e.put(root.get("a").unwrap(), "k", &json!("v")).unwrap();
            e.put(root.get("a").unwrap(), "l", &json!("w")).unwrap();
            let mut once = e.fork();
            once.put(root.get("a").unwrap(), "m", &json!("x")).unwrap();
            e.absorb(once);
            let out = e.apply();
            assert_eq!(out, format!("{want}\n  l: w\n  m: x"), "{text:?}");
            crate::stream::check::edited(&root, e.intents(), &out, &Limits::default()).expect("same meaning");
        }
        // `|+` text whose last line is blank keeps that break: chomping would drop it.
        let text = "a:\n  b: |+\n    text\n  ";
        let root = parse(text, &Limits::default()).unwrap().unwrap();
        assert_eq!(Edits::new(text).put(root.get("a").unwrap(), "k", &json!("v")), Err(OPEN_BLOCK_SCALAR));
    }

    #[test]
    fn crlf_lines_get_crlf() {
        let out = edit("a:\r\n  b: 1\r\n", |e, r| e.put(r.get("a").unwrap(), "k", &json!("v")));
        assert_eq!(out, "a:\r\n  b: 1\r\n  k: v\r\n");
    }

    #[test]
    fn lone_carriage_returns_are_line_ends_too() {
        let out = edit("a:\r  b: 1\rc: 2\r", |e, r| e.put(r.get("a").unwrap(), "k", &json!("v")));
        assert_eq!(out, "a:\r  b: 1\r  k: v\rc: 2\r");
        let out = edit("a:\r- x\rc: 2\r", |e, r| e.append(r.get("a").unwrap(), &json!("z")));
        assert_eq!(out, "a:\r- x\r- z\rc: 2\r");
    }

    #[test]
    fn several_entries_into_one_empty_flow_mapping() {
        let text = "a: {}\n";
        let root = parse(text, &Limits::default()).unwrap().unwrap();
        let (mut one, mut two) = (Edits::new(text), Edits::new(text));
        one.put(root.get("a").unwrap(), "k1", &json!("v")).unwrap();
        two.put(root.get("a").unwrap(), "k2", &json!("w")).unwrap();
        one.absorb(two);
        assert_eq!(one.apply(), "a: {k1: v, k2: w}\n");
    }

    #[test]
    fn json_documents_get_json() {
        let text = "# Source: x\n{\"a\": {}, \"b\": [1], \"c\": null, \"d\": \"x\"}\n";
        let out = edit(text, |e, r| {
            e.put(r.get("a").unwrap(), "k/v", &json!({"n": ["on", 1, "\u{2028}"]})).unwrap();
            e.append(r.get("b").unwrap(), &json!({"name": "s"})).unwrap();
            e.put(r, "c", &json!("yes")).unwrap();
            e.replace_scalar(r.get("d").unwrap(), "no");
        });
        let want = "# Source: x\n{\"a\": {\"k/v\": {\"n\":[\"on\",1,\"\\u2028\"]}}, \"b\": [1, {\"name\":\"s\"}], \"c\": \"yes\", \"d\": \"no\"}\n";
        assert_eq!(out, want);
        let parsed: Json = serde_json::from_str(out.trim_start_matches("# Source: x\n")).expect("JSON");
        assert_eq!(parsed["c"], json!("yes"));
    }

    #[test]
    fn append_to_flow_sequence() {
        assert_eq!(edit("a: []\n", |e, r| e.append(r.get("a").unwrap(), &json!({"name": "x"}))), "a: [{name: x}]\n");
        assert_eq!(edit("a: [1]\n", |e, r| e.append(r.get("a").unwrap(), &json!("x"))), "a: [1, x]\n");
    }

    #[test]
    fn edits_collide_only_on_the_same_key_or_range() {
        let text = "a:\n  x: 1\nb: old\n";
        let root = parse(text, &Limits::default()).unwrap().unwrap();
        let a = root.get("a").unwrap();
        let (mut one, mut two, mut three) = (Edits::new(text), Edits::new(text), Edits::new(text));
        one.put(a, "k", &json!("v")).unwrap();
        two.put(a, "other", &json!("v")).unwrap();
        three.put(a, "k", &json!("w")).unwrap();
        assert!(!one.collides_with(&two));
        assert!(one.collides_with(&three));
        let (mut r1, mut r2) = (Edits::new(text), Edits::new(text));
        r1.replace_scalar(root.get("b").unwrap(), "new");
        r2.replace_scalar(root.get("b").unwrap(), "newer");
        assert!(r1.collides_with(&r2) && !r1.collides_with(&one));
        one.absorb(two);
        assert_eq!(one.apply(), "a:\n  x: 1\n  k: v\n  other: v\nb: old\n");
    }

    #[test]
    fn inner_collections_get_their_lines_before_outer_ones_at_one_offset() {
        let text = "spec:\n  volumes:\n  - name: a\n";
        let root = parse(text, &Limits::default()).unwrap().unwrap();
        let spec = root.get("spec").unwrap();
        let mut e = Edits::new(text);
        e.put(spec, "imagePullSecrets", &json!([{"name": "s"}])).unwrap();
        e.append(spec.get("volumes").unwrap(), &json!({"name": "b"})).unwrap();
        assert_eq!(e.apply(), "spec:\n  volumes:\n  - name: a\n  - name: b\n  imagePullSecrets:\n    - name: s\n");
    }

    #[test]
    fn replace_keeps_surroundings() {
        let out = edit("a: \"old\" # c\nb: 'it''s' # d\n", |e, r| {
            e.replace_scalar(r.get("a").unwrap(), "new");
            e.replace_scalar(r.get("b").unwrap(), "x");
        });
        assert_eq!(out, "a: new # c\nb: x # d\n");
    }
}
