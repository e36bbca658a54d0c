//! The post-renderer path on arbitrary bytes: never panics, and whatever it accepts it transforms
//! idempotently (a second run over its own output changes nothing, byte for byte). Debug
//! assertions are on in fuzz builds, so every patched document is also re-parsed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use maia_krm::{pipeline, stream};

mod common;

fn render(text: &str, config: &maia_krm::config::Config) -> Option<String> {
    let out = pipeline::run(text, Some(Ok(config.clone())), 1).ok()?;
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
