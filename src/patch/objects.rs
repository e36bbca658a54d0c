//! Objects the patches add beside the stream's own: a cert-manager Certificate, the
//! workspace's ListenerSet, and the metadata every added object carries.

use serde_json::{Value as Json, json};

use crate::config::{Config, GatewayRef};
use crate::resource::named_namespace;

/// The label on everything maia-krm creates, so an admin can find (and prune) it.
pub fn managed_by() -> Json {
    json!({"app.kubernetes.io/managed-by": "maia-krm"})
}

/// The workspace's own listeners on the cluster's Gateway (cluster key `gateway.listenerSet`),
/// emitted by `maia-krm namespace`; its routes attach to them rather than to the Gateway.
pub const LISTENER_SET: &str = "workspace-https";

/// Where an HTTPRoute without `parentRefs` attaches: the workspace's ListenerSet, or the Gateway.
pub fn parent_ref(gateway: &GatewayRef) -> (Json, String) {
    if gateway.listener_set {
        let parent = json!({"group": "gateway.networking.k8s.io", "kind": "ListenerSet", "name": LISTENER_SET});
        return (parent, format!("attached to the workspace's ListenerSet {LISTENER_SET} on Gateway {}", gateway.name));
    }
    (gateway.reference(), format!("attached to Gateway {}", gateway.name))
}

/// A cert-manager `Certificate` from the cluster's issuer, for what cert-manager does not read
/// on its own (IngressRoutes; ListenerSets before its Gateway support covers them).
pub fn certificate(name: &str, namespace: Option<&str>, hosts: &[String], issuer: &str) -> Json {
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": beside(name, namespace),
        "spec": {
            "secretName": name,
            "dnsNames": hosts,
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
        },
    })
}

/// The metadata of an object maia-krm adds beside another: in that one's namespace, or, like it,
/// in the release's when it names none (a policy or secret elsewhere would not reach it).
pub fn beside(name: &str, namespace: Option<&str>) -> Json {
    let mut metadata = json!({"name": name, "labels": managed_by()});
    if let Some(ns) = named_namespace(namespace) {
        metadata["namespace"] = json!(ns);
    }
    metadata
}

/// The workspace's ListenerSet (Gateway API v1.5): an HTTPS listener for the workspace host,
/// and, with cert-manager, the Certificate for its secret (an explicit one: cert-manager's own
/// ListenerSet support is alpha and off by default). The Gateway must allow ListenerSets from
/// the namespace (`allowedListeners`).
pub fn listener_set(config: &Config) -> Vec<Json> {
    let Some(gateway) = config.cluster.gateway.as_ref().filter(|g| g.listener_set) else { return Vec::new() };
    // A ListenerSet's parent is the whole Gateway: no sectionName.
    let mut parent = json!({"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.name});
    if let Some(ns) = &gateway.namespace {
        parent["namespace"] = json!(ns);
    }
    let (ns, host, secret) = (config.namespace(), config.workspace_host(), format!("{LISTENER_SET}-tls"));
    let mut resources = vec![json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "ListenerSet",
        "metadata": {"name": LISTENER_SET, "namespace": ns, "labels": managed_by()},
        "spec": {
            "parentRef": parent,
            "listeners": [{
                "name": "https",
                "hostname": host,
                "port": 443,
                "protocol": "HTTPS",
                "tls": {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret", "name": secret}]},
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }],
        },
    })];
    if let Some(issuer) = &config.cluster.flavour().cert_manager_issuer {
        resources.push(certificate(&secret, Some(&ns), &[host], issuer));
    }
    resources
}
