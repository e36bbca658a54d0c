//! The manifest stream: read documents with their original text, write them back.
//!
//! Like kyaml's `kio` reader and writer, but a document is kept as the slice of input it came
//! from; only documents a patch changes are rebuilt, by splicing (see [`edit`]).

pub mod check;
pub mod edit;
pub mod rewrite;
pub mod scalar;
pub mod skim;
pub mod split;
pub mod tree;

use std::borrow::Cow;
use std::io::Write;

use crate::error::InputError;

/// Budgets that keep a hostile or broken stream from costing unbounded time or memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Deepest nesting of collections in a document.
    pub max_depth: usize,
    /// Largest single document, in bytes.
    pub max_document_bytes: usize,
    /// Largest whole input, in bytes.
    pub max_stream_bytes: usize,
    /// Refuse a mapping that repeats a key. Go's readers (Helm, kubectl) take the last one, so by
    /// default maia-krm reads it the same way, warns, and leaves that resource alone.
    pub strict_duplicate_keys: bool,
}

impl Default for Limits {
    fn default() -> Self {
        // Kubernetes objects stay under ~1.5 MB (etcd's request limit) and a few dozen levels deep;
        // these leave ample room for CRDs and bundles while refusing pathological input.
        Limits { max_depth: 256, max_document_bytes: 32 << 20, max_stream_bytes: 1 << 30, strict_duplicate_keys: false }
    }
}

/// One document of the stream, borrowed from the input.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a> {
    /// 1-based position in the stream.
    pub index: usize,
    pub text: &'a str,
    /// 1-based line of the document's first line in the stream.
    pub first_line: usize,
    /// Content after a `...` line with no `---` of its own, which yaml.v3 refuses (see
    /// [`check_start`]).
    pub bare: bool,
}

const HELM4_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

impl<'a> Doc<'a> {
    /// The chart file this document came from: Helm 3's `# Source:` comment or Helm 4's
    /// filename annotation. Found by a line scan so it works even when the YAML is broken.
    pub fn file(&self) -> Option<&'a str> {
        self.text.lines().find_map(|line| {
            let line = line.trim_end_matches('\r');
            if let Some(src) = line.strip_prefix("# Source: ") {
                return Some(src.trim());
            }
            let (_, value) = line.trim_start().split_once(HELM4_FILENAME)?;
            let value = value.trim_start_matches(['"', '\'']).strip_prefix(':')?;
            Some(value.trim().trim_matches(['"', '\'']))
        })
    }

    /// An error at `line` (1-based, within this document).
    pub fn error(&self, line: usize, message: impl Into<String>) -> InputError {
        InputError {
            document: self.index,
            file: self.file().map(str::to_string),
            line: self.first_line + line.saturating_sub(1),
            message: message.into(),
        }
    }
}

/// The value of the document's top-level `key:` line (`kind`, `apiVersion`), found without
/// parsing. None when there is no such line, or more than one (the parser then decides).
pub fn top_level<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    // `\n<key>:` on the stack: this runs for every document, twice.
    let mut buf = [0u8; 32];
    let needle = &mut buf[..key.len() + 2];
    needle[0] = b'\n';
    needle[1..=key.len()].copy_from_slice(key.as_bytes());
    needle[key.len() + 1] = b':';
    let starts = text.as_bytes().starts_with(&needle[1..]).then_some(0).into_iter();
    let mut found = starts.chain(memchr::memmem::find_iter(text.as_bytes(), needle).map(|i| i + 1));
    let at = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let rest = &text[at + key.len() + 1..];
    let value = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let value = value.split(" #").next().unwrap_or_default().trim();
    Some(value.trim_matches(|c| c == '"' || c == '\''))
}

/// Checks the raw input against the budgets and decodes it as UTF-8, naming the document and
/// line of the first bad byte.
pub fn decode<'a>(bytes: &'a [u8], limits: &Limits) -> Result<&'a str, InputError> {
    if bytes.len() > limits.max_stream_bytes {
        return Err(InputError {
            document: 0,
            file: None,
            line: 1,
            message: format!("input is over the limit max_stream_bytes={} bytes", limits.max_stream_bytes),
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("prefix is valid");
        let docs = documents(valid);
        let line = valid.matches('\n').count() + 1;
        let doc = docs.last().copied().unwrap_or(Doc { index: 1, text: "", first_line: 1, bare: false });
        InputError {
            document: doc.index,
            file: doc.file().map(str::to_string),
            line,
            message: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        }
    })
}

/// The documents of the stream, in order, covering every byte of it.
pub fn documents(input: &str) -> Vec<Doc<'_>> {
    split::split(input)
        .into_iter()
        .enumerate()
        .map(|(i, c)| Doc { index: i + 1, text: c.text, first_line: c.first_line, bare: c.bare })
        .collect()
}

/// Writes the documents back as one stream, followed by new documents in the given order.
pub fn write(out: &mut (impl Write + ?Sized), docs: &[Cow<str>], new_docs: &[String]) -> std::io::Result<()> {
    for doc in docs {
        out.write_all(doc.as_bytes())?;
    }
    let ends_open = docs.last().is_some_and(|d| !d.is_empty() && !d.ends_with('\n'));
    if ends_open && !new_docs.is_empty() {
        out.write_all(b"\n")?;
    }
    for doc in new_docs {
        out.write_all(b"---\n")?;
        out.write_all(doc.as_bytes())?;
    }
    Ok(())
}

/// Runs `f` over the documents on all cores, keeping document order. Documents are independent,
/// so contiguous runs of them (balanced by size) go to each worker.
pub fn par_map<'a, T: Send>(docs: &[Doc<'a>], jobs: usize, f: impl Fn(&Doc<'a>) -> T + Sync) -> Vec<T> {
    let total: usize = docs.iter().map(|d| d.text.len()).sum();
    if jobs <= 1 || docs.len() < 2 || total < 256 << 10 {
        return docs.iter().map(&f).collect();
    }
    let per_job = total.div_ceil(jobs);
    let mut groups: Vec<&[Doc<'a>]> = Vec::with_capacity(jobs);
    let (mut from, mut size) = (0, 0);
    for (i, d) in docs.iter().enumerate() {
        size += d.text.len();
        if size >= per_job {
            groups.push(&docs[from..=i]);
            (from, size) = (i + 1, 0);
        }
    }
    groups.push(&docs[from..]);
    std::thread::scope(|s| {
        let handles: Vec<_> = groups.iter().map(|g| s.spawn(|| g.iter().map(&f).collect::<Vec<T>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker panicked")).collect()
    })
}

/// A document after `...` must start with `---`: yaml.v3 (Helm's reader) reads no document from
/// `a: 1\n...\nb: 2` past the first and fails with "did not find expected <document start>".
/// The splitter cut the bare content into a document of its own; refuse it on its first line.
pub fn check_start(doc: &Doc) -> Result<(), InputError> {
    if doc.bare {
        return Err(
            doc.error(1, "did not find expected <document start>: after a `...` line a document starts with `---`")
        );
    }
    Ok(())
}

/// Byte length of a document text, checked against the budget.
pub fn check_size(doc: &Doc, limits: &Limits) -> Result<(), InputError> {
    if doc.text.len() > limits.max_document_bytes {
        return Err(doc.error(
            1,
            format!(
                "document is {} bytes, over the limit max_document_bytes={}",
                doc.text.len(),
                limits.max_document_bytes
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_both_framings() {
        let d = documents(
            "---\n# Source: c/templates/a.yaml\nkind: A\n---\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/b.yaml'\n",
        );
        assert_eq!(d[0].file(), Some("c/templates/a.yaml"));
        assert_eq!(d[1].file(), Some("c/templates/b.yaml"));
    }

    #[test]
    fn top_level_lines_by_scan() {
        assert_eq!(top_level("apiVersion: v1\nkind: \"ConfigMap\" # c\r\n", "kind"), Some("ConfigMap"));
        assert_eq!(top_level("apiVersion: v1\nkind: \"ConfigMap\" # c\r\n", "apiVersion"), Some("v1"));
        assert_eq!(top_level("spec:\n  kind: Nested\n", "kind"), None);
        assert_eq!(top_level("kind: A\nkind: B\n", "kind"), None);
    }

    #[test]
    fn utf8_errors_name_document_and_line() {
        let e = decode(b"a: 1\n---\n# Source: x.yaml\nb: \xff\n", &Limits::default()).unwrap_err();
        assert_eq!((e.document, e.line, e.file.as_deref()), (2, 4, Some("x.yaml")));
    }

    #[test]
    fn par_map_keeps_order() {
        let text: String = (0..5000).map(|i| format!("---\nk: {i}\n")).collect::<String>().repeat(10);
        let docs = documents(&text);
        let out = par_map(&docs, 2, |d| d.index);
        assert_eq!(out, (1..=docs.len()).collect::<Vec<_>>());
    }

    #[test]
    fn new_documents_follow_an_unterminated_last_document() {
        let mut out = Vec::new();
        write(&mut out, &[Cow::Borrowed("a: 1")], &["b: 2\n".to_string()]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a: 1\n---\nb: 2\n");
    }
}
