//! The KRM function path (one ResourceList through `pipeline::run`) on arbitrary bytes: never
//! panics, no edit fails maia-krm's own check, its own output is accepted again, and when the
//! first run reports no conflict (conflicts are reported as results again on every run) the
//! second run changes nothing, byte for byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use maia_krm::patch::Outcome;
use maia_krm::pipeline::{self, Transformed};
use maia_krm::{krm, stream};

mod common;

fn run(text: &str) -> Option<(String, Transformed<'_>)> {
    let out = pipeline::run(text, Some(Ok(common::config())), 1).ok()?;
    if let Some(failed) = out.changes.iter().find(|c| c.patch == pipeline::CHECK) {
        panic!("an edit failed the check: {}", failed.message);
    }
    let mut bytes = Vec::new();
    stream::write(&mut bytes, &out.documents, &out.new_documents).unwrap();
    Some((String::from_utf8(bytes).expect("output of UTF-8 input is UTF-8"), out))
}

fuzz_target!(|data: &[u8]| {
    let config = common::config();
    let Ok(text) = stream::decode(data, &config.options.limits) else { return };
    let docs = stream::documents(text);
    let [doc] = docs.as_slice() else { return };
    if !krm::is_resource_list(doc, false) {
        return;
    }
    let Some((once, first)) = run(text) else { return };
    if first.failed.is_some() {
        return;
    }
    let (twice, _) = run(&once).expect("maia-krm must accept its own output");
    if first.changes.iter().all(|c| c.outcome != Outcome::Conflict) {
        assert_eq!(once, twice, "not idempotent");
    }
});
