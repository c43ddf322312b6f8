package resthttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
)

// maxValidatedResponse bounds an upstream answer read for validation.
const maxValidatedResponse = 16 << 20

// answerPlan is what must happen to the upstream's answer, decided before
// forwarding and applied by apply alone: for validate_responses, the check
// against the operation's documented responses. report logs and counts an
// answer that breaks the document; enforce also replaces it with a 502
// problem, so undocumented data never leaks (excessive data exposure).
type answerPlan struct {
	api     *rest.Route
	op      *rest.Operation
	enforce bool
	route   string
	reqID   string
	log     *slog.Logger
	counter pipeline.Counters
	// replaced is the code of an answer enforce replaced, for the decision.
	replaced string
}

// planAnswer builds the request's answer plan, or nil when the answer goes
// back untouched.
func (rt *Route) planAnswer(q *request) *answerPlan {
	if rt.validate != "report" && rt.validate != "enforce" {
		return nil
	}
	return &answerPlan{api: rt.api, op: q.op, enforce: rt.validate == "enforce", route: rt.cfg.Name,
		reqID: q.ex.ID, log: rt.shared.Log, counter: rt.shared.Counters}
}

// apply validates the answer and, in enforce mode, replaces one that breaks
// the document.
func (p *answerPlan) apply(resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxValidatedResponse+1))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading upstream answer to validate: %w", err)
	}
	var fail *rest.Failure
	if len(body) > maxValidatedResponse {
		fail = &rest.Failure{Status: http.StatusBadGateway, Code: rest.CodeInvalidResponse, Detail: "upstream answer too large to validate"}
	} else {
		fail = p.api.ValidateResponse(p.op, resp.StatusCode, resp.Header, body)
	}
	if fail != nil {
		if p.counter.ResponseViolations != nil {
			p.counter.ResponseViolations.WithLabelValues(p.route, p.op.ID()).Inc()
		}
		p.log.Warn("upstream answer breaks the OpenAPI document", "request_id", p.reqID, "route", p.route,
			"operation", p.op.ID(), "status", resp.StatusCode, "detail", fail.Detail, "errors", len(fail.Errors))
		if p.enforce {
			body = p.replace(resp, fail)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// replace turns resp into the 502 problem for fail; the failure's details
// describe the upstream's data, so they go to the log only.
func (p *answerPlan) replace(resp *http.Response, fail *rest.Failure) []byte {
	p.replaced = fail.Code
	pr := problemOf(fromFailure(fail))
	pr.Errors = nil
	body, _ := json.Marshal(pr)
	resp.StatusCode = http.StatusBadGateway
	resp.Status = strconv.Itoa(http.StatusBadGateway) + " " + http.StatusText(http.StatusBadGateway)
	for k := range resp.Header {
		delete(resp.Header, k)
	}
	resp.Header.Set("Content-Type", MediaProblem)
	return body
}
