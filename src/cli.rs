//! Every flag and subcommand, with its help text, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Applies a MAIA workspace's edits (Ingress TLS, OAuth, registry pull secret, shared volume)
/// to rendered manifests on stdin: a manifest stream (Helm post-renderer, Argo CD plugin) or a
/// KRM ResourceList (kpt and kustomize function), written back to stdout. Subcommands automate
/// the rest of registering a group.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true, after_help = RENDER_EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print each change made, and each change skipped and why, to stderr.
    #[arg(long)]
    pub explain: bool,
    /// Print no warnings (one line per resource a patch had to leave alone); refusals and
    /// errors are still printed.
    #[arg(long, short, conflicts_with = "explain")]
    pub quiet: bool,
    /// The input is a group's own (the Argo CD plugin): resources outside the workspace
    /// namespace and cluster-scoped kinds fail the run (option `tenant`).
    #[arg(long)]
    pub tenant: bool,
    /// Write nothing; exit 1 when maia-krm would change the input (for CI gates).
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff per changed document instead of the stream (with --check: and exit 1
    /// when there is one).
    #[arg(long)]
    pub diff: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// Where the config comes from: one ConfigMap file, or the form and cluster files.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// ConfigMap whose data holds `group-form.yaml`, `cluster.yaml` and option keys
    /// [env: MAIA_KRM_CONFIG, when set and not empty].
    #[arg(long, conflicts_with_all = ["form", "cluster"])]
    pub config: Option<PathBuf>,
    /// The group form file (with --cluster), instead of --config.
    #[arg(long, requires = "cluster")]
    pub form: Option<PathBuf>,
    /// The cluster config file (with --form), instead of --config.
    #[arg(long, requires = "form")]
    pub cluster: Option<PathBuf>,
}

impl ConfigArgs {
    /// `--config`, else `MAIA_KRM_CONFIG` unless `--form` is given. An empty variable counts as
    /// unset, as shells mean `MAIA_KRM_CONFIG= maia-krm ...` (clap's own env fallback would read
    /// it as `--config ""` and report a missing value).
    pub fn config_file(&self) -> Option<PathBuf> {
        let from_env = || std::env::var_os("MAIA_KRM_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from);
        self.config.clone().or_else(|| if self.form.is_none() { from_env() } else { None })
    }

    /// The same flags as words, for commands that `plan` writes.
    pub fn words(&self) -> Vec<String> {
        match (self.config_file(), &self.form, &self.cluster) {
            (Some(c), _, _) => vec!["--config".into(), c.display().to_string()],
            (None, Some(f), Some(c)) => {
                vec!["--form".into(), f.display().to_string(), "--cluster".into(), c.display().to_string()]
            }
            _ => Vec::new(),
        }
    }
}

const RENDER_EXAMPLES: &str = "\
Examples:
  # Helm 3 post-renderer (Helm 4: install the plugin, functions/helm/install.sh)
  helm install jupyterhub jupyterhub/jupyterhub --post-renderer maia-krm --post-renderer-args --config=demo.yaml

  # See what would change, and why
  helm template jupyterhub jupyterhub/jupyterhub | maia-krm --config demo.yaml --diff --explain

  # The form and the cluster config as two files, instead of one ConfigMap
  maia-krm --form group-form.yaml --cluster cluster.yaml < rendered.yaml > patched.yaml

  # A KRM function (kpt, kustomize): the ResourceList on stdin carries its functionConfig
  kpt fn eval --exec maia-krm -- group_ID=demo domain=maia.example.com";

const AUDIT_EXAMPLES: &str = "\
Examples:
  # What a chart would install, before maia-krm
  helm template minio minio/tenant | maia-krm audit --config demo.yaml

  # What runs in the workspace now, as JSON
  kubectl get ingress,deploy,statefulset -n demo -o yaml | maia-krm audit --config demo.yaml -o json";

const PLAN_EXAMPLES: &str = "\
Examples:
  maia-krm plan --form group-form.yaml --cluster cluster.yaml > install.sh
  maia-krm plan --form group-form.yaml --cluster cluster.yaml --argocd --repo https://git.example.com/maia/workspaces.git";

const FORM_NEW_EXAMPLES: &str = "\
Examples:
  maia-krm form new --group Demo_Group --users ana@example.org,ben@example.org --domain maia.example.com > group-form.yaml

  # Secrets in files beside the form instead of in it (0600, referenced by fromFile)
  maia-krm form new --group Demo_Group --memory 4G,16G --cpu 2,8 --secrets-dir secrets > group-form.yaml";

const FORM_CHECK_EXAMPLES: &str = "\
Examples:
  maia-krm form check group-form.yaml --cluster cluster.yaml

  # Every workspace of a repository at once: also two claiming one namespace, host or path
  maia-krm form check workspaces/*/group-form.yaml --cluster cluster.yaml";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a new group form, or check one.
    #[command(subcommand)]
    Form(FormCommand),
    /// Print the namespace's own resources: Namespace, registry pull Secret, shared PVC.
    Namespace {
        #[command(flatten)]
        config: ConfigArgs,
        /// File holding the registry password (else MAIA_REGISTRY_PASSWORD, else docker_password).
        #[arg(long)]
        registry_password_file: Option<PathBuf>,
    },
    /// Print a component's Helm values (MySQL and MLflow: charts/mkg app configs, as JSON).
    Values {
        /// oauth2-proxy, minio, mysql, mlflow, jupyterhub, label-studio, orthanc, kubeflow or addons.
        component: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Report every route (host, path, backend, TLS, login) and pod template (pull secret, shared
    /// volume) of rendered manifests or `kubectl get -o yaml` output, and each gap with the patch
    /// that closes it. Exit 0: the policy holds; 1: a route lacks TLS or login, or a pod the pull
    /// secret; 2: bad input or config.
    #[command(after_help = AUDIT_EXAMPLES)]
    Audit {
        #[command(flatten)]
        config: ConfigArgs,
        /// Files to read (default: stdin).
        files: Vec<PathBuf>,
        /// table: for people (colour on a terminal unless NO_COLOR); json; krm: a ResourceList with results.
        #[arg(short, long, value_enum, default_value_t = AuditFormat::Table)]
        output: AuditFormat,
    },
    /// Print the ordered install steps.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan {
        #[command(flatten)]
        config: ConfigArgs,
        /// text: a shell script; json: [{component, depends_on, commands}].
        #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
        output: PlanFormat,
        /// Print an AppProject and one Application per component for the Argo CD plugin instead.
        #[arg(long)]
        argocd: bool,
        /// With --argocd: only the workspace's AppProject, for the admin to apply when registering
        /// the group (the shipped ApplicationSet's apps need it too).
        #[arg(long, requires = "argocd")]
        project_only: bool,
        /// Git repository holding workspaces/<namespace>/<component> (with --argocd).
        #[arg(long, default_value = "https://git.example.com/maia/workspaces.git")]
        repo: String,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq)]
pub enum AuditFormat {
    Table,
    Json,
    Krm,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum FormCommand {
    /// Print a complete group form with fresh random secrets (OS-seeded CSPRNG).
    #[command(after_help = FORM_NEW_EXAMPLES)]
    New {
        /// The group ID (Keycloak group MAIA:<ID>; namespace = lower-cased, `_`→`-`).
        #[arg(long)]
        group: String,
        /// Workspace subdomain (default: the namespace).
        #[arg(long)]
        subdomain: Option<String>,
        /// Users' e-mails, comma-separated.
        #[arg(long, value_delimiter = ',')]
        users: Vec<String>,
        /// GPUs per user pod.
        #[arg(long, default_value_t = 0)]
        gpu: usize,
        /// Workspace image tag.
        #[arg(long, default_value = "2.0")]
        workspace_version: String,
        /// Cluster domain, to fill in oauth_url as <subdomain>.<domain>.
        #[arg(long)]
        domain: Option<String>,
        /// Memory per user pod: guarantee and limit, e.g. `--memory 2G,8G`.
        #[arg(long, value_name = "GUARANTEE,LIMIT", value_parser = pair::<String>, default_value = "2G,8G")]
        memory: (String, String),
        /// CPUs per user pod: guarantee and limit, e.g. `--cpu 1,4`.
        #[arg(long, value_name = "GUARANTEE,LIMIT", value_parser = pair::<f64>, default_value = "1.0,4.0")]
        cpu: (f64, f64),
        /// Reference secrets as env vars PREFIX_<KEY> instead of writing values.
        #[arg(long, conflicts_with = "secrets_dir")]
        secrets_env: Option<String>,
        /// Write each secret to DIR/<key> (mode 0600) and reference the files.
        #[arg(long)]
        secrets_dir: Option<PathBuf>,
    },
    /// List every problem of a form (and its cluster config) at once; given several forms, also
    /// two workspaces that would claim one namespace, host or path.
    #[command(after_help = FORM_CHECK_EXAMPLES)]
    Check {
        /// Group form files (`group-form.yaml`); several are also checked against each other.
        #[arg(required = true, num_args = 1..)]
        forms: Vec<PathBuf>,
        /// The cluster config file, checked with each form (without it, the forms alone).
        #[arg(long)]
        cluster: Option<PathBuf>,
    },
    /// Print the workspace namespace a form names (`group_ID` lower-cased, `_`→`-`), after
    /// checking the form. The Argo CD plugin compares it with the Application's destination.
    Namespace {
        #[arg(long)]
        form: PathBuf,
    },
}

/// `A,B`: two values of one flag, as the help shows them (clap's `num_args = 2` would want them
/// as two words).
fn pair<T: std::str::FromStr>(text: &str) -> Result<(T, T), String> {
    let parse = |v: &str| v.trim().parse::<T>().map_err(|_| format!("`{v}` is not a valid value"));
    match text.split_once(',') {
        Some((a, b)) if !b.contains(',') => Ok((parse(a)?, parse(b)?)),
        _ => Err(format!("expected two values separated by a comma (GUARANTEE,LIMIT), got `{text}`")),
    }
}
