//! The fail-closed check: before a changed document is written, its new text must parse and
//! mean (under YAML 1.1 rules, as kubectl and Helm read it) exactly the old text with the
//! intended edits applied — each target holds its new value, and nothing else was added,
//! removed or changed. Text splicing is fast and keeps every byte we do not own, but a splice
//! in the wrong place is silent; this walk is what makes it safe in the release binary.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, StrInput, Tag};
use serde_json::Value as Json;

use super::Limits;
use super::edit::{Intent, Op};
use super::scalar::resolve;
use super::tree::{Builder, KeySet, Node, Value};

/// Checks `after` (the edited text) against `before` (the tree the edits were computed on)
/// and the edits' intents. The error says what differs, for the report.
///
/// The edited text is not built into a tree: its parser events are matched as they come
/// against `before` with the intents applied, and the first difference ends the check. The
/// whole text must still parse (the rest is read to its end once everything matched), with
/// the limits and duplicate-key rules [`super::tree::parse`] applies.
pub fn edited(before: &Node, intents: &[Intent], after: &str, limits: &Limits) -> Result<(), String> {
    check(before, intents, Events::new(after, limits, None)).map(drop)
}

/// [`edited`], and the edited text read as [`super::tree::parse`] reads it, built from the same
/// parser events, for readers of the output (the policy): `None` when the tree could not be built
/// (they then parse the text themselves).
pub fn edited_read<'t>(
    before: &Node,
    intents: &[Intent],
    after: &'t str,
    limits: &Limits,
) -> Result<Option<Node<'t>>, String> {
    check(before, intents, Events::new(after, limits, Some(Builder::new(after, limits, true))))
}

fn check<'t>(before: &Node, intents: &[Intent], events: Events<'t>) -> Result<Option<Node<'t>>, String> {
    let mut walk = Walk { pending: Pending::new(intents), path: Vec::new(), events };
    match walk.events.next_opt()? {
        Some(Event::Scalar(text, ScalarStyle::Plain, _, None)) if super::scalar::is_null_spelling(&text) => {
            walk.events.rest()?;
            return Err("the document became empty".into());
        }
        Some(event) => {
            if let Err(differs) = walk.node(before, event) {
                // A text that does not parse says so (with its line) before anything it differs in.
                walk.events.rest_parses()?;
                return Err(differs);
            }
        }
        None => return Err("the document became empty".into()),
    }
    walk.events.rest()?;
    match walk.pending.left() {
        Some(op) => Err(format!("an edit found no target: {op:?}")),
        None => Ok(walk.events.builder.and_then(Builder::finish)),
    }
}

/// The intents' operations grouped by target, each group taken once by the node it targets.
struct Pending<'w> {
    /// Sorted by target; a group's operations in the intents' order.
    groups: Vec<((usize, usize), Vec<&'w Op>)>,
    /// Groups not taken yet.
    left: usize,
}

impl<'w> Pending<'w> {
    fn new(intents: &'w [Intent]) -> Self {
        let mut sorted: Vec<&Intent> = intents.iter().collect();
        sorted.sort_by_key(|i| i.target); // stable: a target's operations stay in order
        let mut groups: Vec<((usize, usize), Vec<&'w Op>)> = Vec::new();
        for intent in sorted {
            match groups.last_mut() {
                Some((t, ops)) if *t == intent.target => ops.push(&intent.op),
                _ => groups.push((intent.target, vec![&intent.op])),
            }
        }
        let left = groups.len();
        Pending { groups, left }
    }

    /// The operations on the node at `target` (none if it has none, or they were taken).
    fn take(&mut self, target: (usize, usize)) -> Vec<&'w Op> {
        if self.left == 0 {
            return Vec::new();
        }
        match self.groups.binary_search_by_key(&target, |(t, _)| *t) {
            Ok(i) if !self.groups[i].1.is_empty() => {
                self.left -= 1;
                std::mem::take(&mut self.groups[i].1)
            }
            _ => Vec::new(),
        }
    }

    fn left(&self) -> Option<&'w Op> {
        self.groups.iter().find_map(|(_, ops)| ops.first().copied())
    }
}

/// The edited text's events, read with the rules of [`super::tree::parse`]: one document,
/// nesting within `max_depth`, repeated keys refused when `strict_duplicate_keys`.
struct Events<'t> {
    parser: Parser<'t, StrInput<'t>>,
    max_depth: usize,
    strict: bool,
    documents: usize,
    /// An error was reported: the parser is not asked again.
    failed: bool,
    /// The open collections.
    frames: Vec<Frame<'t>>,
    /// The edited text's tree, built from the same events when a reader of the output wants it
    /// (dropped if it can't be built).
    builder: Option<Builder<'t>>,
}

struct Frame<'t> {
    map: bool,
    /// A mapping's next complete node is a key.
    key_next: bool,
    /// A mapping's scalar keys so far (only when duplicates are refused).
    keys: KeySet<'t>,
}

impl<'t> Events<'t> {
    fn new(text: &'t str, limits: &Limits, builder: Option<Builder<'t>>) -> Self {
        Events {
            builder,
            parser: Parser::new_from_str(text),
            max_depth: limits.max_depth,
            strict: limits.strict_duplicate_keys,
            documents: 0,
            failed: false,
            frames: Vec::new(),
        }
    }

    /// The next node event (scalar, alias, collection start or end), None at the end of the text.
    fn next_opt(&mut self) -> Result<Option<Event<'t>>, String> {
        if self.failed {
            return Ok(None);
        }
        let next = self.read();
        self.failed = next.is_err();
        next
    }

    fn read(&mut self) -> Result<Option<Event<'t>>, String> {
        loop {
            let Some(item) = self.parser.next() else { return Ok(None) };
            let (event, span) = item.map_err(|e| format!("line {}: {}", e.marker().line(), e.info()))?;
            let line = span.start.line();
            if let Some(builder) = &mut self.builder
                && builder.push(event.clone(), span).is_err()
            {
                self.builder = None;
            }
            match &event {
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(format!("line {line}: a second document inside one document chunk"));
                    }
                    continue;
                }
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    if self.frames.len() >= self.max_depth {
                        return Err(format!(
                            "line {line}: nesting deeper than {} levels (limit max_depth)",
                            self.max_depth
                        ));
                    }
                    let map = matches!(event, Event::MappingStart(..));
                    self.frames.push(Frame { map, key_next: true, keys: KeySet::default() });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    self.frames.pop();
                    self.complete(None, line)?;
                }
                Event::Scalar(text, ..) => self.complete(Some(text), line)?,
                Event::Alias(_) => self.complete(None, line)?,
            }
            return Ok(Some(event));
        }
    }

    /// The next node event, where the text must have one.
    fn next(&mut self) -> Result<Event<'t>, String> {
        self.next_opt()?.ok_or_else(|| "the edited text ended inside a collection".into())
    }

    /// A node is complete: in a mapping, keys and values alternate.
    fn complete(&mut self, scalar: Option<&Cow<'t, str>>, line: usize) -> Result<(), String> {
        if let Some(frame) = self.frames.last_mut()
            && frame.map
        {
            if frame.key_next
                && self.strict
                && let Some(key) = scalar
                && !frame.keys.insert(key.clone())
                && key != "<<"
            {
                return Err(format!("line {line}: duplicate key {key:?}"));
            }
            frame.key_next = !frame.key_next;
        }
        Ok(())
    }

    /// Reads the rest of the text, which must parse (whatever it holds).
    fn rest_parses(&mut self) -> Result<(), String> {
        while self.next_opt()?.is_some() {}
        Ok(())
    }

    /// Reads the rest of the text, which must parse and hold nothing more.
    fn rest(&mut self) -> Result<(), String> {
        match self.next_opt()? {
            None => Ok(()),
            Some(_) => Err("the edited text holds more than one node".into()),
        }
    }
}

/// A step of the path the walk is at, for messages.
enum Step<'w> {
    Key(&'w str),
    Index(usize),
}

struct Walk<'w, 't> {
    pending: Pending<'w>,
    /// Where the walk is, for messages.
    path: Vec<Step<'w>>,
    events: Events<'t>,
}

impl<'w, 't> Walk<'w, 't> {
    fn differs(&self, what: &str) -> String {
        if self.path.is_empty() {
            return format!("{what} at the root");
        }
        let mut at = String::new();
        for (i, step) in self.path.iter().enumerate() {
            if i > 0 {
                at.push('.');
            }
            match step {
                Step::Key(k) => at.push_str(k),
                Step::Index(n) => at.push_str(&n.to_string()),
            }
        }
        format!("{what} at {at}")
    }

    /// `old` with its intended edits must equal the node `new` starts.
    fn node(&mut self, old: &'w Node<'w>, new: Event<'t>) -> Result<(), String> {
        let ops = self.pending.take((old.start, old.depth));
        if let [Op::Replace(s)] = ops.as_slice() {
            return self.string(s, new);
        }
        match (&old.value, new) {
            (Value::Scalar { text: a, style: sa, tag: ta }, Event::Scalar(b, sb, _, tb)) if ops.is_empty() => {
                // Same spelling means same meaning (the common case, and free); otherwise compare types.
                let same = (*a == b && *sa == sb && same_tag(ta.as_deref(), tb.as_deref()))
                    || resolve(a, *sa, ta.as_deref()) == resolve(&b, sb, tag_text(tb.as_deref()).as_deref());
                same.then_some(()).ok_or_else(|| self.differs("a scalar changed"))
            }
            (Value::Alias(_), Event::Alias(_)) if ops.is_empty() => Ok(()),
            (Value::Seq { items: old_items, .. }, Event::SequenceStart(..)) => {
                let (mut prepended, mut appended): (Vec<&Json>, Vec<&Json>) = (Vec::new(), Vec::new());
                for op in &ops {
                    match op {
                        Op::Append(item) => appended.push(item),
                        Op::Prepend(item) => prepended.push(item),
                        other => return Err(self.differs(&format!("a list edit that is not an append ({other:?})"))),
                    }
                }
                let count = prepended.len() + old_items.len() + appended.len();
                for i in 0.. {
                    let new_item = self.events.next()?;
                    if matches!(new_item, Event::SequenceEnd) && i == count {
                        break;
                    }
                    if matches!(new_item, Event::SequenceEnd) || i == count {
                        return Err(self.differs("the number of list items is not what the edits add"));
                    }
                    self.path.push(Step::Index(i));
                    match i.checked_sub(prepended.len()) {
                        None => self.json(prepended[i], new_item)?,
                        Some(at) => match old_items.get(at) {
                            Some(old_item) => self.node(old_item, new_item)?,
                            None => self.json(appended[at - old_items.len()], new_item)?,
                        },
                    }
                    self.path.pop();
                }
                Ok(())
            }
            (Value::Map { entries: old_entries, .. }, Event::MappingStart(..)) => {
                let mut puts: Vec<(&'w str, &'w Json)> = Vec::new();
                for op in &ops {
                    match op {
                        Op::Put { key, value } => puts.push((key, value)),
                        other => return Err(self.differs(&format!("a mapping edit that is not a put ({other:?})"))),
                    }
                }
                let filled = |key: &Node| {
                    let k = key.scalar()?;
                    puts.iter().find(|(p, _)| *p == k).map(|(_, v)| *v)
                };
                let added: Vec<(&'w str, &'w Json)> = puts
                    .iter()
                    .filter(|(k, _)| !old_entries.iter().any(|(old_key, _)| old_key.scalar() == Some(k)))
                    .copied()
                    .collect();
                let count = old_entries.len() + added.len();
                for i in 0.. {
                    let new_key = self.events.next()?;
                    if matches!(new_key, Event::MappingEnd) && i == count {
                        break;
                    }
                    if matches!(new_key, Event::MappingEnd) || i == count {
                        return Err(self.differs("the number of mapping keys is not what the edits add"));
                    }
                    match old_entries.get(i) {
                        Some((old_key, old_value)) => {
                            self.node(old_key, new_key)?;
                            self.path.push(Step::Key(old_key.scalar().unwrap_or("?")));
                            match filled(old_key) {
                                Some(v) if old_value.is_null() => {
                                    let new_value = self.events.next()?;
                                    self.json(v, new_value)?
                                }
                                Some(_) => return Err(self.differs("a put over an existing value")),
                                None => {
                                    let new_value = self.events.next()?;
                                    self.node(old_value, new_value)?
                                }
                            }
                        }
                        None => {
                            let (key, value) = added[i - old_entries.len()];
                            self.string(key, new_key)?;
                            self.path.push(Step::Key(key));
                            let new_value = self.events.next()?;
                            self.json(value, new_value)?;
                        }
                    }
                    self.path.pop();
                }
                Ok(())
            }
            _ => Err(self.differs("the node changed shape")),
        }
    }

    /// The node `new` starts must be what the edit wrote: `want`, read back as YAML 1.1.
    fn json(&mut self, want: &'w Json, new: Event<'t>) -> Result<(), String> {
        let same = match (want, new) {
            (Json::Object(map), Event::MappingStart(..)) => {
                let mut entries = map.iter();
                loop {
                    let new_key = self.events.next()?;
                    let (k, v) = match (entries.next(), &new_key) {
                        (None, Event::MappingEnd) => break,
                        (Some(entry), event) if !matches!(event, Event::MappingEnd) => entry,
                        _ => return Err(self.differs("a written mapping reads back with other keys")),
                    };
                    self.string(k, new_key)?;
                    self.path.push(Step::Key(k));
                    let new_value = self.events.next()?;
                    self.json(v, new_value)?;
                    self.path.pop();
                }
                true
            }
            (Json::Array(items), Event::SequenceStart(..)) => {
                let mut items = items.iter().enumerate();
                loop {
                    let new_item = self.events.next()?;
                    let (i, item) = match (items.next(), &new_item) {
                        (None, Event::SequenceEnd) => break,
                        (Some(entry), event) if !matches!(event, Event::SequenceEnd) => entry,
                        _ => return Err(self.differs("a written list reads back with other items")),
                    };
                    self.path.push(Step::Index(i));
                    self.json(item, new_item)?;
                    self.path.pop();
                }
                true
            }
            (Json::Object(_) | Json::Array(_), _) => false,
            (scalar, Event::Scalar(text, style, _, tag)) => {
                resolve(&text, style, tag_text(tag.as_deref()).as_deref()) == *scalar
            }
            _ => false,
        };
        same.then_some(()).ok_or_else(|| self.differs("a written value reads back as something else"))
    }

    /// [`Walk::json`] for a string.
    fn string(&mut self, want: &str, new: Event<'t>) -> Result<(), String> {
        let same = match new {
            Event::Scalar(text, style, _, tag) => {
                matches!(resolve(&text, style, tag_text(tag.as_deref()).as_deref()), Json::String(s) if s == want)
            }
            _ => false,
        };
        same.then_some(()).ok_or_else(|| self.differs("a written value reads back as something else"))
    }
}

/// A tag as the tree records it (see `tree::walk`): handle and suffix, concatenated.
fn tag_text(tag: Option<&Tag>) -> Option<String> {
    tag.map(|t| format!("{}{}", t.handle, t.suffix))
}

/// Whether a tree's tag is the event's, without building the event's.
fn same_tag(tree: Option<&str>, event: Option<&Tag>) -> bool {
    match (tree, event) {
        (None, None) => true,
        (Some(t), Some(e)) => t.strip_prefix(e.handle.as_str()) == Some(e.suffix.as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::edit::Edits;
    use crate::stream::tree;
    use serde_json::json;

    fn check(text: &str, f: impl FnOnce(&mut Edits, &Node)) -> Result<String, String> {
        let limits = Limits::default();
        let root = tree::parse(text, &limits).unwrap().unwrap();
        let mut e = Edits::new(text);
        f(&mut e, &root);
        let out = e.apply();
        edited(&root, e.intents(), &out, &limits).map(|()| out)
    }

    #[test]
    fn correct_edits_pass() {
        let out = check("a:\n  b: 1\nc: [x]\nd: old\n", |e, r| {
            e.put(r.get("a").unwrap(), "k", &json!({"m": ["v"]})).unwrap();
            e.append(r.get("c").unwrap(), &json!("z")).unwrap();
            e.replace_scalar(r.get("d").unwrap(), "new");
        });
        assert_eq!(out.unwrap(), "a:\n  b: 1\n  k:\n    m:\n      - v\nc: [x, z]\nd: new\n");
    }

    #[test]
    fn a_splice_that_changes_anything_else_fails() {
        let text = "a:\n  b: 1\nc: 2\n";
        let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
        let mut e = Edits::new(text);
        e.put(root.get("a").unwrap(), "k", &json!("v")).unwrap();
        // The same intent, but text that lost `c` and changed `b`'s type.
        let err = edited(&root, e.intents(), "a:\n  b: \"1\"\n  k: v\nc: 2\n", &Limits::default()).unwrap_err();
        assert!(err.contains("a.b"), "{err}");
        let err = edited(&root, e.intents(), "a:\n  b: 1\n  k: v\nc: 2\nx: 1\n", &Limits::default()).unwrap_err();
        assert!(err.contains("number of mapping keys"), "{err}");
        let err = edited(&root, e.intents(), "a:\n  b: 1\n  k: w\nc: 2\n", &Limits::default()).unwrap_err();
        assert!(err.contains("a.k"), "{err}");
        let err = edited(&root, e.intents(), "a: [", &Limits::default()).unwrap_err();
        assert!(err.starts_with("line"), "{err}");
    }

    #[test]
    fn yaml_1_1_meaning_is_compared_not_text() {
        let text = "a: 0755\n";
        let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
        assert!(edited(&root, &[], "a: 0o755\n", &Limits::default()).is_err(), "0o755 is a string in YAML 1.1");
        assert!(edited(&root, &[], "a: 493\n", &Limits::default()).is_ok());
        let root = tree::parse("a: \"on\"\n", &Limits::default()).unwrap().unwrap();
        assert!(edited(&root, &[], "a: on\n", &Limits::default()).is_err());
    }

    fn ok(before: &str, after: &str) -> Result<(), String> {
        let root = tree::parse(before, &Limits::default()).unwrap().unwrap();
        edited(&root, &[], after, &Limits::default())
    }

    #[test]
    fn style_and_spelling_do_not_matter_meaning_does() {
        assert!(ok("a: {b: [1, x]}\n", "a:\n  b:\n    - 1\n    - x\n").is_ok());
        assert!(ok("a: !!str 0755\nb: 'x'\n", "a: \"0755\"\nb: !!str x\n").is_ok());
        assert!(ok("a: !!str 0755\n", "a: !!str 0755\n").is_ok());
        assert!(ok("a: !!int 10\n", "a: 0xA\n").is_ok());
        assert!(ok("a: &x 1\nb: *x\n", "a: &y 1\nb: *y\n").is_ok());
        let err = ok("a: [1, 2]\n", "a: [1]\n").unwrap_err();
        assert!(err.contains("number of list items") && err.ends_with("at a"), "{err}");
        let err = ok("a: [1, 2]\n", "a: [1, 2, 3]\n").unwrap_err();
        assert!(err.contains("number of list items"), "{err}");
        let err = ok("a: [1, {b: 2}]\n", "a: [1, {b: 3}]\n").unwrap_err();
        assert_eq!(err, "a scalar changed at a.1.b");
        assert_eq!(ok("a: 1\n", "a: [1]\n").unwrap_err(), "the node changed shape at a");
        assert_eq!(ok("a: 1\n", "[a]\n").unwrap_err(), "the node changed shape at the root");
    }

    #[test]
    fn the_edited_text_is_read_like_the_input() {
        assert_eq!(ok("a: 1\n", "").unwrap_err(), "the document became empty");
        assert_eq!(ok("a: 1\n", "--- ~\n").unwrap_err(), "the document became empty");
        let err = ok("a: 1\n", "a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.starts_with("line 2: a second document"), "{err}");
        // A parse error is reported before a difference earlier in the text.
        let err = ok("a: 1\nb: 2\n", "a: 2\nb: [\n").unwrap_err();
        assert!(err.starts_with("line"), "{err}");
        let limits = Limits { max_depth: 2, ..Limits::default() };
        let root = tree::parse("a: 1\n", &limits).unwrap().unwrap();
        let err = edited(&root, &[], "a: [[1]]\n", &limits).unwrap_err();
        assert!(err.starts_with("line 1: nesting deeper than 2"), "{err}");
        // Repeated keys: allowed (and compared in place) unless strict.
        assert!(ok("a: 1\na: 2\n", "a: 1\na: 2\n").is_ok());
        assert!(ok("a: 1\na: 2\n", "a: 1\na: 3\n").is_err());
        let strict = Limits { strict_duplicate_keys: true, ..Limits::default() };
        let root = tree::parse("a: 01\nb: 1\n", &strict).unwrap().unwrap();
        assert!(edited(&root, &[], "a: 1\nb: 1\n", &strict).is_ok());
        let root = tree::parse("01: x\n1: y\n", &strict).unwrap().unwrap();
        let err = edited(&root, &[], "1: x\n1: y\n", &strict).unwrap_err();
        assert_eq!(err, "line 2: duplicate key \"1\"");
        assert!(edited(&root, &[], "1: x\n1: y\n", &Limits::default()).is_ok());
    }

    #[test]
    fn written_values_are_read_back() {
        let text = "a:\nb: [x]\nc: {k: v}\n";
        let out = check(text, |e, r| {
            e.put(r, "a", &json!({"m": [1, true, null, "on"]})).unwrap();
            e.append(r.get("b").unwrap(), &json!({"n": "0755"})).unwrap();
            e.put(r.get("c").unwrap(), "l", &json!([])).unwrap();
        });
        assert!(out.is_ok(), "{out:?}");
        let root = tree::parse(text, &Limits::default()).unwrap().unwrap();
        let mut e = Edits::new(text);
        e.put(&root, "a", &json!({"m": [1, "on"]})).unwrap();
        e.append(root.get("b").unwrap(), &json!("w")).unwrap();
        let want = [
            ("a:\n  m: [1, on]\nb: [x, w]\nc: {k: v}\n", "a written value reads back as something else at a.m.1"),
            ("a:\n  m: [1]\nb: [x, w]\nc: {k: v}\n", "a written list reads back with other items at a.m"),
            (
                "a:\n  m: [1, \"on\"]\n  n: 1\nb: [x, w]\nc: {k: v}\n",
                "a written mapping reads back with other keys at a",
            ),
            ("a:\n  m: [1, \"on\"]\nb: [x, z]\nc: {k: v}\n", "a written value reads back as something else at b.1"),
            ("a:\n  m: [1, \"on\"]\nb: [x]\nc: {k: v}\n", "the number of list items is not what the edits add at b"),
            ("a: 1\nb: [x, w]\nc: {k: v}\n", "a written value reads back as something else at a"),
        ];
        for (after, message) in want {
            assert_eq!(edited(&root, e.intents(), after, &Limits::default()).unwrap_err(), message, "{after}");
        }
        let r = edited(&root, e.intents(), "a:\n  m: [1, \"on\"]\nb: [x, w]\nc: {k: v}\n", &Limits::default());
        assert!(r.is_ok(), "{r:?} {}", e.apply());
        // An intent whose target the walk never reaches.
        let err = edited(root.get("c").unwrap(), e.intents(), "{k: v}\n", &Limits::default()).unwrap_err();
        assert!(err.starts_with("an edit found no target"), "{err}");
    }
}
