"""The workspace boundary, attacked on hosts and their reach (an attack review's findings 8-11):
regex paths on a shared host, routes on listeners of the group's own, certificates for hosts not
the workspace's, and Ingress classes no login reaches. Each attack must end in a refusal (exit 1,
nothing on stdout, a reason on stderr); controls must still pass, read with PyYAML."""

import pytest
import yaml

from conftest import FIXTURES, run
from test_boundary import BOTH, HOST, NGINX, config_with, ingress, passed, refused

TRAEFIK = str(FIXTURES / "config-traefik.yaml")
FOREIGN = ["iam.maia.example.com", "other-group.maia.example.com", "'*.maia.example.com'", "maia.example.com"]


# --- finding 9: routes on listeners of the group's own, and the listeners themselves -------------

def gateway_config(tmp_path, base=TRAEFIK):
    return config_with(tmp_path, base, replace=[("  docker_server: ghcr.io/minnelab\n",
                                                  "  docker_server: ghcr.io/minnelab\n"
                                                  "    gateway: {name: public, namespace: gateways}\n")])


def http_route(parent, hostnames=f"[{HOST}]"):
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app}}
spec:
  parentRefs: [{parent}]
  hostnames: {hostnames}
  rules:
  - backendRefs: [{{name: web, port: 80}}]
"""


@pytest.mark.parametrize("parent", [
    "{group: gateway.networking.x-k8s.io, kind: XListenerSet, name: mine}",
    "{kind: Mesh, name: mine}",
    "{kind: Service, name: web}, {group: gateway.networking.x-k8s.io, kind: XListenerSet, name: mine}",
], ids=["xlistenerset", "unknown-kind", "service-and-xlistenerset"])
def test_a_route_on_a_listener_of_any_kind_but_a_service_is_judged(tmp_path, parent):
    refused(http_route(parent, "[other-group.maia.example.com]"), gateway_config(tmp_path),
            reason="not on the workspace host")


@pytest.mark.parametrize("parent", ["{kind: Service, name: web}",
                                    "{group: multicluster.x-k8s.io, kind: ServiceImport, name: web}"])
def test_a_mesh_route_to_services_is_still_left_alone(tmp_path, parent):
    [doc], err = passed(http_route(parent, "[other-group.maia.example.com]"), gateway_config(tmp_path))
    assert doc["spec"]["hostnames"] == ["other-group.maia.example.com"], "left alone, not patched"


LISTENERS = {
    "gateway": """apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: mygw}
spec:
  gatewayClassName: traefik
  listeners:
  - {name: http, protocol: HTTP, port: 80, hostname: "iam.maia.example.com"}
""",
    "listenerset": """apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: mine}
spec:
  parentRef: {name: public, namespace: gateways}
  listeners:
  - {name: steal, hostname: other-group.maia.example.com, protocol: HTTP, port: 80}
""",
    "xlistenerset": """apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XListenerSet
metadata: {name: mine}
spec:
  parentRef: {name: public, namespace: gateways, kind: Gateway, group: gateway.networking.k8s.io}
  listeners:
  - {name: steal, hostname: other-group.maia.example.com, protocol: HTTP, port: 80}
""",
}


@pytest.mark.parametrize("text", LISTENERS.values(), ids=LISTENERS.keys())
def test_a_groups_own_gateway_or_listener_set_is_refused_in_tenant_mode(tmp_path, text):
    config = gateway_config(tmp_path)
    refused(text, config, args=["--tenant"], reason="the admin's")
    # An admin's own install may carry them (a platform chart's Gateway): they pass there.
    passed(text, config)


def test_the_listener_set_maia_krm_namespace_writes_is_the_admins_and_passes_outside_tenant_mode(tmp_path):
    config = config_with(tmp_path, NGINX, replace=[(
        "  docker_server: ghcr.io/minnelab\n",
        "  docker_server: ghcr.io/minnelab\n    docker_username: robot\n"
        "    gateway: {name: public, namespace: gateways, listenerSet: true}\n")])
    out = run(["namespace", "--config", config], b"", env={"MAIA_REGISTRY_PASSWORD": "pw"}).stdout.decode()
    kinds = [d["kind"] for d in yaml.safe_load_all(out) if d]
    assert "ListenerSet" in kinds and "Certificate" in kinds, kinds
    passed(out, config)


def test_the_app_project_blacklists_both_listener_set_kinds():
    out = run(["plan", "--argocd", "--project-only", "--config", NGINX, "--repo",
               "https://git.example.com/workspaces.git"], b"", check=False)
    assert out.returncode == 0, out.stderr.decode()
    [project] = [d for d in yaml.safe_load_all(out.stdout.decode()) if d]
    kinds = {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceBlacklist"]}
    assert {("gateway.networking.k8s.io", "ListenerSet"), ("gateway.networking.x-k8s.io", "XListenerSet")} <= kinds


# --- finding 8: on a shared host every path is a regular expression to ingress-nginx --------------

def subpath_config(tmp_path):
    return config_with(tmp_path, NGINX, replace=[("url_type: subdomain", "url_type: subpath")])


def shared_ingress(path, path_type="ImplementationSpecific", annotations="{}", service="web"):
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  annotations: {annotations}
spec:
  ingressClassName: nginx
  rules:
  - host: maia.example.com
    http:
      paths:
      - path: {path}
        pathType: {path_type}
        backend:
          service: {{name: {service}, port: {{number: 80}}}}
"""


# ingress-nginx turns regex matching on for every path of a host as soon as one Ingress there uses
# `use-regex` or `rewrite-target` (MAIA's subpath layout does): `^/demo-group/x|/other-group-hub`
# then matches the other group's hub, whatever this Ingress's own annotations say.
@pytest.mark.parametrize("path,path_type", [
    ("/demo-group/x|/other-group-hub", "ImplementationSpecific"),
    ("/demo-group-hub/x|/other-group-hub", "ImplementationSpecific"),
    ("/demo-group/x|/other-group-hub", "Prefix"),
    ("/demo-group/x|/other-group-hub", "Exact"),
    ("/demo-group/?", "ImplementationSpecific"),
    ("/demo-group(.*)", "ImplementationSpecific"),
    ("/demo-group/(x)?|.*", "Prefix"),
])
def test_a_path_that_reaches_beyond_the_workspace_as_a_regex_is_refused(tmp_path, path, path_type):
    refused(shared_ingress(f"'{path}'", path_type), subpath_config(tmp_path), reason="outside the workspace's paths")


def test_a_regex_path_on_jupyterhubs_route_is_refused(tmp_path):
    # JupyterHub's route needs no group login, so the path is all that holds it to the workspace.
    text = shared_ingress("/demo-group-hub/x|/other-group-hub", service="demo-group-jupyterhub-proxy-public")
    text = text.replace("  name: app\n", "  name: app\n  labels: {app: jupyterhub}\n")
    refused(text, subpath_config(tmp_path), reason="outside the workspace's paths")


@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_use_regex_counts_in_every_spelling_go_reads_as_true(tmp_path, value):
    # As a regex `^/demo-group-hub` also matches group demo-group-hubx's paths.
    refused(shared_ingress("/demo-group-hub", "Prefix", f"{{nginx.ingress.kubernetes.io/use-regex: '{value}'}}"),
            subpath_config(tmp_path), reason="outside the workspace's paths")


@pytest.mark.parametrize("path,path_type,annotations", [
    ("/demo-group/app", "Prefix", "{}"),
    ("/demo-group-hub", "Prefix", "{}"),
    ("/demo-group/app", "ImplementationSpecific", "{}"),
    ("/demo-group/app", "ImplementationSpecific", "{nginx.ingress.kubernetes.io/use-regex: 'false'}"),
    ("'/demo-group-mlflow(/|$)(.*)'", "ImplementationSpecific", "{nginx.ingress.kubernetes.io/rewrite-target: /$2}"),
    ("'/demo-group/viewer(/|$)(.*)'", "ImplementationSpecific", "{}"),
    ("/demo-group-hub/user/demo.user@example.com/proxy", "Prefix", "{}"),
    ("'/demo-group/a.b(/.*)?'", "ImplementationSpecific", "{nginx.ingress.kubernetes.io/use-regex: 'True'}"),
])
def test_paths_of_the_workspace_still_pass_on_the_shared_host(tmp_path, path, path_type, annotations):
    [doc], _ = passed(shared_ingress(path, path_type, annotations), subpath_config(tmp_path))
    assert doc["spec"]["rules"][0]["host"] == "maia.example.com"


# --- finding 10: certificates for hosts not the workspace's -----------------------------------------

def certificate(names, common_name=None, issuer="{name: cluster-issuer, kind: ClusterIssuer}"):
    cn = f"\n  commonName: {common_name}" if common_name else ""
    return f"""apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {{name: stolen}}
spec:
  secretName: stolen-tls{cn}
  dnsNames: [{", ".join(names)}]
  issuerRef: {issuer}
"""


@pytest.mark.parametrize("host", FOREIGN)
@pytest.mark.parametrize("issuer", ["{name: cluster-issuer, kind: ClusterIssuer}", "{name: mine}"])
def test_a_certificate_for_a_host_not_the_workspaces_is_refused(host, issuer):
    refused(certificate([f"app.{HOST}", host], issuer=issuer), reason="not the workspace's")
    refused(certificate([f"app.{HOST}"], common_name=host, issuer=issuer), reason="not the workspace's")


def test_the_reviewers_certificate_is_refused_in_every_flavour():
    for config in (NGINX, TRAEFIK, BOTH):
        refused(certificate(["iam.maia.example.com", "other-group.maia.example.com", "'*.maia.example.com'"]), config)


def test_the_cluster_issuer_signs_no_name_outside_the_domain():
    refused(certificate([f"app.{HOST}", "app.other-hospital.org"]), reason="not the workspace's")


def test_certificates_of_the_workspace_and_in_cluster_ones_pass():
    passed(certificate([HOST, f"app.{HOST}", f"'*.{HOST}'"], common_name=HOST))
    # A webhook's certificate from the chart's own CA (gpu-booking in the corpus).
    passed(certificate(["hook.demo-group.svc", "hook.demo-group.svc.cluster.local"],
                       issuer="{name: webhook-ca, kind: Issuer}"))
    passed(certificate([], common_name="webhook-ca", issuer="{name: selfsigned, kind: Issuer}"))


def test_the_certificates_maia_krm_writes_for_ingress_routes_pass_again(tmp_path):
    route = f"""apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {{name: app, namespace: demo-group}}
spec:
  entryPoints: [websecure]
  routes:
  - kind: Rule
    match: Host(`app.{HOST}`)
    services: [{{name: web, port: 80}}]
"""
    # Traefik on a cert-manager cluster without a resolver: maia-krm adds a Certificate of its own.
    config = config_with(tmp_path, NGINX, replace=[("ingress_class: nginx", "ingress_class: traefik")])
    text = run(["--config", config], route).stdout.decode()
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert [d["kind"] for d in docs] == ["IngressRoute", "Certificate"], [d["kind"] for d in docs]
    assert docs[1]["spec"]["dnsNames"] == [f"app.{HOST}"]
    assert run(["--config", config], text).stdout.decode() == text, "its own output passes, left as it is"
    # As a KRM function the added Certificate is among the items the policy reads.
    resource_list = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                     "items": [yaml.safe_load(route)]}
    out = run(["--config", config], yaml.safe_dump(resource_list)).stdout.decode()
    kinds = [i["kind"] for i in yaml.safe_load(out)["items"]]
    assert kinds == ["IngressRoute", "Certificate"], kinds


@pytest.mark.parametrize("domains", [
    "[{main: iam.maia.example.com}]",
    "[{main: " + HOST + ", sans: [other-group.maia.example.com]}]",
    "[{main: '*.maia.example.com'}]",
])
def test_ingress_route_tls_domains_for_hosts_not_the_workspaces_are_refused(domains):
    route = f"""apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {{name: app}}
spec:
  entryPoints: [websecure]
  routes:
  - kind: Rule
    match: Host(`{HOST}`)
    services: [{{name: web, port: 80}}]
  tls:
    certResolver: letsencrypt
    domains: {domains}
"""
    refused(route, TRAEFIK, reason="not on the workspace host")


def tls_ingress(annotations):
    return ingress(host=HOST, annotations=annotations)


@pytest.mark.parametrize("annotations", [
    "{cert-manager.io/common-name: iam.maia.example.com}",
    "{traefik.ingress.kubernetes.io/router.tls.domains.0.main: other-group.maia.example.com}",
    "{traefik.ingress.kubernetes.io/router.tls.domains.0.main: " + HOST
    + ", traefik.ingress.kubernetes.io/router.tls.domains.0.sans: 'app.demo-group.maia.example.com,iam.maia.example.com'}",
    "{traefik.ingress.kubernetes.io/router.tls.domains.1.main: '*.maia.example.com'}",
])
def test_ingress_certificate_annotations_for_hosts_not_the_workspaces_are_refused(annotations):
    for config in (NGINX, TRAEFIK, BOTH):
        refused(tls_ingress(annotations), config, reason="not on the workspace host")


def test_ingress_certificate_annotations_for_the_workspace_pass():
    passed(tls_ingress("{cert-manager.io/common-name: " + HOST + ", traefik.ingress.kubernetes.io/router.tls.domains.0.main: "
                       + HOST + ", traefik.ingress.kubernetes.io/router.tls.domains.0.sans: app." + HOST + "}"), BOTH)


# --- finding 11: Ingress classes no login reaches -----------------------------------------------

def classed_ingress(field=None, annotation=None):
    notes = f"{{kubernetes.io/ingress.class: {annotation}}}" if annotation else "{}"
    return ingress(host=HOST, annotations=notes, spec=f"\n  ingressClassName: {field}" if field else "")


@pytest.mark.parametrize("config", [NGINX, TRAEFIK, BOTH], ids=["nginx", "traefik", "both"])
@pytest.mark.parametrize("field,annotation", [
    ("cilium", None),           # a controller that reads neither nginx's auth-url nor Traefik's Middleware
    (None, "cilium"),
    ("nginx", "traefik"),       # Traefik honours the legacy annotation: it would serve it without nginx's login
    ("traefik", "nginx"),
    ("cilium", "cilium"),
])
def test_an_ingress_class_no_login_of_the_cluster_reaches_is_refused(config, field, annotation):
    refused(classed_ingress(field, annotation), config, reason="class")


def test_a_groups_render_takes_a_class_of_a_controller_the_flavour_runs_where_the_config_names_none(tmp_path):
    config = config_with(tmp_path, NGINX, replace=[("    ingress_class: nginx\n", "")])
    refused(classed_ingress("traefik"), config, args=["--tenant"], reason="class")
    passed(classed_ingress("nginx"), config, args=["--tenant"])
    # An admin's install: the flavour says which controllers run (kpt's minio-tenant test: nginx
    # charts on a Traefik-only cluster).
    passed(classed_ingress("traefik"), config)


def test_in_a_groups_render_only_the_clusters_class_passes(tmp_path):
    refused(classed_ingress("nginx"), TRAEFIK, args=["--tenant"], reason="class")
    refused(classed_ingress("nginx", "contour"), NGINX, args=["--tenant"], reason="class")
    passed(classed_ingress("traefik"), TRAEFIK, args=["--tenant"])
    passed(classed_ingress(), TRAEFIK, args=["--tenant"])


@pytest.mark.parametrize("config", [NGINX, BOTH], ids=["nginx", "both"])
def test_the_clusters_own_classes_pass(config):
    [doc], _ = passed(classed_ingress("nginx"), config)
    [doc], _ = passed(classed_ingress("nginx", "nginx"), config)
    [doc], _ = passed(classed_ingress(), config)


def test_what_the_corpus_does_in_an_admins_install_is_kept():
    # Charts default to class nginx (156 of the corpus) on the Traefik cluster; contour's chart
    # names its own controller in the legacy annotation beside class nginx.
    passed(classed_ingress("nginx"), TRAEFIK)
    passed(classed_ingress("nginx", "contour"), NGINX)
