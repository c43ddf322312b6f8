package resthttp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/upstream"
)

// request is one REST request on its way through the door: each stage
// reads what the stages before it found and adds its own finding.
type request struct {
	rt *Route
	w  http.ResponseWriter
	r  *http.Request
	ex *pipeline.Exchange

	id      authn.Identity    // identity
	subj    ratelimit.Subject // identity: who pays
	escaped string            // match: the raw (escaped) path
	rest    string            // match: the path below the prefix
	op      *rest.Operation   // match
	body    []byte            // body
	charged pipeline.Charged  // rate limit
	// coordHeaders are the operation limit's RateLimit pair (governance.go).
	coordHeaders []ratelimit.HeaderField
}

// requests recycles request values: one per request would be the front
// door's largest allocation (make bench).
var requests = sync.Pool{New: func() any { return new(request) }}

// done ends the request: the concurrency slot goes back, and the request
// value, cleared so it holds nothing of this request, to the pool. Nothing
// keeps q past Serve: the answer plan has run by the time Send returns.
func (q *request) done() {
	q.charged.Done()
	*q = request{}
	requests.Put(q)
}

// stages are the REST door's checks in request order, cheapest first:
// identity, then match (404/405/400), body size, parameters and body,
// security requirements (401/403), policy, rate limit
// (docs/architecture.md). A new check is one more line here.
var stages = []pipeline.Stage[*request]{
	{Name: "identity", Run: (*request).stageIdentity, Span: "portcullis.identity"},
	{Name: "match", Run: (*request).stageMatch},
	{Name: "body", Run: (*request).stageBody},
	{Name: "validation", Run: (*request).stageValidation, Span: "portcullis.validation"},
	{Name: "security", Run: (*request).stageSecurity, Span: "portcullis.authorization"},
	{Name: "policy", Run: (*request).stagePolicy, Span: "portcullis.policy"},
	{Name: "external authorization", Run: (*request).stageExternal},
	{Name: "operation limit", Run: (*request).stageOperationLimit},
	{Name: "rate limit", Run: (*request).stageRateLimit, Span: "portcullis.rate_limit"},
}

// Serve runs the stages, then forwards the checked request and applies the
// answer plan to what comes back. ex is the request's Exchange.
func (rt *Route) Serve(w http.ResponseWriter, r *http.Request, ex *pipeline.Exchange) {
	q := requests.Get().(*request)
	*q = request{rt: rt, w: w, r: r, ex: ex}
	defer q.done()
	ex.Facts.RouteTemplate = rt.cfg.Prefix
	if ref := pipeline.RunTraced(rt.shared.Tracer, r.Context(), stages, q); ref != nil {
		Render(w, rt.shared.Settle(r, ex, q.subj, ref, "rest_refused"))
		return
	}
	rt.forward(q)
}

func (q *request) stageIdentity() (ref *pipeline.Refusal) {
	q.id, q.subj, ref = q.rt.shared.Caller(q.r, q.ex)
	return ref
}

func (q *request) stageMatch() *pipeline.Refusal {
	q.escaped = q.r.URL.EscapedPath()
	q.rest = strings.TrimPrefix(q.escaped, q.rt.prefix)
	if q.rest == "" {
		q.rest = "/"
	}
	op, fail := q.rt.api.Match(q.r.Method, q.rest)
	if fail != nil {
		return fromFailure(fail)
	}
	q.op = op
	q.ex.Facts.OperationID = op.ID()
	q.ex.Facts.RouteTemplate = q.rt.prefix + op.Template
	return nil
}

func (q *request) stageBody() (ref *pipeline.Refusal) {
	q.body, ref = pipeline.ReadBody(q.r, q.rt.maxBody)
	return ref
}

func (q *request) stageValidation() *pipeline.Refusal {
	if fail := q.rt.api.Validate(q.op, q.r, q.body); fail != nil {
		return fromFailure(fail)
	}
	return nil
}

func (q *request) stageSecurity() *pipeline.Refusal {
	fail := q.rt.api.Security(q.op, callerOf(q.id, q.ex.PeerSubject != ""))
	if fail == nil {
		return nil
	}
	ref := fromFailure(fail)
	if fail.Status == http.StatusUnauthorized {
		ref.WithHeader("WWW-Authenticate", `Bearer realm="portcullis"`)
	}
	return ref
}

func callerOf(id authn.Identity, clientCert bool) rest.Caller {
	return rest.Caller{Authenticated: !id.IsAnonymous(), Kind: id.Kind, Scopes: id.Scopes, APIKeyName: id.APIKeyName, ClientCert: clientCert}
}

// stagePolicy evaluates the operation's CEL policy, if it has one, with the
// path parameters, the query and the decoded JSON body.
func (q *request) stagePolicy() *pipeline.Refusal {
	opID := q.op.ID()
	if !q.rt.policyOps[opID] {
		return nil
	}
	params := make(map[string]string, len(q.op.PathParams))
	for k, v := range q.op.PathParams {
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		params[k] = v
	}
	var decoded any
	if len(q.body) > 0 {
		// Validation read a JSON body with the strict reader, which admits
		// only bodies encoding/json reads to the same values (finite
		// numbers, no duplicates, valid UTF-8): this is the checked reading.
		_ = json.Unmarshal(q.body, &decoded)
	}
	req := pipeline.PolicyRequest(q.r, q.ex.ClientIP, q.rt.policyHeaders)
	allowed, err := q.rt.policies.Allow(opID, q.id, req, params, q.r.URL.Query(), decoded)
	if err != nil {
		q.rt.shared.Log.Warn("policy evaluation failed; denying", "request_id", q.ex.ID, "operation", opID, "error", err.Error())
	}
	if allowed && err == nil {
		return nil
	}
	return pipeline.Refuse(errcode.Forbidden, "this operation is not allowed for this caller")
}

func (q *request) stageRateLimit() (ref *pipeline.Refusal) {
	q.charged, ref = q.rt.shared.Charge(q.r.Context(), q.ex, q.subj, q.rt.api.Cost(q.op))
	return ref
}

// forward sends exactly what was checked upstream, with the answer plan.
func (rt *Route) forward(q *request) {
	// The path goes upstream exactly as matched: the raw (escaped) form,
	// which the match has proven has no separators in disguise.
	path := q.escaped
	if rt.cfg.StripPrefix {
		path = q.rest
	}
	out := upstream.Outbound{
		Path:     path,
		RawQuery: q.r.URL.RawQuery,
		Body:     q.body,
		ClientIP: q.ex.ClientIP,
		Header:   http.Header{echo.HeaderXRequestID: {q.ex.ID}},
		// GET and HEAD, or marked x-portcullis-idempotent in the document.
		Idempotent: q.rt.api.Idempotent(q.op),
	}
	out.StripHeaders = rt.shared.Forward.Apply(out.Header, q.id, rt.cfg.ForwardAuthorization)
	pipeline.AddCoordinateHeaders(q.ex, q.coordHeaders)
	plan := rt.planAnswer(q)
	out.Answer = func(resp *http.Response) error {
		// A 5xx body is the back end's, never the client's to read; the
		// replacement is the gateway's, so it is not validated.
		if rt.maskServerError(resp, q.ex.ID) || plan == nil {
			return nil
		}
		return plan.apply(resp)
	}
	if plan != nil {
		// Validating the answer needs it uncompressed.
		out.StripHeaders = append(out.StripHeaders, "Accept-Encoding")
	}
	q.ex.Allowed()
	if f := rt.shared.Send(rt.proxy, rt.upstream, q.w, q.r, out); f != nil {
		Render(q.w, rt.shared.UpstreamFailed(q.ex, f))
		return
	}
	if plan != nil && plan.replaced != "" {
		q.ex.Failed(plan.replaced)
	}
}
