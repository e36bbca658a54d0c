//! A document as a tree of nodes that remember where they stand in the original text.
//!
//! The tree is for *reading and locating*: patches look values up in it and then splice new text
//! into the document at the byte offsets it records. Nothing is ever re-serialised from the tree,
//! which is why unchanged scalars keep their exact spelling (`0755`, `"on"`, `yes`).

use std::borrow::Cow;
use std::collections::HashSet;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::Limits;
use super::edit::{Intent, Op};

/// A node of a parsed document; offsets are bytes into the document text.
#[derive(Debug)]
pub struct Node<'a> {
    /// Where the node's text starts, properties (`!tag`, `&anchor`) and block scalar header included:
    /// replacing a scalar replaces all of that.
    pub start: usize,
    /// Scalars: the end of their own text (a block scalar's last non-blank line, without its line
    /// break). Flow collections: the offset of the closing bracket.
    /// Block collections: where the parser saw the next token (comments may lie in between;
    /// use [`Node::content_end`] to find the end of the collection's own text).
    pub end: usize,
    /// 1-based line within the document text.
    pub line: usize,
    /// 0-based column; indentation is ASCII spaces, so this is also a byte count from line start.
    pub col: usize,
    /// Nesting level: 0 for the root.
    pub depth: usize,
    /// The id of its `&anchor` (0: none); editing it would also change every alias of it.
    pub anchor: usize,
    pub value: Value<'a>,
}

#[derive(Debug)]
pub enum Value<'a> {
    /// `tag` is the resolved tag (`tag:yaml.org,2002:str`) when the scalar carries one.
    Scalar { text: Cow<'a, str>, style: ScalarStyle, tag: Option<Box<str>> },
    /// `open`: offset of a flow collection's opening bracket (after any properties).
    Seq { items: Vec<Node<'a>>, flow: bool, open: usize },
    /// `duplicates`: some key occurs more than once (readers take the last one).
    Map { entries: Vec<(Node<'a>, Node<'a>)>, flow: bool, open: usize, duplicates: bool },
    /// `*alias`: the id of the anchor it repeats.
    Alias(usize),
}

impl<'a> Node<'a> {
    /// The value under `key` in a mapping (None for other nodes). With a duplicated key, the last
    /// occurrence: the one Go's yaml readers (Helm, kubectl) keep.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entries().iter().rev().find(|(k, _)| k.scalar() == Some(key)).map(|(_, v)| v)
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
            Value::Scalar { text, style: ScalarStyle::Plain, tag: None } => super::scalar::is_null_spelling(text),
            _ => false,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map { .. })
    }

    pub fn is_seq(&self) -> bool {
        matches!(self.value, Value::Seq { .. })
    }

    /// Whether an alias stands in this node or below.
    pub fn has_alias(&self) -> bool {
        match &self.value {
            Value::Alias(_) => true,
            Value::Seq { items, .. } => items.iter().any(Node::has_alias),
            Value::Map { entries, .. } => entries.iter().any(|(k, v)| k.has_alias() || v.has_alias()),
            Value::Scalar { .. } => false,
        }
    }

    /// Whether a mapping in this node or below merges another (`<<`).
    pub fn has_merge_key(&self) -> bool {
        match &self.value {
            Value::Seq { items, .. } => items.iter().any(Node::has_merge_key),
            Value::Map { entries, .. } => {
                entries.iter().any(|(k, v)| k.scalar() == Some("<<") || k.has_merge_key() || v.has_merge_key())
            }
            Value::Scalar { .. } | Value::Alias(_) => false,
        }
    }

    /// The first repeated key in this node or below, with its (second) line: `(line, key)`.
    pub fn duplicate_key(&self) -> Option<(usize, &str)> {
        match &self.value {
            Value::Map { entries, duplicates, .. } => {
                if *duplicates {
                    for (i, (k, _)) in entries.iter().enumerate() {
                        if let Some(key) = k.scalar()
                            && key != "<<"
                            && entries[..i].iter().any(|(e, _)| e.scalar() == Some(key))
                        {
                            return Some((k.line, key));
                        }
                    }
                }
                entries.iter().find_map(|(_, v)| v.duplicate_key())
            }
            Value::Seq { items, .. } => items.iter().find_map(Node::duplicate_key),
            _ => None,
        }
    }

    /// A flow collection's opening bracket.
    pub fn open(&self) -> usize {
        match self.value {
            Value::Seq { open, .. } | Value::Map { open, .. } => open,
            _ => self.start,
        }
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
            // An empty value (`key:`) sits at its key's colon, so lines go after that line.
            Value::Scalar { .. } | Value::Alias(_) => self.end,
        }
    }
}

/// Where in a document an edit would change more than the node it targets: the text of every
/// anchored node (its aliases share whatever is written there) and every mapping that merges
/// another (`<<`: a key added there would shadow the merged one, not extend it). Edits anywhere
/// else are exact, whatever the rest of the resource uses: an anchor on the labels does not
/// make the annotations or the pod spec ambiguous.
#[derive(Debug, Default)]
pub struct Shared {
    /// `(start, end)` of each anchored node's text, in document order.
    anchored: Vec<(usize, usize)>,
    /// `(start, depth)` of each mapping with a merge key.
    merging: Vec<(usize, usize)>,
}

impl Shared {
    /// The anchored nodes and merging mappings of `root`, parsed from `text`. Without an `&` or a
    /// `<<` in the text there are none, and the tree is not walked (most documents).
    pub fn of(root: &Node, text: &str) -> Shared {
        let mut shared = Shared::default();
        if memchr::memchr(b'&', text.as_bytes()).is_some() || memchr::memmem::find(text.as_bytes(), b"<<").is_some() {
            shared.collect(root);
        }
        shared
    }

    fn collect(&mut self, node: &Node) {
        if node.anchor != 0 {
            self.anchored.push((node.start, node.content_end()));
        }
        match &node.value {
            Value::Seq { items, .. } => items.iter().for_each(|i| self.collect(i)),
            Value::Map { entries, .. } => {
                if entries.iter().any(|(k, _)| k.scalar() == Some("<<")) {
                    self.merging.push((node.start, node.depth));
                }
                for (k, v) in entries {
                    self.collect(k);
                    self.collect(v);
                }
            }
            Value::Scalar { .. } | Value::Alias(_) => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.anchored.is_empty() && self.merging.is_empty()
    }

    /// [`Shared::refuses`] for the first of `intents` it refuses.
    pub fn refuses_any(&self, intents: &[Intent]) -> Option<&'static str> {
        if self.is_empty() {
            return None;
        }
        intents.iter().find_map(|i| self.refuses(i.target, matches!(i.op, Op::Put { .. })))
    }

    /// Why an edit of the node at `target` (its start and depth), adding a key when `puts`, would
    /// change something else too; None when it changes only what it means to.
    pub fn refuses(&self, target: (usize, usize), puts: bool) -> Option<&'static str> {
        if self.anchored.iter().any(|&(start, end)| start <= target.0 && target.0 <= end) {
            return Some(ANCHORED);
        }
        if puts && self.merging.contains(&target) {
            return Some(MERGED);
        }
        None
    }
}

/// Why nothing can be written into an alias (an edit there would land in its anchor): said by the
/// edits and the pod rule book alike, and the pipeline's cue to write the document anew.
pub const ALIASED: &str = "is an alias, and what is written there would go into its anchor";

/// Why a document with merge keys is read, and written, expanded: what `<<` merges (a kind, a
/// namespace, an annotation) is the resource's as Kubernetes reads it, and a rule that read only
/// the written keys would miss it (found in review: `<<: {kind: Ingress}` passed as nothing).
pub const MERGE_READ: &str = "is read through a merge key (`<<`), which every rule must see expanded";

const ANCHORED: &str = "lies in an anchored node (`&name`), so every alias of it would change too";
const MERGED: &str = "is a mapping that merges another (`<<`), whose value for the key a new entry would hide";

/// A syntax or structure error at a position in the document text.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// 1-based line within the document text.
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The error is a repeated mapping key (which readers may allow: see `strict_duplicate_keys`).
    pub duplicate: bool,
}

/// Parses one document's text. `Ok(None)` means it holds no node (only comments or markers).
pub fn parse<'a>(text: &'a str, limits: &Limits) -> Result<Option<Node<'a>>, SyntaxError> {
    walk(text, limits, true)
}

/// Checks one document as thoroughly as [`parse`] (syntax, depth) but keeps only the root's
/// entries and their direct children — enough for `kind`, `apiVersion` and
/// `metadata.name`/`namespace`. Documents no patch touches pay for little more than the parser.
/// A duplicated key is an error here (with [`SyntaxError::duplicate`] set) even when `limits`
/// allows it: the caller then parses the whole tree to find and report it.
pub fn check<'a>(text: &'a str, limits: &Limits) -> Result<Option<Node<'a>>, SyntaxError> {
    walk(text, limits, false)
}

fn walk<'a>(text: &'a str, limits: &Limits, whole_tree: bool) -> Result<Option<Node<'a>>, SyntaxError> {
    let mut builder = Builder::new(text, limits, whole_tree);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| SyntaxError {
            line: e.marker().line(),
            col: e.marker().col(),
            message: e.info().to_string(),
            duplicate: false,
        })?;
        builder.push(event, span)?;
    }
    Ok(builder.finish())
}

/// Builds the tree from a document's parser events, one at a time: [`parse`] and [`check`] feed
/// it from their own parser, and the output check (`check::edited_read`) from the parser it
/// reads the edited text with, so the policy reads the edited document without parsing it again.
pub(crate) struct Builder<'a> {
    text: &'a str,
    offsets: ByteOffsets<'a>,
    stack: Vec<Frame<'a>>,
    /// The finished children of every open collection, innermost last: each collection takes
    /// its own once, into a vector of the right size (no growing vectors per collection).
    children: Vec<Node<'a>>,
    root: Option<Node<'a>>,
    documents: usize,
    max_depth: usize,
    whole_tree: bool,
    allow_duplicates: bool,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(text: &'a str, limits: &Limits, whole_tree: bool) -> Self {
        Builder {
            text,
            offsets: ByteOffsets::new(text),
            stack: Vec::new(),
            children: Vec::new(),
            root: None,
            documents: 0,
            max_depth: limits.max_depth,
            whole_tree,
            allow_duplicates: whole_tree && !limits.strict_duplicate_keys,
        }
    }

    pub(crate) fn push(&mut self, event: Event<'a>, span: Span) -> Result<(), SyntaxError> {
        let text = self.text;
        let (line, col) = (span.start.line(), span.start.col());
        let start = self.offsets.byte(span.start.index());
        let fail = |message: String| SyntaxError { line, col, message, duplicate: false };
        let depth = self.stack.len();
        let node = |start, value, anchor, end| Node { start, end, line, col, depth, anchor, value };
        let complete = match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(fail("a second document inside one document chunk".into()));
                }
                return Ok(());
            }
            Event::Scalar(value, style, anchor, tag) => {
                let next = self.offsets.byte(span.end.index());
                let (start, end) = match style {
                    // The parser's end marker for quoted scalars lies past any trailing comment.
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        (start, closing_quote(text, skip_properties(text, start)))
                    }
                    ScalarStyle::Literal | ScalarStyle::Folded => {
                        block_scalar_span(text, start, next, anchor != 0 || tag.is_some())
                    }
                    _ => (start, next),
                };
                let tag = tag.map(|t| {
                    let mut full = String::with_capacity(t.handle.len() + t.suffix.len());
                    full.push_str(&t.handle);
                    full.push_str(&t.suffix);
                    full.into_boxed_str()
                });
                node(start, Value::Scalar { text: value, style, tag }, anchor, end)
            }
            Event::Alias(id) => node(start, Value::Alias(id), 0, self.offsets.byte(span.end.index())),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= self.max_depth {
                    return Err(fail(format!("nesting deeper than {} levels (limit max_depth)", self.max_depth)));
                }
                // A flow collection's start event spans its properties, its bracket and any blanks
                // after it (`{ }`); a block one's is empty or spans only properties. (The first
                // byte alone can't tell: a block mapping may start with a flow key `{a: 1}: x`.)
                let span_end = self.offsets.byte(span.end.index());
                let bracket = skip_properties(text, start);
                let flow = bracket < span_end && matches!(text.as_bytes().get(bracket), Some(b'[' | b'{'));
                let open = if flow { bracket } else { span_end.saturating_sub(1) };
                let value = if matches!(event, Event::SequenceStart(..)) {
                    Value::Seq { items: Vec::new(), flow, open }
                } else {
                    Value::Map { entries: Vec::new(), flow, open, duplicates: false }
                };
                let keep = self.whole_tree || depth <= 1;
                let node = node(start, value, anchor, start);
                let base = self.children.len();
                let allow_duplicates = self.allow_duplicates;
                self.stack.push(Frame { node, base, key_next: true, many: None, keep, allow_duplicates });
                return Ok(());
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let mut frame = self.stack.pop().expect("parser balances collection events");
                frame.node.end = if frame.node.is_flow() { closing_bracket(text, start) } else { start };
                frame.finish(&mut self.children)
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => return Ok(()),
        };
        match self.stack.last_mut() {
            Some(frame) => {
                frame.add(complete, &mut self.children).map_err(|e| SyntaxError { duplicate: true, ..fail(e) })?
            }
            None => self.root = Some(complete),
        }
        Ok(())
    }

    /// The document's root once every event is in. An explicit `---` with nothing after it reads
    /// as a null scalar: no object, like a comment-only document.
    pub(crate) fn finish(self) -> Option<Node<'a>> {
        self.root.filter(|r| !r.is_null())
    }
}

/// Offset of a node's own text after its properties (`!tag`, `&anchor`) and the blanks, line
/// breaks and comments that may follow them.
pub(crate) fn skip_properties(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while matches!(bytes.get(at), Some(b'!' | b'&')) {
        while at < bytes.len() && !matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
            at += 1;
        }
        loop {
            match bytes.get(at) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => at += 1,
                Some(b'#') => at = memchr::memchr2(b'\n', b'\r', &bytes[at..]).map_or(bytes.len(), |i| at + i),
                _ => break,
            }
        }
    }
    at
}

/// Where a block scalar's text starts (its properties or `|`/`>` header) and ends (its last
/// non-blank line without the line break; with keep chomping `+`, its last line, blank or not).
/// The parser reports the start of the content and the next token; neither is the scalar's own
/// text, and the header may be lines above.
fn block_scalar_span(text: &str, content: usize, next: usize, properties: bool) -> (usize, usize) {
    let bytes = text.as_bytes();
    let (start, indicator) = if properties {
        // The event starts at the properties: the header follows them on that line.
        (content, skip_properties(text, content))
    } else {
        // Up from the content over blank lines: the header is the `|`/`>` on the line above.
        let mut line_start = start_of_line(bytes, content);
        let mut indicator = line_start;
        while line_start > 0 {
            let prev = start_of_line(bytes, line_start - 1);
            let line = &text[prev..line_start];
            if line.trim().is_empty() {
                line_start = prev;
                continue;
            }
            indicator = prev + indicator_in(line).unwrap_or(0);
            break;
        }
        (indicator, indicator)
    };
    let header_end = memchr::memchr2(b'\n', b'\r', &bytes[indicator..]).map_or(bytes.len(), |i| indicator + i);
    let flags = text[indicator..header_end].get(1..).unwrap_or_default();
    let flags = &flags[..flags.find([' ', '\t', '#']).unwrap_or(flags.len())];
    let keep = flags.contains('+');
    // The content's indentation: the parent's plus an explicit indicator digit, else that of
    // the first non-blank line.
    let mut indent = flags
        .bytes()
        .find(u8::is_ascii_digit)
        .map(|d| parent_indent(text, start_of_line(bytes, start), start) + usize::from(d - b'0'));
    // Content lines: every line that is blank or indented at least as deep, up to the line of
    // the next token (comment lines less indented than the content are not part of it).
    let limit = if next >= bytes.len() { bytes.len() } else { start_of_line(bytes, next) };
    let (mut end, mut at) = (header_end, header_end);
    while at < limit {
        let line_start = if text[at..].starts_with("\r\n") { at + 2 } else { at + 1 };
        if line_start >= limit {
            break;
        }
        let line_end = memchr::memchr2(b'\n', b'\r', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i);
        let line = &text[line_start..line_end];
        let spaces = line.len() - line.trim_start_matches(' ').len();
        if line.trim().is_empty() {
            if keep {
                end = line_end;
            }
        } else {
            match indent {
                Some(i) if spaces < i => break,
                None => indent = Some(spaces),
                _ => {}
            }
            end = line_end;
        }
        at = line_end;
    }
    (start, end)
}

/// The indentation a block scalar's indentation indicator counts from: the column of the
/// mapping key or sequence dash it is the value of, on its header line (`header_line..node`).
fn parent_indent(text: &str, header_line: usize, node: usize) -> usize {
    let before = text[header_line..node].trim_start_matches('\u{feff}');
    let trimmed = before.trim_end();
    if let Some(dash) = trimmed.strip_suffix('-') {
        return dash.len(); // the scalar is a sequence item: it counts from the dash
    }
    // A mapping value: from the key, after the indentation and any `- ` of enclosing items.
    before.len() - before.trim_start_matches([' ', '-']).len()
}

/// Offset where the line holding `at` starts (after `\n`, `\r\n` or a lone `\r`).
pub(crate) fn start_of_line(bytes: &[u8], at: usize) -> usize {
    bytes[..at].iter().rposition(|&b| b == b'\n' || b == b'\r').map_or(0, |i| i + 1)
}

/// Offset in a block scalar's header line of its `|` or `>`: the leftmost one followed only by
/// chomping/indentation indicators and blanks or a comment.
fn indicator_in(line: &str) -> Option<usize> {
    line.char_indices().filter(|(_, c)| matches!(c, '|' | '>')).map(|(i, _)| i).find(|&i| {
        let rest = line[i + 1..].trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
        let rest = rest.trim_end_matches(['\n', '\r']);
        rest.trim().is_empty() || (rest.starts_with([' ', '\t']) && rest.trim_start().starts_with('#'))
    })
}

/// Offset of the bracket that closes a flow collection. The parser reports the end at a trailing
/// comma when there is one (`{a,\n}`): the bracket comes after it, past blanks, line breaks and
/// comments.
fn closing_bracket(text: &str, reported: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = reported;
    while let Some(&b) = bytes.get(at) {
        match b {
            b']' | b'}' => return at,
            b'#' => at = memchr::memchr2(b'\n', b'\r', &bytes[at..]).map_or(bytes.len(), |i| at + i),
            _ => at += 1,
        }
    }
    reported
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

/// A collection being built; its finished children so far are `children[base..]` (for a
/// mapping, keys and values in turn; only keys when its children are not kept).
struct Frame<'a> {
    node: Node<'a>,
    base: usize,
    /// A mapping's next child is a key.
    key_next: bool,
    /// A large mapping's keys, hashed (a small one's are compared in `children`).
    many: Option<HashSet<Cow<'a, str>>>,
    /// Whether children are stored, or only checked (see [`check`]).
    keep: bool,
    /// Whether a repeated key is recorded (and read as its last occurrence) rather than refused.
    allow_duplicates: bool,
}

impl<'a> Frame<'a> {
    fn add(&mut self, child: Node<'a>, children: &mut Vec<Node<'a>>) -> Result<(), String> {
        match &mut self.node.value {
            Value::Seq { .. } => {
                if self.keep {
                    children.push(child);
                }
            }
            Value::Map { .. } => {
                if self.key_next {
                    if let Value::Scalar { text, .. } = &child.value
                        && self.repeats(text, children)
                        && text != "<<"
                    {
                        if !self.allow_duplicates {
                            return Err(format!("duplicate key {text:?}"));
                        }
                        if let Value::Map { duplicates, .. } = &mut self.node.value {
                            *duplicates = true;
                        }
                    }
                    // Keys are kept at least until the mapping ends: they are its key set.
                    children.push(child);
                } else if self.keep {
                    children.push(child);
                }
                self.key_next = !self.key_next;
            }
            Value::Scalar { .. } | Value::Alias(_) => unreachable!("only collections are frames"),
        }
        Ok(())
    }

    /// Whether a mapping already has the scalar key `key`; remembers it when a set is in use.
    /// Linear over the keys while they are few, so duplicate checks stay linear overall even
    /// for hostile inputs with 100,000 keys.
    #[allow(clippy::ptr_arg)] // the set keeps keys borrowed from the input: a `&str` would force copies
    fn repeats(&mut self, key: &Cow<'a, str>, children: &[Node<'a>]) -> bool {
        if let Some(set) = &mut self.many {
            return !set.insert(key.clone());
        }
        let keys = children[self.base..].iter().step_by(if self.keep { 2 } else { 1 });
        if keys.clone().any(|k| k.scalar() == Some(key)) {
            return true;
        }
        if keys.len() >= LINEAR_KEY_SCAN {
            let mut set: HashSet<Cow<'a, str>> = keys
                .filter_map(|k| match &k.value {
                    Value::Scalar { text, .. } => Some(text.clone()),
                    _ => None,
                })
                .collect();
            set.insert(key.clone());
            self.many = Some(set);
        }
        false
    }

    /// The finished collection, holding its children.
    fn finish(mut self, children: &mut Vec<Node<'a>>) -> Node<'a> {
        if self.keep {
            let mut taken = children.drain(self.base..);
            match &mut self.node.value {
                Value::Seq { items, .. } => *items = taken.collect(),
                Value::Map { entries, .. } => {
                    let mut pairs = Vec::with_capacity(taken.len() / 2);
                    while let (Some(k), Some(v)) = (taken.next(), taken.next()) {
                        pairs.push((k, v));
                    }
                    *entries = pairs;
                }
                Value::Scalar { .. } | Value::Alias(_) => unreachable!("only collections are frames"),
            }
        }
        children.truncate(self.base);
        self.node
    }
}

/// The keys of one mapping: a short list, turned into a hash set once the mapping grows, so
/// duplicate checks stay linear overall even for hostile inputs with 100,000 keys.
pub(super) enum KeySet<'a> {
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
    pub(super) fn insert(&mut self, key: Cow<'a, str>) -> bool {
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

    const STRICT: Limits =
        Limits { max_depth: 256, max_document_bytes: 1 << 20, max_stream_bytes: 1 << 20, strict_duplicate_keys: true };

    #[test]
    fn duplicate_keys_read_as_the_last_one_and_are_flagged() {
        // Go's yaml.v3 (Helm 4, kubectl) and yaml.v2 (Helm 3) read the last occurrence.
        let root = parse_ok("a: 1\nb: 2\na: 3\n");
        assert_eq!(root.get("a").and_then(Node::str), Some("3"));
        assert_eq!(root.duplicate_key(), Some((3, "a")));
        let err = parse("a: 1\nb: 2\na: 3\n", &STRICT).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.duplicate && err.message.contains("duplicate key \"a\""), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_in_large_mappings_are_found() {
        let mut text: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k7: again\n");
        assert!(parse(&text, &STRICT).unwrap_err().message.contains("k7"));
        assert_eq!(parse_ok(&text).duplicate_key().map(|(_, k)| k), Some("k7"));
    }

    #[test]
    fn duplicate_keys_are_found_where_children_are_not_kept() {
        // `check` keeps no children below the root's entries, but still knows their keys.
        for n in [3, 100] {
            let mut text = String::from("kind: ConfigMap\ndata:\n  deep:\n");
            text.extend((0..n).map(|i| format!("    k{i}: {i}\n")));
            text.push_str("    ? [complex]\n    : 1\n    <<: {}\n    <<: {}\n");
            assert!(check(&text, &Limits::default()).is_ok(), "{n}");
            text.push_str("    k1: again\n");
            let err = check(&text, &Limits::default()).unwrap_err();
            assert!(err.duplicate && err.message.contains("\"k1\""), "{n}: {}", err.message);
        }
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
        assert_eq!((err.line, err.message.as_str(), err.duplicate), (5, "duplicate key \"k\"", true));
    }

    #[test]
    fn block_scalar_spans_cover_header_and_text() {
        let text = "a:\n  b: |2\n      sp\n    x\n  c: |+\n    keep\n\n  d: >- # c\n    folded\n\n# not text\n  e: 1\n";
        let a = parse_ok(text);
        let span = |k: &str| {
            let n = a.at(&["a", k]).unwrap();
            &text[n.start..n.end]
        };
        assert_eq!(span("b"), "|2\n      sp\n    x");
        assert_eq!(span("c"), "|+\n    keep\n");
        assert_eq!(span("d"), ">- # c\n    folded");
        let seq = parse_ok("- - |1\n     x\n    y\n");
        let n = &seq.items()[0].items()[0];
        assert_eq!(&"- - |1\n     x\n    y\n"[n.start..n.end], "|1\n     x\n    y");
    }

    #[test]
    fn a_block_scalar_whose_text_starts_like_a_property() {
        // Found by the differential test: text starting with `&` or `!` is not an anchor or tag.
        let text = "a: |\n  &x !y\nb: !!str |\n  z\n";
        let root = parse_ok(text);
        let span = |k: &str| &text[root.get(k).unwrap().start..root.get(k).unwrap().end];
        assert_eq!((span("a"), span("b")), ("|\n  &x !y", "!!str |\n  z"));
    }

    #[test]
    fn a_flow_collection_ends_at_its_bracket_after_a_trailing_comma() {
        // Found by the fuzzer: the parser reports the end of `{n,\n}` at the comma.
        for text in ["m: {n,\n}\n", "m: [a, # c\n]\n", "m: {a: 1,}\n"] {
            let m = parse_ok(text);
            let m = m.get("m").unwrap();
            assert!(matches!(text.as_bytes()[m.end], b'}' | b']'), "{text:?}: end at {}", m.end);
        }
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
    fn only_edits_in_anchored_or_merging_nodes_are_refused() {
        let text = "a: &x {k: v}\nb: *x\nc: {<<: *x, l: 1}\nd: {k: v}\ne: [&y 1, 2]\n";
        let root = parse_ok(text);
        let shared = Shared::of(&root, text);
        let at = |n: &Node| (n.start, n.depth);
        let a = root.get("a").unwrap();
        assert!(shared.refuses(at(a), true).is_some());
        assert!(shared.refuses(at(a.get("k").unwrap()), false).is_some());
        let c = root.get("c").unwrap();
        assert!(shared.refuses(at(c), true).is_some(), "a new key would hide the merged one");
        assert!(shared.refuses(at(c.get("l").unwrap()), false).is_none(), "an explicit value is the one read");
        assert!(shared.refuses(at(root.get("d").unwrap()), true).is_none());
        let e = root.get("e").unwrap();
        assert!(shared.refuses(at(e), false).is_none(), "appending beside an anchored item changes no alias");
        assert!(shared.refuses(at(&e.items()[0]), false).is_some());
        assert!(Shared::of(&parse_ok("a: {b: 1}\n"), "a: {b: 1}\n").is_empty());
    }

    #[test]
    fn empty_flow_collections_with_blanks_inside_are_flow() {
        // A MinIO Tenant ships `imagePullSecret: { }`: taken for a block map, an entry was
        // written on the next line (the check caught it).
        let text = "a: { }\nb: [  ]\nc: {\n  }\n? {k: 1}\n: v\n";
        let root = parse(text, &Limits::default()).unwrap().unwrap();
        for key in ["a", "b", "c"] {
            let n = root.get(key).unwrap();
            assert!(n.is_flow() && matches!(&text[n.open()..n.open() + 1], "{" | "["), "{key}");
        }
        assert!(!root.is_flow());
    }
}
