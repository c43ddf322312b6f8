package graphqlhttp

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
	"github.com/portcullis-gw/portcullis/upstream"
)

// request is one GraphQL request on its way through the door: each stage
// reads what the stages before it found and adds its own finding.
type request struct {
	rt *Route
	w  http.ResponseWriter
	r  *http.Request
	ex *pipeline.Exchange

	sch     *gqlSchema         // schema: the compiled schema
	id      authn.Identity     // identity
	subj    ratelimit.Subject  // identity: who pays
	lim     analysis.Limits    // identity: the caller's tier's limits
	params  []analysis.Request // decode (persisted fills in queries)
	reqs    []gqlrequest.Request
	batch   bool
	reports []*analysis.Report // analysis, one per entry
	filter  *filterPlan        // authorization, filter mode
	// rate limit: the estimate, what was charged and the slot to release
	estimate float64
	charged  pipeline.Charged
	gov      governed // the governance stages
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

// stages are the GraphQL door's checks in request order, cheapest first
// (docs/architecture.md). A new check is one more line here; what it
// finds goes into request, and a refusal is returned, never written.
var stages = []pipeline.Stage[*request]{
	{Name: "schema", Run: (*request).stageSchema},
	{Name: "identity", Run: (*request).stageIdentity, Span: "portcullis.identity"},
	{Name: "decode", Run: (*request).stageDecode},
	{Name: "persisted operations", Run: (*request).stagePersisted},
	{Name: "analysis", Run: (*request).stageAnalysis, Span: "portcullis.analysis"},
	{Name: "trusted documents", Run: (*request).stageTrusted},
	{Name: "external authorization", Run: (*request).stageExternal},
	{Name: "authorization", Run: (*request).stageAuthorization, Span: "portcullis.authorization"},
	{Name: "coordinate limits", Run: (*request).stageCoordinates},
	{Name: "rate limit", Run: (*request).stageRateLimit, Span: "portcullis.rate_limit"},
}

// Serve runs the stages, then forwards the checked request and applies the
// answer plan to what comes back. ex is the request's Exchange.
func (rt *Route) Serve(w http.ResponseWriter, r *http.Request, ex *pipeline.Exchange) {
	q := requests.Get().(*request)
	*q = request{rt: rt, w: w, r: r, ex: ex}
	defer q.done()
	ex.Facts.RouteTemplate = rt.cfg.Path
	if ref := pipeline.RunTraced(rt.shared.Tracer, r.Context(), stages, q); ref != nil {
		q.noteFields()
		Render(w, r, rt.shared.Settle(r, ex, q.subj, ref, "graphql_refused"))
		return
	}
	if rt.fed != nil {
		rt.execute(q)
		return
	}
	rt.forward(q)
}

// maxCoordinates bounds the field coordinates an audit event carries.
const maxCoordinates = 64

// noteFields records the fields a refused or flagged request touches, for
// its audit event.
func (q *request) noteFields() {
	seen := map[string]bool{}
	for _, rep := range q.reports {
		for _, f := range rep.Fields {
			if len(seen) == maxCoordinates {
				return
			}
			if !seen[f.Coordinate] {
				seen[f.Coordinate] = true
				q.ex.Facts.Coordinates = append(q.ex.Facts.Coordinates, f.Coordinate)
			}
		}
	}
}

func (q *request) stageSchema() *pipeline.Refusal {
	if q.sch = q.rt.schema.Load(); q.sch == nil {
		return pipeline.Refuse(errcode.NotReady, "the gateway is still loading this route's schema").Paying(pipeline.PayNothing)
	}
	return nil
}

func (q *request) stageIdentity() *pipeline.Refusal {
	var ref *pipeline.Refusal
	if q.id, q.subj, ref = q.rt.shared.Caller(q.r, q.ex); ref != nil {
		return ref
	}
	q.lim = q.rt.limitsFor(q.id.Tier)
	return nil
}

func (q *request) stageDecode() (ref *pipeline.Refusal) {
	q.params, q.reqs, q.batch, ref = q.rt.decode(q.r, q.lim.MaxBatch)
	return ref
}

// stageAnalysis analyses each entry against the route's schema and limits
// (analysis does tokens, parse, validation and the rules, in that order,
// cheapest first).
func (q *request) stageAnalysis() *pipeline.Refusal {
	access := q.rt.access(q.id)
	q.reports = make([]*analysis.Report, 0, len(q.params))
	for _, p := range q.params {
		if strings.TrimSpace(p.Query) == "" {
			return pipeline.Refuse(errcode.BadRequest, "missing query")
		}
		rep := q.sch.analyzer.Analyze(p, q.lim, access)
		if len(q.reports) == 0 {
			q.ex.Facts.OperationType, q.ex.Facts.OperationName = rep.OperationType, rep.OperationName
		}
		if !rep.OK() {
			return fromReport(rep)
		}
		if q.r.Method == http.MethodGet && rep.OperationType != "query" {
			// GET must be safe (GraphQL over HTTP): mutations only over POST.
			return pipeline.Refuse(errcode.MethodNotAllowed, rep.OperationType+" operations must use POST").WithHeader("Allow", "POST")
		}
		q.reports = append(q.reports, rep)
	}
	return nil
}

// stageAuthorization applies field-level authorization to every entry.
// Reject mode refuses with 403 and the errors; filter mode plans the
// rewrite when anything was removed; dry-run only reports.
func (q *request) stageAuthorization() *pipeline.Refusal {
	req := pipeline.PolicyRequest(q.r, q.ex.ClientIP, q.rt.policyHeaders)
	for i, rep := range q.reports {
		d := q.sch.authorizer.AuthorizeRemoving(rep, q.id, req, q.removeFor(i))
		if d.Cause != nil {
			q.rt.logger().Warn("policy evaluation failed; denying", "request_id", q.ex.ID, "error", d.Cause.Error())
		}
		if len(d.Errors) > 0 {
			q.rt.shared.Audit(q.ex, "unauthorized_fields", "mode", d.Mode, "dry_run", d.DryRun, "paths", len(d.Errors))
			q.ex.Flag("unauthorized_fields", errorPaths(d.Errors))
		}
		if d.Allowed {
			continue
		}
		if d.Mode != authz.ModeFilter {
			return unauthorized(d)
		}
		if q.filter == nil {
			q.filter = &filterPlan{az: q.sch.authorizer, batch: q.batch, decisions: make([]*authz.Decision, len(q.reports))}
		}
		q.filter.decisions[i] = d
	}
	return nil
}

// errorPaths are the response paths of authorization errors, dotted
// (orders.0.total), at most maxCoordinates of them.
func errorPaths(errs []authz.Error) []string {
	out := make([]string, 0, min(len(errs), maxCoordinates))
	for _, e := range errs[:min(len(errs), maxCoordinates)] {
		var b strings.Builder
		for i, p := range e.Path {
			if i > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, p)
		}
		out = append(out, b.String())
	}
	return out
}

func unauthorized(d *authz.Decision) *pipeline.Refusal {
	ref := pipeline.Refuse(authz.CodeUnauthorized, "not authorized")
	for _, e := range d.Errors {
		ref.Issues = append(ref.Issues, pipeline.Issue{Message: e.Message, Path: e.Path, Code: e.Code})
	}
	if len(ref.Issues) > 0 {
		ref.Code, ref.Message = ref.Issues[0].Code, ref.Issues[0].Message
	}
	return ref
}

// stageRateLimit charges the estimate: a batch pays the sum of its
// entries, and every request at least min_cost, however cheap.
func (q *request) stageRateLimit() (ref *pipeline.Refusal) {
	for _, rep := range q.reports {
		q.estimate += rep.Cost
	}
	cost := max(int(math.Ceil(q.estimate)), q.rt.shared.MinCost())
	q.charged, ref = q.rt.shared.Charge(q.r.Context(), q.ex, q.subj, cost)
	return ref
}

// forward sends the canonical form of what was checked upstream, with the
// answer plan, or answers itself when filter mode emptied every entry.
func (rt *Route) forward(q *request) {
	// APQ registrations are kept only for operations that passed every check.
	for i := range q.params {
		rt.persisted.remember(q.params[i])
	}
	rt.passed(q)
	plan := rt.planAnswer(q)
	q.ex.Allowed()
	if q.filter != nil && q.filter.allEmpty() {
		// Filter mode removed everything: no upstream call.
		writeAnswer(q.w, q.r, plan.withoutUpstream())
		return
	}
	out := upstream.Outbound{ClientIP: q.ex.ClientIP, Header: http.Header{echo.HeaderXRequestID: {q.ex.ID}}}
	out.StripHeaders = rt.shared.Forward.Apply(out.Header, q.id, rt.cfg.ForwardAuthorization)
	// Never the client's bytes: the canonical form of what was checked
	// (a GET goes as the equivalent POST, which every subgraph serves).
	out.Body = rt.outboundBody(q.params, q.reqs, q.filter, q.batch)
	if q.r.Method == http.MethodGet {
		out.Method = http.MethodPost
	}
	// What goes upstream is always a JSON GraphQL request, whatever
	// (preflighted) content type the client declared.
	out.Header.Set("Content-Type", MediaJSON)
	out.Idempotent = onlyQueries(q.reports)
	if plan != nil {
		out.Answer = plan.apply
		if plan.needsBody() {
			// The plan reads the answer, which must come as plain JSON.
			out.StripHeaders = append(out.StripHeaders, "Accept-Encoding")
		}
	}
	if q.ex.Facts.Flagged {
		q.noteFields()
	}
	if f := rt.shared.Send(rt.proxy, rt.upstream, q.w, q.r, out); f != nil {
		Render(q.w, q.r, rt.shared.UpstreamFailed(q.ex, f))
	}
}

// onlyQueries: a request of queries alone may be retried upstream; one
// mutation (or subscription) anywhere in a batch makes it unsafe to send twice.
func onlyQueries(reports []*analysis.Report) bool {
	for _, rep := range reports {
		if rep == nil || rep.OperationType != "query" {
			return false
		}
	}
	return len(reports) > 0
}
