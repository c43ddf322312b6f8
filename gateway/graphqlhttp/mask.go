package graphqlhttp

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/upstream"
	"github.com/portcullis-gw/portcullis/upstream/mask"
)

// maskPlan is the answer plan's first step: the upstream's errors keep
// only what the GraphQL spec defines and the route allows, and an answer
// that is no GraphQL response at all (an HTML error page) becomes a 502 in
// the GraphQL shape (docs/governance.md, "Nothing leaks back").
type maskPlan struct {
	m       mask.GraphQL
	route   string
	reqID   string
	log     *slog.Logger
	counter pipeline.Counters
}

func (rt *Route) planMask(q *request) *maskPlan {
	return &maskPlan{m: rt.cfg.Errors, route: rt.cfg.Name, reqID: q.ex.ID, log: rt.shared.Log, counter: rt.shared.Counters}
}

// apply masks body; resp's status and headers change when it is replaced.
func (p *maskPlan) apply(resp *http.Response, body []byte) (out []byte, replaced bool) {
	out, masked, err := p.m.Answer(body)
	if err != nil {
		p.log.Warn("upstream answer is not a GraphQL response; replaced", "request_id", p.reqID, "route", p.route,
			"status", resp.StatusCode, "content_type", resp.Header.Get("Content-Type"), "bytes", len(body), "error", err.Error())
		return p.replace(resp), true
	}
	for _, mk := range masked {
		if p.m.MaskMessages || len(mk.Dropped) > 0 {
			// The original stays with the operator, keyed by the request id.
			p.log.Info("upstream error masked", "request_id", p.reqID, "route", p.route, "message", mk.Message, "dropped", mk.Dropped)
			if p.counter.MaskedErrors != nil {
				p.counter.MaskedErrors.WithLabelValues(p.route).Inc()
			}
		}
	}
	return out, false
}

func (p *maskPlan) replace(resp *http.Response) []byte {
	k := upstream.KindError
	body, _ := json.Marshal(map[string]any{"errors": errorsOf(&pipeline.Refusal{Code: k.Code(), Message: k.Message()})})
	resp.StatusCode = k.Status()
	resp.Status = strconv.Itoa(k.Status()) + " " + http.StatusText(k.Status())
	for h := range resp.Header {
		delete(resp.Header, h)
	}
	resp.Header.Set("Content-Type", MediaJSON)
	return body
}
