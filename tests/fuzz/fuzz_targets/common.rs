// Shared by the fuzz targets: a config that switches every patch and both flavours on.
use maia_krm::config::Config;
use serde_json::json;

pub fn config() -> Config {
    let data = json!({
        "group_ID": "Demo_Group",
        "domain": "maia.example.com",
        "oauth_url": "demo-group.maia.example.com",
        "nginx_cluster_issuer": "cluster-issuer",
        "traefik_resolver": "letsencrypt",
        "ingress_class": "nginx",
        "middleware": "always",
        "shared_init_containers": "true",
        "shared_hooks": "true",
        "max_document_bytes": "1000000",
    });
    Config::from_data(data.as_object().unwrap()).unwrap()
}
