//! Cuts a stream into documents by scanning lines, keeping every byte.
//!
//! A line starting with `---` (or `...`) followed by a blank or end of line can never be part of a
//! scalar (YAML 1.2 §9.1.4 "c-forbidden"), so a line scan finds document boundaries exactly without
//! parsing. That lets untouched documents be copied out as the slices they came in as, and lets
//! documents be parsed independently (and in parallel).

/// One document of the input stream, as the exact text it arrived with.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// The document's text, including its `---` line, comments and trailing newline.
    pub text: &'a str,
    /// 1-based line number of `text`'s first line in the whole stream.
    pub first_line: usize,
    /// Content after a `...` line that does not start with `---` (or a directive before one):
    /// yaml.v3, Helm's reader, refuses it ("did not find expected <document start>").
    pub bare: bool,
}

/// Splits `input` into document chunks whose concatenation is `input`.
///
/// Text before the first `---` that holds only comments or blank lines is kept with the document
/// that follows, so a stream starting `# comment\n---\n...` does not grow an extra empty document.
/// Trailing comments after a `...` end marker stay with the document they follow; content after
/// them that does not start with `---` is a chunk of its own, marked [`Chunk::bare`].
pub fn split(input: &str) -> Vec<Chunk<'_>> {
    let mut cutter = Cutter { input, chunks: Vec::new(), start: 0, start_line: 1, bare: false };
    let mut ended = None; // where the `...` line closing the current chunk ends
    // Only lines starting with `-` or `.` can be markers: visit just those.
    for pos in line_starts_with_marker_char(input.as_bytes()) {
        let line_end = line_end(input.as_bytes(), pos);
        let line = &input[pos..line_end];
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        let is_start = is_marker(line, "---");
        if !is_start && !is_marker(line, "...") {
            continue;
        }
        // After a `...`, what follows up to here is a bare document (or directives for the next).
        let bare = ended.is_some_and(|after| cutter.cut_bare_document(after, pos));
        // A byte order mark starting the stream is no content (yaml.v3 drops it), even before a directive.
        let from = if cutter.start == 0 && input.starts_with('\u{feff}') { pos.min(3) } else { cutter.start };
        if is_start && ((ended.is_some() && !bare) || has_content(&input[from..pos])) {
            // Directives right before the `---` (yaml.v3 reads them even without a `...`) open
            // the next document.
            cutter.cut(from + directives_at_end(&input[from..pos]).unwrap_or(pos - from));
        }
        ended = (!is_start).then(|| (line_end + 1).min(input.len()));
    }
    if let Some(after) = ended {
        cutter.cut_bare_document(after, input.len());
    }
    if cutter.start < input.len() {
        // Whatever remains (possibly only comments: Helm 3 keeps comment-only documents).
        cutter.cut(input.len());
    }
    cutter.chunks
}

struct Cutter<'a> {
    input: &'a str,
    chunks: Vec<Chunk<'a>>,
    start: usize,
    start_line: usize,
    /// Whether the open chunk is a bare document after `...`.
    bare: bool,
}

impl<'a> Cutter<'a> {
    /// Ends the current chunk at `at`.
    fn cut(&mut self, at: usize) {
        let text = &self.input[self.start..at];
        self.chunks.push(Chunk { text, first_line: self.start_line, bare: self.bare });
        self.start_line += line_breaks(text.as_bytes());
        self.start = at;
        self.bare = false;
    }

    /// Content between a `...` line (ending at `after`) and `until`, with no `---` of its own, is
    /// a bare document: the closed chunk keeps its trailing comments, the bare one starts at its
    /// content. Unless that content is a directive (the parser then wants its `---`), yaml.v3
    /// refuses it, so the chunk is marked.
    fn cut_bare_document(&mut self, after: usize, until: usize) -> bool {
        let found = first_content_line(&self.input[after..until]);
        if let Some(rel) = found {
            self.cut(after + rel);
            let rest = &self.input[after + rel..until];
            self.bare = !is_directive(&rest[..line_end(rest.as_bytes(), 0)]);
        }
        found.is_some()
    }
}

/// Offsets of lines whose first byte (after a BOM on the first line) is `-` or `.`, in order.
fn line_starts_with_marker_char(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let first = bytes.strip_prefix("\u{feff}".as_bytes()).map_or(bytes, |b| b);
    let at_start = matches!(first.first(), Some(b'-' | b'.')).then_some(0);
    let marker_char = |p: &usize| matches!(bytes.get(*p), Some(b'-' | b'.'));
    let mut starts: Vec<usize> = at_start.into_iter().chain(line_starts(bytes).filter(marker_char)).collect();
    let unicode: Vec<usize> = unicode_line_starts(bytes).filter(marker_char).collect();
    if !unicode.is_empty() {
        starts.extend(unicode);
        starts.sort_unstable();
    }
    starts.into_iter()
}

/// Offsets after U+0085, U+2028 or U+2029: line breaks to yaml.v3 (libyaml), so a `---` after
/// one starts a document there. Rare in manifests; one SIMD pass finds their lead bytes.
fn unicode_line_starts(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(0xC2, 0xE2, bytes).filter_map(|i| match &bytes[i..] {
        [0xC2, 0x85, ..] => Some(i + 2),
        [0xE2, 0x80, 0xA8 | 0xA9, ..] => Some(i + 3),
        _ => None,
    })
}

/// Offsets where a line starts after a line break. YAML breaks lines at `\n`, `\r\n` and a lone
/// `\r` (old Mac files, or a stray one in a template): all three count.
fn line_starts(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| !(bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n')))
        .map(|i| i + 1)
}

/// How many line breaks `bytes` holds: LF (counted with SIMD, the hot path on big streams) plus
/// lone CRs (a scan that finds nothing in ordinary input).
fn line_breaks(bytes: &[u8]) -> usize {
    let lone_cr = memchr::memchr_iter(b'\r', bytes).filter(|&i| bytes.get(i + 1) != Some(&b'\n')).count();
    memchr::memchr_iter(b'\n', bytes).count() + lone_cr
}

/// Where the line starting at `from` ends (at its line break, or the end of input).
fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr2(b'\n', b'\r', &bytes[from..]).map_or(bytes.len(), |i| from + i)
}

/// Offset of the first line holding something besides blanks and comments: where the next
/// document starts (a `%YAML`/`%TAG` directive belongs to the document after it).
fn first_content_line(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    std::iter::once(0)
        .chain(line_starts(bytes))
        .find(|&start| start < bytes.len() && !is_blank_or_comment(&text[start..line_end(bytes, start)]))
}

/// Whether text before a `---` is a document of its own, rather than comments and directives
/// that go with the document the `---` starts.
fn has_content(text: &str) -> bool {
    let bytes = text.as_bytes();
    std::iter::once(0).chain(line_starts(bytes)).any(|start| {
        let line = &text[start.min(bytes.len())..line_end(bytes, start.min(bytes.len()))];
        !is_blank_or_comment(line) && !is_directive(line)
    })
}

/// Where a run of directive, comment and blank lines that ends `text` starts, if it holds a
/// directive and follows some content.
fn directives_at_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let starts: Vec<usize> = std::iter::once(0).chain(line_starts(bytes)).filter(|&s| s < bytes.len()).collect();
    let mut run = None;
    for &start in starts.iter().rev() {
        let line = &text[start..line_end(bytes, start)];
        if is_directive(line) {
            run = Some(start);
        } else if !is_blank_or_comment(line) {
            break;
        }
    }
    run.filter(|&at| has_content(&text[..at]))
}

/// `%YAML 1.1`, `%TAG ! tag:...`: a `%`, a name, then blanks or the end of the line.
fn is_directive(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('%') else { return false };
    let name = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    name > 0 && (rest.len() == name || rest[name..].starts_with([' ', '\t', '\r']))
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t', '\r']);
    t.is_empty() || t.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<&str> {
        let chunks = split(input);
        assert_eq!(chunks.iter().map(|c| c.text).collect::<String>(), input, "chunks must cover the input");
        chunks.into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn helm3_framing_keeps_source_comments_with_their_document() {
        let s = "---\n# Source: a.yaml\nkind: A\n---\n# Source: b.yaml\nkind: B\n";
        assert_eq!(texts(s), ["---\n# Source: a.yaml\nkind: A\n", "---\n# Source: b.yaml\nkind: B\n"]);
    }

    #[test]
    fn helm4_framing_has_no_leading_marker() {
        assert_eq!(texts("kind: A\n---\nkind: B\n"), ["kind: A\n", "---\nkind: B\n"]);
    }

    #[test]
    fn comment_only_documents_are_documents() {
        assert_eq!(texts("---\n# Source: x\n---\nkind: B\n"), ["---\n# Source: x\n", "---\nkind: B\n"]);
    }

    #[test]
    fn leading_comments_join_the_first_document() {
        assert_eq!(texts("# hello\n---\nkind: A\n"), ["# hello\n---\nkind: A\n"]);
    }

    #[test]
    fn markers_inside_words_or_indented_are_content() {
        let s = "a: |\n  ---\n---x: 1\n";
        assert_eq!(texts(s), [s]);
    }

    #[test]
    fn crlf_and_marker_comments() {
        assert_eq!(texts("a: 1\r\n--- # c\r\nb: 2\r\n"), ["a: 1\r\n", "--- # c\r\nb: 2\r\n"]);
    }

    #[test]
    fn bare_document_after_end_marker() {
        assert_eq!(texts("a: 1\n...\n# tail\nb: 2\n"), ["a: 1\n...\n# tail\n", "b: 2\n"]);
        // yaml.v3 refuses a document after `...` that does not start with `---`: marked bare.
        let bare = |input| split(input).iter().map(|c| c.bare).collect::<Vec<_>>();
        assert_eq!(bare("a: 1\n...\n# tail\nb: 2\n"), [false, true]);
        assert_eq!(bare("a: 1\n...\n...\nb: 2\n---\nc: 3\n"), [false, true, false]);
        assert_eq!(bare("a: 1\n...\n---\nb: 2\n...\n# tail\n"), [false, false]);
        assert_eq!(bare("a: 1\n...\n%YAML 1.1\n---\nb: 2\n"), [false, false]);
        assert_eq!(bare("a: 1\n---\nb: 2\n"), [false, false]);
        assert_eq!(split("a: 1\n...\n\n# c\nb: 2\n")[1].first_line, 5);
    }

    #[test]
    fn a_lone_carriage_return_breaks_lines_as_yaml_says() {
        // Found by the fuzzer: `{}` after a comment and a bare CR is content, not part of the comment.
        assert_eq!(texts("# c\r{}\n---\nkind: B\n"), ["# c\r{}\n", "---\nkind: B\n"]);
        assert_eq!(texts("a: 1\r---\rb: 2\r"), ["a: 1\r", "---\rb: 2\r"]);
        assert_eq!(split("a: 1\r\n---\r\nb: 2\r\n")[1].first_line, 2);
    }

    #[test]
    fn directives_go_with_the_document_they_precede() {
        assert_eq!(texts("%YAML 1.1\n---\nkind: A\n"), ["%YAML 1.1\n---\nkind: A\n"]);
        assert_eq!(
            texts("kind: A\n...\n%YAML 1.1\n%TAG !e! tag:e.com,2000:\n---\nkind: B\n"),
            ["kind: A\n...\n", "%YAML 1.1\n%TAG !e! tag:e.com,2000:\n---\nkind: B\n"]
        );
        // yaml.v3 also reads a directive after a document that has no `...`.
        assert_eq!(texts("kind: A\n%YAML 1.1\n---\nkind: B\n"), ["kind: A\n", "%YAML 1.1\n---\nkind: B\n"]);
        // A byte order mark before the first directive is dropped by yaml.v3, not content.
        assert_eq!(texts("\u{feff}%YAML 1.1\n---\nkind: A\n"), ["\u{feff}%YAML 1.1\n---\nkind: A\n"]);
        assert_eq!(
            texts("\u{feff}%TAG !e! tag:e.com,2000:\n---\nkind: A\n---\nkind: B\n"),
            ["\u{feff}%TAG !e! tag:e.com,2000:\n---\nkind: A\n", "---\nkind: B\n"]
        );
    }

    #[test]
    fn a_unicode_line_break_before_a_marker_starts_a_document() {
        // yaml.v3 takes U+2028 (and U+2029, U+0085) for a line break, so `---` after one is a marker.
        assert_eq!(texts("a: 1\u{2028}---\nb: 2\n"), ["a: 1\u{2028}", "---\nb: 2\n"]);
        assert_eq!(texts("a: x\u{2028}y\n"), ["a: x\u{2028}y\n"]);
    }

    #[test]
    fn line_numbers_count_from_one() {
        let c = split("a: 1\n---\nb: 2\n");
        assert_eq!((c[0].first_line, c[1].first_line), (1, 2));
    }

    #[test]
    fn empty_input_has_no_documents() {
        assert!(split("").is_empty());
    }
}
