// Package rest checks REST requests against an OpenAPI document: the
// positive model (only documented operations pass), path safety, parameter
// and body validation, security requirements, cost, and responses.
// It never writes HTTP: each refusal is a Failure the gateway renders as
// application/problem+json (RFC 9457).
package rest

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/portcullis-gw/portcullis/schema/openapi"
)

// Failure codes, as the problem's `code` member.
const (
	CodeNotFound          = "NOT_FOUND"
	CodeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	CodeUnsafePath        = "UNSAFE_PATH"
	CodeValidation        = "VALIDATION_FAILED"
	CodeUnsupportedMedia  = "UNSUPPORTED_MEDIA_TYPE"
	CodeUnauthenticated   = "UNAUTHENTICATED"
	CodeForbidden         = "FORBIDDEN"
	CodeInvalidResponse   = "RESPONSE_VALIDATION_FAILED"
	defaultMaxJSONDepth   = 64
	defaultMaxFormFields  = 1000
	costExtension         = "x-portcullis-cost"
	idempotentExtension   = "x-portcullis-idempotent"
	problemTitleBadReq    = "Bad Request"
	problemTitleBadGatewy = "Bad Gateway"
)

// FieldError is one reason a request (or response) was refused: a JSON
// pointer into the request (/path/id, /query/limit, /header/X-Key,
// /cookie/session, /body/items/0/qty) and what is wrong there.
type FieldError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// Failure is a refusal; the gateway renders it as problem+json.
type Failure struct {
	Status int
	Code   string
	Title  string
	Detail string
	Allow  []string     // for 405: the documented methods, sorted
	Errors []FieldError // for validation failures
}

// Caller is the part of the gateway's identity that security requirements
// need; the gateway fills it from policy/authn's Identity (this package may
// not import policy).
type Caller struct {
	Authenticated bool
	// Kind is how the caller authenticated: KindToken, KindAPIKey,
	// KindClientCert, or anything else (which satisfies no scheme).
	Kind       string
	Scopes     []string
	APIKeyName string
	// ClientCert is true when the connection presented a client
	// certificate verified against the gateway's client CA, whatever
	// credential the request carries besides.
	ClientCert bool
}

// Caller kinds, as policy/authn names its identity kinds.
const (
	KindToken      = "jwt"
	KindAPIKey     = "api_key"
	KindClientCert = "mtls"
)

// Options tune a Route. The zero value is the safe default.
type Options struct {
	// AllowUnknownQuery lets query parameters the operation does not document
	// through; by default they are refused (parameter pollution).
	AllowUnknownQuery bool
	// DefaultCost is charged for operations without x-portcullis-cost; 0 means 1.
	DefaultCost int
	// MaxJSONDepth bounds body nesting; 0 means 64.
	MaxJSONDepth int
	// AllowCaseCollidingKeys lets JSON objects hold member names that differ
	// only in case ("userId" and "UserId"); by default they are refused,
	// since a back end matching names case-insensitively (Go structs,
	// Jackson) may read the one that was not checked.
	AllowCaseCollidingKeys bool
}

// Route is one OpenAPI document compiled for matching and validation. It is
// immutable and safe for concurrent use.
type Route struct {
	doc   *openapi.Document
	base  []string // base path segments
	opts  Options
	paths []*pathEntry
	costs map[*openapi.Operation]int
	idem  map[*openapi.Operation]bool
	ops   map[*openapi.Operation]*opInfo
	// ptrs are the parameters' JSON pointers in errors (/query/limit),
	// built once rather than per request.
	ptrs     map[*openapi.Parameter]string
	maxDepth int
}

// Operation is one matched request: the documented operation and the path
// parameters' raw (still escaped) values.
type Operation struct {
	Spec       *openapi.Operation
	Template   string            // the document's path, e.g. /orders/{id}
	PathParams map[string]string // raw, percent-encoded values
}

// ID is the operation's operationId.
func (o *Operation) ID() string { return o.Spec.ID }

type opInfo struct {
	query      map[string]*openapi.Parameter // known query keys (deepObject and exploded objects add their keys)
	deepObject []*openapi.Parameter
}

// New compiles doc for matching under opts.
func New(doc *openapi.Document, opts Options) (*Route, error) {
	if doc == nil {
		return nil, fmt.Errorf("compiling REST route: no document")
	}
	r := &Route{doc: doc, opts: opts, costs: map[*openapi.Operation]int{}, idem: map[*openapi.Operation]bool{}, ops: map[*openapi.Operation]*opInfo{},
		ptrs: map[*openapi.Parameter]string{}, maxDepth: opts.MaxJSONDepth}
	if r.maxDepth <= 0 {
		r.maxDepth = defaultMaxJSONDepth
	}
	def := opts.DefaultCost
	if def <= 0 {
		def = 1
	}
	if b := doc.BasePath(); b != "" {
		r.base = strings.Split(strings.TrimPrefix(b, "/"), "/")
	}
	var problems []string
	byTemplate := map[string]*pathEntry{}
	for _, op := range doc.Operations() {
		e := byTemplate[op.Path]
		if e == nil {
			segs, err := parseTemplate(op.Path)
			if err != nil {
				problems = append(problems, fmt.Sprintf("paths.%s: %v", op.Path, err))
				continue
			}
			e = &pathEntry{template: op.Path, segs: segs, ops: map[string]*openapi.Operation{}}
			byTemplate[op.Path] = e
			r.paths = append(r.paths, e)
		}
		e.ops[op.Method] = op
		e.allow = append(e.allow, op.Method)
		cost, err := costOf(op, def)
		if err != nil {
			problems = append(problems, fmt.Sprintf("paths.%s.%s.%s: %v", op.Path, strings.ToLower(op.Method), costExtension, err))
		}
		r.costs[op] = cost
		idem, err := idempotentOf(op)
		if err != nil {
			problems = append(problems, fmt.Sprintf("paths.%s.%s.%s: %v", op.Path, strings.ToLower(op.Method), idempotentExtension, err))
		}
		r.idem[op] = idem
		r.ops[op] = newOpInfo(op)
		for _, p := range op.Parameters {
			r.ptrs[p] = pointer("/"+p.In, p.Name)
		}
	}
	for _, e := range r.paths {
		sort.Strings(e.allow)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("compiling REST route for %q: %s", doc.File(), strings.Join(problems, "; "))
	}
	return r, nil
}

// idempotentOf: GET and HEAD are safe methods (RFC 9110 section 9.2.1) and
// so idempotent; any other operation is only when its document says
// x-portcullis-idempotent: true, and a GET with side effects can say false.
// PUT and DELETE are idempotent by the RFC, but back ends too often act on
// them twice for the gateway to assume it.
func idempotentOf(op *openapi.Operation) (bool, error) {
	def := op.Method == "GET" || op.Method == "HEAD"
	v, ok := op.Extensions[idempotentExtension]
	if !ok {
		return def, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return def, fmt.Errorf("must be true or false, got %v", v)
	}
	return b, nil
}

// Idempotent reports whether a request for op may safely reach the back end
// twice, so the gateway may retry it after a timeout or a 502/503.
func (r *Route) Idempotent(op *Operation) bool {
	if op == nil {
		return false
	}
	return r.idem[op.Spec]
}

func costOf(op *openapi.Operation, def int) (int, error) {
	v, ok := op.Extensions[costExtension]
	if !ok {
		return def, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case uint64:
		f = float64(n)
	default:
		return def, fmt.Errorf("must be a non-negative integer, got %v", v)
	}
	if f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return def, fmt.Errorf("must be a non-negative integer, got %v", v)
	}
	return int(f), nil
}

func newOpInfo(op *openapi.Operation) *opInfo {
	info := &opInfo{query: map[string]*openapi.Parameter{}}
	for _, p := range op.Parameters {
		if p.In != "query" {
			continue
		}
		info.query[p.Name] = p
		if p.Style == "deepObject" {
			info.deepObject = append(info.deepObject, p)
		}
		// An exploded form object spreads its properties as top-level keys.
		if p.Style == "form" && p.Explode && p.Schema != nil && p.Schema.Shape.Is("object") {
			for name := range p.Schema.Shape.Properties {
				if _, taken := info.query[name]; !taken {
					info.query[name] = p
				}
			}
		}
	}
	return info
}

// Cost is what a request for op is charged: x-portcullis-cost or the default.
func (r *Route) Cost(op *Operation) int {
	if op == nil {
		return 0
	}
	return r.costs[op.Spec]
}

// Document is the document the route was built from.
func (r *Route) Document() *openapi.Document { return r.doc }

func validationFailure(errs []FieldError) *Failure {
	return &Failure{Status: 400, Code: CodeValidation, Title: problemTitleBadReq,
		Detail: "the request does not match the API description", Errors: errs}
}

// pointer builds a JSON pointer (RFC 6901) from a prefix and tokens.
// paramPointer is where p sits in the request: /query/limit.
func (r *Route) paramPointer(p *openapi.Parameter) string {
	if s, ok := r.ptrs[p]; ok {
		return s
	}
	return pointer("/"+p.In, p.Name)
}

func pointer(prefix string, tokens ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
