package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// gqlPlan is what filter-mode authorization changed in a request: the
// entries to rewrite going out, and how to complete the answer coming back.
type gqlPlan struct {
	az    *authz.GraphQLAuthorizer
	batch bool
	// decisions has one entry per request entry; nil means unchanged.
	decisions []*authz.Decision
}

// maxMergeBody bounds an upstream answer read into memory for merging.
const maxMergeBody = 64 << 20

// authorize applies field-level authorization to every entry. Reject mode
// refuses with 403 and the errors; filter mode returns a plan when anything
// was removed; dry-run only reports.
func (rt *graphqlRoute) authorize(g *Gateway, st *reqState, sch *gqlSchema, reports []*analysis.Report, batch bool, id authn.Identity, r *http.Request) (*gqlPlan, *gqlRefusal) {
	req := policyRequest(r, st.clientIP, rt.policyHeaders)
	var plan *gqlPlan
	for i, rep := range reports {
		d := sch.authorizer.Authorize(rep, id, req)
		if d.Cause != nil {
			g.log.Warn("policy evaluation failed; denying", "request_id", st.id, "error", d.Cause.Error())
		}
		if len(d.Errors) > 0 {
			g.audit(st, "unauthorized_fields", "mode", d.Mode, "dry_run", d.DryRun, "paths", len(d.Errors))
		}
		if d.Allowed {
			continue
		}
		if d.Mode != authz.ModeFilter {
			ref := &gqlRefusal{status: http.StatusForbidden}
			for _, e := range d.Errors {
				ref.errs = append(ref.errs, GraphQLError{Message: e.Message, Path: e.Path, Extensions: map[string]any{"code": e.Code}})
			}
			if len(ref.errs) == 0 {
				ref.errs = []GraphQLError{gqlErr(authz.CodeUnauthorized, "not authorized")}
			}
			return nil, ref
		}
		if plan == nil {
			plan = &gqlPlan{az: sch.authorizer, batch: batch, decisions: make([]*authz.Decision, len(reports))}
		}
		plan.decisions[i] = d
	}
	return plan, nil
}

func isJSONArray(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

func (p *gqlPlan) allEmpty() bool {
	for _, d := range p.decisions {
		if d == nil || !d.Empty {
			return false
		}
	}
	return true
}

// answerWithoutUpstream answers a request whose every entry was emptied.
func (p *gqlPlan) answerWithoutUpstream() []byte {
	parts := make([]json.RawMessage, len(p.decisions))
	for i, d := range p.decisions {
		parts[i], _ = p.az.MergeFiltered(d, nil)
	}
	if !p.batch {
		return parts[0]
	}
	b, _ := json.Marshal(parts)
	return b
}

// merge completes the upstream's answer: nulls and errors for removed
// fields, and the answers of emptied batch entries put back in place.
func (p *gqlPlan) merge(body []byte) ([]byte, error) {
	if !p.batch {
		return p.az.MergeFiltered(p.decisions[0], body)
	}
	var got []json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		return nil, fmt.Errorf("decoding upstream batch answer: %w", err)
	}
	out := make([]json.RawMessage, len(p.decisions))
	next := 0
	for i, d := range p.decisions {
		if d != nil && d.Empty {
			out[i], _ = p.az.MergeFiltered(d, nil)
			continue
		}
		if next >= len(got) {
			return nil, errors.New("upstream batch answer has fewer entries than sent")
		}
		item := got[next]
		next++
		if d == nil {
			out[i] = item
			continue
		}
		m, err := p.az.MergeFiltered(d, item)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return json.Marshal(out)
}

// gqlAfter is what must happen to a GraphQL answer on its way back: the
// filter merge, the refund of an over-estimate, the cost extension.
type gqlAfter struct {
	plan *gqlPlan
	// refund: the reports charged, what was charged, and who paid.
	refund   bool
	analyzer *analysis.Analyzer
	reports  []*analysis.Report
	charged  int
	estimate float64
	subj     ratelimit.Subject
	tbl      *routeTable
	// costExt: report extensions.cost with the charge's decision.
	costExt  bool
	decision ratelimit.Decision
	log      *slog.Logger
	reqID    string
}

func (a *gqlAfter) needed() bool { return a.plan != nil || a.refund || a.costExt }

// afterResponse is the GraphQL proxies' OnResponse hook: it completes the
// answers of filtered requests, refunds over-estimates and reports cost,
// and leaves every other response untouched.
func afterResponse(resp *http.Response) error {
	answerMediaType(resp)
	st := stateFromRequest(resp.Request)
	a := st.gqlAfter
	if a == nil || !a.needed() {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMergeBody+1))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading upstream answer: %w", err)
	}
	if len(body) > maxMergeBody {
		return errors.New("upstream answer too large to merge")
	}
	if a.plan != nil {
		if body, err = a.plan.merge(body); err != nil {
			return fmt.Errorf("merging filtered answer: %w", err)
		}
	}
	refunded := 0
	if a.refund {
		refunded = a.doRefund(resp.Request.Context(), body)
	}
	if a.costExt && !isJSONArray(body) {
		remaining := min(a.decision.Remaining+refunded, a.decision.Limit)
		body = withCostExtension(body, a.charged-refunded, remaining, a.decision.Limit)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return nil
}

// doRefund gives back the difference between the estimate and the cost of
// what the upstream actually returned (analysis.ActualCost, analysis.Refund:
// floor(max(0, estimate - actual)), never more than charged). Any doubt -
// an answer that does not decode or does not fit the operation - refunds
// nothing.
func (a *gqlAfter) doRefund(ctx context.Context, body []byte) int {
	var datas []any
	if isJSONArray(body) {
		var items []struct {
			Data any `json:"data"`
		}
		if json.Unmarshal(body, &items) != nil || len(items) != len(a.reports) {
			return 0
		}
		for _, it := range items {
			datas = append(datas, it.Data)
		}
	} else {
		var one struct {
			Data any `json:"data"`
		}
		if json.Unmarshal(body, &one) != nil || len(a.reports) != 1 {
			return 0
		}
		datas = []any{one.Data}
	}
	var actual float64
	for i, rep := range a.reports {
		c, err := a.analyzer.ActualCost(rep, datas[i])
		if err != nil {
			a.log.Debug("no refund: answer does not fit the operation", "request_id", a.reqID, "error", err.Error())
			return 0
		}
		actual += c
	}
	// A refund never takes the charge below min_cost.
	units := min(analysis.Refund(a.charged, a.estimate, actual), a.charged-a.tbl.limiter.MinCost())
	if units <= 0 {
		return 0
	}
	if err := a.tbl.limiter.Refund(ctx, a.subj, units); err != nil {
		a.log.Warn("refund failed", "request_id", a.reqID, "error", err.Error())
		return 0
	}
	return units
}

// withCostExtension adds extensions.cost to a GraphQL answer object,
// keeping the upstream's own extensions.
func withCostExtension(body []byte, requested, remaining, limit int) []byte {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return body
	}
	ext := map[string]json.RawMessage{}
	if raw, ok := top["extensions"]; ok && json.Unmarshal(raw, &ext) != nil {
		return body
	}
	cost, _ := json.Marshal(map[string]int{"requested": requested, "remaining": remaining, "limit": limit})
	ext["cost"] = cost
	top["extensions"], _ = json.Marshal(ext)
	out, err := json.Marshal(top)
	if err != nil {
		return body
	}
	return out
}

// writeFiltered answers a filtered request without an upstream call.
func writeFiltered(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", graphqlMediaType(r)+"; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
