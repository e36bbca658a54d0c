"""The registration runbook as commands: form new/check, namespace, values, the two charts this
project ships (rendered by the real Helm 4 engine), and plan. Values are checked against the
values the corpus's real upstream charts were rendered with (tests/corpus/corpus.tar.xz: *.values.yaml)."""

import base64
import json
import os
import subprocess

import kubernetes_validate
import pytest
import yaml

from conftest import BIN, CORPUS, FIXTURES, ROOT, oracle_config, run
from oracle import check_promises, load, split_documents

WORKSPACE = str(FIXTURES / "config-workspace.yaml")
ENV = {"MAIA_FORM_MYSQL_PASSWORD": "env-db-password"}


def maia(*args, env=None, check=True):
    return run(list(args), b"", env={**ENV, **(env or {})}, check=check)


def values(component):
    out = maia("values", component, "--config", WORKSPACE).stdout.decode()
    return json.loads(out) if component in ("mysql", "mlflow") else yaml.safe_load(out)


def validate(doc):
    kubernetes_validate.validate(doc, "1.33.0", strict=True)


# --- form ---------------------------------------------------------------------------------

def test_form_new_passes_form_check_and_secrets_differ_between_runs(tmp_path):
    args = ["form", "new", "--group", "Demo_Group", "--users", "alice@example.com,bob@example.com", "--gpu", "1", "--domain", "maia.example.com"]
    forms = [maia(*args).stdout.decode() for _ in range(2)]
    for i, text in enumerate(forms):
        (tmp_path / f"f{i}.yaml").write_text(text)
        assert maia("form", "check", str(tmp_path / f"f{i}.yaml")).stdout.startswith(b"ok: group Demo_Group")
    a, b = (yaml.safe_load(f) for f in forms)
    for key in ("minio_access_key", "minio_secret_key", "oauth2_cookie_secret", "mysql_root_password", "mysql_password", "mlflow_password"):
        assert a[key] != b[key], key
        assert isinstance(a[key], str) and len(a[key]) >= 20
    assert len(base64.urlsafe_b64decode(a["oauth2_cookie_secret"])) == 32
    assert a["users"] == ["alice@example.com", "bob@example.com"] and a["gpu_request"] == 1


def test_form_check_lists_every_problem_with_its_key(tmp_path):
    (tmp_path / "bad.yaml").write_text("group_ID: 'Bad Group'\nusers: [nope]\nresources_limits: {memory: [1G], cpu: [1, 2]}\n")
    (tmp_path / "cluster.yaml").write_text("domain: https://maia.example.com\nport_range: [10, 5]\n")
    proc = maia("form", "check", str(tmp_path / "bad.yaml"), "--cluster", str(tmp_path / "cluster.yaml"), check=False)
    assert proc.returncode == 2 and proc.stdout == b""
    for key in ("group_ID", "users[0]", "resources_limits.memory", "domain", "port_range"):
        assert f"`{key}`".encode() in proc.stderr, key


def test_form_check_and_plan_fail_on_what_later_steps_need_naming_key_file_and_fix(tmp_path):
    # The runbook's own order: a fresh form (every secret), and a cluster config without the
    # registry user, Keycloak or NodePort-range ports that namespace, values and addons need.
    form = tmp_path / "group-form.yaml"
    form.write_bytes(maia("form", "new", "--group", "Demo_Group", "--users", "alice@example.com").stdout)
    assert maia("form", "check", str(form)).stdout.startswith(b"ok: group Demo_Group"), "the form alone is complete"
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("domain: maia.example.com\nnginx_cluster_issuer: cluster-issuer\ndocker_server: registry.maia.example.com\n")
    proc = maia("form", "check", str(form), "--cluster", str(cluster), check=False)
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    for needle in (
        f"cluster config key `docker_username`: is required for the registry pull secret; set it to the registry's (in {cluster})",
        f"cluster config key `keycloak`: is required for the workspace's logins; add keycloak: {{issuer_url, client_id, client_secret}} (in {cluster})",
        "cluster config key `port_range`: NodePort SSH ports must lie in 30000-32767, but port_range is [2022, 2122] (the default); set port_range: [30022, 30122], or ssh_port_type: LoadBalancer",
    ):
        assert needle in err, err
    plan = maia("plan", "--form", str(form), "--cluster", str(cluster), check=False)
    assert plan.returncode == 2 and plan.stdout == b"" and b"`keycloak`" in plan.stderr and b"`docker_username`" in plan.stderr
    # The same steps refuse the same config, with the same words.
    for component in ("oauth2-proxy", "minio", "jupyterhub"):
        step = maia("values", component, "--form", str(form), "--cluster", str(cluster), check=False)
        assert step.returncode == 2 and b"cluster config key `keycloak`: is required" in step.stderr, component
    addons = maia("values", "addons", "--form", str(form), "--cluster", str(cluster), check=False)
    assert addons.returncode == 2 and b"[2022, 2122] (the default)" in addons.stderr
    # A form missing a secret fails form check alone (and names the form file).
    bare = tmp_path / "bare.yaml"
    bare.write_text("group_ID: Demo_Group\nusers: [alice@example.com]\n")
    proc = maia("form", "check", str(bare), check=False)
    assert proc.returncode == 2 and f"group form key `mysql_password`: is missing; `maia-krm form new` writes every secret a workspace needs (in {bare})".encode() in proc.stderr


def test_typos_and_foreign_keys_in_the_files_name_the_file_and_the_nearest_key(tmp_path):
    form = tmp_path / "group-form.yaml"
    form.write_text("group_ID: Demo_Group\nusres: [a@example.com]\non_unpatchable: warn\n")
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("domain: maia.example.com\nnginx_cluster_isuer: cluster-issuer\nimagePullSecret: regcred\ncluster_name: upstream-key\n")
    proc = run(["--form", str(form), "--cluster", str(cluster)], b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", check=False)
    assert proc.returncode == 2 and proc.stdout == b""
    err = proc.stderr.decode()
    for needle in (
        f"group form {form}: unknown key `usres` (did you mean `users`?)",
        f"group form {form}: `on_unpatchable` is an option, the admin's to set",
        f"cluster config {cluster}: unknown key `nginx_cluster_isuer` (did you mean `nginx_cluster_issuer`?)",
        f"cluster config {cluster}: unknown key `imagePullSecret` (did you mean `imagePullSecrets`?)",
    ):
        assert needle in err, err
    assert "cluster_name" not in err, "an upstream key maia-krm does not use is accepted"


# --- namespace ----------------------------------------------------------------------------

def test_namespace_resources_validate_and_the_pull_secret_decodes(tmp_path):
    (tmp_path / "pw").write_text("s3cret-registry-password\n")
    proc = maia("namespace", "--config", WORKSPACE, "--registry-password-file", str(tmp_path / "pw"))
    docs = [load(d) for d in split_documents(proc.stdout.decode())]
    assert [d["kind"] for d in docs] == ["Namespace", "Secret", "PersistentVolumeClaim"]
    for d in docs:
        validate(d)
    auths = json.loads(base64.b64decode(docs[1]["data"][".dockerconfigjson"]))["auths"]
    entry = auths["registry.maia.example.com"]
    assert (entry["username"], entry["password"]) == ("demo", "s3cret-registry-password")
    assert base64.b64decode(entry["auth"]) == b"demo:s3cret-registry-password"
    assert docs[1]["type"] == "kubernetes.io/dockerconfigjson"
    assert docs[2]["spec"] == {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "10Gi"}}, "storageClassName": "nfs-client"}


def test_the_registry_password_comes_from_the_environment_not_argv():
    proc = maia("namespace", "--config", WORKSPACE, env={"MAIA_REGISTRY_PASSWORD": "from-env"})
    secret = [load(d) for d in split_documents(proc.stdout.decode())][1]
    assert b"from-env" in base64.b64decode(secret["data"][".dockerconfigjson"])
    env = {k: v for k, v in os.environ.items() if k != "MAIA_REGISTRY_PASSWORD"}
    missing = subprocess.run([BIN, "namespace", "--config", WORKSPACE], capture_output=True, env=env)
    assert missing.returncode == 2 and b"no registry password" in missing.stderr and missing.stdout == b""


# --- values against the corpus ------------------------------------------------------------

def contains(ours, theirs, path="", skip=()):
    """Every key path of `theirs` (the corpus values) is in `ours` with the same value; lists
    in `ours` may hold more items. Returns the differing paths."""
    if path in skip:
        return []
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [path]
        return [p for k, v in theirs.items() for p in contains(ours.get(k, object()), v, f"{path}.{k}", skip)]
    if isinstance(theirs, list) and isinstance(ours, list):
        return [] if all(any(not contains(o, t, path, skip) for o in ours) for t in theirs) else [path]
    return [] if ours == theirs else [path]


# Differences on purpose, each with its reason:
NOT_COMPARED = {
    # generated per workspace by `form new`; the corpus's cookie secret is not even a valid AES size
    ".config.cookieSecret",
    # the oauth2-proxy config file is compared line by line below
    ".config.configFile",
}


@pytest.mark.parametrize("component, corpus", [
    ("oauth2-proxy", "oauth2-proxy-7.7.8-maia"),
    ("jupyterhub", "jupyterhub"),
    ("label-studio", "label-studio"),
    ("minio", "minio-tenant"),
])
def test_values_reproduce_the_values_the_real_charts_were_rendered_with(component, corpus):
    theirs = yaml.safe_load((CORPUS / f"{corpus}.values.yaml").read_text())
    ours = values(component)
    if component == "label-studio":
        # maia.md names the sub-host label-studio.<sub>.<domain>; the corpus render used labelstudio.
        theirs = yaml.safe_load(yaml.safe_dump(theirs).replace("labelstudio.", "label-studio."))
    assert contains(ours, theirs, skip=NOT_COMPARED) == []


def test_oauth2_proxy_config_matches_the_runbook_except_its_insecure_settings():
    # ...and its static upstream: Envoy's external auth (and Gateway API's ExternalAuth) allow only a 200.
    theirs = yaml.safe_load((CORPUS / "oauth2-proxy-7.7.8-maia.values.yaml").read_text())["config"]["configFile"]
    ours = values("oauth2-proxy")["config"]["configFile"]
    lines = lambda text: {l for l in text.splitlines() if l.strip()}
    assert lines(theirs) - lines(ours) == {
        "insecure_oidc_skip_issuer_verification = true",
        "ssl_insecure_skip_verify = true",
        'whitelist_domains = [ "*",]',
        'upstreams = [ "static://202",]',
    }
    assert lines(ours) - lines(theirs) == {
        'whitelist_domains = [ ".maia.example.com",]',
        'upstreams = [ "static://200",]',
    }


def test_jupyterhub_values_carry_users_resources_gpu_and_the_shared_volume():
    hub = values("jupyterhub")
    assert hub["hub"]["config"]["Authenticator"]["allowed_users"] == ["demo.user@example.com", "bob@example.com"]
    single = hub["singleuser"]
    assert single["image"]["tag"] == "2.0"
    assert {"name": "jupyterhub-shared", "mountPath": "/home/maia-user/shared"} in single["storage"]["extraVolumeMounts"]
    assert {"name": "jupyterhub-shared", "persistentVolumeClaim": {"claimName": "shared"}} in single["storage"]["extraVolumes"]
    assert single["profileList"][1]["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": "1"}


def test_values_are_deterministic_for_a_form():
    for component in ("oauth2-proxy", "minio", "mysql", "mlflow", "jupyterhub", "addons"):
        assert values(component) == values(component), component


def test_a_secret_reference_is_resolved_and_a_missing_one_is_an_error():
    assert values("mysql")["env_variables"]["MYSQL_PASSWORD"] == "env-db-password"
    env = {k: v for k, v in os.environ.items() if k != "MAIA_FORM_MYSQL_PASSWORD"}
    proc = subprocess.run([BIN, "values", "mysql", "--config", WORKSPACE], capture_output=True, env=env)
    assert proc.returncode == 2 and b"MAIA_FORM_MYSQL_PASSWORD is not set" in proc.stderr and proc.stdout == b""


# The form's cluster for the secret tests: the workspace fixture's, with nothing secret in the form.
SECRET_CLUSTER = yaml.safe_load(yaml.safe_load((FIXTURES / "config-workspace.yaml").read_text())["data"]["cluster.yaml"])


def form_with(tmp_path, secret, cluster_extra=None):
    """A form dir/forms/demo.yaml with mysql_password = secret, and the cluster file beside dir."""
    forms = tmp_path / "forms"
    forms.mkdir(exist_ok=True)
    form = {"group_ID": "demo-group", "users": ["a@example.com"], "mysql_root_password": "root-pw", "mysql_password": secret}
    (forms / "demo.yaml").write_text(yaml.safe_dump(form))
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump({**SECRET_CLUSTER, **(cluster_extra or {})}))
    return forms / "demo.yaml", tmp_path / "cluster.yaml"


def mysql_from(form, cluster, cwd, env=None):
    return subprocess.run([BIN, "values", "mysql", "--form", str(form), "--cluster", str(cluster)], capture_output=True, cwd=cwd,
                          env={**os.environ, **(env or {})})


def test_a_forms_secret_file_is_read_from_the_forms_folder_whatever_the_working_directory(tmp_path):
    form, cluster = form_with(tmp_path, {"fromFile": "secrets/db"})
    (form.parent / "secrets").mkdir()
    (form.parent / "secrets" / "db").write_text("from-the-forms-folder\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "db").write_text("from-the-working-directory\n")
    proc = mysql_from(form, cluster, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["env_variables"]["MYSQL_PASSWORD"] == "from-the-forms-folder"


@pytest.mark.parametrize("secret", [{"fromFile": "/etc/passwd"}, {"fromFile": "../admin-secret"}, {"fromEnv": "AWS_SECRET_ACCESS_KEY"}])
def test_a_form_cannot_read_the_admins_files_or_environment(tmp_path, secret):
    form, cluster = form_with(tmp_path, secret)
    (tmp_path / "admin-secret").write_text("admin-only\n")
    proc = mysql_from(form, cluster, cwd=tmp_path, env={"AWS_SECRET_ACCESS_KEY": "admin-only"})
    assert proc.returncode == 2 and proc.stdout == b"" and b"admin-only" not in proc.stderr
    assert b"group form key `mysql_password`: from" in proc.stderr, proc.stderr
    check = run(["form", "check", str(form), "--cluster", str(cluster)], b"", check=False)
    assert check.returncode == 2 and b"`mysql_password`" in check.stderr
    # The admin may allow it, in the cluster config.
    form, cluster = form_with(tmp_path, secret, {"form_secret_files": "anywhere", "form_secret_env_prefix": "AWS_"})
    proc = mysql_from(form, cluster, cwd=tmp_path, env={"AWS_SECRET_ACCESS_KEY": "admin-only"})
    assert proc.returncode == 0, proc.stderr


def test_a_symlink_out_of_the_forms_folder_is_refused(tmp_path):
    form, cluster = form_with(tmp_path, {"fromFile": "db"})
    (tmp_path / "admin-secret").write_text("admin-only\n")
    (form.parent / "db").symlink_to(tmp_path / "admin-secret")
    proc = mysql_from(form, cluster, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == b"" and b"leads outside the form's folder" in proc.stderr
    assert b"admin-only" not in proc.stderr


def test_form_new_secrets_dir_references_resolve_from_where_the_form_is_saved(tmp_path):
    (tmp_path / "sec").mkdir()
    out = subprocess.run([BIN, "form", "new", "--group", "demo-group", "--users", "a@example.com", "--secrets-dir", "sec"],
                         capture_output=True, cwd=tmp_path, check=True).stdout
    (tmp_path / "group-form.yaml").write_bytes(out)
    assert yaml.safe_load(out)["mysql_password"] == {"fromFile": "sec/mysql_password"}
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(SECRET_CLUSTER))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = mysql_from(tmp_path / "group-form.yaml", tmp_path / "cluster.yaml", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["env_variables"]["MYSQL_PASSWORD"] == (tmp_path / "sec" / "mysql_password").read_text()


# --- charts this project ships (real Helm 4 engine) ---------------------------------------

def helm_render(chart, vals, release):
    from helm_python import Chart
    rendered = Chart.load(str(ROOT / "charts" / chart)).render(vals, name=release, namespace="demo-group")
    text = "".join(f"---\n# Source: {name}\n{body}\n" for name, body in sorted(rendered.items()) if body.strip())
    return text, [d for d in (load(t) for t in split_documents(text)) if d]


def through_maia_krm(text):
    out = run(["--config", str(FIXTURES / "config-nginx.yaml")], text).stdout.decode()
    for d in split_documents(out):
        check_promises(load(d), oracle_config("nginx"))
    return out


@pytest.mark.parametrize("component", ["mysql", "mlflow"])
def test_mkg_renders_the_runbook_app_configs(component):
    vals = values(component)
    text, docs = helm_render("mkg", vals, vals["chart_name"])
    kinds = {d["kind"] for d in docs}
    assert "Deployment" in kinds and "Service" in kinds
    for d in docs:
        validate(d)
        assert d["metadata"]["name"].startswith(vals["chart_name"] + "-mkg")
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    if component == "mlflow":
        assert env["MYSQL_URL"] == "mysql-db-v1-mkg"
    else:
        assert next(d for d in docs if d["kind"] == "PersistentVolumeClaim")["spec"]["storageClassName"] == "local-path"
    through_maia_krm(text)


def test_mkg_runs_a_job_with_a_deadline_and_secret_env_and_existing_volumes():
    vals = {"chart_name": "train", "docker_image": "pytorch/pytorch", "tag": "2.4", "deployment": False, "allocationTime": "2h",
            "gpu_request": 1, "user_secret": "alice-creds", "user_secret_params": ["WANDB_KEY"],
            "existing_persistent_volume": [{"name": "shared", "mountPath": "/data"}], "command": ["python", "train.py"]}
    text, docs = helm_render("mkg", vals, "train")
    job = next(d for d in docs if d["kind"] == "Job")
    validate(job)
    assert job["spec"]["activeDeadlineSeconds"] == 7200
    spec = job["spec"]["template"]["spec"]
    c = spec["containers"][0]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert c["env"] == [{"name": "WANDB_KEY", "valueFrom": {"secretKeyRef": {"name": "alice-creds", "key": "WANDB_KEY"}}}]
    assert {"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}} in spec["volumes"]
    through_maia_krm(text)


def test_maia_addons_for_two_users():
    vals = values("addons")
    text, docs = helm_render("maia-addons", vals, "maia-addons")
    for d in docs:
        validate(d)
    ssh = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"].endswith("-ssh")]
    assert [s["metadata"]["name"] for s in ssh] == ["demo-2euser-40example-2ecom-ssh", "bob-40example-2ecom-ssh"]
    ports = [s["spec"]["ports"][0]["port"] for s in ssh]
    assert ports == [30022, 30023] and len(set(ports)) == 2
    assert all(s["spec"]["ports"][0]["targetPort"] == 2022 and s["spec"]["type"] == "NodePort" for s in ssh)
    assert ssh[0]["spec"]["selector"]["hub.jupyter.org/username"] == "demo-2euser-40example-2ecom"
    apps = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"].startswith("jupyter-")]
    assert sorted(p["port"] for p in apps[0]["spec"]["ports"]) == [80, 8888]
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    paths = {p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert {"/minio-console", "/mlflow", "/kubeflow", "/label-studio", "/desktop/bob-40example-2ecom", "/user/bob@example.com/proxy"} <= paths
    through_maia_krm(text)


def test_addons_report_too_few_ports(tmp_path):
    cfg = (FIXTURES / "config-workspace.yaml").read_text().replace("port_range: [30022, 30122]", "port_range: [30022, 30022]")
    (tmp_path / "c.yaml").write_text(cfg)
    proc = run(["values", "addons", "--config", str(tmp_path / "c.yaml")], b"", env=ENV, check=False)
    assert proc.returncode == 2 and b"1 ports for 2 users" in proc.stderr


# --- plan ---------------------------------------------------------------------------------

def test_plan_lists_every_component_after_its_dependencies():
    steps = json.loads(maia("plan", "--config", WORKSPACE, "-o", "json").stdout)
    names = [s["component"] for s in steps]
    assert names == ["namespace", "oauth2-proxy", "minio", "mysql", "mlflow", "jupyterhub", "label-studio", "orthanc", "kubeflow", "addons"]
    for i, s in enumerate(steps):
        assert set(s["depends_on"]) <= set(names[:i]), s["component"]
    assert names.index("minio") < names.index("mlflow") and names.index("mysql") < names.index("mlflow")
    helm = [c for s in steps for c in s["commands"] if c.startswith("helm upgrade")]
    assert helm and all("--post-renderer maia-krm" in c and f"--post-renderer-args --config={WORKSPACE}" in c for c in helm)
    text = maia("plan", "--config", WORKSPACE).stdout.decode()
    assert text.startswith("#!/usr/bin/env bash") and all(c in text for s in steps for c in s["commands"])
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0, "the plan is valid shell"


def test_plan_argocd_objects():
    docs = [load(d) for d in split_documents(maia("plan", "--config", WORKSPACE, "--argocd").stdout.decode())]
    project, apps = docs[0], docs[1:]
    assert (project["apiVersion"], project["kind"]) == ("argoproj.io/v1alpha1", "AppProject")
    assert project["spec"]["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "demo-group"}]
    # The admin applies the project alone when registering the group.
    only = maia("plan", "--config", WORKSPACE, "--argocd", "--project-only").stdout.decode()
    assert [load(d) for d in split_documents(only)] == [project]
    assert maia("plan", "--config", WORKSPACE, "--project-only", check=False).returncode == 2
    assert [a["metadata"]["name"] for a in apps] == [f"demo-group-{c}" for c in
        ["oauth2-proxy", "minio", "mysql", "mlflow", "jupyterhub", "label-studio", "orthanc", "kubeflow", "addons"]]
    plugin = yaml.safe_load((ROOT / "functions" / "argocd" / "plugin.yaml").read_text())
    for wave, app in enumerate(apps):
        assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
        assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == str(wave)
        spec = app["spec"]
        assert spec["project"] == project["metadata"]["name"]
        assert spec["source"]["plugin"]["name"] == f"{plugin['metadata']['name']}-{plugin['spec']['version']}"
        # The plugin reads a form only from the app's own directory.
        assert spec["source"]["plugin"]["parameters"] == [{"name": "form", "string": "group-form.yaml"}]
        assert spec["destination"]["namespace"] == "demo-group"
        assert spec["source"]["repoURL"] in project["spec"]["sourceRepos"]


def test_the_plans_kubeflow_step_patches_notebooks_and_training_jobs(tmp_path):
    """The plan's own kubeflow commands, run for real (kubectl kustomize, maia-krm) with the KFP
    manifests swapped for a Notebook and a PyTorchJob (no network here) and `kubectl apply` for cat."""
    steps = json.loads(maia("plan", "--config", WORKSPACE, "-o", "json").stdout)
    commands = next(s["commands"] for s in steps if s["component"] == "kubeflow")
    sh = lambda c: subprocess.run(["bash", "-o", "pipefail", "-c", c], cwd=tmp_path, capture_output=True, text=True,
                                  env={**os.environ, **ENV, "PATH": f"{os.path.dirname(BIN)}:{os.environ['PATH']}"})
    mkdir, values_cmd, apply_cmd = commands
    assert sh(mkdir).returncode == 0 and sh(values_cmd).returncode == 0
    kustomization = yaml.safe_load((tmp_path / "kubeflow" / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "demo-group"
    kustomization["resources"] = ["notebook.yaml", "pytorchjob.yaml"]
    (tmp_path / "kubeflow" / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    for f in kustomization["resources"]:
        (tmp_path / "kubeflow" / f).write_text((FIXTURES / "pod-templates" / f).read_text())
    proc = sh(apply_cmd.replace(" | kubectl apply", " | cat #"))
    assert proc.returncode == 0, proc.stderr
    docs = [load(d) for d in split_documents(proc.stdout)]
    assert sorted(d["kind"] for d in docs) == ["Notebook", "PyTorchJob"]
    for d in docs:
        check_promises(d, oracle_config("nginx"))


# --- Gateway API -------------------------------------------------------------------------------

def gateway_config(tmp_path, **data):
    config = yaml.safe_load(open(WORKSPACE).read())
    config["data"].update(data)
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_on_a_gateway_cluster_jupyterhub_uses_its_charts_http_route(tmp_path):
    """z2jh 4.3.0+ values (`httpRoute.enabled/hostnames/gateway.{name,namespace,sectionName}`; the
    chart's templates/httproute.yaml and changelog, jupyterhub/zero-to-jupyterhub-k8s @b9b5fb77, @0202b918)."""
    config = gateway_config(tmp_path, gateway="{name: public, namespace: gateways, sectionName: websecure}")
    hub = yaml.safe_load(maia("values", "jupyterhub", "--config", config).stdout)
    assert hub["ingress"] == {"enabled": False}
    host = values("jupyterhub")["ingress"]["hosts"][0]
    assert hub["httpRoute"] == {
        "enabled": True,
        "hostnames": [host],
        "gateway": {"name": "public", "namespace": "gateways", "sectionName": "websecure"},
    }
    assert "httpRoute" not in values("jupyterhub"), "Ingress clusters keep the Ingress"


def test_the_plan_says_what_the_platform_sets_up_once_on_the_gateway(tmp_path):
    config = gateway_config(tmp_path, gateway="{name: public, namespace: gateways, listenerSet: true}",
                            gateway_auth="envoy-gateway")
    steps = json.loads(maia("plan", "--config", config, "-o", "json").stdout)
    first = steps[0]["commands"]
    assert first[0].startswith("# once per cluster: Gateway gateways/public allows ListenerSets"), first
    assert "Envoy Gateway v1.1+" in first[1]
    assert first[2].startswith("maia-krm namespace")
    plain = json.loads(maia("plan", "--config", WORKSPACE, "-o", "json").stdout)
    assert plain[0]["commands"][0].startswith("maia-krm namespace")
