//! Every flag and subcommand, with its help text, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Applies a MAIA workspace's edits (Ingress TLS, OAuth, registry pull secret, shared volume)
/// to rendered manifests on stdin: a manifest stream (Helm post-renderer, Argo CD plugin) or a
/// KRM ResourceList (kpt and kustomize function), written back to stdout. Subcommands automate
/// the rest of registering a group.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
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
    /// ConfigMap whose data holds `group-form.yaml`, `cluster.yaml` and option keys.
    #[arg(long, env = "MAIA_KRM_CONFIG", conflicts_with_all = ["form", "cluster"])]
    pub config: Option<PathBuf>,
    /// The group form file (with --cluster), instead of --config.
    #[arg(long, requires = "cluster")]
    pub form: Option<PathBuf>,
    /// The cluster config file (with --form), instead of --config.
    #[arg(long, requires = "form")]
    pub cluster: Option<PathBuf>,
}

impl ConfigArgs {
    /// The same flags as words, for commands that `plan` writes.
    pub fn words(&self) -> Vec<String> {
        match (&self.config, &self.form, &self.cluster) {
            (Some(c), _, _) => vec!["--config".into(), c.display().to_string()],
            (None, Some(f), Some(c)) => {
                vec!["--form".into(), f.display().to_string(), "--cluster".into(), c.display().to_string()]
            }
            _ => Vec::new(),
        }
    }
}

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
        /// Memory guarantee,limit.
        #[arg(long, value_delimiter = ',', num_args = 2, default_values = ["2G", "8G"])]
        memory: Vec<String>,
        /// CPU guarantee,limit.
        #[arg(long, value_delimiter = ',', num_args = 2, default_values = ["1.0", "4.0"])]
        cpu: Vec<f64>,
        /// Reference secrets as env vars PREFIX_<KEY> instead of writing values.
        #[arg(long, conflicts_with = "secrets_dir")]
        secrets_env: Option<String>,
        /// Write each secret to DIR/<key> (mode 0600) and reference the files.
        #[arg(long)]
        secrets_dir: Option<PathBuf>,
    },
    /// List every problem of a form (and its cluster config) at once; given several forms, also
    /// two workspaces that would claim one namespace, host or path.
    Check {
        #[arg(required = true, num_args = 1..)]
        forms: Vec<PathBuf>,
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
