//! `namespace`: the workspace namespace's own resources — the Namespace, the registry pull
//! Secret, the shared PVC, and with `gateway.listenerSet` the workspace's ListenerSet and its
//! Certificate. One place owns them: a Helm release that emitted them would fight
//! every other release of the workspace over ownership, so the post-renderer never does.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value as Json, json};

use crate::config::{Config, ConfigError};
use crate::patch::objects;

/// Where the registry password comes from, first match wins: `--registry-password-file`, the
/// env var `MAIA_REGISTRY_PASSWORD`, then `docker_password` in the cluster config. Never argv.
pub fn registry_password(file: Option<&Path>, config: &Config) -> Result<String, ConfigError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_string());
    }
    if let Ok(password) = std::env::var("MAIA_REGISTRY_PASSWORD") {
        return Ok(password);
    }
    match &config.cluster.docker_password {
        Some(secret) => config.cluster_secret(secret, "docker_password"),
        None => Err("no registry password: use --registry-password-file FILE, MAIA_REGISTRY_PASSWORD, or docker_password in the cluster config".into()),
    }
}

/// The namespace's resources, in the order they must be applied.
pub fn resources(config: &Config, registry_password: &str) -> Result<Vec<Json>, ConfigError> {
    let ns = config.namespace();
    let c = &config.cluster;
    super::needs::require("namespace", config)?;
    let server = c.docker_server.as_deref().expect("needs::require checked `docker_server`");
    let user = c.docker_username.as_deref().expect("needs::require checked `docker_username`");
    let mut labels = objects::managed_by();
    labels["maia.minnelab.io/group"] = json!(config.form.group_id);
    let auth = BASE64.encode(format!("{user}:{registry_password}"));
    let dockerconfig = json!({"auths": {server: {"username": user, "password": registry_password, "auth": auth}}});
    let shared_class = c.shared_storage_class();
    // local-path volumes live on one node: they cannot be ReadWriteMany.
    let access = if shared_class == Some("local-path") { "ReadWriteOnce" } else { "ReadWriteMany" };
    let mut pvc_spec = json!({"accessModes": [access], "resources": {"requests": {"storage": "10Gi"}}});
    if let Some(class) = shared_class {
        pvc_spec["storageClassName"] = json!(class);
    }
    let mut resources = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": c.image_pull_secret, "namespace": ns, "labels": labels},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": BASE64.encode(dockerconfig.to_string())},
        }),
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": config.options.shared_claim, "namespace": ns, "labels": labels},
            "spec": pvc_spec,
        }),
    ];
    resources.extend(objects::listener_set(config));
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::config;

    #[test]
    fn pull_secret_decodes_to_the_auths_entry() {
        let c = config(&[
            ("docker_server", "ghcr.io/minnelab"),
            ("docker_username", "robot"),
            ("shared_storage_class", "nfs"),
        ]);
        let docs = resources(&c, "pa:ss").unwrap();
        let data = docs[1]["data"][".dockerconfigjson"].as_str().unwrap();
        let decoded: Json = serde_json::from_slice(&BASE64.decode(data).unwrap()).unwrap();
        let entry = &decoded["auths"]["ghcr.io/minnelab"];
        assert_eq!((entry["username"].as_str(), entry["password"].as_str()), (Some("robot"), Some("pa:ss")));
        assert_eq!(BASE64.decode(entry["auth"].as_str().unwrap()).unwrap(), b"robot:pa:ss");
        assert_eq!(docs[2]["spec"]["accessModes"], json!(["ReadWriteMany"]));
        assert_eq!(docs[2]["spec"]["storageClassName"], json!("nfs"));
    }

    #[test]
    fn local_path_shared_volumes_are_read_write_once() {
        let c =
            config(&[("docker_server", "r.example.com"), ("docker_username", "u"), ("storage_class", "local-path")]);
        assert_eq!(resources(&c, "p").unwrap()[2]["spec"]["accessModes"], json!(["ReadWriteOnce"]));
    }

    #[test]
    fn a_listener_set_and_its_certificate_come_with_the_gateway_key_listener_set() {
        let base = [("docker_server", "r.example.com"), ("docker_username", "u")];
        assert_eq!(resources(&config(&base), "p").unwrap().len(), 3, "no ListenerSet unless asked for");
        let gateway = ("gateway", "{name: public, namespace: gateways, listenerSet: true}");
        let docs = resources(&config(&[base[0], base[1], gateway]), "p").unwrap();
        let host = "demo-group.maia.example.com";
        assert_eq!(docs[3]["kind"], "ListenerSet");
        assert_eq!(
            docs[3]["spec"]["parentRef"],
            json!({"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateways"})
        );
        let listener = &docs[3]["spec"]["listeners"][0];
        assert_eq!((listener["hostname"].as_str(), listener["port"].as_u64()), (Some(host), Some(443)));
        assert_eq!(listener["tls"]["certificateRefs"][0]["name"], "workspace-https-tls");
        assert_eq!(docs[4]["kind"], "Certificate");
        assert_eq!(docs[4]["spec"]["secretName"], "workspace-https-tls");
        assert_eq!(docs[4]["spec"]["dnsNames"], json!([host]));
        // Without cert-manager the secret is the platform's to provide.
        let docs = resources(&config(&[base[0], base[1], gateway, ("nginx_cluster_issuer", "")]), "p").unwrap();
        assert_eq!(docs.len(), 4);
    }
}
