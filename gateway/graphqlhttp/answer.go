package graphqlhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// maxAnswerBody bounds an upstream answer read into memory to complete it.
const maxAnswerBody = 64 << 20

// answerPlan is what must happen to the upstream's answer, decided in full
// before the request is forwarded and applied by apply alone. Each part is
// nil when not needed; a plan with no part is not built at all. A new
// treatment of the answer (error masking, say) is one more part here and
// one more step in apply.
type answerPlan struct {
	// mask keeps upstream internals out of the answer (always set).
	mask *maskPlan
	// relabel gives the answer the GraphQL-over-HTTP media type, for a
	// client that accepts it: it then reads the status code as that spec
	// defines, whatever the upstream labelled its answer.
	relabel bool
	// filter puts back what filter-mode authorization removed.
	filter *filterPlan
	// refund gives back the over-estimate once the answer is measured.
	refund *refund
	// cost reports the charge in extensions.cost.
	cost *costReport
}

// refund is what measuring the answer needs: the reports charged, the
// estimate, the charge and who paid it.
type refund struct {
	analyzer *analysis.Analyzer
	reports  []*analysis.Report
	estimate float64
	charged  int
	subj     ratelimit.Subject
	shared   *pipeline.Shared
	reqID    string
}

// costReport is the charge and the limiter's decision, for extensions.cost.
type costReport struct {
	charged  int
	decision ratelimit.Decision
}

// needsBody reports whether the plan reads the answer's body (which must
// then come uncompressed).
func (p *answerPlan) needsBody() bool {
	return p.mask != nil || p.filter != nil || p.refund != nil || p.cost != nil
}

// planAnswer builds the request's answer plan, or nil when the answer goes
// back untouched.
func (rt *Route) planAnswer(q *request) *answerPlan {
	p := &answerPlan{mask: rt.planMask(q), relabel: mediaType(q.r) == MediaGraphQLResponse, filter: q.filter}
	if rt.cfg.CostExtensions {
		p.cost = &costReport{charged: q.charged.Cost, decision: q.charged.Decision}
	}
	if rt.cfg.Refund && q.charged.Cost > 0 {
		p.refund = &refund{analyzer: q.sch.analyzer, reports: q.reports, estimate: q.estimate,
			charged: q.charged.Cost, subj: q.subj, shared: rt.shared, reqID: q.ex.ID}
	}
	if !p.relabel && !p.needsBody() {
		return nil
	}
	return p
}

// withoutUpstream is the answer to a request filter mode emptied entirely.
func (p *answerPlan) withoutUpstream() []byte {
	answer := p.filter.answerWithoutUpstream()
	if p.cost != nil && !p.filter.batch {
		answer = withCostExtension(answer, p.cost.charged, p.cost.decision.Remaining, p.cost.decision.Limit)
	}
	return answer
}

// apply carries out the plan on the upstream's answer: relabel, then the
// filter merge, the refund and the cost extension, in that order (the
// refund measures the merged answer, the extension reports the refund).
func (p *answerPlan) apply(resp *http.Response) error {
	if p.relabel {
		resp.Header.Set("Content-Type", MediaGraphQLResponse+"; charset=utf-8")
	}
	if !p.needsBody() {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody+1))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading upstream answer: %w", err)
	}
	if len(body) > maxAnswerBody {
		return errors.New("upstream answer too large to merge")
	}
	// Masking comes first: it sees only what the upstream said, never the
	// gateway's own errors merged in below.
	body, replaced := p.mask.apply(resp, body)
	if replaced {
		// No GraphQL answer came: nothing to merge, measure or report.
		return setBody(resp, body)
	}
	if p.filter != nil {
		if body, err = p.filter.merge(body); err != nil {
			return fmt.Errorf("merging filtered answer: %w", err)
		}
	}
	refunded := 0
	if p.refund != nil {
		refunded = p.refund.give(resp.Request.Context(), body)
	}
	if p.cost != nil && !isJSONArray(body) {
		d := p.cost.decision
		body = withCostExtension(body, p.cost.charged-refunded, min(d.Remaining+refunded, d.Limit), d.Limit)
	}
	return setBody(resp, body)
}

// setBody makes body resp's (uncompressed) body.
func setBody(resp *http.Response, body []byte) error {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return nil
}

func isJSONArray(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

// give gives back the difference between the estimate and the cost of what
// the upstream actually returned (analysis.ActualCost, analysis.Refund:
// floor(max(0, estimate - actual)), never more than charged). Any doubt -
// an answer that does not decode or does not fit the operation - refunds
// nothing.
func (rf *refund) give(ctx context.Context, body []byte) int {
	datas, ok := answerData(body, len(rf.reports))
	if !ok {
		return 0
	}
	var actual float64
	for i, rep := range rf.reports {
		c, err := rf.analyzer.ActualCost(rep, datas[i])
		if err != nil {
			rf.shared.Log.Debug("no refund: answer does not fit the operation", "request_id", rf.reqID, "error", err.Error())
			return 0
		}
		actual += c
	}
	// A refund never takes the charge below min_cost.
	units := min(analysis.Refund(rf.charged, rf.estimate, actual), rf.charged-rf.shared.MinCost())
	if units <= 0 {
		return 0
	}
	if err := rf.shared.Limiter.Refund(ctx, rf.subj, units); err != nil {
		rf.shared.Log.Warn("refund failed", "request_id", rf.reqID, "error", err.Error())
		return 0
	}
	return units
}

// answerData decodes the data of each of n answers (one object, or a batch
// array of exactly n).
func answerData(body []byte, n int) ([]any, bool) {
	if isJSONArray(body) {
		var items []struct {
			Data any `json:"data"`
		}
		if json.Unmarshal(body, &items) != nil || len(items) != n {
			return nil, false
		}
		datas := make([]any, len(items))
		for i, it := range items {
			datas[i] = it.Data
		}
		return datas, true
	}
	var one struct {
		Data any `json:"data"`
	}
	if json.Unmarshal(body, &one) != nil || n != 1 {
		return nil, false
	}
	return []any{one.Data}, true
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
