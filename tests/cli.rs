//! The command-line contract: how config arrives, exit codes, and that a failure names the
//! document and line and leaves stdout empty (so Helm stops instead of installing half a release).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn maia_krm(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maia-krm"));
    cmd.args(args).env_remove("MAIA_KRM_CONFIG").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("binary runs");
    // The binary may exit before reading everything (bad config): a broken pipe here is fine.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("binary finishes")
}

fn with_config(stdin: &str) -> Output {
    let config = fixture("config-nginx.yaml");
    maia_krm(&["--config", config.to_str().unwrap()], &[], stdin.as_bytes())
}

const SA: &str =
    "---\n# Source: chart/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n";
const PATCHED_SA: &str = "imagePullSecrets:\n  - name: maia-docker-registry-secret\n";

fn assert_input_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout must stay empty on error, got {:?}", String::from_utf8_lossy(&out.stdout));
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}: {stderr}");
    }
}

#[test]
fn config_arrives_as_flag_equals_flag_env_var_or_two_files() {
    let config = fixture("config-nginx.yaml");
    let config = config.to_str().unwrap();
    let expected = format!("{SA}{PATCHED_SA}");
    let form_dir = tempdir();
    let form = form_dir.join("form.yaml");
    let cluster = form_dir.join("cluster.yaml");
    std::fs::write(&form, "group_ID: Demo_Group\ngroup_subdomain: demo-group\n").unwrap();
    std::fs::write(&cluster, "domain: maia.example.com\nimagePullSecrets: maia-docker-registry-secret\n").unwrap();
    for out in [
        maia_krm(&["--config", config], &[], SA.as_bytes()),
        maia_krm(&[&format!("--config={config}")], &[], SA.as_bytes()),
        maia_krm(&[], &[("MAIA_KRM_CONFIG", config)], SA.as_bytes()),
        maia_krm(&["--form", form.to_str().unwrap(), "--cluster", cluster.to_str().unwrap()], &[], SA.as_bytes()),
    ] {
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "stderr: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0));
    }
}

#[test]
fn bad_config_exits_2_and_names_each_key() {
    let dir = tempdir();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "kind: ConfigMap\ndata:\n  group_ID: \"Demo Group\"\n  domain: \"https://x\"\n").unwrap();
    let out = maia_krm(&["--config", bad.to_str().unwrap()], &[], SA.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("`group_ID`") && stderr.contains("`domain`"), "{stderr}");
}

#[test]
fn no_config_at_all_is_a_usage_error() {
    let out = maia_krm(&[], &[], SA.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config"));
}

#[test]
fn invalid_yaml_names_document_file_and_line() {
    let input =
        format!("{SA}---\n# Source: chart/templates/bad.yaml\napiVersion: v1\nkind: ConfigMap\ndata: [unclosed\n");
    assert_input_error(
        &with_config(&input),
        &["document 2", "chart/templates/bad.yaml", "line 12", "expected ',' or ']'"],
    );
}

#[test]
fn duplicate_keys_are_read_as_helm_reads_them_and_reported() {
    // Helm 3, Helm 4 and kubectl take the last occurrence; so does maia-krm, which patches the
    // resource (edits only ever go to the occurrence readers keep) and warns about the key.
    let dup = "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  name: b\n";
    let input = format!("{SA}{dup}");
    let config = fixture("config-nginx.yaml");
    let out = maia_krm(&["--config", config.to_str().unwrap(), "--explain"], &[], input.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let patched = format!("{dup}imagePullSecrets:\n  - name: maia-docker-registry-secret\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{SA}{PATCHED_SA}{patched}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("key \"name\" is repeated (line 12)"), "{stderr}");
}

#[test]
fn strict_duplicate_keys_refuses_them_at_the_second_key() {
    let dir = tempdir();
    let config = dir.join("strict.yaml");
    let base = std::fs::read_to_string(fixture("config-nginx.yaml")).unwrap();
    std::fs::write(&config, format!("{base}  strict_duplicate_keys: \"true\"\n")).unwrap();
    let input = format!("{SA}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n");
    let out = maia_krm(&["--config", config.to_str().unwrap()], &[], input.as_bytes());
    assert_input_error(&out, &["document 2", "line 12", "duplicate key \"name\""]);
}

#[test]
fn helm4_documents_are_named_by_their_filename_annotation() {
    let input = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/sa.yaml'\n  labels: [a\n";
    assert_input_error(&with_config(input), &["document 1", "c/templates/sa.yaml", "line 8"]);
}

#[test]
fn a_document_that_is_not_a_mapping_is_an_error() {
    assert_input_error(&with_config(&format!("{SA}---\n- a\n- b\n")), &["document 2", "a sequence, not a mapping"]);
    assert_input_error(&with_config("just a scalar\n"), &["document 1", "a scalar"]);
}

#[test]
fn a_document_after_an_end_marker_without_a_start_marker_is_an_error() {
    // Helm's reader (yaml.v3) reads no document after `...` unless it starts with `---`.
    let next = "# Source: chart/templates/b.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n";
    let out = with_config(&format!("{SA}...\n{next}"));
    assert_input_error(&out, &["document 2", "line 9", "did not find expected <document start>"]);
    let out = with_config(&format!("{SA}...\n---\n{next}"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn tabs_truncation_and_bad_bytes_are_errors() {
    assert_input_error(&with_config("kind: Pod\nspec:\n\tcontainers: []\n"), &["document 1", "line 3"]);
    assert_input_error(&with_config("kind: ConfigMap\ndata:\n  a: \"unterminated\n"), &["document 1"]);
    let out =
        maia_krm(&["--config", fixture("config-nginx.yaml").to_str().unwrap()], &[], b"kind: Pod\n---\nkind: \xff\n");
    assert_input_error(&out, &["document 2", "line 3", "UTF-8"]);
}

#[test]
fn an_empty_stream_passes_through() {
    // Helm 3 sends nothing when a chart renders no non-hook manifest: `cat` and kustomize pass
    // that through, and so must a post-renderer, or the install fails.
    for input in ["", "\n  \n"] {
        let out = with_config(input);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(out.stdout, input.as_bytes());
        assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
    }
}

#[test]
fn deep_nesting_hits_the_depth_budget() {
    let block: String = (0..300).map(|d| format!("{}k:\n", "  ".repeat(d))).collect();
    assert_input_error(&with_config(&format!("kind: ConfigMap\ndata:\n{block}")), &["document 1", "max_depth"]);
    // Flow nesting is stopped earlier by the parser's own guard (255 levels), just as cleanly.
    let flow = format!("kind: ConfigMap\ndata: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    assert_input_error(&with_config(&flow), &["document 1", "recursion limit"]);
}

#[test]
fn a_utf8_bom_and_crlf_stream_is_accepted() {
    let input = "\u{feff}apiVersion: v1\r\nkind: ServiceAccount\r\nmetadata:\r\n  name: sa\r\n";
    let out = with_config(input);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{input}imagePullSecrets:\r\n  - name: maia-docker-registry-secret\r\n")
    );
}

#[test]
fn explain_reports_changes_and_skips_on_stderr_only() {
    let config = fixture("config-nginx.yaml");
    let out = maia_krm(&["--config", config.to_str().unwrap(), "--explain"], &[], SA.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("document 1: ServiceAccount sa") && stderr.contains("changed  pull-secret"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{SA}{PATCHED_SA}"));
}

#[test]
fn a_closed_pipe_downstream_is_a_quiet_end() {
    let config = fixture("config-nginx.yaml");
    let big: String = (0..20_000).map(|i| format!("---\nkind: ConfigMap\nmetadata:\n  name: c{i}\n")).collect();
    let script = format!("{} --config {} | head -c 10 >/dev/null", env!("CARGO_BIN_EXE_maia-krm"), config.display());
    let mut child = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(big.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("maia-krm-test-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

#[test]
fn the_readme_documents_every_option_key() {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for (key, default, _) in maia_krm::config::OPTION_KEYS {
        assert!(
            readme.contains(&format!("| `{key}` | `{default}` |")),
            "README lacks option {key} with default {default}"
        );
    }
}

#[test]
fn secrets_in_the_config_never_reach_stderr_or_results() {
    const SECRETS: [&str; 4] = ["Sup3rS3cretRegistry", "KcS3cretClient", "M1n10S3cretKey", "M1n10Access"];
    let dir = tempdir();
    let config = |domain: &str| {
        format!(
            "kind: ConfigMap\ndata:\n  group-form.yaml: |\n    group_ID: Demo_Group\n    oauth_url: demo-group.maia.example.com\n    minio_access_key: {}\n    minio_secret_key: {}\n  cluster.yaml: |\n    domain: {domain}\n    nginx_cluster_issuer: ci\n    docker_server: ghcr.io/minnelab\n    docker_username: robot\n    docker_password: {}\n    keycloak: {{issuer_url: https://kc.example.com, client_id: maia, client_secret: {}}}\n",
            SECRETS[3], SECRETS[2], SECRETS[0], SECRETS[1]
        )
    };
    let good = dir.join("good.yaml");
    let bad = dir.join("bad.yaml");
    std::fs::write(&good, config("maia.example.com")).unwrap();
    std::fs::write(&bad, config("https://maia.example.com/")).unwrap();
    let stream = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules: [{http: {paths: []}}]\n---\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n";
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: sa}\n".to_string();
    let runs = [
        maia_krm(&["--config", good.to_str().unwrap(), "--explain"], &[], stream.as_bytes()),
        maia_krm(&["--config", bad.to_str().unwrap(), "--explain"], &[], stream.as_bytes()),
        maia_krm(&["--config", good.to_str().unwrap(), "--explain"], &[], list.as_bytes()),
        maia_krm(&["--config", bad.to_str().unwrap()], &[], list.as_bytes()),
    ];
    for out in runs {
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        for secret in SECRETS {
            assert!(!all.contains(secret), "{secret} leaked:\n{all}");
        }
    }
}

#[test]
fn an_undeclared_pod_spec_is_reported_not_touched() {
    let input = std::fs::read(fixture("undeclared/grafana.yaml")).unwrap();
    let golden = std::fs::read_to_string(fixture("undeclared/grafana.explain")).unwrap();
    let config = fixture("config-nginx.yaml");
    let out = maia_krm(&["--config", config.to_str().unwrap(), "--explain"], &[], &input);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, input);
    assert_eq!(String::from_utf8_lossy(&out.stderr), golden);
}

#[test]
fn a_pod_template_declared_in_the_config_map_is_patched() {
    let input = std::fs::read(fixture("undeclared/grafana.yaml")).unwrap();
    let config = fixture("config-pod-templates.yaml");
    let out = maia_krm(&["--config", config.to_str().unwrap()], &[], &input);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Read back by a YAML library that is not maia-krm's.
    let doc: serde_json::Value = serde_norway::from_slice(&out.stdout).unwrap();
    let spec = doc.pointer("/spec/deployment/spec/template/spec").unwrap();
    assert_eq!(spec["imagePullSecrets"], serde_json::json!([{"name": "maia-docker-registry-secret"}]));
    assert_eq!(
        spec["volumes"][2],
        serde_json::json!({"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}})
    );
    let mounts = spec["containers"][0]["volumeMounts"].as_array().unwrap();
    assert_eq!(mounts.last().unwrap(), &serde_json::json!({"name": "shared", "mountPath": "/home/maia-user/shared"}));
    assert_eq!(mounts.len(), 4);
}

#[test]
fn a_bad_pod_templates_entry_is_a_config_error_naming_the_key() {
    let dir = tempdir();
    let config = dir.join("config.yaml");
    let text = std::fs::read_to_string(fixture("config-pod-templates.yaml")).unwrap();
    std::fs::write(&config, text.replace("kind: Grafana", "kind: grafana")).unwrap();
    let out = maia_krm(&["--config", config.to_str().unwrap()], &[], SA.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`pod_templates`: entry 1: `kind`"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_undeclared_pod_spec_is_a_krm_info_result_naming_kind_and_path() {
    let grafana = std::fs::read_to_string(fixture("undeclared/grafana.yaml")).unwrap();
    let item: String = grafana.lines().filter(|l| !l.starts_with("---")).map(|l| format!("  {l}\n")).collect();
    let list = format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n-{}", &item[1..]);
    let config = fixture("config-nginx.yaml");
    let out = maia_krm(&["--config", config.to_str().unwrap()], &[], list.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_norway::from_slice(&out.stdout).unwrap();
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    let r = &results[0];
    assert_eq!(r["severity"], "info");
    assert_eq!(r["resourceRef"]["kind"], "Grafana");
    assert_eq!(r["field"]["path"], "spec.deployment.spec.template.spec");
    assert!(r["message"].as_str().unwrap().starts_with("pod-templates: looks like a pod spec"), "{r}");
    assert_eq!(
        doc["items"][0],
        serde_norway::from_str::<serde_json::Value>(&grafana).unwrap(),
        "the item is unchanged"
    );
}

#[test]
fn form_namespace_prints_the_namespace_of_a_valid_form_only() {
    let dir = tempdir();
    let form = dir.join("group-form.yaml");
    std::fs::write(&form, "group_ID: Demo_Group\nusers: [alice@example.com]\n").unwrap();
    let out = maia_krm(&["form", "namespace", "--form", form.to_str().unwrap()], &[], b"");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"demo-group\n");
    // The Argo CD plugin compares stdout with the Application's namespace: a bad form prints none.
    std::fs::write(&form, "group_ID: 'Demo Group'\n").unwrap();
    let out = maia_krm(&["form", "namespace", "--form", form.to_str().unwrap()], &[], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`group_ID`"));
}
