package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/schema/openapi"
	"github.com/portcullis-gw/portcullis/upstream"
)

// restRoute is one REST prefix guarded by its OpenAPI document, compiled at
// load.
type restRoute struct {
	cfg      *config.RESTRoute
	prefix   string
	proxy    *upstream.Proxy
	maxBody  int64
	api      *rest.Route
	policies *authz.RESTAuthorizer
	// policyOps are the operationIds with a policy: only their bodies are
	// decoded for CEL.
	policyOps     map[string]bool
	policyHeaders bool
}

func (g *Gateway) newRESTRoute(c *config.RESTRoute, cfg *config.Config) (*restRoute, error) {
	doc, err := openapi.Load(c.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("loading OpenAPI document: %w", err)
	}
	api, err := rest.New(doc, rest.Options{AllowUnknownQuery: c.AllowUnknownQuery, DefaultCost: c.DefaultCost, AllowCaseCollidingKeys: c.AllowCaseCollidingKeys})
	if err != nil {
		return nil, fmt.Errorf("compiling OpenAPI document: %w", err)
	}
	known := map[string]bool{}
	for _, op := range doc.Operations() {
		known[op.ID] = true
	}
	var unknown []string
	for id := range c.OperationPolicies {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("operation_policies: no operationId %s in %s", strings.Join(unknown, ", "), c.OpenAPI)
	}
	pol, err := authz.CompileREST(cfg.Policies, c.OperationPolicies)
	if err != nil {
		return nil, fmt.Errorf("compiling operation policies: %w", err)
	}
	p, err := g.newProxy(c.Name, c.Upstream, protoREST)
	if err != nil {
		return nil, err
	}
	rt := &restRoute{
		cfg:       c,
		prefix:    strings.TrimSuffix(c.Prefix, "/"),
		proxy:     p,
		maxBody:   cfg.Server.MaxBodyBytes,
		api:       api,
		policies:  pol,
		policyOps: map[string]bool{},
		// Only the policies these operations use matter here.
		policyHeaders: policiesReadHeaders(cfg.Policies),
	}
	for id := range c.OperationPolicies {
		rt.policyOps[id] = true
	}
	if c.ValidateResponses == "report" || c.ValidateResponses == "enforce" {
		p.OnResponse = g.validateResponse(rt)
	}
	return rt, nil
}

// serve checks a REST request against its operation, cheapest first: match
// (404/405/400) -> body size -> parameters and body -> security (401/403) ->
// policy -> rate limit -> forward.
func (rt *restRoute) serve(g *Gateway, c echo.Context, st *reqState, tbl *routeTable) {
	r := c.Request()
	w := c.Response()
	id, ok := g.identify(c, st, tbl)
	if !ok {
		return
	}
	subj := tbl.subjectOf(id, st.clientAddr)
	escaped := r.URL.EscapedPath()
	rest := strings.TrimPrefix(escaped, rt.prefix)
	if rest == "" {
		rest = "/"
	}
	op, fail := rt.api.Match(r.Method, rest)
	if fail != nil {
		if len(fail.Allow) > 0 {
			w.Header().Set("Allow", strings.Join(fail.Allow, ", "))
		}
		g.refuseREST(c, st, tbl, subj, problemOf(fail))
		return
	}
	body, err := readBody(r, rt.maxBody)
	if err != nil {
		status, code, msg := http.StatusBadRequest, CodeBadRequest, "reading request body failed"
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status, code, msg = http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large"
		}
		g.refuseREST(c, st, tbl, subj, newProblem(status, code, msg))
		return
	}
	if fail := rt.api.Validate(op, r, body); fail != nil {
		g.refuseREST(c, st, tbl, subj, problemOf(fail))
		return
	}
	if fail := rt.api.Security(op, callerOf(id, st.peerSubject != "")); fail != nil {
		if fail.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis"`)
		}
		g.refuseREST(c, st, tbl, subj, problemOf(fail))
		return
	}
	if opID := op.ID(); rt.policyOps[opID] {
		if p := rt.checkPolicy(g, st, op, id, r, body); p != nil {
			g.refuseREST(c, st, tbl, subj, *p)
			return
		}
	}
	release, _, ok := g.charge(c, st, tbl, subj, rt.api.Cost(op))
	if !ok {
		return
	}
	defer release()

	// The path goes upstream exactly as matched: the raw (escaped) form,
	// which the match has proven has no separators in disguise.
	path := escaped
	if rt.cfg.StripPrefix {
		path = rest
	}
	out := upstream.Outbound{
		Path:     path,
		RawQuery: r.URL.RawQuery,
		Body:     body,
		ClientIP: st.clientIP,
		Header:   http.Header{echo.HeaderXRequestID: {st.id}},
		// GET and HEAD, or marked x-portcullis-idempotent in the document.
		Idempotent: rt.api.Idempotent(op),
	}
	out.StripHeaders = tbl.fwd.apply(out.Header, id, rt.cfg.ForwardAuthorization)
	if rt.proxy.OnResponse != nil {
		st.restOp = op
		// Validating the answer needs it uncompressed.
		out.StripHeaders = append(out.StripHeaders, "Accept-Encoding")
	}
	st.decision = "allow"
	rt.proxy.Forward(w, r, out)
}

// checkPolicy evaluates the operation's CEL policy with the path
// parameters, the query and the decoded JSON body.
func (rt *restRoute) checkPolicy(g *Gateway, st *reqState, op *rest.Operation, id authn.Identity, r *http.Request, body []byte) *Problem {
	params := make(map[string]string, len(op.PathParams))
	for k, v := range op.PathParams {
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		params[k] = v
	}
	var decoded any
	if len(body) > 0 {
		// Validation read a JSON body with the strict reader, which admits
		// only bodies encoding/json reads to the same values (finite
		// numbers, no duplicates, valid UTF-8): this is the checked reading.
		_ = json.Unmarshal(body, &decoded)
	}
	allowed, err := rt.policies.Allow(op.ID(), id, policyRequest(r, st.clientIP, rt.policyHeaders), params, r.URL.Query(), decoded)
	if err != nil {
		g.log.Warn("policy evaluation failed; denying", "request_id", st.id, "operation", op.ID(), "error", err.Error())
	}
	if allowed && err == nil {
		return nil
	}
	p := newProblem(http.StatusForbidden, "FORBIDDEN", "this operation is not allowed for this caller")
	return &p
}

func callerOf(id authn.Identity, clientCert bool) rest.Caller {
	return rest.Caller{Authenticated: !id.IsAnonymous(), Kind: id.Kind, Scopes: id.Scopes, APIKeyName: id.APIKeyName, ClientCert: clientCert}
}

// problemOf renders an OpenAPI check failure as RFC 9457 problem details.
func problemOf(f *rest.Failure) Problem {
	p := newProblem(f.Status, f.Code, f.Detail)
	if f.Title != "" {
		p.Title = f.Title
	}
	for _, e := range f.Errors {
		p.Errors = append(p.Errors, ProblemError{Pointer: e.Pointer, Detail: e.Detail})
	}
	return p
}

// refuseREST answers a REST request refused before forwarding, after
// charging its penalty (a spent budget turns the refusal into 429).
func (g *Gateway) refuseREST(c echo.Context, st *reqState, tbl *routeTable, subj ratelimit.Subject, p Problem) {
	st.deny(p.Code)
	g.audit(st, "rest_refused", "code", p.Code)
	if g.refusePenalty(c, st, tbl, subj) {
		return
	}
	writeProblem(c.Response(), p)
}

// maxValidatedResponse bounds an upstream answer read for validation.
const maxValidatedResponse = 16 << 20

// validateResponse is the REST proxy's OnResponse hook for
// validate_responses: report logs and counts answers that break the
// document; enforce also replaces them with a 502 problem, so undocumented
// data never leaks (excessive data exposure).
func (g *Gateway) validateResponse(rt *restRoute) func(*http.Response) error {
	enforce := rt.cfg.ValidateResponses == "enforce"
	return func(resp *http.Response) error {
		st := stateFromRequest(resp.Request)
		op := st.restOp
		if op == nil {
			return nil
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxValidatedResponse+1))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading upstream answer to validate: %w", err)
		}
		var fail *rest.Failure
		if len(body) > maxValidatedResponse {
			fail = &rest.Failure{Status: http.StatusBadGateway, Code: "RESPONSE_VALIDATION_FAILED", Detail: "upstream answer too large to validate"}
		} else {
			fail = rt.api.ValidateResponse(op, resp.StatusCode, resp.Header, body)
		}
		if fail != nil {
			g.metrics.responseViolations.WithLabelValues(rt.cfg.Name, op.ID()).Inc()
			g.log.Warn("upstream answer breaks the OpenAPI document", "request_id", st.id, "route", rt.cfg.Name,
				"operation", op.ID(), "status", resp.StatusCode, "detail", fail.Detail, "errors", len(fail.Errors))
			if enforce {
				st.decision, st.code = "error", fail.Code
				p := problemOf(fail)
				p.Errors = nil // the details describe the upstream's data: log only
				body, _ = json.Marshal(p)
				resp.StatusCode = http.StatusBadGateway
				resp.Status = strconv.Itoa(http.StatusBadGateway) + " " + http.StatusText(http.StatusBadGateway)
				for k := range resp.Header {
					delete(resp.Header, k)
				}
				resp.Header.Set("Content-Type", mediaProblem)
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
}
