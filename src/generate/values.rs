//! `values COMPONENT`: the Helm values (or, for MySQL and MLflow, the generic-chart app configs)
//! of each workspace component, from the form and the cluster config alone. Deterministic: every
//! secret comes from the form (resolved from its env/file reference if it is one).
//!
//! Deliberate differences from the upstream runbook: oauth2-proxy keeps TLS verification on
//! (no `ssl_insecure_skip_verify` / `insecure_oidc_skip_issuer_verification`) and only redirects
//! back into the cluster's domain (`whitelist_domains = [".<domain>"]`, not `"*"`).

use serde_json::{Map, Value as Json, json};

use crate::config::{Config, ConfigError, Keycloak, PortType, Secret, jupyterhub_escape};

/// Every component `values` knows, in install order.
pub const COMPONENTS: &[&str] =
    &["oauth2-proxy", "minio", "mysql", "mlflow", "jupyterhub", "label-studio", "orthanc", "kubeflow", "addons"];

/// How a component's values are written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    Yaml,
    /// The generic chart's app configs are JSON, as the runbook keeps them.
    Json,
}

/// The values of `component`, and how to print them.
pub fn values(component: &str, config: &Config) -> Result<(Json, Format), ConfigError> {
    if !COMPONENTS.contains(&component) {
        return Err(format!("unknown component {component:?}; one of {}", COMPONENTS.join(", ")).into());
    }
    super::needs::require(component, config)?;
    let v = Workspace::new(config);
    Ok(match component {
        "oauth2-proxy" => (v.oauth2_proxy()?, Format::Yaml),
        "minio" => (v.minio()?, Format::Yaml),
        "mysql" => (v.mysql()?, Format::Json),
        "mlflow" => (v.mlflow()?, Format::Json),
        "jupyterhub" => (v.jupyterhub()?, Format::Yaml),
        "label-studio" => (v.label_studio(), Format::Yaml),
        "orthanc" => (v.orthanc(), Format::Yaml),
        "kubeflow" => (v.kubeflow(), Format::Yaml),
        _ => (v.addons(), Format::Yaml),
    })
}

/// Names every component shares, so two components never disagree about them.
pub const MYSQL_RELEASE: &str = "mysql-db-v1";
pub const MLFLOW_RELEASE: &str = "mlflow-v1";
const DB_USER: &str = "maia-admin";
const DB_NAME: &str = "mlflow";

struct Workspace<'c> {
    c: &'c Config,
    ns: String,
    host: String,
}

impl<'c> Workspace<'c> {
    fn new(c: &'c Config) -> Self {
        Workspace { c, ns: c.namespace(), host: c.workspace_host() }
    }

    // The accessors below unwrap what `needs::require` checked before any component is built.

    fn keycloak(&self) -> &'c Keycloak {
        self.c.cluster.keycloak.as_ref().expect("needs::require checked `keycloak`")
    }

    fn secret(&self, secret: &Option<Secret>, key: &str) -> Result<String, ConfigError> {
        self.c.form_secret(secret.as_ref().expect("needs::require checked the form's secrets"), key)
    }

    fn client_secret(&self) -> Result<String, ConfigError> {
        let secret = self.keycloak().client_secret.as_ref().expect("needs::require checked `keycloak.client_secret`");
        self.c.cluster_secret(secret, "keycloak.client_secret")
    }

    /// Ingress annotations: the cluster's TLS flavour plus `extra`.
    fn annotations(&self, extra: &[(&str, &str)]) -> Json {
        let flavour = self.c.cluster.flavour();
        let mut map: Map<String, Json> = flavour.tls_annotations().into_iter().map(|(k, v)| (k, json!(v))).collect();
        for (k, v) in extra {
            if flavour.nginx || !k.starts_with("nginx.") {
                map.insert(k.to_string(), json!(v));
            }
        }
        Json::Object(map)
    }

    /// An Ingress's TLS: a certificate per host, or on a shared host (`url_type: subpath`) the
    /// controller's default one, which the platform sets up once for every workspace.
    fn tls(&self, host: &str) -> Json {
        if self.c.subpath() {
            json!([{"hosts": [host]}])
        } else {
            json!([{"secretName": format!("{host}-tls"), "hosts": [host]}])
        }
    }

    fn storage_class(&self) -> Json {
        self.c.cluster.storage_class.as_deref().map_or(Json::Null, |s| json!(s))
    }

    fn groups(&self) -> [String; 2] {
        [format!("MAIA:{}", self.c.form.group_id), "MAIA:admin".into()]
    }

    fn oauth2_proxy(&self) -> Result<Json, ConfigError> {
        let kc = self.keycloak();
        let oauth_url = self.c.oauth_url();
        let prefix = self.c.oauth2_prefix();
        let [group, admin] = self.groups();
        let mut config_file = vec![
            "cookie_secure = true".to_string(),
            "email_domains = [ \"*\",]".into(),
            "http_address = \"0.0.0.0:4180\"".into(),
            format!("oidc_issuer_url = \"{}\"", kc.issuer_url),
            "oidc_email_claim = \"email\"".into(),
            "oidc_groups_claim = \"groups\"".into(),
            format!("allowed_groups = [ \"{group}\", \"{admin}\",]"),
            "pass_access_token = true".into(),
            "pass_authorization_header = true".into(),
            "pass_user_headers = true".into(),
            "provider = \"oidc\"".into(),
            format!("proxy_prefix = \"{prefix}\""),
            format!("redirect_url = \"https://{oauth_url}{prefix}/callback\""),
            "reverse_proxy = true".into(),
            "scope = \"openid email profile\"".into(),
            "set_authorization_header = true".into(),
            "set_xauthrequest = true".into(),
            "skip_jwt_bearer_tokens = true".into(),
            // Auth only: the router asks, oauth2-proxy answers 200 or its sign-in page. 200, not
            // 202: Envoy's external auth (and Gateway API's ExternalAuth) allow only a 200.
            "upstreams = [ \"static://200\",]".into(),
            format!("whitelist_domains = [ \".{}\",]", self.c.cluster.domain),
        ];
        if self.c.subpath() {
            // Every workspace's oauth2-proxy sets its cookie on the one shared host: one name
            // each, or a login to one group would overwrite the session of another.
            let name = format!("cookie_name = \"_oauth2_proxy_{}\"", self.c.form.group_subdomain.replace('-', "_"));
            config_file.insert(0, name);
        }
        let config_file = config_file.join("\n") + "\n";
        let mut ingress = json!({
            "enabled": true, "path": prefix, "pathType": "Prefix",
            "tls": self.tls(&oauth_url), "hosts": [oauth_url], "annotations": self.annotations(&[]),
        });
        if let Some(class) = &self.c.cluster.ingress_class {
            ingress["className"] = json!(class);
        }
        let mut redis = json!({"enabled": true});
        if let Some(sc) = &self.c.cluster.storage_class {
            redis["global"] = json!({"storageClass": sc});
        }
        Ok(json!({
            "config": {
                "clientID": kc.client_id,
                "clientSecret": self.client_secret()?,
                "cookieSecret": self.secret(&self.c.form.secrets.oauth2_cookie_secret, "oauth2_cookie_secret")?,
                "configFile": config_file,
            },
            "redis": redis,
            "sessionStorage": {"type": "redis"},
            "image": {"repository": "quay.io/oauth2-proxy/oauth2-proxy", "tag": "", "pullPolicy": "IfNotPresent"},
            "service": {"type": "ClusterIP", "portNumber": 80, "appProtocol": "https", "annotations": {}},
            "serviceAccount": {"enabled": true, "name": "", "automountServiceAccountToken": true, "annotations": {}},
            "ingress": ingress,
        }))
    }

    fn minio(&self) -> Result<Json, ConfigError> {
        let kc = self.keycloak();
        let s = &self.c.form.secrets;
        let console = format!("https://{}{}", self.host, self.c.component_path("minio-console"));
        let env = [
            ("MINIO_IDENTITY_OPENID_CONFIG_URL", format!("{}/.well-known/openid-configuration", kc.issuer_url)),
            ("MINIO_IDENTITY_OPENID_CLIENT_ID", kc.client_id.clone()),
            ("MINIO_IDENTITY_OPENID_CLIENT_SECRET", self.client_secret()?),
            ("MINIO_IDENTITY_OPENID_DISPLAY_NAME", "MAIA".into()),
            ("MINIO_IDENTITY_OPENID_CLAIM_NAME", "groups".into()),
            ("MINIO_IDENTITY_OPENID_SCOPES", "openid,email,profile".into()),
            ("MINIO_IDENTITY_OPENID_REDIRECT_URI", format!("{console}/oauth_callback")),
            ("MINIO_BROWSER_REDIRECT_URL", console),
        ];
        let ingress = |host: String, annotations: Json| {
            let mut i = json!({"enabled": true, "host": host, "path": "/", "pathType": "Prefix", "annotations": annotations, "tls": [{"hosts": [host], "secretName": format!("{host}-tls")}]});
            if let Some(class) = &self.c.cluster.ingress_class {
                i["ingressClassName"] = json!(class);
            }
            i
        };
        let ingresses = if self.c.subpath() {
            // The S3 API can't live under a path: on a shared host it stays in the cluster.
            let mut console = ingress(self.host.clone(), self.annotations(&[]));
            console["path"] = json!(self.c.component_path("minio-console"));
            console["tls"] = self.tls(&self.host);
            json!({"api": {"enabled": false}, "console": console})
        } else {
            json!({
                "api": ingress(format!("minio.{}", self.host), self.annotations(&[("nginx.ingress.kubernetes.io/proxy-body-size", "10g")])),
                "console": ingress(format!("minio-console.{}", self.host), self.annotations(&[])),
            })
        };
        let mut env: Vec<Json> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        if self.c.subpath() {
            env.push(json!({"name": "MINIO_BROWSER_SUBPATH", "value": format!("{}/", self.c.component_path("minio-console"))}));
        }
        Ok(json!({
            "tenant": {
                "name": format!("{}-minio", self.ns),
                "configSecret": {
                    "name": format!("{}-minio-env-configuration", self.ns),
                    "accessKey": self.secret(&s.minio_access_key, "minio_access_key")?,
                    "secretKey": self.secret(&s.minio_secret_key, "minio_secret_key")?,
                },
                "pools": [{"servers": 4, "name": "pool-0", "volumesPerServer": 2, "size": "10Gi", "storageClassName": self.storage_class()}],
                "buckets": [{"name": "mlflow"}, {"name": "datasets"}],
                "prometheusOperator": false,
                "certificate": {"requestAutoCert": false},
                "env": env,
            },
            "ingress": ingresses,
        }))
    }

    /// The runbook's generic app config for MySQL (charts/mkg).
    fn mysql(&self) -> Result<Json, ConfigError> {
        let s = &self.c.form.secrets;
        Ok(json!({
            "namespace": self.ns,
            "chart_name": MYSQL_RELEASE,
            "docker_image": "mysql",
            "tag": "8.0",
            "memory_request": "2Gi",
            "cpu_request": "500m",
            "deployment": true,
            "ports": {"mysql": [3306]},
            "service_type": "ClusterIP",
            "persistent_volume": [{"mountPath": "/var/lib/mysql", "size": "20Gi", "access_mode": "ReadWriteOnce", "pvc_type": self.storage_class()}],
            "env_variables": {
                "MYSQL_ROOT_PASSWORD": self.secret(&s.mysql_root_password, "mysql_root_password")?,
                "MYSQL_USER": DB_USER,
                "MYSQL_PASSWORD": self.secret(&s.mysql_password, "mysql_password")?,
                "MYSQL_DATABASE": DB_NAME,
            },
        }))
    }

    /// The runbook's generic app config for MLflow (charts/mkg): MySQL for runs, MinIO for artifacts.
    fn mlflow(&self) -> Result<Json, ConfigError> {
        let s = &self.c.form.secrets;
        let registry = self.c.cluster.docker_server.as_deref().unwrap_or("ghcr.io/minnelab");
        Ok(json!({
            "namespace": self.ns,
            "chart_name": MLFLOW_RELEASE,
            "docker_image": format!("{registry}/maia-mlflow"),
            "tag": "1.5",
            "memory_request": "2Gi",
            "cpu_request": "500m",
            "deployment": true,
            "ports": {"mlflow": [5000]},
            "service_type": "ClusterIP",
            "image_pull_secret": self.c.cluster.image_pull_secret,
            "env_variables": {
                "MYSQL_URL": format!("{MYSQL_RELEASE}-mkg"),
                "MYSQL_DATABASE": DB_NAME,
                "MYSQL_USER": DB_USER,
                "MYSQL_PASSWORD": self.secret(&s.mysql_password, "mysql_password")?,
                "MLFLOW_USER": DB_USER,
                "MLFLOW_PASSWORD": self.secret(&s.mlflow_password, "mlflow_password")?,
                "BUCKET_NAME": "mlflow",
                "MLFLOW_S3_ENDPOINT_URL": format!("http://minio.{}.svc.cluster.local:80", self.ns),
                "AWS_ACCESS_KEY_ID": self.secret(&s.minio_access_key, "minio_access_key")?,
                "AWS_SECRET_ACCESS_KEY": self.secret(&s.minio_secret_key, "minio_secret_key")?,
                "PATH_PREFIX": self.c.component_path("mlflow"),
            },
        }))
    }

    fn jupyterhub(&self) -> Result<Json, ConfigError> {
        let kc = self.keycloak();
        let f = &self.c.form;
        let limits = f.resources_limits.as_ref().expect("needs::require checked `resources_limits`");
        let oidc = format!("{}/protocol/openid-connect", kc.issuer_url);
        let mut profiles = vec![json!({"display_name": "CPU (default)", "default": true})];
        if f.gpu_request > 0 {
            profiles.push(json!({"display_name": "GPU", "kubespawner_override": {"extra_resource_limits": {"nvidia.com/gpu": f.gpu_request.to_string()}}}));
        }
        let registry = self.c.cluster.docker_server.as_deref().unwrap_or("ghcr.io/minnelab");
        let shared =
            json!({"name": "jupyterhub-shared", "persistentVolumeClaim": {"claimName": self.c.options.shared_claim}});
        let mut ingress = json!({
            "enabled": true, "hosts": [self.host],
            "annotations": self.annotations(&[("nginx.ingress.kubernetes.io/proxy-body-size", "2g")]),
            "tls": self.tls(&self.host),
        });
        if let Some(class) = &self.c.cluster.ingress_class {
            ingress["ingressClassName"] = json!(class);
        }
        // On a shared host the hub lives under `/<g>-hub` (upstream MAIA's `hub.baseUrl`), and
        // z2jh serves it, its callback included, below that.
        let base = if self.c.subpath() { self.c.component_path("hub") } else { String::new() };
        // Where the cluster routes with Gateway API, the chart's own HTTPRoute (z2jh 4.3.0+; its
        // template fixes `kind: Gateway`, so it attaches to the Gateway even with a ListenerSet).
        let http_route = self.c.cluster.gateway.as_ref().map(|g| {
            ingress = json!({"enabled": false});
            json!({"enabled": true, "hostnames": [self.host], "gateway": g.reference()})
        });
        let mut values = json!({
            "hub": {
                "config": {
                    "JupyterHub": {"authenticator_class": "generic-oauth", "admin_access": true},
                    "Authenticator": {"allowed_users": f.users, "admin_users": self.c.cluster.admins},
                    "GenericOAuthenticator": {
                        "client_id": kc.client_id,
                        "client_secret": self.client_secret()?,
                        "oauth_callback_url": format!("https://{}{base}/hub/oauth_callback", self.host),
                        "authorize_url": format!("{oidc}/auth"),
                        "token_url": format!("{oidc}/token"),
                        "userdata_url": format!("{oidc}/userinfo"),
                        "login_service": "MAIA Account",
                        "username_claim": "preferred_username",
                        "scope": ["openid", "profile", "email"],
                        "claim_groups_key": "groups",
                        "allowed_groups": self.groups(),
                        "admin_groups": ["MAIA:admin"],
                    },
                },
                "db": {"pvc": {"storageClassName": self.storage_class()}},
            },
            "proxy": {"service": {"type": "ClusterIP"}},
            "ingress": ingress,
            "singleuser": {
                "defaultUrl": "/lab",
                "image": {"name": format!("{registry}/maia-workspace-base-notebook-ssh"), "tag": f.maia_workspace_version.as_deref().unwrap_or("latest")},
                "storage": {
                    "capacity": "10Gi",
                    "dynamic": {"storageClass": self.storage_class()},
                    "extraVolumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}, shared],
                    "extraVolumeMounts": [
                        {"name": "dshm", "mountPath": "/dev/shm"},
                        {"name": "jupyterhub-shared", "mountPath": self.c.options.shared_mount_path},
                    ],
                },
                "memory": {"limit": limits.memory[1], "guarantee": limits.memory[0]},
                "cpu": {"limit": limits.cpu[1], "guarantee": limits.cpu[0]},
                "profileList": profiles,
            },
            "imagePullSecrets": [self.c.cluster.image_pull_secret],
            "cull": {"timeout": 28800},
        });
        if let Some(route) = http_route {
            values["httpRoute"] = route;
        }
        if self.c.subpath() {
            values["hub"]["baseUrl"] = json!(base);
        }
        Ok(values)
    }

    fn label_studio(&self) -> Json {
        let (host, path) = match self.c.subpath() {
            true => (self.host.clone(), self.c.component_path("label-studio")),
            false => (format!("label-studio.{}", self.host), "/".to_string()),
        };
        let mut ingress = json!({
            "enabled": true, "host": host, "path": path, "pathType": "Prefix",
            "annotations": self.annotations(&[("nginx.ingress.kubernetes.io/proxy-body-size", "200m")]),
            "tls": self.tls(&host),
        });
        let url = format!("https://{host}{}", if self.c.subpath() { path.as_str() } else { "" });
        if let Some(class) = &self.c.cluster.ingress_class {
            ingress["className"] = json!(class);
        }
        json!({
            "global": {
                "persistence": {
                    "enabled": true,
                    "type": "volume",
                    // The group's shared PVC: annotations live next to the data they label.
                    "config": {"volume": {"storageClass": self.storage_class(), "size": "10Gi", "existingClaim": self.c.options.shared_claim}},
                },
                "extraEnvironmentVars": {"LABEL_STUDIO_HOST": url, "DJANGO_DB": "default"},
            },
            "app": {"ingress": ingress},
            "postgresql": {
                "enabled": true,
                "primary": {"persistence": {"storageClass": self.storage_class(), "size": "8Gi"}},
                "backup": {"enabled": true, "cronjob": {"schedule": "0 2 * * *", "storage": {"size": "8Gi"}}},
            },
            "redis": {"enabled": true},
        })
    }

    /// Orthanc + OHIF behind the workspace host at `/orthanc` and `/ohif`, DICOM on 4242.
    fn orthanc(&self) -> Json {
        json!({
            "orthanc": {"dicomPort": 4242, "dicomAet": "MAIA", "storage": {"size": "20Gi", "storageClass": self.storage_class()}},
            "ohif": {"enabled": true, "path": self.c.component_path("ohif")},
            "ingress": {
                "enabled": true, "className": self.c.cluster.ingress_class, "host": self.host, "path": self.c.component_path("orthanc"),
                "annotations": self.annotations(&[("nginx.ingress.kubernetes.io/proxy-body-size", "2g")]),
                "tls": self.tls(&self.host),
            },
            "imagePullSecrets": [{"name": self.c.cluster.image_pull_secret}],
        })
    }

    /// KubeFlow Pipelines 2.x is installed from its kustomize manifests: a kustomization for the
    /// namespace, to build with maia-krm as transformer (or through the Argo CD plugin).
    fn kubeflow(&self) -> Json {
        json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": self.ns,
            "resources": ["https://github.com/kubeflow/pipelines/manifests/kustomize/env/platform-agnostic?ref=2.3.0"],
        })
    }

    /// Values for charts/maia-addons: per-user SSH and app Services, and the path proxy.
    fn addons(&self) -> Json {
        let c = &self.c.cluster;
        let users = &self.c.form.users;
        // needs::require checked there is a port for every user.
        let (first, _) = c.port_range.unwrap_or(super::needs::DEFAULT_PORT_RANGE);
        let users: Vec<Json> = users
            .iter()
            .zip(first..)
            .map(|(u, port)| json!({"name": u, "escaped": jupyterhub_escape(u), "sshPort": port}))
            .collect();
        let mut routes = vec![
            json!({"path": self.c.component_path("minio-console"), "service": self.c.form.minio_console_service.clone().unwrap_or_else(|| format!("{}-minio-console", self.ns)), "port": 9090}),
            json!({"path": self.c.component_path("mlflow"), "service": self.c.form.mlflow_service.clone().unwrap_or_else(|| format!("{MLFLOW_RELEASE}-mkg")), "port": 5000}),
            json!({"path": self.c.component_path("kubeflow"), "service": "ml-pipeline-ui", "port": 80}),
            json!({"path": self.c.component_path("label-studio"), "service": "label-studio-ls-app", "port": 80}),
        ];
        routes.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
        json!({
            "host": self.host,
            "ingress": {"className": c.ingress_class, "annotations": self.annotations(&[]), "tls": self.tls(&self.host)},
            "ssh": {"type": if c.ssh_port_type == PortType::LoadBalancer { "LoadBalancer" } else { "NodePort" }, "targetPort": 2022},
            "users": users,
            "paths": {
                "desktop": format!("{}/desktop", if self.c.subpath() { format!("/{}", self.c.form.group_subdomain) } else { String::new() }),
                "user": format!("{}/user", if self.c.subpath() { self.c.component_path("hub") } else { String::new() }),
            },
            "proxy": {"image": "nginx:1.27-alpine", "routes": routes},
            "imagePullSecrets": [{"name": c.image_pull_secret}],
        })
    }
}
