//! The workspace policy: what every route and pod spec of a workspace must have — the
//! workspace host, TLS, the group's login, the registry pull secret, the shared volume — and
//! whether a resource has it. One reading of a resource, used by `audit` (its rows and
//! problems) and by the pipeline's enforcement (a run whose output still breaks the policy
//! fails), so the two can't disagree. It reads the same rule books the patches act on
//! (`patch::routes`, `patch::pods`, and the patches' own `holds`/`state` readers).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::config::Config;
use crate::patch::pull_secret::PullSecret;
use crate::patch::shared_volume::{Mount, SharedVolume};
use crate::patch::{Change, Outcome};
use crate::resource::{Resource, ResourceId};
use crate::rules::login::{self, Login};
use crate::rules::pods::{Container, PodRules};
use crate::rules::routes::{self, Api, HostChange, Routes, RuleHosts, RuleRole};
use crate::rules::traefik_rule;
use crate::stream::tree::Node;

/// One way into the workspace: a host and path of a route, and what guards it.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteRow {
    pub source: String,
    pub document: usize,
    pub resource: ResourceId,
    pub host: String,
    pub path: String,
    pub backend: String,
    pub tls: String,
    pub login: String,
    /// What breaks the workspace policy here: no TLS, no login, not on the workspace host.
    pub problems: Vec<String>,
}

/// One pod template, and whether its pods get the registry secret and the shared volume.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRow {
    pub source: String,
    pub document: usize,
    pub resource: ResourceId,
    pub pod: String,
    pub pull_secret: bool,
    pub shared_volume: String,
    /// What breaks the workspace policy here: no pull secret, containers without the volume.
    pub problems: Vec<String>,
}

/// The workspace policy, from the config: what each route and pod spec must have.
pub struct Policy {
    source: String,
    routes: Routes,
    pods: Arc<PodRules>,
    tls_wanted: bool,
    login_wanted: bool,
    pull_secret: PullSecret,
    pull_secret_wanted: bool,
    shared_volume: SharedVolume,
    shared_volume_wanted: bool,
    login: Login,
    /// The Ingress controllers the cluster runs (nginx, Traefik): each reads its own login
    /// annotation, so an Ingress needs the login in every one's terms.
    controllers: (bool, bool),
    /// The Ingress class the cluster config names (`ingress_class`).
    ingress_class: Option<String>,
    /// On a shared host (`url_type: subpath`), the paths the workspace's routes may serve.
    paths: Option<Vec<String>>,
    /// HTTPRoutes a SecurityPolicy in the input guards.
    guarded: HashSet<String>,
    namespace: String,
    /// The input is a group's own: what reaches beyond the workspace is refused, not noted.
    tenant: bool,
    allowed_namespaces: Vec<String>,
    allowed_cluster_kinds: Vec<String>,
    /// The patches whose skip annotation the admin honours: the policy waives what they give.
    skip_allowed: Vec<String>,
}

/// The characters that make a path mean something else as a regular expression (PCRE's).
const REGEX_META: &str = ".^$*+?()[]{}|\\";

/// The name under which the policy's verdicts are reported (`--explain`, KRM results).
pub const POLICY: &str = "policy";

pub const NONE: &str = "NONE";
pub const NO_TLS: &str = "served without TLS";
pub const NO_LOGIN: &str = "served without the group's login";
pub const NOT_WORKSPACE_HOST: &str = "not on the workspace host (another workspace's, the platform's, or none)";
pub const NOT_WORKSPACE_PATH: &str = "outside the workspace's paths on the shared host";
/// Why a Traefik login listed after another middleware counts for nothing.
const LATE_LOGIN: &str = "a middleware listed before the login sees every request first and can answer for it";
/// Routes below HTTP can't be sent through oauth2-proxy.
pub const NO_HTTP_LOGIN: &str = "NONE (a TCP, UDP or TLS-passthrough route can't carry the group's login)";
/// TLS without a certificate of the route's own: the controller's default (often the platform's
/// wildcard certificate, else a self-signed one).
pub const DEFAULT_CERTIFICATE: &str = "the controller's default certificate";

impl Policy {
    /// `source` names the input in rows; `guarded` are the HTTPRoutes a SecurityPolicy in the
    /// same stream guards ([`Policy::guarded`]).
    pub fn new(config: &Config, source: &str, guarded: HashSet<String>) -> Self {
        let o = &config.options;
        let pods = Arc::new(PodRules::new(&o.pod_templates));
        Policy {
            source: source.to_string(),
            routes: Routes::new(config),
            pods: pods.clone(),
            tls_wanted: o.ingress_tls,
            login_wanted: config.login_wanted(),
            pull_secret: PullSecret::new(config, pods.clone()),
            pull_secret_wanted: o.pull_secret,
            shared_volume: SharedVolume::new(config, pods),
            shared_volume_wanted: o.shared_volume,
            login: Login::new(config),
            controllers: {
                let flavour = config.cluster.flavour();
                (flavour.nginx, flavour.traefik)
            },
            ingress_class: config.cluster.ingress_class.clone(),
            paths: config.workspace_paths(),
            guarded,
            namespace: config.namespace(),
            tenant: o.tenant,
            allowed_namespaces: o.allowed_namespaces.clone(),
            allowed_cluster_kinds: o.allowed_cluster_kinds.clone(),
            skip_allowed: o.skip_allowed.clone(),
        }
    }

    /// Whether the admin lets this resource opt out of a patch, and so out of what it gives.
    fn waived(&self, res: &Resource, patch: &str) -> bool {
        res.skips(patch, &self.skip_allowed)
    }

    /// Whether a path matched segment by segment (Ingress `Prefix`/`Exact`, Gateway API, Traefik
    /// `Path`) lies under one of the workspace's own (always, on a host of its own).
    fn path_inside(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|own| {
            own.iter()
                .any(|p| path.strip_prefix(p.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
        })
    }

    /// The same for a path matched as a string prefix (Traefik `PathPrefix`, nginx's
    /// `ImplementationSpecific`): `/<g>` would also match `/<g>-hub…` of a group `<g>-hub`, and
    /// `/<g>-hub` a group `<g>-hubx`'s paths, so it must lie below one of them, slash included.
    fn prefix_inside(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|own| own.iter().any(|p| path.starts_with(&format!("{p}/"))))
    }

    /// The same for an nginx regular expression (`use-regex`, `rewrite-target`), read as nginx
    /// does (`^` before it): a literal start below one of the workspace's paths and a tail that
    /// keeps it (no `|` at its top level, no quantifier making the start's last character
    /// optional), or the workspace path itself followed by one of the usual tails —
    /// `/<g>-mlflow(/|$)(.*)` and `/<g>/a.b` are inside, `/<g>/x|/`, `/<g>/?` and `/<g>(.*)` are not.
    fn regex_inside(&self, path: &str) -> bool {
        let literal = path.find(|c: char| REGEX_META.contains(c)).unwrap_or(path.len());
        let (head, tail) = path.split_at(literal);
        const TAILS: &[&str] = &["(/|$)(.*)", "(/|$)"];
        let kept = match tail.starts_with(['?', '*', '{']) {
            true => head.char_indices().last().map_or("", |(i, _)| &head[..i]),
            false => head,
        };
        let at_root = |p: &String| head == p && TAILS.contains(&tail);
        let below = |p: &String| kept.starts_with(&format!("{p}/")) && keeps_its_start(tail);
        self.paths.as_ref().is_none_or(|own| own.iter().any(|p| at_root(p) || below(p)))
    }

    /// Adds HTTPRoutes that a SecurityPolicy guards ([`Policy::guarded`]).
    pub fn guard(&mut self, routes: HashSet<String>) {
        self.guarded.extend(routes);
    }

    /// The HTTPRoutes that SecurityPolicies among `resources` give the group's login.
    pub fn guarded<'r>(config: &Config, resources: impl IntoIterator<Item = &'r Resource<'r, 'r>>) -> HashSet<String> {
        let login = Login::new(config);
        resources.into_iter().flat_map(|r| login.policy_targets(r)).collect()
    }

    /// Whether verdicts on resources of this kind depend on SecurityPolicies elsewhere in the
    /// stream ([`Policy::guard`]): Gateway API routes.
    pub fn needs_guards(&self, api_version: &str, kind: &str) -> bool {
        matches!(routes::api(api_version, kind), Some(Api::HttpRoute | Api::GrpcRoute))
    }

    /// Whether the policy reads resources of this kind: routes, pod templates, and what could
    /// stand in for the login (Traefik Middlewares, Envoy Gateway SecurityPolicies).
    pub fn covers(&self, api_version: &str, kind: &str) -> bool {
        routes::read_by_policy(api_version, kind) || self.pods.holds_pods(api_version, kind)
    }

    /// Where a resource stands against the workspace's namespace, from its identity alone: `None`
    /// when it is the workspace's (no namespace is the release's, which is the workspace's) or in
    /// a namespace the admin allows; else whether it is refused, and why. A route elsewhere would
    /// serve another namespace's app under the workspace's name, so it is refused in any run;
    /// other resources elsewhere and cluster-scoped kinds are real in charts an admin installs
    /// (RoleBindings in `kube-system`), so they are refused only in a group's own render (`tenant`).
    pub fn place(&self, id: &ResourceId) -> Option<(bool, String)> {
        let route = routes::api(&id.api_version, &id.kind).is_some() || routes::is_l4_route(&id.api_version, &id.kind);
        // A Gateway or ListenerSet of the group's own opens listeners for any host it names (found
        // in review): in the group's render they are the admin's to create (`maia-krm namespace`
        // writes the workspace's ListenerSet), wherever they are.
        if self.tenant && routes::is_listener_kind(&id.api_version, &id.kind) {
            return Some((true, format!("a {} opens listeners for any host: it is the admin's to create", id.kind)));
        }
        match id.named_namespace() {
            Some(ns) if ns == self.namespace || self.allowed_namespaces.iter().any(|a| a == ns) => None,
            Some(ns) => Some((
                route || self.tenant,
                format!(
                    "in namespace {ns}, outside the workspace namespace {} (option allowed_namespaces)",
                    self.namespace
                ),
            )),
            None if cluster_scoped(&id.kind) && !self.allowed_cluster_kinds.contains(&id.kind) => {
                let what =
                    format!("cluster-scoped {}: reaches beyond the workspace (option allowed_cluster_kinds)", id.kind);
                Some((self.tenant, what))
            }
            None => None,
        }
    }

    /// What the workspace's `resources` (of document `document`) still lack: one `Unprotected`
    /// change per route or pod template row with a problem. Resources of other namespaces are
    /// not the workspace's, and not judged here.
    pub fn verdicts(&self, document: usize, resources: &[Resource]) -> Vec<Change> {
        let (mut routes, mut pods) = (Vec::new(), Vec::new());
        // Verdicts on a resource as a whole: a stand-in for the login, merge keys it can't see through,
        // a certificate for a host not the workspace's.
        let mut whole = Vec::new();
        for res in resources.iter().filter(|r| self.in_workspace(&r.id)) {
            self.routes(document, res, &mut routes);
            self.pods(document, res, &mut pods);
            if let Some(why) = self.stands_in_for_login(res) {
                whole.push((res.id.clone(), "spec".to_string(), vec![why]));
            }
            // The run writes what it reads expanded; merge keys left in its output are ones it could
            // not write out plainly, and what they merge (an annotation, a volume) goes unchecked.
            if self.covers(&res.id.api_version, &res.id.kind) && res.node.has_merge_key() {
                let why = "merge keys (`<<`) maia-krm can't expand here (a tag of the chart's own, a plain date): \
                           what they merge can't be checked"
                    .to_string();
                whole.push((res.id.clone(), "<<".to_string(), vec![why]));
            }
            if let Some(why) = self.certificate_reach(res) {
                whole.push((res.id.clone(), "spec.dnsNames".to_string(), vec![why]));
            }
        }
        let routes = routes.into_iter().map(|r| (r.resource, format!("{} {}", r.host, r.path), r.problems));
        let pods = pods.into_iter().map(|p| (p.resource, p.pod, p.problems));
        routes
            .chain(pods)
            .chain(whole)
            .filter(|(_, _, problems)| !problems.is_empty())
            .map(|(resource, field, problems)| Change {
                outcome: Outcome::Unprotected,
                patch: POLICY,
                resource,
                document,
                field,
                message: problems.join("; "),
            })
            .collect()
    }

    /// The namespace and scope verdicts ([`Policy::place`]) on a document's resources: an
    /// `Unprotected` change for each refused, a `Notice` for each only noted.
    pub fn places<'i>(&self, document: usize, ids: impl IntoIterator<Item = &'i ResourceId>) -> Vec<Change> {
        let verdict = |id: &ResourceId| {
            let (refused, message) = self.place(id)?;
            Some(Change {
                outcome: if refused { Outcome::Unprotected } else { Outcome::Notice },
                patch: POLICY,
                resource: id.clone(),
                document,
                field: "metadata.namespace".into(),
                message,
            })
        };
        ids.into_iter().filter_map(verdict).collect()
    }

    /// Why a resource named or placed like the group's login is not the login: a Traefik
    /// Middleware of the login's name that is not its forwardAuth to oauth2-proxy (routes that
    /// list it would be open, and maia-krm would not add the real one beside it), or an Envoy
    /// Gateway SecurityPolicy that does not ask oauth2-proxy (Envoy Gateway applies one policy
    /// per route, the oldest, so it can take the login's place).
    pub fn stands_in_for_login(&self, res: &Resource) -> Option<String> {
        let id = &res.id;
        if !routes::may_stand_in_for_login(&id.api_version, &id.kind) {
            return None;
        }
        if id.kind == "SecurityPolicy" {
            return self.login.policy_targets(res).is_empty().then(|| {
                "a SecurityPolicy that is not the group's login (an extAuth to oauth2-proxy alone, at no path of its \
                 own, failing closed): \
                 Envoy Gateway applies one per route, so it could take the login's place"
                    .to_string()
            });
        }
        (id.name == self.login.middleware && !self.login.is_middleware(res)).then(|| {
            format!(
                "a Middleware named like the group's login that is not its forwardAuth to {}: routes that list it \
                 would have no login",
                self.login.service_url()
            )
        })
    }

    /// Why a cert-manager Certificate of the workspace is for names not the workspace's (found in
    /// review): another workspace's host, the platform's, the bare domain or a wildcard over it
    /// ([`Routes::may_serve`]); from a cluster issuer (the admin's, which signs what the cluster
    /// answers), also a name outside the domain that a route's host would be rewritten from, as
    /// in a TLS entry. A namespace `Issuer` is the chart's own (a webhook's CA: `*.svc` names).
    fn certificate_reach(&self, res: &Resource) -> Option<String> {
        let id = &res.id;
        if !routes::is_certificate(&id.api_version, &id.kind) || !self.tls_wanted || self.waived(res, "ingress-tls") {
            return None;
        }
        let spec = res.node.get("spec")?;
        let kind = spec.at(&["issuerRef", "kind"]).and_then(Node::str).unwrap_or("Issuer");
        let cluster_issuer = kind.ends_with("ClusterIssuer");
        let names = spec.get("dnsNames").map(Node::items).unwrap_or_default().iter().filter_map(Node::str);
        let names = names.chain(spec.get("commonName").and_then(Node::str));
        let foreign: Vec<&str> =
            names.filter(|h| if cluster_issuer { !self.tls_name_kept(h) } else { !self.routes.may_serve(h) }).collect();
        (!foreign.is_empty()).then(|| {
            format!(
                "a certificate for {}: not the workspace's (another workspace's host, the platform's, a wildcard over \
                 the domain, or a name outside it from the cluster's issuer)",
                foreign.join(", ")
            )
        })
    }

    /// Whether a host named for a certificate (a TLS entry, an annotation, a Certificate) is one
    /// the workspace may serve as it stands: a host outside the domain is the workspace's only
    /// as a route's host is rewritten to it, and left there it has the cluster's issuer sign for
    /// any name.
    fn tls_name_kept(&self, host: &str) -> bool {
        self.routes.may_serve(host) && self.routes.host_change(Some(host)) == HostChange::Keep
    }

    /// Whether a resource is the workspace's (in its namespace, or in the release's).
    pub fn in_workspace(&self, res: &ResourceId) -> bool {
        self.routes.in_workspace(res.namespace.as_deref())
    }

    /// A row from its cells: host, path, backend, TLS, login; `host_ok` and `path_ok` say whether
    /// the host and (on a shared host) the path are the workspace's.
    fn route(&self, document: usize, res: &Resource, cells: [String; 5], host_ok: bool, path_ok: bool) -> RouteRow {
        let [host, path, backend, tls, login] = cells;
        let mut problems = Vec::new();
        let tls_wanted = self.tls_wanted && !self.waived(res, "ingress-tls");
        if !host_ok && tls_wanted {
            problems.push(NOT_WORKSPACE_HOST.to_string());
        }
        if let (false, Some(own)) = (path_ok, &self.paths) {
            problems.push(format!(
                "{NOT_WORKSPACE_PATH} ({}): serve it under {}/ (the chart's path and the app's base path)",
                own.join(", "),
                own[0]
            ));
        }
        if tls == NONE && tls_wanted {
            problems.push(NO_TLS.to_string());
        }
        if let (Some(why), true) = (login.strip_prefix(NONE), self.login_wanted && !self.waived(res, "oauth")) {
            problems.push(format!("{NO_LOGIN}{why}")); // the cell's reason, ` (satisfy: any …)`, if any
        }
        RouteRow {
            source: self.source.clone(),
            document,
            resource: res.id.clone(),
            host,
            path,
            backend,
            tls,
            login,
            problems,
        }
    }

    /// One row per host and path a route serves.
    pub fn routes(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        match routes::api(&res.id.api_version, &res.id.kind) {
            Some(Api::Ingress) => {
                let first = rows.len();
                self.ingress(document, res, rows);
                if let Some(why) = self.foreign_class(res) {
                    rows[first..].iter_mut().for_each(|row| row.problems.push(why.clone()));
                }
            }
            Some(Api::IngressRoute) => self.ingress_route(document, res, rows),
            Some(Api::HttpRoute | Api::GrpcRoute) if !routes::is_mesh_route(res) => {
                self.http_route(document, res, rows)
            }
            None if routes::is_l4_route(&res.id.api_version, &res.id.kind) && !routes::is_mesh_route(res) => {
                self.l4_route(document, res, rows)
            }
            _ => {}
        }
    }

    /// Why an Ingress's class could hand it to a controller the group's login does not reach
    /// (found in review). maia-krm writes the login in nginx's and Traefik's terms only, and both
    /// honour the legacy `kubernetes.io/ingress.class` annotation before `ingressClassName`. So a
    /// class naming neither (`cilium`, a cloud's) is refused, and so is an annotation naming one
    /// controller beside a field naming another (only while the login is wanted: it is what the
    /// class decides). A group's render (`--tenant`) takes only the cluster's class (without
    /// `ingress_class`, one of a controller the flavour runs, where it names one). An admin's
    /// install keeps what real charts do: their default `nginx` on a Traefik-only cluster (no
    /// controller serves it: the config says which run, and the login is written for each), and
    /// an annotation naming a controller of a chart's own beside the field (contour's chart).
    fn foreign_class(&self, res: &Resource) -> Option<String> {
        if !self.login_wanted || self.waived(res, "oauth") {
            return None;
        }
        let named = |c: Option<&str>| c.map(str::trim).filter(|c| !c.is_empty()).map(str::to_ascii_lowercase);
        let field = named(res.node.at(&["spec", "ingressClassName"]).and_then(Node::str));
        let legacy = named(res.annotation("kubernetes.io/ingress.class"));
        let ours = self.ingress_class.as_deref().map(str::to_ascii_lowercase);
        let (nginx, traefik) = self.controllers;
        let known = |c: &str| ours.as_deref() == Some(c) || c.contains("nginx") || c.contains("traefik");
        // Which controllers run is known only where the config names one (else every class runs).
        let runs = |c: &str| {
            ours.as_deref() == Some(c)
                || !(nginx || traefik)
                || (nginx && c.contains("nginx"))
                || (traefik && c.contains("traefik"))
        };
        // Each class, and whether it is an annotation beside a field.
        let classes = field.iter().map(|c| (c, false)).chain(legacy.iter().map(|c| (c, field.is_some())));
        let why = |c: &str, what: &str| Some(format!("Ingress class {c} {what}"));
        if let (Some(f), Some(l)) = (&field, &legacy)
            && f != l
            && (self.tenant || known(l))
        {
            let what =
                format!("(kubernetes.io/ingress.class) is not its ingressClassName {f}: controllers honour it first");
            return why(l, &what);
        }
        for (c, beside_field) in classes {
            if self.tenant {
                if ours.as_deref().map_or(!runs(c), |ours| c != ours) {
                    return why(
                        c,
                        "is not the cluster's (option ingress_class): the group's login may not reach its controller",
                    );
                }
            } else if !known(c) && !beside_field {
                return why(
                    c,
                    "names a controller the group's login does not reach (maia-krm writes it for nginx and Traefik)",
                );
            }
        }
        None
    }

    /// Traefik's IngressRouteTCP/UDP and Gateway API's TLSRoute/TCPRoute/UDPRoute: one row per
    /// route. None can carry the login; a host is known only by SNI (`HostSNI`, `hostnames`),
    /// and one without (`HostSNI(*)`, plain TCP, UDP) answers on every host of its entry point.
    fn l4_route(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        let spec = res.node.get("spec");
        let (entries, traefik) = match spec.and_then(|s| s.get("routes")) {
            Some(list) => (list.items(), true),
            None => (spec.and_then(|s| s.get("rules")).map(Node::items).unwrap_or_default(), false),
        };
        let tls = match res.node.at(&["spec", "tls"]).filter(|t| !t.is_null()) {
            Some(t) if t.get("passthrough").and_then(Node::scalar) == Some("true") => {
                "passthrough (the app's own)".into()
            }
            Some(t) => {
                t.get("secretName").and_then(Node::str).map_or(DEFAULT_CERTIFICATE.into(), |s| format!("secret {s}"))
            }
            None if res.id.kind == "TLSRoute" => "passthrough (the app's own)".into(),
            None => NONE.to_string(),
        };
        let hostnames: Vec<&str> = spec
            .and_then(|s| s.get("hostnames"))
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::str)
            .collect();
        for entry in entries {
            let hosts: Vec<String> = if traefik {
                let rule = entry.get("match").and_then(Node::str).unwrap_or_default();
                traefik_rule::sni_hosts(rule).unwrap_or_default()
            } else {
                hostnames.iter().map(|h| h.to_ascii_lowercase()).collect()
            };
            let host_ok = !hosts.is_empty() && hosts.iter().all(|h| h != "*" && self.routes.may_serve(h));
            let cells = [
                if hosts.is_empty() { "*".into() } else { hosts.join(",") },
                format!("({})", res.id.kind),
                backends(entry.get("services").or(entry.get("backendRefs"))),
                tls.clone(),
                NO_HTTP_LOGIN.into(),
            ];
            rows.push(self.route(document, res, cells, host_ok, self.paths.is_none()));
        }
    }

    /// Who logs in in front of a route that is not oauth2-proxy's own, when nothing guards it.
    fn unguarded(&self, res: &Resource) -> String {
        match self.routes.skips_login(res) {
            Some(_) => "app's own (Keycloak)".into(),
            None => NONE.into(),
        }
    }

    fn ingress(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        let spec = res.node.get("spec");
        let tls_entries = spec.and_then(|s| s.get("tls")).map(Node::items).unwrap_or_default();
        let resolver = res.annotation("traefik.ingress.kubernetes.io/router.tls.certresolver");
        let issuer = res.annotation("cert-manager.io/cluster-issuer").or(res.annotation("cert-manager.io/issuer"));
        let router_tls = res.annotation("traefik.ingress.kubernetes.io/router.tls").and_then(go_bool) == Some(true);
        let middlewares = res.annotation("traefik.ingress.kubernetes.io/router.middlewares").unwrap_or_default();
        // oauth2-proxy's own paths are exempt one by one, and only where they lead to it: an app
        // path beside them, or an `/oauth2` path to something else, needs the login like any other.
        // ingress-nginx reads every path of an Ingress as a regular expression with either annotation
        // (a bool as Go's strconv.ParseBool reads it: `True` too, found in review).
        let regex = res.annotation("nginx.ingress.kubernetes.io/use-regex").and_then(go_bool) == Some(true)
            || res.annotation("nginx.ingress.kubernetes.io/rewrite-target").is_some();
        let own = |path: &str, service: &str| {
            login::is_oauth2_path(path, &self.login.prefix) && service == self.login.service
        };
        // Found by a random test: on a cluster with both controllers, the Traefik Middleware
        // alone let an Ingress through whose nginx `auth-url` asked the chart's own service.
        let nginx = res.annotation("nginx.ingress.kubernetes.io/auth-url") == Some(&self.login.auth_url());
        let traefik = self.login.first_in_middleware_list(middlewares);
        // Found in review: a middleware listed before the login (an `errors` one) can answer for it.
        let late =
            self.login.in_middleware_list(middlewares) && !traefik && (self.controllers.1 || !self.controllers.0);
        let guarded = match self.controllers {
            (true, true) => nginx && traefik,
            (true, false) => nginx,
            (false, true) => traefik,
            (false, false) => nginx || traefik,
        };
        let login = if let Some(why) = self.login_defeated(res) {
            format!("{NONE} ({why})")
        } else if late {
            format!("{NONE} ({LATE_LOGIN})")
        } else if guarded {
            match (nginx, traefik) {
                (true, true) => "oauth2-proxy (nginx auth-url, Traefik Middleware)".into(),
                (true, false) => "oauth2-proxy (nginx auth-url)".into(),
                _ => "oauth2-proxy (Traefik Middleware)".into(),
            }
        } else {
            self.unguarded(res)
        };
        // The first TLS entry for each host, found once: linear in rules and entries.
        let mut by_host: HashMap<&str, &Node> = HashMap::new();
        for entry in tls_entries {
            for h in entry.get("hosts").map(Node::items).unwrap_or_default().iter().filter_map(Node::str) {
                by_host.entry(h).or_insert(entry);
            }
        }
        // A certificate for another workspace's host is that host, whatever the rules serve, and
        // ingress-nginx serves every `server-alias` beside the rule's host.
        let aliases = res.annotation("nginx.ingress.kubernetes.io/server-alias").unwrap_or_default();
        let aliases = aliases.split([',', ' ']).filter(|a| !a.is_empty());
        // A TLS entry's host, and a name cert-manager or Traefik puts on the Ingress's certificate
        // (found in review), must be one the route may keep ([`Policy::tls_name_kept`]).
        let annotations = res.node.at(&["metadata", "annotations"]).map(Node::entries).unwrap_or_default();
        let certified = annotations.iter().filter_map(|(k, v)| {
            let key = k.scalar()?;
            let traefik = key.strip_prefix("traefik.ingress.kubernetes.io/router.tls.domains.");
            let named = key == "cert-manager.io/common-name"
                || traefik.is_some_and(|rest| rest.ends_with(".main") || rest.ends_with(".sans"));
            named.then(|| v.scalar()).flatten()
        });
        let certified = certified.flat_map(|v| v.split(',')).map(str::trim).filter(|h| !h.is_empty());
        let foreign_tls = by_host.keys().copied().chain(aliases).chain(certified).any(|h| !self.tls_name_kept(h));
        for rule in spec.and_then(|s| s.get("rules")).map(Node::items).unwrap_or_default() {
            let host = rule.get("host").and_then(Node::str).filter(|h| !h.is_empty());
            let covering = host.and_then(|h| by_host.get(h));
            let mut tls = match (covering, resolver) {
                (Some(entry), _) => match entry.get("secretName").and_then(Node::str) {
                    Some(secret) => format!("secret {secret}"),
                    None => resolver.map_or(DEFAULT_CERTIFICATE.into(), |r| format!("resolver {r}")),
                },
                (None, Some(r)) if router_tls => format!("resolver {r}"),
                (None, None) if router_tls => DEFAULT_CERTIFICATE.into(),
                _ => NONE.into(),
            };
            if let (Some(issuer), true) = (issuer, tls.starts_with("secret")) {
                tls.push_str(&format!(" (issuer {issuer})"));
            }
            let paths = rule.at(&["http", "paths"]).map(Node::items).unwrap_or_default();
            for p in paths {
                let service = p.at(&["backend", "service", "name"]).and_then(Node::str).unwrap_or("-");
                let port = p
                    .at(&["backend", "service", "port", "number"])
                    .or(p.at(&["backend", "service", "port", "name"]))
                    .and_then(Node::scalar)
                    .unwrap_or("-");
                let path = p.get("path").and_then(Node::str).unwrap_or("/").to_string();
                let login = match (own(&path, service), self.exemption_defeated(res)) {
                    (true, None) => "oauth2-proxy itself".to_string(),
                    (true, Some(why)) => format!("{NONE} ({why})"),
                    (false, _) => login.clone(),
                };
                // It does so for every path of a host once any Ingress there asks (found in review):
                // on a shared host a neighbour's does, so a path that would read differently as a
                // regular expression must be inside as one too, whatever this Ingress says.
                let shared_regex = self.paths.is_some() && path.contains(|c: char| REGEX_META.contains(c));
                let path_ok = if regex {
                    self.regex_inside(&path)
                } else {
                    match p.get("pathType").and_then(Node::str) {
                        Some("Prefix" | "Exact") => {
                            self.path_inside(&path) && (!shared_regex || self.regex_inside(&path))
                        }
                        _ if shared_regex => self.regex_inside(&path),
                        _ => self.prefix_inside(&path),
                    }
                };
                let cells = [host.unwrap_or("*").into(), path, format!("{service}:{port}"), tls.clone(), login];
                let host_ok = self.routes.host_change(host) == HostChange::Keep
                    && host.is_none_or(|h| self.routes.may_serve(h))
                    && !foreign_tls;
                rows.push(self.route(document, res, cells, host_ok, path_ok));
            }
        }
        // A default backend answers every host and path no rule takes: a route of its own.
        if let Some(backend) = spec.and_then(|s| s.get("defaultBackend")).filter(|b| !b.is_null()) {
            let service = backend.at(&["service", "name"]).and_then(Node::str).unwrap_or("-");
            let cells = ["*".into(), "(defaultBackend)".into(), service.to_string(), NONE.into(), login];
            rows.push(self.route(document, res, cells, false, false));
        }
    }

    fn ingress_route(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        let tls = res.node.at(&["spec", "tls"]).filter(|t| !t.is_null());
        let tls = match tls {
            None => NONE.to_string(),
            Some(t) => match (t.get("secretName").and_then(Node::str), t.get("certResolver").and_then(Node::str)) {
                (Some(secret), _) => format!("secret {secret}"),
                (None, Some(resolver)) => format!("resolver {resolver}"),
                (None, None) => DEFAULT_CERTIFICATE.into(),
            },
        };
        // The route's own certificate names (`tls.domains`: `main` and `sans`) are hosts it gets a
        // certificate for, whatever its rules serve (found in review).
        let domains = res.node.at(&["spec", "tls", "domains"]).map(Node::items).unwrap_or_default();
        let domains_kept = domains.iter().all(|d| {
            let sans = d.get("sans").map(Node::items).unwrap_or_default();
            let mut names = d.get("main").into_iter().chain(sans).map(Node::str);
            names.all(|h| h.is_none_or(|h| self.tls_name_kept(h)))
        });
        for route in res.node.at(&["spec", "routes"]).map(Node::items).unwrap_or_default() {
            let rule = route.get("match").and_then(Node::str).unwrap_or_default();
            let listed = route.get("middlewares").map(Node::items).unwrap_or_default();
            let own = traefik_rule::serves_only_oauth2(rule, &self.login.prefix);
            let login = if own && self.leads_to_login(route.get("services")) {
                // Found in review: an `errors` or rewriting middleware on the exempt route answers
                // in oauth2-proxy's place; its own route needs none.
                match listed.is_empty() {
                    true => "oauth2-proxy itself".to_string(),
                    false => format!("{NONE} (a middleware on oauth2-proxy's own route can rewrite or answer for it)"),
                }
            } else if listed.first().is_some_and(|m| self.login.is_route_middleware(m)) {
                "oauth2-proxy (Traefik Middleware)".into()
            } else if listed.iter().any(|m| self.login.is_route_middleware(m)) {
                format!("{NONE} ({LATE_LOGIN})")
            } else {
                self.unguarded(res)
            };
            let hosts = traefik_rule::hosts(rule).map(|h| h.join(",")).unwrap_or_else(|why| why);
            let backend = backends(route.get("services"));
            let host_ok = self.routes.rule_hosts(rule) == RuleHosts::Kept
                && traefik_rule::hosts(rule).is_ok_and(|hosts| hosts.iter().all(|h| self.routes.may_serve(h)))
                && domains_kept;
            let path_ok = self.paths.is_none()
                || traefik_rule::parse(rule).is_ok_and(|e| {
                    e.requires(&|name, args| {
                        let inside = |v: &str| if name == "path" { self.path_inside(v) } else { self.prefix_inside(v) };
                        matches!(name, "path" | "pathprefix")
                            && !args.is_empty()
                            && args.iter().all(|a| !a.escaped && inside(&a.value))
                    })
                });
            let cells = [hosts, format!("match {rule}"), backend, tls.clone(), login];
            rows.push(self.route(document, res, cells, host_ok, path_ok));
        }
    }

    fn http_route(&self, document: usize, res: &Resource, rows: &mut Vec<RouteRow>) {
        let spec = res.node.get("spec");
        let hostnames = spec.and_then(|s| s.get("hostnames")).map(Node::items).unwrap_or_default();
        let hosts: Vec<&str> = hostnames.iter().filter_map(Node::str).collect();
        let host = if hosts.is_empty() { "*".to_string() } else { hosts.join(",") };
        let host_ok = if hosts.is_empty() {
            self.routes.host_change(None) == HostChange::Keep
        } else {
            hosts.iter().all(|h| self.routes.host_change(Some(h)) == HostChange::Keep && self.routes.may_serve(h))
        };
        let parents: Vec<&str> = spec
            .and_then(|s| s.get("parentRefs"))
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.get("name").and_then(Node::str))
            .collect();
        if parents.is_empty() {
            return; // attached to nothing: serves nothing
        }
        let tls = format!("listener of {}", parents.join(","));
        let policy = self.guarded.contains(&res.id.name);
        for rule in spec.and_then(|s| s.get("rules")).map(Node::items).unwrap_or_default() {
            let filters = rule.get("filters").map(Node::items).unwrap_or_default();
            let login = match routes::rule_role(rule, &self.login.prefix) {
                RuleRole::OAuth2Proxy if self.leads_to_login(rule.get("backendRefs")) => {
                    // Found in review: a rewrite, an extension (a Traefik `errors` Middleware) or a
                    // mirror on the exempt rule sends oauth2-proxy's traffic, or its answers, elsewhere.
                    const REWRITING: &[&str] = &["URLRewrite", "ExtensionRef", "RequestMirror"];
                    match filters
                        .iter()
                        .find_map(|f| f.get("type").and_then(Node::str).filter(|t| REWRITING.contains(t)))
                    {
                        None => "oauth2-proxy itself".to_string(),
                        Some(t) => format!("{NONE} (a {t} filter on oauth2-proxy's own route can send it elsewhere)"),
                    }
                }
                RuleRole::Redirect => "redirect only".into(),
                RuleRole::App | RuleRole::OAuth2Proxy if filters.iter().any(|f| self.login.is_filter(f)) => {
                    "oauth2-proxy (filter)".into()
                }
                _ if policy => "oauth2-proxy (SecurityPolicy)".into(),
                _ if res.id.kind == "GRPCRoute" => NONE.into(),
                _ => self.unguarded(res),
            };
            let matches = rule.get("matches").map(Node::items).unwrap_or_default();
            let paths: Vec<&str> =
                matches.iter().filter_map(|m| m.at(&["path", "value"]).and_then(Node::str)).collect();
            let path = if paths.is_empty() { "/".to_string() } else { paths.join(",") };
            let regex =
                matches.iter().any(|m| m.at(&["path", "type"]).and_then(Node::str) == Some("RegularExpression"));
            let path_ok = self.paths.is_none()
                || (!paths.is_empty()
                    && paths.len() == matches.len()
                    && !regex
                    && paths.iter().all(|p| self.path_inside(p)));
            let backend = backends(rule.get("backendRefs"));
            rows.push(self.route(document, res, [host.clone(), path, backend, tls.clone(), login], host_ok, path_ok));
        }
    }

    /// Why an Ingress's nginx annotations undo the login whatever `auth-url` says (found in
    /// review): `satisfy: any` lets an allow-listed address past it, a snippet can switch
    /// `auth_request` off (CVE-2021-25742), a sign-in page of the chart's own is a phishing door.
    fn login_defeated(&self, res: &Resource) -> Option<&'static str> {
        const NGINX: &str = "nginx.ingress.kubernetes.io/";
        let annotations = res.node.at(&["metadata", "annotations"]).map(Node::entries).unwrap_or_default();
        let keys = annotations.iter().filter_map(|(k, _)| k.scalar()?.strip_prefix(NGINX));
        if keys.clone().any(|k| k.ends_with("-snippet")) {
            return Some("a *-snippet annotation can switch the login off");
        }
        if res.annotation(&format!("{NGINX}satisfy")).is_some_and(|v| v.eq_ignore_ascii_case("any")) {
            return Some("satisfy: any lets an allow-listed address past the login");
        }
        // Switched off per Ingress, the controller's global login (the admin's) no longer applies;
        // nginx reads it as Go does (`0`, `f`, `False`…), so anything but true is refused.
        if res.annotation(&format!("{NGINX}enable-global-auth")).is_some_and(|v| go_bool(v) != Some(true)) {
            return Some("enable-global-auth: false switches the cluster's own login off");
        }
        // Found in review: a canary serves its host and path under the main Ingress's config, so
        // its own auth-url does nothing; weighted to 100 it takes over JupyterHub's `/` or `/oauth2`.
        if res.annotation(&format!("{NGINX}canary")).and_then(go_bool) == Some(true) {
            return Some("a canary Ingress runs under another Ingress's login, not its own");
        }
        // Found in review: with these codes the login's answer (401, 403, or a 5xx while it is
        // down) is replaced by the default backend's, which may be the group's app.
        if res.annotation(&format!("{NGINX}custom-http-errors")).is_some_and(|codes| {
            codes
                .split(',')
                .any(|c| c.trim().parse::<u16>().is_ok_and(|c| c == 401 || c == 403 || (500..600).contains(&c)))
        }) {
            return Some("custom-http-errors for 401, 403 or 5xx replaces the login's answer");
        }
        // Found in review: a mirror copies every request, session cookie included, to any URL.
        if res.annotation(&format!("{NGINX}mirror-target")).is_some() {
            return Some("mirror-target copies every request (session cookie included) elsewhere");
        }
        // nginx reuses a cached 2xx for every request with the same key: a key without the
        // session cookie hands one user's login to everyone.
        if res.annotation(&format!("{NGINX}auth-cache-key")).is_some() {
            return Some("auth-cache-key can hand one user's login to others");
        }
        // The same (found in review): headers set on the auth request can pin one session cookie.
        if res.annotation(&format!("{NGINX}auth-proxy-set-headers")).is_some() {
            return Some("auth-proxy-set-headers can pin one session on the login for everyone");
        }
        // An `auth-url` of the chart's own asks its service whether to let a user in.
        if res.annotation(&format!("{NGINX}auth-url")).is_some_and(|url| url != self.login.auth_url()) {
            return Some("auth-url asks another service than the group's oauth2-proxy");
        }
        let sign_in = res.annotation(&format!("{NGINX}auth-signin"));
        if sign_in.is_some_and(|s| !s.starts_with(&self.login.sign_in)) {
            return Some("auth-signin sends users to a sign-in page that is not the group's");
        }
        None
    }

    /// Why nginx annotations take oauth2-proxy's own (exempt) paths of an Ingress out of its hands
    /// (found in review): `custom-http-errors` with `default-backend` answers for it, a
    /// `default-backend` alone serves its paths (the OAuth callback included) while it has no
    /// endpoints, a mirror copies its traffic (codes, cookies) elsewhere, a snippet does anything.
    fn exemption_defeated(&self, res: &Resource) -> Option<&'static str> {
        const NGINX: &str = "nginx.ingress.kubernetes.io/";
        let annotations = res.node.at(&["metadata", "annotations"]).map(Node::entries).unwrap_or_default();
        let mut keys = annotations.iter().filter_map(|(k, _)| k.scalar()?.strip_prefix(NGINX));
        keys.any(|k| matches!(k, "custom-http-errors" | "default-backend" | "mirror-target") || k.ends_with("-snippet"))
            .then_some("custom-http-errors, default-backend, mirror-target or a snippet on oauth2-proxy's own route can answer for it")
    }

    /// Whether every backend of a rule (HTTPRoute `backendRefs`, IngressRoute `services`) is the
    /// group's oauth2-proxy: only then is it its own route.
    fn leads_to_login(&self, backends: Option<&Node>) -> bool {
        let backends = backends.map(Node::items).unwrap_or_default();
        !backends.is_empty() && backends.iter().all(|b| self.login.is_service(b))
    }

    /// One row per pod template a resource holds, and one per pod spec it should hold but whose
    /// text can't take an edit (an alias, a scalar).
    pub fn pods(&self, document: usize, res: &Resource, rows: &mut Vec<PodRow>) {
        if !self.pods.holds_pods(&res.id.api_version, &res.id.kind) {
            return;
        }
        let row = |pod: String, pull_secret: bool, shared_volume: String, problems: Vec<String>| PodRow {
            source: self.source.clone(),
            document,
            resource: res.id.clone(),
            pod,
            pull_secret,
            shared_volume,
            problems,
        };
        let pull_secret_wanted = self.pull_secret_wanted && !self.waived(res, "pull-secret");
        let shared_volume_wanted = self.shared_volume_wanted && !self.waived(res, "shared-volume");
        let (pods, missing) = self.pods.pods(res);
        for (path, why) in missing {
            let mut problems = Vec::new();
            if pull_secret_wanted {
                problems.push(format!("the pod spec {why}: {}", self.no_pull_secret()));
            }
            if shared_volume_wanted && self.shared_volume.exempt(res).is_ok() {
                problems.push(format!("the pod spec {why}: no shared volume"));
            }
            rows.push(row(path, false, "no".into(), problems));
        }
        for pod in pods {
            let pull_secret = self.pull_secret.holds(&pod);
            let mut problems = Vec::new();
            if !pull_secret && pull_secret_wanted {
                problems.push(self.no_pull_secret());
            }
            let shared_volume = match self.shared_volume.exempt(res) {
                Err((why, _)) => format!("n/a ({why})"),
                Ok(()) => {
                    let containers = self.shared_volume.containers(&pod);
                    let volume = self.shared_volume.claim_volume(&pod);
                    let has = |c: &Container| {
                        volume.is_some_and(|v| {
                            matches!(self.shared_volume.state(c, v), Mount::AtPath | Mount::AtOwnPath | Mount::Mirrors)
                        })
                    };
                    let without: Vec<&str> = containers.iter().filter(|c| !has(c)).map(|c| c.path.as_str()).collect();
                    if !without.is_empty() && shared_volume_wanted {
                        problems.push(format!("containers without the shared volume: {}", without.join(", ")));
                    }
                    match (containers.len(), without.len()) {
                        (0, _) => "n/a (no containers)".into(),
                        (_, 0) => "yes".into(),
                        (all, none) if all == none => "no".into(),
                        (all, some) => format!("in {} of {all} containers", all - some),
                    }
                }
            };
            rows.push(row(pod.path, pull_secret, shared_volume, problems));
        }
    }

    fn no_pull_secret(&self) -> String {
        format!("pods without the pull secret {}", self.pull_secret.name())
    }
}

/// Kinds that exist only cluster-wide: Kubernetes' own, and those of the add-ons MAIA runs
/// (cert-manager, Kubeflow, Argo, KServe, Kyverno, Gateway API, Traefik). A kind not listed is
/// taken as namespaced: the per-workspace Argo CD AppProject (no cluster-scoped kinds) is what
/// stops the rest at the cluster.
fn cluster_scoped(kind: &str) -> bool {
    const KINDS: &[&str] = &[
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "APIService",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "PriorityClass",
        "RuntimeClass",
        "IngressClass",
        "GatewayClass",
        "CertificateSigningRequest",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "ClusterIssuer",
        "ClusterSecretStore",
        "Profile",
        "ClusterWorkflowTemplate",
        "ClusterServingRuntime",
        "ClusterStorageContainer",
        "ClusterTrainingRuntime",
        "ClusterQueue",
        "ResourceFlavor",
        "ClusterPolicy",
        "ClusterCleanupPolicy",
        "VolumeSnapshotClass",
        "VolumeSnapshotContent",
        "IPAddress",
        "ServiceCIDR",
        "DeviceClass",
    ];
    KINDS.contains(&kind)
}

/// An nginx boolean annotation as ingress-nginx reads it (Go's `strconv.ParseBool`): `None` when
/// it is none of the spellings Go takes (nginx then keeps the annotation's default).
fn go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Whether the rest of a regular expression (PCRE, after a literal start) can only match where
/// the start did: no alternation at its top level (`^/a/x|/b` also matches `/b`), balanced.
/// Read conservatively: an escape hides one character, a `]` always closes a class.
fn keeps_its_start(tail: &str) -> bool {
    let (mut depth, mut class, mut escaped) = (0usize, false, false);
    for c in tail.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ']' if class => class = false,
            _ if class => {}
            '[' => class = true,
            '(' => depth += 1,
            ')' if depth == 0 => return false,
            ')' => depth -= 1,
            '|' if depth == 0 => return false,
            _ => {}
        }
    }
    !escaped && !class && depth == 0
}

/// `name:port` of each service in a list of them (IngressRoute `services`, HTTPRoute `backendRefs`).
fn backends(list: Option<&Node>) -> String {
    let list = list.map(Node::items).unwrap_or_default();
    let one = |b: &Node| {
        let port = b.get("port").and_then(Node::scalar).unwrap_or("-");
        format!("{}:{port}", b.get("name").and_then(Node::str).unwrap_or("-"))
    };
    list.iter().map(one).collect::<Vec<_>>().join(",")
}
