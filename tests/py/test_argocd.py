"""Argo CD: runs functions/argocd/plugin.yaml's discover, init and generate the way the CMP
server does — app directory as cwd, Argo CD's env (ARGOCD_APP_*, KUBE_*, PARAM_*, ARGOCD_ENV_*)
— and checks the sidecar component and ApplicationSet render into valid objects."""

import fnmatch
import json
import os
import pathlib
import posixpath
import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from conftest import BIN, ROOT, oracle_config
from oracle import check_promises, load, split_documents

ARGOCD = ROOT / "functions" / "argocd"
PLUGIN = yaml.safe_load((ARGOCD / "plugin.yaml").read_text())
FORM = "group_ID: Demo_Group\ngroup_subdomain: demo-group\noauth_url: demo-group.maia.example.com\nusers: [alice@example.com]\n"
OTHER_FORM = FORM.replace("Demo_Group", "Other_Group").replace("demo-group", "other-group")
CLUSTER = ("domain: maia.example.com\nnginx_cluster_issuer: cluster-issuer\ningress_class: nginx\n"
           "imagePullSecrets: maia-docker-registry-secret\n")
# What a tenant would like the cluster config to say: another domain, and refusals turned into warnings.
TENANT_CLUSTER = "domain: tenant.example.org\nimagePullSecrets: tenant-secret\non_unpatchable: warn\n"


@pytest.fixture
def app(tmp_path):
    """A fake checkout with two workspaces (demo-group, the app's; other-group, another group's)
    and the sidecar's cluster config outside it."""
    repo = tmp_path / "repo"
    app = repo / "workspaces" / "demo-group"
    app.mkdir(parents=True)
    charts = ["oauth2-proxy-7.7.8-maia.yaml", "minio-tenant.yaml", "maia-filebrowser.yaml"]
    for chart in charts:
        shutil.copy(ROOT / "kustomization" / "rendered" / chart, app / chart)
    (app / "kustomization.yaml").write_text("resources:\n" + "".join(f"- {c}\n" for c in charts))
    (app / "group-form.yaml").write_text(FORM)
    other = repo / "workspaces" / "other-group"
    other.mkdir()
    (other / "group-form.yaml").write_text(OTHER_FORM)
    sidecar = tmp_path / "sidecar"
    sidecar.mkdir()
    (sidecar / "cluster.yaml").write_text(CLUSTER + "oauth2_proxy_service: demo-group-oauth2-proxy\n")
    return app, sidecar / "cluster.yaml"


def argocd_env(sidecar_cluster, **params):
    """The env argocd-cmp-server gives generate: the sidecar's own (PATH, MAIA_KRM_CLUSTER), the
    build env, an Application env var (prefixed ARGOCD_ENV_), and the parameters set on the app."""
    params = {"form": "group-form.yaml", **params}
    env = {
        "PATH": f"{pathlib.Path(BIN).parent}:{os.environ['PATH']}",
        "MAIA_KRM_CLUSTER": str(sidecar_cluster),
        "ARGOCD_APP_NAME": "argocd_maia-demo-group",
        "ARGOCD_APP_NAMESPACE": "demo-group",
        "ARGOCD_APP_REVISION": "0123456789abcdef",
        "ARGOCD_APP_SOURCE_PATH": "workspaces/demo-group",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/maia/workspaces.git",
        "KUBE_VERSION": "1.33.0",
        "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1,networking.k8s.io/v1,traefik.io/v1alpha1",
        "ARGOCD_ENV_TEAM": "demo",
        "ARGOCD_APP_PARAMETERS": json.dumps([{"name": k, "string": v} for k, v in params.items()]),
    }
    env.update({f"PARAM_{k.upper()}": v for k, v in params.items()})
    return env


def run_step(step, app_dir, env):
    spec = PLUGIN["spec"][step]
    return subprocess.run([*spec["command"], *spec["args"]], cwd=app_dir, env=env, capture_output=True, text=True, timeout=90)


def assert_refused(proc, reason):
    assert proc.returncode != 0, proc.stdout[:500]
    assert proc.stdout == "", "Argo CD must never get a partial or empty manifest with exit 0"
    assert reason in proc.stderr, proc.stderr


def generate(app_dir, env):
    proc = run_step("generate", app_dir, env)
    assert proc.returncode == 0, proc.stderr
    return [load(d) for d in split_documents(proc.stdout)]


def test_discover_matches_workspace_directories_only(app, tmp_path):
    pattern = PLUGIN["spec"]["discover"]["fileName"]
    app_dir, _ = app
    assert any(fnmatch.fnmatch(f"./{p.name}", pattern) for p in app_dir.iterdir())
    assert not any(fnmatch.fnmatch(f"./{p.name}", pattern) for p in (ROOT / "kustomization" / "rendered").iterdir())


def test_generate_renders_the_workspace_patched(app):
    app_dir, cluster = app
    env = argocd_env(cluster)
    assert run_step("init", app_dir, env).returncode == 0
    docs = generate(app_dir, env)
    assert len(docs) > 20
    for d in docs:
        check_promises(d, oracle_config("nginx"))


def test_the_cluster_config_is_the_sidecars_whatever_the_application_says(app):
    """No parameter names the cluster config: PARAM_CLUSTER pointing at a file the tenant wrote in
    its workspace is ignored, and so is an Application env var, which reaches the plugin prefixed."""
    app_dir, cluster = app
    (app_dir / "cluster.yaml").write_text(TENANT_CLUSTER)
    assert "cluster" not in {p["name"] for p in PLUGIN["spec"]["parameters"]["static"]}
    env = {**argocd_env(cluster, cluster=str(app_dir / "cluster.yaml")),
           "ARGOCD_ENV_MAIA_KRM_CLUSTER": str(app_dir / "cluster.yaml")}
    out = run_step("generate", app_dir, env).stdout
    assert out == run_step("generate", app_dir, argocd_env(cluster)).stdout
    assert "maia.example.com" in out and "tenant.example.org" not in out and "tenant-secret" not in out


@pytest.mark.parametrize("form", [
    "../other-group/group-form.yaml",       # another workspace's form, next door
    "ABSOLUTE",                             # the same by absolute path
    "forms/group-form.yaml",                # a subdirectory of the app
    "./group-form.yaml",                    # any path at all, even to the app's own form
    "linked-form.yaml",                     # a symlink to another workspace's form
    "group-form.yml",                       # no such file
    "..",
])
def test_the_form_is_a_plain_file_in_the_apps_own_directory(app, form):
    app_dir, cluster = app
    other_form = app_dir.parent / "other-group" / "group-form.yaml"
    (app_dir / "forms").mkdir()
    (app_dir / "forms" / "group-form.yaml").write_text(FORM)
    (app_dir / "linked-form.yaml").symlink_to("../other-group/group-form.yaml")
    form = str(other_form) if form == "ABSOLUTE" else form
    assert_refused(run_step("generate", app_dir, argocd_env(cluster, form=form)), f"form '{form}'")


def test_the_apps_own_form_may_not_be_a_symlink_either(app):
    app_dir, cluster = app
    (app_dir / "group-form.yaml").unlink()
    (app_dir / "group-form.yaml").symlink_to("../other-group/group-form.yaml")
    assert_refused(run_step("generate", app_dir, argocd_env(cluster)), "a symlink is refused")


def test_a_form_named_like_a_flag_is_read_as_a_file(app):
    """The checked name reaches maia-krm as a path, never as an option."""
    app_dir, cluster = app
    (app_dir / "--help").write_text(FORM)
    assert len(generate(app_dir, argocd_env(cluster, form="--help"))) > 20


def test_a_component_app_reads_the_form_in_its_own_directory(app):
    """`maia-krm plan --argocd` apps live in workspaces/<ns>/<component>, each with the form beside it."""
    app_dir, cluster = app
    component = app_dir / "minio"
    component.mkdir()
    shutil.copy(ROOT / "kustomization" / "rendered" / "minio-tenant.yaml", component)
    (component / "kustomization.yaml").write_text("resources: [minio-tenant.yaml]\n")
    shutil.copy(app_dir / "group-form.yaml", component)
    env = {**argocd_env(cluster), "ARGOCD_APP_SOURCE_PATH": "workspaces/demo-group/minio"}
    proc = run_step("generate", component, env)
    assert proc.returncode == 0, proc.stderr
    assert "cert-manager.io/cluster-issuer" in proc.stdout
    assert_refused(run_step("generate", component, argocd_env(cluster, form="../group-form.yaml")), "without a path")


def test_a_form_claiming_another_group_renders_into_neither_workspace(app):
    """Workspace A's directory holding B's group_ID would render B's workspace (hosts, login) into
    A's namespace; A's form under an Application deploying into B's namespace, the reverse."""
    app_dir, cluster = app
    (app_dir / "group-form.yaml").write_text(OTHER_FORM)
    assert_refused(run_step("generate", app_dir, argocd_env(cluster)),
                   "is for namespace other-group, but this Application deploys into 'demo-group'")
    (app_dir / "group-form.yaml").write_text(FORM)
    env = {**argocd_env(cluster), "ARGOCD_APP_NAMESPACE": "other-group"}
    assert_refused(run_step("generate", app_dir, env), "is for namespace demo-group, but this Application deploys into 'other-group'")
    del env["ARGOCD_APP_NAMESPACE"]
    assert_refused(run_step("generate", app_dir, env), "deploys into ''")


def test_the_render_is_the_groups_own_so_it_stays_in_its_namespace(app):
    """generate runs maia-krm --tenant: JupyterHub's user-scheduler ClusterRole and
    ClusterRoleBinding fail the sync until the admin lists those kinds (and whitelists them in
    the AppProject); a resource in another group's namespace fails it whatever the admin says."""
    app_dir, cluster = app
    shutil.copy(ROOT / "kustomization" / "rendered" / "jupyterhub.yaml", app_dir)
    (app_dir / "kustomization.yaml").write_text("resources: [jupyterhub.yaml]\n")
    assert_refused(run_step("generate", app_dir, argocd_env(cluster)), "cluster-scoped ClusterRole")
    with cluster.open("a") as f:
        f.write("allowed_cluster_kinds: ClusterRole,ClusterRoleBinding\n")
    assert {d["kind"] for d in generate(app_dir, argocd_env(cluster))} >= {"ClusterRole", "ClusterRoleBinding"}
    (app_dir / "elsewhere.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: other-group\n")
    (app_dir / "kustomization.yaml").write_text("resources: [jupyterhub.yaml, elsewhere.yaml]\n")
    assert_refused(run_step("generate", app_dir, argocd_env(cluster)), "in namespace other-group")


@pytest.mark.parametrize("breakage", ["render", "empty-render", "form", "cluster"])
def test_a_failure_anywhere_in_the_pipe_fails_generate(app, breakage, tmp_path):
    app_dir, cluster = app
    env = argocd_env(cluster)
    if breakage == "render":
        (app_dir / "kustomization.yaml").write_text("resources:\n- missing.yaml\n")
    elif breakage == "empty-render":
        # maia-krm passes an empty stream through; generate keeps its own guard against it.
        (app_dir / "kustomization.yaml").write_text("resources: []\n")
    elif breakage == "form":
        (app_dir / "group-form.yaml").write_text("group_ID: 'Bad Group!'\n")
    else:
        env = argocd_env(tmp_path / "no-such-cluster.yaml")
    proc = run_step("generate", app_dir, env)
    assert proc.returncode != 0
    assert proc.stdout == "", "Argo CD must never get a partial or empty manifest with exit 0"


def test_sidecar_component_renders_into_a_valid_repo_server(tmp_path):
    base = tmp_path / "argocd"
    base.mkdir()
    (base / "repo-server.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-repo-server\nspec:\n"
        "  selector: {matchLabels: {app: repo}}\n  template:\n    metadata: {labels: {app: repo}}\n    spec:\n"
        "      containers:\n      - name: argocd-repo-server\n        image: quay.io/argoproj/argocd:v3.0.0\n"
        "      volumes:\n      - name: var-files\n        emptyDir: {}\n      - name: plugins\n        emptyDir: {}\n")
    shutil.copytree(ARGOCD, base / "maia-krm")
    (base / "kustomization.yaml").write_text("resources: [repo-server.yaml]\ncomponents: [maia-krm]\n")
    proc = subprocess.run(["kubectl", "kustomize", str(base)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(proc.stdout)}
    assert yaml.safe_load(docs["ConfigMap"]["data"]["plugin.yaml"]) == PLUGIN
    sidecar = next(c for c in docs["Deployment"]["spec"]["template"]["spec"]["containers"] if c["name"] == "maia-krm")
    assert sidecar["securityContext"]["runAsUser"] == 999
    assert {"name": "maia-krm-cmp", "mountPath": "/home/argocd/cmp-server/config/plugin.yaml", "subPath": "plugin.yaml"} in sidecar["volumeMounts"]
    # generate's cluster config: set by the admin here, in the mounted Secret.
    cluster = next(e["value"] for e in sidecar["env"] if e["name"] == "MAIA_KRM_CLUSTER")
    secret_mount = next(m["mountPath"] for m in sidecar["volumeMounts"] if m["name"] == "maia-krm-cluster")
    assert pathlib.PurePosixPath(cluster).parent == pathlib.PurePosixPath(secret_mount)
    assert "MAIA_KRM_CLUSTER:-" + cluster in PLUGIN["spec"]["generate"]["args"][0]
    for d in docs.values():
        kubernetes_validate.validate(d, "1.33.0", strict=True)


APPSET = yaml.safe_load((ARGOCD / "applicationset.yaml").read_text())
# AppProject spec fields, from Argo CD's CRD (manifests/crds/appproject-crd.yaml), that a project here may use.
APPPROJECT_FIELDS = {"description", "sourceRepos", "destinations", "clusterResourceWhitelist",
                     "namespaceResourceBlacklist", "namespaceResourceWhitelist"}


def app_for(directory):
    """The Application the ApplicationSet makes for one directory found by its git directories
    generator (goTemplate: `.path.path`, `.path.basename`)."""
    params = {".path.path": directory, ".path.basename": posixpath.basename(directory)}

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, str):
            value = re.sub(r"\{\{ *(\S+) *\}\}", lambda m: params[m.group(1)], value)
            assert "{{" not in value
        return value

    return fill(APPSET["spec"]["template"])


def admits(project, app):
    """Whether Argo CD would sync `app` in `project`: its project, a permitted source repository
    and destination (exact entries, as this project writes them)."""
    spec, dest = project["spec"], app["spec"]["destination"]
    return (app["spec"]["project"] == project["metadata"]["name"]
            and app["spec"]["source"]["repoURL"] in spec["sourceRepos"]
            and {"server": dest["server"], "namespace": dest["namespace"]} in spec["destinations"])


def test_applicationset_uses_the_plugin_by_its_versioned_name():
    plugin = APPSET["spec"]["template"]["spec"]["source"]["plugin"]
    assert plugin["name"] == f"{PLUGIN['metadata']['name']}-{PLUGIN['spec']['version']}"
    assert {p["name"] for p in plugin["parameters"]} <= {p["name"] for p in PLUGIN["spec"]["parameters"]["static"]}


def test_the_applicationset_takes_nothing_from_what_the_group_writes():
    """A directories generator reads no file of the workspace, and the template uses only the
    directory: no form key can rename the app, its project or its namespace."""
    generator = APPSET["spec"]["generators"][0]["git"]
    assert set(generator) == {"repoURL", "revision", "directories"}
    template = (ARGOCD / "applicationset.yaml").read_text().split("template:", 1)[1]
    assert set(re.findall(r"\{\{ *(\S+) *\}\}", template)) == {".path.basename", ".path.path"}
    app = app_for("workspaces/demo-group")
    assert app["spec"]["project"] == "maia-demo-group"
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "demo-group"}
    # The admin creates the namespace with the project; an app never does.
    assert "syncOptions" not in app["spec"]["syncPolicy"]


def test_the_workspace_project_admits_its_own_app_only(app, tmp_path):
    """`plan --argocd --project-only`, read with PyYAML: the AppProject the admin applies for a
    workspace admits the ApplicationSet's app for that directory, and no app deploying elsewhere."""
    app_dir, cluster = app
    proc = subprocess.run([BIN, "plan", "--form", str(app_dir / "group-form.yaml"), "--cluster", str(cluster),
                           "--argocd", "--project-only"], capture_output=True, text=True, check=True)
    [project] = list(yaml.safe_load_all(proc.stdout))
    assert (project["apiVersion"], project["kind"], project["metadata"]["name"]) == \
        ("argoproj.io/v1alpha1", "AppProject", "maia-demo-group")
    spec = project["spec"]
    assert set(spec) <= APPPROJECT_FIELDS
    for entry in spec["clusterResourceWhitelist"] + spec["namespaceResourceBlacklist"]:
        assert set(entry) == {"group", "kind"} and all(isinstance(v, str) for v in entry.values())
    assert spec["clusterResourceWhitelist"] == [], "no cluster-scoped kind unless the admin adds it"
    assert {("", "ResourceQuota"), ("", "LimitRange"), ("gateway.networking.k8s.io", "ListenerSet")} <= \
        {(e["group"], e["kind"]) for e in spec["namespaceResourceBlacklist"]}
    assert spec["sourceRepos"] == [APPSET["spec"]["template"]["spec"]["source"]["repoURL"]]
    own = app_for("workspaces/demo-group")
    assert admits(project, own)
    assert not admits(project, app_for("workspaces/other-group")), "another workspace's app has its own project"
    moved = {**own, "spec": {**own["spec"], "destination": {**own["spec"]["destination"], "namespace": "other-group"}}}
    assert not admits(project, moved), "an app edited to deploy into another namespace is refused"
