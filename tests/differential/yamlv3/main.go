// yamlv3: Go yaml.v3 (the reader of Helm 4, kubectl's kustomize/kyaml) as a test oracle.
//
// Built offline in GOPATH mode from Debian's golang-gopkg-yaml.v3-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o target/go/yamlv3 ./tests/differential/yamlv3
//
// Modes:
//
//	yamlv3 check        stdin: one stream. Exit 0 when yaml.v3 reads every document and each is a
//	                    mapping or empty/null; exit 1 with yaml.v3's message on stderr otherwise.
//	yamlv3 json         stdin: one stream. One JSON line per document (yaml.v3's meaning), exit 1
//	                    with the message when check would refuse.
//	yamlv3 batch        stdin: length-prefixed streams ("<byte count>\n<bytes>", repeated). One JSON
//	                    line per stream on stdout: {"ok":true,"docs":[...]} or {"ok":false,"error":"..."}.
//	yamlv3 gen SEED N   N streams encoded by yaml.v3's Encoder (indent 2, as Helm 4 re-serialises),
//	                    length-prefixed on stdout. Deterministic for a given SEED.
//
// Reading follows Helm 4 / kyaml: a yaml.v3 Decoder decodes the stream document by document into
// yaml.Node (so duplicate mapping keys are accepted; the last one wins when the meaning is computed).
// A document must then also decode into interface{} (what happens when Kubernetes objects are built
// from it: bad !!int/!!binary values, alias bombs and the like are refused there).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"
)

// readStream returns the meaning of each document, or yaml.v3's error (naming the document).
func readStream(data []byte) ([]interface{}, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []interface{}
	for i := 1; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i, err)
		}
		v, err := meaning(&node)
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i, err)
		}
		switch v.(type) {
		case nil, map[string]interface{}:
		default:
			return nil, fmt.Errorf("document %d (line %d): not a mapping but %T", i, node.Line, v)
		}
		docs = append(docs, v)
	}
}

// meaning decodes a document node into plain JSON-able values, duplicate keys resolved last-wins.
func meaning(doc *yaml.Node) (v interface{}, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while decoding: %v", r)
		}
	}()
	dedup(doc, map[*yaml.Node]bool{})
	var raw interface{}
	if err := doc.Decode(&raw); err != nil {
		return nil, err
	}
	return normalise(raw), nil
}

// dedup drops every earlier pair of a mapping whose scalar key occurs again later (last wins).
func dedup(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] || n.Kind == yaml.AliasNode {
		return
	}
	seen[n] = true
	if n.Kind == yaml.MappingNode && len(n.Content)%2 == 0 {
		last := map[string]int{}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
				last[k.ShortTag()+"\x00"+k.Value] = i
			}
		}
		var kept []*yaml.Node
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" && last[k.ShortTag()+"\x00"+k.Value] != i {
				continue
			}
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		dedup(c, seen)
	}
}

func normalise(v interface{}) interface{} {
	switch x := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(x))
		for k, e := range x {
			out[k] = normalise(e)
		}
		return out
	case map[interface{}]interface{}:
		out := make(map[string]interface{}, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				kb, _ := json.Marshal(normalise(k))
				ks = fmt.Sprintf("<%T>%s", k, kb)
			}
			out[ks] = normalise(e)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(x))
		for i, e := range x {
			out[i] = normalise(e)
		}
		return out
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("<float>%v", x)
		}
		return x
	case []byte:
		return fmt.Sprintf("<binary>%q", x)
	default:
		return v
	}
}

type answer struct {
	OK    bool          `json:"ok"`
	Error string        `json:"error,omitempty"`
	Docs  []interface{} `json:"docs"`
}

func answerFor(data []byte) answer {
	docs, err := readStream(data)
	if err != nil {
		return answer{OK: false, Error: err.Error(), Docs: []interface{}{}}
	}
	if docs == nil {
		docs = []interface{}{}
	}
	return answer{OK: true, Docs: docs}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: yamlv3 check|json|batch|gen SEED N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "check", "json":
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		docs, err := readStream(data)
		if err != nil {
			fmt.Fprintln(os.Stderr, "yaml.v3:", err)
			os.Exit(1)
		}
		if os.Args[1] == "json" {
			w := bufio.NewWriter(os.Stdout)
			for _, d := range docs {
				b, _ := json.Marshal(d)
				w.Write(b)
				w.WriteByte('\n')
			}
			w.Flush()
		}
	case "batch":
		r := bufio.NewReaderSize(os.Stdin, 1<<20)
		w := bufio.NewWriter(os.Stdout)
		for {
			line, err := r.ReadString('\n')
			if err == io.EOF && line == "" {
				w.Flush()
				return
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "batch: bad framing:", err)
				os.Exit(2)
			}
			n, err := strconv.Atoi(line[:len(line)-1])
			if err != nil || n < 0 {
				fmt.Fprintf(os.Stderr, "batch: bad length %q\n", line)
				os.Exit(2)
			}
			data := make([]byte, n)
			if _, err := io.ReadFull(r, data); err != nil {
				fmt.Fprintln(os.Stderr, "batch: short stream:", err)
				os.Exit(2)
			}
			b, err := json.Marshal(answerFor(data))
			if err != nil {
				b, _ = json.Marshal(answer{OK: false, Error: "json: " + err.Error(), Docs: []interface{}{}})
			}
			w.Write(b)
			w.WriteByte('\n')
			w.Flush()
		}
	case "gen":
		if len(os.Args) != 4 {
			fmt.Fprintln(os.Stderr, "usage: yamlv3 gen SEED N")
			os.Exit(2)
		}
		seed, _ := strconv.ParseInt(os.Args[2], 10, 64)
		n, _ := strconv.Atoi(os.Args[3])
		w := bufio.NewWriter(os.Stdout)
		for i := 0; i < n; i++ {
			s := genStream(seed, i)
			fmt.Fprintf(w, "%d\n", len(s))
			w.Write(s)
		}
		w.Flush()
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

