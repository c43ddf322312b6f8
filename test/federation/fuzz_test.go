package federation

import (
	"bytes"
	"context"
	"fmt"
	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/test/upstreams"
	"github.com/portcullis-gw/portcullis/upstream/federation"
)

// opGen builds a valid operation over the demo API schema from fuzz bytes:
// root fields with their required arguments, random sub-selections (the
// protected email, role and secretNotes among them), aliases, fragments
// and @skip/@include, depth-bounded.
type opGen struct {
	in  []byte
	api *schema.Graph
}

func (g *opGen) next(n int) int {
	if len(g.in) == 0 || n <= 1 {
		return 0
	}
	b := g.in[0]
	g.in = g.in[1:]
	return int(b) % n
}

var rootCalls = []string{`users(first: 2)`, `user(id: "1")`, `topProducts(first: 2)`, `product(upc: "1")`, `latestReviews(first: 2)`}

func (g *opGen) selection(typeName string, depth int) string {
	def := g.api.Schema().Types[typeName]
	var parts []string
	for i, n := 0, 1+g.next(4); i < n; i++ {
		f := def.Fields[g.next(len(def.Fields))]
		if strings.HasPrefix(f.Name, "__") || len(f.Arguments) > 0 {
			continue
		}
		sel := f.Name
		if t := g.api.Schema().Types[f.Type.Name()]; t.Kind == "OBJECT" {
			if depth >= 3 {
				continue
			}
			sel += " { " + g.selection(t.Name, depth+1) + " }"
		}
		switch g.next(6) {
		case 1:
			sel = fmt.Sprintf("a%d: %s", i, sel)
		case 2:
			sel = "... on " + typeName + " { " + sel + " }"
		case 3:
			sel += " @include(if: $yes)"
		case 4:
			sel += " @skip(if: $yes)"
		}
		parts = append(parts, sel)
	}
	return strings.Join(append(parts, "__typename"), " ")
}

func (g *opGen) operation() string {
	root := g.api.Schema().Query
	var parts []string
	for i, n := 0, 1+g.next(3); i < n; i++ {
		call := rootCalls[g.next(len(rootCalls))]
		name, _, _ := strings.Cut(call, "(")
		ret := root.Fields.ForName(name).Type.Name()
		parts = append(parts, fmt.Sprintf("r%d: %s { %s }", i, call, g.selection(ret, 1)))
	}
	return "query Q($yes: Boolean = true) { " + strings.Join(append(parts, "__typename @include(if: $yes)"), " ") + " }"
}

// FuzzFederatedFilter: random valid operations over the demo federation,
// authorized in filter mode for an anonymous caller, must never panic the
// planner or the executor, must always execute, and must never reach a
// subgraph with a field the authorizer removed.
func FuzzFederatedFilter(f *testing.F) {
	set := upstreams.StartAll(f)
	var subs []schema.SubgraphSDL
	routing := map[string]federation.Subgraph{}
	for _, s := range set.Subgraphs() {
		b, err := os.ReadFile(filepath.Join(gatewaytest.Root(f), "configs", "schemas", s.Name+".graphql"))
		if err != nil {
			f.Fatal(err)
		}
		subs = append(subs, schema.SubgraphSDL{Name: s.Name, URL: s.Endpoint, SDL: string(b)})
		routing[s.Name] = federation.Subgraph{URL: s.Endpoint, Client: http.DefaultClient}
	}
	g, err := schema.Compose(subs)
	if err != nil {
		f.Fatal(err)
	}
	az, err := authz.Compile(nil, g, authz.GraphQLConfig{Mode: authz.ModeFilter})
	if err != nil {
		f.Fatal(err)
	}
	an := analysis.NewAnalyzer(g, analysis.CostConfig{ListSize: 10})
	e, err := federation.New(federation.Options{Graph: g, Subgraphs: routing})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(e.Close)
	for _, seed := range []string{"", "\x00\x01\x02\x03", "\x03\x02\x01\x05\x07\x09\x0b", "\x01\x00\x04\x01\x02\x03\x04\x05\x06\x07\x08"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		query := (&opGen{in: in, api: g}).operation()
		rep := an.Analyze(analysis.Request{Query: query, OperationName: "Q"}, analysis.Limits{}, analysis.Access{})
		if !rep.OK() {
			t.Fatalf("generated an invalid operation %s: %v", query, rep.Errors)
		}
		d := az.Authorize(rep, authn.Anonymous(), authz.Request{})
		doc := query
		if !d.Allowed {
			if d.Empty {
				return
			}
			doc = d.Document
		}
		set.ResetAll()
		var buf bytes.Buffer
		if err := e.Execute(context.Background(), federation.Request{Query: doc, OperationName: "Q"}, &buf); err != nil {
			t.Fatalf("executing %s: %v", doc, err)
		}
		for _, removed := range d.Errors {
			field := fmt.Sprint(removed.Path[len(removed.Path)-1])
			for _, s := range set.Subgraphs() {
				for _, r := range s.Recorder.Requests() {
					if strings.Contains(string(r.Body), field) {
						t.Fatalf("%s received the removed field %s: %s\n(operation %s)", s.Name, field, r.Body, query)
					}
				}
			}
		}
	})
}
