//! The error contract, one case per row: each hostile or broken input is either handled
//! correctly (as documented in the README) or refused with an error naming document and line,
//! exit 1, empty stdout — never a panic, and always within a memory cap and a time limit.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Virtual memory cap for each run (KiB): far above what any case needs, far below "unbounded".
const MEMORY_CAP_KIB: u64 = 2 << 20;
const TIME_LIMIT: Duration = Duration::from_secs(20);

struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

/// The nginx fixture config with `extra` option lines, in a file of this test thread's own.
fn config_with(extra: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "maia-krm-contract-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    let base =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config-nginx.yaml"))
            .unwrap();
    std::fs::write(&config, format!("{base}{extra}")).unwrap();
    config
}

/// maia-krm with the fixture config and `extra_config`, under the memory cap, its streams piped.
fn spawn(extra_config: &str) -> std::process::Child {
    let config = config_with(extra_config);
    Command::new("bash")
        .args(["-c", &format!("ulimit -v {MEMORY_CAP_KIB}; exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_maia-krm")])
        .args(["--config", config.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(input: &[u8], extra_config: &str) -> Outcome {
    let mut child = spawn(extra_config);
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).unwrap();
        buf
    });
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            panic!("maia-krm did not finish within {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    Outcome { code: status.code(), stdout: out_reader.join().unwrap(), stderr: err }
}

/// Refused: exit 1, nothing on stdout, a message with each needle, no panic.
fn refused(input: &[u8], needles: &[&str]) {
    refused_with(input, "", needles);
}

fn refused_with(input: &[u8], config: &str, needles: &[&str]) {
    let out = run(input, config);
    assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "stdout must be empty on error");
    for n in needles {
        assert!(out.stderr.contains(n), "stderr lacks {n:?}: {}", out.stderr);
    }
}

/// Handled: exit 0; returns stdout.
fn handled(input: &[u8]) -> String {
    let out = run(input, "");
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    String::from_utf8(out.stdout).unwrap()
}

const HEAD: &str = "---\n# Source: c/templates/ok.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n";

#[test]
fn invalid_yaml() {
    refused(
        format!("{HEAD}---\n# Source: c/templates/bad.yaml\nkind: ConfigMap\ndata: {{a: [}}\n").as_bytes(),
        &["document 2", "c/templates/bad.yaml", "line 10"],
    );
}

#[test]
fn truncated_stream() {
    refused(format!("{HEAD}---\nkind: ConfigMap\ndata:\n  script: \"echo hi").as_bytes(), &["document 2", "line 10"]);
}

#[test]
fn tabs_in_indentation() {
    refused(format!("{HEAD}---\nkind: Pod\nspec:\n\tcontainers: []\n").as_bytes(), &["document 2", "line 10"]);
}

#[test]
fn a_scalar_or_a_list_at_document_level() {
    refused(format!("{HEAD}---\njust text\n").as_bytes(), &["document 2", "a scalar, not a mapping"]);
    refused(format!("{HEAD}---\n- a\n").as_bytes(), &["document 2", "a sequence, not a mapping"]);
}

#[test]
fn duplicate_keys_pass_through_unless_strict() {
    let input = format!("{HEAD}---\nkind: ConfigMap\ndata:\n  a: 1\n  a: 2\n");
    assert_eq!(handled(input.as_bytes()), input);
    refused_with(
        input.as_bytes(),
        "  strict_duplicate_keys: \"true\"\n",
        &["document 2", "line 11", "duplicate key \"a\""],
    );
}

#[test]
fn an_alias_bomb_is_never_expanded() {
    // "Billion laughs": ten levels of ten aliases. maia-krm never expands aliases, so this costs
    // what its text costs. The anchors are in the labels, so the pull secret still goes on the
    // ServiceAccount: every byte of the bomb is kept as it came.
    let mut bomb =
        String::from("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: lol\n  labels:\n    l0: &l0 lol\n");
    for level in 1..10 {
        let refs = vec![format!("*l{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("    l{level}: &l{level} [{refs}]\n"));
    }
    let patched = format!("{bomb}imagePullSecrets:\n  - name: maia-docker-registry-secret\n");
    assert_eq!(handled(bomb.as_bytes()), patched);
}

#[test]
fn a_100_mb_document_is_over_the_default_budget() {
    let big = format!("kind: ConfigMap\ndata:\n  blob: {}\n", "x".repeat(100 << 20));
    refused(big.as_bytes(), &["document 1", "max_document_bytes"]);
}

#[test]
fn the_whole_stream_has_a_budget_too() {
    refused_with(format!("{HEAD}{HEAD}").as_bytes(), "  max_stream_bytes: \"100\"\n", &["max_stream_bytes=100"]);
}

#[test]
fn nesting_10_000_deep() {
    let flow = format!("kind: ConfigMap\ndata: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    refused(flow.as_bytes(), &["document 1", "recursion limit"]);
    let block: String = (0..10_000).map(|d| format!("{}- \n", " ".repeat(d * 2))).collect();
    refused(format!("kind: ConfigMap\ndata:\n{block}").as_bytes(), &["document 1"]);
}

#[test]
fn non_utf8_bytes() {
    let mut input = HEAD.as_bytes().to_vec();
    input.extend_from_slice(b"---\nkind: ConfigMap\ndata:\n  a: \xc3\x28\n");
    refused(&input, &["document 2", "line 10", "invalid UTF-8"]);
}

#[test]
fn nul_bytes() {
    refused(format!("{HEAD}---\nkind: ConfigMap\ndata:\n  a: \"x\0y\"\n").as_bytes(), &["document 2", "line 10"]);
}

#[test]
fn a_utf8_bom_and_crlf_are_handled() {
    let input = "\u{feff}apiVersion: v1\r\nkind: ServiceAccount\r\nmetadata:\r\n  name: sa\r\n";
    assert_eq!(
        handled(input.as_bytes()),
        format!("{input}imagePullSecrets:\r\n  - name: maia-docker-registry-secret\r\n")
    );
}

#[test]
fn an_empty_stream_passes_through() {
    assert_eq!(handled(b""), "");
}

#[test]
fn a_stream_of_comments_passes_through() {
    let input = "# just\n# comments\n---\n# Source: c/templates/none.yaml\n";
    assert_eq!(handled(input.as_bytes()), input);
}

#[test]
fn a_list_kind_has_its_items_patched() {
    let input = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: a}\n";
    assert!(
        handled(input.as_bytes())
            .ends_with("  metadata: {name: a}\n  imagePullSecrets:\n    - name: maia-docker-registry-secret\n")
    );
}

#[test]
fn a_document_without_kind_or_metadata_passes_through() {
    let input = format!("{HEAD}---\nfoo: bar\n---\napiVersion: v1\nkind: ServiceAccount\n");
    let out = handled(input.as_bytes());
    assert!(out.contains("---\nfoo: bar\n---\n"), "{out}");
    assert!(out.ends_with("kind: ServiceAccount\nimagePullSecrets:\n  - name: maia-docker-registry-secret\n"));
}

#[test]
fn an_ingress_whose_rules_is_a_string_is_left_alone() {
    let input = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\nspec:\n  rules: \"oops\"\n";
    assert_eq!(handled(input.as_bytes()), input);
}

#[test]
fn a_pod_template_whose_containers_is_null_gets_only_the_pull_secret() {
    let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers: null\n";
    assert_eq!(
        handled(input.as_bytes()),
        format!("{input}      imagePullSecrets:\n        - name: maia-docker-registry-secret\n")
    );
}

/// Inputs the fuzzer once broke (tests/fuzz/run): each must now be accepted and transformed
/// idempotently with every edit passing the output check, or refused cleanly.
#[test]
fn fuzz_regressions_replay_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        let first = run(&input, "  traefik_resolver: letsencrypt\n  middleware: always\n  shared_hooks: \"true\"\n");
        assert!(!first.stderr.contains("panicked"), "{}: {}", path.display(), first.stderr);
        // A failed output check is safe (the document comes out as it came) but is a maia-krm bug.
        assert!(!first.stderr.contains("failed maia-krm's check"), "{}: {}", path.display(), first.stderr);
        match first.code {
            Some(0) => {
                let second = run(
                    &first.stdout,
                    "  traefik_resolver: letsencrypt\n  middleware: always\n  shared_hooks: \"true\"\n",
                );
                assert_eq!(second.code, Some(0), "{}: own output refused: {}", path.display(), second.stderr);
                assert_eq!(second.stdout, first.stdout, "{}: not idempotent", path.display());
            }
            Some(1) => assert!(first.stdout.is_empty(), "{}", path.display()),
            other => panic!("{}: exit {other:?}: {}", path.display(), first.stderr),
        }
    }
}

#[test]
fn a_stream_over_the_limit_is_refused_before_it_is_read_whole() {
    // max_stream_bytes 1 MiB, and 200 MiB offered: maia-krm reads one byte past the limit and
    // stops, so the writer is cut off (EPIPE) after little more than the limit and a pipe buffer.
    let mut child = spawn("  max_stream_bytes: \"1048576\"\n");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = "a: b\n".repeat(13107); // 64 KiB
        let mut written = 0usize;
        while written < 200 << 20 {
            if stdin.write_all(chunk.as_bytes()).is_err() {
                break;
            }
            written += chunk.len();
        }
        written
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_stream_bytes=1048576"));
    assert!(written < 8 << 20, "maia-krm read {written} bytes of a stream over a 1 MiB limit");
}
