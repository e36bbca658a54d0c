"""Routes beside Ingress: Traefik IngressRoutes from the Traefik repository's own test fixtures and
Gateway API HTTPRoutes from its examples (tests/fixtures/routes/, each naming its source commit)
through maia-krm, for a workspace whose
namespace is the fixtures' `default`. Read back with PyYAML: nothing but the managed fields may
change (the oracle blanks Host arguments, the workspace-host guard, the resolver, entry points and
the group's Middleware reference), every promise holds, and a second run changes nothing."""

import pytest

from conftest import FIXTURES, ROUTES_CONFIG, oracle_config, run
from oracle import check_promises, load, rule_hosts, split_documents, strip_managed

HERE = FIXTURES / "routes"
FILES = sorted(p.name for p in HERE.glob("*.yaml"))


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("routes") / "config.yaml"
    path.write_text(ROUTES_CONFIG)
    return str(path)


def cfg():
    return {**oracle_config("traefik"), "namespace": "default", "gateway": True}


@pytest.mark.parametrize("name", FILES)
def test_upstream_ingress_routes_get_host_tls_and_login_and_nothing_else(name, config):
    text = (HERE / name).read_text()
    out = run(["--config", config], text).stdout.decode()
    ins, outs = [load(d) for d in split_documents(text)], [load(d) for d in split_documents(out)]
    assert len(ins) == len(outs), "no Middleware: oauth2-proxy's own route is not in these streams"
    ingress_routes = [d for d in outs if d["kind"] == "IngressRoute"]
    http_routes = [d for d in outs if d["kind"] == "HTTPRoute"]
    assert ingress_routes or http_routes
    for d in ingress_routes:
        for r in d["spec"]["routes"]:
            assert rule_hosts(r["match"]) == ["team.maia.example.com"], r["match"]
    for d in http_routes:
        assert d["spec"]["hostnames"] == ["team.maia.example.com"]
    for d_in, d_out in zip(ins, outs):
        stripped_out, stripped_in = strip_managed(d_out, d_in, cfg())
        assert stripped_out == stripped_in, f"{name}: changed outside managed fields"
        check_promises(d_out, cfg())
    assert run(["--config", config], out).stdout.decode() == out, f"{name}: a second run changed something"


def test_the_login_goes_first_and_the_existing_middlewares_are_kept_in_order(config):
    # Found in review: a middleware before the login (an `errors` one) could answer for it.
    out = run(["--config", config], (HERE / "ingressroute-middlewares.yaml").read_text()).stdout.decode()
    route = [load(d) for d in split_documents(out)][-1]["spec"]["routes"][0]
    assert route["middlewares"] == [
        {"name": "oauth2-proxy-auth", "namespace": "default"},
        {"name": "stripprefix"}, {"name": "ratelimit"}, {"name": "addprefix", "namespace": "foo"},
    ]
