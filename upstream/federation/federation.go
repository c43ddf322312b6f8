// Package federation executes GraphQL operations across the subgraphs of a
// federated graph: it derives the query planner's configuration from the
// composition (schema.Graph), plans each checked operation, caches the
// plans, and runs them over the gateway's own HTTP clients. It is the only
// importer of the execution engine, github.com/wundergraph/graphql-go-tools
// (the engine inside Cosmo Router), so the rest of the gateway sees plain
// requests and answers.
package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/wundergraph/astjson"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astnormalization"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astparser"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astprinter"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/plan"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/postprocess"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/resolve"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/operationreport"

	"github.com/portcullis-gw/portcullis/schema"
)

// DefaultPlanCacheBytes bounds the plan cache when Options leaves it zero.
const DefaultPlanCacheBytes = 32 << 20

// DefaultMaxResponseBytes bounds one subgraph answer read into memory.
const DefaultMaxResponseBytes = 64 << 20

// Subgraph is where and how one subgraph is called.
type Subgraph struct {
	// URL is the routing URL the subgraph serves GraphQL over POST at.
	URL string
	// Client carries the subgraph's transport, TLS and timeout.
	Client *http.Client
}

// Observer is told about plan-cache lookups and subgraph fetches (metrics).
type Observer interface {
	PlanCache(hit bool)
	Fetch(subgraph string, took time.Duration, failed bool)
}

// Options configure an Engine.
type Options struct {
	Graph *schema.Graph
	// Subgraphs maps each subgraph name of Graph to its routing.
	Subgraphs map[string]Subgraph
	// PlanCacheBytes bounds the plan cache (estimated bytes); negative
	// disables it.
	PlanCacheBytes int64
	// MaxResponseBytes bounds each subgraph answer; zero means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	Observer         Observer
	Logger           *slog.Logger
}

// Engine plans and executes operations for one version of a graph. It is
// safe for concurrent use; a new schema version gets a new Engine, so
// in-flight requests finish on the plans of the version they started on.
type Engine struct {
	def      *ast.Document
	cfg      plan.Configuration
	resolver *resolve.Resolver
	cancel   context.CancelFunc
	cache    *planCache
	kits     sync.Pool
	obs      Observer
	log      *slog.Logger
	version  string
}

// New builds the engine for a graph: every subgraph must have a routing URL
// and a client, and the planner configuration must build.
func New(o Options) (*Engine, error) {
	if o.Graph == nil {
		return nil, errors.New("federated execution needs a schema")
	}
	def, err := definition(o.Graph.Schema())
	if err != nil {
		return nil, err
	}
	clients, urls := map[string]*http.Client{}, map[string]string{}
	limit := o.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	for _, s := range o.Graph.Subgraphs() {
		sg, ok := o.Subgraphs[s.Name]
		if !ok || sg.URL == "" || sg.Client == nil {
			return nil, fmt.Errorf("subgraph %q has no routing URL", s.Name)
		}
		c := *sg.Client
		c.Transport = &limitTransport{next: transportOf(sg.Client), limit: limit}
		clients[s.Name], urls[s.Name] = &c, sg.URL
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := plannerConfig(ctx, o.Graph, def, clients, urls)
	if err != nil {
		cancel()
		return nil, err
	}
	obs := o.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	e := &Engine{def: def, cfg: cfg, cancel: cancel, obs: obs, log: log, version: o.Graph.Version(),
		cache: newPlanCache(o.PlanCacheBytes)}
	e.resolver = resolve.New(ctx, resolve.ResolverOptions{
		// Concurrency is bounded in front of the engine (rate limits,
		// server limits); the engine's own default of 32 would queue.
		MaxConcurrency:               4096,
		PropagateSubgraphErrors:      true,
		SubgraphErrorPropagationMode: resolve.SubgraphErrorPropagationModeWrapped,
		RewriteSubgraphErrorPaths:    true,
		OmitSubgraphErrorLocations:   true,
		OmitSubgraphErrorExtensions:  true,
		MaxRecyclableParserSize:      1 << 20,
	})
	e.kits.New = func() any { return newKit() }
	return e, nil
}

// Close releases the engine's background work; in-flight calls finish.
func (e *Engine) Close() { e.cancel() }

// Request is one checked operation to execute.
type Request struct {
	Query         string
	OperationName string
	// Variables is a JSON object (or empty).
	Variables []byte
	// Header is sent on every subgraph call of this request (the gateway's
	// identity headers and X-Request-Id); never the client's headers.
	Header http.Header
}

// kit is the per-call parsing state, pooled.
type kit struct {
	doc    *ast.Document
	parser *astparser.Parser
	// named keeps only the operation named in the request; anonymous is
	// for a request without operationName (its document has one operation,
	// which analysis checked).
	named, anonymous *astnormalization.OperationNormalizer
	hash             *xxhash.Digest
}

func newKit() *kit {
	opts := []astnormalization.Option{
		astnormalization.WithExtractVariables(),
		astnormalization.WithRemoveFragmentDefinitions(),
		astnormalization.WithRemoveUnusedVariables(),
		astnormalization.WithInlineFragmentSpreads(),
	}
	return &kit{doc: ast.NewSmallDocument(), parser: astparser.NewParser(), hash: xxhash.New(),
		anonymous: astnormalization.NewWithOpts(opts...),
		named:     astnormalization.NewWithOpts(append(opts, astnormalization.WithRemoveNotMatchingOperationDefinitions())...)}
}

// normalize parses and normalises the operation with its variables (the
// engine's normal form: fragments inlined, @skip/@include applied, literals
// extracted to variables), leaving the result in k.doc.
func (e *Engine) normalize(k *kit, req Request) error {
	k.doc.Reset()
	k.doc.Input.ResetInputString(req.Query)
	var report operationreport.Report
	k.parser.Parse(k.doc, &report)
	if err := checkReport("parsing the operation", &report); err != nil {
		return err
	}
	vars := req.Variables
	if len(vars) == 0 {
		vars = []byte("{}")
	}
	// A fresh slice: the document's previous variables may share memory
	// with its input buffer, which now holds this request's query.
	k.doc.Input.Variables = slices.Clone(vars)
	if req.OperationName == "" {
		k.anonymous.NormalizeOperation(k.doc, e.def, &report)
	} else {
		k.named.NormalizeNamedOperation(k.doc, e.def, []byte(req.OperationName), &report)
	}
	return checkReport("normalizing the operation", &report)
}

// cached is one planned operation.
type cached struct {
	plan *plan.SynchronousResponsePlan
}

// planFor returns the plan of the normalised operation in k.doc, from the
// cache when it is there.
func (e *Engine) planFor(k *kit, opName string) (*plan.SynchronousResponsePlan, error) {
	k.hash.Reset()
	if err := astprinter.Print(k.doc, k.hash); err != nil {
		return nil, fmt.Errorf("printing the operation: %w", err)
	}
	_, _ = k.hash.WriteString("\x00" + opName)
	key := k.hash.Sum64()
	if c := e.cache.get(key); c != nil {
		e.obs.PlanCache(true)
		return c.plan, nil
	}
	e.obs.PlanCache(false)
	p, err := e.plan(k.doc, opName)
	if err != nil {
		return nil, err
	}
	e.cache.put(key, &cached{plan: p}, planSize(k.doc))
	// The plan keeps slices of the document's buffers (field names,
	// aliases): the document now belongs to the plan, and the kit gets a
	// new one.
	k.doc = ast.NewSmallDocument()
	return p, nil
}

// plan runs the planner and the post-processing on a normalised operation.
func (e *Engine) plan(doc *ast.Document, opName string, opts ...plan.Opts) (p *plan.SynchronousResponsePlan, err error) {
	defer func() {
		// A planner bug on one operation must not take the gateway down.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("planning failed: %v", r)
		}
	}()
	planner, err := plan.NewPlanner(e.cfg)
	if err != nil {
		return nil, fmt.Errorf("building the planner: %w", err)
	}
	var report operationreport.Report
	out := planner.Plan(doc, e.def, opName, &report, opts...)
	if err := checkReport("planning the operation", &report); err != nil {
		return nil, err
	}
	sync, ok := out.(*plan.SynchronousResponsePlan)
	if !ok {
		return nil, errors.New("only queries and mutations are executed in federated mode")
	}
	postprocess.NewProcessor().Process(sync)
	return sync, nil
}

// ErrPlan wraps failures to normalise or plan an operation: the operation,
// not a subgraph, is at fault (the gateway answers 400 or 500, not 502).
var ErrPlan = errors.New("federated planning failed")

// Execute plans (or finds the plan of) the operation and runs it, writing
// the GraphQL answer ({"data":...,"errors":[...]}) to w. Subgraph failures
// are part of the answer (partial data, masked errors), not an error here.
func (e *Engine) Execute(ctx context.Context, req Request, w io.Writer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("federated execution failed: %v", r)
		}
	}()
	k := e.kits.Get().(*kit)
	defer e.kits.Put(k)
	if err := e.normalize(k, req); err != nil {
		return fmt.Errorf("%w: %v", ErrPlan, err)
	}
	// The normalised variables: the request's, with defaults and the
	// literals normalisation extracted.
	vars := k.doc.Input.Variables
	p, err := e.planFor(k, req.OperationName)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPlan, err)
	}
	rctx := resolve.NewContext(ctx)
	if rctx.Variables, err = astjson.ParseBytes(vars); err != nil {
		return fmt.Errorf("%w: variables: %v", ErrPlan, err)
	}
	rctx.SubgraphHeadersBuilder = newHeaders(req.Header)
	rctx.SetEngineLoaderHooks(hooks{e: e})
	_, err = e.resolver.ResolveGraphQLResponse(rctx, p.Response, nil, w)
	return err
}

// headers gives every subgraph call of a request its own copy of the
// request's outbound headers (the HTTP client adds to the map it gets).
type headers struct {
	h    http.Header
	hash uint64
}

func newHeaders(h http.Header) *headers {
	// The hash keys deduplication of identical fetches: the request ID in
	// h makes it unique per client request, so two clients' fetches are
	// never merged.
	d := xxhash.New()
	for _, k := range slices.Sorted(maps.Keys(h)) {
		_, _ = d.WriteString(k)
		for _, v := range h[k] {
			_, _ = d.WriteString("\x00" + v)
		}
		_, _ = d.WriteString("\x01")
	}
	return &headers{h: h, hash: d.Sum64()}
}

func (h *headers) HeadersForSubgraph(string) (http.Header, uint64) {
	out := h.h.Clone()
	if out == nil {
		out = http.Header{}
	}
	return out, h.hash
}

func (h *headers) HashAll() uint64 { return h.hash }

type startKey struct{}

// hooks time each subgraph fetch and log failures with their cause (the
// client sees only the masked message).
type hooks struct{ e *Engine }

func (h hooks) OnLoad(ctx context.Context, _ resolve.DataSourceInfo) context.Context {
	return context.WithValue(ctx, startKey{}, time.Now())
}

func (h hooks) OnFinished(ctx context.Context, ds resolve.DataSourceInfo, info *resolve.ResponseInfo) {
	start, _ := ctx.Value(startKey{}).(time.Time)
	failed := info == nil || info.Err != nil || info.StatusCode >= 300
	h.e.obs.Fetch(ds.Name, time.Since(start), failed)
	if !failed {
		return
	}
	attrs := []any{"subgraph", ds.Name}
	if info == nil {
		h.e.log.Warn("subgraph fetch failed", append(attrs, "error", "no response")...)
		return
	}
	attrs = append(attrs, "status", info.StatusCode)
	if info.Err != nil {
		attrs = append(attrs, "error", info.Err.Error())
	}
	if msgs := subgraphErrors(info.GetResponseBody()); msgs != "" {
		attrs = append(attrs, "subgraph_errors", msgs)
	}
	h.e.log.Warn("subgraph fetch failed", attrs...)
}

// maxLoggedBody bounds the subgraph answer read for its error messages.
const maxLoggedBody = 64 << 10

// subgraphErrors joins the messages of a subgraph answer's errors (the
// cause the client does not see), bounded for the log.
func subgraphErrors(body string) string {
	if body == "" || len(body) > maxLoggedBody {
		return ""
	}
	var out struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &out) != nil {
		return ""
	}
	msgs := make([]string, 0, len(out.Errors))
	for _, e := range out.Errors {
		msgs = append(msgs, e.Message)
	}
	joined := strings.Join(msgs, "; ")
	if len(joined) > 1024 {
		joined = joined[:1024] + "..."
	}
	return joined
}

type nopObserver struct{}

func (nopObserver) PlanCache(bool)                    {}
func (nopObserver) Fetch(string, time.Duration, bool) {}

// CacheStats reports the plan cache's entries and estimated bytes.
func (e *Engine) CacheStats() (entries int, bytes int64) { return e.cache.stats() }
