//! The whole transformation, as a pipeline you can read top to bottom: split the stream into
//! documents, run the patches over each (on all cores), then let patches add documents after it.

use std::borrow::Cow;

use crate::config::Config;
use crate::error::InputError;
use crate::patch::{self, Change, StreamSummary};
use crate::stream;
use crate::stream::edit::block_document;

/// The transformed stream: original documents (borrowed where untouched), new ones, and a report.
pub struct Transformed<'a> {
    pub documents: Vec<Cow<'a, str>>,
    pub new_documents: Vec<String>,
    pub changes: Vec<Change>,
}

/// Applies the enabled patches to a decoded manifest stream.
pub fn transform<'a>(input: &'a str, config: &Config, jobs: usize) -> Result<Transformed<'a>, InputError> {
    if input.trim().is_empty() {
        // Helm 4 rejects empty post-renderer output and Helm 3 would install an empty release:
        // an empty input almost always means something upstream broke, so say so.
        return Err(InputError { document: 0, file: None, line: 1, message: "the input stream is empty".into() });
    }
    let docs = stream::documents(input);
    let patches = patch::enabled(config);
    let results = stream::par_map(&docs, jobs, |doc| patch::run_document(doc, &patches, &config.options.limits));

    let mut summary = StreamSummary { documents: docs.len(), ..StreamSummary::default() };
    let mut out =
        Transformed { documents: Vec::with_capacity(docs.len()), new_documents: Vec::new(), changes: Vec::new() };
    for result in results {
        let patched = result?;
        out.documents.push(patched.text);
        out.changes.extend(patched.changes);
        summary.resources.extend(patched.resources);
        summary.marks.extend(patched.marks);
    }
    for new in patches.iter().flat_map(|p| p.new_documents(&summary)) {
        out.new_documents.push(block_document(&new.value));
        out.changes.push(new.change);
    }
    Ok(out)
}
