package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/schema"
)

func init() {
	register(command{name: "analyze", summary: "analyse one GraphQL operation: limits, cost, fields, requirements", run: runAnalyze})
}

// stdin is replaceable so the command can be tested.
var stdin io.Reader = os.Stdin

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// analyzeOutput is the --json object of the docs/ pages
type analyzeOutput struct {
	OperationName string           `json:"operationName"`
	OperationType string           `json:"operationType"`
	Depth         int              `json:"depth"`
	Height        int              `json:"height"`
	Aliases       int              `json:"aliases"`
	RootFields    int              `json:"rootFields"`
	Directives    int              `json:"directives"`
	Tokens        int              `json:"tokens"`
	Cost          float64          `json:"cost"`
	Fields        []string         `json:"fields"`
	Requirements  []requirementOut `json:"requirements"`
	Errors        []errorOut       `json:"errors"`
}

type requirementOut struct {
	Coordinate    string     `json:"coordinate"`
	Authenticated bool       `json:"authenticated"`
	Scopes        [][]string `json:"scopes"`
	Policies      [][]string `json:"policies"`
}

type errorOut struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

func runAnalyze(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("analyze", "analyze --schema FILE [--schema FILE]... [--query FILE|-] [--variables JSON|@FILE] [--operation NAME] [--list-size N] [--json]", stdout, stderr)
	var schemas stringList
	fs.Var(&schemas, "schema", "subgraph, supergraph or plain schema SDL `file`; several subgraphs are composed")
	query := fs.String("query", "-", "operation `file`, or - for standard input")
	variables := fs.String("variables", "", "variables as a JSON object, or @`file`")
	operation := fs.String("operation", "", "operation `name` to analyse")
	listSize := fs.Int("list-size", analysis.DefaultListSize, "assumed size of lists without @listSize")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if len(schemas) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "portcullis analyze: at least one --schema and no positional arguments are required")
		fs.Usage()
		return 2
	}
	g, err := loadGraph(schemas)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis analyze: %v\n", err)
		return 1
	}
	req, err := readRequest(*query, *variables, *operation)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis analyze: %v\n", err)
		return 1
	}
	// Schema owners see everything: full validation messages.
	a := analysis.NewAnalyzer(g, analysis.CostConfig{ListSize: *listSize}, analysis.WithCacheSize(0))
	rep := a.Analyze(req, analysis.DefaultLimits, analysis.Access{Introspection: true})
	out := summarize(g, rep)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "portcullis analyze: writing output: %v\n", err)
			return 1
		}
	} else {
		printTable(stdout, out)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

func loadGraph(files []string) (*schema.Graph, error) {
	subs := make([]schema.SubgraphSDL, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading schema: %w", err)
		}
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		subs = append(subs, schema.SubgraphSDL{Name: name, SDL: string(b)})
	}
	if len(subs) == 1 {
		g, err := schema.ParseSDL(subs[0].Name, subs[0].SDL)
		if err != nil {
			return nil, fmt.Errorf("loading schema %q: %w", files[0], err)
		}
		return g, nil
	}
	g, err := schema.Compose(subs)
	if err != nil {
		return nil, fmt.Errorf("composing schemas: %w", err)
	}
	return g, nil
}

func readRequest(query, variables, operation string) (analysis.Request, error) {
	req := analysis.Request{OperationName: operation}
	var b []byte
	var err error
	if query == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(query)
	}
	if err != nil {
		return req, fmt.Errorf("reading query: %w", err)
	}
	req.Query = string(b)
	if variables != "" {
		raw := []byte(variables)
		if strings.HasPrefix(variables, "@") {
			if raw, err = os.ReadFile(variables[1:]); err != nil {
				return req, fmt.Errorf("reading variables: %w", err)
			}
		}
		if err := json.Unmarshal(raw, &req.Variables); err != nil {
			return req, fmt.Errorf("decoding variables: %w", err)
		}
	}
	return req, nil
}

func summarize(g *schema.Graph, r *analysis.Report) analyzeOutput {
	out := analyzeOutput{
		OperationName: r.OperationName,
		OperationType: r.OperationType,
		Depth:         r.Depth,
		Height:        r.Height,
		Aliases:       r.Aliases,
		RootFields:    r.RootFields,
		Directives:    r.Directives,
		Tokens:        r.Tokens,
		Cost:          r.Cost,
		Fields:        []string{},
		Requirements:  []requirementOut{},
		Errors:        []errorOut{},
	}
	returns := map[string]string{}
	for _, f := range r.Fields {
		if _, ok := returns[f.Coordinate]; !ok {
			out.Fields = append(out.Fields, f.Coordinate)
		}
		returns[f.Coordinate] = f.ReturnType
	}
	slices.Sort(out.Fields)
	for _, c := range out.Fields {
		out.Requirements = append(out.Requirements, requirementsOf(g, c, returns[c]))
	}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, errorOut{Message: e.Message, Code: e.Code})
	}
	return out
}

// requirementsOf is a field's own requirements AND its return type's
// .
func requirementsOf(g *schema.Graph, coordinate, returnType string) requirementOut {
	var own, typ schema.Requirements
	if typeName, field, ok := strings.Cut(coordinate, "."); ok {
		if m := g.Field(typeName, field); m != nil {
			own = m.Requirements
		}
	}
	if t := g.Type(returnType); t != nil {
		typ = t.Requirements
	}
	req := own.And(typ)
	// Empty lists print as [], not null, in the --json output.
	return requirementOut{
		Coordinate:    coordinate,
		Authenticated: req.Authenticated,
		Scopes:        orEmpty(req.Scopes),
		Policies:      orEmpty(req.Policies),
	}
}

func orEmpty(c [][]string) [][]string {
	if c == nil {
		return [][]string{}
	}
	return c
}

func printTable(w io.Writer, o analyzeOutput) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	name := o.OperationName
	if name == "" {
		name = "(anonymous)"
	}
	rows := [][2]string{
		{"operation", name + " (" + o.OperationType + ")"},
		{"depth", strconv.Itoa(o.Depth)},
		{"height", strconv.Itoa(o.Height)},
		{"aliases", strconv.Itoa(o.Aliases)},
		{"root fields", strconv.Itoa(o.RootFields)},
		{"directives", strconv.Itoa(o.Directives)},
		{"tokens", strconv.Itoa(o.Tokens)},
		{"cost", strconv.FormatFloat(o.Cost, 'f', -1, 64)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	tw.Flush()
	if len(o.Requirements) > 0 {
		fmt.Fprintln(w, "\nfields:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range o.Requirements {
			var req []string
			if r.Authenticated {
				req = append(req, "authenticated")
			}
			if len(r.Scopes) > 0 {
				req = append(req, "scopes "+clauses(r.Scopes))
			}
			if len(r.Policies) > 0 {
				req = append(req, "policies "+clauses(r.Policies))
			}
			fmt.Fprintf(tw, "  %s\t%s\n", r.Coordinate, strings.Join(req, ", "))
		}
		tw.Flush()
	}
	if len(o.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range o.Errors {
			fmt.Fprintf(w, "  %s: %s\n", e.Code, e.Message)
		}
	} else {
		fmt.Fprintln(w, "\nvalid")
	}
}

func clauses(c [][]string) string {
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = strings.Join(x, " AND ")
	}
	return strings.Join(parts, " OR ")
}

var _ flag.Value = (*stringList)(nil)
