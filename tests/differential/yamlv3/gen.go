package main

// gen: Kubernetes-shaped streams written by yaml.v3's own Encoder (indent 2, as Helm 4 does),
// with hostile string values and yaml.Node comments. Deterministic for a seed and an index.

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"

	"gopkg.in/yaml.v3"
)

type gen struct{ r *rand.Rand }

var pieces = []string{
	"\n", "\n", "\n\n", "\t", "'", "\"", "#", " #", ": ", ":", "- ", "? ", "{", "}", "[", "]", ",",
	"&a", "*a", "!t", "%", "@", "`", "|", ">", "|-", "yes", "no", "on", "0755", "null", "~", "true",
	"1.10", "1e3", "---", "...", "\r", "\r\n", "é", "日本語", "\u2028", "\u00a0", "\ufeff", " ", "  ",
	"\\", "\\n", "${X}", "{{ .Values.x }}", "a", "b", "host", "traefik", "x y", "0x1F", "=",
	"\x7f", "\u0085", "😀",
}

func (g *gen) str() string {
	var b strings.Builder
	switch g.r.Intn(10) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("word%d", g.r.Intn(100))
	}
	n := 1 + g.r.Intn(8)
	if g.r.Intn(4) == 0 {
		b.WriteString(" ")
	}
	for i := 0; i < n; i++ {
		b.WriteString(pieces[g.r.Intn(len(pieces))])
	}
	switch g.r.Intn(5) {
	case 0:
		b.WriteString("\n") // ends in a newline: multi-line single-quoted, quote at column 0
	case 1:
		b.WriteString(" ")
	}
	return b.String()
}

func (g *gen) comment() string {
	lines := 1 + g.r.Intn(2)
	var out []string
	for i := 0; i < lines; i++ {
		c := strings.NewReplacer("\n", " ", "\r", " ", "\u2028", " ", "\u0085", " ", "\x7f", " ", "\ufeff", " ").Replace(g.str())
		out = append(out, "# "+c)
	}
	return strings.Join(out, "\n")
}

func (g *gen) maybeComment(n *yaml.Node, p int) *yaml.Node {
	if g.r.Intn(100) < p {
		n.HeadComment = g.comment()
	}
	if g.r.Intn(100) < p/2 {
		n.LineComment = g.comment()
	}
	return n
}

func (g *gen) s(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if g.r.Intn(20) == 0 {
		n.Style = []yaml.Style{yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle, yaml.LiteralStyle, yaml.FoldedStyle}[g.r.Intn(4)]
	}
	return n
}

func (g *gen) i(v int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(v)}
}

func (g *gen) m(kv ...interface{}) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		v, _ := kv[i+1].(*yaml.Node)
		if v == nil {
			continue
		}
		n.Content = append(n.Content, g.maybeComment(g.key(kv[i].(string)), 6), v)
	}
	if len(n.Content) == 0 {
		n.Style = yaml.FlowStyle
		if g.r.Intn(3) == 0 {
			n.HeadComment = g.comment() // yaml.v3 writes `{\n  # c\n}`
		}
	} else if g.r.Intn(25) == 0 {
		// Comments inside non-empty flow collections make yaml.v3's encoder write what it then
		// reads differently (a yaml.v3 bug, not a Helm 4 output): keep flow collections comment-free.
		n.Style = yaml.FlowStyle
		stripComments(n)
	}
	return n
}

func stripComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		stripComments(c)
	}
}

func (g *gen) key(k string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
}

func (g *gen) seq(items ...*yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, it := range items {
		if g.r.Intn(100) < 8 {
			it.HeadComment = g.comment() // a dash alone on its line, then the comment
		}
		n.Content = append(n.Content, it)
	}
	if g.r.Intn(25) == 0 {
		n.Style = yaml.FlowStyle
		stripComments(n)
	}
	return n
}

func (g *gen) randMap(n int) *yaml.Node {
	var kv []interface{}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("example.com/k%d", i)
		if g.r.Intn(4) == 0 {
			k = g.str()
		}
		kv = append(kv, k, g.s(g.str()))
	}
	return g.m(kv...)
}

func (g *gen) opt(p int, n *yaml.Node) *yaml.Node {
	if g.r.Intn(100) < p {
		return n
	}
	return nil
}

func (g *gen) metadata(name, file string, ingress bool) *yaml.Node {
	var ann []interface{}
	if ingress {
		if g.r.Intn(2) == 0 {
			ann = append(ann, "traefik.ingress.kubernetes.io/router.middlewares", g.s([]string{"other-mw@kubernetescrd", g.str(), "a@kubernetescrd,b@kubernetescrd"}[g.r.Intn(3)]))
		}
		if g.r.Intn(4) == 0 {
			ann = append(ann, "nginx.ingress.kubernetes.io/configuration-snippet", g.s(g.str()))
		}
		if g.r.Intn(4) == 0 {
			ann = append(ann, "traefik.ingress.kubernetes.io/router.entrypoints", g.s("websecure"))
		}
	}
	for i := g.r.Intn(4); i > 0; i-- {
		ann = append(ann, fmt.Sprintf("example.com/a%d", i), g.s(g.str()))
	}
	if g.r.Intn(6) == 0 {
		ann = append(ann, g.str(), g.s(g.str()))
	}
	ann = append(ann, "postrenderer.helm.sh/postrender-filename", g.s(file))
	var annN *yaml.Node
	if len(ann) > 0 && g.r.Intn(8) != 0 {
		annN = g.m(ann...)
	}
	return g.m("name", g.s(name), "namespace", g.opt(50, g.s("demo-group")),
		"labels", g.opt(50, g.m("app", g.s(name), "example.com/l", g.opt(30, g.s(g.str())))),
		"annotations", annN)
}

func (g *gen) host() *yaml.Node {
	switch g.r.Intn(5) {
	case 0:
		return g.s("")
	case 1:
		return g.s(g.str())
	case 2:
		return g.s("app.maia.example.com")
	default:
		return g.s(fmt.Sprintf("h%d.example.org", g.r.Intn(5)))
	}
}

func (g *gen) ingress(name, file string) *yaml.Node {
	var rules []*yaml.Node
	var hosts []*yaml.Node
	for i := g.r.Intn(3); i >= 0; i-- {
		h := g.host()
		hosts = append(hosts, g.s(h.Value))
		path := g.s("/" + []string{"", "oauth2", "api", g.str()}[g.r.Intn(4)])
		rules = append(rules, g.m("host", g.opt(85, h), "http", g.m("paths", g.seq(
			g.m("path", path, "pathType", g.s("Prefix"), "backend", g.m("service", g.m("name", g.s(name), "port", g.m("number", g.i(80)))))))))
	}
	var tls *yaml.Node
	if g.r.Intn(3) == 0 {
		tls = g.seq(g.m("hosts", g.seq(hosts...), "secretName", g.opt(60, g.s(name+"-tls"))))
	}
	return g.m("apiVersion", g.s("networking.k8s.io/v1"), "kind", g.s("Ingress"), "metadata", g.metadata(name, file, true),
		"spec", g.m("ingressClassName", g.opt(30, g.s("traefik")), "rules", g.seq(rules...), "tls", tls))
}

func (g *gen) container(name string) *yaml.Node {
	var args, env []*yaml.Node
	for i := g.r.Intn(4); i > 0; i-- {
		args = append(args, g.s(g.str()))
	}
	for i := g.r.Intn(3); i > 0; i-- {
		env = append(env, g.m("name", g.s(fmt.Sprintf("E%d", i)), "value", g.s(g.str())))
	}
	var mounts *yaml.Node
	if g.r.Intn(3) == 0 {
		mounts = g.seq(g.m("name", g.s("data"), "mountPath", g.s("/data")))
	}
	var argsN, envN *yaml.Node
	if len(args) > 0 {
		argsN = g.seq(args...)
	}
	if len(env) > 0 {
		envN = g.seq(env...)
	}
	return g.m("name", g.s(name), "image", g.s("busybox:1.36"), "args", argsN, "env", envN, "volumeMounts", mounts,
		"resources", g.opt(30, g.m()))
}

func (g *gen) podSpec(name string) *yaml.Node {
	var cs []*yaml.Node
	for i := g.r.Intn(2); i >= 0; i-- {
		cs = append(cs, g.container(fmt.Sprintf("%s-%d", name, i)))
	}
	var vols, ips, inits *yaml.Node
	if g.r.Intn(3) == 0 {
		vols = g.seq(g.m("name", g.s("data"), "emptyDir", g.m()))
	}
	if g.r.Intn(3) == 0 {
		ips = g.seq(g.m("name", g.s("other-secret")))
	}
	if g.r.Intn(4) == 0 {
		inits = g.seq(g.container("init"))
	}
	return g.m("initContainers", inits, "containers", g.seq(cs...), "volumes", vols, "imagePullSecrets", ips)
}

func (g *gen) workload(kind, name, file string) *yaml.Node {
	tmpl := g.m("metadata", g.opt(60, g.m("labels", g.m("app", g.s(name)))), "spec", g.podSpec(name))
	var spec *yaml.Node
	api := "apps/v1"
	switch kind {
	case "Pod":
		api, spec = "v1", g.podSpec(name)
	case "CronJob":
		api, spec = "batch/v1", g.m("schedule", g.s("*/5 * * * *"), "jobTemplate", g.m("spec", g.m("template", tmpl)))
	case "Job":
		api, spec = "batch/v1", g.m("template", tmpl)
	default:
		spec = g.m("replicas", g.opt(50, g.i(1)), "selector", g.m("matchLabels", g.m("app", g.s(name))), "template", tmpl)
	}
	return g.m("apiVersion", g.s(api), "kind", g.s(kind), "metadata", g.metadata(name, file, false), "spec", spec)
}

func (g *gen) object(i int) *yaml.Node {
	name := fmt.Sprintf("obj%d", i)
	file := fmt.Sprintf("chart/templates/t%d.yaml", i)
	switch k := g.r.Intn(10); k {
	case 0, 1, 2:
		return g.ingress(name, file)
	case 3, 4, 5, 6:
		return g.workload([]string{"Deployment", "StatefulSet", "CronJob", "Pod", "DaemonSet", "Job"}[g.r.Intn(6)], name, file)
	case 7:
		var ips *yaml.Node
		if g.r.Intn(2) == 0 {
			ips = g.seq(g.m("name", g.s("other-secret")))
		}
		return g.m("apiVersion", g.s("v1"), "kind", g.s("ServiceAccount"), "metadata", g.metadata(name, file, false), "imagePullSecrets", ips)
	default:
		return g.m("apiVersion", g.s("v1"), "kind", g.s("ConfigMap"), "metadata", g.metadata(name, file, false), "data", g.randMap(1+g.r.Intn(4)))
	}
}

func genStream(seed int64, index int) []byte {
	g := &gen{r: rand.New(rand.NewSource(seed*1000003 + int64(index)))}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for i := g.r.Intn(4); i >= 0; i-- {
		doc := g.object(i)
		if g.r.Intn(10) == 0 {
			doc.HeadComment = g.comment()
		}
		if err := enc.Encode(doc); err != nil {
			// An encoder refusal is not a stream: write the message as a comment-only document.
			buf.WriteString("# encoder refused: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n")
		}
	}
	enc.Close()
	return buf.Bytes()
}
