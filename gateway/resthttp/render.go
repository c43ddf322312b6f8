package resthttp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
)

// MediaProblem is the problem document's media type (RFC 9457 section 3).
const MediaProblem = "application/problem+json"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Code   string         `json:"code,omitempty"`
	Errors []ProblemError `json:"errors,omitempty"`
	// Extensions are further members (RFC 9457 section 3.2), e.g. cost.
	Extensions map[string]any `json:"-"`
}

// MarshalJSON writes the extension members beside the standard ones.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extensions) == 0 {
		return b, err
	}
	ext, err := json.Marshal(p.Extensions)
	if err != nil {
		return nil, err
	}
	// Both are JSON objects: splice the members in.
	return append(append(b[:len(b)-1:len(b)-1], ','), ext[1:]...), nil
}

// ProblemError is one validation failure, located by a JSON pointer.
type ProblemError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// problemOf is a refusal as a problem document.
func problemOf(ref *pipeline.Refusal) Problem {
	p := Problem{
		Type:       errcode.ProblemType(ref.Code),
		Title:      ref.Title,
		Status:     ref.Status,
		Detail:     ref.Message,
		Code:       ref.Code,
		Extensions: ref.Extensions,
	}
	if p.Title == "" {
		p.Title = http.StatusText(ref.Status)
	}
	for _, is := range ref.Issues {
		p.Errors = append(p.Errors, ProblemError{Pointer: is.Pointer, Detail: is.Message})
	}
	return p
}

// Render is the one writer of the REST front door's refusals, and of
// requests that match no route.
func Render(w http.ResponseWriter, ref *pipeline.Refusal) {
	ref.ApplyHeader(w.Header())
	body, _ := json.Marshal(problemOf(ref))
	h := w.Header()
	h.Set("Content-Type", MediaProblem)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(ref.Status)
	_, _ = w.Write(body)
}

// fromFailure is an OpenAPI check failure as a refusal.
func fromFailure(f *rest.Failure) *pipeline.Refusal {
	ref := &pipeline.Refusal{Status: f.Status, Code: f.Code, Message: f.Detail, Title: f.Title}
	for _, e := range f.Errors {
		ref.Issues = append(ref.Issues, pipeline.Issue{Pointer: e.Pointer, Message: e.Detail})
	}
	if len(f.Allow) > 0 {
		ref.WithHeader("Allow", strings.Join(f.Allow, ", "))
	}
	return ref
}
