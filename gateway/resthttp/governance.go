package resthttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/external"
	"github.com/portcullis-gw/portcullis/upstream"
)

// The governance stages of the REST door: the external decision point and
// per-operation limits, and the masking of upstream 5xx bodies
// (docs/governance.md).

// governance is compiled at load.
type governance struct {
	external *external.Client
	// opLimits maps an operationId to its rate_limit.coordinates index.
	opLimits map[string]int
}

func (rt *Route) newGovernance(known map[string]bool) error {
	if a := rt.cfg.Authorization; a != nil && a.External != nil {
		c, err := external.New(*a.External, external.Options{})
		if err != nil {
			return err
		}
		rt.gov.external = c
	}
	for i, c := range rt.shared.Limiter.Coordinates() {
		if c.Operation == "" {
			continue
		}
		route, opID, _ := cutDot(c.Operation)
		if route != rt.cfg.Name {
			continue
		}
		if !known[opID] {
			return fmt.Errorf("rate_limit.coordinates[%d].operation: no operationId %q in %s", i, opID, rt.cfg.OpenAPI)
		}
		if rt.gov.opLimits == nil {
			rt.gov.opLimits = map[string]int{}
		}
		rt.gov.opLimits[opID] = i
	}
	return nil
}

func cutDot(s string) (before, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// stageExternal asks the decision point about the matched operation with
// its path parameters, query and decoded body.
func (q *request) stageExternal() *pipeline.Refusal {
	rt := q.rt
	if rt.gov.external == nil {
		return nil
	}
	op := &external.RESTOperation{OperationID: q.op.ID(), Method: q.r.Method, Path: q.r.URL.Path, Query: q.r.URL.Query()}
	if len(q.op.PathParams) > 0 {
		op.PathParams = make(map[string]string, len(q.op.PathParams))
		for k, v := range q.op.PathParams {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
			op.PathParams[k] = v
		}
	}
	if len(q.body) > 0 {
		// The body passed the strict reader, so encoding/json reads the same
		// values (see stagePolicy); a body that is not JSON is not sent.
		var decoded any
		if json.Unmarshal(q.body, &decoded) == nil {
			op.Body = decoded
		}
	}
	in := &external.Input{Identity: pipeline.IdentityInput(q.id), Route: rt.cfg.Name, Protocol: "rest", REST: op,
		ClientIP: q.ex.ClientIP, Headers: pipeline.HeadersInput(q.r, rt.gov.external.Headers())}
	_, ref := rt.shared.Decide(q.r.Context(), q.ex, rt.gov.external, in)
	return ref
}

// stageOperationLimit charges one use of the operation's limit, if it has one.
func (q *request) stageOperationLimit() *pipeline.Refusal {
	rt := q.rt
	i, ok := rt.gov.opLimits[q.op.ID()]
	if !ok {
		return nil
	}
	var ref *pipeline.Refusal
	q.coordHeaders, ref = rt.shared.ChargeCoordinates(q.r.Context(), q.ex, pipeline.CallerOf(q.id, q.ex.ClientAddr), []pipeline.CoordinateUse{{Limit: i, Count: 1}})
	return ref
}

// maxMaskedBody bounds what is read of a 5xx body that is replaced anyway.
const maxMaskedBody = 64 << 10

// maskServerError replaces an upstream 5xx body by a problem document of
// the same status: stack traces, framework error pages and addresses stay
// with the back end (pass_upstream_errors relays them). The original's
// first bytes go to the log with the request id.
func (rt *Route) maskServerError(resp *http.Response, reqID string) (masked bool) {
	if rt.cfg.PassUpstreamErrors || resp.StatusCode < 500 || resp.StatusCode > 599 {
		return false
	}
	orig, _ := io.ReadAll(io.LimitReader(resp.Body, maxMaskedBody))
	resp.Body.Close()
	rt.shared.Log.Info("upstream error body masked", "request_id", reqID, "route", rt.cfg.Name, "status", resp.StatusCode,
		"content_type", resp.Header.Get("Content-Type"), "body", string(orig))
	if c := rt.shared.Counters.MaskedErrors; c != nil {
		c.WithLabelValues(rt.cfg.Name).Inc()
	}
	ref := &pipeline.Refusal{Status: resp.StatusCode, Code: upstream.KindError.Code(), Message: "the upstream service failed to answer this request"}
	body, _ := json.Marshal(problemOf(ref))
	for k := range resp.Header {
		delete(resp.Header, k)
	}
	resp.Header.Set("Content-Type", MediaProblem)
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.ContentLength = int64(len(body))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return true
}
