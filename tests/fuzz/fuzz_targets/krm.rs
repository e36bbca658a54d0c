//! The KRM function path on arbitrary bytes: never panics, and a successful run over its own
//! output changes nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use maia_krm::krm;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if !krm::is_resource_list(text, true) {
        return;
    }
    if let Ok(run) = krm::run(text, Some(Ok(common::config()))) {
        if run.error.is_none() {
            let again = krm::run(&run.output, Some(Ok(common::config()))).expect("own output is accepted");
            assert_eq!(again.output, run.output, "not idempotent");
        }
    }
});
