//! A document as a tree of nodes that remember where they stand in the original text.
//!
//! The tree is for *reading and locating*: patches look values up in it and then splice new text
//! into the document at the byte offsets it records. Nothing is ever re-serialised from the tree,
//! which is why unchanged scalars keep their exact spelling (`0755`, `"on"`, `yes`).

use std::borrow::Cow;
use std::collections::HashSet;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::Limits;

/// A node of a parsed document; offsets are bytes into the document text.
#[derive(Debug)]
pub struct Node<'a> {
    pub start: usize,
    /// Scalars: the end of their text. Flow collections: the offset of the closing bracket.
    /// Block collections: where the parser saw the next token (comments may lie in between;
    /// use [`Node::content_end`] to find the end of the collection's own text).
    pub end: usize,
    /// 1-based line within the document text.
    pub line: usize,
    /// 0-based column; indentation is ASCII spaces, so this is also a byte count from line start.
    pub col: usize,
    /// Nesting level: 0 for the root.
    pub depth: usize,
    /// Carries an `&anchor`: editing it would also change every alias of it.
    pub anchored: bool,
    pub value: Value<'a>,
}

#[derive(Debug)]
pub enum Value<'a> {
    Scalar { text: Cow<'a, str>, style: ScalarStyle, tagged: bool },
    Seq { items: Vec<Node<'a>>, flow: bool },
    Map { entries: Vec<(Node<'a>, Node<'a>)>, flow: bool },
    Alias,
}

impl<'a> Node<'a> {
    /// The value under `key` in a mapping (None for other nodes).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entries().iter().find(|(k, _)| k.scalar() == Some(key)).map(|(_, v)| v)
    }

    /// Follows a path of mapping keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node<'a>> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The scalar's decoded text, whatever its style or type.
    pub fn scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The scalar's text unless it is a YAML null (`~`, `null`, empty).
    pub fn str(&self) -> Option<&str> {
        self.scalar().filter(|_| !self.is_null())
    }

    pub fn is_null(&self) -> bool {
        match &self.value {
            Value::Scalar { text, style: ScalarStyle::Plain, tagged: false } => {
                matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map { .. })
    }

    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq { .. })
    }

    pub fn is_flow(&self) -> bool {
        matches!(self.value, Value::Seq { flow: true, .. } | Value::Map { flow: true, .. })
    }

    pub fn items(&self) -> &[Node<'a>] {
        match &self.value {
            Value::Seq { items, .. } => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(Node<'a>, Node<'a>)] {
        match &self.value {
            Value::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    /// Offset just past this node's own text: for a block collection, the end of its last
    /// descendant, before any comment or blank line the parser skipped on the way to the next token.
    pub fn content_end(&self) -> usize {
        match &self.value {
            Value::Seq { flow: true, .. } | Value::Map { flow: true, .. } => self.end + 1,
            Value::Seq { items, .. } => items.last().map_or(self.end, Node::content_end),
            Value::Map { entries, .. } => entries.last().map_or(self.end, |(_, v)| v.content_end()),
            Value::Scalar { .. } | Value::Alias => self.end,
        }
    }

    /// True when this node or a descendant is an anchor or alias, so a text edit could change
    /// more than one place in the document's meaning.
    pub fn shares_structure(&self) -> bool {
        self.anchored
            || match &self.value {
                Value::Alias => true,
                Value::Scalar { .. } => false,
                Value::Seq { items, .. } => items.iter().any(Node::shares_structure),
                Value::Map { entries, .. } => entries
                    .iter()
                    .any(|(k, v)| k.scalar() == Some("<<") || k.shares_structure() || v.shares_structure()),
            }
    }
}

/// A syntax or structure error at a position in the document text.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// 1-based line within the document text.
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Parses one document's text. `Ok(None)` means it holds no node (only comments or markers).
pub fn parse<'a>(text: &'a str, limits: &Limits) -> Result<Option<Node<'a>>, SyntaxError> {
    walk(text, limits, true)
}

/// Checks one document as thoroughly as [`parse`] (syntax, duplicate keys, depth) but keeps only
/// the root's entries and their direct children — enough for `kind`, `apiVersion` and
/// `metadata.name`/`namespace`. Documents no patch touches pay for little more than the parser.
pub fn check<'a>(text: &'a str, limits: &Limits) -> Result<Option<Node<'a>>, SyntaxError> {
    walk(text, limits, false)
}

fn walk<'a>(text: &'a str, limits: &Limits, whole_tree: bool) -> Result<Option<Node<'a>>, SyntaxError> {
    let mut offsets = ByteOffsets::new(text);
    let mut stack: Vec<Frame<'a>> = Vec::new();
    let mut root: Option<Node<'a>> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| SyntaxError {
            line: e.marker().line(),
            col: e.marker().col(),
            message: e.info().to_string(),
        })?;
        let (line, col) = (span.start.line(), span.start.col());
        let start = offsets.byte(span.start.index());
        let fail = |message: String| SyntaxError { line, col, message };
        let depth = stack.len();
        let node = |value, anchored, end| Node { start, end, line, col, depth, anchored, value };
        let complete = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(fail("a second document inside one document chunk".into()));
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let end = match style {
                    // The parser's end marker for quoted scalars lies past any trailing comment.
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => closing_quote(text, start),
                    // For block scalars it is the next token, after that line's indentation: the
                    // scalar's own text ends where that line starts.
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        let next = offsets.byte(span.end.index());
                        start.max(text[..next].trim_end_matches(' ').len())
                    }
                    _ => offsets.byte(span.end.index()),
                };
                node(Value::Scalar { text: value, style, tagged: tag.is_some() }, anchor != 0, end)
            }
            Event::Alias(_) => node(Value::Alias, false, offsets.byte(span.end.index())),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(fail(format!("nesting deeper than {} levels (limit max_depth)", limits.max_depth)));
                }
                // A flow collection's start event spans its bracket; a block one's is empty. (Its
                // first byte can't tell: a block list may well start with `- {name: x}`.)
                let flow = span.end.index() > span.start.index();
                let value = if matches!(event, Event::SequenceStart(..)) {
                    Value::Seq { items: Vec::new(), flow }
                } else {
                    Value::Map { entries: Vec::new(), flow }
                };
                let keep = whole_tree || depth <= 1;
                stack.push(Frame { node: node(value, anchor != 0, start), key: None, keys: KeySet::default(), keep });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let mut frame = stack.pop().expect("parser balances collection events");
                frame.node.end = start;
                frame.node
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
        };
        match stack.last_mut() {
            Some(frame) => frame.add(complete).map_err(fail)?,
            None => root = Some(complete),
        }
    }
    // An explicit `---` with nothing after it reads as a null scalar: no object, like a comment-only document.
    Ok(root.filter(|r| !r.is_null()))
}

/// Offset just past the quote that closes the quoted scalar starting at `start`.
fn closing_quote(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A collection being built, with the key waiting for its value when it is a mapping.
struct Frame<'a> {
    node: Node<'a>,
    key: Option<Node<'a>>,
    keys: KeySet<'a>,
    /// Whether children are stored, or only checked (see [`check`]).
    keep: bool,
}

impl<'a> Frame<'a> {
    fn add(&mut self, child: Node<'a>) -> Result<(), String> {
        match &mut self.node.value {
            Value::Seq { items, .. } => {
                if self.keep {
                    items.push(child);
                }
            }
            Value::Map { entries, .. } => match self.key.take() {
                None => {
                    if let Value::Scalar { text, .. } = &child.value
                        && !self.keys.insert(text.clone())
                        && text != "<<"
                    {
                        return Err(format!("duplicate key {text:?}"));
                    }
                    self.key = Some(child);
                }
                Some(key) => {
                    if self.keep {
                        entries.push((key, child));
                    }
                }
            },
            Value::Scalar { .. } | Value::Alias => unreachable!("only collections are frames"),
        }
        Ok(())
    }
}

/// The keys of one mapping: a short list, turned into a hash set once the mapping grows, so
/// duplicate checks stay linear overall even for hostile inputs with 100,000 keys.
enum KeySet<'a> {
    Few(Vec<Cow<'a, str>>),
    Many(HashSet<Cow<'a, str>>),
}

impl Default for KeySet<'_> {
    fn default() -> Self {
        KeySet::Few(Vec::new())
    }
}

const LINEAR_KEY_SCAN: usize = 32;

impl<'a> KeySet<'a> {
    /// Adds a key; false if it was already there.
    fn insert(&mut self, key: Cow<'a, str>) -> bool {
        match self {
            KeySet::Few(keys) if keys.contains(&key) => false,
            KeySet::Few(keys) if keys.len() < LINEAR_KEY_SCAN => {
                keys.push(key);
                true
            }
            KeySet::Few(keys) => {
                let mut set: HashSet<_> = keys.drain(..).collect();
                set.insert(key);
                *self = KeySet::Many(set);
                true
            }
            KeySet::Many(set) => set.insert(key),
        }
    }
}

/// Maps the parser's character indexes to byte offsets. Events arrive in text order, so a
/// cursor that only moves forward keeps this linear even for long non-ASCII lines.
struct ByteOffsets<'a> {
    text: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> ByteOffsets<'a> {
    fn new(text: &'a str) -> Self {
        ByteOffsets { text, ascii: text.is_ascii(), chars: 0, bytes: 0 }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.text.len());
        }
        if char_index < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        for c in self.text[self.bytes..].chars() {
            if self.chars == char_index {
                break;
            }
            self.chars += 1;
            self.bytes += c.len_utf8();
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Node<'_> {
        parse(text, &Limits::default()).unwrap().unwrap()
    }

    #[test]
    fn spans_point_at_the_original_text() {
        let text = "---\n# c\na: 0755\nb:\n  - x: \"on\"\n";
        let root = parse_ok(text);
        let a = root.get("a").unwrap();
        assert_eq!(&text[a.start..a.end], "0755");
        let x = root.at(&["b"]).unwrap().items()[0].get("x").unwrap();
        assert_eq!(&text[x.start..x.end], "\"on\"");
        assert_eq!(x.scalar(), Some("on"));
    }

    #[test]
    fn block_lists_of_flow_items_are_block_lists() {
        let text = "a:\n- {k: v}\n- [x]\nb: [1]\nc: {d: 1}\n";
        let root = parse_ok(text);
        assert!(!root.get("a").unwrap().is_flow());
        assert!(root.get("a").unwrap().items().iter().all(Node::is_flow));
        assert!(root.get("b").unwrap().is_flow() && root.get("c").unwrap().is_flow());
    }

    #[test]
    fn non_ascii_text_maps_to_byte_offsets() {
        let text = "a: é€\nb: ok\n";
        let root = parse_ok(text);
        let b = root.get("b").unwrap();
        assert_eq!(&text[b.start..b.end], "ok");
    }

    #[test]
    fn duplicate_keys_are_errors_with_lines() {
        let err = parse("a: 1\nb: 2\na: 3\n", &Limits::default()).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("duplicate key \"a\""), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_in_large_mappings_are_found() {
        let mut text: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k7: again\n");
        assert!(parse(&text, &Limits::default()).unwrap_err().message.contains("k7"));
    }

    #[test]
    fn depth_is_bounded() {
        let text = "[".repeat(50) + &"]".repeat(50);
        let limits = Limits { max_depth: 10, ..Limits::default() };
        assert!(parse(&text, &limits).unwrap_err().message.contains("max_depth"));
    }

    #[test]
    fn check_validates_everything_but_keeps_only_the_head() {
        let text = "kind: ConfigMap\nmetadata:\n  name: c\n  labels: {a: b}\ndata:\n  k: |\n    v\n";
        let head = check(text, &Limits::default()).unwrap().unwrap();
        assert_eq!(head.at(&["metadata", "name"]).and_then(Node::str), Some("c"));
        assert!(head.at(&["metadata", "labels"]).unwrap().entries().is_empty());
        let err = check("kind: ConfigMap\ndata:\n  deep:\n    k: 1\n    k: 2\n", &Limits::default()).unwrap_err();
        assert_eq!((err.line, err.message.as_str()), (5, "duplicate key \"k\""));
    }

    #[test]
    fn comment_only_document_has_no_root() {
        assert!(parse("---\n# Source: x\n", &Limits::default()).unwrap().is_none());
    }

    #[test]
    fn content_end_stops_before_trailing_comments() {
        let text = "a:\n  b: 1 # note\n# trailing\nc: 2\n";
        let a = parse_ok(text).get("a").unwrap().content_end();
        assert_eq!(&text[..a], "a:\n  b: 1");
    }

    #[test]
    fn anchors_and_merge_keys_are_visible() {
        let root = parse_ok("a: &x {k: v}\nb: *x\nc: {<<: *x}\nd: {k: v}\n");
        assert!(root.get("a").unwrap().shares_structure());
        assert!(root.get("b").unwrap().shares_structure());
        assert!(root.get("c").unwrap().shares_structure());
        assert!(!root.get("d").unwrap().shares_structure());
    }
}
