package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/plan"
)

// QueryPlan is an operation's plan as schema owners read it: which
// subgraph receives which selection, in what order (Sequence) or together
// (Parallel), at what path of the answer.
type QueryPlan struct {
	// Text is the plan in Apollo's QueryPlan { ... } notation.
	Text string
	// Tree is the same plan as JSON (the engine's fetch tree).
	Tree json.RawMessage
}

// Describe plans an operation without running it. The operation is
// normalised with its variables, as on the request path.
func (e *Engine) Describe(req Request) (*QueryPlan, error) {
	k := e.kits.Get().(*kit)
	defer e.kits.Put(k)
	if err := e.normalize(k, req); err != nil {
		return nil, err
	}
	doc := k.doc
	// The plan keeps slices of the document: the kit gets a new one.
	k.doc = ast.NewSmallDocument()
	p, err := e.plan(doc, req.OperationName, plan.IncludeQueryPlanInResponse())
	if err != nil {
		return nil, err
	}
	node := p.Response.Fetches.QueryPlan()
	if node == nil {
		return &QueryPlan{Text: "QueryPlan {\n}\n", Tree: json.RawMessage("null")}, nil
	}
	tree, err := json.Marshal(node)
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	return &QueryPlan{Text: node.PrettyPrint(), Tree: tree}, nil
}

// PlanOnly builds an engine that plans but never calls a subgraph, for
// `portcullis plan`: subgraphs without a routing URL get a placeholder.
func PlanOnly(o Options) (*Engine, error) {
	if o.Graph == nil {
		return nil, errors.New("planning needs a schema")
	}
	o.Subgraphs = map[string]Subgraph{}
	refuse := &http.Client{Transport: refuseTransport{}}
	for _, s := range o.Graph.Subgraphs() {
		url := s.URL
		if url == "" {
			url = "http://" + s.Name + ".invalid/"
		}
		o.Subgraphs[s.Name] = Subgraph{URL: url, Client: refuse}
	}
	o.PlanCacheBytes = -1
	return New(o)
}

type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("this engine only plans")
}
