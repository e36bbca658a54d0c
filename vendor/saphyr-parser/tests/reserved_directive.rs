use saphyr_parser::{Parser, ScanError};

// ZYU8: Directive variants
// In YAML 1.2, a directive name is any non‑space, non‑line‑break sequence of characters.
// maia-krm: PATCHES.md row 9: yaml.v3 reads only %YAML and %TAG and refuses any other directive
// name, so these reserved directives, which upstream read and ignored, are refused.
fn first_error(yaml: &str) -> Option<ScanError> {
    Parser::new_from_str(yaml).find_map(Result::err)
}

#[test]
fn yaml_zyu8_directive_variant_yaml11_null_document() {
    // yaml.v3: "found unexpected non-alphabetical character".
    let err = first_error("%YAML1.1\n---\n").expect("refused");
    assert!(err.info().starts_with("found unknown directive name %YAML1.1"), "{}", err.info());
}

#[test]
fn yaml_reserved_directive_stars() {
    // yaml.v3: "could not find expected directive name".
    let err = first_error("%***\n---\n").expect("refused");
    assert!(err.info().starts_with("found unknown directive name %***"), "{}", err.info());
}

#[test]
fn yaml_bad_yaml_directive() {
    let yaml = "%YAML 1.1 1.2\n---\n";
    let mut got_err: Option<ScanError> = None;

    for item in Parser::new_from_str(yaml) {
        if let Err(e) = item {
            got_err = Some(e);
            break;
        }
    }
    // This should fail because "YAML" is a defined directive and it has too many parameters.
    assert!(got_err.is_some());
    assert!(
        got_err
            .unwrap()
            .info()
            .contains("did not find expected comment or line break")
    );
}

#[test]
fn yaml_reserved_directive_with_params() {
    // yaml.v3: "found unknown directive name".
    let err = first_error("%FOO bar baz\n---\n").expect("refused");
    assert!(err.info().starts_with("found unknown directive name %FOO"), "{}", err.info());
}

#[test]
fn yaml_reserved_directive_at_end_of_input() {
    // Scanning a directive from an iterator used to loop forever at the end of the input.
    let yaml = "%FOO";
    let got_err = Parser::new_from_iter(yaml.chars()).find_map(Result::err);
    // maia-krm: PATCHES.md row 9: the unknown directive is refused before the missing `---`.
    assert_eq!(
        got_err.unwrap().info(),
        "found unknown directive name %FOO (yaml.v3 reads only %YAML and %TAG)"
    );
}
