//! The post-renderer path on arbitrary bytes: never panics, whatever it accepts it transforms
//! idempotently (a second run over its own output changes nothing, byte for byte), and no edit
//! ever fails maia-krm's own check. The check runs in every build and fails safe (the resource
//! is left as it came, reported as a `check` conflict), so without the last assertion a broken
//! edit would go unnoticed here; a failed check is a maia-krm bug even when nothing breaks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use maia_krm::{pipeline, stream};

mod common;

fn render(text: &str, config: &maia_krm::config::Config) -> Option<String> {
    let out = pipeline::run(text, Some(Ok(config.clone())), 1).ok()?;
    if let Some(failed) = out.changes.iter().find(|c| c.patch == pipeline::CHECK) {
        panic!("an edit failed the check: {}", failed.message);
    }
    let mut bytes = Vec::new();
    stream::write(&mut bytes, &out.documents, &out.new_documents).unwrap();
    Some(String::from_utf8(bytes).expect("output of UTF-8 input is UTF-8"))
}

fuzz_target!(|data: &[u8]| {
    let config = common::config();
    let Ok(text) = stream::decode(data, &config.options.limits) else { return };
    if let Some(once) = render(text, &config) {
        let twice = render(&once, &config).expect("maia-krm must accept its own output");
        assert_eq!(once, twice, "not idempotent");
    }
});
