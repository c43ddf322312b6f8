// Package pipeline holds what every front door shares: the Exchange (what
// the gateway learns about one request), the typed Decision recorded for
// it, the typed Refusal a stage returns, and the stages every protocol runs
// the same way (identity, rate limiting, audit, identity headers for the
// upstream). Each front door (gateway/graphqlhttp, gateway/resthttp) lists
// its own stages in request order; docs/architecture.md shows the lists.
package pipeline

import (
	"context"
	"net/http"
	"net/netip"
	"time"
)

// Protocol is the front door a request went to.
type Protocol uint8

const (
	NoProtocol Protocol = iota
	GraphQL
	REST
)

// Outcome is what happened to a request.
type Outcome uint8

const (
	// Undecided: nothing was recorded; the access log reads it from the
	// status once the answer is written.
	Undecided Outcome = iota
	Allow
	Deny
	Error
)

// String is the outcome as logs and metrics label it.
func (o Outcome) String() string {
	switch o {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	case Error:
		return "error"
	}
	return ""
}

// Decision is the recorded outcome of one request and, for a refusal or
// an error, its code (the access log's "code").
type Decision struct {
	Outcome Outcome
	Code    string
}

// Exchange is what the gateway learns about one request, from accepting it
// to writing the access log line.
type Exchange struct {
	Start      time.Time
	ID         string
	ClientIP   string
	ClientAddr netip.Addr
	// PeerSubject is the verified client certificate's subject (mTLS).
	PeerSubject string
	Route       string
	Protocol    Protocol
	// Subject is the identity's principal once known.
	Subject string
	// Header is the response's header, for stages that add to the answer
	// whatever it turns out to be (the RateLimit headers).
	Header http.Header
	// Facts are what monitoring reports beside the decision.
	Facts    Facts
	decision Decision
}

// Decision is what was recorded for the request.
func (ex *Exchange) Decision() Decision { return ex.decision }

// Allowed records that the request was let through.
func (ex *Exchange) Allowed() { ex.decision = Decision{Outcome: Allow} }

// Refused records a refusal, unless one was already recorded: the first
// refusal is why the request was refused, whatever answer replaced it (a
// spent penalty budget turns a 400 into a 429).
func (ex *Exchange) Refused(ref *Refusal) {
	if ex.decision.Outcome == Deny || ex.decision.Outcome == Error {
		return
	}
	ex.decision = Decision{Outcome: Deny, Code: ref.LogCode}
	if ex.decision.Code == "" {
		ex.decision.Code = ref.Code
	}
	if ref.Status >= 500 {
		ex.decision.Outcome = Error
	}
}

// Failed records an error of the gateway or the upstream, over anything
// recorded before.
func (ex *Exchange) Failed(code string) { ex.decision = Decision{Outcome: Error, Code: code} }

// Recode replaces the recorded code, keeping the outcome: a refusal whose
// penalty could not be charged is logged as the store outage it became.
func (ex *Exchange) Recode(code string) { ex.decision.Code = code }

// Finish fills an undecided outcome from the status written.
func (ex *Exchange) Finish(status int) Decision {
	if ex.decision.Outcome == Undecided {
		ex.decision.Outcome = Allow
		if status >= 500 {
			ex.decision.Outcome = Error
		}
	}
	return ex.decision
}

type exchangeKey struct{}

// With returns r carrying ex, for the handlers after the middleware that
// accepted the request.
func With(r *http.Request, ex *Exchange) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex))
}

// WithContext returns r with ctx (which carries the request's span, when
// tracing) and ex, in one copy of the request.
func WithContext(r *http.Request, ctx context.Context, ex *Exchange) *http.Request {
	return r.WithContext(context.WithValue(ctx, exchangeKey{}, ex))
}

// Of returns the request's Exchange; never nil (a handler run outside the
// chain gets a fresh one).
func Of(r *http.Request) *Exchange {
	if ex, ok := r.Context().Value(exchangeKey{}).(*Exchange); ok {
		return ex
	}
	return &Exchange{Start: time.Now(), Header: http.Header{}}
}
