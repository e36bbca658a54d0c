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
}

/// Splits `input` into document chunks whose concatenation is `input`.
///
/// Text before the first `---` that holds only comments or blank lines is kept with the document
/// that follows, so a stream starting `# comment\n---\n...` does not grow an extra empty document.
/// Trailing comments after a `...` end marker stay with the document they follow.
pub fn split(input: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0; // byte offset where the current chunk began
    let mut start_line = 1;
    let mut has_content = false; // current chunk holds something besides comments and blanks
    let mut ended = false; // current chunk was closed by `...`
    let mut line_no = 1;
    let mut pos = 0;
    let bytes = input.as_bytes();
    while pos < bytes.len() {
        let line_end = memchr_newline(bytes, pos);
        let line = &input[pos..line_end];
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if is_marker(line, "---") {
            if has_content || ended {
                chunks.push(Chunk { text: &input[start..pos], first_line: start_line });
                start = pos;
                start_line = line_no;
            }
            has_content = true; // an explicit `---` always makes a document, even an empty one
            ended = false;
        } else if is_marker(line, "...") {
            ended = true;
        } else if !is_blank_or_comment(line) {
            if ended {
                // A bare document after `...` with no `---`: it starts here.
                chunks.push(Chunk { text: &input[start..pos], first_line: start_line });
                start = pos;
                start_line = line_no;
                ended = false;
            }
            has_content = true;
        }
        pos = if line_end < bytes.len() { line_end + 1 } else { line_end };
        line_no += 1;
    }
    if start < input.len() || chunks.is_empty() && !input.is_empty() {
        // Whatever remains (possibly only comments: Helm 3 keeps comment-only documents).
        chunks.push(Chunk { text: &input[start..], first_line: start_line });
    }
    chunks
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| from + i)
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
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
