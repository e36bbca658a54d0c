//! The cluster config (upstream keys), validated.

use serde_json::{Map, Value as Json};

use super::fields::{self, Fields};
use super::{Secret, validate};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UrlType {
    Subdomain,
    Subpath,
}

/// How per-user SSH Services are exposed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PortType {
    NodePort,
    LoadBalancer,
}

/// The cluster's OIDC provider (upstream key `keycloak`, older files `keycloack`).
#[derive(Debug, Clone)]
pub struct Keycloak {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
}

/// One cluster's settings, shared by every workspace on it.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub domain: String,
    pub url_type: UrlType,
    pub nginx_cluster_issuer: Option<String>,
    pub traefik_resolver: Option<String>,
    pub ingress_class: Option<String>,
    /// The ONE registry pull secret name (upstream key `imagePullSecrets`).
    pub image_pull_secret: String,
    pub storage_class: Option<String>,
    /// Falls back to `storage_class`.
    pub shared_storage_class: Option<String>,
    pub docker_server: Option<String>,
    pub docker_username: Option<String>,
    pub docker_password: Option<Secret>,
    pub keycloak: Option<Keycloak>,
    pub admins: Vec<String>,
    pub ssh_port_type: PortType,
    pub port_range: Option<(u16, u16)>,
    pub ssh_hostname: Option<String>,
    /// The Gateway (API) the workspace's HTTPRoutes attach to when they name none.
    pub gateway: Option<GatewayRef>,
    /// How the Gateway implementation puts a login in front of an HTTPRoute (key `gateway_auth`).
    pub gateway_auth: Option<GatewayAuth>,
    /// `form_secret_files: anywhere`: a form's `fromFile` may name any file the tool can read,
    /// not only one inside the form's folder (default `confined`).
    pub form_secret_files_anywhere: bool,
    /// The prefix every `fromEnv` name in a form must have (`form_secret_env_prefix`, default `MAIA_FORM_`).
    pub form_secret_env_prefix: String,
}

/// How a Gateway API implementation takes the group's login (oauth2-proxy) in front of a route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GatewayAuth {
    /// Traefik's Gateway provider: an `ExtensionRef` filter to the forwardAuth Middleware.
    Traefik,
    /// Envoy Gateway: a `SecurityPolicy` with `extAuth.http` targeting the route.
    EnvoyGateway,
    /// Gateway API's own `ExternalAuth` filter (experimental channel), where the implementation has it.
    ExternalAuth,
}

/// A Gateway API `parentRef`.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayRef {
    pub name: String,
    pub namespace: Option<String>,
    pub section_name: Option<String>,
    /// The workspace gets a `ListenerSet` of its own on this Gateway (`maia-krm namespace`), and
    /// its routes attach to that, not to the Gateway (Gateway API v1.5+).
    pub listener_set: bool,
}

impl GatewayRef {
    /// The Gateway as a Gateway API parent reference: `{name, namespace, sectionName}` as set.
    pub fn reference(&self) -> Json {
        let mut parent = serde_json::json!({"name": self.name});
        if let Some(ns) = &self.namespace {
            parent["namespace"] = Json::from(ns.as_str());
        }
        if let Some(section) = &self.section_name {
            parent["sectionName"] = Json::from(section.as_str());
        }
        parent
    }
}

/// How the cluster routes and certifies, decided here once for every patch, report and command.
#[derive(Debug, Clone, PartialEq)]
pub struct Flavour {
    /// ingress-nginx: `nginx_cluster_issuer` is set or the ingress class names nginx. OAuth
    /// goes through its `auth-url`/`auth-signin` annotations.
    pub nginx: bool,
    /// Traefik: `traefik_resolver` is set or the ingress class names traefik. OAuth goes through
    /// a forwardAuth Middleware.
    pub traefik: bool,
    /// cert-manager issues certificates (`cert-manager.io/cluster-issuer`); every TLS entry needs a secretName.
    pub cert_manager_issuer: Option<String>,
    /// Traefik's ACME resolver issues certificates (`router.tls.certresolver`).
    pub traefik_resolver: Option<String>,
    /// How HTTPRoutes get the login: `gateway_auth`, or Traefik's way on the Traefik flavour.
    pub gateway_auth: Option<GatewayAuth>,
}

impl Flavour {
    /// The TLS annotations of the flavour: cert-manager's issuer, Traefik's router set, or both.
    pub fn tls_annotations(&self) -> Vec<(String, String)> {
        let mut annotations = Vec::new();
        if let Some(issuer) = &self.cert_manager_issuer {
            annotations.push(("cert-manager.io/cluster-issuer".to_string(), issuer.clone()));
        }
        if let Some(resolver) = &self.traefik_resolver {
            let router = "traefik.ingress.kubernetes.io/router";
            annotations.push((format!("{router}.entrypoints"), "websecure".into()));
            annotations.push((format!("{router}.tls"), "true".into()));
            annotations.push((format!("{router}.tls.certresolver"), resolver.clone()));
        }
        annotations
    }
}

impl Cluster {
    pub fn flavour(&self) -> Flavour {
        let class = self.ingress_class.as_deref().unwrap_or_default();
        let traefik = self.traefik_resolver.is_some() || class.contains("traefik");
        Flavour {
            nginx: self.nginx_cluster_issuer.is_some() || class.contains("nginx"),
            traefik,
            // On a shared host one certificate serves every workspace, and it is the platform's
            // (the controller's default certificate): an issuer annotation per workspace would have
            // cert-manager request the same certificate once per workspace.
            cert_manager_issuer: self.nginx_cluster_issuer.clone().filter(|_| self.url_type == UrlType::Subdomain),
            traefik_resolver: self.traefik_resolver.clone(),
            gateway_auth: self.gateway_auth.or(traefik.then_some(GatewayAuth::Traefik)),
        }
    }

    pub fn shared_storage_class(&self) -> Option<&str> {
        self.shared_storage_class.as_deref().or(self.storage_class.as_deref())
    }
}

pub const KEYS: &[&str] = &[
    "domain",
    "url_type",
    "nginx_cluster_issuer",
    "traefik_resolver",
    "ingress_class",
    "storage_class",
    "shared_storage_class",
    "imagePullSecrets",
    "docker_server",
    "docker_username",
    "docker_password",
    "keycloak",
    "keycloack",
    "admins",
    "ssh_port_type",
    "port_range",
    "ssh_hostname",
    "gateway",
    "gateway_auth",
    "form_secret_files",
    "form_secret_env_prefix",
];

/// Keys of upstream MAIA's cluster config that maia-krm does not use (the cluster, Argo CD,
/// MetalLB, NFS, dashboard, hub image and MinIO-environment settings of its docs' `maia-cluster.yaml`):
/// accepted so a real upstream file loads, and never read.
pub const UPSTREAM_IGNORED: &[&str] = &[
    "api",
    "argocd_destination_cluster_address",
    "base_url",
    "bucket_name",
    "cluster_name",
    "docker_email",
    "hub_image",
    "hub_storage_class",
    "hub_tag",
    "ingress_resolver_email",
    "k8s_distribution",
    "maia_dashboard",
    "maia_metallb_ip",
    "metallb_ip_pool",
    "metallb_shared_ip",
    "minio_access_key",
    "minio_secret_key",
    "minio_secure",
    "minio_url",
    "nfs_path",
    "nfs_server",
    "services",
    "traefik_dashboard_password",
];

pub fn read(obj: &Map<String, Json>, errors: &mut Vec<String>) -> Cluster {
    let mut f = Fields::new(obj, "cluster config", errors);
    let domain = f.required_string("domain");
    if let Some(Err(e)) = domain.as_deref().map(validate::host) {
        f.fail("domain", e);
    }
    let domain = domain.unwrap_or_default();
    let url_type = match f.choice("url_type", &["subdomain", "subpath"], "subdomain") {
        "subpath" => UrlType::Subpath,
        _ => UrlType::Subdomain,
    };
    let nginx_cluster_issuer = f.checked("nginx_cluster_issuer", validate::dns_subdomain);
    let traefik_resolver = f.checked("traefik_resolver", validate::dns_subdomain);
    let ingress_class = f.checked("ingress_class", validate::dns_subdomain);
    let image_pull_secret =
        f.checked("imagePullSecrets", validate::dns_subdomain).unwrap_or_else(|| "maia-docker-registry-secret".into());
    let storage_class = f.checked("storage_class", validate::dns_subdomain);
    let shared_storage_class = f.checked("shared_storage_class", validate::dns_subdomain);
    let docker_server = f.checked("docker_server", validate::registry);
    let docker_username = f.checked("docker_username", validate::registry_user);
    let docker_password = f.secret("docker_password");
    let ssh_hostname = f.checked("ssh_hostname", validate::host);
    let admins = f.strings("admins");
    for (i, admin) in admins.iter().enumerate() {
        if let Err(e) = validate::email(admin) {
            f.fail(&format!("admins[{i}]"), e);
        }
    }
    let ssh_port_type = match f.choice("ssh_port_type", &["NodePort", "LoadBalancer"], "NodePort") {
        "LoadBalancer" => PortType::LoadBalancer,
        _ => PortType::NodePort,
    };
    let port_range = match f.uints("port_range") {
        Some(r) if r.len() == 2 && 0 < r[0] && r[0] <= r[1] && r[1] <= 65535 => Some((r[0] as u16, r[1] as u16)),
        Some(_) => {
            f.fail("port_range", "expected [min, max] ports with 1 <= min <= max <= 65535");
            None
        }
        None => None,
    };
    let keycloak = keycloak(&mut f);
    let gateway = gateway(&mut f);
    if gateway.as_ref().is_some_and(|g| g.listener_set) && url_type == UrlType::Subpath {
        // Every workspace's listener would claim the bare domain on the same Gateway port.
        f.fail("gateway.listenerSet", "needs url_type subdomain (with subpath every workspace shares one host)");
    }
    let gateway_auth = match f.choice("gateway_auth", &["traefik", "envoy-gateway", "external-auth"], "") {
        "traefik" => Some(GatewayAuth::Traefik),
        "envoy-gateway" => Some(GatewayAuth::EnvoyGateway),
        "external-auth" => Some(GatewayAuth::ExternalAuth),
        _ => None,
    };
    let form_secret_files_anywhere = f.choice("form_secret_files", &["confined", "anywhere"], "confined") == "anywhere";
    let form_secret_env_prefix = f.checked("form_secret_env_prefix", env_prefix).unwrap_or_else(|| "MAIA_FORM_".into());
    Cluster {
        domain,
        url_type,
        nginx_cluster_issuer,
        traefik_resolver,
        ingress_class,
        image_pull_secret,
        storage_class,
        shared_storage_class,
        docker_server,
        docker_username,
        docker_password,
        keycloak,
        admins,
        ssh_port_type,
        port_range,
        ssh_hostname,
        gateway,
        gateway_auth,
        form_secret_files_anywhere,
        form_secret_env_prefix,
    }
}

/// An environment variable name prefix: upper-case letters, digits and `_`, not empty (an empty
/// prefix would hand the whole environment to every form).
fn env_prefix(s: &str) -> Result<(), String> {
    let ok = s.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(format!("{s:?} is not an environment variable prefix (A-Z, 0-9, _; not empty)")) }
}

fn gateway(f: &mut Fields) -> Option<GatewayRef> {
    let obj = f.object("gateway")?;
    let mut sub = Fields::new(obj, "cluster config", f.errors);
    const KEYS: [&str; 4] = ["name", "namespace", "sectionName", "listenerSet"];
    for unknown in obj.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        sub.fail("gateway", fields::unknown_key(unknown, &KEYS));
    }
    let listener_set = match obj.get("listenerSet") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) if s == "true" || s == "false" => s == "true",
        Some(_) => {
            sub.fail("gateway.listenerSet", "expected true or false");
            false
        }
    };
    let name = sub.string(&["name"]);
    let namespace = sub.string(&["namespace"]);
    let section_name = sub.string(&["sectionName"]);
    for (key, value) in [("name", &name), ("namespace", &namespace), ("sectionName", &section_name)] {
        if let Some(Err(e)) = value.as_deref().map(validate::dns_label) {
            sub.fail(&format!("gateway.{key}"), e);
        }
    }
    if name.is_none() {
        sub.fail("gateway.name", "is required");
    }
    Some(GatewayRef { name: name?, namespace, section_name, listener_set })
}

fn keycloak(f: &mut Fields) -> Option<Keycloak> {
    let (key, obj) = ["keycloak", "keycloack"].iter().find_map(|k| f.object(k).map(|o| (*k, o)))?;
    let mut sub = Fields::new(obj, "cluster config", f.errors);
    const KEYS: [&str; 3] = ["issuer_url", "client_id", "client_secret"];
    // Upstream's keycloak entry also spells out the OIDC endpoints, which follow from issuer_url.
    const UPSTREAM_IGNORED: [&str; 3] = ["authorize_url", "token_url", "userdata_url"];
    for unknown in obj.keys().filter(|k| !KEYS.contains(&k.as_str()) && !UPSTREAM_IGNORED.contains(&k.as_str())) {
        sub.fail(key, fields::unknown_key(unknown, &KEYS));
    }
    let issuer_url = sub.string(&["issuer_url"]);
    let client_id = sub.string(&["client_id"]);
    let client_secret = sub.secret("client_secret");
    match (&issuer_url, &client_id) {
        (Some(url), _) if validate::https_url(url).is_err() => {
            sub.fail(&format!("{key}.issuer_url"), validate::https_url(url).unwrap_err());
        }
        (None, _) => sub.fail(&format!("{key}.issuer_url"), "is required"),
        _ => {}
    }
    match &client_id {
        Some(id) if validate::dns_subdomain(id).is_err() => {
            sub.fail(&format!("{key}.client_id"), validate::dns_subdomain(id).unwrap_err())
        }
        None => sub.fail(&format!("{key}.client_id"), "is required"),
        _ => {}
    }
    Some(Keycloak { issuer_url: issuer_url?, client_id: client_id?, client_secret })
}
