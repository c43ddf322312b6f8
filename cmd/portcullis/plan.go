package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/upstream/federation"
)

func init() {
	register(command{name: "plan", summary: "print the federated query plan of one GraphQL operation", run: runPlan})
}

// planOutput is the --json object: the operation and its plan.
type planOutput struct {
	OperationName string          `json:"operationName"`
	OperationType string          `json:"operationType"`
	Plan          json.RawMessage `json:"plan"`
}

func runPlan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("plan", "plan (--schema FILE [--schema FILE]... | -c FILE [--route NAME]) [--query FILE|-] [--variables JSON|@FILE] [--operation NAME] [--json]", stdout, stderr)
	var schemas stringList
	fs.Var(&schemas, "schema", "subgraph or supergraph SDL `file`; several subgraphs are composed")
	cfgFile := fs.String("c", "", "config `file`: plan against a federated route's schema")
	route := fs.String("route", "", "GraphQL route `name` in the config (default: the only one)")
	query := fs.String("query", "-", "operation `file`, or - for standard input")
	variables := fs.String("variables", "", "variables as a JSON object, or @`file`")
	operation := fs.String("operation", "", "operation `name` to plan")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if (len(schemas) == 0) == (*cfgFile == "") || fs.NArg() > 0 || (*route != "" && *cfgFile == "") {
		fmt.Fprintln(stderr, "portcullis plan: give either --schema files or -c with a config (and --route with -c only), and no positional arguments")
		fs.Usage()
		return 2
	}
	g, err := planGraph(schemas, *cfgFile, *route)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis plan: %v\n", err)
		return 1
	}
	req, err := readRequest(*query, *variables, *operation)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis plan: %v\n", err)
		return 1
	}
	// The operation must be valid against the API schema before it is
	// planned, as on the request path; schema owners see full messages.
	rep := analysis.NewAnalyzer(g, analysis.CostConfig{}, analysis.WithCacheSize(0)).
		Analyze(req, analysis.Limits{}, analysis.Access{Introspection: true})
	if !rep.OK() {
		for _, e := range rep.Errors {
			fmt.Fprintf(stderr, "portcullis plan: %s: %s\n", e.Code, e.Message)
		}
		return 1
	}
	qp, err := describe(g, req)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis plan: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(planOutput{OperationName: rep.OperationName, OperationType: rep.OperationType, Plan: qp.Tree}); err != nil {
			fmt.Fprintf(stderr, "portcullis plan: writing output: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(stdout, strings.TrimRight(qp.Text, "\n"))
	return 0
}

func describe(g *schema.Graph, req analysis.Request) (*federation.QueryPlan, error) {
	e, err := federation.PlanOnly(federation.Options{Graph: g, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("building the planner: %w", err)
	}
	defer e.Close()
	vars, err := json.Marshal(req.Variables)
	if err != nil {
		return nil, fmt.Errorf("encoding variables: %w", err)
	}
	if req.Variables == nil {
		vars = nil
	}
	return e.Describe(federation.Request{Query: req.Query, OperationName: req.OperationName, Variables: vars})
}

// planGraph loads the schema from files or from a config's route.
func planGraph(files []string, cfgFile, route string) (*schema.Graph, error) {
	if cfgFile == "" {
		return loadGraph(files)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid config:\n%w", cfgFile, err)
	}
	var found *config.GraphQLRoute
	for i := range cfg.GraphQL {
		r := &cfg.GraphQL[i]
		if r.Name == route || (route == "" && len(cfg.GraphQL) == 1) {
			found = r
		}
	}
	switch {
	case found == nil && route == "":
		return nil, errors.New("the config has several GraphQL routes; choose one with --route")
	case found == nil:
		return nil, fmt.Errorf("no GraphQL route %q in %s", route, cfgFile)
	}
	return schema.Load(context.Background(), found.Schema)
}
