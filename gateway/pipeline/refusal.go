package pipeline

import (
	"net/http"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
)

// Charge is what a refused request pays before its refusal is answered.
// The zero value is the penalty: a refusal that forgot to say pays for
// probing rather than probing for free.
type Charge uint8

const (
	// PayPenalty: the tier's penalty; a spent budget answers 429 instead.
	PayPenalty Charge = iota
	// PayMinimum: min_cost, for a refusal that is a protocol's normal
	// first step (an APQ miss).
	PayMinimum
	// PayNothing: the stage charged already (rate limiting, the
	// failed-credential budget) or the refusal is the gateway's own state.
	PayNothing
)

// Refusal is the one way a stage says no: the status and code, the public
// message, and whatever the protocol's renderer needs to say it in its
// shape. A stage returns it; the front door records, charges and renders it.
type Refusal struct {
	Status  int
	Code    string
	Message string
	// LogCode, when set, is the access log's code instead of Code (the
	// reason of a 401 is for the log, never for the client).
	LogCode string
	// Header is set on the answer before it is charged, so it stays on an
	// answer the charge replaced.
	Header map[string]string
	// Extensions are GraphQL extensions beside the code, or extension
	// members of the problem document.
	Extensions map[string]any
	// Issues are the individual findings (GraphQL errors with paths and
	// locations, or problem errors with JSON pointers); none means one
	// finding made of Code and Message.
	Issues []Issue
	// Title overrides the problem document's title (the OpenAPI checks
	// name theirs).
	Title  string
	Charge Charge
}

// Issue is one finding of a refusal.
type Issue struct {
	Message    string
	Code       string
	Path       []any
	Locations  []Location
	Pointer    string
	Extensions map[string]any
}

// Location is a position in a GraphQL document.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Refuse builds a refusal with the code's registered status.
func Refuse(code, msg string) *Refusal {
	return &Refusal{Status: errcode.Status(code), Code: code, Message: msg}
}

// WithHeader adds a header the answer carries.
func (r *Refusal) WithHeader(name, value string) *Refusal {
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	r.Header[name] = value
	return r
}

// Paying sets what the refusal pays.
func (r *Refusal) Paying(c Charge) *Refusal {
	r.Charge = c
	return r
}

// ApplyHeader puts the refusal's headers on h.
func (r *Refusal) ApplyHeader(h http.Header) {
	for k, v := range r.Header {
		h.Set(k, v)
	}
}

// Stage is one step of a front door: it reads what the stages before it
// left in the door's request value R, adds its own finding there and
// returns nil, or returns the refusal that ends the request. A stage never
// writes to the client.
type Stage[R any] struct {
	Name string
	Run  func(R) *Refusal
	// Span, when set, is the name of the stage's trace span
	// (docs/monitoring.md lists them); other stages run inside their
	// parent's span.
	Span string
}

// Run runs the stages in order and returns the first refusal, or nil when
// every stage passed.
func Run[R any](stages []Stage[R], q R) *Refusal {
	for _, s := range stages {
		if ref := s.Run(q); ref != nil {
			return ref
		}
	}
	return nil
}
