package analysis

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/portcullis-gw/portcullis/schema"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Defaults of the analyzer options.
const (
	DefaultCacheSize     = 1000
	DefaultCacheMaxBytes = 64 << 10
	DefaultWalkBudget    = 20000
	// DefaultCacheBytes bounds the estimated memory of one analyzer's
	// cache (docs/security.md has the measurements behind it).
	DefaultCacheBytes = 8 << 20
	// MaxValidationErrors is how many validation errors a document keeps
	// and reports, as graphql-js's validate stops at its maxErrors (100).
	MaxValidationErrors = 100
)

// Analyzer analyses GraphQL operations against one schema graph with one
// cost configuration. Build it once per graph (nothing is compiled per
// request); it is safe for concurrent use.
type Analyzer struct {
	graph      *schema.Graph
	listSize   int
	cacheSize  int
	cacheBytes int64
	cache      *lru
	maxBytes   int
	budget     int
	rules      *rules.Rules

	hits, misses atomic.Uint64
}

// Option tunes an Analyzer.
type Option func(*Analyzer)

// WithCacheSize bounds the validated-document cache (entries); 0 disables it.
func WithCacheSize(n int) Option { return func(a *Analyzer) { a.cacheSize = n } }

// WithCacheBytes bounds the validated-document cache by the estimated bytes
// its entries hold (default DefaultCacheBytes); 0 disables it.
func WithCacheBytes(n int64) Option { return func(a *Analyzer) { a.cacheBytes = n } }

// WithCacheMaxBytes sets the largest document that is cached. Larger ones
// are token-counted before they are hashed, so a flood is refused after
// max_tokens tokens of lexing, not after hashing megabytes.
func WithCacheMaxBytes(n int) Option { return func(a *Analyzer) { a.maxBytes = n } }

// WithWalkBudget caps the fields one analysis visits, fragments expanded;
// an operation over it is refused as too high (MAX_HEIGHT_LIMIT). Keep it
// above twice the largest max_height of any tier.
func WithWalkBudget(n int) Option { return func(a *Analyzer) { a.budget = n } }

// NewAnalyzer builds the analyzer of graph g.
func NewAnalyzer(g *schema.Graph, cost CostConfig, opts ...Option) *Analyzer {
	a := &Analyzer{
		graph:      g,
		listSize:   cost.ListSize,
		cacheSize:  DefaultCacheSize,
		cacheBytes: DefaultCacheBytes,
		maxBytes:   DefaultCacheMaxBytes,
		budget:     DefaultWalkBudget,
		rules:      rules.NewDefaultRules(),
	}
	if a.listSize <= 0 {
		a.listSize = DefaultListSize
	}
	for _, o := range opts {
		o(a)
	}
	if a.budget <= 0 {
		a.budget = DefaultWalkBudget
	}
	a.cache = newLRU(a.cacheSize, a.cacheBytes)
	return a
}

// CacheStats are the document cache's counters, for metrics. Bytes is the
// estimated memory its entries hold.
type CacheStats struct {
	Hits, Misses uint64
	Entries      int
	Bytes        int64
}

// Stats returns the cache counters.
func (a *Analyzer) Stats() CacheStats {
	n, b := a.cache.stats()
	return CacheStats{Hits: a.hits.Load(), Misses: a.misses.Load(), Entries: n, Bytes: b}
}

// AnalyzeBatch analyses each entry of a batch on its own, after refusing a
// batch over lim.MaxBatch. The error is nil when the batch
// size is allowed.
func (a *Analyzer) AnalyzeBatch(reqs []Request, lim Limits, access Access) ([]*Report, *Error) {
	if err := CheckBatch(len(reqs), lim); err != nil {
		return nil, err
	}
	out := make([]*Report, len(reqs))
	for i, r := range reqs {
		out[i] = a.Analyze(r, lim, access)
	}
	return out, nil
}

// Analyze checks one request, cheapest step first: tokens (before any
// parsing), parse, the selection count (before validation, which it
// bounds), operation selection, validation, then one walk of the selected
// operation with the rule set. Limits left zero take their defaults.
func (a *Analyzer) Analyze(req Request, lim Limits, access Access) *Report {
	lim = effective(lim)
	r := &Report{}
	var e *docEntry
	cacheable := len(req.Query) <= a.maxBytes && a.cache.enabled()
	var key docKey
	if cacheable {
		key = docKey{sum: hashQuery(req.Query), version: a.graph.Version()}
		e = a.cache.get(key)
		if e != nil && e.selOver && e.selections <= lim.MaxSelections {
			// Refused under a lower limit than this request's: count again.
			e = nil
		}
	}
	if e != nil {
		a.hits.Add(1)
		if e.tokens > lim.MaxTokens {
			return tokenReport(r, e.tokens, lim.MaxTokens)
		}
	} else {
		a.misses.Add(1)
		n, over := CountTokens(req.Query, lim.MaxTokens)
		if over {
			return tokenReport(r, n, lim.MaxTokens)
		}
		e = a.load(req.Query, n, lim.MaxSelections)
		if cacheable {
			a.cache.put(key, e, e.size(req.Query))
		}
	}
	r.Tokens = e.tokens
	if e.parseErr != nil {
		r.Errors = parseErrors(e.parseErr)
		return r
	}
	if e.selections > lim.MaxSelections {
		r.Errors = []Error{selectionsError(lim.MaxSelections)}
		return r
	}
	if e.doc == nil {
		// Invalid against the schema: only its operations' names are kept.
		o, err := e.selectName(req.OperationName)
		if err != nil {
			r.Errors = []Error{*err}
			return r
		}
		r.OperationName, r.OperationType = o.name, o.typ
		r.Errors = validationErrors(e.validation, access)
		return r
	}
	r.Document, r.TypeConditions = e.doc, e.conditions
	op, err := selectOperation(e.doc, req.OperationName)
	if err != nil {
		r.Errors = []Error{*err}
		return r
	}
	r.Operation = op
	r.OperationName = op.Name
	r.OperationType = operationType(op)
	vars, verr := validator.VariableValues(a.graph.Schema(), op, req.Variables)
	if verr != nil {
		r.Errors = variableErrors(verr, access)
		return r
	}
	r.Variables = vars

	m := e.measures(op.Name)
	if m == nil {
		m = walk(a.graph, e.doc, op, a.listSize, a.budget, graphQLRules)
		if cacheable && e.keep(op.Name, m) {
			a.cache.grow(key, e, m.size())
		}
	}
	o := m.apply(scorer{graph: a.graph, schema: a.graph.Schema(), vars: vars})
	r.Depth, r.Height, r.Aliases = m.depth, m.height, m.aliases
	r.RootFields, r.Directives = m.rootFields, m.directives
	r.Cost, r.Fields, r.args, r.Introspection = o.cost, m.fields, o.args, m.introspection

	r.Errors = append(r.Errors, limitErrors(m, lim)...)
	r.Errors = append(r.Errors, costError(o.cost, lim.MaxCost)...)
	r.Errors = append(r.Errors, o.errs...)
	if m.introspection && !access.Introspection {
		r.Errors = append(r.Errors, Error{Code: CodeIntrospectionDisabled, Message: "Introspection is not allowed."})
	}
	return r
}

// hashQuery is the SHA-256 of q without the copy []byte(q) would make (as
// large as the document, per request): the hash only reads the bytes.
func hashQuery(q string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(q), len(q)))
}

func operationType(op *ast.OperationDefinition) string {
	if op.Operation == "" {
		return string(ast.Query)
	}
	return string(op.Operation)
}

func tokenReport(r *Report, n, max int) *Report {
	r.Tokens = n
	r.Errors = []Error{{Code: CodeMaxTokens, Message: fmt.Sprintf("Document has more than %d tokens.", max)}}
	return r
}

// load parses, counts the selections and validates a document. gqlparser
// is third-party code on hostile input: a panic in it is turned into a
// refusal, never a crash. What a refused document keeps is only what its
// refusal needs.
func (a *Analyzer) load(q string, tokens, maxSelections int) (e *docEntry) {
	e = &docEntry{tokens: tokens}
	defer func() {
		if p := recover(); p != nil {
			e = &docEntry{tokens: tokens, parseErr: gqlerror.Errorf("The document could not be parsed.")}
		}
	}()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			ge = gqlerror.Errorf("The document could not be parsed.")
		}
		e.parseErr = ge
		return e
	}
	e.selections, e.selOver = countSelections(doc, maxSelections)
	if e.selOver {
		return e
	}
	list := validator.ValidateWithRules(a.graph.Schema(), doc, a.rules)
	if len(list) == 0 {
		e.doc, e.conditions = doc, typeConditions(doc)
		return e
	}
	if len(list) > MaxValidationErrors {
		list = append(list[:MaxValidationErrors:MaxValidationErrors],
			gqlerror.Errorf("Too many validation errors, error limit reached. Validation aborted."))
	}
	e.validation = list
	e.names = make([]opName, len(doc.Operations))
	for i, op := range doc.Operations {
		// A clone: the name is a substring of the document, which the
		// entry must not keep alive.
		e.names[i] = opName{name: strings.Clone(op.Name), typ: operationType(op)}
	}
	return e
}

// typeConditions lists the distinct type conditions of doc's inline
// fragments and fragment definitions, in every operation and fragment (the
// document, not one operation: authorization removes a fragment on a type
// its caller may not see wherever it is), never nil.
func typeConditions(doc *ast.QueryDocument) []string {
	out := []string{}
	add := func(c string) {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	var walk func(set ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				add(s.TypeCondition)
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		add(f.TypeCondition)
		walk(f.SelectionSet)
	}
	return out
}

// selectName is selectOperation for a document kept without its AST.
func (e *docEntry) selectName(name string) (opName, *Error) {
	if name == "" {
		switch len(e.names) {
		case 1:
			return e.names[0], nil
		case 0:
			return opName{}, &Error{Code: CodeValidationFailed, Message: "The document contains no operation."}
		default:
			return opName{}, &Error{Code: CodeValidationFailed, Message: "Must provide operation name if query contains multiple operations."}
		}
	}
	for _, o := range e.names {
		if o.name == name {
			return o, nil
		}
	}
	return opName{}, &Error{Code: CodeValidationFailed, Message: fmt.Sprintf("Unknown operation named %q.", name)}
}

// selectOperation picks the operation named by operationName; without a
// name the document must hold exactly one operation.
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *Error) {
	if name == "" {
		switch len(doc.Operations) {
		case 1:
			return doc.Operations[0], nil
		case 0:
			return nil, &Error{Code: CodeValidationFailed, Message: "The document contains no operation."}
		default:
			return nil, &Error{Code: CodeValidationFailed, Message: "Must provide operation name if query contains multiple operations."}
		}
	}
	if op := doc.Operations.ForName(name); op != nil {
		return op, nil
	}
	return nil, &Error{Code: CodeValidationFailed, Message: fmt.Sprintf("Unknown operation named %q.", name)}
}
