//! `plan`: the ordered install steps of a workspace, as commands a user can run, as JSON for CI
//! and GitOps tooling, or as Argo CD objects (an AppProject and one Application per component).

use serde_json::{Value as Json, json};

use super::values::{MLFLOW_RELEASE, MYSQL_RELEASE};
use crate::config::{Config, GatewayAuth};

/// One install step: what it installs, what must be installed first, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub component: &'static str,
    pub depends_on: Vec<&'static str>,
    pub commands: Vec<String>,
}

/// Where a Helm chart comes from.
struct Chart {
    repo: Option<(&'static str, &'static str)>,
    chart: &'static str,
    version: Option<&'static str>,
}

const fn repo(name: &'static str, url: &'static str, chart: &'static str, version: &'static str) -> Chart {
    Chart { repo: Some((name, url)), chart, version: Some(version) }
}

/// The workspace's components in install order, each with its dependencies, release and chart.
/// MinIO and MySQL come before MLflow (its artifact store and database); oauth2-proxy before
/// the apps it guards; the add-ons last, since their proxy routes point at everything else.
fn components() -> Vec<(&'static str, Vec<&'static str>, &'static str, Option<Chart>)> {
    let local = |chart| Some(Chart { repo: None, chart, version: None });
    vec![
        ("namespace", vec![], "", None),
        (
            "oauth2-proxy",
            vec!["namespace"],
            "oauth2-proxy",
            Some(repo(
                "oauth2-proxy",
                "https://oauth2-proxy.github.io/manifests",
                "oauth2-proxy/oauth2-proxy",
                "7.7.8",
            )),
        ),
        (
            "minio",
            vec!["namespace"],
            "minio",
            Some(repo("minio-operator", "https://operator.min.io", "minio-operator/tenant", "7.1.1")),
        ),
        ("mysql", vec!["namespace"], MYSQL_RELEASE, local("charts/mkg")),
        ("mlflow", vec!["mysql", "minio"], MLFLOW_RELEASE, local("charts/mkg")),
        (
            "jupyterhub",
            vec!["namespace", "oauth2-proxy"],
            "jupyterhub",
            Some(repo("jupyterhub", "https://hub.jupyter.org/helm-chart/", "jupyterhub/jupyterhub", "4.4.0")),
        ),
        (
            "label-studio",
            vec!["namespace", "oauth2-proxy"],
            "label-studio",
            Some(repo("heartex", "https://charts.heartex.com/", "heartex/label-studio", "2.0.5")),
        ),
        (
            "orthanc",
            vec!["namespace", "oauth2-proxy"],
            "orthanc",
            Some(Chart { repo: None, chart: "maia/maia-orthanc", version: None }),
        ),
        ("kubeflow", vec!["namespace"], "", None),
        (
            "addons",
            vec!["jupyterhub", "minio", "mlflow", "label-studio", "kubeflow"],
            "maia-addons",
            local("charts/maia-addons"),
        ),
    ]
}

/// The steps' names, in install order.
pub fn step_names() -> impl Iterator<Item = &'static str> {
    components().into_iter().map(|(component, ..)| component)
}

/// The steps, with `config_args` (e.g. `--config ws.yaml`) in every maia-krm command.
pub fn steps(config: &Config, config_args: &[String]) -> Vec<Step> {
    let ns = config.namespace();
    let cfg = config_args.iter().map(|a| sh_quote(a)).collect::<Vec<_>>().join(" ");
    // Helm hands each --post-renderer-args word over as is: `--config=FILE` keeps flag and value together.
    let post_render_args: String =
        config_args.chunks(2).map(|pair| format!(" --post-renderer-args {}", sh_quote(&pair.join("=")))).collect();
    components()
        .into_iter()
        .map(|(component, depends_on, release, chart)| {
            let commands = match (component, chart) {
                ("namespace", _) => {
                    let mut commands = shared_host_setup(config);
                    commands.extend(gateway_setup(config));
                    commands.push(format!(
                        "maia-krm namespace {cfg} | kubectl apply -f -   # registry password from MAIA_REGISTRY_PASSWORD"
                    ));
                    commands
                }
                ("kubeflow", _) => vec![
                    "mkdir -p kubeflow".into(),
                    format!("maia-krm values kubeflow {cfg} > kubeflow/kustomization.yaml"),
                    format!(
                        "kubectl kustomize kubeflow | maia-krm {cfg} | kubectl apply -n {ns} -f -   \
                         # notebooks, training jobs, Ray, KServe, Argo objects in kubeflow/ get pull secret and shared volume"
                    ),
                ],
                (_, Some(chart)) => {
                    let file = if matches!(component, "mysql" | "mlflow") { format!("{component}.values.json") } else { format!("{component}.values.yaml") };
                    let mut commands = Vec::new();
                    match chart.repo {
                        Some((name, url)) => commands.push(format!("helm repo add {name} {url}")),
                        None if !chart.chart.starts_with("charts/") => {
                            commands.push("helm repo add maia \"$MAIA_CHART_REPO\"   # MAIA's own chart repository".into())
                        }
                        None => {}
                    }
                    commands.push(format!("maia-krm values {component} {cfg} > {file}"));
                    let version = chart.version.map(|v| format!(" --version {v}")).unwrap_or_default();
                    commands.push(format!(
                        "helm upgrade --install {release} {}{version} -n {ns} -f {file} --post-renderer maia-krm{post_render_args}",
                        chart.chart
                    ));
                    commands
                }
                (_, None) => unreachable!("every other component is a chart"),
            };
            Step { component, depends_on, commands }
        })
        .collect()
}

/// What the platform sets up once where workspaces share one host (`url_type: subpath`): the
/// host's certificate, which no workspace may request for itself.
fn shared_host_setup(config: &Config) -> Vec<String> {
    if !config.subpath() {
        return Vec::new();
    }
    let host = config.workspace_host();
    let paths = config.workspace_paths().unwrap_or_default().join(", ");
    let certificate = match &config.cluster.traefik_resolver {
        // Traefik's ACME resolver keeps one certificate per domain, whichever routers ask.
        Some(resolver) => format!(
            "# one certificate for {host}, from Traefik's resolver {resolver}, shared by every workspace's routes"
        ),
        None => format!(
            "# once per cluster: one certificate for {host}, the ingress controller's default (ingress-nginx \
             --default-ssl-certificate); no workspace requests its own"
        ),
    };
    vec![
        certificate,
        format!("# this workspace serves only {paths} on {host}; its login is under {}", config.oauth2_prefix()),
    ]
}

/// What the platform team sets up once on the cluster's Gateway before a workspace's routes can
/// serve (shell comments: the Gateway is the platform's, not the workspace's).
fn gateway_setup(config: &Config) -> Vec<String> {
    let Some(gateway) = &config.cluster.gateway else { return Vec::new() };
    let at = match &gateway.namespace {
        Some(ns) => format!("{ns}/{}", gateway.name),
        None => gateway.name.clone(),
    };
    let mut notes = vec![if gateway.listener_set {
        format!(
            "# once per cluster: Gateway {at} allows ListenerSets from this namespace \
             (spec.allowedListeners.namespaces; Gateway API v1.5+); `maia-krm namespace` adds the workspace's"
        )
    } else {
        format!("# once per cluster: Gateway {at} has an HTTPS listener covering {}", config.workspace_host())
    }];
    notes.push(match config.cluster.flavour().gateway_auth {
        Some(GatewayAuth::Traefik) => {
            "# once per cluster: Traefik's Gateway provider runs with its Kubernetes CRD provider (for the Middleware)".into()
        }
        Some(GatewayAuth::EnvoyGateway) => "# once per cluster: Envoy Gateway v1.1+ (SecurityPolicy targetRefs, extAuth backendRefs)".into(),
        Some(GatewayAuth::ExternalAuth) => {
            "# once per cluster: Gateway API's experimental-channel HTTPRoute CRD (v1.4+) and an implementation with ExternalAuth".into()
        }
        None => "# no gateway_auth: HTTPRoutes get no login, and routes without parentRefs are not attached".into(),
    });
    notes
}

/// The steps as text: a commented shell script.
pub fn text(steps: &[Step]) -> String {
    let mut out = String::from(
        "#!/usr/bin/env bash\n# Install plan written by `maia-krm plan`; run from the maia-krm checkout (charts/).\nset -euo pipefail\n",
    );
    for (i, s) in steps.iter().enumerate() {
        let after =
            if s.depends_on.is_empty() { String::new() } else { format!(" (after {})", s.depends_on.join(", ")) };
        out.push_str(&format!("\n# {}. {}{after}\n", i + 1, s.component));
        for c in &s.commands {
            out.push_str(c);
            out.push('\n');
        }
    }
    out
}

/// The steps as a JSON list, in order.
pub fn json(steps: &[Step]) -> Json {
    Json::Array(
        steps
            .iter()
            .map(|s| json!({"component": s.component, "depends_on": s.depends_on, "commands": s.commands}))
            .collect(),
    )
}

/// The workspace's AppProject, which the admin applies (alone: `plan --argocd --project-only`)
/// when registering the group, before any of its Applications sync; the shipped ApplicationSet's
/// app `maia-<dir>` (the workspace directory, named after the namespace) belongs to it too. It
/// holds every app of the workspace to sources from `repo_url`, the workspace namespace on this
/// cluster, no cluster-scoped kind (the admin adds any it allows, as in `allowed_cluster_kinds`),
/// and none of the kinds the admin owns in the namespace: its quotas, and the ListenerSet
/// `maia-krm namespace` writes (and its experimental forerunner XListenerSet), whose listener on
/// the shared Gateway could claim any host. Unlike the plugin's checks, these hold for an
/// Application that does not use the plugin at all.
pub fn project(config: &Config, repo_url: &str) -> Json {
    let ns = config.namespace();
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": format!("maia-{ns}"), "namespace": "argocd"},
        "spec": {
            "description": format!("MAIA workspace {ns} (group {})", config.form.group_id),
            "sourceRepos": [repo_url],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": ns}],
            "clusterResourceWhitelist": [],
            "namespaceResourceBlacklist": [
                {"group": "", "kind": "ResourceQuota"},
                {"group": "", "kind": "LimitRange"},
                {"group": "gateway.networking.k8s.io", "kind": "ListenerSet"},
                {"group": "gateway.networking.x-k8s.io", "kind": "XListenerSet"},
            ],
        },
    })
}

/// The workspace's [`project`] and one Application per component for the maia-krm Argo CD
/// plugin. Each app's directory `workspaces/<ns>/<component>` holds a kustomization (charts via
/// `helmCharts`, values from `maia-krm values`) and the workspace's `group-form.yaml`: the plugin
/// reads a form only from the app's own directory, so no parameter can point an app at another
/// workspace's form. Sync waves keep the plan's order. The namespace's own resources carry the
/// registry password, so they stay a `maia-krm namespace` step (or your secret manager's job),
/// not a git-synced app.
pub fn argocd(config: &Config, repo_url: &str) -> Vec<Json> {
    let ns = config.namespace();
    let project = project(config, repo_url);
    let name = project["metadata"]["name"].clone();
    let mut docs = vec![project];
    let waves = components().into_iter().filter(|(c, ..)| *c != "namespace");
    for (wave, (component, ..)) in waves.enumerate() {
        docs.push(json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": format!("{ns}-{component}"),
                "namespace": "argocd",
                "annotations": {"argocd.argoproj.io/sync-wave": wave.to_string()},
                "labels": {"maia.minnelab.io/workspace": ns, "maia.minnelab.io/component": component},
            },
            "spec": {
                "project": name,
                "source": {
                    "repoURL": repo_url,
                    "targetRevision": "main",
                    "path": format!("workspaces/{ns}/{component}"),
                    "plugin": {"name": "maia-krm-v0.1.0", "parameters": [{"name": "form", "string": "group-form.yaml"}]},
                },
                "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                "syncPolicy": {"automated": {"prune": true, "selfHeal": true}},
            },
        }));
    }
    docs
}

/// Quotes a word for POSIX sh when it needs it.
fn sh_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::config;

    #[test]
    fn every_component_comes_after_what_it_depends_on() {
        let steps = steps(&config(&[]), &["--config".into(), "my ws.yaml".into()]);
        for (i, s) in steps.iter().enumerate() {
            for dep in &s.depends_on {
                assert!(steps[..i].iter().any(|p| p.component == *dep), "{} before its dependency {dep}", s.component);
            }
        }
        let names: Vec<_> = steps.iter().map(|s| s.component).collect();
        assert_eq!(names.len(), super::super::values::COMPONENTS.len() + 1);
        assert!(
            steps
                .iter()
                .flat_map(|s| &s.commands)
                .filter(|c| c.contains("helm upgrade"))
                .all(|c| c.contains("--post-renderer maia-krm --post-renderer-args '--config=my ws.yaml'"))
        );
    }
}
