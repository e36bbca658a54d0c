//! Config loading on arbitrary bytes (a ConfigMap file): errors are fine, panics are not, and an
//! accepted config only ever yields names and hosts that passed validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use maia_krm::config::{parse_yaml, validate, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(object) = parse_yaml(text) else { return };
    if let Ok(config) = Config::from_object(&object) {
        validate::dns_label(&config.namespace()).unwrap();
        validate::host(&config.workspace_host()).unwrap();
        if let Some(url) = &config.form.oauth_url {
            validate::host(url).unwrap();
        }
    }
});
