//! Parity of the vendored saphyr-parser (vendor/saphyr-parser, see its PATCHES.md) with Go's
//! yaml.v3, the reader of Helm 4, kubectl and kustomize (docs/yaml.md rule 7): what yaml.v3 reads
//! parses, what it refuses is an error on the right line. Each yaml.v3 verdict below was checked
//! with yaml.v3 3.0.1 (Debian golang-gopkg-yaml.v3-dev) decoding the same bytes.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Every scalar with its value, style and span start/end (char indexes), or the error's line and
/// message.
type Scalars = Vec<(String, ScalarStyle, usize, usize)>;

fn parse(text: &str) -> Result<Scalars, (usize, String)> {
    let mut scalars = Vec::new();
    for event in Parser::new_from_str(text) {
        match event {
            Ok((Event::Scalar(value, style, ..), span)) => {
                scalars.push((value.into_owned(), style, span.start.index(), span.end.index()))
            }
            Ok(_) => {}
            Err(e) => return Err((e.marker().line(), e.info().to_string())),
        }
    }
    Ok(scalars)
}

#[track_caller]
fn accepts(text: &str) -> Scalars {
    parse(text).unwrap_or_else(|(line, msg)| panic!("refused {text:?} (line {line}: {msg}), yaml.v3 reads it"))
}

#[track_caller]
fn refuses(text: &str, line: usize) {
    match parse(text) {
        Ok(s) => panic!("accepted {text:?} as {s:?}, yaml.v3 refuses it"),
        Err((l, msg)) => assert_eq!(l, line, "{text:?}: error on the wrong line: {msg}"),
    }
}

/// The scalar with value `value`: its span must start at byte `start` (ASCII input, so chars are
/// bytes), and a plain scalar's must end at `end`.
#[track_caller]
fn scalar_at(scalars: &Scalars, value: &str, start: usize) -> (ScalarStyle, usize) {
    let s = scalars.iter().find(|s| s.0 == value).unwrap_or_else(|| panic!("no scalar {value:?} in {scalars:?}"));
    assert_eq!(s.2, start, "span of {value:?} starts at {}, expected {start}", s.2);
    (s.1, s.3)
}

// Patch 1. yaml.v3 has no indentation check inside quoted scalars; its own encoder writes a string
// ending in "\n" as a multi-line single-quoted scalar closed at column 0 (kube-prometheus-stack via
// Helm 4).
#[test]
fn quoted_scalar_continuation_at_column_0() {
    let text = "data:\n  a: 'line one\n\n'\n  b: x\n";
    let s = accepts(text);
    assert_eq!(scalar_at(&s, "line one\n", text.find("'line").unwrap()).0, ScalarStyle::SingleQuoted);
    let text = "data:\n  a: \"line one\nline two\"\n";
    let s = accepts(text);
    assert_eq!(scalar_at(&s, "line one line two", text.find('"').unwrap()).0, ScalarStyle::DoubleQuoted);
    // Tabs indenting continuation lines: yaml.v3 reads "x y".
    assert_eq!(accepts("a: 'x\n\t  y'\n")[1].0, "x y");
    accepts("- a: 'x\ny'\n");
    // Still refused by both: a key after the dedent that breaks the mapping.
    refuses("a:\n  b: 'x\n' \n c: d\n", 4);
}

// Patch 2. yaml.v3 has no indentation in flow context; its encoder writes `{\n  # c\n}`.
#[test]
fn flow_collection_lines_left_of_key() {
    let text = "a:\n  b: {\n# c\n}\n  c: [\n1,\n2]\n";
    let s = accepts(text);
    let one = text.find("\n1").unwrap() + 1;
    let (_, end) = scalar_at(&s, "1", one);
    assert_eq!(end, one + 1);
    scalar_at(&s, "2", text.find("\n2").unwrap() + 1);
    accepts("a:\n  b: {\n  # c\n  }\n");
    accepts("- [\n1]\n");
    accepts("a:\n  k: {x: [\n1], y: 'a\nb'}\nb: 1\n");
    // Refused by both: a block sequence inside a flow one.
    refuses("a:\n  k: [\n- 1]\n", 3);
}

// Patch 3. yaml.v3 refuses an implicit key spanning lines in flow context ("did not find expected
// ',' or '}'").
#[test]
fn flow_implicit_key_across_lines_is_refused() {
    refuses("{ab\ncd: 1}\n", 2);
    refuses("{\"ab\ncd\": 1}\n", 2);
    refuses("{a: 1,\nb\n: 2}\n", 3);
    accepts("{a: 1,\nb: 2}\n");
    accepts("{a: 1,\n? b\n: 2}\n");
}

// Patch 4. yaml.v3 skips a comment between tokens without asking for a space before `#`.
#[test]
fn comment_right_after_closing_quote() {
    let text = "a: \"x\"# c\nb: 'y'# c\nc: [z]# c\nd: |# c\n  t\n";
    let s = accepts(text);
    assert_eq!(scalar_at(&s, "x", text.find('"').unwrap()).0, ScalarStyle::DoubleQuoted);
    assert_eq!(scalar_at(&s, "y", text.find("'y").unwrap()).0, ScalarStyle::SingleQuoted);
    assert_eq!(scalar_at(&s, "z", text.find("z]").unwrap()).1, text.find("z]").unwrap() + 1);
    accepts("- \"a\"#c\n");
    accepts("[a,#c\n b]\n");
    // In a plain scalar `#` after a non-space is content, in both.
    assert_eq!(accepts("a: b# c\n")[1].0, "b# c");
    // Refused by both: content after the closing quote.
    refuses("a: \"x\"y\n", 1);
}

// Patch 5. yaml.v3 skips tabs after a simple key's `:`.
#[test]
fn tab_after_colon() {
    let text = "a:\tb\n\"c\":\t\td\n";
    let s = accepts(text);
    let (_, end) = scalar_at(&s, "b", 3);
    assert_eq!(end, 4);
    scalar_at(&s, "c", text.find('"').unwrap());
    scalar_at(&s, "d", text.find('d').unwrap());
    accepts("a:\t# c\n");
    accepts("{? \ta: b}\n");
    // yaml.v3: "found character that cannot start any token" after a complex key's `:`.
    refuses("? a\n:\tb\n", 2);
}

// Patches 6 and 7. yaml.v3 refuses a tab where a simple key may start in block context, and one in
// the indentation columns after a plain scalar, even on an otherwise empty line.
#[test]
fn tab_in_block_indentation_is_refused() {
    refuses("\ta: b\n", 1);
    refuses("a:\n\tb: c\n", 2);
    refuses("- \ta\n", 1);
    refuses("- a\n-\t\n- b\n", 2);
    refuses("a: 'x'\n\t\nb: 1\n", 2);
    refuses("# c\n\t\na: b\n", 2);
    refuses("a: b\n\t\nc: d\n", 2);
    refuses("a: b\n\t# x\nc: d\n", 2);
    refuses("a: [x\n\t]\n", 2);
    // Read by yaml.v3: tabs after content, at or right of the indentation, in flow context.
    accepts("a: b\t# c\n");
    accepts("a: b\n  \t\nc: d\n");
    accepts("a: x\n  \ty\n");
    accepts("a: [1,\n\t2]\n");
    accepts("a: &x\tb\n");
    accepts("--- \tx\n");
}

// Patch 8. yaml.v3: "found a tab character where an indentation space is expected".
#[test]
fn tab_starting_block_scalar_text_is_refused() {
    refuses("a: |\n\tx\n", 2);
    refuses("a: |\n  \tx\n", 2);
    refuses("a: |\n  \t\n  x\n", 2);
    refuses("a: >\n  x\n\n\t\n", 4);
    refuses("a: |\n  x\n\t\nb: 1\n", 3);
    // With an explicit indentation indicator the tab is text, in both.
    let s = accepts("a: |2\n  \tx\nb: c\n");
    assert_eq!(s[1].0, "\tx\n");
    accepts("a: |\n  x\n  \t\n  y\n");
}

// Patches 9 and 10. yaml.v3 reads only %YAML 1.1, refuses unknown directives, and needs no `...`
// before a directive.
#[test]
fn yaml_directive_versions() {
    accepts("%YAML 1.1\n---\na: b\n");
    accepts("%TAG !e! tag:example.com,2000:\n---\na: !e!x b\n");
    accepts("a: b\n%YAML 1.1\n---\nc: d\n");
    refuses("%YAML 1.2\n---\na: b\n", 1);
    refuses("%YAML 2.0\n---\na: b\n", 1);
    refuses("%FOO bar\n---\na: b\n", 1);
    refuses("%YAML 1.1\n%YAML 1.1\n---\na: b\n", 2);
}

// Patch 11. yaml.v3's reader: "control characters are not allowed", anywhere.
#[test]
fn control_characters_are_refused() {
    refuses("a: x\x01y\n", 1);
    refuses("a: b\nc: \"x\x7fy\"\n", 2);
    refuses("a: |\n  x\n  y\x08\n", 3);
    refuses("# c\x1b\na: b\n", 1);
    refuses("a: x\u{0080}y\n", 1);
    refuses("a: x\u{fffe}y\n", 1);
    // Allowed by yaml.v3: tab, CR LF, NEL/LS inside quotes, the rest of Unicode.
    accepts("a: b\r\nc: 'd\te'\r\n");
    accepts("a: \"\u{e9}\u{2019} \u{d7ff}\u{10000}\"\n");
}

// Patch 12. yaml.v3 takes U+0085, U+2028, U+2029 for line breaks everywhere (libyaml's IS_BREAK):
// in indentation, comments, block scalars, and the folding of plain and quoted scalars. NEL reads
// as `\n`, LS/PS are kept; only a `\n` break folds to a space. (Its encoder writes `'x\u2028    y'`.)
// Markers count them as lines, as yaml.v3 does.
#[test]
fn unicode_line_breaks() {
    // A line holding only U+2028 is an empty line; one after a block scalar header ends it.
    assert_eq!(accepts("\u{2028}a: b\n")[0].0, "a");
    assert_eq!(accepts("key: |2-\u{2028}    text\n")[1].0, "  text");
    assert_eq!(
        accepts("a:\u{2028}  b: c\u{2028}d: e\n").iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
    // Folding: spaces around them are stripped; NEL becomes a space like `\n`.
    assert_eq!(accepts("a: 'x\u{2028}    y'\n")[1].0, "x\u{2028}y");
    assert_eq!(accepts("a: \"x \u{2029} y\"\n")[1].0, "x\u{2029}y");
    assert_eq!(accepts("a: x\u{85}  y\n")[1].0, "x y");
    assert_eq!(accepts("a: x \u{2028} \u{2028} y\n")[1].0, "x\u{2028}\u{2028}y");
    assert_eq!(accepts("a: \"x\\\u{2028}  y\"\n")[1].0, "xy");
    // Block scalars keep them; a folded one does not fold them.
    assert_eq!(accepts("a: |\n  x\u{2028}  y\u{2029}\u{2029}  z\u{2028}")[1].0, "x\u{2028}y\u{2029}\u{2029}z\u{2028}");
    assert_eq!(accepts("a: >\n  x\n\u{2028}  y\n")[1].0, "x\u{2028}y\n");
    // They end comments and plain scalars.
    assert_eq!(accepts("a: b # c\u{2028}")[1].0, "b");
    assert_eq!(accepts("a: b\u{2028}")[1].0, "b");
    // Spans count chars.
    let s = accepts("a: 'x\u{2028}y'\nb: \"\u{2029}\"\n");
    assert_eq!(scalar_at(&s, "x\u{2028}y", 3).0, ScalarStyle::SingleQuoted);
    assert_eq!(scalar_at(&s, "\u{2029}", 12).0, ScalarStyle::DoubleQuoted);
    // yaml.v3 refuses: a plain scalar continued at column 0 of the next "line".
    refuses("a: x\u{2028}y\n", 3);
    refuses("b: c\na: x\u{2029}y\n", 4);
    refuses("a: x\u{85}y\n", 3);
    refuses("a: |\n  x\u{2028}y\n", 4);
    refuses("# x\u{2028}y\na: b\n", 3);
    refuses("a: b\n\t\u{2028}c: d\n", 2);
}

// Patch 13. yaml.v3 refuses a block scalar inside a flow collection: "found character that cannot
// start any token".
#[test]
fn block_scalar_in_flow_is_refused() {
    refuses("a: {b: |\n  x}\n", 1);
    refuses("a:\n  - [>]\n", 2);
    refuses("{a: 1,\n b: >-\n  x}\n", 2);
    // Content of a plain or quoted scalar, in both.
    assert_eq!(accepts("a: {b: x|y, c: 'z>'}\n")[2].0, "x|y");
    assert_eq!(accepts("a: b|c\n")[1].0, "b|c");
}

// Patch 14. A BOM inside a document is an ordinary character to yaml.v3 (only its reader drops one
// at the start of the stream): content of plain, block and quoted scalars and of comments.
#[test]
fn byte_order_mark_inside_a_document() {
    assert_eq!(accepts("\u{feff}a: 1\n")[0].0, "a");
    assert_eq!(accepts("\u{feff}---\na: 1\n")[0].0, "a");
    assert_eq!(accepts("a: x\u{feff}y\n")[1].0, "x\u{feff}y");
    assert_eq!(accepts("a: \u{feff}x\n")[1].0, "\u{feff}x");
    assert_eq!(accepts("a: 1\n\u{feff}b: 2\n")[2].0, "\u{feff}b");
    assert_eq!(accepts("{\u{feff}: 1}\n")[0].0, "\u{feff}");
    assert_eq!(accepts("a: |\n \u{feff}x\n")[1].0, "\u{feff}x\n");
    assert_eq!(accepts("a: b #c\u{feff}d\nc: d\n")[3].0, "d");
    // Refused by both: a scalar after a quoted one; a `---` that is not at the line start.
    refuses("a: 'x' \u{feff}\n", 1);
    refuses("a: 1\n\u{feff}---\nb: 2\n", 3);
}

// Patch 15. Anchor and alias names are `[0-9A-Za-z_-]` followed by a blank, a break or one of
// `?:,]}%@` and backquote (yaml.v3: "did not find expected alphabetic or numeric character").
#[test]
fn anchor_names_like_yaml_v3() {
    refuses("a: &x# c\n", 1);
    refuses("b: c\na: &x.y c\n", 2);
    refuses("a: &\u{e9} c\n", 1);
    accepts("a: &x c\n");
    accepts("a: &x-1_b\n  b: c\n");
    accepts("a: [&x 1, *x]\n");
    accepts("{&x : 1}\n");
}

// Patch 16. In flow context yaml.v3 skips a tab right after `?` (`{?\ta: b}`); block context
// refuses it ("found character that cannot start any token").
#[test]
fn tab_right_after_question_mark() {
    let s = accepts("{?\ta: b}\n");
    assert_eq!((s[0].0.as_str(), s[1].0.as_str()), ("a", "b"));
    refuses("?\ta: b\n", 1);
}

/// yaml.v3 (like libyaml and PyYAML) reads `a: |\n  x` at the very end of a stream as "x": the
/// last line has no line break to keep. Upstream saphyr added one, so a post-renderer that puts
/// a document after it could not see that this changes the text.
#[test]
fn a_block_scalar_ending_the_stream_gains_no_line_break() {
    for (text, want) in [("a: |\n  x", "x"), ("a: |+\n  x", "x"), ("a: >\n  x", "x"), ("a: |\n  x\n", "x\n")] {
        let values: Vec<String> = Parser::new_from_str(text)
            .filter_map(|e| match e.unwrap().0 {
                Event::Scalar(v, ..) => Some(v.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(values, ["a", want], "{text:?}");
    }
}

/// A block mapping `:` with no key before it (YAML 1.2 example 8.18): yaml.v3, like libyaml,
/// refuses it ("did not find expected key"), also after an explicit `? key` entry.
#[test]
fn a_value_without_a_key_is_refused() {
    for text in [": v\n", "a: 1\n: v\n", "? a\n: b\n: c\n", "x: {: v}\n", "x: {a: 1, : v}\n", "x: [: v]\n"] {
        assert!(Parser::new_from_str(text).any(|e| e.is_err()), "{text:?}");
    }
    for text in ["? a\n: b\n", "x: {? : v}\n", "x: [a: b]\n", "x: {a: }\n"] {
        assert!(Parser::new_from_str(text).all(|e| e.is_ok()), "{text:?}");
    }
}

// Patch 19. In flow context too, a `:` ends a plain scalar only before a blank, a line break or
// the end (libyaml's scan_plain_scalar): `,`, `]`, `}` after it end the scalar with the `:` in it.
// Upstream read `[b:]` as [{b: null}] and `{a:, b: 1}` with the key "a": same bytes, other meaning
// (maia-krm then wrote an annotation `auth-url` over the chart's `auth-url:` key).
#[test]
fn a_colon_before_a_flow_indicator_is_content() {
    let values = |text: &str| accepts(text).into_iter().map(|s| s.0).collect::<Vec<_>>();
    assert_eq!(values("x: [b:]\n"), ["x", "b:"]);
    assert_eq!(values("{a:, b: 1}\n"), ["a:", "", "b", "1"]);
    assert_eq!(values("a: {b: c:}\n"), ["a", "b", "c:"]);
    assert_eq!(values("a: [b::, c:d:, e]\n"), ["a", "b::", "c:d:", "e"]);
    assert_eq!(
        values("m:\n  annotations: {x.io/auth-url:, y: z}\n"),
        ["m", "annotations", "x.io/auth-url:", "", "y", "z"]
    );
    assert_eq!(values("spec:\n  containers: [{name: c, image: nginx:}]\n")[5], "nginx:");
    let s = accepts("k: [b:]\n");
    assert_eq!(scalar_at(&s, "b:", 4), (ScalarStyle::Plain, 6));
    // Still a key with an empty value, in both: a blank or a line break after the `:`.
    assert_eq!(values("x: [b: ]\n"), ["x", "b", ""]);
    assert_eq!(values("x: [b:\n]\n"), ["x", "b", ""]);
    assert_eq!(values("x: {\"a\":}\n"), ["x", "a", ""]);
    // Refused by both: the scalar `b:` followed by a collection with no `,` between.
    refuses("a: 1\nx: [b:[c]]\n", 2);
    refuses("x: {a:{b}}\n", 1);
}

// Patch 20. A block scalar's indentation is at least 1, at the top level too (libyaml's
// scan_block_scalar_breaks): text at column 0 after a root `|`/`>` ends it empty, and yaml.v3 then
// refuses the text ("did not find expected <document start>"); upstream read `--- |\nx` as "x\n".
// A line left of the indentation ends the scalar with no error of its own, so a comment there is
// read as a comment (upstream: "wrongly indented line in block scalar").
#[test]
fn a_root_block_scalar_needs_indented_text() {
    refuses("--- |\nx\n", 2);
    refuses("--- >\n\nx\n", 3);
    refuses("|-\nz\n---\na\n", 2);
    refuses("--- |1\nx\n", 2);
    let values = |text: &str| accepts(text).into_iter().map(|s| s.0).collect::<Vec<_>>();
    assert_eq!(values("--- |\n x\n"), ["x\n"]);
    assert_eq!(values("--- |1\n x\n"), ["x\n"]);
    assert_eq!(values("--- |\n# c\n"), [""]);
    assert_eq!(values("--- |\n\n# c\n---\na\n"), ["", "a"]);
    assert_eq!(values("a:\n  b: |4\n   # c\n  d: 1\n"), ["a", "b", "", "d", "1"]);
    // Refused by both, on the text's line: text left of an explicit indentation.
    refuses("a:\n  b: |4\n   x\n  d: 1\n", 3);
}

// Patch 21. After `...` the next document must start with `---` (after any directives): yaml.v3
// (libyaml's parse_document_start) lets only the stream's first document be implicit, and skips
// extra `...` only after a document. Upstream (YAML 1.2) read a bare second document, and skipped
// a `...` that starts the stream. maia-krm's splitter cuts such a bare document into a chunk of its
// own and refuses it (src/stream/split.rs, `Chunk::bare`).
#[test]
fn a_document_after_an_end_marker_needs_a_start_marker() {
    refuses("a\n...\nb\n", 3);
    refuses("a: 1\n...\n# c\nb: 2\n", 4);
    refuses("a: 1\n...\n...\nb: 2\n", 4);
    refuses("a: 1\n... # c\nb: 2\n", 3);
    refuses("a: 1\n...\n%YAML 1.1\nb: 2\n", 4);
    refuses("...\nb: 2\n", 1);
    refuses("# c\n...\n---\nb: 2\n", 2);
    let values = |text: &str| accepts(text).into_iter().map(|s| s.0).collect::<Vec<_>>();
    assert_eq!(values("a: 1\n...\n---\nb: 2\n"), ["a", "1", "b", "2"]);
    assert_eq!(values("a: 1\n...\n...\n# c\n"), ["a", "1"]);
    assert_eq!(values("a: 1\n...\n%YAML 1.1\n---\nb: 2\n...\n"), ["a", "1", "b", "2"]);
    assert_eq!(values("--- a\n...\n--- b\n"), ["a", "b"]);
    assert_eq!(values("\u{feff}a: 1\n"), ["a", "1"]);
}

/// Events up to and including the first error (the iterator does not end after one), as text:
/// the two speed patches' tests compare `new_from_str` with `new_from_iter` through it.
fn events<T: std::fmt::Debug, E: std::fmt::Debug>(it: impl Iterator<Item = Result<T, E>>) -> Vec<String> {
    let mut out = Vec::new();
    for e in it.take(1000) {
        let err = e.is_err();
        out.push(format!("{e:?}"));
        if err {
            break;
        }
    }
    out
}

// Speed patch (PATCHES.md, "speed, not behaviour"): `Parser::new_from_str` takes a plain scalar's
// ASCII run as one slice; `new_from_iter` (BufferedInput) still scans it char by char. Both must
// give the same events, spans (char indexes in both) and errors.
#[test]
fn plain_scalar_fast_path_matches_the_char_path() {
    // Debug of a `Cow` does not show whether it borrows, so the two inputs compare as text.
    let long = "abcdefghijklmnopqrstuvwxyz0123456789-_./";
    let mut cases: Vec<String> = [
        "a:b",
        "a#b",
        "x: a:b c",
        "{a: b:c, d: [e,f]}",
        "a: 1.10",
        "k: v # c",
        "k: v #c\n",
        "a: é",
        "é: a",
        "a: xé:y",
        "a: x\u{2028}y",
        "a: x\u{2028}  y\n",
        "a: x\u{2029}y",
        "a: x\u{85}y",
        "a: x\u{feff}y",
        "a:\u{2028}b",
        "a:é",
        "a: b:\n  c\n",
        "a: x y\n  z\n\n  w\n",
        "- a,b[c]{d}",
        "[a:b, c:, d:[e], f:{g}, h:,i]",
        "[b:]",
        "{a:, b: 1}",
        "{a: b:}",
        "[b::, c:d:, é:]",
        "{a:b}",
        "{a: b}}",
        "[a,]",
        "a: b: c",
        "a: b\n c: d",
        "a: b:",
        "a: b:\t",
        "a: b:\r\nc: d\r\n",
        "a:\tb",
        "-a: -b",
        "[-a, -]",
        "a: 'x'#c",
        "a: b#c d#e",
        "--- a\n... b\n",
        "a: ---b",
        "k: http://x:80/p?q=1#f",
        "k: [http://x:80/p]",
        "k: {u: a:1}",
        "a: x:\u{2028}y",
        "a: x:\u{85}",
        "a: x:é",
        "a: xy",
        "a",
        "",
        ":",
        "a:",
        "a: b\n\t\nc: d",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (i, tail) in ["", "é", ":", ": x", ",y", "\u{2028}z", " # c", "\n  more"].iter().enumerate() {
        cases.push(format!("k{i}: {long}{tail}{long}\n"));
        cases.push(format!("[{long}{tail}{long}, {long}]\n"));
        cases.push(format!("{{{long}{tail}: {long}{tail}{long}}}\n"));
    }
    for text in &cases {
        let fast = events(Parser::new_from_str(text));
        let slow = events(Parser::new_from_iter(text.chars()));
        assert_eq!(fast, slow, "{text:?}");
        plain_scalars_borrow_unless_they_span_lines(text);
    }
}

/// Speed patch (PATCHES.md row 22): every plain scalar `new_from_str` reads on one line is
/// `Cow::Borrowed`, and is exactly the input between its span's ends; one that spans lines (and so
/// folds) is owned. (Empty scalars the parser makes for missing nodes are `Cow::default()`.)
/// Returns how many were borrowed.
#[track_caller]
fn plain_scalars_borrow_unless_they_span_lines(text: &str) -> usize {
    use std::borrow::Cow;
    let byte = |char_index: usize| text.char_indices().nth(char_index).map_or(text.len(), |(b, _)| b);
    let range = text.as_bytes().as_ptr_range();
    let mut borrowed = 0;
    for event in Parser::new_from_str(text).take(1000) {
        let Ok((Event::Scalar(value, ScalarStyle::Plain, ..), span)) = event else {
            if event.is_err() {
                break;
            }
            continue;
        };
        if value.is_empty() {
            // An empty node the parser makes (`{a:, b}`), not a scalar the scanner read (it never
            // reads an empty plain scalar).
            continue;
        }
        if span.start.line() == span.end.line() {
            let Cow::Borrowed(slice) = value else {
                panic!("{text:?}: one-line plain scalar {value:?} is owned");
            };
            assert_eq!(slice, &text[byte(span.start.index())..byte(span.end.index())], "{text:?}");
            assert!(range.contains(&slice.as_ptr()), "{text:?}: {slice:?} is not a slice of the input");
            borrowed += 1;
        } else {
            assert!(matches!(value, Cow::Owned(_)), "{text:?}: {value:?} spans lines but is borrowed");
        }
    }
    borrowed
}

// Speed patch (PATCHES.md row 22): `new_from_str` returns a plain scalar that stays on one line as
// a slice of the input; one that continues on another line is copied then folded as before. The
// same events, spans and errors as `new_from_iter` (which builds every scalar char by char), and
// a borrowed value exactly when the scalar sits on one line.
#[test]
fn one_line_plain_scalars_are_borrowed_and_read_as_the_char_path() {
    let long = "abcdefghijklmnopqrstuvwxyz0123456789-_./ é日本 \tx";
    let mut cases: Vec<String> = [
        // spaces and tabs inside one line
        "k: one two  three\n",
        "k: a\tb \t c\n",
        "a b c",
        "a b: c d\n",
        "- a b\n- c  d\n",
        "? a b\n: c d\n",
        "- a b: c d",
        // trailing blanks, before a comment, a break or the end
        "k: one two   # c\n",
        "k: one two\t# c\n",
        "k: v   \n",
        "k: v \t",
        "a:  b  c  \nd: e\n",
        "k: x # c\n  y\n",
        "k: x #c\n",
        "k: x#y z\n",
        // non-ASCII
        "k: é ü 日本\n",
        "k: abc日本def ghi\n",
        "日本: é\n",
        "k: \u{feff}x y\n",
        "k: x\u{1F600}y z\n",
        // lines: folding, empty lines, CRLF, other breaks
        "k: a\n  b\n",
        "k: a b\n  c d\n",
        "k: a  \n  b\n",
        "k: a\n\n\n  b\n",
        "k: a\r\n  b\r\n",
        "k: a\r\n\r\n  b c\r\n",
        "k: a\n  b\n  c\n",
        "- a\n  b\n- c\n",
        "k: a\u{2028}b\n",
        "k: a \u{2029} b\n",
        "k: a\u{85}b\n",
        "k: a\n# c\nd: e\n",
        "k: a\n  #b\n",
        "a\n--- b\n",
        "a b\nc d\n",
        "k: a\n\tb\n",
        "k: a\n  b:\n",
        // flow context
        "[a b, c  d , e]",
        "[a b, c\n d, e\n\n f]",
        "{a b: c d, e: f\n  g}",
        "{a:b c, d: e f}",
        "[a b:c d, é ü]",
        "k: [x y , z ]  # c\n",
        "[a\u{2028}b]",
        "{ a : b }",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Scalars longer than `StrInput`'s 128-char lookahead, with blanks and non-ASCII in them.
    for tail in ["", " # c", "\n  more", "\n\n  more words", "\r\n  x"] {
        cases.push(format!("k: {long}{long}{long}{long}{tail}\n"));
        cases.push(format!("[{long}{long}{long}, {long}{tail}]\n"));
        cases.push(format!("{long}{long}: {long}{tail}\n"));
    }
    let mut borrowed = 0;
    for text in &cases {
        let fast = events(Parser::new_from_str(text));
        let slow = events(Parser::new_from_iter(text.chars()));
        assert_eq!(fast, slow, "{text:?}");
        borrowed += plain_scalars_borrow_unless_they_span_lines(text);
    }
    assert!(borrowed > 100, "{borrowed}");
    // Through `new_from_iter` nothing is borrowed: no `&str` to borrow from.
    for (event, _) in Parser::new_from_iter("k: a b".chars()).map(Result::unwrap) {
        if let Event::Scalar(value, ..) = event {
            assert!(matches!(value, std::borrow::Cow::Owned(_)));
        }
    }
}
